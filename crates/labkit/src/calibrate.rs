//! Parallel capacity: how much parallelism this machine really delivers.
//!
//! A shared cloud VM may report 2 vCPUs that run two busy processes only ~1.6×
//! as fast as one (the hypervisor, hyper-threads and the neighbours take the
//! rest). So before judging any parallel speedup we measure the machine: the
//! same CPU loop alone in one process, then as k copies in k processes at once,
//! interleaved round by round. Capacity = k × time(alone) / time(together).

use crate::child::fork_child;
use crate::progress::Progress;
use crate::results::{Measured, Unit};
use crate::timing::{Variant, interleave, time};
use anyhow::Result;
use std::hint::black_box;

/// The experiment name under which the calibration appears in every result.
pub const EXPERIMENT: &str = "calibration";

/// The calibration's headline metric: the measured speedup of k processes.
pub const METRIC: &str = "capacity";

/// A CPU loop the optimiser cannot fold into a formula: `black_box` hides each
/// value from it, so every addition really happens.
pub fn spin(iterations: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..iterations {
        total = total.wrapping_add(black_box(i));
    }
    total
}

/// Iterations of [`spin`] that take about `seconds` on this machine.
fn iterations_for(seconds: f64) -> u64 {
    let probe = 2_000_000;
    let (elapsed, _) = time(|| spin(probe));
    ((probe as f64) * seconds / elapsed.max(1e-9)).max(1.0) as u64
}

/// Runs `copies` copies of the loop, each in its own forked process, and waits for all.
fn spin_in_processes(copies: usize, iterations: u64) -> Result<()> {
    let children = (0..copies)
        .map(|_| {
            fork_child(|| {
                black_box(spin(iterations));
                0
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for child in children {
        child.wait_success()?;
    }
    Ok(())
}

/// Measures the capacity of `processes` processes over `rounds` interleaved rounds,
/// each copy doing about `seconds` of work.
pub fn calibrate(
    processes: usize,
    seconds: f64,
    rounds: usize,
    progress: &Progress,
) -> Result<Measured> {
    let iterations = iterations_for(seconds);
    let mut variants = [
        Variant::new("alone", || spin_in_processes(1, iterations)),
        Variant::new("together", || spin_in_processes(processes, iterations)),
    ];
    let times = interleave(rounds, &mut variants, progress)?;
    let capacity: Vec<f64> = times
        .seconds("alone")
        .iter()
        .zip(times.seconds("together"))
        .map(|(alone, together)| processes as f64 * alone / together)
        .collect();
    let mut measured = Measured::new();
    measured
        .param("processes", processes)
        .param("iterations", iterations)
        .summary(
            "alone",
            "one copy of the loop, alone",
            Unit::Seconds,
            times.summary("alone"),
        )
        .summary(
            "together",
            &format!("{processes} copies in {processes} processes at once"),
            Unit::Seconds,
            times.summary("together"),
        )
        .summary(
            METRIC,
            &format!("parallel capacity of {processes} processes"),
            Unit::Times,
            crate::stats::Summary::of(&capacity).expect("rounds > 0"),
        );
    Ok(measured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_really_adds() {
        assert_eq!(spin(5), 10);
    }

    #[test]
    fn spin_time_grows_with_the_work() {
        // A loop folded into a formula would take the same time for any size.
        let (small, _) = time(|| spin(2_000_000));
        let (large, _) = time(|| spin(20_000_000));
        assert!(large > 3.0 * small, "small {small}, large {large}");
    }

    #[test]
    fn capacity_of_one_process_is_about_one() {
        let m = calibrate(1, 0.01, 3, &Progress::silent()).unwrap();
        let capacity = m.metric(METRIC).unwrap().value;
        assert!((0.5..2.0).contains(&capacity), "capacity {capacity}");
    }
}
