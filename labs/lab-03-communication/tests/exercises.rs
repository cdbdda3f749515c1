//! Graded tests for lab 03's exercises that students see.
//! Run them with `cargo test -p lab-03 --test exercises`.
//!
//! Each test runs the exercise in a process of its own (`apart`) and judges
//! what comes back here: what the exercise prints, or an `exit`, cannot
//! pass a test.

use lab_03::atomic_in;
use lab_03::exercises::{SharedCounter, move_through_a_thread, ping_pong_over_pipes};
use labkit::child::{exists, fork_child};
use labkit::memory::{Mapping, page_size};
use labkit::testing::apart;
use std::sync::atomic::Ordering;
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

/// Forks `children` children that each call `work` once all of them run,
/// and waits for each. Each child says it is ready, then spins on a flag in
/// shared memory until this process raises it. A race needs two processes
/// between the same read and write: children woken one by one might each
/// finish before the next one starts.
fn all_at_once(children: usize, work: impl Fn()) {
    let (ready, go) = (shared_number(), shared_number());
    let (ready_count, go_flag) = (atomic_in(&ready), atomic_in(&go));
    let children: Vec<_> = (0..children)
        .map(|_| {
            fork_child(|| {
                ready_count.fetch_add(1, Ordering::SeqCst);
                // (for 10 s at most: a test that failed before raising it must
                // not leave a child spinning)
                let since = std::time::Instant::now();
                while go_flag.load(Ordering::SeqCst) == 0 && since.elapsed().as_secs() < 10 {
                    std::hint::spin_loop();
                }
                work();
                0
            })
            .unwrap()
        })
        .collect();
    while ready_count.load(Ordering::SeqCst) < children.len() as u64 {
        thread::yield_now();
    }
    go_flag.store(1, Ordering::SeqCst);
    for child in children {
        child.wait_success().unwrap();
    }
}

/// A number at zero in memory that forked children share.
fn shared_number() -> Mapping {
    Mapping::shared(page_size()).expect("a shared page")
}

/// How many times a race is run: on a busy machine processes that start
/// together can still run one after another, and lose nothing (here, in
/// about one run in seven with a counter that is not atomic). Every run
/// must count exactly.
const RACES: usize = 5;

#[test]
fn the_shared_counter_counts_every_add_of_many_children() {
    let counts = apart(|| {
        (0..RACES)
            .map(|_| {
                let counter = SharedCounter::new().map_err(text)?;
                all_at_once(4, || {
                    for _ in 0..1_000_000 {
                        counter.add(1);
                    }
                });
                Ok(counter.get())
            })
            .collect::<Result<Vec<u64>, String>>()
    })
    .expect("a counter");
    assert_eq!(
        counts, [4_000_000; RACES],
        "4 children added 1 a million times each, {RACES} times: adds were lost: is each add atomic?"
    );
}
