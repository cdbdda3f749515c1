//! A process pool like CPython's `ProcessPoolExecutor`: workers forked up
//! front, tasks named in a registry (a closure cannot cross a process
//! boundary — CPython pickles functions by name for the same reason),
//! arguments and results encoded with postcard and sent over pipes in
//! length-prefixed frames, `map` with a chunksize and results in order. A
//! task that panics fails alone; a worker that dies breaks the pool, as
//! `BrokenProcessPool` does: every unfinished task fails, no new work is
//! taken, nothing hangs. Every worker is reaped on every path.

use crate::thread_pool::{TaskError, panic_message};
use anyhow::{Context as _, Result, bail, ensure};
use labkit::child::{Child, fork_child};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::WaitStatus;
use nix::unistd::pipe;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::{TypeId, type_name};
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// Encoded argument in, encoded result (or why there is none) out.
type Encoded = dyn Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync;

/// One task's encoded result, or the panic's message.
type TaskReply = Result<Vec<u8>, String>;

/// One chunk's replies, or why it has none.
type ChunkReply = Result<Vec<TaskReply>, TaskError>;

/// A registered function: encoded argument in, encoded result out, and the
/// types it was registered with (the bytes alone do not say).
struct Function {
    run: Box<Encoded>,
    types: (TypeId, TypeId),
    names: (&'static str, &'static str),
}

// ANCHOR: registry
/// The functions a process pool can run, by name. The workers are forked
/// from the process that built it, so they have the same functions at the
/// same addresses: only the name and the encoded argument travel.
#[derive(Default)]
pub struct Registry {
    functions: BTreeMap<&'static str, Function>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `function` under `name`.
    pub fn register<A, R>(&mut self, name: &'static str, function: fn(A) -> R) -> &mut Self
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        let run = move |bytes: &[u8]| -> Result<Vec<u8>, String> {
            let argument: A = postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
            postcard::to_allocvec(&function(argument)).map_err(|e| e.to_string())
        };
        let function = Function {
            run: Box::new(run),
            types: (TypeId::of::<A>(), TypeId::of::<R>()),
            names: (type_name::<A>(), type_name::<R>()),
        };
        self.functions.insert(name, function);
        self
    }

    /// Checks that task `name` exists and takes `A` and returns `R`: postcard
    /// would happily decode an `i32`'s bytes as a `u64`, wrongly.
    fn check<A: 'static, R: 'static>(&self, name: &str) -> Result<(), TaskError> {
        let function = self
            .functions
            .get(name)
            .ok_or_else(|| TaskError::UnknownTask(name.to_string()))?;
        if function.types != (TypeId::of::<A>(), TypeId::of::<R>()) {
            let (takes, gives) = function.names;
            return Err(TaskError::WrongTypes(format!(
                "{name}: it takes {takes} and returns {gives}, not {} → {}",
                type_name::<A>(),
                type_name::<R>()
            )));
        }
        Ok(())
    }

    /// Whether a function is registered under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.functions.contains_key(name)
    }

    /// Runs the function `name` on an encoded argument; a panic becomes an
    /// error with its message.
    fn run(&self, name: &str, argument: &[u8]) -> Result<Vec<u8>, String> {
        let function = self.functions.get(name).ok_or("no such task")?;
        catch_unwind(AssertUnwindSafe(|| (function.run)(argument)))
            .unwrap_or_else(|payload| Err(panic_message(&*payload)))
    }
}
// ANCHOR_END: registry

/// A chunk of tasks sent to a worker.
#[derive(Serialize, Deserialize)]
struct Request {
    chunk: usize,
    name: String,
    arguments: Vec<Vec<u8>>,
}

/// A worker's answer: one encoded result (or panic message) per task.
#[derive(Serialize, Deserialize)]
struct Reply {
    chunk: usize,
    results: Vec<TaskReply>,
}

/// Writes one frame: its length (4 bytes, little-endian), then its bytes.
fn write_frame(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let length = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    out.write_all(&length.to_le_bytes())?;
    out.write_all(bytes)
}

/// Reads one frame; `None` at end-of-file (the other side closed its end).
pub fn read_frame(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 4];
    match input.read_exact(&mut length) {
        Err(err) if err.kind() == ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let mut bytes = vec![0u8; u32::from_le_bytes(length) as usize];
    input.read_exact(&mut bytes)?;
    Ok(Some(bytes))
}

// ANCHOR: worker
/// A worker's life: read a chunk, run its tasks, send the results back,
/// until the pool closes the request pipe (end-of-file) or `max_tasks`
/// tasks are done (then the pool starts a fresh worker in its place).
fn serve(registry: &Registry, mut requests: File, mut replies: File, max_tasks: usize) -> i32 {
    let mut done = 0;
    while done < max_tasks {
        let Ok(Some(frame)) = read_frame(&mut requests) else {
            return 0; // the pool shut down
        };
        let Ok(request) = postcard::from_bytes::<Request>(&frame) else {
            return 2;
        };
        let results = request
            .arguments
            .iter()
            .map(|argument| registry.run(&request.name, argument))
            .collect();
        let reply = Reply {
            chunk: request.chunk,
            results,
        };
        let Ok(bytes) = postcard::to_allocvec(&reply) else {
            return 2;
        };
        if write_frame(&mut replies, &bytes).is_err() {
            return 3; // the pool is gone
        }
        done += request.arguments.len();
    }
    0
}
// ANCHOR_END: worker

/// The pool's side of one worker.
struct Worker {
    child: Child,
    requests: File,
    replies: File,
    /// Chunks sent and not answered yet, oldest first.
    in_flight: VecDeque<usize>,
    /// Tasks sent to it in all: it retires after `max_tasks_per_child`.
    sent: usize,
}

/// How a pool is set up.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Worker processes.
    pub workers: usize,
    /// Tasks a worker runs before it is replaced (CPython's
    /// `max_tasks_per_child`); `None`: never replaced.
    pub max_tasks_per_child: Option<usize>,
}

/// Bytes of requests in flight to one worker, at most: less than a pipe's
/// 64 KiB buffer, so that the pool's writes never block while the worker
/// is blocked writing a reply the pool is not reading yet.
const IN_FLIGHT_BYTES: usize = 48 << 10;
/// Chunks in flight to one worker, at most: a worker that finishes one
/// finds the next already waiting, without a round trip.
const IN_FLIGHT_CHUNKS: usize = 8;

// ANCHOR: pool
/// Worker processes forked up front, fed through pipes.
pub struct ProcessPool {
    registry: Registry,
    options: PoolOptions,
    workers: Vec<Option<Worker>>,
    broken: Option<String>,
}

impl ProcessPool {
    /// Forks `options.workers` workers. Fork before starting threads: a
    /// child gets only the thread that forked, and a lock another thread
    /// held at that moment stays locked in the child forever.
    pub fn new(registry: Registry, options: PoolOptions) -> Result<ProcessPool> {
        ensure!(options.workers > 0, "a pool needs at least one worker");
        ensure!(
            options.max_tasks_per_child != Some(0),
            "max_tasks_per_child must be at least 1"
        );
        let mut pool = ProcessPool {
            registry,
            options,
            workers: (0..options.workers).map(|_| None).collect(),
            broken: None,
        };
        for slot in 0..options.workers {
            pool.workers[slot] = Some(pool.start_worker()?);
        }
        Ok(pool)
    }

    /// Forks one worker with a pipe each way. The child closes its copies of
    /// the other workers' pipe ends: if it kept them, a worker whose pool
    /// closed its request pipe would never see end-of-file, and a dead
    /// worker's replies would never end either.
    fn start_worker(&self) -> Result<Worker> {
        let (request_reader, request_writer) = pipe().context("pipe failed")?;
        let (reply_reader, reply_writer) = pipe().context("pipe failed")?;
        let others = self.pipe_ends();
        let max_tasks = self.options.max_tasks_per_child.unwrap_or(usize::MAX);
        let registry = &self.registry;
        let parent_ends = [request_writer.as_raw_fd(), reply_reader.as_raw_fd()];
        let child = fork_child(move || {
            for fd in others.iter().chain(&parent_ends) {
                // SAFETY: closing descriptors this child inherited and never uses.
                unsafe { nix::libc::close(*fd) };
            }
            std::panic::set_hook(Box::new(|_| {})); // a task's panic is reported, not printed
            serve(
                registry,
                File::from(request_reader),
                File::from(reply_writer),
                max_tasks,
            )
        })?;
        Ok(Worker {
            child,
            requests: File::from(request_writer),
            replies: File::from(reply_reader),
            in_flight: VecDeque::new(),
            sent: 0,
        })
    }
    // ANCHOR_END: pool

    /// The pool's ends of every worker's pipes.
    fn pipe_ends(&self) -> Vec<RawFd> {
        self.workers
            .iter()
            .flatten()
            .flat_map(|w| [w.requests.as_raw_fd(), w.replies.as_raw_fd()])
            .collect()
    }

    /// The workers' process ids.
    pub fn pids(&self) -> Vec<nix::unistd::Pid> {
        self.workers
            .iter()
            .flatten()
            .map(|w| w.child.pid())
            .collect()
    }

    /// Why the pool is broken, if it is.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Runs the task `name` on every item, `chunksize` items per message,
    /// and returns the results in the items' order. Fails before sending
    /// anything if the name is not registered or the pool is broken.
    pub fn map<A, R>(
        &mut self,
        name: &str,
        items: &[A],
        chunksize: usize,
    ) -> Result<Vec<Result<R, TaskError>>>
    where
        A: Serialize + 'static,
        R: DeserializeOwned + 'static,
    {
        ensure!(chunksize > 0, "chunksize must be at least 1");
        self.registry.check::<A, R>(name)?;
        if let Some(why) = &self.broken {
            bail!(TaskError::BrokenPool(why.clone()));
        }
        let chunks = encode_chunks(items, chunksize)?;
        let replies = self.run_chunks(name, chunks)?;
        Ok(decode_results(replies, items.len(), chunksize))
    }
}

/// Encodes every item and groups them `chunksize` at a time.
fn encode_chunks<A: Serialize>(items: &[A], chunksize: usize) -> Result<Vec<Vec<Vec<u8>>>> {
    let encoded: Vec<Vec<u8>> = items
        .iter()
        .map(|item| postcard::to_allocvec(item).context("cannot encode an argument"))
        .collect::<Result<_>>()?;
    let chunks: Vec<Vec<Vec<u8>>> = encoded.chunks(chunksize).map(<[_]>::to_vec).collect();
    for chunk in &chunks {
        let bytes: usize = chunk.iter().map(Vec::len).sum();
        ensure!(
            bytes + 64 <= IN_FLIGHT_BYTES,
            "a chunk of {} tasks encodes to {bytes} bytes, more than this pool sends at once ({IN_FLIGHT_BYTES}): use a smaller chunksize",
            chunk.len()
        );
    }
    Ok(chunks)
}

/// Turns each chunk's reply (or the reason it has none) into one result per task.
fn decode_results<R: DeserializeOwned>(
    replies: Vec<ChunkReply>,
    tasks: usize,
    chunksize: usize,
) -> Vec<Result<R, TaskError>> {
    let mut results = Vec::with_capacity(tasks);
    for (index, reply) in replies.into_iter().enumerate() {
        let size = chunksize.min(tasks - index * chunksize);
        match reply {
            Ok(encoded) => results.extend(encoded.into_iter().map(|r| {
                match r {
                    Ok(bytes) => postcard::from_bytes(&bytes)
                        .map_err(|e| TaskError::Panicked(format!("undecodable result: {e}"))),
                    Err(message) => Err(TaskError::Panicked(message)),
                }
            })),
            Err(why) => results.extend((0..size).map(|_| Err(why.clone()))),
        }
    }
    results
}

/// What a worker's reply pipe gave: a reply, or the end of the worker.
enum Heard {
    Reply(Reply),
    Ended,
}

impl ProcessPool {
    /// Sends every chunk and collects every reply, keeping each worker's
    /// queue full; a dead worker breaks the pool and fails what is left.
    fn run_chunks(&mut self, name: &str, chunks: Vec<Vec<Vec<u8>>>) -> Result<Vec<ChunkReply>> {
        let largest = chunks
            .iter()
            .map(|c| c.iter().map(Vec::len).sum::<usize>() + 64)
            .max();
        let depth = (IN_FLIGHT_BYTES / largest.unwrap_or(1).max(1)).clamp(1, IN_FLIGHT_CHUNKS);
        let mut chunks: Vec<Option<Vec<Vec<u8>>>> = chunks.into_iter().map(Some).collect();
        let mut replies: Vec<Option<ChunkReply>> = chunks.iter().map(|_| None).collect();
        let mut waiting: VecDeque<usize> = (0..chunks.len()).collect();
        let mut answered = 0;
        for slot in 0..self.workers.len() {
            self.feed(slot, name, &mut chunks, &mut waiting, depth)?;
        }
        while answered < replies.len() && self.broken.is_none() {
            for slot in self.ready_workers()? {
                match self.hear(slot)? {
                    Heard::Reply(reply) => {
                        answered += 1;
                        replies[reply.chunk] = Some(Ok(reply.results));
                    }
                    Heard::Ended => self.worker_ended(slot)?,
                }
                if self.broken.is_none() {
                    self.feed(slot, name, &mut chunks, &mut waiting, depth)?;
                }
            }
        }
        let why = TaskError::BrokenPool(self.broken.clone().unwrap_or_default());
        Ok(replies
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(why.clone())))
            .collect())
    }

    /// Sends waiting chunks to worker `slot` until it has `depth` in flight
    /// or its task budget is spent.
    fn feed(
        &mut self,
        slot: usize,
        name: &str,
        chunks: &mut [Option<Vec<Vec<u8>>>],
        waiting: &mut VecDeque<usize>,
        depth: usize,
    ) -> Result<()> {
        let budget = self.options.max_tasks_per_child.unwrap_or(usize::MAX);
        let Some(worker) = self.workers[slot].as_mut() else {
            return Ok(());
        };
        while worker.in_flight.len() < depth && worker.sent < budget {
            let Some(chunk) = waiting.pop_front() else {
                return Ok(());
            };
            let arguments = chunks[chunk].take().expect("each chunk is sent once");
            worker.sent += arguments.len();
            let request = Request {
                chunk,
                name: name.to_string(),
                arguments,
            };
            let bytes = postcard::to_allocvec(&request)?;
            if write_frame(&mut worker.requests, &bytes).is_err() {
                // The worker is gone: its reply pipe will say so.
                return Ok(());
            }
            worker.in_flight.push_back(chunk);
        }
        Ok(())
    }

    /// The workers with a reply (or an end) to read, waiting for one.
    fn ready_workers(&self) -> Result<Vec<usize>> {
        let budget = self.options.max_tasks_per_child.unwrap_or(usize::MAX);
        // Those that owe replies, and those that spent their budget and are
        // about to exit (to be replaced).
        let slots: Vec<usize> = (0..self.workers.len())
            .filter(|&s| {
                self.workers[s]
                    .as_ref()
                    .is_some_and(|w| !w.in_flight.is_empty() || w.sent >= budget)
            })
            .collect();
        ensure!(
            !slots.is_empty(),
            "tasks are left but no worker owes a reply"
        );
        let mut fds: Vec<PollFd> = slots
            .iter()
            .map(|&s| {
                let worker = self.workers[s].as_ref().expect("listed");
                PollFd::new(worker.replies.as_fd(), PollFlags::POLLIN)
            })
            .collect();
        loop {
            match poll(&mut fds, PollTimeout::from(1000u16)) {
                Ok(0) => continue, // nothing yet: a long task
                Ok(_) => break,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(err) => return Err(err).context("poll failed"),
            }
        }
        Ok(slots
            .iter()
            .zip(&fds)
            .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(&slot, _)| slot)
            .collect())
    }

    /// Reads worker `slot`'s next reply, or learns that it ended.
    fn hear(&mut self, slot: usize) -> Result<Heard> {
        let worker = self.workers[slot].as_mut().expect("a ready worker exists");
        let Ok(Some(frame)) = read_frame(&mut worker.replies) else {
            return Ok(Heard::Ended);
        };
        let reply: Reply = postcard::from_bytes(&frame).context("a garbled reply")?;
        ensure!(
            worker.in_flight.pop_front() == Some(reply.chunk),
            "a worker answered out of order"
        );
        Ok(Heard::Reply(reply))
    }

    /// Worker `slot` ended: reap it. A worker that ran its budget is
    /// replaced; any other end — a crash, a kill — breaks the pool.
    fn worker_ended(&mut self, slot: usize) -> Result<()> {
        let worker = self.workers[slot].take().expect("it was running");
        let budget = self.options.max_tasks_per_child.unwrap_or(usize::MAX);
        let pid = worker.child.pid();
        let retired = worker.in_flight.is_empty() && worker.sent >= budget;
        let status = worker.child.wait()?;
        if retired && matches!(status, WaitStatus::Exited(_, 0)) {
            self.workers[slot] = Some(self.start_worker()?);
        } else {
            self.broken = Some(format!("worker {pid} ended: {}", describe(status)));
        }
        Ok(())
    }

    /// Closes every request pipe, so that each worker reads end-of-file and
    /// exits, and waits for them all (killing any still running after
    /// `limit`). Returns how each ended.
    pub fn shutdown(mut self, limit: Duration) -> Vec<WaitStatus> {
        self.stop(limit)
    }

    fn stop(&mut self, limit: Duration) -> Vec<WaitStatus> {
        let workers: Vec<Worker> = self.workers.iter_mut().filter_map(Option::take).collect();
        let children: Vec<Child> = workers.into_iter().map(|w| w.child).collect(); // pipes closed
        let until = Instant::now() + limit;
        while Instant::now() < until && !children.iter().all(Child::has_ended) {
            std::thread::sleep(Duration::from_millis(1));
        }
        // A worker still running now is killed and reaped by `Child::drop`.
        children
            .into_iter()
            .map(|child| {
                if child.has_ended() {
                    child.wait().ok()
                } else {
                    None
                }
            })
            .map(|status| status.unwrap_or(WaitStatus::StillAlive))
            .collect()
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

/// How a worker ended, in words.
fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with code {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("killed by {signal}"),
        other => format!("{other:?}"),
    }
}
