//! Lab 02 — what a thread and a process cost: creating them, and the memory
//! they take.
//!
//! Read this file top to bottom like the chapter. The seed articles say that
//! processes are "heavyweight" and threads "lightweight", that creating a
//! process is slow and that a process has "a large memory footprint". This lab
//! times each way of starting concurrent work, weighs an idle thread and an
//! idle process, shows that a forked child's "separate memory" is copied only
//! when written, and puts CPython's threads and processes beside Rust's.

pub mod exercises;
pub mod procfs;

use anyhow::{Context as _, Result, bail, ensure};
use labkit::child::{Child, fork_child};
use labkit::cli::{CHILD_MODE, CHILD_WAITS_FOR_STDIN};
use labkit::memory::{Mapping, page_size};
use labkit::timing::{Interleaved, Variant};
use labkit::{Check, Claim, Context, Experiment, Lab, LabOption, Measured, Unit};
use nix::unistd::pipe;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::Instant;

// ANCHOR: create
/// Starts an OS thread that does nothing, and waits for it to end.
pub fn spawn_and_join_thread() {
    thread::spawn(|| {})
        .join()
        .expect("an empty thread cannot panic");
}

/// The same with a scoped thread: `thread::scope` joins it before returning.
pub fn spawn_and_join_scoped_thread() {
    thread::scope(|scope| {
        scope.spawn(|| {});
    });
}

/// Hands an empty task to rayon's pool, whose threads already exist, and
/// waits for it: no thread is created, but one is woken to run it, and this
/// one is woken when it is done.
pub fn run_rayon_task() {
    rayon::scope(|scope| scope.spawn(|_| {}));
}

/// Hands `count` empty tasks to rayon's pool at once and waits for them
/// all: the pool's threads take task after task without sleeping between.
pub fn run_rayon_tasks(count: usize) {
    rayon::scope(|scope| {
        for _ in 0..count {
            scope.spawn(|_| {});
        }
    });
}

/// Forks a child that exits at once, and waits for it (`fork` + `waitpid`).
pub fn fork_and_wait() -> Result<()> {
    fork_child(|| 0)?.wait_success()
}

/// Starts a new program and waits for it to end. Rust's `Command` does not
/// `fork`: it uses `posix_spawn`, which starts the child without copying the
/// parent's page tables, and the child then `exec`s the program: the kernel
/// maps the executable, the dynamic loader maps its libraries, `main` runs.
pub fn start_program(program: &Path) -> Result<()> {
    let status = Command::new(program)
        .env(CHILD_MODE, CHILD_WAITS_FOR_STDIN)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("could not start {}", program.display()))?;
    ensure!(status.success(), "{} failed: {status}", program.display());
    Ok(())
}
// ANCHOR_END: create

/// One way of starting work: its name, its metric's name, how many of them
/// one timed sample runs (`batch` calls of `run`, each starting `each`),
/// and what it does.
struct Operation<'a> {
    name: &'static str,
    key: &'static str,
    batch: usize,
    each: usize,
    run: Box<dyn FnMut() -> Result<()> + 'a>,
}

impl<'a> Operation<'a> {
    fn new(
        (name, key): (&'static str, &'static str),
        batch: usize,
        run: impl FnMut() -> Result<()> + 'a,
    ) -> Self {
        Operation {
            name,
            key,
            batch,
            each: 1,
            run: Box::new(run),
        }
    }

    /// Each call of `run` starts `each` of them.
    fn each_call_starts(mut self, each: usize) -> Self {
        self.each = each;
        self
    }

    /// How many are started in one timed sample.
    fn per_sample(&self) -> usize {
        self.batch * self.each
    }
}

/// Tasks handed to the pool at once, in the batched rayon operation.
const RAYON_BATCH: usize = 1000;

/// The operations timed by [`creation`]: every way of starting concurrent
/// work, cheapest first. `program` is this lab's own binary, when known.
fn operations(program: Option<&Path>) -> Vec<Operation<'_>> {
    let mut list = vec![
        Operation::new(
            ("rayon task, alone, waited for", "rayon_task_s"),
            1000,
            || {
                run_rayon_task();
                Ok(())
            },
        ),
        Operation::new(("rayon task, 1000 at once", "rayon_batch_s"), 5, || {
            run_rayon_tasks(RAYON_BATCH);
            Ok(())
        })
        .each_call_starts(RAYON_BATCH),
        Operation::new(("scoped thread", "scoped_thread_s"), 200, || {
            spawn_and_join_scoped_thread();
            Ok(())
        }),
        Operation::new(("thread", "thread_s"), 200, || {
            spawn_and_join_thread();
            Ok(())
        }),
        Operation::new(("fork", "fork_s"), 50, fork_and_wait),
        Operation::new(("new program (true)", "program_true_s"), 10, || {
            start_program(Path::new("true"))
        }),
    ];
    if let Some(program) = program {
        list.push(Operation::new(
            ("new program (this lab)", "program_lab_s"),
            10,
            move || start_program(program),
        ));
    }
    list
}

/// Per-operation cost of each way of starting work, measured interleaved:
/// each round times a batch of every operation (a batch, because one thread
/// start is too short to time alone), and divides by the batch size. CPython's
/// `creation.py` runs once per round among them.
pub fn creation(ctx: &Context) -> Result<Measured> {
    let rounds = ctx.pick(21, 9);
    rayon::broadcast(|_| ()); // the pool's threads exist before we time it
    let names = PYTHON_OPERATIONS.map(|(name, _)| name);
    let cpython = ctx.python_rounds("creation.py", vec!["--json".into()], &names);
    let mut operations = operations(ctx.program);
    let batches: Vec<(&str, &str, usize)> = operations
        .iter()
        .map(|o| (o.name, o.key, o.per_sample()))
        .collect();
    let mut variants: Vec<Variant> = operations
        .iter_mut()
        .map(|op| {
            let (batch, run) = (op.batch, &mut op.run);
            Variant::new(op.name, move || (0..batch).try_for_each(|_| run()))
        })
        .collect();
    if let Some(cpython) = &cpython {
        variants.push(cpython.variant("CPython (creation.py)"));
    }
    let times = ctx.interleave(rounds, 1, &mut variants)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("rounds", rounds);
    for &(name, key, batch) in &batches {
        let each = times.summary(name).scaled(1.0 / batch as f64);
        m.summary(key, name, Unit::Seconds, each).bar();
    }
    // A ratio of per-operation costs, round by round: the ratio of the two
    // batches' times, scaled by their sizes.
    let batch = |name: &str| {
        batches
            .iter()
            .find(|b| b.0 == name)
            .map_or(1.0, |b| b.2 as f64)
    };
    let ratio =
        |slow: &str, fast: &str| times.speedup(slow, fast).scaled(batch(fast) / batch(slow));
    m.summary(
        "fork_vs_thread",
        "fork ÷ thread",
        Unit::Times,
        ratio("fork", "thread"),
    )
    .summary(
        "program_vs_fork",
        "new program (true) ÷ fork",
        Unit::Times,
        ratio("new program (true)", "fork"),
    )
    .summary(
        "thread_vs_rayon",
        "thread ÷ rayon task alone, waited for",
        Unit::Times,
        ratio("thread", "rayon task, alone, waited for"),
    )
    .summary(
        "thread_vs_rayon_batch",
        "thread ÷ rayon task among 1000",
        Unit::Times,
        ratio("thread", "rayon task, 1000 at once"),
    );
    if let Some(cpython) = &cpython {
        record_python(&mut m, &cpython.times(times.rounds()));
        m.param("python", cpython.version());
    }
    Ok(m)
}

/// Threads that have started and now wait, doing nothing, until released.
pub struct IdleThreads {
    release: Arc<Barrier>,
    handles: Vec<JoinHandle<()>>,
}

/// Idle threads alive now, and the most there have been at once since
/// [`IdleThreads::reset_peak`]: the exercises' tests read them to see that
/// the threads really existed together (sampling /proc from another thread
/// can miss that moment on a loaded machine).
static ALIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl IdleThreads {
    /// Starts `count` threads and returns once every one of them is running.
    pub fn start(count: usize) -> IdleThreads {
        let started = Arc::new(Barrier::new(count + 1));
        let release = Arc::new(Barrier::new(count + 1));
        let handles = (0..count)
            .map(|_| {
                let (started, release) = (started.clone(), release.clone());
                thread::spawn(move || {
                    let alive = ALIVE.fetch_add(1, Ordering::SeqCst) + 1;
                    PEAK.fetch_max(alive, Ordering::SeqCst);
                    started.wait();
                    release.wait();
                    ALIVE.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        started.wait();
        IdleThreads { release, handles }
    }

    /// The most idle threads alive at once since the last [`IdleThreads::reset_peak`].
    pub fn peak() -> usize {
        PEAK.load(Ordering::SeqCst)
    }

    /// Starts counting the peak afresh (from the threads alive now).
    pub fn reset_peak() {
        PEAK.store(ALIVE.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Lets them finish, and joins them.
    pub fn release(self) {
        self.release.wait();
        for handle in self.handles {
            handle.join().expect("an idle thread cannot panic");
        }
    }
}

/// Threads that empty glibc's cache of thread stacks (40 MiB by default:
/// 20 stacks of 2 MiB) before the measured ones start.
const STACK_CACHE_DRAIN: usize = 32;

// ANCHOR: idle_threads
/// What `count` idle threads add to this process, per thread: resident bytes
/// (memory really used) and reserved bytes (address space set aside, mostly
/// the stack: 2 MiB each by default, touched only as deep as it is used).
pub fn idle_thread_memory(count: usize) -> Result<(f64, f64)> {
    // glibc keeps the stacks of finished threads (up to 40 MiB of them) and
    // hands them to new threads already mapped: idle threads that take them
    // first make every measured thread map a stack of its own.
    let cache_drain = IdleThreads::start(STACK_CACHE_DRAIN);
    let before = procfs::status()?;
    let idle = IdleThreads::start(count);
    let during = procfs::status();
    idle.release();
    cache_drain.release();
    let during = during?;
    // At least the idle threads and this one. (Not "before + count": a thread
    // that was just joined can still be listed in /proc for a moment.)
    ensure!(
        during.threads > count as u64,
        "expected {count} idle threads, /proc shows {} threads in all",
        during.threads
    );
    let per = |after: u64, before: u64| after.saturating_sub(before) as f64 / count as f64;
    Ok((
        per(during.resident, before.resident),
        per(during.reserved, before.reserved),
    ))
}
// ANCHOR_END: idle_threads

// ANCHOR: idle_processes
/// An idle forked child: it tells the parent it is ready, then waits on a
/// pipe until released. Returns its memory, read from /proc while it waits.
pub fn idle_child_memory() -> Result<procfs::Memory> {
    let (ready_reader, ready_writer) = pipe().context("pipe failed")?;
    let (release_reader, release_writer) = pipe().context("pipe failed")?;
    // The closure owns the child's ends; the parent's copies of them close
    // when `fork_child` drops it.
    let child = fork_child(move || {
        let _ = File::from(ready_writer).write_all(b"r");
        let _ = File::from(release_reader).read(&mut [0u8; 1]);
        0
    })?;
    File::from(ready_reader)
        .read_exact(&mut [0u8; 1])
        .context("the idle child died before it was ready")?;
    let memory = procfs::memory(Some(child.pid()));
    File::from(release_writer).write_all(b"g")?; // "go": it exits
    child.wait_success()?;
    memory
}
// ANCHOR_END: idle_processes

/// A freshly started program (this lab's binary in child mode), idle: it
/// prints "ready" and waits for end-of-file on its stdin. Returns its memory.
pub fn idle_program_memory(program: &Path) -> Result<procfs::Memory> {
    let mut process = Command::new(program)
        .env(CHILD_MODE, CHILD_WAITS_FOR_STDIN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {}", program.display()))?;
    let pid = nix::unistd::Pid::from_raw(process.id() as i32);
    let mut line = String::new();
    let stdout = process.stdout.take().expect("stdout is piped");
    let ready = BufReader::new(stdout).read_line(&mut line);
    let memory = match ready {
        Ok(_) if line.trim() == "ready" => procfs::memory(Some(pid)),
        _ => Err(anyhow::anyhow!(
            "{} did not report ready",
            program.display()
        )),
    };
    drop(process.stdin.take()); // end-of-file: it exits
    let status = process.wait()?;
    ensure!(status.success(), "{} failed: {status}", program.display());
    memory
}

/// The experiment: an idle thread, an idle forked child, an idle new program.
pub fn memory(ctx: &Context) -> Result<Measured> {
    let count = ctx.option("idle-threads") as usize;
    let samples = ctx.pick(7, 3);
    let mut resident = Vec::new();
    let mut reserved = Vec::new();
    let mut child = Vec::new();
    for _ in 0..samples {
        let (r, v) = idle_thread_memory(count)?;
        resident.push(r);
        reserved.push(v);
        child.push(idle_child_memory()?);
    }
    let summary = |values: &[f64]| labkit::stats::Summary::of(values).expect("samples");
    let of_child =
        |f: fn(&procfs::Memory) -> u64| -> Vec<f64> { child.iter().map(|m| f(m) as f64).collect() };
    let child_private = of_child(|m| m.private);
    let ratios: Vec<f64> = child_private
        .iter()
        .zip(&resident)
        .map(|(c, t)| c / t.max(1.0))
        .collect();
    let mut m = Measured::new();
    m.param("idle_threads", count).param("samples", samples);
    m.summary(
        "thread_resident",
        "idle thread: resident",
        Unit::Bytes,
        summary(&resident),
    )
    .bar()
    .summary(
        "thread_reserved",
        "idle thread: reserved address space",
        Unit::Bytes,
        summary(&reserved),
    )
    .summary(
        "child_private",
        "idle forked child: private",
        Unit::Bytes,
        summary(&child_private),
    )
    .bar()
    .summary(
        "child_pss",
        "idle forked child: PSS",
        Unit::Bytes,
        summary(&of_child(|m| m.pss)),
    )
    .bar()
    .summary(
        "child_page_tables",
        "idle forked child: page tables",
        Unit::Bytes,
        summary(&of_child(|m| m.page_tables)),
    )
    .bar()
    .summary(
        "child_vs_thread",
        "child private ÷ thread resident",
        Unit::Times,
        summary(&ratios),
    );
    match ctx.program {
        Some(program) => {
            let fresh = idle_program_memory(program)?;
            m.value(
                "program_private",
                "new program: private",
                Unit::Bytes,
                fresh.private as f64,
            )
            .bar()
            .value(
                "program_pss",
                "new program: PSS",
                Unit::Bytes,
                fresh.pss as f64,
            )
            .bar()
            .value(
                "program_page_tables",
                "new program: page tables",
                Unit::Bytes,
                fresh.page_tables as f64,
            )
            .bar();
        }
        None => ctx
            .progress
            .note("memory: not started from the lab's binary, so no new program is weighed"),
    }
    Ok(m)
}

/// What a forked child measured about itself while writing into memory it
/// inherited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CowReport {
    /// Its private memory before the writes, in bytes.
    pub private_before: u64,
    /// Its private memory after, in bytes.
    pub private_after: u64,
    /// Its PSS after, in bytes.
    pub pss_after: u64,
    /// How long the writes took, in seconds.
    pub seconds: f64,
}

// ANCHOR: cow
/// Writes one byte into every `step`-th page of `memory`: a write anywhere
/// in a page makes the whole page the writer's own.
pub fn write_pages(memory: &mut [u8], step: usize) {
    for page in memory.chunks_mut(page_size()).step_by(step) {
        page[0] = page[0].wrapping_add(1);
    }
}

/// Run in a forked child: its own private memory and PSS before and after
/// writing into every `step`-th page of the buffer it inherited (none when
/// `step` is 0), and the writing time in nanoseconds.
fn measure_own_writes(buffer: &mut Mapping, step: usize) -> Result<[u64; 4]> {
    let before = procfs::memory(None)?;
    let start = Instant::now();
    if step > 0 {
        write_pages(buffer.as_mut_slice(), step);
    }
    let nanos = start.elapsed().as_nanos() as u64;
    let after = procfs::memory(None)?;
    Ok([before.private, after.private, after.pss, nanos])
}
// ANCHOR_END: cow

/// Forks a child that writes into the fraction `1 / step` of `buffer`'s
/// pages (none when `step` is 0) and reports its own memory before and after.
pub fn child_writes(buffer: &mut Mapping, step: usize) -> Result<CowReport> {
    let (reader, writer) = pipe().context("pipe failed")?;
    let child = fork_child(move || {
        let Ok(values) = measure_own_writes(buffer, step) else {
            return 1;
        };
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        i32::from(File::from(writer).write_all(&bytes).is_err())
    })?;
    let mut bytes = [0u8; 32];
    File::from(reader)
        .read_exact(&mut bytes)
        .context("the writing child died before it reported")?;
    child.wait_success()?;
    let value = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    Ok(CowReport {
        private_before: value(0),
        private_after: value(1),
        pss_after: value(2),
        seconds: value(3) as f64 * 1e-9,
    })
}

/// Forks `count` children one after another, each exiting at once.
pub fn fork_many(count: usize) -> Result<()> {
    (0..count).try_for_each(|_| fork_and_wait())
}

/// The copy-on-write experiment: a parent fills a buffer, then children write
/// none, a quarter, or all of its pages; and `fork` is timed with the buffer
/// inherited and with it excluded (`MADV_DONTFORK`).
pub fn copy_on_write(ctx: &Context) -> Result<Measured> {
    let mib = ctx.option("buffer-mib") as usize;
    let rounds = ctx.pick(5, 3);
    let mut buffer = Mapping::private(mib << 20)
        .context("cannot allocate the buffer (try a smaller --buffer-mib)")?;
    // Ordinary pages on every machine, whatever its transparent-huge-page
    // setting: a 2 MiB page would make fork copy 512 times fewer entries.
    buffer.without_huge_pages()?;
    buffer.as_mut_slice().fill(1); // every page resident and the parent's own
    let mut m = Measured::new();
    m.param("buffer_bytes", buffer.len())
        .param("rounds", rounds);
    for (percent, step) in [(0, 0), (25, 4), (100, 1)] {
        let reports: Vec<CowReport> = (0..rounds)
            .map(|_| child_writes(&mut buffer, step))
            .collect::<Result<_>>()?;
        let added: Vec<f64> = reports
            .iter()
            .map(|r| r.private_after.saturating_sub(r.private_before) as f64)
            .collect();
        let share: Vec<f64> = added.iter().map(|a| a / buffer.len() as f64).collect();
        let pss: Vec<f64> = reports.iter().map(|r| r.pss_after as f64).collect();
        let seconds: Vec<f64> = reports.iter().map(|r| r.seconds).collect();
        let summary = |v: &[f64]| labkit::stats::Summary::of(v).expect("samples");
        let x = f64::from(percent);
        m.summary(
            &format!("added_{percent}"),
            &format!("child writes {percent}%: private memory added"),
            Unit::Bytes,
            summary(&added),
        )
        .at("private memory added", "pages written (%)", Unit::Count, x)
        .summary(
            &format!("pss_{percent}"),
            &format!("child writes {percent}%: its PSS after"),
            Unit::Bytes,
            summary(&pss),
        )
        .at("child's PSS after", "pages written (%)", Unit::Count, x)
        .summary(
            &format!("added_share_{percent}"),
            &format!("child writes {percent}%: added ÷ buffer"),
            Unit::Times,
            summary(&share),
        )
        .summary(
            &format!("write_s_{percent}"),
            &format!("child writes {percent}%: time"),
            Unit::Seconds,
            summary(&seconds),
        );
    }
    let forks = ctx.pick(20, 10);
    let buffer = &buffer;
    let mut variants = [
        Variant::new("fork, buffer inherited", || {
            buffer.inherit_on_fork(true)?;
            fork_many(forks)
        }),
        Variant::new("fork, buffer not inherited", || {
            buffer.inherit_on_fork(false)?;
            fork_many(forks)
        }),
        Variant::new("new program (true)", || {
            (0..forks).try_for_each(|_| start_program(Path::new("true")))
        }),
    ];
    let times = ctx.interleave(ctx.pick(9, 5), 1, &mut variants)?;
    buffer.inherit_on_fork(true)?;
    let each = 1.0 / forks as f64;
    let (inherited, excluded, program) = (
        "fork, buffer inherited",
        "fork, buffer not inherited",
        "new program (true)",
    );
    m.summary(
        "fork_inherited_s",
        "fork + wait, buffer inherited",
        Unit::Seconds,
        times.summary(inherited).scaled(each),
    )
    .bar()
    .summary(
        "fork_excluded_s",
        "fork + wait, buffer not inherited",
        Unit::Seconds,
        times.summary(excluded).scaled(each),
    )
    .bar()
    .summary(
        "program_s",
        "new program (true), buffer held",
        Unit::Seconds,
        times.summary(program).scaled(each),
    )
    .bar()
    .summary(
        "fork_buffer_cost",
        "fork with ÷ without the buffer",
        Unit::Times,
        times.speedup(inherited, excluded),
    )
    .summary(
        "fork_vs_program",
        "fork with the buffer ÷ new program",
        Unit::Times,
        times.speedup(inherited, program),
    );
    Ok(m)
}

// ANCHOR: scale
/// Starts `count` threads that each end at once, then joins them all.
pub fn create_threads(count: usize) {
    let handles: Vec<JoinHandle<()>> = (0..count).map(|_| thread::spawn(|| {})).collect();
    for handle in handles {
        handle.join().expect("an empty thread cannot panic");
    }
}

/// Forks `count` children that each exit at once, then waits for them all.
pub fn create_processes(count: usize) -> Result<()> {
    create_processes_running(count, |_| 0)
}

/// Forks `count` children that each run `work(index)`, then waits for them
/// all. If a fork fails or a child fails, the error returns at once, and the
/// children not yet waited for are killed and reaped when `children` is
/// dropped: none is left behind.
pub fn create_processes_running(count: usize, work: impl Fn(usize) -> i32) -> Result<()> {
    let children: Vec<Child> = (0..count)
        .map(|i| fork_child(|| work(i)))
        .collect::<Result<_>>()?;
    children.into_iter().try_for_each(Child::wait_success)
}
// ANCHOR_END: scale

/// The counts [`scale`] creates: powers of ten up to `max`, and `max`.
pub fn scale_counts(max: usize) -> Vec<usize> {
    let mut counts: Vec<usize> = [1, 10, 100, 1000, 10_000]
        .into_iter()
        .filter(|&c| c < max)
        .collect();
    counts.push(max);
    counts
}

/// Fails, before anything is spawned, when `count` more processes would run
/// into this user's process limit (`ulimit -u`).
pub fn check_process_limit(count: usize) -> Result<()> {
    use nix::sys::resource::{Resource, getrlimit};
    let (soft, _) = getrlimit(Resource::RLIMIT_NPROC).context("getrlimit failed")?;
    let running = std::fs::read_dir("/proc")?
        .filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
        })
        .count() as u64;
    if soft != nix::sys::resource::RLIM_INFINITY && running + count as u64 + 64 > soft {
        bail!(
            "--max-count {count} would exceed this user's process limit (ulimit -u = {soft}, about {running} running): choose a smaller --max-count"
        );
    }
    Ok(())
}

/// Time to create and finish 1, 10, 100, … threads vs processes.
pub fn scale(ctx: &Context) -> Result<Measured> {
    let max = ctx.option("max-count") as usize;
    check_process_limit(max)?;
    let counts = scale_counts(max);
    let rounds = ctx.pick(7, 3);
    let names: Vec<(usize, String, String)> = counts
        .iter()
        .map(|&c| (c, format!("{c} threads"), format!("{c} processes")))
        .collect();
    let mut variants = Vec::new();
    for (count, threads, processes) in &names {
        let count = *count;
        variants.push(Variant::new(threads, move || {
            create_threads(count);
            Ok(())
        }));
        variants.push(Variant::new(processes, move || create_processes(count)));
    }
    let times = ctx.interleave(rounds, 1, &mut variants)?;
    let mut m = Measured::new();
    m.param("rounds", rounds).param("max_count", max);
    for (count, threads, processes) in &names {
        let x = *count as f64;
        m.summary(
            &format!("threads_{count}"),
            threads,
            Unit::Seconds,
            times.summary(threads),
        )
        .at("threads", "created", Unit::Count, x)
        .summary(
            &format!("processes_{count}"),
            processes,
            Unit::Seconds,
            times.summary(processes),
        )
        .at("processes", "created", Unit::Count, x);
    }
    let (_, threads, processes) = names.last().expect("at least one count");
    m.summary(
        "processes_vs_threads",
        &format!("{processes} ÷ {threads}"),
        Unit::Times,
        times.speedup(processes, threads),
    );
    Ok(m)
}

/// CPython's operations: the name `creation.py` prints, and the row's label.
pub const PYTHON_OPERATIONS: [(&str, &str); 3] = [
    ("thread", "CPython: Thread start + join"),
    ("fork", "CPython: Process start + join (fork)"),
    ("spawn", "CPython: Process start + join (spawn)"),
];

/// Adds CPython's rows to the creation table: its three costs per start +
/// join (CPython timed them itself, its own start-up excluded) and two ratios.
fn record_python(m: &mut Measured, times: &Interleaved) {
    for (name, label) in PYTHON_OPERATIONS {
        m.seconds(times, name, &format!("python_{name}_s"), label)
            .bar();
    }
    m.speedup(
        times,
        "fork",
        "thread",
        "python_fork_vs_thread",
        "CPython: fork ÷ Thread",
    )
    .speedup(
        times,
        "spawn",
        "fork",
        "python_spawn_vs_fork",
        "CPython: spawn ÷ fork",
    );
}

/// The lab: its options, its experiments and the claims each one checks.
pub fn lab() -> Lab {
    Lab {
        id: "lab-02",
        title: "What a thread and a process cost",
        source_dir: env!("CARGO_MANIFEST_DIR"),
        options: vec![
            LabOption { name: "idle-threads", help: "Idle threads started at once to weigh one", default: 200, min: 1, max: 5000 },
            // At least 64 MiB: below that, fork's page-table copying is too
            // small to show beside the cost of starting a program.
            LabOption { name: "buffer-mib", help: "MiB the parent fills before its children write into it", default: 256, min: 64, max: 4096 },
            LabOption { name: "max-count", help: "Most threads and processes created at once", default: 1000, min: 1, max: 10_000 },
        ],
        experiments: vec![
            Experiment {
                name: "creation",
                title: "Creating a thread, a task, a process, a program",
                run: creation,
                claims: vec![
                    Claim::new("fork-vs-thread", "fork_vs_thread", Check::AtLeast(5.0),
                        "Creating a process (fork + waitpid) costs at least {threshold} as much as creating a thread (spawn + join)."),
                    Claim::new("program-vs-fork", "program_vs_fork", Check::AtLeast(2.0),
                        "Starting a new program costs at least {threshold} as much as forking this small process: exec loads a program and its libraries; fork copies page tables."),
                    Claim::new("pool-vs-thread", "thread_vs_rayon_batch", Check::AtLeast(30.0),
                        "Creating a thread for a task costs at least {threshold} as much as handing the task to a warm pool along with many others: the pool's threads already exist and take task after task."),
                    Claim::new("py-fork-vs-thread", "python_fork_vs_thread", Check::AtLeast(10.0),
                        "In CPython, starting and joining a Process (fork) costs at least {threshold} as much as a Thread.")
                        .needs_python(),
                    Claim::new("py-spawn-vs-fork", "python_spawn_vs_fork", Check::AtLeast(15.0),
                        "The spawn start method (a fresh interpreter) costs at least {threshold} as much as fork.")
                        .needs_python(),
                ],
            },
            Experiment {
                name: "memory",
                title: "Memory of an idle thread, child and program",
                run: memory,
                claims: vec![
                    Claim::new("idle-memory", "child_vs_thread", Check::AtLeast(10.0),
                        "An idle forked child has at least {threshold} as much private memory as an idle thread has resident memory (and its page tables come on top)."),
                ],
            },
            Experiment {
                name: "cow",
                title: "Copy-on-write: a child writes into inherited memory",
                run: copy_on_write,
                claims: vec![
                    Claim::new("cow-none", "added_0", Check::AtMost(1024.0 * 1024.0),
                        "A forked child that writes nothing into the buffer it inherited adds at most {threshold} of memory: nothing is copied until written."),
                    Claim::new("cow-all", "added_share_100", Check::AtLeast(0.99),
                        "A child that writes into every page of the buffer adds the whole buffer (at least {threshold} of it): separate memory is made when written."),
                    Claim::new("fork-big-parent", "fork_buffer_cost", Check::AtLeast(4.0),
                        "Forking a parent that holds the buffer costs at least {threshold} forking it with the buffer excluded (MADV_DONTFORK): fork copies page tables."),
                    Claim::new("fork-vs-program-big", "fork_vs_program", Check::AtLeast(2.5),
                        "With the buffer held, forking costs at least {threshold} starting a new program (posix_spawn does not copy the parent's page tables)."),
                ],
            },
            Experiment {
                name: "scale",
                title: "Creating many threads or processes",
                run: scale,
                claims: vec![
                    Claim::new("scale", "processes_vs_threads", Check::AtLeast(1.5),
                        "Creating and finishing the most processes of the run (--max-count) takes at least {threshold} as long as creating and finishing as many threads."),
                ],
            },
        ],
    }
}
