//! labkit: the measurement harness every lab shares.
//!
//! - [`timing`]: warm-up, repeated samples, interleaved A/B comparisons.
//! - [`stats`]: median, min, max and a distribution-free 95% interval.
//! - [`calibrate`]: how much parallelism this machine really delivers.
//! - [`claims`]: sentences from the text checked against measurements.
//! - [`results`]: the JSON the book is built from, and the source hash.
//! - [`runner`]: the command line every lab shares.
//! - [`child`]: forked children that are always reaped.
//! - [`python`]: finding and running CPython beside Rust.

pub mod calibrate;
pub mod child;
pub mod claims;
pub mod format;
pub mod machine;
pub mod progress;
pub mod python;
pub mod results;
pub mod runner;
pub mod stats;
pub mod timing;

pub use claims::{Check, Claim};
pub use results::{Measured, Unit};
pub use runner::{Context, Experiment, Lab};
