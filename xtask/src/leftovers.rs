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

/// Makes this process the reaper of whatever is orphaned below it.
pub fn become_subreaper() -> Result<()> {
    nix::sys::prctl::set_child_subreaper(true).context("cannot become a child subreaper")
}

/// Every process re-parented to us since the last call: reaped if it has
/// ended, killed and reaped if it still runs. One line each.
pub fn collect() -> Vec<String> {
    let mut leftovers = Vec::new();
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Err(Errno::ECHILD) => return leftovers, // no child at all: clean
            Ok(WaitStatus::StillAlive) => {
                leftovers.push("a process still running".to_string());
                // Kill what is left so that the next lab starts clean.
                kill_remaining_children();
            }
            Ok(status) => leftovers.push(format!("{status:?}")),
            Err(err) => {
                leftovers.push(format!("waitpid failed: {err}"));
                return leftovers;
            }
        }
    }
}

/// Kills every remaining child of ours and reaps it.
fn kill_remaining_children() {
    for pid in grader::sandbox::children_of(std::process::id() as i32) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const CHILD: &str = "XTASK_LEFTOVERS_CHECK";

    /// The check can fail: a shell that starts `sleep` in the background and
    /// exits orphans it, and the orphan must be found. Run in a process of
    /// its own, where no other test's children can be taken for orphans.
    #[test]
    fn an_orphan_is_found_and_then_gone() {
        if std::env::var_os(CHILD).is_none() {
            let output = Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "leftovers::tests::an_orphan_is_found_and_then_gone",
                ])
                .env(CHILD, "1")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success() && text.contains("1 passed"),
                "{text}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            return;
        }
        become_subreaper().unwrap();
        assert!(collect().is_empty(), "a child before the check");
        let status = Command::new("sh")
            .args(["-c", "sleep 30 &"])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(!collect().is_empty(), "an orphaned sleep went unnoticed");
        assert!(collect().is_empty(), "the orphan is still there");
    }
}
