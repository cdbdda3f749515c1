//! Graded tests for lab 05's exercises that students see.
//! Run them with `cargo test -p lab-05 --test exercises`.
//!
//! Each test runs the exercise in a process of its own (`apart`) and judges
//! what comes back here: what the exercise prints, or an `exit`, cannot
//! pass a test. (What your code prints is not shown.)

use lab_05::exercises::{enough_workers, map_on_workers, split_evenly};
use labkit::testing::apart;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn split_evenly_covers_every_task_in_fair_shares() {
    let ranges = apart(|| split_evenly(10, 3));
    assert_eq!(ranges, vec![0..4, 4..7, 7..10]);
}

#[test]
fn split_evenly_with_more_workers_than_tasks() {
    let ranges = apart(|| split_evenly(2, 4));
    assert_eq!(ranges.len(), 4);
    assert_eq!(ranges.iter().map(|r| r.len()).sum::<usize>(), 2);
    assert!(ranges.iter().all(|r| r.len() <= 1), "{ranges:?}");
}

#[test]
fn map_on_workers_keeps_the_order() {
    let items: Vec<u64> = (0..100).collect();
    let squares = apart(|| map_on_workers(&items, 4, |&x| x * x));
    assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
}

/// Runs 12 items that each wait 30 ms on `workers` workers and returns how
/// many threads ran them, the most that ran at once and how long all took
/// (call it in the test's child).
fn threads_used(workers: usize) -> (usize, usize, Duration) {
    let items: Vec<usize> = (0..12).collect();
    let running = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let threads = Mutex::new(HashSet::new());
    let start = Instant::now();
    map_on_workers(&items, workers, |_| {
        threads.lock().unwrap().insert(thread::current().id());
        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
        most.fetch_max(now, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(30));
        running.fetch_sub(1, Ordering::SeqCst);
    });
    let used = threads.lock().unwrap().len();
    (used, most.load(Ordering::SeqCst), start.elapsed())
}

#[test]
fn map_on_workers_uses_exactly_the_workers_asked_for() {
    let (used, most, took) = apart(|| threads_used(4));
    assert_eq!(used, 4, "12 items on 4 workers ran on {used} threads");
    assert_eq!(
        most, 4,
        "at most {most} items ran at once: the workers did not overlap"
    );
    assert!(
        took < Duration::from_millis(12 * 30),
        "took {took:?}: as long as one after another"
    );
}

#[test]
fn enough_workers_picks_the_knee_of_the_curve() {
    let curve = [(1, 1.0), (2, 1.8), (4, 1.85), (8, 1.9), (16, 1.7)];
    let picked = apart(|| [0.9, 1.0].map(|share| enough_workers(&curve, share)));
    assert_eq!(
        picked,
        [Some(2), Some(8)],
        "(at 90% of the best, then 100%)"
    );
}
