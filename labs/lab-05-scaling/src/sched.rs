//! What the scheduler did to a thread or a process, read from Linux: how long
//! it waited for a CPU, how often it was pushed off one, and where it ran.

use nix::sys::resource::{UsageWho, getrusage};

/// Nanoseconds the calling thread has spent runnable but waiting for a CPU
/// (`/proc/thread-self/schedstat`, second field), or 0 where the kernel does
/// not keep scheduler statistics.
pub fn run_queue_wait_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Involuntary context switches so far — times the scheduler took a CPU away
/// from a thread that still wanted it — of this process's threads, living
/// and ended (`RUSAGE_SELF`), or of its children that were waited for
/// (`RUSAGE_CHILDREN`).
pub fn involuntary_switches(who: UsageWho) -> u64 {
    getrusage(who).map_or(0, |usage| usage.involuntary_context_switches() as u64)
}

/// The CPU the calling thread is running on right now.
pub fn current_cpu() -> usize {
    // SAFETY: sched_getcpu takes no arguments and only reads.
    let cpu = unsafe { nix::libc::sched_getcpu() };
    usize::try_from(cpu).unwrap_or(0)
}
