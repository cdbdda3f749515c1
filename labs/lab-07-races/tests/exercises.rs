//! Graded tests for lab 07's exercises that students see.
//! Run them with `cargo test -p lab-07 --test exercises`.
//!
//! The first two run your code under loom, which tries every way two
//! threads' steps can interleave: a race fails them every time, not once in
//! a million runs.

mod common;

use common::LoomInt;
use lab_07::exercises::{add_one, count_in_children, sell_one};
use loom::sync::Arc;

#[test]
fn add_one_loses_no_update_in_any_interleaving() {
    loom::model(|| {
        let counter = Arc::new(LoomInt::new(0));
        let other = {
            let counter = Arc::clone(&counter);
            loom::thread::spawn(move || add_one(&*counter))
        };
        let mine = add_one(&*counter);
        let theirs = other.join().unwrap();
        assert_eq!(
            counter.0.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "an update was lost: both read {mine} and {theirs}"
        );
    });
}

#[test]
fn sell_one_never_sells_the_last_item_twice() {
    loom::model(|| {
        let stock = Arc::new(LoomInt::new(1));
        let other = {
            let stock = Arc::clone(&stock);
            loom::thread::spawn(move || sell_one(&*stock))
        };
        let mine = sell_one(&*stock);
        let theirs = other.join().unwrap();
        let left = stock.0.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            mine ^ theirs,
            "one buyer must get the item: sold {mine} and {theirs}, {left} left"
        );
        assert_eq!(left, 0);
    });
}

#[test]
fn count_in_children_counts_every_update() {
    assert_eq!(count_in_children(2, 100_000).unwrap(), 200_000);
}
