//! The results file format: what a lab run writes and the book reads.
//!
//! One JSON file per lab (`results/lab-NN.json`). The schema is versioned; a
//! reader refuses a file of another version with a message that says what to do.

use crate::format;
use crate::machine::Machine;
use crate::stats::Summary;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The version of the results format this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The experiment under which a lab's parallel-capacity calibration appears.
pub const CALIBRATION_EXPERIMENT: &str = "calibration";

/// The metric that holds a parallel capacity: the calibration's headline,
/// and, in an experiment whose claims were judged against it, the capacity
/// measured in that experiment's own rounds.
pub const CAPACITY_METRIC: &str = "capacity";

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
    /// A share of a whole, in percent (0 to 100): e.g. the updates lost.
    Percent,
}

/// How many times a failing claim's experiment is measured before it fails
/// (`ClaimResult::attempts` counts up to it).
pub const MAX_ATTEMPTS: u32 = 3;

/// What a checked sentence is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Something that could have come out otherwise on another machine, OS or
    /// CPython version: a measurement decides it.
    #[default]
    Claim,
    /// Something true by how the code is built (a thread shares its process's
    /// memory; a lock makes `+=` exact). It is still checked — if it does not
    /// show, the lab is broken — but it is shown as a demonstration, and is
    /// not counted among the claims that passed.
    Demonstration,
}

/// A claim's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The measurement is on the claimed side of the threshold.
    Pass,
    /// It is not (after re-measuring).
    Fail,
    /// The claim cannot be tested on this machine; `reason` says why.
    Skipped,
}

impl Verdict {
    /// The verdict as one word for tables; a failure shouts.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Skipped => "skipped",
        }
    }
}

/// A claim with its verdict, as recorded in the results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    /// The claim's id.
    pub id: String,
    /// The experiment it belongs to.
    pub experiment: String,
    /// A claim or a demonstration (older files hold claims only).
    #[serde(default, skip_serializing_if = "is_claim")]
    pub kind: Kind,
    /// The sentence.
    pub statement: String,
    /// The metric checked.
    pub metric: String,
    /// pass / fail / skipped.
    pub verdict: Verdict,
    /// The measured value, when there was one.
    pub value: Option<f64>,
    /// The value's unit.
    pub unit: Option<Unit>,
    /// The threshold applied on this machine, when there was one.
    pub threshold: Option<f64>,
    /// The rule in words, e.g. "≥ 1.30× (80% of this machine's 1.62× capacity)".
    pub rule: String,
    /// Why it was skipped or failed, in words.
    pub reason: Option<String>,
    /// How many measurements it took (a failing claim is re-measured).
    pub attempts: u32,
}

fn is_claim(kind: &Kind) -> bool {
    *kind == Kind::Claim
}

impl ClaimResult {
    /// Whether this is a demonstration rather than a claim.
    pub fn is_demonstration(&self) -> bool {
        self.kind == Kind::Demonstration
    }

    /// The verdict as one word: a demonstration that held is "shown".
    pub fn word(&self) -> &'static str {
        match (self.kind, self.verdict) {
            (Kind::Demonstration, Verdict::Pass) => "shown",
            (_, verdict) => verdict.word(),
        }
    }

    /// Whether this claim passed.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }

    /// The measured value with its unit, or "—" when there was none.
    pub fn measured_text(&self) -> String {
        match (self.value, self.unit) {
            (Some(value), Some(unit)) => format::value(value, unit),
            _ => "—".to_string(),
        }
    }

    /// The rule when the claim passed, the reason when it did not, and the
    /// attempt that decided it when it took more than one.
    pub fn explanation(&self) -> String {
        let mut text = match (&self.reason, self.verdict) {
            (Some(reason), Verdict::Fail | Verdict::Skipped) => reason.clone(),
            _ => self.rule.clone(),
        };
        if self.attempts > 1 {
            text += &format!(" (attempt {} of {MAX_ATTEMPTS})", self.attempts);
        }
        text
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

/// SHA-256 over the measured sources' relative paths and contents — the
/// lab's own, then those of every lab it depends on by path in its
/// `Cargo.toml` (lab 10 runs lab 06's pools: a change there changes lab 10's
/// numbers too). A committed result whose hash differs from the sources'
/// was measured on other code.
pub fn source_hash(lab_dir: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut seen = Vec::new();
    hash_sources(lab_dir, Path::new(""), &mut hasher, &mut seen)?;
    let digest = hasher.finalize();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Adds the measured sources of the lab in `lab_dir` to `hasher`, each
/// under its path relative to the lab with `prefix` before it (empty for
/// the lab itself, so that a lab without path dependencies keeps the hash
/// it always had), then those of its path dependencies, each once.
fn hash_sources(
    lab_dir: &Path,
    prefix: &Path,
    hasher: &mut Sha256,
    seen: &mut Vec<PathBuf>,
) -> Result<()> {
    let canonical = lab_dir
        .canonicalize()
        .with_context(|| format!("cannot find {}", lab_dir.display()))?;
    if seen.contains(&canonical) {
        return Ok(());
    }
    seen.push(canonical);
    for file in measured_sources(lab_dir)? {
        let relative = prefix.join(file.strip_prefix(lab_dir).unwrap_or(&file));
        hasher.update(relative.to_string_lossy().replace('\\', "/").as_bytes());
        hasher.update([0]);
        let content =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    for written in path_dependencies(lab_dir)? {
        let dependency = lab_dir.join(&written);
        hash_sources(&dependency, &prefix.join(&written), hasher, seen).with_context(|| {
            format!(
                "{} depends on {written} by path",
                lab_dir.join("Cargo.toml").display()
            )
        })?;
    }
    Ok(())
}

/// The paths, as written, of the crates a lab depends on by path under
/// `[dependencies]` in its `Cargo.toml` (`lab-06 = { path = "../lab-06-pools" }`,
/// or `path = …` in a `[dependencies.lab-06]` table). Dependencies taken from
/// the workspace (`labkit.workspace = true`) are not the lab's to hash, and
/// dev-dependencies are not measured.
pub fn path_dependencies(lab_dir: &Path) -> Result<Vec<String>> {
    let manifest = lab_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut section = String::new();
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            section = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string();
            continue;
        }
        let dependencies = section == "dependencies" || section.starts_with("dependencies.");
        if let Some(path) = path_value(line).filter(|_| dependencies) {
            found.push(path.to_string());
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The string after a `path =` key in one line of TOML: at the start of the
/// line or after `{` or `,` (not inside another key such as `xpath`).
fn path_value(line: &str) -> Option<&str> {
    let mut rest = line;
    let mut before = None::<char>;
    while let Some(at) = rest.find("path") {
        let preceding = rest[..at].trim_end().chars().last().or(before);
        let after = rest[at + 4..].trim_start();
        let key = matches!(preceding, None | Some('{' | ','));
        if key && let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start().strip_prefix('"')?;
            return value.split('"').next();
        }
        before = rest[..at + 4].chars().last();
        rest = &rest[at + 4..];
    }
    None
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

    /// A lab directory with a manifest and a `src/lib.rs`.
    fn lab(root: &Path, name: &str, manifest: &str, lib: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
        dir
    }

    #[test]
    fn a_lab_hashes_the_measured_sources_of_the_labs_it_depends_on_by_path() {
        let root = tempfile::tempdir().unwrap();
        let pools = lab(
            root.path(),
            "pools",
            "[package]\nname = \"lab-06\"\n",
            "fn pool() {}",
        );
        let capstone = lab(
            root.path(),
            "capstone",
            "[package]\nname = \"lab-10\"\n\n[dependencies]\nlabkit.workspace = true\nlab-06 = { path = \"../pools\" } # the pools\n",
            "fn job() {}",
        );
        let alone = source_hash(&pools).unwrap();
        let before = source_hash(&capstone).unwrap();

        // An exercise of the dependency is not measured: no change.
        std::fs::write(pools.join("src/exercises.rs"), "todo!()").unwrap();
        assert_eq!(source_hash(&capstone).unwrap(), before);

        // Its measured code is: the dependent's hash changes with it.
        std::fs::write(pools.join("src/lib.rs"), "fn pool() { faster() }").unwrap();
        assert_ne!(source_hash(&capstone).unwrap(), before);
        assert_ne!(source_hash(&pools).unwrap(), alone);

        // A dependency that is gone is an error that names it, not a silent skip.
        std::fs::remove_dir_all(&pools).unwrap();
        let err = format!("{:#}", source_hash(&capstone).unwrap_err());
        assert!(err.contains("../pools"), "{err}");
    }

    #[test]
    fn only_path_dependencies_under_dependencies_count() {
        let root = tempfile::tempdir().unwrap();
        let manifest = r#"[package]
name = "lab-99"
xpath = "not a dependency"

[dependencies]
anyhow.workspace = true
lab-06 = { version = "0.1", path = "../lab-06-pools" }

[dependencies.lab-05]
path = "../lab-05-scaling"

[dev-dependencies]
lab-01 = { path = "../lab-01-threads-and-processes" }

[[bin]]
path = "src/main.rs"
"#;
        let dir = lab(root.path(), "lab-99", manifest, "");
        assert_eq!(
            path_dependencies(&dir).unwrap(),
            ["../lab-05-scaling", "../lab-06-pools"]
        );
        assert_eq!(path_value("x = { path = \"a\" }"), Some("a"));
        assert_eq!(path_value("x = { xpath = \"a\" }"), None);
        assert_eq!(path_value("name = \"path\""), None);
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
