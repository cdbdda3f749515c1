//! A baton: the GIL reduced to its handshake, for the first exercise.
//!
//! One thread at a time holds it. A thread that wants it and has waited a
//! whole switch interval asks the holder to pass it on (the drop request);
//! the holder checks for a request now and then and passes the baton. It is
//! built on atomics and polling, not a condition variable, so that the
//! exercise is about the protocol, not about condvars. The holder's side —
//! [`Baton::pass_if_requested`], with forced switching — is given.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a holder that passed the baton waits for someone to take it.
const PASS_PATIENCE: Duration = Duration::from_secs(1);

/// A lock passed between threads by request. Threads are numbered from 1.
#[derive(Debug, Default)]
pub struct Baton {
    /// The holder's number; 0 when free.
    holder: AtomicUsize,
    drop_request: AtomicBool,
    requests: AtomicU64,
    passes: AtomicU64,
}

impl Baton {
    /// A free baton.
    pub fn new() -> Baton {
        Baton::default()
    }

    /// Takes the baton for thread `me` if it is free; true if it did.
    pub fn try_take(&self, me: usize) -> bool {
        assert!(me > 0, "threads are numbered from 1");
        let taken = self
            .holder
            .compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if taken {
            self.drop_request.store(false, Ordering::Release);
        }
        taken
    }

    /// Who holds it.
    pub fn holder(&self) -> Option<usize> {
        match self.holder.load(Ordering::Acquire) {
            0 => None,
            n => Some(n),
        }
    }

    /// Asks the holder to pass the baton on.
    pub fn request_drop(&self) {
        self.drop_request.store(true, Ordering::Release);
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether someone asked the holder to pass it on.
    pub fn drop_requested(&self) -> bool {
        self.drop_request.load(Ordering::Acquire)
    }

    /// Releases the baton held by `me`.
    pub fn release(&self, me: usize) {
        let _ = self
            .holder
            .compare_exchange(me, 0, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The holder's side: if a drop was requested, release the baton and
    /// wait until another thread has taken it (forced switching). True if
    /// it passed the baton; the caller must take it back before going on.
    pub fn pass_if_requested(&self, me: usize) -> bool {
        if !self.drop_requested() || self.holder() != Some(me) {
            return false;
        }
        self.drop_request.store(false, Ordering::Release);
        self.release(me);
        self.passes.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        while self.holder().is_none_or(|h| h == me) && start.elapsed() < PASS_PATIENCE {
            std::thread::yield_now();
        }
        true
    }

    /// How many drop requests were made.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// How many times a holder passed it on request.
    pub fn passes(&self) -> u64 {
        self.passes.load(Ordering::Relaxed)
    }
}
