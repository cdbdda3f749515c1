//! A lab run leaves no process behind: no orphan, no zombie.
//!
//! This test makes itself a *child subreaper*: any process orphaned below it
//! (whose parent exited without waiting) is re-parented to it instead of to
//! init. After the lab exits, an orphan would therefore show up here as a
//! child of ours. It is the only test in this binary, so no other test's
//! children can be mistaken for leftovers.

mod common;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::process::Command;

/// Every process re-parented to us since the last call: reaped if it has
/// ended, killed and reaped if it still runs.
fn collect_leftovers() -> Vec<String> {
    let mut leftovers = Vec::new();
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Err(Errno::ECHILD) => return leftovers, // no child at all: clean
            Ok(WaitStatus::StillAlive) => {
                leftovers.push("a process still running".to_string());
                // Kill what is left so the test ends cleanly, then reap it.
                kill_remaining_children();
            }
            Ok(status) => leftovers.push(format!("{status:?}")),
            Err(err) => panic!("waitpid: {err}"),
        }
    }
}

/// Kills every remaining child of ours, found through /proc, and reaps it.
fn kill_remaining_children() {
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let pid = entry.file_name().to_string_lossy().parse::<i32>();
        if rest.split_whitespace().nth(1) == Some(me.as_str())
            && let Ok(pid) = pid
        {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
        }
    }
}

#[test]
fn a_quick_lab_run_leaves_no_process_behind() {
    nix::sys::prctl::set_child_subreaper(true).unwrap();

    // First show that the check can fail: a shell that starts `sleep` in the
    // background and exits orphans it, and the orphan must be found here.
    let status = Command::new("sh")
        .args(["-c", "sleep 30 &"])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        !collect_leftovers().is_empty(),
        "an orphaned sleep went unnoticed"
    );
    assert!(collect_leftovers().is_empty());

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for lab in common::labs() {
        let lab = lab.id.as_str();
        let output = Command::new(&cargo)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["run", "--quiet", "--package", lab, "--", "--quick"])
            .output()
            .unwrap();
        assert!(
            output.status.code().is_some_and(|c| c <= 1),
            "{lab} did not finish: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let leftovers = collect_leftovers();
        assert!(
            leftovers.is_empty(),
            "{lab} left processes behind: {leftovers:?}"
        );
    }
}
