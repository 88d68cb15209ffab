//! Lot key → what every operation reads and writes of the lot: its value, its SKU and its
//! slot (its place in the slot-ordered vectors). Kept together in one 16-byte entry, so
//! finding a lot, checking it and charging it touch one cache line, and a store's 45,000
//! lots index in 720 KB.
//!
//! The value is kept exactly: in the entry while it fits an `i64`, otherwise (only cells a
//! buggy or hostile member inflated get there) as an `i128` in a side map, the entry
//! marked [`BIG`].
//!
//! Lot keys are an origin replica and the number it gave the lot, counting from 1, so per
//! origin the numbers are dense: the entry is found in a small map of origins and a vector
//! indexed by lot number (no hashing of the whole key). The vector grows to a number only
//! while at most [`DENSE_SLACK`] more of its entries would be vacant than occupied; a lot
//! numbered further ahead (only a buggy or hostile member sends one) goes to an overflow
//! map. So the vectors never take more than about twice the memory of the lots known, plus
//! the slack, whatever numbers arrive.

use super::Map;
use crate::ids::ReplicaId;
use crate::txn::LotKey;

/// How far beyond an origin's vector a lot number may be and still extend it.
const DENSE_SLACK: usize = 4096;

/// The slot of a vacant entry in an origin's vector.
const VACANT: u32 = u32::MAX;

/// The bit of [`Hot::slot`] set once the lot's facts (its SKU) are known.
const FACTS: u32 = 1 << 31;

/// Marks an entry whose value is kept in [`LotIndex::big`].
const BIG: i64 = i64::MIN;

/// What every operation reads and writes of a lot.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hot {
    /// Transfer credit plus Σ(p − n) over the columns, kept up to date by every change
    /// ([`BIG`]: see [`LotIndex::big`]).
    total: i64,
    /// The lot's slot, with [`FACTS`] once its SKU is known.
    slot: u32,
    /// The lot's SKU (meaningful with [`FACTS`]).
    sku: u32,
}

impl Hot {
    const fn vacant() -> Self {
        Hot {
            total: 0,
            slot: VACANT,
            sku: 0,
        }
    }

    /// The lot's slot.
    pub(super) fn slot(&self) -> usize {
        (self.slot & !FACTS) as usize
    }

    /// The lot's SKU once its facts are known.
    pub(super) fn sku(&self) -> Option<u32> {
        (self.slot & FACTS != 0).then_some(self.sku)
    }

    /// Adds `change` to the value kept in the entry; false (nothing changed) when the
    /// result does not fit it or the value is kept in the side map.
    fn add_small(&mut self, change: i128) -> bool {
        if self.total == BIG {
            return false;
        }
        match i64::try_from(i128::from(self.total) + change) {
            Ok(t) if t != BIG => {
                self.total = t;
                true
            }
            _ => false,
        }
    }
}

/// One origin's entries by lot number, and how many are occupied.
#[derive(Debug, Clone, Default)]
struct Dense {
    entries: Vec<Hot>,
    occupied: usize,
}

/// Lot key → [`Hot`].
#[derive(Debug, Clone, Default)]
pub(super) struct LotIndex {
    dense: Map<ReplicaId, Dense>,
    overflow: Map<LotKey, Hot>,
    /// Values that do not fit an entry's `i64` (entries marked [`BIG`]).
    big: Map<LotKey, i128>,
}

impl LotIndex {
    /// The entry of a lot, if known.
    pub(super) fn get(&self, lot: &LotKey) -> Option<&Hot> {
        self.dense
            .get(&lot.origin)
            .and_then(|d| d.entries.get(lot.local_no as usize))
            .filter(|h| h.slot != VACANT)
            // A lot recorded far ahead stays in the overflow even once the vector reaches it.
            .or_else(|| self.overflow.get(lot))
    }

    /// The value of a lot's entry (Σ over its columns plus transfer credit).
    pub(super) fn total(&self, lot: &LotKey, hot: &Hot) -> i128 {
        if hot.total == BIG {
            self.big.get(lot).copied().unwrap_or_default()
        } else {
            i128::from(hot.total)
        }
    }

    /// Adds `change` to a known lot's value.
    pub(super) fn add(&mut self, lot: &LotKey, change: i128) {
        let Some(hot) = self.get_mut(lot) else {
            return;
        };
        if change == 0 || hot.add_small(change) {
            return;
        }
        if hot.total == BIG {
            *self.big.entry(*lot).or_default() += change;
        } else {
            let total = i128::from(hot.total) + change;
            hot.total = BIG;
            self.big.insert(*lot, total);
        }
    }

    /// Calls `change` with a known lot's slot and adds what it returns to the lot's value,
    /// with one lookup of the lot; false (nothing called) when the lot is not known.
    pub(super) fn update(&mut self, lot: &LotKey, change: impl FnOnce(usize) -> i128) -> bool {
        let Some(hot) = self.get_mut(lot) else {
            return false;
        };
        let c = change(hot.slot());
        if c != 0 && !hot.add_small(c) {
            self.add(lot, c);
        }
        true
    }

    /// Records a known lot's SKU.
    pub(super) fn set_sku(&mut self, lot: &LotKey, sku: u32) {
        if let Some(hot) = self.get_mut(lot) {
            hot.sku = sku;
            hot.slot |= FACTS;
        }
    }

    /// The entry of a lot, if known, for writing.
    fn get_mut(&mut self, lot: &LotKey) -> Option<&mut Hot> {
        let n = lot.local_no as usize;
        if self.overflow.is_empty() {
            // The common case: one lookup.
            return self
                .dense
                .get_mut(&lot.origin)
                .and_then(|d| d.entries.get_mut(n))
                .filter(|h| h.slot != VACANT);
        }
        let dense = self
            .dense
            .get(&lot.origin)
            .and_then(|d| d.entries.get(n))
            .is_some_and(|h| h.slot != VACANT);
        if dense {
            self.dense
                .get_mut(&lot.origin)
                .and_then(|d| d.entries.get_mut(n))
        } else {
            self.overflow.get_mut(lot)
        }
    }

    /// Records a new lot at `slot` (value zero, SKU unknown). Slots stay below 2³¹ (the
    /// top bit is [`FACTS`]): a lot costs over 100 bytes of state, so memory runs out long
    /// before.
    pub(super) fn insert(&mut self, lot: LotKey, slot: u32) {
        let entry = Hot {
            slot: slot & !FACTS,
            ..Hot::vacant()
        };
        let n = lot.local_no as usize;
        let d = self.dense.entry(lot.origin).or_default();
        let vacant_after = (n + 1).saturating_sub(d.occupied + 1);
        if n < d.entries.len() && d.entries[n].slot == VACANT {
            d.entries[n] = entry;
            d.occupied += 1;
        } else if n >= d.entries.len() && vacant_after <= d.occupied + 1 + DENSE_SLACK {
            d.entries.resize(n + 1, Hot::vacant());
            d.entries[n] = entry;
            d.occupied += 1;
        } else {
            self.overflow.insert(lot, entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lot_far_ahead_stays_found_when_the_vector_grows_past_it() {
        let origin = ReplicaId::new(1, 0);
        let key = |local_no| LotKey { origin, local_no };
        let mut index = LotIndex::default();
        index.insert(key(1), 0);
        let far = 1 + DENSE_SLACK as u32 + 10;
        index.insert(key(far), 1);
        assert_eq!(index.get(&key(far)).map(|h| h.slot()), Some(1));
        // Lots in between arrive, and the vector grows past the far one.
        for n in 2..far + 5 {
            if n != far {
                index.insert(key(n), n + 10);
            }
        }
        assert_eq!(index.get(&key(far)).map(|h| h.slot()), Some(1));
        index.add(&key(far), 7);
        let far_total = index.get(&key(far)).map(|h| index.total(&key(far), h));
        assert_eq!(far_total, Some(7));
        assert_eq!(index.get(&key(2)).map(|h| h.slot()), Some(12));
        assert!(index.get(&key(far + 10)).is_none());
    }

    #[test]
    fn lot_numbers_far_apart_cannot_make_the_vectors_huge() {
        let origin = ReplicaId::new(1, 0);
        let mut index = LotIndex::default();
        let step = DENSE_SLACK as u32 + 1;
        for i in 0..4096u32 {
            index.insert(
                LotKey {
                    origin,
                    local_no: i * step,
                },
                i,
            );
        }
        let d = &index.dense[&origin];
        assert!(
            d.entries.len() <= 2 * d.occupied + DENSE_SLACK + 1,
            "{}",
            d.entries.len()
        );
        for i in 0..4096u32 {
            let lot = LotKey {
                origin,
                local_no: i * step,
            };
            assert_eq!(index.get(&lot).map(|h| h.slot()), Some(i as usize));
        }
    }

    #[test]
    fn values_beyond_i64_stay_exact() {
        let lot = LotKey {
            origin: ReplicaId::new(1, 0),
            local_no: 1,
        };
        let mut index = LotIndex::default();
        index.insert(lot, 0);
        let total = |index: &LotIndex| index.get(&lot).map(|h| index.total(&lot, h));
        index.add(&lot, i128::from(i64::MAX));
        index.add(&lot, 10);
        assert_eq!(total(&index), Some(i128::from(i64::MAX) + 10));
        index.add(&lot, -i128::from(i64::MAX));
        assert_eq!(total(&index), Some(10));
        // Exactly i64::MIN is the marker's value: kept aside as well.
        index.add(&lot, i128::from(i64::MIN) - 10);
        assert_eq!(total(&index), Some(i128::from(i64::MIN)));
        index.add(&lot, 1);
        assert_eq!(total(&index), Some(i128::from(i64::MIN) + 1));
    }

    #[test]
    fn the_sku_is_known_only_once_set() {
        let lot = LotKey {
            origin: ReplicaId::new(1, 0),
            local_no: 3,
        };
        let mut index = LotIndex::default();
        index.insert(lot, 5);
        assert_eq!(index.get(&lot).and_then(Hot::sku), None);
        index.set_sku(&lot, 0);
        assert_eq!(
            index.get(&lot).map(|h| (h.sku(), h.slot())),
            Some((Some(0), 5))
        );
    }
}
