//! What the visible and the hidden graded tests share: the deadline and
//! pause they use, a dinner of philosophers, and an exercise's error as text.

// Each test file uses a part of this module.
#![allow(dead_code)]

use lab_08::exercises::{Table, dine};
use std::thread;
use std::time::Duration;

/// Generous: the solutions take well under a second. A test's child that
/// has not returned by then is killed (`apart_within`) and the test fails.
pub const LIMIT: Duration = Duration::from_secs(5);

/// Every lock pauses this long after it is taken, so that two threads
/// locking in opposite orders almost surely deadlock.
pub const PAUSE: Duration = Duration::from_millis(1);

/// `seats` philosophers each eating `meals` meals at one table, each on its
/// own thread: the meals each one ate (run it in the test's child).
pub fn dinner(seats: usize, meals: usize, pause: Duration) -> Vec<u64> {
    let table = Table::new(seats, pause);
    thread::scope(|scope| {
        for seat in 0..seats {
            let table = &table;
            scope.spawn(move || dine(table, seat, meals));
        }
    });
    table.meals()
}

/// An exercise's error as text, to send back from its process.
pub fn text(err: anyhow::Error) -> String {
    format!("{err:#}")
}
