//! Graded tests for lab 10's exercises that only instructors see: the student
//! edition does not contain this file. As in `exercises.rs`, each runs the
//! exercise in a process of its own (`apart`, `apart_within`) and judges
//! what comes back.

mod common;

use common::{LIMIT, chosen, job, one_at_a_time};
use lab_10::exercises::{PipelineCosts, predict_pipeline, run_job};
use lab_10::{ZERO, hex};
use labkit::testing::{apart, apart_within};
use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, waitpid};

#[test]
fn run_job_with_one_connection_asks_for_one_item_at_a_time() {
    let _one = one_at_a_time();
    let (server, job) = job(0.8, 6, 5.0);
    let expected = hex(&job.expected());
    let answer = apart_within(LIMIT, move || run_job(&job, 1).map(|d| hex(&d)).ok());
    assert_eq!(answer, Some(expected));
    assert_eq!(server.served(), 6, "the server sent every item once");
    assert_eq!(server.most_at_once(), 1, "one connection allowed");
}

#[test]
fn run_job_with_more_connections_than_items() {
    let _one = one_at_a_time();
    // Waits of 36 ms: long enough for three requests to meet at the server
    // even when a thread starts late on a busy machine.
    let (server, job) = job(0.9, 3, 40.0);
    let expected = hex(&job.expected());
    let answer = apart_within(LIMIT, move || {
        let answer = run_job(&job, 16).map(|d| hex(&d)).ok();
        // No child of this process may be left, ended or not.
        let clean = matches!(
            waitpid(None, Some(WaitPidFlag::WNOHANG)),
            Err(Errno::ECHILD)
        );
        (answer, clean)
    });
    assert_eq!(
        answer,
        (Some(expected), true),
        "(the answer, no child left behind)"
    );
    assert_eq!(server.served(), 3);
    assert_eq!(server.most_at_once(), 3, "all three items at once");
}

#[test]
fn run_job_of_no_items_is_the_empty_combination() {
    let _one = one_at_a_time();
    let (server, job) = job(0.5, 0, 2.0);
    let answer = apart_within(LIMIT, move || run_job(&job, 4).map(|d| hex(&d)).ok());
    assert_eq!(answer, Some(hex(&ZERO)));
    assert_eq!(server.served(), 0);
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
fn predict_a_pipeline_short_of_cores_or_hashers() {
    let _one = one_at_a_time();
    // 8 hashers on 2 cores hash 2 at a time; 1 hasher, one at a time.
    let predicted = apart(|| {
        let many = PipelineCosts { cores: 16, ..COSTS };
        [
            predict_pipeline(&COSTS, 10, 8),
            predict_pipeline(&COSTS, 10, 1),
            predict_pipeline(&many, 10, 5),
        ]
    });
    for (predicted, expected) in predicted.into_iter().zip([0.0151, 0.0201, 0.0121]) {
        assert!(
            close(predicted, expected),
            "predicted {predicted}, expected {expected}"
        );
    }
}

#[test]
fn predict_a_pipeline_of_one_item_or_none() {
    let _one = one_at_a_time();
    let (of_one, of_none) = apart(|| {
        let one = PipelineCosts { items: 1, ..COSTS };
        let none = PipelineCosts { items: 0, ..COSTS };
        (predict_pipeline(&one, 4, 2), predict_pipeline(&none, 4, 2))
    });
    assert!(
        close(of_one, 0.0111),
        "predicted {of_one} for one item, expected 0.0111"
    );
    assert_eq!(of_none, 0.0, "no items");
}

#[test]
fn predict_a_pipeline_with_more_fetchers_than_items() {
    let _one = one_at_a_time();
    // Only 10 fetchers are started for 10 items.
    let (fast, slow) = apart(|| {
        let slow_starts = PipelineCosts {
            start_s: 0.002,
            ..COSTS
        };
        (
            predict_pipeline(&COSTS, 50, 2),
            predict_pipeline(&slow_starts, 50, 2),
        )
    });
    assert!(close(fast, 0.0151), "predicted {fast}, expected 0.0151");
    assert!(
        close(slow, 0.031),
        "with slow starts: predicted {slow}, expected 0.031"
    );
}

#[test]
fn choose_threads_without_a_gil() {
    let _one = one_at_a_time();
    assert_eq!(chosen(0.0005, 0.02, 8, false), "Threads");
}

#[test]
fn choose_threads_on_one_core() {
    let _one = one_at_a_time();
    assert_eq!(chosen(0.0005, 0.02, 1, true), "Threads");
}

#[test]
fn choose_at_the_edges_of_a_mix() {
    let _one = one_at_a_time();
    let mix = |wait_s, cpu_s| chosen(wait_s, cpu_s, 4, true);
    assert_eq!(mix(0.0002, 0.0098), "Processes");
    assert_eq!(mix(0.002, 0.008), "Hybrid");
    assert_eq!(mix(0.008, 0.002), "Hybrid");
    assert_eq!(mix(0.0098, 0.0002), "Threads");
    // Either side of the tenth: 9% and 11% of the item computing...
    assert_eq!(mix(0.0091, 0.0009), "Threads");
    assert_eq!(mix(0.0089, 0.0011), "Hybrid");
    // ...and 9% and 11% of it waiting.
    assert_eq!(mix(0.0009, 0.0091), "Processes");
    assert_eq!(mix(0.0011, 0.0089), "Hybrid");
}
