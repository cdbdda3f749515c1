//! What the visible and the hidden graded tests share: jobs on a server of
//! their own (which runs here, in the test's process, and counts what your
//! code fetched), timings against one item after another, and `choose`'s
//! answer by name. Your code runs in a child of its own with a deadline
//! (`labkit::testing::apart_within`): a hang fails a test instead of
//! hanging it, and nothing it starts can outlive it.

// Each test file uses a part of this module.
#![allow(dead_code)]

use lab_10::exercises::{Mix, choose};
use lab_10::server::ItemServer;
use lab_10::{Job, rounds_for, sequential};
use labkit::calibrate::{capacity_floor, iterations_for, spin_in_processes};
use labkit::progress::Progress;
use labkit::timing::{Variant, interleave};
use std::cell::{Cell, RefCell};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

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
/// (`server.delay()` is what a server of the same job must wait.)
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

/// `choose`'s answer, by name, for a mix made from these numbers in a child
/// of its own (a value of a type of the exercise's file is never made, or
/// dropped, in the test's own process).
pub fn chosen(wait_s: f64, cpu_s: f64, cores: usize, gil: bool) -> String {
    labkit::testing::apart(move || {
        let mix = Mix {
            wait_s,
            cpu_s,
            cores,
            gil,
        };
        format!("{:?}", choose(&mix))
    })
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
    /// For each run of yours (the warm-up's included), on a server of its
    /// own: the items that server sent, and the most requests it held at once.
    pub runs: Vec<(usize, usize)>,
    /// The parallel capacity of `processes` processes, measured in the same
    /// rounds; `None` with one core.
    pub capacity: Option<f64>,
    /// How many processes the capacity is for.
    pub processes: usize,
}

/// Times `run(job, connections)` against [`sequential`] on `job`,
/// interleaved, `rounds` rounds after one warm-up; with `processes` ≥ 2
/// (and as many cores), the machine's parallel capacity in the same rounds.
/// Every run of yours gets a server of its own, started before the timing
/// with the same `delay` as `job`'s, so that what each run fetched can be
/// counted. Call it in a child.
pub fn speed(
    job: &Job,
    delay: Duration,
    rounds: usize,
    processes: usize,
    connections: usize,
    run: impl Fn(&Job, usize) -> anyhow::Result<lab_10::Digest>,
) -> Speed {
    let expected = job.expected();
    let (mut right, mut error) = (true, None);
    let k = processes
        .min(thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let iterations = iterations_for(0.03);
    let servers = RefCell::new(
        (0..=rounds)
            .map(|_| ItemServer::start(delay).expect("a server for your job starts"))
            .collect::<Vec<_>>(),
    );
    let used = Cell::new(0);
    let result = {
        let (right, error, servers, used) = (&mut right, &mut error, &servers, &used);
        let mut variants = vec![
            Variant::new("sequential", || sequential(job).map(drop)),
            Variant::new("yours", move || {
                let n = used.get();
                used.set(n + 1);
                if n >= servers.borrow().len() {
                    let server = ItemServer::start(delay).expect("a server for your job starts");
                    servers.borrow_mut().push(server);
                }
                let yours = Job {
                    server: servers.borrow()[n].address(),
                    ..*job
                };
                match run(&yours, connections) {
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
    let runs = servers.borrow()[..used.get()]
        .iter()
        .map(|server| (server.served(), server.most_at_once()))
        .collect();
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
        runs,
        capacity,
        processes: k,
    }
}

/// Checks that every run of yours gave the right answer by fetching every
/// item from its own server exactly once, never more than `connections`
/// requests at once: an answer computed without the server, or kept from
/// an earlier run, fails here.
pub fn assert_ran_fairly(speed: &Speed, items: u32, connections: usize) {
    assert!(speed.right, "your job returned a wrong answer");
    assert_eq!(speed.error, None, "your job failed");
    let items = items as usize;
    assert!(!speed.runs.is_empty(), "your job never ran");
    for (run, &(served, most)) in speed.runs.iter().enumerate() {
        assert_eq!(
            served, items,
            "run {run}: the server sent {served} items, the job has {items}: does your job fetch every item, once, from the job's server?"
        );
        assert!(
            (1..=connections).contains(&most),
            "run {run}: the server held {most} of your requests at once, with {connections} connections allowed"
        );
    }
    let served: usize = speed.runs.iter().map(|&(served, _)| served).sum();
    assert_eq!(served, items * speed.runs.len(), "items sent in all");
}

/// Measurements of the speed part before it gives up on a busy machine.
const ATTEMPTS: usize = 3;

/// Measures (`measure`, up to three times) and checks the speed against
/// `share` of the capacity measured beside it. A measurement whose
/// capacity is below the floor is taken again; if all are, the test fails
/// and asks for a re-run: a speed that could not be graded is never a pass.
/// With one core it fails too: the speed part needs two.
pub fn assert_parallel_speedup(
    share: f64,
    items: u32,
    connections: usize,
    measure: impl Fn() -> Speed,
) {
    let mut low = Vec::new();
    for attempt in 1..=ATTEMPTS {
        let speed = measure();
        assert_ran_fairly(&speed, items, connections);
        let Some(capacity) = speed.capacity else {
            panic!(
                "the speed part of this test needs two cores, and it may use only one here: it cannot be graded on this machine"
            );
        };
        let floor = capacity_floor(speed.processes);
        if capacity < floor {
            eprintln!(
                "attempt {attempt} of {ATTEMPTS}: {} processes ran only {capacity:.2}× faster than one while this was measured (grading needs ≥ {floor:.2}×)",
                speed.processes
            );
            low.push(format!("{capacity:.2}×"));
            continue;
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
        return;
    }
    panic!(
        "machine too busy to grade the speed: re-run this test when it is quieter (the capacity was {} in {ATTEMPTS} attempts, below the floor)",
        low.join(", ")
    );
}
