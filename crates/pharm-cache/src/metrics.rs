//! Per-class counters, hit rates, and the design's scaling trigger on them ("cache hit
//! rate < 90 %: grow the cache").

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::class::DataClass;

/// The design's scaling-trigger threshold: grow a cache whose hit rate is below 90 %.
pub const HIT_RATE_THRESHOLD: f64 = 0.90;

macro_rules! counters {
    ($($field:ident: $doc:literal),* $(,)?) => {
        /// Live counters of one class.
        #[derive(Debug, Default)]
        pub(crate) struct ClassCounters { $(pub(crate) $field: AtomicU64,)* }

        /// A snapshot of one class's counters.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct ClassStats { $(#[doc = $doc] pub $field: u64,)* }

        impl ClassCounters {
            fn load(&self) -> ClassStats {
                ClassStats { $($field: self.$field.load(Ordering::Relaxed),)* }
            }
        }

        impl ClassStats {
            /// Counts of `self` minus `earlier` (a window between two snapshots).
            #[must_use]
            pub fn since(&self, earlier: &Self) -> Self {
                Self { $($field: self.$field.saturating_sub(earlier.$field),)* }
            }

            /// Counts of `self` and `other` together (processes of one deployment).
            #[must_use]
            pub fn plus(&self, other: &Self) -> Self {
                Self { $($field: self.$field.saturating_add(other.$field),)* }
            }
        }
    };
}

counters! {
    lookups: "Reads ([`crate::Cache::get`]).",
    l1_hits: "Reads answered fresh from L1 (values and negative entries).",
    l2_hits: "Reads answered fresh from L2.",
    stale_served: "Reads answered with a stale value (stale-while-revalidate, or the origin failing).",
    coalesced: "Reads that waited for another reader's load of the same key (single-flight).",
    origin_loads: "Loads from the origin.",
    origin_errors: "Loads from the origin that failed.",
    negative_stored: "\"Not found\" results cached.",
    l2_errors: "L2 operations that failed or timed out.",
    l2_skipped: "L2 operations skipped: breaker open, or an invalidation of the key still pending.",
    l2_damaged: "L2 reads that met an entry they could not read (damaged or of another shape); the load replaces it.",
    fills_refused: "L2 fills refused because the key was invalidated during the load.",
    oversize: "Values larger than the class's largest entry, served uncached.",
    invalidations: "Keys invalidated.",
    warmed: "Entries loaded by warming.",
}

impl ClassCounters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters. The live `lookups` counts only reads L1 did not answer fresh (an L1
    /// hit then costs one atomic increment, not two); the snapshot adds the L1 hits back.
    pub(crate) fn snapshot(&self) -> ClassStats {
        let mut stats = self.load();
        stats.lookups = stats.lookups.saturating_add(stats.l1_hits);
        stats
    }
}

impl ClassStats {
    /// Reads answered from the cache (fresh at either level, or stale).
    #[must_use]
    pub fn hits(&self) -> u64 {
        self.l1_hits + self.l2_hits + self.stale_served
    }

    /// The hit rate, `None` before the first read.
    #[must_use]
    pub fn hit_rate(&self) -> Option<f64> {
        (self.lookups > 0).then(|| self.hits() as f64 / self.lookups as f64)
    }
}

/// A class whose hit rate calls for a larger cache.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowCache {
    /// The class.
    pub class: DataClass,
    /// Its hit rate over the window.
    pub hit_rate: f64,
    /// Reads in the window.
    pub lookups: u64,
}

/// The scaling trigger: every class in `stats` with at least `min_lookups` reads whose hit
/// rate is below `threshold` ([`HIT_RATE_THRESHOLD`] in the design). Pass a window
/// ([`ClassStats::since`]): a cold start's misses should not count for ever.
#[must_use]
pub fn grow_cache_signals(
    stats: &[(DataClass, ClassStats)],
    threshold: f64,
    min_lookups: u64,
) -> Vec<GrowCache> {
    stats
        .iter()
        .filter(|(_, s)| s.lookups >= min_lookups)
        .filter_map(|(class, s)| {
            let hit_rate = s.hit_rate()?;
            (hit_rate < threshold).then_some(GrowCache {
                class: *class,
                hit_rate,
                lookups: s.lookups,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trigger_fires_below_ninety_percent_only() {
        let stats = |hits, lookups| ClassStats {
            lookups,
            l1_hits: hits,
            ..ClassStats::default()
        };
        let rows = [
            (DataClass::DrugCatalog, stats(900, 1_000)),
            (DataClass::Patient, stats(899, 1_000)),
            (DataClass::Inventory, stats(0, 999)),
        ];
        let signals = grow_cache_signals(&rows, HIT_RATE_THRESHOLD, 1_000);
        assert_eq!(signals.len(), 1);
        assert_eq!(signals[0].class, DataClass::Patient);
        assert!((signals[0].hit_rate - 0.899).abs() < 1e-9);
        assert_eq!(stats(5, 10).since(&stats(1, 2)), stats(4, 8));
        assert_eq!(stats(4, 8).plus(&stats(1, 2)), stats(5, 10));
        assert_eq!(ClassStats::default().hit_rate(), None);
    }
}
