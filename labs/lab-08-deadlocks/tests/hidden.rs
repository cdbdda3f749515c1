//! Graded tests for lab 08's exercises that only instructors see: the student
//! edition does not contain this file.

mod common;

use common::{LIMIT, PAUSE, dinner};
use lab_08::deadline::{in_child_within, in_thread_within};
use lab_08::exercises::{Account, pipeline, transfer};
use labkit::testing::bytes_read_and_written;
use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, waitpid};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[test]
fn transfers_around_a_ring_of_three_accounts_finish() {
    // 1 → 2, 2 → 3 and 3 → 1 at once: a cycle of three, not only of two.
    let accounts = Arc::new(
        (1..=3)
            .map(|id| Account::with_pause(id, 100, PAUSE))
            .collect::<Vec<_>>(),
    );
    let shared = Arc::clone(&accounts);
    let finished = in_thread_within(LIMIT, move || {
        let threads: Vec<_> = (0..3)
            .map(|i| {
                let accounts = Arc::clone(&shared);
                thread::spawn(move || {
                    for _ in 0..40 {
                        transfer(&accounts[i], &accounts[(i + 1) % 3], 2);
                    }
                })
            })
            .collect();
        threads.into_iter().all(|t| t.join().is_ok())
    });
    assert_eq!(finished, Ok(true));
    let balances: Vec<i64> = accounts.iter().map(Account::balance).collect();
    assert_eq!(balances, vec![100, 100, 100]);
}

#[test]
fn a_transfer_to_the_same_account_changes_nothing() {
    let result = in_thread_within(LIMIT, || {
        let account = Account::new(5, 42);
        transfer(&account, &account, 10);
        account.balance()
    });
    assert_eq!(
        result,
        Ok(42),
        "a transfer to itself must not wait for itself"
    );
}

#[test]
fn many_transfers_between_many_accounts_keep_the_total() {
    let accounts = Arc::new(
        (0..6)
            .map(|id| Account::with_pause(100 - id, 1000, Duration::from_micros(200)))
            .collect::<Vec<_>>(),
    );
    let shared = Arc::clone(&accounts);
    let finished = in_thread_within(LIMIT, move || {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let accounts = Arc::clone(&shared);
                thread::spawn(move || {
                    for i in 0..60 {
                        let from = (i * 7 + t * 3) % 6;
                        let to = (i * 5 + t) % 6;
                        transfer(&accounts[from], &accounts[to], (i % 9) as i64);
                    }
                })
            })
            .collect();
        threads.into_iter().all(|t| t.join().is_ok())
    });
    assert_eq!(finished, Ok(true));
    let total: i64 = accounts.iter().map(Account::balance).sum();
    assert_eq!(total, 6000);
}

#[test]
fn two_philosophers_share_two_forks() {
    assert_eq!(dinner(2, 30, PAUSE), Ok(vec![30; 2]));
}

#[test]
fn seven_philosophers_all_eat_their_meals() {
    assert_eq!(dinner(7, 25, PAUSE), Ok(vec![25; 7]));
}

#[test]
fn the_pipeline_of_nothing_is_nothing() {
    let code = in_child_within(LIMIT, || match pipeline(b"") {
        Ok(output) if output.is_empty() => 0,
        Ok(_) => 1,
        Err(_) => 2,
    });
    assert_eq!(code, Ok(0));
}

#[test]
fn the_pipeline_reaps_both_children() {
    let code = in_child_within(LIMIT, || {
        let (read_before, written_before) = bytes_read_and_written();
        let input = vec![b'q'; 200_000];
        if pipeline(&input).ok() != Some(vec![b'Q'; 200_000]) {
            return 1;
        }
        // No child of this process may be left, ended or not.
        if !matches!(
            waitpid(None, Some(WaitPidFlag::WNOHANG)),
            Err(Errno::ECHILD)
        ) {
            return 3;
        }
        // A fake that upper-cases the input here, with no children and no
        // pipes, gives the right output too. Through the pipeline the bytes
        // are written twice (producer, filter) and read twice (filter, this
        // process): the kernel counts them for this process, and for each
        // child once it is reaped.
        let (read, written) = bytes_read_and_written();
        if read - read_before < 400_000 || written - written_before < 400_000 {
            return 4;
        }
        0
    });
    assert_eq!(
        code,
        Ok(0),
        "exit code 3: a child was left unreaped; 4: the bytes did not go through two pipes"
    );
}
