//! Graded tests for lab 02's exercises that only instructors see: the student
//! edition does not contain this file.

use lab_02::exercises::{
    fork_children, private_growth_of_a_writing_child, resident_per_idle_thread,
};
use labkit::child::exists;
use labkit::memory::{Mapping, page_size};
use std::sync::Mutex;

static MEMORY: Mutex<()> = Mutex::new(());

#[test]
fn one_idle_thread_is_weighed_too() {
    let _one = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let each = resident_per_idle_thread(1).unwrap();
    assert!(
        each < 2 << 20,
        "one idle thread added {each} bytes: more than its whole stack"
    );
}

#[test]
fn no_children_is_no_error() {
    assert_eq!(fork_children(0).unwrap(), vec![]);
}

#[test]
fn many_children_are_all_reaped() {
    let pids = fork_children(200).unwrap();
    assert_eq!(pids.len(), 200);
    let left: Vec<_> = pids.iter().filter(|&&pid| exists(pid)).collect();
    assert!(left.is_empty(), "children left behind: {left:?}");
}

#[test]
fn a_child_that_writes_a_quarter_copies_a_quarter() {
    let _one = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let mut buffer = Mapping::private(32 << 20).unwrap();
    buffer.as_mut_slice().fill(3);
    let pages = buffer.len() / page_size();
    let growth = private_growth_of_a_writing_child(&mut buffer, pages / 4).unwrap();
    let share = growth as f64 / buffer.len() as f64;
    assert!(
        (0.22..0.30).contains(&share),
        "writing a quarter of the pages added {share:.3} of the buffer"
    );
    assert!(
        buffer.as_slice().iter().all(|&b| b == 3),
        "the parent's buffer changed"
    );
}

#[test]
fn a_child_that_writes_shared_memory_copies_nothing() {
    // A shared mapping is not copied on write: the child writes the very
    // pages the parent has (filled here, so each page is mapped by both and
    // counts as shared, not private), and its private memory hardly grows.
    // A fake that returns pages × page size without forking a child that
    // measures says 16 MiB here.
    let _one = MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let mut buffer = Mapping::shared(16 << 20).unwrap();
    buffer.as_mut_slice().fill(5);
    let pages = buffer.len() / page_size();
    let growth = private_growth_of_a_writing_child(&mut buffer, pages).unwrap();
    assert!(
        growth < 1 << 20,
        "writing every page of a 16 MiB shared mapping added {growth} bytes of private memory: \
         shared pages are not copied, so measure what the child's writes really did"
    );
}
