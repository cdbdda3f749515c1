//! `concurrent.futures`: `ThreadPoolExecutor`, `ProcessPoolExecutor` and
//! their `Future`s — the shared parts. The workers' loops are in
//! [`super::vm`]: a thread pool's workers are interpreter threads (they take
//! the GIL to run a task); a process pool's are forked processes, each with
//! its own interpreter, fed through a pipe by a thread of this process.

use super::PyError;
use super::value::Value;
use labkit::child::Child;
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// A task's result: not there yet, then the value or the exception.
#[derive(Debug)]
pub struct FutureObject {
    outcome: Mutex<Option<Result<Value, PyError>>>,
    done: Condvar,
    /// The process that submitted the task: in a forked child the future's
    /// worker does not exist, so waiting there would never end.
    pub owner: Pid,
}

impl Default for FutureObject {
    fn default() -> FutureObject {
        FutureObject {
            outcome: Mutex::new(None),
            done: Condvar::new(),
            owner: nix::unistd::getpid(),
        }
    }
}

impl FutureObject {
    /// Sets the outcome and wakes whoever waits for it.
    pub fn set(&self, outcome: Result<Value, PyError>) {
        *lock(&self.outcome) = Some(outcome);
        self.done.notify_all();
    }

    /// Whether the task has finished.
    pub fn is_done(&self) -> bool {
        lock(&self.outcome).is_some()
    }

    /// Waits for the outcome (call it without the GIL).
    pub fn wait(&self) -> Result<Value, PyError> {
        let mut outcome = lock(&self.outcome);
        loop {
            if let Some(done) = outcome.as_ref() {
                return done.clone();
            }
            outcome = self.done.wait(outcome).unwrap_or_else(|p| p.into_inner());
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a pool is asked to run: for a thread pool the function and its
/// arguments, for a process pool the same already turned into bytes.
#[derive(Debug)]
pub enum Work {
    /// Run in this process.
    Call(Value, Vec<Value>),
    /// Sent to a worker process (see [`super::pickle`]).
    Bytes(Vec<u8>),
}

/// One submitted task.
#[derive(Debug)]
pub struct Task {
    /// What to run.
    pub work: Work,
    /// Where its outcome goes.
    pub future: Arc<FutureObject>,
}

/// Tasks waiting for a worker, and whether the pool was shut down.
#[derive(Debug, Default)]
struct Queue {
    tasks: VecDeque<Task>,
    shutdown: bool,
    /// Set when a worker died: what every later submit raises.
    broken: Option<PyError>,
    /// Workers waiting for a task right now.
    idle: usize,
}

/// Which kind of pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Threads of this interpreter.
    Threads,
    /// Forked processes, each with its own interpreter.
    Processes,
}

/// A `ThreadPoolExecutor` or `ProcessPoolExecutor`.
#[derive(Debug)]
pub struct Executor {
    /// Threads or processes.
    pub kind: Kind,
    /// At most this many workers.
    pub max_workers: usize,
    /// The process that created it: only that one may use it.
    pub owner: Pid,
    queue: Mutex<Queue>,
    available: Condvar,
    /// The worker threads (thread pool) or feeder threads (process pool).
    pub threads: Mutex<Vec<JoinHandle<()>>>,
    /// A process pool's worker processes, once started (reaped by shutdown).
    pub children: Mutex<Vec<Child>>,
    /// Held by the one `shutdown` that is joining the workers.
    pub joining: Mutex<()>,
}

impl Executor {
    /// An idle pool of at most `max_workers` workers.
    pub fn new(kind: Kind, max_workers: usize) -> Executor {
        Executor {
            kind,
            max_workers,
            owner: nix::unistd::getpid(),
            queue: Mutex::new(Queue::default()),
            available: Condvar::new(),
            threads: Mutex::new(Vec::new()),
            children: Mutex::new(Vec::new()),
            joining: Mutex::new(()),
        }
    }

    /// Its Python type name.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Threads => "ThreadPoolExecutor",
            Kind::Processes => "ProcessPoolExecutor",
        }
    }

    /// Queues `work`; its future. Whether a new worker should be started
    /// (no worker is idle and there are fewer than `max_workers`) is the
    /// second value.
    pub fn submit(&self, work: Work) -> Result<(Arc<FutureObject>, bool), PyError> {
        let future = Arc::new(FutureObject::default());
        let mut queue = lock(&self.queue);
        if let Some(broken) = &queue.broken {
            return Err(broken.clone());
        }
        if queue.shutdown {
            return Err(PyError::new(
                "RuntimeError",
                "cannot schedule new futures after shutdown",
            ));
        }
        queue.tasks.push_back(Task {
            work,
            future: future.clone(),
        });
        let busy = lock(&self.threads).len();
        let start_one = queue.idle < queue.tasks.len() && busy < self.max_workers;
        drop(queue);
        self.available.notify_one();
        Ok((future, start_one))
    }

    /// The next task for a worker, waiting for one; `None` once the pool
    /// is shut down and no task is left. (Called without the GIL.)
    pub fn next_task(&self) -> Option<Task> {
        let mut queue = lock(&self.queue);
        loop {
            if let Some(task) = queue.tasks.pop_front() {
                return Some(task);
            }
            if queue.shutdown {
                return None;
            }
            queue.idle += 1;
            queue = self
                .available
                .wait(queue)
                .unwrap_or_else(|p| p.into_inner());
            queue.idle -= 1;
        }
    }

    /// No more tasks: workers finish what is queued, then stop.
    pub fn close(&self) {
        lock(&self.queue).shutdown = true;
        self.available.notify_all();
    }

    /// A worker died: no more work, and every queued task fails with `error`.
    pub fn break_with(&self, error: PyError) {
        let mut queue = lock(&self.queue);
        queue.shutdown = true;
        queue.broken = Some(error.clone());
        for task in queue.tasks.drain(..) {
            task.future.set(Err(error.clone()));
        }
        drop(queue);
        self.available.notify_all();
    }
}

/// CPython's default size of a `ThreadPoolExecutor`: `min(32, cores + 4)`
/// (since 3.8: enough threads for waiting work, not too many for CPU work).
pub fn default_thread_workers(cores: usize) -> usize {
    32.min(cores + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_future_gives_its_outcome_to_every_waiter() {
        let future = Arc::new(FutureObject::default());
        assert!(!future.is_done());
        let waiter = {
            let future = future.clone();
            std::thread::spawn(move || future.wait().map(|v| v.to_string()))
        };
        future.set(Ok(Value::Int(7)));
        assert_eq!(waiter.join().unwrap().unwrap(), "7");
        assert_eq!(future.wait().unwrap().to_string(), "7");
    }

    #[test]
    fn a_closed_pool_refuses_work_and_lets_its_workers_go() {
        let pool = Executor::new(Kind::Threads, 2);
        let (_, start) = pool.submit(Work::Call(Value::None, vec![])).unwrap();
        assert!(start, "the first task needs a worker");
        pool.close();
        assert!(pool.next_task().is_some(), "queued work is still done");
        assert!(pool.next_task().is_none());
        let err = pool.submit(Work::Call(Value::None, vec![])).unwrap_err();
        assert!(err.message.contains("after shutdown"));
        assert_eq!(default_thread_workers(2), 6);
        assert_eq!(default_thread_workers(64), 32);
    }
}
