//! The terminal tables: a lab's metrics, and claims with their verdicts —
//! the same for `cargo run -p lab-NN` and `cargo xtask verify`.

use crate::format;
use crate::results::{ClaimResult, ExperimentResult, LabResults, Verdict};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

/// Prints every experiment as a table, then the claims with their verdicts.
pub fn print_results(results: &LabResults) {
    for experiment in &results.experiments {
        println!("\n{} ({})", experiment.title, experiment.name);
        if let Some(reason) = &experiment.skipped {
            println!("  skipped: {reason}");
            continue;
        }
        println!("{}", metrics_table(experiment));
    }
    if !results.claims.is_empty() {
        println!("\nClaims and demonstrations");
        let rows: Vec<(Option<&str>, &ClaimResult)> =
            results.claims.iter().map(|c| (None, c)).collect();
        println!("{}", claims_table(&rows));
    }
    println!("{}", tally(results.claims.iter()));
}

/// A table that wraps long text to the terminal, or to `width` columns in a log.
fn new_table(width: u16) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        table.set_width(width);
    }
    table
}

/// One experiment's metrics: median, interval, minimum, samples.
pub fn metrics_table(experiment: &ExperimentResult) -> Table {
    let mut table = new_table(120);
    table.set_header(["measured", "median", "95% CI", "min", "n"]);
    for metric in &experiment.metrics {
        let show = |v: f64| format::value(v, metric.unit);
        match &metric.summary {
            Some(s) => table.add_row([
                metric.label.clone(),
                show(s.median),
                format!("{} – {}", show(s.ci_low), show(s.ci_high)),
                show(s.min),
                s.n.to_string(),
            ]),
            None => table.add_row([
                metric.label.clone(),
                show(metric.value),
                "".into(),
                "".into(),
                "1".into(),
            ]),
        };
    }
    table
}

/// Claims as a table: (lab, when there are several) verdict, statement,
/// measured value, rule or reason.
pub fn claims_table(claims: &[(Option<&str>, &ClaimResult)]) -> Table {
    let with_lab = claims.iter().any(|(lab, _)| lab.is_some());
    let mut table = new_table(if with_lab { 140 } else { 120 });
    let mut header = vec!["verdict", "claim", "measured", "rule / reason"];
    if with_lab {
        header.insert(0, "lab");
    }
    table.set_header(header);
    for (lab, claim) in claims {
        let mut row = vec![
            claim.word().to_string(),
            claim.statement.clone(),
            claim.measured_text(),
            claim.explanation(),
        ];
        if with_lab {
            row.insert(0, lab.unwrap_or("").to_string());
        }
        table.add_row(row);
    }
    table
}

/// How many claims passed, failed and were skipped, and how many
/// demonstrations were shown: "claims: 3 passed, 0 failed, 1 skipped;
/// demonstrations: 2 shown". A demonstration that did not show is a failure.
pub fn tally<'c>(claims: impl Iterator<Item = &'c ClaimResult>) -> String {
    let (mut passed, mut failed, mut skipped, mut shown) = (0, 0, 0, 0);
    for claim in claims {
        match (claim.is_demonstration(), claim.verdict) {
            (_, Verdict::Fail) => failed += 1,
            (true, Verdict::Pass) => shown += 1,
            (false, Verdict::Pass) => passed += 1,
            (_, Verdict::Skipped) => skipped += 1,
        }
    }
    format!(
        "claims: {passed} passed, {failed} failed, {skipped} skipped; demonstrations: {shown} shown"
    )
}
