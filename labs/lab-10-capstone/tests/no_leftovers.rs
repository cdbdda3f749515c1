//! Lab 10 leaves nothing behind: no process (a child per item, the process
//! pool's workers) and no thread (the server's, the pools') once a job and
//! its pools are dropped (`cargo xtask verify` checks a whole run of the
//! lab).
//!
//! The test makes itself a *child subreaper*: any process orphaned below it
//! is re-parented to it, so an orphan shows up here as a child of ours. It
//! is the only test in this binary, so no other test's children or threads
//! can be mistaken for leftovers.

use lab_10::server::ItemServer;
use lab_10::{Implementation, Job, Pools};
use labkit::testing::leftover_children;
use std::time::{Duration, Instant};

/// Threads of this process now.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn no_implementation_leaves_a_process_or_a_thread_behind() {
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let before = threads();
    {
        let server = ItemServer::start(Duration::from_millis(2)).unwrap();
        let job = Job {
            server: server.address(),
            items: 8,
            rounds: 100,
        };
        let mut pools = Pools::new(2).unwrap();
        for which in Implementation::ALL {
            assert_eq!(pools.run(which, &job).unwrap(), job.expected(), "{which:?}");
        }
        assert!(threads() > before, "the server and the pools run threads");
    }
    // rayon's threads end just after their pool is dropped: give them a moment.
    let until = Instant::now() + Duration::from_secs(5);
    while threads() > before && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        threads(),
        before,
        "threads left after the job and its pools"
    );
    assert_eq!(leftover_children(), Vec::<String>::new(), "processes left");
}
