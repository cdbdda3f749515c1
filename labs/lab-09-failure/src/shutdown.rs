//! Ending on purpose: a timer that can be cancelled at once, and a group
//! of workers shut down within a deadline without losing a result.

use crate::cancel::spin_for;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

// ANCHOR: timer
/// Like CPython's `threading.Timer`: runs an action on a thread of its own
/// after a delay, unless cancelled first. The thread waits on a channel
/// with a timeout, so a cancel wakes it at once — rather than after the
/// delay, as a thread in `sleep` would be.
pub struct Timer {
    cancel: Sender<()>,
    thread: JoinHandle<bool>,
}

impl Timer {
    /// Starts a timer that runs `action` after `delay`. Like CPython's
    /// `Thread.start()`, it returns once the timer's thread is running.
    pub fn start(delay: Duration, action: impl FnOnce() + Send + 'static) -> Timer {
        let (cancel, cancelled) = crossbeam_channel::bounded::<()>(1);
        let (running, is_running) = crossbeam_channel::bounded::<()>(1);
        let thread = thread::spawn(move || {
            let _ = running.send(());
            match cancelled.recv_timeout(delay) {
                Err(RecvTimeoutError::Timeout) => {
                    action();
                    true
                }
                // Cancelled, or the Timer was dropped: the action never runs.
                Ok(()) | Err(RecvTimeoutError::Disconnected) => false,
            }
        });
        let _ = is_running.recv();
        Timer { cancel, thread }
    }

    /// Cancels it, if it has not fired yet, and waits for its thread to
    /// end; whether the action ran.
    pub fn cancel(self) -> bool {
        let _ = self.cancel.send(());
        self.thread.join().unwrap_or(false)
    }

    /// Waits for it to fire; whether the action ran.
    pub fn wait(self) -> bool {
        let Timer { cancel, thread } = self;
        let fired = thread.join().unwrap_or(false);
        drop(cancel); // kept until now: dropping it would cancel the timer
        fired
    }
}
// ANCHOR_END: timer

// ANCHOR: sleeping_timer
/// The timer most people write first: sleep, then look at a flag. It can
/// be cancelled — but its thread ends only when the sleep is over, so
/// whoever waits for it waits out the whole delay.
pub fn sleeping_timer(delay: Duration, cancelled: Arc<AtomicBool>) -> JoinHandle<bool> {
    thread::spawn(move || {
        thread::sleep(delay);
        !cancelled.load(Ordering::SeqCst) // fires unless cancelled
    })
}
// ANCHOR_END: sleeping_timer

/// One piece of work for the group: its number, and how long it computes.
/// A stubborn task never looks at the stop flag (a call into code that
/// cannot be interrupted).
#[derive(Debug, Clone, Copy)]
pub struct Task {
    /// Its number.
    pub id: u64,
    /// How long it computes.
    pub work: Duration,
    /// Whether it ignores the stop flag.
    pub stubborn: bool,
}

/// How often a task that is not stubborn looks at the stop flag.
const LOOK_EVERY: Duration = Duration::from_micros(100);

impl Task {
    /// Runs the task: its result, or `None` if it saw `stop` and gave up.
    pub fn run(&self, stop: &AtomicBool) -> Option<u64> {
        let start = Instant::now();
        while start.elapsed() < self.work {
            spin_for(LOOK_EVERY.min(self.work));
            if !self.stubborn && stop.load(Ordering::Relaxed) {
                return None;
            }
        }
        Some(self.id * 3 + 1)
    }
}

// ANCHOR: group
/// Workers taking tasks from a queue. Each sends every result the moment it
/// has it, and says when it ends: nothing a worker finished is held only
/// in its own hands, where a shutdown that stops waiting for it would lose it.
pub struct WorkerGroup {
    stop: Arc<AtomicBool>,
    results: Receiver<Done>,
    ended: Receiver<usize>,
    threads: Vec<Option<JoinHandle<()>>>,
    /// Tasks each worker has finished: the lab's check that no result is lost.
    finished: Arc<Vec<AtomicU64>>,
}

impl WorkerGroup {
    /// Starts `workers` threads on the tasks of `queue`.
    pub fn start(workers: usize, queue: Receiver<Task>) -> WorkerGroup {
        let stop = Arc::new(AtomicBool::new(false));
        let finished = Arc::new((0..workers).map(|_| AtomicU64::new(0)).collect::<Vec<_>>());
        let (result, results) = crossbeam_channel::unbounded();
        let (end, ended) = crossbeam_channel::unbounded();
        let threads = (0..workers)
            .map(|i| {
                let (stop, queue, result, end, finished) = (
                    Arc::clone(&stop),
                    queue.clone(),
                    result.clone(),
                    end.clone(),
                    Arc::clone(&finished),
                );
                Some(thread::spawn(move || {
                    work_on(i, &queue, &stop, &result, &finished[i]);
                    let _ = end.send(i);
                }))
            })
            .collect();
        WorkerGroup {
            stop,
            results,
            ended,
            threads,
            finished,
        }
    }
    // ANCHOR_END: group

    // ANCHOR: shutdown
    /// Asks every worker to stop and waits for them until `deadline` at
    /// most; returns every result finished by then — those of a worker
    /// still busy included — and the workers that did not end in time.
    pub fn shutdown(mut self, deadline: Duration) -> Shutdown {
        self.stop.store(true, Ordering::Relaxed);
        let until = Instant::now() + deadline;
        let mut running = self.threads.len();
        while running > 0
            && let Ok(i) = self.ended.recv_deadline(until)
        {
            if let Some(thread) = self.threads[i].take() {
                let _ = thread.join(); // it has ended: this returns at once
            }
            running -= 1;
        }
        let finished = counts(&self.finished); // before the results: none missed
        Shutdown {
            finished,
            results: self.results.try_iter().collect(),
            late: self
                .threads
                .into_iter()
                .enumerate()
                .filter_map(late)
                .collect(),
        }
    }
    // ANCHOR_END: shutdown

    /// The shutdown most people write first: stop flag, then join every
    /// thread — which waits for the slowest worker, however long it takes.
    pub fn join_all(self) -> Shutdown {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.into_iter().flatten() {
            let _ = thread.join();
        }
        Shutdown {
            finished: counts(&self.finished),
            results: self.results.try_iter().collect(),
            late: Vec::new(),
        }
    }
}

// ANCHOR: work_on
/// One worker: takes tasks until the queue is closed and empty or it is
/// told to stop (it looks between tasks, and while the queue is empty),
/// and sends each result at once, with its own number (and counts it in
/// `finished`, for the lab's check).
fn work_on(
    me: usize,
    queue: &Receiver<Task>,
    stop: &AtomicBool,
    results: &Sender<Done>,
    finished: &AtomicU64,
) {
    while !stop.load(Ordering::Relaxed) {
        match queue.recv_timeout(LOOK_EVERY) {
            Ok(task) => {
                if let Some(value) = task.run(stop) {
                    finished.fetch_add(1, Ordering::SeqCst);
                    let _ = results.send((me, task.id, value));
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
// ANCHOR_END: work_on

/// A result: (the worker that computed it, its task, its value).
pub type Done = (usize, u64, u64);

/// A worker's thread if it is still there: (its number, its thread).
fn late((i, thread): (usize, Option<JoinHandle<()>>)) -> Option<(usize, JoinHandle<()>)> {
    thread.map(|thread| (i, thread))
}

/// How many tasks each worker has finished so far.
fn counts(finished: &[AtomicU64]) -> Vec<u64> {
    finished.iter().map(|n| n.load(Ordering::SeqCst)).collect()
}

/// What a shutdown returned.
#[derive(Debug)]
pub struct Shutdown {
    /// How many tasks each worker had finished when the results were
    /// collected (counted apart from the results, to check none is lost).
    pub finished: Vec<u64>,
    /// Every result finished before the shutdown returned.
    pub results: Vec<Done>,
    /// The workers still busy at the deadline, by number, left to end by
    /// themselves.
    pub late: Vec<(usize, JoinHandle<()>)>,
}
