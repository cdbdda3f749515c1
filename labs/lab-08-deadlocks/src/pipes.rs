//! Deadlocks between processes: no lock in sight, only pipes and `wait`.
//!
//! - **A full pipe.** A pipe holds 64 KiB. A child that writes more blocks
//!   until someone reads; a parent that first waits for the child to exit,
//!   and only then reads, waits for a child that waits for it.
//! - **A write end left open.** A reader sees end-of-file only when *every*
//!   write end of its pipe is closed — in every process. A child forked
//!   while the pipe existed inherited both ends; if it keeps the write end,
//!   the reader waits for it forever, though it never writes a byte.
//!
//! Each demo runs its processes below a forked "story parent", so that
//! every process of the story really blocks, and this lab only watches
//! them, with a deadline, from outside.

use anyhow::{Context as _, Result, bail, ensure};
use labkit::child::{Child, fork_child};
use nix::sys::wait::WaitStatus;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// A pipe as two files: (read end, write end).
pub fn pipe_files() -> Result<(File, File)> {
    let (reader, writer) = nix::unistd::pipe().context("pipe")?;
    Ok((File::from(reader), File::from(writer)))
}

/// Closes `fd` in this process only. For a forked child: its copies of the
/// parent's descriptors are its own to close, the parent's stay open (and
/// the child, leaving by `_exit`, never drops its copy of the `File`).
pub fn close_here(fd: &impl AsRawFd) {
    // SAFETY: the descriptor is open in this process, and nothing here uses
    // it afterwards (see above).
    unsafe { nix::libc::close(fd.as_raw_fd()) };
}

/// How many bytes a pipe takes before a writer blocks: written without
/// blocking until the kernel says "would block".
pub fn pipe_capacity() -> Result<usize> {
    let (_reader, writer) = pipe_files()?;
    let flags = nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(&writer, nix::fcntl::FcntlArg::F_SETFL(flags))?;
    let page = [0u8; 4096];
    let mut total = 0;
    loop {
        match (&writer).write(&page) {
            Ok(n) => total += n,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return Ok(total),
            Err(err) => return Err(err.into()),
        }
    }
}

// ANCHOR: wait_then_read
/// The mistake: fork a child that writes `bytes` into a pipe, wait for it
/// to exit, then read. Returns the bytes read.
pub fn wait_then_read(bytes: usize, report_pid: &File) -> Result<usize> {
    let (reader, writer) = pipe_files()?;
    let child = fork_child(|| {
        close_here(&reader);
        let written = (&writer).write_all(&vec![b'x'; bytes]);
        i32::from(written.is_err()) // blocks while the pipe is full
    })?;
    drop(writer);
    tell_pid(report_pid, &child)?;
    child.wait_success()?; // waits for a child that waits for us
    Ok(read_all(reader)?.len())
}
// ANCHOR_END: wait_then_read

// ANCHOR: read_then_wait
/// The fix: read everything first — the child can finish writing — then wait.
pub fn read_then_wait(bytes: usize, report_pid: &File) -> Result<usize> {
    let (reader, writer) = pipe_files()?;
    let child = fork_child(|| {
        close_here(&reader);
        let written = (&writer).write_all(&vec![b'x'; bytes]);
        i32::from(written.is_err())
    })?;
    drop(writer);
    tell_pid(report_pid, &child)?;
    let read = read_all(reader)?.len(); // end-of-file when the child is done
    child.wait_success()?;
    Ok(read)
}
// ANCHOR_END: read_then_wait

/// Sends the child's pid to the watcher (so it can look at the child too).
fn tell_pid(report: &File, child: &Child) -> Result<()> {
    let mut report = report;
    report.write_all(&child.pid().as_raw().to_le_bytes())?;
    Ok(())
}

fn read_all(mut reader: File) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// How a demo's processes ended.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Whether the story finished by itself before the deadline.
    pub finished: bool,
    /// What each stuck process was doing at the deadline, as the kernel
    /// shows it (empty when nothing was stuck).
    pub stuck: Vec<crate::watchdog::Sleeping>,
    /// Seconds until it finished, or until the deadline.
    pub seconds: f64,
}

/// Polls until `child` has ended or `limit` has passed; whether it ended.
/// (It stays unreaped: `has_ended` only looks.)
pub fn ended_within(child: &Child, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if child.has_ended() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.has_ended()
}

/// Runs one full-pipe story: a story parent running `story` (the mistake or
/// the fix) with a child writing `bytes`. If it is not done by `limit`, the
/// two processes are looked at and the writer killed, which lets the story
/// parent reap it, read what is left and exit; it is then reaped here.
pub fn full_pipe(
    story: fn(usize, &File) -> Result<usize>,
    bytes: usize,
    limit: Duration,
) -> Result<Outcome> {
    let (pids, report) = pipe_files()?;
    let start = Instant::now();
    let parent = fork_child(|| {
        close_here(&pids);
        match story(bytes, &report) {
            Ok(read) if read == bytes => 0,
            _ => 1,
        }
    })?;
    drop(report);
    let writer = read_pid(pids, limit)?;
    let finished = ended_within(&parent, limit);
    let seconds = start.elapsed().as_secs_f64();
    let mut stuck = Vec::new();
    if !finished {
        stuck.extend(crate::watchdog::process(parent.pid().as_raw()));
        stuck.extend(crate::watchdog::process(writer));
        // Kill the writer first: its parent, blocked in waitpid, reaps it
        // (killing the story parent first would orphan the writer).
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(writer),
            nix::sys::signal::Signal::SIGKILL,
        );
        if !ended_within(&parent, Duration::from_secs(5)) {
            bail!("the story parent did not end after its child was killed");
        }
        let _ = parent.wait()?;
    } else {
        parent.wait_success()?;
    }
    Ok(Outcome {
        finished,
        stuck,
        seconds,
    })
}

fn read_pid(pids: File, limit: Duration) -> Result<i32> {
    let bytes = crate::watchdog::read_within(&pids, 4, limit)?;
    let bytes: [u8; 4] = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .context("the story parent did not report its child")?;
    Ok(i32::from_le_bytes(bytes))
}

// ANCHOR: open_write_end
/// A reader child counts the bytes of a pipe until end-of-file; a
/// long-lived "logger" child is forked while the pipe exists. If the logger
/// keeps its inherited copy of the write end (`close_unused` false), the
/// reader never sees end-of-file.
pub fn reader_and_logger(close_unused: bool) -> Result<(Child, Child)> {
    let (reader, writer) = pipe_files()?;
    let reader_child = fork_child(|| {
        close_here(&writer); // the reader closes the end it does not use
        let mut count = 0;
        let mut buffer = [0u8; 4096];
        while let Ok(n @ 1..) = (&reader).read(&mut buffer) {
            count += n;
        }
        i32::from(count != MESSAGE.len())
    })?;
    let logger = fork_child(|| {
        if close_unused {
            close_here(&reader);
            close_here(&writer);
        }
        std::thread::sleep(LOGGER_LIFE); // a long life, writing nothing
        0
    })?;
    drop(reader);
    (&writer).write_all(MESSAGE)?;
    drop(writer); // our write end closed: was it the last one?
    Ok((reader_child, logger))
}
// ANCHOR_END: open_write_end

/// What the parent sends the reader.
const MESSAGE: &[u8] = b"all the data there is\n";

/// How long the logger lives unless it is stopped: far beyond any deadline.
const LOGGER_LIFE: Duration = Duration::from_secs(30);

/// Runs the open-write-end story. If the reader has not ended by `limit`,
/// it is looked at, and every process of the story holding a write end of
/// its pipe is named; then the logger is killed, which closes its copy and
/// ends the reader. Both are reaped. Returns the outcome and the holders.
pub fn open_write_end(close_unused: bool, limit: Duration) -> Result<(Outcome, Vec<String>)> {
    let start = Instant::now();
    let (reader, logger) = reader_and_logger(close_unused)?;
    let finished = ended_within(&reader, limit);
    let seconds = start.elapsed().as_secs_f64();
    let mut stuck = Vec::new();
    let mut holders = Vec::new();
    if !finished {
        stuck.extend(crate::watchdog::process(reader.pid().as_raw()));
        holders = holders_of_readers_pipe(&reader, &logger);
    }
    crate::watchdog::finish(logger); // its life is over: killed and reaped
    ensure!(
        ended_within(&reader, Duration::from_secs(5)),
        "the reader did not end after the logger did"
    );
    let status = reader.wait()?;
    ensure!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "the reader ended with {status:?}"
    );
    Ok((
        Outcome {
            finished,
            stuck,
            seconds,
        },
        holders,
    ))
}

/// Who holds a write end of the pipe the reader reads: "the logger (pid N)
/// holds it as fd M".
fn holders_of_readers_pipe(reader: &Child, logger: &Child) -> Vec<String> {
    let reader_pid = reader.pid().as_raw();
    let Some(inode) = read_end_inode(reader_pid) else {
        return Vec::new();
    };
    let mut holders = Vec::new();
    for (pid, role) in [
        (std::process::id() as i32, "this lab"),
        (reader_pid, "the reader"),
        (logger.pid().as_raw(), "the logger"),
    ] {
        for fd in crate::watchdog::write_ends_held(pid, inode) {
            holders.push(format!("{role} (pid {pid}) holds it as fd {fd}"));
        }
    }
    holders
}

/// The inode of a pipe that process `pid` has open for reading.
fn read_end_inode(pid: i32) -> Option<u64> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    fds.flatten().find_map(|fd| {
        let target = std::fs::read_link(fd.path()).ok()?;
        let text = target.to_string_lossy();
        let inode: u64 = text
            .strip_prefix("pipe:[")?
            .strip_suffix(']')?
            .parse()
            .ok()?;
        let number: i32 = fd.file_name().to_string_lossy().parse().ok()?;
        crate::watchdog::read_only(pid, number).then_some(inode)
    })
}
