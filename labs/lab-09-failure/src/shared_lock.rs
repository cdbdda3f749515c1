//! A lock in memory shared between processes, held by a child when it
//! crashes: the kernel frees the crashed child's memory and closes its
//! files, but the lock word lives in memory the parent still maps, and
//! stays locked — unless the lock is *robust*.

use anyhow::{Result, ensure};
use labkit::child::fork_child;
use labkit::memory::Mapping;
use nix::libc;
use std::time::Duration;

/// What the parent found when it tried the lock after the holder crashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCrash {
    /// It got the lock (nobody held it).
    Taken,
    /// It could not get it before its deadline: locked, by a dead process.
    StillLocked,
    /// A robust lock: it got it, with `EOWNERDEAD` — "the holder died, the
    /// data it guarded may be half-changed".
    OwnerDied,
}

/// A `pthread_mutex_t` in a shared mapping, set up for processes
/// (`PTHREAD_PROCESS_SHARED`) and, if asked, robust.
pub struct SharedLock {
    memory: Mapping,
}

impl SharedLock {
    /// A new unlocked shared lock.
    pub fn new(robust: bool) -> Result<SharedLock> {
        let memory = Mapping::shared(size_of::<libc::pthread_mutex_t>())?;
        let lock = SharedLock { memory };
        // SAFETY: the mapping is large enough and aligned (page-aligned); the
        // attribute object is initialised before use and destroyed after.
        unsafe {
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            ensure!(libc::pthread_mutexattr_init(&mut attr) == 0, "mutexattr");
            let shared =
                libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED);
            let robust_set = if robust {
                libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST)
            } else {
                0
            };
            // Only a lock set up as asked is of use: one that is not shared
            // between processes, or not robust, would show something else.
            let init = match (shared, robust_set) {
                (0, 0) => libc::pthread_mutex_init(lock.raw(), &attr),
                _ => -1,
            };
            libc::pthread_mutexattr_destroy(&mut attr);
            ensure!(shared == 0, "pthread_mutexattr_setpshared: {shared}");
            ensure!(robust_set == 0, "pthread_mutexattr_setrobust: {robust_set}");
            ensure!(init == 0, "pthread_mutex_init: {init}");
        }
        Ok(lock)
    }

    fn raw(&self) -> *mut libc::pthread_mutex_t {
        self.memory.as_ptr().cast()
    }

    /// Locks it, waiting as long as it takes.
    pub fn lock(&self) {
        // SAFETY: an initialised process-shared mutex.
        unsafe { libc::pthread_mutex_lock(self.raw()) };
    }

    /// Tries to lock it for up to `limit`; what happened. A lock taken is
    /// released again before this returns.
    pub fn try_for(&self, limit: Duration) -> AfterCrash {
        // SAFETY: an initialised process-shared mutex; the deadline is an
        // absolute CLOCK_REALTIME time, as pthread_mutex_timedlock wants.
        unsafe {
            let mut deadline: libc::timespec = std::mem::zeroed();
            libc::clock_gettime(libc::CLOCK_REALTIME, &mut deadline);
            let nanos = deadline.tv_nsec as u64 + limit.as_nanos() as u64;
            deadline.tv_sec += (nanos / 1_000_000_000) as libc::time_t;
            deadline.tv_nsec = (nanos % 1_000_000_000) as _;
            match libc::pthread_mutex_timedlock(self.raw(), &deadline) {
                0 => {
                    libc::pthread_mutex_unlock(self.raw());
                    AfterCrash::Taken
                }
                libc::EOWNERDEAD => {
                    // The new holder repairs what the dead one guarded, then
                    // marks the lock usable again.
                    libc::pthread_mutex_consistent(self.raw());
                    libc::pthread_mutex_unlock(self.raw());
                    AfterCrash::OwnerDied
                }
                _ => AfterCrash::StillLocked,
            }
        }
    }
}

// ANCHOR: lock_after_crash
/// A child takes the shared lock and aborts while holding it; then the
/// parent tries the lock for `limit`.
pub fn lock_after_crash(robust: bool, limit: Duration) -> Result<AfterCrash> {
    let lock = SharedLock::new(robust)?;
    let child = fork_child(|| {
        crate::crash::no_core_dumps();
        lock.lock();
        std::process::abort() // dies holding it
    })?;
    crate::watch::ending_within(child, Duration::from_secs(5))?; // gone, and reaped
    Ok(lock.try_for(limit))
}
// ANCHOR_END: lock_after_crash
