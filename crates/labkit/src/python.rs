//! Finding CPython and running the labs' Python counterparts under a time
//! limit — and [`PythonRounds`], the one way every lab runs CPython in the
//! same interleaved rounds as its Rust variants.

use crate::child::output_within;
use crate::timing::{Interleaved, Variant};
use anyhow::{Context, Result, bail};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long one run of a lab's Python script may take before it is killed.
pub const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

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
    /// Whether its threads run under a GIL (`sys._is_gil_enabled()`, which
    /// CPython has since 3.13; every earlier CPython has a GIL).
    pub gil: bool,
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
    let probe = "import sys; print(getattr(sys, '_is_gil_enabled', lambda: True)())";
    let gil = Command::new(&command)
        .args(["-c", probe])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() != "False")
        .unwrap_or(true);
    Some(Python {
        command,
        version: text,
        gil,
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
        numbers_in(&json, names, script)
    }
}

/// The numbers `script` printed (as `json`) under `names`, in that order.
fn numbers_in(json: &serde_json::Value, names: &[&str], script: &Path) -> Result<Vec<f64>> {
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

/// A CPython script run once per round, as one more variant of an
/// interleaved comparison. Each run times its own variants from inside
/// CPython (so interpreter start-up is not counted) and prints their seconds
/// as JSON, by name; run `k` gets `--first=k`, so that the script can rotate
/// which of its variants runs first, as the Rust rounds do.
///
/// ```text
/// let cpython = PythonRounds::new(python, script, vec!["--n=1000".into()], &["sequential", "threads"]);
/// let mut variants = vec![Variant::new("threads", …), cpython.variant("CPython")];
/// let times = ctx.interleave(rounds, 1, &mut variants)?;
/// drop(variants);
/// let python_times = cpython.times(times.rounds()); // warm-up runs dropped
/// ```
pub struct PythonRounds<'a> {
    python: &'a Python,
    script: PathBuf,
    args: Vec<String>,
    names: Vec<String>,
    runs: RefCell<Vec<Vec<f64>>>,
    last: RefCell<Option<serde_json::Value>>,
}

impl<'a> PythonRounds<'a> {
    /// `script` run with `args` (and `--first=k`); it prints a number for
    /// each of `names`.
    pub fn new(python: &'a Python, script: &Path, args: Vec<String>, names: &[&str]) -> Self {
        PythonRounds {
            python,
            script: script.to_path_buf(),
            args,
            names: names.iter().map(|n| n.to_string()).collect(),
            runs: RefCell::new(Vec::new()),
            last: RefCell::new(None),
        }
    }

    /// Runs the script once and keeps the numbers it printed.
    pub fn run_once(&self) -> Result<()> {
        let run = self.runs.borrow().len();
        let mut args = self.args.clone();
        args.push(format!("--first={run}"));
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let json = self.python.run_json(&self.script, &args, SCRIPT_LIMIT)?;
        self.runs
            .borrow_mut()
            .push(numbers_in(&json, &names, &self.script)?);
        *self.last.borrow_mut() = Some(json);
        Ok(())
    }

    /// Everything the last run printed (beyond the numbers), e.g. a
    /// program's output under a key of its own.
    pub fn last_printed(&self) -> Option<serde_json::Value> {
        self.last.borrow().clone()
    }

    /// The variant that runs the script once per round, under `label`.
    pub fn variant<'v>(&'v self, label: &'v str) -> Variant<'v> {
        Variant::new(label, || self.run_once())
    }

    /// The numbers of the last `rounds` runs (earlier ones were warm-up), as
    /// an interleaved comparison of the script's own variants.
    pub fn times(&self, rounds: usize) -> Interleaved {
        let runs = self.runs.borrow();
        let measured = &runs[runs.len().saturating_sub(rounds)..];
        let seconds = (0..self.names.len())
            .map(|v| measured.iter().map(|run| run[v]).collect())
            .collect();
        Interleaved::from_rounds(self.names.clone(), seconds)
    }

    /// The interpreter's version, e.g. `Python 3.11.7`.
    pub fn version(&self) -> &str {
        &self.python.version
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
    fn python_rounds_rotate_and_drop_the_warm_up_runs() {
        let Some(python) = find() else {
            eprintln!("python3 not found: nothing to check here");
            return;
        };
        // The script reports which run it was as both of its "times".
        let file = script(
            "import json, sys\nk = int(sys.argv[-1].split('=')[1])\nprint(json.dumps({'a': k, 'b': 10 * k}))\n",
        );
        let rounds = PythonRounds::new(&python, file.path(), vec![], &["a", "b"]);
        for _ in 0..3 {
            rounds.run_once().unwrap();
        }
        let times = rounds.times(2);
        assert_eq!(times.seconds("a"), [1.0, 2.0]);
        assert_eq!(times.seconds("b"), [10.0, 20.0]);
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
