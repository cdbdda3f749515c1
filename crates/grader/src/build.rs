//! Building a lab's graded test targets with cargo and collecting their
//! executables — or the compiler's first errors.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The test executables of one lab, by test target name.
pub type Executables = BTreeMap<String, PathBuf>;

/// How long a build may take before the grader gives up on it.
const BUILD_LIMIT: Duration = Duration::from_secs(900);
/// How many compiler errors a report shows.
const ERRORS_SHOWN: usize = 3;

/// The outcome of building one lab.
#[derive(Debug)]
pub enum Built {
    /// Every target built; here are the executables.
    Ok(Executables),
    /// The code did not compile: the compiler's first errors.
    Failed(String),
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    message: Option<Diagnostic>,
    #[serde(default)]
    success: Option<bool>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    rendered: Option<String>,
}

/// `cargo test --no-run -p LAB --test T…` in `workspace`, into `target_dir`.
pub fn build_tests(
    workspace: &Path,
    target_dir: &Path,
    lab: &str,
    targets: &[String],
) -> Result<Built> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["test", "--no-run", "--package", lab])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--target-dir")
        .arg(target_dir)
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for target in targets {
        command.args(["--test", target]);
    }
    let (stdout, stderr, success) = run_within(command, BUILD_LIMIT)?;
    read_messages(&stdout, &stderr, success, targets)
}

/// Reads cargo's JSON messages: the executables, or the first errors.
fn read_messages(stdout: &str, stderr: &str, success: bool, targets: &[String]) -> Result<Built> {
    let mut executables = Executables::new();
    let mut errors = Vec::new();
    let mut finished_ok = false;
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let Ok(message) = serde_json::from_str::<Message>(line) else {
            continue;
        };
        match message.reason.as_str() {
            "compiler-artifact" => {
                if let (Some(target), Some(exe)) = (message.target, message.executable)
                    && target.kind.iter().any(|k| k == "test")
                    && targets.contains(&target.name)
                {
                    executables.insert(target.name, exe);
                }
            }
            "compiler-message" => {
                if let Some(d) = message.message
                    && d.level == "error"
                    && let Some(text) = d.rendered
                {
                    errors.push(text.trim_end().to_string());
                }
            }
            "build-finished" => finished_ok = message.success == Some(true),
            _ => {}
        }
    }
    if success && finished_ok && executables.len() == targets.len() {
        return Ok(Built::Ok(executables));
    }
    if errors.is_empty() {
        // No compiler error: cargo itself failed (a manifest, the network…).
        let last: Vec<&str> = stderr.lines().rev().take(15).collect();
        if success {
            bail!("cargo built no executable for some of {targets:?}");
        }
        return Ok(Built::Failed(
            last.into_iter().rev().collect::<Vec<_>>().join("\n"),
        ));
    }
    let shown: Vec<String> = errors.iter().take(ERRORS_SHOWN).cloned().collect();
    let mut text = shown.join("\n\n");
    if errors.len() > ERRORS_SHOWN {
        text.push_str(&format!(
            "\n\n… and {} more errors",
            errors.len() - ERRORS_SHOWN
        ));
    }
    Ok(Built::Failed(text))
}

/// Runs `command` to the end, or kills it after `limit`.
fn run_within(mut command: Command, limit: Duration) -> Result<(String, String, bool)> {
    let mut child = command.spawn().context("could not start cargo")?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the build ran longer than {} s and was stopped",
                limit.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok((stdout, stderr, status.success()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_and_errors_are_read_from_cargo_messages() {
        let targets = vec!["exercises".to_string()];
        let ok = r#"{"reason":"compiler-artifact","target":{"name":"exercises","kind":["test"]},"executable":"/t/exercises-1"}
{"reason":"compiler-artifact","target":{"name":"lab_01","kind":["lib"]},"executable":null}
{"reason":"build-finished","success":true}"#;
        let Built::Ok(found) = read_messages(ok, "", true, &targets).unwrap() else {
            panic!("not built");
        };
        assert_eq!(found["exercises"], PathBuf::from("/t/exercises-1"));

        let mut failed = String::new();
        for i in 0..5 {
            failed.push_str(&format!(
                "{{\"reason\":\"compiler-message\",\"message\":{{\"level\":\"error\",\"rendered\":\"error[E0308]: number {i}\"}}}}\n"
            ));
        }
        failed.push_str(r#"{"reason":"build-finished","success":false}"#);
        let Built::Failed(text) = read_messages(&failed, "", false, &targets).unwrap() else {
            panic!("built");
        };
        assert!(text.contains("number 0") && text.contains("number 2"));
        assert!(!text.contains("number 3"));
        assert!(text.contains("2 more errors"));
    }
}
