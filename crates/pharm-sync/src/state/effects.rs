//! The digest of one replica's unit-bearing effects: its counter cells and its transfer
//! receipts. A terminal seals its head transaction together with this digest in every delta
//! it sends ([`Txn::head_seal`](crate::txn::Txn::head_seal)), so whoever relays its state
//! (the head proves the version) cannot change its totals on the way: the root recomputes
//! the digest over its own state joined with the delta and checks the seal against it.

use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;

use crate::auth::{self, Digest, EFFECTS_DOMAIN};
use crate::ids::ReplicaId;
use crate::txn::{LotKey, TransferId, Txn, TxnKind};

use super::{InventoryState, StateDelta};

fn put_lot(out: &mut Vec<u8>, lot: &LotKey) {
    out.extend_from_slice(&lot.origin.terminal.to_le_bytes());
    out.extend_from_slice(&lot.origin.incarnation.to_le_bytes());
    out.extend_from_slice(&lot.local_no.to_le_bytes());
}

/// One replica's cells (positive and negative totals by lot) and transfer receipts (lot and
/// units by transfer and sequence number).
pub(crate) struct Effects {
    cells: BTreeMap<LotKey, (u64, u64)>,
    receipts: BTreeMap<(TransferId, u64), (LotKey, u64)>,
}

impl Effects {
    /// Takes back the effects of `t`, one of the replica's transactions (they are in these
    /// effects); `None` when they are not.
    pub(crate) fn without(mut self, t: &Txn) -> Option<Self> {
        if let (TxnKind::TransferIn, Some(transfer)) = (t.kind, t.transfer) {
            self.receipts.remove(&(transfer, t.id.seq))?;
            return Some(self);
        }
        for line in &t.lines {
            let cell = self.cells.get_mut(&line.lot)?;
            let field = if line.delta < 0 {
                &mut cell.1
            } else {
                &mut cell.0
            };
            *field = field.checked_sub(line.delta.unsigned_abs())?;
        }
        Some(self)
    }

    /// The digest (see [`InventoryState::effects_digest`]).
    pub(crate) fn digest(&self, store: PharmacyId, r: &ReplicaId) -> Digest {
        let cells: Vec<_> = self.cells.iter().filter(|(_, c)| **c != (0, 0)).collect();
        let mut input = Vec::with_capacity(32 + 30 * cells.len() + 42 * self.receipts.len());
        input.extend_from_slice(EFFECTS_DOMAIN);
        input.extend_from_slice(&store.get().to_le_bytes());
        input.extend_from_slice(&r.terminal.to_le_bytes());
        input.extend_from_slice(&r.incarnation.to_le_bytes());
        input.extend_from_slice(&(cells.len() as u64).to_le_bytes());
        for (lot, (p, n)) in cells {
            put_lot(&mut input, lot);
            input.extend_from_slice(&p.to_le_bytes());
            input.extend_from_slice(&n.to_le_bytes());
        }
        input.extend_from_slice(&(self.receipts.len() as u64).to_le_bytes());
        for ((t, seq), (lot, units)) in &self.receipts {
            input.extend_from_slice(&t.from.get().to_le_bytes());
            input.extend_from_slice(&t.number.to_le_bytes());
            input.extend_from_slice(&seq.to_le_bytes());
            put_lot(&mut input, lot);
            input.extend_from_slice(&units.to_le_bytes());
        }
        auth::digest(&input)
    }
}

impl InventoryState {
    /// The digest of `r`'s effects in this state joined with `with` (when given): SHA-256,
    /// truncated to 16 bytes, over the label `"E"`, `0x02`, the store (4 bytes
    /// little-endian), `r` (terminal 2 bytes, incarnation 8 bytes), the number of its
    /// non-zero cells (8 bytes), each as lot (origin terminal 2, origin incarnation 8, local
    /// number 4 bytes) and its positive and negative totals (8 bytes each) in lot order,
    /// then the number of its transfer receipts (8 bytes), each as transfer (sending store 4,
    /// number 8 bytes), sequence number (8), lot (14) and units (8) in (transfer, sequence
    /// number) order; all integers little-endian.
    pub fn effects_digest(&self, r: &ReplicaId, with: Option<&StateDelta>) -> Digest {
        self.effects(r, with).digest(self.store, r)
    }

    /// `r`'s effects in this state joined with `with` (when given).
    pub(crate) fn effects(&self, r: &ReplicaId, with: Option<&StateDelta>) -> Effects {
        let mut cells: BTreeMap<LotKey, (u64, u64)> = BTreeMap::new();
        if let Some(col) = self.columns.iter().find(|c| c.replica == *r) {
            for (slot, c) in col.iter() {
                cells.insert(self.keys[slot], (c[0], c[1]));
            }
        }
        let mut receipts: BTreeMap<(TransferId, u64), (LotKey, u64)> = BTreeMap::new();
        for (t, recs) in &self.transfers {
            for (by, rec) in recs.iter().filter(|(by, _)| by.replica == *r) {
                receipts.insert((*t, by.seq), *rec);
            }
        }
        if let Some(d) = with {
            for &(lot, _, p, n) in d.cells.iter().filter(|c| c.1 == *r) {
                let e = cells.entry(lot).or_default();
                *e = (e.0.max(p), e.1.max(n));
            }
            for &(t, by, lot, units) in d.transfers.iter().filter(|t| t.1.replica == *r) {
                receipts.entry((t, by.seq)).or_insert((lot, units));
            }
        }
        Effects { cells, receipts }
    }
}
