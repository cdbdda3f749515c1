//! The runtime: what all threads of one interpreter share — the program,
//! the module's globals, the GIL (or none, free-threaded), the output, and
//! the threads and processes it started — and the objects behind
//! `threading.Thread`, `multiprocessing.Process` and `threading.Lock`.

use super::code::Program;
use super::compiler::compile;
use super::gil::Gil;
use super::timeline::{Event, Timeline};
use super::value::{Value, lock_list};
use super::vm::Vm;
use super::{Error, PyError};
use labkit::child::Child;
use nix::unistd::Pid;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Stack size of interpreter threads: deep enough for the recursion limit.
pub const THREAD_STACK: usize = 64 << 20;

/// How a program runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// With a GIL (like CPython 3.11), or free-threaded (like 3.13t).
    pub gil: bool,
    /// CPython's `sys.getswitchinterval()`: 5 ms by default.
    pub switch_interval: Duration,
    /// CPython's FORCE_SWITCHING; off only to show what it is for.
    pub forced_switching: bool,
    /// Record a timeline of lock events.
    pub timeline: bool,
    /// Keep the program's output (and its child processes') in the report
    /// instead of writing it to standard output.
    pub capture: bool,
    /// `sys.argv[1:]`.
    pub args: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            gil: true,
            switch_interval: Duration::from_millis(5),
            forced_switching: true,
            timeline: false,
            capture: false,
            args: Vec::new(),
        }
    }
}

/// What a run produced besides its output on stdout.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The output, when it was captured.
    pub output: String,
    /// Wall-clock seconds, start to end (all threads joined).
    pub seconds: f64,
    /// How many times the GIL passed between threads.
    pub switches: u64,
    /// How many drop requests waiting threads made.
    pub drop_requests: u64,
    /// The timeline, when it was recorded.
    pub events: Vec<Event>,
    /// Errors that ended threads other than the main one.
    pub thread_errors: Vec<String>,
    /// The stretches each thread spent running bytecode, as each thread
    /// timed them itself: (thread, from, to) in seconds since the start
    /// (recorded with the timeline).
    pub running: Vec<(usize, f64, f64)>,
}

/// Where `print` writes.
#[derive(Debug, Clone)]
pub enum Output {
    /// A file descriptor, written directly: a forked child must not touch
    /// the standard library's stdout lock, which another thread of its
    /// parent may have held at the moment of the fork.
    Fd(RawFd),
    /// Kept in memory.
    Capture(Arc<Mutex<Vec<u8>>>),
}

impl Output {
    /// Writes `bytes`; a closed pipe is not an error for a program.
    pub fn write(&self, bytes: &[u8]) {
        match self {
            Output::Capture(buffer) => buffer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(bytes),
            Output::Fd(fd) => {
                // SAFETY: the descriptor stays open for the whole run (it is
                // stdout, or a pipe end the runtime owns until it exits).
                let fd = unsafe { BorrowedFd::borrow_raw(*fd) };
                write_all(fd, bytes);
            }
        }
    }
}

/// Writes all of `bytes` to `fd`, giving up on an error.
pub fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(0) => return,
            Ok(n) => bytes = &bytes[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// A thread's or process's life.
#[derive(Debug)]
pub enum Started<H> {
    /// Created, not started.
    New,
    /// Started, not joined yet.
    Running(H),
    /// Joined.
    Joined,
}

/// A `threading.Thread`.
#[derive(Debug)]
pub struct ThreadObject {
    /// `Thread-1`, `Thread-2`, …
    pub name: String,
    /// The function it runs.
    pub target: Value,
    /// Its arguments.
    pub args: Vec<Value>,
    /// Its OS thread, once started.
    pub state: Mutex<Started<JoinHandle<()>>>,
    /// Its interpreter thread id, once started (0 before).
    pub id: AtomicUsize,
    /// The process that created it: only that one can start or join it.
    pub owner: Pid,
}

/// A running child process and the pipe its captured output comes through.
#[derive(Debug)]
pub struct RunningChild {
    /// The child, reaped by `join` (or killed and reaped if dropped).
    pub child: Child,
    /// Read end of its output pipe, when output is captured.
    pub output: Option<OwnedFd>,
}

/// A `multiprocessing.Process`.
#[derive(Debug)]
pub struct ProcessObject {
    /// `Process-1`, `Process-2`, …
    pub name: String,
    /// The function it runs.
    pub target: Value,
    /// Its arguments.
    pub args: Vec<Value>,
    /// The child, once started.
    pub state: Mutex<Started<RunningChild>>,
    /// Its exit code once joined (negative: killed by that signal).
    pub exitcode: Mutex<Option<i64>>,
    /// The process that created it.
    pub owner: Pid,
}

/// A `threading.Lock`.
#[derive(Debug, Default)]
pub struct LockObject {
    locked: Mutex<bool>,
    unlocked: Condvar,
}

impl LockObject {
    fn flag(&self) -> MutexGuard<'_, bool> {
        self.locked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the lock if it is free.
    pub fn try_acquire(&self) -> bool {
        let mut locked = self.flag();
        !std::mem::replace(&mut *locked, true)
    }

    /// Waits for the lock and takes it.
    pub fn acquire_blocking(&self) {
        let mut locked = self.flag();
        while *locked {
            locked = self
                .unlocked
                .wait(locked)
                .unwrap_or_else(|p| p.into_inner());
        }
        *locked = true;
    }

    /// Releases the lock; an error if it was not locked.
    pub fn release(&self) -> Result<(), PyError> {
        let mut locked = self.flag();
        if !*locked {
            return Err(PyError::new("RuntimeError", "release unlocked lock"));
        }
        *locked = false;
        self.unlocked.notify_one();
        Ok(())
    }

    /// Whether it is held.
    pub fn is_locked(&self) -> bool {
        *self.flag()
    }

    /// A new lock in the same state (for a forked child's copy).
    fn copy(&self) -> LockObject {
        LockObject {
            locked: Mutex::new(self.is_locked()),
            unlocked: Condvar::new(),
        }
    }
}

/// What every thread of one interpreter shares.
#[derive(Debug)]
pub struct Runtime {
    /// The compiled program.
    pub program: Arc<Program>,
    /// The module's global variables, each with its own lock ([`Value::Unbound`]
    /// until assigned).
    pub globals: Box<[Mutex<Value>]>,
    /// The GIL; `None` when free-threaded.
    pub gil: Option<Gil>,
    /// The timeline being recorded, if any.
    pub timeline: Option<Arc<Timeline>>,
    /// Where `print` writes.
    pub output: Output,
    /// `sys.argv`.
    pub argv: Value,
    /// The options it runs with.
    pub options: Options,
    /// The process this runtime lives in.
    pub pid: Pid,
    started: Mutex<Vec<Value>>,
    next_thread: AtomicUsize,
    next_thread_name: AtomicUsize,
    next_process_name: AtomicUsize,
    errors: Mutex<Vec<String>>,
    started_at: Instant,
    running: Mutex<Vec<(usize, f64, f64)>>,
    forking: Mutex<()>,
}

impl Runtime {
    /// A runtime for `program`; `globals` are a forked child's copy of its
    /// parent's, or `None` to start with only `__name__` set.
    pub fn new(
        program: Arc<Program>,
        options: Options,
        output: Output,
        globals: Option<Vec<Value>>,
    ) -> Runtime {
        let timeline = options.timeline.then(|| Arc::new(Timeline::new()));
        let gil = options.gil.then(|| {
            Gil::new(
                options.switch_interval,
                options.forced_switching,
                timeline.clone(),
            )
        });
        let globals = globals.unwrap_or_else(|| {
            let mut values = vec![Value::Unbound; program.globals.len()];
            values[0] = Value::str("__main__");
            values
        });
        let mut argv = vec![Value::str(&program.file)];
        argv.extend(options.args.iter().map(|a| Value::str(a)));
        Runtime {
            globals: globals.into_iter().map(Mutex::new).collect(),
            program,
            gil,
            timeline,
            output,
            argv: Value::List(Arc::new(Mutex::new(argv))),
            options,
            pid: nix::unistd::getpid(),
            started: Mutex::new(Vec::new()),
            next_thread: AtomicUsize::new(2),
            next_thread_name: AtomicUsize::new(1),
            next_process_name: AtomicUsize::new(1),
            errors: Mutex::new(Vec::new()),
            started_at: Instant::now(),
            running: Mutex::new(Vec::new()),
            forking: Mutex::new(()),
        }
    }

    /// Held from making a child's pipes until the fork: free-threaded,
    /// another thread forking in between would give its child a copy of
    /// them (the child's fresh runtime has a lock of its own).
    pub fn fork_lock(&self) -> MutexGuard<'_, ()> {
        self.forking.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seconds since this runtime started, on a clock every thread shares.
    pub fn clock(&self) -> f64 {
        self.started_at.elapsed().as_secs_f64()
    }

    /// Records a stretch thread `thread` spent running bytecode.
    pub fn record_running(&self, thread: usize, from: f64, to: f64) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((thread, from, to));
    }

    /// An id for a new interpreter thread (the main thread is 1).
    pub fn new_thread_id(&self) -> usize {
        self.next_thread.fetch_add(1, Ordering::Relaxed)
    }

    /// A name for a new `Thread`.
    pub fn new_thread_name(&self) -> String {
        format!(
            "Thread-{}",
            self.next_thread_name.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A name for a new `Process`.
    pub fn new_process_name(&self) -> String {
        format!(
            "Process-{}",
            self.next_process_name.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Remembers a started thread or process, to join it at exit.
    pub fn register(&self, started: Value) {
        self.started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(started);
    }

    /// The next started thread or process not yet joined at exit.
    pub fn next_to_join(&self) -> Option<Value> {
        self.started.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    /// Reports an error that ended a thread (not the main one).
    pub fn report_error(&self, text: String) {
        let line = format!("{text}\n");
        write_all(std::io::stderr().as_fd(), line.as_bytes());
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(text);
    }

    /// The errors reported so far.
    pub fn errors(&self) -> Vec<String> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A copy of every global, for a child about to be forked: taken here,
    /// one lock at a time, because in the child a lock held by one of the
    /// parent's other threads at the moment of the fork would stay locked
    /// forever (that thread does not exist there).
    pub fn snapshot_globals(&self) -> Vec<Value> {
        self.globals
            .iter()
            .map(|g| fork_copy(&g.lock().unwrap_or_else(|p| p.into_inner())))
            .collect()
    }
}

/// A value as a forked child gets it: lists and locks copied, so that the
/// child's never share a lock with the parent's.
fn fork_copy(value: &Value) -> Value {
    match value {
        Value::List(items) => {
            let copied: Vec<Value> = lock_list(items).iter().map(fork_copy).collect();
            Value::List(Arc::new(Mutex::new(copied)))
        }
        Value::Tuple(items) => Value::Tuple(items.iter().map(fork_copy).collect()),
        Value::Lock(lock) => Value::Lock(Arc::new(lock.copy())),
        other => other.clone(),
    }
}

/// Compiles and runs `source` (named `file` in messages) to the end: its
/// main thread, then every thread and process it started and did not join.
pub fn run_source(source: &str, file: &str, options: &Options) -> Result<Report, Error> {
    let program = compile(source, file).map_err(|error| Error::Syntax {
        file: file.to_string(),
        error,
    })?;
    let capture = options.capture.then(|| Arc::new(Mutex::new(Vec::new())));
    let output = match &capture {
        Some(buffer) => Output::Capture(buffer.clone()),
        None => Output::Fd(1),
    };
    let runtime = Arc::new(Runtime::new(
        Arc::new(program),
        options.clone(),
        output,
        None,
    ));
    let start = Instant::now();
    let main = runtime.clone();
    // The main interpreter thread gets a stack of its own, deep enough for
    // the recursion limit whatever thread called us.
    let outcome = std::thread::Builder::new()
        .name("python-main".into())
        .stack_size(THREAD_STACK)
        .spawn(move || Vm::new(main, 1).run_main())
        .map_err(|e| Error::Start(e.to_string()))?
        .join()
        .unwrap_or_else(|_| {
            Err(PyError::new(
                "SystemError",
                "the interpreter panicked (a bug in the lab)",
            ))
        });
    let report = Report {
        output: capture
            .map(|b| {
                String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
            })
            .unwrap_or_default(),
        seconds: start.elapsed().as_secs_f64(),
        switches: runtime.gil.as_ref().map_or(0, Gil::switches),
        drop_requests: runtime.gil.as_ref().map_or(0, Gil::drop_requests),
        events: runtime
            .timeline
            .as_ref()
            .map(|t| t.events())
            .unwrap_or_default(),
        thread_errors: runtime.errors(),
        running: std::mem::take(&mut *runtime.running.lock().unwrap_or_else(|p| p.into_inner())),
    };
    match outcome {
        Ok(()) => Ok(report),
        Err(error) => Err(Error::Runtime {
            file: file.to_string(),
            error,
            report: Box::new(report),
        }),
    }
}

/// Reads and runs a program file.
pub fn run_file(path: &std::path::Path, options: &Options) -> Result<Report, Error> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| Error::Start(format!("cannot read {}: {e}", path.display())))?;
    run_source(&source, &path.display().to_string(), options)
}
