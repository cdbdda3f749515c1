//! Graded tests for lab 07's exercises that only instructors see: the student
//! edition does not contain this file. As in `exercises.rs`, each runs the
//! exercise in a process of its own (`apart`) and judges what comes back.

mod common;

use common::{LoomInt, every_interleaving};
use lab_07::exercises::{add_one, count_in_children, sell_one};
use labkit::testing::{apart, forked_during};
use loom::sync::Arc;
use nix::errno::Errno;
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::wait::{WaitPidFlag, waitpid};
use std::sync::Barrier;
use std::sync::atomic::{AtomicI64, Ordering};

/// An exercise's error as text, to send back from its process.
fn text(err: anyhow::Error) -> String {
    format!("{err:#}")
}

#[test]
fn add_one_with_three_threads_in_any_interleaving() {
    // Each interleaving's (values the three calls saw, sorted; total).
    let (_, outcomes) = apart(|| {
        every_interleaving(|| {
            let counter = Arc::new(LoomInt::new(0));
            let others: Vec<_> = (0..2)
                .map(|_| {
                    let counter = Arc::clone(&counter);
                    loom::thread::spawn(move || add_one(&*counter))
                })
                .collect();
            let mut seen = vec![add_one(&*counter)];
            seen.extend(others.into_iter().map(|t| t.join().unwrap()));
            seen.sort_unstable();
            (seen, counter.0.load(Ordering::SeqCst))
        })
    });
    assert!(!outcomes.is_empty(), "loom ran no interleaving");
    for (seen, total) in outcomes {
        // Each call saw a different value before its own: 0, 1, 2.
        assert_eq!(seen, vec![0, 1, 2]);
        assert_eq!(total, 3);
    }
}

#[test]
fn add_one_on_real_threads_counts_every_update() {
    const THREADS: usize = 4;
    const EACH: i64 = 1_000_000;
    // Five races: on a busy machine threads that start together can still
    // run one after another and lose nothing (a racy add_one did, in about
    // one race in seven, in lab 03's test of processes); every race must
    // count exactly.
    let totals = apart(|| (0..5).map(|_| race(THREADS, EACH)).collect::<Vec<_>>());
    let expected = THREADS as i64 * EACH;
    assert_eq!(
        totals, [expected; 5],
        "{THREADS} threads called add_one {EACH} times each, 5 times: updates were lost"
    );
}

/// `threads` threads call `add_one` `each` times on one counter, starting
/// together; the counter's value at the end.
fn race(threads: usize, each: i64) -> i64 {
    let counter = AtomicI64::new(0);
    // They start at once, so that they really overlap: a lost update needs
    // two threads between the same read and write.
    let start = Barrier::new(threads);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                start.wait();
                for _ in 0..each {
                    add_one(&counter);
                }
            });
        }
    });
    counter.into_inner()
}

#[test]
fn sell_one_sells_everything_and_never_below_zero() {
    // Each interleaving's (items sold, items left).
    let (_, outcomes) = apart(|| {
        every_interleaving(|| {
            let stock = Arc::new(LoomInt::new(2));
            let others: Vec<_> = (0..2)
                .map(|_| {
                    let stock = Arc::clone(&stock);
                    loom::thread::spawn(move || sell_one(&*stock))
                })
                .collect();
            let mut sold = usize::from(sell_one(&*stock));
            sold += others
                .into_iter()
                .map(|t| usize::from(t.join().unwrap()))
                .sum::<usize>();
            (sold, stock.0.load(Ordering::SeqCst))
        })
    });
    assert!(!outcomes.is_empty(), "loom ran no interleaving");
    for (sold, left) in outcomes {
        assert_eq!(sold, 2, "three buyers, two items");
        assert_eq!(left, 0);
    }
    let (sold, left) = apart(|| {
        let empty = AtomicI64::new(0);
        (sell_one(&empty), empty.into_inner())
    });
    assert!(!sold, "sold an item from an empty stock");
    assert_eq!(left, 0, "selling from an empty stock changed it");
}

/// CPU time (user and system, in seconds) of this process (`RUSAGE_SELF`)
/// or of the children it has reaped (`RUSAGE_CHILDREN`).
fn cpu_seconds(who: UsageWho) -> f64 {
    let usage = getrusage(who).expect("getrusage");
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    seconds(usage.user_time()) + seconds(usage.system_time())
}

/// CPU seconds this process takes to add 1 to a shared atomic `n` times
/// alone: less than the same adds cost in processes adding at once.
fn cpu_for_adds(n: u64) -> f64 {
    let counter = AtomicI64::new(0);
    let before = cpu_seconds(UsageWho::RUSAGE_SELF);
    for _ in 0..n {
        std::hint::black_box(&counter).fetch_add(1, Ordering::SeqCst);
    }
    cpu_seconds(UsageWho::RUSAGE_SELF) - before
}

#[test]
fn count_in_children_really_forks_and_reaps_them() {
    const WORKERS: usize = 4;
    const EACH: u64 = 2_500_000;
    // From the test's child: the total, whether a child was left unreaped,
    // the CPU time of the children it reaped, and what the same adds take
    // there alone. Children that only exit, beside a total computed here or
    // in threads, used almost none.
    // Here: the pids the kernel handed out meanwhile — the two probes' first,
    // the test's child's, then its children's (and its threads', and any
    // other process's on the machine: a lower bound's test only).
    let ((total, unreaped, children_cpu, alone_cpu), pids) = forked_during(|| {
        apart(|| {
            let alone_cpu = cpu_for_adds(EACH);
            let before = cpu_seconds(UsageWho::RUSAGE_CHILDREN);
            let total = count_in_children(WORKERS, EACH).map_err(text);
            let children_cpu = cpu_seconds(UsageWho::RUSAGE_CHILDREN) - before;
            let unreaped = waitpid(None, Some(WaitPidFlag::WNOHANG)) != Err(Errno::ECHILD);
            (total, unreaped, children_cpu, alone_cpu)
        })
    });
    let expected = WORKERS as i64 * EACH as i64;
    assert_eq!(total.expect("count_in_children(4, 2500000)"), expected);
    assert!(!unreaped, "a child was not waited for");
    let pids = pids.map_or(6, |pids| pids.len());
    assert!(
        pids >= 6,
        "only {} processes were forked",
        pids.saturating_sub(2)
    );
    let needed = 0.5 * WORKERS as f64 * alone_cpu;
    assert!(
        children_cpu >= needed,
        "the children used {:.0} ms of CPU in all; the adds alone take {:.0} ms a child: \
         did the children do the adding?",
        children_cpu * 1e3,
        alone_cpu * 1e3
    );
    let none = apart(|| count_in_children(0, 10).map_err(text));
    assert_eq!(none.expect("count_in_children(0, 10)"), 0);
}
