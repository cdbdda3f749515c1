//! Helpers for the labs' tests: running a lab's binary as a user would,
//! telling whether a process was really forked while some code ran, running
//! code that may hang with a deadline, finding processes left behind, and
//! running the code under test apart from the process that judges it
//! ([`apart`]).

mod apart;
pub use apart::{APART_LIMIT, apart, apart_within};

use crate::child::fork_child;
use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use std::ops::Range;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Runs the lab binary `program` with `args` and returns its output. python3
/// is hidden from it (`LABKIT_PYTHON=none`), so that what a test sees does not
/// depend on whether this machine has CPython.
pub fn run_lab(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("LABKIT_PYTHON", "none")
        .output()
        .expect("the lab binary runs")
}

/// A program's standard output and error, as one text.
pub fn output_text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr)
}

/// Checks that the lab binary `program` refuses `args` (a flag with a bad
/// value) the way a user should see it: exit code 2, a message naming the
/// flag, no panic — and nothing measured first.
pub fn assert_refused(program: &str, args: &[&str]) {
    let output = run_lab(program, args);
    let message = output_text(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
    assert!(
        !message.contains("measuring"),
        "{args:?} measured: {message}"
    );
    assert!(!message.contains("panicked"), "{args:?}: {message}");
    let flag = args[0].split('=').next().unwrap_or_default();
    assert!(message.contains(flag), "{flag} is not named: {message}");
}

/// Runs the lab binary `program` with `args`, `--quick` and `--json` into a
/// file of its own, and returns the results it wrote. Exit code 0 (every
/// claim held) and 1 (one failed: a machine busy with other tests can fail
/// them, and verdicts are `cargo xtask verify`'s business) are accepted;
/// anything else fails the test with the program's output.
pub fn run_lab_quick(program: &str, args: &[&str]) -> crate::results::LabResults {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("labkit-test-{}-{run}.json", std::process::id()));
    let path_text = path.to_str().expect("a UTF-8 temporary directory");
    let mut all = vec!["--quick", "--json", path_text];
    all.extend_from_slice(args);
    let output = run_lab(program, &all);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{program} {args:?}: {}",
        output_text(&output)
    );
    let results = crate::results::LabResults::load(&path);
    let _ = std::fs::remove_file(&path);
    results.unwrap_or_else(|e| panic!("{program} wrote no results: {e:#}"))
}

/// Runs `work` between two probe forks and returns what it returned, with
/// the range of pids the kernel handed out meanwhile. The kernel hands out
/// pids in increasing order until they wrap around, so a child really forked
/// by `work` has a pid in that range. `None` when the pids wrapped.
pub fn forked_during<T>(work: impl FnOnce() -> T) -> (T, Option<Range<i32>>) {
    let probe = || {
        let child = fork_child(|| 0).expect("a probe fork");
        let pid = child.pid().as_raw();
        child.wait_success().expect("the probe exits");
        pid
    };
    let first = probe();
    let result = work();
    let last = probe();
    (result, (first < last).then_some(first..last))
}

/// Bytes this process has passed to `read` and `write` calls so far (the
/// `rchar` and `wchar` of `/proc/self/io`, every thread's), with those of
/// every child it has reaped: the kernel adds a child's counts to its
/// parent's when the parent waits for it. Pipes count too, so a test can
/// see that data really went through them: a fake that computes the answer
/// on the spot reads and writes nothing. Every thread counts, so a test that
/// needs an exact lower bound runs in a child of its own.
pub fn bytes_read_and_written() -> (u64, u64) {
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io is readable");
    let field = |name: &str| {
        io.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/self/io"))
    };
    (field("rchar"), field("wchar"))
}

/// Runs `work` on a thread of its own and returns what it returned, or an
/// error if it did not finish within `limit` (it is then left where it is:
/// the test process ends it when it exits). A panic in `work` is a panic
/// here. For code that only starts threads: code that forks should run in a
/// child that can be killed with its own children.
pub fn in_thread_within<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (done, finished) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = done.send(work());
    });
    match finished.recv_timeout(limit) {
        Ok(value) => Ok(value),
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => Err("the work ended without a result".into()),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "did not finish within {limit:?}: a deadlock, or something waiting forever?"
        )),
    }
}

/// Runs one test of this test program again, alone, in a new process set
/// up by `configure` (another user, an environment variable), and panics
/// with its output unless it passed. For checks that need a process of
/// their own: no other test's threads or children, or another user's rights.
pub fn rerun_alone(test: &str, configure: impl FnOnce(&mut Command)) {
    let mut command = Command::new(std::env::current_exe().expect("this test program's path"));
    command.args(["--exact", test, "--include-ignored"]);
    configure(&mut command);
    let output = command.output().expect("running the test again");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && text.contains("1 passed"),
        "{test}, run again alone:\n{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Set to a test's name in the process that runs it again alone.
const ALONE: &str = "LABKIT_TEST_ALONE";

/// For a test that needs a process of its own — no other test's threads,
/// which may hold a lock a fork would copy held, and no other test's
/// children. Called first in the test: the first time, it runs the test
/// again alone ([`rerun_alone`]) and returns `false`, and the test returns;
/// in that new process it returns `true`, and the test goes on.
pub fn alone(test: &str) -> bool {
    if std::env::var_os(ALONE).is_some_and(|name| name == test) {
        return true;
    }
    rerun_alone(test, |command| {
        command.env(ALONE, test);
    });
    false
}

/// Every child of this process now: reaped if it has ended, named if it
/// still runs. In a test that made itself a child subreaper
/// (`prctl(PR_SET_CHILD_SUBREAPER)`), a process orphaned by the code under
/// test shows up here too. Empty when nothing was left behind.
pub fn leftover_children() -> Vec<String> {
    let mut found = Vec::new();
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Err(Errno::ECHILD) => return found,
            Ok(WaitStatus::StillAlive) => {
                found.push("a process still running".to_string());
                return found;
            }
            Ok(status) => found.push(format!("{status:?}")),
            Err(err) => panic!("waitpid: {err}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "wrote no results")]
    fn a_lab_that_writes_no_results_fails_the_quick_run() {
        run_lab_quick("true", &[]);
    }

    #[test]
    #[should_panic(expected = "sh")]
    fn a_lab_that_exits_with_an_error_fails_the_quick_run() {
        // `sh --quick` refuses the option: exit code 2.
        run_lab_quick("sh", &[]);
    }

    #[test]
    #[should_panic(expected = "Some(2)")]
    fn a_program_that_accepts_the_bad_value_fails_the_check() {
        assert_refused("true", &["--size", "0"]);
    }

    #[test]
    fn a_real_child_is_in_the_range_and_a_made_up_pid_is_not() {
        let (pid, range) = forked_during(|| {
            let child = fork_child(|| 0).unwrap();
            let pid = child.pid().as_raw();
            child.wait_success().unwrap();
            pid
        });
        if let Some(range) = range {
            assert!(range.contains(&pid), "{pid} not in {range:?}");
            assert!(!range.contains(&1), "init was not forked just now");
        }
    }

    #[test]
    fn a_reaped_child_s_writes_count_as_this_process_s() {
        // In a child of its own, where no other test's I/O is counted.
        let checker = fork_child(|| {
            let before = bytes_read_and_written();
            let writer = fork_child(|| {
                use std::io::Write;
                let mut null = std::fs::File::create("/dev/null").unwrap();
                i32::from(null.write_all(&[0; 100_000]).is_err())
            })
            .unwrap();
            if writer.wait_success().is_err() {
                return 2;
            }
            let after = bytes_read_and_written();
            i32::from(after.1 < before.1 + 100_000)
        })
        .unwrap();
        let pid = checker.pid();
        assert_eq!(checker.wait().unwrap(), WaitStatus::Exited(pid, 0));
    }

    #[test]
    fn work_that_hangs_is_an_error_at_its_deadline() {
        assert_eq!(in_thread_within(Duration::from_secs(5), || 7), Ok(7));
        let hung = in_thread_within(Duration::from_millis(50), || {
            thread::sleep(Duration::from_secs(5));
        });
        assert!(hung.unwrap_err().contains("did not finish"));
    }

    #[test]
    fn an_unwaited_child_is_a_leftover() {
        // In a child of its own, where no other test's children can be
        // mistaken for ours: one child forgotten, and found (exit code 1).
        let checker = fork_child(|| {
            let Ok(forgotten) = fork_child(|| 0) else {
                return 99;
            };
            std::mem::forget(forgotten);
            thread::sleep(Duration::from_millis(100));
            let found = leftover_children().len();
            let none_after = leftover_children().is_empty();
            if none_after { found as i32 } else { 98 }
        })
        .unwrap();
        let pid = checker.pid();
        assert_eq!(checker.wait().unwrap(), WaitStatus::Exited(pid, 1));
    }
}
