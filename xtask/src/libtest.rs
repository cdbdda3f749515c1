//! Running a lab's test targets and reading what libtest itself reported for
//! each test (its `test NAME ... ok|FAILED|ignored` lines).

use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What libtest reported for one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `... ok`
    Passed,
    /// `... FAILED`
    Failed,
    /// `... ignored`
    Ignored,
}

/// A workspace to run cargo in. A second copy of the course (the student
/// edition) gets its own target directory, so that its binaries never replace
/// the instructor's, and may share the instructor's build directory, so that
/// the crates both use are compiled once.
pub struct Workspace<'a> {
    /// The directory holding the workspace's `Cargo.toml`.
    pub root: &'a Path,
    /// `--target-dir`, when not the workspace's own `target/`.
    pub target_dir: Option<&'a Path>,
    /// Cargo's build directory (intermediate artifacts: compiled
    /// dependencies, test executables, fingerprints), when not the target
    /// directory.
    pub build_dir: Option<&'a Path>,
}

impl Workspace<'_> {
    /// `cargo SUBCOMMAND` in this workspace, with its directories.
    pub fn cargo(&self, subcommand: &str) -> Command {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command.current_dir(self.root).arg(subcommand);
        if let Some(dir) = self.target_dir {
            command.arg("--target-dir").arg(dir);
        }
        if let Some(dir) = self.build_dir {
            command.env("CARGO_BUILD_BUILD_DIR", dir);
        }
        command
    }
}

/// Builds and runs `cargo test -p LAB --test TARGET` in `workspace` and returns
/// each test's outcome. A target that does not compile is an error with the
/// compiler's first lines.
pub fn run(workspace: &Workspace, lab: &str, target: &str) -> Result<BTreeMap<String, Outcome>> {
    let mut command = workspace.cargo("test");
    command.args(["--package", lab, "--test", target, "--no-fail-fast"]);
    command.args(["--", "--format=pretty", "--color=never"]);
    let output = labkit::child::output_within(command, Duration::from_secs(900))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let outcomes = parse(&stdout);
    if outcomes.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(30)
            .collect();
        bail!(
            "{lab} --test {target} in {} reported no tests ({}):\n{}",
            workspace.root.display(),
            output.status,
            first.join("\n")
        );
    }
    Ok(outcomes)
}

/// Reads libtest's per-test result lines.
pub fn parse(stdout: &str) -> BTreeMap<String, Outcome> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("test ")?;
            let (name, result) = rest.rsplit_once(" ... ")?;
            let outcome = match result.trim() {
                "ok" => Outcome::Passed,
                "FAILED" => Outcome::Failed,
                r if r.starts_with("ignored") => Outcome::Ignored,
                _ => return None,
            };
            Some((name.to_string(), outcome))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass_fail_and_ignored_lines_only() {
        let out = "running 3 tests\ntest a ... ok\ntest b ... FAILED\ntest c ... ignored, slow\n\
                   test result: FAILED. 1 passed; 1 failed\nsome test noise ... ok?\n";
        let parsed = parse(out);
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed["a"], Outcome::Passed);
        assert_eq!(parsed["b"], Outcome::Failed);
        assert_eq!(parsed["c"], Outcome::Ignored);
    }
}
