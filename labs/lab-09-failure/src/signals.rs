//! Stopping a process from outside: `SIGTERM`, which a process may catch
//! and clean up after, and `SIGKILL`, which nothing can catch — the kernel
//! ends the process wherever it is, and whatever it meant to undo stays.

use crate::cancel::spin_for;
use crate::watch::{Ending, Log, close_here, pipe_files, read_line_within};
use anyhow::{Context as _, Result, bail};
use labkit::child::fork_child;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ANCHOR: handler
/// Set by the handler; the worker looks at it between slices of work.
static TERM_REQUESTED: AtomicBool = AtomicBool::new(false);

/// The handler runs in the middle of whatever the worker was doing, so it
/// may do almost nothing (no allocation, no lock, no I/O through Rust's
/// buffers): it sets a flag, and the worker does the rest.
extern "C" fn on_sigterm(_signal: nix::libc::c_int) {
    TERM_REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the handler for `SIGTERM` in this process.
pub fn catch_sigterm() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_sigterm),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only stores into an atomic, which is
    // async-signal-safe.
    unsafe { sigaction(Signal::SIGTERM, &action) }.context("sigaction")?;
    Ok(())
}
// ANCHOR_END: handler

// ANCHOR: worker
/// A worker process: it creates its temporary file, says "ready", and
/// works in slices of `slice`, looking at the flag after each. Told to
/// stop, it removes the file — then ends by the same signal, its default
/// action restored, so that its parent still learns why it ended.
pub fn worker_with_cleanup(file: &Path, slice: Duration, log: &Log) -> i32 {
    if std::fs::write(file, b"half-done work\n").is_err() {
        return 1;
    }
    log.line("ready");
    while !TERM_REQUESTED.load(Ordering::SeqCst) {
        spin_for(slice);
    }
    let _ = std::fs::remove_file(file);
    log.line("cleaned up");
    // SAFETY: restoring the default action is always sound.
    unsafe { nix::sys::signal::signal(Signal::SIGTERM, SigHandler::SigDfl) }.ok();
    let _ = nix::sys::signal::raise(Signal::SIGTERM);
    1 // not reached: SIGTERM ends the process
}
// ANCHOR_END: worker

/// How the worker is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `SIGTERM`, with the handler installed: it cleans up.
    TermHandled,
    /// `SIGTERM` with no handler: its default action ends the process.
    TermDefault,
    /// `SIGKILL` (the handler installed, for all the good it does).
    Kill,
}

impl Stop {
    /// The name used in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Stop::TermHandled => "term",
            Stop::TermDefault => "term_default",
            Stop::Kill => "kill",
        }
    }

    fn signal(self) -> Signal {
        match self {
            Stop::TermHandled | Stop::TermDefault => Signal::SIGTERM,
            Stop::Kill => Signal::SIGKILL,
        }
    }
}

/// What stopping a worker gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stopped {
    /// How it ended.
    pub ending: Ending,
    /// Seconds from the signal until it was ended and could be reaped.
    pub seconds: f64,
    /// Whether its temporary file was still there afterwards.
    pub file_left: bool,
}

// ANCHOR: stop
/// Starts a worker (its temporary file in `dir`), waits until it is ready,
/// lets it work a moment, stops it as `stop` says, and watches it end.
pub fn stop_worker(stop: Stop, dir: &Path, slice: Duration) -> Result<Stopped> {
    let number = next_number();
    let file = dir.join(format!("worker-{number}.tmp"));
    let (reader, writer) = pipe_files()?;
    let child = fork_child(|| {
        close_here(&reader);
        if stop != Stop::TermDefault && catch_sigterm().is_err() {
            return 1;
        }
        worker_with_cleanup(&file, slice, &Log::new(writer.try_clone().expect("dup")))
    })?;
    drop(writer);
    if read_line_within(&reader, LIMIT)?.as_deref() != Some("ready") {
        bail!("the worker did not start");
    }
    let ended = ProcessFd::open(child.pid())?;
    std::thread::sleep(a_moment(number, slice));
    let signalled = Instant::now();
    kill(child.pid(), stop.signal())?;
    if !ended.wait(LIMIT)? {
        kill(child.pid(), Signal::SIGKILL)?; // the child is then reaped below
    }
    let seconds = signalled.elapsed().as_secs_f64();
    let ending = Ending::from_status(child.wait()?);
    Ok(Stopped {
        ending,
        seconds,
        file_left: file.exists(),
    })
}
// ANCHOR_END: stop

/// A process's pidfd (Linux 5.3+): it becomes readable when the process
/// ends, so a parent can wait for that with `poll` and a timeout — without a
/// busy loop, which on a loaded machine would take the CPU the dying child
/// needs, and without a thread blocked in `waitpid`.
pub struct ProcessFd(std::os::fd::OwnedFd);

impl ProcessFd {
    /// The pidfd of `pid`, a child of this process.
    pub fn open(pid: nix::unistd::Pid) -> Result<ProcessFd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new
        // descriptor, which the OwnedFd then owns.
        let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid.as_raw(), 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error()).context("pidfd_open");
        }
        // SAFETY: a descriptor just opened, owned by nobody else.
        Ok(ProcessFd(unsafe {
            std::os::fd::FromRawFd::from_raw_fd(fd as std::os::fd::RawFd)
        }))
    }

    /// Waits until the process has ended, for at most `limit`; whether it has.
    pub fn wait(&self, limit: Duration) -> Result<bool> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let start = Instant::now();
        while let Some(left) = limit.checked_sub(start.elapsed()) {
            let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
            let millis = left.as_millis().clamp(1, 60_000) as u16;
            match poll(&mut fds, PollTimeout::from(millis)) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(err) => return Err(err).context("poll"),
            }
        }
        Ok(false)
    }
}

/// How long a worker may take to start, and to end once signalled.
const LIMIT: Duration = Duration::from_secs(5);

/// How long worker `number` works before it is signalled: one to two
/// slices, a different time for each worker, so that signals land anywhere
/// in a slice (right after "ready", they would all land at its start).
fn a_moment(number: usize, slice: Duration) -> Duration {
    slice + slice * (number as u32 * 37 % 100) / 100
}

/// A number for each worker's file, unique in this process.
fn next_number() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A directory of this lab's own for the workers' temporary files, removed
/// with everything in it when dropped.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// A new empty directory under the system's temporary directory.
    pub fn new() -> Result<Scratch> {
        let dir =
            std::env::temp_dir().join(format!("lab-09-{}-{}", std::process::id(), next_number()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch { dir })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// How many files are in it now.
    pub fn files(&self) -> usize {
        std::fs::read_dir(&self.dir).map_or(0, |entries| entries.flatten().count())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
