//! Lab 02's command line: its own options, bad values rejected before anything
//! is spawned, and the JSON it writes.

use std::process::Output;

fn lab(args: &[&str]) -> Output {
    labkit::testing::run_lab(env!("CARGO_BIN_EXE_lab-02"), args)
}

fn text(output: &Output) -> String {
    labkit::testing::output_text(output)
}

#[test]
fn help_lists_the_lab_options_with_their_defaults() {
    let output = lab(&["--help"]);
    assert!(output.status.success());
    let help = text(&output);
    for expected in [
        "--idle-threads",
        "--buffer-mib",
        "--max-count",
        "[default: 256]",
        "cow",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}: {help}");
    }
}

#[test]
fn out_of_range_sizes_and_counts_are_refused_before_measuring() {
    for args in [
        &["--max-count", "0"][..],
        &["--max-count", "100000000"],
        &["--buffer-mib", "0"],
        &["--buffer-mib", "1000000"],
        &["--idle-threads=-3"],
        &["--idle-threads", "many"],
    ] {
        labkit::testing::assert_refused(env!("CARGO_BIN_EXE_lab-02"), args);
    }
}

#[test]
fn json_holds_the_experiments_claims_and_chart_hints() {
    let results = labkit::testing::run_lab_quick(
        env!("CARGO_BIN_EXE_lab-02"),
        &["--only", "creation,scale", "--max-count", "20"],
    );
    let scale = results.experiment("scale").unwrap();
    let points = scale
        .metrics
        .iter()
        .filter(|m| matches!(m.chart, Some(labkit::results::Chart::Point { .. })))
        .count();
    assert_eq!(points, 6, "1, 10 and 20 threads and processes");
    let creation = results.experiment("creation").unwrap();
    let rows: Vec<&str> = creation.metrics.iter().map(|m| m.name.as_str()).collect();
    assert!(
        !rows.iter().any(|r| r.starts_with("python_")),
        "no python3, no CPython rows: {rows:?}"
    );
    assert_eq!(results.claims.len(), 6);
    let skipped: Vec<&str> = results
        .claims
        .iter()
        .filter(|c| c.reason.as_deref() == Some("python3 not found"))
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(skipped, ["py-fork-vs-thread", "py-spawn-vs-fork"]);
}
