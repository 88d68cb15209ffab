//! The tables' columns, the row checksum every row carries, and the SQL that writes rows
//! with their checksum (generated from the column lists, so writes and the check on open
//! cannot disagree).
//!
//! Every row has a `chk` column: FNV-1a (64-bit) over the table name and each column's
//! value (a type byte, then the value: 8 bytes little-endian for an integer, length and
//! bytes for text and blobs), computed by the SQL function `pharm_chk` that the store
//! registers on its connection. A flipped bit in any value (or in the checksum) makes the
//! row fail the check on open; FNV-1a changes for every single-byte change, since each of
//! its steps is a bijection.

use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;

/// A table and its columns (without `chk`), in checksum order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Table {
    pub(super) name: &'static str,
    pub(super) columns: &'static [&'static str],
    /// The primary-key columns (for upserts and updates).
    pub(super) key: &'static [&'static str],
}

macro_rules! table {
    ($ident:ident, $name:literal, [$($col:literal),+], key [$($key:literal),+]) => {
        pub(super) const $ident: Table = Table {
            name: $name,
            columns: &[$($col),+],
            key: &[$($key),+],
        };
    };
}

table!(
    STORE_META,
    "store_meta",
    [
        "id",
        "store_id",
        "replica",
        "hlc",
        "next_lot_no",
        "last_sync_ms",
        "restored_from",
        "superseded",
        "commits"
    ],
    key["id"]
);
table!(ELECTION, "election", ["id", "term", "voted_for"], key["id"]);
table!(VV, "vv", ["replica", "seq"], key["replica"]);
table!(
    ACKS,
    "acks",
    ["replica", "seq", "from_seq", "digest", "seal"],
    key["replica"]
);
table!(
    HEADS,
    "heads",
    ["replica", "seq", "body", "seal"],
    key["replica"]
);
table!(TRANSACTIONS, "transactions", ["replica", "seq", "own", "status", "format", "body", "seal"], key ["replica", "seq"]);
table!(LOTS, "lots", ["origin", "local_no", "ord", "created_seq", "sku", "ndc", "lot_number", "expiry", "controlled"], key ["origin", "local_no"]);
table!(CELLS, "cells", ["lot_origin", "lot_no", "replica", "p", "n", "last_seq"], key ["lot_origin", "lot_no", "replica"]);
table!(HOLDS, "holds", ["hold_replica", "hold_seq", "lot_origin", "lot_no", "reference"], key ["hold_replica", "hold_seq"]);
table!(RELEASES, "releases", ["hold_replica", "hold_seq", "by_replica", "by_seq"], key ["hold_replica", "hold_seq", "by_replica", "by_seq"]);
table!(TRANSFERS, "transfers", ["from_store", "number", "by_replica", "by_seq", "lot_origin", "lot_no", "units"], key ["from_store", "number", "by_replica", "by_seq"]);
table!(COMPENSATIONS, "compensations", ["lot_origin", "lot_no", "version", "by_replica", "by_seq"], key ["lot_origin", "lot_no", "version", "by_replica", "by_seq"]);
table!(LOT_META, "lot_meta", ["lot_origin", "lot_no", "value", "hlc", "by_replica", "by_seq"], key ["lot_origin", "lot_no"]);
table!(CLAIMS, "claims", ["txn_replica", "txn_seq", "payload", "sent_ms"], key ["txn_replica", "txn_seq"]);
table!(PMP_REPORTS, "pmp_reports", ["txn_replica", "txn_seq", "payload", "sent_ms"], key ["txn_replica", "txn_seq"]);
table!(PATIENTS, "patients", ["id", "body"], key["id"]);
table!(DRUG_CATALOG, "drug_catalog", ["id", "body"], key["id"]);
table!(PRESCRIPTIONS, "prescriptions", ["id", "body"], key["id"]);

/// Every table of the schema.
pub(super) const ALL: [Table; 18] = [
    STORE_META,
    ELECTION,
    VV,
    ACKS,
    HEADS,
    TRANSACTIONS,
    LOTS,
    CELLS,
    HOLDS,
    RELEASES,
    TRANSFERS,
    COMPENSATIONS,
    LOT_META,
    CLAIMS,
    PMP_REPORTS,
    PATIENTS,
    DRUG_CATALOG,
    PRESCRIPTIONS,
];

/// What to do when a row with the same key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnConflict {
    /// Fail (a constraint error).
    Fail,
    /// Keep the existing row.
    Ignore,
    /// Replace the other columns.
    Update,
}

impl Table {
    /// `INSERT` of every column (parameters `?1`… in column order) with its checksum.
    pub(super) fn insert(&self, on_conflict: OnConflict) -> String {
        let params: Vec<String> = (1..=self.columns.len()).map(|i| format!("?{i}")).collect();
        let mut sql = format!(
            "INSERT INTO {t} ({cols}, chk) VALUES ({ps}, pharm_chk('{t}', {ps}))",
            t = self.name,
            cols = self.columns.join(", "),
            ps = params.join(", "),
        );
        match on_conflict {
            OnConflict::Fail => {}
            OnConflict::Ignore => sql.push_str(" ON CONFLICT DO NOTHING"),
            OnConflict::Update => {
                let sets: Vec<String> = self
                    .columns
                    .iter()
                    .filter(|c| !self.key.contains(c))
                    .chain(std::iter::once(&"chk"))
                    .map(|c| format!("{c} = excluded.{c}"))
                    .collect();
                sql.push_str(&format!(
                    " ON CONFLICT ({}) DO UPDATE SET {}",
                    self.key.join(", "),
                    sets.join(", ")
                ));
            }
        }
        sql
    }

    /// `UPDATE` of `set` columns (parameters `?1`… in `set` order, then the key columns) with
    /// the checksum recomputed from the row's other values.
    pub(super) fn update(&self, set: &[&str]) -> String {
        let param = |c: &str| {
            set.iter()
                .position(|s| *s == c)
                .map(|i| format!("?{}", i + 1))
        };
        let chk_args: Vec<String> = self
            .columns
            .iter()
            .map(|c| param(c).unwrap_or_else(|| (*c).to_string()))
            .collect();
        let sets: Vec<String> = set
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ?{}", i + 1))
            .collect();
        let wheres: Vec<String> = self
            .key
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ?{}", set.len() + i + 1))
            .collect();
        format!(
            "UPDATE {t} SET {sets}, chk = pharm_chk('{t}', {args}) WHERE {wheres}",
            t = self.name,
            sets = sets.join(", "),
            args = chk_args.join(", "),
            wheres = wheres.join(" AND "),
        )
    }

    /// Counts the rows whose checksum does not match their values.
    pub(super) fn bad_rows(&self, conn: &Connection) -> rusqlite::Result<i64> {
        let sql = format!(
            "SELECT count(*) FROM {t} WHERE chk IS NOT pharm_chk('{t}', {cols})",
            t = self.name,
            cols = self.columns.join(", ")
        );
        conn.query_row(&sql, [], |r| r.get(0))
    }
}

/// FNV-1a 64 over the checksum encoding of a table name and values.
fn checksum<'a>(values: impl Iterator<Item = ValueRef<'a>>) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for v in values {
        match v {
            ValueRef::Null => eat(&[0]),
            ValueRef::Integer(i) => {
                eat(&[1]);
                eat(&i.to_le_bytes());
            }
            ValueRef::Real(f) => {
                eat(&[2]);
                eat(&f.to_bits().to_le_bytes());
            }
            ValueRef::Text(t) => {
                eat(&[3]);
                eat(&(t.len() as u64).to_le_bytes());
                eat(t);
            }
            ValueRef::Blob(b) => {
                eat(&[4]);
                eat(&(b.len() as u64).to_le_bytes());
                eat(b);
            }
        }
    }
    h as i64
}

/// Registers `pharm_chk(table, values...)` on a connection.
pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "pharm_chk",
        -1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx: &Context<'_>| Ok(checksum((0..ctx.len()).map(|i| ctx.get_raw(i)))),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_sql() {
        assert_eq!(
            VV.insert(OnConflict::Update),
            "INSERT INTO vv (replica, seq, chk) VALUES (?1, ?2, pharm_chk('vv', ?1, ?2)) ON CONFLICT (replica) DO UPDATE SET seq = excluded.seq, chk = excluded.chk"
        );
        assert_eq!(
            CLAIMS.update(&["sent_ms"]),
            "UPDATE claims SET sent_ms = ?1, chk = pharm_chk('claims', txn_replica, txn_seq, payload, ?1) WHERE txn_replica = ?2 AND txn_seq = ?3"
        );
    }

    #[test]
    fn every_byte_counts() {
        let a = checksum([ValueRef::Text(b"cells"), ValueRef::Integer(5)].into_iter());
        let b = checksum([ValueRef::Text(b"cells"), ValueRef::Integer(4)].into_iter());
        let c = checksum([ValueRef::Text(b"cellt"), ValueRef::Integer(5)].into_iter());
        assert!(a != b && a != c && b != c);
    }
}
