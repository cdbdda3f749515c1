//! A mutex that knows who holds it and who waits for it: the lab's own
//! deadlock detector.
//!
//! Every [`TrackedMutex`] of one [`WaitForGraph`] records its holder, and
//! every thread waiting in [`TrackedMutex::lock`] records which lock it
//! waits for. A thread waits for a lock; the lock is held by a thread; that
//! thread may wait for another lock… Following these edges from a waiting
//! thread either ends (someone will move) or comes back to the thread: a
//! cycle, a deadlock, since nobody in it can move before the others do.
//! Instead of waiting forever, the waiter then gives up with a [`Deadlock`]
//! naming the cycle — and as a last resort it gives up after a deadline.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

/// How long a waiter sleeps on the lock before it looks at the graph again.
const SLICE: Duration = Duration::from_millis(1);

/// How long a waiter waits at most when the graph shows no cycle (a thread
/// stuck outside the graph's locks, e.g. on a channel).
pub const DEADLINE: Duration = Duration::from_secs(2);

/// One edge of a deadlock's cycle: a thread, what it holds, what it waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiter {
    /// The thread's name (or its id when it has none).
    pub thread: String,
    /// The lock it waits for.
    pub waits_for: String,
    /// The thread holding that lock.
    pub held_by: String,
}

/// Why [`TrackedMutex::lock`] gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deadlock {
    /// The wait-for graph has a cycle through this thread: every thread in
    /// it waits for a lock held by the next one.
    Cycle(Vec<Waiter>),
    /// No cycle was seen, but the lock was not free before the deadline.
    TimedOut {
        /// The lock waited for.
        lock: String,
        /// Who held it at the end, if anyone.
        held_by: Option<String>,
    },
}

impl fmt::Display for Deadlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Deadlock::Cycle(edges) => {
                write!(f, "deadlock: ")?;
                let steps: Vec<String> = edges
                    .iter()
                    .map(|e| {
                        format!(
                            "thread '{}' waits for {}, held by '{}'",
                            e.thread, e.waits_for, e.held_by
                        )
                    })
                    .collect();
                write!(f, "{}", steps.join("; "))
            }
            Deadlock::TimedOut { lock, held_by } => {
                let holder = held_by.as_deref().unwrap_or("nobody");
                write!(f, "gave up waiting for {lock} (held by '{holder}')")
            }
        }
    }
}

impl std::error::Error for Deadlock {}

/// Who holds which lock and who waits for which, for every lock made with it.
#[derive(Default)]
pub struct WaitForGraph {
    edges: Mutex<Edges>,
    next_lock: AtomicUsize,
}

#[derive(Default)]
struct Edges {
    /// lock → the thread holding it.
    holder: HashMap<usize, ThreadId>,
    /// thread → the lock it waits for.
    waiting: HashMap<ThreadId, usize>,
    /// Names for the report.
    thread_names: HashMap<ThreadId, String>,
    lock_names: HashMap<usize, String>,
}

impl Edges {
    // ANCHOR: find_cycle
    /// The cycle through `me`, if following "waits for → held by" from `me`
    /// comes back to `me`. Each thread waits for one lock at most and each
    /// lock has one holder, so there is one path to follow.
    fn cycle_through(&self, me: ThreadId) -> Option<Vec<Waiter>> {
        let mut cycle = Vec::new();
        let mut thread = me;
        loop {
            let lock = *self.waiting.get(&thread)?; // not waiting: it can move
            let holder = *self.holder.get(&lock)?; // free: someone gets it
            cycle.push(Waiter {
                thread: self.thread_name(thread),
                waits_for: self.lock_names[&lock].clone(),
                held_by: self.thread_name(holder),
            });
            if holder == me {
                return Some(cycle); // back where we started: nobody can move
            }
            if cycle.len() > self.waiting.len() {
                return None; // a cycle that does not pass through `me`
            }
            thread = holder;
        }
    }
    // ANCHOR_END: find_cycle

    fn thread_name(&self, id: ThreadId) -> String {
        self.thread_names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("{id:?}"))
    }
}

impl WaitForGraph {
    /// A graph with no lock yet, shared by the locks made with it.
    pub fn new() -> Arc<WaitForGraph> {
        Arc::new(WaitForGraph::default())
    }

    /// The cycles in the graph now, each as its threads' edges: what a
    /// watchdog would print.
    pub fn cycles(&self) -> Vec<Vec<Waiter>> {
        let edges = self.edges.lock();
        let mut found: Vec<Vec<Waiter>> = Vec::new();
        for &thread in edges.waiting.keys() {
            if let Some(cycle) = edges.cycle_through(thread) {
                let name = edges.thread_name(thread);
                // The same cycle is found from each of its threads: keep one.
                if !found.iter().any(|c| c.iter().any(|w| w.thread == name)) {
                    found.push(cycle);
                }
            }
        }
        found
    }
}

/// A mutex whose holder and waiters are recorded in a [`WaitForGraph`].
pub struct TrackedMutex<T> {
    id: usize,
    graph: Arc<WaitForGraph>,
    inner: Mutex<T>,
}

/// Holds a [`TrackedMutex`]; dropping it releases the lock.
pub struct TrackedGuard<'a, T> {
    lock: &'a TrackedMutex<T>,
    guard: Option<parking_lot::MutexGuard<'a, T>>,
}

impl<T> TrackedMutex<T> {
    /// A lock called `name` (as the reports will say) in `graph`.
    pub fn new(name: &str, value: T, graph: &Arc<WaitForGraph>) -> TrackedMutex<T> {
        let id = graph.next_lock.fetch_add(1, Ordering::Relaxed);
        let mut edges = graph.edges.lock();
        edges.lock_names.insert(id, name.to_string());
        drop(edges);
        TrackedMutex {
            id,
            graph: Arc::clone(graph),
            inner: Mutex::new(value),
        }
    }

    /// A number that orders this lock among the others of its graph (the
    /// order they were made in): the key of a global lock order.
    pub fn rank(&self) -> usize {
        self.id
    }

    // ANCHOR: lock
    /// Takes the lock, or gives up with the cycle when waiting could never
    /// end (or after [`DEADLINE`] with no cycle seen).
    pub fn lock(&self) -> Result<TrackedGuard<'_, T>, Deadlock> {
        if let Some(guard) = self.inner.try_lock() {
            return Ok(self.held(guard));
        }
        let me = thread::current();
        self.graph.edges.lock().waiting.insert(me.id(), self.id);
        let start = Instant::now();
        loop {
            if let Some(guard) = self.inner.try_lock_for(SLICE) {
                self.graph.edges.lock().waiting.remove(&me.id());
                return Ok(self.held(guard));
            }
            let mut edges = self.graph.edges.lock();
            let stuck = match edges.cycle_through(me.id()) {
                Some(cycle) => Some(Deadlock::Cycle(cycle)),
                None if start.elapsed() > DEADLINE => Some(Deadlock::TimedOut {
                    lock: edges.lock_names[&self.id].clone(),
                    held_by: edges.holder.get(&self.id).map(|&t| edges.thread_name(t)),
                }),
                None => None,
            };
            if let Some(deadlock) = stuck {
                edges.waiting.remove(&me.id());
                return Err(deadlock); // dropping our guards lets the others go
            }
        }
    }
    // ANCHOR_END: lock

    /// Takes the lock if it is free now; never waits.
    pub fn try_lock(&self) -> Option<TrackedGuard<'_, T>> {
        self.inner.try_lock().map(|guard| self.held(guard))
    }

    /// Records this thread as the holder (called once the lock is ours).
    fn held<'a>(&'a self, guard: parking_lot::MutexGuard<'a, T>) -> TrackedGuard<'a, T> {
        let me = thread::current();
        let mut edges = self.graph.edges.lock();
        edges.holder.insert(self.id, me.id());
        edges.thread_names.entry(me.id()).or_insert_with(|| {
            me.name()
                .map_or_else(|| format!("{:?}", me.id()), str::to_string)
        });
        TrackedGuard {
            lock: self,
            guard: Some(guard),
        }
    }
}

impl<T> std::ops::Deref for TrackedGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<T> std::ops::DerefMut for TrackedGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<T> Drop for TrackedGuard<'_, T> {
    fn drop(&mut self) {
        // Forget the holder *before* unlocking: the graph never shows a
        // holder that has let go, so a cycle it shows is real.
        self.lock.graph.edges.lock().holder.remove(&self.lock.id);
        self.guard = None;
    }
}
