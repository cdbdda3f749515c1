//! Lab 06's command line: its options, bad values refused before anything is
//! spawned, and the JSON it writes.

use std::process::Output;

fn lab(args: &[&str]) -> Output {
    labkit::testing::run_lab(env!("CARGO_BIN_EXE_lab-06"), args)
}

fn text(output: &Output) -> String {
    labkit::testing::output_text(output)
}

#[test]
fn help_lists_the_lab_options_with_their_defaults() {
    let output = lab(&["--help"]);
    assert!(output.status.success());
    let help = text(&output);
    for expected in ["--tasks", "[default: 2000]", "failures"] {
        assert!(help.contains(expected), "--help lacks {expected}: {help}");
    }
}

#[test]
fn out_of_range_task_counts_are_refused_before_measuring() {
    for args in [
        &["--tasks", "0"][..],
        &["--tasks", "10000000"],
        &["--tasks=-3"],
        &["--tasks", "many"],
    ] {
        labkit::testing::assert_refused(env!("CARGO_BIN_EXE_lab-06"), args);
    }
}

#[test]
fn failures_are_shown_and_cpython_is_skipped_without_python() {
    let results = labkit::testing::run_lab_quick(
        env!("CARGO_BIN_EXE_lab-06"),
        &["--only", "failures,square"],
    );
    let shown = |id: &str| {
        results
            .claims
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.verdict)
    };
    assert_eq!(
        shown("dead-worker-breaks"),
        Some(labkit::results::Verdict::Pass)
    );
    assert_eq!(shown("py-broken"), Some(labkit::results::Verdict::Skipped));
    assert_eq!(
        shown("square-pool-slower"),
        Some(labkit::results::Verdict::Skipped)
    );
}
