//! The dining philosophers: five seats around a table, a fork between each
//! two neighbours, and a philosopher eats only with both forks beside them.
//!
//! The naive rule — take the left fork, then the right — deadlocks as soon
//! as all five hold their left fork. Three fixes, each breaking one of the
//! conditions a deadlock needs:
//!
//! - **global order**: take the lower-numbered fork first. The cycle needs
//!   someone to hold a higher fork while waiting for a lower one; nobody does.
//! - **a waiter**: at most four sit at once (a counting semaphore), so one
//!   of them always has both forks within reach.
//! - **`try_lock` with back-off**: take the left fork, *try* the right; if it
//!   is taken, put the left one down and try again a little later. Nobody
//!   waits while holding a fork for long: no cycle of waiting.

use crate::tracked::{Deadlock, TrackedMutex, WaitForGraph};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Philosophers at the table.
pub const SEATS: usize = 5;

/// How long a philosopher eats, thinks, and takes to reach for the second
/// fork once they hold the first (the "little work between" two locks).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Eating, with both forks.
    pub eat: Duration,
    /// Thinking, with none.
    pub think: Duration,
    /// Between taking the first fork and reaching for the second.
    pub reach: Duration,
}

/// The timing the lab uses.
pub const TIMING: Timing = Timing {
    eat: Duration::from_micros(200),
    think: Duration::from_micros(200),
    reach: Duration::from_micros(100),
};

/// The ways to take two forks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Left, then right: deadlocks.
    Naive,
    /// The lower-numbered fork first.
    GlobalOrder,
    /// At most `SEATS - 1` sit at once.
    Waiter,
    /// Left, then `try_lock` the right; on failure put both down and back off.
    Backoff,
}

/// A table: forks, meals eaten, and the waiter.
pub struct Table {
    forks: Vec<TrackedMutex<()>>,
    meals: Vec<AtomicU64>,
    waiter: Waiter,
    timing: Timing,
    graph: Arc<WaitForGraph>,
}

impl Table {
    /// A table for `seats` philosophers.
    pub fn new(seats: usize, timing: Timing) -> Table {
        let graph = WaitForGraph::new();
        Table {
            forks: (0..seats)
                .map(|i| TrackedMutex::new(&format!("fork {i}"), (), &graph))
                .collect(),
            meals: (0..seats).map(|_| AtomicU64::new(0)).collect(),
            waiter: Waiter::new(seats.saturating_sub(1).max(1)),
            timing,
            graph,
        }
    }

    /// The fork on `seat`'s left, and the one on their right.
    fn forks_of(&self, seat: usize) -> (&TrackedMutex<()>, &TrackedMutex<()>) {
        (
            &self.forks[seat],
            &self.forks[(seat + 1) % self.forks.len()],
        )
    }

    /// Meals eaten at each seat so far.
    pub fn meals(&self) -> Vec<u64> {
        self.meals
            .iter()
            .map(|m| m.load(Ordering::Relaxed))
            .collect()
    }

    /// The wait-for graph of the forks (for a watchdog).
    pub fn graph(&self) -> &WaitForGraph {
        &self.graph
    }

    fn eat(&self, seat: usize) {
        thread::sleep(self.timing.eat);
        self.meals[seat].fetch_add(1, Ordering::Relaxed);
    }
}

// ANCHOR: naive
/// One meal, the naive way: left fork, then right.
pub fn naive_meal(table: &Table, seat: usize) -> Result<(), Deadlock> {
    let (left, right) = table.forks_of(seat);
    let _left = left.lock()?;
    thread::sleep(table.timing.reach);
    let _right = right.lock()?;
    table.eat(seat);
    Ok(())
}
// ANCHOR_END: naive

// ANCHOR: ordered
/// One meal, lower-numbered fork first: no cycle of waiting can form.
pub fn ordered_meal(table: &Table, seat: usize) -> Result<(), Deadlock> {
    let (left, right) = table.forks_of(seat);
    let (first, second) = if left.rank() < right.rank() {
        (left, right)
    } else {
        (right, left) // the last seat: its right fork is fork 0
    };
    let _first = first.lock()?;
    thread::sleep(table.timing.reach);
    let _second = second.lock()?;
    table.eat(seat);
    Ok(())
}
// ANCHOR_END: ordered

// ANCHOR: waiter
/// A counting semaphore: at most `limit` philosophers sit at once.
pub struct Waiter {
    seated: Mutex<usize>,
    seat_free: Condvar,
    limit: usize,
}

/// A place at the table; dropping it leaves and calls the next one in.
pub struct Seated<'a>(&'a Waiter);

impl Waiter {
    /// A waiter who seats at most `limit` at once.
    pub fn new(limit: usize) -> Waiter {
        Waiter {
            seated: Mutex::new(0),
            seat_free: Condvar::new(),
            limit,
        }
    }

    /// Waits until fewer than `limit` are seated, then sits.
    pub fn sit(&self) -> Seated<'_> {
        let mut seated = self.seated.lock().expect("no panic while seating");
        while *seated >= self.limit {
            seated = self.seat_free.wait(seated).expect("no panic while seating");
        }
        *seated += 1;
        Seated(self)
    }
}

impl Drop for Seated<'_> {
    fn drop(&mut self) {
        *self.0.seated.lock().expect("no panic while seating") -= 1;
        self.0.seat_free.notify_one();
    }
}

/// One meal with the waiter's leave: then the naive way is safe.
pub fn waiter_meal(table: &Table, seat: usize) -> Result<(), Deadlock> {
    let _seated = table.waiter.sit();
    naive_meal(table, seat)
}
// ANCHOR_END: waiter

// ANCHOR: backoff
/// One meal with `try_lock`: never wait for the right fork while holding
/// the left; put it down and back off a random moment instead.
pub fn backoff_meal(table: &Table, seat: usize, stop: &AtomicBool) -> Result<(), Deadlock> {
    let (left, right) = table.forks_of(seat);
    let mut backoff = table.timing.reach;
    while !stop.load(Ordering::Relaxed) {
        let _left = left.lock()?;
        thread::sleep(table.timing.reach);
        if let Some(_right) = right.try_lock() {
            table.eat(seat);
            return Ok(());
        }
        drop(_left);
        // Random, so that two neighbours do not retry in lockstep forever
        // (a livelock); longer each time, up to a few meals.
        thread::sleep(backoff.mul_f64(0.5 + random_fraction()));
        backoff = (backoff * 2).min(table.timing.eat * 4);
    }
    Ok(())
}
// ANCHOR_END: backoff

/// A fraction in [0, 1) that differs from call to call and thread to
/// thread: a hash of nothing under fresh random keys (std's `RandomState`),
/// enough to desynchronise two retries.
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// One meal by `rule`.
pub fn meal(table: &Table, seat: usize, rule: Rule, stop: &AtomicBool) -> Result<(), Deadlock> {
    match rule {
        Rule::Naive => naive_meal(table, seat),
        Rule::GlobalOrder => ordered_meal(table, seat),
        Rule::Waiter => waiter_meal(table, seat),
        Rule::Backoff => backoff_meal(table, seat, stop),
    }
}

/// What one dinner gave.
#[derive(Debug, Clone)]
pub struct Dinner {
    /// Meals eaten at each seat.
    pub meals: Vec<u64>,
    /// The deadlock that ended it, if one did.
    pub deadlock: Option<Deadlock>,
    /// How long it lasted: `duration`, or until the deadlock.
    pub seconds: f64,
}

impl Dinner {
    /// Meals eaten in all, per second.
    pub fn meals_per_second(&self) -> f64 {
        self.meals.iter().sum::<u64>() as f64 / self.seconds
    }

    /// Fewest meals at one seat ÷ most at one seat: 1 when everyone ate as
    /// much, 0 when someone starved.
    pub fn fairness(&self) -> f64 {
        let most = self.meals.iter().copied().max().unwrap_or(0);
        let fewest = self.meals.iter().copied().min().unwrap_or(0);
        if most == 0 {
            0.0
        } else {
            fewest as f64 / most as f64
        }
    }
}

// ANCHOR: dinner
/// `seats` philosophers think and eat by `rule` for `duration`, all starting
/// at once, or until one of them finds a deadlock.
pub fn dinner(seats: usize, rule: Rule, duration: Duration, timing: Timing) -> Dinner {
    let table = Table::new(seats, timing);
    let stop = AtomicBool::new(false);
    let start_together = Barrier::new(seats);
    let start = Instant::now();
    let deadlocks: Vec<Deadlock> = thread::scope(|scope| {
        let philosophers: Vec<_> = (0..seats)
            .map(|seat| {
                let (table, stop, start_together) = (&table, &stop, &start_together);
                thread::Builder::new()
                    .name(format!("philosopher {seat}"))
                    .spawn_scoped(scope, move || {
                        start_together.wait();
                        while !stop.load(Ordering::Relaxed) {
                            if let Err(deadlock) = meal(table, seat, rule, stop) {
                                stop.store(true, Ordering::Relaxed); // end the dinner
                                return Some(deadlock);
                            }
                            thread::sleep(table.timing.think);
                        }
                        None
                    })
                    .expect("a philosopher's thread starts")
            })
            .collect();
        while start.elapsed() < duration && !stop.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Ordering::Relaxed);
        philosophers
            .into_iter()
            .filter_map(|p| p.join().expect("a philosopher panicked"))
            .collect()
    });
    Dinner {
        meals: table.meals(),
        seconds: start.elapsed().as_secs_f64(),
        deadlock: deadlocks
            .into_iter()
            .find(|d| matches!(d, Deadlock::Cycle(_))),
    }
}
// ANCHOR_END: dinner
