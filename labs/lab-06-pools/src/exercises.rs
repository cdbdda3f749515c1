//! Lab 06 exercises. Replace each `todo!` with your code, then check your work
//! with `cargo test -p lab-06 --test exercises`.
//!
//! The tests check what really happened, not only the answer: how many
//! tasks were queued at once, and that a dead worker is noticed without a
//! hang.
// starter: #![allow(unused_imports, unused_variables)]

use crate::process_pool::read_frame;
use crate::thread_pool::{TaskError, TaskHandle, ThreadPool};
use labkit::child::Child;
use std::collections::VecDeque;
use std::fs::File;

// The book shows each exercise's documentation and signature (the anchors
// end before the body, so the solutions are never published).

// ANCHOR: exercise_map
/// Exercise 1 — an ordered map that does not swallow its input.
///
/// `ThreadPool::map` (like CPython's `Executor.map`) submits every item at
/// once: a billion items make a billion queued tasks. Run `f` on every item
/// through `pool` with at most `limit` tasks submitted whose results you have
/// not taken yet — take the oldest result before submitting more — and
/// return the results in the order of the items. Take items from `items`
/// only as you submit them. `limit` is at least 1.
pub fn map_bounded<A, T>(
    pool: &ThreadPool,
    f: fn(A) -> T,
    items: impl IntoIterator<Item = A>,
    limit: usize,
) -> Vec<Result<T, TaskError>>
where
    A: Send + 'static,
    T: Send + 'static,
{
    // ANCHOR_END: exercise_map
    // solution:begin
    let mut pending: VecDeque<TaskHandle<T>> = VecDeque::new();
    let mut results = Vec::new();
    for item in items {
        if pending.len() >= limit.max(1) {
            let oldest = pending.pop_front().expect("the queue is full");
            results.push(oldest.result());
        }
        pending.push_back(pool.submit(move || f(item)));
    }
    results.extend(pending.into_iter().map(TaskHandle::result));
    results
    // solution:end
    // starter: todo!("submit while fewer than `limit` results are pending; take the oldest first")
}

// ANCHOR: exercise_death
/// Exercise 2 — a reply, or the worker's death.
///
/// `replies` is the read end of the pipe that worker `worker` writes its
/// replies into, as length-prefixed frames (see `read_frame`). Return the
/// next reply's bytes; if the pipe ends instead (the worker died, and no
/// other process holds the write end), wait for the worker and return
/// `TaskError::BrokenPool` with a message that says how it ended, e.g.
/// "killed by SIGKILL". Never hang on a dead worker.
pub fn reply_or_death(replies: &mut File, worker: Child) -> Result<Vec<u8>, TaskError> {
    // ANCHOR_END: exercise_death
    // solution:begin
    use nix::sys::wait::WaitStatus;
    match read_frame(replies) {
        Ok(Some(bytes)) => {
            drop(worker); // still running: killed and reaped by Child::drop
            Ok(bytes)
        }
        _ => {
            let why = match worker.wait() {
                Ok(WaitStatus::Signaled(_, signal, _)) => format!("killed by {signal}"),
                Ok(WaitStatus::Exited(_, code)) => format!("exited with code {code}"),
                Ok(other) => format!("{other:?}"),
                Err(err) => err.to_string(),
            };
            Err(TaskError::BrokenPool(format!("the worker died: {why}")))
        }
    }
    // solution:end
    // starter: todo!("read a frame; on end-of-file wait for the worker and say how it ended")
}

// ANCHOR: exercise_chunksize
/// Exercise 3 — a chunksize that meets a target.
///
/// Each message to a process pool costs `message_seconds`; each task
/// computes for `task_seconds`. Return the smallest chunksize whose
/// messages add at most `overhead` (e.g. 0.05 for 5%) to the computing
/// time — but never so large that any of `workers` workers would get fewer
/// than 4 chunks of the `tasks` (the last chunks would leave workers idle).
/// At least 1.
pub fn chunksize_for(
    tasks: usize,
    workers: usize,
    message_seconds: f64,
    task_seconds: f64,
    overhead: f64,
) -> usize {
    // ANCHOR_END: exercise_chunksize
    // solution:begin
    let needed = (message_seconds / (task_seconds * overhead)).ceil();
    let needed = if needed.is_finite() {
        needed as usize
    } else {
        usize::MAX
    };
    let balanced = tasks / (4 * workers.max(1));
    needed.min(balanced).max(1)
    // solution:end
    // starter: todo!("the smallest chunk meeting the overhead, capped so every worker gets ≥ 4 chunks")
}
