//! One driver thread's writes to the shard stores, batched per logical shard: what the
//! roots of many pharmacies logged goes to their shard's table in one write (one commit)
//! instead of one write per sync session, the way a cloud service batches the uploads it
//! receives from many stores.
//!
//! A pharmacy's rows join its shard's open batch ([`ShardWriter::submit`] returns the
//! batch's number); a batch starts writing when it holds [`ShardWriter::new`]'s `max_rows`,
//! or when a pharmacy must know its rows are stored ([`ShardWriter::settle`]: before the
//! cloud answers that pharmacy again, so no acknowledgement reaches a terminal before its
//! transaction's row is stored).
//!
//! With injected lag spikes ([`ShardWriter::with_lag_spikes`]) each shard also keeps the
//! batches its replica has not confirmed, and writes them again after a failover (see
//! [`super::lag`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use pharm_shard::directory::LogicalShard;

use super::lag::{LagSpikes, Tail};
use super::table::{PendingWrite, TableError, TxnRow, TxnTables, Written};
use crate::rng::XorShift64;

/// Injected shard-primary failures: a batch's write fails on the primary with `per_mille`
/// chance and goes again to the promoted replica (the acknowledgement still waits for it);
/// under the test-only `acknowledge_before_storing` defect the failed batch is dropped.
#[derive(Debug, Clone)]
pub struct Failover {
    /// Chance of a failed write, per mille.
    pub per_mille: u32,
    /// Draws.
    pub rng: XorShift64,
    /// The defect: a failed write is not written again.
    pub acknowledge_before_storing: bool,
}

/// A pharmacy's place in a shard's batches: the shard and the batch number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    shard: LogicalShard,
    batch: u64,
}

/// One logical shard's batches.
#[derive(Debug, Default)]
struct ShardBatches {
    /// Number of the open batch (the one `rows` fill).
    open: u64,
    rows: Vec<TxnRow>,
    /// Batches writing, oldest first.
    writing: VecDeque<(u64, PendingWrite)>,
    /// Batches written that the replica has not confirmed (kept only with lag spikes).
    tail: Tail,
}

/// See the [module documentation](self).
pub struct ShardWriter {
    tables: Arc<dyn TxnTables>,
    max_rows: usize,
    shards: BTreeMap<u32, ShardBatches>,
    /// What the ended writes did.
    pub written: Written,
    /// Writes that failed.
    pub errors: Vec<TableError>,
    /// Writes (batches) made.
    pub batches: u64,
    /// Injected primary failures.
    failover: Option<Failover>,
    /// Writes that failed on the primary and went to the promoted replica.
    pub failovers: u64,
    /// Injected replica lag at failovers.
    lag: Option<LagSpikes>,
    /// Failovers whose promoted replica lacked acknowledged batches.
    pub lag_spikes: u64,
    /// What writing the unconfirmed tails again after those failovers did.
    pub rewritten: Written,
    /// Trace lines for the pharmacies whose rows a lag spike lost, in order.
    notes: Vec<(u32, String)>,
}

impl std::fmt::Debug for ShardWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardWriter")
            .field("max_rows", &self.max_rows)
            .field("written", &self.written)
            .field("batches", &self.batches)
            .finish_non_exhaustive()
    }
}

impl ShardWriter {
    /// A writer to `tables` that starts a batch's write at `max_rows` rows.
    pub fn new(tables: Arc<dyn TxnTables>, max_rows: usize) -> Self {
        ShardWriter {
            tables,
            max_rows: max_rows.max(1),
            shards: BTreeMap::new(),
            written: Written::default(),
            errors: Vec::new(),
            batches: 0,
            failover: None,
            failovers: 0,
            lag: None,
            lag_spikes: 0,
            rewritten: Written::default(),
            notes: Vec::new(),
        }
    }

    /// The same writer with injected replica lag at its failovers.
    pub fn with_lag_spikes(mut self, lag: LagSpikes) -> Self {
        self.lag = (lag.per_mille > 0).then_some(lag);
        self
    }

    /// Takes the trace lines of lag spikes so far: (pharmacy, line).
    pub fn take_notes(&mut self) -> Vec<(u32, String)> {
        std::mem::take(&mut self.notes)
    }

    /// The same writer with injected primary failures.
    pub fn with_failover(mut self, failover: Failover) -> Self {
        self.failover =
            (failover.per_mille > 0 || failover.acknowledge_before_storing).then_some(failover);
        self
    }

    /// Adds `rows` (of pharmacies routed to `shard`) to the shard's open batch.
    pub fn submit(&mut self, shard: LogicalShard, rows: Vec<TxnRow>) -> Ticket {
        let b = self.shards.entry(shard.0).or_default();
        b.rows.extend(rows);
        let ticket = Ticket {
            shard,
            batch: b.open,
        };
        if b.rows.len() >= self.max_rows {
            self.start(shard);
        }
        ticket
    }

    /// Returns once the batch of `ticket` (and every earlier batch of its shard) is stored
    /// or failed, starting it first if it is still open.
    pub fn settle(&mut self, ticket: Ticket) {
        let open = self.shards.get(&ticket.shard.0).map(|b| b.open);
        if open == Some(ticket.batch) {
            self.start(ticket.shard);
        }
        loop {
            let Some(b) = self.shards.get_mut(&ticket.shard.0) else {
                return;
            };
            match b.writing.front() {
                Some((n, _)) if *n <= ticket.batch => {}
                _ => return,
            }
            if let Some((_, pending)) = b.writing.pop_front() {
                self.end(pending);
            }
        }
    }

    /// Starts every open batch and waits for every write.
    pub fn flush(&mut self) {
        let shards: Vec<u32> = self.shards.keys().copied().collect();
        for s in shards {
            self.start(LogicalShard(s));
            while let Some((_, pending)) =
                self.shards.get_mut(&s).and_then(|b| b.writing.pop_front())
            {
                self.end(pending);
            }
        }
    }

    /// Starts writing the open batch of `shard` (an empty one is just closed).
    fn start(&mut self, shard: LogicalShard) {
        let Some(b) = self.shards.get_mut(&shard.0) else {
            return;
        };
        let rows = std::mem::take(&mut b.rows);
        let n = b.open;
        b.open += 1;
        if rows.is_empty() {
            return;
        }
        self.batches += 1;
        if let Some(f) = &mut self.failover
            && f.rng.below(1_000) < f.per_mille
        {
            // The primary failed this write; the promoted replica takes it again.
            self.failovers += 1;
            let dropped = f.acknowledge_before_storing;
            self.promote(shard);
            if dropped {
                return;
            }
        }
        if let Some(b) = self.shards.get_mut(&shard.0) {
            if self.lag.is_some() {
                b.tail.push(&rows);
            }
            b.writing
                .push_back((n, self.tables.start_write(shard, rows)));
        }
    }

    /// The replica of `shard` is promoted: the writes in flight end first; with a lag
    /// spike it lacks the last unconfirmed batches, and the writer writes its whole tail
    /// again (idempotently: what the replica held comes back as repeats).
    fn promote(&mut self, shard: LogicalShard) {
        let (Some(lag), Some(b)) = (&mut self.lag, self.shards.get_mut(&shard.0)) else {
            return;
        };
        while let Some((_, pending)) = b.writing.pop_front() {
            match pending.wait() {
                Ok(w) => self.written.add(w),
                Err(e) => self.errors.push(e),
            }
        }
        let lost = lag.draw(b.tail.len());
        if lost == 0 {
            return;
        }
        self.lag_spikes += 1;
        let gone = b.tail.last(lost);
        if let Err(e) = self.tables.lose(shard, &gone) {
            self.errors.push(e);
        }
        let mut per_pharmacy: BTreeMap<u32, usize> = BTreeMap::new();
        for row in &gone {
            *per_pharmacy.entry(row.pharmacy).or_default() += 1;
        }
        let again = if lag.skip_tail_rewrite {
            "the tail is not written again".to_string()
        } else {
            format!("the {} unconfirmed batches written again", b.tail.len())
        };
        for (p, rows) in per_pharmacy {
            self.notes.push((
                p,
                format!(
                    "shard {} failover with a replica lag spike: the promoted replica lacked the last {lost} acknowledged batches ({rows} rows of this pharmacy); {again}",
                    shard.0
                ),
            ));
        }
        if lag.skip_tail_rewrite {
            return;
        }
        match self.tables.write(shard, &b.tail.rows()) {
            Ok(w) => self.rewritten.add(w),
            Err(e) => self.errors.push(e),
        }
    }

    fn end(&mut self, pending: PendingWrite) {
        match pending.wait() {
            Ok(w) => self.written.add(w),
            Err(e) => self.errors.push(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::table::MemoryTables;

    fn row(p: u32, seq: u64) -> TxnRow {
        TxnRow {
            pharmacy: p,
            terminal: 1,
            incarnation: 5,
            seq,
            digest: [seq as u8; 16],
            units: -1,
        }
    }

    #[test]
    fn rows_are_stored_once_their_batch_is_settled() {
        let tables = Arc::new(MemoryTables::new(16));
        let mut w = ShardWriter::new(tables.clone(), 3);
        let s = LogicalShard(2);
        let a = w.submit(s, vec![row(1, 1)]);
        let b = w.submit(s, vec![row(2, 1)]);
        assert_eq!(a, b, "one open batch");
        assert!(
            tables.rows(s, 1).is_ok_and(|r| r.is_empty()),
            "not yet written"
        );
        w.settle(a);
        assert_eq!(tables.rows(s, 1).map(|r| r.len()), Ok(1));
        assert_eq!(tables.rows(s, 2).map(|r| r.len()), Ok(1));
        // A full batch starts by itself; a repeat counts as one.
        let c = w.submit(s, vec![row(1, 2), row(1, 3), row(1, 1)]);
        w.settle(c);
        assert_eq!(w.written.inserted, 4);
        assert_eq!(w.written.repeated, 1);
        assert_eq!(w.batches, 2);
        w.submit(LogicalShard(3), vec![row(9, 1)]);
        w.flush();
        assert_eq!(tables.rows(LogicalShard(3), 9).map(|r| r.len()), Ok(1));
        assert!(w.errors.is_empty());
    }

    #[test]
    fn a_failed_primary_write_is_written_again_unless_the_defect_drops_it() {
        for defect in [false, true] {
            let tables = Arc::new(MemoryTables::new(16));
            let failover = Failover {
                per_mille: 1_000,
                rng: XorShift64::new(1),
                acknowledge_before_storing: defect,
            };
            let mut w = ShardWriter::new(tables.clone(), 8).with_failover(failover);
            let s = LogicalShard(1);
            let t = w.submit(s, vec![row(1, 1)]);
            w.settle(t);
            assert_eq!(w.failovers, 1);
            let stored = tables.rows(s, 1).map(|r| r.len());
            assert_eq!(stored, Ok(usize::from(!defect)));
        }
    }

    #[test]
    fn a_lag_spike_is_repaired_by_writing_the_tail_again_unless_the_defect_skips_it() {
        for defect in [false, true] {
            let tables = Arc::new(MemoryTables::new(16));
            let s = LogicalShard(1);
            // Every write fails over, and every failover comes with a lag spike.
            let mut w = ShardWriter::new(tables.clone(), 1)
                .with_failover(Failover {
                    per_mille: 1_000,
                    rng: XorShift64::new(1),
                    acknowledge_before_storing: false,
                })
                .with_lag_spikes(LagSpikes {
                    per_mille: 1_000,
                    rng: XorShift64::new(2),
                    skip_tail_rewrite: defect,
                });
            for seq in 1..=6 {
                let t = w.submit(s, vec![row(1, seq)]);
                w.settle(t);
            }
            w.flush();
            let stored = tables.rows(s, 1).map(|r| r.len()).unwrap_or_default();
            assert_eq!(w.failovers, 6);
            assert!(w.lag_spikes >= 1);
            assert!(w.errors.is_empty());
            assert_eq!(w.written.conflicting + w.rewritten.conflicting, 0);
            let notes = w.take_notes();
            assert!(
                notes
                    .iter()
                    .all(|(p, l)| *p == 1 && l.contains("lag spike"))
            );
            assert!(!notes.is_empty() && w.take_notes().is_empty());
            if defect {
                assert!(stored < 6, "a lag spike lost nothing");
            } else {
                assert_eq!(stored, 6);
                assert!(w.rewritten.inserted > 0);
            }
        }
    }
}
