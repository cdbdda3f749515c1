//! Watching a program from outside: it runs in a forked child, its workers'
//! lines come through a pipe, its error messages through another, and how
//! it ended comes from `waitpid` — and every wait has a deadline, so a
//! program that hangs is killed and reported instead of hanging the lab.

use anyhow::{Context as _, Result};
use labkit::child::{Child, fork_child};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::WaitStatus;
use nix::unistd::{Pid, setpgid};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A pipe as two files: (read end, write end).
pub fn pipe_files() -> Result<(File, File)> {
    let (reader, writer) = nix::unistd::pipe().context("pipe")?;
    Ok((File::from(reader), File::from(writer)))
}

/// Closes `fd` in this process only: for a forked child, whose copies of
/// the parent's descriptors are its own to close (and which, leaving by
/// `_exit`, never drops its copy of the `File`).
pub fn close_here(fd: &impl AsRawFd) {
    // SAFETY: the descriptor is open in this process, and nothing here uses
    // it afterwards.
    unsafe { nix::libc::close(fd.as_raw_fd()) };
}

/// Where workers write their lines: the write end of a pipe, shared by
/// threads and inherited by forked children. Each line is one `write(2)` of
/// fewer than `PIPE_BUF` bytes, which the kernel never splits or mixes with
/// another writer's — and which is in the pipe, out of the writer's hands,
/// as soon as the call returns: it survives whatever happens to the writer
/// next.
#[derive(Clone, Debug)]
pub struct Log(Arc<File>);

impl Log {
    /// A log writing into `file` (the write end of a pipe).
    pub fn new(file: File) -> Log {
        Log(Arc::new(file))
    }

    /// Writes one whole line.
    pub fn line(&self, text: &str) {
        let _ = (&*self.0).write_all(format!("{text}\n").as_bytes());
    }

    /// Writes the first part of a line, without its end: half a message.
    pub fn part(&self, text: &str) {
        let _ = (&*self.0).write_all(text.as_bytes());
    }
}

/// How a process ended, as `waitpid` told its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It exited by itself, with this code.
    Exited(i32),
    /// A signal ended it.
    Killed(Signal),
    /// It was still running at the deadline (it was then killed and reaped).
    Hung,
}

impl Ending {
    /// The ending a wait status describes.
    pub fn from_status(status: WaitStatus) -> Ending {
        match status {
            WaitStatus::Exited(_, code) => Ending::Exited(code),
            WaitStatus::Signaled(_, signal, _) => Ending::Killed(signal),
            _ => Ending::Hung,
        }
    }

    /// Whether a signal ended it.
    pub fn is_signal(self) -> bool {
        matches!(self, Ending::Killed(_))
    }
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::Exited(code) => write!(f, "exited with code {code}"),
            Ending::Killed(signal) => write!(f, "killed by {signal}"),
            Ending::Hung => write!(f, "still running at the deadline"),
        }
    }
}

/// Waits for `child` for at most `limit`; a child still running then is
/// killed and reaped, and reported as [`Ending::Hung`].
pub fn ending_within(child: Child, limit: Duration) -> Result<Ending> {
    let start = Instant::now();
    while !child.has_ended() {
        if start.elapsed() >= limit {
            let _ = kill(child.pid(), Signal::SIGKILL);
            child.wait()?;
            return Ok(Ending::Hung);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(Ending::from_status(child.wait()?))
}

/// [`ending_within`] for a child that leads a process group: a child still
/// running at `limit` is killed with its whole group; and once it has
/// ended, whatever is left in its group is killed (an orphan it left
/// behind would otherwise run on).
fn group_ending_within(child: Child, limit: Duration) -> Result<Ending> {
    let group = child.pid();
    let start = Instant::now();
    while !child.has_ended() {
        if start.elapsed() >= limit {
            let _ = killpg(group, Signal::SIGKILL);
            child.wait()?;
            return Ok(Ending::Hung);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let status = child.wait()?;
    let _ = killpg(group, Signal::SIGKILL);
    Ok(Ending::from_status(status))
}

/// What a watched program left behind.
#[derive(Debug, Clone)]
pub struct Watched {
    /// How it ended.
    pub ending: Ending,
    /// The lines its workers logged, in the order they reached the pipe (a
    /// last line without its end included).
    pub lines: Vec<String>,
    /// What it wrote to standard error: a panic's message, Rust's "fatal
    /// runtime error", the allocator's complaint.
    pub stderr: String,
    /// Seconds from the fork until it was reaped.
    pub seconds: f64,
}

impl Watched {
    /// Whether `who` (e.g. "worker 1") logged that it was done.
    pub fn finished(&self, who: &str) -> bool {
        let done = format!("{who}: done");
        self.lines.iter().any(|line| line.ends_with(&done))
    }

    /// The last line logged, or "" if none was.
    pub fn last_line(&self) -> &str {
        self.lines.last().map_or("", String::as_str)
    }

    /// Standard error's first `lines` lines, joined by " / " (leaving out
    /// empty lines and Rust's notes on how to see a backtrace).
    pub fn message(&self, lines: usize) -> String {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with("note: "))
            .take(lines)
            .collect();
        lines.join(" / ")
    }
}

/// Runs `program` in a forked child whose standard error goes into a pipe
/// of its own, and watches it from outside for at most `limit`: the lines
/// it logged, what it wrote to standard error, and how it ended. The child
/// leads a process group of its own: a program still running at `limit` is
/// killed with every process it started ([`Ending::Hung`]), and whatever it
/// leaves running when it ends is killed too.
pub fn watch(limit: Duration, program: impl FnOnce(&Log) -> i32) -> Result<Watched> {
    let start = Instant::now();
    let (log_reader, log_writer) = pipe_files()?;
    let (err_reader, err_writer) = pipe_files()?;
    let child = fork_child(|| {
        let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
        close_here(&log_reader);
        close_here(&err_reader);
        // SAFETY: both descriptors are open; dup2 makes fd 2 a copy of the
        // pipe's write end, in this process only.
        unsafe { nix::libc::dup2(err_writer.as_raw_fd(), 2) };
        close_here(&err_writer);
        program(&Log::new(log_writer.try_clone().expect("dup")))
    })?;
    drop((log_writer, err_writer));
    // Also here, so the group exists before anything below may kill it.
    let group = child.pid();
    let _ = setpgid(group, group);
    let [log, err] = read_until_closed([&log_reader, &err_reader], limit)?;
    let left = limit.saturating_sub(start.elapsed()) + Duration::from_millis(100);
    let ending = group_ending_within(child, left)?;
    let text = String::from_utf8_lossy(&log);
    Ok(Watched {
        ending,
        lines: text.lines().map(str::to_string).collect(),
        stderr: String::from_utf8_lossy(&err).to_string(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Reads every pipe until each reaches end-of-file (every write end closed,
/// in every process) or `limit` has passed; what each gave.
pub fn read_until_closed<const N: usize>(
    files: [&File; N],
    limit: Duration,
) -> Result<[Vec<u8>; N]> {
    let start = Instant::now();
    let mut bytes: [Vec<u8>; N] = std::array::from_fn(|_| Vec::new());
    let mut open = [true; N];
    let mut buffer = [0u8; 4096];
    while open.contains(&true)
        && let Some(left) = limit.checked_sub(start.elapsed())
    {
        let which: Vec<usize> = (0..N).filter(|&i| open[i]).collect();
        let mut fds: Vec<PollFd> = which
            .iter()
            .map(|&i| PollFd::new(files[i].as_fd(), PollFlags::POLLIN))
            .collect();
        let millis = left.as_millis().clamp(1, 60_000) as u16;
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) => break,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => return Err(err).context("poll"),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        for (&i, ready) in which.iter().zip(ready) {
            if !ready {
                continue;
            }
            let mut file = files[i];
            match file.read(&mut buffer)? {
                0 => open[i] = false,
                n => bytes[i].extend_from_slice(&buffer[..n]),
            }
        }
    }
    Ok(bytes)
}

/// Reads one line from `file` within `limit` (without its end), or `None`
/// if none came in time. Reads a byte at a time, so nothing after the line
/// is taken from the pipe.
pub fn read_line_within(file: &File, limit: Duration) -> Result<Option<String>> {
    let start = Instant::now();
    let mut line = Vec::new();
    while let Some(left) = limit.checked_sub(start.elapsed()) {
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        let millis = left.as_millis().clamp(1, 60_000) as u16;
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) => break,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => return Err(err).context("poll"),
        }
        let mut byte = [0u8; 1];
        let mut reader = file;
        match reader.read(&mut byte)? {
            0 => break,
            _ if byte[0] == b'\n' => return Ok(Some(String::from_utf8_lossy(&line).into())),
            _ => line.push(byte[0]),
        }
    }
    Ok(None)
}
