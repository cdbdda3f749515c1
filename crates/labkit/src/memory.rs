//! Anonymous memory mappings (`mmap`): private ones that a forked child gets
//! a copy-on-write copy of, and shared ones that parent and child both see.

use anyhow::{Context, Result, bail};
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap_anonymous, munmap};
use std::ffi::c_void;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// The size of a memory page: the unit the kernel maps, shares and copies.
pub fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4096, |size| size as usize)
}

/// A region of anonymous memory, zero-filled, unmapped when dropped.
#[derive(Debug)]
pub struct Mapping {
    start: NonNull<c_void>,
    len: usize,
}

// SAFETY: a mapping is plain memory, like a `Vec<u8>`; `&Mapping` gives out
// only shared access, and writes need `&mut Mapping`.
unsafe impl Send for Mapping {}
// SAFETY: see above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Memory of this process only. After `fork` the child sees a copy —
    /// made page by page, lazily, the first time either side writes a page.
    pub fn private(len: usize) -> Result<Mapping> {
        Mapping::new(len, MapFlags::MAP_PRIVATE)
    }

    /// Memory that stays shared across `fork`: what a child writes, the parent
    /// sees, with no copy at all.
    pub fn shared(len: usize) -> Result<Mapping> {
        Mapping::new(len, MapFlags::MAP_SHARED)
    }

    fn new(len: usize, flags: MapFlags) -> Result<Mapping> {
        let Some(length) = NonZeroUsize::new(len) else {
            bail!("a mapping needs at least one byte");
        };
        let protection = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        // SAFETY: a new anonymous mapping aliases nothing that exists.
        let start = unsafe { mmap_anonymous(None, length, protection, flags) }
            .with_context(|| format!("mmap of {len} bytes failed"))?;
        Ok(Mapping { start, len })
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never: a mapping has at least one byte).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes, to read.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `start..start+len` is mapped readable for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr().cast(), self.len) }
    }

    /// The bytes, to write.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes this the only access.
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr().cast(), self.len) }
    }

    /// The start address, for atomics placed in shared memory.
    pub fn as_ptr(&self) -> *mut u8 {
        self.start.as_ptr().cast()
    }

    /// Keeps this mapping in ordinary 4 KiB pages (`MADV_NOHUGEPAGE`), even
    /// where the kernel makes huge pages of anonymous memory by itself
    /// (transparent huge pages set to `always`): how many page-table entries
    /// `fork` copies then depends on the mapping's size, not on the machine.
    pub fn without_huge_pages(&self) -> Result<()> {
        // SAFETY: the range is exactly this mapping; the advice changes only
        // the size of the pages backing it.
        unsafe { madvise(self.start, self.len, MmapAdvise::MADV_NOHUGEPAGE) }
            .context("madvise(MADV_NOHUGEPAGE) failed")
    }

    // ANCHOR: inherit_on_fork
    /// Whether a forked child inherits this mapping (the default) or not
    /// (`MADV_DONTFORK`: then `fork` need not copy its page tables).
    pub fn inherit_on_fork(&self, inherit: bool) -> Result<()> {
        let advice = if inherit {
            MmapAdvise::MADV_DOFORK
        } else {
            MmapAdvise::MADV_DONTFORK
        };
        // SAFETY: the range is exactly this mapping; the advice changes only
        // what `fork` does with it.
        unsafe { madvise(self.start, self.len, advice) }.context("madvise failed")
    }
    // ANCHOR_END: inherit_on_fork
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours, and nothing borrows it any more.
        let _ = unsafe { munmap(self.start, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::fork_child;

    #[test]
    fn a_child_writes_its_own_copy_of_private_memory() {
        let mut memory = Mapping::private(page_size()).unwrap();
        memory.as_mut_slice()[0] = 1;
        let child = fork_child(|| {
            memory.as_mut_slice()[0] = 2;
            i32::from(memory.as_slice()[0])
        })
        .unwrap();
        assert!(matches!(
            child.wait().unwrap(),
            nix::sys::wait::WaitStatus::Exited(_, 2)
        ));
        assert_eq!(memory.as_slice()[0], 1);
    }

    #[test]
    fn a_child_writes_into_shared_memory_for_the_parent_to_see() {
        let mut memory = Mapping::shared(page_size()).unwrap();
        memory.as_mut_slice()[0] = 1;
        fork_child(|| {
            memory.as_mut_slice()[0] = 2;
            0
        })
        .unwrap()
        .wait_success()
        .unwrap();
        assert_eq!(memory.as_slice()[0], 2);
    }

    #[test]
    fn zero_bytes_is_an_error_not_a_panic() {
        assert!(Mapping::private(0).is_err());
    }
}
