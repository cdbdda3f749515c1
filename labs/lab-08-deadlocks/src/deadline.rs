//! Running work that may deadlock, with a deadline — what the graded tests
//! use, so that a solution that deadlocks fails with a message instead of
//! hanging the test run.

use labkit::child::fork_child;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::WaitStatus;
use nix::unistd::{Pid, setpgid};
use std::time::Duration;

/// Runs work on a thread of its own with a deadline (labkit's, shared with
/// the other labs' tests).
pub use labkit::testing::in_thread_within;

/// Runs `work` in a forked child that leads a process group of its own and
/// returns its exit code, or an error if it did not end within `limit` — the
/// whole group (the children `work` forked too) is then killed, and the
/// child reaped.
pub fn in_child_within(limit: Duration, work: impl FnOnce() -> i32) -> Result<i32, String> {
    let child = fork_child(|| {
        let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
        work()
    })
    .map_err(|e| format!("fork failed: {e:#}"))?;
    // Also here, so the group exists before anything below may kill it.
    let _ = setpgid(child.pid(), child.pid());
    let pid = child.pid();
    if !crate::pipes::ended_within(&child, limit) {
        let _ = killpg(pid, Signal::SIGKILL);
        let _ = child.wait();
        return Err(format!(
            "did not finish within {limit:?}: a deadlock? (a process waiting for a pipe or a child forever)"
        ));
    }
    let status = child.wait();
    // Children it left running belong to its group: end them too.
    let _ = killpg(pid, Signal::SIGKILL);
    match status {
        Ok(WaitStatus::Exited(_, code)) => Ok(code),
        Ok(other) => Err(format!("the child ended with {other:?}")),
        Err(err) => Err(format!("{err:#}")),
    }
}
