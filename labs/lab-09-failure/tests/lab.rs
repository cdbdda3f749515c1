//! Tests of lab 09's demos: each crash ends what it should and nothing
//! more, each way of stopping stops, each shutdown keeps its deadline, and
//! every demo ends by itself.

use lab_09::cancel::{Mechanism, cancel_latency};
use lab_09::crash::Crash;
use lab_09::shared_lock::{AfterCrash, lock_after_crash};
use lab_09::shutdown::{Task, Timer, WorkerGroup, sleeping_timer};
use lab_09::signals::{Scratch, Stop, stop_worker};
use lab_09::watch::{Ending, Watched, watch};
use lab_09::*;
use nix::sys::signal::Signal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The tests run one at a time: a child forked while another test's thread
/// holds a lock (the panic hook's, standard error's) would find it held
/// forever.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static FORKING: Mutex<()> = Mutex::new(());
    FORKING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const LIMIT: Duration = Duration::from_secs(10);

fn finished(seen: &Watched) -> usize {
    (1..WORKERS)
        .filter(|i| seen.finished(&format!("worker {i}")))
        .count()
}

#[test]
fn a_panic_in_a_thread_ends_only_that_thread() {
    let _one = one_at_a_time();
    let seen = watch(LIMIT, |log| threads_one_crashes(Crash::Panic, log)).unwrap();
    assert_eq!(seen.ending, Ending::Exited(0), "{seen:?}");
    assert_eq!(finished(&seen), 2, "{seen:?}");
    assert!(
        seen.lines
            .iter()
            .any(|l| l.ends_with("main: worker 0 panicked"))
    );
    // (Its message is not on standard error here: the test harness
    // captures what panics print, also in threads a test starts.)
}

#[test]
fn an_abort_a_segfault_an_overflow_and_no_memory_end_every_thread() {
    let _one = one_at_a_time();
    for crash in [
        Crash::Abort,
        Crash::Segfault,
        Crash::StackOverflow,
        Crash::OutOfMemory,
    ] {
        let seen = watch(LIMIT, |log| threads_one_crashes(crash, log)).unwrap();
        assert!(seen.ending.is_signal(), "{crash:?}: {seen:?}");
        assert_eq!(finished(&seen), 0, "{crash:?}: {seen:?}");
        assert!(
            !seen.lines.iter().any(|l| l.starts_with("main:")),
            "{crash:?}: {seen:?}"
        );
        assert!(seen.seconds < 5.0, "{crash:?} took {}", seen.seconds);
    }
}

#[test]
fn each_crash_dies_of_the_expected_signal() {
    let _one = one_at_a_time();
    let ending = |crash| {
        watch(LIMIT, |log| threads_one_crashes(crash, log))
            .unwrap()
            .ending
    };
    assert_eq!(ending(Crash::Abort), Ending::Killed(Signal::SIGABRT));
    assert_eq!(ending(Crash::Segfault), Ending::Killed(Signal::SIGSEGV));
    assert_eq!(ending(Crash::OutOfMemory), Ending::Killed(Signal::SIGABRT));
    let seen = watch(LIMIT, |log| threads_one_crashes(Crash::OutOfMemory, log)).unwrap();
    assert!(seen.stderr.contains("memory allocation"), "{}", seen.stderr);
    let seen = watch(LIMIT, |log| threads_one_crashes(Crash::StackOverflow, log)).unwrap();
    assert!(
        seen.stderr.contains("overflowed its stack"),
        "{}",
        seen.stderr
    );
}

#[test]
fn a_crashed_child_dies_alone_and_its_parent_sees_how() {
    let _one = one_at_a_time();
    for crash in Crash::ALL {
        let seen = watch(LIMIT, |log| processes_one_crashes(crash, log)).unwrap();
        assert_eq!(seen.ending, Ending::Exited(0), "{crash:?}: {seen:?}");
        assert_eq!(finished(&seen), 2, "{crash:?}: {seen:?}");
        let expected = match crash {
            Crash::Panic => "main: worker 0 exited with code 101",
            Crash::Segfault => "main: worker 0 killed by SIGSEGV",
            Crash::StackOverflow => "main: worker 0 killed by",
            _ => "main: worker 0 killed by SIGABRT",
        };
        assert!(
            seen.lines.iter().any(|l| l.contains(expected)),
            "{crash:?}: {seen:?}"
        );
        assert!(
            seen.lines
                .iter()
                .any(|l| l.starts_with("worker 0: result = ") && l.len() > 19),
            "{crash:?}: the half message was not glued to another line: {seen:?}"
        );
    }
}

#[test]
fn a_shared_lock_stays_locked_unless_it_is_robust() {
    let _one = one_at_a_time();
    let limit = Duration::from_millis(100);
    assert_eq!(
        lock_after_crash(false, limit).unwrap(),
        AfterCrash::StillLocked
    );
    assert_eq!(
        lock_after_crash(true, limit).unwrap(),
        AfterCrash::OwnerDied
    );
}

#[test]
fn every_way_of_cancelling_stops_the_worker_soon() {
    let _one = one_at_a_time();
    for mechanism in [
        Mechanism::Flag,
        Mechanism::Channel,
        Mechanism::Deadline,
        Mechanism::NapThenFlag,
        Mechanism::WaitOnChannel,
    ] {
        let start = Instant::now();
        let latency = cancel_latency(
            mechanism,
            Duration::from_micros(100),
            Duration::from_millis(5),
        );
        assert!(
            latency < Duration::from_secs(1),
            "{mechanism:?}: {latency:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(2), "{mechanism:?}");
    }
}

#[test]
fn sigterm_cleans_up_and_sigkill_leaves_the_file() {
    let _one = one_at_a_time();
    let scratch = Scratch::new().unwrap();
    let slice = Duration::from_millis(1);
    let term = stop_worker(Stop::TermHandled, scratch.path(), slice).unwrap();
    assert_eq!(term.ending, Ending::Killed(Signal::SIGTERM));
    assert!(!term.file_left);
    assert_eq!(scratch.files(), 0);
    let default = stop_worker(Stop::TermDefault, scratch.path(), slice).unwrap();
    assert_eq!(default.ending, Ending::Killed(Signal::SIGTERM));
    assert!(default.file_left);
    let kill = stop_worker(Stop::Kill, scratch.path(), slice).unwrap();
    assert_eq!(kill.ending, Ending::Killed(Signal::SIGKILL));
    assert!(kill.file_left);
    assert_eq!(scratch.files(), 2);
    let dir = scratch.path().to_path_buf();
    drop(scratch);
    assert!(!dir.exists(), "the lab removes what the workers left");
}

#[test]
fn returning_from_main_ends_the_threads_mid_work() {
    let _one = one_at_a_time();
    let seen = watch(LIMIT, main_returns_early).unwrap();
    assert_eq!(seen.ending, Ending::Exited(0));
    assert!(seen.lines.iter().any(|l| l == "main: returns"));
    assert!(!seen.finished("thread 1") && !seen.finished("thread 2"));
}

#[test]
fn a_timer_fires_unless_cancelled_and_cancels_at_once() {
    let _one = one_at_a_time();
    let fired = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&fired);
    assert!(
        Timer::start(Duration::from_millis(5), move || flag
            .store(true, Ordering::SeqCst))
        .wait()
    );
    assert!(fired.load(Ordering::SeqCst));

    let start = Instant::now();
    let timer = Timer::start(Duration::from_secs(30), || panic!("cancelled, yet fired"));
    assert!(!timer.cancel());
    assert!(start.elapsed() < Duration::from_secs(2));

    // Dropping a timer cancels it too.
    let fired = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&fired);
    drop(Timer::start(Duration::from_millis(20), move || {
        flag.store(true, Ordering::SeqCst)
    }));
    std::thread::sleep(Duration::from_millis(60));
    assert!(!fired.load(Ordering::SeqCst));

    // The sleeping timer is cancelled too, but only ends after its delay.
    let cancelled = Arc::new(AtomicBool::new(true));
    let start = Instant::now();
    assert!(
        !sleeping_timer(Duration::from_millis(50), cancelled)
            .join()
            .unwrap()
    );
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[test]
fn a_group_shuts_down_within_its_deadline_keeping_the_late_workers_results() {
    let _one = one_at_a_time();
    let (queue, tasks) = crossbeam_channel::unbounded();
    for id in 0..10_000 {
        let stubborn = id == 20;
        let work = Duration::from_millis(if stubborn { 800 } else { 1 });
        queue.send(Task { id, work, stubborn }).unwrap();
    }
    drop(queue);
    let group = WorkerGroup::start(3, tasks);
    std::thread::sleep(Duration::from_millis(80));
    let start = Instant::now();
    let shutdown = group.shutdown(Duration::from_millis(150));
    assert!(
        start.elapsed() < Duration::from_millis(400),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(shutdown.late.len(), 1);
    let late = shutdown.late[0].0;
    assert!(
        shutdown
            .results
            .iter()
            .any(|(worker, _, _)| *worker == late)
    );
    for (_, task, value) in &shutdown.results {
        assert_eq!(*value, task * 3 + 1);
    }
    for (_, thread) in shutdown.late {
        thread.join().unwrap();
    }
}

#[test]
fn the_exercise_solutions_work() {
    let _one = one_at_a_time();
    use lab_09::exercises::*;
    let runs = supervise(
        |attempt| {
            if attempt == 0 {
                lab_09::crash::no_core_dumps();
                std::process::abort();
            }
            0
        },
        3,
        Duration::from_secs(10),
    )
    .unwrap();
    let endings: Vec<Ended> = runs.iter().map(|r| r.ended).collect();
    assert_eq!(endings, [Ended::Killed(Signal::SIGABRT), Ended::Exited(0)]);

    assert_eq!(
        sum_within(10, Duration::from_secs(5), |i| i),
        Outcome::Done(45)
    );
    let slow = sum_within(1_000_000, Duration::from_millis(20), |i| {
        std::thread::sleep(Duration::from_micros(10));
        i
    });
    assert!(
        matches!(slow, Outcome::Cancelled { steps } if steps > 0),
        "{slow:?}"
    );

    // Two workers send a result each, then wait for their SIGTERM.
    let group = start_group(2, |i, sender| {
        sender.send(i as u64 * 10);
        std::thread::sleep(Duration::from_secs(30));
        0
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let stopped = shut_down(group, Duration::from_secs(5)).unwrap();
    assert_eq!(stopped.endings, [Ended::Killed(Signal::SIGTERM); 2]);
    let mut results = stopped.results;
    results.sort_unstable();
    assert_eq!(results, [0, 10]);
}
