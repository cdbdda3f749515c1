//! Graded tests for lab 02's exercises that students see.
//! Run them with `cargo test -p lab-02 --test exercises`.

use lab_02::IdleThreads;
use lab_02::exercises::{
    fork_children, private_growth_of_a_writing_child, resident_bytes, resident_per_idle_thread,
};
use labkit::child::exists;
use labkit::memory::{Mapping, page_size};
use std::collections::HashSet;
use std::sync::Mutex;

/// Memory tests run one at a time: another test allocating at the same time
/// would show up in their measurements.
static MEMORY: Mutex<()> = Mutex::new(());

fn statm_resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * page_size() as u64
}

#[test]
fn resident_bytes_agrees_with_the_kernel() {
    let _one = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let (kernel, yours) = (statm_resident(), resident_bytes().unwrap());
    assert!(
        kernel.abs_diff(yours) < 2 << 20,
        "/proc/self/statm says {kernel} bytes resident, resident_bytes() says {yours}"
    );
}

#[test]
fn resident_bytes_grows_when_memory_is_touched() {
    let _one = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let before = resident_bytes().unwrap();
    let touched = vec![1u8; 64 << 20];
    let after = resident_bytes().unwrap();
    drop(std::hint::black_box(touched));
    assert!(
        after >= before + (60 << 20),
        "64 MiB were touched, resident grew from {before} to {after}"
    );
}

#[test]
fn an_idle_thread_weighs_a_few_pages() {
    let _one = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let each = resident_per_idle_thread(100).unwrap();
    assert!(
        (1024..512 * 1024).contains(&each),
        "an idle thread should add a few KiB of resident memory, got {each} bytes"
    );
}

#[test]
fn the_idle_threads_really_exist_at_once() {
    let _one = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    IdleThreads::reset_peak();
    resident_per_idle_thread(50).unwrap();
    let peak = IdleThreads::peak();
    assert!(
        peak >= 50,
        "50 idle threads should exist at once, but at most {peak} IdleThreads were alive together"
    );
}

#[test]
fn fork_children_returns_distinct_children_all_reaped() {
    let pids = fork_children(20).unwrap();
    assert_eq!(pids.len(), 20);
    let distinct: HashSet<_> = pids.iter().collect();
    assert_eq!(distinct.len(), 20, "the pids are not distinct: {pids:?}");
    let me = nix::unistd::getpid();
    assert!(!pids.contains(&me), "a child's pid is this process's own");
    for pid in &pids {
        assert!(
            !exists(*pid),
            "child {pid} still exists (a zombie?): wait for it"
        );
    }
}

#[test]
fn fork_children_really_forks() {
    // A real child forked while `fork_children` ran has a pid the kernel
    // handed out meanwhile (see `labkit::testing::forked_during`).
    let (pids, range) = labkit::testing::forked_during(|| fork_children(5).unwrap());
    let Some(range) = range else {
        return; // the pids wrapped around: nothing to compare
    };
    for pid in pids {
        assert!(
            range.contains(&pid.as_raw()),
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
    let _one = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let mut buffer = filled_buffer(16);
    let growth = private_growth_of_a_writing_child(&mut buffer, 0).unwrap();
    assert!(growth < 1 << 20, "writing nothing added {growth} bytes");
}

#[test]
fn a_child_that_writes_every_page_copies_them_all() {
    let _one = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let mut buffer = filled_buffer(16);
    let pages = buffer.len() / page_size();
    let growth = private_growth_of_a_writing_child(&mut buffer, pages).unwrap();
    assert!(
        growth >= 15 << 20,
        "writing all of a 16 MiB buffer added only {growth} bytes"
    );
    assert!(
        buffer.as_slice().iter().all(|&b| b == 7),
        "the parent's buffer changed: the writes must happen in the child's copy"
    );
}
