//! One table-driven check of [`TxnTables`] semantics, run against every implementation:
//! the counts each write reports (inserted, repeated, conflicting) and the rows read back,
//! in key order.

use std::collections::BTreeMap;

use pharm_loadtest::cloud::table::{TxnRow, TxnTables, Written};
use pharm_loadtest::requests::pharmacy_id;
use pharm_shard::directory::{LogicalShard, PhysicalShard, ShardMap};
use pharm_shard::hash::HashScheme;

/// The logical shard of pharmacy `p` among 16 (as both backends route).
pub(crate) fn logical(p: u32) -> LogicalShard {
    ShardMap::new(HashScheme::Pharm, 16, &[PhysicalShard(0)])
        .map(|m| m.route(pharmacy_id(p)).logical)
        .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn row(pharmacy: u32, terminal: u16, seq: u64, digest: u8) -> TxnRow {
    TxnRow {
        pharmacy,
        terminal,
        // Above i64::MAX on purpose: stored bit for bit, read back in unsigned order.
        incarnation: if terminal == 2 { u64::MAX - 1 } else { 9 },
        seq,
        digest: [digest; 16],
        units: -i64::from(digest),
    }
}

/// Writes `rows` one logical shard at a time; the summed counts.
pub(crate) fn write_all(tables: &dyn TxnTables, rows: &[TxnRow]) -> Written {
    let mut by_shard: BTreeMap<u32, Vec<TxnRow>> = BTreeMap::new();
    for r in rows {
        by_shard.entry(logical(r.pharmacy).0).or_default().push(*r);
    }
    let mut total = Written::default();
    for (shard, rows) in by_shard {
        let written = tables
            .write(LogicalShard(shard), &rows)
            .unwrap_or_else(|e| panic!("{e}"));
        total.add(written);
    }
    total
}

fn written(inserted: u64, repeated: u64, conflicting: u64) -> Written {
    Written {
        inserted,
        repeated,
        conflicting,
    }
}

/// Runs the cases on empty `tables`; returns every pharmacy's rows afterwards.
pub(crate) fn check(tables: &dyn TxnTables) -> BTreeMap<u32, Vec<TxnRow>> {
    let pharmacies: Vec<u32> = (0..12).collect();
    let fresh: Vec<TxnRow> = pharmacies
        .iter()
        .flat_map(|&p| [row(p, 2, 1, 1), row(p, 1, 2, 2), row(p, 1, 1, 3)])
        .collect();
    let mixed: Vec<TxnRow> = pharmacies
        .iter()
        .flat_map(|&p| {
            [
                row(p, 1, 1, 3), // repeat
                row(p, 1, 2, 9), // conflict
                row(p, 0, 7, 4), // new
                row(p, 0, 7, 4), // the same new row twice: a repeat
                row(p, 0, 8, 5), // new ...
                row(p, 0, 8, 6), // ... and another digest in the same batch: a conflict
            ]
        })
        .collect();
    let n = pharmacies.len() as u64;
    let cases: [(&str, &[TxnRow], Written); 4] = [
        ("empty batch", &[], written(0, 0, 0)),
        ("fresh rows", &fresh, written(3 * n, 0, 0)),
        ("the same rows again", &fresh, written(0, 3 * n, 0)),
        (
            "repeats, conflicts and duplicates",
            &mixed,
            written(2 * n, 2 * n, 2 * n),
        ),
    ];
    for (name, rows, expected) in cases {
        assert_eq!(write_all(tables, rows), expected, "{name}");
    }
    let mut all = BTreeMap::new();
    for p in pharmacies {
        let rows = tables.rows(logical(p), p).unwrap_or_else(|e| panic!("{e}"));
        let keys: Vec<_> = rows
            .iter()
            .map(|r| (r.terminal, r.seq, r.digest[0]))
            .collect();
        assert_eq!(
            keys,
            [(0, 7, 4), (0, 8, 5), (1, 1, 3), (1, 2, 2), (2, 1, 1)],
            "pharmacy {p}"
        );
        assert!(rows.iter().all(|r| r.units == -i64::from(r.digest[0])));
        all.insert(p, rows);
    }
    all
}
