//! Criterion benchmarks of [`pharm_core::rules::evaluate`] on the shared scenarios of
//! `pharm-benches`:
//!
//! - `evaluate/non_controlled_refill`: [`pharm_benches::typical_refill`].
//! - `evaluate/cii_partial_fill`: [`pharm_benches::cii_partial_fill`].
//! - `evaluate_json/non_controlled_refill`: the typical refill from request JSON to
//!   decision JSON in Rust (`parse_request`, `evaluate`, `serde_json::to_vec`).
//! - `evaluate_ffi/non_controlled_refill_json`: the same through the C ABI, as a till calls
//!   it: a long-lived `pharm_context`, `pharm_context_evaluate` on the request bytes and
//!   `pharm_bytes_free` on the decision.
//!
//! Inputs are built once, outside the timed loop, and evaluated by reference.
//! Run with `cargo bench -p pharm-benches --bench evaluate`.
// The C ABI is called through its `unsafe extern "C"` functions; every block has its
// SAFETY comment.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pharm_core::contract::parse_request;
use pharm_core::rules::evaluate;
use pharm_ffi::{
    pharm_bytes_free, pharm_bytes_len, pharm_context_evaluate, pharm_context_free,
    pharm_context_new, pharm_result,
};

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

fn evaluate_json_benches(c: &mut Criterion) {
    let (request, ctx) = pharm_benches::typical_refill();
    let request_json = serde_json::to_vec(&request).expect("request serializes");
    let context_json = serde_json::to_vec(&ctx).expect("context serializes");
    let expected = serde_json::to_vec(&evaluate(&request, &ctx)).expect("decision serializes");

    let mut group = c.benchmark_group("evaluate_json");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    group.bench_function("non_controlled_refill", |b| {
        b.iter(|| {
            let request = parse_request(black_box(&request_json)).expect("valid request");
            serde_json::to_vec(&evaluate(&request, black_box(&ctx))).expect("serializes")
        });
    });
    group.finish();

    let mut handle = std::ptr::null_mut();
    // SAFETY: a live buffer and its length; `handle` is written on success and freed
    // after the benchmark.
    let created =
        unsafe { pharm_context_new(context_json.as_ptr(), context_json.len(), &mut handle) };
    assert_eq!(created, pharm_result::Ok);
    let call = |request: &[u8]| {
        let mut decision = std::ptr::null_mut();
        // SAFETY: `handle` is a live context, `request` a live buffer; the decision is
        // written on success and freed right after its length is read.
        unsafe {
            let result =
                pharm_context_evaluate(handle, request.as_ptr(), request.len(), &mut decision);
            let len = pharm_bytes_len(decision);
            pharm_bytes_free(decision);
            (result, len)
        }
    };
    assert_eq!(
        call(&request_json),
        (pharm_result::Ok, expected.len()),
        "the C ABI answers as the Rust engine"
    );

    let mut group = c.benchmark_group("evaluate_ffi");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    group.bench_function("non_controlled_refill_json", |b| {
        b.iter(|| call(black_box(&request_json)));
    });
    group.finish();
    // SAFETY: made above, freed once, no longer used.
    unsafe { pharm_context_free(handle) };
}

criterion_group!(benches, evaluate_benches, evaluate_json_benches);
criterion_main!(benches);
