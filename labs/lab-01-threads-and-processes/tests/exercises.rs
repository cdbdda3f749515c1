//! Graded tests for lab 01's exercises that students see.
//! Run them with `cargo test -p lab-01 --test exercises`.
//!
//! Each test runs the exercise in a process of its own (`apart`) and judges
//! what comes back here: what the exercise prints, or an `exit`, cannot
//! pass a test. (What your code prints is not shown; return it instead, or
//! try it in `cargo run -p lab-01`.)

use lab_01::exercises::{run_in_a_child, run_in_a_thread, sum_in_threads};
use labkit::testing::apart;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

#[test]
fn run_in_a_thread_returns_the_value() {
    let value = apart(|| run_in_a_thread(|| (1..=100u64).sum::<u64>()));
    assert_eq!(value, 5050);
}

#[test]
fn run_in_a_thread_runs_in_another_thread() {
    let (caller, worker) = apart(|| {
        let caller = format!("{:?}", thread::current().id());
        (
            caller,
            run_in_a_thread(|| format!("{:?}", thread::current().id())),
        )
    });
    assert_ne!(
        worker, caller,
        "the work ran in the calling thread, not a new one"
    );
}

#[test]
fn run_in_a_child_returns_the_value() {
    let value = apart(|| {
        run_in_a_child(|| (1..=100u64).sum())
            .map(|output| output.value)
            .map_err(|err| format!("{err:#}"))
    });
    assert_eq!(value.expect("the child's value"), 5050);
}

#[test]
fn run_in_a_child_runs_in_another_process() {
    // (the calling process, the value the work returned: its process, the pid returned)
    let (caller, output) = apart(|| {
        let output = run_in_a_child(|| u64::from(std::process::id()))
            .map(|output| (output.value, output.pid.as_raw() as u64))
            .map_err(|err| format!("{err:#}"));
        (u64::from(std::process::id()), output)
    });
    let (ran_in, pid) = output.expect("the child's value");
    assert_ne!(ran_in, caller, "the work ran in this process");
    assert_eq!(ran_in, pid, "the pid returned is not the child's");
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
    let total = apart(|| sum_in_threads(&numbers, 4, |c| c.iter().sum()));
    assert_eq!(total, 500_500);
}

#[test]
fn sum_in_threads_runs_the_chunks_at_the_same_time() {
    let numbers: Vec<u64> = (1..=1000).collect();
    // The total, the most calls in flight at once, and each call's chunk
    // with whether it ran in the calling thread.
    let (total, peak, calls) = apart(|| {
        let meeting = Rendezvous::new(4);
        let total = sum_in_threads(&numbers, 4, |c| meeting.sum(c));
        let peak = meeting.peak.load(Ordering::SeqCst);
        let caller = thread::current().id();
        let calls: Vec<(bool, Vec<u64>)> = (meeting.calls.into_inner().unwrap())
            .into_iter()
            .map(|(thread, chunk)| (thread == caller, chunk))
            .collect();
        (total, peak, calls)
    });
    assert_eq!(total, 500_500);
    assert_eq!(
        peak, 4,
        "only {peak} chunk(s) were summed at the same time, expected 4"
    );
    // The 4 calls that met must have been the work itself: 4 chunks, none
    // empty, that together are the input, each summed outside the caller.
    // Calls on empty slices, with the numbers added up by the caller, meet
    // as well, but sum nothing.
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
    assert!(
        calls.iter().all(|(in_the_caller, _)| !in_the_caller),
        "a chunk was summed in the calling thread"
    );
}
