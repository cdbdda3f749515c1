//! Lab 01 exercises. Replace each `todo!` with your code, then check your work
//! with `cargo test -p lab-01 --test exercises`.
//!
//! The tests check *how* the work ran, not only the answer: that it really ran
//! in another thread, really in another process, really in parallel.
// starter: #![allow(unused_imports, unused_variables)]

use anyhow::{Context, Result};
use labkit::child::fork_child;
use nix::unistd::{Pid, pipe};
use std::fs::File;
use std::io::{Read, Write};
use std::thread;

// The book shows each exercise's documentation and signature (the anchors
// end before the body, so the solutions are never published).

// ANCHOR: exercise_thread
/// Exercise 1 — a value back from a thread.
///
/// Run `work` in a new thread and return what it returned. The caller must get
/// the value through the thread's `JoinHandle`: no shared variables needed.
pub fn run_in_a_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    // ANCHOR_END: exercise_thread
    // solution:begin
    let handle = thread::spawn(work);
    handle.join().expect("the thread panicked")
    // solution:end
    // starter: todo!("spawn a thread that runs `work`, join it, and return its value")
}

/// What a child process sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildOutput {
    /// The value `work` returned in the child.
    pub value: u64,
    /// The child's process id.
    pub pid: Pid,
}

// ANCHOR: exercise_child
/// Exercise 2 — a result back from a child process.
///
/// Fork a child that runs `work` and sends the value back through a pipe;
/// read it in the parent, wait for the child (no zombie may be left), and
/// return the value with the child's pid. If the child fails or dies before
/// sending its value, return an error — never hang, never panic.
///
/// Hint: `nix::unistd::pipe`, `labkit::child::fork_child`, `u64::to_le_bytes`.
pub fn run_in_a_child(work: impl FnOnce() -> u64) -> Result<ChildOutput> {
    // ANCHOR_END: exercise_child
    // solution:begin
    let (reader, writer) = pipe().context("pipe failed")?;
    let child = fork_child(move || {
        let value = work();
        i32::from(File::from(writer).write_all(&value.to_le_bytes()).is_err())
    })?;
    let pid = child.pid();
    let mut bytes = [0u8; 8];
    let sent = File::from(reader).read_exact(&mut bytes);
    child.wait_success()?;
    sent.context("the child ended without sending its value")?;
    Ok(ChildOutput {
        value: u64::from_le_bytes(bytes),
        pid,
    })
    // solution:end
    // starter: todo!("fork a child that runs `work` and writes the value into a pipe; read it, wait for the child")
}

// ANCHOR: exercise_parallel
/// Exercise 3 — really in parallel.
///
/// Split `numbers` into `workers` chunks of (nearly) equal size, sum each
/// chunk with `sum_chunk` in its own thread, all at the same time, and return
/// the total. `workers` is at least 1.
///
/// Hint: `slice::chunks`, `std::thread::scope`.
pub fn sum_in_threads(
    numbers: &[u64],
    workers: usize,
    sum_chunk: impl Fn(&[u64]) -> u64 + Sync,
) -> u64 {
    // ANCHOR_END: exercise_parallel
    // solution:begin
    let chunk_size = numbers.len().div_ceil(workers.max(1)).max(1);
    thread::scope(|scope| {
        let handles: Vec<_> = numbers
            .chunks(chunk_size)
            .map(|chunk| scope.spawn(|| sum_chunk(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a chunk panicked"))
            .sum()
    })
    // solution:end
    // starter: todo!("sum each chunk in its own scoped thread, then add up the partial sums")
}
