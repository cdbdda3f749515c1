//! Criterion benchmarks of a trivial task's cost in each pool: the full
//! distribution (`cargo bench -p lab-06`). The lab's own run measures the
//! same costs interleaved with CPython's executors, for the book.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lab_06::thread_pool::ThreadPool;

fn per_task(c: &mut Criterion) {
    let mut group = c.benchmark_group("per task");
    let threads = ThreadPool::new(2).expect("threads start");
    group.bench_function("thread pool: submit + result", |b| {
        b.iter(|| threads.submit(|| lab_06::add_one(1)).result())
    });
    let mut processes = lab_06::process_pool(2).expect("workers fork");
    let items: Vec<u64> = (0..100).collect();
    group.bench_function("process pool: 100 tasks, chunksize 1", |b| {
        b.iter_batched(
            || items.clone(),
            |items| {
                processes
                    .map::<u64, u64>("add_one", &items, 1)
                    .expect("a map")
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("thread per task", |b| {
        b.iter(|| lab_06::thread_per_task(&[1], lab_06::add_one))
    });
    group.finish();
}

criterion_group!(benches, per_task);
criterion_main!(benches);
