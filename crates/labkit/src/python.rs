//! Finding CPython and running the labs' Python counterparts under a time limit.

use crate::child::output_within;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
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
        let mut command = Command::new(&self.command);
        command.arg(script).args(args);
        let output = output_within(command, limit)
            .with_context(|| format!("running {}", script.display()))?;
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

    /// Runs `script` like [`Python::run_json`] and returns the numbers it
    /// printed under `names`, in that order. A value may be a number or a
    /// list whose first item is one (the lab 01 scripts print lists).
    pub fn run_numbers(
        &self,
        script: &Path,
        args: &[String],
        names: &[&str],
        limit: Duration,
    ) -> Result<Vec<f64>> {
        let json = self.run_json(script, args, limit)?;
        names
            .iter()
            .map(|&name| {
                let value = &json[name];
                value
                    .as_f64()
                    .or_else(|| value[0].as_f64())
                    .with_context(|| format!("{} printed no number for {name:?}", script.display()))
            })
            .collect()
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
    fn numbers_are_read_by_name_and_a_missing_one_is_an_error() {
        let Some(python) = find() else {
            eprintln!("python3 not found: nothing to check here");
            return;
        };
        let file = script("import json\nprint(json.dumps({'a': 1.5, 'b': [2.5]}))\n");
        let limit = Duration::from_secs(20);
        let numbers = python
            .run_numbers(file.path(), &[], &["b", "a"], limit)
            .unwrap();
        assert_eq!(numbers, [2.5, 1.5]);
        let err = python
            .run_numbers(file.path(), &[], &["c"], limit)
            .unwrap_err();
        assert!(err.to_string().contains("no number for \"c\""), "{err}");
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
        assert!(format!("{err:#}").contains("was killed"), "{err:#}");
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
