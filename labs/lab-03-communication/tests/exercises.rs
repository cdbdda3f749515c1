//! Graded tests for lab 03's exercises that students see.
//! Run them with `cargo test -p lab-03 --test exercises`.
//!
//! Each test runs the exercise in a process of its own (`apart`) and judges
//! what comes back here: what the exercise prints, or an `exit`, cannot
//! pass a test.

use lab_03::exercises::{SharedCounter, move_through_a_thread, ping_pong_over_pipes};
use labkit::child::{exists, fork_child};
use labkit::testing::apart;
use std::thread;

/// An exercise's error as text, to send back from its process.
fn text(err: anyhow::Error) -> String {
    format!("{err:#}")
}

#[test]
fn move_through_a_thread_brings_the_data_back() {
    let data = apart(|| move_through_a_thread(vec![1, 2, 3]).0);
    assert_eq!(data, [1, 2, 3]);
}

#[test]
fn move_through_a_thread_uses_another_thread() {
    let (worker, caller) = apart(|| {
        let (_, worker) = move_through_a_thread(vec![0; 16]);
        (
            format!("{worker:?}"),
            format!("{:?}", thread::current().id()),
        )
    });
    assert_ne!(worker, caller, "the data never left this thread");
}

#[test]
fn move_through_a_thread_moves_and_does_not_copy() {
    let (back, address) = apart(|| {
        let data = vec![9u8; 1 << 20];
        let address = data.as_ptr() as usize;
        let (back, _) = move_through_a_thread(data);
        (back.as_ptr() as usize, address)
    });
    assert_eq!(back, address, "the bytes were copied into a new buffer");
}

#[test]
fn ping_pong_counts_every_round() {
    let (one, hundred) = apart(|| {
        let last = |rounds| ping_pong_over_pipes(rounds).map(|r| r.last).map_err(text);
        (last(1), last(100))
    });
    assert_eq!(one.expect("1 round"), 1);
    assert_eq!(hundred.expect("100 rounds"), 100);
}

#[test]
fn ping_pong_plays_with_a_child_that_is_reaped() {
    // (the partner's pid, the caller's, whether the partner still exists)
    let (partner, me, still_there) = apart(|| {
        let result = ping_pong_over_pipes(10).map_err(text)?;
        let me = nix::unistd::getpid().as_raw();
        Ok::<_, String>((result.child.as_raw(), me, exists(result.child)))
    })
    .expect("10 rounds");
    assert_ne!(partner, me, "the partner was this process");
    assert!(!still_there, "child {partner} was not waited for");
}

#[test]
fn the_shared_counter_counts_in_this_process() {
    let (first, last) = apart(|| {
        let counter = SharedCounter::new().map_err(text)?;
        let first = counter.get();
        counter.add(3);
        counter.add(4);
        Ok::<_, String>((first, counter.get()))
    })
    .expect("a counter");
    assert_eq!(first, 0);
    assert_eq!(last, 7);
}

#[test]
fn the_shared_counter_counts_what_a_child_adds() {
    let count = apart(|| {
        let counter = SharedCounter::new().map_err(text)?;
        fork_child(|| {
            counter.add(5);
            0
        })
        .unwrap()
        .wait_success()
        .unwrap();
        Ok::<_, String>(counter.get())
    })
    .expect("a counter");
    assert_eq!(count, 5, "the child's add was lost: is the memory shared?");
}

#[test]
fn the_shared_counter_counts_every_add_of_many_children() {
    let count = apart(|| {
        let counter = SharedCounter::new().map_err(text)?;
        let children: Vec<_> = (0..4)
            .map(|_| {
                fork_child(|| {
                    for _ in 0..20_000 {
                        counter.add(1);
                    }
                    0
                })
                .unwrap()
            })
            .collect();
        for child in children {
            child.wait_success().unwrap();
        }
        Ok::<_, String>(counter.get())
    })
    .expect("a counter");
    assert_eq!(count, 80_000, "adds were lost: is each add atomic?");
}
