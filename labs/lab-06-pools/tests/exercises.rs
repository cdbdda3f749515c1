//! Graded tests for lab 06's exercises that students see.
//! Run them with `cargo test -p lab-06 --test exercises`.

use lab_06::exercises::{chunksize_for, map_in_order, reply_or_death};
use lab_06::thread_pool::{TaskError, ThreadPool};
use labkit::child::fork_child;
use nix::unistd::pipe;
use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

fn slow_double(x: u64) -> u64 {
    // Later items finish first: the order must come from the items.
    std::thread::sleep(Duration::from_millis(40 - 4 * x));
    x * 2
}

#[test]
fn map_in_order_keeps_the_items_order() {
    let pool = ThreadPool::new(4).unwrap();
    let results = map_in_order(&pool, slow_double, (0..8).collect());
    let values: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(values, vec![0, 2, 4, 6, 8, 10, 12, 14]);
}

fn thread_name(_: u64) -> String {
    std::thread::current().name().unwrap_or("").to_string()
}

#[test]
fn map_in_order_runs_on_the_pools_threads() {
    let pool = ThreadPool::new(2).unwrap();
    let names = map_in_order(&pool, thread_name, (0..6).collect());
    for name in names {
        let name = name.unwrap();
        assert!(
            name.starts_with("pool-worker-"),
            "a task ran on {name:?}, not a pool thread"
        );
    }
}

#[test]
fn reply_or_death_returns_a_reply() {
    let (reader, writer) = pipe().unwrap();
    let worker = fork_child(move || {
        let mut out = File::from(writer);
        let _ = out.write_all(&3u32.to_le_bytes());
        let _ = out.write_all(b"abc");
        0
    })
    .unwrap();
    let reply = reply_or_death(&mut File::from(reader), worker);
    assert_eq!(reply, Ok(b"abc".to_vec()));
}

#[test]
fn reply_or_death_reports_a_killed_worker_at_once() {
    let (reader, writer) = pipe().unwrap();
    let worker = fork_child(move || {
        let _keep = writer; // holds the write end until it dies
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        0
    })
    .unwrap();
    let start = Instant::now();
    let reply = reply_or_death(&mut File::from(reader), worker);
    match reply {
        Err(TaskError::BrokenPool(why)) => assert!(why.contains("SIGKILL"), "{why}"),
        other => panic!("expected a broken pool, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn chunksize_for_meets_the_overhead() {
    // 50 µs a message, 10 µs a task, 6% allowed: 83.3, so 84 tasks a chunk.
    assert_eq!(chunksize_for(100_000, 2, 50e-6, 10e-6, 0.06), 84);
}

#[test]
fn chunksize_for_keeps_every_worker_busy() {
    // 100 tasks on 4 workers: at most 6 a chunk (≥ 4 chunks each).
    assert_eq!(chunksize_for(100, 4, 50e-6, 1e-6, 0.01), 6);
}
