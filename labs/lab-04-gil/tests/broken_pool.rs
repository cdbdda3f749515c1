//! A process pool whose worker is killed fails its tasks with
//! `BrokenProcessPool` instead of hanging, and leaves no process behind.
//! (Alone in its own test binary: it kills this process's children.)

use lab_04::interp::{Error, Options, run_source};
use std::time::{Duration, Instant};

/// This process's children, from /proc.
fn children() -> Vec<i32> {
    let mut pids = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let text = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        pids.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    pids
}

#[test]
fn a_killed_worker_breaks_the_pool_and_the_caller_hears_of_it() {
    let program = "from concurrent.futures import ProcessPoolExecutor\nimport time\ndef nap(x):\n    time.sleep(x)\n    return x\n\
                   with ProcessPoolExecutor(max_workers=1) as ex:\n    print(ex.submit(nap, 30).result())\n";
    let options = Options {
        capture: true,
        ..Options::default()
    };
    let run = std::thread::spawn(move || run_source(program, "t.py", &options));
    let start = Instant::now();
    let worker = loop {
        if let Some(&pid) = children().first() {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no worker process appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    std::thread::sleep(Duration::from_millis(100)); // it is asleep in nap()
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(worker),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let outcome = run.join().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the caller waited for the dead worker"
    );
    match outcome {
        Err(Error::Runtime { error, .. }) => assert_eq!(error.kind, "BrokenProcessPool"),
        other => panic!("expected BrokenProcessPool, got {other:?}"),
    }
    assert!(children().is_empty(), "a worker was left: {:?}", children());
}
