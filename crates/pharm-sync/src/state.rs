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
//! * Version vector (`crdts::VClock`): for each replica, the highest sequence number whose
//!   effects (and those of all earlier ones) are in the state.

use std::collections::{BTreeMap, HashMap};

use crdts::{CmRDT, CvRDT, Dot, VClock};
use serde::{Deserialize, Serialize};

use crate::hlc::Hlc;
use crate::ids::{ReplicaId, StoreId, TxnId};
use crate::txn::{DiscrepancyId, HoldId, HoldOp, LotInfo, LotKey, TransferId, Txn};

/// Version vector: highest contiguous sequence number per replica.
pub type VersionVector = VClock<ReplicaId>;

/// One replica's PN-counter cell for one lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    info: Option<LotInfo>,
    /// Units credited by transfer receipts (derived from `transfers`).
    transfer_in: u64,
}

/// One replica's counter cells for every lot, indexed by lot slot: `[p, n, last_seq]`.
/// Dense columns make a full-state merge a sequential element-wise maximum.
#[derive(Debug, Clone)]
struct Column {
    replica: ReplicaId,
    cells: Vec<[u64; 3]>,
}

/// Shelf location (or other mutable lot metadata), last writer wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// Changes another replica lacks, computed from its version vector.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    }
}

/// The inventory state of one store as one replica sees it.
#[derive(Debug, Clone)]
pub struct InventoryState {
    store: StoreId,
    lots: Vec<LotEntry>,
    /// Lot key of each slot (slot order = order of first sight).
    keys: Vec<LotKey>,
    index: HashMap<LotKey, u32>,
    columns: Vec<Column>,
    by_sku: HashMap<u32, Vec<u32>>,
    vv: VersionVector,
    holds: BTreeMap<HoldId, (LotKey, String)>,
    releases: BTreeMap<HoldId, TxnId>,
    transfers: BTreeMap<TransferId, BTreeMap<TxnId, (LotKey, u64)>>,
    compensations: BTreeMap<DiscrepancyId, TxnId>,
    meta: HashMap<LotKey, Lww>,
}

fn seq_of(vv: &VersionVector, r: &ReplicaId) -> u64 {
    vv.get(r)
}

impl InventoryState {
    /// An empty state for a store.
    pub fn new(store: StoreId) -> Self {
        InventoryState {
            store,
            lots: Vec::new(),
            keys: Vec::new(),
            index: HashMap::new(),
            columns: Vec::new(),
            by_sku: HashMap::new(),
            vv: VersionVector::new(),
            holds: BTreeMap::new(),
            releases: BTreeMap::new(),
            transfers: BTreeMap::new(),
            compensations: BTreeMap::new(),
            meta: HashMap::new(),
        }
    }

    /// The store this state belongs to.
    pub fn store(&self) -> StoreId {
        self.store
    }

    /// The version vector.
    pub fn vv(&self) -> &VersionVector {
        &self.vv
    }

    fn slot(&mut self, key: LotKey) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i as usize;
        }
        let i = self.lots.len();
        self.lots.push(LotEntry::default());
        self.keys.push(key);
        self.index.insert(key, i as u32);
        i
    }

    fn add_info(&mut self, info: &LotInfo) {
        let i = self.slot(info.key);
        if self.lots[i].info.is_none() {
            self.by_sku.entry(info.sku).or_default().push(i as u32);
            self.lots[i].info = Some(info.clone());
        }
    }

    fn column_index(&mut self, replica: ReplicaId) -> usize {
        match self.columns.iter().position(|c| c.replica == replica) {
            Some(i) => i,
            None => {
                self.columns.push(Column {
                    replica,
                    cells: Vec::new(),
                });
                self.columns.len() - 1
            }
        }
    }

    /// The `[p, n, last_seq]` cell of `replica` for the lot in `slot`.
    fn cell_at(&mut self, slot: usize, replica: ReplicaId) -> &mut [u64; 3] {
        let c = self.column_index(replica);
        let cells = &mut self.columns[c].cells;
        if cells.len() <= slot {
            cells.resize(slot + 1, [0; 3]);
        }
        &mut cells[slot]
    }

    /// Applies a transaction exactly once, in its replica's sequence order.
    pub fn apply(&mut self, txn: &Txn) -> Applied {
        let r = txn.id.replica;
        let have = seq_of(&self.vv, &r);
        if txn.id.seq <= have {
            return Applied::Duplicate;
        }
        if txn.id.seq != have + 1 {
            return Applied::Gap { expected: have + 1 };
        }
        for info in &txn.new_lots {
            self.add_info(info);
        }
        if let (crate::txn::TxnKind::TransferIn, Some(t)) = (txn.kind, txn.transfer) {
            // Transfer receipts are credited through the transfer record, counted once even
            // when two terminals record the same delivery.
            let units: u64 = txn.lines.iter().map(|l| l.delta.unsigned_abs()).sum();
            if let Some(lot) = txn.lines.first().map(|l| l.lot) {
                self.record_transfer(t, txn.id, lot, units);
            }
        }
        let cell_lines = if txn.kind == crate::txn::TxnKind::TransferIn {
            &[][..]
        } else {
            &txn.lines[..]
        };
        for line in cell_lines {
            let slot = self.slot(line.lot);
            let cell = self.cell_at(slot, r);
            let field = usize::from(line.delta < 0);
            cell[field] = cell[field].saturating_add(line.delta.unsigned_abs());
            cell[2] = txn.id.seq;
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
        self.vv.apply(Dot::new(r, txn.id.seq));
        Applied::Applied
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
                self.lots[i].transfer_in = self.lots[i].transfer_in.saturating_sub(u);
            }
            if let Some((l, u)) = after {
                let i = self.slot(l);
                self.lots[i].transfer_in = self.lots[i].transfer_in.saturating_add(u);
            }
        }
    }

    /// Units on hand of a lot: Σ(p − n) over replicas plus transfer receipts. May be negative
    /// after an offline oversell.
    pub fn value(&self, lot: &LotKey) -> i64 {
        self.index
            .get(lot)
            .map_or(0, |&i| self.slot_value(i as usize))
    }

    /// The lot's facts, if known.
    pub fn lot(&self, lot: &LotKey) -> Option<&LotInfo> {
        self.index
            .get(lot)
            .and_then(|&i| self.lots[i as usize].info.as_ref())
    }

    /// Every known lot with its value.
    pub fn lots(&self) -> impl Iterator<Item = (&LotInfo, i64)> + '_ {
        self.lots
            .iter()
            .enumerate()
            .filter_map(|(slot, e)| e.info.as_ref().map(|i| (i, self.slot_value(slot))))
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
                    .as_ref()
                    .map(|info| (info, self.slot_value(i as usize)))
            })
    }

    /// The non-empty cells of a lot, one per replica that changed it (for reconciliation,
    /// persistence and tests).
    pub fn cells(&self, lot: &LotKey) -> Vec<Cell> {
        let Some(&slot) = self.index.get(lot) else {
            return Vec::new();
        };
        self.slot_cells(slot as usize).collect()
    }

    /// Units credited to a lot by transfer receipts.
    pub fn transfer_credit(&self, lot: &LotKey) -> u64 {
        self.index
            .get(lot)
            .map_or(0, |&i| self.lots[i as usize].transfer_in)
    }

    /// One replica's cell of a lot.
    pub fn cell(&self, lot: &LotKey, replica: ReplicaId) -> Option<Cell> {
        let slot = *self.index.get(lot)? as usize;
        let col = self.columns.iter().find(|c| c.replica == replica)?;
        col.cells.get(slot).filter(|c| **c != [0; 3]).map(|c| Cell {
            replica,
            p: c[0],
            n: c[1],
            last_seq: c[2],
        })
    }

    fn slot_cells(&self, slot: usize) -> impl Iterator<Item = Cell> + '_ {
        self.columns.iter().filter_map(move |col| {
            col.cells.get(slot).filter(|c| **c != [0; 3]).map(|c| Cell {
                replica: col.replica,
                p: c[0],
                n: c[1],
                last_seq: c[2],
            })
        })
    }

    fn slot_value(&self, slot: usize) -> i64 {
        let mut v: i128 = i128::from(self.lots[slot].transfer_in);
        for col in &self.columns {
            if let Some(c) = col.cells.get(slot) {
                v += i128::from(c[0]) - i128::from(c[1]);
            }
        }
        v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
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
    pub fn set_meta(&mut self, lot: LotKey, value: Lww) {
        self.slot(lot);
        match self.meta.get(&lot) {
            Some(old) if !value.wins_over(old) => {}
            _ => {
                self.meta.insert(lot, value);
            }
        }
    }

    /// Number of lots known (with or without facts).
    pub fn lot_count(&self) -> usize {
        self.lots.len()
    }

    /// What a replica at version `their` lacks.
    pub fn delta_since(&self, their: &VersionVector) -> StateDelta {
        self.delta_skipping(their, None)
    }

    /// [`delta_since`](Self::delta_since) without the effects of `skip`'s own transactions
    /// (a client uploads those as transactions).
    pub fn delta_skipping(&self, their: &VersionVector, skip: Option<ReplicaId>) -> StateDelta {
        let newer = |id: &TxnId| id.seq > seq_of(their, &id.replica) && Some(id.replica) != skip;
        // The delta vouches only for what it carries: without `skip`'s effects it must not
        // raise the receiver's version of `skip`.
        let vv = match skip {
            None => self.vv.clone(),
            Some(x) => self
                .vv
                .iter()
                .filter(|d| *d.actor != x)
                .map(|d| Dot::new(*d.actor, d.counter))
                .collect(),
        };
        let mut d = StateDelta {
            vv,
            base: their.clone(),
            ..StateDelta::default()
        };
        for e in &self.lots {
            if let Some(info) = &e.info
                && info.created_seq > seq_of(their, &info.key.origin)
                && Some(info.key.origin) != skip
            {
                d.lots.push(info.clone());
            }
        }
        for col in &self.columns {
            let bound = seq_of(their, &col.replica);
            // Every cell's last_seq is at most vv[replica]: nothing newer, nothing to scan.
            if Some(col.replica) == skip || seq_of(&self.vv, &col.replica) <= bound {
                continue;
            }
            for (slot, c) in col.cells.iter().enumerate() {
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
        d
    }

    /// Whether this state may join `d`: it has at least the delta's base, and the delta
    /// vouches (in its version vector) for every replica whose cells it carries.
    pub fn can_join(&self, d: &StateDelta) -> bool {
        d.base
            .iter()
            .all(|dot| seq_of(&self.vv, dot.actor) >= dot.counter)
            && d.cells.iter().all(|(_, r, _, _)| seq_of(&d.vv, r) > 0)
    }

    /// Joins a delta computed against this replica's version (or a full state as a delta
    /// from the empty version). A delta this state cannot join ([`can_join`](Self::can_join))
    /// is ignored and `false` returned: joining it could raise the version vector past
    /// effects the delta left out.
    pub fn join(&mut self, d: &StateDelta) -> bool {
        if !self.can_join(d) {
            return false;
        }
        for info in &d.lots {
            self.add_info(info);
        }
        for &(lot, replica, p, n) in &d.cells {
            let bound = seq_of(&d.vv, &replica);
            let slot = self.slot(lot);
            let c = self.cell_at(slot, replica);
            c[0] = c[0].max(p);
            c[1] = c[1].max(n);
            c[2] = c[2].max(bound);
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
        self.vv.merge(d.vv.clone());
        true
    }

    /// Joins another replica's full state (state-based merge).
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
            .zip(&other.keys)
            .take_while(|(a, b)| a == b)
            .count();
        let mut map: Vec<usize> = (0..aligned).collect();
        for j in aligned..other.keys.len() {
            map.push(self.slot(other.keys[j]));
        }
        for (j, theirs) in other.lots.iter().enumerate() {
            if let Some(info) = &theirs.info
                && self.lots[map[j]].info.is_none()
            {
                self.add_info(info);
            }
        }
        for col in &other.columns {
            let r = col.replica;
            if seq_of(&other.vv, &r) <= seq_of(&self.vv, &r) && seq_of(&other.vv, &r) > 0 {
                continue;
            }
            let c = self.column_index(r);
            let mine = &mut self.columns[c].cells;
            let need = map
                .iter()
                .take(col.cells.len())
                .copied()
                .max()
                .map_or(0, |m| m + 1);
            if mine.len() < need {
                mine.resize(need, [0; 3]);
            }
            for (j, theirs) in col.cells.iter().enumerate() {
                let m = &mut mine[map[j]];
                m[0] = m[0].max(theirs[0]);
                m[1] = m[1].max(theirs[1]);
                m[2] = m[2].max(theirs[2]);
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
        self.vv.merge(other.vv.clone());
    }

    /// A canonical, comparable view of everything observable (values per replica cell, lots,
    /// holds, transfers, compensations, metadata, version vector). Two replicas have
    /// converged when their observable views are equal.
    pub fn observable(&self) -> Observable {
        let mut cells = BTreeMap::new();
        for col in &self.columns {
            for (slot, c) in col.cells.iter().enumerate() {
                if c[0] != 0 || c[1] != 0 {
                    cells.insert((self.keys[slot], col.replica), (c[0], c[1]));
                }
            }
        }
        Observable {
            vv: self.vv.dots.clone().into_iter().collect(),
            lots: self
                .lots
                .iter()
                .filter_map(|e| e.info.clone().map(|i| (i.key, i)))
                .collect(),
            values: self
                .index
                .iter()
                .map(|(k, &i)| (*k, self.slot_value(i as usize)))
                .filter(|(_, v)| *v != 0)
                .collect(),
            cells,
            holds: self.holds.clone(),
            releases: self.releases.clone(),
            transfers: self.transfers.clone(),
            compensations: self.compensations.clone(),
            meta: self.meta.iter().map(|(k, v)| (*k, v.clone())).collect(),
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
}
