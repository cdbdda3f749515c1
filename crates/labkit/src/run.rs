//! Running a lab: the selected experiments with progress, the capacity
//! calibration where claims need it, each claim checked and a failing one
//! re-measured, and the results assembled.

use crate::calibrate::{self, Paired};
use crate::claims::{Claim, Conditions, LOW_CAPACITY, evaluate};
use crate::cli::{self, Args};
use crate::lab::{Context, Experiment, Lab};
use crate::machine;
use crate::progress::Progress;
use crate::python;
use crate::results::{
    ClaimResult, ExperimentResult, LabResults, MAX_ATTEMPTS, Measured, Mode, SCHEMA_VERSION, Unit,
    Verdict, source_hash,
};
use crate::tables::print_results;
use anyhow::{Context as _, Result, bail};
use std::path::Path;
use std::time::Instant;

/// Runs the selected experiments, prints the tables and writes JSON if asked.
pub fn run(lab: &Lab, args: &Args) -> Result<LabResults> {
    let selected = select(lab, &args.only)?;
    if let Some(path) = &args.json {
        prepare_output(path)?;
    }
    let started = Instant::now();
    let python = python::find();
    let machine = machine::detect(python.as_ref().map(|p| p.version.clone()));
    let lab_dir = Path::new(lab.source_dir);
    let progress = Progress::for_stderr();
    let options = cli::option_values(lab, &args.options);
    let ctx = Context {
        quick: args.quick,
        workers: usize::from(args.workers),
        cores: machine.logical_cores,
        python: python.as_ref(),
        lab_dir,
        progress: &progress,
        program: cli::program(),
        options: &options,
        paired: None,
    };
    println!("{} — {}", lab.id, lab.title);
    println!("machine: {}", machine.one_line());

    let mut experiments = Vec::new();
    let mut claims = Vec::new();
    let mut here = Conditions {
        cores: ctx.cores,
        python3: python.is_some(),
        python_gil: python.as_ref().is_some_and(|p| p.gil),
        workers: ctx.workers,
        capacity: None,
    };
    if here.parallel_processes() >= 2 && selected.iter().any(|e| e.judged_by_capacity()) {
        progress.stage(calibrate::EXPERIMENT);
        let measured = run_calibration(&ctx)?;
        experiments.push(experiment_result(
            calibrate::EXPERIMENT,
            "Parallel capacity of this machine",
            measured,
        ));
    }
    // Each calibration round inside an experiment runs this many iterations
    // per process: about 50 ms, long enough to dwarf the cost of a fork.
    let iterations = calibrate::iterations_for(0.05);
    for experiment in selected {
        progress.stage(experiment.name);
        let (measured, verdicts) = measure_with_retries(experiment, &ctx, &mut here, iterations);
        experiments.push(experiment_result(
            experiment.name,
            experiment.title,
            measured,
        ));
        claims.extend(verdicts);
    }
    progress.finish();

    let results = LabResults {
        schema: SCHEMA_VERSION,
        lab: lab.id.to_string(),
        title: lab.title.to_string(),
        mode: if args.quick { Mode::Quick } else { Mode::Full },
        measured_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        duration_s: started.elapsed().as_secs_f64(),
        source_hash: source_hash(lab_dir)?,
        workers: ctx.workers,
        machine,
        experiments,
        claims,
    };
    print_results(&results);
    if let Some(path) = &args.json {
        results.save(path)?;
        println!("results written to {}", path.display());
    }
    Ok(results)
}

/// Creates the directory of the JSON output before measuring, so that a path
/// that cannot be written fails at once, not after a minute of measuring.
fn prepare_output(path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create {} for --json {}",
            dir.display(),
            path.display()
        )
    })?;
    if std::fs::metadata(dir)?.permissions().readonly() {
        bail!(
            "cannot write --json {}: {} is read-only",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

fn select<'a>(lab: &'a Lab, only: &[String]) -> Result<Vec<&'a Experiment>> {
    for name in only {
        if !lab.experiments.iter().any(|e| e.name == name) {
            let names: Vec<&str> = lab.experiments.iter().map(|e| e.name).collect();
            bail!(
                "{} has no experiment {name:?}; choose from: {}",
                lab.id,
                names.join(", ")
            );
        }
    }
    Ok(lab
        .experiments
        .iter()
        .filter(|e| only.is_empty() || only.iter().any(|n| n == e.name))
        .collect())
}

fn run_calibration(ctx: &Context) -> Result<Measured> {
    let processes = ctx.workers.min(ctx.cores);
    let seconds = ctx.pick(0.1, 0.05);
    let rounds = ctx.pick(9, 5);
    calibrate::calibrate(processes, seconds, rounds, ctx.progress)
}

/// Runs an experiment and checks its claims. A claim that fails, or that the
/// machine gave too little parallelism to test, gets up to [`MAX_ATTEMPTS`]
/// fresh measurements, and so does an experiment that returns an error. The
/// table shows the last measurement.
fn measure_with_retries(
    experiment: &Experiment,
    ctx: &Context,
    here: &mut Conditions,
    iterations: u64,
) -> (Measured, Vec<ClaimResult>) {
    let mut attempt = 1;
    loop {
        let (measured, mut verdicts) = match measure_once(experiment, ctx, here, iterations) {
            Ok(done) => done,
            Err(err) if attempt < MAX_ATTEMPTS => {
                // A busy machine can upset an experiment too (a time limit,
                // a thread that lingers in /proc): run it again before failing.
                ctx.progress.note(&format!(
                    "{}: the experiment failed ({err:#}); running it again, attempt {}/{MAX_ATTEMPTS}",
                    experiment.name,
                    attempt + 1
                ));
                attempt += 1;
                continue;
            }
            Err(err) => {
                let reason = format!("the experiment failed: {err:#}");
                ctx.progress.note(&format!("{}: {reason}", experiment.name));
                return (
                    Measured::skipped(reason.clone()),
                    failed_claims(experiment, ctx.workers, &reason),
                );
            }
        };
        for verdict in &mut verdicts {
            verdict.attempts = attempt;
        }
        let retry: Vec<&ClaimResult> = verdicts.iter().filter(|v| worth_retrying(v)).collect();
        if retry.is_empty() || attempt == MAX_ATTEMPTS {
            return (measured, verdicts);
        }
        for claim in retry {
            ctx.progress.note(&format!(
                "{}: claim {} {} ({}); re-measuring, attempt {}/{MAX_ATTEMPTS}",
                experiment.name,
                claim.id,
                if claim.verdict == Verdict::Fail {
                    "failed"
                } else {
                    "could not be tested"
                },
                claim.reason.as_deref().unwrap_or(""),
                attempt + 1
            ));
        }
        attempt += 1;
    }
}

/// One measurement of an experiment, with the capacity measured in the same
/// rounds when its claims need it, and its claims' verdicts.
fn measure_once(
    experiment: &Experiment,
    ctx: &Context,
    here: &mut Conditions,
    iterations: u64,
) -> Result<(Measured, Vec<ClaimResult>)> {
    let paired = (here.parallel_processes() >= 2 && experiment.judged_by_capacity())
        .then(|| Paired::new(here.parallel_processes(), iterations));
    let run_ctx = Context {
        paired: paired.as_ref(),
        ..*ctx
    };
    // A panic in an experiment (a bug, or a helper's assertion) is an error
    // of that experiment, re-measured and reported like any other, not the
    // end of the whole run.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (experiment.run)(&run_ctx)));
    let mut measured = match ran {
        Ok(result) => result?,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            bail!("the experiment panicked: {message}");
        }
    };
    if let Some(paired) = &paired {
        let capacity = match paired.capacity() {
            Some(capacity) => capacity,
            // The experiment did not use `ctx.interleave`: calibrate right after it.
            None => run_calibration(ctx)?
                .metric(calibrate::METRIC)
                .and_then(|m| m.summary.clone())
                .expect("a calibration measures its capacity"),
        };
        here.capacity = Some(capacity.median);
        let label = format!(
            "parallel capacity of {} processes (same rounds)",
            paired.processes()
        );
        measured.summary(calibrate::METRIC, &label, Unit::Times, capacity);
    }
    let verdicts: Vec<ClaimResult> = experiment
        .claims
        .iter()
        .map(|claim| evaluate(claim, experiment.name, &measured, here))
        .collect();
    Ok((measured, verdicts))
}

/// A failure, or a claim the machine was too busy to test, is measured again.
fn worth_retrying(claim: &ClaimResult) -> bool {
    claim.verdict == Verdict::Fail
        || (claim.verdict == Verdict::Skipped
            && claim
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with(LOW_CAPACITY)))
}

fn failed_claims(experiment: &Experiment, workers: usize, reason: &str) -> Vec<ClaimResult> {
    experiment
        .claims
        .iter()
        .map(|claim: &Claim| {
            let mut result = claim.unchecked(experiment.name, workers);
            result.verdict = Verdict::Fail;
            result.reason = Some(reason.to_string());
            result
        })
        .collect()
}

fn experiment_result(name: &str, title: &str, measured: Measured) -> ExperimentResult {
    ExperimentResult {
        name: name.to_string(),
        title: title.to_string(),
        params: measured.params,
        metrics: measured.metrics,
        skipped: measured.skipped,
        figures: measured.figures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// Fails on its first call, then observes its flag.
    fn flaky(_ctx: &Context) -> Result<Measured> {
        if CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            bail!("a transient failure");
        }
        let mut m = Measured::new();
        m.flag("seen", "seen", true);
        Ok(m)
    }

    #[test]
    fn an_experiment_that_fails_once_is_run_again() {
        let lab = Lab {
            id: "lab-99",
            title: "Flaky",
            source_dir: ".",
            options: vec![],
            experiments: vec![Experiment {
                name: "flaky",
                title: "Flaky",
                run: flaky,
                claims: vec![Claim::new(
                    "seen",
                    "seen",
                    crate::claims::Check::Observed,
                    "s",
                )],
            }],
        };
        let args = Args::try_parse_from(["lab-99"]).unwrap();
        let results = run(&lab, &args).unwrap();
        assert_eq!(CALLS.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(results.claims[0].verdict, Verdict::Pass);
    }
}
