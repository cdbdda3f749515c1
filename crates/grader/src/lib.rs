//! The course's grader: grades students' exercise files with the
//! instructor's tests, safely.
//!
//! - [`course`]: the labs with a `grading.toml`, and where a submission keeps
//!   each lab's `src/exercises.rs` (the only file taken from a submission).
//! - [`config`]: `grading.toml` — points, repeats, visibility, limits of
//!   tests and of the build, and the lab's changes to the source gate.
//! - [`gate`]: refuses an exercises file whose source names what only an
//!   attack on the grader needs (`#[path]`, `include_str!`, constructors,
//!   `process::exit`, writes past libtest's capture, assembly, `unsafe`).
//! - [`build`]: `cargo test --no-run` of a lab's graded targets in a process
//!   group of its own under time, memory and output limits; the executables,
//!   the compiler's first errors, or the limit the build reached.
//! - [`sandbox`]: one run of one test in its own session with resource
//!   limits, a wall-clock limit, a process watchdog and capped output.
//! - [`isolation`]: namespaces around each run — nothing outlives it, the
//!   instructor's files are out of sight, `/tmp` and `/dev/shm` are its own.
//! - [`libtest`]: what libtest itself reported for the test.
//! - [`verdict`]: a pass only when libtest reported one and the process
//!   ended cleanly; otherwise a message saying what happened.
//! - [`grade`]: builds in one workspace and cache, tests in parallel.
//! - [`report`]: table, Gradescope, GitHub Classroom and JSON.
//! - [`edition`]: the student edition's rules (solutions out, starters in).

pub mod build;
pub mod config;
pub mod course;
pub mod edition;
pub mod gate;
pub mod grade;
pub mod isolation;
pub mod libtest;
pub mod report;
pub mod sandbox;
pub mod verdict;

pub use course::Course;
pub use grade::{Options, Submission, SubmissionReport, grade};
