//! Reconciliation of negative stock, by a single writer (the store server).
//!
//! An offline oversell leaves a lot's recorded value below zero. That is allowed (the
//! package was in the pharmacist's hand; the gap is in the record), flagged, and corrected
//! here. Only the store server runs [`reconcile`]: compensations emitted by several replicas
//! would double-apply, a single writer avoids that without consensus.
//!
//! * Each negative lot gets a **deterministic** [`DiscrepancyId`]: the lot and a fingerprint
//!   of its counter cells, so every replica computing it from the same state gets the same id.
//! * A non-controlled lot with a sibling lot of the same SKU holding stock gets a paired
//!   compensation moving units from the sibling (the usual cause is a wrong lot scanned or
//!   FEFO charged on a stale view). Expired and held siblings are never used.
//! * Without such stock the discrepancy becomes a cycle-count task; a **controlled** lot is
//!   never corrected automatically: it becomes a pharmacist task.
//! * Either way the server records a compensation transaction naming the discrepancy, so
//!   running reconciliation again on the same state emits nothing new.

use pharm_core::time::Date;
use serde::Serialize;

use crate::ids::ReplicaId;
use crate::replica::{Commit, Op, OpError, Replica};
use crate::state::InventoryState;
use crate::txn::{DiscrepancyId, Line, LotKey};

/// What reconciliation did about one discrepancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Units moved from a sibling lot of the same SKU.
    MoveFrom {
        /// The sibling lot.
        lot: LotKey,
        /// Units moved.
        units: u64,
    },
    /// No sibling stock: count the shelf.
    CycleCount,
    /// Controlled substance: a pharmacist must investigate and record the adjustment.
    PharmacistTask,
}

/// One negative lot and what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discrepancy {
    /// Deterministic id.
    pub id: DiscrepancyId,
    /// The lot.
    pub lot: LotKey,
    /// Its value when found (negative).
    pub value: i64,
    /// Controlled substance.
    pub controlled: bool,
    /// Actions taken (moves from sibling lots, then a cycle count for any remainder; or a
    /// pharmacist task).
    pub actions: Vec<Action>,
}

/// FNV-1a over the lot's key, its transfer credit, every cell of other replicas, and only
/// the removals (`n`) of the store server's cells (any incarnation of its terminal): equal
/// on every replica holding the same state, unchanged by the units a compensation moves in
/// (so a discrepancy that a compensation only partly covered keeps its id and is not
/// compensated twice), but changed by the server's own sales or a new transfer winner.
fn fingerprint(state: &InventoryState, lot: &LotKey, server: ReplicaId) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |v: u64| {
        for b in v.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(u64::from(lot.origin.terminal));
    eat(lot.origin.incarnation);
    eat(u64::from(lot.local_no));
    eat(state.transfer_credit(lot));
    let mut cells: Vec<_> = state
        .cells(lot)
        .iter()
        .filter_map(|c| {
            if c.replica.terminal != server.terminal {
                Some((c.replica, c.p, c.n))
            } else {
                // A server cell that only holds compensated-in units does not count.
                (c.n > 0).then_some((c.replica, 0, c.n))
            }
        })
        .collect();
    cells.sort_unstable();
    for (r, p, n) in cells {
        eat(u64::from(r.terminal));
        eat(r.incarnation);
        eat(p);
        eat(n);
    }
    h
}

/// The discrepancies a state holds now, with their deterministic ids (read-only: any
/// replica can compute this to show flags; only the store server, `server`, acts on it).
pub fn discrepancies(
    state: &InventoryState,
    server: ReplicaId,
) -> Vec<(DiscrepancyId, LotKey, i64)> {
    let mut out: Vec<_> = state
        .lots()
        .filter(|(_, v)| *v < 0)
        .map(|(info, v)| {
            (
                DiscrepancyId {
                    lot: info.key,
                    version: fingerprint(state, &info.key, server),
                },
                info.key,
                v,
            )
        })
        .collect();
    out.sort_unstable_by_key(|(id, ..)| *id);
    out
}

/// Runs reconciliation on the store server's replica: records one compensation transaction
/// per new discrepancy and returns what was found and the commits to persist and sync.
///
/// Fails when the replica cannot record transactions (it is superseded); compensations
/// recorded before a failure stay recorded, and running it again records only the rest.
pub fn reconcile(
    server: &mut Replica,
    now_ms: u64,
    today: Date,
) -> Result<(Vec<Discrepancy>, Vec<Commit>), OpError> {
    let found = discrepancies(server.state(), server.id());
    let mut report = Vec::new();
    let mut commits = Vec::new();
    for (id, lot, value) in found {
        if server.state().compensated(&id) {
            continue;
        }
        let Some(info) = server.state().lot(&lot).cloned() else {
            continue;
        };
        let deficit = value.unsigned_abs();
        let mut actions = Vec::new();
        let mut lines = Vec::new();
        if info.controlled {
            actions.push(Action::PharmacistTask);
        } else {
            let mut candidates: Vec<(LotKey, i64, Date)> = server
                .state()
                .sku_lots(info.sku)
                .filter(|(l, v)| {
                    l.key != lot && *v > 0 && l.expiry >= today && !server.state().is_held(&l.key)
                })
                .map(|(l, v)| (l.key, v, l.expiry))
                .collect();
            // Earliest-expiring siblings first (where FEFO should have taken the units).
            candidates.sort_unstable_by_key(|(k, _, e)| (*e, *k));
            let mut left = deficit;
            for (from, v, _) in candidates {
                if left == 0 {
                    break;
                }
                let units = left.min(v.unsigned_abs());
                lines.push(Line {
                    lot: from,
                    delta: -(units as i64),
                });
                actions.push(Action::MoveFrom { lot: from, units });
                left -= units;
            }
            if left > 0 {
                actions.push(Action::CycleCount);
            }
            let moved = deficit - left;
            if moved > 0 {
                lines.push(Line {
                    lot,
                    delta: moved as i64,
                });
            }
        }
        let reference = match actions.last() {
            Some(Action::PharmacistTask) => "pharmacist task: controlled-substance discrepancy",
            Some(Action::CycleCount) => "reconciliation: cycle count task",
            _ => "reconciliation: units moved from sibling lots",
        };
        commits.push(server.apply(
            now_ms,
            Op::Compensate {
                discrepancy: id,
                lines,
                reference: reference.into(),
            },
        )?);
        report.push(Discrepancy {
            id,
            lot,
            value,
            controlled: info.controlled,
            actions,
        });
    }
    Ok((report, commits))
}
