//! Predicting a model's time from its costs: from what one item waits,
//! what it computes, what each way of running an item adds, and how much
//! parallelism the machine gives — all measured in the same rounds as the
//! job itself — the time of the job in each shape of concurrency.

/// What a job costs, measured: the inputs of a prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Costs {
    /// Items in the job.
    pub items: usize,
    /// Seconds one item waits for the server, alone.
    pub wait_s: f64,
    /// Seconds one item's hashing takes, alone.
    pub cpu_s: f64,
    /// Seconds of CPU one request costs, client and server together
    /// (connecting, the server's thread, the bytes): work that competes
    /// for the cores with the hashing.
    pub request_s: f64,
    /// Seconds a thread per item adds to each item beside its wait: the
    /// thread's start and join, and its request.
    pub thread_s: f64,
    /// Seconds a forked process per item adds to each item beside its
    /// wait: the fork, the pipe, the reaping, its request — and the
    /// copy-on-write faults while parent and children share pages.
    pub fork_s: f64,
    /// Logical cores.
    pub cores: usize,
    /// The share of a core each of several busy processes really gets here:
    /// the measured capacity of k processes ÷ k (1 where it was not measured).
    pub efficiency: f64,
}

/// How an implementation runs a job, as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Items in flight at once, waiting or hashing: each slot takes its
    /// items one after another.
    pub slots: usize,
    /// Items hashed at once, at most (the cores may allow fewer).
    pub hashers: usize,
    /// Seconds each item costs beside its wait and its hashing, paid one
    /// item after another by whoever hands the items out: a worker's start
    /// for a worker per item, the request's CPU for workers made beforehand.
    pub overhead_s: f64,
}

impl Costs {
    /// How many items really hash at once with `hashers` hashers: no more
    /// than the cores, each busy one getting [`Costs::efficiency`] of a core.
    /// One hasher alone gets a whole core.
    pub fn parallel(&self, hashers: usize) -> f64 {
        let busy = hashers.min(self.cores).max(1);
        if busy == 1 {
            1.0
        } else {
            busy as f64 * self.efficiency
        }
    }
}

// ANCHOR: predict
/// The predicted seconds of a job run in `shape`: whichever of three limits
/// is the tightest.
pub fn predict(costs: &Costs, shape: Shape) -> f64 {
    if costs.items == 0 {
        return 0.0;
    }
    let n = costs.items as f64;
    let (wait, cpu, overhead) = (costs.wait_s, costs.cpu_s, shape.overhead_s);
    // 1. The chain: the items handed out one after another, each with its
    //    overhead; the last one still has to wait and be hashed.
    let chain = n * overhead + wait + cpu;
    // 2. The waves: each slot takes its share of the items one after another.
    let waves = (n / shape.slots.max(1) as f64).ceil() * (wait + cpu);
    // 3. The cores: after the first wait, all the hashing and the overheads
    //    (CPU work too), shared by the items that can hash at once.
    let cores = wait + n * (cpu + overhead) / costs.parallel(shape.hashers);
    chain.max(waves).max(cores)
}
// ANCHOR_END: predict

#[cfg(test)]
mod tests {
    use super::*;

    const COSTS: Costs = Costs {
        items: 32,
        wait_s: 0.004,
        cpu_s: 0.001,
        request_s: 100e-6,
        thread_s: 150e-6,
        fork_s: 2e-3,
        cores: 2,
        efficiency: 0.9,
    };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn one_slot_is_one_item_after_another() {
        let sequential = Shape {
            slots: 1,
            hashers: 1,
            overhead_s: COSTS.request_s,
        };
        assert!(close(predict(&COSTS, sequential), 32.0 * 0.005));
    }

    #[test]
    fn a_thread_per_item_waits_once_and_hashes_on_every_core() {
        let threads = Shape {
            slots: 32,
            hashers: 32,
            overhead_s: COSTS.thread_s,
        };
        let expected = 0.004 + 32.0 * (0.001 + 150e-6) / 1.8;
        assert!(close(predict(&COSTS, threads), expected));
    }

    #[test]
    fn a_small_pool_waits_in_waves() {
        let pool = Shape {
            slots: 2,
            hashers: 2,
            overhead_s: COSTS.request_s,
        };
        assert!(close(predict(&COSTS, pool), 16.0 * 0.005));
    }

    #[test]
    fn expensive_starts_make_a_chain() {
        let forks = Shape {
            slots: 32,
            hashers: 32,
            overhead_s: COSTS.fork_s,
        };
        assert!(close(predict(&COSTS, forks), 32.0 * 0.002 + 0.005));
        let none = Costs { items: 0, ..COSTS };
        assert_eq!(predict(&none, forks), 0.0);
    }
}
