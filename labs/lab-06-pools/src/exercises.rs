//! Lab 06 exercises. Replace each `todo!` with your code, then check your work
//! with `cargo test -p lab-06 --test exercises`.
//!
//! The tests check what really happened, not only the answer: which threads
//! ran the tasks, and that a dead worker is noticed without a hang.
// starter: #![allow(unused_imports, unused_variables)]

use crate::process_pool::read_frame;
use crate::thread_pool::{TaskError, TaskHandle, ThreadPool};
use labkit::child::Child;
use std::fs::File;

// The book shows each exercise's documentation and signature (the anchors
// end before the body, so the solutions are never published).

// ANCHOR: exercise_map
/// Exercise 1 — an ordered map.
///
/// Run `f` on every item through `pool` (with [`ThreadPool::submit`], all of
/// them queued before you wait for any) and return the results in the order
/// of the items, whatever order the tasks finish in.
pub fn map_in_order<A, T>(
    pool: &ThreadPool,
    f: fn(A) -> T,
    items: Vec<A>,
) -> Vec<Result<T, TaskError>>
where
    A: Send + 'static,
    T: Send + 'static,
{
    // ANCHOR_END: exercise_map
    // solution:begin
    let handles: Vec<TaskHandle<T>> = items
        .into_iter()
        .map(|item| pool.submit(move || f(item)))
        .collect();
    handles.into_iter().map(TaskHandle::result).collect()
    // solution:end
    // starter: todo!("submit every item, then collect the handles' results in order")
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
