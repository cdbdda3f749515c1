//! Graded tests for lab 10's exercises that students see.
//! Run them with `cargo test -p lab-10 --test exercises`.
//!
//! Each test runs your code in a process of its own (`apart`), `run_job`
//! with a deadline (`apart_within`): a hang or a `todo!` fails the test with
//! a message instead of stopping the others, and what comes back is judged
//! here, so what the exercise prints, or an `exit`, cannot pass a test.
//! (What your code prints is not shown.) Every run of `run_job` gets a
//! server of its own, here, which counts what it sent: an answer that did
//! not fetch every item, once, fails.

mod common;

use common::{
    LIMIT, assert_parallel_speedup, assert_ran_fairly, chosen, job, one_at_a_time, speed,
};
use lab_10::exercises::{PipelineCosts, predict_pipeline, run_job};
use lab_10::hex;
use labkit::testing::{apart, apart_within};

#[test]
fn run_job_gives_the_sequential_answer() {
    let _one = one_at_a_time();
    let (server, job) = job(0.5, 12, 2.0);
    let expected = hex(&job.expected());
    let answer = apart_within(LIMIT, move || {
        run_job(&job, 3)
            .map(|d| hex(&d))
            .map_err(|e| format!("{e:#}"))
    });
    assert_eq!(answer, Ok(expected));
    assert_eq!(
        server.served(),
        12,
        "the server sent {} items; the job has 12",
        server.served()
    );
}

#[test]
fn run_job_keeps_to_its_connections_and_uses_them() {
    let _one = one_at_a_time();
    // Long waits, little hashing: requests that can overlap, do.
    let (server, job) = job(0.95, 12, 20.0);
    let answer = apart_within(LIMIT, move || {
        run_job(&job, 4).map_err(|e| format!("{e:#}")).is_ok()
    });
    assert!(answer, "run_job failed");
    assert_eq!(server.served(), 12, "the server sent 12 items");
    assert_eq!(
        server.most_at_once(),
        4,
        "with 4 connections allowed, the server held {} requests at once",
        server.most_at_once()
    );
}

#[test]
fn run_job_is_much_faster_than_sequential_when_waiting() {
    let _one = one_at_a_time();
    // 90% waiting: overlapping the waits pays on any number of cores.
    let (server, job) = job(0.9, 24, 4.0);
    let delay = server.delay();
    // Up to three measurements, one of which must reach the speedup: a
    // busy spell on a shared machine can slow one (an answer that does not
    // overlap its requests never reaches it); every one must be fair.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let measured = apart_within(LIMIT, move || speed(&job, delay, 5, 1, 8, run_job));
        assert_ran_fairly(&measured, job.items, 8);
        eprintln!(
            "{:.2}× faster than one item after another",
            measured.speedup
        );
        if measured.speedup >= WAITING_SPEEDUP {
            return;
        }
        seen.push(format!("{:.2}×", measured.speedup));
    }
    panic!(
        "{} faster than one item after another with 8 connections, in 3 tries; expected ≥ {WAITING_SPEEDUP}×: do the requests overlap?",
        seen.join(", ")
    );
}

/// Speedup of a mostly-waiting job of 24 items on 8 connections: the ideal
/// is near 8× on any machine.
const WAITING_SPEEDUP: f64 = 3.0;

#[test]
fn run_job_computes_on_several_cores() {
    let _one = one_at_a_time();
    // 90% hashing: only hashing on several cores at once pays.
    let (server, job) = job(0.1, 16, 4.0);
    let delay = server.delay();
    assert_parallel_speedup(0.7, job.items, 4, || {
        apart_within(LIMIT, move || speed(&job, delay, 5, 4, 4, run_job))
    });
}

/// Used only inside the tests' children: a value of a type of the
/// exercise's file is never made, or dropped, in the test's own process.
const COSTS: PipelineCosts = PipelineCosts {
    items: 10,
    wait_s: 0.010,
    cpu_s: 0.001,
    start_s: 0.0001,
    cores: 2,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1e-9)
}

#[test]
fn predict_a_pipeline_with_a_fetcher_per_item() {
    let _one = one_at_a_time();
    // Fetching: 10 starts, one wait, one hash = 0.012 s; hashing: a start,
    // a wait, 10 hashes on 2 cores = 0.0151 s.
    let predicted = apart(|| predict_pipeline(&COSTS, 10, 2));
    assert!(
        close(predicted, 0.0151),
        "predicted {predicted}, expected 0.0151"
    );
}

#[test]
fn predict_a_pipeline_short_of_fetchers() {
    let _one = one_at_a_time();
    // 2 fetchers fetch 5 items each: 0.0002 + 0.05 + 0.001.
    let predicted = apart(|| predict_pipeline(&COSTS, 2, 2));
    assert!(
        close(predicted, 0.0512),
        "predicted {predicted}, expected 0.0512"
    );
}

#[test]
fn choose_threads_for_mostly_waiting_work() {
    let _one = one_at_a_time();
    assert_eq!(chosen(0.019, 0.001, 4, true), "Threads");
}

#[test]
fn choose_processes_for_mostly_computing_work_under_a_gil() {
    let _one = one_at_a_time();
    assert_eq!(chosen(0.0005, 0.02, 4, true), "Processes");
}

#[test]
fn choose_the_hybrid_for_a_balanced_job() {
    let _one = one_at_a_time();
    assert_eq!(chosen(0.005, 0.005, 2, true), "Hybrid");
}
