//! Lab 09's command line: its option, bad values refused before anything is
//! run, and the JSON it writes.

use labkit::results::Verdict;
use std::process::Output;

fn lab(args: &[&str]) -> Output {
    labkit::testing::run_lab(env!("CARGO_BIN_EXE_lab-09"), args)
}

#[test]
fn help_lists_the_lab_option_with_its_default() {
    let output = lab(&["--help"]);
    assert!(output.status.success());
    let help = labkit::testing::output_text(&output);
    for expected in ["--deadline-ms", "[default: 200]", "--quick"] {
        assert!(help.contains(expected), "--help lacks {expected}: {help}");
    }
    let list = labkit::testing::output_text(&lab(&["--list"]));
    for experiment in ["threads", "processes", "cancel", "signals", "group"] {
        assert!(
            list.contains(experiment),
            "--list lacks {experiment}: {list}"
        );
    }
}

#[test]
fn bad_values_are_refused_before_anything_runs() {
    for args in [
        &["--deadline-ms", "5"][..],
        &["--deadline-ms", "100000"],
        &["--deadline-ms=-1"],
        &["--deadline-ms", "soon"],
        &["--workers", "0"],
    ] {
        labkit::testing::assert_refused(env!("CARGO_BIN_EXE_lab-09"), args);
    }
}

#[test]
fn the_crash_and_signal_demos_are_shown_and_cpython_is_skipped_without_python() {
    let results = labkit::testing::run_lab_quick(
        env!("CARGO_BIN_EXE_lab-09"),
        &["--only", "processes,signals,exit,python_crash"],
    );
    let verdict = |id: &str| {
        results
            .claims
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.verdict)
    };
    for id in [
        "child-crash-contained",
        "parent-sees-signal",
        "shared-lock-stays-locked",
        "term-cleans-up",
        "kill-leaves-files",
        "rust-exit-ends-threads",
    ] {
        assert_eq!(verdict(id), Some(Verdict::Pass), "{id}");
    }
    for id in ["py-process-contained", "py-exit-joins"] {
        assert_eq!(verdict(id), Some(Verdict::Skipped), "{id}");
    }
}
