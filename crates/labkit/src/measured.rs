//! What an experiment returns: its parameters, metrics and pictures, built
//! step by step, and the helpers that turn interleaved times into metrics.

use crate::results::{Chart, Figure, Metric, Unit};
use crate::stats::Summary;
use crate::timing::Interleaved;
use std::collections::BTreeMap;

/// What an experiment returns: its parameters and metrics, built step by step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    /// Parameters the experiment ran with.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Metrics in the order they were added.
    pub metrics: Vec<Metric>,
    /// Set when the experiment could not run here.
    pub skipped: Option<String>,
    /// Pictures drawn from the run.
    pub figures: Vec<Figure>,
    /// Metrics that cannot be measured with this run's settings on this
    /// machine, and why (a claim about one is skipped with that reason).
    pub untestable: BTreeMap<String, String>,
}

impl Measured {
    /// An empty measurement.
    pub fn new() -> Measured {
        Measured::default()
    }

    /// An experiment that could not run here, and why.
    pub fn skipped(reason: impl Into<String>) -> Measured {
        Measured {
            skipped: Some(reason.into()),
            ..Measured::default()
        }
    }

    /// Says that metric `name` cannot be measured here, and why: e.g. "more
    /// workers than cores" on a machine with more cores than the run's
    /// workers. Claims about it are skipped with `reason`, never passed.
    pub fn untestable(&mut self, name: &str, reason: impl Into<String>) -> &mut Self {
        self.untestable.insert(name.to_string(), reason.into());
        self
    }

    /// Records a parameter.
    pub fn param(&mut self, name: &str, value: impl Into<serde_json::Value>) -> &mut Self {
        self.params.insert(name.to_string(), value.into());
        self
    }

    /// Records repeated samples of a metric; the headline value is their median.
    pub fn summary(&mut self, name: &str, label: &str, unit: Unit, summary: Summary) -> &mut Self {
        self.metrics.push(Metric {
            name: name.to_string(),
            label: label.to_string(),
            unit,
            value: summary.median,
            summary: Some(summary),
            chart: None,
        });
        self
    }

    /// Records a single observed value.
    pub fn value(&mut self, name: &str, label: &str, unit: Unit, value: f64) -> &mut Self {
        self.metrics.push(Metric {
            name: name.to_string(),
            label: label.to_string(),
            unit,
            value,
            summary: None,
            chart: None,
        });
        self
    }

    /// Records something observed (or not), e.g. "the parent saw the change".
    pub fn flag(&mut self, name: &str, label: &str, observed: bool) -> &mut Self {
        self.value(name, label, Unit::Flag, if observed { 1.0 } else { 0.0 })
    }

    /// Adds a picture drawn from the run (inline SVG).
    pub fn figure(&mut self, name: &str, caption: &str, svg: String) -> &mut Self {
        self.figures.push(Figure {
            name: name.to_string(),
            caption: caption.to_string(),
            svg,
        });
        self
    }

    /// Draws the metric added last as a bar in the experiment's bar chart.
    pub fn bar(&mut self) -> &mut Self {
        self.mark_last(Chart::Bar)
    }

    /// Draws the metric added last as the point at `x` of the line `series`;
    /// the x axis is `x_name`, in `x_unit`.
    pub fn at(&mut self, series: &str, x_name: &str, x_unit: Unit, x: f64) -> &mut Self {
        self.mark_last(Chart::Point {
            series: series.to_string(),
            x,
            x_name: x_name.to_string(),
            x_unit,
        })
    }

    fn mark_last(&mut self, chart: Chart) -> &mut Self {
        let last = self
            .metrics
            .last_mut()
            .expect("add a metric before saying how to chart it");
        last.chart = Some(chart);
        self
    }

    /// The metric called `name`, if it was measured.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

impl Measured {
    /// Records the seconds of variant `name` of `times` as metric `key`.
    pub fn seconds(
        &mut self,
        times: &Interleaved,
        name: &str,
        key: &str,
        label: &str,
    ) -> &mut Self {
        self.summary(key, label, Unit::Seconds, times.summary(name))
    }

    /// Records how many times faster variant `name` was than `baseline`,
    /// round by round (see [`Interleaved::speedup`]), as metric `key`.
    pub fn speedup(
        &mut self,
        times: &Interleaved,
        baseline: &str,
        name: &str,
        key: &str,
        label: &str,
    ) -> &mut Self {
        self.summary(key, label, Unit::Times, times.speedup(baseline, name))
    }

    /// The usual record of a comparison: the seconds of `baseline` and of
    /// each variant, and each variant's speedup over `baseline`. A variant is
    /// (its name in `times`, its label); metrics are called `{prefix}{name}`
    /// and `{prefix}{name}_speedup`, so CPython's rows can sit beside Rust's
    /// under a prefix such as `py_`.
    pub fn times_and_speedups(
        &mut self,
        times: &Interleaved,
        prefix: &str,
        baseline: (&str, &str),
        variants: &[(&str, &str)],
    ) -> &mut Self {
        let (base, base_label) = baseline;
        self.seconds(times, base, &format!("{prefix}{base}"), base_label);
        for (name, label) in variants {
            self.seconds(times, name, &format!("{prefix}{name}"), label);
        }
        for (name, label) in variants {
            let key = format!("{prefix}{name}_speedup");
            self.speedup(times, base, name, &key, &format!("speedup: {label}"));
        }
        self
    }
}

/// Per-round ratios `numerators[r] / denominators[r]`, summarised: e.g. one
/// speedup divided by another measured in the same rounds.
pub fn per_round_ratio(numerators: &[f64], denominators: &[f64]) -> Summary {
    assert_eq!(
        numerators.len(),
        denominators.len(),
        "one value per round on both sides"
    );
    let ratios: Vec<f64> = numerators
        .iter()
        .zip(denominators)
        .map(|(a, b)| a / b)
        .collect();
    Summary::of(&ratios).expect("at least one round, all finite")
}

/// Values collected by name while variants run — a count a run printed, a
/// latency it measured inside — to be summarised afterwards. Variants run in
/// warm-up rounds too: [`Collector::keep_last`] drops what they recorded
/// there, and assumes one value per name per round (record under separate
/// names what a round records several times).
#[derive(Debug, Default)]
pub struct Collector {
    values: std::cell::RefCell<BTreeMap<String, Vec<f64>>>,
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Collector {
        Collector::default()
    }

    /// Adds one value to the list called `name`.
    pub fn record(&self, name: &str, value: f64) {
        self.values
            .borrow_mut()
            .entry(name.to_string())
            .or_default()
            .push(value);
    }

    /// Keeps only the last `rounds` values of every list (the measured rounds).
    pub fn keep_last(&self, rounds: usize) {
        for list in self.values.borrow_mut().values_mut() {
            let drop = list.len().saturating_sub(rounds);
            list.drain(..drop);
        }
    }

    /// The values called `name`, in the order they were recorded.
    pub fn values(&self, name: &str) -> Vec<f64> {
        self.values.borrow().get(name).cloned().unwrap_or_default()
    }

    /// The summary of the values called `name`.
    ///
    /// # Panics
    /// When nothing was recorded under `name`: a lab that asks for a list it
    /// never filled has a bug.
    pub fn summary(&self, name: &str) -> Summary {
        Summary::of(&self.values(name))
            .unwrap_or_else(|| panic!("nothing (finite) was collected under {name:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_speedups_record_every_variant_under_its_prefix() {
        let times = Interleaved::from_rounds(
            vec!["sequential".into(), "threads".into()],
            vec![vec![2.0, 4.0], vec![1.0, 1.0]],
        );
        let mut m = Measured::new();
        m.times_and_speedups(
            &times,
            "py_",
            ("sequential", "one after another"),
            &[("threads", "2 threads")],
        );
        let names: Vec<&str> = m.metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["py_sequential", "py_threads", "py_threads_speedup"]);
        // Per-round ratios 2 and 4: the median of two is their mean.
        assert_eq!(m.metric("py_threads_speedup").unwrap().value, 3.0);
    }

    #[test]
    fn a_collector_keeps_the_measured_rounds() {
        let collected = Collector::new();
        for value in [9.0, 1.0, 2.0, 3.0] {
            collected.record("latency", value);
        }
        collected.keep_last(3);
        assert_eq!(collected.values("latency"), [1.0, 2.0, 3.0]);
        assert_eq!(collected.summary("latency").median, 2.0);
        assert!(collected.values("other").is_empty());
    }

    #[test]
    fn per_round_ratio_divides_round_by_round() {
        let summary = per_round_ratio(&[2.0, 3.0, 8.0], &[1.0, 3.0, 2.0]);
        assert_eq!(summary.samples, [2.0, 1.0, 4.0]);
        assert_eq!(summary.median, 2.0);
    }
}
