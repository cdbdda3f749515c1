//! Lab 04's command line: `run` with its options and errors, and the lab's help.

use std::process::Output;

fn lab(args: &[&str]) -> Output {
    labkit::testing::run_lab(env!("CARGO_BIN_EXE_lab-04"), args)
}

fn text(output: &Output) -> String {
    labkit::testing::output_text(output)
}

fn program(name: &str) -> String {
    lab_04::program_path(name).display().to_string()
}

#[test]
fn help_mentions_run_and_the_experiments() {
    let help = text(&lab(&["--help"]));
    assert!(
        help.contains("lab-04 run FILE.py") && help.contains("convoy"),
        "{help}"
    );
    let run_help = text(&lab(&["run", "--help"]));
    for expected in ["--gil", "--switch-interval", "--timeline"] {
        assert!(
            run_help.contains(expected),
            "run --help lacks {expected}: {run_help}"
        );
    }
}

#[test]
fn run_prints_the_programs_output_and_a_summary() {
    let output = lab(&[
        "run",
        &program("cpu_bound.py"),
        "threads",
        "1000",
        "--gil",
        "off",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.matches("499500").count(), 2, "{stdout}");
    assert!(text(&output).contains("GIL off (free-threaded)"));
}

#[test]
fn run_draws_a_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("t.svg");
    let output = lab(&[
        "run",
        &program("cpu_bound.py"),
        "threads",
        "300000",
        "--timeline",
        svg.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("main thread") && svg.contains("thread 2"),
        "{svg}"
    );
}

#[test]
fn errors_are_messages_with_a_position_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.py");
    std::fs::write(&file, "x = [i for i in range(3)]\n").unwrap();
    let output = lab(&["run", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let message = text(&output);
    assert!(
        message.contains("bad.py:1:")
            && message.contains("comprehensions")
            && !message.contains("panicked"),
        "{message}"
    );
    let missing = lab(&["run", "/no/such/file.py"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing).contains("cannot read /no/such/file.py"));
    for args in [
        &["run", "x.py", "--switch-interval", "0"][..],
        &["run", "x.py", "--gil", "maybe"],
        &["run"],
    ] {
        let refused = lab(args);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&refused)
        );
    }
}
