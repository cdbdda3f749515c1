//! labkit: the measurement harness every lab shares, in layers.
//!
//! At the bottom, `labkit_schema` (re-exported here as [`results`],
//! [`stats`], [`format`]): the results format, with no measuring code.
//! Above it:
//!
//! - [`timing`]: warm-up, repeated samples, interleaved A/B comparisons.
//! - [`measured`]: what an experiment returns, and helpers that turn
//!   interleaved times into metrics (times, speedups, named collectors).
//! - [`calibrate`]: how much parallelism this machine really delivers.
//! - [`claims`]: sentences from the text checked against measurements.
//! - [`lab`]: what a lab declares (experiments, claims, options) and the
//!   [`Context`] an experiment runs in.
//! - [`run`]: runs a lab's experiments with progress and re-measuring;
//!   [`cli`]: the command line every lab shares; [`tables`]: the terminal tables.
//! - [`child`]: forked children that are always reaped.
//! - [`memory`]: anonymous `mmap` regions, private or shared across `fork`.
//! - [`affinity`]: pinning to a CPU.
//! - [`python`]: finding CPython and running it in the same rounds as Rust.
//! - [`machine`]: detecting the machine and build.
//! - [`testing`]: helpers for the labs' tests.

pub mod affinity;
pub mod calibrate;
pub mod child;
pub mod claims;
pub mod cli;
pub mod lab;
pub mod machine;
pub mod measured;
pub mod memory;
pub mod progress;
pub mod python;
pub mod results;
pub mod run;
pub mod tables;
pub mod testing;
pub mod timing;

pub use claims::{Check, Claim};
pub use lab::{Context, Experiment, Lab, LabOption};
pub use labkit_schema::{compare, format, stats};
pub use measured::{Collector, Measured};
pub use results::Unit;

// ANCHOR: opaque
/// Returns `x` unchanged, but the optimiser cannot see through it, so a loop
/// over `opaque(i)` cannot be replaced by a formula.
///
/// Why not `std::hint::black_box`? It hides a value by writing it to the stack
/// and reading it back: one store and one load per iteration, at the same
/// offset of every thread's stack. While this course was written, for a
/// stretch of runs on its 2-vCPU machines, two threads running such a loop
/// were much slower than two processes running the same loop, in every round;
/// in other runs the processes were the slow ones, and often neither was (lab
/// 01's `stack_slots` experiment keeps measuring it). An empty
/// `asm!` that takes the value in a register and promises not to touch memory
/// hides it just as well, with no memory traffic at all, so the loop measures
/// the CPU and nothing else. (It is not marked `pure`, so the optimiser may
/// not delete it even when nobody uses the result: a measured loop must run.)
#[inline(always)]
pub fn opaque(mut x: u64) -> u64 {
    // SAFETY: the assembly is empty: it reads and writes only `x`'s register.
    unsafe { std::arch::asm!("/* {0} */", inout(reg) x, options(nomem, nostack)) };
    x
}
// ANCHOR_END: opaque
