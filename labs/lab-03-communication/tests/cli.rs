//! Lab 03's command line: its own options, bad values refused before
//! anything is spawned, and the JSON it writes.

use std::process::Output;

fn lab(args: &[&str]) -> Output {
    labkit::testing::run_lab(env!("CARGO_BIN_EXE_lab-03"), args)
}

fn text(output: &Output) -> String {
    labkit::testing::output_text(output)
}

#[test]
fn help_lists_the_lab_options() {
    let output = lab(&["--help"]);
    assert!(output.status.success());
    let help = text(&output);
    for expected in [
        "--round-trips",
        "--max-size-mib",
        "[default: 64]",
        "throughput",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}: {help}");
    }
}

#[test]
fn out_of_range_sizes_and_counts_are_refused_before_measuring() {
    for args in [
        &["--round-trips", "0"][..],
        &["--round-trips", "99999999999"],
        &["--max-size-mib", "0"],
        &["--max-size-mib", "4096"],
        &["--max-size-mib", "big"],
    ] {
        labkit::testing::assert_refused(env!("CARGO_BIN_EXE_lab-03"), args);
    }
}

#[test]
fn a_latency_run_writes_its_results_and_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let output = lab(&[
        "--quick",
        "--only",
        "latency,python",
        "--round-trips",
        "300",
        "--json",
        path.to_str().unwrap(),
    ]);
    assert!(
        output.status.code().is_some_and(|c| c < 2),
        "{}",
        text(&output)
    );
    let results = labkit::results::LabResults::load(&path).unwrap();
    let latency = results.experiment("latency").unwrap();
    assert_eq!(latency.params["round_trips"], 300);
    let bars = latency.metrics.iter().filter(|m| m.chart.is_some()).count();
    assert_eq!(bars, lab_03::MECHANISMS.len(), "one bar per mechanism");
    assert_eq!(results.claims.len(), 5);
    // Whether the latency claims pass depends on the machine at that moment
    // (the test suite runs beside other tests); the CPython claim's verdict
    // does not.
    let python = results.claims.iter().find(|c| c.id == "py-queues").unwrap();
    assert_eq!(python.verdict, labkit::results::Verdict::Skipped);
    assert_eq!(python.reason.as_deref(), Some("python3 not found"));
}
