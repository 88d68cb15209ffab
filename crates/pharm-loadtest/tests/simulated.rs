//! The simulated core: same seed → same counts and digest; units conserved; a reduced
//! run finishes quickly and mostly dispenses.

use std::time::Instant;

use pharm_core::rules::Outcome;
use pharm_loadtest::config::Config;
use pharm_loadtest::sim::run_simulated;

fn small(seed: u64) -> Config {
    Config {
        pharmacies: 4,
        terminals: 3,
        txns: 60,
        seed,
        ..Config::default()
    }
}

#[test]
fn same_seed_same_counts_and_digest() {
    let a = run_simulated(&small(11));
    let b = run_simulated(&small(11));
    assert!(a.is_ok(), "{a:?}");
    assert_eq!(a, b);
    let c = run_simulated(&small(12));
    let (Ok(a), Ok(c)) = (a, c) else { return };
    assert_ne!(a.digest, c.digest, "another seed, another day");
    assert_eq!(a.digest.len(), 64);
}

#[test]
fn units_are_conserved_per_lot() {
    let s = run_simulated(&small(3));
    assert!(s.is_ok(), "{s:?}");
    let Ok(s) = s else { return };
    assert_eq!(s.conserved_units, s.counts.units);
    assert_eq!(s.counts.errors, 0);
    assert!(s.counts.dispenses > 0);
}

#[test]
fn a_reduced_run_finishes_in_seconds_and_mostly_dispenses() {
    let config = Config {
        pharmacies: 20,
        ..Config::default()
    };
    let started = Instant::now();
    let s = run_simulated(&config);
    assert!(started.elapsed().as_secs() < 30);
    assert!(s.is_ok(), "{s:?}");
    let Ok(s) = s else { return };
    eprintln!("{}", s.counts.table());
    assert_eq!(s.counts.total(), 20 * 5 * 100);
    let allowed = s.counts.with_outcome(Outcome::Allow) + s.counts.with_outcome(Outcome::Warn);
    assert_eq!(allowed, s.counts.dispenses);
    assert!(allowed * 10 >= s.counts.total() * 9, "{}", s.counts.table());
}

#[test]
fn any_split_of_the_pharmacies_plays_the_same_day() {
    use std::sync::Arc;

    use pharm_loadtest::digest::state_digest;
    use pharm_loadtest::products::Templates;
    use pharm_loadtest::sim::Shard;
    use pharm_loadtest::workload::schedule;

    let config = small(5);
    let Ok(templates) = Templates::load().map(Arc::new) else {
        panic!("templates")
    };
    let mut shards = Vec::new();
    for part in 0..2u32 {
        let ids: Vec<u32> = (0..config.pharmacies).filter(|p| p % 2 == part).collect();
        let shard = Shard::new(&config, Arc::clone(&templates), ids.iter().copied());
        let Ok(mut shard) = shard else { panic!("seed") };
        for a in schedule(&config, ids) {
            shard.play(&a);
        }
        shards.push(shard);
    }
    let Ok(whole) = run_simulated(&config) else {
        panic!("whole run")
    };
    let mut counts = shards[0].counts.clone();
    counts.merge(&shards[1].counts);
    assert_eq!(counts, whole.counts);
    assert_eq!(
        state_digest(shards.iter().flat_map(|s| s.pharmacies())),
        whole.digest
    );
}

#[test]
fn too_soon_refills_are_not_dispensed() {
    let s = run_simulated(&Config {
        pharmacies: 10,
        ..Config::default()
    });
    let Ok(s) = s else { panic!("{s:?}") };
    let refused =
        s.counts.with_outcome(Outcome::RequireOverride) + s.counts.with_outcome(Outcome::Block);
    assert!(refused > 0, "{}", s.counts.table());
    assert_eq!(s.counts.total() - refused, s.counts.dispenses);
}
