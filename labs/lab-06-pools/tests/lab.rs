//! Tests of lab 06's pools: right answers in order, panics and deaths
//! reported, workers replaced and always reaped.

use lab_06::process_pool::{PoolOptions, ProcessPool, Transport};
use lab_06::thread_pool::{TaskError, ThreadPool};
use lab_06::*;
use labkit::child::exists;
use std::time::{Duration, Instant};

#[test]
fn the_thread_pool_maps_in_order_and_survives_a_panic() {
    let pool = ThreadPool::new(3).unwrap();
    let results = pool.map(fails_on_three, 0..6u64);
    assert_eq!(results[2], Ok(2));
    assert!(matches!(results[3], Err(TaskError::Panicked(ref m)) if m.contains("three")));
    assert_eq!(pool.submit(|| 41 + 1).result(), Ok(42));
    pool.shutdown(true);
}

#[test]
fn a_pool_of_no_threads_or_workers_is_refused() {
    assert!(ThreadPool::new(0).is_err());
    assert!(process_pool(0).is_err());
    assert!(ThreadPool::default_size() >= 5 && ThreadPool::default_size() <= 32);
}

#[test]
fn the_process_pool_maps_in_order_at_every_chunksize() {
    let mut pool = process_pool(2).unwrap();
    let items: Vec<u64> = (0..1000).collect();
    for chunksize in [1, 7, 100, 5000] {
        let results: Vec<Result<u64, TaskError>> = pool.map("add_one", &items, chunksize).unwrap();
        let values: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            values,
            (1..=1000).collect::<Vec<u64>>(),
            "chunksize {chunksize}"
        );
    }
}

#[test]
fn the_work_really_runs_in_the_workers() {
    let mut pool = process_pool(2).unwrap();
    let pids: Vec<Result<i32, TaskError>> = pool.map("whose", &[0u64; 20], 1).unwrap();
    let workers: Vec<i32> = pool.pids().iter().map(|p| p.as_raw()).collect();
    for pid in pids {
        let pid = pid.unwrap();
        assert!(
            workers.contains(&pid),
            "task ran in {pid}, workers are {workers:?}"
        );
        assert_ne!(pid, std::process::id() as i32);
    }
}

#[test]
fn an_unknown_task_or_a_bad_chunksize_is_refused_before_anything_is_sent() {
    let mut pool = process_pool(1).unwrap();
    let err = pool.map::<u64, u64>("no_such_task", &[1], 1).unwrap_err();
    assert!(err.to_string().contains("no_such_task"), "{err}");
    assert!(pool.map::<u64, u64>("add_one", &[1], 0).is_err());
    assert_eq!(
        pool.map::<u64, u64>("add_one", &[1], 1).unwrap(),
        vec![Ok(2)]
    );
}

#[test]
fn a_panicking_task_fails_alone() {
    let mut pool = process_pool(2).unwrap();
    let (error, others, later) = a_panic_fails_one_task(&mut pool).unwrap();
    assert!(
        matches!(error, Some(TaskError::Panicked(ref m)) if m.contains("three")),
        "{error:?}"
    );
    assert!(others && later);
}

#[test]
fn a_dead_worker_breaks_the_pool_without_a_hang_and_is_reaped() {
    let mut pool = process_pool(2).unwrap();
    let pids = pool.pids();
    let start = Instant::now();
    let (broken, _, refused) = a_dead_worker_breaks_the_pool(&mut pool).unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(broken > 0, "no task failed as broken");
    assert!(refused, "a broken pool took new work");
    assert!(
        pool.broken().unwrap().contains("SIGKILL"),
        "{:?}",
        pool.broken()
    );
    drop(pool);
    for pid in pids {
        assert!(!exists(pid), "worker {pid} was left behind");
    }
}

#[test]
fn workers_are_replaced_after_their_budget() {
    // 40 tasks, 2 workers, 5 tasks each: 8 processes.
    assert_eq!(workers_used(5).unwrap(), 8);
}

#[test]
fn shutdown_ends_and_reaps_every_worker() {
    let pool = ProcessPool::new(registry(), PoolOptions::workers(3)).unwrap();
    let pids = pool.pids();
    let statuses = pool.shutdown(Duration::from_secs(5));
    assert_eq!(statuses.len(), 3);
    for status in statuses {
        assert!(
            matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)),
            "{status:?}"
        );
    }
    for pid in pids {
        assert!(!exists(pid), "worker {pid} was left behind");
    }
}

#[test]
fn a_pool_dropped_during_a_panic_leaves_no_worker() {
    let pids = std::panic::catch_unwind(|| {
        let pool = process_pool(2).unwrap();
        let pids = pool.pids();
        std::panic::panic_any(pids);
    })
    .unwrap_err();
    let pids = pids.downcast::<Vec<nix::unistd::Pid>>().unwrap();
    for pid in pids.iter() {
        assert!(!exists(*pid), "worker {pid} was left behind");
    }
}

#[test]
fn a_task_given_the_wrong_types_is_refused() {
    let mut pool = process_pool(1).unwrap();
    let err = pool.map::<i32, u64>("add_one", &[1, 2], 1).unwrap_err();
    assert!(err.to_string().contains("u64"), "{err}");
    let err = pool.map::<u64, i64>("add_one", &[1, 2], 1).unwrap_err();
    assert!(err.to_string().contains("u64"), "{err}");
}

#[test]
fn a_thread_per_task_gives_the_same_answers() {
    assert_eq!(thread_per_task(&[1, 2, 3], add_one), vec![2, 3, 4]);
}

fn ring_pool(workers: usize, max_tasks_per_child: Option<usize>) -> ProcessPool {
    let options = PoolOptions {
        transport: Transport::SharedMemory,
        max_tasks_per_child,
        ..PoolOptions::workers(workers)
    };
    ProcessPool::new(registry(), options).unwrap()
}

#[test]
fn the_shared_memory_pool_maps_in_order_at_every_chunksize() {
    let mut pool = ring_pool(2, None);
    let items: Vec<u64> = (0..3000).collect();
    for chunksize in [1, 7, 100, 5000] {
        let results: Vec<Result<u64, TaskError>> = pool.map("add_one", &items, chunksize).unwrap();
        let values: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            values,
            (1..=3000).collect::<Vec<u64>>(),
            "chunksize {chunksize}"
        );
    }
}

#[test]
fn a_dead_worker_breaks_the_shared_memory_pool_too() {
    let mut pool = ring_pool(2, None);
    let pids = pool.pids();
    let start = Instant::now();
    let (broken, _, refused) = a_dead_worker_breaks_the_pool(&mut pool).unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(broken > 0 && refused);
    drop(pool);
    for pid in pids {
        assert!(!exists(pid), "worker {pid} was left behind");
    }
}

#[test]
fn shared_memory_workers_are_replaced_and_all_reaped() {
    let mut pool = ring_pool(2, Some(5));
    let pids: Vec<i32> = pool
        .map("whose", &[0u64; 40], 1)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut distinct = pids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 8);
    let statuses = pool.shutdown(Duration::from_secs(5));
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s, nix::sys::wait::WaitStatus::Exited(_, 0))),
        "{statuses:?}"
    );
    for pid in distinct {
        assert!(
            !exists(nix::unistd::Pid::from_raw(pid)),
            "worker {pid} was left behind"
        );
    }
}

#[test]
fn a_worker_killed_between_maps_breaks_the_next_map() {
    for transport in [Transport::Pipes, Transport::SharedMemory] {
        let options = PoolOptions {
            transport,
            ..PoolOptions::workers(2)
        };
        let mut pool = ProcessPool::new(registry(), options).unwrap();
        let victim = pool.pids()[0];
        nix::sys::signal::kill(victim, nix::sys::signal::Signal::SIGKILL).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        let results: Vec<Result<u64, TaskError>> = pool
            .map("add_one", &(0..100).collect::<Vec<u64>>(), 1)
            .unwrap();
        assert!(start.elapsed() < Duration::from_secs(5), "{transport:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(TaskError::BrokenPool(_)))),
            "{transport:?}: no task failed as broken"
        );
        assert!(
            pool.broken().is_some_and(|why| why.contains("SIGKILL")),
            "{transport:?}"
        );
    }
}
