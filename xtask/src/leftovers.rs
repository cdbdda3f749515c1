//! Processes a lab run leaves behind: no orphan, no zombie.
//!
//! `cargo xtask verify` makes itself a *child subreaper*: any process
//! orphaned below it (whose parent exited without waiting) is re-parented to
//! it instead of to init. After a lab exits, an orphan therefore shows up as a
//! child of ours — and `verify` has no other child at that moment.

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::sync::OnceLock;

/// The children this process had before it became a subreaper. They are not
/// the labs': `cargo run` replaces itself with this program, so whatever
/// cargo's caller started as cargo's child is ours — e.g. the `tee` of a
/// shell's `> >(tee log)`, which must be neither reported nor killed.
static BEFORE: OnceLock<Vec<i32>> = OnceLock::new();

/// Makes this process the reaper of whatever is orphaned below it.
pub fn become_subreaper() -> Result<()> {
    let _ = BEFORE.set(grader::sandbox::children_of(std::process::id() as i32));
    nix::sys::prctl::set_child_subreaper(true).context("cannot become a child subreaper")
}

/// Every process re-parented to us since the last call: reaped if it has
/// ended, killed and reaped if it still runs. One line each.
pub fn collect() -> Vec<String> {
    let before = BEFORE.get().map(Vec::as_slice).unwrap_or_default();
    let mut leftovers = Vec::new();
    for pid in grader::sandbox::children_of(std::process::id() as i32) {
        if before.contains(&pid) {
            continue;
        }
        let pid = Pid::from_raw(pid);
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {
                leftovers.push(format!("process {pid} still running"));
                // Kill it so that the next lab starts clean.
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
            }
            Ok(status) => leftovers.push(format!("{status:?}")),
            Err(Errno::ECHILD) => {} // reaped meanwhile by someone waiting for it
            Err(err) => leftovers.push(format!("waitpid({pid}) failed: {err}")),
        }
    }
    leftovers
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// The check can fail: a shell that starts `sleep` in the background and
    /// exits orphans it, and the orphan must be found. Run in a process of
    /// its own, where no other test's children can be taken for orphans.
    #[test]
    fn an_orphan_is_found_and_then_gone() {
        if !labkit::testing::alone("leftovers::tests::an_orphan_is_found_and_then_gone") {
            return;
        }
        // A child from before is not the labs': not reported, not killed.
        let mut earlier = Command::new("sleep").arg("30").spawn().unwrap();
        become_subreaper().unwrap();
        assert!(
            collect().is_empty(),
            "a child from before was taken for a leftover"
        );
        let status = Command::new("sh")
            .args(["-c", "sleep 30 &"])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(!collect().is_empty(), "an orphaned sleep went unnoticed");
        assert!(collect().is_empty(), "the orphan is still there");
        assert!(
            earlier.try_wait().unwrap().is_none(),
            "the child from before was killed"
        );
        earlier.kill().unwrap();
        earlier.wait().unwrap();
    }
}
