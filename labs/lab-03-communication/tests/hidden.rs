//! Graded tests for lab 03's exercises that only instructors see: the student
//! edition does not contain this file. As in `exercises.rs`, each runs the
//! exercise in a process of its own (`apart`) and judges what comes back.

use lab_03::atomic_in;
use lab_03::exercises::{SharedCounter, move_through_a_thread, ping_pong_over_pipes};
use labkit::child::fork_child;
use labkit::memory::{Mapping, page_size};
use labkit::testing::{apart, bytes_read_and_written, forked_during};
use std::sync::atomic::Ordering;

/// An exercise's error as text, to send back from its process.
fn text(err: anyhow::Error) -> String {
    format!("{err:#}")
}

#[test]
fn an_empty_vec_travels_too() {
    let length = apart(|| move_through_a_thread(Vec::new()).0.len());
    assert_eq!(length, 0);
}

#[test]
fn zero_rounds_is_no_error_and_no_hang() {
    let last = apart(|| ping_pong_over_pipes(0).map(|r| r.last).map_err(text));
    assert_eq!(last.expect("0 rounds"), 0);
}

#[test]
fn the_ping_pong_partner_is_a_forked_child() {
    // A fake that forks a child doing nothing and returns `last: rounds`
    // passes a check of the partner's pid; it never sends a number. Played
    // for real, the 1000 rounds put 8 bytes a round through each pipe,
    // written by one side and read by the other: the kernel counts them for
    // the process and, once it is reaped, for the child. Counted in the
    // exercise's own process, where no other test reads or writes.
    let rounds = 1000;
    // (the partner, the pids handed out meanwhile, the last number, bytes read, bytes written)
    let (partner, range, last, read, written) = apart(move || {
        let (read_before, written_before) = bytes_read_and_written();
        let (result, range) = forked_during(|| ping_pong_over_pipes(rounds));
        let (read, written) = bytes_read_and_written();
        let result = result.map_err(text)?;
        let counts = (read - read_before, written - written_before);
        Ok::<_, String>((
            result.child.as_raw(),
            range,
            result.last,
            counts.0,
            counts.1,
        ))
    })
    .expect("1000 rounds");
    if let Some(range) = range {
        assert!(
            range.contains(&partner),
            "pid {partner} was not forked here"
        );
    }
    assert_eq!(last, rounds, "the wrong last number");
    assert!(
        read >= 16 * rounds && written >= 16 * rounds,
        "{rounds} rounds moved fewer than 16 bytes a round through pipes ({read} read, \
         {written} written): no number went back and forth"
    );
}

#[test]
fn threads_and_children_add_to_the_same_counter_at_once() {
    // Five times (as in `exercises.rs`, a race may not happen in every run).
    let counts = apart(|| {
        (0..5)
            .map(|_| {
                let counter = SharedCounter::new().map_err(text)?;
                add_from_a_child_and_two_threads(&counter);
                Ok(counter.get())
            })
            .collect::<Result<Vec<u64>, String>>()
    })
    .expect("a counter");
    assert_eq!(
        counts, [3_000_000; 5],
        "a child and two threads added 1 a million times each, 5 times: adds were lost: \
         is each add atomic?"
    );
}

/// A child and two threads add 1 a million times each to `counter`, all
/// at once: the child spins on a flag in shared memory, raised once both
/// threads run.
fn add_from_a_child_and_two_threads(counter: &SharedCounter) {
    let go = Mapping::shared(page_size()).expect("a shared page");
    let go = atomic_in(&go);
    let child = fork_child(|| {
        // (for 10 s at most: a test that failed before raising it must not
        // leave a child spinning)
        let since = std::time::Instant::now();
        while go.load(Ordering::SeqCst) == 0 && since.elapsed().as_secs() < 10 {
            std::hint::spin_loop();
        }
        (0..1_000_000).for_each(|_| counter.add(1));
        0
    })
    .unwrap();
    let ready = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            ready.wait();
            (0..1_000_000).for_each(|_| counter.add(1))
        });
        ready.wait();
        go.store(1, Ordering::SeqCst);
        (0..1_000_000).for_each(|_| counter.add(1));
    });
    child.wait_success().unwrap();
}

#[test]
fn two_counters_are_independent() {
    let counts = apart(|| {
        let (a, b) = (
            SharedCounter::new().map_err(text)?,
            SharedCounter::new().map_err(text)?,
        );
        a.add(1);
        b.add(10);
        Ok::<_, String>((a.get(), b.get()))
    })
    .expect("two counters");
    assert_eq!(counts, (1, 10));
}
