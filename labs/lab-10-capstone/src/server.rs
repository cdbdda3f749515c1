//! The service the job waits for: a server on the loopback interface that
//! answers each request for an item after a delay, with a thread per
//! connection (lab 05's `SlowServer`, grown up: it sends real bytes back).
//! It counts the requests it holds at once, so that a test can see whether
//! a client's requests really overlapped, and the items it sent. Dropping
//! it stops it and joins every thread it started.

use anyhow::{Context as _, Result, ensure};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Bytes in every item.
pub const ITEM_BYTES: usize = 1024;

/// The longest delay a server takes: a job of many items must end in seconds.
pub const MAX_DELAY: Duration = Duration::from_secs(1);

/// How long either side waits for the other before giving up: every wait is bounded.
const SILENCE: Duration = Duration::from_secs(5);

/// Item `index`: the same bytes on every call, in every process.
pub fn item_bytes(index: u32) -> Vec<u8> {
    // xorshift64, seeded by the index (never zero).
    let mut state =
        (0x9E37_79B9_7F4A_7C15 ^ u64::from(index).wrapping_mul(0xBF58_476D_1CE4_E5B9)) | 1;
    (0..ITEM_BYTES)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

/// What the server counts while it runs.
#[derive(Debug, Default)]
struct Counts {
    /// Requests being held right now.
    held: AtomicUsize,
    /// The most requests held at once, as each request saw it when its
    /// delay ended.
    most: AtomicUsize,
    /// Items sent.
    served: AtomicUsize,
}

/// A server of items on a free port of the loopback interface.
pub struct ItemServer {
    address: SocketAddr,
    delay: Duration,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    acceptor: Option<JoinHandle<()>>,
}

impl ItemServer {
    /// Starts a server that holds every request for `delay` (at most
    /// [`MAX_DELAY`]) before it sends the item.
    pub fn start(delay: Duration) -> Result<ItemServer> {
        ensure!(
            delay <= MAX_DELAY,
            "a delay of {delay:?} is beyond the server's limit of {MAX_DELAY:?}"
        );
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on loopback")?;
        let address = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let (stopping, counting) = (stop.clone(), counts.clone());
        let acceptor = thread::Builder::new()
            .name("item-server".into())
            .spawn(move || serve(listener, delay, &stopping, &counting))
            .context("cannot start the server's thread")?;
        Ok(ItemServer {
            address,
            delay,
            stop,
            counts,
            acceptor: Some(acceptor),
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// How long it holds every request.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The most requests it held at once since it started (or since
    /// [`ItemServer::reset_counts`]), counted when an answered request
    /// arrived: 1 for a client that waits for each item before asking for
    /// the next.
    pub fn most_at_once(&self) -> usize {
        self.counts.most.load(Ordering::SeqCst)
    }

    /// Items sent since it started (or since [`ItemServer::reset_counts`]).
    pub fn served(&self) -> usize {
        self.counts.served.load(Ordering::SeqCst)
    }

    /// Starts counting afresh.
    pub fn reset_counts(&self) {
        self.counts.most.store(0, Ordering::SeqCst);
        self.counts.served.store(0, Ordering::SeqCst);
    }
}

// ANCHOR: serve
/// Accepts connections until stopped, a thread for each; the scope waits
/// for every answer before the server's thread ends.
fn serve(listener: TcpListener, delay: Duration, stop: &AtomicBool, counts: &Counts) {
    thread::scope(|scope| {
        for connection in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            if let Ok(connection) = connection {
                scope.spawn(move || answer(connection, delay, counts));
            }
        }
    });
}

/// Reads an item's number, holds the request for `delay`, sends the item.
fn answer(mut connection: TcpStream, delay: Duration, counts: &Counts) {
    let _ = connection.set_read_timeout(Some(SILENCE));
    let _ = connection.set_write_timeout(Some(SILENCE));
    let mut index = [0u8; 4];
    if connection.read_exact(&mut index).is_err() {
        return; // a silent client (or the wake-up call of `drop`)
    }
    let held = counts.held.fetch_add(1, Ordering::SeqCst) + 1;
    thread::sleep(delay);
    counts.held.fetch_sub(1, Ordering::SeqCst);
    // Counted before the bytes go out: a client that has its item always
    // finds it counted (counted after the write, it could look too early).
    counts.most.fetch_max(held, Ordering::SeqCst);
    counts.served.fetch_add(1, Ordering::SeqCst);
    if connection
        .write_all(&item_bytes(u32::from_le_bytes(index)))
        .is_err()
    {
        counts.served.fetch_sub(1, Ordering::SeqCst); // it hung up: not served
    }
}
// ANCHOR_END: serve

// ANCHOR: fetch
/// Asks `server` for item `index` and waits for it: a connection, four
/// bytes out, [`ITEM_BYTES`] back after the server's delay.
pub fn fetch(server: SocketAddr, index: u32) -> Result<Vec<u8>> {
    let mut connection =
        TcpStream::connect_timeout(&server, SILENCE).context("cannot reach the item server")?;
    connection.set_nodelay(true)?;
    connection.set_read_timeout(Some(SILENCE + MAX_DELAY))?;
    connection.write_all(&index.to_le_bytes())?;
    let mut item = vec![0u8; ITEM_BYTES];
    connection
        .read_exact(&mut item)
        .context("the item server did not send the whole item")?;
    Ok(item)
}
// ANCHOR_END: fetch

impl Drop for ItemServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor, blocked in `accept`, so that it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}
