//! The racy counter under shuttle, a model checker that runs threads one at
//! a time and picks, at every atomic step, which one goes next.
//!
//! Real threads interleave where the hardware and the scheduler happen to
//! let them: two threads that add one each almost never overlap, so a test
//! that runs them passes. Shuttle chooses the interleavings itself — at
//! random, or with PCT (priorities changed at a few random points, which
//! finds bugs that need few preemptions with a known probability) — and
//! replays a failing one from the schedule it prints.

use crate::SharedInt;
use crate::shared_memory::SharedCounters;
use anyhow::Result;
use labkit::child::fork_child;
use labkit::stats::Summary;
use shuttle::scheduler::{PctScheduler, RandomScheduler, Scheduler};
use shuttle::{Config, FailurePersistence, Runner};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Seeds tried for each scheduler.
pub const SEEDS: usize = 20;
/// Schedules each seed may try.
pub const SCHEDULES: usize = 1000;

/// Shuttle's atomic integer behind the lab's [`SharedInt`], so the lab's own
/// `add_one_racy` and `sell_racy` run under the checker unchanged.
pub struct ShuttleInt(pub shuttle::sync::atomic::AtomicI64);

impl ShuttleInt {
    /// A shuttle atomic holding `value` (make it inside a shuttle test).
    pub fn new(value: i64) -> ShuttleInt {
        ShuttleInt(shuttle::sync::atomic::AtomicI64::new(value))
    }
}

impl SharedInt for ShuttleInt {
    fn load(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn store(&self, value: i64) {
        self.0.store(value, Ordering::SeqCst)
    }
    fn fetch_add(&self, delta: i64) -> i64 {
        self.0.fetch_add(delta, Ordering::SeqCst)
    }
    fn compare_exchange(&self, current: i64, new: i64) -> Result<i64, i64> {
        self.0
            .compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst)
    }
}

// ANCHOR: shuttle_test
/// A shuttle test: two threads each add one with `add`; it fails, naming what
/// each thread read, if the counter does not end at 2.
pub fn two_adders(add: fn(&ShuttleInt) -> i64) -> impl Fn() + Send + Sync + 'static {
    move || {
        let counter = Arc::new(ShuttleInt::new(0));
        let theirs = {
            let counter = Arc::clone(&counter);
            shuttle::thread::spawn(move || add(&counter))
        };
        let mine = add(&counter);
        let theirs = theirs.join().expect("the other adder does not panic");
        let total = counter.load();
        assert_eq!(
            total, 2,
            "lost update: one thread read {mine}, the other read {theirs}; the counter ends at {total}"
        );
    }
}
// ANCHOR_END: shuttle_test

/// Shuttle settings for the lab: no schedule files, no warnings.
pub fn quiet_config() -> Config {
    let mut config = Config::new();
    config.failure_persistence = FailurePersistence::None;
    config.silence_warnings = true;
    config
}

/// Runs `test` under `scheduler`; returns the schedule (1, 2, …) that failed,
/// or `None` if every schedule passed.
pub fn first_failing_schedule(
    scheduler: impl Scheduler + 'static,
    test: impl Fn() + Send + Sync + 'static,
) -> Option<usize> {
    let tried = Arc::new(AtomicUsize::new(0));
    let counted = {
        let tried = Arc::clone(&tried);
        move || {
            tried.fetch_add(1, Ordering::SeqCst);
            test()
        }
    };
    let runner = Runner::new(scheduler, quiet_config());
    let failed = catch_unwind(AssertUnwindSafe(|| runner.run(counted))).is_err();
    failed.then(|| tried.load(Ordering::SeqCst))
}

/// What the checkers found, over [`SEEDS`] seeds each.
pub struct Found {
    /// Schedules the random scheduler needed ([`SCHEDULES`] + 1 when none failed).
    pub random: Summary,
    /// Schedules PCT (depth 2) needed.
    pub pct: Summary,
    /// Seeds under which the fixed (fetch_add) version failed.
    pub fixed_failures: usize,
}

/// Runs the checkers in a child whose stderr goes nowhere — a failing
/// schedule panics, and the panic and shuttle's report would otherwise be
/// printed over the lab's progress — and reads what they found from
/// `shared`'s slots.
pub fn schedules_to_find_the_race(shared: &SharedCounters, seeds: usize) -> Result<Found> {
    anyhow::ensure!(
        2 * seeds < crate::shared_memory::MAX_WORKERS,
        "too many seeds"
    );
    shared.reset();
    let child = fork_child(|| {
        silence_stderr();
        let found = |failed: Option<usize>| failed.unwrap_or(SCHEDULES + 1) as i64;
        for seed in 0..seeds {
            let random = RandomScheduler::new_from_seed(seed as u64, SCHEDULES);
            shared.slot(seed).store(
                found(first_failing_schedule(
                    random,
                    two_adders(crate::add_one_racy),
                )),
                Ordering::SeqCst,
            );
            let pct = PctScheduler::new_from_seed(seed as u64, 2, SCHEDULES);
            shared.slot(seeds + seed).store(
                found(first_failing_schedule(pct, two_adders(crate::add_one_racy))),
                Ordering::SeqCst,
            );
            let fixed = RandomScheduler::new_from_seed(seed as u64, SCHEDULES);
            if first_failing_schedule(fixed, two_adders(crate::add_one_atomic)).is_some() {
                shared.counter().fetch_add(1, Ordering::SeqCst);
            }
        }
        0
    })?;
    wait_within(child, std::time::Duration::from_secs(120))?;
    let column = |from: usize| -> Vec<f64> {
        (from..from + seeds)
            .map(|i| shared.slot(i).load(Ordering::SeqCst) as f64)
            .collect()
    };
    let summary =
        |values: Vec<f64>| Summary::of(&values).ok_or_else(|| anyhow::anyhow!("no seeds"));
    Ok(Found {
        random: summary(column(0))?,
        pct: summary(column(seeds))?,
        fixed_failures: shared.counter().load(Ordering::SeqCst) as usize,
    })
}

/// Waits for the checkers' child, but not forever: a child forked while
/// another thread held a lock it then needs would wait for it forever.
fn wait_within(child: labkit::child::Child, limit: std::time::Duration) -> Result<()> {
    let start = std::time::Instant::now();
    while !child.has_ended() {
        anyhow::ensure!(
            start.elapsed() < limit,
            "the model checkers did not finish in {limit:?} (killed)"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.wait_success()
}

/// Points this process's stderr at /dev/null and stops printing panics.
fn silence_stderr() {
    std::panic::set_hook(Box::new(|_| {}));
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 onto fd 2 in a child that only computes from here on.
        unsafe { nix::libc::dup2(null.as_raw_fd(), 2) };
    }
}
