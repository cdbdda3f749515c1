//! Lab 05 exercises. Replace each `todo!` with your code, then check your work
//! with `cargo test -p lab-05 --test exercises`.
//!
//! The tests check what really happened, not only the answer: how many
//! threads really ran, and how many ran at once.
// starter: #![allow(unused_imports, unused_variables)]

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

// The book shows each exercise's documentation and signature (the anchors
// end before the body, so the solutions are never published).

// ANCHOR: exercise_split
/// Exercise 1 — fair shares.
///
/// Split `tasks` tasks into `workers` contiguous ranges that cover 0..tasks
/// in order, with sizes that differ by at most one (the first ranges take
/// the extra tasks). No workers: no ranges. More workers than tasks: some
/// ranges are empty.
pub fn split_evenly(tasks: usize, workers: usize) -> Vec<Range<usize>> {
    // ANCHOR_END: exercise_split
    // solution:begin
    if workers == 0 {
        return Vec::new();
    }
    let (each, extra) = (tasks / workers, tasks % workers);
    let mut start = 0;
    (0..workers)
        .map(|w| {
            let size = each + usize::from(w < extra);
            let range = start..start + size;
            start += size;
            range
        })
        .collect()
    // solution:end
    // starter: todo!("split 0..tasks into `workers` ranges whose sizes differ by at most one")
}

// ANCHOR: exercise_map
/// Exercise 2 — a fixed number of workers.
///
/// Apply `f` to every item with exactly `workers` threads (fewer when there
/// are fewer items), however many items there are: each thread takes the
/// next item not yet taken until none is left, so a slow item does not hold
/// up the others. Return the results in the order of `items`.
/// `workers` is at least 1.
pub fn map_on_workers<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    // ANCHOR_END: exercise_map
    // solution:begin
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    thread::scope(|scope| {
        for _ in 0..workers.max(1).min(items.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = f(item);
                    results.lock().expect("no worker panics holding it")[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("no worker panicked")
        .into_iter()
        .map(|r| r.expect("every item was taken"))
        .collect()
    // solution:end
    // starter: todo!("`workers` scoped threads taking items from a shared counter; results in order")
}

// ANCHOR: exercise_choose
/// Exercise 3 — how many workers to use.
///
/// `curve` holds measured `(workers, speedup)` points in any order. Return
/// the smallest worker count whose speedup is at least `share` (e.g. 0.9)
/// of the best speedup measured: more workers than that only cost memory
/// and scheduling for almost nothing. `None` for an empty curve.
pub fn enough_workers(curve: &[(usize, f64)], share: f64) -> Option<usize> {
    // ANCHOR_END: exercise_choose
    // solution:begin
    let best = curve.iter().map(|&(_, s)| s).fold(f64::NAN, f64::max);
    curve
        .iter()
        .filter(|&&(_, s)| s >= share * best)
        .map(|&(workers, _)| workers)
        .min()
    // solution:end
    // starter: todo!("the smallest worker count within `share` of the best speedup")
}
