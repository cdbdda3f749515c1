//! Reading what libtest itself reported for the one test a run asked for.
//!
//! The grader runs `<test binary> --exact NAME --test-threads=1`, so a
//! genuine report has exactly one result line for NAME and a summary line
//! that agrees with it. Code under test can print anything, and can end the
//! process before libtest reports (`process::exit(0)`): then the result line
//! or the summary is missing, and the test has not passed.

/// What libtest reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// `test NAME ... ok` and `test result: ok. 1 passed; 0 failed`.
    Passed,
    /// `test NAME ... FAILED`, with the panic message if there was one.
    Failed {
        /// The panic's message (first lines), if libtest showed one.
        panic: Option<String>,
    },
    /// `test NAME ... ignored`.
    Ignored,
    /// The binary has no test called NAME (`running 0 tests`).
    NotFound,
    /// No complete report: the process ended before libtest finished.
    Missing,
}

/// Reads libtest's report for test `name` from the run's output.
pub fn read(output: &str, name: &str) -> Report {
    let prefix = format!("test {name} ... ");
    let results: Vec<&str> = output
        .lines()
        .filter_map(|line| {
            line.find(&prefix)
                .map(|at| line[at + prefix.len()..].trim())
        })
        .filter(|rest| !rest.is_empty())
        .collect();
    let summaries: Vec<&str> = output
        .lines()
        .filter(|line| line.starts_with("test result: "))
        .collect();
    if results.is_empty() && output.lines().any(|l| l.trim() == "running 0 tests") {
        return Report::NotFound;
    }
    // Anything but one result and one summary is not libtest's own report.
    let ([result], [summary]) = (results.as_slice(), summaries.as_slice()) else {
        return Report::Missing;
    };
    let passed = summary.starts_with("test result: ok. 1 passed; 0 failed;");
    let failed = summary.starts_with("test result: FAILED. 0 passed; 1 failed;");
    let ignored = summary.starts_with("test result: ok. 0 passed; 0 failed; 1 ignored;");
    match *result {
        "ok" if passed => Report::Passed,
        "FAILED" if failed => Report::Failed {
            panic: panic_message(output),
        },
        r if r.starts_with("ignored") && ignored => Report::Ignored,
        _ => Report::Missing,
    }
}

/// The message of the first panic in the output, up to a few lines.
pub fn panic_message(output: &str) -> Option<String> {
    let mut lines = output.lines();
    lines.find(|l| l.starts_with("thread '") && l.contains("panicked at"))?;
    let message: Vec<&str> = lines
        .take_while(|l| !l.starts_with("note: ") && !l.starts_with("---- ") && !l.is_empty())
        .take(8)
        .collect();
    if message.is_empty() {
        None
    } else {
        Some(message.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSED: &str = "\nrunning 1 test\ntest adds_up ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 5 filtered out; finished in 0.00s\n\n";

    const FAILED: &str = "\nrunning 1 test\ntest adds_up ... FAILED\n\nfailures:\n\n---- adds_up stdout ----\n\nthread 'adds_up' panicked at labs/x/tests/exercises.rs:10:5:\nassertion `left == right` failed\n  left: 1\n right: 2\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\nfailures:\n    adds_up\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 5 filtered out; finished in 0.00s\n\n";

    #[test]
    fn a_real_pass_and_a_real_failure() {
        assert_eq!(read(PASSED, "adds_up"), Report::Passed);
        let Report::Failed {
            panic: Some(message),
        } = read(FAILED, "adds_up")
        else {
            panic!("not a failure with a message");
        };
        assert!(message.starts_with("assertion `left == right` failed"));
        assert!(message.contains("right: 2"));
    }

    #[test]
    fn an_early_exit_is_no_pass() {
        // process::exit(0) inside the test: libtest printed its start only.
        let early = "\nrunning 1 test\ntest adds_up ... ";
        assert_eq!(read(early, "adds_up"), Report::Missing);
        // The code printed a fake result line, then exited.
        let fake = "\nrunning 1 test\ntest adds_up ... ok\n";
        assert_eq!(read(fake, "adds_up"), Report::Missing);
        // A fake pass printed before libtest's real failure report.
        let mixed = FAILED.replace(
            "---- adds_up stdout ----\n",
            "---- adds_up stdout ----\ntest adds_up ... ok\ntest result: ok. 1 passed; 0 failed;\n",
        );
        assert_eq!(read(&mixed, "adds_up"), Report::Missing);
    }

    #[test]
    fn a_missing_test_and_an_ignored_one() {
        let none = "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 6 filtered out; finished in 0.00s\n\n";
        assert_eq!(read(none, "adds_up"), Report::NotFound);
        let ignored = "\nrunning 1 test\ntest adds_up ... ignored\n\ntest result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 5 filtered out; finished in 0.00s\n\n";
        assert_eq!(read(ignored, "adds_up"), Report::Ignored);
    }

    #[test]
    fn a_name_that_is_a_prefix_of_another_is_not_confused() {
        let other = PASSED.replace("test adds_up ... ok", "test adds_up_twice ... ok");
        assert_eq!(read(&other, "adds_up"), Report::Missing);
    }
}
