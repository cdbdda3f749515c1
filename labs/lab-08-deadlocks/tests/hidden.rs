//! Graded tests for lab 08's exercises that only instructors see: the student
//! edition does not contain this file. As in `exercises.rs`, each runs the
//! exercise in a process of its own with a deadline (`apart_within`) and
//! judges what comes back.

mod common;

use common::{LIMIT, PAUSE, dinner, text};
use lab_08::exercises::{Account, pipeline, transfer};
use labkit::testing::{apart_within, bytes_read_and_written};
use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, waitpid};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

#[test]
fn transfers_around_a_ring_of_three_accounts_finish() {
    // 1 → 2, 2 → 3 and 3 → 1 at once: a cycle of three, not only of two.
    let balances = apart_within(LIMIT, || {
        let accounts: Vec<Account> = (1..=3)
            .map(|id| Account::with_pause(id, 100, PAUSE))
            .collect();
        thread::scope(|s| {
            for i in 0..3 {
                let accounts = &accounts;
                s.spawn(move || {
                    for _ in 0..40 {
                        transfer(&accounts[i], &accounts[(i + 1) % 3], 2);
                    }
                });
            }
        });
        accounts.iter().map(Account::balance).collect::<Vec<_>>()
    });
    assert_eq!(balances, vec![100, 100, 100]);
}

#[test]
fn a_transfer_to_the_same_account_changes_nothing() {
    let balance = apart_within(LIMIT, || {
        let account = Account::new(5, 42);
        transfer(&account, &account, 10);
        account.balance()
    });
    assert_eq!(balance, 42, "a transfer to itself changed the balance");
}

#[test]
fn many_transfers_between_many_accounts_keep_the_total() {
    let total = apart_within(LIMIT, || {
        let accounts: Vec<Account> = (0..6)
            .map(|id| Account::with_pause(100 - id, 1000, Duration::from_micros(200)))
            .collect();
        thread::scope(|s| {
            for t in 0..4 {
                let accounts = &accounts;
                s.spawn(move || {
                    for i in 0..60 {
                        let from = (i * 7 + t * 3) % 6;
                        let to = (i * 5 + t) % 6;
                        transfer(&accounts[from], &accounts[to], (i % 9) as i64);
                    }
                });
            }
        });
        accounts.iter().map(Account::balance).sum::<i64>()
    });
    assert_eq!(total, 6000);
}

#[test]
fn nobody_sees_a_transfer_half_done() {
    // While transfers run both ways, an auditor takes both accounts' locks
    // (in the order of their ids) and adds the balances. A transfer that
    // takes one lock, then the other, without holding both, leaves the
    // money in neither account for a moment: the auditor sees it missing.
    // (checks made, the totals that were wrong)
    let (checks, wrong) = apart_within(LIMIT, || {
        let accounts = [
            Account::with_pause(1, 100, PAUSE),
            Account::with_pause(2, 100, PAUSE),
        ];
        let done = AtomicBool::new(false);
        let (mut checks, mut wrong) = (0u32, Vec::new());
        thread::scope(|s| {
            let accounts = &accounts;
            let done = &done;
            let both_ways = [(0, 1), (1, 0)].map(|(from, to)| {
                s.spawn(move || {
                    for _ in 0..40 {
                        transfer(&accounts[from], &accounts[to], 1);
                    }
                })
            });
            s.spawn(move || {
                for transfers in both_ways {
                    let _ = transfers.join();
                }
                done.store(true, Ordering::SeqCst);
            });
            while !done.load(Ordering::SeqCst) {
                let first = accounts[0].lock();
                let second = accounts[1].lock();
                checks += 1;
                if *first + *second != 200 {
                    wrong.push(*first + *second);
                }
                drop((first, second));
                thread::sleep(Duration::from_micros(300));
            }
        });
        (checks, wrong)
    });
    assert!(checks > 0, "the auditor never looked");
    assert!(
        wrong.is_empty(),
        "in {} of {checks} checks the two accounts held {:?} together instead of 200: \
         hold both locks while the money moves",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

#[test]
fn two_philosophers_share_two_forks() {
    assert_eq!(apart_within(LIMIT, || dinner(2, 30, PAUSE)), vec![30; 2]);
}

#[test]
fn seven_philosophers_all_eat_their_meals() {
    assert_eq!(apart_within(LIMIT, || dinner(7, 25, PAUSE)), vec![25; 7]);
}

#[test]
fn the_pipeline_of_nothing_is_nothing() {
    let output = apart_within(LIMIT, || pipeline(b"").map_err(text));
    assert_eq!(output.expect("the pipeline of nothing"), b"");
}

#[test]
fn the_pipeline_reaps_both_children() {
    // (the output was right, a child was left unreaped, bytes read and
    // written meanwhile by this process and the children it reaped)
    let (right, unreaped, read, written) = apart_within(LIMIT, || {
        let (read_before, written_before) = bytes_read_and_written();
        let input = vec![b'q'; 200_000];
        let right = pipeline(&input).ok() == Some(vec![b'Q'; 200_000]);
        // No child of this process may be left, ended or not.
        let unreaped = waitpid(None, Some(WaitPidFlag::WNOHANG)) != Err(Errno::ECHILD);
        let (read, written) = bytes_read_and_written();
        (
            right,
            unreaped,
            read - read_before,
            written - written_before,
        )
    });
    assert!(right, "the pipeline's output was wrong");
    assert!(!unreaped, "a child was left unreaped");
    // A fake that upper-cases the input here, with no children and no
    // pipes, gives the right output too. Through the pipeline the bytes are
    // written twice (producer, filter) and read twice (filter, this
    // process): the kernel counts them for this process, and for each child
    // once it is reaped.
    assert!(
        read >= 400_000 && written >= 400_000,
        "the bytes did not go through two pipes: {read} read and {written} written"
    );
}
