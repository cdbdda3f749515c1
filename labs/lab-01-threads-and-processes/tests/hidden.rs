//! Graded tests for lab 01's exercises that only instructors see: the student
//! edition does not contain this file. As in `exercises.rs`, each runs the
//! exercise in a process of its own (`apart`) and judges what comes back.

use lab_01::exercises::{run_in_a_child, run_in_a_thread, sum_in_threads};
use labkit::testing::{apart, forked_during};
use nix::sys::signal::kill;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

#[test]
fn run_in_a_thread_moves_owned_data_in_and_out() {
    let joined = apart(|| {
        let words = ["a".to_string(), "b".to_string()];
        run_in_a_thread(move || words.concat())
    });
    assert_eq!(joined, "ab");
}

#[test]
fn run_in_a_child_has_its_own_memory() {
    // A thread posing as a child would change this counter; a real child
    // changes only its own copy.
    let (value, after) = apart(|| {
        let counter = AtomicU64::new(7);
        let output = run_in_a_child(|| counter.fetch_add(1, Ordering::SeqCst) + 1)
            .map(|output| output.value)
            .map_err(|err| format!("{err:#}"));
        (output, counter.load(Ordering::SeqCst))
    });
    assert_eq!(
        value.expect("the child's value"),
        8,
        "the child should see the parent's 7 and add 1"
    );
    assert_eq!(
        after, 7,
        "the parent's memory was changed: not a separate process"
    );
}

#[test]
fn run_in_a_child_leaves_no_zombie() {
    // The pid must be a child forked during the call (a made-up pid would
    // also be one that `kill` cannot signal), and gone once it returned.
    // (the pid returned, the pids handed out during the call, whether the
    // pid could still be signalled afterwards)
    let (pid, forked, still_there) = apart(|| {
        let (output, forked) = forked_during(|| run_in_a_child(|| 1).unwrap());
        let still_there = kill(output.pid, None).is_ok();
        (output.pid.as_raw(), forked, still_there)
    });
    if let Some(pids) = forked {
        assert!(
            pids.contains(&pid),
            "pid {pid} was not forked by run_in_a_child (pids handed out meanwhile: {pids:?})"
        );
    }
    assert!(
        !still_there,
        "child {pid} still exists (a zombie?): wait for it"
    );
}

#[test]
fn run_in_a_child_reports_a_child_that_dies() {
    // The work dies only in another process: a fake that runs it here under
    // `catch_unwind` and turns a panic into an error gets a value instead.
    let result = apart(|| {
        let parent = std::process::id();
        run_in_a_child(move || {
            assert_eq!(std::process::id(), parent, "the work failed");
            1
        })
        .map(|output| output.value)
        .map_err(|err| format!("{err:#}"))
    });
    assert!(
        result.is_err(),
        "a child that died must give an error, got {result:?}"
    );
}

#[test]
fn sum_in_threads_uses_one_thread_per_chunk() {
    // Each call's chunk is recorded too: a fake could call sum_chunk on
    // empty slices in 3 threads and add the numbers up in the caller.
    let numbers: Vec<u64> = (0..3000).collect();
    // The total, each chunk summed, how many threads summed them, and
    // whether the calling thread was one of them.
    let (total, chunks, thread_count, in_the_caller) = apart(|| {
        let threads = Mutex::new(HashSet::new());
        let chunks = Mutex::new(Vec::new());
        let total = sum_in_threads(&numbers, 3, |chunk| {
            threads.lock().unwrap().insert(thread::current().id());
            chunks.lock().unwrap().push(chunk.to_vec());
            chunk.iter().sum()
        });
        let threads = threads.into_inner().unwrap();
        let in_the_caller = threads.contains(&thread::current().id());
        (
            total,
            chunks.into_inner().unwrap(),
            threads.len(),
            in_the_caller,
        )
    });
    assert_eq!(total, (0..3000).sum::<u64>());
    let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
    assert!(
        sizes.len() == 3 && sizes.iter().all(|&size| size > 0),
        "expected 3 chunks, none empty; sum_chunk got chunks of sizes {sizes:?}"
    );
    assert_covers(&chunks, &numbers);
    assert_eq!(
        thread_count, 3,
        "expected 3 distinct threads, saw {thread_count}"
    );
    assert!(!in_the_caller, "a chunk ran in the calling thread");
}

#[test]
fn sum_in_threads_handles_uneven_and_tiny_inputs() {
    // The chunks summed must be the input: a fake that adds the numbers up
    // itself and calls sum_chunk on empty slices gets the totals right.
    for (numbers, workers) in [((1..=10).collect::<Vec<u64>>(), 3), (vec![5], 4)] {
        let (total, chunks) = apart(|| {
            let chunks = Mutex::new(Vec::new());
            let total = sum_in_threads(&numbers, workers, |chunk| {
                chunks.lock().unwrap().push(chunk.to_vec());
                chunk.iter().sum()
            });
            (total, chunks.into_inner().unwrap())
        });
        assert_eq!(total, numbers.iter().sum::<u64>(), "{numbers:?}");
        assert_covers(&chunks, &numbers);
    }
    assert_eq!(apart(|| sum_in_threads(&[], 2, |c| c.iter().sum())), 0);
}

/// Checks that the chunks `sum_chunk` was given are `numbers` (sorted, each
/// distinct), each number once.
fn assert_covers(chunks: &[Vec<u64>], numbers: &[u64]) {
    let mut summed: Vec<u64> = chunks.concat();
    summed.sort_unstable();
    let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
    assert!(
        summed == numbers,
        "the chunks given to sum_chunk (sizes {sizes:?}) are not the {} numbers, each once",
        numbers.len()
    );
}
