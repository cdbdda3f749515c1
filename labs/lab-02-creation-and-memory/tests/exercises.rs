//! Graded tests for lab 02's exercises that students see.
//! Run them with `cargo test -p lab-02 --test exercises`.
//!
//! Each test runs the exercise in a process of its own (`apart`) and judges
//! what comes back here: what the exercise prints, or an `exit`, cannot
//! pass a test. It also measures memory there, where no other test
//! allocates at the same time.

use lab_02::IdleThreads;
use lab_02::exercises::{
    fork_children, private_growth_of_a_writing_child, resident_bytes, resident_per_idle_thread,
};
use labkit::child::exists;
use labkit::memory::{Mapping, page_size};
use labkit::testing::apart;
use std::collections::HashSet;

/// An exercise's error as text, to send back from its process.
fn text(err: anyhow::Error) -> String {
    format!("{err:#}")
}

fn statm_resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * page_size() as u64
}

#[test]
fn resident_bytes_agrees_with_the_kernel() {
    let (kernel, yours) = apart(|| (statm_resident(), resident_bytes().map_err(text)));
    let yours = yours.expect("resident_bytes()");
    assert!(
        kernel.abs_diff(yours) < 2 << 20,
        "/proc/self/statm says {kernel} bytes resident, resident_bytes() says {yours}"
    );
}

#[test]
fn resident_bytes_grows_when_memory_is_touched() {
    let (before, after) = apart(|| {
        let before = resident_bytes().map_err(text)?;
        let touched = vec![1u8; 64 << 20];
        let after = resident_bytes().map_err(text)?;
        drop(std::hint::black_box(touched));
        Ok::<_, String>((before, after))
    })
    .expect("resident_bytes()");
    assert!(
        after >= before + (60 << 20),
        "64 MiB were touched, resident grew from {before} to {after}"
    );
}

#[test]
fn an_idle_thread_weighs_a_few_pages() {
    let each = apart(|| resident_per_idle_thread(100).map_err(text)).expect("its weight");
    assert!(
        (1024..512 * 1024).contains(&each),
        "an idle thread should add a few KiB of resident memory, got {each} bytes"
    );
}

#[test]
fn the_idle_threads_really_exist_at_once() {
    let peak = apart(|| {
        IdleThreads::reset_peak();
        resident_per_idle_thread(50).map_err(text)?;
        Ok::<_, String>(IdleThreads::peak())
    })
    .expect("its weight");
    assert!(
        peak >= 50,
        "50 idle threads should exist at once, but at most {peak} IdleThreads were alive together"
    );
}

#[test]
fn fork_children_returns_distinct_children_all_reaped() {
    // (the pids returned, the caller's pid, those that still exist after)
    let (pids, me, left) = apart(|| {
        let pids: Vec<i32> = fork_children(20)
            .map_err(text)?
            .iter()
            .map(|pid| pid.as_raw())
            .collect();
        let left: Vec<i32> = pids
            .iter()
            .copied()
            .filter(|&pid| exists(nix::unistd::Pid::from_raw(pid)))
            .collect();
        Ok::<_, String>((pids, nix::unistd::getpid().as_raw(), left))
    })
    .expect("fork_children(20)");
    assert_eq!(pids.len(), 20);
    let distinct: HashSet<_> = pids.iter().collect();
    assert_eq!(distinct.len(), 20, "the pids are not distinct: {pids:?}");
    assert!(!pids.contains(&me), "a child's pid is this process's own");
    assert!(
        left.is_empty(),
        "children {left:?} still exist (zombies?): wait for them"
    );
}

#[test]
fn fork_children_really_forks() {
    // A real child forked while `fork_children` ran has a pid the kernel
    // handed out meanwhile (see `labkit::testing::forked_during`).
    let (pids, range) = apart(|| {
        let (pids, range) = labkit::testing::forked_during(|| fork_children(5));
        let pids = pids.map(|pids| pids.iter().map(|pid| pid.as_raw()).collect::<Vec<i32>>());
        (pids.map_err(text), range)
    });
    let pids = pids.expect("fork_children(5)");
    let Some(range) = range else {
        return; // the pids wrapped around: nothing to compare
    };
    for pid in pids {
        assert!(
            range.contains(&pid),
            "pid {pid} was not handed out between {} and {}: not a forked child",
            range.start,
            range.end
        );
    }
}

fn filled_buffer(mib: usize) -> Mapping {
    let mut buffer = Mapping::private(mib << 20).unwrap();
    buffer.as_mut_slice().fill(7);
    buffer
}

#[test]
fn a_child_that_writes_nothing_adds_almost_nothing() {
    let growth = apart(|| {
        let mut buffer = filled_buffer(16);
        private_growth_of_a_writing_child(&mut buffer, 0).map_err(text)
    })
    .expect("its growth");
    assert!(growth < 1 << 20, "writing nothing added {growth} bytes");
}

#[test]
fn a_child_that_writes_every_page_copies_them_all() {
    // (the growth, whether the caller's buffer kept its bytes)
    let (growth, unchanged) = apart(|| {
        let mut buffer = filled_buffer(16);
        let pages = buffer.len() / page_size();
        let growth = private_growth_of_a_writing_child(&mut buffer, pages).map_err(text);
        (growth, buffer.as_slice().iter().all(|&b| b == 7))
    });
    let growth = growth.expect("its growth");
    assert!(
        growth >= 15 << 20,
        "writing all of a 16 MiB buffer added only {growth} bytes"
    );
    assert!(
        unchanged,
        "the parent's buffer changed: the writes must happen in the child's copy"
    );
}
