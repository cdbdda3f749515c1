//! Lab 02 exercises. Replace each `todo!` with your code, then check your work
//! with `cargo test -p lab-02 --test exercises`.
//!
//! The tests check what really happened, not only the answer: that the
//! threads really existed at once, that the children really were forked and
//! reaped, that the child's writes really stayed in its own copy.
// starter: #![allow(unused_imports, unused_variables)]

use crate::IdleThreads;
use anyhow::{Context, Result};
use labkit::child::{Child, fork_child};
use labkit::memory::{Mapping, page_size};
use nix::unistd::{Pid, pipe};
use std::fs::File;
use std::io::{Read, Write};

// The book shows each exercise's documentation and signature (the anchors
// end before the body, so the solutions are never published).

// ANCHOR: exercise_resident
/// Exercise 1 — what an idle thread weighs.
///
/// Return the resident memory of this process in bytes: the `VmRSS:` line of
/// `/proc/self/status` ("VmRSS:   12345 kB"; a kB there is 1024 bytes).
pub fn resident_bytes() -> Result<u64> {
    // ANCHOR_END: exercise_resident
    // solution:begin
    let status = std::fs::read_to_string("/proc/self/status").context("cannot read /proc")?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .context("an empty VmRSS line")?
        .parse()
        .context("VmRSS is not a number")?;
    Ok(kib * 1024)
    // solution:end
    // starter: todo!("read /proc/self/status and return VmRSS in bytes")
}

// ANCHOR: exercise_per_thread
/// Start `count` idle threads with [`IdleThreads::start`], measure how much
/// this process's resident memory grew while they exist, release them, and
/// return the growth per thread in bytes.
pub fn resident_per_idle_thread(count: usize) -> Result<u64> {
    // ANCHOR_END: exercise_per_thread
    // solution:begin
    let before = resident_bytes()?;
    let idle = IdleThreads::start(count);
    let during = resident_bytes();
    idle.release();
    Ok(during?.saturating_sub(before) / count.max(1) as u64)
    // solution:end
    // starter: todo!("resident memory before and while `count` IdleThreads exist, per thread")
}

// ANCHOR: exercise_fork
/// Exercise 2 — many children, all reaped.
///
/// Fork `count` children that each exit at once with code 0. Fork them all
/// first, then wait for each one; return their pids in the order they were
/// forked. No child may be left behind, not even when a fork fails midway.
///
/// Hint: `labkit::child::fork_child` returns a `Child` that is killed and
/// reaped if it is dropped unwaited.
pub fn fork_children(count: usize) -> Result<Vec<Pid>> {
    // ANCHOR_END: exercise_fork
    // solution:begin
    let children: Vec<Child> = (0..count)
        .map(|_| fork_child(|| 0))
        .collect::<Result<_>>()?;
    let pids = children.iter().map(Child::pid).collect();
    for child in children {
        child.wait_success()?;
    }
    Ok(pids)
    // solution:end
    // starter: todo!("fork `count` children that exit at once, wait for them all, return their pids")
}

// ANCHOR: exercise_cow
/// Exercise 3 — copy-on-write, measured.
///
/// Fork a child that writes one byte into each of the first `pages` pages of
/// `buffer` (a page is [`page_size`] bytes), and sends back through a pipe how
/// much its private memory grew: `Private_Clean` + `Private_Dirty` in
/// `/proc/self/smaps_rollup`, after minus before the writes. Return that
/// growth in bytes. The parent's own buffer must stay as it was.
///
/// Hint: [`crate::procfs::memory`] reads smaps_rollup for you.
pub fn private_growth_of_a_writing_child(buffer: &mut Mapping, pages: usize) -> Result<u64> {
    // ANCHOR_END: exercise_cow
    // solution:begin
    let (reader, writer) = pipe().context("pipe failed")?;
    let child = fork_child(move || {
        let Ok(before) = crate::procfs::memory(None) else {
            return 1;
        };
        for page in buffer.as_mut_slice().chunks_mut(page_size()).take(pages) {
            page[0] = page[0].wrapping_add(1);
        }
        let Ok(after) = crate::procfs::memory(None) else {
            return 1;
        };
        let growth = after.private.saturating_sub(before.private);
        i32::from(File::from(writer).write_all(&growth.to_le_bytes()).is_err())
    })?;
    let mut bytes = [0u8; 8];
    let sent = File::from(reader).read_exact(&mut bytes);
    child.wait_success()?;
    sent.context("the child did not send its growth")?;
    Ok(u64::from_le_bytes(bytes))
    // solution:end
    // starter: todo!("fork a child that writes `pages` pages and reports its private growth")
}
