//! Lab 08 leaves no process behind — not its stuck children, not the
//! children of its story parents — in its demos run here (`cargo xtask
//! verify` checks a whole run of the lab).
//!
//! The test makes itself a *child subreaper*: any process orphaned below it
//! is re-parented to it, so an orphan shows up here as a child of ours. It
//! is the only test in this binary, so no other test's children can be
//! mistaken for leftovers.

use labkit::testing::leftover_children;
use std::time::Duration;

#[test]
fn no_demo_leaves_a_process_behind() {
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let limit = Duration::from_millis(200);
    lab_08::pipes::full_pipe(lab_08::pipes::wait_then_read, 1 << 18, limit).unwrap();
    lab_08::pipes::open_write_end(false, limit).unwrap();
    lab_08::watch_join_cycle(2, limit).unwrap();
    lab_08::watchdog::find_deadlock_in_child(lab_08::hanging_transfers, limit * 10).unwrap();
    assert_eq!(leftover_children(), Vec::<String>::new(), "after the demos");

    // A whole quick run of the lab is checked by `cargo xtask verify`,
    // which runs every lab as a child subreaper.
}
