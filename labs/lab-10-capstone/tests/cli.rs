//! Lab 10's command line: its options, bad values refused before anything
//! is started, and the JSON it writes.

use labkit::results::Verdict;
use std::process::Output;

fn lab(args: &[&str]) -> Output {
    labkit::testing::run_lab(env!("CARGO_BIN_EXE_lab-10"), args)
}

#[test]
fn help_lists_the_lab_options_with_their_defaults() {
    let output = lab(&["--help"]);
    assert!(output.status.success());
    let help = labkit::testing::output_text(&output);
    for expected in [
        "--items",
        "--delay-ms",
        "--hash-rounds",
        "--io-share",
        "[default: 90]",
        "computing",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}: {help}");
    }
}

#[test]
fn out_of_range_values_are_refused_before_anything_runs() {
    for args in [
        &["--items", "0"][..],
        &["--items", "1000"],
        &["--delay-ms", "0"],
        &["--delay-ms", "5000"],
        &["--io-share", "50"],
        &["--io-share", "79"],
        &["--io-share", "100"],
        &["--hash-rounds=-1"],
        &["--items", "many"],
    ] {
        labkit::testing::assert_refused(env!("CARGO_BIN_EXE_lab-10"), args);
    }
}

#[test]
fn a_quick_mix_names_its_fastest_and_skips_cpython_without_python() {
    let results = labkit::testing::run_lab_quick(
        env!("CARGO_BIN_EXE_lab-10"),
        &["--only", "waiting", "--items", "8"],
    );
    let waiting = results.experiment("waiting").unwrap();
    let fastest = waiting.params["fastest"].as_str().unwrap_or_default();
    assert!(!fastest.is_empty(), "{:?}", waiting.params);
    let label = &results
        .metric("waiting.fastest_vs_sequential")
        .unwrap()
        .label;
    assert!(label.contains(fastest), "{label}");
    let verdict = |id: &str| {
        results
            .claims
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.verdict)
    };
    assert_eq!(verdict("py-waiting-threads"), Some(Verdict::Skipped));
    assert!(verdict("waiting-prediction").is_some());
}
