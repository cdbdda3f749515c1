//! Lab 10 — choose the model by measuring.
//!
//! Read this file top to bottom like the chapter. The earlier labs measured
//! one thing at a time: what a thread and a process cost (02), what passing
//! data costs (03), what the GIL forbids (04), how many workers help (05),
//! what a pool saves (06). The seed articles end in a rule of thumb —
//! threads for I/O, processes for CPU. This lab puts it to work on one
//! realistic job: fetch N items from a local server that answers after a
//! delay, hash each one many times, combine the digests. The job runs one
//! item after another, on a thread per item, on a process per item, in lab
//! 06's thread pool and process pool, in rayon, and in a hybrid (threads
//! wait, rayon hashes) — and in CPython's equivalents, in the same rounds —
//! for three mixes: mostly waiting, balanced, mostly computing. A small
//! model predicts every time from costs measured in the same rounds (so it
//! explains the times from their parts rather than foretelling them).

pub mod exercises;
pub mod model;
pub mod server;

use anyhow::{Context as _, Result, ensure};
use lab_06::process_pool::{PoolOptions, ProcessPool, Registry};
use lab_06::thread_pool::ThreadPool;
use labkit::child::fork_child;
use labkit::measured::per_round_ratio;
use labkit::python::{Python, PythonRounds, SCRIPT_LIMIT};
use labkit::stats::Summary;
use labkit::timing::{Interleaved, Variant, time};
use labkit::{Check, Claim, Collector, Context, Experiment, Lab, LabOption, Measured, Unit};
use model::{Costs, Shape, predict};
use nix::unistd::pipe;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use server::{ItemServer, fetch, item_bytes};
use sha2::{Digest as _, Sha256};
use std::cell::RefCell;
use std::fs::File;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// The digest of nothing combined: where every aggregate starts.
pub const ZERO: Digest = [0; 32];

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest {
    let mut digest = ZERO;
    digest.copy_from_slice(&Sha256::digest(bytes));
    digest
}

// ANCHOR: job
/// The CPU-heavy part: SHA-256 of the item, then `rounds` more times of the
/// digest — a chain, so no round can start before the one before it ends.
pub fn transform(item: &[u8], rounds: u32) -> Digest {
    let mut digest = sha256(item);
    for _ in 0..rounds {
        digest = sha256(&digest);
    }
    digest
}

/// The aggregation: the XOR of the digests. It does not care in which
/// order the items finish, so every model may hand them back as they come.
pub fn combine(total: Digest, digest: Digest) -> Digest {
    std::array::from_fn(|i| total[i] ^ digest[i])
}

/// One item from start to finish: wait for it, then hash it.
pub fn process_item(server: SocketAddr, index: u32, rounds: u32) -> Result<Digest> {
    let item = fetch(server, index)?;
    Ok(transform(&item, rounds))
}
// ANCHOR_END: job

/// A job: items `0..items` from `server`, each hashed `rounds` more times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Where the items come from.
    pub server: SocketAddr,
    /// How many items.
    pub items: u32,
    /// Hash rounds per item (beyond the first hash).
    pub rounds: u32,
}

impl Job {
    /// The answer every model must give, computed here from the items'
    /// bytes, without the server: each run is checked against it.
    pub fn expected(&self) -> Digest {
        (0..self.items)
            .map(|index| transform(&item_bytes(index), self.rounds))
            .fold(ZERO, combine)
    }
}

/// A digest in hexadecimal, as CPython prints it.
pub fn hex(digest: &Digest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hash rounds per second on this machine: the fastest of a few short
/// tries, measured once per process.
pub fn hash_rate() -> f64 {
    static RATE: OnceLock<f64> = OnceLock::new();
    *RATE.get_or_init(|| {
        let item = item_bytes(0);
        std::hint::black_box(transform(&item, 2_000));
        let probe = 20_000;
        (0..5)
            .map(|_| {
                let (seconds, _) = time(|| std::hint::black_box(transform(&item, probe)));
                f64::from(probe) / seconds.max(1e-9)
            })
            .fold(0.0, f64::max)
    })
}

/// Hash rounds that take about `seconds` here.
pub fn rounds_for(seconds: f64) -> u32 {
    (seconds * hash_rate())
        .round()
        .clamp(0.0, f64::from(u32::MAX)) as u32
}

// ANCHOR: sequential
/// One item after another: every wait and every hash in turn.
pub fn sequential(job: &Job) -> Result<Digest> {
    let mut total = ZERO;
    for index in 0..job.items {
        total = combine(total, process_item(job.server, index, job.rounds)?);
    }
    Ok(total)
}
// ANCHOR_END: sequential

// ANCHOR: threads
/// `work(i)` for every item on a thread of its own; the digests combined.
pub fn spawn_per_item(items: u32, work: impl Fn(u32) -> Result<Digest> + Sync) -> Result<Digest> {
    let work = &work;
    thread::scope(|scope| {
        let threads: Vec<_> = (0..items)
            .map(|index| scope.spawn(move || work(index)))
            .collect();
        threads.into_iter().try_fold(ZERO, |total, thread| {
            let digest = thread.join().expect("an item's thread panicked")?;
            Ok(combine(total, digest))
        })
    })
}

/// A thread per item: every item waits at the same time; the hashing
/// shares the cores.
pub fn thread_per_item(job: &Job) -> Result<Digest> {
    spawn_per_item(job.items, |index| {
        process_item(job.server, index, job.rounds)
    })
}
// ANCHOR_END: threads

// ANCHOR: processes
/// `work(i)` for every item in a forked child of its own, which sends its
/// digest back through a pipe; the digests combined.
pub fn fork_per_item(items: u32, work: impl Fn(u32) -> Result<Digest>) -> Result<Digest> {
    let work = &work;
    let mut children = Vec::with_capacity(items as usize);
    for index in 0..items {
        let (reader, writer) = pipe().context("pipe failed")?;
        let child = fork_child(move || match work(index) {
            Ok(digest) => i32::from(File::from(writer).write_all(&digest).is_err()),
            Err(_) => 2,
        })?;
        children.push((child, File::from(reader)));
    }
    // Should anything below fail, the children not yet waited for are
    // killed and reaped when `children` is dropped.
    let mut total = ZERO;
    for (child, mut reader) in children {
        let mut digest = ZERO;
        reader
            .read_exact(&mut digest)
            .context("a child ended without its digest")?;
        child.wait_success()?;
        total = combine(total, digest);
    }
    Ok(total)
}

/// A process per item: the same, in forked children.
pub fn process_per_item(job: &Job) -> Result<Digest> {
    fork_per_item(job.items, |index| {
        process_item(job.server, index, job.rounds)
    })
}
// ANCHOR_END: processes

/// The name under which lab 06's process pool knows [`item_task`].
pub const ITEM_TASK: &str = "item";

/// What a process pool's worker needs for one item: the workers were forked
/// before the job's closure existed, so they get a task's name and these
/// bytes instead.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Task {
    /// Where the item comes from.
    pub server: SocketAddr,
    /// Which item.
    pub index: u32,
    /// Hash rounds.
    pub rounds: u32,
}

/// One item, as a process pool's task: the error travels as text.
pub fn item_task(task: Task) -> Result<Digest, String> {
    process_item(task.server, task.index, task.rounds).map_err(|e| format!("{e:#}"))
}

// ANCHOR: pools
/// Lab 06's thread pool: its threads take the items one by one.
pub fn in_thread_pool(job: &Job, pool: &ThreadPool) -> Result<Digest> {
    let (server, rounds) = (job.server, job.rounds);
    let results = pool.map(
        move |index| {
            item_task(Task {
                server,
                index,
                rounds,
            })
        },
        0..job.items,
    );
    results.into_iter().try_fold(ZERO, |total, result| {
        let digest = result?.map_err(anyhow::Error::msg)?;
        Ok(combine(total, digest))
    })
}

/// Lab 06's process pool: its forked workers run the registered task by
/// name, the task's bytes in and the digest back through pipes.
pub fn in_process_pool(job: &Job, pool: &mut ProcessPool) -> Result<Digest> {
    let tasks: Vec<Task> = (0..job.items)
        .map(|index| Task {
            server: job.server,
            index,
            rounds: job.rounds,
        })
        .collect();
    let results = pool.map::<Task, Result<Digest, String>>(ITEM_TASK, &tasks, 1)?;
    results.into_iter().try_fold(ZERO, |total, result| {
        let digest = result?.map_err(anyhow::Error::msg)?;
        Ok(combine(total, digest))
    })
}
// ANCHOR_END: pools

/// The process pool's registry: this lab's one task.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.register(ITEM_TASK, item_task);
    registry
}

// ANCHOR: rayon
/// rayon: its threads (as many as it was built with) take the items by
/// work-stealing — and sit blocked while an item waits.
pub fn in_rayon(job: &Job, pool: &rayon::ThreadPool) -> Result<Digest> {
    pool.install(|| {
        (0..job.items)
            .into_par_iter()
            .with_max_len(1)
            .map(|index| process_item(job.server, index, job.rounds))
            .try_reduce(|| ZERO, |a, b| Ok(combine(a, b)))
    })
}
// ANCHOR_END: rayon

// ANCHOR: hybrid
/// The hybrid: a thread per item waits for its item, and hands it to
/// `hashers`, a rayon pool of as many threads as there are cores to hash
/// on: the waits all overlap, and the hashing never has more threads than cores.
pub fn hybrid(job: &Job, hashers: &rayon::ThreadPool) -> Result<Digest> {
    spawn_per_item(job.items, |index| {
        let item = fetch(job.server, index)?; // this thread waits...
        Ok(hashers.install(|| transform(&item, job.rounds))) // ...a rayon thread hashes
    })
}
// ANCHOR_END: hybrid

/// The ways this lab runs the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    /// One item after another.
    Sequential,
    /// A thread per item.
    ThreadPerItem,
    /// A forked process per item.
    ProcessPerItem,
    /// Lab 06's thread pool, CPython's default size.
    ThreadPool,
    /// Lab 06's process pool, `--workers` processes.
    ProcessPool,
    /// rayon, `--workers` threads.
    Rayon,
    /// A thread per item waits, rayon's `--workers` threads hash.
    Hybrid,
}

/// The sizes of the pools a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Threads of the thread pool.
    pub thread_pool: usize,
    /// Processes of the process pool; threads of rayon's pool (and the hybrid's hashers).
    pub workers: usize,
}

impl Implementation {
    /// Every implementation, sequential first.
    pub const ALL: [Implementation; 7] = [
        Implementation::Sequential,
        Implementation::ThreadPerItem,
        Implementation::ProcessPerItem,
        Implementation::ThreadPool,
        Implementation::ProcessPool,
        Implementation::Rayon,
        Implementation::Hybrid,
    ];

    /// Its name in metrics: `threads`, `process_pool`, …
    pub fn key(self) -> &'static str {
        match self {
            Implementation::Sequential => "sequential",
            Implementation::ThreadPerItem => "threads",
            Implementation::ProcessPerItem => "processes",
            Implementation::ThreadPool => "thread_pool",
            Implementation::ProcessPool => "process_pool",
            Implementation::Rayon => "rayon",
            Implementation::Hybrid => "hybrid",
        }
    }

    /// Its name in prose.
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Sequential => "one item after another",
            Implementation::ThreadPerItem => "a thread per item",
            Implementation::ProcessPerItem => "a process per item",
            Implementation::ThreadPool => "the thread pool",
            Implementation::ProcessPool => "the process pool",
            Implementation::Rayon => "rayon",
            Implementation::Hybrid => "the hybrid",
        }
    }

    /// Its name with the sizes of this run, for tables.
    pub fn label(self, sizes: Sizes) -> String {
        let workers = sizes.workers;
        match self {
            Implementation::ThreadPool => {
                format!("lab 06's thread pool, {} threads", sizes.thread_pool)
            }
            Implementation::ProcessPool => format!("lab 06's process pool, {workers} processes"),
            Implementation::Rayon => format!("rayon, {workers} threads"),
            Implementation::Hybrid => {
                format!("hybrid: a thread per item waits, {workers} rayon threads hash")
            }
            other => other.name().to_string(),
        }
    }

    /// How the prediction model sees it (see [`model::predict`]).
    pub fn shape(self, costs: &Costs, sizes: Sizes) -> Shape {
        let n = costs.items;
        let (slots, hashers, overhead_s) = match self {
            Implementation::Sequential => (1, 1, costs.request_s),
            Implementation::ThreadPerItem => (n, n, costs.thread_s),
            Implementation::ProcessPerItem => (n, n, costs.fork_s),
            Implementation::ThreadPool => (sizes.thread_pool, sizes.thread_pool, costs.request_s),
            Implementation::ProcessPool | Implementation::Rayon => {
                (sizes.workers, sizes.workers, costs.request_s)
            }
            Implementation::Hybrid => (n, sizes.workers, costs.thread_s),
        };
        Shape {
            slots,
            hashers,
            overhead_s,
        }
    }
}

/// The pools of a run, made once before anything is timed — a pool's
/// point is to be reused — the process pool first, before the thread pools
/// exist. Not before every thread: the item server's acceptor was started
/// first, and is blocked in `accept` (nothing connects to it yet), not
/// holding a lock a worker could inherit held.
pub struct Pools {
    processes: ProcessPool,
    threads: ThreadPool,
    rayon: rayon::ThreadPool,
    sizes: Sizes,
}

impl Pools {
    /// A process pool and a rayon pool of `workers`, a thread pool of
    /// CPython's default size.
    pub fn new(workers: usize) -> Result<Pools> {
        let processes = ProcessPool::new(registry(), PoolOptions::workers(workers))?;
        let sizes = Sizes {
            thread_pool: ThreadPool::default_size(),
            workers,
        };
        let threads = ThreadPool::new(sizes.thread_pool)?;
        // A pool of the lab's own, not rayon's global one, whose threads
        // would outlive the experiment and be there when later ones fork.
        let rayon = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()?;
        rayon.broadcast(|_| ()); // its threads exist before anything is timed
        Ok(Pools {
            processes,
            threads,
            rayon,
            sizes,
        })
    }

    /// The pools' sizes.
    pub fn sizes(&self) -> Sizes {
        self.sizes
    }

    /// Runs `job` the way `which` says.
    pub fn run(&mut self, which: Implementation, job: &Job) -> Result<Digest> {
        match which {
            Implementation::Sequential => sequential(job),
            Implementation::ThreadPerItem => thread_per_item(job),
            Implementation::ProcessPerItem => process_per_item(job),
            Implementation::ThreadPool => in_thread_pool(job, &self.threads),
            Implementation::ProcessPool => in_process_pool(job, &mut self.processes),
            Implementation::Rayon => in_rayon(job, &self.rayon),
            Implementation::Hybrid => hybrid(job, &self.rayon),
        }
    }
}

/// The CPython script that runs the same job, and its variants.
const SCRIPT: &str = "capstone.py";
const PY_VARIANTS: [&str; 4] = ["sequential", "threads", "processes", "hybrid"];

/// The variants that time what the model needs, beside the job itself.
const HASHING: &str = "cost: hashing every item, no server";
const THREADS_FETCH: &str = "cost: a thread per item that only fetches";
const FORKS_FETCH: &str = "cost: a process per item that only fetches";

/// CPU seconds this process has used so far, all its threads together
/// (the server's included).
fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let Ok(usage) = getrusage(UsageWho::RUSAGE_SELF) else {
        return f64::NAN;
    };
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
    seconds(usage.user_time()) + seconds(usage.system_time())
}

/// Hash rounds per second in CPython (`capstone.py --mode=rate`), measured
/// once per process.
fn python_rate(python: &Python, script: &Path) -> Result<f64> {
    static RATE: OnceLock<f64> = OnceLock::new();
    if let Some(&rate) = RATE.get() {
        return Ok(rate);
    }
    let json = python.run_json(script, &["--mode=rate".to_string()], SCRIPT_LIMIT)?;
    let rate = json["rounds_per_second"]
        .as_f64()
        .filter(|&r| r > 0.0)
        .with_context(|| format!("{} printed no rounds_per_second", script.display()))?;
    Ok(*RATE.get_or_init(|| rate))
}

/// CPython's job in the same rounds: the same items from the same server,
/// hashed as many rounds as take CPython as long as Rust's rounds take Rust
/// (so that the mix is the same in both languages), and its answer.
struct CPythonJob<'a> {
    rounds: PythonRounds<'a>,
    expected: String,
    hash_rounds: u32,
}

fn cpython_job<'a>(ctx: &Context<'a>, job: &Job) -> Result<Option<CPythonJob<'a>>> {
    let Some(python) = ctx.python else {
        return Ok(None);
    };
    let script = ctx.python_script(SCRIPT);
    let cpu_s = f64::from(job.rounds) / hash_rate();
    let hash_rounds = (cpu_s * python_rate(python, &script)?).round() as u32;
    let expected = hex(&Job {
        rounds: hash_rounds,
        ..*job
    }
    .expected());
    let args = vec![
        format!("--port={}", job.server.port()),
        format!("--items={}", job.items),
        format!("--rounds={hash_rounds}"),
        format!("--workers={}", ctx.workers),
    ];
    let rounds = ctx
        .python_rounds(SCRIPT, args, &PY_VARIANTS)
        .context("python3 was found a moment ago")?;
    Ok(Some(CPythonJob {
        rounds,
        expected,
        hash_rounds,
    }))
}

/// Items per job: `--items`, half as many (at least 4) with `--quick`.
fn items_for(ctx: &Context) -> u32 {
    let items = ctx.option("items") as u32;
    if ctx.quick { (items / 2).max(4) } else { items }
}

/// Runs the job in every implementation, CPython's beside them, for a mix
/// that gives `io_share` of each item's time to waiting and the rest to
/// hashing; records times, speedups, the measured costs, each
/// implementation's predicted time, and which was fastest.
fn measure_mix(ctx: &Context, mix: &str, io_share: f64) -> Result<Measured> {
    let items = items_for(ctx);
    let budget = ctx.option("delay-ms") as f64 / 1e3;
    let full_rounds = match ctx.option("hash-rounds") {
        0 => budget * hash_rate(),
        given => given as f64,
    };
    let rounds = (full_rounds * (1.0 - io_share)).round() as u32;
    let delay = Duration::from_secs_f64(budget * io_share);
    let server = ItemServer::start(delay)?;
    let job = Job {
        server: server.address(),
        items,
        rounds,
    };
    let expected = job.expected();
    let pools = RefCell::new(Pools::new(ctx.workers)?);
    let sizes = pools.borrow().sizes();
    let cpython = cpython_job(ctx, &job)?;
    let bytes: Vec<Vec<u8>> = (0..items).map(item_bytes).collect();

    let pools = &pools;
    let right = move |what: &str, digest: Digest| -> Result<()> {
        ensure!(
            digest == expected,
            "{what} returned {}, expected {}",
            hex(&digest),
            hex(&expected)
        );
        Ok(())
    };
    // The CPU time of one after another and of the hashing alone: their
    // difference is what the requests cost the cores.
    let cpu = Collector::new();
    let cpu = &cpu;
    let mut variants: Vec<Variant> = Implementation::ALL
        .into_iter()
        .map(|which| {
            Variant::new(which.key(), move || {
                let before = cpu_seconds();
                let digest = pools.borrow_mut().run(which, &job)?;
                if which == Implementation::Sequential {
                    cpu.record(which.key(), cpu_seconds() - before);
                }
                right(which.name(), digest)
            })
        })
        .collect();
    let bytes = &bytes;
    variants.push(Variant::new(HASHING, move || {
        let before = cpu_seconds();
        let digest = bytes
            .iter()
            .map(|item| transform(item, rounds))
            .fold(ZERO, combine);
        cpu.record(HASHING, cpu_seconds() - before);
        right("hashing alone", digest)
    }));
    // What a worker per item adds to the waits: the same workers, fetching
    // without hashing.
    let fetch_only = |index| fetch(job.server, index).map(|_| ZERO);
    variants.push(Variant::new(THREADS_FETCH, move || {
        spawn_per_item(items, fetch_only).map(drop)
    }));
    variants.push(Variant::new(FORKS_FETCH, move || {
        fork_per_item(items, fetch_only).map(drop)
    }));
    if let Some(cpython) = &cpython {
        variants.push(Variant::new("CPython (capstone.py)", move || {
            cpython.rounds.run_once()?;
            let printed = cpython.rounds.last_printed().unwrap_or_default();
            let answer = printed["aggregate"].as_str().unwrap_or("none");
            ensure!(
                answer == cpython.expected,
                "CPython returned {answer}, expected {}",
                cpython.expected
            );
            Ok(())
        }));
    }
    // Every mix's prediction claim needs the parallel capacity, so the
    // runner measures it in these same rounds (with `--workers` ≥ 2).
    // --quick has no warm-up round: a median of three shrugs off one slow
    // first round, and CPython's run is half of every round.
    let (measured_rounds, warmup) = ctx.pick((5, 1), (3, 0));
    let times = ctx.interleave(measured_rounds, warmup, &mut variants)?;
    drop(variants);
    cpu.keep_last(measured_rounds);
    let capacity = ctx.capacity();

    let mut m = Measured::new();
    m.param("io_share", format!("{:.0}%", io_share * 100.0))
        .param("items", items)
        .param("hash_rounds", rounds)
        .param("workers", ctx.workers)
        .param("thread_pool_size", sizes.thread_pool)
        .param("rounds", measured_rounds);
    let labels: Vec<(&str, String)> = Implementation::ALL[1..]
        .iter()
        .map(|which| (which.key(), which.label(sizes)))
        .collect();
    let labels: Vec<(&str, &str)> = labels.iter().map(|(k, l)| (*k, l.as_str())).collect();
    m.value(
        "delay_s",
        "the server's delay per item",
        Unit::Seconds,
        delay.as_secs_f64(),
    );
    m.times_and_speedups(
        &times,
        "",
        ("sequential", "one item after another"),
        &labels,
    );
    let k = ctx.workers.min(ctx.cores);
    let efficiency = efficiency_per_round(capacity.as_ref(), k, measured_rounds);
    let setting = Setting {
        items,
        cores: ctx.cores,
        sizes,
    };
    record_costs_and_predictions(&mut m, &times, cpu, &setting, &efficiency);
    record_fastest(&mut m, &times, mix, ctx);
    if let Some(cpython) = &cpython {
        record_python(&mut m, cpython, &times, sizes, mix, ctx);
    }
    drop(server);
    Ok(m)
}

/// The share of a core each busy process got, round by round: the capacity
/// of `k` processes ÷ `k` (1 in every round where it was not measured).
fn efficiency_per_round(capacity: Option<&Summary>, k: usize, rounds: usize) -> Vec<f64> {
    match capacity {
        Some(c) if c.samples.len() == rounds => c.samples.iter().map(|x| x / k as f64).collect(),
        Some(c) => vec![c.median / k as f64; rounds],
        None => vec![1.0; rounds],
    }
}

/// What a mix's run was set up with.
struct Setting {
    items: u32,
    cores: usize,
    sizes: Sizes,
}

/// The costs the model needs, round by round, and every parallel
/// implementation's predicted time against its measured one.
fn record_costs_and_predictions(
    m: &mut Measured,
    times: &Interleaved,
    cpu: &Collector,
    setting: &Setting,
    efficiency: &[f64],
) {
    let Setting {
        items,
        cores,
        sizes,
    } = *setting;
    let n = f64::from(items);
    let per_item = |name: &str| times.summary(name).scaled(1.0 / n);
    let (sequential, hashing) = (times.seconds("sequential"), times.seconds(HASHING));
    let wait: Vec<f64> = sequential
        .iter()
        .zip(hashing)
        .map(|(all, hash)| ((all - hash) / n).max(0.0))
        .collect();
    // What a worker per item added to one wait, per item.
    let overhead = |name: &str| -> Vec<f64> {
        let seconds = times.seconds(name).iter().zip(&wait);
        seconds.map(|(t, w)| ((t - w) / n).max(0.0)).collect()
    };
    let (thread_s, fork_s) = (overhead(THREADS_FETCH), overhead(FORKS_FETCH));
    let (cpu_sequential, cpu_hashing) = (cpu.values("sequential"), cpu.values(HASHING));
    let request: Vec<f64> = cpu_sequential
        .iter()
        .zip(&cpu_hashing)
        .map(|(all, hash)| ((all - hash) / n).max(0.0))
        .collect();
    let summary = |values: &[f64]| Summary::of(values).expect("one value per round");
    m.summary("hash_s", "hashing one item, alone", Unit::Seconds, per_item(HASHING))
        .summary(
            "wait_s",
            "waiting for one item, alone (one after another's time minus the hashing, per item)",
            Unit::Seconds,
            summary(&wait),
        )
        .summary(
            "request_s",
            "CPU time of one request, client and server (one after another's CPU time minus the hashing's, per item)",
            Unit::Seconds,
            summary(&request),
        )
        .summary(
            "thread_overhead_s",
            "what a thread per item adds to an item beside its wait (a thread per item that only fetches: its time minus one wait, per item)",
            Unit::Seconds,
            summary(&thread_s),
        )
        .summary(
            "fork_overhead_s",
            "what a process per item adds to an item beside its wait (likewise, forked)",
            Unit::Seconds,
            summary(&fork_s),
        );
    let costs = |round: usize| Costs {
        items: items as usize,
        wait_s: wait[round],
        cpu_s: hashing[round] / n,
        request_s: request[round],
        thread_s: thread_s[round],
        fork_s: fork_s[round],
        cores,
        efficiency: efficiency[round],
    };
    let mut worst = 1.0f64;
    for which in &Implementation::ALL[1..] {
        let predicted: Vec<f64> = (0..times.rounds())
            .map(|round| {
                let costs = costs(round);
                predict(&costs, which.shape(&costs, sizes))
            })
            .collect();
        let ratio = per_round_ratio(&predicted, times.seconds(which.key()));
        worst = worst.max(ratio.median).max(1.0 / ratio.median);
        let label = which.label(sizes);
        m.summary(
            &format!("predicted_{}", which.key()),
            &format!("predicted: {label}"),
            Unit::Seconds,
            Summary::of(&predicted).expect("one prediction per round"),
        )
        .summary(
            &format!("{}_prediction", which.key()),
            &format!("predicted ÷ measured: {label}"),
            Unit::Times,
            ratio,
        );
    }
    m.value(
        "prediction_worst",
        "the prediction furthest from its measured time (factor, either way)",
        Unit::Times,
        worst,
    );
}

/// Which implementation was fastest (lowest median time), generated from
/// the run: a parameter for the book, a row's label for the terminal, and
/// a note; and how the hybrid and a thread per item compare with it.
fn record_fastest(m: &mut Measured, times: &Interleaved, mix: &str, ctx: &Context) {
    let median = |which: &Implementation| times.summary(which.key()).median;
    let fastest = Implementation::ALL
        .into_iter()
        .min_by(|a, b| median(a).total_cmp(&median(b)))
        .expect("seven implementations");
    let speedup = times.speedup("sequential", fastest.key());
    ctx.progress.note(&format!(
        "{mix}: fastest was {} ({:.1}× one item after another)",
        fastest.name(),
        speedup.median
    ));
    m.param("fastest", fastest.name())
        .summary(
            "fastest_vs_sequential",
            &format!(
                "fastest here, {}: times faster than one after another",
                fastest.name()
            ),
            Unit::Times,
            speedup,
        )
        .summary(
            "hybrid_vs_fastest",
            &format!("the hybrid's time ÷ the fastest's ({})", fastest.name()),
            Unit::Times,
            per_round_ratio(times.seconds("hybrid"), times.seconds(fastest.key())),
        )
        .summary(
            "threads_vs_processes",
            "a process per item's time ÷ a thread per item's",
            Unit::Times,
            times.speedup("processes", "threads"),
        );
}

/// CPython's times (it timed its variants itself, in the same rounds),
/// speedups, and its fastest.
fn record_python(
    m: &mut Measured,
    cpython: &CPythonJob,
    ours: &Interleaved,
    sizes: Sizes,
    mix: &str,
    ctx: &Context,
) {
    let times = cpython.rounds.times(ours.rounds());
    let workers = sizes.workers;
    let threads = format!(
        "CPython: ThreadPoolExecutor(), {} threads",
        sizes.thread_pool
    );
    let processes = format!("CPython: ProcessPoolExecutor, {workers} processes");
    let hybrid =
        format!("CPython: a thread per item waits, a ProcessPoolExecutor of {workers} hashes");
    m.param("python", cpython.rounds.version())
        .param("python_hash_rounds", cpython.hash_rounds);
    m.times_and_speedups(
        &times,
        "py_",
        ("sequential", "CPython: one item after another"),
        &[
            ("threads", &threads),
            ("processes", &processes),
            ("hybrid", &hybrid),
        ],
    );
    m.summary(
        "py_threads_vs_processes",
        "CPython: ProcessPoolExecutor's time ÷ ThreadPoolExecutor's",
        Unit::Times,
        times.speedup("processes", "threads"),
    );
    m.summary(
        "py_hybrid_vs_threads",
        "CPython: ThreadPoolExecutor's time ÷ the hybrid's",
        Unit::Times,
        times.speedup("threads", "hybrid"),
    );
    let median = |name: &&str| times.summary(name).median;
    let fastest = PY_VARIANTS
        .iter()
        .min_by(|a, b| median(a).total_cmp(&median(b)))
        .expect("four variants");
    let name = match *fastest {
        "threads" => "ThreadPoolExecutor",
        "processes" => "ProcessPoolExecutor",
        "hybrid" => "the hybrid",
        _ => "one item after another",
    };
    ctx.progress
        .note(&format!("{mix}: CPython's fastest was {name}"));
    m.param("py_fastest", name);
}

/// Mostly waiting: `--io-share` of each item's time is the server's delay.
pub fn waiting(ctx: &Context) -> Result<Measured> {
    measure_mix(ctx, "mostly waiting", ctx.option("io-share") as f64 / 100.0)
}

/// Balanced: half of each item's time waits, half hashes.
pub fn balanced(ctx: &Context) -> Result<Measured> {
    measure_mix(ctx, "balanced", 0.5)
}

/// Mostly computing: `--io-share` of each item's time hashes.
pub fn computing(ctx: &Context) -> Result<Measured> {
    measure_mix(
        ctx,
        "mostly computing",
        1.0 - ctx.option("io-share") as f64 / 100.0,
    )
}

/// The lab: its options, its experiments and the claims each one checks.
pub fn lab() -> Lab {
    Lab {
        id: "lab-10",
        title: "Choose the model by measuring",
        source_dir: env!("CARGO_MANIFEST_DIR"),
        options: vec![
            LabOption { name: "items", help: "Items in every job (--quick: half as many, at least 4)", default: 32, min: 4, max: 128 },
            LabOption { name: "delay-ms", help: "Each item's time in milliseconds, all of it the server's delay if the item only waited: a mix gives its I/O share of it to the delay, the rest to hashing", default: 4, min: 1, max: 20 },
            LabOption { name: "hash-rounds", help: "SHA-256 rounds of an item that only hashed (0: as many as take --delay-ms here); a mix hashes its CPU share of them", default: 0, min: 0, max: 1_000_000 },
            LabOption { name: "io-share", help: "Percent of each item's time spent waiting in the mostly-waiting mix; the mostly-computing mix waits 100 minus that, the balanced mix 50 (80 to 99: the range the claims' thresholds were set for)", default: 90, min: 80, max: 99 },
        ],
        experiments: vec![
            Experiment {
                name: "waiting",
                title: "Mostly waiting: the job in every model",
                run: waiting,
                claims: vec![
                    Claim::new("waiting-threads-beat-forks", "threads_vs_processes", Check::AtLeast(THREADS_VS_FORKS),
                        "For mostly-waiting work, a thread per item finished the job at least {threshold} faster than a process per item (median of the per-round ratios): both overlap every wait, and a fork costs more than a thread."),
                    Claim::new("waiting-hybrid-near-best", "hybrid_vs_fastest", Check::AtMost(HYBRID_NEAR_BEST),
                        "The hybrid took at most {threshold} as long as the fastest implementation.")
                        .needs_workers(2),
                    Claim::new("waiting-prediction", "prediction_worst", Check::AtMost(PREDICTION_WITHIN),
                        "The model predicted every parallel implementation's time within a factor of {threshold} (median of the per-round predicted ÷ measured).")
                        .needs_parallel(),
                    Claim::new("py-waiting-threads", "py_threads_speedup", Check::AtLeast(PY_WAITING_THREADS),
                        "CPython's ThreadPoolExecutor ran the mostly-waiting job at least {threshold} faster than one item after another: a thread lets go of the GIL while it waits.")
                        .needs_python(),
                ],
            },
            Experiment {
                name: "balanced",
                title: "Balanced: half waiting, half hashing",
                run: balanced,
                claims: vec![
                    Claim::new("balanced-hybrid-near-best", "hybrid_vs_fastest", Check::AtMost(HYBRID_NEAR_BEST),
                        "The hybrid took at most {threshold} as long as the fastest implementation.")
                        .needs_workers(2),
                    Claim::new("balanced-prediction", "prediction_worst", Check::AtMost(PREDICTION_WITHIN),
                        "The model predicted every parallel implementation's time within a factor of {threshold}.")
                        .needs_parallel(),
                    Claim::new("py-balanced-hybrid", "py_hybrid_vs_threads", Check::AtLeast(PY_HYBRID_VS_THREADS),
                        "In CPython, the hybrid (threads wait, processes hash) ran the balanced job at least {threshold} faster than ThreadPoolExecutor alone, whose threads hash one at a time under the GIL.")
                        .needs_python_gil()
                        .needs_workers(2)
                        .needs_parallel(),
                ],
            },
            Experiment {
                name: "computing",
                title: "Mostly computing: the job in every model",
                run: computing,
                claims: vec![
                    Claim::new("computing-process-pool", "process_pool_speedup", Check::OfCapacity(OF_CAPACITY),
                        "For mostly-computing work, the process pool of {workers} processes ran the job at least {threshold} faster than one item after another."),
                    Claim::new("computing-rayon", "rayon_speedup", Check::OfCapacity(OF_CAPACITY),
                        "So did rayon with {workers} threads: at least {threshold} faster."),
                    Claim::new("computing-hybrid-near-best", "hybrid_vs_fastest", Check::AtMost(HYBRID_NEAR_BEST),
                        "The hybrid took at most {threshold} as long as the fastest implementation.")
                        .needs_workers(2),
                    Claim::new("computing-prediction", "prediction_worst", Check::AtMost(PREDICTION_WITHIN),
                        "The model predicted every parallel implementation's time within a factor of {threshold}.")
                        .needs_parallel(),
                    Claim::new("py-computing-threads", "py_threads_speedup", Check::AtMost(PY_COMPUTING_THREADS),
                        "CPython's ThreadPoolExecutor ran the mostly-computing job at most {threshold} faster than one item after another: only the waits overlapped, since hashlib keeps the GIL for inputs this small.")
                        .needs_python_gil()
                        .needs_cores(2),
                    Claim::new("py-computing-processes", "py_processes_speedup", Check::OfCapacity(PY_OF_CAPACITY),
                        "CPython's ProcessPoolExecutor of {workers} processes ran it at least {threshold} faster.")
                        .needs_python(),
                ],
            },
        ],
    }
}

// Thresholds, each set from the spread of repeated quick and full runs on a
// 2-vCPU VM (six full runs, four quick ones, while the machine was otherwise
// quiet; the ranges below), with room for the other kinds of host.

/// A process per item's time ÷ a thread per item's, mostly waiting
/// (measured 1.6–2.6).
const THREADS_VS_FORKS: f64 = 1.3;
/// The hybrid's time ÷ the fastest implementation's, in every mix
/// (measured 1.0–1.1 on a quiet machine; quick runs beside other builds
/// reached 1.6 and 2.3 in the mostly-waiting mix, where a few milliseconds
/// of delay decide).
const HYBRID_NEAR_BEST: f64 = 2.0;
/// The largest factor between a predicted and a measured time
/// (measured 1.1–1.5 on a quiet machine; quick runs beside other builds
/// reached 2.0–2.1).
const PREDICTION_WITHIN: f64 = 2.5;
/// CPython's thread pool on the mostly-waiting job: speedup (measured 3.2–5.4).
const PY_WAITING_THREADS: f64 = 2.5;
/// CPython's hybrid ÷ its thread pool on the balanced job: speedup
/// (measured 1.3–1.8).
const PY_HYBRID_VS_THREADS: f64 = 1.15;
/// Share of the capacity the process pool and rayon reach, mostly
/// computing (medians measured 0.84–1.08; the committed run's process pool
/// at 0.84, its slowest round at 0.71 of the median capacity).
const OF_CAPACITY: f64 = 0.6;
/// CPython's thread pool on the mostly-computing job: speedup, at most
/// (measured 0.89–1.29).
const PY_COMPUTING_THREADS: f64 = 1.4;
/// Share of the capacity CPython's process pool reaches, mostly computing
/// (medians measured 0.66–1.0; the committed run's slowest round at 0.68
/// of the median capacity).
const PY_OF_CAPACITY: f64 = 0.5;
