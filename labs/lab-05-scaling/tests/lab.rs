//! Tests of lab 05's teaching functions: right answers, the work really ran
//! in other threads and processes, and no child is left behind.

use lab_05::*;
use labkit::testing::forked_during;
use std::time::{Duration, Instant};

#[test]
fn compute_result_is_what_compute_returns() {
    for n in [0, 1, 2, 10, 12_345] {
        assert_eq!(compute(n), compute_result(n), "n = {n}");
    }
}

#[test]
fn every_task_is_in_exactly_one_share() {
    for workers in 1..9 {
        let mut seen: Vec<usize> = (0..workers).flat_map(|w| share(w, workers, 64)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..64).collect::<Vec<_>>(), "{workers} workers");
    }
}

#[test]
fn a_job_gives_the_same_sum_on_threads_and_processes() {
    let task = |i: usize| i as u64 * 3;
    let expected: u64 = (0..64).map(|i| i * 3).sum();
    for workers in [1, 2, 7, 64] {
        assert_eq!(
            run_job(Model::Threads, workers, 64, &task).unwrap(),
            expected
        );
        let (sum, forked) = forked_during(|| run_job(Model::Processes, workers, 64, &task));
        assert_eq!(sum.unwrap(), expected);
        let forked = forked.expect("the processes' pids were seen");
        assert!(
            forked.len() >= workers,
            "{workers} workers, {forked:?} forked"
        );
    }
}

#[test]
fn waiting_tasks_overlap_on_workers() {
    let start = Instant::now();
    let sum = run_job(Model::Threads, 8, 8, &|_| wait(Duration::from_millis(50))).unwrap();
    assert_eq!(sum, 8);
    assert!(
        start.elapsed() < Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn the_slow_server_answers_after_its_delay() {
    let server = SlowServer::start(Duration::from_millis(40)).unwrap();
    let start = Instant::now();
    assert_eq!(ask(server.address()), 1);
    assert!(start.elapsed() >= Duration::from_millis(40));
    // Many at once are answered at once: a thread per connection.
    let start = Instant::now();
    let address = server.address();
    let sum = run_job(Model::Processes, 16, 16, &|_| ask(address)).unwrap();
    assert_eq!(sum, 16);
    assert!(
        start.elapsed() < Duration::from_millis(16 * 40),
        "{:?}",
        start.elapsed()
    );
    drop(server);
    assert_eq!(ask(address), 0, "a stopped server answers nothing");
}

#[test]
fn worker_counts_include_the_runs_workers_and_stop_at_the_maximum() {
    assert_eq!(worker_counts(2, 64), [1, 2, 4, 8, 16, 64]);
    assert_eq!(worker_counts(6, 10), [1, 2, 4, 6, 8]);
    assert_eq!(worker_counts(2, 2), [1, 2]);
    assert_eq!(tasks_for(64), 64);
    assert_eq!(tasks_for(200), 200);
}

#[test]
fn amdahl_and_its_fit_agree() {
    assert!((amdahl(0.0, 4.0) - 4.0).abs() < 1e-9);
    assert!((amdahl(1.0, 4.0) - 1.0).abs() < 1e-9);
    let points: Vec<(f64, f64)> = [1.8, 4.0, 8.0].map(|p| (p, amdahl(0.3, p))).to_vec();
    let fitted = fit_serial_fraction(&points).unwrap();
    assert!((fitted - 0.3).abs() < 1e-9, "{fitted}");
    assert_eq!(
        fit_serial_fraction(&[(1.0, 1.0)]),
        None,
        "one worker tells nothing"
    );
}

#[test]
fn the_serial_part_runs_first_and_the_rest_in_threads() {
    assert_eq!(
        serial_then_parallel(1000, 4000, 4),
        compute_result(1000).wrapping_add(compute_result(1000).wrapping_mul(4))
    );
}

#[test]
fn memory_sums_agree() {
    let values: Vec<u64> = (0..100_003).collect();
    let expected = compute_result(100_003);
    assert_eq!(sum_memory(&values), expected);
    for workers in [1, 2, 3, 8] {
        assert_eq!(sum_memory_in_threads(&values, workers), expected);
    }
}

#[test]
fn oversubscribed_workers_report_their_waiting() {
    let (waited, _) = oversubscribe(Model::Threads, 8, 8, 200_000).unwrap();
    assert!(waited >= 0.0);
    let (waited, _) = oversubscribe(Model::Processes, 4, 8, 200_000).unwrap();
    assert!(waited >= 0.0);
}

#[test]
fn pinned_processes_do_not_move() {
    assert_eq!(placed_processes(2, 2_000_000, true).unwrap(), 0);
}

#[test]
fn an_impossible_worker_count_is_refused() {
    use nix::sys::resource::{Resource, getrlimit};
    let (soft, _) = getrlimit(Resource::RLIMIT_NPROC).unwrap();
    if soft != nix::sys::resource::RLIM_INFINITY && soft < 1 << 20 {
        assert!(check_worker_limit(soft as usize).is_err());
    }
    assert!(check_worker_limit(4).is_ok());
}
