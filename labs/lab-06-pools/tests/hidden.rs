//! Graded tests for lab 06's exercises that only instructors see: the student
//! edition does not contain this file.

use lab_06::exercises::{chunksize_for, map_in_order, reply_or_death};
use lab_06::thread_pool::{TaskError, ThreadPool};
use labkit::child::{exists, fork_child};
use nix::unistd::pipe;
use std::collections::HashSet;
use std::fs::File;
use std::time::{Duration, Instant};

fn sleep_and_name(ms: u64) -> String {
    std::thread::sleep(Duration::from_millis(ms));
    std::thread::current().name().unwrap_or("").to_string()
}

#[test]
fn map_in_order_queues_everything_before_waiting() {
    // 8 tasks of 50 ms on 4 threads: 2 waves. Waiting for each task before
    // submitting the next would take 8 waves.
    let pool = ThreadPool::new(4).unwrap();
    let start = Instant::now();
    let names = map_in_order(&pool, sleep_and_name, vec![50; 8]);
    let took = start.elapsed();
    let threads: HashSet<String> = names.into_iter().map(Result::unwrap).collect();
    assert!(
        took < Duration::from_millis(300),
        "took {took:?}: one task at a time?"
    );
    assert_eq!(threads.len(), 4, "ran on {threads:?}");
}

fn panics_on_two(x: u64) -> u64 {
    assert_ne!(x, 2, "two");
    x
}

#[test]
fn map_in_order_keeps_a_panic_in_its_place() {
    let pool = ThreadPool::new(2).unwrap();
    let results = map_in_order(&pool, panics_on_two, vec![0, 1, 2, 3]);
    assert_eq!(results[1], Ok(1));
    assert!(
        matches!(results[2], Err(TaskError::Panicked(_))),
        "{:?}",
        results[2]
    );
    assert_eq!(results[3], Ok(3));
}

#[test]
fn reply_or_death_reaps_the_dead_worker() {
    let (reader, writer) = pipe().unwrap();
    let worker = fork_child(move || {
        drop(writer);
        7
    })
    .unwrap();
    let pid = worker.pid();
    let reply = reply_or_death(&mut File::from(reader), worker);
    match reply {
        Err(TaskError::BrokenPool(why)) => assert!(why.contains('7'), "{why}"),
        other => panic!("expected a broken pool, got {other:?}"),
    }
    assert!(!exists(pid), "the dead worker {pid} was not reaped");
}

#[test]
fn chunksize_for_edge_cases() {
    assert_eq!(chunksize_for(3, 8, 1e-3, 1e-6, 0.01), 1, "never 0");
    assert_eq!(
        chunksize_for(1_000_000, 1, 1e-6, 1e-3, 0.05),
        1,
        "cheap messages: 1"
    );
    assert_eq!(
        chunksize_for(1_000_000, 2, 1e-4, 0.0, 0.05),
        125_000,
        "free tasks: balance decides"
    );
}
