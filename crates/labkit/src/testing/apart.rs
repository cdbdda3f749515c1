//! Running the code under test in a process of its own, and judging it here.
//!
//! A graded test that calls a student's function in its own process can be
//! told "ok" by that function: libtest's report is text on the process's
//! standard output, and code in the process can print the text and exit, or
//! write into the process's memory. [`apart`] takes that away. The student's
//! code runs in a forked child that holds none of the test's open files (its
//! standard output goes to `/dev/null`, its standard error to a pipe read
//! here for the end of what it said), and this process, which
//! holds the assertions and writes the report, is made non-dumpable first:
//! a process of the same user can then neither trace it nor open its memory
//! or its files through `/proc`. The child can only return a value, as JSON
//! through a pipe, and the assertions run here, on that value. A child that
//! ends without returning one (an `exit`, a crash, a signal) fails the test,
//! and so does one that has not returned by its deadline: it is killed with
//! every process it started.

use crate::child::fork_child;
use nix::libc;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::WaitStatus;
use nix::unistd::{Pid, pipe};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// What the child sends back: the value, or the message of its panic.
type Outcome<T> = Result<T, String>;

/// The most the child may send back: a value larger than this is refused
/// (this process would hold all of it).
const MAX_BYTES: usize = 64 << 20;

/// How much of a panic's message is shown here.
const MAX_MESSAGE: usize = 16 << 10;

/// How long [`apart`] waits for the code under test to return.
pub const APART_LIMIT: Duration = Duration::from_secs(60);

/// Runs `work` in a forked child and returns, here, the value it returned.
///
/// A panic in `work` is a panic here, with its message. If the child ends
/// without returning a value, this panics and says how the child ended.
/// Everything `work` needs must be made inside it (the child has a copy of
/// this process's memory but none of its open files), and what it returns
/// must be plain data: observations (which thread ran a chunk, whether a
/// pid still exists) are made in the child and returned for this process to
/// judge. What `work` prints is not shown (only the end of its standard
/// error, when the child dies without returning).
///
/// If the child has not returned within [`APART_LIMIT`], it is killed with
/// every process it started, and this panics, saying so; when it returns,
/// what it started and left running is killed. (They stay in the test's
/// process group, where a grader that watches the group counts them, and
/// the terminal's Ctrl-C reaches them.)
pub fn apart<T: Serialize + DeserializeOwned>(work: impl FnOnce() -> T) -> T {
    apart_within(APART_LIMIT, work)
}

/// [`apart`], with a time limit of its own: shorter for code that may
/// deadlock, so that a test fails soon and says so.
pub fn apart_within<T: Serialize + DeserializeOwned>(
    limit: Duration,
    work: impl FnOnce() -> T,
) -> T {
    keep_others_out();
    quiet_panics_in_children();
    let (read_end, write_end) = pipe().expect("a pipe for the child's result");
    let (errors, errors_end) = pipe().expect("a pipe for the child's standard error");
    // The child gets the pipes' write ends by number: the closure is dropped
    // here too, and must not close this side's descriptors when it is.
    let (write_fd, errors_fd) = (write_end.as_raw_fd(), errors_end.as_raw_fd());
    // Other tests' threads may print while this one forks: a lock one of
    // them held would stay held in the child for ever. So this thread holds
    // the standard streams' locks across the fork and each side lets go.
    let streams = (std::io::stdout().lock(), std::io::stderr().lock());
    let child = fork_child(move || {
        drop(streams);
        i32::from(!in_the_child(write_fd, errors_fd, work))
    })
    .expect("fork for the code under test");
    drop((write_end, errors_end));
    let deadline = Instant::now() + limit;
    let (received, last_words) = receive(read_end, errors, || {
        child.has_ended() || Instant::now() > deadline
    });
    // (Without a message, the pipe may have closed a moment before the
    // child became waitable: only a child past its deadline is late.)
    let late = received.is_none() && Instant::now() > deadline && !child.has_ended();
    if late {
        end_descendants(child.pid().as_raw());
        let _ = kill(child.pid(), Signal::SIGKILL);
    }
    let status = child.wait().expect("waiting for the code under test");
    if late {
        panic!(
            "the code under test did not return within {limit:?}: a deadlock, or something \
             waiting for ever? (it was killed, with the processes it had started)"
        );
    }
    match received.map(|bytes| serde_json::from_slice::<Outcome<T>>(&bytes)) {
        Some(Ok(Ok(value))) => value,
        Some(Ok(Err(message))) => panic!("{}", shortened(message)),
        Some(Err(err)) => {
            panic!("the value sent back by the code under test is not readable: {err}")
        }
        None => panic!(
            "the code under test ended its process without returning ({}): a graded test's \
             result comes only from what the code returns{}",
            how_it_ended(status),
            if last_words.is_empty() {
                String::new()
            } else {
                format!("; its standard error ended with:\n{last_words}")
            }
        ),
    }
}

/// Set in the forked child: its panics print nothing (see below).
static IN_THE_CHILD: AtomicBool = AtomicBool::new(false);

/// Where the child's last panic happened, for the message sent back.
static PANICKED_AT: Mutex<Option<String>> = Mutex::new(None);

/// Wraps the panic hook, once: in a child of [`apart`] a panic only notes
/// where it happened. The default hook prints under a process-wide lock
/// that another test's thread may have held when the child was forked; the
/// child would then wait for it for ever. Elsewhere the hook is unchanged.
fn quiet_panics_in_children() {
    static WRAPPED: Once = Once::new();
    WRAPPED.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_THE_CHILD.load(Ordering::SeqCst) {
                let place = info.location().map(|l| l.to_string());
                if let Ok(mut at) = PANICKED_AT.lock() {
                    *at = place;
                }
            } else {
                default(info);
            }
        }));
    });
}

/// Makes this process non-dumpable: its memory, its open files and tracing
/// it are then out of reach of the processes its tests start, even though
/// they run as the same user.
fn keep_others_out() {
    // SAFETY: prctl with integer arguments only.
    let done = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    assert_eq!(done, 0, "prctl(PR_SET_DUMPABLE, 0) failed");
}

/// The child's side: no open file of the test but the pipe, then `work`,
/// then its outcome through the pipe. Returns whether it was sent.
fn in_the_child<T: Serialize>(pipe: RawFd, errors: RawFd, work: impl FnOnce() -> T) -> bool {
    // SAFETY: prctl with integer arguments only. The child is dumpable again
    // (its own children are then inspectable by it, as in any test), and it
    // dies with the test.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
    IN_THE_CHILD.store(true, Ordering::SeqCst);
    if !close_all_but(pipe, errors) {
        return false;
    }
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    // What the code under test started and left running ends with it.
    end_descendants(std::process::id() as i32);
    let outcome: Outcome<T> = outcome.map_err(|panic| {
        let message = panic_message(panic.as_ref());
        match PANICKED_AT.lock().ok().and_then(|at| at.clone()) {
            Some(place) => format!("{message} (in the code under test, at {place})"),
            None => message,
        }
    });
    let Ok(bytes) = serde_json::to_vec(&outcome) else {
        return false;
    };
    // SAFETY: the descriptor is the pipe's write end, open in this child
    // (close_all_but kept it), and nothing else here owns it.
    let mut pipe = unsafe { File::from_raw_fd(pipe) };
    let length = (bytes.len() as u64).to_le_bytes();
    pipe.write_all(&length).is_ok() && pipe.write_all(&bytes).is_ok()
}

/// Kills every live process that descends from `root` (not `root`
/// itself), looking again until none is left: one may fork while they are
/// being killed.
fn end_descendants(root: i32) {
    for _ in 0..50 {
        let found = descendants(root);
        if found.is_empty() {
            return;
        }
        for pid in found {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// The live (not zombie) processes that descend from `root`, found through
/// each process's parent in `/proc/PID/stat`.
fn descendants(root: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    // (pid, parent, zombie) of every process.
    let table: Vec<(i32, i32, bool)> = entries
        .filter_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
            let zombie = fields.next()? == "Z";
            let parent = fields.next()?.parse().ok()?;
            Some((pid, parent, zombie))
        })
        .collect();
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        tree.extend(table.iter().filter(|p| p.1 == parent).map(|p| p.0));
        next += 1;
    }
    tree.into_iter()
        .skip(1)
        .filter(|pid| table.iter().any(|p| p.0 == *pid && !p.2))
        .collect()
}

/// Points standard input and output at `/dev/null` and standard error at
/// `errors` (what the runtime says when it aborts: an allocation that
/// failed, a stack overflow), and closes every other file descriptor but
/// `keep`.
fn close_all_but(keep: RawFd, errors: RawFd) -> bool {
    let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    else {
        return false;
    };
    for (from, to) in [(null.as_raw_fd(), 0), (null.as_raw_fd(), 1), (errors, 2)] {
        // SAFETY: dup2 onto the standard descriptors, which stay open.
        if unsafe { libc::dup2(from, to) } < 0 {
            return false;
        }
    }
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return false;
    };
    let open: Vec<i32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    drop(null);
    for fd in open.into_iter().filter(|&fd| fd > 2 && fd != keep) {
        // SAFETY: the child never returns into code that owns these
        // descriptors: it leaves through `_exit` (see `fork_child`).
        unsafe { libc::close(fd) };
    }
    true
}

/// How much of the end of the child's standard error is kept.
const LAST_WORDS: usize = 4 << 10;

/// Reads one length-prefixed message from the child, while it runs, and the
/// end of its standard error. Stops when the message is complete, or when
/// the child has ended and nothing more is waiting: a process the child
/// left behind may hold the pipes open, so their end is never awaited.
fn receive(
    result: OwnedFd,
    errors: OwnedFd,
    has_ended: impl Fn() -> bool,
) -> (Option<Vec<u8>>, String) {
    let (mut result, mut errors) = (nonblocking(result), nonblocking(errors));
    let (mut bytes, mut last_words) = (Vec::new(), Vec::new());
    loop {
        let ended = has_ended();
        let result_open = drain(&mut result, &mut bytes, usize::MAX);
        drain(&mut errors, &mut last_words, LAST_WORDS);
        if too_large(&bytes) {
            panic!(
                "the code under test sent back more than {} MiB",
                MAX_BYTES >> 20
            );
        }
        let message = complete(&bytes);
        if message.is_some() || ended || !result_open {
            let last_words = String::from_utf8_lossy(&last_words).trim_end().to_string();
            return (message, last_words);
        }
        let mut fds = [
            PollFd::new(result.as_fd(), PollFlags::POLLIN),
            PollFd::new(errors.as_fd(), PollFlags::POLLIN),
        ];
        let _ = poll(&mut fds, PollTimeout::from(50u16));
    }
}

/// Reads what is waiting in `pipe` onto `into`, keeping its last `keep`
/// bytes. Returns whether the pipe may still bring more (not at its end).
fn drain(pipe: &mut File, into: &mut Vec<u8>, keep: usize) -> bool {
    let mut buffer = [0u8; 65536];
    loop {
        match pipe.read(&mut buffer) {
            Ok(0) => return false,
            Ok(n) => {
                into.extend_from_slice(&buffer[..n]);
                if into.len() > keep {
                    into.drain(..into.len() - keep);
                }
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => return true,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

/// The message in `bytes`, if all of it has arrived.
fn complete(bytes: &[u8]) -> Option<Vec<u8>> {
    let length = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let message = bytes.get(8..)?;
    (message.len() == length).then(|| message.to_vec())
}

/// Whether `bytes` announce or hold more than [`MAX_BYTES`].
fn too_large(bytes: &[u8]) -> bool {
    let announced = bytes
        .get(..8)
        .map(|length| u64::from_le_bytes(length.try_into().expect("8 bytes")));
    bytes.len() > MAX_BYTES + 8 || announced.is_some_and(|length| length > MAX_BYTES as u64)
}

/// A panic's message, cut to [`MAX_MESSAGE`] bytes.
fn shortened(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let more = message.len() - end;
        message.truncate(end);
        message += &format!(" … ({more} bytes more)");
    }
    message
}

fn nonblocking(fd: OwnedFd) -> File {
    // SAFETY: fcntl on a descriptor this function owns.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    File::from(fd)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the code under test panicked".into())
}

fn how_it_ended(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("it exited with code {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("it was killed by {signal}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_comes_back() {
        let (pid, sum) = apart(|| (std::process::id(), (1..=100u64).sum::<u64>()));
        assert_eq!(sum, 5050);
        assert_ne!(pid, std::process::id(), "it ran in this process");
    }

    #[test]
    fn a_large_value_comes_back_whole() {
        // More than a pipe holds: the child writes while this side reads.
        let numbers = apart(|| (0..200_000u32).collect::<Vec<_>>());
        assert_eq!(numbers.len(), 200_000);
        assert_eq!(numbers[199_999], 199_999);
    }

    #[test]
    #[should_panic(expected = "the chunks were wrong")]
    fn a_panic_is_a_panic_here_with_its_message() {
        apart(|| -> u32 { panic!("the chunks were wrong") });
    }

    #[test]
    fn children_that_panic_while_other_threads_panic_do_not_hang() {
        // Threads that keep panicking (printing under the default hook's
        // lock) while children are forked: a child that needed that lock
        // would hang for ever.
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let noisy: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let _ = std::panic::catch_unwind(|| panic!("noise"));
                    }
                })
            })
            .collect();
        let forks = crate::testing::in_thread_within(std::time::Duration::from_secs(60), || {
            for _ in 0..50 {
                let result = std::panic::catch_unwind(|| apart(|| -> u8 { panic!("expected") }));
                let message = panic_message(result.unwrap_err().as_ref());
                assert!(
                    message.starts_with("expected (in the code under test, at "),
                    "{message}"
                );
            }
        });
        stop.store(true, Ordering::SeqCst);
        forks.expect("50 children that panic, forked among panicking threads");
        for thread in noisy {
            thread.join().unwrap();
        }
    }

    #[test]
    #[should_panic(expected = "bytes more)")]
    fn a_flood_of_a_panic_message_is_cut_short() {
        apart(|| -> u32 { panic!("{}", "x".repeat(10 << 20)) });
    }

    #[test]
    #[should_panic(expected = "without returning (it exited with code 0)")]
    fn an_exit_is_a_failure_not_a_pass() {
        apart(|| -> u32 {
            // What a forged report does: print "ok", then leave before the
            // assertions can run.
            println!("ok");
            let _ = std::io::stdout().write_all(b"ok\n\ntest result: ok. 1 passed\n");
            std::process::exit(0)
        });
    }

    #[test]
    #[should_panic(expected = "its standard error ended with:\nfatal runtime error: the end")]
    fn what_the_runtime_says_before_it_aborts_is_shown() {
        apart(|| -> u32 {
            // As the runtime does when an allocation fails: a line on
            // standard error, then abort.
            let _ = std::io::stderr().write_all(b"fatal runtime error: the end\n");
            std::process::abort()
        });
    }

    #[test]
    #[should_panic(expected = "killed by SIGKILL")]
    fn a_killed_child_is_a_failure() {
        apart(|| -> u32 {
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
            1
        });
    }

    #[test]
    fn a_process_left_behind_holding_the_pipe_does_not_hold_the_test() {
        // The grandchild keeps the pipe open for 30 s; the answer is back
        // at once all the same.
        let start = std::time::Instant::now();
        let value = apart(|| {
            let left = fork_child(|| {
                std::thread::sleep(std::time::Duration::from_secs(30));
                0
            })
            .unwrap();
            std::mem::forget(left);
            7u8
        });
        assert_eq!(value, 7);
        assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    }

    /// Whether `pid` is a process still running (not gone, not a zombie
    /// waiting for init to reap it).
    fn running(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }

    /// Whether `pid` stops running within a second.
    fn ends_soon(pid: i32) -> bool {
        (0..50).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            !running(pid)
        })
    }

    #[test]
    fn a_child_that_does_not_return_in_time_is_killed_with_its_own() {
        // The child forks a grandchild, notes its pid in a file, then both
        // wait for ever: the test fails after the limit, and neither is left.
        let note = std::env::temp_dir().join(format!("apart-within-{}", std::process::id()));
        let written = note.clone();
        let start = Instant::now();
        let panicked = std::panic::catch_unwind(|| {
            apart_within(Duration::from_secs(1), move || -> u8 {
                let grandchild = fork_child(|| {
                    std::thread::sleep(Duration::from_secs(60));
                    0
                })
                .unwrap();
                let _ = std::fs::write(&written, grandchild.pid().to_string());
                std::mem::forget(grandchild);
                std::thread::sleep(Duration::from_secs(60));
                0
            })
        });
        let took = start.elapsed();
        let message = panic_message(panicked.expect_err("it returned").as_ref());
        assert!(message.contains("did not return within 1s"), "{message}");
        assert!(took < Duration::from_secs(10), "{took:?}");
        let grandchild: i32 = std::fs::read_to_string(&note).unwrap().parse().unwrap();
        let _ = std::fs::remove_file(&note);
        assert!(ends_soon(grandchild), "its child {grandchild} still runs");
    }

    #[test]
    fn a_child_that_returns_in_time_has_its_leftovers_ended() {
        let (value, grandchild) = apart_within(Duration::from_secs(10), || {
            let left = fork_child(|| {
                std::thread::sleep(Duration::from_secs(60));
                0
            })
            .unwrap();
            let pid = left.pid().as_raw();
            std::mem::forget(left);
            (5u8, pid)
        });
        assert_eq!(value, 5);
        assert!(
            ends_soon(grandchild),
            "the process it left, {grandchild}, still runs"
        );
    }

    #[test]
    fn the_child_holds_no_file_of_the_test() {
        let secret = std::fs::File::open("/proc/self/status").unwrap();
        let secret_fd = secret.as_raw_fd();
        let (fd_open, stdout_is_null) = apart(move || {
            // SAFETY: F_GETFD only asks whether the descriptor is open.
            let fd_open = unsafe { libc::fcntl(secret_fd, libc::F_GETFD) } >= 0;
            let stdout = std::fs::read_link("/proc/self/fd/1").unwrap();
            (fd_open, stdout == std::path::Path::new("/dev/null"))
        });
        assert!(
            !fd_open,
            "the child still had the test's file descriptor {secret_fd}"
        );
        assert!(
            stdout_is_null,
            "the child's standard output is not /dev/null"
        );
    }

    #[test]
    fn the_child_cannot_open_the_test_s_memory() {
        if nix::unistd::geteuid().is_root() {
            // Root may open any process's memory (CAP_SYS_PTRACE): the check
            // runs again as another user, as graded tests run.
            use std::os::unix::process::CommandExt;
            crate::testing::rerun_alone(
                "testing::apart::tests::the_child_cannot_open_the_test_s_memory",
                |command| {
                    command.uid(45_999).gid(45_999);
                },
            );
            return;
        }
        let parent = std::process::id();
        let opened = apart(move || std::fs::File::open(format!("/proc/{parent}/mem")).is_ok());
        assert!(!opened, "the child could open the test's memory");
    }
}
