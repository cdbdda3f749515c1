//! Five ways a worker can fail, each made to happen on purpose — in a
//! forked child, always: only a process that is meant to die calls
//! [`Crash::now`].

use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
use nix::sys::resource::{Resource, setrlimit};
use std::num::NonZeroUsize;

/// A way to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// `panic!`: Rust unwinds the thread's stack, running destructors.
    Panic,
    /// `std::process::abort()`: the process raises `SIGABRT` on itself.
    Abort,
    /// A write to memory the process may not touch: the CPU faults and the
    /// kernel sends `SIGSEGV`.
    Segfault,
    /// Endless recursion: the thread runs off the end of its stack.
    StackOverflow,
    /// An allocation the process's memory limit cannot grant.
    OutOfMemory,
}

impl Crash {
    /// Every way, in the order the chapter tells them.
    pub const ALL: [Crash; 5] = [
        Crash::Panic,
        Crash::Abort,
        Crash::Segfault,
        Crash::StackOverflow,
        Crash::OutOfMemory,
    ];

    /// The name used in metrics, e.g. `stack_overflow`.
    pub fn name(self) -> &'static str {
        match self {
            Crash::Panic => "panic",
            Crash::Abort => "abort",
            Crash::Segfault => "segfault",
            Crash::StackOverflow => "stack_overflow",
            Crash::OutOfMemory => "out_of_memory",
        }
    }

    /// The name used in sentences, e.g. "a stack overflow".
    pub fn label(self) -> &'static str {
        match self {
            Crash::Panic => "a panic",
            Crash::Abort => "an abort",
            Crash::Segfault => "a segfault",
            Crash::StackOverflow => "a stack overflow",
            Crash::OutOfMemory => "an allocation over the memory limit",
        }
    }

    /// Whether it ends the whole process, whichever thread it strikes.
    pub fn is_fatal(self) -> bool {
        self != Crash::Panic
    }

    /// Prepares the process that will crash, while it still has one thread:
    /// no core file (a crash on purpose should not leave one on disk); no
    /// backtrace from Rust's panic and allocation-failure messages (with
    /// `RUST_BACKTRACE` set, printing one takes long enough for the other
    /// workers to finish before an abort); and for `OutOfMemory` a limit on
    /// its address space a little above what it uses now.
    ///
    /// Changing the environment is sound only while no other thread can
    /// read it, so this is for the crate's own stories, which call it in a
    /// forked child before it starts a thread — and it checks: with more
    /// than one thread, it leaves the environment alone.
    pub(crate) fn prepare(self) {
        no_core_dumps();
        if threads_here() == Some(1) {
            // SAFETY: this process has one thread, the caller: no other
            // thread exists to read the environment meanwhile.
            unsafe { std::env::set_var("RUST_BACKTRACE", "0") };
        }
        if self == Crash::OutOfMemory {
            limit_address_space(HEADROOM);
        }
    }

    /// Fails now, on the calling thread.
    pub fn now(self) -> ! {
        match self {
            Crash::Panic => panic!("worker 0 failed"),
            Crash::Abort => std::process::abort(),
            Crash::Segfault => write_to_a_forbidden_page(),
            Crash::StackOverflow => {
                std::hint::black_box(recurse(0));
            }
            Crash::OutOfMemory => {
                // `black_box` keeps the compiler from dropping an allocation
                // nobody uses.
                std::hint::black_box(Vec::<u8>::with_capacity(TOO_MUCH));
            }
        }
        // Only if the crash did not happen: a panic, which the lab reports
        // as the wrong ending.
        panic!("the {} did not happen", self.name())
    }
}

/// How much address space the `OutOfMemory` child may still map.
const HEADROOM: u64 = 256 << 20;
/// What it then asks for.
const TOO_MUCH: usize = 4 << 30;

// ANCHOR: segfault
/// A real invalid memory access: a write to a page mapped with no access
/// at all (`PROT_NONE`). The CPU faults and the kernel sends `SIGSEGV` —
/// what a stray pointer into memory the process may not touch does. (Not
/// `raise(SIGSEGV)`, which only sends the signal, and not a write through
/// a null pointer, which Rust's compiler may assume never happens.)
fn write_to_a_forbidden_page() {
    let length = NonZeroUsize::new(4096).expect("not zero");
    // SAFETY: a fresh anonymous mapping, shared with nothing.
    let page = unsafe { mmap_anonymous(None, length, ProtFlags::PROT_NONE, MapFlags::MAP_PRIVATE) }
        .expect("mmap");
    // SAFETY: not safe, on purpose: the page may not be written, so this
    // write never completes — the kernel ends the process at it.
    unsafe { std::ptr::write_volatile(page.as_ptr().cast::<u64>(), 1) };
}
// ANCHOR_END: segfault

// ANCHOR: recurse
/// Calls itself with 4 KiB on its stack each time, without end: the stack
/// runs into its guard page.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = [depth; 512];
    if depth == u64::MAX {
        return 0; // never: only so the compiler sees a way out
    }
    let below = recurse(std::hint::black_box(depth + 1));
    std::hint::black_box(&frame)[(depth % 512) as usize] + below
}
// ANCHOR_END: recurse

/// No core file for this process: not dumpable, and a core size limit of 0.
pub fn no_core_dumps() {
    let _ = nix::sys::prctl::set_dumpable(false);
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
}

// ANCHOR: memory_limit
/// Limits this process's address space to what it maps now plus
/// `headroom`: a larger allocation then fails at once, and no other
/// process — nor the machine's memory — is touched.
pub fn limit_address_space(headroom: u64) {
    let limit = mapped_bytes().unwrap_or(1 << 30) + headroom;
    let _ = setrlimit(Resource::RLIMIT_AS, limit, limit);
}
// ANCHOR_END: memory_limit

/// How many threads this process has (`Threads` in `/proc/self/status`).
fn threads_here() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The bytes this process maps (`VmSize` in `/proc/self/status`).
pub fn mapped_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmSize:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
