//! Detecting the machine and build that produce a set of numbers (the
//! format is `labkit_schema::machine`).

pub use labkit_schema::machine::{Build, Machine};
use std::process::Command;

/// The build of this copy of labkit: labs are compiled with the same
/// settings (see the workspace Cargo.toml), which a course test checks.
pub fn current_build() -> Build {
    Build {
        profile: env!("LABKIT_PROFILE").to_string(),
        opt_level: env!("LABKIT_OPT_LEVEL").to_string(),
        debug_assertions: cfg!(debug_assertions),
    }
}

/// Reads the machine's facts. `python3` is what [`crate::python::find`] found.
pub fn detect(python3: Option<String>) -> Machine {
    let (git_commit, git_dirty) = git_state();
    Machine {
        logical_cores: logical_cores(),
        cpu_model: cpu_model(),
        os: os_name(),
        kernel: kernel(),
        rustc: env!("LABKIT_RUSTC_VERSION").to_string(),
        build: current_build(),
        git_commit,
        git_dirty,
        python3,
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
        let machine = detect(None);
        assert!(machine.logical_cores >= 1);
        assert!(!machine.kernel.is_empty());
        assert!(machine.rustc.starts_with("rustc"), "{}", machine.rustc);
        assert!(machine.one_line().contains("python3 not found"));
    }
}
