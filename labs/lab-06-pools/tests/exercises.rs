//! Graded tests for lab 06's exercises that students see.
//! Run them with `cargo test -p lab-06 --test exercises`.
//!
//! Each test runs the exercise in a process of its own (`apart`) and judges
//! what comes back here: what the exercise prints, or an `exit`, cannot
//! pass a test. (What your code prints is not shown.)

mod common;

use common::{Failure, plain};
use lab_06::exercises::{chunksize_for, map_bounded, reply_or_death};
use lab_06::thread_pool::ThreadPool;
use labkit::child::fork_child;
use labkit::testing::apart;
use nix::unistd::pipe;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn slow_double(x: u64) -> u64 {
    // Later items finish first: the order must come from the items.
    std::thread::sleep(Duration::from_millis(40 - 4 * x));
    x * 2
}

#[test]
fn map_bounded_keeps_the_items_order() {
    let results = apart(|| {
        let pool = ThreadPool::new(4).unwrap();
        plain(map_bounded(&pool, slow_double, 0..8, 3))
    });
    let values: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(values, vec![0, 2, 4, 6, 8, 10, 12, 14]);
}

static PULLED: AtomicUsize = AtomicUsize::new(0);
static FINISHED: AtomicUsize = AtomicUsize::new(0);

fn slow_and_counted(x: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(20));
    FINISHED.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn map_bounded_takes_items_only_as_it_submits_them() {
    let limit = 2;
    // (how many results, the most items taken ahead of the finished tasks:
    // taken, finished when it was)
    let (results, ahead) = apart(|| {
        let pool = ThreadPool::new(4).unwrap();
        let mut ahead = (0, 0);
        let items = (0..20u64).inspect(|_| {
            let pulled = PULLED.fetch_add(1, Ordering::SeqCst) + 1;
            let finished = FINISHED.load(Ordering::SeqCst);
            if pulled - finished > ahead.0 - ahead.1 {
                ahead = (pulled, finished);
            }
        });
        let results = map_bounded(&pool, slow_and_counted, items, limit).len();
        (results, ahead)
    });
    // At most `limit` pending, plus the item just taken.
    let (pulled, finished) = ahead;
    assert!(
        pulled - finished <= limit + 1,
        "{pulled} items taken while only {finished} tasks finished (limit {limit})"
    );
    assert_eq!(results, 20);
}

#[test]
fn reply_or_death_returns_a_reply() {
    let reply = apart(|| {
        let (reader, writer) = pipe().unwrap();
        let worker = fork_child(move || {
            let mut out = File::from(writer);
            let _ = out.write_all(&3u32.to_le_bytes());
            let _ = out.write_all(b"abc");
            0
        })
        .unwrap();
        plain(reply_or_death(&mut File::from(reader), worker))
    });
    assert_eq!(reply, Ok(b"abc".to_vec()));
}

#[test]
fn reply_or_death_reports_a_killed_worker_at_once() {
    // (the reply, how long it took to come)
    let (reply, took) = apart(|| {
        let (reader, writer) = pipe().unwrap();
        let worker = fork_child(move || {
            let _keep = writer; // holds the write end until it dies
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
            0
        })
        .unwrap();
        let start = Instant::now();
        let reply = reply_or_death(&mut File::from(reader), worker);
        (plain(reply), start.elapsed())
    });
    match reply {
        Err(Failure::BrokenPool(why)) => assert!(why.contains("SIGKILL"), "{why}"),
        other => panic!("expected a broken pool, got {other:?}"),
    }
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn chunksize_for_meets_the_overhead() {
    // 50 µs a message, 10 µs a task, 6% allowed: 83.3, so 84 tasks a chunk.
    assert_eq!(apart(|| chunksize_for(100_000, 2, 50e-6, 10e-6, 0.06)), 84);
}

#[test]
fn chunksize_for_keeps_every_worker_busy() {
    // 100 tasks on 4 workers: at most 6 a chunk (≥ 4 chunks each).
    assert_eq!(apart(|| chunksize_for(100, 4, 50e-6, 1e-6, 0.01)), 6);
}
