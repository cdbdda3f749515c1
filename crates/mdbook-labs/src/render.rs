//! Renders a lab's results as Markdown: one table per experiment, a speedup
//! chart where there are speedups, bar and line charts where the lab marked
//! metrics for them, the claims with verdicts, and the machine.

use crate::chart::{self, Bar, Value};
use anyhow::Result;
use labkit_schema::format;
use labkit_schema::results::{
    Chart, ClaimResult, ExperimentResult, LabResults, Metric, Mode, Unit, Verdict,
};
use std::fmt::Write;

/// The whole `{{#lab-results}}` block.
pub fn lab_results(results: &LabResults) -> Result<String> {
    let mut out = String::from("<div class=\"lab-results\">\n\n");
    for experiment in &results.experiments {
        out += &experiment_block(results, experiment)?;
    }
    out += &claims_block(&results.claims);
    out += &machine_block(results);
    out += "\n</div>\n";
    Ok(out)
}

fn experiment_block(results: &LabResults, experiment: &ExperimentResult) -> Result<String> {
    let mut out = format!("#### {}\n\n", experiment.title);
    if let Some(reason) = &experiment.skipped {
        let _ = writeln!(out, "*Not measured here: {}.*\n", escape(reason));
        return Ok(out);
    }
    if !experiment.params.is_empty() {
        let params: Vec<String> = experiment
            .params
            .iter()
            .map(|(k, v)| format!("{k} = {}", parameter_text(v)))
            .collect();
        let _ = writeln!(
            out,
            "<p class=\"lab-params\">{}</p>\n",
            escape(&params.join(" · "))
        );
    }
    out += "| measured | median | 95% CI | min | samples |\n|---|--:|--:|--:|--:|\n";
    for metric in &experiment.metrics {
        out += &metric_row(metric);
    }
    out += "\n";
    let bars: Vec<Bar> = experiment
        .metrics
        .iter()
        .filter(|m| m.unit == Unit::Times && m.name.ends_with("_speedup"))
        .map(Bar::from_metric)
        .collect();
    if !bars.is_empty() {
        // The capacity line only where the claims were judged against it:
        // measured in this experiment's own rounds. (The start-of-run
        // calibration may come from a different second of a changing machine.)
        let capacity = experiment
            .metrics
            .iter()
            .find(|m| m.name == labkit_schema::results::CAPACITY_METRIC)
            .map(|m| m.value);
        let title = format!("{} — speedup over sequential", experiment.title);
        out += &chart::speedups(&title, &bars, results.workers, capacity)?;
        out += "\n\n";
    }
    out += &bar_charts(experiment)?;
    out += &line_charts(experiment)?;
    Ok(out)
}

/// One chart per unit of the metrics marked [`Chart::Bar`], in their order.
pub(crate) fn bar_charts(experiment: &ExperimentResult) -> Result<String> {
    let mut out = String::new();
    let marked: Vec<&Metric> = experiment
        .metrics
        .iter()
        .filter(|m| m.chart == Some(Chart::Bar))
        .collect();
    let mut units: Vec<Unit> = marked.iter().map(|m| m.unit).collect();
    units.dedup();
    for unit in units {
        let values: Vec<Value> = marked
            .iter()
            .filter(|m| m.unit == unit)
            .map(|m| Value::of(m, 0.0))
            .collect();
        out += &chart::bars(&experiment.title, unit, &values)?;
        out += "\n\n";
    }
    Ok(out)
}

/// One chart per (x axis, y unit) of the metrics marked [`Chart::Point`],
/// with a line per series.
pub(crate) fn line_charts(experiment: &ExperimentResult) -> Result<String> {
    type Axes = (String, Unit, Unit);
    type Lines = Vec<(String, Vec<Value>)>;
    let mut charts: Vec<(Axes, Lines)> = Vec::new();
    for metric in &experiment.metrics {
        let Some(Chart::Point {
            series,
            x,
            x_name,
            x_unit,
        }) = &metric.chart
        else {
            continue;
        };
        let axes = (x_name.clone(), *x_unit, metric.unit);
        let index = match charts.iter().position(|(a, _)| *a == axes) {
            Some(index) => index,
            None => {
                charts.push((axes, Vec::new()));
                charts.len() - 1
            }
        };
        let lines = &mut charts[index].1;
        match lines.iter_mut().find(|(name, _)| name == series) {
            Some((_, values)) => values.push(Value::of(metric, *x)),
            None => lines.push((series.clone(), vec![Value::of(metric, *x)])),
        }
    }
    let mut out = String::new();
    for ((x_name, x_unit, y_unit), lines) in &charts {
        out += &chart::lines(&experiment.title, (x_name, *x_unit), *y_unit, lines)?;
        out += "\n\n";
    }
    Ok(out)
}

fn metric_row(metric: &Metric) -> String {
    let show = |v: f64| format::value(v, metric.unit);
    match &metric.summary {
        Some(s) => format!(
            "| {} | **{}** | {} – {} | {} | {} |\n",
            escape(&metric.label),
            show(s.median),
            show(s.ci_low),
            show(s.ci_high),
            show(s.min),
            s.n
        ),
        None => format!(
            "| {} | **{}** | | | |\n",
            escape(&metric.label),
            show(metric.value)
        ),
    }
}

fn claims_block(claims: &[ClaimResult]) -> String {
    let (demonstrations, claims): (Vec<&ClaimResult>, Vec<&ClaimResult>) =
        claims.iter().partition(|c| c.is_demonstration());
    let mut out = String::new();
    if !claims.is_empty() {
        out += "#### Claims\n\nEach could have come out otherwise on another machine; the measurement decides.\n\n";
        out += &verdict_table(&claims);
    }
    if !demonstrations.is_empty() {
        out += "#### Demonstrations\n\nTrue by how the code is built — shown, and checked so that a broken lab cannot pass unnoticed, but not counted as claims.\n\n";
        out += &verdict_table(&demonstrations);
    }
    out
}

fn verdict_table(claims: &[&ClaimResult]) -> String {
    let mut out = String::from("| verdict | claim | measured | rule |\n|---|---|--:|---|\n");
    for claim in claims {
        let class = match claim.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skipped => "skipped",
        };
        let _ = writeln!(
            out,
            "| <span class=\"verdict {class}\">{}</span> | {} | {} | {} |",
            claim.word().to_lowercase(),
            escape(&claim.statement),
            claim.measured_text(),
            escape(&claim.explanation())
        );
    }
    out + "\n"
}

fn machine_block(results: &LabResults) -> String {
    let m = &results.machine;
    let mode = match results.mode {
        Mode::Full => "full run",
        Mode::Quick => "quick run (--quick)",
    };
    let commit = match (&m.git_commit, m.git_dirty) {
        (Some(c), true) => format!("commit {c} with uncommitted changes"),
        (Some(c), false) => format!("commit {c}"),
        (None, _) => "no git commit".to_string(),
    };
    let debug = if m.build.debug_assertions {
        ", debug assertions and overflow checks on"
    } else {
        ", no debug assertions or overflow checks"
    };
    format!(
        "<p class=\"lab-machine\">Measured {} ({mode}, {:.0} s, {} workers) on {} logical cores of {} · {} · {} · {} · {} profile, opt-level {}{debug} · {} · {}.</p>\n",
        escape(&results.measured_at),
        results.duration_s,
        results.workers,
        m.logical_cores,
        escape(&m.cpu_model),
        escape(&m.os),
        escape(&m.kernel),
        escape(&m.rustc),
        escape(&m.build.profile),
        escape(&m.build.opt_level),
        escape(m.python3.as_deref().unwrap_or("python3 not found")),
        escape(&commit),
    )
}

/// A parameter's value as text: numbers with grouped digits, strings unquoted.
pub fn parameter_text(value: &serde_json::Value) -> String {
    match value.as_u64() {
        Some(number) => group_digits(number),
        None => value.to_string().trim_matches('"').to_string(),
    }
}

/// 100000000 → "100 000 000" (thin spaces), so large sizes can be read at a glance.
pub fn group_digits(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(digit);
    }
    out
}

/// Escapes text for a Markdown table cell inside HTML.
pub(crate) fn escape(text: &str) -> String {
    escape_html(text).replace('|', "\\|")
}

/// `text` safe inside HTML.
pub(crate) fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
