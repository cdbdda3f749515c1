//! Graded tests for lab 02's exercises that only instructors see: the student
//! edition does not contain this file. As in `exercises.rs`, each runs the
//! exercise in a process of its own (`apart`) and judges what comes back.

use lab_02::exercises::{
    fork_children, private_growth_of_a_writing_child, resident_per_idle_thread,
};
use labkit::child::exists;
use labkit::memory::{Mapping, page_size};
use labkit::testing::apart;

/// An exercise's error as text, to send back from its process.
fn text(err: anyhow::Error) -> String {
    format!("{err:#}")
}

#[test]
fn one_idle_thread_is_weighed_too() {
    let each = apart(|| resident_per_idle_thread(1).map_err(text)).expect("its weight");
    assert!(
        each < 2 << 20,
        "one idle thread added {each} bytes: more than its whole stack"
    );
}

#[test]
fn no_children_is_no_error() {
    let pids = apart(|| fork_children(0).map(|pids| pids.len()).map_err(text));
    assert_eq!(pids.expect("fork_children(0)"), 0);
}

#[test]
fn many_children_are_all_reaped() {
    // (how many pids came back, those that still exist after)
    let (count, left) = apart(|| {
        let pids = fork_children(200).map_err(text)?;
        let left: Vec<i32> = pids
            .iter()
            .filter(|&&pid| exists(pid))
            .map(|pid| pid.as_raw())
            .collect();
        Ok::<_, String>((pids.len(), left))
    })
    .expect("fork_children(200)");
    assert_eq!(count, 200);
    assert!(left.is_empty(), "children left behind: {left:?}");
}

#[test]
fn a_child_that_writes_a_quarter_copies_a_quarter() {
    // (the growth over the buffer's size, whether the caller's buffer kept its bytes)
    let (share, unchanged) = apart(|| {
        let mut buffer = Mapping::private(32 << 20).unwrap();
        buffer.as_mut_slice().fill(3);
        let pages = buffer.len() / page_size();
        let growth = private_growth_of_a_writing_child(&mut buffer, pages / 4);
        let share = growth.map(|g| g as f64 / buffer.len() as f64).map_err(text);
        (share, buffer.as_slice().iter().all(|&b| b == 3))
    });
    let share = share.expect("its growth");
    assert!(
        (0.22..0.30).contains(&share),
        "writing a quarter of the pages added {share:.3} of the buffer"
    );
    assert!(unchanged, "the parent's buffer changed");
}

#[test]
fn a_child_that_writes_shared_memory_copies_nothing() {
    // A shared mapping is not copied on write: the child writes the very
    // pages the parent has (filled here, so each page is mapped by both and
    // counts as shared, not private), and its private memory hardly grows.
    // A fake that returns pages × page size without forking a child that
    // measures says 16 MiB here.
    let growth = apart(|| {
        let mut buffer = Mapping::shared(16 << 20).unwrap();
        buffer.as_mut_slice().fill(5);
        let pages = buffer.len() / page_size();
        private_growth_of_a_writing_child(&mut buffer, pages).map_err(text)
    })
    .expect("its growth");
    assert!(
        growth < 1 << 20,
        "writing every page of a 16 MiB shared mapping added {growth} bytes of private memory: \
         shared pages are not copied, so measure what the child's writes really did"
    );
}
