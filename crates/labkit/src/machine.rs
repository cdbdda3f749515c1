//! What machine and build produced a set of numbers.

use serde::{Deserialize, Serialize};
use std::process::Command;

/// The facts about the machine that a reader needs to interpret the results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Cores this process may use (`std::thread::available_parallelism`, which
    /// honours CPU affinity and cgroup quotas).
    pub logical_cores: usize,
    /// CPU model name, from /proc/cpuinfo where there is one.
    pub cpu_model: String,
    /// Operating system name, e.g. "Debian GNU/Linux 12 (bookworm)".
    pub os: String,
    /// Kernel name and release, e.g. "Linux 6.1.0".
    pub kernel: String,
    /// The compiler that built the harness.
    pub rustc: String,
    /// How the lab was compiled.
    pub build: Build,
    /// The commit the sources were at, if they are in a git checkout.
    pub git_commit: Option<String>,
    /// Whether the checkout had uncommitted changes, apart from `results/`
    /// (what measuring writes: measuring lab 02 then lab 03 must not mark
    /// lab 03's run as made from changed sources).
    pub git_dirty: bool,
    /// `python3 --version`, or `None` when python3 was not found.
    pub python3: Option<String>,
}

/// How the measured code was compiled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Build {
    /// Cargo profile: "debug" for `cargo run`, "release" for `--release`.
    pub profile: String,
    /// The optimisation level the labs and labkit were compiled with.
    pub opt_level: String,
    /// Whether debug assertions (and overflow checks) were on.
    pub debug_assertions: bool,
}

impl Build {
    /// The build of this copy of labkit. Labs share its settings (see the
    /// workspace Cargo.toml), which a course test checks.
    pub fn current() -> Build {
        Build {
            profile: env!("LABKIT_PROFILE").to_string(),
            opt_level: env!("LABKIT_OPT_LEVEL").to_string(),
            debug_assertions: cfg!(debug_assertions),
        }
    }
}

impl Machine {
    /// Reads the machine's facts. `python3` is what [`crate::python::find`] found.
    pub fn detect(python3: Option<String>) -> Machine {
        let (git_commit, git_dirty) = git_state();
        Machine {
            logical_cores: logical_cores(),
            cpu_model: cpu_model(),
            os: os_name(),
            kernel: kernel(),
            rustc: env!("LABKIT_RUSTC_VERSION").to_string(),
            build: Build::current(),
            git_commit,
            git_dirty,
            python3,
        }
    }

    /// One line for a footnote or a terminal header.
    pub fn one_line(&self) -> String {
        format!(
            "{} logical cores ({}), {}, {}, {}",
            self.logical_cores,
            self.cpu_model,
            self.kernel,
            self.rustc,
            self.python3.as_deref().unwrap_or("python3 not found")
        )
    }
}

/// Cores available to this process; 1 if the OS cannot say.
pub fn logical_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("PRETTY_NAME="))
                .map(|name| name.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

fn kernel() -> String {
    match nix::sys::utsname::uname() {
        Ok(name) => format!(
            "{} {}",
            name.sysname().to_string_lossy(),
            name.release().to_string_lossy()
        ),
        Err(_) => std::env::consts::OS.to_string(),
    }
}

fn git_state() -> (Option<String>, bool) {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "--short=12", "HEAD"]);
    let dirty = commit.is_some()
        && run(&[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ":(top,exclude)results",
        ])
        .is_some_and(|s| !s.is_empty());
    (commit, dirty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_at_least_one_core_and_a_kernel() {
        let machine = Machine::detect(None);
        assert!(machine.logical_cores >= 1);
        assert!(!machine.kernel.is_empty());
        assert!(machine.rustc.starts_with("rustc"), "{}", machine.rustc);
        assert!(machine.one_line().contains("python3 not found"));
    }
}
