//! Asynchronous replication of a shard store's primary, and the writer's defence against
//! its lag.
//!
//! A primary acknowledges a batch once it stored it; its replica confirms the batch later
//! (its confirmed position, the LSN horizon, trails the primary's by up to
//! [`CONFIRM_LAG_BATCHES`] batches). When the primary fails, the promoted replica lacks
//! whatever it had not confirmed: a lag spike loses the last few acknowledged batches. The
//! writer therefore keeps each shard's [`Tail`] (the batches written since the replica's
//! horizon) and, after a failover, writes that tail again on the promoted replica. Rows are
//! keyed by (replica, sequence number) and checked by digest, so what the replica still
//! held comes back as an idempotent repeat.

use std::collections::VecDeque;

use super::table::TxnRow;
use crate::rng::XorShift64;

/// How many batches the replica's confirmed horizon trails the primary by.
pub const CONFIRM_LAG_BATCHES: usize = 5;

/// Most batches one lag spike loses (never more than the replica has not confirmed).
pub const MAX_LOST_BATCHES: u32 = 5;

/// Injected lag spikes: at a failover, with `per_mille` chance, the promoted replica lacks
/// the last 1–[`MAX_LOST_BATCHES`] unconfirmed batches; under the test-only
/// `skip_tail_rewrite` defect the writer does not write its tail again.
#[derive(Debug, Clone)]
pub struct LagSpikes {
    /// Chance of a lag spike at a failover, per mille.
    pub per_mille: u32,
    /// Draws.
    pub rng: XorShift64,
    /// The defect: the tail is not written again after a failover.
    pub skip_tail_rewrite: bool,
}

impl LagSpikes {
    /// The batches the promoted replica lacks at one failover, of `unconfirmed` (0 when
    /// the replica had caught up).
    pub fn draw(&mut self, unconfirmed: usize) -> usize {
        if self.rng.below(1_000) >= self.per_mille {
            return 0;
        }
        let lost = self.rng.range(1, MAX_LOST_BATCHES) as usize;
        lost.min(unconfirmed)
    }
}

/// One shard's batches written since its replica's confirmed horizon, oldest first.
#[derive(Debug, Default)]
pub struct Tail {
    batches: VecDeque<Vec<TxnRow>>,
}

impl Tail {
    /// Keeps a batch just written; the replica confirms the oldest kept batch once more
    /// than [`CONFIRM_LAG_BATCHES`] trail it.
    pub fn push(&mut self, rows: &[TxnRow]) {
        self.batches.push_back(rows.to_vec());
        while self.batches.len() > CONFIRM_LAG_BATCHES {
            self.batches.pop_front();
        }
    }

    /// Batches the replica has not confirmed.
    pub fn len(&self) -> usize {
        self.batches.len()
    }

    /// Whether the replica confirmed everything.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// The rows of the last `n` batches.
    pub fn last(&self, n: usize) -> Vec<TxnRow> {
        let skip = self.batches.len().saturating_sub(n);
        self.batches.iter().skip(skip).flatten().copied().collect()
    }

    /// Every unconfirmed row, oldest batch first.
    pub fn rows(&self) -> Vec<TxnRow> {
        self.last(self.batches.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(seq: u64) -> Vec<TxnRow> {
        vec![TxnRow {
            pharmacy: 1,
            terminal: 1,
            incarnation: 2,
            seq,
            digest: [0; 16],
            units: -1,
        }]
    }

    #[test]
    fn the_tail_keeps_only_unconfirmed_batches() {
        let mut tail = Tail::default();
        assert!(tail.is_empty());
        for seq in 1..=8 {
            tail.push(&batch(seq));
        }
        assert_eq!(tail.len(), CONFIRM_LAG_BATCHES);
        let seqs = |rows: Vec<TxnRow>| rows.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(tail.rows()), [4, 5, 6, 7, 8]);
        assert_eq!(seqs(tail.last(2)), [7, 8]);
        assert_eq!(seqs(tail.last(9)), [4, 5, 6, 7, 8]);
    }

    #[test]
    fn a_spike_never_loses_more_than_is_unconfirmed() {
        let mut lag = LagSpikes {
            per_mille: 1_000,
            rng: XorShift64::new(4),
            skip_tail_rewrite: false,
        };
        let drawn: Vec<usize> = (0..64).map(|_| lag.draw(3)).collect();
        assert!(drawn.iter().all(|n| (1..=3).contains(n)));
        lag.per_mille = 0;
        assert_eq!(lag.draw(5), 0);
    }
}
