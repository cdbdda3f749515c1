//! Lab 09 exercises. Each starter compiles and falls short; make it right,
//! then check your work with `cargo test -p lab-09 --test exercises`.
//!
//! The tests run your code with deadlines, so a solution that hangs fails
//! a test with a message instead of hanging it — and they check that the
//! work really ran where it should: in child processes you forked and
//! reaped, on threads of your own.
// starter: #![allow(unused_imports, unused_variables, unused_mut, dead_code)]

use anyhow::{Result, bail};
use labkit::child::{Child, fork_child};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How one run of a worker process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited by itself, with this code.
    Exited(i32),
    /// A signal ended it.
    Killed(Signal),
}

/// One run of a supervised worker: the child's pid, and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The child's process id.
    pub pid: Pid,
    /// How it ended, as `waitpid` said.
    pub ended: Ended,
}

// The book shows each exercise's documentation and signature (the anchors
// end before the body, so the solutions are never published).

// ANCHOR: exercise_supervise
/// Exercise 1 — a supervisor that restarts a crashed worker.
///
/// Run `work(attempt)` in a forked child process, for attempt 0, 1, 2, …,
/// one at a time ([`fork_child`]: the child exits with the code `work`
/// returns). Wait for each child. If it exited with code 0, stop; if it
/// exited with another code or a signal ended it, start the next attempt —
/// at most `max_runs` runs in all. A child still running `limit` after it
/// started is killed with `SIGKILL` (and counts as killed by it). Return
/// every run, in order: the child's pid and how it ended, as `waitpid`
/// told you. Leave no child unreaped.
pub fn supervise(work: impl Fn(u32) -> i32, max_runs: u32, limit: Duration) -> Result<Vec<Run>> {
    // ANCHOR_END: exercise_supervise
    // solution:begin
    let mut runs = Vec::new();
    for attempt in 0..max_runs {
        let child = fork_child(|| work(attempt))?;
        let pid = child.pid();
        let started = Instant::now();
        while !child.has_ended() {
            if started.elapsed() >= limit {
                let _ = kill(pid, Signal::SIGKILL);
                break; // the wait below reaps it
            }
            thread::sleep(Duration::from_millis(1));
        }
        let ended = match child.wait()? {
            WaitStatus::Exited(_, code) => Ended::Exited(code),
            WaitStatus::Signaled(_, signal, _) => Ended::Killed(signal),
            other => bail!("child {pid} ended unexpectedly: {other:?}"),
        };
        runs.push(Run { pid, ended });
        if ended == Ended::Exited(0) {
            break;
        }
    }
    Ok(runs)
    // solution:end
    // starter: todo!("fork a child per attempt, wait for it (kill it after `limit`), restart it unless it exited with 0")
}

/// How a computation given a deadline ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It finished: the sum.
    Done(u64),
    /// It was stopped at the deadline, after this many steps.
    Cancelled {
        /// The steps it ran.
        steps: u64,
    },
}

// ANCHOR: exercise_deadline
/// Exercise 2 — a computation that stops in time.
///
/// On a thread of its own, add up `step(i)` for `i` in `0..n` (with
/// `wrapping_add`). If that is done before `deadline` has passed, return
/// `Done(sum)` — as soon as it is done. If not, make the thread stop: a
/// thread cannot be killed, so it must look, between two steps, whether it
/// should. Wait for it to end, and return `Cancelled { steps }`, the number
/// of steps it ran. Never return later than the deadline plus a few
/// milliseconds.
pub fn sum_within(
    n: u64,
    deadline: Duration,
    step: impl Fn(u64) -> u64 + Send + 'static,
) -> Outcome {
    // ANCHOR_END: exercise_deadline
    // solution:begin
    let stop = Arc::new(AtomicBool::new(false));
    let (done, finished) = crossbeam_channel::bounded::<()>(1);
    let worker = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut sum = 0u64;
            for i in 0..n {
                if stop.load(Ordering::Relaxed) {
                    return Outcome::Cancelled { steps: i };
                }
                sum = sum.wrapping_add(step(i));
            }
            let _ = done.send(());
            Outcome::Done(sum)
        })
    };
    // Done, or the deadline: whichever comes first.
    let _ = finished.recv_timeout(deadline);
    stop.store(true, Ordering::Relaxed);
    worker
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    // solution:end
    // starter: // Right sum, wrong everything else: it runs on the caller's
    // starter: // thread, and it never looks at the deadline.
    // starter: Outcome::Done((0..n).map(step).fold(0, u64::wrapping_add))
}

/// What a worker process sends its results through: the write end of a
/// pipe the whole group shares. Each result is one `write` of 8 bytes (a
/// little-endian `u64`), which the kernel never splits or mixes with another
/// worker's — and which is in the pipe, out of the worker's hands, as soon
/// as the call returns.
pub struct ResultSender(File);

impl ResultSender {
    /// Sends one result; it blocks while the pipe is full.
    pub fn send(&self, value: u64) {
        let _ = (&self.0).write_all(&value.to_le_bytes());
    }
}

/// A group of worker processes, made by [`start_group`].
pub struct Group {
    /// The workers, in the order they were started (each must be waited for).
    pub workers: Vec<Child>,
    /// The read end of the pipe the workers send their results into; every
    /// write end is a worker's, so it reaches end-of-file once all have ended.
    pub results: File,
}

// ANCHOR: group_given
/// Given: starts `workers` child processes; child `i` runs `work(i, &sender)`
/// and exits with the code it returns.
pub fn start_group(workers: usize, work: impl Fn(usize, &ResultSender) -> i32) -> Result<Group> {
    let (results, writer) = crate::watch::pipe_files()?;
    let mut children = Vec::new();
    for i in 0..workers {
        children.push(fork_child(|| {
            crate::watch::close_here(&results);
            work(i, &ResultSender(writer.try_clone().expect("dup")))
        })?); // on an error, the workers started so far are killed and reaped
    }
    Ok(Group {
        workers: children,
        results,
    }) // `writer` is closed here: only the workers hold a write end
}
// ANCHOR_END: group_given

/// What a group's shutdown returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStopped {
    /// Every result the workers sent before they ended, in the order read.
    pub results: Vec<u64>,
    /// How each worker ended, as `waitpid` said, in the order they were
    /// started.
    pub endings: Vec<Ended>,
}

// ANCHOR: exercise_group
/// Exercise 3 — shutting down a group of worker processes.
///
/// Ask every worker to stop with `SIGTERM`. Then give them `grace`: wait
/// until every worker has ended or `grace` has passed since the `SIGTERM`,
/// whichever comes first — never longer, and not the whole grace period
/// once they have all ended. `SIGKILL` every worker still running then (and
/// none earlier), and reap every one. Return every result the workers sent
/// before they ended, read from `group.results` until it is closed, and how
/// each worker ended. Read while you wait: a worker that has much to send
/// before it ends blocks on a full pipe until someone reads it.
pub fn shut_down(group: Group, grace: Duration) -> Result<GroupStopped> {
    // ANCHOR_END: exercise_group
    // solution:begin
    let Group { workers, results } = group;
    for worker in &workers {
        let _ = kill(worker.pid(), Signal::SIGTERM);
    }
    let until = Instant::now() + grace;
    let (mut bytes, mut buffer, mut open) = (Vec::new(), [0u8; 4096], true);
    while !workers.iter().all(Child::has_ended)
        && let Some(left) = until.checked_duration_since(Instant::now())
    {
        let wait = left.min(Duration::from_millis(1));
        if !open {
            thread::sleep(wait); // every worker has closed its end
            continue;
        }
        // Read what comes while waiting, a moment at a time.
        let mut fds = [PollFd::new(results.as_fd(), PollFlags::POLLIN)];
        let millis = wait.as_millis().max(1) as u16;
        if poll(&mut fds, PollTimeout::from(millis)).unwrap_or(0) > 0 {
            match (&results).read(&mut buffer)? {
                0 => open = false,
                n => bytes.extend_from_slice(&buffer[..n]),
            }
        }
    }
    for worker in &workers {
        if !worker.has_ended() {
            let _ = kill(worker.pid(), Signal::SIGKILL);
        }
    }
    let mut endings = Vec::new();
    for worker in workers {
        let pid = worker.pid();
        endings.push(match worker.wait()? {
            WaitStatus::Exited(_, code) => Ended::Exited(code),
            WaitStatus::Signaled(_, signal, _) => Ended::Killed(signal),
            other => bail!("worker {pid} ended unexpectedly: {other:?}"),
        });
    }
    // Every write end is closed now: the rest of the pipe, to its end.
    let [rest] = crate::watch::read_until_closed([&results], Duration::from_secs(5))?;
    bytes.extend(rest);
    Ok(GroupStopped {
        results: bytes
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        endings,
    })
    // solution:end
    // starter: todo!("SIGTERM every worker; wait for them (reading the results) until they have ended or `grace` is over; SIGKILL the rest; reap them all")
}
