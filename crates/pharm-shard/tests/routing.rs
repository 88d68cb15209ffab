//! Shard directory and routing: determinism, uniformity, minimal reshard plans, pins,
//! stale-map detection and routing during a move.
//!
//! Uniformity is a chi-square goodness-of-fit test against equal shares. For `k` logical
//! shards and `n` ids with `O_i` ids in shard `i`, `E = n/k` and
//! `χ² = Σ (O_i − E)² / E` has `k − 1` degrees of freedom under the null hypothesis of a
//! uniform hash. The test fails above the 99.9% quantile: 37.697 for 16 shards (15 degrees of
//! freedom) and 103.442 for 64 shards (63). The ids come from fixed seeds, so every run
//! sees the same values (no flakiness at the 0.1% level).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use pharm_core::ids::PharmacyId;
use pharm_shard::directory::{
    LogicalShard, MovePhase, MoveRoute, PhysicalShard, ShardMap, StaleMap,
};
use pharm_shard::hash::{
    HashScheme, PG_VECTORS, PHARM_VECTORS, jump_consistent_hash, pg_partition_hash, pharm_hash,
};
use pharm_shard::reshard::{minimum_moves, plan, plan_to_count};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// 99.9% quantile of χ² with 15 degrees of freedom.
const CHI2_999_DF15: f64 = 37.697;
/// 99.9% quantile of χ² with 63 degrees of freedom.
const CHI2_999_DF63: f64 = 103.442;

const N_IDS: u64 = 1_000_000;

fn ph(n: u32) -> PharmacyId {
    PharmacyId::new(n)
}

fn phys(n: u32) -> Vec<PhysicalShard> {
    (0..n).map(PhysicalShard).collect()
}

/// xorshift64* (Vigna): a PRNG unrelated to the SplitMix64 hash under test.
struct XorShift64Star(u64);

impl XorShift64Star {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn chi_square(counts: &[u64]) -> f64 {
    let n: u64 = counts.iter().sum();
    let e = n as f64 / counts.len() as f64;
    counts.iter().map(|&o| (o as f64 - e).powi(2) / e).sum()
}

fn critical(k: u32) -> f64 {
    match k {
        16 => CHI2_999_DF15,
        64 => CHI2_999_DF63,
        _ => unreachable!(),
    }
}

fn logical_histogram(map: &ShardMap, ids: impl Iterator<Item = u32>) -> Vec<u64> {
    let mut counts = vec![0u64; map.logical_count() as usize];
    for id in ids {
        counts[map.route(ph(id)).logical.0 as usize] += 1;
    }
    counts
}

// ---------------------------------------------------------------- determinism

#[test]
fn hash_vectors_are_pinned() {
    for &(id, h) in PHARM_VECTORS {
        assert_eq!(pharm_hash(id), h);
    }
    for &(id, modulus, rem) in PG_VECTORS {
        assert_eq!(HashScheme::pg_partition(id, modulus), rem);
    }
    // The default map (16 logical shards, top 4 bits) on 4 physical shards in blocks of 4.
    let map = ShardMap::with_defaults(&phys(4)).unwrap();
    for (id, logical) in [(0, 14), (1, 9), (2, 9), (42, 11), (2_500, 6), (50_000, 11)] {
        let r = map.route(ph(id));
        assert_eq!(r.logical, LogicalShard(logical), "id {id}");
        assert_eq!(r.physical, PhysicalShard(logical / 4));
    }
}

#[test]
fn json_config_routes_identically() {
    let mut map = ShardMap::new(HashScheme::PostgresBigint, 64, &phys(5)).unwrap();
    map.pin(ph(12_345), PhysicalShard(99)).unwrap();
    map.begin_move(LogicalShard(7), PhysicalShard(4)).unwrap();
    let json = serde_json::to_string_pretty(&map).unwrap();
    let back: ShardMap = serde_json::from_str(&json).unwrap();
    for id in (0..20_000).chain(u32::MAX - 20_000..=u32::MAX).map(ph) {
        assert_eq!(back.route(id), map.route(id));
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn routing_is_deterministic(
        raw in any::<u32>(),
        pg in any::<bool>(),
        logical in 1u32..=4096,
        physical in 1u32..=32,
    ) {
        let scheme = if pg { HashScheme::PostgresBigint } else { HashScheme::Pharm };
        let map = ShardMap::new(scheme, logical, &phys(physical)).unwrap();
        let (id, raw) = (ph(raw), i64::from(raw));
        let a = map.route(id);
        prop_assert_eq!(a, map.clone().route(id));
        prop_assert_eq!(a, ShardMap::new(scheme, logical, &phys(physical)).unwrap().route(id));
        prop_assert!(a.logical.0 < logical);
        prop_assert_eq!(a.physical, map.assignment()[a.logical.0 as usize]);
        // The documented reductions.
        let want = match scheme {
            HashScheme::Pharm => ((u128::from(pharm_hash(raw)) * u128::from(logical)) >> 64) as u32,
            HashScheme::PostgresBigint => (pg_partition_hash(raw) % u64::from(logical)) as u32,
        };
        prop_assert_eq!(a.logical.0, want);
        if logical.is_power_of_two() && scheme == HashScheme::Pharm {
            let bits = logical.trailing_zeros();
            let top = if bits == 0 { 0 } else { (pharm_hash(raw) >> (64 - bits)) as u32 };
            prop_assert_eq!(a.logical.0, top);
        }
        if scheme == HashScheme::PostgresBigint {
            prop_assert_eq!(u64::from(a.logical.0), HashScheme::pg_partition(raw, u64::from(logical)));
        }
    }
}

// ---------------------------------------------------------------- uniformity

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 4,
        rng_seed: RngSeed::Fixed(0x0050_4841_524d),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// 1,000,000 random ids from a seed proptest picks (fixed runner seed, so the same four
    /// seeds every run), into 16 and 64 logical shards under both schemes.
    #[test]
    fn routing_is_uniform_over_random_ids(seed in 1u64.., pg in any::<bool>()) {
        let scheme = if pg { HashScheme::PostgresBigint } else { HashScheme::Pharm };
        for k in [16u32, 64] {
            let map = ShardMap::new(scheme, k, &phys(4)).unwrap();
            let mut rng = XorShift64Star(seed);
            let counts = logical_histogram(&map, (0..N_IDS).map(|_| rng.next() as u32));
            let x2 = chi_square(&counts);
            println!("{scheme:?} k={k} seed={seed} chi2={x2:.2}");
            prop_assert!(x2 < critical(k), "{scheme:?} k={k} seed={seed} chi2={x2:.2}");
        }
    }
}

#[test]
fn routing_is_uniform_over_sequential_ids() {
    // Pharmacy ids are usually a sequence: 1..=1,000,000.
    for scheme in [HashScheme::Pharm, HashScheme::PostgresBigint] {
        for k in [16u32, 64] {
            let map = ShardMap::new(scheme, k, &phys(4)).unwrap();
            let counts = logical_histogram(&map, 1..=N_IDS as u32);
            let x2 = chi_square(&counts);
            println!("{scheme:?} k={k} sequential chi2={x2:.2}");
            assert!(x2 < critical(k), "{scheme:?} k={k} chi2={x2:.2}");
        }
    }
}

// ---------------------------------------------------------------- minimal moves

/// An independent minimum: try every choice of which targets get the larger quota.
fn brute_force_minimum(
    current: &BTreeMap<PhysicalShard, u32>,
    target: &[PhysicalShard],
    l: u32,
) -> u32 {
    let n = target.len() as u32;
    let (base, extra) = (l / n, l % n);
    let mut best = u32::MAX;
    for mask in 0u32..(1 << n) {
        if mask.count_ones() != extra {
            continue;
        }
        let mut kept = 0;
        for (i, p) in target.iter().enumerate() {
            let quota = base + (mask >> i & 1);
            kept += current.get(p).copied().unwrap_or(0).min(quota);
        }
        best = best.min(l - kept);
    }
    best
}

fn arb_map_and_target() -> impl Strategy<Value = (ShardMap, Vec<PhysicalShard>)> {
    (1u32..=64, 1u32..=10).prop_flat_map(|(l, p)| {
        let assignment = prop::collection::vec((0..p).prop_map(PhysicalShard), l as usize);
        let target = prop::sample::subsequence((0u32..12).collect::<Vec<_>>(), 1..=10usize)
            .prop_shuffle()
            .prop_map(|v| v.into_iter().map(PhysicalShard).collect::<Vec<_>>());
        (assignment, target).prop_filter_map("more targets than logical shards", move |(a, t)| {
            (t.len() <= l as usize).then(|| {
                (
                    ShardMap::from_assignment(HashScheme::Pharm, a, 1).unwrap(),
                    t,
                )
            })
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn planned_moves_equal_theoretical_minimum((map, target) in arb_map_and_target()) {
        let l = map.logical_count();
        let current = map.logical_counts();
        let plan = plan(&map, &target).unwrap();
        let min = brute_force_minimum(&current, &target, l);
        prop_assert_eq!(plan.moves.len() as u32, min);
        prop_assert_eq!(minimum_moves(&current, &target, l), min);
        prop_assert!((plan.fraction_moved - f64::from(min) / f64::from(l)).abs() < 1e-12);

        // Balanced afterwards, only on the targets.
        let mut after = map.clone();
        plan.apply_offline(&mut after).unwrap();
        let counts = after.logical_counts();
        let n = target.len() as u32;
        for (p, c) in &counts {
            prop_assert!(target.contains(p), "{p} not a target");
            prop_assert!(*c == l / n || *c == l.div_ceil(n), "{p} holds {c}");
        }
        prop_assert_eq!(counts.len(), target.len());
        let quotas: BTreeMap<_, _> = plan.quotas.iter().copied().collect();
        for (p, c) in &counts {
            prop_assert_eq!(quotas[p], *c);
        }

        // Unmoved logical shards stay; a shard within its quota gives nothing away; no
        // logical shard moves twice and none moves to where it is.
        let moved: BTreeSet<_> = plan.moves.iter().map(|m| m.logical).collect();
        prop_assert_eq!(moved.len(), plan.moves.len());
        for i in 0..l {
            let li = LogicalShard(i);
            if !moved.contains(&li) {
                prop_assert_eq!(after.physical_of(li).unwrap(), map.physical_of(li).unwrap());
            }
        }
        for m in &plan.moves {
            prop_assert_ne!(m.from, m.to);
            prop_assert_eq!(map.physical_of(m.logical).unwrap(), m.from);
            let q = quotas.get(&m.from).copied().unwrap_or(0);
            prop_assert!(current[&m.from] > q, "{} within quota gave {}", m.from, m.logical);
            prop_assert!(current.get(&m.to).copied().unwrap_or(0) < quotas[&m.to]);
        }

        // The online path (copy, catch-up, cut-over, complete) ends in the same map.
        let mut online = map.clone();
        plan.begin(&mut online).unwrap();
        for m in &plan.moves {
            online.advance_move(m.logical).unwrap();
            online.advance_move(m.logical).unwrap();
            online.complete_move(m.logical).unwrap();
        }
        prop_assert_eq!(online.assignment(), after.assignment());
    }
}

#[test]
fn design_transitions() {
    // 16 logical shards: 4 → 5 → 16.
    let mut map = ShardMap::with_defaults(&phys(4)).unwrap();
    let p45 = plan_to_count(&map, 5).unwrap();
    assert_eq!(p45.moves.len(), 3);
    assert_eq!(p45.fraction_moved, 0.1875);
    p45.apply_offline(&mut map).unwrap();
    let mut sizes: Vec<u32> = map.logical_counts().into_values().collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [3, 3, 3, 3, 4]);
    let p516 = plan_to_count(&map, 16).unwrap();
    assert_eq!(p516.moves.len(), 11);
    p516.apply_offline(&mut map).unwrap();
    assert!(map.logical_counts().values().all(|&c| c == 1));

    let map = ShardMap::with_defaults(&phys(4)).unwrap();
    assert_eq!(plan_to_count(&map, 16).unwrap().moves.len(), 12);
    assert_eq!(plan_to_count(&map, 8).unwrap().moves.len(), 8);
}

// ---------------------------------------------------------------- key movement

/// Fraction of 1M pharmacies whose physical shard changes, for `hash % N`, jump consistent
/// hash and the 16-logical-shard map with a minimal plan.
#[test]
fn key_movement_table() {
    let ids: Vec<PharmacyId> = {
        let mut rng = XorShift64Star(0x9E37_79B9);
        (0..N_IDS).map(|_| ph(rng.next() as u32)).collect()
    };
    let frac = |moved: usize| moved as f64 / ids.len() as f64;
    println!("| transition | hash % N | jump | 16 logical, min-move map | ideal 1 − a/b |");
    println!("|---|---|---|---|---|");
    for (a, b) in [(4u32, 5u32), (4, 16), (5, 16), (4, 8)] {
        let modn = frac(
            ids.iter()
                .map(|id| pharm_hash(id.to_i64()))
                .filter(|&h| h % u64::from(a) != h % u64::from(b))
                .count(),
        );
        let jump = frac(
            ids.iter()
                .map(|id| pharm_hash(id.to_i64()))
                .filter(|&h| jump_consistent_hash(h, a as i32) != jump_consistent_hash(h, b as i32))
                .count(),
        );
        let before = if a == 5 {
            let mut m = ShardMap::with_defaults(&phys(4)).unwrap();
            plan_to_count(&m, 5).unwrap().apply_offline(&mut m).unwrap();
            m
        } else {
            ShardMap::with_defaults(&phys(a)).unwrap()
        };
        let mut after = before.clone();
        let planned = plan_to_count(&before, b).unwrap();
        planned.apply_offline(&mut after).unwrap();
        let map = frac(
            ids.iter()
                .filter(|&&id| before.route(id).physical != after.route(id).physical)
                .count(),
        );
        let ideal = 1.0 - f64::from(a) / f64::from(b);
        println!(
            "| {a}→{b} | {modn:.4} | {jump:.4} | {map:.4} ({} of 16 logical) | {ideal:.4} |",
            planned.moves.len()
        );
        // hash % N keeps a key only if h % a == h % b: count over one period lcm(a, b).
        let period = lcm(a, b);
        let kept = (0..period).filter(|x| x % a == x % b).count();
        let modn_expected = 1.0 - kept as f64 / f64::from(period);
        let tol = 0.003;
        assert!((jump - ideal).abs() < tol, "jump {a}→{b}: {jump}");
        assert!(
            (map - planned.fraction_moved).abs() < tol,
            "map {a}→{b}: {map}"
        );
        assert!(
            (modn - modn_expected).abs() < tol,
            "hash % N {a}→{b}: {modn}"
        );
        if (a, b) == (4, 5) {
            assert!((modn - 0.8).abs() < tol);
            assert_eq!(planned.moves.len(), 3);
        }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn lcm(a: u32, b: u32) -> u32 {
    a / gcd(a, b) * b
}

// ---------------------------------------------------------------- pins

#[test]
fn pin_overrides_hash_for_a_large_tenant() {
    let mut map = ShardMap::with_defaults(&phys(4)).unwrap();
    let chain = ph(4_242);
    let dedicated = PhysicalShard(100);
    let before = map.route(chain);
    let v = map.pin(chain, dedicated).unwrap();
    let r = map.route(chain);
    assert_eq!(r.physical, dedicated);
    assert!(r.pinned);
    assert_eq!(
        r.logical, before.logical,
        "the logical shard is still the hash's"
    );
    assert_eq!(r.map_version, v);
    // Neighbours in the same logical shard are unaffected, also while it moves.
    let neighbour = (0..100_000)
        .map(ph)
        .find(|&id| id != chain && map.route(id).logical == before.logical)
        .unwrap();
    assert_eq!(map.route(neighbour).physical, before.physical);
    map.begin_move(before.logical, PhysicalShard(4)).unwrap();
    map.advance_move(before.logical).unwrap();
    map.advance_move(before.logical).unwrap();
    assert_eq!(map.route(neighbour).physical, PhysicalShard(4));
    assert_eq!(map.route(chain).physical, dedicated);
    assert_eq!(map.route(chain).during_move, None);
    // The dedicated shard holds no logical shards, so plans leave it alone.
    assert!(!map.logical_counts().contains_key(&dedicated));
    assert!(map.physical_shards().contains(&dedicated));
    map.unpin(chain).unwrap();
    assert!(!map.route(chain).pinned);
    assert_eq!(map.route(chain).physical, PhysicalShard(4));
    assert!(map.unpin(chain).is_err());
}

// ---------------------------------------------------------------- stale maps and moves

#[test]
fn stale_map_detected() {
    let mut directory = ShardMap::with_defaults(&phys(4)).unwrap();
    let client = directory.clone();
    let id = ph(77);
    let routed = client.route(id);
    assert_eq!(directory.check_version(routed.map_version), Ok(()));

    directory
        .begin_move(routed.logical, PhysicalShard(4))
        .unwrap();
    let err = directory.check_version(routed.map_version).unwrap_err();
    assert_eq!(
        err,
        StaleMap {
            have: client.version(),
            current: directory.version()
        }
    );
    assert!(err.caller_is_stale());
    assert!(directory.route_checked(id, client.version()).is_err());
    // The client refreshes and routes again.
    let refreshed = directory.clone();
    let r = directory.route_checked(id, refreshed.version()).unwrap();
    assert_eq!(r, refreshed.route(id));
    // A directory copy that is behind is told so.
    let err = client.check_version(directory.version()).unwrap_err();
    assert!(!err.caller_is_stale());
}

#[test]
fn move_phases_route_correctly() {
    let mut map = ShardMap::with_defaults(&phys(4)).unwrap();
    let logical = LogicalShard(5);
    let source = map.physical_of(logical).unwrap();
    let target = PhysicalShard(4);
    let ids: Vec<PharmacyId> = (0..20_000).map(ph).collect();
    let others: Vec<(PharmacyId, PhysicalShard)> = ids
        .iter()
        .filter(|&&id| map.route(id).logical != logical)
        .map(|&id| (id, map.route(id).physical))
        .collect();
    let moving: Vec<PharmacyId> = ids
        .iter()
        .copied()
        .filter(|&id| map.route(id).logical == logical)
        .collect();
    assert!(moving.len() > 1_000);

    let check = |map: &ShardMap, want: PhysicalShard, phase: Option<MovePhase>| {
        for &id in &moving {
            let r = map.route(id);
            assert_eq!(r.physical, want, "id {id} in {phase:?}");
            assert_eq!(r.during_move.map(|m| m.phase), phase);
            assert_eq!(r.map_version, map.version());
            if let Some(m) = r.during_move {
                assert_eq!(
                    m,
                    MoveRoute {
                        phase: m.phase,
                        source,
                        target
                    }
                );
            }
        }
        for &(id, p) in &others {
            let r = map.route(id);
            assert_eq!(r.physical, p);
            assert_eq!(r.during_move, None);
        }
    };

    check(&map, source, None);
    let v0 = map.version();
    map.begin_move(logical, target).unwrap();
    check(&map, source, Some(MovePhase::Copying));
    assert_eq!(map.advance_move(logical).unwrap(), MovePhase::CatchUp);
    check(&map, source, Some(MovePhase::CatchUp));
    let before_cut = map.version();
    assert_eq!(map.advance_move(logical).unwrap(), MovePhase::CutOver);
    check(&map, target, Some(MovePhase::CutOver));
    // A writer still on the pre-cut-over map is fenced.
    assert!(map.check_version(before_cut).is_err());
    map.complete_move(logical).unwrap();
    check(&map, target, None);
    assert_eq!(map.physical_of(logical).unwrap(), target);
    assert_eq!(map.version(), v0 + 4);

    // An aborted move never leaves the source (here: moving it back, then aborting).
    map.begin_move(logical, source).unwrap();
    map.advance_move(logical).unwrap();
    for &id in &moving {
        let r = map.route(id);
        assert_eq!(r.physical, target);
        assert_eq!(
            r.during_move,
            Some(MoveRoute {
                phase: MovePhase::CatchUp,
                source: target,
                target: source
            })
        );
    }
    map.abort_move(logical).unwrap();
    check(&map, target, None);
}
