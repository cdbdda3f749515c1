//! Memory that forked processes share: a counter, one slot per worker, a
//! start flag and a lock, all in one `MAP_SHARED` mapping made before `fork`.
//!
//! Processes have separate memory — until they map the same pages. From then
//! on they race exactly as threads do, and need the same cures: atomic
//! instructions work across processes because they act on the memory, not on
//! the process; a lock works if it lives in the shared pages and is made to
//! be shared (`PTHREAD_PROCESS_SHARED`).

use anyhow::{Result, ensure};
use labkit::memory::Mapping;
use nix::libc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// Bytes between two slots: one cache line each, so that per-worker slots do
/// not share a line (and the fix is not slowed by false sharing).
const SLOT: usize = 64;
/// Slots for per-worker counters.
pub const MAX_WORKERS: usize = 256;
/// Where the lock sits in the mapping: after the counter and the flag.
const LOCK_AT: usize = 2 * SLOT;
/// Where the per-worker slots start.
const SLOTS_AT: usize = LOCK_AT + SLOT;

/// A shared mapping laid out for the counting experiments.
pub struct SharedCounters {
    mapping: Mapping,
}

impl SharedCounters {
    /// Maps the pages (before forking, so every child inherits them) and
    /// initialises the process-shared lock in them.
    pub fn new() -> Result<SharedCounters> {
        let len = SLOTS_AT + MAX_WORKERS * SLOT;
        ensure!(
            size_of::<libc::pthread_mutex_t>() <= SLOT,
            "a pthread mutex does not fit its slot"
        );
        let shared = SharedCounters {
            mapping: Mapping::shared(len)?,
        };
        shared.init_lock()?;
        Ok(shared)
    }

    fn at<T>(&self, offset: usize) -> *mut T {
        // SAFETY: every offset used is inside the mapping and SLOT-aligned;
        // the mapping is page-aligned and zero-filled.
        unsafe { self.mapping.as_ptr().add(offset).cast() }
    }

    /// The shared counter.
    pub fn counter(&self) -> &AtomicI64 {
        // SAFETY: zeroed memory is a valid AtomicI64, aligned (offset 0), and
        // lives as long as `self`.
        unsafe { &*self.at::<AtomicI64>(0) }
    }

    /// The flag the parent raises once every child is forked, so that the
    /// children start together (as threads behind a barrier do).
    pub fn go(&self) -> &AtomicBool {
        // SAFETY: as for `counter`, at the next slot.
        unsafe { &*self.at::<AtomicBool>(SLOT) }
    }

    /// Worker `i`'s own counter, on a cache line of its own.
    pub fn slot(&self, i: usize) -> &AtomicI64 {
        assert!(i < MAX_WORKERS, "at most {MAX_WORKERS} slots");
        // SAFETY: as for `counter`, inside the slot area.
        unsafe { &*self.at::<AtomicI64>(SLOTS_AT + i * SLOT) }
    }

    /// The sum of every worker's slot.
    pub fn sum_of_slots(&self) -> i64 {
        (0..MAX_WORKERS)
            .map(|i| self.slot(i).load(Ordering::SeqCst))
            .sum()
    }

    /// Sets the counter, the flag and every slot back to zero.
    pub fn reset(&self) {
        self.counter().store(0, Ordering::SeqCst);
        self.go().store(false, Ordering::SeqCst);
        (0..MAX_WORKERS).for_each(|i| self.slot(i).store(0, Ordering::SeqCst));
    }

    /// Waits until the parent raises the start flag.
    pub fn wait_for_go(&self) {
        while !self.go().load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
    }

    fn init_lock(&self) -> Result<()> {
        // SAFETY: the attribute lives on this stack for the calls; the mutex
        // is inside the mapping and initialised once, before any fork.
        unsafe {
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            ensure!(
                libc::pthread_mutexattr_init(&mut attr) == 0,
                "mutexattr_init"
            );
            let shared =
                libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED);
            let init = libc::pthread_mutex_init(self.at(LOCK_AT), &attr);
            libc::pthread_mutexattr_destroy(&mut attr);
            ensure!(
                shared == 0 && init == 0,
                "a process-shared mutex could not be made"
            );
        }
        Ok(())
    }

    // ANCHOR: process_lock
    /// Runs `work` holding the lock that lives in the shared pages: a
    /// pthread mutex made with `PTHREAD_PROCESS_SHARED`, so that it locks
    /// out the other processes, not just this process's other threads.
    pub fn locked<R>(&self, work: impl FnOnce() -> R) -> R {
        let mutex = self.at::<libc::pthread_mutex_t>(LOCK_AT);
        // SAFETY: initialised in `new`; every process that locks it unlocks
        // it before going on (a process killed while holding it would leave
        // it locked: lab 09's subject).
        unsafe { libc::pthread_mutex_lock(mutex) };
        let result = work();
        unsafe { libc::pthread_mutex_unlock(mutex) };
        result
    }
    // ANCHOR_END: process_lock
}
