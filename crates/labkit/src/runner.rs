//! The command line every lab shares: run the experiments with progress, check
//! the claims (re-measuring a failing one), print tables, write JSON.

use crate::calibrate::{self, Paired};
use crate::claims::{Claim, ClaimResult, Conditions, LOW_CAPACITY, Verdict, evaluate};
use crate::format;
use crate::machine::Machine;
use crate::progress::Progress;
use crate::python::{self, Python};
use crate::results::{
    ExperimentResult, LabResults, Measured, Mode, SCHEMA_VERSION, Unit, source_hash,
};
use crate::timing::{Interleaved, Variant};
use anyhow::{Context as _, Result, bail};
use clap::{Arg, CommandFactory, FromArgMatches, Parser};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
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
    /// This lab's program, when it runs from its own binary (not from a test
    /// harness): experiments can start it again in child mode (see [`main`]).
    pub program: Option<&'a Path>,
    /// The values of the lab's own options.
    options: &'a BTreeMap<String, u64>,
    /// Set when this experiment's claims are judged against the machine's
    /// parallel capacity: then [`Context::interleave`] measures it in the same rounds.
    paired: Option<&'a Paired>,
}

impl Context<'_> {
    /// The value of the lab's option `name` (declared in [`Lab::options`]).
    pub fn option(&self, name: &str) -> u64 {
        match self.options.get(name) {
            Some(&value) => value,
            None => panic!("the lab declares no option {name:?} in Lab::options"),
        }
    }

    /// Runs a CPython script once per round, `rounds` times, interleaved like
    /// any variant (with this experiment's capacity calibration, when it has
    /// one), and collects the seconds it printed for each of `names`, round by
    /// round. The script times itself, so its start-up is not counted.
    /// `args(round)` gives each run's arguments.
    pub fn python_rounds(
        &self,
        python: &Python,
        script: &Path,
        args: impl Fn(usize) -> Vec<String>,
        names: &[&str],
        rounds: usize,
    ) -> Result<Interleaved> {
        let label = script.display().to_string();
        let mut seconds: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
        let mut round = 0;
        let mut one_run = [Variant::new(&label, || {
            let limit = std::time::Duration::from_secs(120);
            let numbers = python.run_numbers(script, &args(round), names, limit)?;
            for (list, value) in seconds.iter_mut().zip(numbers) {
                list.push(value);
            }
            round += 1;
            Ok(())
        })];
        self.interleave(rounds, 0, &mut one_run)?;
        drop(one_run); // it borrowed `seconds` to fill it
        let names = names.iter().map(|n| n.to_string()).collect();
        Ok(Interleaved::from_rounds(names, seconds))
    }

    /// `full` normally, `quick` with `--quick`.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
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
    /// Values of the lab's own options; those not given take their defaults.
    #[arg(skip)]
    pub options: BTreeMap<String, u64>,
}

/// The environment variable that starts a lab's binary in child mode: with
/// the value [`CHILD_WAITS_FOR_STDIN`], it prints `ready`, reads its standard
/// input to the end and exits, measuring nothing. Experiments use it to time and weigh a
/// freshly started program.
pub const CHILD_MODE: &str = "LABKIT_CHILD_MODE";

/// See [`CHILD_MODE`].
pub const CHILD_WAITS_FOR_STDIN: &str = "wait-for-stdin";

/// The running binary, recorded by [`main`]: only a lab's own program may be
/// started again in child mode.
static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Runs a lab from the command line; returns 0 if every claim passed or was
/// skipped, 1 if one failed, 2 on an error.
pub fn main(lab: Lab) -> ExitCode {
    if std::env::var(CHILD_MODE).as_deref() == Ok(CHILD_WAITS_FOR_STDIN) {
        println!("ready");
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        return ExitCode::SUCCESS;
    }
    if let Ok(program) = std::env::current_exe() {
        let _ = PROGRAM.set(program);
    }
    let mut command = Args::command()
        .name(lab.id)
        .about(format!("{} — {}", lab.id, lab.title))
        .after_help(experiment_list(&lab));
    for option in &lab.options {
        command = command.arg(option_arg(option));
    }
    let matches = command.get_matches();
    let mut args = match Args::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(err) => err.exit(),
    };
    for option in &lab.options {
        if let Some(&value) = matches.get_one::<u64>(option.name) {
            args.options.insert(option.name.to_string(), value);
        }
    }
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

fn option_arg(option: &LabOption) -> Arg {
    Arg::new(option.name)
        .long(option.name)
        .value_name("N")
        .help(format!("{} [default: {}]", option.help, option.default))
        .value_parser(clap::value_parser!(u64).range(option.min..=option.max))
}

/// The lab's options as given, with the defaults for those not given.
fn option_values(lab: &Lab, given: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    lab.options
        .iter()
        .map(|o| {
            let value = given.get(o.name).copied().unwrap_or(o.default);
            (o.name.to_string(), value)
        })
        .collect()
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
    if let Some(path) = &args.json {
        prepare_output(path)?;
    }
    let started = Instant::now();
    let python = python::find();
    let machine = Machine::detect(python.as_ref().map(|p| p.version.clone()));
    let lab_dir = Path::new(lab.source_dir);
    let progress = Progress::for_stderr();
    let options = option_values(lab, &args.options);
    let ctx = Context {
        quick: args.quick,
        workers: usize::from(args.workers),
        cores: machine.logical_cores,
        python: python.as_ref(),
        lab_dir,
        progress: &progress,
        program: PROGRAM.get().map(PathBuf::as_path),
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
        workers: ctx.workers,
        capacity: None,
    };
    if here.parallel_processes() >= 2 && selected.iter().any(|e| judged_by_capacity(e)) {
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

/// Whether a claim of this experiment is judged against the machine's capacity.
fn judged_by_capacity(experiment: &Experiment) -> bool {
    experiment.claims.iter().any(Claim::judged_by_capacity)
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
                    failed_claims(experiment, &reason),
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
    let paired = (here.parallel_processes() >= 2 && judged_by_capacity(experiment))
        .then(|| Paired::new(here.parallel_processes(), iterations));
    let run_ctx = Context {
        paired: paired.as_ref(),
        ..*ctx
    };
    let mut measured = (experiment.run)(&run_ctx)?;
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
        figures: measured.figures,
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

/// A table that wraps long text to the terminal, or to 120 columns in a log.
fn new_table() -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        table.set_width(120);
    }
    table
}

fn metrics_table(experiment: &ExperimentResult) -> Table {
    let mut table = new_table();
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
    let mut table = new_table();
    table.set_header(["verdict", "claim", "measured", "rule / reason"]);
    for claim in claims {
        table.add_row([
            claim.verdict.word().to_string(),
            claim.statement.clone(),
            claim.measured_text(),
            claim.explanation(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_with_an_option() -> Lab {
        Lab {
            id: "lab-99",
            title: "Options",
            source_dir: ".",
            experiments: vec![],
            options: vec![LabOption {
                name: "size",
                help: "How big",
                default: 8,
                min: 1,
                max: 64,
            }],
        }
    }

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
            ..lab_with_an_option()
        };
        let args = Args::try_parse_from(["lab-99"]).unwrap();
        let results = run(&lab, &args).unwrap();
        assert_eq!(CALLS.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(results.claims[0].verdict, Verdict::Pass);
    }

    #[test]
    fn options_not_given_take_their_defaults() {
        let lab = lab_with_an_option();
        assert_eq!(option_values(&lab, &BTreeMap::new())["size"], 8);
        let given = BTreeMap::from([("size".to_string(), 32)]);
        assert_eq!(option_values(&lab, &given)["size"], 32);
    }

    #[test]
    fn an_option_out_of_its_range_is_a_clap_error_naming_it() {
        let lab = lab_with_an_option();
        let command = Args::command().arg(option_arg(&lab.options[0]));
        for bad in ["0", "65", "lots"] {
            let err = command
                .clone()
                .try_get_matches_from(["lab-99", "--size", bad])
                .unwrap_err();
            assert!(err.to_string().contains("--size"), "{err}");
        }
        let matches = command
            .try_get_matches_from(["lab-99", "--size", "64"])
            .unwrap();
        assert_eq!(matches.get_one::<u64>("size"), Some(&64));
    }
}
