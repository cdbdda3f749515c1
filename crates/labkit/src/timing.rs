//! Wall-clock timing: warm-up, repeated samples, and interleaved comparisons.
//!
//! A comparison between A and B is only fair if both saw the same machine. On a
//! shared virtual machine the neighbours' load changes from second to second, so
//! we never compare two times taken minutes apart: we run A, B, A, B, … in one
//! loop and compute the ratio *within each round*, then take the median ratio.

use crate::progress::Progress;
use crate::stats::Summary;
use anyhow::{Result, bail};
use std::time::Instant;

/// Seconds taken by `work`, together with what it returned.
pub fn time<R>(work: impl FnOnce() -> R) -> (f64, R) {
    let start = Instant::now();
    let value = work();
    (start.elapsed().as_secs_f64(), value)
}

/// One named thing to time in an interleaved comparison.
pub struct Variant<'a> {
    name: &'a str,
    work: Box<dyn FnMut() -> Result<()> + 'a>,
}

impl<'a> Variant<'a> {
    /// Names a piece of work. It may fail (a `fork` can), which stops the comparison.
    pub fn new(name: &'a str, work: impl FnMut() -> Result<()> + 'a) -> Variant<'a> {
        Variant {
            name,
            work: Box::new(work),
        }
    }
}

/// The seconds each variant took, round by round.
#[derive(Debug, Clone)]
pub struct Interleaved {
    names: Vec<String>,
    /// `seconds[v][r]`: variant `v` in round `r`.
    seconds: Vec<Vec<f64>>,
}

/// Runs every variant once per round: first `warmup` unmeasured rounds (caches,
/// page faults, thread stacks), then `rounds` measured ones. Each round starts at
/// a different variant so that none always runs first (right after a pause) or
/// last.
pub fn interleave(
    rounds: usize,
    warmup: usize,
    variants: &mut [Variant<'_>],
    progress: &Progress,
) -> Result<Interleaved> {
    let mut all: Vec<&mut Variant<'_>> = variants.iter_mut().collect();
    interleave_all(rounds, warmup, &mut all, progress)
}

/// [`interleave`] over variants borrowed from several places (the runner adds
/// its calibration variants to an experiment's own).
pub fn interleave_all(
    rounds: usize,
    warmup: usize,
    variants: &mut [&mut Variant<'_>],
    progress: &Progress,
) -> Result<Interleaved> {
    if variants.is_empty() || rounds == 0 {
        bail!("an interleaved comparison needs at least one variant and one round");
    }
    let count = variants.len();
    let mut seconds = vec![Vec::with_capacity(rounds); count];
    for round in 0..warmup + rounds {
        for offset in 0..count {
            let index = (round + offset) % count;
            let variant = &mut variants[index];
            let measured = round >= warmup;
            if measured {
                progress.step(format!(
                    "round {}/{rounds}: {}",
                    round - warmup + 1,
                    variant.name
                ));
            } else {
                progress.step(format!("warm-up: {}", variant.name));
            }
            let (elapsed, outcome) = time(&mut variant.work);
            outcome?;
            if measured {
                seconds[index].push(elapsed);
            }
        }
    }
    let names = variants.iter().map(|v| v.name.to_string()).collect();
    Ok(Interleaved { names, seconds })
}

impl Interleaved {
    /// Times measured elsewhere, e.g. by a Python program that interleaved its
    /// own variants: `seconds[v][r]` is variant `names[v]` in round `r`.
    pub fn from_rounds(names: Vec<String>, seconds: Vec<Vec<f64>>) -> Interleaved {
        assert_eq!(names.len(), seconds.len(), "one list of times per variant");
        Interleaved { names, seconds }
    }

    /// How many measured rounds there were.
    pub fn rounds(&self) -> usize {
        self.seconds.first().map_or(0, Vec::len)
    }

    /// The names of the variants, in the order they were given.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn index(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no variant named {name:?} in this comparison"))
    }

    /// The raw seconds of one variant, in round order.
    pub fn seconds(&self, name: &str) -> &[f64] {
        &self.seconds[self.index(name)]
    }

    /// Summary of one variant's times.
    pub fn summary(&self, name: &str) -> Summary {
        Summary::of(self.seconds(name)).expect("every round produced a time")
    }

    /// How many times faster `faster` was than `baseline`: the per-round ratios
    /// `baseline / faster`, summarised. Above 1 means `faster` really was faster.
    pub fn speedup(&self, baseline: &str, faster: &str) -> Summary {
        let ratios: Vec<f64> = self
            .seconds(baseline)
            .iter()
            .zip(self.seconds(faster))
            .map(|(base, other)| base / other)
            .collect();
        Summary::of(&ratios).expect("every round produced a time")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::time::Duration;

    #[test]
    fn rounds_rotate_the_starting_variant() {
        let order = RefCell::new(Vec::new());
        let mut variants = [
            Variant::new("a", || {
                order.borrow_mut().push('a');
                Ok(())
            }),
            Variant::new("b", || {
                order.borrow_mut().push('b');
                Ok(())
            }),
        ];
        interleave(2, 1, &mut variants, &Progress::silent()).unwrap();
        drop(variants);
        // warm-up a b, round 1 b a, round 2 a b
        assert_eq!(order.into_inner(), vec!['a', 'b', 'b', 'a', 'a', 'b']);
    }

    #[test]
    fn speedup_is_the_per_round_ratio() {
        let mut variants = [
            Variant::new("slow", || {
                std::thread::sleep(Duration::from_millis(20));
                Ok(())
            }),
            Variant::new("fast", || {
                std::thread::sleep(Duration::from_millis(5));
                Ok(())
            }),
        ];
        let result = interleave(3, 0, &mut variants, &Progress::silent()).unwrap();
        assert_eq!(result.seconds("slow").len(), 3);
        let speedup = result.speedup("slow", "fast").median;
        assert!(
            speedup > 2.0,
            "20 ms vs 5 ms should be well above 2x, got {speedup}"
        );
    }

    #[test]
    fn a_failing_variant_stops_the_comparison() {
        let mut variants = [Variant::new("broken", || anyhow::bail!("fork failed"))];
        let err = interleave(1, 0, &mut variants, &Progress::silent()).unwrap_err();
        assert!(err.to_string().contains("fork failed"));
    }
}
