//! Lab 07 exercises. Fix or write each function, then check your work with
//! `cargo test -p lab-07 --test exercises`.
//!
//! The first two start out racy, and the tests run them under loom, which
//! tries every interleaving of a few threads: a race that a real run would
//! hit once in a million runs fails the test every time.
// starter: #![allow(unused_imports, unused_variables)]

use crate::SharedInt;
use crate::shared_memory::SharedCounters;
use anyhow::Result;
use labkit::child::fork_child;
use std::sync::atomic::Ordering;

// The book shows each exercise's documentation and signature (the anchors
// end before the body, so the solutions are never published).

// ANCHOR: exercise_add
/// Exercise 1 — add one without losing an update.
///
/// Several threads call `add_one` on the same counter at once. The starter
/// reads, then writes, and loses updates. Make every call count, and return
/// the value the counter had just before this call's update.
pub fn add_one(counter: &impl SharedInt) -> i64 {
    // ANCHOR_END: exercise_add
    // solution:begin
    counter.fetch_add(1)
    // solution:end
    // starter: let seen = counter.load();
    // starter: counter.store(seen + 1);
    // starter: seen
}

// ANCHOR: exercise_sell
/// Exercise 2 — never sell what is not there.
///
/// Buyers on several threads call `sell_one` on the same stock at once.
/// Take one item and return `true` if there is one; return `false`, leaving
/// the stock alone, if there is none. The stock must never end below zero,
/// and every item must be sold if enough buyers ask.
pub fn sell_one(stock: &impl SharedInt) -> bool {
    // ANCHOR_END: exercise_sell
    // solution:begin
    let mut seen = stock.load();
    while seen > 0 {
        match stock.compare_exchange(seen, seen - 1) {
            Ok(_) => return true,
            Err(now) => seen = now,
        }
    }
    false
    // solution:end
    // starter: if stock.load() > 0 {
    // starter:     stock.store(stock.load() - 1);
    // starter:     true
    // starter: } else {
    // starter:     false
    // starter: }
}

// ANCHOR: exercise_children
/// Exercise 3 — count in processes.
///
/// Fork `workers` children with `labkit::child::fork_child`; each adds one
/// to a shared total `per_worker` times, all at the same time. Wait for
/// every child and return the total: exactly `workers × per_worker`. The
/// children's memory is their own — share a `SharedCounters` mapping (made
/// before forking), and pick a way to add that loses nothing.
pub fn count_in_children(workers: usize, per_worker: u64) -> Result<i64> {
    // ANCHOR_END: exercise_children
    // solution:begin
    let shared = SharedCounters::new()?;
    let children = (0..workers)
        .map(|_| {
            fork_child(|| {
                (0..per_worker).for_each(|_| {
                    shared.counter().fetch_add(1, Ordering::SeqCst);
                });
                0
            })
        })
        .collect::<Result<Vec<_>>>()?;
    children
        .into_iter()
        .try_for_each(|child| child.wait_success())?;
    Ok(shared.counter().load(Ordering::SeqCst))
    // solution:end
    // starter: todo!("fork the children, share a SharedCounters, add without losing, wait, return the total")
}
