//! Where threads may run: pinning the calling thread to one CPU, undone when
//! the guard is dropped. Threads and processes started while pinned inherit
//! the pinning (Linux copies the affinity mask on `clone` and `fork`).

use anyhow::{Context as _, Result};
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

// ANCHOR: pin
/// Where the calling thread may run, restored when this guard is dropped.
pub struct Pinned(Option<CpuSet>);

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(before) = &self.0 {
            let _ = sched_setaffinity(Pid::from_raw(0), before);
        }
    }
}

/// Lets the calling thread run on `cpu` only, until the guard is dropped;
/// an error if the CPU does not exist or may not be used.
pub fn try_pin_to(cpu: usize) -> Result<Pinned> {
    let before = sched_getaffinity(Pid::from_raw(0)).context("sched_getaffinity")?;
    let mut only = CpuSet::new();
    only.set(cpu)
        .with_context(|| format!("there is no CPU {cpu}"))?;
    sched_setaffinity(Pid::from_raw(0), &only)
        .with_context(|| format!("cannot pin to CPU {cpu}"))?;
    Ok(Pinned(Some(before)))
}

/// Like [`try_pin_to`], as far as it goes: does nothing when `cpu` is `None`
/// or the pinning fails (the measurement then runs unpinned).
pub fn pin_to(cpu: Option<usize>) -> Pinned {
    cpu.and_then(|cpu| try_pin_to(cpu).ok())
        .unwrap_or(Pinned(None))
}

/// The CPUs this process may run on, in order.
pub fn allowed_cpus() -> Vec<usize> {
    let Ok(allowed) = sched_getaffinity(Pid::from_raw(0)) else {
        return Vec::new();
    };
    (0..CpuSet::count())
        .filter(|&c| allowed.is_set(c).unwrap_or(false))
        .collect()
}
// ANCHOR_END: pin

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning_is_undone_when_the_guard_is_dropped() {
        let before = allowed_cpus();
        let first = *before.first().expect("some CPU is allowed");
        {
            let _pinned = try_pin_to(first).unwrap();
            assert_eq!(allowed_cpus(), [first]);
        }
        assert_eq!(allowed_cpus(), before);
        assert!(try_pin_to(CpuSet::count() + 1).is_err());
        drop(pin_to(None));
        assert_eq!(allowed_cpus(), before);
    }
}
