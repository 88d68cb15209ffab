//! The slot of each lot. Lot keys are an origin replica and the number it gave the lot,
//! counting from 1, so per origin the numbers are dense: the slot is found in a small map
//! of origins and a vector indexed by lot number (no hashing of the whole key, and a
//! 4-byte entry per lot, which stays in cache). A number far beyond what the origin has
//! used so far (only a buggy or hostile member sends one) goes to an overflow map, so a
//! lot number cannot make the vector huge.

use super::Map;
use crate::ids::ReplicaId;
use crate::txn::LotKey;

/// How far beyond an origin's vector a lot number may be and still extend it.
const DENSE_SLACK: usize = 4096;

const NONE: u32 = u32::MAX;

/// Lot key → slot.
#[derive(Debug, Clone, Default)]
pub(super) struct LotIndex {
    dense: Map<ReplicaId, Vec<u32>>,
    overflow: Map<LotKey, u32>,
}

impl LotIndex {
    /// The slot of a lot, if known.
    pub(super) fn get(&self, lot: &LotKey) -> Option<u32> {
        let n = lot.local_no as usize;
        match self.dense.get(&lot.origin) {
            Some(v) if n < v.len() => Some(v[n]).filter(|s| *s != NONE),
            _ => self.overflow.get(lot).copied(),
        }
    }

    /// Records the slot of a new lot.
    pub(super) fn insert(&mut self, lot: LotKey, slot: u32) {
        let n = lot.local_no as usize;
        let v = self.dense.entry(lot.origin).or_default();
        if n < v.len() {
            v[n] = slot;
        } else if n <= v.len() + DENSE_SLACK {
            v.resize(n + 1, NONE);
            v[n] = slot;
        } else {
            self.overflow.insert(lot, slot);
        }
    }
}
