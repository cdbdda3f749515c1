//! Tests of lab 10's teaching code: the job's parts give the right answers,
//! every implementation gives the sequential answer, the concurrency is
//! real (the server sees the requests overlap; a process per item forks),
//! and the prediction model behaves.

use lab_10::model::{Costs, predict};
use lab_10::server::{ITEM_BYTES, ItemServer, MAX_DELAY, fetch, item_bytes};
use lab_10::*;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The tests run one at a time: a child forked by one test must not
/// inherit another test's locks held, and the server's counts must be
/// one test's alone.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn small_job(server: &ItemServer, items: u32) -> Job {
    Job {
        server: server.address(),
        items,
        rounds: 300,
    }
}

#[test]
fn transform_with_no_extra_round_is_sha256() {
    // The test vector of FIPS 180-2 for "abc".
    assert_eq!(
        hex(&transform(b"abc", 0)),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(transform(b"abc", 2), sha256(&sha256(&sha256(b"abc"))));
}

#[test]
fn combining_is_the_same_in_any_order() {
    let digests: Vec<Digest> = (0..5).map(|i| sha256(&[i])).collect();
    let forward = digests.iter().copied().fold(ZERO, combine);
    let backward = digests.iter().rev().copied().fold(ZERO, combine);
    assert_eq!(forward, backward);
    assert_eq!(combine(forward, forward), ZERO);
}

#[test]
fn the_server_sends_each_item_after_its_delay() {
    let _one = one_at_a_time();
    let server = ItemServer::start(Duration::from_millis(30)).unwrap();
    let start = std::time::Instant::now();
    let item = fetch(server.address(), 7).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(item.len(), ITEM_BYTES);
    assert_eq!(item, item_bytes(7));
    assert_ne!(item_bytes(7), item_bytes(8));
    assert_eq!(server.served(), 1);
    assert!(
        ItemServer::start(MAX_DELAY * 2).is_err(),
        "a delay beyond the limit"
    );
}

#[test]
fn every_implementation_gives_the_sequential_answer() {
    let _one = one_at_a_time();
    let server = ItemServer::start(Duration::from_millis(2)).unwrap();
    let job = small_job(&server, 9);
    let mut pools = Pools::new(2).unwrap();
    let expected = job.expected();
    for which in Implementation::ALL {
        assert_eq!(pools.run(which, &job).unwrap(), expected, "{which:?}");
    }
    assert_eq!(server.served(), 9 * Implementation::ALL.len());
}

#[test]
fn sequential_asks_for_one_item_at_a_time_and_a_thread_per_item_for_all() {
    let _one = one_at_a_time();
    let server = ItemServer::start(Duration::from_millis(20)).unwrap();
    let job = small_job(&server, 8);
    sequential(&job).unwrap();
    assert_eq!(server.most_at_once(), 1);
    server.reset_counts();
    thread_per_item(&job).unwrap();
    assert_eq!(server.most_at_once(), 8);
    server.reset_counts();
    let hashers = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    hybrid(&job, &hashers).unwrap();
    assert_eq!(server.most_at_once(), 8, "the hybrid's waits overlap too");
    server.reset_counts();
    in_rayon(&job, &hashers).unwrap();
    assert_eq!(server.most_at_once(), 2, "rayon's two threads wait in turn");
}

#[test]
fn a_process_per_item_forks_a_child_per_item() {
    let _one = one_at_a_time();
    let server = ItemServer::start(Duration::from_millis(2)).unwrap();
    let job = small_job(&server, 6);
    let (digest, pids) = labkit::testing::forked_during(|| process_per_item(&job).unwrap());
    assert_eq!(digest, job.expected());
    if let Some(pids) = pids {
        assert!(pids.len() > 6, "pids handed out meanwhile: {pids:?}");
    }
}

#[test]
fn a_failing_item_is_an_error_in_every_model() {
    let _one = one_at_a_time();
    // A server that is gone: nothing answers on its port.
    let address = ItemServer::start(Duration::ZERO).unwrap().address();
    let job = Job {
        server: address,
        items: 3,
        rounds: 1,
    };
    let mut pools = Pools::new(2).unwrap();
    for which in Implementation::ALL {
        assert!(pools.run(which, &job).is_err(), "{which:?}");
    }
}

#[test]
fn rounds_are_sized_to_the_time_asked_for() {
    let _one = one_at_a_time();
    let rounds = rounds_for(0.01);
    assert!(rounds > 100, "{rounds} rounds in 10 ms");
    let item = item_bytes(0);
    let (seconds, _) = labkit::timing::time(|| transform(&item, rounds));
    assert!(seconds < 0.2, "10 ms of rounds took {seconds} s");
}

#[test]
fn the_model_predicts_the_sequential_time_exactly_and_never_less_for_fewer_slots() {
    let costs = Costs {
        items: 32,
        wait_s: 0.0036,
        cpu_s: 0.0004,
        request_s: 100e-6,
        thread_s: 150e-6,
        fork_s: 900e-6,
        cores: 2,
        efficiency: 0.85,
    };
    let sizes = Sizes {
        thread_pool: 6,
        workers: 2,
    };
    let time = |which: Implementation| predict(&costs, which.shape(&costs, sizes));
    assert!((time(Implementation::Sequential) - 32.0 * 0.004).abs() < 1e-12);
    // Mostly waiting: the more items in flight, the faster.
    assert!(time(Implementation::ThreadPerItem) < time(Implementation::ThreadPool));
    assert!(time(Implementation::ThreadPool) < time(Implementation::ProcessPool));
    // A fork costs more than a thread, and starting is on the critical path.
    assert!(time(Implementation::ThreadPerItem) < time(Implementation::ProcessPerItem));
    assert!(time(Implementation::Hybrid) <= time(Implementation::ProcessPerItem));
}
