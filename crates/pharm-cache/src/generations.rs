//! Per-key invalidation generations of one class in this process (striped).
//!
//! An L1 entry remembers the generation of its stripe when its load began; an
//! invalidation bumps the stripe before it removes anything, and a read accepts an entry
//! only if its stripe has not moved since. A load that raced an invalidation therefore
//! never serves its value from L1 after the invalidation returned, whichever order the
//! two finish in. A bump also invalidates the other keys of its stripe (65,536 stripes per
//! class, 512 KiB): a spurious miss, never a stale hit. The load test found why stripes are
//! per class: shared ones let every sale's stock invalidation evict patients from L1.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

const STRIPES: usize = 65_536;

pub(crate) struct Generations {
    stripes: Box<[AtomicU64]>,
    hasher: foldhash::fast::FixedState,
}

impl std::fmt::Debug for Generations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generations").finish_non_exhaustive()
    }
}

impl Generations {
    pub(crate) fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: foldhash::fast::FixedState::with_seed(0x70_68_61_72_6d),
        }
    }

    fn stripe(&self, key: &str) -> &AtomicU64 {
        let index = usize::try_from(self.hasher.hash_one(key)).unwrap_or(0) % STRIPES;
        &self.stripes[index]
    }

    pub(crate) fn current(&self, key: &str) -> u64 {
        self.stripe(key).load(Ordering::Acquire)
    }

    pub(crate) fn bump(&self, key: &str) {
        self.stripe(key).fetch_add(1, Ordering::AcqRel);
    }

    /// Moves every stripe (every key's generation).
    pub(crate) fn bump_all(&self) {
        for stripe in &self.stripes {
            stripe.fetch_add(1, Ordering::AcqRel);
        }
    }
}
