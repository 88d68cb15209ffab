//! The cloud's durable transaction table: what each shard store keeps of every terminal
//! transaction the root (the cloud's `pharm_sync` peer of a pharmacy) logged.
//!
//! A row is keyed by (pharmacy, terminal, incarnation, sequence number). Writing a row the
//! table already holds with the same digest is an idempotent repeat (a re-upload); the same
//! key with another digest is a conflict, which the final checks report. Implementations
//! are shared by every driver thread ([`TxnTables`] takes `&self`).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use pharm_shard::directory::LogicalShard;

/// One transaction as a shard store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxnRow {
    /// Pharmacy index (`0..pharmacies`).
    pub pharmacy: u32,
    /// Terminal (the replica's terminal number; 0 is the back office).
    pub terminal: u16,
    /// The replica's incarnation.
    pub incarnation: u64,
    /// Sequence number at that replica, from 1.
    pub seq: u64,
    /// The transaction's digest.
    pub digest: [u8; 16],
    /// Net units of its lines (negative for a dispense).
    pub units: i64,
}

impl TxnRow {
    /// The row's key.
    pub fn key(&self) -> RowKey {
        (self.pharmacy, self.terminal, self.incarnation, self.seq)
    }
}

/// What one write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Rows new to the table.
    pub inserted: u64,
    /// Rows it already held with the same digest (idempotent repeats).
    pub repeated: u64,
    /// Rows whose key it held with another digest (not written).
    pub conflicting: u64,
}

impl Written {
    /// Adds another write's counts.
    pub fn add(&mut self, other: Written) {
        self.inserted += other.inserted;
        self.repeated += other.repeated;
        self.conflicting += other.conflicting;
    }
}

/// A shard store's table could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("shard {shard} transaction table: {reason}")]
pub struct TableError {
    /// The logical shard.
    pub shard: u32,
    /// What went wrong.
    pub reason: String,
}

/// A write in progress ([`TxnTables::start_write`]): [`PendingWrite::wait`] returns once
/// the rows are stored (committed) or the write failed.
pub struct PendingWrite(Box<dyn FnOnce() -> Result<Written, TableError> + Send>);

impl PendingWrite {
    /// A write that already ended.
    pub fn done(result: Result<Written, TableError>) -> Self {
        PendingWrite(Box::new(move || result))
    }

    /// A write that ends when `wait` returns.
    pub fn later(wait: impl FnOnce() -> Result<Written, TableError> + Send + 'static) -> Self {
        PendingWrite(Box::new(wait))
    }

    /// Waits for the write to end.
    pub fn wait(self) -> Result<Written, TableError> {
        (self.0)()
    }
}

impl std::fmt::Debug for PendingWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingWrite")
    }
}

/// The transaction tables of every logical shard.
pub trait TxnTables: Send + Sync {
    /// Writes `rows` (all of pharmacies routed to `shard`).
    fn write(&self, shard: LogicalShard, rows: &[TxnRow]) -> Result<Written, TableError>;
    /// Starts writing `rows` and returns at once; the caller waits for the write before it
    /// lets anyone learn that the rows are stored. The default writes before returning.
    fn start_write(&self, shard: LogicalShard, rows: Vec<TxnRow>) -> PendingWrite {
        PendingWrite::done(self.write(shard, &rows))
    }
    /// Every row of `pharmacy`, in key order.
    fn rows(&self, shard: LogicalShard, pharmacy: u32) -> Result<Vec<TxnRow>, TableError>;
    /// Forgets `rows` (those held with the same digest), as a promoted replica that never
    /// received them would; returns how many it held. Only a simulated backend can; the
    /// default refuses.
    fn lose(&self, shard: LogicalShard, rows: &[TxnRow]) -> Result<u64, TableError> {
        let _ = rows;
        Err(TableError {
            shard: shard.0,
            reason: "this backend cannot simulate a replica's lag".into(),
        })
    }
}

/// A row's key: pharmacy, terminal, incarnation, sequence number.
pub type RowKey = (u32, u16, u64, u64);

/// One in-process shard table.
type MemoryTable = Mutex<BTreeMap<RowKey, TxnRow>>;

/// The embedded backend: one in-process table per logical shard.
#[derive(Debug)]
pub struct MemoryTables {
    shards: Vec<MemoryTable>,
}

impl MemoryTables {
    /// Empty tables for `logical` shards.
    pub fn new(logical: u32) -> Self {
        MemoryTables {
            shards: (0..logical).map(|_| Mutex::new(BTreeMap::new())).collect(),
        }
    }

    fn shard(&self, shard: LogicalShard) -> Result<&MemoryTable, TableError> {
        self.shards.get(shard.0 as usize).ok_or(TableError {
            shard: shard.0,
            reason: format!("no such shard (the tables have {})", self.shards.len()),
        })
    }
}

impl TxnTables for MemoryTables {
    fn write(&self, shard: LogicalShard, rows: &[TxnRow]) -> Result<Written, TableError> {
        let mut table = self
            .shard(shard)?
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut w = Written::default();
        for row in rows {
            match table.get(&row.key()) {
                None => {
                    table.insert(row.key(), *row);
                    w.inserted += 1;
                }
                Some(held) if held.digest == row.digest => w.repeated += 1,
                Some(_) => w.conflicting += 1,
            }
        }
        Ok(w)
    }

    fn rows(&self, shard: LogicalShard, pharmacy: u32) -> Result<Vec<TxnRow>, TableError> {
        let table = self
            .shard(shard)?
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(table
            .range((pharmacy, 0, 0, 0)..=(pharmacy, u16::MAX, u64::MAX, u64::MAX))
            .map(|(_, r)| *r)
            .collect())
    }

    fn lose(&self, shard: LogicalShard, rows: &[TxnRow]) -> Result<u64, TableError> {
        let mut table = self
            .shard(shard)?
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut lost = 0;
        for row in rows {
            if table.get(&row.key()) == Some(row) {
                table.remove(&row.key());
                lost += 1;
            }
        }
        Ok(lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: u64, d: u8) -> TxnRow {
        TxnRow {
            pharmacy: 3,
            terminal: 1,
            incarnation: 9,
            seq,
            digest: [d; 16],
            units: -2,
        }
    }

    #[test]
    fn repeats_are_idempotent_and_conflicts_are_not_written() {
        let t = MemoryTables::new(16);
        let s = LogicalShard(5);
        assert_eq!(
            t.write(s, &[row(1, 1), row(2, 2)]).map(|w| w.inserted),
            Ok(2)
        );
        let w = t.write(s, &[row(2, 2), row(2, 7), row(3, 3)]);
        assert_eq!(
            w,
            Ok(Written {
                inserted: 1,
                repeated: 1,
                conflicting: 1
            })
        );
        let rows = t.rows(s, 3).unwrap_or_default();
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(rows[1].digest, [2; 16]);
        assert!(t.rows(s, 4).is_ok_and(|r| r.is_empty()));
        assert!(t.write(LogicalShard(16), &[row(1, 1)]).is_err());
        assert_eq!(t.lose(s, &[row(2, 2), row(3, 9), row(4, 4)]), Ok(1));
        let left = t.rows(s, 3).unwrap_or_default();
        assert_eq!(left.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 3]);
    }
}
