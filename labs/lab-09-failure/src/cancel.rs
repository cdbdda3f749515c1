//! Cooperative cancellation. Nothing can stop a thread from outside and
//! leave its process sound, so a thread is *asked* to stop, and stops when
//! it next looks: the time that takes depends on how often it looks.

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Spins for `work`: CPU work, not a sleep, so the worker really runs the
/// whole time and looks only between slices.
pub fn spin_for(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

// ANCHOR: flag
/// Works in slices of `slice`, looking at `stop` after each; returns when
/// it saw it set. A load costs a few nanoseconds while nobody writes the
/// flag, so looking often is cheap. (`Relaxed` is enough: the flag guards
/// no other data; a worker that must see what the canceller wrote before
/// would need `Acquire`/`Release`.)
pub fn work_until_flag(stop: &AtomicBool, slice: Duration) -> Instant {
    loop {
        spin_for(slice);
        if stop.load(Ordering::Relaxed) {
            return Instant::now();
        }
    }
}
// ANCHOR_END: flag

// ANCHOR: channel
/// The same with a channel: a message asks it to stop — and so does the
/// sender being dropped, so a canceller that goes away cancels too.
pub fn work_until_message(stop: &Receiver<()>, slice: Duration) -> Instant {
    loop {
        spin_for(slice);
        match stop.try_recv() {
            Err(TryRecvError::Empty) => {}
            Ok(()) | Err(TryRecvError::Disconnected) => return Instant::now(),
        }
    }
}
// ANCHOR_END: channel

// ANCHOR: deadline
/// With a deadline nobody has to ask: the worker stops by itself once the
/// time is up.
pub fn work_until_deadline(deadline: Instant, slice: Duration) -> Instant {
    loop {
        spin_for(slice);
        let now = Instant::now();
        if now >= deadline {
            return now;
        }
    }
}
// ANCHOR_END: deadline

// ANCHOR: waiting
/// A worker that waits rather than computes, and sleeps `nap` between two
/// looks at the flag: it hears the request only when the nap is over.
pub fn nap_until_flag(stop: &AtomicBool, nap: Duration) -> Instant {
    loop {
        thread::sleep(nap);
        if stop.load(Ordering::Relaxed) {
            return Instant::now();
        }
    }
}

/// The same worker waiting *on the channel* for up to `nap` instead: a
/// request wakes it at once.
pub fn wait_for_message(stop: &Receiver<()>, nap: Duration) -> Instant {
    loop {
        match stop.recv_timeout(nap) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return Instant::now(),
        }
    }
}
// ANCHOR_END: waiting

/// How a worker is told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// [`work_until_flag`].
    Flag,
    /// [`work_until_message`].
    Channel,
    /// [`work_until_deadline`].
    Deadline,
    /// [`nap_until_flag`].
    NapThenFlag,
    /// [`wait_for_message`].
    WaitOnChannel,
}

impl Mechanism {
    /// The name used in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Flag => "flag",
            Mechanism::Channel => "channel",
            Mechanism::Deadline => "deadline",
            Mechanism::NapThenFlag => "nap",
            Mechanism::WaitOnChannel => "wait",
        }
    }
}

// ANCHOR: latency
/// Starts a worker told to stop by `mechanism`, looking every `interval`;
/// lets it run for `run_for`, asks it to stop, and returns how long it took
/// from the request until the worker saw it.
pub fn cancel_latency(mechanism: Mechanism, interval: Duration, run_for: Duration) -> Duration {
    let flag = Arc::new(AtomicBool::new(false));
    let (ask, asked) = crossbeam_channel::bounded::<()>(1);
    let deadline = Instant::now() + run_for;
    let worker = {
        let flag = Arc::clone(&flag);
        thread::spawn(move || match mechanism {
            Mechanism::Flag => work_until_flag(&flag, interval),
            Mechanism::Channel => work_until_message(&asked, interval),
            Mechanism::Deadline => work_until_deadline(deadline, interval),
            Mechanism::NapThenFlag => nap_until_flag(&flag, interval),
            Mechanism::WaitOnChannel => wait_for_message(&asked, interval),
        })
    };
    let requested = match mechanism {
        Mechanism::Deadline => deadline, // nobody asks: the time is up
        _ => {
            thread::sleep(deadline.saturating_duration_since(Instant::now()));
            let now = Instant::now();
            flag.store(true, Ordering::Relaxed);
            let _ = ask.send(());
            now
        }
    };
    let saw_it = worker.join().expect("the worker does not panic");
    saw_it.saturating_duration_since(requested)
}
// ANCHOR_END: latency
