//! Running one program the way a grader must: in its own session and process
//! group, with resource limits set in the child before it starts, a
//! wall-clock limit after which the whole group is killed, a watchdog on the
//! number of processes, and output that is kept only up to a cap.
//!
//! When the grader runs as root (Gradescope, most containers) the program
//! also runs as an unprivileged user of its own: the kernel ignores
//! `RLIMIT_NPROC` for root, and a fork bomb must hit a limit; and every
//! process left with that user id afterwards — even one that left the process
//! group — can be found and killed.

use crate::config::Limits;
use crate::isolation::{self, Isolation, Plan};
use anyhow::{Context, Result};
use nix::libc;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How the program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (not one the grader sent).
    Signaled(i32),
    /// It ran past the wall-clock limit; the grader killed its group.
    TimedOut,
    /// It printed more than the flood limit; the grader killed its group.
    Flooded,
    /// It reached the process limit; the grader killed its group.
    TooManyProcesses,
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct Finished {
    /// How it ended.
    pub ending: Ending,
    /// Its standard output and error, interleaved, up to the cap.
    pub output: String,
    /// Everything it printed, kept or not, in bytes.
    pub output_bytes: u64,
    /// Whether output was left out of `output`.
    pub truncated: bool,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// The most processes and threads seen in its group at once.
    pub peak_tasks: u64,
}

/// The unprivileged user a sandboxed program runs as (only when the grader is root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Sandbox user ids: `FIRST_UID + block × SLOTS + slot`, where the block
/// comes from the grader's pid, so that two graders running at once (and the
/// slots of one grader) use different users: one test's processes never count
/// against, or get killed with, another's. All stay below 65 536, which even a
/// container with a small user-id mapping has.
const FIRST_UID: u32 = 40_000;
/// Parallel slots one grader can have.
pub const SLOTS: usize = 64;
const BLOCKS: u32 = (65_000 - FIRST_UID) / SLOTS as u32;

impl Identity {
    /// The identity of parallel slot `slot` when the grader is root; `None`
    /// otherwise (a normal user cannot switch users, and needs not).
    pub fn for_slot(slot: usize) -> Option<Identity> {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        let block = std::process::id() % BLOCKS;
        let id = FIRST_UID + block * SLOTS as u32 + (slot % SLOTS) as u32;
        Some(Identity { uid: id, gid: id })
    }
}

/// How often the watchdog looks at the clock, the output and the processes.
const TICK: Duration = Duration::from_millis(20);
/// How long to keep reading output after the program ended.
const DRAIN: Duration = Duration::from_millis(500);

/// Runs `program` with `args` in `dir` under `limits`, as `identity` if
/// given, in namespaces of its own if `isolation` is given. Errors only when
/// the program cannot be started at all.
pub fn run(
    program: &Path,
    args: &[String],
    dir: &Path,
    limits: &Limits,
    identity: Option<Identity>,
    isolation: Option<&Isolation>,
) -> Result<Finished> {
    // The output channel is a socket, not a pipe: a socket cannot be opened
    // again through /proc/self/fd/1 or /dev/stdout, so code that assembles
    // such a path at run time cannot write past libtest's capture with it.
    let (reader, writer) = std::os::unix::net::UnixStream::pair().context("socketpair failed")?;
    let (reader, writer) = (OwnedFd::from(reader), OwnedFd::from(writer));
    // Isolated, the test starts in its private /tmp, and the program is
    // opened before its directory (in /tmp too) is covered.
    let private = match isolation {
        Some(_) => "/tmp".to_string(),
        None => dir.to_string_lossy().into_owned(),
    };
    let env = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", private.as_str()),
        ("TMPDIR", private.as_str()),
        ("LANG", "C.UTF-8"),
        ("RUST_BACKTRACE", "0"),
    ];
    let plan = isolation
        .map(|i| i.plan(limits.memory_mib.max(256), program, args, &env))
        .transpose()?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer.try_clone()?))
        .stderr(Stdio::from(writer));
    // The slot's user must start with no process: one still dying from the
    // previous test (a fork bomb's) would count against this test's limit.
    if let Some(identity) = identity {
        clean_up_user(identity.uid);
    }
    let extra = if plan.is_some() {
        isolation::EXTRA_PROCESSES
    } else {
        0
    };
    let rlimits = child_limits(limits, identity, extra);
    // SAFETY: the closure runs in the forked child before exec and makes only
    // async-signal-safe system calls (setsid, setrlimit, unshare, mount,
    // fork, set*id, prctl) on memory prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            enter_sandbox(&rlimits, identity, plan.as_ref()).map_err(std::io::Error::from)
        });
    }
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start {}", program.display()))?;
    // Our copies of the pipe's write end went with `command`: drop it so that
    // end-of-file comes when the program's group is gone.
    drop(command);
    let group = Pid::from_raw(child.id() as i32);
    let mut peak_tasks = 0;
    let watched = Output::new(reader, limits.output_kib * 1024).and_then(|mut output| {
        let ending = watch(
            &mut child,
            Watched { group, extra },
            &mut output,
            limits,
            start,
            &mut peak_tasks,
        )?;
        Ok((ending, output))
    });
    let (ending, mut output) = match watched {
        Ok(done) => done,
        Err(err) => {
            // The grader failed, not the test: still leave nothing behind.
            stop(&mut child, group, Ending::TimedOut);
            clean_up(group, identity);
            return Err(err);
        }
    };
    let elapsed = start.elapsed();
    // What it left behind counts too: a fork bomb whose main process gave up
    // when the kernel refused a fork leaves its children running.
    peak_tasks = peak_tasks.max(group_tasks(group).saturating_sub(extra));
    // Whatever the program left running goes now.
    clean_up(group, identity);
    let drain_until = Instant::now() + DRAIN;
    while !output.closed && Instant::now() < drain_until {
        output.read_for(TICK)?;
    }
    Ok(Finished {
        ending,
        truncated: output.total > output.kept.len() as u64,
        output_bytes: output.total,
        output: String::from_utf8_lossy(&output.kept).into_owned(),
        elapsed,
        peak_tasks,
    })
}

/// The program's process group, and how many of its processes are the
/// sandbox's own (not counted against the test).
#[derive(Debug, Clone, Copy)]
struct Watched {
    group: Pid,
    extra: u64,
}

impl Watched {
    /// The test's processes and threads now.
    fn tasks(&self) -> u64 {
        group_tasks(self.group).saturating_sub(self.extra)
    }
}

/// Reads output and watches the clock, the output's size and the number of
/// processes until the program ends or one of them runs out.
fn watch(
    child: &mut std::process::Child,
    watched: Watched,
    output: &mut Output,
    limits: &Limits,
    start: Instant,
    peak_tasks: &mut u64,
) -> Result<Ending> {
    let mut last_count = Instant::now() - Duration::from_secs(1);
    loop {
        output.read_for(TICK)?;
        if let Some(status) = child.try_wait()? {
            return Ok(match status.signal() {
                Some(signal) => Ending::Signaled(signal),
                None => Ending::Exited(status.code().unwrap_or(-1)),
            });
        }
        if start.elapsed() > limits.timeout() {
            // A fork bomb at the process limit can starve this watchdog of
            // CPU until the time limit: count once more before blaming time.
            let tasks = watched.tasks();
            *peak_tasks = (*peak_tasks).max(tasks);
            let why = if tasks >= limits.processes {
                Ending::TooManyProcesses
            } else {
                Ending::TimedOut
            };
            return Ok(stop(child, watched.group, why));
        }
        if output.total > limits.output_flood_bytes() {
            return Ok(stop(child, watched.group, Ending::Flooded));
        }
        if last_count.elapsed() >= Duration::from_millis(100) {
            last_count = Instant::now();
            let tasks = watched.tasks();
            *peak_tasks = (*peak_tasks).max(tasks);
            if tasks >= limits.processes {
                return Ok(stop(child, watched.group, Ending::TooManyProcesses));
            }
        }
    }
}

/// Kills the program's whole group, reaps the program, and says why.
fn stop(child: &mut std::process::Child, group: Pid, why: Ending) -> Ending {
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
    why
}

/// The resource limits, computed before `fork` (the child may not allocate).
#[derive(Debug, Clone, Copy)]
struct ChildLimits {
    cpu_seconds: u64,
    memory_bytes: u64,
    nproc: u64,
    file_bytes: u64,
}

fn child_limits(limits: &Limits, identity: Option<Identity>, extra: u64) -> ChildLimits {
    // RLIMIT_NPROC counts every process of the user. Our own sandbox user has
    // none to begin with; a normal user (a student's laptop) already has many.
    let already = match identity {
        Some(_) => 0,
        None => processes_of_user(nix::unistd::getuid().as_raw()),
    };
    ChildLimits {
        cpu_seconds: limits.cpu_seconds,
        memory_bytes: limits.memory_mib << 20,
        // The sandbox's keeper and init run as the grader when it is root.
        nproc: already + limits.processes + if identity.is_some() { 0 } else { extra },
        file_bytes: limits.file_mib << 20,
    }
}

/// In the child, before exec: a session (and process group) of its own, the
/// limits, no core files, namespaces of its own when a plan is given, and —
/// when the grader is root — another user. Only system calls here: the child
/// of a multi-threaded parent may not allocate or take locks before `exec`.
fn enter_sandbox(
    limits: &ChildLimits,
    identity: Option<Identity>,
    plan: Option<&Plan>,
) -> nix::Result<()> {
    use nix::sys::resource::{Resource, setrlimit};
    use nix::unistd::{Gid, Uid, setgid, setgroups, setsid, setuid};
    setsid()?;
    // If the grader dies, everything started here dies with it (set again
    // below: changing user clears it).
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0)?;
    setrlimit(
        Resource::RLIMIT_CPU,
        limits.cpu_seconds,
        limits.cpu_seconds + 1,
    )?;
    setrlimit(
        Resource::RLIMIT_AS,
        limits.memory_bytes,
        limits.memory_bytes,
    )?;
    setrlimit(Resource::RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes)?;
    setrlimit(Resource::RLIMIT_NPROC, limits.nproc, limits.nproc)?;
    if let Some(plan) = plan {
        // SAFETY: we are the single-threaded child between fork and exec.
        unsafe { plan.enter()? };
    }
    if let Some(id) = identity {
        setgroups(&[])?;
        setgid(Gid::from_raw(id.gid))?;
        setuid(Uid::from_raw(id.uid))?;
    }
    // Changing user clears the parent-death signal, so it is set last: if
    // the grader dies, its tests die with it.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    if let Some(plan) = plan {
        // Isolated, the program's directory is out of sight: it is started
        // from the file opened before the fork. Returns only on failure.
        // SAFETY: as above; the plan's strings were prepared before the fork.
        unsafe { plan.exec()? };
    }
    Ok(())
}

/// The output pipe, read without blocking; keeps the first `cap` bytes.
/// (Builds read cargo's pipes with it too.)
pub(crate) struct Output {
    file: File,
    /// The first `cap` bytes read.
    pub(crate) kept: Vec<u8>,
    cap: u64,
    /// Every byte read, kept or not.
    pub(crate) total: u64,
    /// Whether end-of-file came: every writer is gone.
    pub(crate) closed: bool,
}

impl Output {
    pub(crate) fn new(reader: OwnedFd, cap: u64) -> Result<Output> {
        let flags = nix::fcntl::fcntl(&reader, nix::fcntl::FcntlArg::F_GETFL)?;
        let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(&reader, nix::fcntl::FcntlArg::F_SETFL(flags))?;
        Ok(Output {
            file: File::from(reader),
            kept: Vec::new(),
            cap,
            total: 0,
            closed: false,
        })
    }

    /// Waits up to `wait` for output and reads all there is.
    pub(crate) fn read_for(&mut self, wait: Duration) -> Result<()> {
        if self.closed {
            std::thread::sleep(wait);
            return Ok(());
        }
        let timeout = PollTimeout::try_from(wait.as_millis() as i32).unwrap_or(PollTimeout::ZERO);
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(err) => return Err(err.into()),
        }
        let mut buffer = [0u8; 64 * 1024];
        loop {
            match self.file.read(&mut buffer) {
                Ok(0) => {
                    self.closed = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.total += n as u64;
                    let room = self.cap.saturating_sub(self.kept.len() as u64) as usize;
                    self.kept.extend_from_slice(&buffer[..n.min(room)]);
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
}

/// One process, as `/proc/<pid>/stat` and the directory's owner describe it.
#[derive(Debug, Clone, Copy)]
struct Process {
    pid: i32,
    parent: i32,
    group: i32,
    threads: u64,
    uid: u32,
    /// `Z` for a zombie: dead, holding nothing but its process-table entry.
    state: char,
}

/// Every process there is now.
fn processes() -> Vec<Process> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let uid = entry.metadata().ok()?.uid();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The name can hold spaces and parentheses: fields start after the
            // last ')': state, ppid, pgrp, … and num_threads is the 18th.
            let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
            Some(Process {
                pid,
                state: fields.first()?.chars().next()?,
                parent: fields.get(1)?.parse().ok()?,
                group: fields.get(2)?.parse().ok()?,
                threads: fields.get(17).and_then(|n| n.parse().ok()).unwrap_or(1),
                uid,
            })
        })
        .collect()
}

/// Processes and threads in process group `group` (the kernel counts both
/// against `RLIMIT_NPROC`).
pub fn group_tasks(group: Pid) -> u64 {
    processes()
        .iter()
        .filter(|p| p.group == group.as_raw())
        .map(|p| p.threads)
        .sum()
}

/// The pids of the live (not zombie) processes of process group `group`.
pub fn live_in_group(group: Pid) -> Vec<i32> {
    processes()
        .iter()
        .filter(|p| p.group == group.as_raw() && p.state != 'Z')
        .map(|p| p.pid)
        .collect()
}

/// The pids of processes owned by `uid`.
pub fn pids_of_user(uid: u32) -> Vec<i32> {
    processes()
        .iter()
        .filter(|p| p.uid == uid)
        .map(|p| p.pid)
        .collect()
}

/// The pids of the processes whose parent is `parent` (zombies included).
pub fn children_of(parent: i32) -> Vec<i32> {
    processes()
        .iter()
        .filter(|p| p.parent == parent)
        .map(|p| p.pid)
        .collect()
}

/// Processes and threads of `uid`, for a normal user's `RLIMIT_NPROC` headroom.
fn processes_of_user(uid: u32) -> u64 {
    processes()
        .iter()
        .filter(|p| p.uid == uid)
        .map(|p| p.threads)
        .sum()
}

/// Kills what a run left: its process group and, when it ran as a sandbox
/// user, every process of that user — even one that left the group — until
/// none is left.
///
/// A killed process whose parent died first is reparented to the grader (see
/// [`become_subreaper`]) and is reaped here: a zombie still counts against
/// its user's process limit and would starve the slot's next test.
pub fn clean_up(group: Pid, identity: Option<Identity>) {
    let _ = killpg(group, Signal::SIGKILL);
    kill_and_reap(|p| p.group == group.as_raw() || identity.is_some_and(|i| i.uid == p.uid));
    if let Some(identity) = identity {
        remove_files_of(identity.uid);
    }
}

/// Shared places where a test can leave files: the temporary directories and
/// POSIX shared memory. (An isolated run has its own, gone when it ends.)
const SHARED_DIRS: [&str; 3] = ["/tmp", "/var/tmp", "/dev/shm"];

/// Removes what sandbox user `uid` left at the top of the shared places.
fn remove_files_of(uid: u32) {
    use std::os::unix::fs::MetadataExt;
    for dir in SHARED_DIRS {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.uid() != uid {
                continue;
            }
            let _ = if meta.is_dir() {
                std::fs::remove_dir_all(entry.path())
            } else {
                std::fs::remove_file(entry.path())
            };
        }
    }
}

/// Kills and reaps every process of sandbox user `uid`.
fn clean_up_user(uid: u32) {
    kill_and_reap(|p| p.uid == uid);
}

/// Kills the processes `chosen` picks, and reaps those that are ours, until
/// none is left or [`CLEAN_UP_LIMIT`] has passed.
fn kill_and_reap(chosen: impl Fn(&Process) -> bool) {
    let me = std::process::id() as i32;
    let until = Instant::now() + CLEAN_UP_LIMIT;
    loop {
        let left: Vec<Process> = processes().into_iter().filter(|p| chosen(p)).collect();
        if left.is_empty() || Instant::now() > until {
            return;
        }
        for process in left {
            let _ = kill(Pid::from_raw(process.pid), Signal::SIGKILL);
            if process.parent == me {
                let _ = nix::sys::wait::waitpid(
                    Pid::from_raw(process.pid),
                    Some(nix::sys::wait::WaitPidFlag::WNOHANG),
                );
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How long cleaning up after one run may take: a fork bomb's few hundred
/// processes die and are reaped well within it, even on a loaded machine.
const CLEAN_UP_LIMIT: Duration = Duration::from_secs(5);

/// Makes the grader the reaper of its tests' orphans, so that no process a
/// test left behind goes to an `init` that might never reap it (in a
/// container, `init` is often a shell).
pub fn become_subreaper() {
    // SAFETY: prctl with plain integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each test has its own slot: the sandbox user of a slot is cleaned up
    /// after every run, which would kill a parallel test's processes.
    fn sh(slot: usize, script: &str, limits: &Limits) -> Finished {
        let dir = tempfile::tempdir().unwrap();
        make_public(dir.path());
        run(
            Path::new("/bin/sh"),
            &["-c".to_string(), script.to_string()],
            dir.path(),
            limits,
            Identity::for_slot(slot),
            None,
        )
        .unwrap()
    }

    fn make_public(dir: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }

    #[test]
    fn exit_code_and_output_come_back() {
        let done = sh(42, "echo out; echo err >&2; exit 3", &Limits::default());
        assert_eq!(done.ending, Ending::Exited(3));
        assert!(done.output.contains("out") && done.output.contains("err"));
        assert!(!done.truncated);
    }

    #[test]
    fn a_hang_is_killed_with_its_whole_group() {
        let limits = Limits {
            timeout_seconds: 0.5,
            ..Limits::default()
        };
        let start = Instant::now();
        let done = sh(43, "sleep 60 & sleep 60", &limits);
        assert_eq!(done.ending, Ending::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn output_is_capped_and_a_flood_is_stopped() {
        let limits = Limits {
            output_kib: 1,
            ..Limits::default()
        };
        let done = sh(44, "head -c 5000 /dev/zero | tr '\\0' x", &limits);
        assert_eq!(done.ending, Ending::Exited(0));
        assert_eq!(done.output.len(), 1024);
        assert_eq!(done.output_bytes, 5000);
        assert!(done.truncated);
        let flood = sh(45, "yes", &limits);
        assert_eq!(flood.ending, Ending::Flooded);
    }

    #[test]
    fn the_output_cannot_be_opened_again_by_path() {
        // As the grader's own user (a root grader's sandbox users could not
        // open a root-owned pipe either): only the socket stops the reopen.
        let dir = tempfile::tempdir().unwrap();
        let script =
            "echo fake > /dev/stdout || echo refused; echo fake > /proc/self/fd/2 || echo refused";
        let done = run(
            Path::new("/bin/sh"),
            &["-c".to_string(), script.to_string()],
            dir.path(),
            &Limits::default(),
            None,
            None,
        )
        .unwrap();
        assert_eq!(done.output.matches("refused").count(), 2, "{}", done.output);
        assert!(!done.output.contains("fake\n"), "{}", done.output);
    }

    #[test]
    fn a_signal_is_reported() {
        let done = sh(46, "kill -SEGV $$", &Limits::default());
        assert_eq!(done.ending, Ending::Signaled(libc::SIGSEGV));
    }

    #[test]
    fn files_a_sandbox_user_left_in_shared_places_are_removed() {
        if Identity::for_slot(48).is_none() {
            return; // Not root: no sandbox user, and runs are isolated instead.
        }
        let name = format!("grader-left-{}", std::process::id());
        let done = sh(
            48,
            &format!("echo x > /tmp/{name} && echo x > /dev/shm/{name} && mkdir /var/tmp/{name}"),
            &Limits::default(),
        );
        assert_eq!(done.ending, Ending::Exited(0), "{}", done.output);
        for dir in SHARED_DIRS {
            assert!(!Path::new(dir).join(&name).exists(), "{dir}/{name} is left");
        }
    }

    #[test]
    fn too_many_processes_are_stopped() {
        let limits = Limits {
            processes: 20,
            ..Limits::default()
        };
        let done = sh(47, "for i in $(seq 40); do sleep 30 & done; wait", &limits);
        // Either the watchdog saw the limit reached, or the shell gave up
        // when the kernel refused a fork and left its children at the limit.
        assert!(
            done.ending == Ending::TooManyProcesses || done.peak_tasks + 1 >= 20,
            "{done:?}"
        );
    }
}
