//! What the visible and the hidden graded tests share: the deadline and
//! pause they use, and a dinner of philosophers run with that deadline.

// Each test file uses a part of this module.
#![allow(dead_code)]

use lab_08::deadline::in_thread_within;
use lab_08::exercises::{Table, dine};
use std::thread;
use std::time::Duration;

/// Generous: the solutions take well under a second.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Every lock pauses this long after it is taken, so that two threads
/// locking in opposite orders almost surely deadlock.
pub const PAUSE: Duration = Duration::from_millis(1);

/// `seats` philosophers each eating `meals` meals at one table, each on its
/// own thread, within the deadline: the meals each one ate.
pub fn dinner(seats: usize, meals: usize, pause: Duration) -> Result<Vec<u64>, String> {
    in_thread_within(LIMIT, move || {
        let table = Table::new(seats, pause);
        thread::scope(|scope| {
            for seat in 0..seats {
                let table = &table;
                scope.spawn(move || dine(table, seat, meals));
            }
        });
        table.meals()
    })
}
