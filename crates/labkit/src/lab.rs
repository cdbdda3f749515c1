//! What a lab declares — its experiments, their claims, its own options —
//! and the [`Context`] an experiment runs in.

use crate::calibrate::Paired;
use crate::claims::Claim;
use crate::progress::Progress;
use crate::python::{Python, PythonRounds};
use crate::results::Measured;
use crate::timing::{Interleaved, Variant};
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A lab: its experiments, and where its sources are (for the freshness hash).
pub struct Lab {
    /// Package name, e.g. "lab-01".
    pub id: &'static str,
    /// Title, as in the book.
    pub title: &'static str,
    /// The lab crate's directory: pass `env!("CARGO_MANIFEST_DIR")`.
    pub source_dir: &'static str,
    /// The experiments, in the order they run and are shown.
    pub experiments: Vec<Experiment>,
    /// The lab's own numeric options (sizes, counts), beyond the common ones.
    pub options: Vec<LabOption>,
}

/// A lab's own numeric command-line option, e.g. `--max-threads 1000`.
/// clap rejects a value outside `min..=max` before anything is measured or
/// spawned, with a message that names the range.
pub struct LabOption {
    /// The long flag without dashes, e.g. "max-threads".
    pub name: &'static str,
    /// One line of help for `--help`.
    pub help: &'static str,
    /// The value used when the flag is not given (in full and quick runs).
    pub default: u64,
    /// The smallest value accepted.
    pub min: u64,
    /// The largest value accepted: beyond it a run would exhaust the machine.
    pub max: u64,
}

/// One experiment and the claims it checks.
pub struct Experiment {
    /// Short name for `--only` and `experiment.metric` paths.
    pub name: &'static str,
    /// Title for tables and charts.
    pub title: &'static str,
    /// Runs the experiment.
    pub run: fn(&Context) -> Result<Measured>,
    /// Claims (and demonstrations) checked against its metrics.
    pub claims: Vec<Claim>,
}

impl Experiment {
    /// Whether a claim of this experiment is judged against the machine's
    /// parallel capacity, which must then be measured in the same rounds.
    pub fn judged_by_capacity(&self) -> bool {
        self.claims.iter().any(Claim::judged_by_capacity)
    }
}

/// What an experiment gets to work with.
pub struct Context<'a> {
    /// Smaller sizes and fewer repeats.
    pub quick: bool,
    /// Threads or processes to use.
    pub workers: usize,
    /// Logical cores available.
    pub cores: usize,
    /// CPython, when found.
    pub python: Option<&'a Python>,
    /// The lab crate's directory (for its `python/` scripts).
    pub lab_dir: &'a Path,
    /// Where to report progress.
    pub progress: &'a Progress,
    /// This lab's program, when it runs from its own binary (not from a test
    /// harness): experiments can start it again in child mode (see
    /// [`crate::cli::CHILD_MODE`]).
    pub program: Option<&'a Path>,
    /// The values of the lab's own options.
    pub(crate) options: &'a BTreeMap<String, u64>,
    /// Set when this experiment's claims are judged against the machine's
    /// parallel capacity: then [`Context::interleave`] measures it in the same rounds.
    pub(crate) paired: Option<&'a Paired>,
}

impl<'a> Context<'a> {
    /// The value of the lab's option `name` (declared in [`Lab::options`]).
    pub fn option(&self, name: &str) -> u64 {
        match self.options.get(name) {
            Some(&value) => value,
            None => panic!("the lab declares no option {name:?} in Lab::options"),
        }
    }

    /// `full` normally, `quick` with `--quick`.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }

    /// The lab's Python script `name` (in its `python/` directory).
    pub fn python_script(&self, name: &str) -> PathBuf {
        self.lab_dir.join("python").join(name)
    }

    /// CPython running the lab's script `name` once per round (see
    /// [`PythonRounds`]), or `None` when python3 was not found.
    pub fn python_rounds(
        &self,
        name: &str,
        args: Vec<String>,
        variants: &[&str],
    ) -> Option<PythonRounds<'a>> {
        let python = self.python?;
        Some(PythonRounds::new(
            python,
            &self.python_script(name),
            args,
            variants,
        ))
    }

    /// Runs `variants` interleaved, `rounds` times after `warmup` unmeasured
    /// rounds (see [`crate::timing::interleave`]). When the experiment's claims
    /// are judged against the machine's parallel capacity, every round also
    /// measures that capacity, so the speedup and the yardstick see the same
    /// machine, second for second.
    pub fn interleave<'v>(
        &'v self,
        rounds: usize,
        warmup: usize,
        variants: &mut [Variant<'v>],
    ) -> Result<Interleaved> {
        match self.paired {
            Some(paired) => paired.interleave(rounds, warmup, variants, self.progress),
            None => crate::timing::interleave(rounds, warmup, variants, self.progress),
        }
    }

    /// The parallel capacity measured so far in this experiment's own rounds
    /// (only when its claims are judged against it): a yardstick to draw
    /// beside the experiment's speedups.
    pub fn capacity(&self) -> Option<crate::stats::Summary> {
        self.paired.and_then(Paired::capacity)
    }

    /// Runs only a CPython script, once per round, interleaved (with this
    /// experiment's capacity calibration, when it has one); its variants'
    /// seconds, round by round.
    pub fn interleave_python(&self, cpython: &PythonRounds, rounds: usize) -> Result<Interleaved> {
        let mut only = [cpython.variant("CPython")];
        self.interleave(rounds, 0, &mut only)?;
        Ok(cpython.times(rounds))
    }
}
