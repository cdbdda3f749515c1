//! Lab 10 exercises. Replace each `todo!` with your code, then check your
//! work with `cargo test -p lab-10 --test exercises`.
//!
//! The tests check what really happened, not only the answer: how many
//! requests the server saw at once, and how much faster than one item after
//! another your job ran on this machine.
// starter: #![allow(unused_imports, unused_variables)]

use crate::server::fetch;
use crate::{Digest, Job, ZERO, combine, transform};
use anyhow::Result;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

// The book shows each exercise's documentation and signature (the anchors
// end before the body, so the solutions are never published).

// ANCHOR: exercise_job
/// Exercise 1 — the job, at most `connections` requests at a time.
///
/// Fetch every item of `job` ([`fetch`]), hash each with [`transform`] and
/// `job.rounds`, and return the [`combine`]d digests. The server — like a
/// real one — wants at most `connections` of your requests at once (it is
/// at least 1): never have more in flight, and do use them all. The tests
/// run your function on a mostly-waiting job and on a mostly-computing one
/// and time it against [`crate::sequential`]: choose the model — threads,
/// processes, one of lab 06's pools, rayon, a hybrid — that this lab's
/// measurements say does well on both.
pub fn run_job(job: &Job, connections: usize) -> Result<Digest> {
    // ANCHOR_END: exercise_job
    // solution:begin
    // `connections` threads, each taking the next item until none is left:
    // never more requests than threads, every thread busy while items
    // remain, and the hashing on as many cores as there are threads.
    let next = AtomicU32::new(0);
    let threads = connections.clamp(1, job.items.max(1) as usize);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<Digest> {
                    let mut total = ZERO;
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= job.items {
                            return Ok(total);
                        }
                        let item = fetch(job.server, index)?;
                        total = combine(total, transform(&item, job.rounds));
                    }
                })
            })
            .collect();
        workers.into_iter().try_fold(ZERO, |total, worker| {
            Ok(combine(total, worker.join().expect("a worker panicked")?))
        })
    })
    // solution:end
    // starter: todo!("at most `connections` requests in flight, every core hashing; combine the digests")
}

/// What a pipeline's job costs, measured beforehand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PipelineCosts {
    /// Items in the job.
    pub items: usize,
    /// Seconds one item waits for the server.
    pub wait_s: f64,
    /// Seconds one item's hashing takes on one core.
    pub cpu_s: f64,
    /// Seconds to start one fetcher thread.
    pub start_s: f64,
    /// Cores that can hash at once.
    pub cores: usize,
}

// ANCHOR: exercise_predict
/// Exercise 2 — predict a pipeline's time.
///
/// A pipeline runs the job in two stages. `fetchers` threads fetch the
/// items: each takes the next item as soon as its last one arrived, so each
/// fetches at most ⌈items ÷ fetchers⌉ of them one after another, `wait_s`
/// each. Every item that arrives is hashed (`cpu_s`) by one of `hashers`
/// workers, as many at once as there are hashers and cores. The fetchers
/// are started one after another, `start_s` each, before they fetch — never
/// more fetchers than items. `fetchers` and `hashers` are at least 1.
///
/// Predict its seconds as the larger of two bounds:
/// - the fetching: start every fetcher, let one fetch its whole share, then
///   hash the last item;
/// - the hashing: start one fetcher, fetch one item, then hash every item
///   on min(hashers, cores) workers at once.
///
/// A job of no items takes no time.
pub fn predict_pipeline(costs: &PipelineCosts, fetchers: usize, hashers: usize) -> f64 {
    // ANCHOR_END: exercise_predict
    // solution:begin
    if costs.items == 0 {
        return 0.0;
    }
    let fetchers = fetchers.clamp(1, costs.items);
    let share = costs.items.div_ceil(fetchers);
    let fetching = fetchers as f64 * costs.start_s + share as f64 * costs.wait_s + costs.cpu_s;
    let at_once = hashers.min(costs.cores).max(1) as f64;
    let hashing = costs.start_s + costs.wait_s + costs.items as f64 * costs.cpu_s / at_once;
    fetching.max(hashing)
    // solution:end
    // starter: todo!("the larger of the fetching bound and the hashing bound")
}

/// A model for a CPython program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// `ThreadPoolExecutor`: threads for everything.
    Threads,
    /// `ProcessPoolExecutor`: processes for everything.
    Processes,
    /// Threads wait, a process pool computes.
    Hybrid,
}

/// A CPython job to choose a model for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mix {
    /// Seconds each item waits (a server, a disk).
    pub wait_s: f64,
    /// Seconds each item computes in pure Python.
    pub cpu_s: f64,
    /// Cores of the machine.
    pub cores: usize,
    /// Whether the interpreter's threads take turns under a GIL.
    pub gil: bool,
}

// ANCHOR: exercise_choose
/// Exercise 3 — choose a model for a CPython job.
///
/// Pick a model for `mix` by this rule of thumb — a rule of thumb, not a
/// summary of this lab's measurements (see the chapter for which CPython
/// model was fastest in each mix on your machine):
/// - `Threads` when threads lose nothing: the computing is a small part of
///   each item (a tenth of its time or less), or nothing can compute in
///   parallel anyway (one core), or there is no GIL (threads then compute
///   on every core, and cost less than processes);
/// - `Processes` when, under a GIL, the waiting is a small part of each
///   item (a tenth or less): only processes compute in parallel;
/// - `Hybrid` — threads wait, processes compute — for everything between.
pub fn choose(mix: &Mix) -> Choice {
    // ANCHOR_END: exercise_choose
    // solution:begin
    let item = mix.wait_s + mix.cpu_s;
    if !mix.gil || mix.cores <= 1 || mix.cpu_s <= 0.1 * item {
        Choice::Threads
    } else if mix.wait_s <= 0.1 * item {
        Choice::Processes
    } else {
        Choice::Hybrid
    }
    // solution:end
    // starter: todo!("threads, processes or the hybrid, by the shares of waiting and computing")
}
