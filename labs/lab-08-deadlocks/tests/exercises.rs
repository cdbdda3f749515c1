//! Graded tests for lab 08's exercises that students see.
//! Run them with `cargo test -p lab-08 --test exercises`.
//!
//! Each runs your code with a deadline: a deadlock fails the test with a
//! message after a few seconds instead of hanging it.

mod common;

use common::{LIMIT, PAUSE, dinner};
use lab_08::deadline::{in_child_within, in_thread_within};
use lab_08::exercises::{Account, pipeline, transfer};
use std::sync::Arc;
use std::thread;

/// `rounds` transfers of 1 from `from` to `to`, on a thread of their own.
fn transfers(
    accounts: &Arc<Vec<Account>>,
    from: usize,
    to: usize,
    rounds: usize,
) -> thread::JoinHandle<()> {
    let accounts = Arc::clone(accounts);
    thread::spawn(move || {
        for _ in 0..rounds {
            transfer(&accounts[from], &accounts[to], 1);
        }
    })
}

#[test]
fn transfers_both_ways_at_once_finish() {
    let accounts = Arc::new(vec![
        Account::with_pause(1, 100, PAUSE),
        Account::with_pause(2, 100, PAUSE),
    ]);
    let shared = Arc::clone(&accounts);
    let finished = in_thread_within(LIMIT, move || {
        let threads = [transfers(&shared, 0, 1, 50), transfers(&shared, 1, 0, 30)];
        threads.map(|t| t.join().is_ok())
    });
    assert_eq!(
        finished,
        Ok([true, true]),
        "transfers from 1 to 2 and from 2 to 1 at once"
    );
    assert_eq!(accounts[0].balance(), 80);
    assert_eq!(accounts[1].balance(), 120);
}

#[test]
fn transfers_both_ways_move_the_right_amounts() {
    // The higher id pays in one direction, the lower in the other: a fix
    // that orders the locks must still move money from `from` to `to`.
    let accounts = Arc::new(vec![
        Account::with_pause(9, 100, PAUSE),
        Account::with_pause(4, 100, PAUSE),
    ]);
    let shared = Arc::clone(&accounts);
    let finished = in_thread_within(LIMIT, move || {
        let nine_to_four = {
            let accounts = Arc::clone(&shared);
            thread::spawn(move || (0..25).for_each(|_| transfer(&accounts[0], &accounts[1], 3)))
        };
        let four_to_nine = {
            let accounts = Arc::clone(&shared);
            thread::spawn(move || (0..10).for_each(|_| transfer(&accounts[1], &accounts[0], 2)))
        };
        nine_to_four.join().is_ok() && four_to_nine.join().is_ok()
    });
    assert_eq!(finished, Ok(true));
    assert_eq!((accounts[0].balance(), accounts[1].balance()), (45, 155));
}

#[test]
fn five_philosophers_all_eat_their_meals() {
    assert_eq!(dinner(5, 20, PAUSE), Ok(vec![20; 5]));
}

/// The pipeline's output for `input`, checked in a child with a deadline
/// (its children die with it if it hangs): exit code 0 when right.
fn pipeline_gives(input: Vec<u8>) -> Result<i32, String> {
    in_child_within(LIMIT, move || match pipeline(&input) {
        Ok(output) if output == input.to_ascii_uppercase() => 0,
        Ok(_) => 1,
        Err(_) => 2,
    })
}

#[test]
fn the_pipeline_upper_cases_a_line() {
    assert_eq!(
        pipeline_gives(b"through two children\n".to_vec()),
        Ok(0),
        "exit code 1: wrong output; 2: an error"
    );
}

#[test]
fn the_pipeline_carries_more_than_a_pipe_holds() {
    let input: Vec<u8> = (0..300_000).map(|i| b"abcdefgh\n"[i % 9]).collect();
    assert_eq!(
        pipeline_gives(input),
        Ok(0),
        "exit code 1: wrong output; 2: an error"
    );
}
