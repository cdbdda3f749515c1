//! What the visible and the hidden graded tests share: jobs on a server of
//! their own, your code run in a forked child with a deadline (so that a
//! hang fails a test instead of hanging it, and nothing it starts can
//! outlive it), and timings against one item after another.

// Each test file uses a part of this module.
#![allow(dead_code)]

use lab_10::server::ItemServer;
use lab_10::{Job, rounds_for, sequential};
use labkit::calibrate::{capacity_floor, iterations_for, spin_in_processes};
use labkit::child::fork_child;
use labkit::progress::Progress;
use labkit::timing::{Variant, interleave};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, setpgid};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Generous: the solutions take a few seconds at most.
pub const LIMIT: Duration = Duration::from_secs(25);

/// The tests run one at a time: a timing must not share the cores with
/// another test, and a child must not be forked while another test's
/// thread holds a lock (the panic hook's, say) it would inherit held.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A server and a job of `items` items on it, each taking `item_ms`
/// milliseconds alone: `io_share` of it waiting for the server, the rest
/// hashing (sized on this machine).
pub fn job(io_share: f64, items: u32, item_ms: f64) -> (ItemServer, Job) {
    let item_s = item_ms / 1e3;
    let server = ItemServer::start(Duration::from_secs_f64(io_share * item_s))
        .expect("the item server starts");
    let job = Job {
        server: server.address(),
        items,
        rounds: rounds_for((1.0 - io_share) * item_s),
    };
    (server, job)
}

/// Runs `work` in a forked child that leads a process group of its own and
/// returns what it returned, or why there is nothing: a panic (a `todo!`),
/// or no answer within `limit` — then the child and everything it started
/// are killed.
pub fn in_child<T: Serialize + DeserializeOwned>(
    limit: Duration,
    work: impl FnOnce() -> T,
) -> Result<T, String> {
    let (reader, writer) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
    let child = fork_child(move || {
        let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
        let mut line = serde_json::to_string(&work()).expect("a value to send");
        line.push('\n');
        i32::from(File::from(writer).write_all(line.as_bytes()).is_err())
    })
    .map_err(|e| format!("fork failed: {e:#}"))?;
    let pid = child.pid();
    let _ = setpgid(pid, pid);
    let (sender, answer) = mpsc::channel();
    // A line, not the end of the pipe: a process the work left running
    // would hold a copy of its write end.
    let reading = thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(File::from(reader)).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = answer.recv_timeout(limit);
    let until = Instant::now() + Duration::from_secs(5);
    while line.is_ok() && !child.has_ended() && Instant::now() < until {
        thread::sleep(Duration::from_millis(5));
    }
    // Whatever is left of the group — the child itself if it hung, anything
    // it started and left running — is killed, and the child reaped.
    let _ = killpg(pid, Signal::SIGKILL);
    let status = child.wait().map_err(|e| format!("{e:#}"))?;
    let _ = reading.join();
    match line {
        Err(_) => Err(format!(
            "no answer within {limit:?}: killed (a deadlock? a wait without end?)"
        )),
        Ok(line) if line.is_empty() => Err(format!(
            "the child ended without an answer ({status:?}): did the code panic? (a `todo!` does)"
        )),
        Ok(line) => serde_json::from_str(&line).map_err(|e| format!("a garbled answer: {e}")),
    }
}

/// How `run` compared with one item after another, measured in a child.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Speed {
    /// Median of the per-round ratios: sequential ÷ yours.
    pub speedup: f64,
    /// Whether every run gave the right answer.
    pub right: bool,
    /// What went wrong, if anything did.
    pub error: Option<String>,
    /// The parallel capacity of `processes` processes, measured in the same
    /// rounds; `None` with one core.
    pub capacity: Option<f64>,
    /// How many processes the capacity is for.
    pub processes: usize,
}

/// Times `run` against [`sequential`] on `job`, interleaved, `rounds`
/// rounds after one warm-up; with `processes` ≥ 2 (and as many cores),
/// the machine's parallel capacity in the same rounds. Call it in a child.
pub fn speed(
    job: &Job,
    rounds: usize,
    processes: usize,
    run: impl Fn(&Job) -> anyhow::Result<lab_10::Digest>,
) -> Speed {
    let expected = job.expected();
    let (mut right, mut error) = (true, None);
    let k = processes
        .min(thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let iterations = iterations_for(0.03);
    let result = {
        let (right, error) = (&mut right, &mut error);
        let mut variants = vec![
            Variant::new("sequential", || sequential(job).map(drop)),
            Variant::new("yours", move || {
                match run(job) {
                    Ok(digest) if digest == expected => {}
                    Ok(_) => *right = false,
                    Err(e) => *error = Some(format!("{e:#}")),
                }
                Ok(())
            }),
        ];
        if k >= 2 {
            variants.push(Variant::new("alone", || spin_in_processes(1, iterations)));
            variants.push(Variant::new("together", || {
                spin_in_processes(k, iterations)
            }));
        }
        interleave(rounds, 1, &mut variants, &Progress::silent())
    };
    let times = result.expect("the timing runs");
    let capacity = (k >= 2).then(|| {
        let ratios: Vec<f64> = times
            .seconds("alone")
            .iter()
            .zip(times.seconds("together"))
            .map(|(alone, together)| k as f64 * alone / together)
            .collect();
        labkit::stats::Summary::of(&ratios).expect("rounds").median
    });
    Speed {
        speedup: times.speedup("sequential", "yours").median,
        right,
        error,
        capacity,
        processes: k,
    }
}

/// Checks `speed` against `share` of the capacity measured beside it, or
/// says why the machine cannot tell (one core, or too little capacity
/// right now): the speed part is then skipped, with that message.
pub fn assert_parallel_speedup(speed: &Speed, share: f64) {
    assert!(speed.right, "your job returned a wrong answer");
    assert_eq!(speed.error, None, "your job failed");
    let Some(capacity) = speed.capacity else {
        eprintln!("skipped the speed target: one core cannot run two things at once");
        return;
    };
    let floor = capacity_floor(speed.processes);
    if capacity < floor {
        eprintln!(
            "skipped the speed target: {} processes ran only {capacity:.2}× faster than one while this was measured (a test needs ≥ {floor:.2}×)",
            speed.processes
        );
        return;
    }
    let target = share * capacity;
    eprintln!(
        "{:.2}× faster than one item after another; capacity {capacity:.2}×, target ≥ {target:.2}×",
        speed.speedup
    );
    assert!(
        speed.speedup >= target,
        "{:.2}× faster than one item after another; this machine's capacity of {capacity:.2}× asks for ≥ {target:.2}× ({:.0}% of it): is the hashing really on several cores?",
        speed.speedup,
        share * 100.0
    );
}
