//! Graded tests for lab 07's exercises that students see.
//! Run them with `cargo test -p lab-07 --test exercises`.
//!
//! The first two run your code under loom, which tries every way two
//! threads' steps can interleave: a race fails them every time, not once in
//! a million runs. Each test runs the exercise in a process of its own
//! (`apart`) and judges what comes back here: what the exercise prints, or an
//! `exit`, cannot pass a test. (What your code prints is not shown.)

mod common;

use common::{LoomInt, every_interleaving};
use lab_07::exercises::{add_one, count_in_children, sell_one};
use labkit::testing::apart;
use loom::sync::Arc;
use std::sync::atomic::Ordering;

#[test]
fn add_one_loses_no_update_in_any_interleaving() {
    // Each interleaving's (value one call saw, value the other saw, total).
    let (_, outcomes) = apart(|| {
        every_interleaving(|| {
            let counter = Arc::new(LoomInt::new(0));
            let other = {
                let counter = Arc::clone(&counter);
                loom::thread::spawn(move || add_one(&*counter))
            };
            let mine = add_one(&*counter);
            let theirs = other.join().unwrap();
            (mine, theirs, counter.0.load(Ordering::SeqCst))
        })
    });
    assert!(!outcomes.is_empty(), "loom ran no interleaving");
    for (mine, theirs, total) in outcomes {
        assert_eq!(
            total, 2,
            "an update was lost: both read {mine} and {theirs}"
        );
    }
}

#[test]
fn sell_one_never_sells_the_last_item_twice() {
    // Each interleaving's (one buyer got it, the other did, items left).
    let (_, outcomes) = apart(|| {
        every_interleaving(|| {
            let stock = Arc::new(LoomInt::new(1));
            let other = {
                let stock = Arc::clone(&stock);
                loom::thread::spawn(move || sell_one(&*stock))
            };
            let mine = sell_one(&*stock);
            let theirs = other.join().unwrap();
            (mine, theirs, stock.0.load(Ordering::SeqCst))
        })
    });
    assert!(!outcomes.is_empty(), "loom ran no interleaving");
    for (mine, theirs, left) in outcomes {
        assert!(
            mine ^ theirs,
            "one buyer must get the item: sold {mine} and {theirs}, {left} left"
        );
        assert_eq!(left, 0);
    }
}

#[test]
fn count_in_children_counts_every_update() {
    let total = apart(|| count_in_children(2, 100_000).map_err(|e| format!("{e:#}")));
    assert_eq!(total.expect("count_in_children(2, 100000)"), 200_000);
}
