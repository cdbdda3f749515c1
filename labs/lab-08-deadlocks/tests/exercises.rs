//! Graded tests for lab 08's exercises that students see.
//! Run them with `cargo test -p lab-08 --test exercises`.
//!
//! Each runs your code in a process of its own with a deadline
//! (`apart_within`): a deadlock fails the test with a message after a few
//! seconds instead of hanging it, and what comes back is judged here, so
//! what the exercise prints, or an `exit`, cannot pass a test. (What your
//! code prints is not shown.)

mod common;

use common::{LIMIT, PAUSE, dinner, text};
use lab_08::exercises::{Account, pipeline, transfer};
use labkit::testing::apart_within;
use std::thread;

/// `rounds` transfers of `amount` from `accounts[from]` to `accounts[to]`,
/// on a thread of their own.
fn transfers<'s>(
    scope: &'s thread::Scope<'s, '_>,
    accounts: &'s [Account],
    (from, to): (usize, usize),
    rounds: usize,
    amount: i64,
) {
    scope.spawn(move || {
        for _ in 0..rounds {
            transfer(&accounts[from], &accounts[to], amount);
        }
    });
}

#[test]
fn transfers_both_ways_at_once_finish() {
    let balances = apart_within(LIMIT, || {
        let accounts = [
            Account::with_pause(1, 100, PAUSE),
            Account::with_pause(2, 100, PAUSE),
        ];
        thread::scope(|s| {
            transfers(s, &accounts, (0, 1), 50, 1);
            transfers(s, &accounts, (1, 0), 30, 1);
        });
        accounts.map(|account| account.balance())
    });
    assert_eq!(
        balances,
        [80, 120],
        "50 transfers of 1 from account 1 to 2 and 30 from 2 to 1, at once"
    );
}

#[test]
fn transfers_both_ways_move_the_right_amounts() {
    // The higher id pays in one direction, the lower in the other: a fix
    // that orders the locks must still move money from `from` to `to`.
    let balances = apart_within(LIMIT, || {
        let accounts = [
            Account::with_pause(9, 100, PAUSE),
            Account::with_pause(4, 100, PAUSE),
        ];
        thread::scope(|s| {
            transfers(s, &accounts, (0, 1), 25, 3);
            transfers(s, &accounts, (1, 0), 10, 2);
        });
        accounts.map(|account| account.balance())
    });
    assert_eq!(balances, [45, 155]);
}

#[test]
fn five_philosophers_all_eat_their_meals() {
    assert_eq!(apart_within(LIMIT, || dinner(5, 20, PAUSE)), vec![20; 5]);
}

/// The pipeline's output for `input`, from the test's child.
fn pipeline_of(input: &[u8]) -> Result<Vec<u8>, String> {
    let input = input.to_vec();
    apart_within(LIMIT, move || pipeline(&input).map_err(text))
}

#[test]
fn the_pipeline_upper_cases_a_line() {
    let output = pipeline_of(b"through two children\n").expect("the pipeline");
    assert_eq!(String::from_utf8_lossy(&output), "THROUGH TWO CHILDREN\n");
}

#[test]
fn the_pipeline_carries_more_than_a_pipe_holds() {
    let input: Vec<u8> = (0..300_000).map(|i| b"abcdefgh\n"[i % 9]).collect();
    let output = pipeline_of(&input).expect("the pipeline");
    assert_eq!(output.len(), input.len(), "bytes lost or added");
    assert!(
        output == input.to_ascii_uppercase(),
        "the output is not the input upper-cased"
    );
}
