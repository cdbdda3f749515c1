//! `cargo xtask grade` as an instructor types it: bad input is refused with
//! a message that says what to do (exit 2, no panic), and a submission with
//! nothing to grade gets zero with the reason, in every output format.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("xtask runs")
}

fn refused(args: &[&str], says: &str) {
    let output = xtask(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(says),
        "{args:?} should say {says:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
}

#[test]
fn bad_input_is_refused_with_what_to_do() {
    refused(
        &["grade", "--submission", "/no/such/dir"],
        "there is no submission at /no/such/dir",
    );
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    refused(
        &["grade", "--submission", dir, "--lab", "lab-99"],
        "the graded labs are: lab-01",
    );
    refused(&["grade", "--submission", dir, "--jobs", "0"], "--jobs");
    refused(
        &["grade", "--submission", dir, "--timeout", "-1"],
        "--timeout",
    );
    refused(
        &["grade", "--submission", dir, "--format", "pdf"],
        "--format",
    );
    refused(&["grade"], "--submission");
}

#[test]
fn a_submission_without_exercises_scores_zero_and_says_why() {
    let empty = tempfile::tempdir().unwrap();
    let out = empty.path().join("results.json");
    let output = xtask(&[
        "grade",
        "--submission",
        empty.path().to_str().unwrap(),
        "--lab",
        "lab-01",
        "--format",
        "gradescope",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(results["score"], 0.0);
    let tests = results["tests"].as_array().unwrap();
    assert!(!tests.is_empty());
    for test in tests {
        assert_eq!(test["score"], 0.0);
        assert!(
            test["output"]
                .as_str()
                .unwrap()
                .contains("src/exercises.rs in the submission"),
            "{test}"
        );
    }
}
