//! Criterion benchmarks of [`pharm_shard::breaker::CircuitBreaker`]: one permission
//! request plus one recorded outcome, the per-call cost a guarded backend call pays
//! (target: under 100 ns).
//!
//! - `breaker/acquire_record_success`: a CLOSED COUNT_BASED breaker (the `pmp-api`
//!   preset: window 10) on a [`SystemClock`]; `try_acquire` + `on_success`. A closed
//!   COUNT_BASED breaker never reads the clock.
//! - `breaker/acquire_record_success_time_based`: the same on a TIME_BASED 10 s window;
//!   recording reads the clock once (one `Instant::now`).
//! - `breaker/acquire_record_mixed`: COUNT_BASED with a 10 % failure mix (stays CLOSED:
//!   the threshold is 50 %), so the failure path is timed too.
//! - `breaker/acquire_record_success_subscribed`: COUNT_BASED with one event subscriber
//!   (each call then allocates and delivers a `Success` event).
//! - `breaker/reject_open`: a rejection by an OPEN breaker (reads the clock).
//! - `breaker/system_clock_now`: one `SystemClock::now()`, for reference: the part of
//!   the TIME_BASED and OPEN figures spent reading the time.
//!
//! Run with `cargo bench -p pharm-benches --bench breaker`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pharm_core::time::{Clock, SystemClock};
use pharm_shard::breaker::{CircuitBreaker, CircuitBreakerConfig, SlidingWindowType, State};

fn breaker_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("breaker");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    let d = Duration::from_millis(20);

    let cb = CircuitBreaker::new(
        "pmp-api",
        CircuitBreakerConfig::pmp_api(),
        SystemClock::new(),
    );
    group.bench_function("acquire_record_success", |b| {
        b.iter(|| {
            let permit = black_box(&cb).try_acquire().unwrap();
            permit.on_success(black_box(d));
        });
    });
    assert_eq!(cb.state(), State::Closed);

    let time_based = CircuitBreakerConfig::pmp_api()
        .to_builder()
        .sliding_window_type(SlidingWindowType::TimeBased)
        .minimum_number_of_calls(10)
        .build()
        .unwrap();
    let cb = CircuitBreaker::new("pmp-api-time", time_based, SystemClock::new());
    group.bench_function("acquire_record_success_time_based", |b| {
        b.iter(|| {
            let permit = black_box(&cb).try_acquire().unwrap();
            permit.on_success(black_box(d));
        });
    });
    assert_eq!(cb.state(), State::Closed);

    let cb = CircuitBreaker::new(
        "pmp-api",
        CircuitBreakerConfig::pmp_api(),
        SystemClock::new(),
    );
    let mut i = 0u32;
    group.bench_function("acquire_record_mixed", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let permit = black_box(&cb).try_acquire().unwrap();
            if i.is_multiple_of(10) {
                permit.on_failure(black_box(d));
            } else {
                permit.on_success(black_box(d));
            }
        });
    });
    assert_eq!(cb.state(), State::Closed);

    let cb = CircuitBreaker::new(
        "pmp-api",
        CircuitBreakerConfig::pmp_api(),
        SystemClock::new(),
    );
    let events = std::sync::Arc::new(AtomicU64::new(0));
    {
        let events = std::sync::Arc::clone(&events);
        cb.subscribe(move |_| {
            events.fetch_add(1, Ordering::Relaxed);
        });
    }
    group.bench_function("acquire_record_success_subscribed", |b| {
        b.iter(|| {
            let permit = black_box(&cb).try_acquire().unwrap();
            permit.on_success(black_box(d));
        });
    });
    assert!(events.load(Ordering::Relaxed) > 0);

    let cb = CircuitBreaker::new(
        "pmp-api",
        CircuitBreakerConfig::pmp_api(),
        SystemClock::new(),
    );
    cb.transition_to_open().unwrap();
    group.bench_function("reject_open", |b| {
        b.iter(|| black_box(&cb).try_acquire().is_err());
    });

    let clock = SystemClock::new();
    group.bench_function("system_clock_now", |b| {
        b.iter(|| black_box(&clock).now());
    });

    group.finish();
}

criterion_group!(benches, breaker_benches);
criterion_main!(benches);
