//! Claims: a sentence from the text plus a check over a measured value.
//!
//! Every claim ends in one of three verdicts: `pass`, `fail`, or `skipped` with
//! the reason (one core cannot show a parallel speedup; no python3 cannot show
//! CPython's behaviour). A skipped claim is never counted as passed.
//!
//! A sentence may say `{workers}` (the number of workers of this run) and
//! `{threshold}` (the threshold the rule applied here, with its unit), so that
//! it says exactly what was checked, whatever `--workers` and the machine.
//! Something true by how the code is built is a [`Claim::demonstration`]:
//! checked the same way, shown as such, never counted as a passed claim.

use crate::calibrate::capacity_floor;
use crate::format;
use crate::results::{ClaimResult, Kind, Measured, Unit, Verdict};

/// A claim from the text, checked against one metric of its experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Stable short id, e.g. "cpu-threads".
    pub id: &'static str,
    /// The sentence, as the book states it.
    pub statement: &'static str,
    /// The metric within the experiment the claim is about.
    pub metric: &'static str,
    /// The check the metric must pass.
    pub check: Check,
    /// What the machine must have for the claim to be testable here.
    pub needs: Vec<Needs>,
    /// A claim, or a demonstration of something true by construction.
    pub kind: Kind,
}

/// The kinds of check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    /// value ≥ threshold.
    AtLeast(f64),
    /// value ≤ threshold.
    AtMost(f64),
    /// low ≤ value ≤ high: "about the same", with the band set from the
    /// measured spread.
    Between(f64, f64),
    /// value ≥ fraction × workers: for work that waits, where every worker can
    /// overlap whatever the number of cores.
    PerWorker(f64),
    /// value ≥ fraction × the parallel capacity measured on this machine for
    /// min(workers, cores) processes. "Reaches 80% of what this machine can
    /// give", so a shared VM whose 2 vCPUs deliver 1.6× is held to 1.28×.
    OfCapacity(f64),
    /// The flag was observed.
    Observed,
    /// The flag was not observed.
    NotObserved,
}

/// A condition the machine must meet for a claim to be testable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Needs {
    /// At least this many logical cores.
    Cores(usize),
    /// A working python3.
    Python3,
    /// A python3 whose threads take turns under a GIL (every CPython before
    /// 3.13, and 3.13+ unless built free-threaded and run without it).
    PythonGil,
    /// At least this many workers (`--workers`): "no speedup" needs two
    /// workers to mean anything, since one worker is never faster than itself.
    Workers(usize),
    /// No more workers (`--workers`) than cores: the claim compares "too
    /// many" workers with a count that fits the machine, which on a machine
    /// with fewer cores than workers is already too many.
    WorkersWithinCores,
    /// Two processes really running at once while it was measured: the
    /// parallel capacity measured in the same rounds reached its floor.
    /// (Spinning partners, for example, are fast only when each has a core.)
    Parallel,
}

impl Claim {
    /// A claim about `metric`, checked by `check`.
    pub fn new(
        id: &'static str,
        metric: &'static str,
        check: Check,
        statement: &'static str,
    ) -> Claim {
        let mut needs = Vec::new();
        if matches!(check, Check::OfCapacity(_)) {
            // One core can give no parallel speedup: the claim is untestable there.
            needs.push(Needs::Cores(2));
        }
        Claim {
            id,
            statement,
            metric,
            check,
            needs,
            kind: Kind::Claim,
        }
    }

    /// Something true by how the code is built, shown by a measurement: it
    /// is checked like a claim (if it does not show, the lab is broken) but
    /// presented as a demonstration.
    pub fn demonstration(
        id: &'static str,
        metric: &'static str,
        check: Check,
        statement: &'static str,
    ) -> Claim {
        Claim {
            kind: Kind::Demonstration,
            ..Claim::new(id, metric, check, statement)
        }
    }

    /// Whether this is a demonstration rather than a claim.
    pub fn is_demonstration(&self) -> bool {
        self.kind == Kind::Demonstration
    }

    /// The claim can only be shown with at least `cores` logical cores.
    pub fn needs_cores(mut self, cores: usize) -> Claim {
        self.needs.push(Needs::Cores(cores));
        self
    }

    /// The sentence for a run with `workers` workers and, when known, the
    /// threshold applied (already written with its unit); without one,
    /// `{threshold}` becomes the rule in words.
    pub fn sentence(&self, workers: usize, threshold: Option<&str>) -> String {
        let rule = threshold.map_or_else(|| self.check.words(workers), str::to_string);
        self.statement
            .replace("{workers}", &workers.to_string())
            .replace("{threshold}", &rule)
    }

    /// Its result before anything was checked: skipped, no value, no reason.
    pub fn unchecked(&self, experiment: &str, workers: usize) -> ClaimResult {
        ClaimResult {
            id: self.id.to_string(),
            experiment: experiment.to_string(),
            kind: self.kind,
            statement: self.sentence(workers, None),
            metric: self.metric.to_string(),
            verdict: Verdict::Skipped,
            value: None,
            unit: None,
            threshold: None,
            rule: String::new(),
            reason: None,
            attempts: 1,
        }
    }

    /// The claim is about CPython and needs python3 to be checked.
    pub fn needs_python(mut self) -> Claim {
        self.needs.push(Needs::Python3);
        self
    }

    /// The claim is about CPython's GIL: it needs a python3 that has one.
    pub fn needs_python_gil(mut self) -> Claim {
        self.needs.push(Needs::Python3);
        self.needs.push(Needs::PythonGil);
        self
    }

    /// The claim compares several workers with one: it needs `--workers` ≥ 2.
    pub fn needs_workers(mut self, workers: usize) -> Claim {
        self.needs.push(Needs::Workers(workers));
        self
    }

    /// The claim compares many workers with `--workers` of them as a count
    /// that fits the cores: it needs no more workers than cores.
    pub fn needs_workers_within_cores(mut self) -> Claim {
        self.needs.push(Needs::WorkersWithinCores);
        self
    }

    /// The claim holds only while two processes really run at once: it is
    /// checked against a measurement whose rounds also measured the parallel
    /// capacity, and skipped (after re-measuring) when that was too low.
    pub fn needs_parallel(mut self) -> Claim {
        self.needs.push(Needs::Cores(2));
        self.needs.push(Needs::Parallel);
        self
    }

    /// Whether its experiment must measure the parallel capacity in the same
    /// rounds (see [`crate::Context::interleave`]).
    pub fn judged_by_capacity(&self) -> bool {
        matches!(self.check, Check::OfCapacity(_)) || self.needs.contains(&Needs::Parallel)
    }
}

/// What the machine offers, for deciding which claims apply and their thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// Logical cores available.
    pub cores: usize,
    /// Whether python3 was found.
    pub python3: bool,
    /// Whether that python3 runs threads under a GIL.
    pub python_gil: bool,
    /// Workers the experiments used.
    pub workers: usize,
    /// Measured speedup of min(workers, cores) copies of a CPU loop in as many
    /// processes over one copy; `None` if not calibrated.
    pub capacity: Option<f64>,
}

impl Conditions {
    /// How many processes can run in parallel here: the capacity's k.
    pub fn parallel_processes(&self) -> usize {
        self.workers.min(self.cores).max(1)
    }
}

/// How a skipped claim's reason starts when the machine, at the time, gave too
/// little parallelism to test it. The runner re-measures such a claim.
pub const LOW_CAPACITY: &str = "too little parallel capacity";

impl Check {
    /// The rule in words, before a machine gives it numbers, for `--list`.
    fn words(self, workers: usize) -> String {
        let times = |v: f64| format::value(v, Unit::Times);
        match self {
            Check::AtLeast(t) | Check::AtMost(t) => format!("{t}"),
            Check::Between(low, high) => format!("{low} and {high}"),
            Check::PerWorker(f) => times(f * workers as f64),
            Check::OfCapacity(f) => format!("{:.0}% of the measured capacity", f * 100.0),
            Check::Observed | Check::NotObserved => String::new(),
        }
    }
}

/// Checks one claim against what its experiment measured.
pub fn evaluate(
    claim: &Claim,
    experiment: &str,
    measured: &Measured,
    here: &Conditions,
) -> ClaimResult {
    let mut result = claim.unchecked(experiment, here.workers);
    if let Some(reason) = unmet_need(&claim.needs, here) {
        result.reason = Some(reason);
        return result;
    }
    if let Some(reason) = &measured.skipped {
        result.reason = Some(reason.clone());
        return result;
    }
    if let Some(reason) = measured.untestable.get(claim.metric) {
        result.reason = Some(reason.clone());
        return result;
    }
    let Some(metric) = measured.metric(claim.metric) else {
        result.verdict = Verdict::Fail;
        result.reason = Some(format!("metric {:?} was not measured", claim.metric));
        return result;
    };
    result.value = Some(metric.value);
    result.unit = Some(metric.unit);
    if claim.needs.contains(&Needs::Parallel)
        && let Some(outcome) = too_little_parallelism(here)
    {
        match outcome {
            Outcome::Untestable(reason) => result.reason = Some(reason),
            Outcome::Broken(reason) | Outcome::Checked(_, _, reason) => {
                result.verdict = Verdict::Fail;
                result.reason = Some(reason);
            }
        }
        return result;
    }
    let (holds, threshold, rule) = match apply(claim.check, metric.value, metric.unit, here) {
        Outcome::Checked(holds, threshold, rule) => (holds, threshold, rule),
        Outcome::Untestable(reason) => {
            result.reason = Some(reason);
            return result;
        }
        Outcome::Broken(reason) => {
            result.verdict = Verdict::Fail;
            result.reason = Some(reason);
            return result;
        }
    };
    let shown = match claim.check {
        Check::Between(low, high) => Some(format!(
            "{} and {}",
            format::value(low, metric.unit),
            format::value(high, metric.unit)
        )),
        _ => threshold.map(|t| format::value(t, metric.unit)),
    };
    result.statement = claim.sentence(here.workers, shown.as_deref());
    result.threshold = threshold;
    result.rule = rule;
    result.verdict = if holds { Verdict::Pass } else { Verdict::Fail };
    if !holds {
        result.reason = Some(format!(
            "measured {}, claimed {}",
            format::value(metric.value, metric.unit),
            result.rule
        ));
    }
    result
}

fn unmet_need(needs: &[Needs], here: &Conditions) -> Option<String> {
    needs.iter().find_map(|need| match *need {
        Needs::Cores(n) if here.cores < n => {
            Some(format!("needs ≥{n} cores, this machine has {}", here.cores))
        }
        Needs::Python3 if !here.python3 => Some("python3 not found".to_string()),
        Needs::PythonGil if !here.python_gil => {
            Some("this python3 runs without a GIL (free-threaded)".to_string())
        }
        Needs::Workers(n) if here.workers < n => Some(format!(
            "needs --workers ≥ {n} to compare workers with one; this run used {}",
            here.workers
        )),
        Needs::WorkersWithinCores if here.workers > here.cores => Some(format!(
            "compares with {} workers as a count that fits the cores, but this machine has {} core{}: \
             {} workers are already too many here",
            here.workers,
            here.cores,
            if here.cores == 1 { "" } else { "s" },
            here.workers
        )),
        _ => None,
    })
}

/// Why two processes did not really run at once while this was measured, if
/// they did not: the capacity measured in the same rounds was under its floor.
fn too_little_parallelism(here: &Conditions) -> Option<Outcome> {
    let processes = here.parallel_processes();
    if processes < 2 {
        return Some(Outcome::Untestable(format!(
            "needs 2 processes running at once; --workers {} measures no parallel capacity",
            here.workers
        )));
    }
    let Some(capacity) = here.capacity else {
        return Some(Outcome::Broken(
            "the machine's parallel capacity was not calibrated".into(),
        ));
    };
    let floor = capacity_floor(processes);
    (capacity < floor).then(|| {
        let show = |v: f64| format::value(v, Unit::Times);
        Outcome::Untestable(format!(
            "{LOW_CAPACITY}: {processes} processes ran only {} faster than one while this was measured (a test needs ≥ {})",
            show(capacity),
            show(floor)
        ))
    })
}

/// What applying a check gave.
enum Outcome {
    /// Whether the value passed, the threshold used, and the rule in words.
    Checked(bool, Option<f64>, String),
    /// The machine cannot show this claim right now: skipped, with the reason.
    Untestable(String),
    /// Something the check needs is missing: a failure.
    Broken(String),
}

/// Why a speedup claim cannot be tested with fewer than two workers: one
/// worker against sequential is 1×, which a scaled threshold would pass.
fn one_worker(workers: usize) -> String {
    format!("a speedup needs at least 2 workers; this run used {workers} (--workers)")
}

/// Applies `check` to `value` on this machine.
fn apply(check: Check, value: f64, unit: Unit, here: &Conditions) -> Outcome {
    let show = |v: f64| format::value(v, unit);
    let (holds, threshold, rule) = match check {
        Check::AtLeast(t) => (value >= t, Some(t), format!("≥ {}", show(t))),
        Check::AtMost(t) => (value <= t, Some(t), format!("≤ {}", show(t))),
        Check::Between(low, high) => (
            (low..=high).contains(&value),
            None,
            format!("between {} and {}", show(low), show(high)),
        ),
        Check::PerWorker(fraction) => {
            if here.workers < 2 {
                return Outcome::Untestable(one_worker(here.workers));
            }
            let t = fraction * here.workers as f64;
            let rule = format!(
                "≥ {} ({:.0}% of {} workers)",
                show(t),
                fraction * 100.0,
                here.workers
            );
            (value >= t, Some(t), rule)
        }
        Check::OfCapacity(fraction) => {
            if here.workers < 2 {
                return Outcome::Untestable(one_worker(here.workers));
            }
            if let Some(outcome) = too_little_parallelism(here) {
                return outcome;
            }
            let measured = here.capacity.expect("checked by too_little_parallelism");
            // k processes cannot run more than k times as fast as one: a
            // measured capacity above k is noise in the runs alone, and the
            // threshold is taken from k itself.
            let k = here.parallel_processes() as f64;
            let capacity = measured.min(k);
            let t = fraction * capacity;
            let rule = if measured > k {
                format!(
                    "≥ {} ({:.0}% of {}, the most {k} processes can give; {} was measured)",
                    show(t),
                    fraction * 100.0,
                    show(k),
                    show(measured)
                )
            } else {
                format!(
                    "≥ {} ({:.0}% of this machine's measured {} capacity)",
                    show(t),
                    fraction * 100.0,
                    show(capacity)
                )
            };
            (value >= t, Some(t), rule)
        }
        // A flag is 1 or 0; anything else (NaN included) is not "observed".
        Check::Observed => (value == 1.0, None, "observed".to_string()),
        Check::NotObserved => (value == 0.0, None, "not observed".to_string()),
    };
    Outcome::Checked(holds, threshold, rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_CORES: Conditions = Conditions {
        cores: 2,
        python3: true,
        python_gil: true,
        workers: 2,
        capacity: Some(1.6),
    };

    fn measured(value: f64, unit: Unit) -> Measured {
        let mut m = Measured::new();
        m.value("x", "x", unit, value);
        m
    }

    fn verdict(check: Check, value: f64, here: &Conditions) -> Verdict {
        let claim = Claim::new("c", "x", check, "a claim");
        evaluate(&claim, "e", &measured(value, Unit::Times), here).verdict
    }

    #[test]
    fn a_claim_that_needs_parallelism_is_checked_only_with_enough_capacity() {
        let claim = Claim::new("c", "x", Check::AtLeast(2.0), "s").needs_parallel();
        assert!(claim.judged_by_capacity());
        let check = |value: f64, here: &Conditions| {
            evaluate(&claim, "e", &measured(value, Unit::Times), here)
        };
        assert_eq!(check(3.0, &TWO_CORES).verdict, Verdict::Pass);
        assert_eq!(check(1.5, &TWO_CORES).verdict, Verdict::Fail);
        let busy = Conditions {
            capacity: Some(1.2),
            ..TWO_CORES
        };
        let skipped = check(3.0, &busy);
        assert_eq!(skipped.verdict, Verdict::Skipped);
        assert!(skipped.reason.unwrap().starts_with(LOW_CAPACITY));
        let one_core = Conditions {
            cores: 1,
            capacity: None,
            ..TWO_CORES
        };
        assert_eq!(check(3.0, &one_core).verdict, Verdict::Skipped);
        let uncalibrated = Conditions {
            capacity: None,
            ..TWO_CORES
        };
        assert_eq!(check(3.0, &uncalibrated).verdict, Verdict::Fail);
    }

    #[test]
    fn a_claim_about_too_many_workers_needs_a_baseline_that_fits_the_cores() {
        let claim = Claim::new("c", "x", Check::AtLeast(2.0), "s").needs_workers_within_cores();
        let check = |here: &Conditions| evaluate(&claim, "e", &measured(1.0, Unit::Times), here);
        // Two workers on two cores: checked (and this value fails it).
        assert_eq!(check(&TWO_CORES).verdict, Verdict::Fail);
        // Two workers on one core are already too many: skipped, saying so.
        let one_core = Conditions {
            cores: 1,
            ..TWO_CORES
        };
        let skipped = check(&one_core);
        assert_eq!(skipped.verdict, Verdict::Skipped);
        assert!(skipped.reason.unwrap().contains("already too many"));
    }

    #[test]
    fn at_least_fails_below_its_threshold() {
        assert_eq!(verdict(Check::AtLeast(1.8), 1.9, &TWO_CORES), Verdict::Pass);
        assert_eq!(verdict(Check::AtLeast(1.8), 1.8, &TWO_CORES), Verdict::Pass);
        assert_eq!(
            verdict(Check::AtLeast(1.8), 1.79, &TWO_CORES),
            Verdict::Fail
        );
    }

    #[test]
    fn between_fails_on_either_side_of_its_band() {
        let band = Check::Between(0.85, 1.15);
        assert_eq!(verdict(band, 1.0, &TWO_CORES), Verdict::Pass);
        assert_eq!(verdict(band, 0.84, &TWO_CORES), Verdict::Fail);
        assert_eq!(verdict(band, 1.16, &TWO_CORES), Verdict::Fail);
    }

    #[test]
    fn sentences_say_the_workers_and_the_threshold_of_this_run() {
        let claim = Claim::new(
            "c",
            "x",
            Check::PerWorker(0.9),
            "{workers} threads finish at least {threshold} faster.",
        );
        let four = Conditions {
            workers: 4,
            ..TWO_CORES
        };
        let result = evaluate(&claim, "e", &measured(3.8, Unit::Times), &four);
        assert_eq!(result.statement, "4 threads finish at least 3.60× faster.");
        assert_eq!(result.verdict, Verdict::Pass);
        // Before a machine gives it numbers (--list), the rule stands in.
        assert_eq!(
            claim.sentence(2, None),
            "2 threads finish at least 1.80× faster."
        );
    }

    #[test]
    fn a_demonstration_is_checked_like_a_claim_and_says_what_it_is() {
        let shown = Claim::demonstration("d", "x", Check::Observed, "s");
        let result = evaluate(&shown, "e", &measured(1.0, Unit::Flag), &TWO_CORES);
        assert!(result.is_demonstration());
        assert_eq!((result.verdict, result.word()), (Verdict::Pass, "shown"));
        let broken = evaluate(&shown, "e", &measured(0.0, Unit::Flag), &TWO_CORES);
        assert_eq!((broken.verdict, broken.word()), (Verdict::Fail, "FAIL"));
    }

    #[test]
    fn at_most_fails_above_its_threshold() {
        assert_eq!(verdict(Check::AtMost(1.2), 1.0, &TWO_CORES), Verdict::Pass);
        assert_eq!(verdict(Check::AtMost(1.2), 1.21, &TWO_CORES), Verdict::Fail);
    }

    #[test]
    fn per_worker_scales_with_the_workers() {
        let four = Conditions {
            workers: 4,
            ..TWO_CORES
        };
        assert_eq!(
            verdict(Check::PerWorker(0.9), 1.85, &TWO_CORES),
            Verdict::Pass
        );
        assert_eq!(verdict(Check::PerWorker(0.9), 1.85, &four), Verdict::Fail);
        assert_eq!(verdict(Check::PerWorker(0.9), 3.7, &four), Verdict::Pass);
    }

    #[test]
    fn of_capacity_scales_with_the_measured_capacity() {
        // 80% of 1.6 is 1.28: the issue's own example.
        let claim = Claim::new("c", "x", Check::OfCapacity(0.8), "s");
        let result = evaluate(&claim, "e", &measured(1.3, Unit::Times), &TWO_CORES);
        assert_eq!(result.verdict, Verdict::Pass);
        assert!((result.threshold.unwrap() - 1.28).abs() < 1e-12);
        assert_eq!(
            verdict(Check::OfCapacity(0.8), 1.27, &TWO_CORES),
            Verdict::Fail
        );
        let ideal = Conditions {
            capacity: Some(2.0),
            ..TWO_CORES
        };
        assert_eq!(verdict(Check::OfCapacity(0.8), 1.5, &ideal), Verdict::Fail);
    }

    #[test]
    fn of_capacity_above_what_k_processes_can_give_is_judged_against_k() {
        // 2 processes measured 2.5× as fast as one: the runs alone were slowed.
        let noisy = Conditions {
            capacity: Some(2.5),
            ..TWO_CORES
        };
        let claim = Claim::new("c", "x", Check::OfCapacity(0.8), "s");
        let result = evaluate(&claim, "e", &measured(1.65, Unit::Times), &noisy);
        assert_eq!(result.verdict, Verdict::Pass);
        assert!((result.threshold.unwrap() - 1.6).abs() < 1e-12);
        assert!(
            result.rule.contains("the most 2 processes can give"),
            "{}",
            result.rule
        );
        assert_eq!(verdict(Check::OfCapacity(0.8), 1.59, &noisy), Verdict::Fail);
    }

    #[test]
    fn of_capacity_is_skipped_on_one_core_never_passed() {
        let one = Conditions {
            cores: 1,
            capacity: Some(1.0),
            ..TWO_CORES
        };
        let claim = Claim::new("c", "x", Check::OfCapacity(0.8), "s");
        let result = evaluate(&claim, "e", &measured(5.0, Unit::Times), &one);
        assert_eq!(result.verdict, Verdict::Skipped);
        assert_eq!(
            result.reason.as_deref(),
            Some("needs ≥2 cores, this machine has 1")
        );
    }

    #[test]
    fn of_capacity_below_the_floor_is_skipped_not_passed() {
        // A 1.2× capacity would give a 0.96× threshold: "no speedup" would pass.
        let starved = Conditions {
            capacity: Some(1.2),
            ..TWO_CORES
        };
        let claim = Claim::new("c", "x", Check::OfCapacity(0.8), "s");
        let result = evaluate(&claim, "e", &measured(1.0, Unit::Times), &starved);
        assert_eq!(result.verdict, Verdict::Skipped);
        assert!(result.reason.unwrap().starts_with(LOW_CAPACITY));
    }

    #[test]
    fn speedup_claims_with_one_worker_are_skipped_not_passed() {
        let one_worker = Conditions {
            workers: 1,
            capacity: Some(1.0),
            ..TWO_CORES
        };
        for check in [Check::PerWorker(0.9), Check::OfCapacity(0.8)] {
            let claim = Claim::new("c", "x", check, "s");
            let result = evaluate(&claim, "e", &measured(1.0, Unit::Times), &one_worker);
            assert_eq!(result.verdict, Verdict::Skipped, "{check:?}");
            assert!(result.reason.unwrap().contains("at least 2 workers"));
        }
    }

    #[test]
    fn of_capacity_without_calibration_fails() {
        let uncalibrated = Conditions {
            capacity: None,
            ..TWO_CORES
        };
        assert_eq!(
            verdict(Check::OfCapacity(0.8), 1.9, &uncalibrated),
            Verdict::Fail
        );
    }

    #[test]
    fn gil_and_worker_claims_are_skipped_where_they_mean_nothing() {
        let free_threaded = Conditions {
            python_gil: false,
            ..TWO_CORES
        };
        let claim = Claim::new("c", "x", Check::AtMost(1.15), "s").needs_python_gil();
        let result = evaluate(&claim, "e", &measured(1.0, Unit::Times), &free_threaded);
        assert_eq!(result.verdict, Verdict::Skipped);
        let one = Conditions {
            workers: 1,
            ..TWO_CORES
        };
        let claim = Claim::new("c", "x", Check::AtMost(1.15), "s").needs_workers(2);
        let result = evaluate(&claim, "e", &measured(1.0, Unit::Times), &one);
        assert_eq!(result.verdict, Verdict::Skipped);
        assert!(result.reason.unwrap().contains("--workers ≥ 2"));
    }

    #[test]
    fn python_claims_are_skipped_without_python() {
        let no_python = Conditions {
            python3: false,
            ..TWO_CORES
        };
        let claim = Claim::new("c", "x", Check::AtLeast(1.0), "s").needs_python();
        let result = evaluate(&claim, "e", &measured(2.0, Unit::Times), &no_python);
        assert_eq!(result.verdict, Verdict::Skipped);
        assert_eq!(result.reason.as_deref(), Some("python3 not found"));
    }

    #[test]
    fn flags_fail_when_observed_the_wrong_way() {
        let observed = |v| {
            let claim = Claim::new("c", "x", Check::Observed, "s");
            evaluate(&claim, "e", &measured(v, Unit::Flag), &TWO_CORES).verdict
        };
        let not_observed = |v| {
            let claim = Claim::new("c", "x", Check::NotObserved, "s");
            evaluate(&claim, "e", &measured(v, Unit::Flag), &TWO_CORES).verdict
        };
        assert_eq!(observed(1.0), Verdict::Pass);
        assert_eq!(observed(0.0), Verdict::Fail);
        assert_eq!(not_observed(0.0), Verdict::Pass);
        assert_eq!(not_observed(1.0), Verdict::Fail);
    }

    #[test]
    fn a_missing_metric_fails_and_a_skipped_experiment_skips() {
        let claim = Claim::new("c", "missing", Check::AtLeast(1.0), "s");
        let result = evaluate(&claim, "e", &measured(2.0, Unit::Times), &TWO_CORES);
        assert_eq!(result.verdict, Verdict::Fail);
        let skipped = Measured::skipped("python3 not found");
        let result = evaluate(&claim, "e", &skipped, &TWO_CORES);
        assert_eq!(result.verdict, Verdict::Skipped);
    }

    #[test]
    fn an_untestable_metric_skips_its_claim_with_the_reason() {
        let claim = Claim::new("c", "x", Check::AtLeast(1.0), "s");
        let mut here = measured(0.5, Unit::Times);
        assert_eq!(
            evaluate(&claim, "e", &here, &TWO_CORES).verdict,
            Verdict::Fail
        );
        here.untestable("x", "needs more workers than cores");
        let result = evaluate(&claim, "e", &here, &TWO_CORES);
        assert_eq!(result.verdict, Verdict::Skipped);
        assert_eq!(
            result.reason.as_deref(),
            Some("needs more workers than cores")
        );
    }

    #[test]
    fn the_explanation_is_the_rule_or_the_reason_and_the_attempt() {
        let claim = Claim::new("c", "x", Check::AtLeast(1.8), "s");
        let mut passed = evaluate(&claim, "e", &measured(1.9, Unit::Times), &TWO_CORES);
        assert_eq!(passed.explanation(), "≥ 1.80×");
        assert_eq!(passed.measured_text(), "1.90×");
        passed.attempts = 2;
        assert_eq!(passed.explanation(), "≥ 1.80× (attempt 2 of 3)");
        let failed = evaluate(&claim, "e", &measured(1.5, Unit::Times), &TWO_CORES);
        assert_eq!(failed.explanation(), "measured 1.50×, claimed ≥ 1.80×");
    }

    #[test]
    fn a_failure_says_what_was_measured_and_claimed() {
        let claim = Claim::new("c", "x", Check::AtLeast(1.8), "s");
        let result = evaluate(&claim, "e", &measured(1.5, Unit::Times), &TWO_CORES);
        assert_eq!(
            result.reason.as_deref(),
            Some("measured 1.50×, claimed ≥ 1.80×")
        );
    }
}
