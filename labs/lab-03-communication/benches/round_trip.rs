//! Criterion benchmarks of a small message's round trip through each
//! mechanism (`cargo bench -p lab-03`): the distribution behind the lab's
//! interleaved medians. Each iteration is a batch of 100 round trips.

use criterion::{Criterion, criterion_group, criterion_main};

fn round_trips(c: &mut Criterion) {
    let mut group = c.benchmark_group("100 round trips");
    group.sample_size(20);
    for (name, key, _) in lab_03::MECHANISMS {
        group.bench_function(name, |b| {
            b.iter(|| lab_03::round_trips(key, 100).expect("the round trips work"))
        });
    }
    group.finish();
}

criterion_group!(benches, round_trips);
criterion_main!(benches);
