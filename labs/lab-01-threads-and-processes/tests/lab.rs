//! Tests of lab 01's experiments as plain functions: right answers, the
//! memory facts they demonstrate, and no child left behind on error paths.

use lab_01::*;
use nix::unistd::Pid;
use std::time::{Duration, Instant};

#[test]
fn sum_task_adds_and_really_loops() {
    assert_eq!(sum_task(10), 45);
    // A loop replaced by n(n-1)/2 would take the same time for any n.
    let time = |n| {
        let start = Instant::now();
        std::hint::black_box(sum_task(n));
        start.elapsed()
    };
    let (small, large) = (time(2_000_000), time(20_000_000));
    assert!(large > small * 3, "small {small:?}, large {large:?}");
}

#[test]
fn every_way_of_running_gives_every_result() {
    let expected = vec![4950, 4950, 4950];
    assert_eq!(run_sequentially(3, || sum_task(100)), expected);
    assert_eq!(run_in_threads(3, || sum_task(100)), expected);
    assert_eq!(run_in_processes(3, || sum_task(100)).unwrap(), expected);
}

#[test]
fn waiting_tasks_overlap_in_threads_and_processes() {
    let wait = Duration::from_millis(200);
    let start = Instant::now();
    run_in_threads(3, || wait_task(wait));
    assert!(
        start.elapsed() < wait * 2,
        "3 threads took {:?}",
        start.elapsed()
    );
    let start = Instant::now();
    run_in_processes(3, || wait_task(wait)).unwrap();
    assert!(
        start.elapsed() < wait * 2,
        "3 processes took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_child_that_dies_is_an_error_and_is_reaped() {
    let err = run_in_processes(2, || panic!("the task failed")).unwrap_err();
    assert!(
        format!("{err:#}").contains("without sending its result"),
        "{err:#}"
    );
    assert_no_children_of_mine();
}

#[test]
fn threads_share_memory_children_get_a_copy() {
    assert!(thread_change_is_seen());
    assert!(!child_change_is_seen().unwrap());
    assert!(child_sees_parent_value().unwrap());
}

#[test]
fn only_a_joined_thread_finishes_before_exit() {
    let work = Duration::from_millis(100);
    assert!(thread_finishes_before_exit(true, work).unwrap());
    assert!(!thread_finishes_before_exit(false, work).unwrap());
}

#[test]
fn an_unwaited_child_is_a_zombie_until_reaped() {
    assert_eq!(zombie_until_reaped().unwrap(), (true, true));
}

#[test]
fn process_state_reads_a_sleeping_child_and_nothing_for_no_process() {
    let child = labkit::child::fork_child(|| {
        std::thread::sleep(Duration::from_secs(30));
        0
    })
    .unwrap();
    let start = Instant::now();
    while process_state(child.pid()) != Some('S') && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(process_state(child.pid()), Some('S'));
    drop(child); // killed and reaped
    assert_eq!(process_state(Pid::from_raw(i32::MAX)), None);
}

/// No child of this process exists any more, not even as a zombie. (Other
/// tests in this binary may have children of their own running, so we look
/// only for zombies and for children of ours that outlived their test.)
fn assert_no_children_of_mine() {
    let me = std::process::id().to_string();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 1 && fields[1] == me && fields[0] == "Z" {
            zombies.push(entry.file_name());
        }
    }
    assert!(zombies.is_empty(), "zombie children left: {zombies:?}");
}

#[test]
fn cpython_joins_a_thread_at_exit_but_not_a_daemon() {
    let Some(python) = labkit::python::find() else {
        eprintln!("python3 not found: nothing to check here");
        return;
    };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/at_exit.py");
    assert!(python_thread_finishes(&python, &script, false, 0.1).unwrap());
    assert!(!python_thread_finishes(&python, &script, true, 2.0).unwrap());
}
