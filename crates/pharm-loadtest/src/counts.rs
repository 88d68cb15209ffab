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
}

impl Counts {
    /// Counts one decision.
    pub fn decision(&mut self, kind: Kind, outcome: Outcome) {
        self.decisions[kind.index()][outcome_index(outcome)] += 1;
    }

    /// Transactions decided.
    pub fn total(&self) -> u64 {
        self.decisions.iter().flatten().sum()
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
    }

    /// The decisions table, one line per kind.
    pub fn table(&self) -> String {
        let mut out = format!("{:<16}", "kind");
        for o in OUTCOMES {
            out.push_str(&format!("{:>10}", outcome_name(o)));
        }
        out.push('\n');
        for kind in Kind::ALL {
            out.push_str(&format!("{:<16}", kind.name()));
            for n in self.decisions[kind.index()] {
                out.push_str(&format!("{n:>10}"));
            }
            out.push('\n');
        }
        out
    }
}
