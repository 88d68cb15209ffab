//! The replicated inventory state of one store and its join.
//!
//! * Quantities: a PN-counter per (lot, replica) held densely as `(p, n)` totals. Only
//!   replica `r` ever raises its own cell, by applying its own transactions in sequence, so
//!   the join of two states is the per-field maximum (the `crdts::PNCounter` join; the
//!   tests use `crdts` as the oracle).
//! * Lots: immutable facts, joined by union. Lots are never removed.
//! * Holds and releases: grow-only sets (a lot is held while some hold is not released).
//! * Transfer receipts: grow-only set of recordings per transfer; the units count once, on
//!   the lot of the earliest recording, however many terminals scanned the delivery.
//! * Metadata (shelf location): last-writer-wins on (HLC, transaction id).
//! * Version vector ([`VersionVector`]): for each replica, the highest sequence number whose
//!   effects (and those of all earlier ones) are in the state.
//! * Heads: for each replica, the transaction at its version-vector entry (with its origin
//!   seal where known). A delta that raises a replica's entry carries that replica's head
//!   as evidence ([`InventoryState::join`] checks that the delta holds the head's effects,
//!   and the root checks its seal), and applying a transaction checks that it chains onto
//!   the head's digest, so a forked history is refused.

mod column;
mod effects;

mod index;
mod version;
mod view;

use pharm_core::ids::PharmacyId;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use column::{Cell3, Column};
use index::{Hot, LotIndex};

/// Hash maps of the state: foldhash (randomly seeded per process) instead of SipHash; the
/// keys hashed come from authenticated members of the store only.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use serde::{Deserialize, Serialize};

use crate::auth::Digest;
use crate::hlc::Hlc;
use crate::ids::{ReplicaId, TxnId};
use crate::txn::{
    DiscrepancyId, HoldId, HoldOp, Line, LotInfo, LotKey, SealedTxn, TransferId, Txn, TxnKind,
};

pub use version::VersionVector;
pub use view::{HoldView, InventoryView, LotView};

/// One replica's PN-counter cell for one lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    /// Replica that owns the cell.
    pub replica: ReplicaId,
    /// Units added by that replica (total).
    pub p: u64,
    /// Units removed by that replica (total).
    pub n: u64,
    /// Sequence number of the last transaction that changed the cell (or an upper bound).
    pub last_seq: u64,
}

#[derive(Debug, Clone, Default)]
struct LotEntry {
    /// The lot's facts: never change once known, so copies of a state share them.
    info: Option<Arc<LotInfo>>,
    /// Units credited by transfer receipts (derived from `transfers`).
    transfer_in: u64,
}

/// Shelf location (or other mutable lot metadata), last writer wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lww {
    /// The value.
    pub value: String,
    /// When written.
    pub hlc: Hlc,
    /// Which transaction wrote it (tie-break and delta bookkeeping).
    pub by: TxnId,
}

impl Lww {
    fn wins_over(&self, other: &Lww) -> bool {
        (self.hlc, self.by) > (other.hlc, other.by)
    }
}

/// Result of applying a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied now.
    Applied,
    /// Already applied earlier (duplicate delivery): nothing changed.
    Duplicate,
    /// An earlier transaction of the same replica is missing: buffer and retry.
    Gap {
        /// The sequence number expected next.
        expected: u64,
    },
    /// A line, hold or metadata entry names a lot this state does not know yet (created by
    /// a transaction that has not arrived): nothing changed; retry once the lot is known.
    MissingLot {
        /// The unknown lot.
        lot: LotKey,
    },
    /// The transaction does not continue the history this state holds for its replica (its
    /// chain link differs from the head's digest, or it differs from the head at the same
    /// sequence number): two different histories exist under one replica id. Nothing
    /// changed.
    Forked {
        /// The sequence number at which the histories differ (at the latest).
        seq: u64,
    },
}

/// A delta that must not be joined: it contradicts itself or the receiving state. Nothing
/// was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeltaError {
    /// The version vector raises a replica's entry without that replica's head
    /// transaction at that sequence number as evidence.
    #[error("the delta raises {replica} to {seq} without its transaction at {seq}")]
    MissingHead {
        /// Replica.
        replica: ReplicaId,
        /// Claimed sequence number.
        seq: u64,
    },
    /// A head does not match the delta's version vector, or the delta lacks an effect of
    /// its head.
    #[error("head {head:?} is inconsistent with the delta: {why}")]
    InconsistentHead {
        /// The head.
        head: TxnId,
        /// What is wrong.
        why: &'static str,
    },
    /// An effect is stamped with a transaction beyond the delta's version vector.
    #[error("{what} stamped {stamp:?} is beyond the delta's version vector")]
    BeyondVersion {
        /// Which kind of effect.
        what: &'static str,
        /// The stamp.
        stamp: TxnId,
    },
    /// A cell of a replica the delta does not raise is larger than this state's: it would
    /// create units no transaction accounts for.
    #[error("cell of {replica} on lot {lot:?} exceeds what its version accounts for")]
    Inflated {
        /// Lot.
        lot: LotKey,
        /// Replica.
        replica: ReplicaId,
    },
    /// A cell or effect names a lot that neither the state nor the delta knows.
    #[error("lot {0:?} is not known")]
    UnknownLot(LotKey),
    /// The delta holds another history of a replica than this state (a head with the same
    /// sequence number and a different digest, or the next one not chained to this state's
    /// head).
    #[error("the delta holds another history of {replica} at {seq}")]
    Forked {
        /// Replica.
        replica: ReplicaId,
        /// Sequence number.
        seq: u64,
    },
}

/// Changes another replica lacks, computed from its version vector.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateDelta {
    /// The sender's version vector: after joining, the receiver has every effect up to it.
    pub vv: VersionVector,
    /// The version the delta was computed against (the receiver's, as the sender knew it).
    /// A replica that has less than this must not join it: the delta leaves out effects it
    /// assumes the receiver has.
    pub base: VersionVector,
    /// Lots the receiver does not know.
    pub lots: Vec<LotInfo>,
    /// Counter cells changed since the receiver's version: (lot, replica, p, n).
    pub cells: Vec<(LotKey, ReplicaId, u64, u64)>,
    /// Holds placed.
    pub holds: Vec<(HoldId, LotKey, String)>,
    /// Holds released: (hold, releasing transaction).
    pub releases: Vec<(HoldId, TxnId)>,
    /// Transfer receipts: (transfer, recording transaction, lot, units).
    pub transfers: Vec<(TransferId, TxnId, LotKey, u64)>,
    /// Discrepancies compensated: (discrepancy, compensating transaction).
    pub compensations: Vec<(DiscrepancyId, TxnId)>,
    /// Metadata written.
    pub meta: Vec<(LotKey, Lww)>,
    /// For every replica whose entry `vv` raises above `base`, its transaction at that
    /// entry (the evidence for the raise, sealed where the sender has the seal), in replica
    /// order.
    pub heads: Vec<SealedTxn>,
}

impl StateDelta {
    /// Nothing to send (apart from the version vector).
    pub fn is_empty(&self) -> bool {
        self.lots.is_empty()
            && self.cells.is_empty()
            && self.holds.is_empty()
            && self.releases.is_empty()
            && self.transfers.is_empty()
            && self.compensations.is_empty()
            && self.meta.is_empty()
            && self.heads.is_empty()
    }
}

/// The inventory state of one store as one replica sees it.
///
/// A copy shares what operations rarely write (the lots' slots, keys and facts, the SKU
/// lists, the counter columns) with the state it was copied from until one of them writes
/// it (copy on write): a terminal's copy of a store's state costs the lot index and the
/// small tables, and the copies of one state share its lots in memory and in the cache.
#[derive(Debug, Clone)]
pub struct InventoryState {
    store: PharmacyId,
    lots: Arc<Vec<LotEntry>>,
    /// How many of `lots` have their facts (a merge skips looking for facts when the other
    /// side has none this side lacks).
    lots_with_facts: usize,
    /// Lot key of each slot (slot order = order of first sight).
    keys: Arc<Vec<LotKey>>,
    /// Lot key → value, SKU and slot (together: one cache line per operation).
    index: LotIndex,
    columns: Vec<Column>,
    by_sku: Arc<Map<u32, Vec<u32>>>,
    vv: VersionVector,
    holds: BTreeMap<HoldId, (LotKey, String)>,
    releases: BTreeMap<HoldId, TxnId>,
    transfers: BTreeMap<TransferId, BTreeMap<TxnId, (LotKey, u64)>>,
    compensations: BTreeMap<DiscrepancyId, TxnId>,
    meta: Map<LotKey, Lww>,
    heads: Map<ReplicaId, SealedTxn>,
}

fn seq_of(vv: &VersionVector, r: &ReplicaId) -> u64 {
    vv.get(r)
}

impl InventoryState {
    /// An empty state for a store.
    pub fn new(store: PharmacyId) -> Self {
        InventoryState {
            store,
            lots: Arc::default(),
            lots_with_facts: 0,
            keys: Arc::default(),
            index: LotIndex::default(),
            columns: Vec::new(),
            by_sku: Arc::default(),
            vv: VersionVector::new(),
            holds: BTreeMap::new(),
            releases: BTreeMap::new(),
            transfers: BTreeMap::new(),
            compensations: BTreeMap::new(),
            meta: Map::default(),
            heads: Map::default(),
        }
    }

    /// The store this state belongs to.
    pub fn store(&self) -> PharmacyId {
        self.store
    }

    /// The version vector.
    pub fn vv(&self) -> &VersionVector {
        &self.vv
    }

    fn slot(&mut self, key: LotKey) -> usize {
        if let Some(h) = self.index.get(&key) {
            return h.slot();
        }
        let i = self.lots.len();
        Arc::make_mut(&mut self.lots).push(LotEntry::default());
        Arc::make_mut(&mut self.keys).push(key);
        self.index.insert(key, i as u32);
        i
    }

    /// Adds `change` to a known lot's value.
    fn add_total(&mut self, lot: &LotKey, change: i128) {
        self.index.add(lot, change);
    }

    fn add_info(&mut self, info: &LotInfo) {
        self.add_facts(info, || Arc::new(info.clone()));
    }

    /// Records a lot's facts unless known; `shared` makes the copy kept.
    fn add_facts(&mut self, info: &LotInfo, shared: impl FnOnce() -> Arc<LotInfo>) {
        let i = self.slot(info.key);
        if self.lots[i].info.is_none() {
            Arc::make_mut(&mut self.by_sku)
                .entry(info.sku)
                .or_default()
                .push(i as u32);
            self.index.set_sku(&info.key, info.sku);
            Arc::make_mut(&mut self.lots)[i].info = Some(shared());
            self.lots_with_facts += 1;
        }
    }

    fn column_index(&mut self, replica: ReplicaId) -> usize {
        match self.columns.iter().position(|c| c.replica == replica) {
            Some(i) => i,
            None => {
                self.columns.push(Column::new(replica));
                self.columns.len() - 1
            }
        }
    }

    /// The `[p, n, last_seq]` cell of `replica` for the lot in `slot`.
    fn cell_at(&mut self, slot: usize, replica: ReplicaId) -> &mut Cell3 {
        let c = self.column_index(replica);
        let slots = self.keys.len();
        self.columns[c].get_mut(slot, slots)
    }

    /// The head of a replica: its transaction at this state's version-vector entry.
    pub fn head(&self, replica: &ReplicaId) -> Option<&Arc<Txn>> {
        self.heads.get(replica).map(|h| &h.txn)
    }

    /// The head of a replica with its origin seal, where known.
    pub fn sealed_head(&self, replica: &ReplicaId) -> Option<&SealedTxn> {
        self.heads.get(replica)
    }

    /// Every head (in no particular order).
    pub fn heads(&self) -> impl Iterator<Item = &Arc<Txn>> + '_ {
        self.heads.values().map(|h| &h.txn)
    }

    /// Whether the lot's facts are known here.
    pub fn knows_lot(&self, lot: &LotKey) -> bool {
        self.sku_of(lot).is_some()
    }

    /// The SKU of a lot whose facts are known here.
    pub fn sku_of(&self, lot: &LotKey) -> Option<u32> {
        self.index.get(lot)?.sku()
    }

    /// The first lot a transaction names that neither this state nor the transaction itself
    /// knows (its lines, holds placed, metadata and compensation).
    pub fn missing_lot(&self, txn: &Txn) -> Option<LotKey> {
        let created = |k: &LotKey| txn.new_lots.iter().any(|l| l.key == *k);
        let held = txn.holds.iter().filter_map(|h| match h {
            HoldOp::Place { lot, .. } => Some(*lot),
            HoldOp::Release { .. } => None,
        });
        txn.lines
            .iter()
            .map(|l| l.lot)
            .chain(held)
            .chain(txn.meta.iter().map(|m| m.0))
            .chain(txn.compensates.map(|c| c.lot))
            .find(|k| !created(k) && !self.knows_lot(k))
    }

    /// How `txn` relates to this state without changing it: whether [`apply`](Self::apply)
    /// would apply it, or why not.
    pub fn check(&self, txn: &Txn) -> Applied {
        let r = txn.id.replica;
        let have = seq_of(&self.vv, &r);
        let head = self.heads.get(&r).map(|h| &h.txn);
        if txn.id.seq <= have {
            return match head {
                Some(h) if h.id.seq == txn.id.seq && h.digest != txn.digest => {
                    Applied::Forked { seq: txn.id.seq }
                }
                _ => Applied::Duplicate,
            };
        }
        if txn.id.seq != have + 1 {
            return Applied::Gap { expected: have + 1 };
        }
        let link = if have == 0 {
            Some(Digest::default())
        } else {
            head.filter(|h| h.id.seq == have).map(|h| h.digest)
        };
        if link.is_some_and(|l| l != txn.prev) {
            return Applied::Forked { seq: txn.id.seq };
        }
        match self.missing_lot(txn) {
            Some(lot) => Applied::MissingLot { lot },
            None => Applied::Applied,
        }
    }

    /// Applies a transaction exactly once, in its replica's sequence order, if it continues
    /// the replica's history ([`Txn::prev`] is the head's digest) and every lot it names is
    /// known; otherwise nothing changes and the result says why.
    pub fn apply(&mut self, txn: Arc<Txn>) -> Applied {
        let verdict = self.check(&txn);
        if verdict != Applied::Applied {
            return verdict;
        }
        let r = txn.id.replica;
        for info in &txn.new_lots {
            self.add_info(info);
        }
        if let (TxnKind::TransferIn, Some(t)) = (txn.kind, txn.transfer) {
            // Transfer receipts are credited through the transfer record, counted once even
            // when two terminals record the same delivery.
            let units: u64 = txn.lines.iter().map(|l| l.delta.unsigned_abs()).sum();
            if let Some(lot) = txn.lines.first().map(|l| l.lot) {
                self.record_transfer(t, txn.id, lot, units);
            }
        }
        let cell_lines = if txn.kind == TxnKind::TransferIn {
            &[][..]
        } else {
            &txn.lines[..]
        };
        if !cell_lines.is_empty() {
            let c = self.column_index(r);
            for line in cell_lines {
                self.charge(c, line, txn.id.seq);
            }
        }
        for op in &txn.holds {
            match op {
                HoldOp::Place { lot, reference } => {
                    self.holds
                        .entry(txn.id)
                        .or_insert_with(|| (*lot, reference.clone()));
                }
                HoldOp::Release { hold } => {
                    let e = self.releases.entry(*hold).or_insert(txn.id);
                    *e = (*e).min(txn.id);
                }
            }
        }
        for (lot, value) in &txn.meta {
            self.set_meta(
                *lot,
                Lww {
                    value: value.clone(),
                    hlc: txn.hlc,
                    by: txn.id,
                },
            );
        }
        if let Some(d) = txn.compensates {
            let e = self.compensations.entry(d).or_insert(txn.id);
            *e = (*e).min(txn.id);
        }
        self.vv.raise(r, txn.id.seq);
        // The head seal stays: it now seals an ancestor of the head (see `Txn::head_seal`),
        // which the root can check once it holds the transactions since.
        match self.heads.entry(r) {
            Entry::Occupied(mut head) => head.get_mut().txn = txn,
            Entry::Vacant(slot) => {
                slot.insert(SealedTxn::unsealed(txn));
            }
        }
        Applied::Applied
    }

    /// Adds a line to the cell of column `c` and to its lot's value, with one lookup of the
    /// lot.
    fn charge(&mut self, c: usize, line: &Line, seq: u64) {
        let slots = self.keys.len();
        let column = &mut self.columns[c];
        let known = self.index.update(&line.lot, |slot| {
            let cell = column.get_mut(slot, slots);
            let field = usize::from(line.delta < 0);
            let before = cell[field];
            cell[field] = before.saturating_add(line.delta.unsigned_abs());
            cell[2] = seq;
            let added = i128::from(cell[field] - before);
            if field == 0 { added } else { -added }
        });
        if known {
            return;
        }
        // Not reached after `check` (every lot is known); kept so that nothing is dropped.
        self.slot(line.lot);
        if self.index.get(&line.lot).is_some() {
            self.charge(c, line, seq);
        }
    }

    fn record_transfer(&mut self, t: TransferId, by: TxnId, lot: LotKey, units: u64) {
        self.slot(lot);
        let entry = self.transfers.entry(t).or_default();
        let before = entry.iter().next().map(|(_, v)| *v);
        entry.entry(by).or_insert((lot, units));
        let after = entry.iter().next().map(|(_, v)| *v);
        if before != after {
            if let Some((l, u)) = before {
                let i = self.slot(l);
                let e = &mut Arc::make_mut(&mut self.lots)[i];
                let old = e.transfer_in;
                e.transfer_in = old.saturating_sub(u);
                let change = -i128::from(old - e.transfer_in);
                self.add_total(&l, change);
            }
            if let Some((l, u)) = after {
                let i = self.slot(l);
                let e = &mut Arc::make_mut(&mut self.lots)[i];
                let old = e.transfer_in;
                e.transfer_in = old.saturating_add(u);
                let change = i128::from(e.transfer_in - old);
                self.add_total(&l, change);
            }
        }
    }

    /// Units on hand of a lot: Σ(p − n) over replicas plus transfer receipts. May be negative
    /// after an offline oversell.
    pub fn value(&self, lot: &LotKey) -> i64 {
        self.index
            .get(lot)
            .map_or(0, |h| Self::clamped(self.index.total(lot, h)))
    }

    /// The lot's facts, if known.
    pub fn lot(&self, lot: &LotKey) -> Option<&LotInfo> {
        self.index
            .get(lot)
            .and_then(|h| self.lots[h.slot()].info.as_deref())
    }

    /// Every known lot with its value.
    pub fn lots(&self) -> impl Iterator<Item = (&LotInfo, i64)> + '_ {
        self.lots
            .iter()
            .enumerate()
            .filter_map(|(slot, e)| e.info.as_deref().map(|i| (i, self.slot_value(slot))))
    }

    /// Lots of a SKU.
    pub fn sku_lots(&self, sku: u32) -> impl Iterator<Item = (&LotInfo, i64)> + '_ {
        self.by_sku
            .get(&sku)
            .into_iter()
            .flatten()
            .filter_map(|&i| {
                let e = &self.lots[i as usize];
                e.info
                    .as_deref()
                    .map(|info| (info, self.slot_value(i as usize)))
            })
    }

    /// The non-empty cells of a lot, one per replica that changed it (for reconciliation,
    /// persistence and tests).
    pub fn cells(&self, lot: &LotKey) -> Vec<Cell> {
        let Some(h) = self.index.get(lot) else {
            return Vec::new();
        };
        self.slot_cells(h.slot()).collect()
    }

    /// Units credited to a lot by transfer receipts.
    pub fn transfer_credit(&self, lot: &LotKey) -> u64 {
        self.index
            .get(lot)
            .map_or(0, |h| self.lots[h.slot()].transfer_in)
    }

    /// One replica's cell of a lot.
    pub fn cell(&self, lot: &LotKey, replica: ReplicaId) -> Option<Cell> {
        let slot = self.index.get(lot)?.slot();
        let col = self.columns.iter().find(|c| c.replica == replica)?;
        col.get(slot).filter(|c| **c != [0; 3]).map(|c| Cell {
            replica,
            p: c[0],
            n: c[1],
            last_seq: c[2],
        })
    }

    fn slot_cells(&self, slot: usize) -> impl Iterator<Item = Cell> + '_ {
        self.columns.iter().filter_map(move |col| {
            col.get(slot).filter(|c| **c != [0; 3]).map(|c| Cell {
                replica: col.replica,
                p: c[0],
                n: c[1],
                last_seq: c[2],
            })
        })
    }

    fn slot_value(&self, slot: usize) -> i64 {
        self.keys
            .get(slot)
            .and_then(|k| self.index.get(k).map(|h| self.index.total(k, h)))
            .map_or(0, Self::clamped)
    }

    fn clamped(total: i128) -> i64 {
        total.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// Σ(new − old) of `p` minus that of `n`: the change a cell update makes to its lot.
    fn cell_change(old: &[u64; 3], new: &[u64; 3]) -> i128 {
        (i128::from(new[0]) - i128::from(old[0])) - (i128::from(new[1]) - i128::from(old[1]))
    }

    /// The lot is under a hold that has not been released.
    pub fn is_held(&self, lot: &LotKey) -> bool {
        self.holds
            .iter()
            .any(|(id, (l, _))| l == lot && !self.releases.contains_key(id))
    }

    /// Active (unreleased) holds.
    pub fn active_holds(&self) -> impl Iterator<Item = (&HoldId, &LotKey, &str)> + '_ {
        self.holds
            .iter()
            .filter(|(id, _)| !self.releases.contains_key(id))
            .map(|(id, (l, r))| (id, l, r.as_str()))
    }

    /// Whether a transfer's receipt is recorded.
    pub fn transfer_received(&self, t: &TransferId) -> bool {
        self.transfers.contains_key(t)
    }

    /// Whether a discrepancy was compensated.
    pub fn compensated(&self, d: &DiscrepancyId) -> bool {
        self.compensations.contains_key(d)
    }

    /// Metadata of a lot.
    pub fn meta(&self, lot: &LotKey) -> Option<&Lww> {
        self.meta.get(lot)
    }

    /// Writes lot metadata (last writer wins).
    fn set_meta(&mut self, lot: LotKey, value: Lww) {
        self.slot(lot);
        match self.meta.get(&lot) {
            Some(old) if !value.wins_over(old) => {}
            _ => {
                self.meta.insert(lot, value);
            }
        }
    }

    /// The slot of a lot: the order in which this state first saw it (FEFO's tie-break).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn slot_of(&self, lot: &LotKey) -> Option<usize> {
        self.index.get(lot).map(Hot::slot)
    }

    /// Number of lots known (with or without facts).
    pub fn lot_count(&self) -> usize {
        self.lots.len()
    }

    /// What a replica at version `their` lacks.
    pub fn delta_since(&self, their: &VersionVector) -> StateDelta {
        self.delta_skipping(their, &[])
    }

    /// [`delta_since`](Self::delta_since) without the effects of the transactions of the
    /// replicas in `skip` (a client uploads its own as transactions; a head the receiver
    /// would not take holds back its replica), unless another replica's head shares an
    /// effect with them (both released one hold, say): then the whole delta.
    pub fn delta_skipping(&self, their: &VersionVector, skip: &[ReplicaId]) -> StateDelta {
        let skipped = |r: &ReplicaId| skip.contains(r);
        let newer = |id: &TxnId| id.seq > seq_of(their, &id.replica) && !skipped(&id.replica);
        // The delta vouches only for what it carries: without `skip`'s effects it must not
        // raise the receiver's version of them.
        let vv = self.vv.iter().filter(|(r, _)| !skipped(r)).collect();
        let mut d = StateDelta {
            vv,
            base: their.clone(),
            ..StateDelta::default()
        };
        for e in self.lots.iter() {
            if let Some(info) = &e.info
                && info.created_seq > seq_of(their, &info.key.origin)
                && !skipped(&info.key.origin)
            {
                d.lots.push(LotInfo::clone(info));
            }
        }
        for col in &self.columns {
            let bound = seq_of(their, &col.replica);
            // Every cell's last_seq is at most vv[replica]: nothing newer, nothing to scan.
            if skipped(&col.replica) || seq_of(&self.vv, &col.replica) <= bound {
                continue;
            }
            for (slot, c) in col.iter() {
                if c[2] > bound {
                    d.cells.push((self.keys[slot], col.replica, c[0], c[1]));
                }
            }
        }
        d.lots.sort_unstable_by_key(|l| l.key);
        d.cells.sort_unstable_by_key(|c| (c.1, c.0));
        d.holds = self
            .holds
            .iter()
            .filter(|(id, _)| newer(id))
            .map(|(id, (l, r))| (*id, *l, r.clone()))
            .collect();
        d.releases = self
            .releases
            .iter()
            .filter(|(_, by)| newer(by))
            .map(|(h, by)| (*h, *by))
            .collect();
        for (t, recs) in &self.transfers {
            for (by, (lot, units)) in recs {
                if newer(by) {
                    d.transfers.push((*t, *by, *lot, *units));
                }
            }
        }
        d.compensations = self
            .compensations
            .iter()
            .filter(|(_, by)| newer(by))
            .map(|(k, by)| (*k, *by))
            .collect();
        let mut meta: Vec<(LotKey, Lww)> = self
            .meta
            .iter()
            .filter(|(_, m)| newer(&m.by))
            .map(|(l, m)| (*l, m.clone()))
            .collect();
        meta.sort_unstable_by_key(|(l, _)| *l);
        d.meta = meta;
        let mut heads: Vec<SealedTxn> =
            d.vv.iter()
                .filter(|(r, seq)| *seq > seq_of(their, r))
                .filter_map(|(r, _)| self.heads.get(&r).cloned())
                .collect();
        heads.sort_unstable_by_key(|h| h.txn.id.replica);
        d.heads = heads;
        if skip
            .iter()
            .any(|x| self.heads_need_effects_of(&d, their, *x))
        {
            return self.delta_since(their);
        }
        d
    }

    /// Whether a head of `d` has an effect this state records under one of `x`'s
    /// transactions the receiver lacks (a hold both released, a discrepancy both
    /// compensated, a lot's metadata `x` wrote later): leaving `x`'s effects out would
    /// leave that head without its effect, so the delta must carry them.
    fn heads_need_effects_of(&self, d: &StateDelta, their: &VersionVector, x: ReplicaId) -> bool {
        let absorbed = |by: &TxnId| by.replica == x && by.seq > seq_of(their, &x);
        d.heads.iter().any(|SealedTxn { txn: h, .. }| {
            h.holds.iter().any(|op| {
                matches!(op, HoldOp::Release { hold }
                    if self.releases.get(hold).is_some_and(absorbed))
            }) || h
                .compensates
                .is_some_and(|c| self.compensations.get(&c).is_some_and(absorbed))
                || h.meta
                    .iter()
                    .any(|(lot, _)| self.meta.get(lot).is_some_and(|m| absorbed(&m.by)))
        })
    }

    /// Whether this state has at least the delta's base (a delta computed for a later
    /// version leaves out effects it assumes the receiver has).
    pub fn has_base(&self, d: &StateDelta) -> bool {
        d.base.iter().all(|(r, seq)| seq_of(&self.vv, &r) >= seq)
    }

    /// Checks that a delta is consistent in itself and with this state (see
    /// [`DeltaError`]), without changing anything. Knowledge of a replica advances only
    /// with evidence: every entry the delta's version vector raises above this state's
    /// needs that replica's head transaction, whose effects the delta must hold; a cell of a
    /// replica it does not raise may not exceed this state's; every lot it names must be
    /// known; nothing it carries may be stamped beyond its version vector.
    pub fn check_delta(&self, d: &StateDelta) -> Result<(), DeltaError> {
        let raised = |r: &ReplicaId| seq_of(&d.vv, r) > seq_of(&self.vv, r);
        let within = |what: &'static str, id: &TxnId| {
            if id.seq == 0 || id.seq > seq_of(&d.vv, &id.replica) {
                Err(DeltaError::BeyondVersion { what, stamp: *id })
            } else {
                Ok(())
            }
        };
        let delta_lots: HashMap<LotKey, &LotInfo> = d.lots.iter().map(|l| (l.key, l)).collect();
        let known = |k: &LotKey| {
            if self.knows_lot(k) || delta_lots.contains_key(k) {
                Ok(())
            } else {
                Err(DeltaError::UnknownLot(*k))
            }
        };
        for l in &d.lots {
            within(
                "lot",
                &TxnId {
                    replica: l.key.origin,
                    seq: l.created_seq,
                },
            )?;
        }
        let mut cells: HashMap<(LotKey, ReplicaId), (u64, u64)> = HashMap::new();
        for &(lot, r, p, n) in &d.cells {
            known(&lot)?;
            if seq_of(&d.vv, &r) == 0 {
                return Err(DeltaError::BeyondVersion {
                    what: "cell",
                    stamp: TxnId { replica: r, seq: 0 },
                });
            }
            if !raised(&r) {
                let mine = self.cell(&lot, r).map_or((0, 0), |c| (c.p, c.n));
                if p > mine.0 || n > mine.1 {
                    return Err(DeltaError::Inflated { lot, replica: r });
                }
            }
            cells.insert((lot, r), (p, n));
        }
        for (id, lot, _) in &d.holds {
            within("hold", id)?;
            known(lot)?;
        }
        for (hold, by) in &d.releases {
            within("release", by)?;
            if hold.seq == 0 {
                return Err(DeltaError::BeyondVersion {
                    what: "released hold",
                    stamp: *hold,
                });
            }
        }
        for (_, by, lot, _) in &d.transfers {
            within("transfer receipt", by)?;
            known(lot)?;
        }
        for (c, by) in &d.compensations {
            within("compensation", by)?;
            known(&c.lot)?;
        }
        for (lot, m) in &d.meta {
            within("metadata", &m.by)?;
            known(lot)?;
        }
        let mut heads: HashMap<ReplicaId, &Txn> = HashMap::new();
        for h in d.heads.iter().map(|h| &*h.txn) {
            let bad = |why| DeltaError::InconsistentHead { head: h.id, why };
            if seq_of(&d.vv, &h.id.replica) != h.id.seq || h.id.seq == 0 {
                return Err(bad("it is not at the delta's version of its replica"));
            }
            if heads.insert(h.id.replica, h).is_some() {
                return Err(bad("two heads for one replica"));
            }
            if let Some(mine) = self.head(&h.id.replica)
                && ((mine.id.seq == h.id.seq && mine.digest != h.digest)
                    || (mine.id.seq.checked_add(1) == Some(h.id.seq) && mine.digest != h.prev))
            {
                return Err(DeltaError::Forked {
                    replica: h.id.replica,
                    seq: h.id.seq,
                });
            }
        }
        for (r, seq) in d.vv.iter() {
            if !raised(&r) {
                continue;
            }
            let h = heads
                .get(&r)
                .ok_or(DeltaError::MissingHead { replica: r, seq })?;
            self.check_head_effects(d, h, &cells, &delta_lots)?;
        }
        Ok(())
    }

    /// The effects of a raised replica's head are in the delta (or, for effects that other
    /// writers may supersede, already here).
    fn check_head_effects(
        &self,
        d: &StateDelta,
        h: &Txn,
        cells: &HashMap<(LotKey, ReplicaId), (u64, u64)>,
        delta_lots: &HashMap<LotKey, &LotInfo>,
    ) -> Result<(), DeltaError> {
        let bad = |why| DeltaError::InconsistentHead { head: h.id, why };
        let r = h.id.replica;
        for l in &h.new_lots {
            if l.key.origin != r || delta_lots.get(&l.key).is_none_or(|dl| **dl != *l) {
                return Err(bad("a lot it creates is not in the delta"));
            }
        }
        if h.kind == TxnKind::TransferIn {
            if !d.transfers.iter().any(|t| t.1 == h.id) {
                return Err(bad("its transfer receipt is not in the delta"));
            }
        } else if h.lines.iter().any(|l| !cells.contains_key(&(l.lot, r))) {
            return Err(bad("a cell it changed is not in the delta"));
        }
        for op in &h.holds {
            let present = match op {
                HoldOp::Place { .. } => d.holds.iter().any(|x| x.0 == h.id),
                HoldOp::Release { hold } => {
                    self.releases.contains_key(hold) || d.releases.iter().any(|x| x.0 == *hold)
                }
            };
            if !present {
                return Err(bad("a hold it placed or released is not in the delta"));
            }
        }
        for (lot, _) in &h.meta {
            let newest = d
                .meta
                .iter()
                .filter(|m| m.0 == *lot)
                .map(|m| (m.1.hlc, m.1.by))
                .chain(self.meta.get(lot).map(|m| (m.hlc, m.by)))
                .max();
            if newest.is_none_or(|n| n < (h.hlc, h.id)) {
                return Err(bad("its metadata is not in the delta"));
            }
        }
        if let Some(c) = h.compensates
            && !self.compensations.contains_key(&c)
            && !d.compensations.iter().any(|x| x.0 == c)
        {
            return Err(bad("its compensation is not in the delta"));
        }
        Ok(())
    }

    /// Joins a delta computed against this replica's version (or a full state as a delta
    /// from the empty version), after [`check_delta`](Self::check_delta). A delta that
    /// needs something this state does not have yet — a version it was computed for
    /// ([`has_base`](Self::has_base)), or a lot whose creating transaction has not arrived
    /// ([`DeltaError::UnknownLot`]) — is left alone and `Ok(false)` returned: a later
    /// session brings a fitting one, and nothing it says is counted meanwhile. An
    /// inconsistent delta is an error. Either way nothing changes unless `Ok(true)`.
    pub fn join(&mut self, d: &StateDelta) -> Result<bool, DeltaError> {
        if !self.has_base(d) {
            return Ok(false);
        }
        match self.check_delta(d) {
            Ok(()) => {}
            Err(DeltaError::UnknownLot(_)) => return Ok(false),
            Err(e) => return Err(e),
        }
        self.join_unchecked(d);
        Ok(true)
    }

    /// Joins without any check: for state this process wrote itself (the durable store's
    /// reload).
    pub(crate) fn join_unchecked(&mut self, d: &StateDelta) {
        for info in &d.lots {
            self.add_info(info);
        }
        for &(lot, replica, p, n) in &d.cells {
            let bound = seq_of(&d.vv, &replica);
            let slot = self.slot(lot);
            let c = self.cell_at(slot, replica);
            let old = *c;
            c[0] = c[0].max(p);
            c[1] = c[1].max(n);
            c[2] = c[2].max(bound);
            let change = Self::cell_change(&old, c);
            self.add_total(&lot, change);
        }
        for (id, lot, r) in &d.holds {
            self.slot(*lot);
            self.holds.entry(*id).or_insert_with(|| (*lot, r.clone()));
        }
        for (h, by) in &d.releases {
            let e = self.releases.entry(*h).or_insert(*by);
            *e = (*e).min(*by);
        }
        for &(t, by, lot, units) in &d.transfers {
            self.record_transfer(t, by, lot, units);
        }
        for (k, by) in &d.compensations {
            let e = self.compensations.entry(*k).or_insert(*by);
            *e = (*e).min(*by);
        }
        for (lot, m) in &d.meta {
            self.set_meta(*lot, m.clone());
        }
        for h in &d.heads {
            self.take_head(h);
        }
        self.vv.merge(&d.vv);
    }

    /// Forgets the seal kept with `replica`'s head.
    pub(crate) fn unseal_head(&mut self, replica: &ReplicaId) {
        if let Some(h) = self.heads.get_mut(replica) {
            h.seal = None;
        }
    }

    /// Takes a head from a joined delta or merged state: a newer one, or the seal of the
    /// same one.
    fn take_head(&mut self, h: &SealedTxn) {
        let r = h.txn.id.replica;
        match self.heads.get_mut(&r) {
            Some(mine) if mine.txn.id.seq > h.txn.id.seq => {}
            Some(mine) if mine.txn.id.seq == h.txn.id.seq => {
                if mine.seal.is_none() && mine.txn.digest == h.txn.digest {
                    mine.seal = h.seal;
                }
            }
            _ => {
                self.heads.insert(r, h.clone());
            }
        }
    }

    /// Joins another replica's full state (state-based merge). Both states are trusted
    /// (this process holds them); for anything received use [`join`](Self::join).
    ///
    /// Lots are visited in slot order; where both replicas saw the lots in the same order
    /// (the usual case: they share a history) slots line up and no hashing is needed. A
    /// replica's column is skipped entirely when this state already has everything that
    /// replica did (`other.vv[r] <= self.vv[r]`); otherwise it is an element-wise maximum.
    pub fn merge(&mut self, other: &InventoryState) {
        // Map other's slots to ours.
        let aligned = self
            .keys
            .iter()
            .zip(other.keys.iter())
            .take_while(|(a, b)| a == b)
            .count();
        // Facts are only ever added: when every lot here has them, the other side can add
        // facts only to lots beyond the shared prefix.
        let from = if self.lots_with_facts == self.lots.len() {
            aligned
        } else {
            0
        };
        let mut map: Vec<usize> = (0..aligned).collect();
        for j in aligned..other.keys.len() {
            map.push(self.slot(other.keys[j]));
        }
        for (j, theirs) in other.lots.iter().enumerate().skip(from) {
            if let Some(info) = &theirs.info
                && self.lots[map[j]].info.is_none()
            {
                self.add_facts(info, || Arc::clone(info));
            }
        }
        // Changes to lot values, applied in slot order once the cells are joined (the value
        // sits with the lot's index entry; slot order visits those entries in order).
        let mut changes: Vec<(usize, i128)> = Vec::new();
        for col in &other.columns {
            let r = col.replica;
            if seq_of(&other.vv, &r) <= seq_of(&self.vv, &r) && seq_of(&other.vv, &r) > 0 {
                continue;
            }
            let c = self.column_index(r);
            let slots = self.keys.len();
            let mine = &mut self.columns[c];
            let mut join = |slot: usize, theirs: &Cell3, mine: &mut Column| {
                let m = mine.get_mut(slot, slots);
                let old = *m;
                m[0] = m[0].max(theirs[0]);
                m[1] = m[1].max(theirs[1]);
                m[2] = m[2].max(theirs[2]);
                if *m != old {
                    changes.push((slot, Self::cell_change(&old, m)));
                }
            };
            match col.dense() {
                // Aligned dense columns: a sequential element-wise maximum.
                Some(theirs) if mine.dense().is_some() => {
                    for (j, t) in theirs.iter().enumerate() {
                        if *t != [0; 3] {
                            join(map[j], t, mine);
                        }
                    }
                }
                _ => {
                    for (j, t) in col.iter() {
                        join(map[j], t, mine);
                    }
                }
            }
        }
        changes.sort_unstable_by_key(|(slot, _)| *slot);
        for (slot, change) in changes {
            if let Some(k) = self.keys.get(slot) {
                self.index.add(k, change);
            }
        }
        for (id, v) in &other.holds {
            self.holds.entry(*id).or_insert_with(|| v.clone());
        }
        for (h, by) in &other.releases {
            let e = self.releases.entry(*h).or_insert(*by);
            *e = (*e).min(*by);
        }
        for (t, recs) in &other.transfers {
            for (by, (lot, units)) in recs {
                self.record_transfer(*t, *by, *lot, *units);
            }
        }
        for (k, by) in &other.compensations {
            let e = self.compensations.entry(*k).or_insert(*by);
            *e = (*e).min(*by);
        }
        for (lot, m) in &other.meta {
            self.set_meta(*lot, m.clone());
        }
        for h in other.heads.values() {
            self.take_head(h);
        }
        self.vv.merge(&other.vv);
    }

    /// A canonical, comparable view of everything observable (values per replica cell, lots,
    /// holds, transfers, compensations, metadata, version vector). Two replicas have
    /// converged when their observable views are equal.
    pub fn observable(&self) -> Observable {
        let mut cells = BTreeMap::new();
        for col in &self.columns {
            for (slot, c) in col.iter() {
                if c[0] != 0 || c[1] != 0 {
                    cells.insert((self.keys[slot], col.replica), (c[0], c[1]));
                }
            }
        }
        Observable {
            vv: self.vv.iter().collect(),
            lots: self
                .lots
                .iter()
                .filter_map(|e| e.info.as_deref().map(|i| (i.key, i.clone())))
                .collect(),
            values: self
                .keys
                .iter()
                .enumerate()
                .map(|(i, k)| (*k, self.slot_value(i)))
                .filter(|(_, v)| *v != 0)
                .collect(),
            cells,
            holds: self.holds.clone(),
            releases: self.releases.clone(),
            transfers: self.transfers.clone(),
            compensations: self.compensations.clone(),
            meta: self.meta.iter().map(|(k, v)| (*k, v.clone())).collect(),
            heads: self
                .heads
                .iter()
                .map(|(r, h)| (*r, (h.txn.id.seq, h.txn.digest)))
                .collect(),
        }
    }
}

/// See [`InventoryState::observable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observable {
    /// Version vector.
    pub vv: BTreeMap<ReplicaId, u64>,
    /// Lot facts.
    pub lots: BTreeMap<LotKey, LotInfo>,
    /// Non-zero lot values.
    pub values: BTreeMap<LotKey, i64>,
    /// Non-zero cells.
    pub cells: BTreeMap<(LotKey, ReplicaId), (u64, u64)>,
    /// Holds.
    pub holds: BTreeMap<HoldId, (LotKey, String)>,
    /// Releases.
    pub releases: BTreeMap<HoldId, TxnId>,
    /// Transfer recordings.
    pub transfers: BTreeMap<TransferId, BTreeMap<TxnId, (LotKey, u64)>>,
    /// Compensations.
    pub compensations: BTreeMap<DiscrepancyId, TxnId>,
    /// Metadata.
    pub meta: BTreeMap<LotKey, Lww>,
    /// Heads: sequence number and digest per replica.
    pub heads: BTreeMap<ReplicaId, (u64, Digest)>,
}
