//! The invariants a store must hold after the final sync, each checked against the oracle
//! the store kept while it played the day.

use std::fmt;

use pharm_shard::breaker::State;

use super::Store;
use crate::cloud::table::TxnTables;

/// An invariant that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant, as the report names it.
    pub invariant: &'static str,
    /// Where and how.
    pub detail: String,
}

impl Violation {
    /// A violation of `invariant`.
    pub fn new(invariant: &'static str, detail: String) -> Self {
        Violation { invariant, detail }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.invariant, self.detail)
    }
}

/// The invariants the final checks name, in report order.
pub const INVARIANTS: [&str; 17] = [
    "units conserved per lot",
    "replicas converged",
    "no transaction lost",
    "no transaction duplicated",
    "every offline controlled dispense reconciled",
    "queued claims sent",
    "breakers closed after recovery",
    "at most one leader",
    "at most one leader per term",
    "sync sessions succeed",
    "shard store writes succeed",
    "restores succeed",
    "terminal stores write",
    "no cross-tenant effect",
    "damaged messages refused",
    "controlled-substance log intact",
    "rolled-back files refused",
];

impl Store {
    /// Checks every invariant after [`Store::final_sync`]; returns what failed (the
    /// violations found during the day first).
    pub fn check(&self, tables: &dyn TxnTables) -> Vec<Violation> {
        let mut out = self.violations.clone();
        let p = self.index;
        let root = self.root.replica().state();
        // Units conserved: the cloud holds, per lot, exactly what every committed line adds up to.
        for (lot, expected) in &self.ledger {
            let value = root.value(lot);
            if value != *expected {
                out.push(Violation::new(
                    INVARIANTS[0],
                    format!(
                        "pharmacy {p} lot {lot:?}: cloud holds {value}, ledger says {expected}"
                    ),
                ));
                break;
            }
        }
        // Converged: every terminal sees the cloud's value of every lot.
        'terminals: for (t, term) in self.terminals.iter().enumerate() {
            let state = term.replica().state();
            for (info, value) in root.lots() {
                let mine = state.value(&info.key);
                if mine != value {
                    out.push(Violation::new(
                        INVARIANTS[1],
                        format!(
                            "pharmacy {p} terminal {t} lot {:?}: {mine}, cloud {value}",
                            info.key
                        ),
                    ));
                    break 'terminals;
                }
            }
        }
        self.check_rows(tables, &mut out);
        let missing: Vec<&String> = self
            .reconciliation_due
            .difference(&self.reconciliation_received)
            .collect();
        if let Some(first) = missing.first() {
            out.push(Violation::new(
                INVARIANTS[4],
                format!(
                    "pharmacy {p}: {} offline controlled dispenses without a reconciliation item at the cloud (first {first})",
                    missing.len()
                ),
            ));
        }
        if self.counts.claims_sent < self.claims_queued {
            out.push(Violation::new(
                INVARIANTS[5],
                format!(
                    "pharmacy {p}: {} claims queued, {} sent",
                    self.claims_queued, self.counts.claims_sent
                ),
            ));
        }
        // No cross-tenant effect: the cloud's state knows only this store's own replicas.
        let cloud = self.root.replica().id();
        if let Some((stray, _)) = root
            .vv()
            .iter()
            .find(|(r, _)| *r != cloud && !self.committed.contains_key(r))
        {
            out.push(Violation::new(
                INVARIANTS[13],
                format!("pharmacy {p}: the cloud's state counts replica {stray:?}, none of its terminals"),
            ));
        }
        for partner in [&self.pmp, &self.payer] {
            let state = partner.breaker_state();
            if partner.counts.opened > 0 && state != State::Closed {
                out.push(Violation::new(
                    INVARIANTS[6],
                    format!("pharmacy {p}: a breaker is {state:?} at the end of the day"),
                ));
            }
        }
        self.check_cs_log(&mut out);
        out
    }

    /// Every transaction each terminal incarnation committed is in the shard store exactly
    /// once, and nothing else is.
    fn check_rows(&self, tables: &dyn TxnTables, out: &mut Vec<super::Violation>) {
        let p = self.index;
        let rows = match tables.rows(self.shard, p) {
            Ok(rows) => rows,
            Err(e) => {
                out.push(Violation::new(INVARIANTS[2], e.to_string()));
                return;
            }
        };
        for (replica, last) in &self.committed {
            let seqs: Vec<u64> = rows
                .iter()
                .filter(|r| r.terminal == replica.terminal && r.incarnation == replica.incarnation)
                .map(|r| r.seq)
                .collect();
            let complete = seqs.len() as u64 == *last && seqs.iter().zip(1..).all(|(s, n)| *s == n);
            if !complete {
                let missing = (1..=*last).find(|n| !seqs.contains(n));
                out.push(Violation::new(
                    INVARIANTS[2],
                    format!(
                        "pharmacy {p} terminal {} incarnation {:x}: committed 1..={last}, the shard store holds {} (first missing {missing:?})",
                        replica.terminal,
                        replica.incarnation,
                        seqs.len()
                    ),
                ));
            }
        }
        let known = |t: u16, inc: u64| {
            self.committed
                .keys()
                .any(|r| r.terminal == t && r.incarnation == inc)
        };
        if let Some(stray) = rows.iter().find(|r| !known(r.terminal, r.incarnation)) {
            out.push(Violation::new(
                INVARIANTS[3],
                format!(
                    "pharmacy {p}: the shard store holds a transaction no terminal committed ({stray:?})"
                ),
            ));
        }
    }
}
