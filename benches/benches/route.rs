//! Shard routing benchmarks of `pharm-shard` against the textbook alternatives.
//!
//! - `route/pharm_map`: `ShardMap::route` on the design's map (SplitMix64 hash, 16
//!   logical shards as the top 4 bits of the hash, 4 physical shards), the full `Route`
//!   with map version and move state.
//! - `route/pharm_map_pins`: the same with 64 pinned tenants (a `BTreeMap` lookup first).
//! - `route/pg_bigint`: `ShardMap::route` with the PostgreSQL-compatible hash (`PARTITION
//!   BY HASH` on a `bigint`), 16 logical shards.
//! - `route/hash_mod_n`: the baseline `pharm_hash(id) % N` with N = 16 (not a constant to
//!   the compiler).
//! - `route/jump`: jump consistent hash of `pharm_hash(id)` into N = 16 buckets.
//!
//! Each iteration routes the next of 4,096 random ids, so the branch predictor does not see
//! one key repeated. `route` allocates nothing: it reads a precomputed per-logical-shard
//! table (`Route` is `Copy`; no `Vec`, `String` or `Box` on the path).
//!
//! Before the timed benchmarks it prints the key-movement table: the fraction of 1,000,000
//! random pharmacies whose physical shard changes on 4→5, 4→16, 5→16 and 4→8 physical
//! shards with `hash % N`, jump consistent hash, and the 16-logical-shard map rebalanced by
//! a minimal `reshard::plan`.
//!
//! Run with `cargo bench -p pharm-benches --bench route`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pharm_core::ids::PharmacyId;
use pharm_shard::directory::{PhysicalShard, ShardMap};
use pharm_shard::hash::{HashScheme, jump_consistent_hash, pharm_hash};
use pharm_shard::reshard::plan_to_count;

const IDS: usize = 4096;

/// xorshift64* (Vigna).
struct XorShift64Star(u64);

impl XorShift64Star {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn phys(n: u32) -> Vec<PhysicalShard> {
    (0..n).map(PhysicalShard).collect()
}

fn ids(n: usize, seed: u64) -> Vec<PharmacyId> {
    let mut rng = XorShift64Star(seed);
    // Ids drawn from the whole pharmacy id range (the hash does not care how ids are
    // assigned).
    (0..n).map(|_| PharmacyId::new(rng.next() as u32)).collect()
}

fn key_movement_table() {
    let keys = ids(1_000_000, 0x9E37_79B9);
    let frac = |moved: usize| moved as f64 / keys.len() as f64;
    println!(
        "key movement over 1,000,000 random pharmacy ids (fraction whose physical shard changes):"
    );
    println!("| transition | hash % N | jump | 16 logical, min-move map | ideal 1 − a/b |");
    println!("|---|---|---|---|---|");
    for (a, b) in [(4u32, 5u32), (4, 16), (5, 16), (4, 8)] {
        let modn = frac(
            keys.iter()
                .map(|id| pharm_hash(id.to_i64()))
                .filter(|&h| h % u64::from(a) != h % u64::from(b))
                .count(),
        );
        let jump = frac(
            keys.iter()
                .filter(|&&id| {
                    let h = pharm_hash(id.to_i64());
                    jump_consistent_hash(h, a as i32) != jump_consistent_hash(h, b as i32)
                })
                .count(),
        );
        // 5 physical shards are reached from 4 by the minimal plan, as in production.
        let before = if a == 5 {
            let mut m = ShardMap::with_defaults(&phys(4)).unwrap();
            plan_to_count(&m, 5).unwrap().apply_offline(&mut m).unwrap();
            m
        } else {
            ShardMap::with_defaults(&phys(a)).unwrap()
        };
        let plan = plan_to_count(&before, b).unwrap();
        let mut after = before.clone();
        plan.apply_offline(&mut after).unwrap();
        let map = frac(
            keys.iter()
                .filter(|&&id| before.route(id).physical != after.route(id).physical)
                .count(),
        );
        let ideal = 1.0 - f64::from(a) / f64::from(b);
        println!(
            "| {a}→{b} | {modn:.4} | {jump:.4} | {map:.4} ({} of 16 logical; planned {:.4}) | {ideal:.4} |",
            plan.moves.len(),
            plan.fraction_moved
        );
    }
    println!();
}

fn route_benches(c: &mut Criterion) {
    key_movement_table();

    let keys = ids(IDS, 0x5EED);
    let pharm_map = ShardMap::with_defaults(&phys(4)).unwrap();
    let mut pinned_map = pharm_map.clone();
    for (i, &id) in keys.iter().step_by(64).enumerate() {
        pinned_map.pin(id, PhysicalShard(100 + i as u32)).unwrap();
    }
    let pg_map = ShardMap::new(HashScheme::PostgresBigint, 16, &phys(4)).unwrap();
    let n = black_box(16u64);

    let mut group = c.benchmark_group("route");
    group
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));

    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) & (IDS - 1);
        i
    };

    group.bench_function("pharm_map", |b| {
        b.iter(|| black_box(&pharm_map).route(black_box(keys[next()])));
    });
    group.bench_function("pharm_map_pins", |b| {
        b.iter(|| black_box(&pinned_map).route(black_box(keys[next()])));
    });
    group.bench_function("pg_bigint", |b| {
        b.iter(|| black_box(&pg_map).route(black_box(keys[next()])));
    });
    group.bench_function("hash_mod_n", |b| {
        b.iter(|| pharm_hash(black_box(keys[next()]).to_i64()) % n);
    });
    group.bench_function("jump", |b| {
        b.iter(|| jump_consistent_hash(pharm_hash(black_box(keys[next()]).to_i64()), n as i32));
    });
    group.finish();
}

criterion_group!(benches, route_benches);
criterion_main!(benches);
