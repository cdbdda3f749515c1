//! A process pool like CPython's `ProcessPoolExecutor`: workers forked up
//! front, tasks named in a registry (a closure cannot cross a process
//! boundary — CPython pickles functions by name for the same reason),
//! arguments and results encoded with postcard and sent over pipes in
//! length-prefixed frames, `map` with a chunksize and results in order. A
//! task that panics fails alone; a worker that dies breaks the pool, as
//! `BrokenProcessPool` does: every unfinished task fails, no new work is
//! taken, nothing hangs. Every worker is reaped on every path.

use crate::ring::{Doorbell, Doorbells, Ring};
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

    /// Runs the function `name` on an encoded argument; a panic becomes an
    /// error with its message.
    fn run(&self, name: &str, argument: &[u8]) -> Result<Vec<u8>, String> {
        let function = self.functions.get(name).ok_or("no such task")?;
        catch_unwind(AssertUnwindSafe(|| (function.run)(argument)))
            .unwrap_or_else(|payload| Err(panic_message(&*payload)))
    }
}
// ANCHOR_END: registry

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Whether a function is registered under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.functions.contains_key(name)
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
}

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

/// Writes one frame: its length (4 bytes, little-endian), then its bytes,
/// in one `write`.
fn write_frame(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let length = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + bytes.len());
    frame.extend_from_slice(&length.to_le_bytes());
    frame.extend_from_slice(bytes);
    out.write_all(&frame)
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
/// until the pool closes its requests (end-of-file) or `max_tasks` tasks
/// are done (then the pool starts a fresh worker in its place).
fn serve(registry: &Registry, link: &mut impl WorkerLink, max_tasks: usize) -> i32 {
    let mut done = 0;
    while done < max_tasks {
        let Some(frame) = link.receive() else {
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
        let Some(bytes) = encode_reply(reply, link.largest_frame()) else {
            return 2;
        };
        if !link.send(&bytes) {
            return 3; // the pool is gone
        }
        done += request.arguments.len();
    }
    0
}
// ANCHOR_END: worker

/// The reply's frame; if it is larger than the link can carry, a reply
/// that says so for each of its tasks instead.
fn encode_reply(reply: Reply, largest: usize) -> Option<Vec<u8>> {
    let bytes = postcard::to_allocvec(&reply).ok()?;
    if bytes.len() + 4 <= largest {
        return Some(bytes);
    }
    let why = format!(
        "the chunk's results take {} bytes, more than the link carries: use a smaller chunksize",
        bytes.len()
    );
    let results = reply.results.iter().map(|_| Err(why.clone())).collect();
    postcard::to_allocvec(&Reply {
        chunk: reply.chunk,
        results,
    })
    .ok()
}

/// A worker's side of its link to the pool: frames in, frames out.
trait WorkerLink {
    /// The largest frame it carries, its length included.
    fn largest_frame(&self) -> usize;
    /// The next request, or `None` when the pool closed the link.
    fn receive(&mut self) -> Option<Vec<u8>>;
    /// Sends a reply; false when the pool is gone.
    fn send(&mut self, frame: &[u8]) -> bool;
}

/// A worker's ends of its two pipes.
struct PipeEnds {
    requests: File,
    replies: File,
}

impl WorkerLink for PipeEnds {
    fn largest_frame(&self) -> usize {
        u32::MAX as usize
    }

    fn receive(&mut self) -> Option<Vec<u8>> {
        read_frame(&mut self.requests).ok().flatten()
    }

    fn send(&mut self, frame: &[u8]) -> bool {
        write_frame(&mut self.replies, frame).is_ok()
    }
}

/// A worker's ends of its two rings, with the doorbells: its own (rung
/// when a request comes) and the pool's (rung with every reply).
struct RingEnds<'a> {
    requests: &'a Ring,
    replies: &'a Ring,
    mine: &'a Doorbell,
    pools: &'a Doorbell,
    parent: nix::unistd::Pid,
}

impl RingEnds<'_> {
    /// Whether the pool's process still lives: an orphaned worker is
    /// adopted by another process and sees another parent.
    fn pool_alive(&self) -> bool {
        nix::unistd::getppid() == self.parent
    }
}

impl WorkerLink for RingEnds<'_> {
    fn largest_frame(&self) -> usize {
        crate::ring::RING_BYTES
    }

    fn receive(&mut self) -> Option<Vec<u8>> {
        let (requests, parent) = (self.requests, self.parent);
        let alive = || nix::unistd::getppid() == parent;
        if !self.mine.wait(|| requests.readable(), alive) {
            return None;
        }
        requests.try_recv().flatten()
    }

    fn send(&mut self, frame: &[u8]) -> bool {
        // Only a send that must wait for space asks whether the pool lives.
        let alive = || self.pool_alive();
        self.replies.send(frame, self.pools, alive).is_ok()
    }
}

/// How the pool talks to its workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A pipe each way: a system call per frame on both sides.
    Pipes,
    /// A ring of shared memory each way, futex wake-ups only for sleepers.
    SharedMemory,
}

/// The pool's ends of one worker's link.
enum Link {
    Pipes { requests: File, replies: File },
    Rings { requests: Ring, replies: Ring },
}

/// The pool's side of one worker.
struct Worker {
    child: Child,
    link: Link,
    /// Chunks sent and not answered yet, oldest first, with their bytes.
    in_flight: VecDeque<(usize, usize)>,
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
    /// Pipes or shared-memory rings.
    pub transport: Transport,
}

impl PoolOptions {
    /// `workers` workers over pipes, never replaced.
    pub fn workers(workers: usize) -> PoolOptions {
        PoolOptions {
            workers,
            max_tasks_per_child: None,
            transport: Transport::Pipes,
        }
    }
}

/// Bytes of requests in flight to one worker, at most: within a pipe's
/// 64 KiB buffer and a ring's, so that the pool's writes never block (while
/// the worker could be blocked writing a reply the pool is not reading).
const IN_FLIGHT_BYTES: usize = 48 << 10;
/// Chunks in flight to one worker, at most: a worker that finishes one
/// finds the next already waiting, without a round trip.
const IN_FLIGHT_CHUNKS: usize = 8;

// ANCHOR: pool
/// Worker processes forked up front, fed through pipes (or rings of shared
/// memory, see `ring.rs`).
pub struct ProcessPool {
    registry: Registry,
    options: PoolOptions,
    /// With rings: a doorbell per worker slot, and the pool's own last.
    bells: Doorbells,
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
            bells: Doorbells::new(options.workers + 1)?,
            workers: (0..options.workers).map(|_| None).collect(),
            broken: None,
        };
        for slot in 0..options.workers {
            pool.workers[slot] = Some(pool.start_worker(slot)?);
        }
        Ok(pool)
    }
    // ANCHOR_END: pool

    // ANCHOR: start_worker
    /// Forks one worker with a pipe each way. The child closes every other
    /// descriptor it inherited: a worker that kept another worker's request
    /// pipe open would keep that worker from ever seeing end-of-file when
    /// the pool shuts down.
    fn start_worker(&self, slot: usize) -> Result<Worker> {
        if self.options.transport == Transport::SharedMemory {
            return self.start_ring_worker(slot);
        }
        let (request_reader, request_writer) = pipe().context("pipe failed")?;
        let (reply_reader, reply_writer) = pipe().context("pipe failed")?;
        let max_tasks = self.options.max_tasks_per_child.unwrap_or(usize::MAX);
        let registry = &self.registry;
        let own = [request_reader.as_raw_fd(), reply_writer.as_raw_fd()];
        let child = fork_child(move || {
            close_inherited(own);
            std::panic::set_hook(Box::new(|_| {})); // a task's panic is reported, not printed
            let mut ends = PipeEnds {
                requests: File::from(request_reader),
                replies: File::from(reply_writer),
            };
            serve(registry, &mut ends, max_tasks)
        })?;
        let link = Link::Pipes {
            requests: File::from(request_writer),
            replies: File::from(reply_reader),
        };
        Ok(Worker {
            child,
            link,
            in_flight: VecDeque::new(),
            sent: 0,
        })
    }
    // ANCHOR_END: start_worker

    /// Forks one worker with a ring each way (made before the fork, so that
    /// both processes map the same memory).
    fn start_ring_worker(&self, slot: usize) -> Result<Worker> {
        let (requests, replies) = (Ring::new()?, Ring::new()?);
        let max_tasks = self.options.max_tasks_per_child.unwrap_or(usize::MAX);
        let (registry, bells) = (&self.registry, &self.bells);
        let parent = nix::unistd::getpid();
        let child = fork_child(|| {
            close_inherited([-1, -1]); // a ring worker needs no descriptor
            std::panic::set_hook(Box::new(|_| {}));
            let mut ends = RingEnds {
                requests: &requests,
                replies: &replies,
                mine: bells.get(slot),
                pools: bells.get(self.options.workers),
                parent,
            };
            serve(registry, &mut ends, max_tasks)
        })?;
        Ok(Worker {
            child,
            link: Link::Rings { requests, replies },
            in_flight: VecDeque::new(),
            sent: 0,
        })
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
        let chunks = encode_chunks(name, items, chunksize)?;
        let replies = self.run_chunks(chunks)?;
        Ok(decode_results(replies, items.len(), chunksize))
    }
}

/// A request ready to send: its frame, and how many tasks it carries.
struct Chunk {
    frame: Vec<u8>,
    tasks: usize,
}

/// Encodes every item, `chunksize` to a request, and refuses a request too
/// large to be in flight (see [`IN_FLIGHT_BYTES`]).
fn encode_chunks<A: Serialize>(name: &str, items: &[A], chunksize: usize) -> Result<Vec<Chunk>> {
    let encoded: Vec<Vec<u8>> = items
        .iter()
        .map(|item| postcard::to_allocvec(item).context("cannot encode an argument"))
        .collect::<Result<_>>()?;
    encoded
        .chunks(chunksize)
        .enumerate()
        .map(|(chunk, arguments)| {
            let request = Request {
                chunk,
                name: name.to_string(),
                arguments: arguments.to_vec(),
            };
            let frame = postcard::to_allocvec(&request)?;
            ensure!(
                frame.len() + 4 <= IN_FLIGHT_BYTES,
                "a chunk of {} tasks encodes to {} bytes, more than this pool keeps in flight ({IN_FLIGHT_BYTES}): use a smaller chunksize",
                arguments.len(),
                frame.len()
            );
            Ok(Chunk {
                frame,
                tasks: arguments.len(),
            })
        })
        .collect()
}

/// What encoding costs, without the pool: every item goes through what a
/// task at chunksize 1 goes through — its request encoded and decoded, a
/// reply with its result encoded and decoded — in this process, with no
/// pipe and no worker. Returns a checksum of the results.
pub fn encode_and_decode_only(name: &str, items: &[u64]) -> Result<u64> {
    let mut sum = 0u64;
    for chunk in encode_chunks(name, items, 1)? {
        let request: Request = postcard::from_bytes(&chunk.frame)?;
        let argument: u64 = postcard::from_bytes(&request.arguments[0])?;
        let result = postcard::to_allocvec(&argument.wrapping_add(1))?;
        let reply = Reply {
            chunk: request.chunk,
            results: vec![Ok(result)],
        };
        let frame = postcard::to_allocvec(&reply)?;
        let reply: Reply = postcard::from_bytes(&frame)?;
        let bytes = reply.results[0]
            .as_ref()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        sum = sum.wrapping_add(postcard::from_bytes::<u64>(bytes)?);
    }
    Ok(sum)
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
    fn run_chunks(&mut self, chunks: Vec<Chunk>) -> Result<Vec<ChunkReply>> {
        let mut chunks: Vec<Option<Chunk>> = chunks.into_iter().map(Some).collect();
        let mut replies: Vec<Option<ChunkReply>> = chunks.iter().map(|_| None).collect();
        let mut waiting: VecDeque<usize> = (0..chunks.len()).collect();
        let mut answered = 0;
        for slot in 0..self.workers.len() {
            self.feed(slot, &mut chunks, &mut waiting);
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
                    self.feed(slot, &mut chunks, &mut waiting);
                }
            }
        }
        let why = TaskError::BrokenPool(self.broken.clone().unwrap_or_default());
        Ok(replies
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(why.clone())))
            .collect())
    }

    /// Sends waiting chunks to worker `slot` while it has fewer than
    /// [`IN_FLIGHT_CHUNKS`] and [`IN_FLIGHT_BYTES`] in flight and task budget
    /// left. The bytes in flight always fit in the pipe's or ring's buffer,
    /// so this never blocks: the pool always gets back to reading replies,
    /// and a worker blocked writing a long reply is always unblocked.
    fn feed(&mut self, slot: usize, chunks: &mut [Option<Chunk>], waiting: &mut VecDeque<usize>) {
        let budget = self.options.max_tasks_per_child.unwrap_or(usize::MAX);
        let bell = self.bells.get(slot);
        let Some(worker) = self.workers[slot].as_mut() else {
            return;
        };
        while worker.in_flight.len() < IN_FLIGHT_CHUNKS && worker.sent < budget {
            let Some(&next) = waiting.front() else {
                return;
            };
            let size = chunks[next].as_ref().map_or(0, |c| c.frame.len() + 4);
            let in_flight: usize = worker.in_flight.iter().map(|&(_, bytes)| bytes).sum();
            if in_flight + size > IN_FLIGHT_BYTES {
                return;
            }
            waiting.pop_front();
            let chunk = chunks[next].take().expect("each chunk is sent once");
            worker.sent += chunk.tasks;
            // Counted in flight even if sending fails: a worker that died
            // then owes a reply, and waiting for it finds it dead.
            worker.in_flight.push_back((next, size));
            let sent = match &mut worker.link {
                Link::Pipes { requests, .. } => write_frame(requests, &chunk.frame).is_ok(),
                Link::Rings { requests, .. } => {
                    let child = &worker.child;
                    let alive = || !child.has_ended();
                    requests.send(&chunk.frame, bell, alive).is_ok()
                }
            };
            if !sent {
                return;
            }
        }
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
        match self.options.transport {
            Transport::Pipes => self.poll_pipes(&slots),
            Transport::SharedMemory => Ok(self.wait_rings(&slots)),
        }
    }

    /// The slots whose reply pipe has a frame or has ended, waiting for one.
    fn poll_pipes(&self, slots: &[usize]) -> Result<Vec<usize>> {
        let mut fds: Vec<PollFd> = slots
            .iter()
            .filter_map(|&s| match &self.workers[s].as_ref()?.link {
                Link::Pipes { replies, .. } => {
                    Some(PollFd::new(replies.as_fd(), PollFlags::POLLIN))
                }
                Link::Rings { .. } => None,
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

    /// The slots whose reply ring has a frame, waiting for one; or, when
    /// none comes and a worker has ended, those that ended.
    fn wait_rings(&self, slots: &[usize]) -> Vec<usize> {
        let worker = |s: usize| self.workers[s].as_ref().expect("listed");
        let readable = |s: usize| match &worker(s).link {
            Link::Rings { replies, .. } => replies.readable(),
            Link::Pipes { .. } => false,
        };
        let ended = |s: usize| worker(s).child.has_ended();
        let mine = self.bells.get(self.options.workers);
        let any_reply = || slots.iter().any(|&s| readable(s));
        let all_alive = || !slots.iter().any(|&s| ended(s));
        if mine.wait(any_reply, all_alive) {
            slots.iter().copied().filter(|&s| readable(s)).collect()
        } else {
            slots.iter().copied().filter(|&s| ended(s)).collect()
        }
    }

    /// Reads worker `slot`'s next reply, or learns that it ended.
    fn hear(&mut self, slot: usize) -> Result<Heard> {
        let worker = self.workers[slot].as_mut().expect("a ready worker exists");
        let frame = match &mut worker.link {
            Link::Pipes { replies, .. } => read_frame(replies).ok().flatten(),
            Link::Rings { replies, .. } => replies.try_recv().flatten(),
        };
        let Some(frame) = frame else {
            return Ok(Heard::Ended);
        };
        let reply: Reply = postcard::from_bytes(&frame).context("a garbled reply")?;
        ensure!(
            worker.in_flight.pop_front().map(|(chunk, _)| chunk) == Some(reply.chunk),
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
            self.workers[slot] = Some(self.start_worker(slot)?);
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
        for (slot, worker) in self.workers.iter().enumerate() {
            if let Some(Worker {
                link: Link::Rings { requests, .. },
                ..
            }) = worker
            {
                requests.close(self.bells.get(slot));
            }
        }
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

/// In a freshly forked worker: closes every descriptor above the standard
/// three but the two in `keep` — whatever pool, pipe or file of the parent
/// they belong to.
fn close_inherited(mut keep: [RawFd; 2]) {
    keep.sort_unstable();
    let mut first: RawFd = 3;
    for fd in keep {
        if fd >= first {
            close_range(first, fd - 1);
            first = fd + 1;
        }
    }
    close_range(first, RawFd::MAX);
}

/// Closes descriptors `first..=last` (`close_range`, Linux 5.9 and later;
/// one by one up to 4096 on an older kernel).
fn close_range(first: RawFd, last: RawFd) {
    if first > last {
        return;
    }
    // SAFETY: closes descriptors of this (child) process, which uses none of them.
    let done =
        unsafe { nix::libc::syscall(nix::libc::SYS_close_range, first as u32, last as u32, 0) };
    if done != 0 {
        for fd in first..=last.min(4096) {
            // SAFETY: as above.
            unsafe { nix::libc::close(fd) };
        }
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
