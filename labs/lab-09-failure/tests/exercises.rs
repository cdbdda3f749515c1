//! Graded tests for lab 09's exercises that students see.
//! Run them with `cargo test -p lab-09 --test exercises`.
//!
//! Each runs your code in a process of its own with a deadline
//! (`apart_within`): a solution that waits forever fails the test with a
//! message instead of hanging it, and what comes back is judged here, so
//! what the exercise prints, or an `exit`, cannot pass a test. (What your
//! code prints is not shown.)

mod common;

use common::*;
use lab_09::cancel::spin_for;
use lab_09::exercises::sum_within;
use nix::sys::signal::Signal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

fn abort_twice(attempt: u32) -> i32 {
    if attempt < 2 {
        about_to_crash();
        std::process::abort();
    }
    0
}

#[test]
fn a_worker_that_aborts_is_restarted_until_it_succeeds() {
    let supervised = supervised(5, Duration::from_secs(10), abort_twice);
    assert_eq!(
        endings(&supervised),
        [
            Ended::Killed(Signal::SIGABRT),
            Ended::Killed(Signal::SIGABRT),
            Ended::Exited(0)
        ]
    );
    assert_real(&supervised);
}

fn segfault_then_kill_then_code_3(attempt: u32) -> i32 {
    match attempt {
        0 => {
            about_to_crash();
            lab_09::crash::Crash::Segfault.now()
        }
        1 => {
            let _ = nix::sys::signal::raise(Signal::SIGKILL);
            0
        }
        2 => 3,
        _ => 0,
    }
}

#[test]
fn each_run_reports_how_it_ended() {
    let supervised = supervised(6, Duration::from_secs(10), segfault_then_kill_then_code_3);
    assert_eq!(
        endings(&supervised),
        [
            Ended::Killed(Signal::SIGSEGV),
            Ended::Killed(Signal::SIGKILL),
            Ended::Exited(3),
            Ended::Exited(0)
        ]
    );
    assert_real(&supervised);
}

fn always_abort(_attempt: u32) -> i32 {
    about_to_crash();
    std::process::abort()
}

#[test]
fn a_worker_that_never_succeeds_runs_max_runs_times() {
    let supervised = supervised(4, Duration::from_secs(10), always_abort);
    assert_eq!(
        endings(&supervised),
        [Ended::Killed(Signal::SIGABRT); 4],
        "four runs, each aborted"
    );
    assert_real(&supervised);
}

/// What a sum with a deadline did.
#[derive(Debug)]
struct Summed {
    outcome: Outcome,
    seconds: Duration,
    /// Steps the computation had run when `sum_within` returned, and 50 ms
    /// later (the same, if the thread really stopped).
    calls_at_return: u64,
    calls_later: u64,
    /// Whether a step ran on the thread that called `sum_within`.
    on_caller: bool,
}

fn summed(n: u64, deadline: Duration, spin: Duration, value: fn(u64) -> u64) -> Summed {
    let (outcome, seconds, calls_at_return, calls_later, on_caller) =
        apart_within(LIMIT, move || {
            let calls = Arc::new(AtomicU64::new(0));
            let on_caller = Arc::new(AtomicBool::new(false));
            let caller = thread::current().id();
            let step = {
                let (calls, on_caller) = (Arc::clone(&calls), Arc::clone(&on_caller));
                move |i| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    if thread::current().id() == caller {
                        on_caller.store(true, Ordering::SeqCst);
                    }
                    spin_for(spin);
                    value(i)
                }
            };
            let start = Instant::now();
            let outcome = sum_within(n, deadline, step);
            let seconds = start.elapsed();
            let calls_at_return = calls.load(Ordering::SeqCst);
            thread::sleep(Duration::from_millis(50));
            (
                sent_outcome(outcome),
                seconds,
                calls_at_return,
                calls.load(Ordering::SeqCst),
                on_caller.load(Ordering::SeqCst),
            )
        });
    Summed {
        outcome: received_outcome(outcome),
        seconds,
        calls_at_return,
        calls_later,
        on_caller,
    }
}

/// How late after its deadline `sum_within` may return.
const MARGIN: Duration = Duration::from_millis(100);

#[test]
fn a_long_sum_stops_at_its_deadline() {
    // 400 000 steps of 5 µs: 2 s of work, given 100 ms.
    let deadline = Duration::from_millis(100);
    let summed = summed(400_000, deadline, Duration::from_micros(5), |i| i);
    assert!(
        summed.seconds >= deadline,
        "returned after {:?}, before its deadline of {deadline:?}",
        summed.seconds
    );
    assert!(
        summed.seconds <= deadline + MARGIN,
        "returned after {:?}, its deadline was {deadline:?}",
        summed.seconds
    );
    assert!(
        !summed.on_caller,
        "the steps must run on a thread of their own"
    );
    assert_eq!(
        summed.outcome,
        Outcome::Cancelled {
            steps: summed.calls_at_return
        },
        "Cancelled, with the number of steps that ran"
    );
    assert!(summed.calls_at_return > 0, "no step ran at all");
    assert_eq!(
        summed.calls_later, summed.calls_at_return,
        "the computation went on after sum_within returned: its thread was not stopped"
    );
}

#[test]
fn a_short_sum_is_done_at_once_on_a_thread_of_its_own() {
    let summed = summed(1000, Duration::from_secs(10), Duration::ZERO, |i| i * i);
    assert_eq!(
        summed.outcome,
        Outcome::Done((0..1000u64).map(|i| i * i).sum())
    );
    assert!(
        !summed.on_caller,
        "the steps must run on a thread of their own"
    );
    assert_eq!(summed.calls_at_return, 1000);
    assert!(
        summed.seconds < Duration::from_secs(2),
        "a finished sum must not wait for the deadline: {:?}",
        summed.seconds
    );
}

/// How late after its grace period a shutdown may return.
const GROUP_MARGIN: Duration = Duration::from_millis(200);

#[test]
fn a_group_that_stops_at_once_keeps_every_result() {
    use Behave::*;
    let grace = Duration::from_secs(2);
    let run = group_run(&[Prompt, Prompt, Prompt], Duration::from_millis(50), grace);
    assert_eq!(
        run.endings,
        [Ended::Killed(Signal::SIGTERM); 3],
        "each worker ended by the SIGTERM"
    );
    assert_every_result_kept(&run);
    assert!(
        run.took < grace / 2,
        "every worker ended at once, yet the shutdown took {:?}: it waited for the grace period",
        run.took
    );
}

#[test]
fn a_stubborn_worker_is_killed_when_the_grace_period_is_over() {
    use Behave::*;
    let grace = Duration::from_millis(200);
    let run = group_run(
        &[Prompt, Stubborn, Prompt],
        Duration::from_millis(50),
        grace,
    );
    assert_eq!(
        run.endings,
        [
            Ended::Killed(Signal::SIGTERM),
            Ended::Killed(Signal::SIGKILL),
            Ended::Killed(Signal::SIGTERM)
        ]
    );
    assert_killed_after_grace(&run, &[false, true, false], grace);
    assert!(
        run.took >= grace && run.took <= grace + GROUP_MARGIN,
        "the shutdown took {:?}, its grace period was {grace:?}",
        run.took
    );
    assert_every_result_kept(&run);
}

#[test]
fn a_worker_that_ends_within_the_grace_period_is_not_killed() {
    // Worker 1 ends half the grace period after the SIGTERM, with one last
    // result: it must be neither killed nor lost.
    use Behave::*;
    let grace = Duration::from_millis(400);
    let run = group_run(&[Prompt, Slow], Duration::from_millis(50), grace);
    assert_eq!(
        run.endings,
        [Ended::Killed(Signal::SIGTERM), Ended::Exited(0)]
    );
    assert_killed_after_grace(&run, &[false, false], grace);
    assert!(
        run.took <= grace + GROUP_MARGIN,
        "the shutdown took {:?}, its grace period was {grace:?}",
        run.took
    );
    assert_every_result_kept(&run);
}
