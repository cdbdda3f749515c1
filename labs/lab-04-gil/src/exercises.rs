//! Lab 04's exercises. Each has a visible test in `tests/exercises.rs`;
//! `cargo test -p lab-04 --test exercises` checks your work.
//!
//! 1. [`take_baton`]: the waiting side of the GIL's handshake — after a
//!    switch interval, ask the holder to let go.
//! 2. [`sleep_without_the_gil`]: a blocking call that lets other threads
//!    run meanwhile.
//! 3. [`COUNTER_PROGRAM`]: fix a racy `counter += 1` in a Python program
//!    that runs free-threaded.

use crate::baton::Baton;
use crate::interp::gil::Gil;
use crate::interp::timeline::State;
use std::time::Duration;

// ANCHOR: take_baton
/// Exercise 1 — the drop request. Takes `baton` for thread `me`, however
/// long it takes. While another thread holds it, try again and again
/// (yielding the CPU in between), and each time a whole `interval` has
/// passed without getting it, ask the holder to pass it on
/// ([`Baton::request_drop`]) — once per interval, not on every try.
pub fn take_baton(baton: &Baton, me: usize, interval: Duration) {
    // ANCHOR_END: take_baton
    // solution:begin
    let mut since = std::time::Instant::now();
    while !baton.try_take(me) {
        if since.elapsed() >= interval {
            baton.request_drop();
            since = std::time::Instant::now();
        }
        std::thread::yield_now();
    }
    // solution:end
    // starter: let _ = (baton, me, interval);
    // starter: todo!("loop: try_take; after each whole interval without the baton, request_drop; yield in between")
}

// ANCHOR: sleep_without_the_gil
/// Exercise 2 — a blocking call. Thread `me` holds `gil` and must sleep for
/// `duration`. Let the other threads run meanwhile, as CPython's
/// `time.sleep` does: drop the GIL (saying the thread is now
/// [`State::Blocked`]), sleep, and take it back before returning.
pub fn sleep_without_the_gil(gil: &Gil, me: usize, duration: Duration) {
    // ANCHOR_END: sleep_without_the_gil
    // solution:begin
    gil.release(me, State::Blocked);
    std::thread::sleep(duration);
    gil.take(me);
    // solution:end
    // starter: let _ = (gil, me, State::Blocked);
    // starter: todo!("release the GIL, sleep for {duration:?}, take it back")
}

// ANCHOR: counter_program
/// Exercise 3 — a data race in Python. `programs/racy_counter.py` loses
/// updates when it runs free-threaded (`lab-04 run
/// labs/lab-04-gil/programs/racy_counter.py --gil off`). Write a version
/// that still adds from two threads but never loses an update. It is run
/// with `n` as its first argument and must print
/// `counter: C expected: E lost: L`, as the original does.
// ANCHOR_END: counter_program
// solution:begin
pub const COUNTER_PROGRAM: &str = r#"
import sys
import threading

counter = 0
lock = threading.Lock()


def work(n):
    global counter
    for _ in range(n):
        with lock:
            counter += 1


n = int(sys.argv[1])
threads = [threading.Thread(target=work, args=(n,)), threading.Thread(target=work, args=(n,))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(f"counter: {counter} expected: {2 * n} lost: {2 * n - counter}")
"#;
// solution:end
// starter: pub const COUNTER_PROGRAM: &str = crate::RACY_COUNTER_PROGRAM;
