//! Graded tests for lab 03's exercises that only instructors see: the student
//! edition does not contain this file.

use lab_03::exercises::{SharedCounter, move_through_a_thread, ping_pong_over_pipes};
use labkit::child::fork_child;
use labkit::testing::bytes_read_and_written;
use nix::sys::wait::WaitStatus;

#[test]
fn an_empty_vec_travels_too() {
    let (data, _) = move_through_a_thread(Vec::new());
    assert!(data.is_empty());
}

#[test]
fn zero_rounds_is_no_error_and_no_hang() {
    assert_eq!(ping_pong_over_pipes(0).unwrap().last, 0);
}

#[test]
fn the_ping_pong_partner_is_a_forked_child() {
    let (result, range) = labkit::testing::forked_during(|| ping_pong_over_pipes(3).unwrap());
    if let Some(range) = range {
        let partner = result.child.as_raw();
        assert!(
            range.contains(&partner),
            "pid {partner} was not forked here"
        );
    }
    // A fake that forks a child doing nothing and returns `last: rounds`
    // passes the checks above; it never sends a number. Played for real, the
    // 1000 rounds put 8 bytes a round through each pipe, written by one side
    // and read by the other: the kernel counts them for this process and, once
    // it is reaped, for the child. Counted in a child of its own, so that no
    // other test's reads and writes are counted with them.
    let rounds = 1000;
    let checker = fork_child(move || {
        let (read_before, written_before) = bytes_read_and_written();
        let Ok(result) = ping_pong_over_pipes(rounds) else {
            return 2;
        };
        let (read, written) = bytes_read_and_written();
        let (read, written) = (read - read_before, written - written_before);
        if result.last != rounds {
            3
        } else if read < 16 * rounds || written < 16 * rounds {
            1
        } else {
            0
        }
    })
    .unwrap();
    let pid = checker.pid();
    let ended = checker.wait().unwrap();
    assert_ne!(
        ended,
        WaitStatus::Exited(pid, 1),
        "{rounds} rounds moved fewer than 16 bytes a round through pipes: no number went back and forth"
    );
    assert_eq!(
        ended,
        WaitStatus::Exited(pid, 0),
        "exit code 2: an error, 3: the wrong last number"
    );
}

#[test]
fn threads_and_children_add_to_the_same_counter_at_once() {
    let counter = SharedCounter::new().unwrap();
    let child = fork_child(|| {
        for _ in 0..50_000 {
            counter.add(1);
        }
        0
    })
    .unwrap();
    std::thread::scope(|scope| {
        scope.spawn(|| (0..50_000).for_each(|_| counter.add(1)));
        (0..50_000).for_each(|_| counter.add(1));
    });
    child.wait_success().unwrap();
    assert_eq!(counter.get(), 150_000);
}

#[test]
fn two_counters_are_independent() {
    let (a, b) = (SharedCounter::new().unwrap(), SharedCounter::new().unwrap());
    a.add(1);
    b.add(10);
    assert_eq!((a.get(), b.get()), (1, 10));
}
