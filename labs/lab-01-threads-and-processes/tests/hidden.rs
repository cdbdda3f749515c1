//! Graded tests for lab 01's exercises that only instructors see: the student
//! edition does not contain this file.

use lab_01::exercises::{run_in_a_child, run_in_a_thread, sum_in_threads};
use labkit::testing::forked_during;
use nix::sys::signal::kill;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

#[test]
fn run_in_a_thread_moves_owned_data_in_and_out() {
    let words = ["a".to_string(), "b".to_string()];
    let joined = run_in_a_thread(move || words.concat());
    assert_eq!(joined, "ab");
}

#[test]
fn run_in_a_child_has_its_own_memory() {
    // A thread posing as a child would change this counter; a real child
    // changes only its own copy.
    let counter = AtomicU64::new(7);
    let output = run_in_a_child(|| counter.fetch_add(1, Ordering::SeqCst) + 1).unwrap();
    assert_eq!(
        output.value, 8,
        "the child should see the parent's 7 and add 1"
    );
    assert_eq!(
        counter.load(Ordering::SeqCst),
        7,
        "the parent's memory was changed: not a separate process"
    );
}

#[test]
fn run_in_a_child_leaves_no_zombie() {
    // The pid must be a child forked during the call (a made-up pid would
    // also be one that `kill` cannot signal), and gone once it returned.
    let (output, forked) = forked_during(|| run_in_a_child(|| 1).unwrap());
    if let Some(pids) = forked {
        assert!(
            pids.contains(&output.pid.as_raw()),
            "pid {} was not forked by run_in_a_child (pids handed out meanwhile: {pids:?})",
            output.pid
        );
    }
    assert!(
        kill(output.pid, None).is_err(),
        "child {} still exists (a zombie?): wait for it",
        output.pid
    );
}

#[test]
fn run_in_a_child_reports_a_child_that_dies() {
    // The work dies only in another process: a fake that runs it here under
    // `catch_unwind` and turns a panic into an error gets a value instead.
    let parent = std::process::id();
    let result = run_in_a_child(move || {
        assert_eq!(std::process::id(), parent, "the work failed");
        1
    });
    assert!(
        result.is_err(),
        "a child that died must give an error, got {result:?}"
    );
}

#[test]
fn sum_in_threads_uses_one_thread_per_chunk() {
    let numbers: Vec<u64> = (0..3000).collect();
    let threads = Mutex::new(HashSet::new());
    let total = sum_in_threads(&numbers, 3, |chunk| {
        threads.lock().unwrap().insert(thread::current().id());
        chunk.iter().sum()
    });
    assert_eq!(total, (0..3000).sum::<u64>());
    let used = threads.lock().unwrap();
    assert_eq!(
        used.len(),
        3,
        "expected 3 distinct threads, saw {}",
        used.len()
    );
    assert!(
        !used.contains(&thread::current().id()),
        "a chunk ran in the calling thread"
    );
}

#[test]
fn sum_in_threads_handles_uneven_and_tiny_inputs() {
    let numbers: Vec<u64> = (1..=10).collect();
    assert_eq!(sum_in_threads(&numbers, 3, |c| c.iter().sum()), 55);
    assert_eq!(sum_in_threads(&[5], 4, |c| c.iter().sum()), 5);
    assert_eq!(sum_in_threads(&[], 2, |c| c.iter().sum()), 0);
}
