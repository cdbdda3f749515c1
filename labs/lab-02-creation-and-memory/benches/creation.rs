//! Criterion benchmarks of each way to start concurrent work: the full
//! distribution of one operation's cost (`cargo bench -p lab-02`). The lab's
//! own run measures the same operations interleaved, for the book.

use criterion::{Criterion, criterion_group, criterion_main};
use std::path::Path;

fn creation(c: &mut Criterion) {
    let mut group = c.benchmark_group("creation");
    group.bench_function("rayon task", |b| b.iter(lab_02::run_rayon_task));
    group.bench_function("scoped thread", |b| {
        b.iter(lab_02::spawn_and_join_scoped_thread)
    });
    group.bench_function("thread", |b| b.iter(lab_02::spawn_and_join_thread));
    group.bench_function("fork", |b| {
        b.iter(|| lab_02::fork_and_wait().expect("fork works"))
    });
    group.sample_size(20);
    group.bench_function("new program (true)", |b| {
        b.iter(|| lab_02::start_program(Path::new("true")).expect("true runs"))
    });
    group.finish();
}

criterion_group!(benches, creation);
criterion_main!(benches);
