//! Finding a deadlock that really hangs, from outside the stuck code.
//!
//! Two ways, one per kind of worker:
//!
//! - **Threads on `parking_lot` locks**: with its `deadlock_detection`
//!   feature, `parking_lot::deadlock::check_deadlock()` builds the wait-for
//!   graph of every thread parked on one of its locks and returns the cycles
//!   with each thread's backtrace. The stuck threads run in a forked child,
//!   whose own watchdog thread asks every few milliseconds, writes what it
//!   found into a pipe and ends the child — the only way to end threads that
//!   can never return. (Fork it while no other thread of this process is
//!   inside `parking_lot`: the child gets a copy of its table, and a bucket
//!   lock held at that moment would stay locked in the child forever.)
//! - **Processes**: the kernel shows where each one sleeps:
//!   `/proc/PID/wchan` (the kernel function it waits in, such as
//!   `pipe_write`), `/proc/PID/stack` (the whole kernel stack, for root),
//!   and `/proc/PID/fd` with `fdinfo` (which pipe ends it holds open).

use anyhow::{Context as _, Result};
use labkit::child::{Child, fork_child};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How often the watchdog in a child asks `parking_lot` for cycles.
const CHECK_EVERY: Duration = Duration::from_millis(10);

/// What a watchdog reported about a child whose threads deadlocked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnosis {
    /// One line per deadlocked thread: its name and the lab function it is
    /// stuck in, e.g. `left: lab_08::move_one`.
    pub threads: Vec<String>,
    /// How many cycles `check_deadlock` found.
    pub cycles: usize,
    /// Seconds from the start of the demo until the watchdog saw the cycle.
    pub found_after: f64,
}

// ANCHOR: watchdog
/// Runs `demo` in a forked child: it starts threads that may deadlock on
/// `parking_lot` locks and returns them. A watchdog thread in the child
/// checks for a deadlock until `limit`; it reports the cycles through a pipe
/// and ends the child, stuck threads and all. `None`: no deadlock was seen.
pub fn find_deadlock_in_child(
    demo: fn() -> Vec<Thread>,
    limit: Duration,
) -> Result<Option<Diagnosis>> {
    let (reader, writer) = crate::pipes::pipe_files()?;
    let child = fork_child(|| {
        crate::pipes::close_here(&reader);
        let start = Instant::now();
        let threads = demo();
        while start.elapsed() < limit {
            if let Some(report) = deadlock_report(&threads, start.elapsed()) {
                let _ = (&writer).write_all(report.as_bytes());
                return 3; // _exit ends the stuck threads with the process
            }
            std::thread::sleep(CHECK_EVERY);
        }
        0 // no deadlock: the threads finished or are still running
    })?;
    drop(writer);
    let report = read_within(&reader, usize::MAX, limit + Duration::from_secs(5))?;
    finish(child);
    Ok(parse(&String::from_utf8_lossy(&report)))
}
// ANCHOR_END: watchdog

/// Asks `parking_lot` for cycles; if there are any, a report: a first line
/// with their number and the time, then one line per thread, with the
/// innermost function of this lab on its stack.
fn deadlock_report(threads: &[Thread], after: Duration) -> Option<String> {
    let cycles = parking_lot::deadlock::check_deadlock();
    if cycles.is_empty() {
        return None;
    }
    let mut report = format!("{} {}\n", cycles.len(), after.as_secs_f64());
    for thread in cycles.iter().flatten() {
        let name = threads
            .iter()
            .find(|t| t.id() == thread.thread_id())
            .and_then(|t| t.name().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", thread.thread_id()));
        let place = thread
            .backtrace()
            .frames()
            .iter()
            .flat_map(|frame| frame.symbols())
            .filter_map(|symbol| symbol.name().map(|n| format!("{n:#}")))
            .find(|name| name.starts_with("lab_08::") && !name.contains("watchdog"))
            .unwrap_or_else(|| "(no lab function on its stack)".into());
        report.push_str(&format!("{name}: {place}\n"));
    }
    Some(report)
}

fn parse(report: &str) -> Option<Diagnosis> {
    let mut lines = report.lines();
    let (cycles, after) = lines.next()?.split_once(' ')?;
    Some(Diagnosis {
        cycles: cycles.parse().ok()?,
        found_after: after.parse().ok()?,
        threads: lines.map(str::to_string).collect(),
    })
}

/// Reads until end-of-file or `max` bytes, or until `limit` has passed
/// (then returns what came so far): a read that cannot hang.
pub fn read_within(mut file: &File, max: usize, limit: Duration) -> Result<Vec<u8>> {
    let start = Instant::now();
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Some(left) = limit.checked_sub(start.elapsed())
        && bytes.len() < max
    {
        let millis = left.as_millis().clamp(1, 60_000) as u16;
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) => break,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => return Err(err).context("poll"),
        }
        let room = buffer.len().min(max - bytes.len());
        match file.read(&mut buffer[..room])? {
            0 => break,
            n => bytes.extend_from_slice(&buffer[..n]),
        }
    }
    Ok(bytes)
}

/// Ends a child that may be stuck and reaps it.
pub fn finish(child: Child) {
    let _ = nix::sys::signal::kill(child.pid(), nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
}

/// Where a process (or one of its threads) sleeps, as the kernel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sleeping {
    /// The process or thread id.
    pub pid: i32,
    /// Its name (`comm`: a thread's name, up to 15 bytes).
    pub name: String,
    /// Its state: `S` sleeping, `R` running, `D` uninterruptible, `Z` zombie.
    pub state: char,
    /// The kernel function it waits in (`/proc/PID/wchan`), e.g. `pipe_write`.
    pub wchan: String,
    /// The innermost frames of its kernel stack, when readable (root only).
    pub stack: Vec<String>,
}

impl std::fmt::Display for Sleeping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} '{}' state {} in {}",
            self.pid, self.name, self.state, self.wchan
        )?;
        if !self.stack.is_empty() {
            write!(f, " [{}]", self.stack.join(" < "))?;
        }
        Ok(())
    }
}

// ANCHOR: proc
/// Where process or thread `dir` (`/proc/PID` or `/proc/PID/task/TID`) sleeps.
pub fn sleeping_in(dir: &str) -> Option<Sleeping> {
    let read = |file: &str| std::fs::read_to_string(format!("{dir}/{file}")).ok();
    let stat = read("stat")?;
    // The name is in parentheses and may contain spaces: the state follows
    // the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let state = rest.trim_start().chars().next()?;
    let stack: Vec<String> = read("stack")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(|frame| frame.split('+').next().unwrap_or(frame).to_string())
        .take(4)
        .collect();
    Some(Sleeping {
        pid: dir.rsplit('/').next()?.parse().ok()?,
        name: read("comm")?.trim().to_string(),
        state,
        wchan: read("wchan").unwrap_or_default(),
        stack,
    })
}

/// Where every thread of process `pid` sleeps.
pub fn threads_of(pid: i32) -> Vec<Sleeping> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut threads: Vec<Sleeping> = tasks
        .flatten()
        .filter_map(|task| sleeping_in(&task.path().to_string_lossy()))
        .collect();
    threads.sort_by_key(|t| t.pid);
    threads
}
// ANCHOR_END: proc

/// Where process `pid` (its main thread) sleeps.
pub fn process(pid: i32) -> Option<Sleeping> {
    sleeping_in(&format!("/proc/{pid}"))
}

/// The descriptors of process `pid` that are the write end of the pipe
/// with inode `inode` (from `/proc/PID/fd` and the access mode in
/// `/proc/PID/fdinfo`).
pub fn write_ends_held(pid: i32, inode: u64) -> Vec<i32> {
    let wanted = format!("pipe:[{inode}]");
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut held: Vec<i32> = fds
        .flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.to_string_lossy() == wanted)
        })
        .filter_map(|fd| fd.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|fd| write_only(pid, *fd))
        .collect();
    held.sort_unstable();
    held
}

/// Whether descriptor `fd` of `pid` was opened for writing only.
fn write_only(pid: i32, fd: i32) -> bool {
    access_mode(pid, fd) == Some(nix::libc::O_WRONLY)
}

/// Whether descriptor `fd` of `pid` was opened for reading only.
pub fn read_only(pid: i32, fd: i32) -> bool {
    access_mode(pid, fd) == Some(nix::libc::O_RDONLY)
}

/// The access mode of descriptor `fd` of `pid` (the `flags:` line of
/// `/proc/PID/fdinfo/FD`, in octal).
fn access_mode(pid: i32, fd: i32) -> Option<i32> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let flags = info.lines().find_map(|line| line.strip_prefix("flags:"))?;
    let flags = i32::from_str_radix(flags.trim(), 8).ok()?;
    Some(flags & nix::libc::O_ACCMODE)
}

/// The inode of a pipe end (what `/proc/PID/fd` links name).
pub fn pipe_inode(fd: &impl AsFd) -> Result<u64> {
    Ok(nix::sys::stat::fstat(fd.as_fd())?.st_ino)
}
