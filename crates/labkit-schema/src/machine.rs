//! The machine and build a set of numbers came from (detected by `labkit`).

use serde::{Deserialize, Serialize};

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
    /// Whether debug assertions were on. (The workspace turns overflow checks
    /// on and off with them, for every measured package: a course test checks it.)
    pub debug_assertions: bool,
}

impl Machine {
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
