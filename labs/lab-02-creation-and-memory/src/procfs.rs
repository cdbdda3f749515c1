//! Reading a process's memory from Linux's `/proc`: what it has resident
//! (`status`), and how that splits into shared and private (`smaps_rollup`).

use anyhow::{Context, Result};
use nix::unistd::Pid;

/// One process's memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    /// Resident set: every page it has in RAM, shared or not.
    pub rss: u64,
    /// Proportional set: each page divided by how many processes share it.
    pub pss: u64,
    /// Private: pages only this process maps (clean or dirty).
    pub private: u64,
    /// Its page tables (`VmPTE`): kernel memory a process has and a thread does not.
    pub page_tables: u64,
}

/// The memory of process `pid` (`None`: this process).
pub fn memory(pid: Option<Pid>) -> Result<Memory> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_string(),
    };
    let rollup = read(&format!("{dir}/smaps_rollup"))?;
    let status = read(&format!("{dir}/status"))?;
    Ok(Memory {
        rss: field(&rollup, "Rss")?,
        pss: field(&rollup, "Pss")?,
        private: field(&rollup, "Private_Clean")? + field(&rollup, "Private_Dirty")?,
        page_tables: field(&status, "VmPTE")?,
    })
}

/// This process's resident and virtual size, and its number of threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// `VmRSS`: bytes resident in RAM.
    pub resident: u64,
    /// `VmSize`: bytes of address space reserved, resident or not.
    pub reserved: u64,
    /// `Threads`: how many threads the process has.
    pub threads: u64,
}

/// Reads [`Status`] for this process.
pub fn status() -> Result<Status> {
    let status = read("/proc/self/status")?;
    Ok(Status {
        resident: field(&status, "VmRSS")?,
        reserved: field(&status, "VmSize")?,
        threads: count(&status, "Threads")?,
    })
}

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {path} (this lab needs Linux's /proc)"))
}

/// A `Name:   1234 kB` line's value, in bytes.
pub fn field(text: &str, name: &str) -> Result<u64> {
    Ok(count(text, name)? * 1024)
}

/// A `Name:   1234` line's number.
fn count(text: &str, name: &str) -> Result<u64> {
    text.lines()
        .find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(':')?;
            value.split_whitespace().next()?.parse().ok()
        })
        .with_context(|| format!("no {name} line in /proc"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_in_bytes() {
        let text = "Rss:                2048 kB\nPss:        1024 kB\nPss_Anon: 9 kB\n";
        assert_eq!(field(text, "Rss").unwrap(), 2048 * 1024);
        assert_eq!(field(text, "Pss").unwrap(), 1024 * 1024);
        assert!(field(text, "Swap").is_err());
    }

    #[test]
    fn this_process_has_memory_and_a_thread() {
        let me = memory(None).unwrap();
        assert!(me.rss > 0 && me.pss > 0 && me.private > 0, "{me:?}");
        assert!(status().unwrap().threads >= 1);
    }
}
