//! Lab 03 exercises. Replace each `todo!` with your code, then check your work
//! with `cargo test -p lab-03 --test exercises`.
//!
//! The tests check how the data travelled, not only that it arrived: that a
//! `Vec` was moved and not copied, that the echo really was another process,
//! that a counter shared by processes counts every increment.
// starter: #![allow(unused_imports, unused_variables, dead_code)]

use anyhow::{Context, Result};
use labkit::child::fork_child;
use labkit::memory::{Mapping, page_size};
use nix::unistd::{Pid, pipe};
use std::fs::File;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, ThreadId};

// The book shows each exercise's documentation and signature (the anchors
// end before the body, so the solutions are never published).

// ANCHOR: exercise_move
/// Exercise 1 — move, don't copy.
///
/// Send `data` to a new thread through a channel; that thread sends it back
/// together with its own `ThreadId`. Return both. The bytes must never be
/// copied: the `Vec` you return must be the very one you were given (the
/// same heap buffer).
pub fn move_through_a_thread(data: Vec<u8>) -> (Vec<u8>, ThreadId) {
    // ANCHOR_END: exercise_move
    // solution:begin
    let (to_worker, worker_inbox) = std::sync::mpsc::channel::<Vec<u8>>();
    let (to_main, main_inbox) = std::sync::mpsc::channel();
    let worker = thread::spawn(move || {
        if let Ok(data) = worker_inbox.recv() {
            let _ = to_main.send((data, thread::current().id()));
        }
    });
    to_worker.send(data).expect("the worker is alive");
    let answer = main_inbox.recv().expect("the worker answers");
    worker.join().expect("the worker cannot panic");
    answer
    // solution:end
    // starter: todo!("send `data` to a new thread over a channel and get it back with the thread's id")
}

/// What a ping-pong with a child process produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingPong {
    /// The last number the child sent back.
    pub last: u64,
    /// The child's process id.
    pub child: Pid,
}

// ANCHOR: exercise_ping_pong
/// Exercise 2 — ping-pong over pipes.
///
/// Fork a child, and play `rounds` rounds with it over two pipes: send a
/// number (first 0, as 8 little-endian bytes), the child answers with the
/// number plus one, you send that answer back, and so on; the child answers
/// `rounds` times and exits. Return the child's last answer (0 when `rounds`
/// is 0) and its pid. Wait for the child before returning, on every path; a
/// child that dies must give an error, not a hang.
///
/// Careful: the child inherits every file descriptor the parent had at
/// `fork`, the write end of its own input pipe included — so it would never
/// see end-of-file on that pipe. Count the rounds instead.
pub fn ping_pong_over_pipes(rounds: u64) -> Result<PingPong> {
    // ANCHOR_END: exercise_ping_pong
    // solution:begin
    let (child_in, to_child) = pipe().context("pipe failed")?;
    let (from_child, child_out) = pipe().context("pipe failed")?;
    let child = fork_child(move || {
        let (mut input, mut output) = (File::from(child_in), File::from(child_out));
        let mut bytes = [0u8; 8];
        for _ in 0..rounds {
            if input.read_exact(&mut bytes).is_err() {
                return 1;
            }
            let reply = u64::from_le_bytes(bytes) + 1;
            if output.write_all(&reply.to_le_bytes()).is_err() {
                return 1;
            }
        }
        0
    })?;
    let pid = child.pid();
    let (mut output, mut input) = (File::from(to_child), File::from(from_child));
    let mut last = 0u64;
    for _ in 0..rounds {
        output.write_all(&last.to_le_bytes())?;
        let mut bytes = [0u8; 8];
        input
            .read_exact(&mut bytes)
            .context("the child stopped answering")?;
        last = u64::from_le_bytes(bytes);
    }
    child.wait_success()?;
    Ok(PingPong { last, child: pid })
    // solution:end
    // starter: todo!("fork an echo child, play `rounds` rounds over two pipes, wait for it")
}

// ANCHOR: exercise_counter
/// Exercise 3 — a counter that processes share.
///
/// A counter that forked children can add to and the parent can read: it
/// must live in memory that stays shared across `fork` (a `Mapping::shared`),
/// and every `add` must count even when many processes add at once.
pub struct SharedCounter {
    // ANCHOR_END: exercise_counter
    // solution:begin
    memory: Mapping,
    // solution:end
    // starter: // your fields: where the number lives
}

impl SharedCounter {
    /// A new counter at zero.
    pub fn new() -> Result<SharedCounter> {
        // solution:begin
        Ok(SharedCounter {
            memory: Mapping::shared(page_size())?,
        })
        // solution:end
        // starter: todo!("map a page of shared memory")
    }

    /// Adds `n`, atomically.
    pub fn add(&self, n: u64) {
        // solution:begin
        self.atomic().fetch_add(n, Ordering::Relaxed);
        // solution:end
        // starter: todo!("add `n` to the number in shared memory, atomically")
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        // solution:begin
        self.atomic().load(Ordering::Relaxed)
        // solution:end
        // starter: todo!("read the number in shared memory")
    }

    // solution:begin
    fn atomic(&self) -> &AtomicU64 {
        crate::atomic_in(&self.memory)
    }
    // solution:end
    // starter: // helper methods of your own may go here
}
