//! Namespaces around each test run, so that nothing a test does outlives it
//! or reaches the instructor's files.
//!
//! Each run gets a PID namespace of its own: a small `init` (pid 1 inside)
//! starts the test and, when the test ends, exits — and the kernel kills
//! every process left in the namespace, even one that double-forked and left
//! its session. It also gets a mount namespace in which the course, the
//! grader's work directory and the home directory are covered by an empty,
//! read-only file system (no solution, no hidden test's source, no key can be
//! read), and `/tmp`, `/var/tmp` and `/dev/shm` are fresh, private and gone
//! when the run ends (files and POSIX shared memory cannot be left behind).
//! The test starts in that private `/tmp`, from its program file opened
//! before the fork: the directory holding every run's programs and working
//! directories is out of its sight too, so one test cannot touch another's.
//! A grader that is not root gets the privilege to do this in a user
//! namespace of its own, where its user id maps to itself.
//!
//! The process tree of one run, from the grader down:
//!
//! ```text
//! grader ── keeper (its exit mirrors the test's) ── init (pid 1) ── test ── …
//! ```
//!
//! Everything here between `fork` and `exec` makes system calls only: the
//! child of a multi-threaded grader may not allocate. What needs memory (the
//! paths, the id maps) is prepared in a [`Plan`] before the fork.

use anyhow::{Context, Result};
use nix::libc;
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The processes the isolation adds to a run's process group (the keeper and
/// init): the process watchdog does not count them against the test.
pub const EXTRA_PROCESSES: u64 = 2;

/// What every run hides, whatever its limits.
#[derive(Debug, Clone)]
pub struct Isolation {
    hidden: Vec<PathBuf>,
    fresh: Vec<PathBuf>,
}

impl Isolation {
    /// Isolation that hides `hidden` (directories; those that do not exist
    /// are skipped) and the grader's home directory, and gives each run
    /// fresh `/tmp`, `/var/tmp` and `/dev/shm`.
    pub fn new(hidden: &[PathBuf]) -> Isolation {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut dirs: Vec<PathBuf> = hidden
            .iter()
            .chain(home.iter())
            .filter_map(|p| p.canonicalize().ok())
            .filter(|p| p.is_dir() && p != Path::new("/"))
            .collect();
        dirs.sort();
        dirs.dedup();
        // A directory inside another hidden one is hidden with it (and could
        // not be mounted on: it does not exist in the empty file system).
        let outer = dirs.clone();
        dirs.retain(|d| !outer.iter().any(|o| o != d && d.starts_with(o)));
        let fresh = ["/tmp", "/var/tmp", "/dev/shm"]
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .collect();
        Isolation {
            hidden: dirs,
            fresh,
        }
    }

    /// Whether the kernel lets this grader isolate a run: runs `/bin/true`
    /// isolated and expects it to exit with 0.
    pub fn check(&self) -> Result<()> {
        let dir = tempfile::tempdir()?;
        let finished = crate::sandbox::run(
            Path::new("/bin/true"),
            &[],
            dir.path(),
            &crate::config::Limits::default(),
            None,
            Some(self),
        )
        .context("entering the namespaces (unshare, mount, fork) failed")?;
        match finished.ending {
            crate::sandbox::Ending::Exited(0) => Ok(()),
            other => anyhow::bail!("an isolated /bin/true ended with {other:?}"),
        }
    }

    /// The directories a run cannot see.
    pub fn hidden(&self) -> &[PathBuf] {
        &self.hidden
    }

    /// Everything one run of `program` with `args` and `env` needs,
    /// allocated before the fork. Each fresh file system may hold `size_mib`
    /// MiB (it lives in memory).
    pub fn plan(
        &self,
        size_mib: u64,
        program: &Path,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Result<Plan> {
        use std::os::unix::fs::OpenOptionsExt;
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).context("a path with a NUL byte");
        let text = |t: String| CString::new(t).context("an argument with a NUL byte");
        let user = !nix::unistd::geteuid().is_root();
        let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
        // Opened here (close-on-exec), because the run will not see its path.
        let program_file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open(program)
            .with_context(|| format!("cannot open {}", program.display()))?;
        let argv: Vec<CString> = std::iter::once(c(program))
            .chain(args.iter().map(|a| text(a.clone())))
            .collect::<Result<_>>()?;
        let envp: Vec<CString> = env
            .iter()
            .map(|(k, v)| text(format!("{k}={v}")))
            .collect::<Result<_>>()?;
        let pointers = |strings: &[CString]| -> Vec<usize> {
            strings
                .iter()
                .map(|s| s.as_ptr() as usize)
                .chain(std::iter::once(0))
                .collect()
        };
        Ok(Plan {
            hidden: self.hidden.iter().map(|p| c(p)).collect::<Result<_>>()?,
            fresh: self.fresh.iter().map(|p| c(p)).collect::<Result<_>>()?,
            fresh_options: CString::new(format!("mode=1777,size={size_mib}m"))?,
            user_maps: user.then(|| {
                (
                    format!("{uid} {uid} 1\n").into_bytes(),
                    format!("{gid} {gid} 1\n").into_bytes(),
                )
            }),
            argv_pointers: pointers(&argv),
            envp_pointers: pointers(&envp),
            program: program_file.into(),
            argv,
            envp,
        })
    }
}

/// One run's isolation, ready to be entered between `fork` and `exec`.
#[derive(Debug)]
pub struct Plan {
    hidden: Vec<CString>,
    fresh: Vec<CString>,
    fresh_options: CString,
    /// `uid_map` and `gid_map` lines, when a user namespace is needed.
    user_maps: Option<(Vec<u8>, Vec<u8>)>,
    /// The program, opened before the fork.
    program: std::os::fd::OwnedFd,
    /// Its arguments (the first is its path) and environment.
    argv: Vec<CString>,
    envp: Vec<CString>,
    /// Pointers to `argv`'s and `envp`'s strings, NULL-terminated, as
    /// `execveat` wants them (kept as integers, so that the plan can move
    /// into the child's closure; the strings' buffers do not move).
    argv_pointers: Vec<usize>,
    envp_pointers: Vec<usize>,
}

/// Turns a C-style return value into a `nix::Result`.
fn check(value: libc::c_long) -> nix::Result<libc::c_long> {
    if value < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(value)
    }
}

impl Plan {
    /// Enters the namespaces and starts init. Returns in the process that
    /// goes on to `exec` the test; the keeper and init never return.
    ///
    /// # Safety
    /// Only between `fork` and `exec`, in a single-threaded child.
    pub unsafe fn enter(&self) -> nix::Result<()> {
        let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWPID;
        if self.user_maps.is_some() {
            flags |= libc::CLONE_NEWUSER;
        }
        // SAFETY: plain system calls on memory prepared before the fork.
        unsafe {
            check(libc::unshare(flags) as libc::c_long)?;
            if let Some((uid_map, gid_map)) = &self.user_maps {
                write_file(c"/proc/self/setgroups", b"deny")?;
                write_file(c"/proc/self/uid_map", uid_map)?;
                write_file(c"/proc/self/gid_map", gid_map)?;
            }
            self.mount_all()?;
            let mut pipe = [0; 2];
            check(libc::pipe(pipe.as_mut_ptr()) as libc::c_long)?;
            let [status_in, status_out] = pipe;
            match check(libc::fork() as libc::c_long)? {
                0 => start_init(status_out, status_in),
                init => keep(init as libc::pid_t, status_in, status_out),
            }
        }
    }

    /// Starts the program in the private `/tmp`, from the file opened before
    /// the fork. Returns only if that fails.
    ///
    /// # Safety
    /// Only between `fork` and `exec`, after [`Plan::enter`], in the process
    /// that goes on to run the test.
    pub unsafe fn exec(&self) -> nix::Result<()> {
        use std::os::fd::AsRawFd;
        // The strings are still owned by `self`: the pointers are valid.
        let _ = (&self.argv, &self.envp);
        // SAFETY: NUL-terminated strings and NULL-terminated pointer arrays.
        unsafe {
            check(libc::chdir(c"/tmp".as_ptr()) as libc::c_long)?;
            libc::syscall(
                libc::SYS_execveat,
                self.program.as_raw_fd(),
                c"".as_ptr(),
                self.argv_pointers.as_ptr(),
                self.envp_pointers.as_ptr(),
                libc::AT_EMPTY_PATH,
            );
        }
        Err(nix::errno::Errno::last())
    }

    /// Makes mounts private, covers the hidden directories, mounts the fresh ones.
    unsafe fn mount_all(&self) -> nix::Result<()> {
        let none = std::ptr::null();
        // SAFETY: the strings are NUL-terminated and live in `self`.
        unsafe {
            check(libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                none.cast(),
            ) as libc::c_long)?;
            for dir in &self.hidden {
                let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                mount_tmpfs(dir, flags, c"mode=0555,size=4k")?;
            }
            for dir in &self.fresh {
                mount_tmpfs(dir, libc::MS_NOSUID | libc::MS_NODEV, &self.fresh_options)?;
            }
        }
        Ok(())
    }
}

/// Mounts an empty in-memory file system on `dir`.
unsafe fn mount_tmpfs(dir: &CStr, flags: libc::c_ulong, options: &CStr) -> nix::Result<()> {
    // SAFETY: NUL-terminated strings that outlive the call.
    unsafe {
        check(libc::mount(
            c"tmpfs".as_ptr(),
            dir.as_ptr(),
            c"tmpfs".as_ptr(),
            flags,
            options.as_ptr().cast(),
        ) as libc::c_long)?;
    }
    Ok(())
}

/// Writes `bytes` to the file at `path` (a `/proc` control file).
unsafe fn write_file(path: &CStr, bytes: &[u8]) -> nix::Result<()> {
    // SAFETY: system calls on a NUL-terminated path and a live buffer.
    unsafe {
        let fd = check(libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) as libc::c_long)?
            as libc::c_int;
        let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::close(fd);
        if written != bytes.len() as isize {
            return Err(nix::errno::Errno::last());
        }
    }
    Ok(())
}

/// Closes every file descriptor but `keep` (and the standard streams go too:
/// only the test may hold the output pipe, so that it ends when the test's
/// processes do).
unsafe fn close_all_but(keep: libc::c_int) {
    // SAFETY: close_range takes plain integers.
    unsafe {
        libc::syscall(libc::SYS_close_range, 0, keep - 1, 0);
        libc::syscall(libc::SYS_close_range, keep + 1, libc::c_uint::MAX, 0);
    }
}

/// The keeper: the grader's child. Waits for init's report of how the test
/// ended, and ends the same way — so the grader sees the test's own exit
/// code or signal. Never returns.
unsafe fn keep(init: libc::pid_t, status_in: libc::c_int, status_out: libc::c_int) -> ! {
    // SAFETY: system calls only; the keeper never returns to the caller.
    unsafe {
        libc::close(status_out);
        close_all_but(status_in);
        let mut raw = [0u8; 4];
        let mut got = 0;
        while got < raw.len() {
            let n = libc::read(status_in, raw[got..].as_mut_ptr().cast(), raw.len() - got);
            if n > 0 {
                got += n as usize;
            } else if !(n < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR) {
                break;
            }
        }
        let mut ignored = 0;
        libc::waitpid(init, &mut ignored, 0);
        if got < raw.len() {
            // Init died without a report: only a kill from outside does that.
            libc::_exit(125);
        }
        let status = i32::from_ne_bytes(raw);
        if libc::WIFSIGNALED(status) {
            let signal = libc::WTERMSIG(status);
            libc::signal(signal, libc::SIG_DFL);
            libc::kill(libc::getpid(), signal);
            libc::_exit(128 + signal);
        }
        libc::_exit(libc::WEXITSTATUS(status))
    }
}

/// Init (pid 1 of the new namespace): mounts its own `/proc`, starts the
/// test, reaps whatever is orphaned until the test ends, reports how it
/// ended, and exits — which kills everything left in the namespace. Returns
/// only in the test's process, which goes on to `exec`.
unsafe fn start_init(status_out: libc::c_int, status_in: libc::c_int) -> nix::Result<()> {
    // SAFETY: system calls only, in the single-threaded forked child.
    unsafe {
        libc::close(status_in);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        let none = std::ptr::null();
        check(libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            none,
        ) as libc::c_long)?;
        let test = check(libc::fork() as libc::c_long)? as libc::pid_t;
        if test == 0 {
            libc::close(status_out);
            return Ok(());
        }
        close_all_but(status_out);
        loop {
            let mut status = 0;
            let reaped = libc::waitpid(-1, &mut status, 0);
            if reaped == test {
                let raw = status.to_ne_bytes();
                libc::write(status_out, raw.as_ptr().cast(), raw.len());
                libc::_exit(0);
            }
            if reaped < 0 && nix::errno::Errno::last() != nix::errno::Errno::EINTR {
                libc::_exit(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::sandbox::{Ending, Finished, run};

    fn isolated(script: &str, hidden: &[PathBuf]) -> Finished {
        let dir = tempfile::tempdir().unwrap();
        run(
            Path::new("/bin/sh"),
            &["-c".to_string(), script.to_string()],
            dir.path(),
            &Limits::default(),
            None,
            Some(&Isolation::new(hidden)),
        )
        .unwrap()
    }

    /// Processes whose command line contains `marker`.
    fn running(marker: &str) -> usize {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
            .filter(|c| String::from_utf8_lossy(c).contains(marker))
            .count()
    }

    #[test]
    fn a_directory_inside_a_hidden_one_is_hidden_with_it() {
        let outer = secret_dir();
        let inner = outer.path().join("target");
        std::fs::create_dir(&inner).unwrap();
        let isolation = Isolation::new(&[inner.clone(), outer.path().to_path_buf()]);
        assert!(
            isolation
                .hidden()
                .contains(&outer.path().canonicalize().unwrap())
        );
        assert!(!isolation.hidden().contains(&inner.canonicalize().unwrap()));
        isolation.check().unwrap();
    }

    #[test]
    fn exit_codes_and_signals_come_through() {
        assert_eq!(isolated("exit 3", &[]).ending, Ending::Exited(3));
        assert_eq!(
            isolated("kill -SEGV $$", &[]).ending,
            Ending::Signaled(libc::SIGSEGV)
        );
        let done = isolated("echo out; echo err >&2", &[]);
        assert_eq!(done.ending, Ending::Exited(0));
        assert!(done.output.contains("out") && done.output.contains("err"));
    }

    #[test]
    fn a_process_that_left_the_session_dies_with_the_test() {
        // Double fork and a new session: outside a PID namespace this
        // process would outlive the test (and the process-group kill).
        let marker = format!("61.{}", std::process::id());
        let done = isolated(&format!("setsid sh -c 'sleep {marker}' & sleep 0.2"), &[]);
        assert_eq!(done.ending, Ending::Exited(0));
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while running(&marker) > 0 && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(running(&marker), 0, "the detached sleep outlived the test");
    }

    /// A directory outside /tmp (which is covered anyway) holding a
    /// "solution": in the crate's directory, readable by everyone.
    fn secret_dir() -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix(".isolation-secret-")
            .tempdir_in(env!("CARGO_MANIFEST_DIR"))
            .unwrap();
        std::fs::write(dir.path().join("solution.rs"), "the answer is 42").unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn hidden_is_hidden(secret: &Path) {
        let path = secret.display().to_string();
        let seen = std::fs::read_to_string(secret.join("solution.rs")).unwrap();
        assert!(
            seen.contains("42"),
            "the secret cannot be read to begin with"
        );
        let done = isolated(
            &format!("cat {path}/solution.rs; ls -A {path}; touch {path}/x && echo wrote"),
            &[secret.to_path_buf()],
        );
        assert!(!done.output.contains("42"), "{}", done.output);
        assert!(!done.output.contains("solution.rs\n"), "{}", done.output);
        assert!(!done.output.contains("wrote"), "{}", done.output);
        assert!(!secret.join("x").exists());
    }

    #[test]
    fn hidden_directories_are_empty_and_read_only() {
        hidden_is_hidden(secret_dir().path());
    }

    #[test]
    fn a_test_starts_in_its_own_tmp_and_cannot_reach_other_runs() {
        // Every run's directory sits side by side in one area: a test must
        // not reach another's (its program, its files) through `..`.
        let area = tempfile::tempdir().unwrap();
        let mine = area.path().join("run-1");
        let other = area.path().join("run-2");
        std::fs::create_dir_all(&mine).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("program"), "the answer is 42").unwrap();
        let done = run(
            Path::new("/bin/sh"),
            &[
                "-c".to_string(),
                "pwd; cat ../run-2/program; cat run-2/program; touch ../run-2/x".to_string(),
            ],
            &mine,
            &Limits::default(),
            None,
            Some(&Isolation::new(&[])),
        )
        .unwrap();
        assert!(done.output.starts_with("/tmp\n"), "{}", done.output);
        assert!(!done.output.contains("42"), "{}", done.output);
        assert!(!other.join("x").exists());
    }

    #[test]
    fn temporary_files_and_shared_memory_do_not_outlive_the_test() {
        let name = format!("grader-isolation-{}", std::process::id());
        let done = isolated(
            &format!("echo x > /tmp/{name} && echo x > /dev/shm/{name} && cat /tmp/{name}"),
            &[],
        );
        assert_eq!(done.ending, Ending::Exited(0), "{}", done.output);
        assert!(!Path::new("/tmp").join(&name).exists());
        assert!(!Path::new("/dev/shm").join(&name).exists());
    }

    #[test]
    fn a_run_sees_its_own_pids() {
        // /proc is the namespace's own: the test is pid 2 (init is 1), and a
        // test that compares /proc with its own pid sees the same numbers.
        let done = isolated("echo pid=$$; cat /proc/self/stat | cut -d' ' -f1", &[]);
        assert!(done.output.contains("pid=2\n"), "{}", done.output);
    }

    /// The checks above, as a grader that is not root makes them: in a user
    /// namespace of its own.
    #[test]
    #[ignore = "run by a_grader_that_is_not_root_isolates_in_a_user_namespace"]
    fn as_a_user() {
        assert!(
            !nix::unistd::geteuid().is_root(),
            "run this as another user"
        );
        exit_codes_and_signals_come_through();
        a_process_that_left_the_session_dies_with_the_test();
        let secret = std::env::var_os("GRADER_SECRET_DIR").expect("set by the caller");
        hidden_is_hidden(Path::new(&secret));
        a_test_starts_in_its_own_tmp_and_cannot_reach_other_runs();
        temporary_files_and_shared_memory_do_not_outlive_the_test();
        a_run_sees_its_own_pids();
    }

    #[test]
    fn a_grader_that_is_not_root_isolates_in_a_user_namespace() {
        if !nix::unistd::geteuid().is_root() {
            // Already not root: the tests above took the user-namespace path.
            return;
        }
        use std::os::unix::process::CommandExt;
        let secret = secret_dir();
        labkit::testing::rerun_alone("isolation::tests::as_a_user", |command| {
            command
                .uid(45_999)
                .gid(45_999)
                .env("HOME", "/nonexistent")
                .env("GRADER_SECRET_DIR", secret.path());
        });
    }
}
