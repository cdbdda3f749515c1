//! Lab 08 exercises. Each starter compiles and deadlocks; make it finish,
//! then check your work with `cargo test -p lab-08 --test exercises`.
//!
//! The tests run your code with a deadline, so a deadlock fails a test with
//! a message instead of hanging it — and they make the unlucky timing
//! likely: every lock taken here pauses a moment before it returns.
// starter: #![allow(unused_imports, unused_variables, unused_mut)]

use crate::pipes::{close_here, pipe_files};
use anyhow::Result;
use labkit::child::fork_child;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// A bank account: an id, unique among accounts, and a balance behind its
/// own lock.
pub struct Account {
    id: u64,
    balance: Mutex<i64>,
    pause: Duration,
}

impl Account {
    /// An account whose lock returns at once.
    pub fn new(id: u64, balance: i64) -> Account {
        Account::with_pause(id, balance, Duration::ZERO)
    }

    /// An account whose lock pauses `pause` after it is taken: the "little
    /// work" between two locks that makes a deadlock likely.
    pub fn with_pause(id: u64, balance: i64, pause: Duration) -> Account {
        Account {
            id,
            balance: Mutex::new(balance),
            pause,
        }
    }

    /// The account's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Takes the account's lock (then pauses): the only way to its balance.
    pub fn lock(&self) -> MutexGuard<'_, i64> {
        let guard = self.balance.lock().expect("no panic while holding it");
        std::thread::sleep(self.pause);
        guard
    }

    /// The balance now.
    pub fn balance(&self) -> i64 {
        *self.balance.lock().expect("no panic while holding it")
    }
}

// The book shows each exercise's documentation and signature (the anchors
// end before the body, so the solutions are never published).

// ANCHOR: exercise_transfer
/// Exercise 1 — transfers that cannot deadlock.
///
/// Move `amount` from `from` to `to` while holding both accounts' locks
/// (taken with [`Account::lock`]), so that nobody ever sees the money in
/// neither account or in both. Transfers run at the same time in every
/// direction between the same accounts: make sure two of them can never
/// wait for each other. A transfer from an account to itself changes nothing.
pub fn transfer(from: &Account, to: &Account, amount: i64) {
    // ANCHOR_END: exercise_transfer
    // solution:begin
    if from.id() == to.id() {
        return; // one lock, taken twice, would wait for itself
    }
    // One global order, by id, whichever way the money goes.
    let from_first = from.id() < to.id();
    let (first, second) = if from_first { (from, to) } else { (to, from) };
    let mut first = first.lock();
    let mut second = second.lock();
    let (from_balance, to_balance) = if from_first {
        (&mut *first, &mut *second)
    } else {
        (&mut *second, &mut *first)
    };
    *from_balance -= amount;
    *to_balance += amount;
    // solution:end
    // starter: let mut from_balance = from.lock();
    // starter: let mut to_balance = to.lock();
    // starter: *from_balance -= amount;
    // starter: *to_balance += amount;
}

/// A fork on the table: a number and a lock.
pub struct Fork {
    number: usize,
    lock: Mutex<()>,
    pause: Duration,
}

/// A fork in a philosopher's hand; dropping it puts the fork down.
pub struct Held<'a> {
    number: usize,
    _guard: MutexGuard<'a, ()>,
}

impl Fork {
    /// The fork's number: fork `i` lies between seats `i - 1` and `i`.
    pub fn number(&self) -> usize {
        self.number
    }

    /// Picks the fork up, waiting while a neighbour holds it (then pauses a
    /// moment, reaching for the next one).
    pub fn pick_up(&self) -> Held<'_> {
        let guard = self.lock.lock().expect("no panic while holding a fork");
        std::thread::sleep(self.pause);
        Held {
            number: self.number,
            _guard: guard,
        }
    }

    /// Picks the fork up if nobody holds it; never waits.
    pub fn try_pick_up(&self) -> Option<Held<'_>> {
        let guard = self.lock.try_lock().ok()?;
        Some(Held {
            number: self.number,
            _guard: guard,
        })
    }
}

/// A round table: a fork between each two neighbours, and the meals eaten.
pub struct Table {
    forks: Vec<Fork>,
    meals: Vec<AtomicU64>,
}

impl Table {
    /// A table of `seats` seats (at least 2); picking up a fork pauses `pause`.
    pub fn new(seats: usize, pause: Duration) -> Table {
        assert!(seats >= 2, "a table has at least two seats");
        Table {
            forks: (0..seats)
                .map(|number| Fork {
                    number,
                    lock: Mutex::new(()),
                    pause,
                })
                .collect(),
            meals: (0..seats).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The fork on the left of `seat` (fork `seat`).
    pub fn left_fork(&self, seat: usize) -> &Fork {
        &self.forks[seat]
    }

    /// The fork on the right of `seat` (fork `seat + 1`, around the table).
    pub fn right_fork(&self, seat: usize) -> &Fork {
        &self.forks[(seat + 1) % self.forks.len()]
    }

    /// Philosopher `seat` eats one meal with the two forks beside the seat,
    /// in either order. Panics if they are not those two forks.
    pub fn eat(&self, seat: usize, one: &Held<'_>, other: &Held<'_>) {
        let mut mine = [self.left_fork(seat).number, self.right_fork(seat).number];
        let mut held = [one.number, other.number];
        mine.sort_unstable();
        held.sort_unstable();
        assert_eq!(held, mine, "seat {seat} must eat with forks {mine:?}");
        self.meals[seat].fetch_add(1, Ordering::Relaxed);
    }

    /// The meals eaten at each seat.
    pub fn meals(&self) -> Vec<u64> {
        self.meals
            .iter()
            .map(|m| m.load(Ordering::Relaxed))
            .collect()
    }
}

// ANCHOR: exercise_dine
/// Exercise 2 — a philosopher who cannot deadlock.
///
/// Philosopher `seat` eats `meals` meals at `table`: for each, pick up the
/// two forks beside the seat, call [`Table::eat`] with both, and put them
/// down. Every philosopher runs this at once, each on a thread of its own:
/// make sure they can never all wait for each other.
pub fn dine(table: &Table, seat: usize, meals: usize) {
    // ANCHOR_END: exercise_dine
    for _ in 0..meals {
        // solution:begin
        let (left, right) = (table.left_fork(seat), table.right_fork(seat));
        // The lower-numbered fork first: nobody holds a higher fork while
        // waiting for a lower one, so no cycle of waiting can close.
        let (first, second) = if left.number() < right.number() {
            (left, right)
        } else {
            (right, left)
        };
        let first = first.pick_up();
        let second = second.pick_up();
        table.eat(seat, &first, &second);
        // solution:end
        // starter: let left = table.left_fork(seat).pick_up();
        // starter: let right = table.right_fork(seat).pick_up();
        // starter: table.eat(seat, &left, &right);
    }
}

// ANCHOR: exercise_pipeline
/// Exercise 3 — a pipeline of two children that ends.
///
/// A producer child writes `input` into pipe 1; a filter child reads pipe 1
/// to its end and writes it upper-cased into pipe 2; this process reads
/// pipe 2 to its end, waits for both children and returns what it read.
/// The code below does all that — and never ends. A reader sees end-of-file
/// only when every write end of its pipe is closed, in every process, and a
/// forked child holds a copy of every descriptor its parent had. Close, in
/// each process, the pipe ends it does not use ([`close_here`] in a child;
/// `drop` here).
pub fn pipeline(input: &[u8]) -> Result<Vec<u8>> {
    // ANCHOR_END: exercise_pipeline
    let (read_1, write_1) = pipe_files()?;
    let (read_2, write_2) = pipe_files()?;
    let producer = fork_child(|| {
        // solution:begin
        close_here(&read_1);
        close_here(&read_2);
        close_here(&write_2);
        // solution:end
        i32::from((&write_1).write_all(input).is_err())
    })?;
    let filter = fork_child(|| {
        // solution:begin
        close_here(&write_1);
        close_here(&read_2);
        // solution:end
        let mut text = Vec::new();
        if (&read_1).read_to_end(&mut text).is_err() {
            return 1;
        }
        i32::from((&write_2).write_all(&text.to_ascii_uppercase()).is_err())
    })?;
    // solution:begin
    drop(read_1);
    drop(write_1);
    drop(write_2);
    // solution:end
    let mut output = Vec::new();
    (&read_2).read_to_end(&mut output)?;
    producer.wait_success()?;
    filter.wait_success()?;
    Ok(output)
}
