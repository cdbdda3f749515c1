//! Lab 04 — a GIL you can watch.
//!
//! Read this file top to bottom like the chapter. The seed articles' central
//! claim is that CPython's global interpreter lock lets one thread at a time
//! run Python code, so threads do not speed up CPU-bound work but do speed up
//! waiting. Rust has no GIL, so this lab builds one: [`interp`] is a small
//! Python interpreter whose threads are real OS threads, with a GIL modelled
//! on CPython's (or none, free-threaded), and whose `multiprocessing` forks.
//! The experiments run the same programs (`programs/*.py`) in it and in
//! CPython, side by side, interleaved round by round.

pub mod baton;
pub mod cli;
pub mod exercises;
pub mod interp;

use anyhow::{Context as _, Result, ensure};
use interp::timeline::{self, State};
use interp::{Options, Report};
use labkit::affinity::{allowed_cpus, try_pin_to};
use labkit::measured::per_round_ratio;
use labkit::python::PythonRounds;
use labkit::timing::{Interleaved, Variant};
use labkit::{Check, Claim, Collector, Context, Experiment, Lab, Measured, Unit};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `programs/racy_counter.py`, the starting point of the third exercise.
pub const RACY_COUNTER_PROGRAM: &str = include_str!("../programs/racy_counter.py");

// ANCHOR: run
/// The path of one of the lab's programs.
pub fn program_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("programs")
        .join(name)
}

/// Runs one of the lab's programs in the lab's interpreter, with or without
/// the GIL, and keeps its output.
pub fn run_program(name: &str, args: &[String], options: Options) -> Result<Report> {
    let path = program_path(name);
    let source = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let options = Options {
        capture: true,
        args: args.to_vec(),
        ..options
    };
    interp::run_source(&source, name, &options).map_err(|e| anyhow::anyhow!("{e}"))
}

/// GIL on (CPython 3.11's behaviour), with the default 5 ms switch interval.
pub fn with_gil() -> Options {
    Options::default()
}

/// Free-threaded (like CPython 3.13t).
pub fn free_threaded() -> Options {
    Options {
        gil: false,
        ..Options::default()
    }
}
// ANCHOR_END: run

/// Each worker of `cpu_bound.py` prints its sum: all `workers` must be right.
fn check_sums(output: &str, n: u64, workers: usize) -> Result<()> {
    let expected = (n * n.saturating_sub(1) / 2).to_string();
    let right = output.lines().filter(|l| l.trim() == expected).count();
    ensure!(
        right == workers,
        "expected {workers} sums of {expected}, the program printed:\n{output}"
    );
    Ok(())
}

/// The number a program printed after `label:`.
fn printed(output: &str, label: &str) -> Result<f64> {
    output
        .split_whitespace()
        .skip_while(|w| w.trim_end_matches(':') != label)
        .nth(1)
        .and_then(|w| w.parse().ok())
        .with_context(|| format!("the program printed no number after {label:?}:\n{output}"))
}

/// Our programs shaped like the articles' four examples (`programs/seeds/`),
/// and the plain loop the process pool is compared with.
pub const SEED_PROGRAMS: [&str; 5] = [
    "threads_sleep",
    "processes_sum",
    "thread_pool_sleep",
    "process_pool_square",
    "square_loop",
];

/// The path of `programs/seeds/NAME.py`.
fn seed_path(name: &str) -> PathBuf {
    program_path(&format!("seeds/{name}.py"))
}

/// Whether two outputs hold the same text in any order. Concurrent prints
/// come in another order from run to run, in either interpreter; and
/// CPython's `print` writes its text and its line end separately, so two
/// threads can even interleave within a line ("first: waitingsecond: waiting").
fn same_text_any_order(a: &str, b: &str) -> bool {
    let sorted = |text: &str| {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars
    };
    sorted(a) == sorted(b)
}

/// The articles' examples in their form: each of our seed programs run in
/// our interpreter and in CPython, interleaved round by round; whether both
/// print the same lines; and the unguarded `Process` program under CPython's
/// `spawn` start method.
pub fn seeds(ctx: &Context) -> Result<Measured> {
    let rounds = ctx.pick(2, 1);
    let printed_by_us = std::cell::RefCell::new(std::collections::BTreeMap::new());
    let ours = |name: &'static str| {
        let printed_by_us = &printed_by_us;
        Variant::new(name, move || {
            let report = run_program(&format!("seeds/{name}.py"), &[], with_gil())?;
            printed_by_us.borrow_mut().insert(name, report.output);
            Ok(())
        })
    };
    let paths = SEED_PROGRAMS.map(|name| seed_path(name).display().to_string());
    let cpython = ctx.python_rounds("run_programs.py", paths.to_vec(), &SEED_PROGRAMS);
    let mut variants: Vec<Variant> = SEED_PROGRAMS.iter().map(|&name| ours(name)).collect();
    if let Some(cpython) = &cpython {
        variants.push(cpython.variant("CPython"));
    }
    let times = ctx.interleave(rounds, 0, &mut variants)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("rounds", rounds);
    record_seeds(&mut m, &times, "", "ours");
    let Some(cpython) = cpython else {
        return Ok(m);
    };
    let python = ctx.python.expect("python_rounds found it");
    m.param("python", python.version.clone());
    record_seeds(&mut m, &cpython.times(times.rounds()), "py_", "CPython");
    let theirs = cpython.last_printed().unwrap_or_default();
    let ours = printed_by_us.into_inner();
    let differ: Vec<String> = SEED_PROGRAMS
        .iter()
        .filter(|name| {
            let text = theirs[format!("output:{name}")].as_str().unwrap_or("");
            ours.get(*name)
                .is_none_or(|o| !same_text_any_order(o, text))
        })
        .map(|name| {
            let text = theirs[format!("output:{name}")].as_str().unwrap_or("");
            format!("{name} (ours {:?}, CPython {:?})", ours.get(name), text)
        })
        .collect();
    m.flag(
        "same_output",
        "every program printed the same text in both interpreters",
        differ.is_empty(),
    )
    .param("output_differs", differ.join("; "));
    record_spawn(&mut m, python, ctx)?;
    Ok(m)
}

/// One interpreter's seed times, and what they say: the waits overlapped,
/// and how a process pool compares with a plain loop.
fn record_seeds(m: &mut Measured, times: &Interleaved, prefix: &str, who: &str) {
    for name in SEED_PROGRAMS {
        m.seconds(
            times,
            name,
            &format!("{prefix}{name}"),
            &format!("{who}: {name}.py"),
        )
        .bar();
    }
    let in_sleeps = |name: &str, sleep: f64| times.summary(name).scaled(1.0 / sleep);
    m.summary(
        &format!("{prefix}threads_in_sleeps"),
        &format!("{who}: threads_sleep ÷ one 2 s sleep"),
        Unit::Times,
        in_sleeps("threads_sleep", 2.0),
    )
    .summary(
        &format!("{prefix}thread_pool_in_sleeps"),
        &format!("{who}: thread_pool_sleep ÷ one 1 s sleep"),
        Unit::Times,
        in_sleeps("thread_pool_sleep", 1.0),
    )
    .speedup(
        times,
        "process_pool_square",
        "square_loop",
        &format!("{prefix}pool_vs_loop"),
        &format!("{who}: process pool ÷ plain loop (time)"),
    );
}

/// CPython with the `spawn` start method: the unguarded program's children
/// fail while starting, the guarded one's do their work.
fn record_spawn(m: &mut Measured, python: &labkit::python::Python, ctx: &Context) -> Result<()> {
    let script = ctx.python_script("spawn_start_method.py");
    let under_spawn = |name: &str| {
        let args = [seed_path(name).display().to_string()];
        python.run_json(&script, &args, labkit::python::SCRIPT_LIMIT)
    };
    let unguarded = under_spawn("processes_sum")?;
    let guarded = under_spawn("processes_sum_guarded")?;
    let did_work = |report: &serde_json::Value| {
        report["output"]
            .as_str()
            .unwrap_or("")
            .matches("added up")
            .count()
            == 2
    };
    let errors = unguarded["runtime_errors"].as_f64().unwrap_or(0.0);
    m.value(
        "spawn_runtime_errors",
        "spawn, no __main__ guard: children that raised RuntimeError",
        Unit::Count,
        errors,
    )
    .flag(
        "spawn_unguarded_worked",
        "spawn, no __main__ guard: both children did their work",
        did_work(&unguarded),
    )
    .flag(
        "spawn_guarded_worked",
        "spawn, with the __main__ guard: both children did their work",
        did_work(&guarded),
    )
    .param(
        "spawn_error",
        unguarded["error"].as_str().unwrap_or("").to_string(),
    );
    Ok(())
}

/// Runs a program with a timeline; returns the report and the SVG of its
/// first `window` seconds.
fn timeline_of(
    program: &str,
    args: &[&str],
    options: Options,
    title: &str,
    window: f64,
) -> Result<(Report, String)> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let options = Options {
        timeline: true,
        ..options
    };
    let report = run_program(program, &args, options)?;
    let svg = timeline::svg(&report.events, title, window.min(report.seconds))
        .map_err(anyhow::Error::msg)?;
    Ok((report, svg))
}

// ANCHOR: overlap
/// How long two threads ran bytecode at the same moment, by the stretches
/// each thread timed itself (not by the GIL's own records).
pub fn running_at_once(report: &Report) -> f64 {
    timeline::overlap(&timeline::running_spans(&report.running))
}

/// How long the threads other than the main one ran bytecode in all, by
/// their own stretches: a zero overlap means something only if they ran.
fn workers_ran(report: &Report) -> f64 {
    report
        .running
        .iter()
        .filter(|(thread, ..)| *thread != 1)
        .map(|(_, from, to)| to - from)
        .sum()
}
// ANCHOR_END: overlap

/// The pictures: who held the GIL, when; and how long two threads ran at once.
pub fn timelines(_ctx: &Context) -> Result<Measured> {
    let n = "600000";
    let cpu = ["threads", n, "2"];
    let (gil, gil_svg) = timeline_of(
        "cpu_bound.py",
        &cpu,
        with_gil(),
        "Two CPU-bound threads, GIL on (5 ms switch interval)",
        0.06,
    )?;
    let (free, free_svg) = timeline_of(
        "cpu_bound.py",
        &cpu,
        free_threaded(),
        "The same two threads, free-threaded",
        0.06,
    )?;
    let (_, io_svg) = timeline_of(
        "io_bound.py",
        &["threads", "0.02", "2"],
        with_gil(),
        "Two threads that sleep 20 ms, GIL on",
        0.03,
    )?;
    let (_, convoy_svg) = timeline_of(
        "convoy.py",
        &["4", "0.1"],
        with_gil(),
        "Short waits beside a CPU-bound thread, GIL on",
        0.03,
    )?;
    ensure!(
        workers_ran(&gil) > 0.5 * gil.seconds,
        "the GIL run's threads recorded only {:.3} s of running in a {:.3} s run: no overlap to measure",
        workers_ran(&gil),
        gil.seconds
    );
    let spans = timeline::spans(&gil.events);
    let held: f64 = (2..=3)
        .map(|t| timeline::time_in(&spans, t, State::Running))
        .sum();
    let mut m = Measured::new();
    m.param("n", n.parse::<u64>()?);
    m.value(
        "overlap_gil",
        "two threads running bytecode at once, GIL",
        Unit::Seconds,
        running_at_once(&gil),
    )
    .value(
        "overlap_free",
        "two threads running bytecode at once, free-threaded",
        Unit::Seconds,
        running_at_once(&free),
    )
    .value(
        "overlap_free_share",
        "share of the free-threaded run with both running",
        Unit::Times,
        running_at_once(&free) / free.seconds,
    )
    .value(
        "gil_held_share",
        "share of the GIL run some thread held the GIL",
        Unit::Times,
        held / gil.seconds,
    )
    .value(
        "gil_switches",
        "GIL switches in the GIL run",
        Unit::Count,
        gil.switches as f64,
    );
    m.figure("cpu_gil", "Two threads summing numbers with the GIL: they take turns, one switch interval each; red ticks are drop requests.", gil_svg)
        .figure("cpu_free", "The same program free-threaded: both threads run at once.", free_svg)
        .figure("io_gil", "Two sleeping threads with the GIL: each drops it while it sleeps, so the sleeps overlap.", io_svg)
        .figure("convoy_gil", "The convoy effect: after each short wait, the I/O thread waits for the CPU-bound thread's drop — one switch interval.", convoy_svg);
    Ok(m)
}

/// CPython running `program` once per variant in each round, through
/// `python/side_by_side.py` (which times each run from inside CPython).
fn cpython_side_by_side<'a>(
    ctx: &Context<'a>,
    program: &str,
    variants: &[&str],
    args: &[String],
) -> Option<PythonRounds<'a>> {
    let mut all = vec![format!("--variants={}", variants.join(","))];
    all.push(program_path(program).display().to_string());
    all.extend_from_slice(args);
    ctx.python_rounds("side_by_side.py", all, variants)
}

/// CPython's variants in the 2×2 table.
const PY_VARIANTS: [&str; 3] = ["sequential", "threads", "processes"];

// ANCHOR: table
/// One row of the 2×2 table: `program` run sequentially, in threads with
/// the GIL, in threads free-threaded, and in processes — in our interpreter
/// and in CPython, all interleaved round by round.
fn table_row(
    ctx: &Context,
    program: &str,
    size: &str,
    rounds: usize,
    check: &dyn Fn(&Report) -> Result<()>,
) -> Result<(Interleaved, Option<Interleaved>)> {
    let args = [size.to_string(), ctx.workers.to_string()];
    let ours = |variant: &str, options: Options| -> Result<()> {
        let mut all = vec![variant.to_string()];
        all.extend_from_slice(&args);
        check(&run_program(program, &all, options)?)
    };
    let cpython = cpython_side_by_side(ctx, program, &PY_VARIANTS, &args);
    let mut variants = vec![
        Variant::new("sequential", || ours("sequential", with_gil())),
        Variant::new("sequential_free", || ours("sequential", free_threaded())),
        Variant::new("threads_gil", || ours("threads", with_gil())),
        Variant::new("threads_free", || ours("threads", free_threaded())),
        Variant::new("processes", || ours("processes", with_gil())),
    ];
    if let Some(cpython) = &cpython {
        variants.push(cpython.variant("CPython"));
    }
    let times = ctx.interleave(rounds, 1, &mut variants)?;
    drop(variants);
    let python = cpython.map(|c| c.times(times.rounds()));
    Ok((times, python))
}
// ANCHOR_END: table

/// Records a table row: times and speedups over sequential, ours and
/// CPython's, and how our speedups compare with CPython's, round by round.
fn record_row(m: &mut Measured, times: &Interleaved, python: Option<&Interleaved>, workers: usize) {
    let (gil, processes) = (
        format!("{workers} threads, GIL"),
        format!("{workers} processes"),
    );
    m.times_and_speedups(
        times,
        "",
        ("sequential", "one after another"),
        &[("threads_gil", &gil), ("processes", &processes)],
    );
    let free = format!("{workers} threads, free-threaded");
    m.seconds(
        times,
        "sequential_free",
        "sequential_free",
        "one after another, free-threaded",
    )
    .seconds(times, "threads_free", "threads_free", &free)
    .speedup(
        times,
        "sequential_free",
        "threads_free",
        "threads_free_speedup",
        &format!("speedup: {free}"),
    );
    let Some(py) = python else { return };
    let (py_threads, py_processes) = (
        format!("CPython: {workers} threads"),
        format!("CPython: {workers} processes"),
    );
    m.times_and_speedups(
        py,
        "py_",
        ("sequential", "CPython: one after another"),
        &[("threads", &py_threads), ("processes", &py_processes)],
    );
    let ratio = |ours: &str, theirs: &str| {
        per_round_ratio(
            &times.speedup("sequential", ours).samples,
            &py.speedup("sequential", theirs).samples,
        )
    };
    m.summary(
        "threads_vs_cpython",
        "GIL threads' speedup ÷ CPython's",
        Unit::Times,
        ratio("threads_gil", "threads"),
    )
    .summary(
        "processes_vs_cpython",
        "processes' speedup ÷ CPython's",
        Unit::Times,
        ratio("processes", "processes"),
    );
}

/// CPU-bound row: each worker sums `range(n)`.
pub fn cpu(ctx: &Context) -> Result<Measured> {
    let n: u64 = ctx.pick(2_000_000, 1_000_000);
    let rounds = ctx.pick(9, 5);
    let workers = ctx.workers;
    let check = |report: &Report| check_sums(&report.output, n, workers);
    let (times, python) = table_row(ctx, "cpu_bound.py", &n.to_string(), rounds, &check)?;
    let mut m = Measured::new();
    m.param("n", n)
        .param("workers", workers)
        .param("rounds", rounds);
    if let Some(python) = ctx.python {
        m.param("python", python.version.clone());
    }
    record_row(&mut m, &times, python.as_ref(), workers);
    m.summary(
        "gil_overhead",
        "one thread: GIL on ÷ GIL off",
        Unit::Times,
        per_round_ratio(
            times.seconds("sequential"),
            times.seconds("sequential_free"),
        ),
    );
    if let Some(py) = &python {
        m.summary(
            "speed_vs_cpython",
            "one thread: CPython's time ÷ ours",
            Unit::Times,
            per_round_ratio(py.seconds("sequential"), times.seconds("sequential")),
        );
    }
    Ok(m)
}

/// I/O-bound row: each worker sleeps.
pub fn io(ctx: &Context) -> Result<Measured> {
    let seconds = ctx.pick(0.25, 0.05);
    let rounds = ctx.pick(3, 3);
    let (times, python) = table_row(
        ctx,
        "io_bound.py",
        &seconds.to_string(),
        rounds,
        &|_| Ok(()),
    )?;
    let mut m = Measured::new();
    m.param("wait_s", seconds)
        .param("workers", ctx.workers)
        .param("rounds", rounds);
    record_row(&mut m, &times, python.as_ref(), ctx.workers);
    Ok(m)
}

/// The GIL with another switch interval (CPython's `sys.setswitchinterval`).
fn with_interval(ms: f64) -> Options {
    Options {
        switch_interval: Duration::from_secs_f64(ms / 1000.0),
        ..with_gil()
    }
}

/// The switch intervals the sweep and the convoy try, in milliseconds.
const INTERVALS_MS: [f64; 3] = [0.5, 5.0, 50.0];

/// A metric key for an interval: 0.5 → "0_5ms".
fn ms_key(ms: f64) -> String {
    format!("{ms}ms").replace('.', "_")
}

/// The switch interval: how often the GIL changes hands between two
/// CPU-bound threads, and what that costs.
pub fn switch_interval(ctx: &Context) -> Result<Measured> {
    let n: u64 = ctx.pick(2_000_000, 1_000_000);
    let rounds = ctx.pick(3, 2);
    let args = |variant: &str| vec![variant.to_string(), n.to_string(), "2".to_string()];
    let switches = Collector::new();
    let names: Vec<String> = INTERVALS_MS.iter().map(|ms| format!("{ms} ms")).collect();
    let mut variants = vec![Variant::new("sequential", || {
        run_program("cpu_bound.py", &args("sequential"), with_gil()).map(|_| ())
    })];
    for (name, ms) in names.iter().zip(INTERVALS_MS) {
        let (switches, args) = (&switches, &args);
        variants.push(Variant::new(name, move || {
            let report = run_program("cpu_bound.py", &args("threads"), with_interval(ms))?;
            switches.record(name, report.switches as f64);
            Ok(())
        }));
    }
    let times = ctx.interleave(rounds, 0, &mut variants)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("n", n).param("rounds", rounds);
    for (name, ms) in names.iter().zip(INTERVALS_MS) {
        let key = ms_key(ms);
        m.speedup(
            &times,
            "sequential",
            name,
            &format!("relative_speed_{key}"),
            &format!("threads' speed ÷ sequential, {ms} ms"),
        )
        .at(
            "2 threads with the GIL",
            "switch interval",
            Unit::Seconds,
            ms / 1000.0,
        );
        m.summary(
            &format!("switches_{key}"),
            &format!("GIL switches, {ms} ms"),
            Unit::Count,
            switches.summary(name),
        )
        .at(
            "GIL switches",
            "switch interval",
            Unit::Seconds,
            ms / 1000.0,
        );
    }
    let (short, long) = (&names[0], &names[2]);
    m.value(
        "switch_ratio",
        "switches at 0.5 ms ÷ at 50 ms",
        Unit::Times,
        switches.summary(short).median / switches.summary(long).median.max(1.0),
    );
    Ok(m)
}

/// The convoy effect: short I/O operations beside a CPU-bound thread, with
/// the GIL at three switch intervals, free-threaded, and in CPython.
pub fn convoy(ctx: &Context) -> Result<Measured> {
    let operations = ctx.pick(10, 5);
    // Odd, so that a median is one round's value, not the mean of two.
    let rounds = 3;
    let args = vec![operations.to_string(), "0.1".to_string()];
    let waits = Collector::new();
    // Each run prints how long an operation took alone and beside the spinner.
    let run = |name: &str, options: Options| -> Result<()> {
        let output = run_program("convoy.py", &args, options)?.output;
        waits.record(name, printed(&output, "beside_cpu_ms")? / 1000.0);
        waits.record("alone", printed(&output, "alone_ms")? / 1000.0);
        Ok(())
    };
    let mut all = vec![program_path("convoy.py").display().to_string()];
    all.extend_from_slice(&args);
    let cpython = ctx.python_rounds("printed.py", all, &["beside_cpu_ms"]);
    let names: Vec<String> = INTERVALS_MS
        .iter()
        .map(|ms| format!("GIL, {ms} ms"))
        .collect();
    let mut variants: Vec<Variant> = names
        .iter()
        .zip(INTERVALS_MS)
        .map(|(name, ms)| Variant::new(name, move || run(name, with_interval(ms))))
        .collect();
    variants.push(Variant::new("free", || run("free", free_threaded())));
    if let Some(cpython) = &cpython {
        variants.push(cpython.variant("CPython"));
    }
    let times = ctx.interleave(rounds, 0, &mut variants)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("operations", operations)
        .param("wait_ms", 0.1)
        .param("rounds", rounds);
    m.summary(
        "alone",
        "an operation, no CPU-bound thread",
        Unit::Seconds,
        waits.summary("alone"),
    )
    .bar();
    for (name, ms) in names.iter().zip(INTERVALS_MS) {
        m.summary(
            &format!("gil_{}", ms_key(ms)),
            &format!("beside a CPU-bound thread, GIL, {ms} ms"),
            Unit::Seconds,
            waits.summary(name),
        )
        .bar();
    }
    m.summary(
        "free",
        "beside a CPU-bound thread, free-threaded",
        Unit::Seconds,
        waits.summary("free"),
    )
    .bar();
    let gil_5ms = waits.summary(&names[1]);
    m.value(
        "gil_5ms_in_intervals",
        "GIL, 5 ms: wait ÷ switch interval",
        Unit::Times,
        gil_5ms.median / 0.005,
    )
    .value(
        "free_slowdown",
        "free-threaded: beside ÷ alone",
        Unit::Times,
        waits.summary("free").median / waits.summary("alone").median,
    );
    if let Some(cpython) = &cpython {
        let theirs: Vec<f64> = cpython
            .times(times.rounds())
            .seconds("beside_cpu_ms")
            .iter()
            .map(|ms| ms / 1000.0)
            .collect();
        let theirs = labkit::stats::Summary::of(&theirs).expect("one per round");
        m.summary(
            "cpython",
            "CPython, beside a CPU-bound thread",
            Unit::Seconds,
            theirs.clone(),
        )
        .bar();
        m.summary(
            "convoy_vs_cpython",
            "our GIL's wait ÷ CPython's",
            Unit::Times,
            per_round_ratio(&gil_5ms.samples, &theirs.samples),
        );
    }
    Ok(m)
}

/// `time.sleep(0)` in a loop, alone and beside a CPU-bound thread
/// (`programs/yield_beside.py`): a zero-length sleep is a blocking call too.
pub fn sleep_zero(ctx: &Context) -> Result<Measured> {
    let calls = ctx.pick(40, 20);
    let rounds = ctx.pick(3, 2);
    let args = vec![calls.to_string()];
    let slowdowns = Collector::new();
    let run = |name: &str, options: Options| -> Result<()> {
        let output = run_program("yield_beside.py", &args, options)?.output;
        slowdowns.record(name, printed(&output, "slowdown")?);
        Ok(())
    };
    let mut all = vec![program_path("yield_beside.py").display().to_string()];
    all.extend_from_slice(&args);
    let cpython = ctx.python_rounds("printed.py", all, &["slowdown"]);
    let mut variants = vec![
        Variant::new("GIL", || run("GIL", with_gil())),
        Variant::new("free", || run("free", free_threaded())),
    ];
    if let Some(cpython) = &cpython {
        variants.push(cpython.variant("CPython"));
    }
    let times = ctx.interleave(rounds, 0, &mut variants)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("calls", calls).param("rounds", rounds);
    m.summary(
        "gil_slowdown",
        "sleep(0) beside ÷ alone, our GIL",
        Unit::Times,
        slowdowns.summary("GIL"),
    )
    .summary(
        "free_slowdown",
        "sleep(0) beside ÷ alone, free-threaded",
        Unit::Times,
        slowdowns.summary("free"),
    );
    if let Some(cpython) = &cpython {
        let theirs = cpython.times(times.rounds());
        m.summary(
            "cpython_slowdown",
            "sleep(0) beside ÷ alone, CPython",
            Unit::Times,
            theirs.summary("slowdown"),
        );
    }
    Ok(m)
}

/// A shared `counter += 1` from two threads: with the GIL, free-threaded,
/// free-threaded with a lock, and in CPython.
pub fn race(ctx: &Context) -> Result<Measured> {
    let n: u64 = ctx.pick(200_000, 100_000);
    let args = vec![n.to_string()];
    let lost = |program: &str, options: Options| -> Result<(f64, f64)> {
        let report = run_program(program, &args, options)?;
        Ok((printed(&report.output, "lost")?, report.seconds))
    };
    let (lost_gil, _) = lost("racy_counter.py", with_gil())?;
    let (lost_free, racy_seconds) = lost("racy_counter.py", free_threaded())?;
    let (lost_locked, locked_seconds) = lost("locked_counter.py", free_threaded())?;
    let mut m = Measured::new();
    m.param("n", n).param("threads", 2);
    m.value("lost_gil", "updates lost, GIL", Unit::Count, lost_gil)
        .value(
            "lost_free",
            "updates lost, free-threaded",
            Unit::Count,
            lost_free,
        )
        .value(
            "lost_locked",
            "updates lost, free-threaded with a lock",
            Unit::Count,
            lost_locked,
        )
        .value(
            "racy_seconds",
            "free-threaded, no lock",
            Unit::Seconds,
            racy_seconds,
        )
        .value(
            "locked_seconds",
            "free-threaded, with a lock",
            Unit::Seconds,
            locked_seconds,
        )
        .value(
            "lock_cost",
            "with a lock ÷ without (time)",
            Unit::Times,
            locked_seconds / racy_seconds,
        );
    let mut all = vec![program_path("racy_counter.py").display().to_string()];
    all.extend_from_slice(&args);
    if let Some(cpython) = ctx.python_rounds("printed.py", all, &["lost"]) {
        cpython.run_once()?;
        let lost = cpython.times(1).seconds("lost")[0];
        m.param("python", cpython.version()).value(
            "lost_cpython",
            "updates lost, CPython",
            Unit::Count,
            lost,
        );
    }
    Ok(m)
}

/// "Multiprocessing does not work without extra processors": pinned to one
/// core, two processes still run and give the right answer — just no faster.
pub fn one_core(ctx: &Context) -> Result<Measured> {
    let n: u64 = ctx.pick(1_000_000, 500_000);
    let rounds = ctx.pick(5, 3);
    let size = [n.to_string(), "2".to_string()];
    let run = |variant: &str| -> Result<()> {
        let args = [vec![variant.to_string()], size.to_vec()].concat();
        let report = run_program("cpu_bound.py", &args, with_gil())?;
        check_sums(&report.output, n, 2) // a wrong sum is an error, not a result
    };
    let cpython = cpython_side_by_side(ctx, "cpu_bound.py", &["sequential", "processes"], &size);
    // ANCHOR: pin_one_core
    // Threads and processes started from here on inherit the pinning.
    let first = *allowed_cpus().first().context("no CPU may be used")?;
    let _pinned = try_pin_to(first)?;
    // ANCHOR_END: pin_one_core
    let mut variants = vec![
        Variant::new("sequential", || run("sequential")),
        Variant::new("processes", || run("processes")),
    ];
    if let Some(cpython) = &cpython {
        variants.push(cpython.variant("CPython"));
    }
    // Not ctx.interleave: that would also measure two cores' capacity, and
    // there is one core here.
    let times = labkit::timing::interleave(rounds, 0, &mut variants, ctx.progress)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("n", n).param("rounds", rounds).param("cpus", 1);
    m.speedup(
        &times,
        "sequential",
        "processes",
        "processes_speedup",
        "2 processes on 1 core",
    );
    if let Some(cpython) = &cpython {
        let py = cpython.times(rounds);
        m.speedup(
            &py,
            "sequential",
            "processes",
            "py_processes_speedup",
            "CPython: 2 processes on 1 core",
        );
    }
    Ok(m)
}

/// The lab: its experiments and the claims each one checks.
pub fn lab() -> Lab {
    Lab {
        id: "lab-04",
        title: "A GIL you can watch",
        source_dir: env!("CARGO_MANIFEST_DIR"),
        options: vec![],
        experiments: vec![
            Experiment {
                name: "seeds",
                title: "The articles' examples, in their form, in both interpreters",
                run: seeds,
                claims: vec![
                    Claim::demonstration("seeds-same-output", "same_output", Check::Observed,
                        "Each of our programs shaped like the articles' examples prints the same text in our interpreter as in CPython (in any order: concurrent prints interleave).")
                        .needs_python(),
                    Claim::demonstration("seed-threads-wait", "threads_in_sleeps", Check::AtMost(1.25),
                        "Two threads that each sleep 2 s finish in about one sleep (at most {threshold} the 2 s of one), in our interpreter…"),
                    Claim::demonstration("py-seed-threads-wait", "py_threads_in_sleeps", Check::AtMost(1.25),
                        "… and in CPython (at most {threshold} the 2 s of one).")
                        .needs_python(),
                    Claim::demonstration("seed-thread-pool", "thread_pool_in_sleeps", Check::AtMost(1.25),
                        "A default ThreadPoolExecutor runs five 1 s sleeps in about one second (at most {threshold} the 1 s of one), in our interpreter…"),
                    Claim::demonstration("py-seed-thread-pool", "py_thread_pool_in_sleeps", Check::AtMost(1.25),
                        "… and in CPython (at most {threshold} the 1 s of one).")
                        .needs_python(),
                    Claim::new("seed-pool-vs-loop", "pool_vs_loop", Check::AtLeast(5.0),
                        "Squaring five numbers in a ProcessPoolExecutor takes at least {threshold} as long as a plain loop, in our interpreter…"),
                    Claim::new("py-seed-pool-vs-loop", "py_pool_vs_loop", Check::AtLeast(10.0),
                        "… and in CPython (at least {threshold}): for work this small, starting workers and sending the numbers costs far more than the work.")
                        .needs_python(),
                    Claim::demonstration("spawn-unguarded-fails", "spawn_unguarded_worked", Check::NotObserved,
                        "Under CPython's spawn start method, the Process program without a __main__ guard does not work: each child runs the program again and raises RuntimeError while it starts.")
                        .needs_python(),
                    Claim::demonstration("spawn-guarded-works", "spawn_guarded_worked", Check::Observed,
                        "With the guard, the same program works under spawn.")
                        .needs_python(),
                ],
            },
            Experiment {
                name: "timelines",
                title: "Timelines: who holds the GIL",
                run: timelines,
                claims: vec![
                    Claim::demonstration("one-at-a-time", "overlap_gil", Check::AtMost(0.0),
                        "With the GIL, no two threads ran bytecode at the same moment — by the stretches each thread timed itself."),
                    Claim::demonstration("both-at-once", "overlap_free_share", Check::AtLeast(0.5),
                        "Free-threaded, the same measurement sees both threads running bytecode at once, for at least {threshold} the length of the run."),
                ],
            },
            Experiment {
                name: "cpu",
                title: "CPU-bound: tasks that sum range(n)",
                run: cpu,
                claims: vec![
                    Claim::new("gil-cpu", "threads_gil_speedup", Check::Between(0.75, 1.1),
                        "With the GIL, {workers} threads that compute take about as long as one thread doing it all (speedup between {threshold}).")
                        .needs_workers(2),
                    Claim::new("free-cpu", "threads_free_speedup", Check::OfCapacity(0.8),
                        "Free-threaded, the same {workers} threads run in parallel: at least {threshold} faster (80% of this machine's capacity in the same rounds)."),
                    Claim::new("processes-cpu", "processes_speedup", Check::OfCapacity(0.8),
                        "{workers} processes, each with its own interpreter and GIL, run in parallel: at least {threshold} faster (80% of the same capacity)."),
                    Claim::new("py-gil-cpu", "py_threads_speedup", Check::Between(0.75, 1.15),
                        "CPython's threads behave the same: {workers} threads take about as long as one (speedup between {threshold}).")
                        .needs_python_gil()
                        .needs_workers(2),
                    Claim::new("fidelity-cpu", "threads_vs_cpython", Check::Between(0.8, 1.25),
                        "Our GIL threads' speedup on computing is close to CPython's: ours ÷ theirs between {threshold}, round by round.")
                        .needs_python_gil()
                        .needs_workers(2),
                    Claim::new("fast-enough", "speed_vs_cpython", Check::AtLeast(1.0),
                        "One thread of our interpreter runs the loop at least as fast as CPython (CPython's time ÷ ours ≥ {threshold}).")
                        .needs_python(),
                    Claim::new("gil-cheap", "gil_overhead", Check::AtMost(1.10),
                        "The GIL machinery costs one thread at most 10%: GIL on ÷ GIL off ≤ {threshold}."),
                ],
            },
            Experiment {
                name: "io",
                title: "I/O-bound: tasks that wait",
                run: io,
                claims: vec![
                    Claim::demonstration("gil-io", "threads_gil_speedup", Check::PerWorker(0.9),
                        "With the GIL, {workers} threads that wait finish at least {threshold} faster than one after another, on any number of cores: a waiting thread drops the GIL."),
                    Claim::demonstration("py-gil-io", "py_threads_speedup", Check::PerWorker(0.9),
                        "CPython's threads do the same: at least {threshold}.")
                        .needs_python(),
                ],
            },
            Experiment {
                name: "switch_interval",
                title: "The switch interval: 0.5, 5 and 50 ms",
                run: switch_interval,
                claims: vec![Claim::new("switches", "switch_ratio", Check::AtLeast(5.0),
                    "A shorter switch interval hands the GIL over more often: at 0.5 ms at least {threshold} as many switches as at 50 ms.")],
            },
            Experiment {
                name: "convoy",
                title: "The convoy effect: I/O beside a CPU-bound thread",
                run: convoy,
                claims: vec![
                    Claim::new("convoy", "gil_5ms_in_intervals", Check::Between(0.9, 1.3),
                        "With the GIL, each short I/O operation beside a CPU-bound thread waits about one switch interval to get the GIL back (between {threshold} × 5 ms)."),
                    // Only with a second core free: the operation's thread
                    // must not wait for the spinner's CPU (skipped when the
                    // capacity measured in the same rounds says it was not).
                    Claim::new("no-convoy", "free_slowdown", Check::AtMost(1.5),
                        "Free-threaded, there is no convoy: an operation takes at most {threshold} as long beside a CPU-bound thread as alone.")
                        .needs_parallel(),
                    Claim::new("fidelity-convoy", "convoy_vs_cpython", Check::Between(0.85, 1.15),
                        "Our GIL reproduces CPython's convoy: our wait ÷ CPython's between {threshold}, round by round.")
                        .needs_python_gil(),
                ],
            },
            Experiment {
                name: "sleep_zero",
                title: "time.sleep(0) beside a CPU-bound thread",
                run: sleep_zero,
                claims: vec![
                    Claim::new("sleep-zero", "gil_slowdown", Check::AtLeast(10.0),
                        "With the GIL, a time.sleep(0) call beside a CPU-bound thread takes at least {threshold} as long as alone: the sleeper drops the GIL and must wait to get it back."),
                    Claim::new("py-sleep-zero", "cpython_slowdown", Check::AtLeast(10.0),
                        "CPython's time.sleep(0) behaves the same: at least {threshold} as long beside a CPU-bound thread as alone.")
                        .needs_python_gil(),
                ],
            },
            Experiment {
                name: "race",
                title: "A shared counter += 1 from two threads",
                run: race,
                claims: vec![
                    Claim::new("race-free", "lost_free", Check::AtLeast(1.0),
                        "Free-threaded, counter += 1 from two threads loses updates (at least {threshold}): read, add and write can interleave.")
                        .needs_cores(2),
                    Claim::demonstration("lock-fixes", "lost_locked", Check::AtMost(0.0),
                        "A threading.Lock around it loses none."),
                    Claim::demonstration("gil-hides", "lost_gil", Check::AtMost(0.0),
                        "Our GIL, which switches only at loop ends and calls, loses none: no switch can fall between the read and the write."),
                    Claim::new("py-gil-hides", "lost_cpython", Check::AtMost(0.0),
                        "CPython lost none either: since 3.10 it switches only at certain instructions (loop ends, calls, function entry), none of which falls between the read and the write of this +=; earlier versions lost updates here. An accident of the implementation, not a promise.")
                        .needs_python_gil(),
                ],
            },
            Experiment {
                name: "one_core",
                title: "Pinned to one core: processes still work",
                run: one_core,
                claims: vec![
                    Claim::demonstration("one-core-no-speedup", "processes_speedup", Check::AtMost(1.15),
                        "On one core, 2 processes still run and print the right sums (a wrong one would stop the lab), but no faster than one after another: at most {threshold}."),
                    Claim::demonstration("py-one-core", "py_processes_speedup", Check::AtMost(1.15),
                        "The same for CPython's multiprocessing: at most {threshold} on one core.")
                        .needs_python(),
                ],
            },
        ],
    }
}
