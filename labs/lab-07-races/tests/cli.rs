//! Lab 07's command line: its option, bad values refused before anything is
//! forked, and a quick run's results.

use labkit::results::Verdict;

const LAB: &str = env!("CARGO_BIN_EXE_lab-07");

#[test]
fn help_lists_the_option_with_its_default_and_the_experiments() {
    let output = labkit::testing::run_lab(LAB, &["--help"]);
    assert!(output.status.success());
    let help = labkit::testing::output_text(&output);
    for expected in ["--increments", "[default: 1000000]"] {
        assert!(help.contains(expected), "--help lacks {expected}: {help}");
    }
}

#[test]
fn out_of_range_increments_are_refused_before_measuring() {
    for args in [
        &["--increments", "0"][..],
        &["--increments", "999999999"],
        &["--increments=-1"],
        &["--increments", "lots"],
    ] {
        labkit::testing::assert_refused(LAB, args);
    }
}

#[test]
fn a_quick_run_shows_the_fixes_and_skips_cpython_without_python() {
    let results = labkit::testing::run_lab_quick(LAB, &["--only", "check_then_act,cpython"]);
    let verdict = |id: &str| {
        results
            .claims
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.verdict)
    };
    assert_eq!(verdict("checked-never-oversells"), Some(Verdict::Pass));
    assert_eq!(verdict("py-value-loses"), Some(Verdict::Skipped));
}
