//! loom's atomic integer behind the lab's `SharedInt`, so that the lab's own
//! racy and fixed functions (and the exercises) run under loom unchanged.

// Each test file uses a part of this module.
#![allow(dead_code)]

use lab_07::SharedInt;
use std::sync::atomic::Ordering;

/// A loom atomic: make it inside `loom::model`.
pub struct LoomInt(pub loom::sync::atomic::AtomicI64);

impl LoomInt {
    pub fn new(value: i64) -> LoomInt {
        LoomInt(loom::sync::atomic::AtomicI64::new(value))
    }
}

impl SharedInt for LoomInt {
    fn load(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn store(&self, value: i64) {
        self.0.store(value, Ordering::SeqCst)
    }
    fn fetch_add(&self, delta: i64) -> i64 {
        self.0.fetch_add(delta, Ordering::SeqCst)
    }
    fn compare_exchange(&self, current: i64, new: i64) -> Result<i64, i64> {
        self.0
            .compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst)
    }
}

/// Runs `model` under loom, which runs it once for every interleaving of
/// its threads it tries, and returns how many runs there were with the
/// distinct values they returned. A graded test runs this in a child
/// (`apart`) and judges the values in its own process.
pub fn every_interleaving<T>(model: impl Fn() -> T + Sync + Send + 'static) -> (usize, Vec<T>)
where
    T: Ord + Send + 'static,
{
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new((0, std::collections::BTreeSet::new())));
    let keep = Arc::clone(&seen);
    loom::model(move || {
        let value = model();
        let mut seen = keep.lock().unwrap();
        seen.0 += 1;
        seen.1.insert(value);
    });
    let (runs, values) = std::mem::take(&mut *seen.lock().unwrap());
    (runs, values.into_iter().collect())
}

/// Runs `f` and returns its panic message, or `None` if it did not panic.
pub fn panic_message(f: impl FnOnce()) -> Option<String> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    let payload = result.err()?;
    Some(
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    )
}

/// The exit code [`exit_code_in_a_child`] returns when the child did not end
/// within its time limit (it was killed and reaped).
pub const HUNG: i32 = 98;

/// Runs `work` in a forked child and returns its exit code, after checking
/// in the child that `work` left no child of its own (not waited for). A
/// child is the only place to check that: tests running beside this one in
/// the same process fork children of their own.
///
/// The child gets 60 seconds. A fork copies only the forking thread: a lock
/// another test's thread held at that moment (the panic hook's, while a
/// failing test panics) stays locked in the child forever, so a child that
/// panics could hang; it is then killed, and the test fails instead of
/// hanging.
pub fn exit_code_in_a_child(work: impl FnOnce() -> i32) -> i32 {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use std::time::{Duration, Instant};
    let child = labkit::child::fork_child(|| {
        let code = work();
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Err(nix::errno::Errno::ECHILD) => code,
            _ => 99, // a child is still running or unreaped
        }
    })
    .expect("fork");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !child.has_ended() {
        if Instant::now() > deadline {
            drop(child); // kills and reaps it
            return HUNG;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    match child.wait().expect("wait") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("the test's child ended with {other:?}"),
    }
}
