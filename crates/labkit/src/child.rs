//! Forked child processes that are always reaped.
//!
//! A child that exits but is never waited for stays a zombie; a child whose
//! parent returns early on an error becomes an orphan. [`Child`] makes both
//! impossible: waiting consumes it, and dropping it unwaited kills and reaps it.

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A forked child that this process still has to reap.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    reaped: bool,
}

// ANCHOR: fork_child
/// Forks, runs `work` in the child and ends the child with the code it returns.
///
/// The child never returns into the caller's code: it leaves through `_exit`,
/// which skips the parent's `atexit` handlers and buffered output it inherited
/// (they belong to the parent), and a panic in `work` becomes exit code 101
/// instead of unwinding into a copy of the parent's stack.
pub fn fork_child(work: impl FnOnce() -> i32) -> Result<Child> {
    // SAFETY: after `fork` in a process that may have other threads, the child
    // must avoid locks those threads could have held. Our children only
    // compute, write to pipes and sleep; glibc keeps `malloc` usable after fork.
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Parent { child } => Ok(Child::new(child)),
        ForkResult::Child => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            // SAFETY: `_exit` ends the process at once; nothing runs after it.
            unsafe { nix::libc::_exit(code.unwrap_or(101)) }
        }
    }
}
// ANCHOR_END: fork_child

impl Child {
    /// Takes charge of reaping a child forked elsewhere.
    pub fn new(pid: Pid) -> Child {
        Child { pid, reaped: false }
    }

    /// The child's process id.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Waits for the child to end and returns how it ended.
    pub fn wait(mut self) -> Result<WaitStatus> {
        let status = wait_for(self.pid)?;
        self.reaped = true;
        Ok(status)
    }

    /// Looks at a child that another `Child` reaps: only [`Child::has_ended`]
    /// is of use on it, and dropping it does nothing.
    pub fn watch(pid: Pid) -> Watched {
        Watched { pid }
    }

    /// Whether the child has ended, without reaping it (`waitid` with
    /// `WNOWAIT`): it stays this `Child`'s to wait for.
    pub fn has_ended(&self) -> bool {
        has_ended(self.pid)
    }

    /// Waits for the child and fails unless it exited with code 0.
    pub fn wait_success(self) -> Result<()> {
        let pid = self.pid;
        match self.wait()? {
            WaitStatus::Exited(_, 0) => Ok(()),
            WaitStatus::Exited(_, code) => bail!("child {pid} exited with code {code}"),
            WaitStatus::Signaled(_, signal, _) => bail!("child {pid} was killed by {signal}"),
            other => bail!("child {pid} ended unexpectedly: {other:?}"),
        }
    }
}

/// A child of this process that someone else reaps, watched from another
/// thread (see [`Child::watch`]).
#[derive(Debug, Clone, Copy)]
pub struct Watched {
    pid: Pid,
}

impl Watched {
    /// Whether the child has ended (it is not reaped here).
    pub fn has_ended(&self) -> bool {
        has_ended(self.pid)
    }
}

fn has_ended(pid: Pid) -> bool {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(waitid(Id::Pid(pid), flags), Ok(WaitStatus::StillAlive))
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            // An error path left this child behind: end it and reap it, so it
            // becomes neither an orphan nor a zombie.
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = wait_for(self.pid);
        }
    }
}

/// `waitpid` that retries when a signal interrupts it.
fn wait_for(pid: Pid) -> Result<WaitStatus> {
    loop {
        match waitpid(pid, None) {
            Err(Errno::EINTR) => continue,
            other => return other.with_context(|| format!("waitpid({pid}) failed")),
        }
    }
}

/// Runs `command` in its own process group and collects its output. If it is
/// still running after `limit`, the whole group — its children too — is killed
/// and an error says so. Nothing of it is left running either way.
pub fn output_within(mut command: Command, limit: Duration) -> Result<Output> {
    let program = command.get_program().to_string_lossy().to_string();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("could not start {program}"))?;
    let group = Pid::from_raw(child.id() as i32);
    // Waiting happens on a helper thread so that this one can enforce the
    // limit without polling (polling would steal CPU from a measurement).
    let (done, finished) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let outcome = finished.recv_timeout(limit);
    if outcome.is_err() {
        let _ = killpg(group, Signal::SIGKILL);
    }
    let _ = waiter.join();
    match outcome {
        Ok(output) => Ok(output?),
        Err(_) => bail!("{program} ran longer than {limit:?} and was killed"),
    }
}

/// Whether process `pid` still exists in any state (zombies included).
pub fn exists(pid: Pid) -> bool {
    kill(pid, None).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn has_ended_looks_without_reaping() {
        let child = super::fork_child(|| {
            std::thread::sleep(std::time::Duration::from_millis(200));
            3
        })
        .unwrap();
        assert!(!child.has_ended());
        let start = std::time::Instant::now();
        while !child.has_ended() {
            assert!(start.elapsed().as_secs() < 10, "the child never ended");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // Still ours to reap, with its status intact.
        let pid = child.pid();
        assert_eq!(child.wait().unwrap(), super::WaitStatus::Exited(pid, 3));
    }

    use super::*;

    #[test]
    fn exit_code_comes_back() {
        let child = fork_child(|| 7).unwrap();
        assert!(matches!(child.wait().unwrap(), WaitStatus::Exited(_, 7)));
    }

    #[test]
    fn a_panicking_child_exits_with_101_and_does_not_return() {
        let child = fork_child(|| panic!("boom in the child")).unwrap();
        assert!(matches!(child.wait().unwrap(), WaitStatus::Exited(_, 101)));
    }

    #[test]
    fn wait_success_reports_a_failing_child() {
        let err = fork_child(|| 3).unwrap().wait_success().unwrap_err();
        assert!(err.to_string().contains("exited with code 3"), "{err}");
    }

    #[test]
    fn output_within_kills_the_whole_group_on_time_out() {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & echo started; wait"]);
        let start = std::time::Instant::now();
        let err = output_within(command, Duration::from_millis(300)).unwrap_err();
        assert!(err.to_string().contains("was killed"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn output_within_collects_output() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo hello"]);
        let output = output_within(command, Duration::from_secs(10)).unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), "hello\n");
    }

    #[test]
    fn dropping_an_unwaited_child_kills_and_reaps_it() {
        let child = fork_child(|| {
            std::thread::sleep(std::time::Duration::from_secs(30));
            0
        })
        .unwrap();
        let pid = child.pid();
        drop(child);
        assert!(!exists(pid), "child {pid} should be gone, not a zombie");
    }
}
