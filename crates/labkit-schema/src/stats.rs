//! Robust statistics over repeated samples: median, min, max and a
//! distribution-free 95% confidence interval for the median.

use serde::{Deserialize, Serialize};

/// What a set of repeated samples says about one quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many samples.
    pub n: usize,
    /// The middle sample: robust to the odd slow run on a shared machine.
    pub median: f64,
    /// The fastest (smallest) sample.
    pub min: f64,
    /// The slowest (largest) sample.
    pub max: f64,
    /// Lower end of the confidence interval for the median.
    pub ci_low: f64,
    /// Upper end of the confidence interval for the median.
    pub ci_high: f64,
    /// The coverage that interval really has (0.95, or less with few samples).
    pub ci_level: f64,
    /// The samples themselves, in the order they were taken (round by round),
    /// so that anyone can check the statistics, and paired checks can pair them.
    pub samples: Vec<f64>,
}

impl Summary {
    /// Summarises samples. Returns `None` when there are none or one is not finite.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let (k, level) = median_ci_rank(n);
        Some(Summary {
            n,
            median: median_of_sorted(&sorted),
            min: sorted[0],
            max: sorted[n - 1],
            ci_low: sorted[k - 1],
            ci_high: sorted[n - k],
            ci_level: level,
            samples: samples.to_vec(),
        })
    }
}

impl Summary {
    /// The same statistics of every sample multiplied by `factor` (> 0), e.g.
    /// the time of a batch of 200 operations turned into the time per operation.
    pub fn scaled(&self, factor: f64) -> Summary {
        assert!(
            factor > 0.0,
            "scaling by {factor} would reorder the samples"
        );
        Summary {
            n: self.n,
            median: self.median * factor,
            min: self.min * factor,
            max: self.max * factor,
            ci_low: self.ci_low * factor,
            ci_high: self.ci_high * factor,
            ci_level: self.ci_level,
            samples: self.samples.iter().map(|x| x * factor).collect(),
        }
    }
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The order-statistic interval [x(k), x(n+1-k)] covers the true median with
/// probability 1 - 2·P(Binomial(n, ½) < k), whatever the distribution of the
/// samples (timings are skewed, so no normal approximation). Returns the largest
/// `k` whose coverage is still at least 95%, and that coverage. With fewer than
/// six samples no `k` reaches 95%; then the interval is [min, max] and the
/// coverage reported is the smaller true one.
fn median_ci_rank(n: usize) -> (usize, f64) {
    let mut best = (1, coverage(n, 1));
    for k in 2..=n.div_ceil(2) {
        let level = coverage(n, k);
        if level < 0.95 {
            break;
        }
        best = (k, level);
    }
    best
}

fn coverage(n: usize, k: usize) -> f64 {
    let below: f64 = (0..k).map(|i| binomial_half(n, i)).sum();
    1.0 - 2.0 * below
}

/// P(Binomial(n, ½) = i), computed in logs so large `n` does not overflow.
fn binomial_half(n: usize, i: usize) -> f64 {
    let ln_choose: f64 = (0..i)
        .map(|j| ((n - j) as f64).ln() - ((j + 1) as f64).ln())
        .sum();
    (ln_choose - n as f64 * std::f64::consts::LN_2).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_scales_every_statistic_and_sample() {
        let batch = Summary::of(&[2.0, 4.0, 6.0]).unwrap();
        let each = batch.scaled(0.5);
        assert_eq!((each.median, each.min, each.max), (2.0, 1.0, 3.0));
        assert_eq!(each.samples, [1.0, 2.0, 3.0]);
        assert_eq!(each.ci_level, batch.ci_level);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(Summary::of(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert_eq!(Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
    }

    #[test]
    fn one_outlier_does_not_move_the_median() {
        let s = Summary::of(&[1.0, 1.1, 0.9, 1.0, 50.0]).unwrap();
        assert_eq!(s.median, 1.0);
        assert_eq!(s.max, 50.0);
        assert_eq!(s.min, 0.9);
    }

    #[test]
    fn few_samples_give_min_max_with_honest_coverage() {
        let s = Summary::of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!((s.ci_low, s.ci_high), (1.0, 5.0));
        // 1 - 2 * (1/32) = 0.9375: below 95%, and said so.
        assert!((s.ci_level - 0.9375).abs() < 1e-12);
    }

    #[test]
    fn many_samples_give_a_narrower_95_percent_interval() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = Summary::of(&samples).unwrap();
        // For n = 20 the classic table gives ranks 6 and 15.
        assert_eq!((s.ci_low, s.ci_high), (6.0, 15.0));
        assert!(s.ci_level >= 0.95);
    }

    #[test]
    fn empty_or_nan_samples_have_no_summary() {
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
    }
}
