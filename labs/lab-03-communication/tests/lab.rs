//! Tests of lab 03's mechanisms as plain functions: every message comes back,
//! nothing hangs when the partner is gone, and no child is left behind.

use lab_03::*;
use labkit::memory::{Mapping, page_size};
use std::time::{Duration, Instant};

#[test]
fn every_mechanism_brings_every_message_back() {
    for (name, key, _) in MECHANISMS {
        round_trips(key, 200).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
    assert!(round_trips("carrier pigeon", 1).is_err());
}

#[test]
fn zero_round_trips_is_no_error_and_no_hang() {
    for (name, key, _) in MECHANISMS {
        round_trips(key, 0).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
}

#[test]
fn a_vec_moved_through_a_channel_is_not_copied() {
    let payload = vec![7u8; 1 << 20];
    let address = payload.as_ptr();
    let back = move_through_channel(payload, 10);
    assert_eq!(back.as_ptr(), address, "the bytes were copied");
}

#[test]
fn copies_arrive_through_pipes_sockets_and_shared_memory() {
    let payload = vec![3u8; 3 * page_size() + 5];
    copy_through_pipe(&payload, 4).unwrap();
    copy_through_socket(&payload, 4).unwrap();
    let mut shared = Mapping::shared(payload.len()).unwrap();
    write_into_shared_memory(&payload, &mut shared, 4).unwrap();
    assert_eq!(shared.as_slice(), &payload[..]);
    let mut copy = vec![0u8; payload.len()];
    copy_in_process(&payload, &mut copy, 2, checksum(&payload)).unwrap();
    assert_eq!(copy, payload);
    let moved = move_and_read(payload.clone(), 3, checksum(&payload)).unwrap();
    assert_eq!(moved, payload);
}

#[test]
fn the_checksum_reads_every_byte() {
    // Each byte changed anywhere — in a full word or in the tail — changes it.
    let message: Vec<u8> = (0..1003u32).map(|i| (i % 251) as u8).collect();
    let sum = checksum(&message);
    for at in [0, 7, 8, 500, 999, 1002] {
        let mut changed = message.clone();
        changed[at] ^= 1;
        assert_ne!(checksum(&changed), sum, "a change at byte {at} went unseen");
    }
}

#[test]
fn a_receiver_that_gets_the_wrong_bytes_says_so() {
    // The receivers check what they read: a changed message is an error.
    let payload = vec![5u8; 4096];
    let err = move_and_read(payload, 2, 12345).unwrap_err();
    assert!(err.to_string().contains("changed"), "{err}");
}

#[test]
fn a_too_small_shared_buffer_is_an_error_not_a_crash() {
    let mut shared = Mapping::shared(16).unwrap();
    let err = write_into_shared_memory(&[1u8; 4096 * 2], &mut shared, 1).unwrap_err();
    assert!(err.to_string().contains("too small"), "{err}");
}

#[test]
fn messages_survive_both_formats() {
    let message = Message::of_size(4096);
    assert_eq!(message.values.len(), 1024);
    json_round_trip(&message, 2).unwrap();
    postcard_round_trip(&message, 2).unwrap();
}

#[test]
fn message_sizes_grow_sixteenfold_up_to_the_maximum() {
    assert_eq!(message_sizes(1024), [1024]);
    assert_eq!(
        message_sizes(64 << 20),
        [1 << 10, 16 << 10, 256 << 10, 4 << 20, 64 << 20]
    );
    assert_eq!(
        message_sizes(1 << 20),
        [1 << 10, 16 << 10, 256 << 10, 1 << 20]
    );
}

#[test]
fn spinning_on_a_partner_that_never_answers_gives_up() {
    // A shortened check of the same rule: `spin_until` returns an error after
    // PATIENCE instead of spinning forever.
    let start = Instant::now();
    let err = spin_until(|| false).unwrap_err();
    assert!(err.to_string().contains("stopped answering"), "{err}");
    assert!(start.elapsed() >= PATIENCE && start.elapsed() < PATIENCE + Duration::from_secs(5));
}

#[test]
fn a_shared_atomic_is_seen_by_a_child() {
    use std::sync::atomic::Ordering;
    let memory = Mapping::shared(page_size()).unwrap();
    let counter = atomic_in(&memory);
    labkit::child::fork_child(|| {
        counter.fetch_add(5, Ordering::SeqCst);
        0
    })
    .unwrap()
    .wait_success()
    .unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), 5);
}

/// SIGKILLs every child of process `parent`, found through /proc.
fn kill_children_of(parent: u32) {
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        let pid = entry.file_name().to_string_lossy().parse::<i32>();
        if let (Some(ppid), Ok(pid)) = (ppid, pid)
            && ppid == parent
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
fn a_partner_killed_midway_is_an_error_and_leaves_no_child() {
    use nix::errno::Errno;
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    // The check forks, and a fork copies every lock another test's thread
    // holds at that moment: once in CI the child waited for ever on the
    // backtrace lock (its error captures a backtrace under RUST_BACKTRACE).
    // So it runs again alone, in a process where no other test runs.
    if !labkit::testing::alone("a_partner_killed_midway_is_an_error_and_leaves_no_child") {
        return;
    }
    for mechanism in ["pipe", "socket"] {
        // In a forked test process, which has no other children: a long
        // ping-pong runs while a thread kills the echo child after 200 ms.
        let probe = labkit::child::fork_child(|| {
            let me = std::process::id();
            let killer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                kill_children_of(me);
            });
            let result = round_trips(mechanism, 1 << 40);
            let _ = killer.join();
            if result.is_ok() {
                return 2; // the dead partner went unnoticed
            }
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Err(Errno::ECHILD) => 0, // no child at all: it was reaped
                _ => 3,
            }
        })
        .unwrap();
        let status = probe.wait().unwrap();
        assert!(
            matches!(status, WaitStatus::Exited(_, 0)),
            "{mechanism}: 2 = no error, 3 = a child left behind; got {status:?}"
        );
    }
}
