//! Graded tests for lab 04's exercises that students see.
//! Run them with `cargo test -p lab-04 --test exercises`.
//!
//! Each test runs the exercise in a process of its own (`apart`) and judges
//! what comes back here: what the exercise prints, or an `exit`, cannot
//! pass a test. (What your code prints is not shown.)

use lab_04::baton::Baton;
use lab_04::exercises::{COUNTER_PROGRAM, sleep_without_the_gil, take_baton};
use lab_04::interp::gil::{Gil, ReleaseOnPanic};
use lab_04::interp::timeline::{self, State};
use lab_04::interp::{Options, run_source};
use labkit::testing::apart;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const INTERVAL: Duration = Duration::from_millis(5);

/// Thread 1 holds the baton for up to `budget`, passing it when asked and
/// taking it back; thread 2 then asks for it. Returns how long thread 2 waited.
fn wait_for_a_busy_holder(budget: Duration) -> (Duration, Baton) {
    let baton = Baton::new();
    let done = AtomicBool::new(false);
    let waited = thread::scope(|s| {
        s.spawn(|| {
            take_baton(&baton, 1, INTERVAL);
            let start = Instant::now();
            while !done.load(Ordering::SeqCst) && start.elapsed() < budget {
                if baton.pass_if_requested(1) {
                    take_baton(&baton, 1, INTERVAL);
                }
                std::hint::spin_loop();
            }
            baton.release(1);
        });
        let start = Instant::now();
        while baton.holder() != Some(1) {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the holder never got the baton"
            );
            thread::yield_now();
        }
        let start = Instant::now();
        take_baton(&baton, 2, INTERVAL);
        let waited = start.elapsed();
        done.store(true, Ordering::SeqCst);
        baton.release(2);
        waited
    });
    (waited, baton)
}

#[test]
fn take_baton_takes_a_free_baton_at_once() {
    // (who holds it, how long taking it took, requests made)
    let (holder, took, requests) = apart(|| {
        let baton = Baton::new();
        let start = Instant::now();
        take_baton(&baton, 7, INTERVAL);
        (baton.holder(), start.elapsed(), baton.requests())
    });
    assert_eq!(holder, Some(7));
    assert!(took < Duration::from_millis(100), "took {took:?}");
    assert_eq!(requests, 0, "nobody held it: there was no one to ask");
}

#[test]
fn take_baton_asks_a_busy_holder_to_pass_it() {
    // The holder would keep it for 3 s; asking gets it within a few intervals.
    let (waited, passes) = apart(|| {
        let (waited, baton) = wait_for_a_busy_holder(Duration::from_secs(3));
        (waited, baton.passes())
    });
    assert!(passes >= 1, "the holder was never asked to pass the baton");
    assert!(
        waited < Duration::from_millis(500),
        "the waiting thread waited {waited:?}"
    );
}

#[test]
fn sleep_without_the_gil_lets_two_sleeps_overlap() {
    // (how long both sleeps took, who held the GIL after each one's sleep)
    let (took, after) = apart(|| {
        let gil = Gil::new(INTERVAL, true, None);
        let start = Instant::now();
        let after = thread::scope(|s| {
            let sleepers: Vec<_> = [1, 2]
                .map(|me| {
                    let gil = &gil;
                    s.spawn(move || {
                        gil.take(me);
                        let _guard = ReleaseOnPanic(gil, me);
                        sleep_without_the_gil(gil, me, Duration::from_millis(300));
                        let holder = gil.holder();
                        gil.release(me, State::Done);
                        (me, holder)
                    })
                })
                .into();
            sleepers
                .into_iter()
                .map(|t| t.join().unwrap())
                .collect::<Vec<_>>()
        });
        (start.elapsed(), after)
    });
    for (me, holder) in after {
        assert_eq!(
            holder,
            Some(me),
            "thread {me} must hold the GIL again after sleeping"
        );
    }
    assert!(
        took >= Duration::from_millis(300),
        "the sleep was cut short: {took:?}"
    );
    assert!(
        took < Duration::from_millis(500),
        "two 300 ms sleeps took {took:?}: one waited for the other"
    );
}

/// A line the test adds after the program's own: the global `counter` as
/// the program left it. A program that prints the right words without
/// counting in `counter` fails.
const READ_BACK: &str = "\nprint(f\"the test reads: {counter}\")\n";

/// Runs the exercise's program, with [`READ_BACK`], free-threaded with a
/// timeline (call it in the test's child).
fn run_counter(n: u64) -> (String, Vec<timeline::Event>) {
    let options = Options {
        gil: false,
        capture: true,
        timeline: true,
        args: vec![n.to_string()],
        ..Options::default()
    };
    let source = format!("{COUNTER_PROGRAM}{READ_BACK}");
    match run_source(&source, "counter.py", &options) {
        Ok(report) => (report.output, report.events),
        Err(error) => panic!("the program failed:\n{error}"),
    }
}

/// What a right program prints for `n`, then what the test reads back.
fn right_output(n: u64) -> String {
    format!(
        "counter: {} expected: {} lost: 0\nthe test reads: {}",
        2 * n,
        2 * n,
        2 * n
    )
}

#[test]
fn the_counter_program_loses_no_update_free_threaded() {
    // Three runs, each exact: two racing threads that happen not to overlap
    // (a busy machine) lose nothing, so one run alone proves little.
    let n = 200_000;
    let outputs = apart(|| (0..3).map(|_| run_counter(n).0).collect::<Vec<_>>());
    for (run, output) in outputs.iter().enumerate() {
        assert_eq!(
            output.trim(),
            right_output(n),
            "run {} of 3 printed: {output}",
            run + 1
        );
    }
}

#[test]
fn the_counter_program_still_counts_in_two_threads() {
    // The two threads must run at the same time: a program that starts one,
    // joins it, then starts the other loses no update either, but its two
    // threads never overlap (0 ms, every run). Free-threaded, the two that
    // ran longest must both be running bytecode for a part (here a
    // twentieth) of the shorter one's running time. A real pair overlaps for
    // most of it, but a fast one (a few ms each) can miss when the machine
    // is busy and the second starts late: up to 3 runs, one must overlap.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (output, workers, together, shorter) = apart(|| {
            let (output, events) = run_counter(200_000);
            let (workers, together, shorter) = two_longest_together(&events);
            (output, workers, together, shorter)
        });
        assert_eq!(
            output.trim(),
            right_output(200_000),
            "the program printed: {output}"
        );
        assert!(
            workers >= 2,
            "the work must still run in two threads (ran in {workers})"
        );
        if together >= shorter / 20.0 {
            return;
        }
        seen.push(format!(
            "{:.1} ms of {:.1} ms",
            together * 1000.0,
            shorter * 1000.0
        ));
    }
    panic!(
        "the two threads ran one after the other: in 3 runs, both were running for {} \
         that the shorter one ran",
        seen.join(", ")
    );
}

/// In a free-threaded run's timeline: how many threads ran bytecode, and for
/// how long (s) the two that ran longest were running at once, with the
/// shorter one's running time. (0, 0, 0) when fewer than two ran.
fn two_longest_together(events: &[timeline::Event]) -> (usize, f64, f64) {
    let spans = timeline::spans(events);
    let mut workers: Vec<(usize, f64)> = (2..10)
        .map(|t| (t, timeline::time_in(&spans, t, State::Running)))
        .filter(|&(_, running)| running > 0.0)
        .collect();
    if workers.len() < 2 {
        return (workers.len(), 0.0, 0.0);
    }
    workers.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (first, second, shorter) = (workers[0].0, workers[1].0, workers[1].1);
    let both: Vec<_> = spans
        .iter()
        .filter(|s| s.state == State::Running && (s.thread == first || s.thread == second))
        .copied()
        .collect();
    (workers.len(), timeline::overlap(&both), shorter)
}
