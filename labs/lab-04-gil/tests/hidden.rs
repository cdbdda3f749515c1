//! Graded tests for lab 04's exercises that only instructors see: the student
//! edition does not contain this file. As in `exercises.rs`, each runs the
//! exercise in a process of its own (`apart`) and judges what comes back.

use lab_04::baton::Baton;
use lab_04::exercises::{COUNTER_PROGRAM, sleep_without_the_gil, take_baton};
use lab_04::interp::gil::{Gil, ReleaseOnPanic};
use lab_04::interp::timeline::State;
use lab_04::interp::{Options, run_source};
use labkit::testing::apart;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn take_baton_asks_once_per_interval_not_on_every_try() {
    // The holder ignores requests for 200 ms; a 20 ms interval means about
    // ten requests, not thousands.
    let (holder, requests) = apart(|| {
        let baton = Baton::new();
        assert!(baton.try_take(1));
        thread::scope(|s| {
            s.spawn(|| {
                thread::sleep(Duration::from_millis(200));
                baton.release(1);
            });
            take_baton(&baton, 2, Duration::from_millis(20));
        });
        (baton.holder(), baton.requests())
    });
    assert_eq!(holder, Some(2));
    assert!(
        (3..=15).contains(&requests),
        "{requests} requests in 200 ms with a 20 ms interval"
    );
}

#[test]
fn another_thread_runs_while_one_sleeps() {
    // (how long thread 2 waited for the GIL, who holds it at the end)
    let (waited, holder) = apart(|| {
        let gil = Gil::new(Duration::from_millis(5), true, None);
        gil.take(1);
        let waited = thread::scope(|s| {
            s.spawn(|| {
                let _guard = ReleaseOnPanic(&gil, 1);
                sleep_without_the_gil(&gil, 1, Duration::from_millis(400));
            });
            thread::sleep(Duration::from_millis(50));
            let start = Instant::now();
            gil.take(2);
            let waited = start.elapsed();
            gil.release(2, State::Done);
            waited
        });
        (waited, gil.holder())
    });
    assert!(
        waited < Duration::from_millis(150),
        "thread 2 waited {waited:?} for a sleeping thread's GIL"
    );
    assert_eq!(holder, Some(1));
}

#[test]
fn the_counter_program_is_exact_for_other_sizes() {
    for n in [1, 1000, 100_000] {
        let options = Options {
            gil: false,
            capture: true,
            args: vec![n.to_string()],
            ..Options::default()
        };
        // As in `exercises.rs`: the test reads `counter` back itself.
        let source = format!("{COUNTER_PROGRAM}\nprint(f\"the test reads: {{counter}}\")\n");
        let output = apart(|| {
            run_source(&source, "counter.py", &options)
                .map(|report| report.output)
                .map_err(|e| e.to_string())
        });
        let output = output.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            output.trim(),
            format!(
                "counter: {} expected: {} lost: 0\nthe test reads: {}",
                2 * n,
                2 * n,
                2 * n
            )
        );
    }
}
