//! The results file format: what a lab run writes and the book reads.
//!
//! One JSON file per lab (`results/lab-NN.json`). The schema is versioned; a
//! reader refuses a file of another version with a message that says what to do.

use crate::claims::ClaimResult;
use crate::machine::Machine;
use crate::stats::Summary;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The version of the results format this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// What one lab run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabResults {
    /// Format version, [`SCHEMA_VERSION`].
    pub schema: u32,
    /// Lab id, e.g. "lab-01".
    pub lab: String,
    /// Lab title.
    pub title: String,
    /// "full" (for the book) or "quick" (for CI).
    pub mode: Mode,
    /// When the run ended (RFC 3339, UTC).
    pub measured_at: String,
    /// How long the whole run took, in seconds.
    pub duration_s: f64,
    /// Hash of the lab's measured sources (see [`source_hash`]).
    pub source_hash: String,
    /// Workers (threads or processes) the experiments used.
    pub workers: usize,
    /// The machine and build.
    pub machine: Machine,
    /// Every experiment, including the parallel-capacity calibration.
    pub experiments: Vec<ExperimentResult>,
    /// Every claim with its verdict.
    pub claims: Vec<ClaimResult>,
}

/// How thoroughly a lab was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Default sizes and repeats: what the book shows.
    Full,
    /// Smaller sizes, fewer repeats: for CI and a first look.
    Quick,
}

/// One experiment's parameters and measured metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentResult {
    /// Short name used in `--only` and in `experiment.metric` paths.
    pub name: String,
    /// A title for tables and charts.
    pub title: String,
    /// The parameters it ran with (sizes, counts).
    pub params: BTreeMap<String, serde_json::Value>,
    /// What it measured.
    pub metrics: Vec<Metric>,
    /// Why it did not run, when it could not (e.g. python3 not found).
    pub skipped: Option<String>,
    /// Pictures drawn by the lab from what it measured (e.g. a timeline),
    /// placed in the book with `{{#lab-figure lab-NN experiment.name}}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<Figure>,
}

/// A picture a lab drew from one of its runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Name within its experiment.
    pub name: String,
    /// What it shows, in a sentence.
    pub caption: String,
    /// The picture, as inline SVG.
    pub svg: String,
}

/// One measured quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Name within its experiment, e.g. "threads_speedup".
    pub name: String,
    /// What it is, in words, for tables.
    pub label: String,
    /// Its unit.
    pub unit: Unit,
    /// The headline value: the median where there were repeated samples.
    pub value: f64,
    /// The spread, where there were repeated samples.
    pub summary: Option<Summary>,
    /// How the book draws it, beyond the table (none: table only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
}

/// Where a metric appears in the book's charts. (Speedups, named `*_speedup`,
/// always get their own bar chart with reference lines.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Chart {
    /// One bar among the experiment's other bars of the same unit.
    Bar,
    /// One point of a line: `series` is the line, `x` the position on an
    /// axis called `x_name`, in `x_unit`.
    Point {
        /// The line this point belongs to, e.g. "threads".
        series: String,
        /// The position along the x axis.
        x: f64,
        /// What the x axis measures, e.g. "message size".
        x_name: String,
        /// The x axis's unit.
        x_unit: Unit,
    },
}

/// Units of measured values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Wall-clock seconds.
    Seconds,
    /// A ratio, e.g. a speedup ("1.9×").
    Times,
    /// A number of bytes.
    Bytes,
    /// A count of things.
    Count,
    /// Yes (1) or no (0): something that was observed or not.
    Flag,
    /// A rate of bytes per second (throughput).
    #[serde(rename = "bytes/s")]
    BytesPerSecond,
}

/// What an experiment returns: its parameters and metrics, built step by step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    /// Parameters the experiment ran with.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Metrics in the order they were added.
    pub metrics: Vec<Metric>,
    /// Set when the experiment could not run here.
    pub skipped: Option<String>,
    /// Pictures drawn from the run.
    pub figures: Vec<Figure>,
}

impl Measured {
    /// An empty measurement.
    pub fn new() -> Measured {
        Measured::default()
    }

    /// An experiment that could not run here, and why.
    pub fn skipped(reason: impl Into<String>) -> Measured {
        Measured {
            skipped: Some(reason.into()),
            ..Measured::default()
        }
    }

    /// Records a parameter.
    pub fn param(&mut self, name: &str, value: impl Into<serde_json::Value>) -> &mut Self {
        self.params.insert(name.to_string(), value.into());
        self
    }

    /// Records repeated samples of a metric; the headline value is their median.
    pub fn summary(&mut self, name: &str, label: &str, unit: Unit, summary: Summary) -> &mut Self {
        self.metrics.push(Metric {
            name: name.to_string(),
            label: label.to_string(),
            unit,
            value: summary.median,
            summary: Some(summary),
            chart: None,
        });
        self
    }

    /// Records a single observed value.
    pub fn value(&mut self, name: &str, label: &str, unit: Unit, value: f64) -> &mut Self {
        self.metrics.push(Metric {
            name: name.to_string(),
            label: label.to_string(),
            unit,
            value,
            summary: None,
            chart: None,
        });
        self
    }

    /// Records something observed (or not), e.g. "the parent saw the change".
    pub fn flag(&mut self, name: &str, label: &str, observed: bool) -> &mut Self {
        self.value(name, label, Unit::Flag, if observed { 1.0 } else { 0.0 })
    }

    /// Adds a picture drawn from the run (inline SVG).
    pub fn figure(&mut self, name: &str, caption: &str, svg: String) -> &mut Self {
        self.figures.push(Figure {
            name: name.to_string(),
            caption: caption.to_string(),
            svg,
        });
        self
    }

    /// Draws the metric added last as a bar in the experiment's bar chart.
    pub fn bar(&mut self) -> &mut Self {
        self.mark_last(Chart::Bar)
    }

    /// Draws the metric added last as the point at `x` of the line `series`;
    /// the x axis is `x_name`, in `x_unit`.
    pub fn at(&mut self, series: &str, x_name: &str, x_unit: Unit, x: f64) -> &mut Self {
        self.mark_last(Chart::Point {
            series: series.to_string(),
            x,
            x_name: x_name.to_string(),
            x_unit,
        })
    }

    fn mark_last(&mut self, chart: Chart) -> &mut Self {
        let last = self
            .metrics
            .last_mut()
            .expect("add a metric before saying how to chart it");
        last.chart = Some(chart);
        self
    }

    /// The metric called `name`, if it was measured.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

impl LabResults {
    /// Reads a results file, with errors that name the file and what is wrong.
    pub fn load(path: &Path) -> Result<LabResults> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {} (run `cargo xtask measure` to create it)",
                path.display()
            )
        })?;
        let raw: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let version = raw.get("schema").and_then(|v| v.as_u64());
        if version != Some(u64::from(SCHEMA_VERSION)) {
            bail!(
                "{} has results format {:?}, this code reads format {SCHEMA_VERSION}: re-measure with `cargo xtask measure`",
                path.display(),
                version
            );
        }
        serde_json::from_value(raw)
            .with_context(|| format!("{} does not match the results format", path.display()))
    }

    /// Writes the results as pretty JSON, creating the directory if needed.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    /// The experiment called `name`.
    pub fn experiment(&self, name: &str) -> Result<&ExperimentResult> {
        self.experiments
            .iter()
            .find(|e| e.name == name)
            .with_context(|| {
                let names: Vec<&str> = self.experiments.iter().map(|e| e.name.as_str()).collect();
                format!(
                    "{} has no experiment {name:?}; it has: {}",
                    self.lab,
                    names.join(", ")
                )
            })
    }

    /// The metric at `experiment.metric`.
    pub fn metric(&self, path: &str) -> Result<&Metric> {
        let (experiment, metric) = path
            .split_once('.')
            .with_context(|| format!("{path:?} is not of the form experiment.metric"))?;
        let found = self.experiment(experiment)?;
        if let Some(reason) = &found.skipped {
            bail!(
                "{}: experiment {experiment:?} was skipped ({reason})",
                self.lab
            );
        }
        found
            .metrics
            .iter()
            .find(|m| m.name == metric)
            .with_context(|| {
                let names: Vec<&str> = found.metrics.iter().map(|m| m.name.as_str()).collect();
                format!(
                    "{} experiment {experiment:?} has no metric {metric:?}; it has: {}",
                    self.lab,
                    names.join(", ")
                )
            })
    }
}

/// The files whose content decides a lab's numbers: everything under `src/`,
/// `python/` and `programs/` (lab 04's Python programs), and `Cargo.toml`. `src/exercises.rs` is left out: exercises are
/// not measured, and the student edition strips their solutions.
pub fn measured_sources(lab_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = vec![lab_dir.join("Cargo.toml")];
    for sub in ["src", "python", "programs"] {
        collect_files(&lab_dir.join(sub), &mut files)?;
    }
    files.retain(|f| f.file_name().is_some_and(|n| n != "exercises.rs"));
    files.sort();
    Ok(files)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "__pycache__") {
                collect_files(&path, out)?;
            }
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// SHA-256 over the measured sources' relative paths and contents. A committed
/// result whose hash differs from the sources' was measured on other code.
pub fn source_hash(lab_dir: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    for file in measured_sources(lab_dir)? {
        let relative = file.strip_prefix(lab_dir).unwrap_or(&file);
        hasher.update(relative.to_string_lossy().replace('\\', "/").as_bytes());
        hasher.update([0]);
        let content =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    let digest = hasher.finalize();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_changes_with_measured_code_but_not_with_exercises() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), "[package]").unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "fn a() {}").unwrap();
        std::fs::write(dir.path().join("src/exercises.rs"), "solution").unwrap();
        let before = source_hash(dir.path()).unwrap();

        std::fs::write(dir.path().join("src/exercises.rs"), "todo!()").unwrap();
        assert_eq!(source_hash(dir.path()).unwrap(), before);

        std::fs::write(dir.path().join("src/lib.rs"), "fn b() {}").unwrap();
        assert_ne!(source_hash(dir.path()).unwrap(), before);
    }

    #[test]
    fn loading_names_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("lab-99.json");
        let err = format!("{:#}", LabResults::load(&missing).unwrap_err());
        assert!(
            err.contains("lab-99.json") && err.contains("cargo xtask measure"),
            "{err}"
        );

        let corrupt = dir.path().join("corrupt.json");
        std::fs::write(&corrupt, "{ not json").unwrap();
        let err = format!("{:#}", LabResults::load(&corrupt).unwrap_err());
        assert!(
            err.contains("corrupt.json") && err.contains("not valid JSON"),
            "{err}"
        );

        let old = dir.path().join("old.json");
        std::fs::write(&old, r#"{"schema": 0}"#).unwrap();
        let err = format!("{:#}", LabResults::load(&old).unwrap_err());
        assert!(
            err.contains("old.json") && err.contains("re-measure"),
            "{err}"
        );

        let wrong = dir.path().join("wrong.json");
        std::fs::write(&wrong, r#"{"schema": 1, "lab": 3}"#).unwrap();
        let err = format!("{:#}", LabResults::load(&wrong).unwrap_err());
        assert!(
            err.contains("wrong.json") && err.contains("results format"),
            "{err}"
        );
    }
}
