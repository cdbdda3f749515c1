//! Lab 01 — threads and processes, first contact.
//!
//! Read this file top to bottom like the chapter. It runs the seed articles'
//! two examples in Rust — tasks that *wait* and tasks that *compute* — one
//! after another, in threads, and in forked processes; then it shows what
//! "separate memory" means, how results come back from a thread and from a
//! process, and what forgetting to join or wait costs. Beside each Rust
//! measurement it runs the same programs under CPython, when python3 is here.

pub mod exercises;

use anyhow::{Context as _, Result, bail, ensure};
use labkit::child::{Child, exists, fork_child, output_within};
use labkit::python::Python;
use labkit::timing::{Interleaved, Variant};
use labkit::{Check, Claim, Context, Experiment, Lab, Measured, Unit, opaque};
use nix::unistd::{Pid, pipe};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

// ANCHOR: tasks
/// An I/O-bound task: it only waits, as a thread blocked on a network reply or
/// a disk read does. Waiting needs no CPU.
pub fn wait_task(duration: Duration) -> u64 {
    thread::sleep(duration);
    0
}

/// A CPU-bound task: the sum 0 + 1 + … + (n − 1), one addition at a time.
/// `opaque` stops the optimiser from replacing the loop by n(n−1)/2, which
/// would make every variant take no time at all.
pub fn sum_task(n: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        total = total.wrapping_add(opaque(i));
    }
    total
}
// ANCHOR_END: tasks

// ANCHOR: sequential
/// Runs `workers` copies of `task`, one after another.
pub fn run_sequentially(workers: usize, task: impl Fn() -> u64) -> Vec<u64> {
    (0..workers).map(|_| task()).collect()
}
// ANCHOR_END: sequential

// ANCHOR: threads
/// Runs `workers` copies of `task` at once, each in its own OS thread, and
/// collects what each returned through its `JoinHandle`. The scope joins every
/// thread before it ends, so none can outlive the data it borrows.
pub fn run_in_threads(workers: usize, task: impl Fn() -> u64 + Sync) -> Vec<u64> {
    thread::scope(|scope| {
        let handles: Vec<_> = (0..workers).map(|_| scope.spawn(&task)).collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a task panicked"))
            .collect()
    })
}
// ANCHOR_END: threads

// ANCHOR: processes
/// Runs `workers` copies of `task` at once, each in its own forked process.
/// A child cannot return a value into the parent's memory — it has its own
/// copy — so it writes its result into a pipe, and the parent reads it.
pub fn run_in_processes(workers: usize, task: impl Fn() -> u64) -> Result<Vec<u64>> {
    let task = &task;
    let mut running: Vec<(Child, File)> = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (reader, writer) = pipe().context("pipe failed")?;
        let child = fork_child(move || {
            let bytes = task().to_le_bytes();
            // Exit code 0 only if the whole result reached the pipe.
            i32::from(File::from(writer).write_all(&bytes).is_err())
        })?;
        // The parent's copy of `writer` was closed when the closure was
        // dropped, so a child that dies early shows up as end-of-file.
        running.push((child, File::from(reader)));
    }
    // If anything below fails, the children not yet waited for are killed
    // and reaped when `running` is dropped: none is left behind.
    let mut results = Vec::with_capacity(workers);
    for (child, mut reader) in running.drain(..) {
        let mut bytes = [0u8; 8];
        reader
            .read_exact(&mut bytes)
            .context("a child ended without sending its result")?;
        child.wait_success()?;
        results.push(u64::from_le_bytes(bytes));
    }
    Ok(results)
}
// ANCHOR_END: processes

/// Fails unless every worker returned `expected`: a fast wrong answer is no answer.
fn check_all(results: &[u64], expected: u64, what: &str) -> Result<()> {
    if let Some(wrong) = results.iter().find(|&&r| r != expected) {
        bail!("{what} returned {wrong}, expected {expected}");
    }
    Ok(())
}

// ANCHOR: three_ways
/// Runs `workers` copies of `task` three ways — one after another, in
/// threads, in processes — for `warmup` unmeasured rounds and then `rounds`
/// measured ones, interleaved, and checks that every copy returned `expected`.
pub fn three_ways(
    ctx: &Context,
    (warmup, rounds): (usize, usize),
    task: impl Fn() -> u64 + Sync,
    expected: u64,
) -> Result<Interleaved> {
    let (workers, task) = (ctx.workers, &task);
    let mut variants = [
        Variant::new("sequential", || {
            check_all(&run_sequentially(workers, task), expected, "sequential")
        }),
        Variant::new("threads", || {
            check_all(&run_in_threads(workers, task), expected, "a thread")
        }),
        Variant::new("processes", || {
            check_all(&run_in_processes(workers, task)?, expected, "a process")
        }),
    ];
    ctx.interleave(rounds, warmup, &mut variants)
}
// ANCHOR_END: three_ways

/// The usual record of a three-way comparison: each variant's seconds, and
/// the speedup of threads and of processes over sequential.
fn record(m: &mut Measured, times: &Interleaved, workers: usize) {
    let (threads, processes) = (format!("{workers} threads"), format!("{workers} processes"));
    m.times_and_speedups(
        times,
        "",
        ("sequential", "one after another"),
        &[("threads", &threads), ("processes", &processes)],
    );
}

/// The seed's I/O-bound example: `workers` tasks that each wait.
pub fn io_bound(ctx: &Context) -> Result<Measured> {
    let wait = ctx.pick(Duration::from_secs(2), Duration::from_millis(200));
    let rounds = ctx.pick(2, 3);
    // Waiting needs no warm-up: nothing is cached or faulted in.
    let times = three_ways(ctx, (0, rounds), || wait_task(wait), 0)?;
    let mut m = Measured::new();
    m.param("workers", ctx.workers)
        .param("wait_s", wait.as_secs_f64())
        .param("rounds", rounds);
    record(&mut m, &times, ctx.workers);
    Ok(m)
}

/// The seed's CPU-bound example: `workers` tasks that each sum 0..n.
pub fn cpu_bound(ctx: &Context) -> Result<Measured> {
    // Quick runs keep the full size (each task ~40 ms) and rounds: shorter
    // tasks would measure the second core waking up more than the sum, and
    // on a shared VM the median of fewer rounds misses 80% of the capacity
    // now and then although the threads reach all of it.
    let n: u64 = 100_000_000;
    let rounds = 21;
    let times = three_ways(ctx, (1, rounds), || sum_task(n), n * (n - 1) / 2)?;
    let mut m = Measured::new();
    m.param("workers", ctx.workers)
        .param("n", n)
        .param("rounds", rounds);
    m.value(
        "ns_per_addition",
        "time per addition (sequential)",
        Unit::Seconds,
        times.summary("sequential").median / (ctx.workers as f64 * n as f64),
    );
    record(&mut m, &times, ctx.workers);
    Ok(m)
}

// ANCHOR: black_box
/// The same sum, hidden from the optimiser with `std::hint::black_box`
/// instead of `opaque`: each addition stores `i` on the stack and loads it back.
pub fn sum_task_black_box(n: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        total = total.wrapping_add(std::hint::black_box(i));
    }
    total
}
// ANCHOR_END: black_box

/// Threads against processes on the same two loops, interleaved: with
/// `black_box` (a private stack slot written every iteration) and with
/// `opaque` (no memory traffic). Nothing is shared in either. Reported: how
/// many times longer the threads took than the processes, round by round.
pub fn stack_slots(ctx: &Context) -> Result<Measured> {
    let n: u64 = ctx.pick(50_000_000, 20_000_000);
    let rounds = ctx.pick(9, 7);
    let workers = ctx.workers;
    let expected = n * (n - 1) / 2;
    let (stack, register) = (|| sum_task_black_box(n), || sum_task(n));
    let mut variants = [
        Variant::new("black_box threads", || {
            check_all(&run_in_threads(workers, stack), expected, "a thread")
        }),
        Variant::new("black_box processes", || {
            check_all(&run_in_processes(workers, stack)?, expected, "a process")
        }),
        Variant::new("opaque threads", || {
            check_all(&run_in_threads(workers, register), expected, "a thread")
        }),
        Variant::new("opaque processes", || {
            check_all(&run_in_processes(workers, register)?, expected, "a process")
        }),
    ];
    let times = ctx.interleave(rounds, 1, &mut variants)?;
    let mut m = Measured::new();
    m.param("workers", workers)
        .param("n", n)
        .param("rounds", rounds);
    m.summary(
        "black_box_threads_vs_processes",
        "threads' time ÷ processes' time, black_box loop",
        Unit::Times,
        times.speedup("black_box threads", "black_box processes"),
    )
    .summary(
        "opaque_threads_vs_processes",
        "threads' time ÷ processes' time, opaque loop",
        Unit::Times,
        times.speedup("opaque threads", "opaque processes"),
    );
    Ok(m)
}

// ANCHOR: isolation
/// A thread adds 1 to the parent's counter: the parent sees it, because a
/// thread shares its process's memory.
pub fn thread_change_is_seen() -> bool {
    let counter = AtomicU64::new(0);
    thread::scope(|scope| {
        scope.spawn(|| counter.fetch_add(1, Ordering::SeqCst));
    });
    counter.load(Ordering::SeqCst) == 1
}

/// A forked child adds 1 to "the same" counter: the parent does not see it,
/// because the child changed its own copy of the parent's memory.
pub fn child_change_is_seen() -> Result<bool> {
    let counter = AtomicU64::new(0);
    let child = fork_child(|| {
        counter.fetch_add(1, Ordering::SeqCst);
        0
    })?;
    child.wait_success()?;
    Ok(counter.load(Ordering::SeqCst) == 1)
}

/// The child starts with a copy of everything the parent had at `fork`: it
/// sees the value the parent set before, and reports it as its exit code.
pub fn child_sees_parent_value() -> Result<bool> {
    let counter = AtomicU64::new(42);
    let child = fork_child(|| counter.load(Ordering::SeqCst) as i32)?;
    Ok(matches!(
        child.wait()?,
        nix::sys::wait::WaitStatus::Exited(_, 42)
    ))
}
// ANCHOR_END: isolation

/// Separate memory, observed: one thread and one child each change a counter.
pub fn isolation(_ctx: &Context) -> Result<Measured> {
    let mut m = Measured::new();
    m.flag(
        "thread_change_seen",
        "the parent sees a thread's change",
        thread_change_is_seen(),
    )
    .flag(
        "child_change_seen",
        "the parent sees a child's change",
        child_change_is_seen()?,
    )
    .flag(
        "child_sees_parent",
        "the child sees the parent's earlier value",
        child_sees_parent_value()?,
    );
    Ok(m)
}

// ANCHOR: detached
/// In a child process (so this program survives), a thread that needs `work`
/// is started and then either joined or not; then `main` ends — the process
/// exits. Returns whether the thread's message arrived. In Rust, the
/// process's exit ends every thread in it, mid-work: without the join, the
/// message never comes.
pub fn thread_finishes_before_exit(join: bool, work: Duration) -> Result<bool> {
    let (reader, writer) = pipe().context("pipe failed")?;
    let child = fork_child(move || {
        let mut writer = File::from(writer);
        let handle = thread::spawn(move || {
            thread::sleep(work);
            let _ = writer.write_all(b"finished");
        });
        if join {
            let _ = handle.join();
        }
        0 // returning ends the process, and every thread in it
    })?;
    let mut message = String::new();
    // read_to_string returns at end-of-file: when every copy of `writer`,
    // including the detached thread's, has been closed by the exit.
    File::from(reader).read_to_string(&mut message)?;
    child.wait_success()?;
    Ok(message == "finished")
}
// ANCHOR_END: detached

// ANCHOR: zombie
/// A child that exits while nobody waits for it stays in the process table
/// as a zombie (state `Z`) holding its exit status, until its parent reaps it.
/// Returns (zombie seen, gone after waitpid).
pub fn zombie_until_reaped() -> Result<(bool, bool)> {
    let child = fork_child(|| 0)?;
    let pid = child.pid();
    let zombie = wait_for_state(pid, 'Z', Duration::from_secs(2));
    child.wait()?; // reap it: waitpid collects the exit status
    Ok((zombie, !exists(pid)))
}

/// Polls the process state letter in /proc/PID/stat (R, S, Z, …) until it
/// is `state` or the time runs out.
fn wait_for_state(pid: Pid, state: char, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if process_state(pid) == Some(state) {
            return true;
        }
        thread::sleep(Duration::from_millis(5));
    }
    false
}
// ANCHOR_END: zombie

/// The state letter of process `pid`: the field after the `(command)`.
pub fn process_state(pid: Pid) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    after_name.trim_start().chars().next()
}

// ANCHOR: python_exit
/// CPython's answer to the same question (`python/at_exit.py`): a thread
/// that needs `seconds` is started, never joined, and the main program ends.
/// Returns whether it finished. CPython's exit joins every non-daemon thread
/// first; a `daemon=True` thread is killed.
pub fn python_thread_finishes(
    python: &Python,
    script: &Path,
    daemon: bool,
    seconds: f64,
) -> Result<bool> {
    let mut command = Command::new(&python.command);
    command.arg(script).arg(format!("--seconds={seconds}"));
    if daemon {
        command.arg("--daemon");
    }
    let output = output_within(command, Duration::from_secs(30))?;
    ensure!(
        output.status.success(),
        "at_exit.py failed: {}",
        output.status
    );
    Ok(String::from_utf8_lossy(&output.stdout).contains("finished"))
}
// ANCHOR_END: python_exit

/// Results from threads and children, and what forgetting to join or wait
/// costs — in Rust, and (when python3 is here) in CPython.
pub fn join_and_results(ctx: &Context) -> Result<Measured> {
    let from_thread = run_in_threads(1, || sum_task(1000)) == [499_500];
    let from_child = run_in_processes(1, || sum_task(1000))? == [499_500];
    let (zombie, reaped) = zombie_until_reaped()?;
    // The detached thread is given far longer than the exit takes, so that
    // a busy machine cannot let it finish by accident.
    let (short, long) = (Duration::from_millis(100), Duration::from_secs(2));
    let mut m = Measured::new();
    m.flag(
        "thread_result",
        "a thread's result arrives via its JoinHandle",
        from_thread,
    )
    .flag(
        "child_result",
        "a child's result arrives via a pipe",
        from_child,
    )
    .flag(
        "joined_thread_finished",
        "Rust: a joined thread finishes before exit",
        thread_finishes_before_exit(true, short)?,
    )
    .flag(
        "detached_thread_finished",
        "Rust: a thread nobody joins finishes before exit",
        thread_finishes_before_exit(false, long)?,
    )
    .flag("zombie_seen", "an unwaited child is a zombie (Z)", zombie)
    .flag("zombie_reaped", "waitpid removes the zombie", reaped);
    if let Some(python) = ctx.python {
        let script = ctx.python_script("at_exit.py");
        m.flag(
            "py_thread_finished",
            "CPython: a thread nobody joins finishes before exit",
            python_thread_finishes(python, &script, false, 0.1)?,
        )
        .flag(
            "py_daemon_finished",
            "CPython: a daemon thread nobody joins finishes before exit",
            python_thread_finishes(python, &script, true, 2.0)?,
        );
    }
    Ok(m)
}

/// Runs one of the lab's CPython programs (its variants timed from inside
/// CPython, one run per round, interleaved with this experiment's capacity
/// calibration when it has one), and records the same metrics as the Rust
/// experiments: `python_cpu.threads_speedup` reads like `cpu.threads_speedup`.
fn run_python(ctx: &Context, script: &str, size: String, rounds: usize) -> Result<Measured> {
    let args = vec![
        "--json".to_string(),
        format!("--workers={}", ctx.workers),
        size,
    ];
    let Some(cpython) = ctx.python_rounds(script, args, &["sequential", "threads", "processes"])
    else {
        return Ok(Measured::skipped("python3 not found"));
    };
    let times = ctx.interleave_python(&cpython, rounds)?;
    let mut m = Measured::new();
    m.param("python", cpython.version())
        .param("workers", ctx.workers)
        .param("rounds", rounds);
    record(&mut m, &times, ctx.workers);
    Ok(m)
}

/// CPython's threads and processes on the seed's waiting tasks. (Half-second
/// waits, not the Rust experiment's 2 s: the ratio is the same and the lab
/// stays under a minute.)
pub fn python_io(ctx: &Context) -> Result<Measured> {
    let seconds = ctx.pick(0.5, 0.2);
    let rounds = ctx.pick(2, 3);
    let mut m = run_python(ctx, "io_bound.py", format!("--seconds={seconds}"), rounds)?;
    m.param("wait_s", seconds);
    Ok(m)
}

/// CPython's threads and processes on the seed's summing tasks. (The seed
/// sums 10⁷, as `cpu_bound.py` does when run by itself; the lab sums half as
/// much, nine times over, for a steadier median in the same time.)
pub fn python_cpu(ctx: &Context) -> Result<Measured> {
    let n: u64 = ctx.pick(5_000_000, 3_000_000);
    let mut m = run_python(ctx, "cpu_bound.py", format!("--n={n}"), 9)?;
    m.param("n", n);
    if let Some(sequential) = m.metric("sequential").map(|s| s.value) {
        m.value(
            "ns_per_addition",
            "time per addition (sequential)",
            Unit::Seconds,
            sequential / (ctx.workers as f64 * n as f64),
        );
    }
    Ok(m)
}

/// The lab: its experiments and the claims each one checks.
pub fn lab() -> Lab {
    Lab {
        id: "lab-01",
        title: "Threads and processes, first contact",
        source_dir: env!("CARGO_MANIFEST_DIR"),
        options: vec![],
        experiments: vec![
            Experiment {
                name: "io",
                title: "I/O-bound: tasks that wait",
                run: io_bound,
                claims: vec![
                    Claim::demonstration("io-threads", "threads_speedup", Check::PerWorker(0.9),
                        "{workers} threads that each wait finish at least {threshold} faster than one after another, on any number of cores: waiting needs no CPU."),
                    Claim::demonstration("io-processes", "processes_speedup", Check::PerWorker(0.9),
                        "{workers} processes that each wait finish at least {threshold} faster too."),
                ],
            },
            Experiment {
                name: "cpu",
                title: "CPU-bound: tasks that sum",
                run: cpu_bound,
                claims: vec![
                    Claim::new("cpu-threads", "threads_speedup", Check::OfCapacity(0.8),
                        "{workers} Rust threads summing {workers} ranges are at least {threshold} faster than one thread doing it all — 80% of what this machine's cores gave processes in the same rounds: Rust has no GIL."),
                    Claim::new("cpu-processes", "processes_speedup", Check::OfCapacity(0.8),
                        "{workers} processes doing the same are at least {threshold} faster (80% of the same capacity)."),
                ],
            },
            Experiment {
                name: "stack_slots",
                title: "Threads vs processes on the same loop: black_box or opaque",
                run: stack_slots,
                // An observation, not a claim: whether private stack slots
                // collide depends on the CPU and on where the stacks land.
                claims: vec![],
            },
            Experiment {
                name: "isolation",
                title: "Shared and separate memory",
                run: isolation,
                claims: vec![
                    Claim::demonstration("thread-shares", "thread_change_seen", Check::Observed,
                        "A change made by a thread is seen by the rest of its process."),
                    Claim::demonstration("child-copies", "child_change_seen", Check::NotObserved,
                        "A change made by a forked child is not seen by its parent."),
                    Claim::demonstration("child-inherits", "child_sees_parent", Check::Observed,
                        "A forked child starts with a copy of its parent's memory."),
                ],
            },
            Experiment {
                name: "join",
                title: "Results, join and wait",
                run: join_and_results,
                claims: vec![
                    Claim::demonstration("detached-killed", "detached_thread_finished", Check::NotObserved,
                        "In Rust, a thread nobody joins is ended, mid-work, when main returns and the process exits."),
                    Claim::demonstration("joined-finishes", "joined_thread_finished", Check::Observed,
                        "A joined thread finishes its work before the process exits."),
                    Claim::demonstration("py-joined-at-exit", "py_thread_finished", Check::Observed,
                        "In CPython, a thread nobody joins still finishes: at exit the interpreter joins every non-daemon thread.")
                        .needs_python(),
                    Claim::demonstration("py-daemon-killed", "py_daemon_finished", Check::NotObserved,
                        "A daemon thread is not waited for: it dies with the program, mid-work.")
                        .needs_python(),
                    Claim::demonstration("zombie", "zombie_seen", Check::Observed,
                        "A child nobody waits for stays a zombie after it exits."),
                    Claim::demonstration("reaped", "zombie_reaped", Check::Observed,
                        "Waiting for it (waitpid) removes the zombie."),
                ],
            },
            Experiment {
                name: "python_io",
                title: "CPython: tasks that wait",
                run: python_io,
                claims: vec![
                    Claim::demonstration("py-io-threads", "threads_speedup", Check::PerWorker(0.9),
                        "CPython's threads do speed up waiting: {workers} threads at least {threshold} faster than sequential, GIL or not.")
                        .needs_python(),
                ],
            },
            Experiment {
                name: "python_cpu",
                title: "CPython: tasks that sum",
                run: python_cpu,
                claims: vec![
                    Claim::new("py-cpu-threads", "threads_speedup", Check::AtMost(1.15),
                        "CPython's threads do not speed up pure-Python arithmetic: {workers} threads at most {threshold} faster than one (the GIL lets one thread run at a time).")
                        .needs_python_gil()
                        .needs_workers(2),
                    Claim::new("py-cpu-processes", "processes_speedup", Check::OfCapacity(0.7),
                        "CPython's processes do: {workers} processes at least {threshold} faster (70% of this machine's capacity in the same rounds).")
                        .needs_python(),
                ],
            },
        ],
    }
}
