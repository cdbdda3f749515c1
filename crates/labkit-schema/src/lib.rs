//! labkit-schema: the bottom layer of the course's tooling — the results
//! format, and nothing that measures.
//!
//! - [`results`]: what a lab run writes (`results/lab-NN.json`) and the book
//!   reads: experiments, metrics, claims with their verdicts.
//! - [`stats`]: the statistics a metric carries (median, spread, interval).
//! - [`machine`]: the machine and build a set of numbers came from.
//! - [`format`]: how values are written for people, the same everywhere.
//! - [`compare`]: one lab's results from two machines, side by side.
//!
//! `labkit` (the measuring harness) builds on it; `mdbook-labs` (the book)
//! depends on it alone, so rendering the book needs no `fork`, no CLI and no
//! progress bars.

pub mod compare;
pub mod format;
pub mod machine;
pub mod results;
pub mod stats;

pub use results::{ClaimResult, Kind, Unit, Verdict};
