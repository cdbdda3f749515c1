//! Lab 08 — deadlocks: threads that wait for each other forever, and
//! processes that do too.
//!
//! Read this file top to bottom like the chapter. The seed articles warn that
//! threads "can run into deadlocks" and imply that processes, sharing
//! nothing, are safe. This lab deadlocks threads on two locks taken in
//! opposite orders and at the dining philosophers' table, and fixes them
//! three ways; makes two threads join each other; then deadlocks processes
//! with nothing but pipes and `wait`, and CPython's `multiprocessing` with a
//! queue. Nothing here hangs: every demo has a deadline, a watchdog that says
//! who waits for what (the lab's own wait-for graph, `parking_lot`'s deadlock
//! detector, `/proc`), and a recovery that ends and reaps what is stuck.

pub mod deadline;
pub mod exercises;
pub mod philosophers;
pub mod pipes;
pub mod tracked;
pub mod watchdog;

use anyhow::{Result, bail, ensure};
use labkit::child::fork_child;
use labkit::timing::Variant;
use labkit::{Check, Claim, Collector, Context, Experiment, Lab, LabOption, Measured, Unit};
use philosophers::{Dinner, Rule, SEATS, TIMING, dinner};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};
use tracked::{Deadlock, TrackedMutex, WaitForGraph};

/// Spins for `work`: CPU work, not a sleep, so that two threads really run
/// at the same time.
pub fn spin_for(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

// ANCHOR: move_one
/// One thread's transfer: lock `from`, work a little, lock `to`, move a unit.
pub fn move_one(
    from: &TrackedMutex<i64>,
    to: &TrackedMutex<i64>,
    work: Duration,
) -> Result<(), Deadlock> {
    let mut from_balance = from.lock()?;
    spin_for(work); // a little work between the two locks
    let mut to_balance = to.lock()?;
    *from_balance -= 1;
    *to_balance += 1;
    Ok(())
}
// ANCHOR_END: move_one

// ANCHOR: move_one_in_order
/// The fix: take the two locks in one global order (their rank), whichever
/// way the unit moves.
pub fn move_one_in_order(
    from: &TrackedMutex<i64>,
    to: &TrackedMutex<i64>,
    work: Duration,
) -> Result<(), Deadlock> {
    let from_first = from.rank() < to.rank();
    let (first, second) = if from_first { (from, to) } else { (to, from) };
    let mut first = first.lock()?;
    spin_for(work);
    let mut second = second.lock()?;
    let (from_balance, to_balance) = if from_first {
        (&mut *first, &mut *second)
    } else {
        (&mut *second, &mut *first)
    };
    *from_balance -= 1;
    *to_balance += 1;
    Ok(())
}
// ANCHOR_END: move_one_in_order

/// A transfer: [`move_one`] or [`move_one_in_order`].
pub type Transfer = fn(&TrackedMutex<i64>, &TrackedMutex<i64>, Duration) -> Result<(), Deadlock>;

// ANCHOR: opposite
/// Two threads start at once: "left" moves a unit from A to B, "right" from
/// B to A. Returns the deadlock one of them found, if any.
pub fn opposite_transfers(transfer: Transfer, work: Duration) -> Option<Deadlock> {
    let graph = WaitForGraph::new();
    let (a, b) = (
        TrackedMutex::new("A", 100, &graph),
        TrackedMutex::new("B", 100, &graph),
    );
    let start_together = Barrier::new(2);
    let deadlock = thread::scope(|scope| {
        let run = |name: &str, from, to| {
            let start_together = &start_together;
            thread::Builder::new()
                .name(name.into())
                .spawn_scoped(scope, move || {
                    start_together.wait();
                    transfer(from, to, work)
                })
                .expect("a thread starts")
        };
        let threads = [run("left", &a, &b), run("right", &b, &a)];
        let results = threads.map(|t| t.join().expect("no panic"));
        results.into_iter().find_map(Result::err)
    });
    // A transfer that gave up changed nothing: no unit is lost or made.
    assert_eq!(*a.lock().unwrap() + *b.lock().unwrap(), 200);
    deadlock
}
// ANCHOR_END: opposite

// ANCHOR: hanging
/// The same transfer on plain `parking_lot` locks, which wait forever.
#[inline(never)]
pub fn move_one_blocking(
    from: &parking_lot::Mutex<i64>,
    to: &parking_lot::Mutex<i64>,
    both_hold_one: &Barrier,
) {
    let mut from_balance = from.lock();
    both_hold_one.wait(); // the unlucky timing, every time
    let mut to_balance = to.lock(); // never returns
    *from_balance -= 1;
    *to_balance += 1;
}

/// Starts "left" (A then B) and "right" (B then A) on blocking locks, for a
/// watchdog to find (see `watchdog::find_deadlock_in_child`).
pub fn hanging_transfers() -> Vec<Thread> {
    let a = Arc::new(parking_lot::Mutex::new(100));
    let b = Arc::new(parking_lot::Mutex::new(100));
    let both_hold_one = Arc::new(Barrier::new(2));
    let run = |name: &str, from: &Arc<_>, to: &Arc<_>| {
        let (from, to, barrier) = (Arc::clone(from), Arc::clone(to), Arc::clone(&both_hold_one));
        start_thread(name, move || move_one_blocking(&from, &to, &barrier))
    };
    vec![run("left", &a, &b), run("right", &b, &a)]
}
// ANCHOR_END: hanging

/// Starts a named thread that is never joined (it may never end) and
/// returns its handle's `Thread`.
fn start_thread(name: &str, work: impl FnOnce() + Send + 'static) -> Thread {
    thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .expect("a thread starts")
        .thread()
        .clone()
}

/// How long a watchdog gives a demo before it concludes it is stuck.
fn watchdog_limit(ctx: &Context) -> Duration {
    Duration::from_millis(ctx.pick(500, 300))
}

/// Lock order: how often two threads taking two locks in opposite orders
/// deadlock, against the same transfers in one global order; and the
/// blocking version found by `parking_lot`'s detector in a child.
pub fn lock_order(ctx: &Context) -> Result<Measured> {
    let attempts = ctx.pick(400, 150);
    let work = Duration::from_micros(ctx.option("work-us"));
    let short = work / SHORTER;
    // (transfer, work between the locks): each attempt runs all three, in
    // an order that turns from attempt to attempt, as interleaved rounds do.
    let variants: [(Transfer, Duration); 3] = [
        (move_one, work),
        (move_one, short),
        (move_one_in_order, work),
    ];
    let mut deadlocks = [0u32; 3];
    let mut example = None;
    for attempt in 0..attempts {
        ctx.progress
            .step(format!("attempt {}/{attempts}", attempt + 1));
        for offset in 0..variants.len() {
            let v = (attempt + offset) % variants.len();
            let (transfer, work) = variants[v];
            if let Some(deadlock) = opposite_transfers(transfer, work) {
                deadlocks[v] += 1;
                example.get_or_insert(deadlock);
            }
        }
    }
    let [unordered, unordered_short, ordered] = deadlocks;
    let mut m = Measured::new();
    m.param("attempts", attempts)
        .param("work_us", work.as_micros() as u64)
        .param("short_work_us", short.as_micros() as u64);
    m.value(
        "unordered_deadlocks",
        "opposite lock orders: attempts that deadlocked",
        Unit::Count,
        f64::from(unordered),
    )
    .bar()
    .value(
        "unordered_short_deadlocks",
        "opposite lock orders, a twentieth of the work between: attempts that deadlocked",
        Unit::Count,
        f64::from(unordered_short),
    )
    .bar()
    .value(
        "ordered_deadlocks",
        "one global lock order: attempts that deadlocked",
        Unit::Count,
        f64::from(ordered),
    )
    .bar();
    if let Some(deadlock) = &example {
        ctx.progress.note(&format!("lock_order: {deadlock}"));
        m.param("graph_report", deadlock.to_string());
    }
    record_parking_lot(ctx, &mut m, "", hanging_transfers)?;
    Ok(m)
}

/// Runs `demo` in a child watched by `parking_lot`'s detector and records
/// what it found under `prefix`.
fn record_parking_lot(
    ctx: &Context,
    m: &mut Measured,
    prefix: &str,
    demo: fn() -> Vec<Thread>,
) -> Result<()> {
    let found = watchdog::find_deadlock_in_child(demo, Duration::from_secs(5))?;
    let Some(diagnosis) = found else {
        bail!("parking_lot's detector found no deadlock in a demo built to deadlock");
    };
    ctx.progress.note(&format!(
        "parking_lot found {} cycle(s): {}",
        diagnosis.cycles,
        diagnosis.threads.join("; ")
    ));
    m.value(
        &format!("{prefix}parking_lot_threads"),
        "threads in the cycle parking_lot::deadlock::check_deadlock() found",
        Unit::Count,
        diagnosis.threads.len() as f64,
    )
    .value(
        &format!("{prefix}parking_lot_found_after"),
        "until the watchdog in the child saw it",
        Unit::Seconds,
        diagnosis.found_after,
    )
    .param(
        &format!("{prefix}parking_lot_report"),
        diagnosis.threads.join("; "),
    );
    Ok(())
}

// ANCHOR: hanging_philosophers
/// Five philosophers on blocking `parking_lot` forks, the naive way; a
/// barrier makes sure each holds their left fork before reaching right.
pub fn hanging_philosophers() -> Vec<Thread> {
    let forks: Arc<Vec<parking_lot::Mutex<()>>> =
        Arc::new((0..SEATS).map(|_| parking_lot::Mutex::new(())).collect());
    let all_hold_left = Arc::new(Barrier::new(SEATS));
    (0..SEATS)
        .map(|seat| {
            let (forks, barrier) = (Arc::clone(&forks), Arc::clone(&all_hold_left));
            start_thread(&format!("philosopher {seat}"), move || {
                naive_blocking_meal(&forks, seat, &barrier)
            })
        })
        .collect()
}

/// Left fork, then right, on locks that wait forever.
#[inline(never)]
pub fn naive_blocking_meal(forks: &[parking_lot::Mutex<()>], seat: usize, all_hold_left: &Barrier) {
    let _left = forks[seat].lock();
    all_hold_left.wait();
    let _right = forks[(seat + 1) % forks.len()].lock(); // never returns
}
// ANCHOR_END: hanging_philosophers

/// The fixes measured against each other, in the order of the chapter.
const FIXES: [(&str, Rule); 3] = [
    ("ordered", Rule::GlobalOrder),
    ("waiter", Rule::Waiter),
    ("backoff", Rule::Backoff),
];

/// Records one dinner's numbers under `name` in `dinners`.
fn record(dinners: &Collector, name: &str, dinner: &Dinner) {
    dinners.record(&format!("{name}_meals_per_s"), dinner.meals_per_second());
    dinners.record(&format!("{name}_fairness"), dinner.fairness());
    dinners.record(
        &format!("{name}_deadlocked"),
        f64::from(u8::from(dinner.deadlock.is_some())),
    );
    dinners.record(&format!("{name}_seconds"), dinner.seconds);
}

/// The dining philosophers: the naive table until it deadlocks (found by the
/// wait-for graph), and the three fixes for a fixed time each, interleaved
/// round by round: meals per second and fairness. Then the naive table on
/// blocking locks in a child, found by `parking_lot`.
pub fn philosophers(ctx: &Context) -> Result<Measured> {
    let duration = Duration::from_millis(ctx.pick(400, 200));
    let rounds = ctx.pick(7, 3);
    let dinners = Collector::new();
    let example = std::cell::RefCell::new(None);
    let mut variants = vec![Variant::new("naive", || {
        let naive = dinner(SEATS, Rule::Naive, duration, TIMING);
        record(&dinners, "naive", &naive);
        if let Some(deadlock) = naive.deadlock {
            example.borrow_mut().get_or_insert(deadlock);
        }
        Ok(())
    })];
    for (name, rule) in FIXES {
        let dinners = &dinners;
        variants.push(Variant::new(name, move || {
            let fixed = dinner(SEATS, rule, duration, TIMING);
            ensure!(
                fixed.deadlock.is_none(),
                "{name} deadlocked: {:?}",
                fixed.deadlock
            );
            record(dinners, name, &fixed);
            Ok(())
        }));
    }
    ctx.interleave(rounds, 0, &mut variants)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("rounds", rounds)
        .param("seats", SEATS)
        .param("duration_ms", duration.as_millis() as u64)
        .param("eat_us", TIMING.eat.as_micros() as u64)
        .param("think_us", TIMING.think.as_micros() as u64)
        .param("reach_us", TIMING.reach.as_micros() as u64);
    let sum = |name: &str| dinners.values(name).iter().sum::<f64>();
    m.value(
        "naive_deadlocks",
        "naive table (left, then right): rounds that deadlocked",
        Unit::Count,
        sum("naive_deadlocked"),
    )
    .summary(
        "naive_seconds",
        "naive table: time until the deadlock (or the end of the round)",
        Unit::Seconds,
        dinners.summary("naive_seconds"),
    )
    .summary(
        "naive_meals_per_s",
        "naive table: meals per second until the deadlock",
        Unit::Count,
        dinners.summary("naive_meals_per_s"),
    );
    if let Some(deadlock) = example.into_inner() {
        ctx.progress.note(&format!("philosophers: {deadlock}"));
        m.param("graph_report", deadlock.to_string());
    }
    let fixes_deadlocked: f64 = FIXES
        .iter()
        .map(|(name, _)| sum(&format!("{name}_deadlocked")))
        .sum();
    m.value(
        "fixes_deadlocks",
        "the three fixes: rounds that deadlocked",
        Unit::Count,
        fixes_deadlocked,
    );
    for (name, _) in FIXES {
        m.summary(
            &format!("{name}_meals_per_s"),
            &format!("{name}: meals per second (all seats)"),
            Unit::Count,
            dinners.summary(&format!("{name}_meals_per_s")),
        )
        .bar();
    }
    for (name, _) in FIXES {
        m.summary(
            &format!("{name}_fairness"),
            &format!("{name}: fewest ÷ most meals at one seat"),
            Unit::Times,
            dinners.summary(&format!("{name}_fairness")),
        );
    }
    let per_round = |a: &str, b: &str| {
        labkit::measured::per_round_ratio(&dinners.values(a), &dinners.values(b))
    };
    m.summary(
        "waiter_vs_ordered",
        "meals per second: waiter ÷ global order, round by round",
        Unit::Times,
        per_round("waiter_meals_per_s", "ordered_meals_per_s"),
    )
    .summary(
        "backoff_vs_ordered",
        "meals per second: try_lock with back-off ÷ global order, round by round",
        Unit::Times,
        per_round("backoff_meals_per_s", "ordered_meals_per_s"),
    )
    .summary(
        "waiter_vs_ordered_fairness",
        "fairness: waiter ÷ global order, round by round",
        Unit::Times,
        per_round("waiter_fairness", "ordered_fairness"),
    );
    record_parking_lot(ctx, &mut m, "", hanging_philosophers)?;
    Ok(m)
}

// ANCHOR: join_cycle
/// `joiners` threads, each joining the next: with two, "joiner 0" waits for
/// "joiner 1" to end, which waits for "joiner 0". Each gets the handle it
/// joins through a channel, since that thread did not exist when it started.
pub fn join_cycle(joiners: usize) {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..joiners)
        .map(|_| mpsc::channel::<thread::JoinHandle<()>>())
        .unzip();
    let mut handles = Vec::new();
    for (i, handles_to_join) in receivers.into_iter().enumerate() {
        let handle = thread::Builder::new()
            .name(format!("joiner {i}"))
            .spawn(move || {
                if let Ok(next) = handles_to_join.recv() {
                    let _ = next.join(); // waits for the next joiner to end
                }
            })
            .expect("a thread starts");
        handles.push(handle);
    }
    // Joiner i gets the handle of joiner i + 1 (the last one, joiner 0's).
    handles.rotate_left(1);
    for (sender, handle) in senders.iter().zip(handles) {
        let _ = sender.send(handle);
    }
}
// ANCHOR_END: join_cycle

/// What became of a join cycle run in a child for `limit`.
#[derive(Debug, Clone)]
pub struct JoinCycle {
    /// Whether the child's threads all ended (its main thread then exits).
    pub ended: bool,
    /// The joiners still there at the deadline, as the kernel shows them.
    pub stuck: Vec<watchdog::Sleeping>,
}

/// Runs [`join_cycle`] in a child whose main thread waits for the joiners
/// (and exits when they are gone); after `limit`, looks at its threads in
/// `/proc`, then kills and reaps it.
pub fn watch_join_cycle(joiners: usize, limit: Duration) -> Result<JoinCycle> {
    let child = fork_child(|| {
        join_cycle(joiners);
        // The main thread cannot join them (they own each other's handles):
        // it waits while any joiner is alive, 30 s at most.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if watchdog::threads_of(std::process::id() as i32).len() == 1 {
                return 0;
            }
            thread::sleep(Duration::from_millis(5));
        }
        1
    })?;
    let ended = pipes::ended_within(&child, limit);
    let stuck = watchdog::threads_of(child.pid().as_raw())
        .into_iter()
        .filter(|t| t.name.starts_with("joiner"))
        .collect();
    watchdog::finish(child);
    Ok(JoinCycle { ended, stuck })
}

/// A join cycle: two threads each joining the other never end; `/proc`
/// shows where they sleep.
pub fn joins(ctx: &Context) -> Result<Measured> {
    let limit = watchdog_limit(ctx);
    let cycle = watch_join_cycle(2, limit)?;
    let in_futex = cycle
        .stuck
        .iter()
        .filter(|t| t.wchan.contains("futex"))
        .count();
    for thread in &cycle.stuck {
        ctx.progress.note(&format!("joins: {thread}"));
    }
    let mut m = Measured::new();
    m.param("limit_ms", limit.as_millis() as u64);
    m.flag(
        "join_cycle_stuck",
        "two threads joining each other: both still there at the deadline",
        !cycle.ended && cycle.stuck.len() == 2,
    )
    .value(
        "join_cycle_in_futex",
        "of them, sleeping in a futex wait (/proc/PID/task/TID/wchan)",
        Unit::Count,
        in_futex as f64,
    );
    if let Some(first) = cycle.stuck.first() {
        m.param("wchan", first.wchan.clone());
    }
    Ok(m)
}

/// Deadlocks between processes: a full pipe, and a write end left open;
/// each watched from outside, diagnosed in `/proc`, recovered, and fixed.
pub fn processes(ctx: &Context) -> Result<Measured> {
    let limit = watchdog_limit(ctx);
    let capacity = pipes::pipe_capacity()?;
    let bytes = 4 * capacity;
    let stuck = pipes::full_pipe(pipes::wait_then_read, bytes, limit)?;
    let fixed = pipes::full_pipe(pipes::read_then_wait, bytes, limit)?;
    for process in &stuck.stuck {
        ctx.progress.note(&format!("full pipe: {process}"));
    }
    let mut m = Measured::new();
    m.param("limit_ms", limit.as_millis() as u64)
        .param("bytes", bytes as u64);
    m.value(
        "pipe_capacity",
        "a pipe takes this much before its writer blocks",
        Unit::Bytes,
        capacity as f64,
    )
    .flag(
        "wait_then_read_stuck",
        "wait for the child, then read: stuck at the deadline",
        !stuck.finished,
    )
    .flag(
        "read_then_wait_finished",
        "read, then wait for the child: finished by itself",
        fixed.finished,
    )
    .value(
        "read_then_wait_s",
        "read, then wait: time to finish",
        Unit::Seconds,
        fixed.seconds,
    );
    let wchan_of = |who: usize| stuck.stuck.get(who).map(|p| p.wchan.clone());
    if let (Some(parent), Some(child)) = (wchan_of(0), wchan_of(1)) {
        m.param("parent_wchan", parent).param("child_wchan", child);
    }
    let (open, holders) = pipes::open_write_end(false, limit)?;
    let (closed, _) = pipes::open_write_end(true, limit)?;
    for line in open
        .stuck
        .iter()
        .map(ToString::to_string)
        .chain(holders.clone())
    {
        ctx.progress.note(&format!("open write end: {line}"));
    }
    m.flag(
        "open_end_stuck",
        "a logger kept the write end: the reader stuck at the deadline",
        !open.finished,
    )
    .flag(
        "open_end_holder_found",
        "/proc named the logger as holding the write end",
        holders.iter().any(|h| h.starts_with("the logger")),
    )
    .flag(
        "closed_ends_finished",
        "the logger closed the ends it does not use: the reader finished",
        closed.finished,
    );
    if let Some(reader) = open.stuck.first() {
        m.param("reader_wchan", reader.wchan.clone());
    }
    if let Some(holder) = holders.first() {
        m.param("holder", holder.clone());
    }
    Ok(m)
}

/// CPython's documented `multiprocessing` pitfall: joining a process before
/// draining the queue it put a large item into. `python/deadlocks.py` keeps
/// its own deadlines and prints what it saw.
pub fn python_queue(ctx: &Context) -> Result<Measured> {
    let Some(python) = ctx.python else {
        return Ok(Measured::skipped("python3 not found"));
    };
    let timeout = ctx.pick(1.0, 0.5);
    let json = python.run_json(
        &ctx.python_script("deadlocks.py"),
        &[format!("--timeout={timeout}"), "--size=1048576".to_string()],
        labkit::python::SCRIPT_LIMIT,
    )?;
    let flag = |key: &str| json[key].as_bool().unwrap_or(false);
    let mut m = Measured::new();
    m.param("python", python.version.clone())
        .param("join_timeout_s", timeout)
        .param("item_bytes", 1_048_576u64);
    m.flag(
        "alive_after_join",
        "join(timeout) before draining the queue: the process still alive",
        flag("alive_after_join"),
    )
    .flag(
        "drained_then_joined",
        "then draining the queue, and joining: the process ended with code 0",
        flag("drained_then_joined"),
    )
    .flag(
        "drain_first_works",
        "draining first, then joining: ended with code 0",
        flag("drain_first_works"),
    );
    if let Some(seconds) = json["drain_first_s"].as_f64() {
        m.value(
            "drain_first_s",
            "draining first, then joining: time",
            Unit::Seconds,
            seconds,
        );
    }
    Ok(m)
}

/// The lab: its options, its experiments and the claims each one checks.
pub fn lab() -> Lab {
    Lab {
        id: "lab-08",
        title: "Deadlocks",
        source_dir: env!("CARGO_MANIFEST_DIR"),
        options: vec![
            LabOption { name: "work-us", help: "Microseconds of work between a thread's two locks in the lock-order demo", default: WORK_US, min: 0, max: 10_000 },
        ],
        experiments: vec![
            Experiment {
                name: "lock_order",
                title: "Two locks in opposite orders, and in one global order",
                run: lock_order,
                claims: vec![
                    Claim::new("opposite-orders-deadlock", "unordered_deadlocks", Check::AtLeast(UNORDERED_DEADLOCKS),
                        "Two threads taking locks A, B and B, A, with a little work between, deadlocked in at least {threshold} of the attempts.")
                        .needs_cores(2),
                    Claim::demonstration("one-order-never", "ordered_deadlocks", Check::AtMost(0.0),
                        "Taking the two locks in one global order, the same transfers never deadlocked."),
                    Claim::demonstration("parking-lot-finds-two", "parking_lot_threads", Check::Between(2.0, 2.0),
                        "On blocking parking_lot locks, its deadlock detector found the two threads of the cycle."),
                ],
            },
            Experiment {
                name: "philosophers",
                title: "The dining philosophers, naive and fixed three ways",
                run: philosophers,
                claims: vec![
                    Claim::new("naive-table-deadlocks", "naive_deadlocks", Check::AtLeast(NAIVE_DEADLOCKS),
                        "Five philosophers taking the left fork, then the right, deadlocked in at least {threshold} of the rounds."),
                    Claim::new("waiter-fewer-meals", "waiter_vs_ordered", Check::AtMost(WAITER_VS_ORDERED),
                        "The waiter's table served at most {threshold} as many meals per second as the global fork order (median of the per-round ratios).")
                        .needs_cores(2),
                    Claim::new("backoff-fewer-meals", "backoff_vs_ordered", Check::AtMost(BACKOFF_VS_ORDERED),
                        "try_lock with back-off served at most {threshold} as many meals per second as the global fork order."),
                    Claim::new("waiter-fairer", "waiter_vs_ordered_fairness", Check::AtLeast(WAITER_FAIRER),
                        "The waiter's table was fairer than the global fork order: its fewest ÷ most meals at one seat was at least {threshold} the global order's."),
                    Claim::demonstration("fixes-never-deadlock", "fixes_deadlocks", Check::AtMost(0.0),
                        "A global fork order, a waiter seating four, and try_lock with back-off never deadlocked."),
                    Claim::demonstration("parking-lot-finds-five", "parking_lot_threads", Check::Between(5.0, 5.0),
                        "On blocking parking_lot forks, its deadlock detector found all five philosophers in the cycle."),
                ],
            },
            Experiment {
                name: "joins",
                title: "Threads joining each other",
                run: joins,
                claims: vec![
                    Claim::demonstration("join-cycle-hangs", "join_cycle_stuck", Check::Observed,
                        "Two threads each joining the other never end."),
                ],
            },
            Experiment {
                name: "processes",
                title: "Processes deadlocked on pipes",
                run: processes,
                claims: vec![
                    Claim::demonstration("full-pipe-stuck", "wait_then_read_stuck", Check::Observed,
                        "A parent that waits for its child before reading the pipe the child fills beyond its capacity never finishes."),
                    Claim::demonstration("read-then-wait", "read_then_wait_finished", Check::Observed,
                        "Reading first, then waiting, finishes."),
                    Claim::demonstration("open-end-stuck", "open_end_stuck", Check::Observed,
                        "A reader never sees end-of-file while another child keeps an inherited write end of its pipe."),
                    Claim::demonstration("open-end-found", "open_end_holder_found", Check::Observed,
                        "/proc/PID/fd names the child holding that write end."),
                    Claim::demonstration("close-unused-ends", "closed_ends_finished", Check::Observed,
                        "When every child closes the pipe ends it does not use, the reader finishes."),
                ],
            },
            Experiment {
                name: "python_queue",
                title: "CPython: joining a process before draining its queue",
                run: python_queue,
                claims: vec![
                    Claim::demonstration("py-join-before-drain", "alive_after_join", Check::Observed,
                        "A multiprocessing.Process that put a large item on a Queue is still alive after join(timeout) when nobody drained the queue.")
                        .needs_python(),
                    Claim::demonstration("py-drain-then-join", "drained_then_joined", Check::Observed,
                        "Draining the queue lets it end, and join returns.")
                        .needs_python(),
                ],
            },
        ],
    }
}

// Thresholds, each set from the spread of repeated quick and full runs on a
// 2-vCPU VM, with room for the other kinds of host.

/// Microseconds of work between the two locks (the `--work-us` default).
const WORK_US: u64 = 200;
/// The shorter work between the locks is this many times shorter.
const SHORTER: u32 = 20;
/// Attempts of the opposite-order transfers that deadlocked, at least (seen:
/// 308–397 of 400 in full runs, 127–150 of 150 in quick ones).
const UNORDERED_DEADLOCKS: f64 = 10.0;
/// Rounds in which the naive table deadlocked, at least (seen: every round).
const NAIVE_DEADLOCKS: f64 = 2.0;
/// Meals per second, waiter ÷ global order, at most (seen: medians 0.65–0.68).
const WAITER_VS_ORDERED: f64 = 0.85;
/// Meals per second, back-off ÷ global order, at most (seen: 0.69–0.73).
const BACKOFF_VS_ORDERED: f64 = 0.9;
/// Fairness, waiter ÷ global order, at least (seen: 1.2–1.4).
const WAITER_FAIRER: f64 = 1.1;
