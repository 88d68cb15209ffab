//! The sans-IO core: a set of pharmacies that plays arrivals in simulated time. Each
//! arrival's request goes through `pharm_core::rules::evaluate`; on allow or warn its
//! terminal's replica records the dispense (`pharm_sync::replica::Replica::apply`).
//!
//! Nothing here reads a clock: decisions, counts and the final state are a pure function
//! of the configuration (seed included). The binary wraps [`Shard::play`] in wall time.

use std::collections::BTreeMap;
use std::sync::Arc;

use pharm_core::rules::{Outcome, StateProfile, evaluate};

use crate::config::Config;
use crate::counts::Counts;
use crate::digest::state_digest;
use crate::pharmacy::{Pharmacy, START_MS, SeedError};
use crate::products::Templates;
use crate::requests::build;
use crate::workload::{Arrival, schedule};

/// A set of pharmacies one driver thread owns, with its counters.
#[derive(Debug)]
pub struct Shard {
    seed: u64,
    skus: u32,
    templates: Arc<Templates>,
    profile: StateProfile,
    pharmacies: BTreeMap<u32, Pharmacy>,
    /// What this shard counted so far.
    pub counts: Counts,
}

impl Shard {
    /// Seeds the pharmacies `ids` of `config`.
    pub fn new(
        config: &Config,
        templates: Arc<Templates>,
        ids: impl IntoIterator<Item = u32>,
    ) -> Result<Shard, SeedError> {
        let mut pharmacies = BTreeMap::new();
        for p in ids {
            let ph = Pharmacy::seed(
                p,
                config.terminals,
                config.skus,
                config.lots,
                config.seed_units,
            )?;
            pharmacies.insert(p, ph);
        }
        Ok(Shard {
            seed: config.seed,
            skus: config.skus,
            templates,
            profile: StateProfile::texas(),
            pharmacies,
            counts: Counts::default(),
        })
    }

    /// The pharmacy indexes this shard owns.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.pharmacies.keys().copied()
    }

    /// The pharmacies.
    pub fn pharmacies(&self) -> impl Iterator<Item = &Pharmacy> + '_ {
        self.pharmacies.values()
    }

    /// Plays one arrival: evaluates its request and, on allow or warn, dispenses on its
    /// terminal. Returns the decision's outcome (an arrival for a pharmacy this shard
    /// does not own is counted as an error and returns `None`).
    pub fn play(&mut self, arrival: &Arrival) -> Option<Outcome> {
        let Some(pharmacy) = self.pharmacies.get_mut(&arrival.pharmacy) else {
            self.counts.errors += 1;
            return None;
        };
        let txn = build(
            &self.templates,
            &self.profile,
            self.seed,
            self.skus,
            arrival,
        );
        let decision = evaluate(&txn.request, &txn.context);
        self.counts.decision(arrival.kind, decision.outcome);
        if matches!(decision.outcome, Outcome::Allow | Outcome::Warn) {
            match pharmacy.dispense(arrival.terminal, START_MS + arrival.at_ms, &txn.dispense) {
                Ok(commit) => {
                    self.counts.dispenses += 1;
                    self.counts.units += txn.dispense.qty;
                    if !commit.negative.is_empty() {
                        self.counts.negative += 1;
                    }
                }
                Err(_) => self.counts.errors += 1,
            }
        }
        Some(decision.outcome)
    }

    /// Checks unit conservation on every terminal of every pharmacy; returns the units
    /// dispensed in total.
    pub fn check_conservation(&self) -> Result<u64, String> {
        let mut total = 0;
        for p in self.pharmacies.values() {
            total += p.check_conservation()?;
        }
        Ok(total)
    }
}

/// What a run in simulated time produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The counters.
    pub counts: Counts,
    /// [`state_digest`] of the final state.
    pub digest: String,
    /// Units dispensed according to the conservation check (equals `counts.units`).
    pub conserved_units: u64,
}

/// Runs the whole workload of `config` in simulated time on one thread (no wall clock):
/// the reference the binary's timed run must agree with.
pub fn run_simulated(config: &Config) -> Result<Summary, String> {
    let templates = Arc::new(Templates::load()?);
    let mut shard =
        Shard::new(config, templates, 0..config.pharmacies).map_err(|e| e.to_string())?;
    for arrival in schedule(config, 0..config.pharmacies) {
        shard.play(&arrival);
    }
    let conserved_units = shard.check_conservation()?;
    Ok(Summary {
        digest: state_digest(shard.pharmacies()),
        counts: shard.counts,
        conserved_units,
    })
}
