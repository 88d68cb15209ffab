//! Hybrid logical clock (Kulkarni et al., OPODIS 2014): 48 bits of wall-clock milliseconds
//! and 16 bits of logical counter. Used for last-writer-wins markers and audit order, never
//! for counter correctness. The wall clock is an argument: nothing here reads the time.

use serde::{Deserialize, Serialize};

/// A hybrid logical timestamp.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct Hlc(pub u64);

const LOGICAL_BITS: u32 = 16;
const LOGICAL_MASK: u64 = (1 << LOGICAL_BITS) - 1;
const MAX_MS: u64 = (1 << 48) - 1;

impl Hlc {
    /// From wall-clock milliseconds and a logical counter.
    pub const fn new(ms: u64, logical: u16) -> Self {
        let ms = if ms > MAX_MS { MAX_MS } else { ms };
        Hlc(ms << LOGICAL_BITS | logical as u64)
    }

    /// The wall-clock part in milliseconds.
    pub const fn ms(self) -> u64 {
        self.0 >> LOGICAL_BITS
    }

    /// The logical part.
    pub const fn logical(self) -> u16 {
        (self.0 & LOGICAL_MASK) as u16
    }

    /// The timestamp for a local event at wall time `now_ms`: strictly greater than `self`.
    #[must_use]
    pub fn tick(self, now_ms: u64) -> Hlc {
        let now = now_ms.min(MAX_MS);
        if now > self.ms() {
            Hlc::new(now, 0)
        } else {
            self.successor()
        }
    }

    /// The timestamp after receiving `remote` at wall time `now_ms`: greater than both.
    #[must_use]
    pub fn observe(self, remote: Hlc, now_ms: u64) -> Hlc {
        let now = now_ms.min(MAX_MS);
        let top = self.max(remote);
        if now > top.ms() {
            Hlc::new(now, 0)
        } else {
            top.successor()
        }
    }

    fn successor(self) -> Hlc {
        if self.0 == u64::MAX {
            self
        } else if self.logical() == u16::MAX {
            Hlc::new(self.ms().saturating_add(1), 0)
        } else {
            Hlc(self.0 + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tick_and_observe() {
        let a = Hlc::default().tick(1000);
        assert_eq!((a.ms(), a.logical()), (1000, 0));
        let b = a.tick(999); // wall clock went back
        assert_eq!((b.ms(), b.logical()), (1000, 1));
        let c = b.observe(Hlc::new(5000, 7), 1200);
        assert_eq!((c.ms(), c.logical()), (5000, 8));
        assert_eq!(Hlc::new(1, u16::MAX).tick(0), Hlc::new(2, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn monotone(start in any::<u64>(), events in prop::collection::vec((any::<bool>(), any::<u64>(), any::<u64>()), 1..50)) {
            let mut h = Hlc(start);
            for (remote, now, r) in events {
                let next = if remote { h.observe(Hlc(r), now) } else { h.tick(now) };
                prop_assert!(next > h || h.0 == u64::MAX);
                if remote { prop_assert!(next >= Hlc(r)); }
                h = next;
            }
        }
    }
}
