//! Building a lab's graded test targets with cargo and collecting their
//! executables — or the compiler's first errors, or the limit the build
//! reached.
//!
//! A submission's code runs inside the compiler: a `const` evaluated in an
//! endless loop (`#[allow(long_running_const_eval)]`), a macro that expands
//! without end, or code that makes the compiler print warnings without end
//! keeps a build going, or growing, for ever. So cargo runs in a process group
//! of its own under [`BuildLimits`]: a wall-clock limit, an address-space limit
//! (`RLIMIT_AS`, set in cargo before it starts and inherited by every rustc and
//! linker it runs) and a cap on its output. A build that reaches one is
//! stopped by killing the whole group — cargo and every rustc, which would
//! otherwise run on and hold the build directory's lock, so that the next
//! build would wait for it — and ends as [`Built::Exceeded`]: the lab scores
//! zero, and the next build in the same workspace and cache works as usual.

use crate::config::BuildLimits;
use crate::sandbox::{self, Output};
use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The test executables of one lab, by test target name.
pub type Executables = BTreeMap<String, PathBuf>;

/// How many compiler errors a report shows.
const ERRORS_SHOWN: usize = 3;
/// How often the watchdog looks at the clock and the output.
const TICK: Duration = Duration::from_millis(50);
/// How long to wait for the rest of the output once the build's group is
/// gone (end-of-file comes at once unless something outside the group holds
/// the pipe).
const DRAIN: Duration = Duration::from_secs(2);
/// What a compiler, linker or loader prints when an allocation fails under
/// `RLIMIT_AS`.
const OUT_OF_MEMORY: [&str; 4] = [
    "memory allocation of",
    "out of memory",
    "Cannot allocate memory",
    "failed to map segment",
];

/// The outcome of building one lab.
#[derive(Debug)]
pub enum Built {
    /// Every target built; here are the executables.
    Ok(Executables),
    /// The code did not compile: the compiler's first errors.
    Failed(String),
    /// The build reached one of its limits and was stopped: which limit,
    /// and its value (e.g. "the time limit of 900 s").
    Exceeded(String),
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    message: Option<Diagnostic>,
    #[serde(default)]
    success: Option<bool>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    rendered: Option<String>,
}

/// `cargo test --no-run -p LAB --test T…` in `workspace`, into `target_dir`
/// (sharing `build_dir` for cargo's intermediate files, when given),
/// under `limits`. Errors only when the build cannot be run or stopped at all
/// (no cargo, a limit the system refuses, a process that survives being
/// killed) — a submission that reaches a limit is [`Built::Exceeded`].
pub fn build_tests(
    workspace: &Path,
    target_dir: &Path,
    lab: &str,
    targets: &[String],
    limits: &BuildLimits,
    build_dir: Option<&Path>,
) -> Result<Built> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["test", "--no-run", "--package", lab])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--target-dir")
        .arg(target_dir)
        .env("CARGO_TERM_COLOR", "never");
    // Another build directory (cargo's intermediate files) to share, e.g.
    // the instructor's: its crates.io crates are then not compiled again.
    if let Some(dir) = build_dir {
        command.env("CARGO_BUILD_BUILD_DIR", dir);
    }
    for target in targets {
        command.args(["--test", target]);
    }
    let ran = run_within(command, limits)?;
    if let Some(limit) = ran.exceeded {
        // Our own builds leave no lock behind: one still waiting for a lock
        // (cargo's last word) ran out of time because of another program,
        // not the submission.
        if ran
            .stderr
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .is_some_and(|line| line.contains("Blocking waiting for file lock"))
        {
            bail!(
                "the build waited for a lock that another program holds (another grader using {}?) and ran out of time",
                target_dir.display()
            );
        }
        return Ok(Built::Exceeded(limit));
    }
    if !ran.success
        && ran
            .stderr
            .lines()
            .any(|line| OUT_OF_MEMORY.iter().any(|sign| line.contains(sign)))
    {
        return Ok(Built::Exceeded(memory_limit(limits)));
    }
    read_messages(&ran.stdout, &ran.stderr, ran.success, targets)
}

/// The memory limit as a report says it. (An allocation that fails makes
/// the compiler abort: no limit is "reached" the way time and output are.)
fn memory_limit(limits: &BuildLimits) -> String {
    format!(
        "the memory limit of {} MiB per compiler process (an allocation failed)",
        limits.memory_mib
    )
}

/// Reads cargo's JSON messages: the executables, or the first errors.
fn read_messages(stdout: &str, stderr: &str, success: bool, targets: &[String]) -> Result<Built> {
    let mut executables = Executables::new();
    let mut errors = Vec::new();
    let mut finished_ok = false;
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let Ok(message) = serde_json::from_str::<Message>(line) else {
            continue;
        };
        match message.reason.as_str() {
            "compiler-artifact" => {
                if let (Some(target), Some(exe)) = (message.target, message.executable)
                    && target.kind.iter().any(|k| k == "test")
                    && targets.contains(&target.name)
                {
                    executables.insert(target.name, exe);
                }
            }
            "compiler-message" => {
                if let Some(d) = message.message
                    && d.level == "error"
                    && let Some(text) = d.rendered
                {
                    errors.push(text.trim_end().to_string());
                }
            }
            "build-finished" => finished_ok = message.success == Some(true),
            _ => {}
        }
    }
    if success && finished_ok && executables.len() == targets.len() {
        return Ok(Built::Ok(executables));
    }
    if errors.is_empty() {
        // No compiler error: cargo itself failed (a manifest, the network…).
        let last: Vec<&str> = stderr.lines().rev().take(15).collect();
        if success {
            bail!("cargo built no executable for some of {targets:?}");
        }
        return Ok(Built::Failed(
            last.into_iter().rev().collect::<Vec<_>>().join("\n"),
        ));
    }
    let shown: Vec<String> = errors.iter().take(ERRORS_SHOWN).cloned().collect();
    let mut text = shown.join("\n\n");
    if errors.len() > ERRORS_SHOWN {
        text.push_str(&format!(
            "\n\n… and {} more errors",
            errors.len() - ERRORS_SHOWN
        ));
    }
    Ok(Built::Failed(text))
}

/// What one build did.
#[derive(Debug)]
struct Ran {
    /// Cargo's standard output (its JSON messages), up to the output limit.
    stdout: String,
    /// Cargo's standard error, up to the output limit.
    stderr: String,
    /// Whether cargo exited with success.
    success: bool,
    /// The limit the build reached, if it was stopped.
    exceeded: Option<String>,
}

/// Runs `command` in a process group of its own under `limits`: to the end,
/// or until it reaches the time or output limit, when the whole group is
/// killed. Either way nothing of the group is left when this returns.
fn run_within(mut command: Command, limits: &BuildLimits) -> Result<Ran> {
    // Close-on-exec: the pipes must not leak into the tests that workers
    // start meanwhile, or their end-of-file would wait for those tests.
    let (out_reader, out_writer) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe failed")?;
    let (err_reader, err_writer) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe failed")?;
    let cap = limits.output_mib << 20;
    let mut out = Output::new(out_reader, cap)?;
    let mut err = Output::new(err_reader, cap)?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(out_writer))
        .stderr(Stdio::from(err_writer))
        .process_group(0);
    let memory = limits.memory_mib << 20;
    // SAFETY: the closure runs in the forked child before exec and makes only
    // async-signal-safe system calls (setrlimit).
    unsafe {
        command.pre_exec(move || limit_memory(memory).map_err(std::io::Error::from));
    }
    let start = Instant::now();
    let mut child = command.spawn().context("could not start cargo")?;
    // Our write ends went with `command`: end-of-file comes when the group is gone.
    drop(command);
    let group = Pid::from_raw(child.id() as i32);
    let watched = watch(&mut child, &mut out, &mut err, limits, start);
    // Whatever happened, nothing of the build may outlive it: a rustc left
    // running would hold the build directory's lock and stall the next build.
    let status = stop_group(&mut child, group)?;
    let exceeded = watched?;
    let drain_until = Instant::now() + DRAIN;
    while !(out.closed && err.closed) && Instant::now() < drain_until {
        out.read_for(TICK)?;
        err.read_for(Duration::ZERO)?;
    }
    Ok(Ran {
        stdout: String::from_utf8_lossy(&out.kept).into_owned(),
        stderr: String::from_utf8_lossy(&err.kept).into_owned(),
        success: exceeded.is_none() && status.is_some_and(|s| s.success()),
        exceeded,
    })
}

/// Reads the build's output until cargo exits (`None`) or a limit is
/// reached (which one, and its value).
fn watch(
    child: &mut Child,
    out: &mut Output,
    err: &mut Output,
    limits: &BuildLimits,
    start: Instant,
) -> Result<Option<String>> {
    loop {
        out.read_for(TICK)?;
        err.read_for(Duration::ZERO)?;
        if child.try_wait()?.is_some() {
            return Ok(None);
        }
        if start.elapsed() > limits.timeout() {
            return Ok(Some(format!(
                "the time limit of {} s (still building when it was stopped)",
                limits.timeout_seconds
            )));
        }
        if out.total + err.total > limits.output_mib << 20 {
            return Ok(Some(format!(
                "the output limit of {} MiB (the compiler's messages flooded it)",
                limits.output_mib
            )));
        }
    }
}

/// Kills process group `group` — cargo and every compiler it started — and
/// reaps cargo; returns cargo's status. Errors when a process of the group
/// is still alive afterwards: the next build would wait for its lock.
fn stop_group(child: &mut Child, group: Pid) -> Result<Option<ExitStatus>> {
    let _ = killpg(group, Signal::SIGKILL);
    let status = child.wait().ok();
    // A rustc whose cargo died first is reparented to the grader (a
    // subreaper) and reaped here; this waits until none is left.
    sandbox::clean_up(group, None);
    let left = sandbox::live_in_group(group);
    if !left.is_empty() {
        bail!(
            "the build's processes {left:?} survived SIGKILL; the build directory may stay locked"
        );
    }
    Ok(status)
}

/// In cargo, before exec: the address-space limit, which every process it
/// starts inherits; and no core files from a compiler that crashes.
fn limit_memory(bytes: u64) -> nix::Result<()> {
    use nix::sys::resource::{Resource, setrlimit};
    setrlimit(Resource::RLIMIT_AS, bytes, bytes)?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(timeout_seconds: f64) -> BuildLimits {
        BuildLimits {
            timeout_seconds,
            ..BuildLimits::default()
        }
    }

    fn sh(script: &str, limits: &BuildLimits) -> (Ran, Duration) {
        // Orphans of the killed group come to us and are reaped.
        sandbox::become_subreaper();
        let mut command = Command::new("/bin/sh");
        command.args(["-c", script]);
        let start = Instant::now();
        let ran = run_within(command, limits).unwrap();
        (ran, start.elapsed())
    }

    /// Whether process `pid` is still running (a zombie is not).
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat[stat.rfind(')').unwrap() + 1..]
                .trim_start()
                .starts_with('Z')
        })
    }

    #[test]
    fn a_build_that_never_ends_is_killed_with_its_whole_group() {
        let (ran, took) = sh("echo $$; sleep 60 & echo $!; sleep 60", &limits(1.0));
        assert!(took < Duration::from_secs(10), "took {took:?}");
        let exceeded = ran.exceeded.expect("not stopped");
        assert!(exceeded.contains("time limit of 1 s"), "{exceeded}");
        assert!(!ran.success);
        let pids: Vec<i32> = ran.stdout.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(pids.len(), 2, "{:?}", ran.stdout);
        assert_eq!(
            sandbox::live_in_group(Pid::from_raw(pids[0])),
            Vec::<i32>::new()
        );
        assert!(!pids.iter().any(|&pid| alive(pid)), "{pids:?} survived");
    }

    #[test]
    fn a_build_that_floods_its_output_is_stopped() {
        let flood = BuildLimits {
            output_mib: 1,
            ..limits(60.0)
        };
        let (ran, took) = sh("yes 'warning: unused variable'", &flood);
        assert!(took < Duration::from_secs(30), "took {took:?}");
        let exceeded = ran.exceeded.expect("not stopped");
        assert!(exceeded.contains("output limit of 1 MiB"), "{exceeded}");
        assert!(ran.stdout.len() <= 1 << 20);
    }

    #[test]
    fn a_normal_run_keeps_all_its_output() {
        let (ran, _) = sh("echo out; echo err >&2; sleep 0.2 & exit 0", &limits(60.0));
        assert_eq!(ran.exceeded, None);
        assert!(ran.success);
        assert_eq!(
            (ran.stdout.as_str(), ran.stderr.as_str()),
            ("out\n", "err\n")
        );
        let (failed, _) = sh("exit 3", &limits(60.0));
        assert!(!failed.success && failed.exceeded.is_none());
    }

    /// A library whose constant the compiler evaluates for ever.
    const ENDLESS: &str = "pub fn x() -> u64 {\n    #[allow(long_running_const_eval)]\n    const FOREVER: u64 = {\n        let mut i: u64 = 0;\n        loop {\n            i = i.wrapping_add(1);\n        }\n    };\n    FOREVER\n}\n";

    /// A crate with one test target whose library is `lib`.
    fn tiny_crate(dir: &Path, lib: &str) {
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("tests")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2024\"\n[workspace]\n",
        )
        .unwrap();
        std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
        std::fs::write(
            dir.join("tests/t.rs"),
            "#[test]\nfn t() {\n    assert_eq!(tiny::x(), 1);\n}\n",
        )
        .unwrap();
    }

    /// The live processes whose command line mentions `text`.
    fn processes_mentioning(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(line) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let line = String::from_utf8_lossy(&line).replace('\0', " ");
            if line.contains(text) && alive(pid) {
                found.push(line);
            }
        }
        found
    }

    #[test]
    fn an_endless_build_is_stopped_and_the_next_build_in_its_cache_works() {
        sandbox::become_subreaper();
        let dir = tempfile::tempdir().unwrap();
        let (krate, target) = (dir.path().join("tiny"), dir.path().join("target"));
        let targets = vec!["t".to_string()];
        tiny_crate(&krate, ENDLESS);
        let start = Instant::now();
        let built = build_tests(&krate, &target, "tiny", &targets, &limits(5.0), None).unwrap();
        assert!(start.elapsed() < Duration::from_secs(30));
        let Built::Exceeded(limit) = built else {
            panic!("{built:?}");
        };
        assert!(limit.contains("time limit of 5 s"), "{limit}");
        let left = processes_mentioning(&dir.path().to_string_lossy());
        assert!(left.is_empty(), "left running: {left:?}");
        // No lock is left behind: the next build in the same cache finishes.
        tiny_crate(&krate, "pub fn x() -> u64 {\n    1\n}\n");
        let built = build_tests(&krate, &target, "tiny", &targets, &limits(300.0), None).unwrap();
        let Built::Ok(executables) = built else {
            panic!("{built:?}");
        };
        assert!(executables["t"].is_file());
    }

    #[test]
    fn a_build_still_waiting_for_another_programs_lock_is_an_error_not_a_zero() {
        sandbox::become_subreaper();
        let dir = tempfile::tempdir().unwrap();
        let (krate, target) = (dir.path().join("tiny"), dir.path().join("target"));
        tiny_crate(&krate, ENDLESS);
        // Another program builds in the same build directory, for ever.
        let mut holder = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        holder
            .current_dir(&krate)
            .arg("build")
            .arg("--target-dir")
            .arg(&target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut holder = holder.spawn().unwrap();
        let holder_group = Pid::from_raw(holder.id() as i32);
        let until = Instant::now() + Duration::from_secs(60);
        while !processes_mentioning(&dir.path().to_string_lossy())
            .iter()
            .any(|p| p.contains("rustc"))
            && Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        let built = build_tests(&krate, &target, "tiny", &["t".into()], &limits(3.0), None);
        let _ = stop_group(&mut holder, holder_group);
        let err = format!("{:#}", built.unwrap_err());
        assert!(err.contains("lock that another program holds"), "{err}");
    }

    #[test]
    fn a_build_that_runs_out_of_memory_exceeded_its_limits() {
        sandbox::become_subreaper();
        let dir = tempfile::tempdir().unwrap();
        let krate = dir.path().join("tiny");
        // Each level doubles the expansion: 2^40 additions.
        let grow = "macro_rules! grow {\n    () => { 0u64 };\n    ($x:tt $($rest:tt)*) => { grow!($($rest)*) + grow!($($rest)*) };\n}\n";
        let levels = "a ".repeat(40);
        tiny_crate(
            &krate,
            &format!("{grow}pub fn x() -> u64 {{\n    grow!({levels})\n}}\n"),
        );
        let tight = BuildLimits {
            memory_mib: 768,
            ..limits(300.0)
        };
        let built = build_tests(
            &krate,
            &dir.path().join("target"),
            "tiny",
            &["t".into()],
            &tight,
            None,
        )
        .unwrap();
        let Built::Exceeded(limit) = built else {
            panic!("{built:?}");
        };
        assert!(limit.contains("memory limit of 768 MiB"), "{limit}");
    }

    #[test]
    fn executables_and_errors_are_read_from_cargo_messages() {
        let targets = vec!["exercises".to_string()];
        let ok = r#"{"reason":"compiler-artifact","target":{"name":"exercises","kind":["test"]},"executable":"/t/exercises-1"}
{"reason":"compiler-artifact","target":{"name":"lab_01","kind":["lib"]},"executable":null}
{"reason":"build-finished","success":true}"#;
        let Built::Ok(found) = read_messages(ok, "", true, &targets).unwrap() else {
            panic!("not built");
        };
        assert_eq!(found["exercises"], PathBuf::from("/t/exercises-1"));

        let mut failed = String::new();
        for i in 0..5 {
            failed.push_str(&format!(
                "{{\"reason\":\"compiler-message\",\"message\":{{\"level\":\"error\",\"rendered\":\"error[E0308]: number {i}\"}}}}\n"
            ));
        }
        failed.push_str(r#"{"reason":"build-finished","success":false}"#);
        let Built::Failed(text) = read_messages(&failed, "", false, &targets).unwrap() else {
            panic!("built");
        };
        assert!(text.contains("number 0") && text.contains("number 2"));
        assert!(!text.contains("number 3"));
        assert!(text.contains("2 more errors"));
    }
}
