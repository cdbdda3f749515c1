//! Tests of lab 08's demos: each deadlock is found and named, each fix
//! finishes, and every demo ends by itself.

use lab_08::philosophers::{Rule, SEATS, TIMING, dinner};
use lab_08::tracked::{Deadlock, TrackedMutex, WaitForGraph};
use lab_08::*;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The tests run one at a time: a child forked by one test would inherit
/// another test's pipe ends and keep its reader waiting, or a copy of the
/// `parking_lot` table in the middle of another test's lock or unlock, which
/// the watchdog in the child would then wait for forever.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static FORKING: Mutex<()> = Mutex::new(());
    FORKING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn opposite_orders_deadlock_and_the_graph_names_the_cycle() {
    let _one = one_at_a_time();
    // 5 ms between the locks: both hold their first lock long before
    // either reaches for the second (a few tries, for a very busy machine).
    let deadlock = (0..5)
        .find_map(|_| opposite_transfers(move_one, Duration::from_millis(5)))
        .expect("no deadlock in 5 tries");
    let Deadlock::Cycle(cycle) = deadlock else {
        panic!("a timeout, not a cycle: {deadlock}");
    };
    assert_eq!(cycle.len(), 2, "{cycle:?}");
    let mut threads: Vec<&str> = cycle.iter().map(|w| w.thread.as_str()).collect();
    threads.sort_unstable();
    assert_eq!(threads, ["left", "right"]);
    for edge in &cycle {
        assert_ne!(edge.thread, edge.held_by, "{edge:?}");
    }
}

#[test]
fn one_global_order_never_deadlocks() {
    let _one = one_at_a_time();
    for _ in 0..30 {
        assert_eq!(
            opposite_transfers(move_one_in_order, Duration::from_micros(500)),
            None
        );
    }
}

#[test]
fn a_lock_freed_in_time_is_taken_and_a_lock_never_freed_times_out() {
    let _one = one_at_a_time();
    let graph = WaitForGraph::new();
    let lock = TrackedMutex::new("L", 0, &graph);
    std::thread::scope(|scope| {
        let held = lock.lock().unwrap();
        let waiter = scope.spawn(|| lock.lock().map(|mut v| *v += 1).is_ok());
        std::thread::sleep(Duration::from_millis(20));
        drop(held);
        assert!(waiter.join().unwrap(), "the freed lock was not taken");
    });
    assert_eq!(*lock.lock().unwrap(), 1);
    std::thread::scope(|scope| {
        let _held = lock.lock().unwrap();
        let start = Instant::now();
        let waiter = scope.spawn(|| lock.lock().err());
        let gave_up = waiter.join().unwrap();
        assert!(
            matches!(gave_up, Some(Deadlock::TimedOut { .. })),
            "{gave_up:?}"
        );
        assert!(start.elapsed() >= tracked::DEADLINE);
    });
}

#[test]
fn the_naive_table_deadlocks_with_all_five_in_the_cycle() {
    let _one = one_at_a_time();
    let naive = (0..5)
        .map(|_| dinner(SEATS, Rule::Naive, Duration::from_secs(2), TIMING))
        .find(|d| d.deadlock.is_some())
        .expect("the naive table never deadlocked in 5 dinners");
    let Some(Deadlock::Cycle(cycle)) = &naive.deadlock else {
        panic!("{:?}", naive.deadlock);
    };
    assert_eq!(cycle.len(), SEATS, "{cycle:?}");
    assert!(naive.seconds < 2.0, "the deadlock was found late");
}

#[test]
fn every_fix_feeds_every_philosopher_without_a_deadlock() {
    let _one = one_at_a_time();
    for rule in [Rule::GlobalOrder, Rule::Waiter, Rule::Backoff] {
        let fed = dinner(SEATS, rule, Duration::from_millis(200), TIMING);
        assert!(fed.deadlock.is_none(), "{rule:?}: {:?}", fed.deadlock);
        assert!(
            fed.meals.iter().all(|&m| m > 0),
            "{rule:?}: {:?}",
            fed.meals
        );
        assert!(fed.fairness() > 0.0 && fed.meals_per_second() > 0.0);
    }
}

#[test]
fn parking_lot_finds_both_transfers_and_all_five_philosophers() {
    let _one = one_at_a_time();
    let two = watchdog::find_deadlock_in_child(hanging_transfers, Duration::from_secs(5))
        .unwrap()
        .expect("parking_lot found no deadlock");
    assert_eq!(two.threads.len(), 2, "{two:?}");
    assert!(
        two.threads.iter().all(|t| t.contains("move_one_blocking")),
        "{two:?}"
    );
    let five = watchdog::find_deadlock_in_child(hanging_philosophers, Duration::from_secs(5))
        .unwrap()
        .expect("parking_lot found no deadlock");
    assert_eq!(five.threads.len(), 5, "{five:?}");
    assert!(five.threads.iter().any(|t| t.starts_with("philosopher 4")));
}

/// Whether `wchan` names a kernel function containing `expected` — or the
/// kernel does not show it: wchan reads "0" (or nothing) where the kernel
/// hides it, e.g. without `CONFIG_STACKTRACE` or under a strict `ptrace`
/// policy, and these checks are then about the names only.
fn waits_in(wchan: &str, expected: &str) -> bool {
    wchan.is_empty() || wchan == "0" || wchan.contains(expected)
}

#[test]
fn two_threads_joining_each_other_never_end_and_sleep_in_a_futex() {
    let _one = one_at_a_time();
    let cycle = watch_join_cycle(2, Duration::from_millis(300)).unwrap();
    assert!(!cycle.ended);
    assert_eq!(cycle.stuck.len(), 2, "{:?}", cycle.stuck);
    assert!(
        cycle.stuck.iter().all(|t| waits_in(&t.wchan, "futex")),
        "{:?}",
        cycle.stuck
    );
}

#[test]
fn a_full_pipe_deadlocks_the_waiting_parent_and_reading_first_fixes_it() {
    let _one = one_at_a_time();
    let capacity = pipes::pipe_capacity().unwrap();
    assert!(capacity >= 4096, "{capacity}");
    let limit = Duration::from_millis(300);
    let stuck = pipes::full_pipe(pipes::wait_then_read, 4 * capacity, limit).unwrap();
    assert!(!stuck.finished);
    let wchans: Vec<&str> = stuck.stuck.iter().map(|p| p.wchan.as_str()).collect();
    assert_eq!(wchans.len(), 2, "{:?}", stuck.stuck);
    assert!(waits_in(wchans[0], "wait"), "the parent: {wchans:?}");
    assert!(waits_in(wchans[1], "pipe_write"), "the child: {wchans:?}");
    let fixed = pipes::full_pipe(pipes::read_then_wait, 4 * capacity, limit).unwrap();
    assert!(fixed.finished && fixed.stuck.is_empty());
}

#[test]
fn an_inherited_write_end_keeps_the_reader_waiting_until_it_is_closed() {
    let _one = one_at_a_time();
    let limit = Duration::from_millis(300);
    let (open, holders) = pipes::open_write_end(false, limit).unwrap();
    assert!(!open.finished);
    assert!(
        waits_in(&open.stuck[0].wchan, "pipe_read"),
        "{:?}",
        open.stuck
    );
    assert!(
        holders.iter().any(|h| h.starts_with("the logger")),
        "{holders:?}"
    );
    assert!(
        !holders.iter().any(|h| h.starts_with("this lab")),
        "{holders:?}"
    );
    let (closed, _) = pipes::open_write_end(true, limit).unwrap();
    assert!(closed.finished);
}

#[test]
fn the_exercise_solutions_finish() {
    let _one = one_at_a_time();
    let input = vec![b'a'; 100_000];
    let code = deadline::in_child_within(Duration::from_secs(10), || {
        i32::from(exercises::pipeline(&input).ok() != Some(vec![b'A'; 100_000]))
    });
    assert_eq!(code, Ok(0));
}

#[test]
fn a_deadline_fails_work_that_never_ends() {
    let _one = one_at_a_time();
    let start = Instant::now();
    let stuck = deadline::in_thread_within(Duration::from_millis(100), || {
        std::thread::sleep(Duration::from_secs(60))
    });
    assert!(stuck.unwrap_err().contains("deadlock"));
    let stuck = deadline::in_child_within(Duration::from_millis(100), || {
        std::thread::sleep(Duration::from_secs(60));
        0
    });
    assert!(stuck.unwrap_err().contains("deadlock"));
    assert!(start.elapsed() < Duration::from_secs(5));
}
