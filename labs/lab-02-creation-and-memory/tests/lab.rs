//! Tests of lab 02's experiments as plain functions: each way of starting
//! work works, the memory readings are plausible, and no child is left behind
//! when something fails midway.

use lab_02::*;
use labkit::memory::{Mapping, page_size};
use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, waitpid};
use std::path::Path;
use std::time::Duration;

const LAB: &str = env!("CARGO_BIN_EXE_lab-02");

/// Tests that count this process's threads or weigh its memory run one at a
/// time, and so do the tests that start threads or allocate: libtest runs
/// tests in parallel threads of one process, which would show up in the counts.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn every_way_of_starting_work_works() {
    let _alone = alone();
    spawn_and_join_thread();
    spawn_and_join_scoped_thread();
    run_rayon_task();
    fork_and_wait().unwrap();
    start_program(Path::new("true")).unwrap();
    start_program(Path::new(LAB)).unwrap();
}

#[test]
fn a_program_that_fails_or_is_missing_is_an_error() {
    let err = start_program(Path::new("false")).unwrap_err();
    assert!(err.to_string().contains("false failed"), "{err}");
    let err = start_program(Path::new("/no/such/program")).unwrap_err();
    assert!(err.to_string().contains("could not start"), "{err}");
}

#[test]
fn idle_threads_weigh_kilobytes_and_reserve_their_stacks() {
    let _alone = alone();
    let (resident, reserved) = idle_thread_memory(50).unwrap();
    assert!(resident < 256.0 * 1024.0, "resident per thread {resident}");
    assert!(
        reserved > resident,
        "reserved {reserved} ≤ resident {resident}"
    );
}

#[test]
fn an_idle_child_and_a_new_program_can_be_weighed() {
    let _alone = alone();
    let child = idle_child_memory().unwrap();
    assert!(child.private > 0 && child.pss >= child.private, "{child:?}");
    let program = idle_program_memory(Path::new(LAB)).unwrap();
    assert!(
        program.private > 0 && program.page_tables > 0,
        "{program:?}"
    );
}

#[test]
fn copy_on_write_copies_only_the_pages_written() {
    let _alone = alone();
    let mut buffer = Mapping::private(8 << 20).unwrap();
    buffer.as_mut_slice().fill(1);
    let none = child_writes(&mut buffer, 0).unwrap();
    let all = child_writes(&mut buffer, 1).unwrap();
    let half = child_writes(&mut buffer, 2).unwrap();
    let added = |r: CowReport| r.private_after.saturating_sub(r.private_before) as f64;
    let size = buffer.len() as f64;
    assert!(added(none) < 1024.0 * 1024.0, "{none:?}");
    assert!(added(all) >= 0.95 * size, "{all:?}");
    assert!((0.45..0.6).contains(&(added(half) / size)), "{half:?}");
    assert!(
        buffer.as_slice().iter().all(|&b| b == 1),
        "the parent's copy changed"
    );
}

#[test]
fn write_pages_touches_every_step_th_page() {
    let mut memory = vec![0u8; 8 * page_size()];
    write_pages(&mut memory, 4);
    let touched: Vec<usize> = (0..8).filter(|p| memory[p * page_size()] == 1).collect();
    assert_eq!(touched, [0, 4]);
}

#[test]
fn threads_and_processes_are_created_and_finished() {
    let _alone = alone();
    create_threads(20);
    create_processes(20).unwrap();
}

#[test]
fn scale_counts_are_powers_of_ten_up_to_the_maximum() {
    assert_eq!(scale_counts(1), [1]);
    assert_eq!(scale_counts(1000), [1, 10, 100, 1000]);
    assert_eq!(scale_counts(250), [1, 10, 100, 250]);
}

#[test]
fn the_process_limit_is_checked_before_spawning() {
    let err = check_process_limit(usize::MAX / 2).unwrap_err();
    assert!(err.to_string().contains("--max-count"), "{err}");
    check_process_limit(10).unwrap();
}

#[test]
fn a_failing_child_midway_leaves_no_child_behind() {
    let _alone = alone();
    // In a forked test process, which has no other children to confuse the
    // count: child 0 fails at once, the others would sleep for a minute.
    let probe = labkit::child::fork_child(|| {
        let result = create_processes_running(10, |i| {
            if i == 0 {
                return 1;
            }
            std::thread::sleep(Duration::from_secs(60));
            0
        });
        if result.is_ok() {
            return 2; // the failure was not reported
        }
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Err(Errno::ECHILD) => 0, // no child at all: every one was reaped
            _ => 3,
        }
    })
    .unwrap();
    let started = std::time::Instant::now();
    let status = probe.wait().unwrap();
    assert!(
        matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)),
        "2: no error reported, 3: children left behind; got {status:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the sleeping children were waited for, not killed"
    );
}
