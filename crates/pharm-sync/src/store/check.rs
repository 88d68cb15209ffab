//! The integrity checks a store runs on open: SQLite's `quick_check` (every b-tree; the
//! schema has no secondary index), every row's checksum, the foreign keys, and
//! cross-checks of the stored state against the stored transactions.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::persist::{Loaded, Status, corrupt};
use super::{StoreError, tables};
use crate::auth::Digest;
use crate::txn::{LotKey, Txn, TxnKind};

/// SQLite's structural check, every row's checksum, the foreign keys.
pub(super) fn file(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("PRAGMA quick_check")?;
    let report: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if report != ["ok"] {
        return Err(corrupt(format!("quick_check: {}", report.join("; "))));
    }
    for t in tables::ALL {
        let bad = t.bad_rows(conn)?;
        if bad > 0 {
            return Err(corrupt(format!(
                "{bad} row(s) of {} fail their checksum",
                t.name
            )));
        }
    }
    let dangling: i64 =
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?;
    if dangling > 0 {
        return Err(corrupt(format!(
            "{dangling} queued row(s) without their transaction"
        )));
    }
    Ok(())
}

/// The stored state agrees with the stored transactions: this replica's own history is
/// complete (sequence numbers 1 to its version, each chained to the digest of the one
/// before, which the decoder recomputed from its bytes), its
/// counter cells are exactly the sums of those transactions' lines, and every replica the
/// version vector names has its head at that version.
pub(super) fn state(loaded: &Loaded, own: &[(Txn, Status)]) -> Result<(), StoreError> {
    let parts = &loaded.parts;
    let me = parts.me;
    let state = &parts.state;
    let version = state.vv().get(&me);
    if own.len() as u64 != version {
        return Err(corrupt(format!(
            "{} stored transactions of this replica for version {version}",
            own.len()
        )));
    }
    let mut prev = Digest::default();
    let mut sums: BTreeMap<LotKey, (u64, u64, u64)> = BTreeMap::new();
    for (i, (t, _)) in own.iter().enumerate() {
        if t.id.seq != i as u64 + 1 {
            return Err(corrupt(format!("own transaction {} is missing", i + 1)));
        }
        if t.prev != prev {
            return Err(corrupt(format!(
                "own transaction {} does not chain onto the one before",
                t.id.seq
            )));
        }
        prev = t.digest;
        if t.kind != TxnKind::TransferIn {
            for l in &t.lines {
                let e = sums.entry(l.lot).or_default();
                if l.delta < 0 {
                    e.1 = e.1.saturating_add(l.delta.unsigned_abs());
                } else {
                    e.0 = e.0.saturating_add(l.delta.unsigned_abs());
                }
                e.2 = t.id.seq;
            }
        }
    }
    let cells: BTreeMap<LotKey, (u64, u64, u64)> = state
        .lots()
        .filter_map(|(info, _)| {
            state
                .cell(&info.key, me)
                .map(|c| (info.key, (c.p, c.n, c.last_seq)))
        })
        .collect();
    if cells != sums {
        return Err(corrupt(
            "this replica's counter cells differ from its stored transactions",
        ));
    }
    for (r, seq) in state.vv().iter() {
        let head = state.head(&r);
        if head.is_none_or(|h| h.id.seq != seq) {
            return Err(corrupt(format!("head of {r} missing")));
        }
    }
    if let Some(h) = state.head(&me)
        && h.digest != prev
    {
        return Err(corrupt(
            "this replica's head differs from its last transaction",
        ));
    }
    Ok(())
}

/// The root's log: the held transactions of every replica, in (replica, seq) order, chain
/// wherever two are consecutive (the log may have holes where a lost device's
/// transactions reached the root only as state).
pub(super) fn log(held: &[std::sync::Arc<Txn>]) -> Result<(), StoreError> {
    for pair in held.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.id.replica == b.id.replica && a.id.seq + 1 == b.id.seq && b.prev != a.digest {
            return Err(corrupt(format!(
                "the root's log of {} does not chain at {}",
                b.id.replica, b.id.seq
            )));
        }
    }
    Ok(())
}
