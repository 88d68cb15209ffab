//! The simulated core: same seed → same counts and digest; every invariant holds; any
//! split of the pharmacies plays the same day; the degradations happen; and each
//! deliberate defect is caught and named.

use std::sync::{Arc, OnceLock};

use pharm_core::rules::Outcome;
use pharm_loadtest::config::{Breaks, Config};
use pharm_loadtest::sim::{Shard, Summary, World, run_simulated, state_digest};
use pharm_loadtest::subst_desk::SubstDesk;
use pharm_loadtest::workload::events;

/// The synthetic Orange Book desk, built once for every test.
fn desk() -> Arc<SubstDesk> {
    static DESK: OnceLock<Arc<SubstDesk>> = OnceLock::new();
    Arc::clone(
        DESK.get_or_init(|| {
            Arc::new(SubstDesk::generated(7).unwrap_or_else(|e| panic!("desk: {e}")))
        }),
    )
}

/// A fresh embedded world (new shard stores).
fn world() -> World {
    World::embedded(desk()).unwrap_or_else(|e| panic!("world: {e}"))
}

fn run(config: &Config) -> Summary {
    run_simulated(config, &world()).unwrap_or_else(|e| panic!("run: {e}"))
}

fn small(seed: u64) -> Config {
    Config {
        pharmacies: 6,
        terminals: 3,
        txns: 60,
        seed,
        ..Config::default()
    }
}

#[test]
fn same_seed_same_counts_decisions_and_digest() {
    let a = run(&small(11));
    let b = run(&small(11));
    assert_eq!(a, b);
    let c = run(&small(12));
    assert_ne!(a.digest, c.digest, "another seed, another day");
    assert_eq!(a.digest.len(), 64);
}

#[test]
fn a_reduced_day_holds_every_invariant() {
    let config = Config {
        pharmacies: 20,
        offline_share: 0,
        ..Config::default()
    };
    let s = run(&config);
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    assert_eq!(s.counts.errors, 0);
    assert_eq!(s.counts.total(), 20 * 5 * 100);
    assert!(s.counts.transfers_received > 0);
    let d = &s.counts.degraded;
    assert!(
        d.pmp_manual > 0 && d.cash_only > 0 && d.original_only > 0,
        "{d:?}"
    );
    assert!(
        s.stores.leader_losses > 0 && s.stores.terms > 20,
        "{:?}",
        s.stores
    );
    assert!(s.counts.lookups > 0);
}

#[test]
fn offline_stores_degrade_and_reconcile_on_reconnect() {
    let config = Config {
        pharmacies: 10,
        offline_share: 50,
        leader_loss_per_mille: 0,
        ..Config::default()
    };
    let s = run(&config);
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let d = &s.counts.degraded;
    assert!(d.offline > 0 && d.offline_controlled > 0, "{d:?}");
    assert_eq!(s.stores.reconciliations_sent, d.offline_controlled);
    assert!(s.stores.offline_rounds > 0);
}

#[test]
fn only_allowed_or_degradation_overridden_fills_are_dispensed() {
    let s = run(&Config {
        pharmacies: 10,
        ..Config::default()
    });
    let allowed = s.counts.with_outcome(Outcome::Allow) + s.counts.with_outcome(Outcome::Warn);
    assert_eq!(allowed + s.counts.degraded.overridden, s.counts.dispenses);
    let refused =
        s.counts.with_outcome(Outcome::RequireOverride) + s.counts.with_outcome(Outcome::Block);
    assert!(
        refused > s.counts.degraded.overridden,
        "{}",
        s.counts.table()
    );
}

#[test]
fn any_split_of_the_pharmacies_plays_the_same_day() {
    let config = small(5);
    let world = world();
    let mut shards = Vec::new();
    for part in 0..2u32 {
        let ids: Vec<u32> = (0..config.pharmacies)
            .filter(|p| (p / 2) % 2 == part)
            .collect();
        let Ok(mut shard) = Shard::new(&config, &world, ids.iter().copied()) else {
            panic!("seed")
        };
        for e in events(&config, ids) {
            let lookup = shard.substitution(&e);
            shard.play(&e, lookup.as_ref());
        }
        shard.finish();
        shards.push(shard);
    }
    let whole = run(&config);
    let mut counts = shards[0].counts.clone();
    counts.merge(&shards[1].counts);
    assert_eq!(counts, whole.counts);
    assert_eq!(
        state_digest(shards.iter().flat_map(|s| s.stores())),
        whole.digest
    );
}

fn broken(breaks: Breaks) -> Summary {
    run(&Config {
        pharmacies: 6,
        crash_share: 100,
        offline_share: 0,
        breaks,
        ..Config::default()
    })
}

#[test]
fn a_shard_store_that_drops_an_upload_is_named() {
    let s = broken(Breaks {
        drop_upload: true,
        ..Breaks::default()
    });
    assert!(
        s.violations
            .iter()
            .any(|v| v.invariant == "no transaction lost"),
        "{:?}",
        s.violations
    );
}

#[test]
fn a_restore_that_reuses_its_incarnation_is_named() {
    let clean = broken(Breaks::default());
    assert!(clean.violations.is_empty(), "{:?}", clean.violations);
    assert!(clean.stores.restores > 0);
    let s = broken(Breaks {
        reuse_incarnation: true,
        ..Breaks::default()
    });
    assert!(
        s.violations
            .iter()
            .any(|v| v.invariant == "units conserved per lot"),
        "{:?}",
        s.violations
    );
}
