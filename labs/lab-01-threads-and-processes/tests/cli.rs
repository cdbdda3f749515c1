//! The lab's command line: help, bad input, the JSON it writes, and the
//! python3-missing path. None of these may panic.

use std::process::Output;

fn lab(args: &[&str]) -> Output {
    labkit::testing::run_lab(env!("CARGO_BIN_EXE_lab-01"), args)
}

fn text(output: &Output) -> String {
    labkit::testing::output_text(output)
}

#[test]
fn help_lists_the_options_and_the_experiments() {
    let output = lab(&["--help"]);
    assert!(output.status.success());
    let help = text(&output);
    for expected in [
        "--quick",
        "--json",
        "--only",
        "--workers",
        "cpu",
        "python_cpu",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}: {help}");
    }
}

#[test]
fn bad_flags_are_clap_errors_not_panics() {
    for args in [
        &["--workers", "0"][..],
        &["--workers", "lots"],
        &["--frobnicate"],
    ] {
        let output = lab(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert!(
            !text(&output).contains("panicked"),
            "{args:?}: {}",
            text(&output)
        );
    }
}

#[test]
fn an_unknown_experiment_lists_the_real_ones() {
    let output = lab(&["--only", "gpu"]);
    assert_eq!(output.status.code(), Some(2));
    let message = text(&output);
    assert!(
        message.contains("no experiment \"gpu\"") && message.contains("isolation"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn an_unwritable_json_path_is_an_error_naming_it() {
    let output = lab(&[
        "--only",
        "isolation",
        "--json",
        "/proc/no/such/results.json",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("/proc/no/such"), "{}", text(&output));
}

#[test]
fn one_worker_cannot_show_a_speedup_so_the_claims_are_skipped() {
    let output = lab(&["--quick", "--only", "io", "--workers", "1"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("0 passed, 0 failed, 2 skipped"),
        "{}",
        text(&output)
    );
    assert!(
        text(&output).contains("at least 2 workers"),
        "{}",
        text(&output)
    );
}

#[test]
fn json_results_hold_the_experiments_and_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let output = lab(&[
        "--quick",
        "--only",
        "isolation,join",
        "--json",
        path.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let results = labkit::results::LabResults::load(&path).unwrap();
    assert_eq!(results.lab, "lab-01");
    let names: Vec<&str> = results
        .experiments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["isolation", "join"]);
    assert_eq!(results.claims.len(), 9);
    // Without python3 (the tests hide it), CPython's demonstrations are
    // skipped with the reason; every other one was shown.
    for claim in &results.claims {
        let skipped = claim.reason.as_deref() == Some("python3 not found");
        assert!(
            claim.passed() || (skipped && claim.id.starts_with("py-")),
            "{claim:?}"
        );
        assert!(
            claim.is_demonstration(),
            "{} is true by construction",
            claim.id
        );
    }
}

#[test]
fn without_python3_the_cpython_claims_are_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let output = lab(&[
        "--quick",
        "--only",
        "python_io",
        "--json",
        path.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let results = labkit::results::LabResults::load(&path).unwrap();
    let claim = &results.claims[0];
    assert_eq!(claim.verdict, labkit::results::Verdict::Skipped);
    assert_eq!(claim.reason.as_deref(), Some("python3 not found"));
    assert!(
        text(&output).contains("0 passed, 0 failed, 1 skipped"),
        "{}",
        text(&output)
    );
}
