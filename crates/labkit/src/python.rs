//! Finding CPython and running the labs' Python counterparts under a time limit.

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The environment variable that picks the interpreter: a path or command, or
/// `none` to run as if python3 were missing (that is how the skip path is tested).
pub const PYTHON_ENV: &str = "LABKIT_PYTHON";

/// A Python interpreter that answered `--version`.
#[derive(Debug, Clone)]
pub struct Python {
    /// The command used to start it.
    pub command: String,
    /// What it printed, e.g. `Python 3.11.7`.
    pub version: String,
}

/// Looks for `python3` (or `$LABKIT_PYTHON`). `None` when it is absent or broken.
pub fn find() -> Option<Python> {
    let command = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".into());
    if command.eq_ignore_ascii_case("none") {
        return None;
    }
    let output = Command::new(&command).arg("--version").output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Some(Python {
        command,
        version: text,
    })
}

impl Python {
    /// Runs `script` with `args`, in its own process group, and parses the JSON
    /// it prints. If it runs past `limit`, the whole group (multiprocessing
    /// children included) is killed and an error says so.
    pub fn run_json(
        &self,
        script: &Path,
        args: &[String],
        limit: Duration,
    ) -> Result<serde_json::Value> {
        let child = Command::new(&self.command)
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .with_context(|| format!("could not start {} {}", self.command, script.display()))?;
        let group = Pid::from_raw(child.id() as i32);
        // Waiting happens on a helper thread so that this one can enforce the
        // limit without polling (polling would steal CPU from the measurement).
        let (done, finished) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = done.send(child.wait_with_output());
        });
        let output = match finished.recv_timeout(limit) {
            Ok(output) => output?,
            Err(_) => {
                let _ = killpg(group, Signal::SIGKILL);
                let _ = waiter.join();
                bail!(
                    "{} timed out after {limit:?} and was killed",
                    script.display()
                );
            }
        };
        let _ = waiter.join();
        if !output.status.success() {
            bail!(
                "{} failed ({}): {}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        serde_json::from_slice(&output.stdout)
            .with_context(|| format!("{} did not print valid JSON", script.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn script(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn runs_a_script_and_parses_its_json() {
        let Some(python) = find() else {
            eprintln!("python3 not found: nothing to check here");
            return;
        };
        let file = script("import json, sys\nprint(json.dumps({'args': sys.argv[1:]}))\n");
        let value = python
            .run_json(file.path(), &["x".into()], Duration::from_secs(20))
            .unwrap();
        assert_eq!(value["args"][0], "x");
    }

    #[test]
    fn a_script_past_its_limit_is_killed() {
        let Some(python) = find() else {
            eprintln!("python3 not found: nothing to check here");
            return;
        };
        let file = script("import time\ntime.sleep(30)\n");
        let start = std::time::Instant::now();
        let err = python
            .run_json(file.path(), &[], Duration::from_millis(300))
            .unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_failing_script_reports_its_error() {
        let Some(python) = find() else {
            eprintln!("python3 not found: nothing to check here");
            return;
        };
        let file = script("raise SystemExit('no good')\n");
        let err = python
            .run_json(file.path(), &[], Duration::from_secs(20))
            .unwrap_err();
        assert!(err.to_string().contains("no good"), "{err}");
    }
}
