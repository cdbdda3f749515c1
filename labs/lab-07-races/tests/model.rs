//! Model checking: loom (every interleaving, within its bounds) and shuttle
//! (random and PCT schedules) must *find* the race in the racy counter and
//! in check-then-act — with the interleaving — and find none in the fixes.

mod common;

use common::{LoomInt, panic_message};
use lab_07::model::{ShuttleInt, first_failing_schedule, two_adders};
use lab_07::*;
use loom::sync::Arc;
use shuttle::scheduler::{PctScheduler, RandomScheduler};

// ANCHOR: loom_counter
/// Two loom threads each add one with `add`; the model fails if the counter
/// does not end at 2, naming what each thread read.
fn loom_two_adders(add: fn(&LoomInt) -> i64) {
    loom::model(move || {
        let counter = Arc::new(LoomInt::new(0));
        let theirs = {
            let counter = Arc::clone(&counter);
            loom::thread::spawn(move || add(&counter))
        };
        let mine = add(&counter);
        let theirs = theirs.join().unwrap();
        let total = counter.load();
        assert_eq!(
            total, 2,
            "lost update: one thread read {mine}, the other read {theirs}; the counter ends at {total}"
        );
    });
}

#[test]
fn loom_finds_the_lost_update_and_the_interleaving() {
    let message = panic_message(|| loom_two_adders(add_one_racy)).expect("loom found no race");
    // Both threads read 0 before either wrote: the interleaving that loses.
    assert!(
        message.contains("one thread read 0, the other read 0; the counter ends at 1"),
        "{message}"
    );
}

#[test]
fn loom_finds_no_lost_update_with_fetch_add() {
    loom_two_adders(add_one_atomic);
}
// ANCHOR_END: loom_counter

/// Two loom buyers each try to sell once from a stock of one.
fn loom_two_buyers(sell: fn(&LoomInt) -> bool) {
    loom::model(move || {
        let stock = Arc::new(LoomInt::new(1));
        let theirs = {
            let stock = Arc::clone(&stock);
            loom::thread::spawn(move || sell(&stock))
        };
        let mine = sell(&stock);
        let theirs = theirs.join().unwrap();
        let left = stock.load();
        assert!(
            left >= 0,
            "oversold: both sold ({mine}, {theirs}); the stock ends at {left}"
        );
        assert!(
            mine ^ theirs,
            "exactly one buyer gets the last item: {mine}, {theirs}"
        );
    });
}

#[test]
fn loom_finds_the_oversold_stock() {
    let message =
        panic_message(|| loom_two_buyers(sell_racy)).expect("loom found no oversold stock");
    assert!(
        message.contains("oversold: both sold (true, true); the stock ends at -1"),
        "{message}"
    );
}

#[test]
fn loom_finds_no_oversold_stock_with_compare_exchange() {
    loom_two_buyers(sell_checked);
}

// ANCHOR: shuttle_replay
#[test]
fn shuttle_finds_the_lost_update_and_its_schedule_replays_it() {
    let message = panic_message(|| shuttle::check_random(two_adders(add_one_racy), 1000))
        .expect("shuttle found no race in 1000 schedules");
    assert!(message.contains("lost update"), "{message}");
    // Shuttle prints the failing schedule; replaying it fails the same way.
    let schedule = message
        .split('"')
        .nth(1)
        .expect("the message holds the schedule in quotes")
        .trim()
        .to_string();
    let replayed = panic_message(|| shuttle::replay(two_adders(add_one_racy), &schedule));
    assert!(
        replayed.is_some_and(|m| m.contains("lost update")),
        "the schedule did not replay the failure"
    );
}
// ANCHOR_END: shuttle_replay

#[test]
fn shuttle_pct_finds_the_lost_update_and_passes_the_fix() {
    let found = first_failing_schedule(
        PctScheduler::new_from_seed(7, 2, 1000),
        two_adders(add_one_racy),
    );
    assert!(
        found.is_some_and(|n| n <= 50),
        "PCT needed {found:?} schedules"
    );
    let fixed = first_failing_schedule(
        RandomScheduler::new_from_seed(7, 2000),
        two_adders(add_one_atomic),
    );
    assert_eq!(fixed, None, "fetch_add failed a schedule");
}

/// Three shuttle buyers on a stock of two: never below zero, both sold.
fn shuttle_three_buyers(sell: fn(&ShuttleInt) -> bool) -> impl Fn() + Send + Sync + 'static {
    move || {
        let stock = std::sync::Arc::new(ShuttleInt::new(2));
        let buyers: Vec<_> = (0..3)
            .map(|_| {
                let stock = std::sync::Arc::clone(&stock);
                shuttle::thread::spawn(move || sell(&stock))
            })
            .collect();
        let sold = buyers
            .into_iter()
            .map(|b| b.join().unwrap())
            .filter(|&s| s)
            .count();
        let left = stock.load();
        assert!(left >= 0 && sold == 2, "sold {sold} of 2, {left} left");
    }
}

#[test]
fn shuttle_finds_the_oversold_stock_and_passes_the_fix() {
    let found = first_failing_schedule(
        RandomScheduler::new_from_seed(1, 1000),
        shuttle_three_buyers(sell_racy),
    );
    assert!(
        found.is_some(),
        "shuttle found no oversold stock in 1000 schedules"
    );
    let fixed = first_failing_schedule(
        RandomScheduler::new_from_seed(1, 1000),
        shuttle_three_buyers(sell_checked),
    );
    assert_eq!(fixed, None);
}
