//! L1, the in-process level: per class one map for values (bounded by bytes) and one for
//! "not found" answers (bounded by entries), on `quick_cache` (S3-FIFO eviction, weighted,
//! no background threads).
//!
//! The map keeps no timer: each [`Slot`] carries its freshness bounds on the cache's own
//! clock and a read past them is a miss. The memory of such an entry is taken back when
//! its key is loaded again (the new slot replaces it) or by the budget's eviction, so the
//! budget, not the TTL, is what bounds L1's memory.

use std::sync::Arc;
use std::time::Duration;

use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};

/// One L1 entry: the value (or "not found"), the stripe generation its load began at,
/// and its freshness on the cache's clock.
pub(crate) struct Slot<V> {
    pub(crate) value: Option<Arc<V>>,
    pub(crate) generation: u64,
    pub(crate) fresh_until: Duration,
    pub(crate) stale_until: Duration,
    /// Encoded value and bookkeeping, bytes (the byte budget counts it with the key).
    pub(crate) weight: u32,
}

/// What an entry costs against its map's capacity.
#[derive(Clone, Copy)]
enum Cost {
    /// Key, encoded value and bookkeeping, in bytes.
    Bytes,
    /// One per entry.
    Entry,
}

impl<V> Weighter<Arc<str>, Arc<Slot<V>>> for Cost {
    fn weight(&self, key: &Arc<str>, slot: &Arc<Slot<V>>) -> u64 {
        match self {
            // Never zero (an entry of weight zero would never be evicted).
            Cost::Bytes => (key.len() as u64)
                .saturating_add(u64::from(slot.weight))
                .max(1),
            Cost::Entry => 1,
        }
    }
}

/// Typical bytes of one catalog-sized entry (key, JSON value, bookkeeping): sizes the
/// map's shards and its memory of recently evicted keys, never its capacity.
const TYPICAL_ENTRY_BYTES: u64 = 512;

/// More shards than this buy no less contention on a till or an app server.
const MAX_SHARDS: u64 = 16;

/// One L1 map.
pub(crate) struct L1<V> {
    map: quick_cache::sync::Cache<Arc<str>, Arc<Slot<V>>, Cost, DefaultHashBuilder>,
}

impl<V> L1<V> {
    /// A map holding at most `budget` bytes of keys, values and bookkeeping, whose
    /// entries weigh up to `largest` bytes.
    pub(crate) fn bytes(budget: u64, largest: u64) -> Result<Self, String> {
        // The map refuses an entry heavier than about 97 % of one shard: shards stay
        // large enough for the largest entry (with a margin).
        let fits = budget / largest.saturating_add(largest / 8).max(1);
        Self::with(budget, budget / TYPICAL_ENTRY_BYTES, fits, Cost::Bytes)
    }

    /// A map holding at most `max_entries` entries.
    pub(crate) fn entries(max_entries: u64) -> Result<Self, String> {
        Self::with(max_entries, max_entries, MAX_SHARDS, Cost::Entry)
    }

    fn with(capacity: u64, items: u64, max_shards: u64, cost: Cost) -> Result<Self, String> {
        // Shards of at least 32 entries, a power of two, and a capacity that splits evenly
        // among them, so that the map's bound is the one asked for (never rounded up).
        let shards = prev_power_of_two((items / 32).min(max_shards).clamp(1, MAX_SHARDS));
        let capacity_split = capacity / shards * shards;
        let options = OptionsBuilder::new()
            .estimated_items_capacity(usize::try_from(items.max(1)).unwrap_or(usize::MAX))
            .weight_capacity(capacity_split)
            .shards(usize::try_from(shards).unwrap_or(1))
            .build()
            .map_err(|e| format!("L1 map of capacity {capacity}: {e}"))?;
        Ok(Self {
            map: quick_cache::sync::Cache::with_options(
                options,
                cost,
                DefaultHashBuilder::default(),
                Default::default(),
            ),
        })
    }

    /// The slot of `key`, whatever its freshness.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Slot<V>>> {
        self.map.get(key)
    }

    /// Puts `slot` under `key`, replacing any older one (a slot heavier than the map can
    /// hold is not kept).
    pub(crate) fn insert(&self, key: Arc<str>, slot: Slot<V>) {
        self.map.insert(key, Arc::new(slot));
    }

    /// Removes `key`.
    pub(crate) fn remove(&self, key: &str) {
        self.map.remove(key);
    }

    /// Removes every entry.
    pub(crate) fn clear(&self) {
        self.map.clear();
    }

    /// Entries held.
    pub(crate) fn len(&self) -> u64 {
        self.map.len() as u64
    }
}

fn prev_power_of_two(n: u64) -> u64 {
    match n.checked_ilog2() {
        Some(log) => 1 << log,
        None => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(weight: u32) -> Slot<u8> {
        Slot {
            value: Some(Arc::new(1)),
            generation: 0,
            fresh_until: Duration::from_secs(1),
            stale_until: Duration::from_secs(1),
            weight,
        }
    }

    #[test]
    fn an_entry_bound_is_never_exceeded() {
        for bound in [1, 5, 31, 32, 33, 100, 1000, 10_007] {
            let map = L1::<u8>::entries(bound).unwrap_or_else(|e| panic!("{e}"));
            for n in 0..bound * 3 {
                map.insert(Arc::from(format!("k{n}")), slot(0));
                assert!(map.len() <= bound, "{} entries, bound {bound}", map.len());
            }
            assert!(map.len() > 0);
        }
    }

    #[test]
    fn a_byte_budget_is_never_exceeded() {
        let budget = 64 * 1024;
        let map = L1::<u8>::bytes(budget, 400).unwrap_or_else(|e| panic!("{e}"));
        let mut weight = 0;
        for n in 0..2_000 {
            let key: Arc<str> = Arc::from(format!("drug_catalog/global/v1/{n:011}"));
            weight = key.len() as u64 + 300;
            map.insert(key, slot(300));
            assert!(map.len() * weight <= budget);
        }
        // Most of the budget is used.
        assert!(map.len() * weight > budget / 2, "{} entries", map.len());
    }

    #[test]
    fn the_largest_entry_always_fits_a_shard() {
        // 1 MiB would make 16 shards of 64 KiB, too small for a 64,000-byte entry.
        let map = L1::<u8>::bytes(1 << 20, 64_100).unwrap_or_else(|e| panic!("{e}"));
        for n in 0..40 {
            let key: Arc<str> = Arc::from(format!("k{n}"));
            map.insert(Arc::clone(&key), slot(64_000));
            assert!(map.get(&key).is_some(), "entry {n} not kept");
        }
        assert!(map.len() * 64_000 <= 1 << 20);
    }

    #[test]
    fn a_slot_heavier_than_the_map_is_not_kept() {
        let map = L1::<u8>::bytes(1024, 1024).unwrap_or_else(|e| panic!("{e}"));
        map.insert(Arc::from("big"), slot(4096));
        assert!(map.get("big").is_none());
        map.insert(Arc::from("small"), slot(10));
        assert!(map.get("small").is_some());
        map.remove("small");
        assert!(map.get("small").is_none());
    }

    #[test]
    fn shards_are_powers_of_two_at_most_sixteen() {
        assert_eq!(prev_power_of_two(0), 1);
        assert_eq!(prev_power_of_two(1), 1);
        assert_eq!(prev_power_of_two(3), 2);
        assert_eq!(prev_power_of_two(16), 16);
    }
}
