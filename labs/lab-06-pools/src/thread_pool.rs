//! A thread pool like CPython's `ThreadPoolExecutor`: a fixed set of threads
//! that take tasks from one channel, `submit` returning a handle whose
//! `result()` waits for the value, `map` with results in input order, and
//! `shutdown`. A task that panics fails its own handle, not the pool.

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread::{self, JoinHandle};

/// Why a task gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskError {
    /// The task panicked; the panic's message.
    Panicked(String),
    /// The pool was shut down before the task could run.
    ShutDown,
    /// A process pool lost a worker: every task it had not finished fails
    /// with this, and the pool takes no more work (like `BrokenProcessPool`).
    BrokenPool(String),
    /// No function of that name is registered in the process pool.
    UnknownTask(String),
    /// The process pool's task takes or returns other types than asked.
    WrongTypes(String),
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskError::Panicked(message) => write!(f, "the task panicked: {message}"),
            TaskError::ShutDown => write!(f, "the pool was shut down"),
            TaskError::BrokenPool(why) => write!(f, "broken pool: {why}"),
            TaskError::UnknownTask(name) => write!(f, "no task named {name:?} is registered"),
            TaskError::WrongTypes(why) => write!(f, "wrong types for task {why}"),
        }
    }
}

impl std::error::Error for TaskError {}

/// The message of a caught panic.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Work for a pool thread: a task already wrapped to send its result.
type Job = Box<dyn FnOnce() + Send + 'static>;

// ANCHOR: pool
/// A fixed set of threads taking tasks from one channel.
pub struct ThreadPool {
    jobs: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

/// What `submit` returns: the task's result, when it comes.
pub struct TaskHandle<T> {
    result: Receiver<Result<T, TaskError>>,
}

impl ThreadPool {
    /// Starts `size` threads, named `pool-worker-N`, that wait for tasks.
    pub fn new(size: usize) -> std::io::Result<ThreadPool> {
        if size == 0 {
            return Err(std::io::Error::other("a pool needs at least one thread"));
        }
        let (jobs, queue) = unbounded::<Job>();
        let threads = (0..size)
            .map(|i| {
                let queue = queue.clone();
                thread::Builder::new()
                    .name(format!("pool-worker-{i}"))
                    .spawn(move || {
                        // Ends when the pool drops its sender and the queue is empty.
                        for job in queue {
                            job();
                        }
                    })
            })
            .collect::<std::io::Result<_>>()?;
        Ok(ThreadPool {
            jobs: Some(jobs),
            threads,
        })
    }

    // ANCHOR_END: pool

    // ANCHOR: submit
    /// Queues `task`; its handle gives the value, or the panic as an error.
    pub fn submit<T: Send + 'static>(
        &self,
        task: impl FnOnce() -> T + Send + 'static,
    ) -> TaskHandle<T> {
        let (sender, result) = bounded(1);
        let job: Job = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(task))
                .map_err(|payload| TaskError::Panicked(panic_message(&*payload)));
            let _ = sender.send(outcome); // nobody waiting: dropped
        });
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
        // A pool without a sender was shut down: the job and its sender are
        // dropped, and `result()` reports it.
        TaskHandle { result }
    }
}

impl<T> TaskHandle<T> {
    /// Waits for the task and returns its value, or why there is none.
    pub fn result(self) -> Result<T, TaskError> {
        self.result.recv().unwrap_or(Err(TaskError::ShutDown))
    }
}
// ANCHOR_END: submit

impl ThreadPool {
    /// CPython's default size for `ThreadPoolExecutor`: min(32, cores + 4).
    pub fn default_size() -> usize {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        (cores + 4).min(32)
    }

    /// Runs `f` on every item and returns the results in the items' order.
    pub fn map<A, T>(
        &self,
        f: impl Fn(A) -> T + Send + Sync + Clone + 'static,
        items: impl IntoIterator<Item = A>,
    ) -> Vec<Result<T, TaskError>>
    where
        A: Send + 'static,
        T: Send + 'static,
    {
        let handles: Vec<TaskHandle<T>> = items
            .into_iter()
            .map(|item| {
                let f = f.clone();
                self.submit(move || f(item))
            })
            .collect();
        handles.into_iter().map(TaskHandle::result).collect()
    }

    /// Stops taking tasks. With `wait`, returns once every queued task has
    /// run and every thread has ended; without, returns at once and the
    /// threads finish the queue by themselves.
    pub fn shutdown(mut self, wait: bool) {
        self.stop(wait);
    }

    fn stop(&mut self, wait: bool) {
        drop(self.jobs.take()); // the threads leave their loop when the queue is empty
        let threads = std::mem::take(&mut self.threads);
        if wait {
            for thread in threads {
                let _ = thread.join(); // tasks' panics were caught: nothing to report
            }
        }
    }
}

impl Drop for ThreadPool {
    /// Like leaving CPython's `with ThreadPoolExecutor() as pool:` block:
    /// waits for every queued task.
    fn drop(&mut self) {
        self.stop(true);
    }
}
