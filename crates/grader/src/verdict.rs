//! From how a run ended and what libtest reported to a verdict with a
//! message a student can act on.

use crate::config::Limits;
use crate::libtest::{self, Report};
use crate::sandbox::{Ending, Finished};
use nix::libc;
use nix::sys::signal::Signal;

/// The verdict on one run of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether libtest reported the test passed and the process ended cleanly.
    pub passed: bool,
    /// Why it did not pass (empty when it did).
    pub message: String,
}

/// Judges one run of test `name`.
pub fn judge(finished: &Finished, name: &str, limits: &Limits) -> Verdict {
    let fail = |message: String| Verdict {
        passed: false,
        message,
    };
    let mut verdict = match finished.ending {
        Ending::TimedOut => fail(timed_out(finished.peak_tasks, limits)),
        Ending::TooManyProcesses => fail(too_many(limits)),
        Ending::Flooded => fail(format!(
            "killed for flooding its output: it printed more than {} MiB",
            limits.output_flood_bytes() >> 20
        )),
        Ending::Signaled(signal) => fail(signaled(signal, &finished.output, limits)),
        Ending::Exited(code) => exited(code, &finished.output, name, limits),
    };
    // A failure at the process limit is the limit's doing, whatever the code
    // did when the kernel refused it a fork.
    if !verdict.passed && finished.peak_tasks + 1 >= limits.processes {
        verdict.message = too_many(limits);
    }
    if finished.truncated {
        verdict.message.push_str(&format!(
            "{}(output truncated: {} bytes printed, the first {} KiB kept)",
            if verdict.message.is_empty() { "" } else { " " },
            finished.output_bytes,
            limits.output_kib
        ));
    }
    verdict
}

/// A fork bomb on a loaded machine can run out of time before it reaches the
/// process limit: then the count it did reach is the clue, so say it.
fn timed_out(peak_tasks: u64, limits: &Limits) -> String {
    let many = limits.processes / 4;
    if peak_tasks >= many.max(2) {
        format!(
            "timed out: still running after {} s and killed, with up to {peak_tasks} processes and threads (a fork bomb? the limit is {})",
            limits.timeout_seconds, limits.processes
        )
    } else {
        format!(
            "timed out: still running after {} s and killed (a deadlock, or an infinite loop?)",
            limits.timeout_seconds
        )
    }
}

fn too_many(limits: &Limits) -> String {
    format!(
        "too many processes: the test reached the limit of {} processes and threads (a fork bomb?)",
        limits.processes
    )
}

fn exited(code: i32, output: &str, name: &str, limits: &Limits) -> Verdict {
    let report = libtest::read(output, name);
    let fail = |message: String| Verdict {
        passed: false,
        message,
    };
    match report {
        Report::Passed if code == 0 => Verdict {
            passed: true,
            message: String::new(),
        },
        Report::Failed { panic } => {
            if out_of_memory(output) {
                return fail(out_of_memory_message(limits));
            }
            match panic {
                Some(message) => fail(format!("panicked: {message}")),
                None => fail("failed (no panic message)".into()),
            }
        }
        Report::Ignored => fail("the test is marked #[ignore] and did not run".into()),
        Report::NotFound => fail(format!("there is no test called {name} in this build")),
        Report::Passed => fail(format!(
            "libtest reported a pass, but the process then exited with code {code} \
             (something ran after the tests and failed)"
        )),
        Report::Missing => fail(format!(
            "the process exited with code {code} before the test harness reported a result \
             (does the code call process::exit, or print straight to standard output?)"
        )),
    }
}

fn signaled(signal: i32, output: &str, limits: &Limits) -> String {
    let name = Signal::try_from(signal)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {signal}"));
    match signal {
        libc::SIGABRT if out_of_memory(output) => out_of_memory_message(limits),
        libc::SIGSEGV | libc::SIGBUS => format!(
            "crashed with {name}: an invalid memory access (unsafe code, or a stack overflow?)"
        ),
        libc::SIGABRT => match libtest::panic_message(output) {
            Some(message) => format!("aborted (SIGABRT) after a panic: {message}"),
            None => "aborted (SIGABRT): the process called abort()".into(),
        },
        libc::SIGXCPU => format!(
            "killed for CPU time: it used more than {} s of CPU",
            limits.cpu_seconds
        ),
        libc::SIGXFSZ => format!(
            "killed for writing a file larger than {} MiB",
            limits.file_mib
        ),
        libc::SIGKILL => "killed by SIGKILL from outside the grader (out of memory?)".into(),
        _ => format!("crashed with {name}"),
    }
}

/// Rust's message when an allocation fails (here: under `RLIMIT_AS`).
fn out_of_memory(output: &str) -> bool {
    output.contains("memory allocation of") && output.contains("failed")
}

fn out_of_memory_message(limits: &Limits) -> String {
    format!(
        "killed for memory: an allocation failed under the limit of {} MiB",
        limits.memory_mib
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn finished(ending: Ending, output: &str) -> Finished {
        Finished {
            ending,
            output: output.into(),
            output_bytes: output.len() as u64,
            truncated: false,
            elapsed: Duration::ZERO,
            peak_tasks: 1,
        }
    }

    const PASS: &str = "running 1 test\ntest t ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";

    #[test]
    fn only_a_reported_pass_with_exit_zero_passes() {
        let limits = Limits::default();
        assert!(judge(&finished(Ending::Exited(0), PASS), "t", &limits).passed);
        // The same text with another exit code: something after libtest failed.
        let after = judge(&finished(Ending::Exited(1), PASS), "t", &limits);
        assert!(!after.passed);
        assert!(
            after.message.contains("then exited with code 1"),
            "{}",
            after.message
        );
        let early = judge(
            &finished(Ending::Exited(0), "running 1 test\ntest t ... "),
            "t",
            &limits,
        );
        assert!(!early.passed);
        assert!(early.message.contains("process::exit"), "{}", early.message);
    }

    #[test]
    fn every_ending_has_its_own_message() {
        let limits = Limits::default();
        let cases = [
            (Ending::TimedOut, "", "timed out"),
            (Ending::TooManyProcesses, "", "too many processes"),
            (Ending::Flooded, "", "flooding"),
            (Ending::Signaled(libc::SIGSEGV), "", "SIGSEGV"),
            (Ending::Signaled(libc::SIGABRT), "", "abort()"),
            (
                Ending::Signaled(libc::SIGABRT),
                "memory allocation of 53687091200 bytes failed\n",
                "killed for memory",
            ),
            (Ending::Signaled(libc::SIGXCPU), "", "CPU time"),
            (Ending::Signaled(libc::SIGXFSZ), "", "file larger"),
            (
                Ending::Exited(101),
                "running 1 test\ntest t ... FAILED\n\n---- t stdout ----\n\nthread 't' panicked at src/exercises.rs:3:5:\nnot yet implemented: sum it\nnote: run with\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored;\n",
                "panicked: not yet implemented: sum it",
            ),
        ];
        for (ending, output, expected) in cases {
            let verdict = judge(&finished(ending, output), "t", &limits);
            assert!(!verdict.passed);
            assert!(
                verdict.message.contains(expected),
                "{ending:?}: {}",
                verdict.message
            );
        }
    }

    #[test]
    fn a_failure_at_the_process_limit_is_blamed_on_the_limit() {
        let limits = Limits::default();
        let mut run = finished(Ending::Exited(101), "fork failed: EAGAIN");
        run.peak_tasks = limits.processes - 1;
        assert!(
            judge(&run, "t", &limits)
                .message
                .contains("too many processes")
        );
        run.peak_tasks = 3;
        assert!(
            !judge(&run, "t", &limits)
                .message
                .contains("too many processes")
        );
    }

    #[test]
    fn a_timeout_with_many_processes_names_them() {
        let limits = Limits::default();
        let mut run = finished(Ending::TimedOut, "");
        run.peak_tasks = limits.processes / 2;
        let bomb = judge(&run, "t", &limits).message;
        assert!(bomb.contains("processes and threads"), "{bomb}");
        assert!(
            bomb.contains(&format!("up to {}", limits.processes / 2)),
            "{bomb}"
        );
        run.peak_tasks = 3;
        let hang = judge(&run, "t", &limits).message;
        assert!(hang.contains("deadlock"), "{hang}");
        assert!(!hang.contains("processes"), "{hang}");
    }

    #[test]
    fn truncation_is_said() {
        let mut run = finished(Ending::Exited(0), PASS);
        run.truncated = true;
        run.output_bytes = 1 << 20;
        let verdict = judge(&run, "t", &Limits::default());
        assert!(verdict.passed);
        assert!(verdict.message.contains("output truncated"));
    }
}
