//! Graded tests for lab 09's exercises that only instructors see: the student
//! edition does not contain this file. As in `exercises.rs`, each runs the
//! exercise in a process of its own with a deadline (`apart_within`) and
//! judges what comes back.

mod common;

use common::*;
use lab_09::cancel::spin_for;
use lab_09::exercises::sum_within;
use nix::sys::signal::Signal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

fn hang_once(attempt: u32) -> i32 {
    if attempt == 0 {
        thread::sleep(Duration::from_secs(20)); // killed long before
    }
    0
}

#[test]
fn a_worker_that_hangs_is_killed_at_the_limit() {
    let limit = Duration::from_millis(300);
    let supervised = supervised(3, limit, hang_once);
    assert_eq!(
        endings(&supervised),
        [Ended::Killed(Signal::SIGKILL), Ended::Exited(0)]
    );
    assert_real(&supervised);
    let killed = supervised.ended_after[0].expect("the hanging worker was watched to its end");
    assert!(
        killed >= limit,
        "the hanging worker was killed {killed:?} after supervise was called, before its limit of {limit:?}"
    );
    assert!(
        supervised.seconds < limit + Duration::from_secs(1),
        "took {:?}",
        supervised.seconds
    );
}

fn succeed(_attempt: u32) -> i32 {
    0
}

#[test]
fn a_worker_that_succeeds_at_once_runs_once() {
    let supervised = supervised(5, Duration::from_secs(10), succeed);
    assert_eq!(endings(&supervised), [Ended::Exited(0)]);
    assert_real(&supervised);
}

fn terminate_then_exit_7_then_succeed(attempt: u32) -> i32 {
    match attempt {
        0 => {
            let _ = nix::sys::signal::raise(Signal::SIGTERM);
            0
        }
        1 => 7,
        _ => 0,
    }
}

#[test]
fn a_terminated_worker_and_an_error_code_are_both_restarted() {
    let supervised = supervised(
        5,
        Duration::from_secs(10),
        terminate_then_exit_7_then_succeed,
    );
    assert_eq!(
        endings(&supervised),
        [
            Ended::Killed(Signal::SIGTERM),
            Ended::Exited(7),
            Ended::Exited(0)
        ]
    );
    assert_real(&supervised);
}

fn abort_once(attempt: u32) -> i32 {
    if attempt == 0 {
        about_to_crash();
        std::process::abort();
    }
    0
}

#[test]
fn the_supervisor_leaves_no_child_unreaped() {
    let supervised = supervised(3, Duration::from_secs(10), abort_once);
    assert_eq!(
        endings(&supervised),
        [Ended::Killed(Signal::SIGABRT), Ended::Exited(0)]
    );
    // Among other things: no child of the supervisor's process is left,
    // reaped or not, when supervise returns.
    assert_real(&supervised);
}

/// How late after its deadline `sum_within` may return.
const MARGIN: Duration = Duration::from_millis(100);

/// `sum_within` with a step that spins `spin` and counts its calls: the
/// outcome, the time, and the calls at return and 50 ms later.
fn summed(n: u64, deadline: Duration, spin: Duration) -> (Outcome, Duration, u64, u64) {
    let (outcome, seconds, at_return, later, on_caller) = apart_within(LIMIT, move || {
        let calls = Arc::new(AtomicU64::new(0));
        let on_caller = Arc::new(AtomicBool::new(false));
        let caller = thread::current().id();
        let step = {
            let (calls, on_caller) = (Arc::clone(&calls), Arc::clone(&on_caller));
            move |i: u64| {
                if thread::current().id() == caller {
                    on_caller.store(true, Ordering::SeqCst);
                }
                calls.fetch_add(1, Ordering::SeqCst);
                spin_for(spin);
                i % 7
            }
        };
        let start = Instant::now();
        let outcome = sum_within(n, deadline, step);
        let seconds = start.elapsed();
        let at_return = calls.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(50));
        (
            sent_outcome(outcome),
            seconds,
            at_return,
            calls.load(Ordering::SeqCst),
            on_caller.load(Ordering::SeqCst),
        )
    });
    assert!(!on_caller, "a step ran on the caller");
    (received_outcome(outcome), seconds, at_return, later)
}

/// It returned no earlier than its deadline, and no later than `MARGIN`
/// after it.
fn assert_on_time(seconds: Duration, deadline: Duration) {
    assert!(
        seconds >= deadline,
        "returned after {seconds:?}, before its deadline of {deadline:?}"
    );
    assert!(
        seconds <= deadline + MARGIN,
        "returned after {seconds:?}, its deadline was {deadline:?}"
    );
}

#[test]
fn a_zero_deadline_cancels_at_once() {
    let deadline = Duration::ZERO;
    let (outcome, seconds, at_return, later) = summed(300_000, deadline, Duration::from_micros(5));
    assert_on_time(seconds, deadline);
    assert_eq!(outcome, Outcome::Cancelled { steps: at_return });
    assert_eq!(later, at_return, "the computation went on");
}

#[test]
fn the_steps_reported_are_the_steps_that_ran() {
    let deadline = Duration::from_millis(30);
    let (outcome, seconds, at_return, later) = summed(100_000, deadline, Duration::from_micros(20));
    assert_on_time(seconds, deadline);
    assert_eq!(outcome, Outcome::Cancelled { steps: at_return });
    assert!(at_return > 0);
    assert_eq!(later, at_return, "the computation went on");
}

#[test]
fn a_sum_done_before_its_deadline_does_not_wait_for_it() {
    // About 50 ms of work, given 3 s.
    let (outcome, seconds, at_return, _) =
        summed(2500, Duration::from_secs(3), Duration::from_micros(20));
    let expected: u64 = (0..2500u64).map(|i| i % 7).sum();
    assert_eq!(outcome, Outcome::Done(expected));
    assert_eq!(at_return, 2500);
    assert!(seconds < Duration::from_secs(1), "took {seconds:?}");
}

/// How late after its grace period a shutdown may return.
const GROUP_MARGIN: Duration = Duration::from_millis(200);

#[test]
fn three_stubborn_workers_are_all_killed_after_the_grace_period() {
    use Behave::*;
    let grace = Duration::from_millis(150);
    let run = group_run(
        &[Stubborn, Stubborn, Stubborn],
        Duration::from_millis(30),
        grace,
    );
    assert_eq!(run.endings, [Ended::Killed(Signal::SIGKILL); 3]);
    assert_killed_after_grace(&run, &[true, true, true], grace);
    assert!(
        run.took >= grace && run.took <= grace + GROUP_MARGIN,
        "the shutdown took {:?}, its grace period was {grace:?}",
        run.took
    );
    assert_every_result_kept(&run);
}

#[test]
fn a_slow_a_stubborn_and_a_prompt_worker_each_end_as_they_should() {
    use Behave::*;
    let grace = Duration::from_millis(300);
    let run = group_run(&[Slow, Stubborn, Prompt], Duration::from_millis(30), grace);
    assert_eq!(
        run.endings,
        [
            Ended::Exited(0),
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
fn a_worker_with_much_to_send_is_read_while_it_ends() {
    // Asked to stop, worker 0 sends more results than a pipe holds: it can
    // end only if someone reads them meanwhile.
    use Behave::*;
    let grace = Duration::from_secs(1);
    let run = group_run(&[Chatty, Prompt], Duration::from_millis(30), grace);
    assert_eq!(
        run.endings,
        [Ended::Exited(0), Ended::Killed(Signal::SIGTERM)],
        "the chatty worker must be able to end by itself"
    );
    assert!(
        run.sent[0] > CHATTY,
        "the chatty worker sent only {}",
        run.sent[0]
    );
    assert_every_result_kept(&run);
    assert!(
        run.took < grace,
        "every worker ended within the grace period, yet the shutdown took {:?}",
        run.took
    );
}
