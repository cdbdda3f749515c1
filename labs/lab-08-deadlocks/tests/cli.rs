//! Lab 08's command line: its option, bad values refused before anything is
//! run, and the JSON it writes.

use labkit::results::Verdict;
use std::process::Output;

fn lab(args: &[&str]) -> Output {
    labkit::testing::run_lab(env!("CARGO_BIN_EXE_lab-08"), args)
}

#[test]
fn help_lists_the_lab_option_with_its_default() {
    let output = lab(&["--help"]);
    assert!(output.status.success());
    let help = labkit::testing::output_text(&output);
    for expected in ["--work-us", "[default: 200]", "philosophers"] {
        assert!(help.contains(expected), "--help lacks {expected}: {help}");
    }
}

#[test]
fn out_of_range_work_is_refused_before_anything_runs() {
    for args in [
        &["--work-us", "100000"][..],
        &["--work-us=-3"],
        &["--work-us", "a little"],
    ] {
        labkit::testing::assert_refused(env!("CARGO_BIN_EXE_lab-08"), args);
    }
}

#[test]
fn the_process_demos_are_shown_and_cpython_is_skipped_without_python() {
    let results = labkit::testing::run_lab_quick(
        env!("CARGO_BIN_EXE_lab-08"),
        &["--only", "processes,joins,python_queue"],
    );
    let verdict = |id: &str| {
        results
            .claims
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.verdict)
    };
    for id in [
        "full-pipe-stuck",
        "read-then-wait",
        "open-end-stuck",
        "close-unused-ends",
        "join-cycle-hangs",
    ] {
        assert_eq!(verdict(id), Some(Verdict::Pass), "{id}");
    }
    assert_eq!(verdict("py-join-before-drain"), Some(Verdict::Skipped));
}
