//! Graded tests for lab 01's exercises that students see.
//! Run them with `cargo test -p lab-01 --test exercises`.

use lab_01::exercises::{run_in_a_child, run_in_a_thread, sum_in_threads};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

#[test]
fn run_in_a_thread_returns_the_value() {
    assert_eq!(run_in_a_thread(|| (1..=100u64).sum::<u64>()), 5050);
}

#[test]
fn run_in_a_thread_runs_in_another_thread() {
    let caller = thread::current().id();
    let worker = run_in_a_thread(|| thread::current().id());
    assert_ne!(
        worker, caller,
        "the work ran in the calling thread, not a new one"
    );
}

#[test]
fn run_in_a_child_returns_the_value() {
    let output = run_in_a_child(|| (1..=100u64).sum()).expect("the child's value");
    assert_eq!(output.value, 5050);
}

#[test]
fn run_in_a_child_runs_in_another_process() {
    let output = run_in_a_child(|| u64::from(std::process::id())).expect("the child's value");
    assert_ne!(
        output.value,
        u64::from(std::process::id()),
        "the work ran in this process"
    );
    assert_eq!(
        output.value,
        output.pid.as_raw() as u64,
        "the pid returned is not the child's"
    );
}

/// A `sum_chunk` that also measures how many calls ran at the same time: each
/// call waits (up to a limit) until `workers` calls are in flight together.
/// It records each call's thread and chunk too: a fake could meet here with
/// empty slices and add the numbers up itself, in the calling thread.
struct Rendezvous {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    workers: usize,
    calls: Mutex<Vec<(ThreadId, Vec<u64>)>>,
}

impl Rendezvous {
    fn new(workers: usize) -> Self {
        Rendezvous {
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            workers,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn sum(&self, chunk: &[u64]) -> u64 {
        self.calls
            .lock()
            .unwrap()
            .push((thread::current().id(), chunk.to_vec()));
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let start = Instant::now();
        while self.in_flight.load(Ordering::SeqCst) < self.workers
            && self.peak.load(Ordering::SeqCst) < self.workers
            && start.elapsed() < Duration::from_secs(1)
        {
            thread::sleep(Duration::from_millis(1));
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        chunk.iter().sum()
    }
}

#[test]
fn sum_in_threads_adds_up() {
    let numbers: Vec<u64> = (1..=1000).collect();
    assert_eq!(sum_in_threads(&numbers, 4, |c| c.iter().sum()), 500_500);
}

#[test]
fn sum_in_threads_runs_the_chunks_at_the_same_time() {
    let numbers: Vec<u64> = (1..=1000).collect();
    let meeting = Rendezvous::new(4);
    assert_eq!(sum_in_threads(&numbers, 4, |c| meeting.sum(c)), 500_500);
    let peak = meeting.peak.load(Ordering::SeqCst);
    assert_eq!(
        peak, 4,
        "only {peak} chunk(s) were summed at the same time, expected 4"
    );
    // The 4 calls that met must have been the work itself: 4 chunks, none
    // empty, that together are the input, each summed outside the caller.
    // Calls on empty slices, with the numbers added up by the caller, meet
    // as well, but sum nothing.
    let calls = meeting.calls.into_inner().unwrap();
    let sizes: Vec<usize> = calls.iter().map(|(_, chunk)| chunk.len()).collect();
    assert_eq!(
        calls.len(),
        4,
        "sum_chunk was called {} times (chunk sizes {sizes:?}), expected once per chunk",
        calls.len()
    );
    assert!(
        sizes.iter().all(|&size| size > 0),
        "sum_chunk got an empty chunk (chunk sizes {sizes:?}): each thread should sum a quarter of the numbers"
    );
    let mut summed: Vec<u64> = calls.iter().flat_map(|(_, chunk)| chunk.clone()).collect();
    summed.sort_unstable();
    assert!(
        summed == numbers,
        "the chunks given to sum_chunk (sizes {sizes:?}) are not the numbers, each once"
    );
    let caller = thread::current().id();
    assert!(
        calls.iter().all(|(thread, _)| *thread != caller),
        "a chunk was summed in the calling thread"
    );
}
