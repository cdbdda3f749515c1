//! A faster transport for the process pool: a ring of bytes in memory shared
//! by the pool and one worker, one writer and one reader, with `futex`
//! wake-ups only when the other side is asleep.
//!
//! A pipe costs system calls on both sides for every frame, even when the
//! reader is wide awake. Here a writer copies the frame into shared memory
//! and publishes it with one atomic store; a reader that is busy picks it up
//! with one atomic load — no system call, no wake-up. Only a side that found
//! nothing to do and went to sleep (`FUTEX_WAIT` on a counter) costs the
//! other a `FUTEX_WAKE`.

use labkit::memory::Mapping;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

/// Bytes of frames a ring holds (a power of two).
pub const RING_BYTES: usize = 64 << 10;

/// How long a sleeper waits before it looks whether its partner still lives.
const NAP: Duration = Duration::from_millis(10);

/// Spins before going to sleep: a partner that answers within them costs
/// no system call at all.
const SPINS: u32 = 200;

// ANCHOR: doorbell
/// Something a sleeper waits on: a counter the other side bumps, and a flag
/// that says someone sleeps on it (so that the other side knows to wake it).
#[repr(C)]
pub struct Doorbell {
    rings: AtomicU32,
    sleeping: AtomicU32,
}

impl Doorbell {
    /// Rings it: bumps the counter, and wakes a sleeper if there is one.
    pub fn ring(&self) {
        self.rings.fetch_add(1, SeqCst);
        if self.sleeping.load(SeqCst) != 0 {
            futex_wake(&self.rings);
        }
    }

    /// Waits until `ready()` holds: spins a little, then sleeps on the
    /// counter in naps; after each nap, `alive()` says whether to go on.
    /// Returns whether `ready()` held (false: the partner is gone).
    pub fn wait(&self, ready: impl Fn() -> bool, alive: impl Fn() -> bool) -> bool {
        for _ in 0..SPINS {
            if ready() {
                return true;
            }
            std::hint::spin_loop();
        }
        loop {
            let seen = self.rings.load(SeqCst);
            self.sleeping.fetch_add(1, SeqCst);
            // Checked after saying we sleep: a ring after this check finds
            // `sleeping` set and wakes us, or changes `rings` so that the
            // futex does not sleep at all.
            if ready() {
                self.sleeping.fetch_sub(1, SeqCst);
                return true;
            }
            futex_wait(&self.rings, seen, NAP);
            self.sleeping.fetch_sub(1, SeqCst);
            if ready() {
                return true;
            }
            if !alive() {
                return false;
            }
        }
    }
}
// ANCHOR_END: doorbell

/// The shared part of one ring: counters of bytes written and read, a closed
/// flag, and the bytes.
#[repr(C)]
struct Header {
    written: AtomicU64,
    _pad1: [u64; 7],
    read: AtomicU64,
    _pad2: [u64; 7],
    closed: AtomicU32,
    space: Doorbell,
}

/// One direction of frames between two processes: created before `fork`,
/// then one process keeps the writing end and the other the reading end.
pub struct Ring {
    memory: Mapping,
}

impl Ring {
    /// A new, empty ring in shared memory.
    pub fn new() -> anyhow::Result<Ring> {
        let memory = Mapping::shared(HEADER_BYTES + RING_BYTES)?;
        Ok(Ring { memory })
    }

    fn header(&self) -> &Header {
        // SAFETY: the mapping is page-aligned, zero-filled (valid zeros for
        // every field), larger than a Header, lives as long as `self`, and
        // its header is only ever accessed through atomics.
        unsafe { &*self.memory.as_ptr().cast::<Header>() }
    }

    fn data(&self) -> *mut u8 {
        // SAFETY: HEADER_BYTES is inside the mapping.
        unsafe { self.memory.as_ptr().add(HEADER_BYTES) }
    }

    /// Writes one frame, waiting for space while the reader lives; then
    /// rings `data` so that a sleeping reader wakes. Fails if the frame can
    /// never fit or the reader is gone.
    pub fn send(
        &self,
        frame: &[u8],
        data: &Doorbell,
        reader_alive: impl Fn() -> bool,
    ) -> std::io::Result<()> {
        let need = (4 + frame.len()) as u64;
        if need > RING_BYTES as u64 {
            return Err(std::io::Error::other("a frame larger than the ring"));
        }
        let header = self.header();
        let written = header.written.load(SeqCst);
        let fits = || written + need - header.read.load(SeqCst) <= RING_BYTES as u64;
        if !header.space.wait(fits, reader_alive) {
            return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        }
        self.copy_in(written, &(frame.len() as u32).to_le_bytes());
        self.copy_in(written + 4, frame);
        header.written.store(written + need, SeqCst); // publishes the frame
        data.ring();
        Ok(())
    }

    /// Whether a frame is waiting, or the ring was closed.
    pub fn readable(&self) -> bool {
        let header = self.header();
        header.written.load(SeqCst) != header.read.load(SeqCst) || header.closed.load(SeqCst) != 0
    }

    /// Takes the next frame if there is one: `Some(None)` when the ring is
    /// closed and empty, `None` when there is nothing yet.
    pub fn try_recv(&self) -> Option<Option<Vec<u8>>> {
        let header = self.header();
        let read = header.read.load(SeqCst);
        if header.written.load(SeqCst) == read {
            return (header.closed.load(SeqCst) != 0).then_some(None);
        }
        let mut length = [0u8; 4];
        self.copy_out(read, &mut length);
        let mut frame = vec![0u8; u32::from_le_bytes(length) as usize];
        self.copy_out(read + 4, &mut frame);
        header.read.store(read + 4 + frame.len() as u64, SeqCst);
        header.space.ring();
        Some(Some(frame))
    }

    /// Says no more frames will come; a waiting reader wakes and sees it.
    pub fn close(&self, data: &Doorbell) {
        self.header().closed.store(1, SeqCst);
        data.ring();
    }

    /// Copies `bytes` into the ring from position `at` on, in at most two
    /// pieces (the end of the data area, then its start).
    fn copy_in(&self, at: u64, bytes: &[u8]) {
        let start = at as usize % RING_BYTES;
        let first = bytes.len().min(RING_BYTES - start);
        // SAFETY: both pieces lie inside the data area; the reader does not
        // read them until `written` is published past them.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.data().add(start), first);
            std::ptr::copy_nonoverlapping(
                bytes[first..].as_ptr(),
                self.data(),
                bytes.len() - first,
            );
        }
    }

    /// Copies out of the ring from position `at` on, in at most two pieces.
    fn copy_out(&self, at: u64, bytes: &mut [u8]) {
        let start = at as usize % RING_BYTES;
        let first = bytes.len().min(RING_BYTES - start);
        // SAFETY: inside the data area, published by the writer, and not
        // overwritten until `read` is advanced past it.
        unsafe {
            std::ptr::copy_nonoverlapping(self.data().add(start), bytes.as_mut_ptr(), first);
            let rest = bytes.len() - first;
            std::ptr::copy_nonoverlapping(self.data(), bytes[first..].as_mut_ptr(), rest);
        }
    }
}

/// The header's bytes, rounded up to a page (the data starts page-aligned).
const HEADER_BYTES: usize = 4096;

/// Doorbells in shared memory, for `count` sleepers.
pub struct Doorbells {
    memory: Mapping,
}

impl Doorbells {
    /// `count` doorbells, all quiet.
    pub fn new(count: usize) -> anyhow::Result<Doorbells> {
        let bytes = (count * std::mem::size_of::<Doorbell>()).max(8);
        Ok(Doorbells {
            memory: Mapping::shared(bytes)?,
        })
    }

    /// Doorbell number `index`.
    pub fn get(&self, index: usize) -> &Doorbell {
        assert!((index + 1) * std::mem::size_of::<Doorbell>() <= self.memory.len());
        // SAFETY: in bounds, aligned (the mapping is page-aligned and a
        // Doorbell is two u32s), zero-filled, accessed only through atomics.
        unsafe { &*self.memory.as_ptr().cast::<Doorbell>().add(index) }
    }
}

/// Sleeps while `word` still holds `expected`, for at most `limit`.
fn futex_wait(word: &AtomicU32, expected: u32, limit: Duration) {
    let timeout = nix::libc::timespec {
        tv_sec: limit.as_secs() as nix::libc::time_t,
        tv_nsec: limit.subsec_nanos() as nix::libc::c_long,
    };
    // SAFETY: a futex wait on a live, aligned u32 in shared memory (no
    // FUTEX_PRIVATE_FLAG: the waker is another process), with a timeout.
    unsafe {
        nix::libc::syscall(
            nix::libc::SYS_futex,
            word.as_ptr(),
            nix::libc::FUTEX_WAIT,
            expected,
            &timeout as *const nix::libc::timespec,
        );
    }
}

/// Wakes one sleeper on `word`.
fn futex_wake(word: &AtomicU32) {
    // SAFETY: a futex wake on a live, aligned u32 in shared memory.
    unsafe {
        nix::libc::syscall(
            nix::libc::SYS_futex,
            word.as_ptr(),
            nix::libc::FUTEX_WAKE,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labkit::child::fork_child;

    #[test]
    fn frames_cross_to_a_forked_reader_in_order_around_the_ring() {
        let ring = Ring::new().unwrap();
        let bells = Doorbells::new(1).unwrap();
        // 3000 frames of up to 100 bytes: the 64 KiB ring wraps many times.
        let frame = |i: usize| vec![(i % 251) as u8; i % 100];
        let child = fork_child(|| {
            for i in 0..3000 {
                let ready = || ring.readable();
                if !bells.get(0).wait(ready, || true) {
                    return 1;
                }
                match ring.try_recv() {
                    Some(Some(got)) if got == frame(i) => {}
                    _ => return 2,
                }
            }
            0
        })
        .unwrap();
        for i in 0..3000 {
            ring.send(&frame(i), bells.get(0), || !child.has_ended())
                .unwrap();
        }
        child.wait_success().unwrap();
    }

    #[test]
    fn a_closed_ring_ends_and_a_too_large_frame_is_refused() {
        let ring = Ring::new().unwrap();
        let bells = Doorbells::new(1).unwrap();
        assert!(
            ring.send(&vec![0; RING_BYTES], bells.get(0), || true)
                .is_err()
        );
        ring.send(b"last", bells.get(0), || true).unwrap();
        ring.close(bells.get(0));
        assert_eq!(ring.try_recv(), Some(Some(b"last".to_vec())));
        assert_eq!(ring.try_recv(), Some(None));
    }

    #[test]
    fn a_writer_waiting_for_space_gives_up_when_the_reader_is_gone() {
        let ring = Ring::new().unwrap();
        let bells = Doorbells::new(1).unwrap();
        let big = vec![1u8; RING_BYTES / 2];
        ring.send(&big, bells.get(0), || true).unwrap();
        let start = std::time::Instant::now();
        assert!(ring.send(&big, bells.get(0), || false).is_err());
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
