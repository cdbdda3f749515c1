//! A lab's `grading.toml`: its graded tests (points, repeats, visibility),
//! the limits every run of a test gets, the limits of building the lab,
//! and what the source gate allows.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The limits one run of one graded test gets. Each can be set for a whole
/// lab (`[limits]`) and overridden per test.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock seconds before the test's process group is killed.
    pub timeout_seconds: f64,
    /// CPU seconds (`RLIMIT_CPU`): all threads together.
    pub cpu_seconds: u64,
    /// Address space in MiB (`RLIMIT_AS`).
    pub memory_mib: u64,
    /// Processes and threads the test may have at once.
    pub processes: u64,
    /// Largest file the test may write, in MiB (`RLIMIT_FSIZE`).
    pub file_mib: u64,
    /// Output kept for the report, in KiB; the rest is counted, not kept.
    pub output_kib: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout_seconds: 30.0,
            cpu_seconds: 60,
            memory_mib: 4096,
            processes: 256,
            file_mib: 64,
            output_kib: 64,
        }
    }
}

impl Limits {
    /// The wall-clock limit as a `Duration`.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_seconds)
    }

    /// Output beyond which a test is stopped: it is flooding, not reporting.
    pub fn output_flood_bytes(&self) -> u64 {
        (self.output_kib * 1024).max(16 << 20)
    }

    fn check(&self) -> Result<()> {
        if !(self.timeout_seconds > 0.0 && self.timeout_seconds <= 3600.0) {
            bail!(
                "timeout_seconds must be in (0, 3600], not {}",
                self.timeout_seconds
            );
        }
        let positive = [
            ("cpu_seconds", self.cpu_seconds),
            ("memory_mib", self.memory_mib),
            ("processes", self.processes),
            ("file_mib", self.file_mib),
            ("output_kib", self.output_kib),
        ];
        for (name, value) in positive {
            if value == 0 {
                bail!("{name} must be at least 1");
            }
        }
        Ok(())
    }
}

/// The limits of building one lab of one submission (`[build]`): cargo and
/// every compiler process it starts, as one process group. A build that
/// reaches one is stopped and the lab scores zero, so each must be far above
/// what an honest build needs — a cold build compiles the lab's dependencies
/// too.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BuildLimits {
    /// Wall-clock seconds before the build's whole process group is killed
    /// (900 by default).
    pub timeout_seconds: f64,
    /// Address space of each process of the build, in MiB (`RLIMIT_AS`,
    /// 8192 by default).
    pub memory_mib: u64,
    /// Compiler messages (cargo's output), in MiB, beyond which the build is
    /// stopped: it is flooding, not reporting (64 by default).
    pub output_mib: u64,
}

impl Default for BuildLimits {
    fn default() -> BuildLimits {
        BuildLimits {
            timeout_seconds: 900.0,
            // Cold builds of labs 01, 02, 04, 07 and 10 (dependencies
            // included) peaked at 911 MiB of address space in one process
            // (rustc; the linker at 898 MiB): 8 GiB is nine times that, and
            // leaves room for the extra threads of a machine with more cores.
            memory_mib: 8192,
            // The same builds printed at most 120 KiB of messages.
            output_mib: 64,
        }
    }
}

impl BuildLimits {
    /// The wall-clock limit as a `Duration`.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_seconds)
    }

    fn check(&self) -> Result<()> {
        if !(self.timeout_seconds > 0.0 && self.timeout_seconds <= 4.0 * 3600.0) {
            bail!(
                "timeout_seconds must be in (0, 14400], not {}",
                self.timeout_seconds
            );
        }
        // Below this a compiler cannot even load its libraries: every build
        // would fail, which is a mistake in the file, not a limit.
        if self.memory_mib < 512 {
            bail!("memory_mib must be at least 512, not {}", self.memory_mib);
        }
        if self.output_mib == 0 {
            bail!("output_mib must be at least 1");
        }
        Ok(())
    }
}

/// Who sees a test's result on Gradescope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Shown at once.
    Visible,
    /// Shown once the due date has passed.
    AfterDueDate,
    /// Shown once the grades are published.
    AfterPublished,
    /// Never shown to the student.
    Hidden,
}

/// One graded test, as written in `grading.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    file: String,
    name: String,
    points: f64,
    #[serde(default)]
    repeat: Option<u32>,
    #[serde(default)]
    visibility: Option<Visibility>,
    #[serde(default)]
    timeout_seconds: Option<f64>,
    #[serde(default)]
    memory_mib: Option<u64>,
    #[serde(default)]
    processes: Option<u64>,
}

/// Partial limits in `[limits]`: what is left out keeps its default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    timeout_seconds: Option<f64>,
    cpu_seconds: Option<u64>,
    memory_mib: Option<u64>,
    processes: Option<u64>,
    file_mib: Option<u64>,
    output_kib: Option<u64>,
}

/// A lab's `[gate]` table: changes to the source gate's default deny list
/// (see [`crate::gate`]). Both lists are empty by default.
///
/// ```toml
/// [gate]
/// # The exercises fork with nix, which is an unsafe call.
/// allow = ["unsafe"]
/// deny = ["spawn"]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Default rules this lab's solution needs, by name (`unsafe`, `exit`,
    /// `/dev/stdout`, …); each is then allowed in submissions too.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Further identifiers refused wherever they appear.
    #[serde(default)]
    pub deny: Vec<String>,
}

impl GateConfig {
    fn check(&self) -> Result<()> {
        let known: Vec<&str> = crate::gate::rule_names().collect();
        for name in &self.allow {
            if !known.contains(&name.as_str()) {
                bail!(
                    "allow = [{name:?}] is not a rule of the gate; the rules are {}",
                    known.join(", ")
                );
            }
        }
        for name in &self.deny {
            let mut chars = name.chars();
            let identifier = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_');
            if !identifier {
                bail!("deny = [{name:?}]: only identifiers can be denied");
            }
        }
        Ok(())
    }
}

/// Partial limits in `[build]`: what is left out keeps its default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    timeout_seconds: Option<f64>,
    memory_mib: Option<u64>,
    output_mib: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrading {
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    gate: GateConfig,
    #[serde(default)]
    build: RawBuild,
    #[serde(default)]
    test: Vec<RawTest>,
}

/// One graded test with everything resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradedTest {
    /// The test target: `tests/<file>.rs`.
    pub file: String,
    /// The test function's name.
    pub name: String,
    /// Points it is worth.
    pub points: f64,
    /// How many times it must pass (race-sensitive tests run more than once).
    pub repeat: u32,
    /// Who sees its result: visible tests by default, hidden ones after the due date.
    pub visibility: Visibility,
    /// The limits of each run.
    pub limits: Limits,
}

/// A lab's grading: its graded tests in the order of the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grading {
    /// The lab-wide limits (before per-test overrides).
    pub limits: Limits,
    /// The limits of building the lab.
    pub build: BuildLimits,
    /// The graded tests.
    pub tests: Vec<GradedTest>,
    /// What the source gate allows and denies beyond its defaults.
    pub gate: GateConfig,
}

impl Grading {
    /// Reads `path`; errors name the file and what is wrong.
    pub fn load(path: &Path) -> Result<Grading> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Grading::parse(&text).with_context(|| format!("{} is not valid", path.display()))
    }

    /// Parses the text of a `grading.toml`.
    pub fn parse(text: &str) -> Result<Grading> {
        let raw: RawGrading = toml::from_str(text)?;
        let defaults = Limits::default();
        let l = raw.limits;
        let limits = Limits {
            timeout_seconds: l.timeout_seconds.unwrap_or(defaults.timeout_seconds),
            cpu_seconds: l.cpu_seconds.unwrap_or(defaults.cpu_seconds),
            memory_mib: l.memory_mib.unwrap_or(defaults.memory_mib),
            processes: l.processes.unwrap_or(defaults.processes),
            file_mib: l.file_mib.unwrap_or(defaults.file_mib),
            output_kib: l.output_kib.unwrap_or(defaults.output_kib),
        };
        limits.check().context("in [limits]")?;
        let build_defaults = BuildLimits::default();
        let build = BuildLimits {
            timeout_seconds: raw
                .build
                .timeout_seconds
                .unwrap_or(build_defaults.timeout_seconds),
            memory_mib: raw.build.memory_mib.unwrap_or(build_defaults.memory_mib),
            output_mib: raw.build.output_mib.unwrap_or(build_defaults.output_mib),
        };
        build.check().context("in [build]")?;
        raw.gate.check().context("in [gate]")?;
        let mut tests = Vec::new();
        for t in raw.test {
            tests.push(resolve(t, limits)?);
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &tests {
            if !seen.insert((t.file.as_str(), t.name.as_str())) {
                bail!("test {} of tests/{}.rs is listed twice", t.name, t.file);
            }
        }
        Ok(Grading {
            limits,
            build,
            tests,
            gate: raw.gate,
        })
    }

    /// The test targets that hold graded tests, each once, in order.
    pub fn files(&self) -> Vec<String> {
        let mut files: Vec<String> = Vec::new();
        for t in &self.tests {
            if !files.contains(&t.file) {
                files.push(t.file.clone());
            }
        }
        files
    }

    /// The points of all graded tests.
    pub fn max_score(&self) -> f64 {
        self.tests.iter().map(|t| t.points).sum()
    }
}

fn resolve(t: RawTest, lab: Limits) -> Result<GradedTest> {
    let what = || format!("test {} of tests/{}.rs", t.name, t.file);
    if t.name.trim().is_empty() || t.file.trim().is_empty() {
        bail!("a [[test]] needs a file and a name");
    }
    if !(t.points.is_finite() && t.points >= 0.0) {
        bail!("{}: points must be a number ≥ 0", what());
    }
    let repeat = t.repeat.unwrap_or(1);
    if !(1..=100).contains(&repeat) {
        bail!("{}: repeat must be between 1 and 100", what());
    }
    let limits = Limits {
        timeout_seconds: t.timeout_seconds.unwrap_or(lab.timeout_seconds),
        memory_mib: t.memory_mib.unwrap_or(lab.memory_mib),
        processes: t.processes.unwrap_or(lab.processes),
        ..lab
    };
    limits.check().with_context(what)?;
    // Tests students cannot see are shown after the due date unless said otherwise.
    let default_visibility = if t.file == "hidden" {
        Visibility::AfterDueDate
    } else {
        Visibility::Visible
    };
    Ok(GradedTest {
        visibility: t.visibility.unwrap_or(default_visibility),
        file: t.file,
        name: t.name,
        points: t.points,
        repeat,
        limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_overrides_and_visibility() {
        let grading = Grading::parse(
            r#"
            [limits]
            timeout_seconds = 10
            [[test]]
            file = "exercises"
            name = "a"
            points = 1
            [[test]]
            file = "hidden"
            name = "b"
            points = 2
            repeat = 3
            processes = 32
            "#,
        )
        .unwrap();
        assert_eq!(grading.tests.len(), 2);
        let (a, b) = (&grading.tests[0], &grading.tests[1]);
        assert_eq!(a.limits.timeout_seconds, 10.0);
        assert_eq!(a.limits.memory_mib, Limits::default().memory_mib);
        assert_eq!(a.visibility, Visibility::Visible);
        assert_eq!(b.visibility, Visibility::AfterDueDate);
        assert_eq!((b.repeat, b.limits.processes), (3, 32));
        assert_eq!(grading.max_score(), 3.0);
        assert_eq!(grading.files(), ["exercises", "hidden"]);
        assert_eq!(grading.gate, GateConfig::default());
        assert_eq!(grading.build, BuildLimits::default());
    }

    #[test]
    fn build_limits_are_read_from_the_build_table() {
        let grading = Grading::parse("[build]\ntimeout_seconds = 120\noutput_mib = 8").unwrap();
        assert_eq!(grading.build.timeout_seconds, 120.0);
        assert_eq!(grading.build.output_mib, 8);
        assert_eq!(grading.build.memory_mib, BuildLimits::default().memory_mib);
    }

    #[test]
    fn the_gate_table_allows_rules_and_denies_identifiers() {
        let grading =
            Grading::parse("[gate]\nallow = ['unsafe', '/dev/stdout']\ndeny = ['spawn']").unwrap();
        assert_eq!(grading.gate.allow, ["unsafe", "/dev/stdout"]);
        assert_eq!(grading.gate.deny, ["spawn"]);
    }

    #[test]
    fn mistakes_are_errors_that_say_what_is_wrong() {
        let cases = [
            ("[[test]]\nfile='e'\nname='a'\npoints=-1", "points"),
            ("[[test]]\nfile='e'\nname='a'\npoints=1\nrepeat=0", "repeat"),
            ("[limits]\ntimeout_seconds=0", "timeout_seconds"),
            ("[limits]\nprocesses=0", "processes"),
            ("[build]\ntimeout_seconds=-1", "timeout_seconds"),
            ("[build]\nmemory_mib=16", "memory_mib"),
            ("[build]\noutput_mib=0", "output_mib"),
            ("[build]\nmemory=16", "memory"),
            ("[[test]]\nfile='e'\nname='a'\npoints=1\nrepaet=2", "repaet"),
            (
                "[[test]]\nfile='e'\nname='a'\npoints=1\n[[test]]\nfile='e'\nname='a'\npoints=1",
                "twice",
            ),
            ("[gate]\nallow=['unsafe', 'exitt']", "exitt"),
            ("[gate]\ndeny=['std::process']", "std::process"),
            ("[gate]\nalow=['unsafe']", "alow"),
        ];
        for (text, word) in cases {
            let err = format!("{:#}", Grading::parse(text).unwrap_err());
            assert!(err.contains(word), "{text:?} gave {err}");
        }
    }
}
