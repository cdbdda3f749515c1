//! The command line every lab shares: run the experiments with progress, check
//! the claims (re-measuring a failing one), print tables, write JSON.

use crate::calibrate;
use crate::claims::{Check, Claim, ClaimResult, Conditions, Verdict, evaluate};
use crate::format;
use crate::machine::Machine;
use crate::progress::Progress;
use crate::python::{self, Python};
use crate::results::{ExperimentResult, LabResults, Measured, Mode, SCHEMA_VERSION, source_hash};
use anyhow::{Result, bail};
use clap::{CommandFactory, FromArgMatches, Parser};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// How many times a failing claim's experiment is measured before it fails.
pub const MAX_ATTEMPTS: u32 = 3;

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
}

/// One experiment and the claims it checks.
pub struct Experiment {
    /// Short name for `--only` and `experiment.metric` paths.
    pub name: &'static str,
    /// Title for tables and charts.
    pub title: &'static str,
    /// Runs the experiment.
    pub run: fn(&Context) -> Result<Measured>,
    /// Claims checked against its metrics.
    pub claims: Vec<Claim>,
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
}

impl Context<'_> {
    /// `full` normally, `quick` with `--quick`.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// Options every lab accepts.
#[derive(Debug, Parser)]
pub struct Args {
    /// Smaller sizes and fewer repeats: for CI and a first look.
    #[arg(long)]
    pub quick: bool,
    /// Also write the results as JSON to PATH (the format the book reads).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Run only these experiments (comma-separated; see --list).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Threads or processes per experiment.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// List the experiments and their claims, then exit.
    #[arg(long)]
    pub list: bool,
}

/// Runs a lab from the command line; returns 0 if every claim passed or was
/// skipped, 1 if one failed, 2 on an error.
pub fn main(lab: Lab) -> ExitCode {
    let command = Args::command()
        .name(lab.id)
        .about(format!("{} — {}", lab.id, lab.title))
        .after_help(experiment_list(&lab));
    let args = match Args::from_arg_matches(&command.get_matches()) {
        Ok(args) => args,
        Err(err) => err.exit(),
    };
    if args.list {
        println!("{}", experiment_list(&lab));
        return ExitCode::SUCCESS;
    }
    match run(&lab, &args) {
        Ok(results) => {
            let failed = results.claims.iter().any(|c| c.verdict == Verdict::Fail);
            ExitCode::from(u8::from(failed))
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn experiment_list(lab: &Lab) -> String {
    let mut text = String::from("Experiments (for --only):\n");
    for experiment in &lab.experiments {
        text += &format!("  {:<12} {}\n", experiment.name, experiment.title);
        for claim in &experiment.claims {
            text += &format!("  {:<12}   claim: {}\n", "", claim.statement);
        }
    }
    text
}

/// Runs the selected experiments, prints the tables and writes JSON if asked.
pub fn run(lab: &Lab, args: &Args) -> Result<LabResults> {
    let selected = select(lab, &args.only)?;
    let started = Instant::now();
    let python = python::find();
    let machine = Machine::detect(python.as_ref().map(|p| p.version.clone()));
    let lab_dir = Path::new(lab.source_dir);
    let progress = Progress::for_stderr();
    let ctx = Context {
        quick: args.quick,
        workers: usize::from(args.workers),
        cores: machine.logical_cores,
        python: python.as_ref(),
        lab_dir,
        progress: &progress,
    };
    println!("{} — {}", lab.id, lab.title);
    println!("machine: {}", machine.one_line());

    let mut experiments = Vec::new();
    let mut claims = Vec::new();
    let mut here = Conditions {
        cores: ctx.cores,
        python3: python.is_some(),
        workers: ctx.workers,
        capacity: None,
    };
    if needs_calibration(&selected, ctx.cores) {
        progress.stage(calibrate::EXPERIMENT);
        let measured = run_calibration(&ctx)?;
        here.capacity = measured.metric(calibrate::METRIC).map(|m| m.value);
        experiments.push(experiment_result(
            calibrate::EXPERIMENT,
            "Parallel capacity of this machine",
            measured,
        ));
    }
    for experiment in selected {
        progress.stage(experiment.name);
        let (measured, verdicts) = measure_with_retries(experiment, &ctx, &mut here);
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

/// Calibrate when a selected claim is judged against the machine's capacity.
/// One core has no parallel capacity to measure: those claims are skipped.
fn needs_calibration(selected: &[&Experiment], cores: usize) -> bool {
    cores >= 2
        && selected
            .iter()
            .flat_map(|e| &e.claims)
            .any(|c| matches!(c.check, Check::OfCapacity(_)))
}

fn run_calibration(ctx: &Context) -> Result<Measured> {
    let processes = ctx.workers.min(ctx.cores);
    let seconds = ctx.pick(0.1, 0.05);
    let rounds = ctx.pick(9, 5);
    calibrate::calibrate(processes, seconds, rounds, ctx.progress)
}

/// Runs an experiment and checks its claims; a failing claim gets up to
/// [`MAX_ATTEMPTS`] fresh measurements (with a fresh calibration if it is judged
/// against the capacity) before it fails. The table shows the last measurement.
fn measure_with_retries(
    experiment: &Experiment,
    ctx: &Context,
    here: &mut Conditions,
) -> (Measured, Vec<ClaimResult>) {
    let mut attempt = 1;
    loop {
        let measured = match (experiment.run)(ctx) {
            Ok(measured) => measured,
            Err(err) => {
                let reason = format!("the experiment failed: {err:#}");
                ctx.progress.note(&format!("{}: {reason}", experiment.name));
                return (
                    Measured::skipped(reason.clone()),
                    failed_claims(experiment, &reason),
                );
            }
        };
        let mut verdicts: Vec<ClaimResult> = experiment
            .claims
            .iter()
            .map(|claim| evaluate(claim, experiment.name, &measured, here))
            .collect();
        for verdict in &mut verdicts {
            verdict.attempts = attempt;
        }
        let failing: Vec<&ClaimResult> = verdicts
            .iter()
            .filter(|v| v.verdict == Verdict::Fail)
            .collect();
        if failing.is_empty() || attempt == MAX_ATTEMPTS {
            return (measured, verdicts);
        }
        for claim in &failing {
            ctx.progress.note(&format!(
                "{}: claim {} failed ({}); re-measuring, attempt {}/{MAX_ATTEMPTS}",
                experiment.name,
                claim.id,
                claim.reason.as_deref().unwrap_or(""),
                attempt + 1
            ));
        }
        if failing.iter().any(|v| v.rule.contains("capacity")) {
            ctx.progress.stage(calibrate::EXPERIMENT);
            if let Ok(fresh) = run_calibration(ctx) {
                here.capacity = fresh.metric(calibrate::METRIC).map(|m| m.value);
            }
            ctx.progress.stage(experiment.name);
        }
        attempt += 1;
    }
}

fn failed_claims(experiment: &Experiment, reason: &str) -> Vec<ClaimResult> {
    experiment
        .claims
        .iter()
        .map(|claim| ClaimResult {
            id: claim.id.to_string(),
            experiment: experiment.name.to_string(),
            statement: claim.statement.to_string(),
            metric: claim.metric.to_string(),
            verdict: Verdict::Fail,
            value: None,
            unit: None,
            threshold: None,
            rule: String::new(),
            reason: Some(reason.to_string()),
            attempts: 1,
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
    }
}

/// Prints every experiment as a table, then the claims with their verdicts.
pub fn print_results(results: &LabResults) {
    for experiment in &results.experiments {
        println!("\n{} ({})", experiment.title, experiment.name);
        if let Some(reason) = &experiment.skipped {
            println!("  skipped: {reason}");
            continue;
        }
        println!("{}", metrics_table(experiment));
    }
    if !results.claims.is_empty() {
        println!("\nClaims");
        println!("{}", claims_table(&results.claims));
    }
    let count = |v: Verdict| results.claims.iter().filter(|c| c.verdict == v).count();
    println!(
        "claims: {} passed, {} failed, {} skipped",
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Skipped)
    );
}

fn metrics_table(experiment: &ExperimentResult) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(["measured", "median", "95% CI", "min", "n"]);
    for metric in &experiment.metrics {
        let show = |v: f64| format::value(v, metric.unit);
        match &metric.summary {
            Some(s) => table.add_row([
                metric.label.clone(),
                show(s.median),
                format!("{} – {}", show(s.ci_low), show(s.ci_high)),
                show(s.min),
                s.n.to_string(),
            ]),
            None => table.add_row([
                metric.label.clone(),
                show(metric.value),
                "".into(),
                "".into(),
                "1".into(),
            ]),
        };
    }
    table
}

/// The claims as a table: verdict, statement, measured value, rule.
pub fn claims_table(claims: &[ClaimResult]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(["verdict", "claim", "measured", "rule / reason"]);
    for claim in claims {
        let measured = match (claim.value, claim.unit) {
            (Some(v), Some(unit)) => format::value(v, unit),
            _ => "—".into(),
        };
        let verdict = match claim.verdict {
            Verdict::Pass => "pass".to_string(),
            Verdict::Fail => "FAIL".to_string(),
            Verdict::Skipped => "skipped".to_string(),
        };
        let mut rule = claim.rule.clone();
        if claim.verdict != Verdict::Pass
            && let Some(reason) = &claim.reason
        {
            rule = reason.clone();
        }
        if claim.attempts > 1 {
            rule += &format!(" (attempt {})", claim.attempts);
        }
        table.add_row([verdict, claim.statement.clone(), measured, rule]);
    }
    table
}
