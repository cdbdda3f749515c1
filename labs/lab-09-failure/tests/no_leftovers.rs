//! Lab 09 leaves no process behind — not its crashed children, not the
//! children of its story parents, not a worker it signalled — and no
//! temporary file, in its demos run here (`cargo xtask verify` checks a
//! whole run of the lab).
//!
//! The test makes itself a *child subreaper*: any process orphaned below it
//! is re-parented to it, so an orphan shows up here as a child of ours. It
//! is the only test in this binary, so no other test's children can be
//! mistaken for leftovers.

use lab_09::crash::Crash;
use labkit::testing::leftover_children;
use std::time::Duration;

#[test]
fn no_demo_leaves_a_process_or_a_file_behind() {
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let limit = Duration::from_secs(10);
    for crash in [Crash::Abort, Crash::StackOverflow] {
        lab_09::watch::watch(limit, |log| lab_09::threads_one_crashes(crash, log)).unwrap();
        lab_09::watch::watch(limit, |log| lab_09::processes_one_crashes(crash, log)).unwrap();
    }
    lab_09::watch::watch(limit, lab_09::main_returns_early).unwrap();
    lab_09::shared_lock::lock_after_crash(false, Duration::from_millis(50)).unwrap();
    // A program that hangs is killed at its deadline, and reaped.
    let hung = lab_09::watch::watch(Duration::from_millis(200), |log| {
        log.line("hanging");
        std::thread::sleep(Duration::from_secs(30));
        0
    })
    .unwrap();
    assert_eq!(hung.ending, lab_09::watch::Ending::Hung);
    let scratch = lab_09::signals::Scratch::new().unwrap();
    let dir = scratch.path().to_path_buf();
    for stop in [
        lab_09::signals::Stop::TermHandled,
        lab_09::signals::Stop::Kill,
    ] {
        lab_09::signals::stop_worker(stop, &dir, Duration::from_millis(1)).unwrap();
    }
    drop(scratch);
    assert!(!dir.exists(), "{} is still there", dir.display());
    assert_eq!(leftover_children(), Vec::<String>::new(), "after the demos");

    // A whole quick run of the lab is checked by `cargo xtask verify`,
    // which runs every lab as a child subreaper.
}
