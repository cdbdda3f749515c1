//! Graded tests for lab 03's exercises that students see.
//! Run them with `cargo test -p lab-03 --test exercises`.

use lab_03::exercises::{SharedCounter, move_through_a_thread, ping_pong_over_pipes};
use labkit::child::{exists, fork_child};
use std::thread;

#[test]
fn move_through_a_thread_brings_the_data_back() {
    let (data, _) = move_through_a_thread(vec![1, 2, 3]);
    assert_eq!(data, [1, 2, 3]);
}

#[test]
fn move_through_a_thread_uses_another_thread() {
    let (_, worker) = move_through_a_thread(vec![0; 16]);
    assert_ne!(
        worker,
        thread::current().id(),
        "the data never left this thread"
    );
}

#[test]
fn move_through_a_thread_moves_and_does_not_copy() {
    let data = vec![9u8; 1 << 20];
    let address = data.as_ptr();
    let (back, _) = move_through_a_thread(data);
    assert_eq!(
        back.as_ptr(),
        address,
        "the bytes were copied into a new buffer"
    );
}

#[test]
fn ping_pong_counts_every_round() {
    assert_eq!(ping_pong_over_pipes(1).unwrap().last, 1);
    assert_eq!(ping_pong_over_pipes(100).unwrap().last, 100);
}

#[test]
fn ping_pong_plays_with_a_child_that_is_reaped() {
    let result = ping_pong_over_pipes(10).unwrap();
    assert_ne!(
        result.child,
        nix::unistd::getpid(),
        "the partner was this process"
    );
    assert!(
        !exists(result.child),
        "child {} was not waited for",
        result.child
    );
}

#[test]
fn the_shared_counter_counts_in_this_process() {
    let counter = SharedCounter::new().unwrap();
    assert_eq!(counter.get(), 0);
    counter.add(3);
    counter.add(4);
    assert_eq!(counter.get(), 7);
}

#[test]
fn the_shared_counter_counts_what_a_child_adds() {
    let counter = SharedCounter::new().unwrap();
    fork_child(|| {
        counter.add(5);
        0
    })
    .unwrap()
    .wait_success()
    .unwrap();
    assert_eq!(
        counter.get(),
        5,
        "the child's add was lost: is the memory shared?"
    );
}

#[test]
fn the_shared_counter_counts_every_add_of_many_children() {
    let counter = SharedCounter::new().unwrap();
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
    assert_eq!(counter.get(), 80_000, "adds were lost: is each add atomic?");
}
