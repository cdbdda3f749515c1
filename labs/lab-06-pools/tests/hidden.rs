//! Graded tests for lab 06's exercises that only instructors see: the student
//! edition does not contain this file. As in `exercises.rs`, each runs the
//! exercise in a process of its own (`apart`) and judges what comes back.

mod common;

use common::{Failure, plain};
use lab_06::exercises::{chunksize_for, map_bounded, reply_or_death};
use lab_06::thread_pool::ThreadPool;
use labkit::child::{exists, fork_child};
use labkit::testing::apart;
use nix::unistd::pipe;
use std::collections::HashSet;
use std::fs::File;
use std::time::{Duration, Instant};

fn sleep_and_name(ms: u64) -> String {
    std::thread::sleep(Duration::from_millis(ms));
    std::thread::current().name().unwrap_or("").to_string()
}

#[test]
fn map_bounded_runs_up_to_limit_tasks_at_once() {
    // 8 tasks of 50 ms, 4 threads, limit 4: two waves. One task at a time
    // (submit one, wait for it) would take eight.
    let (names, took) = apart(|| {
        let pool = ThreadPool::new(4).unwrap();
        let start = Instant::now();
        let names = map_bounded(&pool, sleep_and_name, vec![50; 8], 4);
        (plain(names), start.elapsed())
    });
    let threads: HashSet<String> = names.into_iter().map(Result::unwrap).collect();
    assert!(
        took < Duration::from_millis(300),
        "took {took:?}: one task at a time?"
    );
    assert_eq!(threads.len(), 4, "ran on {threads:?}");
    // Threads of its own, named to look distinct, would pass the count: the
    // tasks must run on the pool's workers.
    assert!(
        threads.iter().all(|name| name.starts_with("pool-worker-")),
        "not the pool's threads: {threads:?}"
    );
}

fn panics_on_two(x: u64) -> u64 {
    assert_ne!(x, 2, "two");
    x
}

#[test]
fn map_bounded_keeps_a_panic_in_its_place() {
    let results = apart(|| {
        let pool = ThreadPool::new(2).unwrap();
        plain(map_bounded(&pool, panics_on_two, vec![0, 1, 2, 3], 1))
    });
    assert_eq!(results.len(), 4, "{results:?}");
    assert_eq!(results[1], Ok(1));
    assert!(
        matches!(results[2], Err(Failure::Panicked(_))),
        "{:?}",
        results[2]
    );
    assert_eq!(results[3], Ok(3));
}

#[test]
fn map_bounded_of_nothing_or_of_fewer_items_than_the_limit() {
    let (nothing, fewer) = apart(|| {
        let pool = ThreadPool::new(2).unwrap();
        (
            plain(map_bounded(&pool, panics_on_two, Vec::new(), 3)),
            plain(map_bounded(&pool, panics_on_two, vec![5, 6], 10)),
        )
    });
    assert!(nothing.is_empty(), "no items: {nothing:?}");
    assert_eq!(fewer, vec![Ok(5), Ok(6)]);
}

#[test]
fn reply_or_death_reaps_the_dead_worker() {
    // (the reply, whether the worker's pid still exists after it)
    let (reply, left) = apart(|| {
        let (reader, writer) = pipe().unwrap();
        let worker = fork_child(move || {
            drop(writer);
            7
        })
        .unwrap();
        let pid = worker.pid();
        let reply = reply_or_death(&mut File::from(reader), worker);
        (plain(reply), exists(pid).then_some(pid.as_raw()))
    });
    // A fake that never waits could answer every death with the same
    // made-up words ("killed by SIGKILL, or exited with code 7", the worker
    // then killed and reaped by `Child`'s drop): this worker was not killed,
    // so the message must not say it was.
    match reply {
        Err(Failure::BrokenPool(why)) => {
            assert!(why.contains('7'), "{why}");
            assert!(
                !why.contains("SIGKILL"),
                "the worker exited with code 7, it was not killed: {why}"
            );
        }
        other => panic!("expected a broken pool, got {other:?}"),
    }
    if let Some(pid) = left {
        panic!("the dead worker {pid} was not reaped");
    }
}

#[test]
fn chunksize_for_edge_cases() {
    let [few, cheap, free] = apart(|| {
        [
            chunksize_for(3, 8, 1e-3, 1e-6, 0.01),
            chunksize_for(1_000_000, 1, 1e-6, 1e-3, 0.05),
            chunksize_for(1_000_000, 2, 1e-4, 0.0, 0.05),
        ]
    });
    assert_eq!(few, 1, "never 0");
    assert_eq!(cheap, 1, "cheap messages: 1");
    assert_eq!(free, 125_000, "free tasks: balance decides");
}
