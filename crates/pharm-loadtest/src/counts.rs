//! What the run counted: decisions by kind and outcome, dispenses, units, refusals.

use pharm_core::rules::Outcome;

use crate::workload::Kind;

/// Outcomes in report order.
pub const OUTCOMES: [Outcome; 4] = [
    Outcome::Allow,
    Outcome::Warn,
    Outcome::RequireOverride,
    Outcome::Block,
];

/// The outcome's name in the report.
pub fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "allow",
        Outcome::Warn => "warn",
        Outcome::RequireOverride => "override",
        Outcome::Block => "block",
    }
}

fn outcome_index(o: Outcome) -> usize {
    OUTCOMES
        .iter()
        .position(|x| *x == o)
        .unwrap_or(OUTCOMES.len() - 1)
}

/// Counters of a run (or of one driver thread; [`Counts::merge`] adds them up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Decisions by kind ([`Kind::index`]) and outcome ([`OUTCOMES`] order).
    pub decisions: [[u64; 4]; Kind::ALL.len()],
    /// Dispenses the terminals recorded.
    pub dispenses: u64,
    /// Units they dispensed.
    pub units: u64,
    /// Dispenses that drove a lot below zero (flagged for reconciliation).
    pub negative: u64,
    /// Allowed transactions a replica refused (errors).
    pub errors: u64,
    /// Degradations (the design's §5) and offline work.
    pub degraded: Degradations,
    /// Inventory operations recorded (receipts, counts with a difference, transfers out
    /// and in).
    pub inventory_ops: u64,
    /// Counts that matched the shelf (nothing to record).
    pub counts_matched: u64,
    /// Inventory operations a replica refused.
    pub inventory_refused: u64,
    /// Transfers received at the partner pharmacy (the second half of a transfer
    /// arrival, not a transaction of its own).
    pub transfers_received: u64,
    /// Substitution lookups answered.
    pub lookups: u64,
}

/// How often each dependency's failure changed what the terminal did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Degradations {
    /// Decisions made while the store could not reach the cloud.
    pub offline: u64,
    /// Controlled fills whose PMP check failed (outage, breaker open, offline): manual
    /// verification, logged for audit.
    pub pmp_manual: u64,
    /// Insurance fills sold cash with the claim queued (payer failure or offline).
    pub cash_only: u64,
    /// New fills without a substitution answer: the original product only.
    pub original_only: u64,
    /// Dispenses a pharmacist overrode because of a degradation (offline controlled, manual
    /// PMP verification).
    pub overridden: u64,
    /// Offline controlled dispenses (each with a reconciliation item).
    pub offline_controlled: u64,
}

impl Degradations {
    fn merge(&mut self, o: &Degradations) {
        self.offline += o.offline;
        self.pmp_manual += o.pmp_manual;
        self.cash_only += o.cash_only;
        self.original_only += o.original_only;
        self.overridden += o.overridden;
        self.offline_controlled += o.offline_controlled;
    }
}

impl Counts {
    /// Counts one decision.
    pub fn decision(&mut self, kind: Kind, outcome: Outcome) {
        self.decisions[kind.index()][outcome_index(outcome)] += 1;
    }

    /// Transactions decided by the rule engine.
    pub fn decided(&self) -> u64 {
        self.decisions.iter().flatten().sum()
    }

    /// Transactions played: decided ones plus inventory operations (matched counts
    /// included).
    pub fn total(&self) -> u64 {
        self.decided() + self.inventory_ops + self.counts_matched + self.inventory_refused
    }

    /// Decisions with `outcome`, all kinds.
    pub fn with_outcome(&self, outcome: Outcome) -> u64 {
        self.decisions
            .iter()
            .map(|row| row[outcome_index(outcome)])
            .sum()
    }

    /// Adds another thread's counts.
    pub fn merge(&mut self, other: &Counts) {
        for (row, o) in self.decisions.iter_mut().zip(&other.decisions) {
            for (a, b) in row.iter_mut().zip(o) {
                *a += b;
            }
        }
        self.dispenses += other.dispenses;
        self.units += other.units;
        self.negative += other.negative;
        self.errors += other.errors;
        self.degraded.merge(&other.degraded);
        self.inventory_ops += other.inventory_ops;
        self.counts_matched += other.counts_matched;
        self.inventory_refused += other.inventory_refused;
        self.transfers_received += other.transfers_received;
        self.lookups += other.lookups;
    }

    /// The decisions table, one line per kind.
    pub fn table(&self) -> String {
        let mut out = format!("{:<16}", "kind");
        for o in OUTCOMES {
            out.push_str(&format!("{:>10}", outcome_name(o)));
        }
        out.push('\n');
        for kind in Kind::ALL.into_iter().filter(|k| k.is_decided()) {
            out.push_str(&format!("{:<16}", kind.name()));
            for n in self.decisions[kind.index()] {
                out.push_str(&format!("{n:>10}"));
            }
            out.push('\n');
        }
        out
    }
}
