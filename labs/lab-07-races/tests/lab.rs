//! Tests of lab 07's teaching code: the races really lose, the fixes never
//! do, the work really runs in threads and forked children, and no child is
//! left behind.

mod common;

use lab_07::files::{Append, EVERY_WAY};
use lab_07::shared_memory::SharedCounters;
use lab_07::*;
use labkit::testing::forked_during;
use std::sync::atomic::AtomicI64;

#[test]
fn one_worker_loses_nothing_and_two_lose_updates() {
    assert_eq!(lost_in_threads(1, 100_000), 0);
    // Two threads of a million increments overlap on any machine with two
    // cores; on one core a preemption must land in the window, which takes
    // longer: try a few times.
    if labkit::machine::logical_cores() >= 2 {
        assert!(
            (0..5).any(|_| lost_in_threads(2, 1_000_000) > 0),
            "two threads never lost an update"
        );
    }
}

#[test]
fn every_thread_fix_counts_exactly() {
    for (name, count) in [
        ("mutex", count_with_mutex as fn(usize, u64) -> i64),
        ("fetch_add", count_with_fetch_add),
        ("channel", count_through_a_channel),
        ("per_worker", count_per_worker),
    ] {
        assert_eq!(count(4, 50_000), 200_000, "{name}");
    }
}

#[test]
fn processes_race_in_shared_memory_and_every_fix_counts_exactly() {
    let shared = SharedCounters::new().unwrap();
    for how in [
        ProcessCount::FetchAdd,
        ProcessCount::Locked,
        ProcessCount::PerWorker,
    ] {
        let (total, forked) =
            forked_during(|| count_in_processes(&shared, how, 3, 50_000).unwrap());
        assert_eq!(total, 150_000, "{how:?}");
        let forked = forked.map_or(3, |pids| pids.len());
        assert!(forked >= 3, "{how:?}: only {forked} pids handed out");
    }
    if labkit::machine::logical_cores() >= 2 {
        let lost = (0..5).any(|_| lost_in_processes(&shared, 2, 1_000_000).unwrap() > 0);
        assert!(lost, "two processes never lost an update");
    }
}

#[test]
fn checked_selling_never_oversells_and_sells_everything() {
    let shared = SharedCounters::new().unwrap();
    for _ in 0..20 {
        assert_eq!(sell_out_in_threads(4, sell_checked), 0);
        assert_eq!(sell_out_in_processes(&shared, 3, sell_checked).unwrap(), 0);
    }
    // A single buyer cannot race: the racy version is right alone.
    assert_eq!(sell_out_in_threads(1, sell_racy), 0);
    let stock = AtomicI64::new(0);
    assert!(!sell_checked(&stock) && !sell_racy(&stock));
}

#[test]
fn appending_with_o_append_or_flock_keeps_every_line() {
    let shared = SharedCounters::new().unwrap();
    for how in EVERY_WAY
        .into_iter()
        .filter(|&h| h != Append::SeekThenWrite)
    {
        assert_eq!(write_log(&shared, how, 3, 2000).unwrap(), (0, 0), "{how:?}");
    }
    // One writer alone loses nothing even by seek-then-write.
    assert_eq!(
        write_log(&shared, Append::SeekThenWrite, 1, 500).unwrap(),
        (0, 0)
    );
}

#[test]
fn the_model_checkers_run_in_a_child_and_report_what_they_found() {
    let shared = SharedCounters::new().unwrap();
    let found = model::schedules_to_find_the_race(&shared, 3).unwrap();
    assert!(
        found.random.max <= model::SCHEDULES as f64,
        "random never found it"
    );
    assert!(
        found.pct.max <= model::SCHEDULES as f64,
        "PCT never found it"
    );
    assert_eq!(found.fixed_failures, 0);
}

#[test]
fn in_processes_forks_every_child_and_waits_for_every_one() {
    let shared = SharedCounters::new().unwrap();
    let (code, forked) = forked_during(|| {
        common::exit_code_in_a_child(|| match in_processes(&shared, 4, |_| ()) {
            Ok(()) => 0,
            Err(_) => 1,
        })
    });
    assert_eq!(
        code, 0,
        "99: a child was left unreaped; 1: in_processes failed"
    );
    let forked = forked.map_or(5, |pids| pids.len());
    assert!(forked >= 5, "only {forked} processes were forked");
}
