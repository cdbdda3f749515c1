//! Lab 09 — when things go wrong: crashes, cancellation and shutdown, in
//! threads and in processes.
//!
//! Read this file top to bottom like the chapter. The seed articles say
//! that a crash in a thread "may crash whole process" and that
//! processes are "isolated". This lab crashes one worker of three in five
//! ways — a panic, an abort, a segfault, a stack overflow, an allocation
//! over a memory limit — first as threads of one process, then as child
//! processes, and watches each story from outside: how it ended, which
//! workers finished, what output survived, and what the crash left behind.
//! Then it stops workers on purpose: threads cooperatively (a flag, a
//! channel, a deadline), processes with `SIGTERM` and `SIGKILL`; and it
//! shuts down — the end of `main`, a timer that can be cancelled, a group
//! of workers stopped within a deadline. Every demo ends by itself.

pub mod cancel;
pub mod crash;
pub mod exercises;
pub mod shared_lock;
pub mod shutdown;
pub mod signals;
pub mod watch;

use anyhow::{Result, ensure};
use cancel::{Mechanism, cancel_latency};
use crash::Crash;
use labkit::child::fork_child;
use labkit::timing::Variant;
use labkit::{Check, Claim, Collector, Context, Experiment, Lab, LabOption, Measured, Unit};
use shared_lock::{AfterCrash, lock_after_crash};
use shutdown::{Task, Timer, WorkerGroup, sleeping_timer};
use signals::{Scratch, Stop, stop_worker};
use std::io::{Read, Write};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};
use watch::{Ending, Log, Watched, close_here, ending_within, pipe_files, watch};

/// Workers in each crash story: worker 0 crashes, the others work on.
pub const WORKERS: usize = 3;
/// Steps of work each worker that does not crash does, logging each.
pub const STEPS: usize = 10;
/// How long one step takes.
pub const STEP: Duration = Duration::from_millis(20);
/// Each worker thread's stack in the crash story: small, so that a stack
/// overflow comes quickly.
const STACK: usize = 256 << 10;
/// How long a story may take before it is killed and reported as hung.
const STORY_LIMIT: Duration = Duration::from_secs(10);

// ANCHOR: sibling
/// What a worker that does not crash does: `STEPS` steps of work, logging
/// each, then "done".
pub fn work_and_log(who: &str, log: &Log) {
    for step in 1..=STEPS {
        thread::sleep(STEP);
        log.line(&format!("{who}: step {step}"));
    }
    log.line(&format!("{who}: done"));
}
// ANCHOR_END: sibling

// ANCHOR: crash_in_a_thread
/// The program: three worker threads each log "started" and wait for the
/// others; then worker 0 writes half a message and crashes as `crash` says,
/// while workers 1 and 2 work on. The main thread joins all three, logs
/// what each join returned, and exits normally — if it is still there.
pub fn threads_one_crashes(crash: Crash, log: &Log) -> i32 {
    crash.prepare(); // no core file; for out_of_memory, a memory limit
    let all_started = Arc::new(Barrier::new(WORKERS));
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (log, all_started) = (log.clone(), Arc::clone(&all_started));
            thread::Builder::new()
                .name(format!("worker {i}"))
                .stack_size(STACK)
                .spawn(move || {
                    log.line(&format!("worker {i}: started"));
                    all_started.wait();
                    if i == 0 {
                        log.part("worker 0: result = ");
                        crash.now();
                    }
                    work_and_log(&format!("worker {i}"), &log);
                })
                .expect("a thread starts")
        })
        .collect();
    for (i, worker) in workers.into_iter().enumerate() {
        let how = if worker.join().is_ok() {
            "finished"
        } else {
            "panicked"
        };
        log.line(&format!("main: worker {i} {how}"));
    }
    log.line("main: exits normally");
    0
}
// ANCHOR_END: crash_in_a_thread

/// How many of workers 1 and 2 logged "done".
fn siblings_finished(seen: &Watched) -> usize {
    (1..WORKERS)
        .filter(|i| seen.finished(&format!("worker {i}")))
        .count()
}

/// Whether the program got to its last line.
fn main_went_on(seen: &Watched) -> bool {
    let last = |line: &String| line.ends_with("main: exits normally");
    seen.ending == Ending::Exited(0) && seen.lines.iter().any(last)
}

/// Records one story under `{crash}_…`: how it ended, which workers
/// finished, what it said on standard error. `survivor` names the flag
/// "the main program went on", `main` who that is.
fn record_story(m: &mut Measured, crash: Crash, seen: &Watched, survivor: &str, main: &str) {
    let (c, label) = (crash.name(), crash.label());
    m.value(
        &format!("{c}_siblings_finished"),
        &format!("{label} in worker 0: of workers 1 and 2, finished"),
        Unit::Count,
        siblings_finished(seen) as f64,
    )
    .bar()
    .value(
        &format!("{c}_lines"),
        &format!("{label} in worker 0: lines that reached the pipe"),
        Unit::Count,
        seen.lines.len() as f64,
    )
    .flag(
        &format!("{c}_{survivor}"),
        &format!("{label} in worker 0: {main} went on and exited normally"),
        main_went_on(seen),
    );
    m.param(&format!("{c}_message"), seen.message(2))
        .param(&format!("{c}_last_line"), seen.last_line());
}

/// A crash in one of three threads, in each of the five ways, each in a
/// program of its own watched from outside.
pub fn threads(ctx: &Context) -> Result<Measured> {
    let mut m = Measured::new();
    m.param("workers", WORKERS)
        .param("steps", STEPS)
        .param("step_ms", STEP.as_millis() as u64)
        .param("stack_kib", (STACK >> 10) as u64);
    let (mut fatal_finished, mut fatal_survived, mut fatal_killed) = (0, 0, 0);
    for crash in Crash::ALL {
        ctx.progress.step(format!("{} in a thread", crash.name()));
        let seen = watch(STORY_LIMIT, |log| threads_one_crashes(crash, log))?;
        ctx.progress.note(&format!(
            "threads: {}: the process {}, {} of 2 siblings finished",
            crash.name(),
            seen.ending,
            siblings_finished(&seen)
        ));
        m.param(&format!("{}_ending", crash.name()), seen.ending.to_string());
        record_story(&mut m, crash, &seen, "survived", "the main thread");
        if crash == Crash::Panic {
            m.flag(
                "panic_join_err",
                "a panic in worker 0: its join returned an error (main logged \"worker 0 panicked\")",
                seen.lines
                    .iter()
                    .any(|line| line.ends_with("main: worker 0 panicked")),
            );
        }
        if crash.is_fatal() {
            fatal_finished += siblings_finished(&seen);
            fatal_survived += usize::from(main_went_on(&seen));
            fatal_killed += usize::from(seen.ending.is_signal());
        }
    }
    m.value(
        "fatal_siblings_finished",
        "abort, segfault, stack overflow, out of memory: sibling threads that finished, in all four",
        Unit::Count,
        fatal_finished as f64,
    )
    .value(
        "fatal_survived",
        "of those four programs, the ones whose main thread went on",
        Unit::Count,
        fatal_survived as f64,
    )
    .value(
        "fatal_killed",
        "of those four programs, the ones a signal ended",
        Unit::Count,
        fatal_killed as f64,
    );
    Ok(m)
}

// ANCHOR: crash_in_a_process
/// The same story with processes: three children each log "started" and
/// wait for the parent's "go", which it writes once all three are there;
/// then child 0 writes half a message and crashes, children 1 and 2 work
/// on. The parent learns from `waitpid` how each one ended, and logs it.
pub fn processes_one_crashes(crash: Crash, log: &Log) -> i32 {
    let Ok((go, say_go)) = pipe_files() else {
        return 1;
    };
    let mut children = Vec::new();
    for i in 0..WORKERS {
        let child = fork_child(|| {
            close_here(&say_go); // so a parent gone early means "go", not a hang
            log.line(&format!("worker {i}: started"));
            let _ = (&go).read(&mut [0u8; 1]); // one "go" byte each
            if i == 0 {
                crash.prepare();
                log.part("worker 0: result = ");
                crash.now();
            }
            work_and_log(&format!("worker {i}"), log);
            0
        });
        let Ok(child) = child else { return 1 }; // the others are reaped on drop
        children.push(child);
    }
    let _ = (&say_go).write_all(&[b'g'; WORKERS]); // all three are there: go
    for (i, child) in children.into_iter().enumerate() {
        let ending = ending_within(child, STORY_LIMIT).unwrap_or(Ending::Hung);
        log.line(&format!("main: worker {i} {ending}"));
    }
    log.line("main: exits normally");
    0
}
// ANCHOR_END: crash_in_a_process

/// What the parent logged about worker `i`'s ending, e.g. "killed by
/// SIGABRT" (its line may follow a half message on the same line).
fn parent_saw(seen: &Watched, i: usize) -> String {
    let prefix = format!("main: worker {i} ");
    seen.lines
        .iter()
        .find_map(|line| line.split_once(&prefix).map(|(_, ending)| ending))
        .unwrap_or("(nothing)")
        .to_string()
}

/// The first line that holds half a message glued to another one.
fn torn_line(seen: &Watched) -> Option<&str> {
    seen.lines
        .iter()
        .find(|line| line.starts_with("worker 0: result = "))
        .map(String::as_str)
}

/// The same crashes in one of three child processes; then what a crashed
/// child leaves behind: half a message in a pipe, a lock in shared memory.
pub fn processes(ctx: &Context) -> Result<Measured> {
    let mut m = Measured::new();
    m.param("workers", WORKERS)
        .param("steps", STEPS)
        .param("step_ms", STEP.as_millis() as u64)
        .param("stories", Crash::ALL.len());
    let (mut fewest_finished, mut fatal_signalled, mut torn) = (WORKERS, 0, 0);
    for crash in Crash::ALL {
        ctx.progress.step(format!("{} in a child", crash.name()));
        let seen = watch(STORY_LIMIT, |log| processes_one_crashes(crash, log))?;
        let ending = parent_saw(&seen, 0);
        ctx.progress.note(&format!(
            "processes: {}: child 0 {ending}, {} of 2 siblings finished",
            crash.name(),
            siblings_finished(&seen)
        ));
        record_story(&mut m, crash, &seen, "parent_went_on", "the story parent");
        let signalled = ending.starts_with("killed by");
        m.flag(
            &format!("{}_signalled", crash.name()),
            &format!(
                "{}: waitpid told the parent a signal ended child 0",
                crash.label()
            ),
            signalled,
        );
        m.param(&format!("{}_ending", crash.name()), ending);
        fewest_finished = fewest_finished.min(siblings_finished(&seen));
        fatal_signalled += usize::from(crash.is_fatal() && signalled);
        if let Some(line) = torn_line(&seen) {
            torn += 1;
            m.param(&format!("{}_torn_line", crash.name()), line);
            if !m.params.contains_key("torn_line") {
                m.param("torn_line", line);
            }
        }
    }
    m.value(
        "fewest_siblings_finished",
        "in the five stories, the fewest sibling processes that finished",
        Unit::Count,
        fewest_finished as f64,
    )
    .value(
        "fatal_signalled",
        "abort, segfault, stack overflow, out of memory: children whose signal the parent saw",
        Unit::Count,
        fatal_signalled as f64,
    )
    .value(
        "torn_messages",
        "stories in which the reader got child 0's half message glued to another line",
        Unit::Count,
        torn as f64,
    );
    let limit = Duration::from_millis(ctx.pick(200, 100));
    let plain = lock_after_crash(false, limit)?;
    let robust = lock_after_crash(true, limit)?;
    m.param("lock_wait_ms", limit.as_millis() as u64);
    m.flag(
        "plain_lock_stuck",
        "a shared lock whose holder crashed: still locked when the parent tried it",
        plain == AfterCrash::StillLocked,
    )
    .flag(
        "robust_lock_owner_died",
        "a robust shared lock: the parent got it, with EOWNERDEAD",
        robust == AfterCrash::OwnerDied,
    );
    Ok(m)
}

/// CPython's versions (`python/failure.py`): an exception in a thread,
/// `os.abort()` in a thread, in a `multiprocessing.Process` and in a
/// `ProcessPoolExecutor` worker.
pub fn python_crash(ctx: &Context) -> Result<Measured> {
    let Some(python) = ctx.python else {
        return Ok(Measured::skipped("python3 not found"));
    };
    let json = python.run_json(
        &ctx.python_script("failure.py"),
        &["--part=crash".to_string()],
        labkit::python::SCRIPT_LIMIT,
    )?;
    let number = |key: &str| json[key].as_f64().unwrap_or(f64::NAN);
    let flag = |key: &str| json[key].as_bool().unwrap_or(false);
    let text = |key: &str| json[key].as_str().unwrap_or_default().to_string();
    let mut m = Measured::new();
    m.param("python", python.version.clone())
        .param("exception_hook", text("exception_hook"))
        .param("abort_thread_last_line", text("abort_thread_last_line"))
        .param("pool_tasks", json["pool_tasks"].as_u64().unwrap_or(0));
    m.value(
        "exception_siblings_finished",
        "an exception in worker 0's thread: of workers 1 and 2, finished",
        Unit::Count,
        number("exception_siblings_finished"),
    )
    .bar()
    .flag(
        "exception_hook_called",
        "…and threading.excepthook was called with its RuntimeError",
        flag("exception_hook_called"),
    )
    .value(
        "abort_thread_siblings_finished",
        "os.abort() in worker 0's thread: of workers 1 and 2, finished",
        Unit::Count,
        number("abort_thread_siblings_finished"),
    )
    .bar()
    .value(
        "abort_thread_returncode",
        "…the interpreter's return code, as subprocess saw it",
        Unit::Count,
        number("abort_thread_returncode"),
    )
    .value(
        "process_exitcode",
        "os.abort() in a multiprocessing.Process: its exitcode",
        Unit::Count,
        number("process_exitcode"),
    )
    .value(
        "process_siblings_finished",
        "…of the two sibling processes, finished (exitcode 0)",
        Unit::Count,
        number("process_siblings_finished"),
    )
    .bar()
    .flag(
        "pool_broken",
        "os.abort() in a ProcessPoolExecutor task: BrokenProcessPool",
        flag("pool_broken"),
    )
    .value(
        "pool_tasks_broken",
        &format!(
            "…of its {} tasks, failed with BrokenProcessPool",
            number("pool_tasks")
        ),
        Unit::Count,
        number("pool_tasks_broken"),
    );
    Ok(m)
}

/// The intervals between two looks at a cancel request, and their names.
const INTERVALS: [(Duration, &str); 3] = [
    (Duration::from_micros(10), "10us"),
    (Duration::from_micros(100), "100us"),
    (Duration::from_millis(1), "1ms"),
];

/// The computing workers, by how they are told to stop, with their labels.
const COMPUTING: [(Mechanism, &str); 3] = [
    (Mechanism::Flag, "an AtomicBool flag"),
    (Mechanism::Channel, "a message on a channel"),
    (Mechanism::Deadline, "a deadline"),
];

/// How long a worker runs before it is asked to stop: 2 to 4 ms, a
/// different time in each run, so that requests land anywhere between two
/// looks.
fn run_for(run: u32) -> Duration {
    Duration::from_micros(2000 + u64::from(run) * 370 % 2000)
}

/// Cancellation latency — from the request until the worker saw it — of
/// computing workers looking every 10 µs, 100 µs and 1 ms, told by a flag,
/// a channel or a deadline; and of waiting workers, napping or waiting on
/// the channel.
pub fn cancel(ctx: &Context) -> Result<Measured> {
    let rounds = ctx.pick(40, 25);
    let mut runs: Vec<(Mechanism, Duration, String)> = Vec::new();
    for (mechanism, _) in COMPUTING {
        for (interval, name) in INTERVALS {
            runs.push((mechanism, interval, format!("{}_{name}", mechanism.name())));
        }
    }
    let nap = Duration::from_millis(1);
    runs.push((Mechanism::NapThenFlag, nap, "nap_1ms".into()));
    runs.push((Mechanism::WaitOnChannel, nap, "wait_1ms".into()));
    let latencies = Collector::new();
    let mut variants: Vec<Variant> = runs
        .iter()
        .map(|(mechanism, interval, name)| {
            let latencies = &latencies;
            let mut run = 0;
            Variant::new(name, move || {
                run += 1;
                let latency = cancel_latency(*mechanism, *interval, run_for(run));
                latencies.record(name, latency.as_secs_f64());
                Ok(())
            })
        })
        .collect();
    ctx.interleave(rounds, 1, &mut variants)?;
    drop(variants);
    latencies.keep_last(rounds);
    let mut m = Measured::new();
    m.param("rounds", rounds).param("run_for_ms", "2 to 4");
    for (mechanism, label) in COMPUTING {
        for (interval, name) in INTERVALS {
            let key = format!("{}_{name}", mechanism.name());
            m.summary(
                &key,
                &format!("{label}, looking every {interval:?}: request → stopped"),
                Unit::Seconds,
                latencies.summary(&key),
            )
            .at(
                label,
                "work between two looks",
                Unit::Seconds,
                interval.as_secs_f64(),
            );
        }
        let name = mechanism.name();
        m.summary(
            &format!("{name}_growth"),
            &format!("{label}: latency looking every 1 ms ÷ every 10 µs, round by round"),
            Unit::Times,
            labkit::measured::per_round_ratio(
                &latencies.values(&format!("{name}_1ms")),
                &latencies.values(&format!("{name}_10us")),
            ),
        );
    }
    m.summary(
        "nap_1ms",
        "a waiting worker napping 1 ms between looks at a flag: request → stopped",
        Unit::Seconds,
        latencies.summary("nap_1ms"),
    )
    .summary(
        "wait_1ms",
        "a waiting worker waiting on the channel (recv_timeout, 1 ms): request → stopped",
        Unit::Seconds,
        latencies.summary("wait_1ms"),
    )
    .summary(
        "nap_vs_wait",
        "napping ÷ waiting on the channel, round by round",
        Unit::Times,
        labkit::measured::per_round_ratio(
            &latencies.values("nap_1ms"),
            &latencies.values("wait_1ms"),
        ),
    );
    Ok(m)
}

/// `SIGTERM` to a worker that cleans up, `SIGTERM` to one without a
/// handler, `SIGKILL`: from the signal until it was ended, and the
/// temporary files each left behind (which the lab then removes itself).
pub fn signals(ctx: &Context) -> Result<Measured> {
    let rounds = ctx.pick(30, 15);
    let slice = Duration::from_millis(1);
    let scratch = Scratch::new()?;
    let stops = [Stop::TermHandled, Stop::TermDefault, Stop::Kill];
    let seen = Collector::new();
    let endings = std::cell::RefCell::new(std::collections::BTreeMap::new());
    let mut variants: Vec<Variant> = stops
        .iter()
        .map(|&stop| {
            let (seen, endings, scratch) = (&seen, &endings, &scratch);
            Variant::new(stop.name(), move || {
                let stopped = stop_worker(stop, scratch.path(), slice)?;
                seen.record(&format!("{}_s", stop.name()), stopped.seconds);
                seen.record(
                    &format!("{}_left", stop.name()),
                    f64::from(u8::from(stopped.file_left)),
                );
                endings
                    .borrow_mut()
                    .insert(stop.name(), stopped.ending.to_string());
                Ok(())
            })
        })
        .collect();
    ctx.interleave(rounds, 0, &mut variants)?;
    drop(variants);
    let left_behind = scratch.files();
    drop(scratch); // the lab removes what the workers left
    let mut m = Measured::new();
    m.param("rounds", rounds)
        .param("slice_ms", slice.as_millis() as u64);
    let labels = [
        "SIGTERM, caught: the worker cleans up",
        "SIGTERM, no handler",
        "SIGKILL",
    ];
    for (stop, label) in stops.iter().zip(labels) {
        let name = stop.name();
        let left = seen.values(&format!("{name}_left"));
        m.summary(
            &format!("{name}_s"),
            &format!("{label}: from the signal until it could be reaped"),
            Unit::Seconds,
            seen.summary(&format!("{name}_s")),
        )
        .bar()
        .value(
            &format!("{name}_files_left"),
            &format!("{label}: share of runs that left the temporary file"),
            Unit::Percent,
            100.0 * left.iter().sum::<f64>() / left.len() as f64,
        );
        if let Some(ending) = endings.borrow().get(name) {
            m.param(&format!("{name}_ending"), ending.clone());
        }
    }
    m.summary(
        "term_vs_kill",
        "SIGTERM with cleanup ÷ SIGKILL, from signal to reaped, round by round",
        Unit::Times,
        labkit::measured::per_round_ratio(&seen.values("term_s"), &seen.values("kill_s")),
    )
    .value(
        "files_removed_by_the_lab",
        "temporary files left behind, which the lab then removed",
        Unit::Count,
        left_behind as f64,
    );
    Ok(m)
}

// ANCHOR: main_returns
/// The program: two threads each start ten steps of work; `main` returns
/// after about two and a half. Returning from `main` ends the process
/// with `exit` — and every thread in it, mid-step. (Lab 01 showed this with
/// one thread. Here the child returns into `fork_child`, which ends it
/// with `_exit`: the same last step.)
pub fn main_returns_early(log: &Log) -> i32 {
    for i in 1..=2 {
        let log = log.clone();
        thread::spawn(move || work_and_log(&format!("thread {i}"), &log));
    }
    thread::sleep(STEP * 5 / 2);
    log.line("main: returns");
    0
}
// ANCHOR_END: main_returns

/// What the end of `main` does to threads still working: in Rust, and in
/// CPython (a thread, and a daemon thread).
pub fn exit(ctx: &Context) -> Result<Measured> {
    let seen = watch(STORY_LIMIT, main_returns_early)?;
    let steps = seen.lines.iter().filter(|l| l.contains(": step")).count();
    let finished = (1..=2)
        .filter(|i| seen.finished(&format!("thread {i}")))
        .count();
    let started = (1..=2)
        .filter(|i| {
            seen.lines
                .iter()
                .any(|l| l.starts_with(&format!("thread {i}: step")))
        })
        .count();
    let mut m = Measured::new();
    m.param("steps", STEPS)
        .param("steps_total", 2 * STEPS)
        .param("step_ms", STEP.as_millis() as u64)
        .param("rust_ending", seen.ending.to_string())
        .param("rust_last_line", seen.last_line());
    m.value(
        "rust_steps_logged",
        &format!(
            "Rust: steps the two threads logged before main returned (of {})",
            2 * STEPS
        ),
        Unit::Count,
        steps as f64,
    )
    .value(
        "rust_threads_started",
        "Rust: of the two threads, those that logged a step before main returned",
        Unit::Count,
        started as f64,
    )
    .value(
        "rust_threads_finished",
        "Rust: of the two threads, finished",
        Unit::Count,
        finished as f64,
    );
    if let Some(python) = ctx.python {
        let json = python.run_json(
            &ctx.python_script("failure.py"),
            &["--part=exit".to_string()],
            labkit::python::SCRIPT_LIMIT,
        )?;
        let count = |key: &str| json[key].as_f64().unwrap_or(f64::NAN);
        let whole = |key: &str| json[key].as_u64().unwrap_or(0);
        m.param("py_steps", whole("steps"))
            .param("py_daemon_slowdown", whole("daemon_slowdown"));
        m.flag(
            "py_thread_finished",
            "CPython: the (non-daemon) thread finished its steps",
            json["thread_finished"].as_bool() == Some(true),
        )
        .value(
            "py_daemon_steps",
            "CPython: steps the daemon thread logged before the exit",
            Unit::Count,
            count("daemon_steps"),
        )
        .flag(
            "py_daemon_finished",
            "CPython: the daemon thread finished",
            json["daemon_finished"].as_bool() == Some(true),
        );
    } else {
        m.untestable("py_thread_finished", "python3 not found")
            .untestable("py_daemon_finished", "python3 not found");
    }
    Ok(m)
}

/// A timer cancelled right after it started: the lab's `Timer` (a channel
/// wait) against the sleeping one, and CPython's `threading.Timer`.
pub fn timer(ctx: &Context) -> Result<Measured> {
    let rounds = ctx.pick(7, 3);
    let delay = Duration::from_millis(ctx.pick(200, 100));
    let times = Collector::new();
    let fired = Arc::new(AtomicBool::new(false));
    let mut variants = vec![
        Variant::new("timer", || {
            let fired = Arc::clone(&fired);
            let timer = Timer::start(delay, move || {
                fired.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            let start = Instant::now();
            let ran = timer.cancel();
            times.record("timer", start.elapsed().as_secs_f64());
            ensure!(!ran, "a cancelled timer fired");
            Ok(())
        }),
        Variant::new("sleeping", || {
            let cancelled = Arc::new(AtomicBool::new(false));
            let thread = sleeping_timer(delay, Arc::clone(&cancelled));
            let start = Instant::now();
            cancelled.store(true, std::sync::atomic::Ordering::SeqCst);
            let ran = thread.join().unwrap_or(true);
            times.record("sleeping", start.elapsed().as_secs_f64());
            ensure!(!ran, "a cancelled sleeping timer fired");
            Ok(())
        }),
    ];
    ctx.interleave(rounds, 1, &mut variants)?;
    drop(variants);
    times.keep_last(rounds);
    let fired_when_left = Timer::start(Duration::from_millis(10), || {}).wait();
    let mut m = Measured::new();
    m.param("rounds", rounds)
        .param("delay_ms", delay.as_millis() as u64);
    m.summary(
        "timer_cancel_s",
        "the lab's Timer (waits on a channel): cancel, and join its thread",
        Unit::Seconds,
        times.summary("timer"),
    )
    .bar()
    .summary(
        "sleeping_cancel_s",
        "a timer that sleeps, then looks at a flag: cancel, and join its thread",
        Unit::Seconds,
        times.summary("sleeping"),
    )
    .bar()
    .flag(
        "fired_when_cancelled",
        "a cancelled timer ran its action",
        fired.load(std::sync::atomic::Ordering::SeqCst),
    )
    .flag(
        "fired_when_left",
        "a timer left alone ran its action",
        fired_when_left,
    );
    if let Some(python) = ctx.python {
        let json = python.run_json(
            &ctx.python_script("failure.py"),
            &[
                "--part=timer".to_string(),
                format!("--delay={PY_TIMER_DELAY_S}"),
                format!("--rounds={}", rounds * 4),
            ],
            labkit::python::SCRIPT_LIMIT,
        )?;
        m.param("py_delay_s", PY_TIMER_DELAY_S);
        m.value(
            "py_cancel_s",
            "CPython's threading.Timer: cancel, and join its thread (median)",
            Unit::Seconds,
            json["cancel_s"].as_f64().unwrap_or(f64::NAN),
        )
        .flag(
            "py_fired_when_cancelled",
            "CPython: a cancelled threading.Timer ran its action",
            json["fired_when_cancelled"].as_bool() != Some(false),
        );
    } else {
        m.untestable("py_fired_when_cancelled", "python3 not found");
    }
    Ok(m)
}

/// The delay of CPython's timers, which are cancelled long before it.
const PY_TIMER_DELAY_S: f64 = 10.0;

/// The tasks of the group demo: `count` tasks of `work`, task `stubborn`
/// taking `stubborn_work` and never looking at the stop flag.
fn tasks(count: u64, work: Duration, stubborn: u64, stubborn_work: Duration) -> Vec<Task> {
    (0..count)
        .map(|id| Task {
            id,
            work: if id == stubborn { stubborn_work } else { work },
            stubborn: id == stubborn,
        })
        .collect()
}

/// A group of workers shut down within a deadline, one of them stuck in a
/// task that ignores the stop flag; the same group shut down by joining
/// every thread, for comparison.
pub fn group(ctx: &Context) -> Result<Measured> {
    let workers = ctx.workers.max(2);
    let deadline = Duration::from_millis(ctx.option("deadline-ms"));
    let running = Duration::from_millis(100);
    let work = Duration::from_millis(2);
    let stubborn = 10 * workers as u64; // picked up after about 20 ms
    let stubborn_work = deadline * 3 + running;
    let start_group = || {
        let (queue, taken) = crossbeam_channel::unbounded();
        for task in tasks(100_000, work, stubborn, stubborn_work) {
            queue.send(task).expect("the queue is open");
        }
        drop(queue);
        let group = WorkerGroup::start(workers, taken);
        thread::sleep(running);
        group
    };
    ctx.progress.step("shutdown with a deadline");
    let group = start_group();
    let start = Instant::now();
    let shutdown = group.shutdown(deadline);
    let shutdown_s = start.elapsed().as_secs_f64();
    let late = shutdown.late.len();
    let kept_from = |worker: usize| {
        shutdown
            .results
            .iter()
            .filter(|(w, _, _)| *w == worker)
            .count() as u64
    };
    let late_kept: u64 = shutdown.late.iter().map(|&(i, _)| kept_from(i)).sum();
    // What the late workers had finished, counted apart from the results.
    let late_finished: u64 = shutdown
        .late
        .iter()
        .map(|&(i, _)| shutdown.finished[i])
        .sum();
    let kept = shutdown.results.len();
    for (_, thread) in shutdown.late {
        let _ = thread.join(); // it ends by itself once its task is done
    }
    ctx.progress.step("shutdown joining every thread");
    let group = start_group();
    let start = Instant::now();
    let joined = group.join_all();
    let join_all_s = start.elapsed().as_secs_f64();
    let mut m = Measured::new();
    m.param("workers", workers)
        .param("deadline_ms", deadline.as_millis() as u64)
        .param("running_ms", running.as_millis() as u64)
        .param("task_ms", work.as_millis() as u64)
        .param("stubborn_ms", stubborn_work.as_millis() as u64);
    m.value(
        "shutdown_s",
        "stop flag, then wait with a deadline: until the shutdown returned",
        Unit::Seconds,
        shutdown_s,
    )
    .bar()
    .value(
        "join_all_s",
        "stop flag, then join every thread: until the shutdown returned",
        Unit::Seconds,
        join_all_s,
    )
    .bar()
    .value(
        "shutdown_vs_deadline",
        "the shutdown's time ÷ its deadline",
        Unit::Times,
        shutdown_s / deadline.as_secs_f64(),
    )
    .value(
        "shutdown_overshoot_s",
        "the shutdown's time − its deadline",
        Unit::Seconds,
        shutdown_s - deadline.as_secs_f64(),
    )
    .value(
        "late_workers",
        "workers still busy at the deadline (left to end by themselves)",
        Unit::Count,
        late as f64,
    )
    .value(
        "results_kept",
        "results the shutdown returned",
        Unit::Count,
        kept as f64,
    )
    .value(
        "late_results_kept",
        "of them, finished by the worker that was late",
        Unit::Count,
        late_kept as f64,
    )
    .value(
        "late_results_missing",
        "tasks the late worker had finished (counted apart) whose result was not returned",
        Unit::Count,
        late_finished.saturating_sub(late_kept) as f64,
    )
    .value(
        "join_all_results",
        "results the join-every-thread shutdown returned",
        Unit::Count,
        joined.results.len() as f64,
    );
    Ok(m)
}

/// The lab: its options, its experiments and the claims each one checks.
pub fn lab() -> Lab {
    Lab {
        id: "lab-09",
        title: "When things go wrong",
        source_dir: env!("CARGO_MANIFEST_DIR"),
        options: vec![
            LabOption { name: "deadline-ms", help: "Milliseconds a group of workers is given to shut down in the group demo", default: DEADLINE_MS, min: 20, max: 2000 },
        ],
        experiments: vec![
            Experiment {
                name: "threads",
                title: "A crash in one of three threads",
                run: threads,
                claims: vec![
                    Claim::demonstration("thread-panic-contained", "panic_siblings_finished", Check::Between(2.0, 2.0),
                        "A panic in one of three threads ended that thread only: both others finished their work."),
                    Claim::demonstration("thread-panic-join-err", "panic_join_err", Check::Observed,
                        "After a panic in a thread, that thread's join returned an error: the main thread logged \"worker 0 panicked\"."),
                    Claim::demonstration("thread-panic-process-lives", "panic_survived", Check::Observed,
                        "…and the program went on to its last line and exited with code 0."),
                    Claim::demonstration("thread-crash-signalled", "fatal_killed", Check::Between(4.0, 4.0),
                        "An abort, a segfault, a stack overflow or a failed allocation in one thread ended the whole process by a signal, in each of the four."),
                    Claim::demonstration("thread-crash-kills-all", "fatal_siblings_finished", Check::AtMost(0.0),
                        "In none of the four did another thread finish."),
                    Claim::demonstration("thread-crash-no-main", "fatal_survived", Check::AtMost(0.0),
                        "…nor did the main thread get to its last line."),
                ],
            },
            Experiment {
                name: "processes",
                title: "The same crashes in one of three child processes",
                run: processes,
                claims: vec![
                    Claim::demonstration("child-crash-contained", "fewest_siblings_finished", Check::Between(2.0, 2.0),
                        "Whichever way child 0 crashed, both sibling processes finished their work."),
                    Claim::demonstration("parent-sees-signal", "fatal_signalled", Check::Between(4.0, 4.0),
                        "For the abort, the segfault, the stack overflow and the failed allocation, waitpid told the parent the signal that ended the child."),
                    Claim::demonstration("half-message-left", "torn_messages", Check::AtLeast(1.0),
                        "Half a message a child wrote before it crashed stayed in the pipe, glued to the next line written — a sibling's or the parent's."),
                    Claim::demonstration("shared-lock-stays-locked", "plain_lock_stuck", Check::Observed,
                        "A lock in shared memory held by a child that crashed stayed locked: the kernel does not release it."),
                    Claim::demonstration("robust-lock-reports", "robust_lock_owner_died", Check::Observed,
                        "A robust lock told the next process to take it that its holder had died (EOWNERDEAD)."),
                ],
            },
            Experiment {
                name: "python_crash",
                title: "CPython: an exception and os.abort() in a thread, a Process, a pool",
                run: python_crash,
                claims: vec![
                    Claim::demonstration("py-exception-contained", "exception_siblings_finished", Check::Between(2.0, 2.0),
                        "An exception in one of three CPython threads ended that thread only: both other threads finished.")
                        .needs_python(),
                    Claim::demonstration("py-exception-hook", "exception_hook_called", Check::Observed,
                        "threading.excepthook was called with the exception.")
                        .needs_python(),
                    Claim::demonstration("py-abort-kills-all", "abort_thread_siblings_finished", Check::AtMost(0.0),
                        "os.abort() in one CPython thread ended the interpreter: neither other thread finished.")
                        .needs_python(),
                    Claim::demonstration("py-process-aborted", "process_exitcode", Check::Between(-6.0, -6.0),
                        "os.abort() in a multiprocessing.Process ended it by SIGABRT: its exitcode was -6.")
                        .needs_python(),
                    Claim::demonstration("py-process-contained", "process_siblings_finished", Check::Between(2.0, 2.0),
                        "It ended that process only: both siblings finished (exitcode 0).")
                        .needs_python(),
                    Claim::demonstration("py-pool-broken", "pool_broken", Check::Observed,
                        "os.abort() in a ProcessPoolExecutor task broke the pool: tasks failed with BrokenProcessPool.")
                        .needs_python(),
                ],
            },
            Experiment {
                name: "cancel",
                title: "Cooperative cancellation: how long a thread takes to stop",
                run: cancel,
                claims: vec![
                    Claim::new("flag-latency-grows", "flag_growth", Check::AtLeast(GROWTH),
                        "A worker told to stop by a flag took at least {threshold} as long to stop when it looked every 1 ms as when it looked every 10 µs (median of the per-round ratios)."),
                    Claim::new("channel-latency-grows", "channel_growth", Check::AtLeast(GROWTH),
                        "Told by a message on a channel, it took at least {threshold} as long, looking every 1 ms rather than every 10 µs."),
                    Claim::new("deadline-latency-grows", "deadline_growth", Check::AtLeast(GROWTH),
                        "Given a deadline, it overshot it by at least {threshold} as much, looking every 1 ms rather than every 10 µs."),
                    Claim::new("wait-on-the-request", "nap_vs_wait", Check::AtLeast(NAP_VS_WAIT),
                        "A waiting worker that naps 1 ms between looks at a flag took at least {threshold} as long to stop as one that waits on the cancel channel itself."),
                ],
            },
            Experiment {
                name: "signals",
                title: "SIGTERM with cleanup, SIGTERM without, SIGKILL",
                run: signals,
                claims: vec![
                    Claim::demonstration("term-cleans-up", "term_files_left", Check::AtMost(0.0),
                        "A worker that catches SIGTERM removed its temporary file every time before it ended."),
                    Claim::demonstration("kill-leaves-files", "kill_files_left", Check::Between(100.0, 100.0),
                        "SIGKILL left the temporary file behind every time: no code of the worker ran."),
                    Claim::demonstration("default-term-leaves-files", "term_default_files_left", Check::Between(100.0, 100.0),
                        "So did SIGTERM to a worker without a handler."),
                    Claim::new("cleanup-takes-time", "term_vs_kill", Check::AtLeast(TERM_VS_KILL),
                        "From signal to reaped, SIGTERM with cleanup took at least {threshold} as long as SIGKILL (median of the per-round ratios)."),
                ],
            },
            Experiment {
                name: "exit",
                title: "The end of main, and threads still working",
                run: exit,
                claims: vec![
                    Claim::demonstration("rust-exit-threads-worked", "rust_threads_started", Check::Between(2.0, 2.0),
                        "In Rust, both threads were at work when main returned: each had logged a step."),
                    Claim::demonstration("rust-exit-ends-threads", "rust_threads_finished", Check::AtMost(0.0),
                        "Returning from main ended both threads mid-work: neither finished."),
                    Claim::demonstration("py-exit-joins", "py_thread_finished", Check::Observed,
                        "CPython's exit waited for its (non-daemon) thread, which finished.")
                        .needs_python(),
                    Claim::demonstration("py-exit-kills-daemons", "py_daemon_finished", Check::NotObserved,
                        "A daemon thread did not finish: CPython's exit does not wait for it.")
                        .needs_python(),
                ],
            },
            Experiment {
                name: "timer",
                title: "A timer that can be cancelled",
                run: timer,
                claims: vec![
                    Claim::demonstration("timer-fires", "fired_when_left", Check::Observed,
                        "A timer left alone ran its action."),
                    Claim::demonstration("timer-cancelled", "fired_when_cancelled", Check::NotObserved,
                        "A cancelled timer never ran it."),
                    Claim::demonstration("timer-cancels-at-once", "timer_cancel_s", Check::AtMost(TIMER_CANCEL_S),
                        "Cancelling the lab's Timer once its thread was running, and joining that thread, took at most {threshold} (median), far less than its delay."),
                ],
            },
            Experiment {
                name: "group",
                title: "Shutting a group of workers down within a deadline",
                run: group,
                claims: vec![
                    Claim::demonstration("shutdown-keeps-deadline", "shutdown_overshoot_s", Check::Between(0.0, OVERSHOOT_S),
                        "With one worker stuck in a task that ignores the stop flag, the shutdown returned between {threshold} after its deadline."),
                    Claim::demonstration("late-worker-left", "late_workers", Check::Between(1.0, 1.0),
                        "It left exactly that worker behind, to end by itself."),
                    Claim::demonstration("late-worker-had-results", "late_results_kept", Check::AtLeast(1.0),
                        "The late worker had finished tasks before its stubborn one, and their results were returned."),
                    Claim::demonstration("late-results-kept", "late_results_missing", Check::AtMost(0.0),
                        "None of the tasks it had finished was missing a result (they were counted apart): each was sent the moment it was done."),
                ],
            },
        ],
    }
}

// Thresholds, each set from the spread of repeated quick and full runs on a
// 2-vCPU VM, with room for the other kinds of host.

/// The group demo's deadline (the `--deadline-ms` default).
const DEADLINE_MS: u64 = 200;
/// Latency looking every 1 ms ÷ every 10 µs, at least (seen: medians 43–180
/// in quiet runs, full and quick; 5.9 once in a quick run beside two
/// other builds).
const GROWTH: f64 = 3.0;
/// Napping ÷ waiting on the channel, at least (seen: 11–27).
const NAP_VS_WAIT: f64 = 3.0;
/// SIGTERM with cleanup ÷ SIGKILL, at least (seen: 2.8–9 once signals
/// landed anywhere in a slice; about 1 while a busy-polling parent took
/// the CPU the child needed, since fixed with a pidfd).
const TERM_VS_KILL: f64 = 1.5;
/// Cancel and join of the lab's Timer, at most: an absolute slack, far
/// below its delay (seen: medians 40 µs–0.9 ms, single rounds up to 4 ms, a
/// scheduler tick, on a loaded machine).
const TIMER_CANCEL_S: f64 = 0.05;
/// How long after its deadline the group's shutdown may return, at most:
/// an absolute slack, whatever the deadline (seen: 0–12 ms).
const OVERSHOOT_S: f64 = 0.05;
