//! What lab 09's graded tests share: running the code under test in a
//! process of its own with a deadline (`apart_within`), the tests' own
//! workers, which record what really ran (which process, whose child, when
//! it ended), so that an answer cannot be made up, and the answers as plain
//! data to send back from the test's child.

// Each test file uses a part of this module.
#![allow(dead_code)]

use lab_09::exercises::{Ended as TheirEnded, Outcome as TheirOutcome};
use lab_09::exercises::{ResultSender, shut_down, start_group, supervise};
use labkit::memory::Mapping;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use serde_json::{Value, json};
use std::fs::File;
use std::io::{Read, Write};
use std::ops::Range;
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Generous: the solutions take well under a second.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Generous deadlines for the code under test, run in a test's child.
pub use labkit::testing::apart_within;

/// Everything in the pipe now, without waiting for more — and without
/// waiting for its end, which a write end inherited by another test's
/// child (tests fork in parallel) could hold off for as long as that child
/// lives.
pub fn drain(file: &File) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(n) if n > 0 => {}
            Err(Errno::EINTR) => continue,
            _ => return bytes,
        }
        let mut reader = file;
        match reader.read(&mut buffer) {
            Ok(n) if n > 0 => bytes.extend_from_slice(&buffer[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            _ => return bytes,
        }
    }
}

/// A pidfd for `pid` (Linux 5.3+): readable once the process has ended.
/// Built without an error value on purpose: in a child forked from the
/// multi-threaded test process, capturing a backtrace for an error could
/// wait forever for a lock another test's thread held at the fork.
fn pidfd(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a descriptor just opened, owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Waits until the process of `pidfd` has ended, for at most `limit`;
/// when it was seen to have ended.
fn ended_within(pidfd: &OwnedFd, limit: Duration) -> Option<Instant> {
    let start = Instant::now();
    while let Some(left) = limit.checked_sub(start.elapsed()) {
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        let millis = left.as_millis().clamp(1, 60_000) as u16;
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(n) if n > 0 => return Some(Instant::now()),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
    None
}

/// Whether this process has a child left, reaped or not (none: `ECHILD`).
pub fn a_child_is_left() -> bool {
    waitpid(None, Some(WaitPidFlag::WNOHANG)) != Err(Errno::ECHILD)
}

/// How a run ended, as the test's own data. The exercise's `Ended` (and
/// `Outcome`) are never made in the test's process: their `PartialEq` and
/// `Debug` are written in the exercise's file, and would run there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Killed(Signal),
}

/// How a sum with a deadline ended, as the test's own data (see [`Ended`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done(u64),
    Cancelled { steps: u64 },
}

/// In the test's child: how a run ended, as JSON.
fn ended_json(ended: TheirEnded) -> Value {
    match ended {
        TheirEnded::Exited(code) => json!(["exited", code]),
        TheirEnded::Killed(signal) => json!(["killed", signal as i32]),
    }
}

fn ended_from(value: &Value) -> Ended {
    let number = value[1].as_i64().expect("a number") as i32;
    match value[0].as_str() {
        Some("exited") => Ended::Exited(number),
        _ => Ended::Killed(Signal::try_from(number).expect("a signal")),
    }
}

fn numbers(value: &Value) -> Vec<u64> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

// ---- Exercise 1: supervise ----

/// What a supervised worker wrote itself as it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub pid: i32,
    /// Its parent: the process that forked it.
    pub parent: i32,
    /// The attempt it was given.
    pub attempt: u32,
}

/// The write end of a pipe into which the supervised workers write who they
/// are: what the supervisor reports must match what the children themselves
/// said. It is made in the child that runs the supervisor, so no other
/// test's process holds an end of it.
struct PidPipe(File);

impl PidPipe {
    /// In a worker child: writes its pid, its parent's and its attempt, in
    /// one write.
    fn report(&self, attempt: u32) {
        let mut record = [0u8; 12];
        record[..4].copy_from_slice(&(std::process::id() as i32).to_le_bytes());
        record[4..8].copy_from_slice(&nix::unistd::getppid().as_raw().to_le_bytes());
        record[8..].copy_from_slice(&attempt.to_le_bytes());
        let _ = (&self.0).write_all(&record);
    }
}

/// Reads the workers' reports as they come and watches each reporting
/// worker through a pidfd: until `stop` is set, then what is left. Returns
/// the reports and, for each, when it was seen to end (`None` if it was
/// reaped before it could be watched).
fn watch_workers(
    reader: File,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<(Vec<Report>, Vec<Option<Instant>>)> {
    thread::spawn(move || {
        let (mut reports, mut ended) = (Vec::new(), Vec::new());
        let mut watched: Vec<(usize, OwnedFd)> = Vec::new();
        let mut pending = Vec::new();
        let mut last_round = false;
        loop {
            let mut fds = vec![PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
            fds.extend(
                watched
                    .iter()
                    .map(|(_, fd)| PollFd::new(fd.as_fd(), PollFlags::POLLIN)),
            );
            let timeout = if last_round { 0u16 } else { 1 };
            let _ = poll(&mut fds, PollTimeout::from(timeout));
            let now = Instant::now();
            let dead: Vec<bool> = fds[1..]
                .iter()
                .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            for (k, _) in dead.iter().enumerate().filter(|(_, d)| **d).rev() {
                let (i, _) = watched.remove(k);
                ended[i] = Some(now);
            }
            pending.extend(drain(&reader));
            while pending.len() >= 12 {
                let record: Vec<u8> = pending.drain(..12).collect();
                let word = |k: usize| i32::from_le_bytes(record[k..k + 4].try_into().unwrap());
                let report = Report {
                    pid: word(0),
                    parent: word(4),
                    attempt: word(8) as u32,
                };
                ended.push(None);
                if let Some(fd) = pidfd(report.pid) {
                    watched.push((reports.len(), fd));
                }
                reports.push(report);
            }
            if last_round {
                return (reports, ended);
            }
            last_round = stop.load(Ordering::SeqCst);
        }
    })
}

/// What a supervisor did, and what its children said themselves.
#[derive(Debug)]
pub struct Supervised {
    /// The runs `supervise` returned: (pid, how it ended).
    pub runs: Vec<(i32, Ended)>,
    /// What the workers reported themselves, in order.
    pub reports: Vec<Report>,
    /// When each reporting worker was seen to end, from the moment
    /// `supervise` was called.
    pub ended_after: Vec<Option<Duration>>,
    /// The process that ran `supervise`.
    pub supervisor: i32,
    /// Runs whose process still existed when `supervise` returned.
    pub not_reaped: Vec<i32>,
    /// Whether that process had any child left then.
    pub child_left: bool,
    /// How long `supervise` took.
    pub seconds: Duration,
    /// The pids the kernel handed out meanwhile (None if they wrapped).
    pub forked: Option<Range<i32>>,
}

/// Runs `supervise` in a child process of its own, with a worker that
/// reports who it is and then does what `behave(attempt)` does.
pub fn supervised(max_runs: u32, limit: Duration, behave: fn(u32) -> i32) -> Supervised {
    let (answer, forked) = labkit::testing::forked_during(|| {
        apart_within(LIMIT, move || {
            let (reader, writer) = lab_09::watch::pipe_files().expect("pipe");
            let pipe = PidPipe(writer);
            let stop = Arc::new(AtomicBool::new(false));
            let watcher = watch_workers(reader, Arc::clone(&stop));
            let called = Instant::now();
            let runs = supervise(
                |attempt| {
                    pipe.report(attempt);
                    behave(attempt)
                },
                max_runs,
                limit,
            );
            let seconds = called.elapsed();
            let child_left = a_child_is_left();
            drop(pipe);
            stop.store(true, Ordering::SeqCst);
            let (reports, ended) = watcher.join().expect("the watcher");
            let runs = match runs {
                Ok(runs) => runs,
                Err(err) => return json!({ "error": format!("{err:#}") }),
            };
            let not_reaped: Vec<i32> = runs
                .iter()
                .map(|r| r.pid)
                .filter(|&pid| labkit::child::exists(pid))
                .map(Pid::as_raw)
                .collect();
            let runs: Vec<Value> = runs
                .iter()
                .map(|r| json!([r.pid.as_raw(), ended_json(r.ended)]))
                .collect();
            let reports: Vec<Value> = reports
                .iter()
                .map(|r| json!([r.pid, r.parent, r.attempt]))
                .collect();
            let ended_after: Vec<Option<u64>> = ended
                .iter()
                .map(|e| e.map(|t| t.saturating_duration_since(called).as_nanos() as u64))
                .collect();
            json!({
                "runs": runs,
                "reports": reports,
                "ended_after_ns": ended_after,
                "supervisor": std::process::id(),
                "not_reaped": not_reaped,
                "child_left": child_left,
                "seconds": seconds.as_secs_f64(),
            })
        })
    });
    if let Some(error) = answer["error"].as_str() {
        panic!("supervise returned an error: {error}");
    }
    let int = |v: &Value| v.as_i64().expect("a number") as i32;
    Supervised {
        runs: answer["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|r| (int(&r[0]), ended_from(&r[1])))
            .collect(),
        reports: answer["reports"]
            .as_array()
            .expect("reports")
            .iter()
            .map(|r| Report {
                pid: int(&r[0]),
                parent: int(&r[1]),
                attempt: int(&r[2]) as u32,
            })
            .collect(),
        ended_after: answer["ended_after_ns"]
            .as_array()
            .expect("ended")
            .iter()
            .map(|e| e.as_u64().map(Duration::from_nanos))
            .collect(),
        supervisor: int(&answer["supervisor"]),
        not_reaped: answer["not_reaped"]
            .as_array()
            .expect("not_reaped")
            .iter()
            .map(int)
            .collect(),
        child_left: answer["child_left"].as_bool().expect("child_left"),
        seconds: Duration::from_secs_f64(answer["seconds"].as_f64().expect("seconds")),
        forked,
    }
}

/// The runs are real: each pid is that of a child of the supervisor that
/// ran the worker (it wrote its pid, its parent's and its attempt itself),
/// the attempts were 0, 1, 2, … in order, each was forked during the call,
/// and every child was reaped before `supervise` returned.
pub fn assert_real(supervised: &Supervised) {
    let pids: Vec<i32> = supervised.runs.iter().map(|r| r.0).collect();
    let reported: Vec<i32> = supervised.reports.iter().map(|r| r.pid).collect();
    assert_eq!(
        pids, reported,
        "the pids returned are not those the children reported"
    );
    for (n, report) in supervised.reports.iter().enumerate() {
        assert_eq!(
            report.parent, supervised.supervisor,
            "run {n} (pid {}) is not a child of the process that called supervise",
            report.pid
        );
        assert_ne!(
            report.pid, supervised.supervisor,
            "run {n} ran on the caller, not in a child"
        );
        assert_eq!(
            report.attempt, n as u32,
            "run {n} was given the wrong attempt"
        );
        if let Some(range) = &supervised.forked {
            assert!(
                range.contains(&report.pid),
                "pid {} was not forked by this call",
                report.pid
            );
        }
    }
    assert!(
        supervised.not_reaped.is_empty(),
        "children {:?} were not reaped (zombies, or still running) when supervise returned",
        supervised.not_reaped
    );
    assert!(
        !supervised.child_left,
        "a child was left unreaped when supervise returned"
    );
}

/// How each run ended, as `supervise` said.
pub fn endings(supervised: &Supervised) -> Vec<Ended> {
    supervised.runs.iter().map(|r| r.1).collect()
}

/// In a worker child: no core file for the crash to come.
pub fn about_to_crash() {
    lab_09::crash::no_core_dumps();
}

// ---- Exercise 3: shutting down a group of worker processes ----

/// What a test's worker process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behave {
    /// Sends a result every millisecond; `SIGTERM` ends it at once.
    Prompt,
    /// Catches `SIGTERM`; then works half the grace period more, sends one
    /// last result, and exits with 0.
    Slow,
    /// Ignores `SIGTERM` and sends a result every millisecond, for good.
    Stubborn,
    /// Catches `SIGTERM`; then sends `CHATTY` results at once — more than a
    /// pipe holds — and exits with 0.
    Chatty,
}

/// What a chatty worker sends once asked to stop.
pub const CHATTY: u64 = 12_000;
/// The results of worker `i` are `i * PER_WORKER + k`, for k = 0, 1, 2, …
pub const PER_WORKER: u64 = 1_000_000;

static TERM: AtomicBool = AtomicBool::new(false);

extern "C" fn on_term(_: nix::libc::c_int) {
    TERM.store(true, Ordering::SeqCst);
}

/// How many results each worker has sent — counted by the worker after each
/// `send` returned, in memory shared with the test.
struct Sent(Mapping);

impl Sent {
    fn new(workers: usize) -> Sent {
        Sent(Mapping::shared(8 * workers.max(1)).expect("a shared mapping"))
    }

    fn of(&self, i: usize) -> &AtomicU64 {
        assert!(8 * (i + 1) <= self.0.len());
        // SAFETY: the mapping is page-aligned, large enough, lives as long
        // as `self`, and is only ever accessed through atomics.
        unsafe { &*self.0.as_ptr().cast::<AtomicU64>().add(i) }
    }
}

/// A test's worker: worker `i` behaving as `behave`.
fn worker(behave: Behave, i: usize, sender: &ResultSender, sent: &Sent, grace: Duration) -> i32 {
    let handler = match behave {
        Behave::Prompt => SigHandler::SigDfl,
        Behave::Stubborn => SigHandler::SigIgn,
        Behave::Slow | Behave::Chatty => SigHandler::Handler(on_term),
    };
    let action = SigAction::new(handler, SaFlags::SA_RESTART, SigSet::empty());
    // SAFETY: the handler only stores into an atomic.
    if unsafe { sigaction(Signal::SIGTERM, &action) }.is_err() {
        return 2;
    }
    let count = sent.of(i);
    let send = |k: u64| {
        sender.send(i as u64 * PER_WORKER + k);
        count.store(k + 1, Ordering::SeqCst);
    };
    let mut k = 0;
    while !TERM.load(Ordering::SeqCst) {
        if k >= 30_000 {
            return 3; // half a minute: something went wrong, end anyway
        }
        send(k);
        k += 1;
        thread::sleep(Duration::from_millis(1));
    }
    match behave {
        Behave::Slow => {
            thread::sleep(grace / 2);
            send(k);
        }
        _ => (k..k + CHATTY).for_each(send),
    }
    0
}

/// What a group's shutdown did, seen from outside.
#[derive(Debug)]
pub struct GroupRun {
    /// The results `shut_down` returned.
    pub results: Vec<u64>,
    /// How it said each worker ended.
    pub endings: Vec<Ended>,
    /// How many results each worker had sent (and counted) when it ended.
    pub sent: Vec<u64>,
    /// From the stop until `shut_down` returned.
    pub took: Duration,
    /// From the stop until each worker was seen to end.
    pub ended_after: Vec<Option<Duration>>,
    /// Whether a child was left unreaped when `shut_down` returned.
    pub child_left: bool,
}

/// Starts a group with a worker per entry of `behaviours`, waits until each
/// has sent a result (its SIGTERM handling in place), lets them work
/// `running`, and shuts the group down with `grace` — all in a child
/// process of its own.
pub fn group_run(behaviours: &'static [Behave], running: Duration, grace: Duration) -> GroupRun {
    let answer = apart_within(LIMIT, move || {
        let n = behaviours.len();
        let sent = Sent::new(n);
        let group = match start_group(n, |i, sender| {
            worker(behaviours[i], i, sender, &sent, grace)
        }) {
            Ok(group) => group,
            Err(err) => return json!({ "error": format!("start_group: {err:#}") }),
        };
        let watchers: Vec<_> = group
            .workers
            .iter()
            .map(|w| {
                let fd = pidfd(w.pid().as_raw());
                thread::spawn(move || fd.and_then(|fd| ended_within(&fd, LIMIT / 2)))
            })
            .collect();
        let ready = Instant::now();
        while (0..n).any(|i| sent.of(i).load(Ordering::SeqCst) == 0) {
            if ready.elapsed() > Duration::from_secs(5) {
                return json!({ "error": "the test's workers did not start" });
            }
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(running);
        let asked = Instant::now();
        let stopped = shut_down(group, grace);
        let took = asked.elapsed();
        let child_left = a_child_is_left();
        let stopped = match stopped {
            Ok(stopped) => stopped,
            Err(err) => return json!({ "error": format!("shut_down: {err:#}") }),
        };
        let ended_after: Vec<Option<u64>> = watchers
            .into_iter()
            .map(|w| {
                w.join()
                    .ok()
                    .flatten()
                    .map(|t| t.saturating_duration_since(asked).as_nanos() as u64)
            })
            .collect();
        let endings: Vec<Value> = stopped.endings.iter().map(|&e| ended_json(e)).collect();
        let counts: Vec<u64> = (0..n).map(|i| sent.of(i).load(Ordering::SeqCst)).collect();
        json!({
            "results": stopped.results,
            "endings": endings,
            "sent": counts,
            "took_ns": took.as_nanos() as u64,
            "ended_after_ns": ended_after,
            "child_left": child_left,
        })
    });
    if let Some(error) = answer["error"].as_str() {
        panic!("{error}");
    }
    GroupRun {
        results: numbers(&answer["results"]),
        endings: answer["endings"]
            .as_array()
            .expect("endings")
            .iter()
            .map(ended_from)
            .collect(),
        sent: numbers(&answer["sent"]),
        took: Duration::from_nanos(answer["took_ns"].as_u64().expect("took")),
        ended_after: answer["ended_after_ns"]
            .as_array()
            .expect("ended")
            .iter()
            .map(|e| e.as_u64().map(Duration::from_nanos))
            .collect(),
        child_left: answer["child_left"].as_bool().expect("child_left"),
    }
}

/// Every result is one a worker sent, once only; every result a worker
/// sent (and counted) before it ended is there; every worker was reaped.
pub fn assert_every_result_kept(run: &GroupRun) {
    let workers = run.sent.len();
    assert_eq!(run.endings.len(), workers, "one ending per worker");
    assert!(!run.child_left, "a worker was left unreaped");
    let mut results = run.results.clone();
    results.sort_unstable();
    let count = results.len();
    results.dedup();
    assert_eq!(results.len(), count, "a result came back twice");
    for &value in &results {
        let (i, k) = ((value / PER_WORKER) as usize, value % PER_WORKER);
        // A worker killed between a send and its count sent one more.
        assert!(
            i < workers && k <= run.sent[i],
            "{value} is no result a worker sent"
        );
    }
    for (i, &sent) in run.sent.iter().enumerate() {
        let kept = (0..sent)
            .filter(|k| results.binary_search(&(i as u64 * PER_WORKER + k)).is_ok())
            .count() as u64;
        assert_eq!(
            kept,
            sent,
            "worker {i} sent {sent} results before it ended: {} of them are missing",
            sent - kept
        );
    }
}

/// Every worker marked `killed` ended no earlier than `grace` after the
/// stop; no other worker was killed with `SIGKILL`.
pub fn assert_killed_after_grace(run: &GroupRun, killed: &[bool], grace: Duration) {
    for (i, &kill) in killed.iter().enumerate() {
        if kill {
            let after = run.ended_after[i].expect("the worker was watched to its end");
            assert!(
                after >= grace,
                "worker {i} was killed {after:?} after the SIGTERM, before its grace period of {grace:?} was over"
            );
        } else {
            assert_ne!(
                run.endings[i],
                Ended::Killed(Signal::SIGKILL),
                "worker {i} was killed, though it ended within the grace period"
            );
        }
    }
}

// ---- Exercise 2: a sum with a deadline ----

/// The exercise's outcome as plain data, to send back from a test's child:
/// whether it was done, and its sum or the steps that ran.
pub fn sent_outcome(outcome: TheirOutcome) -> (bool, u64) {
    match outcome {
        TheirOutcome::Done(sum) => (true, sum),
        TheirOutcome::Cancelled { steps } => (false, steps),
    }
}

/// The [`Outcome`] that [`sent_outcome`] sent.
pub fn received_outcome((done, number): (bool, u64)) -> Outcome {
    if done {
        Outcome::Done(number)
    } else {
        Outcome::Cancelled { steps: number }
    }
}
