//! Lab 03 — communication: between threads, and between processes.
//!
//! Read this file top to bottom like the chapter. The seed articles say that
//! threads "share memory and communicate fast and easily" while processes need
//! "slow and difficult" inter-process communication. This lab measures the
//! round trip of a small message through every common mechanism, then the
//! throughput of large messages — moved, copied, shared, and serialized — and
//! puts CPython's queues beside them.

pub mod exercises;

use anyhow::{Context as _, Result, bail, ensure};
use labkit::affinity::{allowed_cpus, pin_to};
use labkit::child::fork_child;
use labkit::measured::per_round_ratio;
use labkit::memory::{Mapping, page_size};
use labkit::timing::{Interleaved, Variant};
use labkit::{Check, Claim, Collector, Context, Experiment, Lab, LabOption, Measured, Unit};
use nix::unistd::pipe;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How long any side waits for the other before it gives up: a partner that
/// died must produce an error, never a hang.
pub const PATIENCE: Duration = Duration::from_secs(10);

// ANCHOR: spin
/// Waits until `ready()` is true, spinning on the CPU (a few hundred
/// nanoseconds of reaction) and yielding it now and then, so that on a busy
/// machine the partner we wait for gets to run. Fails after [`PATIENCE`].
pub fn spin_until(ready: impl Fn() -> bool) -> Result<()> {
    let start = Instant::now();
    let mut spins = 0u32;
    while !ready() {
        spins += 1;
        if spins.is_multiple_of(1024) {
            if start.elapsed() > PATIENCE {
                bail!("the partner stopped answering for {PATIENCE:?}");
            }
            thread::yield_now();
        }
        std::hint::spin_loop();
    }
    Ok(())
}
// ANCHOR_END: spin

// ANCHOR: pin
/// Two CPUs this process may run on, for two spinning partners; `None`s on a
/// one-CPU machine, where spinning partners cannot both run anyway. Each
/// partner pins itself with `labkit::affinity::pin_to`: left to the
/// scheduler, two spinning partners sometimes share one core, and then each
/// spins away the time slice the other needs to answer (a round trip grows
/// from a fraction of a microsecond to many microseconds).
pub fn two_cpus() -> (Option<usize>, Option<usize>) {
    match allowed_cpus()[..] {
        [a, b, ..] => (Some(a), Some(b)),
        _ => (None, None),
    }
}
// ANCHOR_END: pin

// ANCHOR: std_channel
/// `count` round trips through two std channels: the main thread sends a
/// number, the echo thread sends it back plus one. Returns the last number.
pub fn std_channel_round_trips(count: u64) -> u64 {
    let (to_echo, echo_inbox) = mpsc::channel::<u64>();
    let (to_main, main_inbox) = mpsc::channel::<u64>();
    thread::scope(|scope| {
        scope.spawn(move || {
            for n in echo_inbox {
                if to_main.send(n + 1).is_err() {
                    break;
                }
            }
        });
        let mut value = 0;
        for _ in 0..count {
            to_echo.send(value).expect("the echo thread is alive");
            value = main_inbox.recv().expect("the echo thread answers");
        }
        // The scope waits for the echo thread, and the echo thread waits
        // for messages until every sender is gone: drop ours first, or both
        // wait forever.
        drop(to_echo);
        value
    })
}
// ANCHOR_END: std_channel

/// The same through crossbeam's channels (bounded, capacity 1).
pub fn crossbeam_round_trips(count: u64) -> u64 {
    bounce_through_crossbeam(0, count, |n| n + 1)
}

/// Sends `value` to an echo thread and back through two crossbeam channels,
/// `count` times; the echo thread sends back `echo(message)`. Returns the
/// value after the last trip.
pub fn bounce_through_crossbeam<T: Send>(value: T, count: u64, echo: impl Fn(T) -> T + Send) -> T {
    with_echo_thread(echo, |trip| (0..count).fold(value, |value, _| trip(value)))
}

/// Runs `main` beside an echo thread that answers each message with
/// `echo(message)`, over two bounded crossbeam channels; `main` gets `trip`,
/// which sends one message and returns the answer.
pub fn with_echo_thread<T: Send, R>(
    echo: impl Fn(T) -> T + Send,
    main: impl FnOnce(&dyn Fn(T) -> T) -> R,
) -> R {
    let (to_echo, echo_inbox) = crossbeam_channel::bounded::<T>(1);
    let (to_main, main_inbox) = crossbeam_channel::bounded::<T>(1);
    thread::scope(|scope| {
        scope.spawn(move || {
            for message in echo_inbox {
                if to_main.send(echo(message)).is_err() {
                    break;
                }
            }
        });
        let trip = |message: T| {
            to_echo.send(message).expect("the echo thread is alive");
            main_inbox.recv().expect("the echo thread answers")
        };
        let result = main(&trip);
        drop(to_echo); // ends the echo thread's loop (see std_channel_round_trips)
        result
    })
}

/// The same through one slot guarded by a `Mutex`, with a `Condvar` to wake
/// whoever's turn it is: what a channel is built from.
pub fn condvar_round_trips(count: u64) -> u64 {
    // (value, whose turn: true = the echo thread's)
    let slot = Mutex::new((0u64, false));
    let turn_changed = Condvar::new();
    let take_turn = |mine: bool| {
        let guard = slot.lock().expect("no thread panics holding the lock");
        let (mut guard, timeout) = turn_changed
            .wait_timeout_while(guard, PATIENCE, |(_, echo)| *echo != mine)
            .expect("no thread panics holding the lock");
        assert!(!timeout.timed_out(), "the partner stopped answering");
        guard.0 += u64::from(mine);
        guard.1 = !mine;
        turn_changed.notify_one();
    };
    thread::scope(|scope| {
        scope.spawn(|| (0..count).for_each(|_| take_turn(true)));
        (0..count).for_each(|_| take_turn(false));
    });
    slot.into_inner().expect("no thread panicked").0
}

/// The same through one atomic number, each side spinning until it is its
/// turn: odd values are the echo thread's, even ones the main thread's.
pub fn atomic_round_trips(count: u64) -> Result<u64> {
    atomic_round_trips_on(count, two_cpus())
}

/// [`atomic_round_trips`] with the two threads pinned to the given CPUs
/// (`None`: wherever the scheduler puts them).
pub fn atomic_round_trips_on(
    count: u64,
    (mine, theirs): (Option<usize>, Option<usize>),
) -> Result<u64> {
    let ball = AtomicU64::new(0);
    thread::scope(|scope| {
        let echo = scope.spawn(|| {
            let _pinned = pin_to(theirs);
            pong(&ball, count)
        });
        let _pinned = pin_to(mine);
        let main = ping(&ball, count);
        echo.join().expect("the echo thread cannot panic")?;
        main
    })
}

// ANCHOR: atomic_protocol
/// The main side of the atomic ping-pong: make the number odd (the echo's
/// turn), wait until it is even again.
fn ping(ball: &AtomicU64, count: u64) -> Result<u64> {
    for round in 0..count {
        ball.store(2 * round + 1, Ordering::Release);
        spin_until(|| ball.load(Ordering::Acquire) == 2 * round + 2)?;
    }
    Ok(ball.load(Ordering::Acquire) / 2)
}

/// The echo side: wait until the number is odd, make it even.
fn pong(ball: &AtomicU64, count: u64) -> Result<()> {
    for round in 0..count {
        spin_until(|| ball.load(Ordering::Acquire) == 2 * round + 1)?;
        ball.store(2 * round + 2, Ordering::Release);
    }
    Ok(())
}

// ANCHOR_END: atomic_protocol

// ANCHOR: pipe
/// The echo side of a byte-stream round trip: `count` times, read 8 bytes
/// and send back the number plus one.
///
/// Why not "until the stream ends"? A forked child inherits *every* file
/// descriptor of its parent — including the write end of its own input
/// pipe. While the child holds it, its input never ends, and an echo loop
/// waiting for end-of-file waits forever (this lab's first version did).
fn echo_numbers(mut input: impl Read, mut output: impl Write, count: u64) -> i32 {
    let mut bytes = [0u8; 8];
    for _ in 0..count {
        if input.read_exact(&mut bytes).is_err() {
            return 1;
        }
        let reply = (u64::from_le_bytes(bytes) + 1).to_le_bytes();
        if output.write_all(&reply).is_err() {
            return 1;
        }
    }
    0
}

/// The main side: `count` times, send a number and read the reply.
fn send_numbers(mut output: impl Write, mut input: impl Read, count: u64) -> Result<u64> {
    let mut value = 0u64;
    let mut bytes = [0u8; 8];
    for _ in 0..count {
        output.write_all(&value.to_le_bytes())?;
        input
            .read_exact(&mut bytes)
            .context("the echo process stopped answering")?;
        value = u64::from_le_bytes(bytes);
    }
    Ok(value)
}

/// `count` round trips between this process and a forked child, through
/// two pipes (a pipe carries bytes one way only).
pub fn pipe_round_trips(count: u64) -> Result<u64> {
    let (from_main, to_child) = pipe().context("pipe failed")?;
    let (from_child, to_main) = pipe().context("pipe failed")?;
    let child =
        fork_child(move || echo_numbers(File::from(from_main), File::from(to_main), count))?;
    let value = send_numbers(File::from(to_child), File::from(from_child), count)?;
    child.wait_success()?;
    Ok(value)
}
// ANCHOR_END: pipe

/// The same through a Unix domain socket pair (one socket carries both ways).
pub fn socket_round_trips(count: u64) -> Result<u64> {
    let (main_end, child_end) = UnixStream::pair().context("socketpair failed")?;
    let child = fork_child(move || match child_end.try_clone() {
        Ok(reader) => echo_numbers(reader, child_end, count),
        Err(_) => 1,
    })?;
    let reader = main_end.try_clone()?;
    let value = send_numbers(&main_end, reader, count)?;
    child.wait_success()?;
    Ok(value)
}

// ANCHOR: shared_memory
/// The atomic ping-pong between processes: the number lives in a shared
/// anonymous mapping that the forked child inherits — the same memory, not a
/// copy, so the child's stores are the parent's loads.
pub fn shared_memory_round_trips(count: u64) -> Result<u64> {
    let memory = Mapping::shared(page_size())?;
    let ball = atomic_in(&memory);
    let (mine, theirs) = two_cpus();
    let child = fork_child(|| {
        let _pinned = pin_to(theirs);
        i32::from(pong(ball, count).is_err())
    })?;
    let _pinned = pin_to(mine);
    let value = ping(ball, count)?;
    child.wait_success()?;
    Ok(value)
}

/// An `AtomicU64` at the start of a mapping (page-aligned, so aligned).
pub fn atomic_in(memory: &Mapping) -> &AtomicU64 {
    assert!(memory.len() >= 8, "a mapping too small for an AtomicU64");
    // SAFETY: the mapping is page-aligned, at least 8 bytes, zero-filled (a
    // valid 0), lives as long as the reference, and is only ever accessed
    // through atomics while shared.
    unsafe { &*memory.as_ptr().cast::<AtomicU64>() }
}
// ANCHOR_END: shared_memory

/// The round-trip mechanisms, in the order the table shows them: name, key,
/// and how many times `--round-trips` one sample makes. The pinned spinning
/// ones are so fast that a sample needs many more round trips for starting
/// the partner (a thread, or a fork) to be a small part of it.
pub const MECHANISMS: [(&str, &str, u64); 8] = [
    ("atomic spin (threads)", "atomic", 50),
    ("atomic spin, not pinned (threads)", "atomic_unpinned", 1),
    ("crossbeam channel (threads)", "crossbeam", 1),
    ("std channel (threads)", "std_channel", 1),
    ("Mutex + Condvar (threads)", "condvar", 1),
    ("shared memory spin (processes)", "shared_memory", 50),
    ("pipe (processes)", "pipe", 1),
    ("Unix socket (processes)", "socket", 1),
];

/// Runs `count` round trips through the mechanism called `key`, checking
/// that every message came back.
pub fn round_trips(key: &str, count: u64) -> Result<()> {
    let last = match key {
        "atomic" => atomic_round_trips(count)?,
        "atomic_unpinned" => atomic_round_trips_on(count, (None, None))?,
        "crossbeam" => crossbeam_round_trips(count),
        "std_channel" => std_channel_round_trips(count),
        "condvar" => condvar_round_trips(count),
        "shared_memory" => shared_memory_round_trips(count)?,
        "pipe" => pipe_round_trips(count)?,
        "socket" => socket_round_trips(count)?,
        other => bail!("no mechanism {other:?}"),
    };
    ensure!(last == count, "{key}: {count} round trips returned {last}");
    Ok(())
}

/// Round-trip latency of a small message through each mechanism, interleaved.
/// A sample is many round trips, including starting the partner (a thread or
/// a fork); the counts make that start a small part of each sample.
pub fn latency(ctx: &Context) -> Result<Measured> {
    let count = ctx.option("round-trips");
    let count = ctx.pick(count, count.min(1500));
    // Quick runs take fewer round trips, not fewer rounds: a median of few
    // rounds swings with every wake-up the hypervisor delays.
    let rounds = 9;
    let count_of = |key: &str| {
        let (_, _, times) = MECHANISMS.iter().find(|m| m.1 == key).expect("a mechanism");
        count * times
    };
    let mut variants: Vec<Variant> = MECHANISMS
        .iter()
        .map(|&(name, key, _)| {
            let count = count_of(key);
            Variant::new(name, move || round_trips(key, count))
        })
        .collect();
    let times = ctx.interleave(rounds, 1, &mut variants)?;
    let mut m = Measured::new();
    m.param("round_trips", count).param("rounds", rounds);
    for (name, key, _) in MECHANISMS {
        let each = times.summary(name).scaled(1.0 / count_of(key) as f64);
        m.summary(&format!("{key}_rtt"), name, Unit::Seconds, each)
            .bar();
    }
    // Per round, one round trip's time ÷ the other's.
    let ratio = |(slow, slow_key): (&str, &str), (fast, fast_key): (&str, &str)| {
        let scale = count_of(fast_key) as f64 / count_of(slow_key) as f64;
        times.speedup(slow, fast).scaled(scale)
    };
    let (pipe, std_channel) = (
        ("pipe (processes)", "pipe"),
        ("std channel (threads)", "std_channel"),
    );
    let (atomic, shared) = (
        ("atomic spin (threads)", "atomic"),
        ("shared memory spin (processes)", "shared_memory"),
    );
    let crossbeam = ("crossbeam channel (threads)", "crossbeam");
    let condvar = ("Mutex + Condvar (threads)", "condvar");
    m.summary(
        "pipe_vs_condvar",
        "pipe (processes) ÷ Mutex + Condvar (threads)",
        Unit::Times,
        ratio(pipe, condvar),
    );
    m.summary(
        "pipe_vs_crossbeam",
        "pipe (processes) ÷ crossbeam channel (threads)",
        Unit::Times,
        ratio(pipe, crossbeam),
    );
    m.summary(
        "pipe_vs_std_channel",
        "pipe (processes) ÷ std channel (threads)",
        Unit::Times,
        ratio(pipe, std_channel),
    )
    .summary(
        "std_channel_vs_atomic",
        "std channel ÷ atomic spin (both threads)",
        Unit::Times,
        ratio(std_channel, atomic),
    )
    .summary(
        "pipe_vs_shared_memory",
        "pipe ÷ shared memory spin (both processes)",
        Unit::Times,
        ratio(pipe, shared),
    )
    .summary(
        "shared_memory_vs_atomic",
        "shared memory spin (processes) ÷ atomic spin (threads)",
        Unit::Times,
        ratio(shared, atomic),
    );
    Ok(m)
}

// ANCHOR: checksum
/// What every receiver does with a message: reads all of it. A receiver that
/// looked at one byte would make any transport look fast; summing every
/// 8-byte word costs the same wherever the bytes lie, so the transports are
/// compared on how the bytes get there.
pub fn checksum(message: &[u8]) -> u64 {
    let words = message.chunks_exact(8);
    let tail = words.remainder().iter().map(|&b| u64::from(b));
    words
        .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
        .chain(tail)
        .fold(0, u64::wrapping_add)
}
// ANCHOR_END: checksum

// ANCHOR: move
/// Moves `payload` to an echo thread and back through channels, `count`
/// times, without reading it: only the `Vec`'s pointer, length and capacity
/// travel, whatever the number of bytes.
pub fn move_through_channel(payload: Vec<u8>, count: usize) -> Vec<u8> {
    bounce_through_crossbeam(payload, count as u64, |message| message)
}

/// The same, but the thread that receives it reads it (checksums it) before
/// sending it back: what a worker thread handed a buffer really does.
pub fn move_and_read(payload: Vec<u8>, count: usize, expected: u64) -> Result<Vec<u8>> {
    let wrong = AtomicU64::new(0);
    let back = bounce_through_crossbeam(payload, count as u64, |message| {
        if checksum(&message) != expected {
            wrong.fetch_add(1, Ordering::Relaxed);
        }
        message
    });
    ensure!(wrong.into_inner() == 0, "a moved message arrived changed");
    Ok(back)
}
// ANCHOR_END: move

/// Moves a small and a large `Vec` to an echo thread and back, alternately,
/// `count` times each, timing each size's trips apart, so that both sizes
/// see the same machine trip after trip (a partner that happens to spin or
/// to sleep changes a trip's cost far more than any size could). Returns
/// the seconds per trip of each, and gives both vectors back.
pub fn move_both_sizes(
    small: Vec<u8>,
    large: Vec<u8>,
    count: usize,
) -> (Vec<u8>, Vec<u8>, f64, f64) {
    with_echo_thread(
        |message| message,
        |trip| {
            let timed = |vec: Vec<u8>, seconds: &mut f64| {
                let start = Instant::now();
                let back = trip(vec);
                *seconds += start.elapsed().as_secs_f64();
                back
            };
            let (mut small, mut large) = (small, large);
            let (mut small_s, mut large_s) = (0.0, 0.0);
            for _ in 0..count {
                small = timed(small, &mut small_s);
                large = timed(large, &mut large_s);
            }
            (small, large, small_s / count as f64, large_s / count as f64)
        },
    )
}

/// Moving a `Vec` costs the same whatever its size: a 1 KiB one and the
/// largest message, moved alternately, round by round.
pub fn moving(ctx: &Context) -> Result<Measured> {
    let max = (ctx.option("max-size-mib") as usize) << 20;
    let rounds = ctx.pick(7, 5);
    let count = 1000;
    let (small_size, large_size) = (1024, ctx.pick(max, max.min(4 << 20)));
    let moved = std::cell::RefCell::new(Some((vec![1u8; small_size], vec![1u8; large_size])));
    let seconds = Collector::new();
    let mut variants = [Variant::new("move both sizes", || {
        let (small, large) = moved.borrow_mut().take().expect("they came back last time");
        let (small, large, small_s, large_s) = move_both_sizes(small, large, count);
        seconds.record("small", small_s);
        seconds.record("large", large_s);
        *moved.borrow_mut() = Some((small, large));
        Ok(())
    })];
    ctx.interleave(rounds, 1, &mut variants)?;
    drop(variants);
    seconds.keep_last(rounds);
    let mut m = Measured::new();
    m.param("small_size", small_size)
        .param("large_size", large_size)
        .param("rounds", rounds);
    m.summary(
        "move_small",
        "one trip of a 1 KiB Vec",
        Unit::Seconds,
        seconds.summary("small"),
    )
    .bar()
    .summary(
        "move_large",
        "one trip of the largest Vec",
        Unit::Seconds,
        seconds.summary("large"),
    )
    .bar()
    .summary(
        "move_large_vs_small",
        "a trip of the largest ÷ of the 1 KiB Vec",
        Unit::Times,
        per_round_ratio(&seconds.values("large"), &seconds.values("small")),
    );
    Ok(m)
}

/// Copies `payload` into `copy`, another buffer of this process, and reads
/// the copy, `count` times: the in-process yardstick.
pub fn copy_in_process(payload: &[u8], copy: &mut [u8], count: usize, expected: u64) -> Result<()> {
    for _ in 0..count {
        copy.copy_from_slice(std::hint::black_box(payload));
        ensure!(checksum(copy) == expected, "the copy differs");
    }
    Ok(())
}

// ANCHOR: stream
/// Sends `payload` to a forked child through a byte stream `count` times;
/// the child reads every message into its own buffer, checksums it, and
/// answers with one byte. Every byte is copied twice — into the kernel and
/// out of it — and then read.
fn copy_through_stream(
    payload: &[u8],
    count: usize,
    (mut to_child, mut from_child): (impl Write, impl Read),
    (mut child_in, mut child_out): (impl Read, impl Write),
) -> Result<()> {
    let (size, expected) = (payload.len(), checksum(payload));
    let child = fork_child(move || {
        let mut message = vec![0u8; size];
        for _ in 0..count {
            if child_in.read_exact(&mut message).is_err() {
                return 1;
            }
            let answer = if checksum(&message) == expected { 1 } else { 0 };
            if child_out.write_all(&[answer]).is_err() {
                return 1;
            }
        }
        0
    })?;
    for _ in 0..count {
        to_child.write_all(payload)?;
        let mut answer = [0u8; 1];
        from_child
            .read_exact(&mut answer)
            .context("the reading child stopped answering")?;
        ensure!(answer[0] == 1, "a message arrived changed");
    }
    child.wait_success()
}
// ANCHOR_END: stream

/// [`copy_through_stream`] over two pipes.
pub fn copy_through_pipe(payload: &[u8], count: usize) -> Result<()> {
    let (child_in, to_child) = pipe().context("pipe failed")?;
    let (from_child, child_out) = pipe().context("pipe failed")?;
    copy_through_stream(
        payload,
        count,
        (File::from(to_child), File::from(from_child)),
        (File::from(child_in), File::from(child_out)),
    )
}

/// [`copy_through_stream`] over a Unix domain socket pair.
pub fn copy_through_socket(payload: &[u8], count: usize) -> Result<()> {
    let (main_end, child_end) = UnixStream::pair().context("socketpair failed")?;
    let (main_reader, child_reader) = (main_end.try_clone()?, child_end.try_clone()?);
    copy_through_stream(
        payload,
        count,
        (main_end, main_reader),
        (child_reader, child_end),
    )
}

// ANCHOR: shared
/// Writes `payload` straight into `data`, memory shared with a forked child,
/// `count` times, and hands it over with an atomic sequence number; the child
/// checksums the message where it lies and answers through a second atomic.
/// One copy per message, then the read, and no kernel in the way.
pub fn write_into_shared_memory(payload: &[u8], data: &mut Mapping, count: usize) -> Result<()> {
    ensure!(
        data.len() >= payload.len(),
        "the shared buffer is too small"
    );
    let control = Mapping::shared(page_size())?;
    let (sent, read) = (atomic_in(&control), atomic_in_at(&control, 8));
    let (size, expected) = (payload.len(), checksum(payload));
    let shared = data.as_ptr() as usize;
    let child = fork_child(move || {
        for message in 1..=count as u64 {
            if spin_until(|| sent.load(Ordering::Acquire) == message).is_err() {
                return 1;
            }
            // SAFETY: inside the mapping; the parent does not write while
            // `read` < `sent`, and the Acquire load above orders these reads
            // after the parent's copy.
            let bytes = unsafe { std::slice::from_raw_parts(shared as *const u8, size) };
            if checksum(bytes) != expected {
                return 2; // the message did not arrive whole
            }
            read.store(message, Ordering::Release);
        }
        0
    })?;
    for message in 1..=count as u64 {
        data.as_mut_slice()[..size].copy_from_slice(payload);
        sent.store(message, Ordering::Release);
        spin_until(|| read.load(Ordering::Acquire) == message)?;
    }
    child.wait_success()
}
// ANCHOR_END: shared

/// The second `AtomicU64` of a mapping, `offset` bytes in.
fn atomic_in_at(memory: &Mapping, offset: usize) -> &AtomicU64 {
    assert!(offset.is_multiple_of(8) && memory.len() >= offset + 8);
    // SAFETY: as in `atomic_in`, at an aligned offset inside the mapping.
    unsafe { &*memory.as_ptr().add(offset).cast::<AtomicU64>() }
}

// ANCHOR: serialize
/// A message as a program would send it: numbers, not raw bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Which message this is.
    pub id: u64,
    /// Its payload: `size / 4` numbers.
    pub values: Vec<u32>,
}

impl Message {
    /// A message of about `size` bytes in memory, with varied numbers (so
    /// that neither format can shortcut zeros).
    pub fn of_size(size: usize) -> Message {
        let values = (0..size / 4)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761))
            .collect();
        Message { id: 7, values }
    }
}

/// Encodes and decodes `message` as JSON, `count` times: what a process must
/// do to send structured data that a thread would simply move.
pub fn json_round_trip(message: &Message, count: usize) -> Result<()> {
    for _ in 0..count {
        let bytes = serde_json::to_vec(message)?;
        let back: Message = serde_json::from_slice(&bytes)?;
        ensure!(back.values.len() == message.values.len(), "JSON lost data");
    }
    Ok(())
}

/// The same with postcard, a compact binary serde format.
pub fn postcard_round_trip(message: &Message, count: usize) -> Result<()> {
    for _ in 0..count {
        let bytes = postcard::to_allocvec(message)?;
        let back: Message = postcard::from_bytes(&bytes)?;
        ensure!(
            back.values.len() == message.values.len(),
            "postcard lost data"
        );
    }
    Ok(())
}
// ANCHOR_END: serialize

/// The message sizes [`throughput`] uses: 1 KiB, 16 KiB, … (×16) up to `max`.
pub fn message_sizes(max: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = std::iter::successors(Some(1024usize), |s| Some(s * 16))
        .take_while(|&s| s < max)
        .collect();
    sizes.push(max);
    sizes
}

/// How many messages of `size` one sample sends: about `budget` bytes in all,
/// at most 1000, and at least 8 so that setting up (a fork, the receiver's
/// first page faults) is a small part of the sample.
fn messages(size: usize, budget: usize) -> usize {
    (budget / size).clamp(8, 1000)
}

/// A payload of `size` bytes, made before timing. Forked children do not
/// inherit it (`MADV_DONTFORK`): they never read it, and a smaller parent
/// forks faster.
fn payload(size: usize) -> Result<Mapping> {
    let mut payload = Mapping::private(size)?;
    payload.as_mut_slice().fill(1);
    payload.inherit_on_fork(false)?;
    Ok(payload)
}

/// What one timed sample of `method` does: send `count` messages of
/// `payload` (or encode `message`). What the method needs besides — a `Vec`
/// to move, a destination, shared memory — is made here, before timing.
fn sample<'a>(
    method: &str,
    count: usize,
    payload: &'a [u8],
    message: &'a Message,
) -> Result<Box<dyn FnMut() -> Result<()> + 'a>> {
    let expected = checksum(payload);
    Ok(match method {
        "channel" => {
            let mut moved = Some(payload.to_vec());
            Box::new(move || {
                let vec = moved.take().expect("it came back last time");
                moved = Some(move_and_read(vec, count, expected)?);
                Ok(())
            })
        }
        "copy" => {
            let mut copy = vec![1u8; payload.len()];
            Box::new(move || copy_in_process(payload, &mut copy, count, expected))
        }
        "shared" => {
            let mut shared = Mapping::shared(payload.len())?;
            shared.as_mut_slice().fill(0); // its pages exist before timing
            Box::new(move || write_into_shared_memory(payload, &mut shared, count))
        }
        "pipe" => Box::new(move || copy_through_pipe(payload, count)),
        "socket" => Box::new(move || copy_through_socket(payload, count)),
        "postcard" => Box::new(move || postcard_round_trip(message, count)),
        "json" => Box::new(move || json_round_trip(message, count)),
        other => bail!("no method {other:?}"),
    })
}

/// One variant of the throughput experiment.
struct Planned {
    name: String,
    method: &'static str,
    size: usize,
    count: usize,
}

/// Every (size, method) pair, with how many messages one sample sends, and
/// moving a `Vec` without reading it at the smallest and largest size.
fn plan(sizes: &[usize], budget: usize) -> Vec<Planned> {
    let mut plan = Vec::new();
    for &size in sizes {
        for (name, method, serializes) in METHODS {
            if serializes && size > SERIALIZE_MAX {
                continue;
            }
            let count = if serializes {
                // Serializing is slow: a sixteenth of the bytes, no minimum.
                (budget / 16 / size).clamp(1, 1000)
            } else {
                messages(size, budget)
            };
            plan.push(Planned {
                name: format!("{name}, {size} B"),
                method,
                size,
                count,
            });
        }
    }
    plan
}

/// The throughput methods: name, metric key, and whether it serializes
/// (serializing is slow, so it gets a smaller byte budget and stops at 4 MiB).
/// Every receiver reads the whole message ([`checksum`]).
const METHODS: [(&str, &str, bool); 7] = [
    ("move, then read (threads)", "channel", false),
    ("copy, then read (one process)", "copy", false),
    ("shared memory (processes)", "shared", false),
    ("pipe (processes)", "pipe", false),
    ("Unix socket (processes)", "socket", false),
    ("postcard encode + decode", "postcard", true),
    ("JSON encode + decode", "json", true),
];

/// Largest message the serializing methods encode.
const SERIALIZE_MAX: usize = 4 << 20;

/// Throughput of large messages, by size and method, interleaved.
pub fn throughput(ctx: &Context) -> Result<Measured> {
    let max = (ctx.option("max-size-mib") as usize) << 20;
    let max = ctx.pick(max, max.min(4 << 20));
    let budget = ctx.pick(64 << 20, 16 << 20);
    // As many rounds in quick runs as in full ones (see `latency`).
    let rounds = 5;
    let sizes = message_sizes(max);
    let payloads: Vec<Mapping> = sizes.iter().map(|&s| payload(s)).collect::<Result<_>>()?;
    let structured: Vec<Message> = sizes
        .iter()
        .map(|&s| Message::of_size(s.min(SERIALIZE_MAX)))
        .collect();
    let plan = plan(&sizes, budget);
    let mut variants = Vec::new();
    for p in &plan {
        let at = sizes
            .iter()
            .position(|&s| s == p.size)
            .expect("a planned size");
        let work = sample(p.method, p.count, payloads[at].as_slice(), &structured[at])?;
        variants.push(Variant::new(&p.name, work));
    }
    let times = ctx.interleave(rounds, 1, &mut variants)?;
    drop(variants);
    let mut m = Measured::new();
    m.param("max_size", max).param("rounds", rounds);
    record_rates(&mut m, &times, &plan);
    let at = |method: &str, size: usize| {
        let p = plan
            .iter()
            .find(|p| p.method == method && p.size == size)
            .expect("a planned variant");
        (p.name.as_str(), p.count)
    };
    let large = max;
    let serialized = max.min(SERIALIZE_MAX);
    for (key, label, slow, fast) in [
        (
            "shared_vs_pipe",
            "shared memory ÷ pipe throughput, largest size",
            at("pipe", large),
            at("shared", large),
        ),
        (
            "shared_vs_socket",
            "shared memory ÷ socket throughput, largest size",
            at("socket", large),
            at("shared", large),
        ),
        (
            "threads_vs_shared",
            "move + read (threads) ÷ shared memory throughput, largest size",
            at("shared", large),
            at("channel", large),
        ),
        (
            "pipe_vs_json",
            "pipe ÷ JSON throughput, 4 MiB or the largest size",
            at("json", serialized),
            at("pipe", serialized),
        ),
    ] {
        m.summary(
            key,
            label,
            Unit::Times,
            per_message_ratio(&times, slow, fast),
        );
    }
    Ok(m)
}

/// Each method's bytes per second at each size, as points of its line.
fn record_rates(m: &mut Measured, times: &Interleaved, plan: &[Planned]) {
    for p in plan {
        let rate = bytes_per_second(times, &p.name, p.size, p.count);
        let series = METHODS
            .iter()
            .find(|m| m.1 == p.method)
            .expect("a method")
            .0;
        m.summary(
            &format!("{}_{}", p.method, p.size),
            &p.name,
            Unit::BytesPerSecond,
            rate,
        )
        .at(series, "message size", Unit::Bytes, p.size as f64);
    }
}

/// Bytes per second of one variant, round by round.
fn bytes_per_second(
    times: &Interleaved,
    name: &str,
    size: usize,
    count: usize,
) -> labkit::stats::Summary {
    let rates: Vec<f64> = times
        .seconds(name)
        .iter()
        .map(|s| (size * count) as f64 / s)
        .collect();
    labkit::stats::Summary::of(&rates).expect("every round produced a time")
}

/// Per round, the time per message of `slow` ÷ that of `fast`.
fn per_message_ratio(
    times: &Interleaved,
    (slow, slow_count): (&str, usize),
    (fast, fast_count): (&str, usize),
) -> labkit::stats::Summary {
    let ratios: Vec<f64> = times
        .seconds(slow)
        .iter()
        .zip(times.seconds(fast))
        .map(|(s, f)| (s / slow_count as f64) / (f / fast_count as f64))
        .collect();
    labkit::stats::Summary::of(&ratios).expect("every round produced a time")
}

/// CPython's round trips: `queue.Queue` between threads, and
/// `multiprocessing.Queue` and `Pipe` between processes (fork start method).
/// One run of `round_trip.py` per round.
pub fn python_round_trips(ctx: &Context) -> Result<Measured> {
    let count = ctx.pick(2000, 500);
    let args = vec!["--json".to_string(), format!("--count={count}")];
    let Some(cpython) = ctx.python_rounds("round_trip.py", args, &["queue", "mp_queue", "mp_pipe"])
    else {
        return Ok(Measured::skipped("python3 not found"));
    };
    // As many rounds in quick runs as in full ones (see `latency`).
    let rounds = 7;
    let times = ctx.interleave_python(&cpython, rounds)?;
    let mut m = Measured::new();
    m.param("python", cpython.version())
        .param("round_trips", count)
        .param("rounds", rounds);
    for (name, label) in [
        ("queue", "queue.Queue (threads)"),
        ("mp_pipe", "multiprocessing.Pipe (processes)"),
        ("mp_queue", "multiprocessing.Queue (processes)"),
    ] {
        m.seconds(&times, name, &format!("{name}_rtt"), label).bar();
    }
    m.speedup(
        &times,
        "mp_queue",
        "queue",
        "mp_queue_vs_queue",
        "multiprocessing.Queue ÷ queue.Queue",
    )
    .speedup(
        &times,
        "mp_pipe",
        "queue",
        "mp_pipe_vs_queue",
        "multiprocessing.Pipe ÷ queue.Queue",
    );
    Ok(m)
}

/// The lab: its options, its experiments and the claims each one checks.
pub fn lab() -> Lab {
    Lab {
        id: "lab-03",
        title: "Communication: between threads, between processes",
        source_dir: env!("CARGO_MANIFEST_DIR"),
        options: vec![
            LabOption { name: "round-trips", help: "Round trips per latency sample", default: 5000, min: 10, max: 1_000_000 },
            LabOption { name: "max-size-mib", help: "Largest message in the throughput experiment, in MiB", default: 64, min: 1, max: 1024 },
        ],
        experiments: vec![
            Experiment {
                name: "latency",
                title: "Round trip of a small message",
                run: latency,
                claims: vec![
                    // Not std's channel: it spins briefly before it sleeps, and
                    // in some runs the partner answers within that window.
                    Claim::new("threads-sleep-too", "pipe_vs_condvar", Check::Between(1.0 / 3.0, 3.0),
                        "A round trip through a Mutex + Condvar between threads costs within a factor of 3 of one through a pipe between processes (pipe ÷ Mutex + Condvar between {threshold}): in both, the waiting side sleeps in the kernel and must be woken."),
                    // The spinning claims hold only while both sides really
                    // run at once (each is pinned to a core of its own).
                    Claim::new("sleeping-costs", "std_channel_vs_atomic", Check::AtLeast(20.0),
                        "With two cores free, a channel round trip between threads costs at least {threshold} a round trip of threads spinning on an atomic: the cost is the sleeping and waking.")
                        .needs_parallel(),
                    Claim::new("shared-vs-pipe-latency", "pipe_vs_shared_memory", Check::AtLeast(20.0),
                        "With two cores free, processes spinning on an atomic in shared memory make a round trip at least {threshold} faster than through a pipe.")
                        .needs_parallel(),
                    Claim::new("shared-near-threads", "shared_memory_vs_atomic", Check::Between(0.8, 1.25),
                        "With two cores free, processes spinning on shared memory make a round trip as fast as threads spinning on an atomic (processes ÷ threads between {threshold}): no kernel is involved in either.")
                        .needs_parallel(),
                ],
            },
            Experiment {
                name: "move",
                title: "Moving a Vec to another thread, small and large",
                run: moving,
                claims: vec![
                    Claim::demonstration("move-is-o1", "move_large_vs_small", Check::Between(0.5, 2.0),
                        "Moving the largest Vec to another thread and back (without reading it) costs about as much as moving a 1 KiB one (ratio between {threshold}): only a pointer, a length and a capacity move."),
                ],
            },
            Experiment {
                name: "throughput",
                title: "Throughput of large messages, every receiver reading every byte",
                run: throughput,
                claims: vec![
                    // The shared-memory receiver spins while it waits for a message:
                    // fast only while each side has a core of its own.
                    Claim::new("shared-vs-pipe", "shared_vs_pipe", Check::AtLeast(3.0),
                        "With two cores free, for the largest messages, read in full by the receiver, shared memory between processes carries at least {threshold} the throughput of a pipe (which copies every byte twice)…")
                        .needs_parallel(),
                    Claim::new("shared-vs-socket", "shared_vs_socket", Check::AtLeast(1.3),
                        "… and at least {threshold} the throughput of a Unix socket.")
                        .needs_parallel(),
                    Claim::new("serializing-costs", "pipe_vs_json", Check::AtLeast(3.0),
                        "Encoding and decoding JSON is at least {threshold} slower than pushing the same bytes through a pipe: structured data costs most in the serializing."),
                ],
            },
            Experiment {
                name: "python",
                title: "CPython: queues between threads and processes",
                run: python_round_trips,
                claims: vec![
                    Claim::new("py-queues", "mp_queue_vs_queue", Check::AtLeast(1.5),
                        "In CPython, a multiprocessing.Queue round trip between processes costs at least {threshold} a queue.Queue round trip between threads.")
                        .needs_python(),
                ],
            },
        ],
    }
}
