//! Parallel capacity: how much parallelism this machine really delivers.
//!
//! A shared cloud VM may report 2 vCPUs that run two busy processes only ~1.6×
//! as fast as one (the hypervisor, hyper-threads and the neighbours take the
//! rest). So before judging any parallel speedup we measure the machine: the
//! same CPU loop alone in one process, then as k copies in k processes at once,
//! interleaved round by round. Capacity = k × time(alone) / time(together).
//!
//! The capacity also changes from second to second: for a few seconds at a
//! time the second vCPU may all but vanish. So a speedup is judged against
//! the capacity measured *in the same rounds* ([`Paired`]): the runner adds the
//! two calibration variants to the experiment's own, and both see the same
//! bursts.

use crate::child::fork_child;
use crate::progress::Progress;
use crate::results::{Measured, Unit};
use crate::stats::Summary;
use crate::timing::{Interleaved, Variant, interleave, interleave_all, time};
use anyhow::Result;
use std::cell::RefCell;
use std::hint::black_box;

/// The experiment name under which the calibration appears in every result.
pub const EXPERIMENT: &str = crate::results::CALIBRATION_EXPERIMENT;

/// The calibration's headline metric: the measured speedup of k processes.
pub const METRIC: &str = crate::results::CAPACITY_METRIC;

/// A CPU loop the optimiser cannot fold into a formula: [`crate::opaque`] hides
/// each value from it, so every addition really happens.
pub fn spin(iterations: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..iterations {
        total = total.wrapping_add(crate::opaque(i));
    }
    total
}

/// Iterations of [`spin`] that take about `seconds` on this machine.
pub fn iterations_for(seconds: f64) -> u64 {
    let probe = 2_000_000;
    let (elapsed, _) = time(|| black_box(spin(probe)));
    // No real CPU adds faster than 20 per nanosecond: a shorter probe time
    // would be a measuring error, and must not turn into a loop of hours.
    let elapsed = elapsed.max(probe as f64 / 20e9);
    ((probe as f64) * seconds / elapsed).max(1.0) as u64
}

/// Runs `copies` copies of the loop, each in its own forked process, and waits for all.
pub fn spin_in_processes(copies: usize, iterations: u64) -> Result<()> {
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

/// The smallest capacity at which a parallel speedup can be tested: half of
/// every extra core (1.5× for two processes). Below it the machine is, for
/// now, closer to one core than to `processes`, and a threshold scaled down
/// to it could be passed by work that does not run in parallel at all.
pub fn capacity_floor(processes: usize) -> f64 {
    1.0 + 0.5 * (processes.max(1) - 1) as f64
}

/// Variant names of the two calibration runs inside an experiment.
const ALONE: &str = "calibration: 1 process";
const TOGETHER: &str = "calibration: k processes";

/// A calibration run inside an experiment's own rounds.
pub struct Paired {
    processes: usize,
    iterations: u64,
    capacity: RefCell<Vec<f64>>,
}

impl Paired {
    /// Calibrates `processes` processes, each copy doing `iterations` of [`spin`].
    pub fn new(processes: usize, iterations: u64) -> Paired {
        Paired {
            processes,
            iterations,
            capacity: RefCell::new(Vec::new()),
        }
    }

    /// Interleaves `variants` with the two calibration runs and records the
    /// capacity of every round.
    pub fn interleave<'v>(
        &'v self,
        rounds: usize,
        warmup: usize,
        variants: &mut [Variant<'v>],
        progress: &Progress,
    ) -> Result<Interleaved> {
        let mut alone = Variant::new(ALONE, || spin_in_processes(1, self.iterations));
        let mut together = Variant::new(TOGETHER, || {
            spin_in_processes(self.processes, self.iterations)
        });
        let mut all: Vec<&mut Variant<'v>> = variants.iter_mut().collect();
        all.push(&mut alone);
        all.push(&mut together);
        let times = interleave_all(rounds, warmup, &mut all, progress)?;
        self.capacity.borrow_mut().extend(capacity_per_round(
            &times,
            ALONE,
            TOGETHER,
            self.processes,
        ));
        Ok(times)
    }

    /// The capacity measured in all the rounds so far, if any.
    pub fn capacity(&self) -> Option<Summary> {
        Summary::of(&self.capacity.borrow())
    }

    /// How many processes were calibrated.
    pub fn processes(&self) -> usize {
        self.processes
    }
}

/// k × time(alone) / time(together), round by round.
fn capacity_per_round(
    times: &Interleaved,
    alone: &str,
    together: &str,
    processes: usize,
) -> Vec<f64> {
    times
        .seconds(alone)
        .iter()
        .zip(times.seconds(together))
        .map(|(alone, together)| processes as f64 * alone / together)
        .collect()
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
    let times = interleave(rounds, 1, &mut variants, progress)?;
    let capacity = capacity_per_round(&times, "alone", "together", processes);
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
            Summary::of(&capacity).expect("rounds > 0"),
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
    fn sized_work_takes_about_the_time_asked_for() {
        // A loop the optimiser deleted while it was being sized once made
        // this "10 ms" of work take minutes.
        let iterations = iterations_for(0.01);
        let (elapsed, _) = time(|| black_box(spin(iterations)));
        assert!(
            elapsed < 0.5,
            "asked for 10 ms of work, it took {elapsed} s"
        );
    }

    #[test]
    fn the_floor_is_half_of_every_extra_core() {
        assert_eq!(capacity_floor(1), 1.0);
        assert_eq!(capacity_floor(2), 1.5);
        assert_eq!(capacity_floor(4), 2.5);
    }

    #[test]
    fn paired_calibration_records_one_capacity_per_round() {
        let paired = Paired::new(1, 100_000);
        let mut variants = [Variant::new("work", || Ok(()))];
        let times = paired
            .interleave(4, 1, &mut variants, &Progress::silent())
            .unwrap();
        assert_eq!(times.seconds("work").len(), 4);
        assert_eq!(paired.capacity().unwrap().n, 4);
    }

    #[test]
    fn capacity_of_one_process_is_about_one() {
        let m = calibrate(1, 0.01, 3, &Progress::silent()).unwrap();
        let capacity = m.metric(METRIC).unwrap().value;
        assert!((0.5..2.0).contains(&capacity), "capacity {capacity}");
    }
}
