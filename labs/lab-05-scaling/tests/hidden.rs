//! Graded tests for lab 05's exercises that only instructors see: the student
//! edition does not contain this file. As in `exercises.rs`, each runs the
//! exercise in a process of its own (`apart`) and judges what comes back.

use lab_05::exercises::{enough_workers, map_on_workers, split_evenly};
use labkit::testing::apart;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

#[test]
fn split_evenly_with_no_workers_or_no_tasks() {
    let (no_workers, no_tasks) = apart(|| (split_evenly(5, 0), split_evenly(0, 3)));
    assert!(
        no_workers.is_empty(),
        "5 tasks on 0 workers: {no_workers:?}"
    );
    assert_eq!(no_tasks, vec![0..0, 0..0, 0..0]);
}

#[test]
fn split_evenly_is_fair_for_every_size() {
    // Every split, each with its number of tasks and workers.
    let splits = apart(|| {
        let mut splits = Vec::new();
        for tasks in 0..40 {
            for workers in 1..10 {
                splits.push((tasks, workers, split_evenly(tasks, workers)));
            }
        }
        splits
    });
    for (tasks, workers, ranges) in splits {
        assert_eq!(ranges.len(), workers);
        let mut next = 0;
        for range in &ranges {
            assert_eq!(range.start, next, "{tasks} on {workers}: {ranges:?}");
            next = range.end;
        }
        assert_eq!(next, tasks);
        let sizes: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
        let (small, large) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(large - small <= 1, "{tasks} on {workers}: {sizes:?}");
    }
}

#[test]
fn map_on_workers_never_starts_more_threads_than_items() {
    // (the results, how many threads ran the items)
    let (out, used) = apart(|| {
        let threads = Mutex::new(HashSet::new());
        let out = map_on_workers(&[1, 2], 8, |&x| {
            threads.lock().unwrap().insert(thread::current().id());
            thread::sleep(Duration::from_millis(20));
            x + 1
        });
        let used = threads.lock().unwrap().len();
        (out, used)
    });
    assert_eq!(out, vec![2, 3]);
    assert_eq!(used, 2, "2 items ran on {used} threads");
}

#[test]
fn a_slow_item_does_not_hold_up_the_others() {
    // One item of 300 ms and twelve of 10 ms on 2 workers: taking the next
    // free item, one worker runs the slow one while the other runs the rest.
    // A fixed split (one half each) would leave six short items waiting
    // behind the slow one.
    let mut items = vec![300u64];
    items.extend([10; 12]);
    let overlapped = apart(|| {
        let running = AtomicUsize::new(0);
        let overlapped_slow = AtomicUsize::new(0);
        map_on_workers(&items, 2, |&ms| {
            running.fetch_add(1, Ordering::SeqCst);
            if ms == 10 && running.load(Ordering::SeqCst) == 2 {
                overlapped_slow.fetch_add(1, Ordering::SeqCst);
            }
            thread::sleep(Duration::from_millis(ms));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        overlapped_slow.load(Ordering::SeqCst)
    });
    assert!(
        overlapped >= 10,
        "only {overlapped} of 12 short items ran beside the slow one: take items one at a time"
    );
}

#[test]
fn enough_workers_of_an_empty_or_flat_curve() {
    let (empty, flat) = apart(|| {
        (
            enough_workers(&[], 0.9),
            enough_workers(&[(8, 1.0), (1, 1.0), (4, 1.0)], 0.9),
        )
    });
    assert_eq!(empty, None, "an empty curve");
    assert_eq!(flat, Some(1), "a flat curve");
}
