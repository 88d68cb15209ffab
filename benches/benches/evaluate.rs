//! Criterion benchmarks of [`pharm_core::rules::evaluate`] on the shared scenarios of
//! `pharm-benches`:
//!
//! - `evaluate/non_controlled_refill`: [`pharm_benches::typical_refill`].
//! - `evaluate/cii_partial_fill`: [`pharm_benches::cii_partial_fill`].
//!
//! Inputs are built once, outside the timed loop, and evaluated by reference.
//! Run with `cargo bench -p pharm-benches --bench evaluate`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pharm_core::rules::evaluate;

fn evaluate_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("evaluate");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));

    let (request, ctx) = pharm_benches::typical_refill();
    group.bench_function("non_controlled_refill", |b| {
        b.iter(|| evaluate(black_box(&request), black_box(&ctx)));
    });

    let (request, ctx) = pharm_benches::cii_partial_fill();
    group.bench_function("cii_partial_fill", |b| {
        b.iter(|| evaluate(black_box(&request), black_box(&ctx)));
    });

    group.finish();
}

criterion_group!(benches, evaluate_benches);
criterion_main!(benches);
