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

/// Builds and runs `cargo test -p LAB --test TARGET` in `workspace` and returns
/// each test's outcome. A target that does not compile is an error with the
/// compiler's first lines.
pub fn run(
    workspace: &Path,
    lab: &str,
    target: &str,
    target_dir: Option<&Path>,
) -> Result<BTreeMap<String, Outcome>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace).args([
        "test",
        "--package",
        lab,
        "--test",
        target,
        "--no-fail-fast",
    ]);
    if let Some(dir) = target_dir {
        command.arg("--target-dir").arg(dir);
    }
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
            workspace.display(),
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
