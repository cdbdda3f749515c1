//! Lab 06 — pools: a thread pool and a process pool written here, beside
//! rayon and CPython's `ThreadPoolExecutor` and `ProcessPoolExecutor`.
//!
//! Read this file top to bottom like the chapter. The seed articles call
//! pools "the modern way" and say: `ThreadPoolExecutor` for I/O,
//! `ProcessPoolExecutor` for CPU. A pool keeps its workers, so a task costs
//! a message and a wake-up, not a thread's or a process's creation. This lab
//! builds both kinds of pool (`thread_pool.rs`, `process_pool.rs`), measures
//! what a task costs in each — and in CPython's — what chunking saves, what
//! they give on CPU-bound and I/O-bound maps, and what happens when a task
//! panics or a worker dies.

pub mod exercises;
pub mod process_pool;
pub mod ring;
pub mod thread_pool;

use anyhow::{Result, bail, ensure};
use labkit::calibrate::iterations_for;
use labkit::timing::{Interleaved, Variant};
use labkit::{Check, Claim, Context, Experiment, Lab, LabOption, Measured, Unit, opaque};
use process_pool::{PoolOptions, ProcessPool, Registry, Transport};
use rayon::prelude::*;
use std::thread;
use std::time::{Duration, Instant};
use thread_pool::{TaskError, ThreadPool};

// ANCHOR: tasks
/// The smallest task there is: all a pool's cost per task is overhead.
pub fn add_one(x: u64) -> u64 {
    x.wrapping_add(1)
}

/// A CPU-bound task: `iterations` additions.
pub fn compute(iterations: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..iterations {
        total = total.wrapping_add(opaque(i));
    }
    total
}

/// An I/O-bound task: it waits `ms` milliseconds.
pub fn sleep_ms(ms: u64) -> u64 {
    thread::sleep(Duration::from_millis(ms));
    ms
}

/// Which process ran the task (to see workers being replaced).
pub fn whose(_: u64) -> i32 {
    std::process::id() as i32
}

/// A task that panics on 3, like a task that raises.
pub fn fails_on_three(x: u64) -> u64 {
    assert_ne!(x, 3, "three is not allowed");
    x
}

/// A task that kills its own worker process when given 0: a crash that no
/// `catch_unwind` can catch (a segfault, the OOM killer, a `kill -9`).
pub fn dies_on_zero(x: u64) -> u64 {
    if x == 0 {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    thread::sleep(Duration::from_millis(5));
    x
}

/// Every task a process pool of this lab can run, by name.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register("add_one", add_one)
        .register("compute", compute)
        .register("sleep_ms", sleep_ms)
        .register("whose", whose)
        .register("fails_on_three", fails_on_three)
        .register("dies_on_zero", dies_on_zero);
    registry
}
// ANCHOR_END: tasks

/// A process pool of this lab's tasks with `workers` workers.
pub fn process_pool(workers: usize) -> Result<ProcessPool> {
    ProcessPool::new(registry(), PoolOptions::workers(workers))
}

/// Unwraps every result, failing on the first error.
fn all_ok<T>(results: Vec<Result<T, TaskError>>) -> Result<Vec<T>> {
    results
        .into_iter()
        .map(|r| r.map_err(anyhow::Error::from))
        .collect()
}

/// Checks that `n` trivial tasks came back right and in order.
fn check_add_one(results: &[u64]) -> Result<()> {
    let wrong = results
        .iter()
        .enumerate()
        .find(|&(i, &r)| r != i as u64 + 1);
    if let Some((i, r)) = wrong {
        bail!("task {i} returned {r}, expected {}", i + 1);
    }
    Ok(())
}

// ANCHOR: one_per_task
/// The way without a pool: a new thread for every task.
pub fn thread_per_task(items: &[u64], task: fn(u64) -> u64) -> Vec<u64> {
    items
        .iter()
        .map(|&x| thread::spawn(move || task(x)).join().expect("no panic"))
        .collect()
}
// ANCHOR_END: one_per_task

/// CPython's variants in `pools.py --mode overhead`: per-task seconds.
const PYTHON_OVERHEAD: [&str; 7] = [
    "loop", "pickle_1", "tpe_1", "ppe_1", "ppe_10", "ppe_100", "ppe_1000",
];

/// The variant that only encodes and decodes what a task at chunksize 1 sends.
const ENCODING: &str = "encoding and decoding only, chunksize 1";

/// The variant that maps through the shared-memory process pool.
const RING_POOL: &str = "our process pool, shared memory, chunksize 1";

/// Chunk sizes swept for both process pools.
const CHUNKSIZES: [usize; 4] = [1, 10, 100, 1000];

/// What a trivial task costs in each pool, chunksize 1, and what chunking
/// saves in the process pools: per-task seconds, interleaved with CPython's
/// executors (which time themselves, pools made beforehand, as ours are).
pub fn overhead(ctx: &Context) -> Result<Measured> {
    let tasks = ctx.option("tasks") as usize;
    let items: Vec<u64> = (0..tasks as u64).collect();
    // The process pools fork first, while this experiment has no thread yet.
    let mut processes = process_pool(ctx.workers)?;
    let rings = std::cell::RefCell::new(ProcessPool::new(
        registry(),
        PoolOptions {
            transport: Transport::SharedMemory,
            ..PoolOptions::workers(ctx.workers)
        },
    )?);
    let threads = ThreadPool::new(ctx.workers)?;
    // A pool of the lab's own, not rayon's global one, whose threads would
    // outlive this experiment and be there when later ones fork.
    let rayon_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(ctx.workers)
        .build()?;
    rayon_pool.broadcast(|_| ()); // its threads exist before timing
    let few = &items[..tasks / 10]; // a thread per task is slow: a tenth of them
    let args = vec![
        "--mode=overhead".into(),
        format!("--tasks={tasks}"),
        format!("--workers={}", ctx.workers),
    ];
    let cpython = ctx.python_rounds("pools.py", args, &PYTHON_OVERHEAD);
    let processes = std::cell::RefCell::new(&mut processes);
    let chunk_names: Vec<String> = CHUNKSIZES
        .iter()
        .map(|c| format!("our process pool, chunksize {c}"))
        .collect();
    let mut variants = vec![
        Variant::new("thread per task", || {
            check_add_one(&thread_per_task(few, add_one))
        }),
        Variant::new("our thread pool", || {
            check_add_one(&all_ok(threads.map(add_one, items.clone()))?)
        }),
        Variant::new("rayon", || {
            let out: Vec<u64> = rayon_pool.install(|| {
                items
                    .par_iter()
                    .with_max_len(1)
                    .map(|&x| add_one(x))
                    .collect()
            });
            check_add_one(&out)
        }),
    ];
    let (expected, all) = (items.iter().map(|&x| x + 1).sum::<u64>(), &items);
    variants.push(Variant::new(ENCODING, move || {
        let sum = process_pool::encode_and_decode_only("add_one", all)?;
        ensure!(
            sum == expected,
            "encoding alone summed {sum}, expected {expected}"
        );
        Ok(())
    }));
    variants.push(Variant::new(RING_POOL, || {
        let results = rings.borrow_mut().map("add_one", &items, 1)?;
        check_add_one(&all_ok(results)?)
    }));
    for (&chunksize, name) in CHUNKSIZES.iter().zip(&chunk_names) {
        let (processes, items) = (&processes, &items);
        variants.push(Variant::new(name, move || {
            let results = processes.borrow_mut().map("add_one", items, chunksize)?;
            check_add_one(&all_ok(results)?)
        }));
    }
    if let Some(cpython) = &cpython {
        variants.push(cpython.variant("CPython (pools.py)"));
    }
    let rounds = ctx.pick(7, 4);
    let times = ctx.interleave(rounds, 1, &mut variants)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("tasks", tasks)
        .param("workers", ctx.workers)
        .param("rounds", rounds);
    let per_task = |name: &str, count: usize| times.summary(name).scaled(1.0 / count as f64);
    m.summary(
        "thread_per_task_s",
        "a new thread per task",
        Unit::Seconds,
        per_task("thread per task", few.len()),
    )
    .bar()
    .summary(
        "thread_pool_s",
        "our thread pool",
        Unit::Seconds,
        per_task("our thread pool", tasks),
    )
    .bar()
    .summary(
        "rayon_s",
        "rayon (one task per job)",
        Unit::Seconds,
        per_task("rayon", tasks),
    )
    .bar()
    .summary(
        "ring_pool_s",
        "our process pool over shared memory, chunksize 1",
        Unit::Seconds,
        per_task(RING_POOL, tasks),
    )
    .bar()
    .summary(
        "encoding_s",
        "of which: encoding and decoding (postcard), no pipe, no worker",
        Unit::Seconds,
        per_task(ENCODING, tasks),
    )
    .bar()
    .summary(
        "pipes_vs_ring",
        "process pool per task: pipes ÷ shared memory, chunksize 1",
        Unit::Times,
        times.speedup(&chunk_names[0], RING_POOL),
    );
    for (&chunksize, name) in CHUNKSIZES.iter().zip(&chunk_names) {
        m.summary(
            &format!("process_pool_{chunksize}_s"),
            &format!("{name}: per task"),
            Unit::Seconds,
            per_task(name, tasks),
        )
        .at(
            "our process pool",
            "chunksize",
            Unit::Count,
            chunksize as f64,
        );
    }
    if let Some(cpython) = &cpython {
        record_python_overhead(
            &mut m,
            &cpython.times(times.rounds()),
            &times,
            &chunk_names[0],
            tasks,
        );
        m.param("python", cpython.version());
    }
    Ok(m)
}

/// CPython's per-task costs (it timed them itself) and how they compare
/// with ours, round by round.
fn record_python_overhead(
    m: &mut Measured,
    python: &Interleaved,
    ours: &Interleaved,
    process_pool: &str,
    tasks: usize,
) {
    m.seconds(
        python,
        "tpe_1",
        "python_tpe_s",
        "CPython ThreadPoolExecutor.map",
    )
    .bar()
    .seconds(python, "loop", "python_loop_s", "CPython: a plain loop")
    .seconds(
        python,
        "pickle_1",
        "python_pickle_s",
        "CPython: of which pickling and unpickling a call and its result",
    );
    for chunksize in CHUNKSIZES {
        let name = format!("ppe_{chunksize}");
        m.seconds(
            python,
            &name,
            &format!("python_{name}_s"),
            &format!("CPython ProcessPoolExecutor, chunksize {chunksize}: per task"),
        )
        .at(
            "CPython ProcessPoolExecutor",
            "chunksize",
            Unit::Count,
            chunksize as f64,
        );
    }
    let ours: Vec<f64> = ours
        .seconds(process_pool)
        .iter()
        .map(|s| s / tasks as f64)
        .collect();
    m.summary(
        "ppe_vs_ours",
        "ProcessPoolExecutor ÷ our process pool, per task, chunksize 1",
        Unit::Times,
        labkit::measured::per_round_ratio(python.seconds("ppe_1"), &ours),
    );
}

/// Speedup of a CPU-bound map (64 tasks of about 2 ms) through each pool
/// with `--workers` workers, against one after another.
pub fn cpu_map(ctx: &Context) -> Result<Measured> {
    let iterations = iterations_for(ctx.pick(2e-3, 1.2e-3));
    let items: Vec<u64> = vec![iterations; 64];
    let expected = compute(iterations);
    let check = |results: Vec<u64>| -> Result<()> {
        ensure!(
            results.iter().all(|&r| r == expected),
            "a task computed a wrong sum"
        );
        Ok(())
    };
    let processes = std::cell::RefCell::new(process_pool(ctx.workers)?);
    let threads = ThreadPool::new(ctx.workers)?;
    let rayon_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(ctx.workers)
        .build()?;
    let mut variants = [
        Variant::new("sequential", || {
            check(items.iter().map(|&n| compute(n)).collect())
        }),
        Variant::new("thread_pool", || {
            check(all_ok(threads.map(compute, items.clone()))?)
        }),
        Variant::new("process_pool", || {
            check(all_ok(processes.borrow_mut().map("compute", &items, 1)?)?)
        }),
        Variant::new("rayon", || {
            check(rayon_pool.install(|| {
                items
                    .par_iter()
                    .with_max_len(1)
                    .map(|&n| compute(n))
                    .collect()
            }))
        }),
    ];
    let rounds = ctx.pick(9, 5);
    let times = ctx.interleave(rounds, 1, &mut variants)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("iterations", iterations)
        .param("workers", ctx.workers)
        .param("rounds", rounds);
    let workers = ctx.workers;
    m.times_and_speedups(
        &times,
        "",
        ("sequential", "64 tasks one after another"),
        &[
            (
                "thread_pool",
                &format!("our thread pool, {workers} threads"),
            ),
            (
                "process_pool",
                &format!("our process pool, {workers} processes"),
            ),
            ("rayon", &format!("rayon, {workers} threads")),
        ],
    );
    Ok(m)
}

/// An I/O-bound map: 8 waits of 5 ms per thread through our thread pool at
/// CPython's default size, min(32, cores + 4), against one after another.
pub fn io_map(ctx: &Context) -> Result<Measured> {
    let size = ThreadPool::default_size();
    let pool = ThreadPool::new(size)?;
    // 8 waits per thread: the ideal speedup is exactly the pool's size.
    let items: Vec<u64> = vec![ctx.pick(5, 3); 8 * size];
    let mut variants = [
        Variant::new("sequential", || {
            items.iter().for_each(|&ms| {
                sleep_ms(ms);
            });
            Ok(())
        }),
        Variant::new("thread_pool", || {
            all_ok(pool.map(sleep_ms, items.clone())).map(drop)
        }),
    ];
    let rounds = ctx.pick(5, 3);
    let times = ctx.interleave(rounds, 0, &mut variants)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("threads", size).param("rounds", rounds);
    m.times_and_speedups(
        &times,
        "",
        ("sequential", "8 waits per pool thread, one after another"),
        &[("thread_pool", &format!("our thread pool, {size} threads"))],
    );
    m.summary(
        "speedup_per_thread",
        "speedup ÷ threads in the pool",
        Unit::Times,
        times
            .speedup("sequential", "thread_pool")
            .scaled(1.0 / size as f64),
    );
    Ok(m)
}

// ANCHOR: failures
/// A task that panics fails alone: the others' results come back, and the
/// pool goes on. Returns (the failing task's error, the others' values
/// right, a later map works).
pub fn a_panic_fails_one_task(pool: &mut ProcessPool) -> Result<(Option<TaskError>, bool, bool)> {
    let results: Vec<Result<u64, TaskError>> =
        pool.map("fails_on_three", &[1u64, 2, 3, 4, 5], 1)?;
    let error = results[2].clone().err();
    let others = [0, 1, 3, 4].iter().all(|&i| results[i] == Ok(i as u64 + 1));
    let later = pool.map::<u64, u64>("add_one", &[1], 1).is_ok();
    Ok((error, others, later))
}

/// A worker that dies breaks the pool: its unfinished tasks, and every task
/// not yet answered, fail with `BrokenPool`, at once — no hang — and the pool
/// refuses new work. Returns (tasks failed as broken, seconds to return,
/// the next map refused).
pub fn a_dead_worker_breaks_the_pool(pool: &mut ProcessPool) -> Result<(usize, f64, bool)> {
    // Task 10 kills its worker: tasks before it are answered, the worker's
    // queued ones and those not sent yet are not.
    let items: Vec<u64> = (1..=10).chain([0]).chain(11..40).collect();
    let start = Instant::now();
    let results: Vec<Result<u64, TaskError>> = pool.map("dies_on_zero", &items, 1)?;
    let seconds = start.elapsed().as_secs_f64();
    let broken = results
        .iter()
        .filter(|r| matches!(r, Err(TaskError::BrokenPool(_))))
        .count();
    let refused = pool.map::<u64, u64>("add_one", &[1], 1).is_err();
    Ok((broken, seconds, refused))
}
// ANCHOR_END: failures

/// Replaced workers: with `max_tasks_per_child`, how many processes ran 40 tasks.
pub fn workers_used(max_tasks_per_child: usize) -> Result<usize> {
    let mut pool = ProcessPool::new(
        registry(),
        PoolOptions {
            max_tasks_per_child: Some(max_tasks_per_child),
            ..PoolOptions::workers(2)
        },
    )?;
    let pids: Vec<i32> = all_ok(pool.map("whose", &[0u64; 40], 1)?)?;
    let mut distinct = pids;
    distinct.sort_unstable();
    distinct.dedup();
    Ok(distinct.len())
}

/// Failures: a panicking task, a dead worker, replaced workers; and
/// CPython's `ProcessPoolExecutor` losing a worker.
pub fn failures(ctx: &Context) -> Result<Measured> {
    let mut m = Measured::new();
    let mut pool = process_pool(ctx.workers)?;
    let (error, others, later) = a_panic_fails_one_task(&mut pool)?;
    m.flag(
        "panic_is_an_error",
        "a panicking task returns its panic as an error, the others their values",
        matches!(error, Some(TaskError::Panicked(_))) && others,
    )
    .flag("others_fine", "the other tasks' results come back", others)
    .flag("pool_goes_on", "the pool takes the next map", later);
    let (broken, seconds, refused) = a_dead_worker_breaks_the_pool(&mut pool)?;
    m.value(
        "broken_tasks",
        "tasks failed as 'broken pool' (of 40)",
        Unit::Count,
        broken as f64,
    )
    .flag(
        "broken_fails_pending",
        "a dead worker fails the pending tasks",
        broken > 0,
    )
    .value(
        "broken_seconds",
        "time for the map to return",
        Unit::Seconds,
        seconds,
    )
    .flag("broken_refuses", "a broken pool refuses new work", refused);
    drop(pool);
    let used = workers_used(5)?;
    m.value(
        "workers_used",
        "processes that ran 40 tasks, 2 workers, 5 tasks each",
        Unit::Count,
        used as f64,
    );
    if let Some(python) = ctx.python {
        let script = ctx.python_script("pools.py");
        let json = python.run_json(
            &script,
            &["--mode=broken".to_string()],
            labkit::python::SCRIPT_LIMIT,
        )?;
        let flag = |key: &str| json[key].as_bool().unwrap_or(false);
        m.flag(
            "python_broken_raised",
            "CPython: BrokenProcessPool raised",
            flag("raised"),
        )
        .flag(
            "python_broken_refuses",
            "CPython: the broken executor refuses new work",
            flag("refuses"),
        );
    }
    Ok(m)
}

/// The seed's example: squaring numbers through a `ProcessPoolExecutor`
/// against a plain loop, in CPython.
pub fn seed_square(ctx: &Context) -> Result<Measured> {
    let Some(cpython) =
        ctx.python_rounds("pools.py", vec!["--mode=square".into()], &["loop", "pool"])
    else {
        return Ok(Measured::skipped("python3 not found"));
    };
    let rounds = ctx.pick(5, 3);
    let times = ctx.interleave_python(&cpython, rounds)?;
    let mut m = Measured::new();
    m.param("python", cpython.version()).param("rounds", rounds);
    m.seconds(
        &times,
        "loop",
        "loop_s",
        "CPython: [square(x) for x in range(1000)]",
    )
    .bar()
    .seconds(
        &times,
        "pool",
        "pool_s",
        "CPython: ProcessPoolExecutor().map(square, range(1000))",
    )
    .bar()
    .speedup(
        &times,
        "pool",
        "loop",
        "pool_vs_loop",
        "the pool's time ÷ the loop's",
    );
    Ok(m)
}

/// The lab: its options, its experiments and the claims each one checks.
pub fn lab() -> Lab {
    Lab {
        id: "lab-06",
        title: "Pools",
        source_dir: env!("CARGO_MANIFEST_DIR"),
        options: vec![
            LabOption { name: "tasks", help: "Trivial tasks per map when timing a task's overhead", default: 2000, min: 100, max: 100_000 },
        ],
        experiments: vec![
            Experiment {
                name: "overhead",
                title: "What a task costs: a trivial task through each pool",
                run: overhead,
                claims: vec![
                    Claim::new("ours-vs-ppe", "ppe_vs_ours", Check::AtLeast(PPE_VS_OURS),
                        "At chunksize 1, a trivial task costs CPython's ProcessPoolExecutor (fork) at least {threshold} as much as this lab's process pool.")
                        .needs_python(),
                ],
            },
            Experiment {
                name: "cpu_map",
                title: "A CPU-bound map through each pool",
                run: cpu_map,
                claims: vec![
                    Claim::new("cpu-process-pool", "process_pool_speedup", Check::OfCapacity(CPU_POOL),
                        "Through the process pool, {workers} workers map 64 computing tasks at least {threshold} faster than one after another (60% of the capacity measured in the same rounds)."),
                    Claim::new("cpu-thread-pool", "thread_pool_speedup", Check::OfCapacity(CPU_POOL),
                        "Through the thread pool too: at least {threshold} faster."),
                ],
            },
            Experiment {
                name: "io_map",
                title: "An I/O-bound map through the thread pool",
                run: io_map,
                claims: vec![
                    Claim::new("io-thread-pool", "speedup_per_thread", Check::AtLeast(IO_PER_THREAD),
                        "Waiting tasks (8 per thread) through a thread pool of CPython's default size speed up by at least {threshold} of the pool's size (its ideal speedup)."),
                ],
            },
            Experiment {
                name: "failures",
                title: "A task that panics, a worker that dies",
                run: failures,
                claims: vec![
                    Claim::demonstration("panic-is-an-error", "panic_is_an_error", Check::Observed,
                        "A task that panics comes back as an error for that task alone: the other tasks' results come back."),
                    Claim::demonstration("pool-goes-on", "pool_goes_on", Check::Observed,
                        "The pool goes on after a task panicked."),
                    Claim::demonstration("dead-worker-breaks", "broken_fails_pending", Check::Observed,
                        "A worker killed mid-map fails the pending tasks with a 'broken pool' error instead of hanging."),
                    Claim::demonstration("broken-refuses", "broken_refuses", Check::Observed,
                        "A broken pool refuses new work."),
                    Claim::demonstration("py-broken", "python_broken_raised", Check::Observed,
                        "CPython's ProcessPoolExecutor raises BrokenProcessPool when a worker is killed.")
                        .needs_python(),
                    Claim::demonstration("py-broken-refuses", "python_broken_refuses", Check::Observed,
                        "And the broken executor refuses new work, as ours does.")
                        .needs_python(),
                ],
            },
            Experiment {
                name: "square",
                title: "The seed's example: square through ProcessPoolExecutor",
                run: seed_square,
                claims: vec![
                    Claim::new("square-pool-slower", "pool_vs_loop", Check::AtLeast(SQUARE_SLOWER),
                        "For a task as small as squaring a number, the seed's `with ProcessPoolExecutor()` block — starting the pool, mapping 1000 numbers, shutting it down — takes at least {threshold} as long as a plain loop.")
                        .needs_python(),
                ],
            },
        ],
    }
}

// Thresholds, each set from the spread of repeated quick and full runs on a
// 2-vCPU VM, with room for the other kinds of host.

/// ProcessPoolExecutor's per-task cost ÷ ours, chunksize 1.
const PPE_VS_OURS: f64 = 10.0;
/// Share of the capacity a CPU-bound map through a pool reaches.
const CPU_POOL: f64 = 0.6;
/// Speedup per pool thread on waiting tasks.
const IO_PER_THREAD: f64 = 0.8;
/// The pool's time ÷ the loop's, squaring 1000 numbers.
const SQUARE_SLOWER: f64 = 100.0;
