//! Lab 05's command line: its options, bad values refused before anything is
//! spawned, and the JSON it writes.

use std::process::Output;

fn lab(args: &[&str]) -> Output {
    labkit::testing::run_lab(env!("CARGO_BIN_EXE_lab-05"), args)
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
        "--max-workers",
        "--serial-percent",
        "[default: 64]",
        "oversubscription",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}: {help}");
    }
}

#[test]
fn out_of_range_counts_are_refused_before_measuring() {
    for args in [
        &["--max-workers", "0"][..],
        &["--max-workers", "1"],
        &["--max-workers", "100000"],
        &["--serial-percent", "0"],
        &["--serial-percent", "100"],
        &["--max-workers=-3"],
        &["--serial-percent", "half"],
    ] {
        labkit::testing::assert_refused(env!("CARGO_BIN_EXE_lab-05"), args);
    }
}

#[test]
fn a_small_sweep_writes_its_points_and_skips_what_it_cannot_test() {
    let results = labkit::testing::run_lab_quick(
        env!("CARGO_BIN_EXE_lab-05"),
        &["--only", "io,oversubscription,python", "--max-workers", "2"],
    );
    let io = results.experiment("io").unwrap();
    let points = io
        .metrics
        .iter()
        .filter(|m| matches!(m.chart, Some(labkit::results::Chart::Point { .. })))
        .count();
    // --quick sweeps --workers, 8 and the largest count: here only 2.
    assert_eq!(
        points, 5,
        "2 workers: threads and processes, sleep and socket, and the ideal"
    );
    let over = results.experiment("oversubscription").unwrap();
    assert!(over.skipped.as_deref().unwrap().contains("--max-workers"));
    let skipped: Vec<&str> = results
        .claims
        .iter()
        .filter(|c| c.verdict == labkit::results::Verdict::Skipped)
        .map(|c| c.id.as_str())
        .collect();
    for id in [
        "io-sleep-threads",
        "io-socket-threads",
        "oversubscribed-threads-wait",
    ] {
        assert!(skipped.contains(&id), "{id} should be skipped: {skipped:?}");
    }
}
