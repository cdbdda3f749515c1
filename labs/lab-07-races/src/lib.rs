//! Lab 07 — race conditions: updates lost between threads and between
//! processes, counted; their fixes, measured; and model checkers that find
//! the bug before it strikes.
//!
//! Read this file top to bottom like the chapter. The seed articles say that
//! threads "can run into race conditions" because they share memory, and
//! imply that processes, with memory of their own, cannot. A race needs
//! only two workers acting on one thing in several steps: threads sharing a
//! counter, processes sharing a mapping, a file, a stock. The code is sound
//! Rust — every access is atomic — and still wrong, because the race is in
//! the logic: read, then write.

pub mod exercises;
pub mod files;
pub mod model;
pub mod shared_memory;

use anyhow::Result;
use files::{Append, EVERY_WAY};
use labkit::child::fork_child;
use labkit::measured::Collector;
use labkit::timing::Variant;
use labkit::{Check, Claim, Context, Experiment, Lab, LabOption, Measured, Unit, opaque};
use shared_memory::SharedCounters;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;

// ANCHOR: shared_int
/// A whole number several workers can reach. The racing code below is
/// written against this trait so that the very same functions run on
/// threads, in memory shared by processes, and under the model checkers
/// (loom and shuttle bring atomics of their own).
pub trait SharedInt: Sync {
    /// Reads the value.
    fn load(&self) -> i64;
    /// Writes `value`.
    fn store(&self, value: i64);
    /// Adds `delta` in one indivisible step; returns the value before.
    fn fetch_add(&self, delta: i64) -> i64;
    /// Writes `new` only if the value is still `current`, in one step;
    /// `Err` holds the value found instead.
    fn compare_exchange(&self, current: i64, new: i64) -> Result<i64, i64>;
}
// ANCHOR_END: shared_int

impl SharedInt for AtomicI64 {
    fn load(&self) -> i64 {
        AtomicI64::load(self, Ordering::SeqCst)
    }
    fn store(&self, value: i64) {
        AtomicI64::store(self, value, Ordering::SeqCst)
    }
    fn fetch_add(&self, delta: i64) -> i64 {
        AtomicI64::fetch_add(self, delta, Ordering::SeqCst)
    }
    fn compare_exchange(&self, current: i64, new: i64) -> Result<i64, i64> {
        AtomicI64::compare_exchange(self, current, new, Ordering::SeqCst, Ordering::SeqCst)
    }
}

// ANCHOR: racy
/// Adds one in two steps: read, then write what was read plus one. A worker
/// that writes between the two has its update overwritten — lost. Returns
/// what it read.
pub fn add_one_racy(counter: &impl SharedInt) -> i64 {
    let seen = counter.load();
    counter.store(seen + 1);
    seen
}

/// Adds one in one indivisible step (`lock xadd` on x86): nothing can come
/// between the read and the write.
pub fn add_one_atomic(counter: &impl SharedInt) -> i64 {
    counter.fetch_add(1)
}
// ANCHOR_END: racy

// ANCHOR: workers
/// Runs `work(i)` for i in 0..workers on threads that start together.
pub fn in_threads(workers: usize, work: impl Fn(usize) + Sync) {
    let start = Barrier::new(workers);
    thread::scope(|s| {
        for i in 0..workers {
            let (start, work) = (&start, &work);
            s.spawn(move || {
                start.wait();
                work(i)
            });
        }
    });
}

/// Runs `work(i)` for i in 0..workers in forked children that start together
/// once all exist, and waits for every one. They share `shared`'s pages.
pub fn in_processes(shared: &SharedCounters, workers: usize, work: impl Fn(usize)) -> Result<()> {
    shared.go().store(false, Ordering::SeqCst);
    let children = (0..workers)
        .map(|i| {
            fork_child(|| {
                shared.wait_for_go();
                work(i);
                0
            })
        })
        .collect::<Result<Vec<_>>>()?; // on an error, the children forked are killed and reaped
    shared.go().store(true, Ordering::SeqCst);
    children
        .into_iter()
        .try_for_each(|child| child.wait_success())
}
// ANCHOR_END: workers

/// Racy increments on threads: how many of `workers × per_worker` were lost.
pub fn lost_in_threads(workers: usize, per_worker: u64) -> i64 {
    let counter = AtomicI64::new(0);
    in_threads(workers, |_| {
        (0..per_worker).for_each(|_| {
            add_one_racy(&counter);
        })
    });
    (workers as u64 * per_worker) as i64 - counter.load(Ordering::SeqCst)
}

/// Racy increments in processes sharing a mapping: how many were lost.
pub fn lost_in_processes(shared: &SharedCounters, workers: usize, per_worker: u64) -> Result<i64> {
    shared.reset();
    in_processes(shared, workers, |_| {
        (0..per_worker).for_each(|_| {
            add_one_racy(shared.counter());
        })
    })?;
    Ok((workers as u64 * per_worker) as i64 - shared.counter().load(Ordering::SeqCst))
}

/// Lost updates as a percentage of the updates made.
fn percent(lost: i64, workers: usize, per_worker: u64) -> f64 {
    100.0 * lost as f64 / (workers as u64 * per_worker) as f64
}

/// Worker counts swept, and increments per worker swept at two workers.
const SWEEP_WORKERS: [usize; 4] = [1, 2, 4, 8];
const SWEEP_INCREMENTS: [u64; 4] = [1_000, 10_000, 100_000, 1_000_000];

/// Lost updates against the number of workers and the increments each
/// makes, for threads and for processes (median of a few rounds each).
pub fn lost_updates(ctx: &Context) -> Result<Measured> {
    let shared = SharedCounters::new()?;
    let per_worker = ctx.option("increments");
    let rounds = ctx.pick(5, 3);
    let median = |f: &mut dyn FnMut() -> Result<f64>| -> Result<f64> {
        let samples = (0..rounds).map(|_| f()).collect::<Result<Vec<f64>>>()?;
        Ok(labkit::stats::Summary::of(&samples).map_or(0.0, |s| s.median))
    };
    let mut m = Measured::new();
    m.param("increments_per_worker", per_worker)
        .param("rounds", rounds);
    for workers in SWEEP_WORKERS {
        ctx.progress.step(format!("{workers} workers"));
        let threads = median(&mut || {
            Ok(percent(
                lost_in_threads(workers, per_worker),
                workers,
                per_worker,
            ))
        })?;
        let processes = median(&mut || {
            Ok(percent(
                lost_in_processes(&shared, workers, per_worker)?,
                workers,
                per_worker,
            ))
        })?;
        m.value(
            &format!("threads_lost_{workers}"),
            &format!("threads: updates lost, {workers} workers"),
            Unit::Percent,
            threads,
        )
        .at("threads", "workers", Unit::Count, workers as f64)
        .value(
            &format!("processes_lost_{workers}"),
            &format!("processes: updates lost, {workers} workers"),
            Unit::Percent,
            processes,
        )
        .at("processes", "workers", Unit::Count, workers as f64);
    }
    for increments in SWEEP_INCREMENTS {
        let threads = median(&mut || Ok(percent(lost_in_threads(2, increments), 2, increments)))?;
        m.value(
            &format!("threads_lost_at_{increments}"),
            &format!("2 threads of {increments} increments: updates lost"),
            Unit::Percent,
            threads,
        )
        .at(
            "2 threads",
            "increments per thread",
            Unit::Count,
            increments as f64,
        );
    }
    Ok(m)
}

// ANCHOR: fixes
/// Every thread takes the lock around its read-and-write.
pub fn count_with_mutex(workers: usize, per_worker: u64) -> i64 {
    let counter = Mutex::new(0i64);
    in_threads(workers, |_| {
        (0..per_worker).for_each(|_| *counter.lock().unwrap() += 1)
    });
    counter.into_inner().unwrap()
}

/// Every thread adds with one atomic instruction.
pub fn count_with_fetch_add(workers: usize, per_worker: u64) -> i64 {
    let counter = AtomicI64::new(0);
    in_threads(workers, |_| {
        (0..per_worker).for_each(|_| {
            add_one_atomic(&counter);
        })
    });
    counter.into_inner()
}

/// One thread owns the counter; the others send it their increments.
pub fn count_through_a_channel(workers: usize, per_worker: u64) -> i64 {
    let (send, receive) = crossbeam_channel::bounded::<i64>(1024);
    thread::scope(|s| {
        let owner = s.spawn(move || receive.iter().sum::<i64>());
        in_threads(workers, |_| {
            (0..per_worker).for_each(|_| send.send(1).expect("the owner lives"))
        });
        drop(send); // the owner's loop ends when the last sender is gone
        owner.join().expect("the owner does not panic")
    })
}

/// Every thread counts on its own; the counts are added once, at the end.
pub fn count_per_worker(workers: usize, per_worker: u64) -> i64 {
    let total = AtomicI64::new(0);
    in_threads(workers, |_| {
        let mut mine = 0u64;
        (0..per_worker).for_each(|_| mine = opaque(mine) + 1);
        total.fetch_add(mine as i64, Ordering::SeqCst);
    });
    total.into_inner()
}
// ANCHOR_END: fixes

/// The racy counter on threads, returning its count like the fixes.
pub fn count_racy(workers: usize, per_worker: u64) -> i64 {
    (workers as u64 * per_worker) as i64 - lost_in_threads(workers, per_worker)
}

/// A way to count on threads: (workers, increments each) → the count.
pub type CountOnThreads = fn(usize, u64) -> i64;

/// A way to sell one item from a stock.
pub type Sell = fn(&AtomicI64) -> bool;

/// How processes sharing a mapping can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessCount {
    /// Read, then write, in the shared counter.
    Racy,
    /// `fetch_add` on the shared counter.
    FetchAdd,
    /// Read and write under the process-shared lock.
    Locked,
    /// Each child in its own slot, summed by the parent.
    PerWorker,
}

/// Counts to `workers × per_worker` in processes, the way `how`.
pub fn count_in_processes(
    shared: &SharedCounters,
    how: ProcessCount,
    workers: usize,
    per_worker: u64,
) -> Result<i64> {
    shared.reset();
    let counter = shared.counter();
    in_processes(shared, workers, |i| {
        for _ in 0..per_worker {
            let _before = match how {
                ProcessCount::Racy => add_one_racy(counter),
                ProcessCount::FetchAdd => add_one_atomic(counter),
                ProcessCount::Locked => shared.locked(|| add_one_racy(counter)),
                ProcessCount::PerWorker => add_one_racy(shared.slot(i)),
            };
        }
    })?;
    Ok(match how {
        ProcessCount::PerWorker => shared.sum_of_slots(),
        _ => counter.load(Ordering::SeqCst),
    })
}

/// A count as a variant: runs `count`, records the updates it lost.
fn counting<'v>(
    name: &'v str,
    expected: i64,
    lost: &'v Collector,
    mut count: impl FnMut() -> Result<i64> + 'v,
) -> Variant<'v> {
    Variant::new(name, move || {
        lost.record(name, (expected - count()?) as f64);
        Ok(())
    })
}

/// Each fix against the racy counter, for correctness (updates lost) and
/// cost (time), interleaved, on threads and on processes.
pub fn fixes(ctx: &Context) -> Result<Measured> {
    let workers = ctx.workers;
    let n = ctx.option("increments");
    let expected = (workers as u64 * n) as i64;
    let shared = SharedCounters::new()?;
    let lost = Collector::new();
    let thread_ways: [(&str, CountOnThreads); 5] = [
        ("racy", count_racy),
        ("mutex", count_with_mutex),
        ("fetch_add", count_with_fetch_add),
        ("channel", count_through_a_channel),
        ("per_worker", count_per_worker),
    ];
    let process_ways = [
        ("p_racy", ProcessCount::Racy),
        ("p_fetch_add", ProcessCount::FetchAdd),
        ("p_lock", ProcessCount::Locked),
        ("p_per_worker", ProcessCount::PerWorker),
    ];
    let mut variants: Vec<Variant> = thread_ways
        .iter()
        .map(|&(name, count)| counting(name, expected, &lost, move || Ok(count(workers, n))))
        .collect();
    variants.extend(process_ways.iter().map(|&(name, how)| {
        let shared = &shared;
        counting(name, expected, &lost, move || {
            count_in_processes(shared, how, workers, n)
        })
    }));
    let rounds = ctx.pick(5, 3);
    let times = ctx.interleave(rounds, 1, &mut variants)?;
    drop(variants);
    lost.keep_last(rounds);
    let mut m = Measured::new();
    m.param("workers", workers)
        .param("increments_per_worker", n)
        .param("rounds", rounds);
    let labels = [
        ("racy", "threads: read, then write"),
        ("mutex", "threads: Mutex"),
        ("fetch_add", "threads: fetch_add"),
        ("channel", "threads: a channel to one owner"),
        ("per_worker", "threads: a count each, summed at the end"),
        ("p_racy", "processes: read, then write in shared memory"),
        ("p_fetch_add", "processes: fetch_add in shared memory"),
        ("p_lock", "processes: a process-shared pthread mutex"),
        ("p_per_worker", "processes: a slot each, summed at the end"),
    ];
    for (name, label) in labels {
        m.seconds(&times, name, &format!("{name}_s"), label).bar();
    }
    for (name, label) in labels {
        m.summary(
            &format!("{name}_lost"),
            &format!("{label}: updates lost"),
            Unit::Count,
            lost.summary(name),
        );
    }
    let fixes_lost = |names: &[&str]| {
        names
            .iter()
            .map(|n| lost.summary(n).max)
            .fold(0.0, f64::max)
    };
    m.value(
        "thread_fixes_lost",
        "most updates any thread fix lost in a round",
        Unit::Count,
        fixes_lost(&["mutex", "fetch_add", "channel", "per_worker"]),
    )
    .value(
        "process_fixes_lost",
        "most updates any process fix lost in a round",
        Unit::Count,
        fixes_lost(&["p_fetch_add", "p_lock", "p_per_worker"]),
    )
    .speedup(
        &times,
        "mutex",
        "fetch_add",
        "fetch_add_vs_mutex",
        "Mutex's time ÷ fetch_add's",
    )
    .speedup(
        &times,
        "mutex",
        "per_worker",
        "per_worker_vs_mutex",
        "Mutex's time ÷ a count per thread's",
    )
    .speedup(
        &times,
        "p_lock",
        "p_fetch_add",
        "p_fetch_add_vs_lock",
        "processes: the lock's time ÷ fetch_add's",
    );
    Ok(m)
}

// ANCHOR: sell
/// Sells one item if the stock shows one. Between the check and the sale,
/// another buyer can take the last item, and the stock goes below zero.
pub fn sell_racy(stock: &impl SharedInt) -> bool {
    if stock.load() > 0 {
        take_payment(); // the moment the check goes stale
        stock.fetch_add(-1);
        true
    } else {
        false
    }
}

/// Takes the item first — only if the stock is still what was seen — and
/// takes the payment after. A stale check fails and is made again.
pub fn sell_checked(stock: &impl SharedInt) -> bool {
    let mut seen = stock.load();
    while seen > 0 {
        match stock.compare_exchange(seen, seen - 1) {
            Ok(_) => {
                take_payment();
                return true;
            }
            Err(now) => seen = now,
        }
    }
    false
}
// ANCHOR_END: sell

/// A little work between deciding and acting, as a real sale has.
fn take_payment() {
    (0..200u64).fold(0, |sum, i| opaque(sum + i));
}

/// Items in stock at the start of every round of the check-then-act experiment.
pub const STOCK: i64 = 100;

/// One round: `workers` buyers on threads sell until the stock looks empty.
/// Returns the stock left (below zero: oversold).
pub fn sell_out_in_threads(workers: usize, sell: Sell) -> i64 {
    let stock = AtomicI64::new(STOCK);
    in_threads(workers, |_| while sell(&stock) {});
    stock.into_inner()
}

/// The same with buyers in processes, the stock in shared memory.
pub fn sell_out_in_processes(shared: &SharedCounters, workers: usize, sell: Sell) -> Result<i64> {
    shared.reset();
    shared.counter().store(STOCK, Ordering::SeqCst);
    in_processes(shared, workers, |_| while sell(shared.counter()) {})?;
    Ok(shared.counter().load(Ordering::SeqCst))
}

/// Check-then-act: many short rounds of selling out a stock, racy and
/// checked, on threads and on processes; rounds that oversold, counted.
pub fn check_then_act(ctx: &Context) -> Result<Measured> {
    let workers = ctx.workers;
    let rounds = ctx.pick(300, 100);
    let shared = SharedCounters::new()?;
    let mut m = Measured::new();
    m.param("workers", workers)
        .param("rounds", rounds)
        .param("stock", STOCK);
    let ways: [(&str, &str, Sell); 2] = [
        ("racy", "check, pay, then take", sell_racy),
        ("checked", "take if unchanged, then pay", sell_checked),
    ];
    for (name, label, sell) in ways {
        let mut in_threads = Vec::new();
        let mut in_procs = Vec::new();
        for _ in 0..rounds {
            in_threads.push(sell_out_in_threads(workers, sell));
            in_procs.push(sell_out_in_processes(&shared, workers, sell)?);
        }
        for (kind, left) in [("threads", &in_threads), ("processes", &in_procs)] {
            let oversold = left.iter().filter(|&&l| l < 0).count();
            m.value(
                &format!("{kind}_{name}_oversold_rounds"),
                &format!("{kind}, {label}: rounds that sold more than the stock (of {rounds})"),
                Unit::Count,
                oversold as f64,
            )
            .bar()
            .value(
                &format!("{kind}_{name}_lowest"),
                &format!("{kind}, {label}: lowest stock left"),
                Unit::Count,
                left.iter().copied().min().unwrap_or(0) as f64,
            );
        }
    }
    Ok(m)
}

/// A log file in the temporary directory, removed when dropped.
struct TempLog(std::path::PathBuf);

impl TempLog {
    fn new(name: &str) -> Result<TempLog> {
        let path = std::env::temp_dir().join(format!("lab-07-{}-{name}.log", std::process::id()));
        std::fs::write(&path, b"")?;
        Ok(TempLog(path))
    }
}

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One round: `workers` processes each add `lines` lines to one new file the
/// way `how`. Returns (lines missing, lines torn).
pub fn write_log(
    shared: &SharedCounters,
    how: Append,
    workers: usize,
    lines: usize,
) -> Result<(usize, usize)> {
    let log = TempLog::new(how.name())?;
    in_processes(shared, workers, |i| {
        files::append_lines(&log.0, i, lines, how).expect("the log can be written");
    })?;
    let contents = std::fs::read(&log.0)?;
    Ok(files::count_damage(&contents, workers, lines))
}

/// A race on a file: processes appending lines by seek-then-write, with
/// `O_APPEND` and under `flock`; lines lost or torn, and the time each takes.
pub fn file_race(ctx: &Context) -> Result<Measured> {
    let workers = ctx.workers;
    let lines = ctx.pick(4000, 2000);
    let shared = SharedCounters::new()?;
    let damage = Collector::new();
    let mut variants: Vec<Variant> = EVERY_WAY
        .iter()
        .map(|&how| {
            let (shared, damage) = (&shared, &damage);
            Variant::new(how.name(), move || {
                let (missing, torn) = write_log(shared, how, workers, lines)?;
                damage.record(&format!("{}_missing", how.name()), missing as f64);
                damage.record(&format!("{}_torn", how.name()), torn as f64);
                Ok(())
            })
        })
        .collect();
    let rounds = ctx.pick(5, 3);
    let times = ctx.interleave(rounds, 0, &mut variants)?;
    drop(variants);
    damage.keep_last(rounds);
    let mut m = Measured::new();
    m.param("workers", workers)
        .param("lines_per_worker", lines)
        .param("rounds", rounds);
    for (how, label) in [
        (Append::SeekThenWrite, "seek to the end, then write"),
        (Append::OAppend, "O_APPEND"),
        (Append::Flock, "flock around seek and write"),
    ] {
        let name = how.name();
        m.summary(
            &format!("{name}_missing"),
            &format!("{label}: lines missing"),
            Unit::Count,
            damage.summary(&format!("{name}_missing")),
        )
        .bar()
        .summary(
            &format!("{name}_torn"),
            &format!("{label}: lines torn"),
            Unit::Count,
            damage.summary(&format!("{name}_torn")),
        )
        .seconds(
            &times,
            name,
            &format!("{name}_s"),
            &format!("{label}: time"),
        );
    }
    Ok(m)
}

/// Finding the race before it strikes: two threads adding one each, run for
/// real many times, then under shuttle's random and PCT schedulers.
pub fn model_check(ctx: &Context) -> Result<Measured> {
    let runs = ctx.pick(2000, 500);
    let shared = SharedCounters::new()?;
    let lost_runs = (0..runs).filter(|_| lost_in_threads(2, 1) > 0).count();
    let found = model::schedules_to_find_the_race(&shared, model::SEEDS)?;
    let mut m = Measured::new();
    m.param("real_runs", runs)
        .param("seeds", model::SEEDS)
        .param("schedules_per_seed", model::SCHEDULES);
    m.value(
        "real_lost_percent",
        "real runs of 2 threads × 1 increment that lost an update",
        Unit::Percent,
        100.0 * lost_runs as f64 / runs as f64,
    )
    .value(
        "real_lost_runs",
        &format!("real runs that lost an update (of {runs})"),
        Unit::Count,
        lost_runs as f64,
    )
    .summary(
        "random_schedules",
        "shuttle, random scheduler: schedules until the lost update",
        Unit::Count,
        found.random,
    )
    .summary(
        "pct_schedules",
        "shuttle, PCT scheduler: schedules until the lost update",
        Unit::Count,
        found.pct,
    )
    .value(
        "fixed_failures",
        &format!(
            "fetch_add under shuttle: failing schedules (of {})",
            model::SCHEDULES
        ),
        Unit::Count,
        found.fixed_failures as f64,
    );
    Ok(m)
}

/// CPython side by side: `counter += 1` on threads (and with a call between
/// the read and the write), and `multiprocessing.Value` without and with its
/// lock between processes.
pub fn cpython(ctx: &Context) -> Result<Measured> {
    let Some(python) = ctx.python else {
        return Ok(Measured::skipped("python3 not found"));
    };
    let script = ctx.python_script("races.py");
    let n = ctx.pick(1_000_000, 500_000);
    let json = python.run_json(
        &script,
        &[format!("--increments={n}")],
        labkit::python::SCRIPT_LIMIT,
    )?;
    let lost_percent = |key: &str| -> Result<f64> {
        let (lost, made) = (json[key]["lost"].as_f64(), json[key]["made"].as_f64());
        match (lost, made) {
            (Some(lost), Some(made)) if made > 0.0 => Ok(100.0 * lost / made),
            _ => anyhow::bail!("races.py printed no counts for {key:?}: {json}"),
        }
    };
    let mut m = Measured::new();
    m.param("python", python.version.clone())
        .param("increments_per_worker", n)
        .param("workers", 2);
    let rows = [
        ("plus_equals", "threads: counter += 1"),
        ("read_call_write", "threads: read, call a function, write"),
        ("value_no_lock", "processes: Value.value += 1"),
        (
            "value_locked",
            "processes: with Value.get_lock(): Value.value += 1",
        ),
    ];
    for (key, label) in rows {
        m.value(
            &format!("py_{key}_lost"),
            &format!("CPython {label}: updates lost"),
            Unit::Percent,
            lost_percent(key)?,
        )
        .bar();
    }
    Ok(m)
}

/// The lab: its options, its experiments and the claims each one checks.
pub fn lab() -> Lab {
    Lab {
        id: "lab-07",
        title: "Race conditions",
        source_dir: env!("CARGO_MANIFEST_DIR"),
        options: vec![LabOption {
            name: "increments",
            help: "Increments per worker when counting",
            default: 1_000_000,
            min: 1_000,
            max: 10_000_000,
        }],
        experiments: vec![
            Experiment {
                name: "lost_updates",
                title: "Lost updates: read-then-write on threads and on processes",
                run: lost_updates,
                claims: vec![
                    Claim::new("threads-lose", "threads_lost_2", Check::AtLeast(LOST_PERCENT),
                        "Two threads adding one by read-then-write lose at least {threshold} of their updates.")
                        .needs_cores(2),
                    Claim::new("processes-lose", "processes_lost_2", Check::AtLeast(LOST_PERCENT),
                        "So do two processes sharing the counter in a mapping: at least {threshold} lost.")
                        .needs_cores(2),
                ],
            },
            Experiment {
                name: "fixes",
                title: "The fixes: correct, and what each costs",
                run: fixes,
                claims: vec![
                    Claim::demonstration("thread-fixes-exact", "thread_fixes_lost", Check::AtMost(0.0),
                        "Mutex, fetch_add, a channel to one owner and a count per thread lose no update."),
                    Claim::demonstration("process-fixes-exact", "process_fixes_lost", Check::AtMost(0.0),
                        "fetch_add in shared memory, a process-shared mutex and a slot per process lose no update."),
                    Claim::new("per-worker-cheapest", "per_worker_vs_mutex", Check::AtLeast(PER_WORKER_VS_MUTEX),
                        "Counting on its own and adding once is at least {threshold} faster than taking a shared Mutex for every increment."),
                ],
            },
            Experiment {
                name: "check_then_act",
                title: "Check-then-act: a stock that goes below zero",
                run: check_then_act,
                claims: vec![
                    Claim::new("threads-oversell", "threads_racy_oversold_rounds", Check::AtLeast(1.0),
                        "Buyers on threads that check, pay, then take oversold the stock in at least {threshold} round.")
                        .needs_cores(2),
                    Claim::new("processes-oversell", "processes_racy_oversold_rounds", Check::AtLeast(1.0),
                        "So did buyers in processes sharing the stock: at least {threshold} round.")
                        .needs_cores(2),
                    Claim::demonstration("checked-never-oversells", "threads_checked_oversold_rounds", Check::AtMost(0.0),
                        "Taking the item only if the stock is unchanged (compare_exchange) never oversells."),
                ],
            },
            Experiment {
                name: "file_race",
                title: "A race on a file between processes",
                run: file_race,
                claims: vec![
                    Claim::new("seek-write-loses", "seek_write_missing", Check::AtLeast(1.0),
                        "Processes that seek to the end and then write lose at least {threshold} line (the median of the rounds).")
                        .needs_cores(2),
                    Claim::demonstration("append-keeps-all", "o_append_missing", Check::AtMost(0.0),
                        "With O_APPEND no line is lost."),
                    Claim::demonstration("flock-keeps-all", "flock_missing", Check::AtMost(0.0),
                        "With flock around the seek and the write, no line is lost."),
                ],
            },
            Experiment {
                name: "model_check",
                title: "Finding the race before it strikes: real runs against a model checker",
                run: model_check,
                claims: vec![
                    Claim::new("real-runs-miss", "real_lost_percent", Check::AtMost(REAL_RUNS_FIND),
                        "Run for real, two threads adding one each lose an update in at most {threshold} of the runs: a test that runs them misses the bug."),
                    Claim::demonstration("shuttle-finds", "random_schedules", Check::AtMost(10.0),
                        "Shuttle's random scheduler finds the lost update within {threshold} schedules (median over seeds)."),
                    Claim::demonstration("shuttle-passes-fix", "fixed_failures", Check::AtMost(0.0),
                        "With fetch_add, every schedule shuttle tries keeps both updates."),
                ],
            },
            Experiment {
                name: "cpython",
                title: "CPython: counter += 1 on threads, multiprocessing.Value on processes",
                run: cpython,
                claims: vec![
                    Claim::new("py-call-between-loses", "py_read_call_write_lost", Check::AtLeast(PY_LOST_PERCENT),
                        "CPython threads that read, call a function, then write lose at least {threshold} of their updates: the GIL makes each bytecode atomic, not a read and a write.")
                        .needs_python(),
                    Claim::new("py-value-loses", "py_value_no_lock_lost", Check::AtLeast(PY_LOST_PERCENT),
                        "Two processes doing `v.value += 1` on a multiprocessing.Value lose at least {threshold} of their updates: the Value's lock is taken for the read and again for the write, not around both.")
                        .needs_python()
                        .needs_cores(2),
                    Claim::demonstration("py-value-locked", "py_value_locked_lost", Check::AtMost(0.0),
                        "With `with v.get_lock():` around the `+=`, none is lost.")
                        .needs_python(),
                ],
            },
        ],
    }
}

// Thresholds, each set from the spread of repeated quick and full runs on a
// 2-vCPU VM, with room for the other kinds of host.

/// Percent of racy updates two workers lose.
const LOST_PERCENT: f64 = 1.0;
/// Mutex time ÷ per-worker time.
const PER_WORKER_VS_MUTEX: f64 = 5.0;
/// Percent of real two-thread runs that lose an update.
const REAL_RUNS_FIND: f64 = 5.0;
/// Percent of CPython's racy updates lost.
const PY_LOST_PERCENT: f64 = 0.1;
