//! Graded tests for lab 07's exercises that only instructors see: the student
//! edition does not contain this file.

mod common;

use common::LoomInt;
use lab_07::exercises::{add_one, count_in_children, sell_one};
use labkit::testing::forked_during;
use loom::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[test]
fn add_one_with_three_threads_in_any_interleaving() {
    loom::model(|| {
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
        // Each call saw a different value before its own: 0, 1, 2.
        assert_eq!(seen, vec![0, 1, 2]);
        assert_eq!(counter.0.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn add_one_on_real_threads_counts_every_update() {
    let counter = AtomicI64::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..250_000 {
                    add_one(&counter);
                }
            });
        }
    });
    assert_eq!(counter.into_inner(), 1_000_000);
}

#[test]
fn sell_one_sells_everything_and_never_below_zero() {
    loom::model(|| {
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
        assert_eq!(sold, 2, "three buyers, two items");
        assert_eq!(stock.0.load(Ordering::SeqCst), 0);
    });
    let empty = AtomicI64::new(0);
    assert!(!sell_one(&empty));
    assert_eq!(
        empty.into_inner(),
        0,
        "selling from an empty stock changed it"
    );
}

#[test]
fn count_in_children_really_forks_and_reaps_them() {
    let (code, pids) = forked_during(|| {
        common::exit_code_in_a_child(|| match count_in_children(4, 250_000) {
            Ok(1_000_000) => 0,
            Ok(_) => 1,
            Err(_) => 2,
        })
    });
    assert_ne!(
        code,
        common::HUNG,
        "count_in_children did not return within 60 s"
    );
    assert_ne!(code, 99, "a child was not waited for");
    assert_ne!(code, 1, "the total is wrong: an update was lost");
    assert_eq!(code, 0, "count_in_children returned an error");
    let pids = pids.map_or(5, |pids| pids.len());
    assert!(
        pids >= 5,
        "only {} processes were forked",
        pids.saturating_sub(1)
    );
    assert_eq!(count_in_children(0, 10).unwrap(), 0);
}
