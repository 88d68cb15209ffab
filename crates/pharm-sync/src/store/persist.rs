//! Row-level reads and writes. Every writer takes the connection of an open transaction;
//! callers commit.

use std::str::FromStr;

use crdts::{CmRDT, Dot};
use pharm_core::ids::Ndc;
use pharm_core::time::Date;
use rusqlite::{Connection, OptionalExtension, params};

use crate::hlc::Hlc;
use crate::ids::{ReplicaId, StoreId, TxnId};
use crate::replica::{Commit, QueuedItem, Replica, ReplicaParts};
use crate::state::{InventoryState, Lww, StateDelta, VersionVector};
use crate::txn::{DiscrepancyId, HoldOp, LotInfo, LotKey, TransferId, Txn, TxnKind};

use super::{StoreError, blob};

// --- scalar conversions -------------------------------------------------------------

/// `u64` stored bit-for-bit in SQLite's `i64`.
pub(super) fn to_db(v: u64) -> i64 {
    v as i64
}

pub(super) fn from_db(v: i64) -> u64 {
    v as u64
}

pub(super) fn rid(r: ReplicaId) -> i64 {
    i64::from(r.packed())
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: what.into() }
}

pub(super) fn replica_of(v: i64) -> Result<ReplicaId, StoreError> {
    u32::try_from(v)
        .map(ReplicaId::from_packed)
        .map_err(|_| corrupt(format!("replica id {v}")))
}

fn u32_of(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| corrupt(format!("{what} {v}")))
}

fn lot_of(origin: i64, no: i64) -> Result<LotKey, StoreError> {
    Ok(LotKey {
        origin: replica_of(origin)?,
        local_no: u32_of(no, "lot number")?,
    })
}

fn txn_id_of(r: i64, seq: i64) -> Result<TxnId, StoreError> {
    Ok(TxnId {
        replica: replica_of(r)?,
        seq: from_db(seq),
    })
}

// --- identity -----------------------------------------------------------------------

/// Store and replica recorded in the file, if initialised.
pub(super) fn read_identity(conn: &Connection) -> Result<Option<(StoreId, ReplicaId)>, StoreError> {
    let row: Option<(i64, i64)> = conn
        .query_row(
            "SELECT store_id, replica FROM store_meta WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((s, r)) => Ok(Some((StoreId(u32_of(s, "store id")?), replica_of(r)?))),
    }
}

/// Initialises the identity row of a new store.
pub(super) fn init_identity(
    conn: &Connection,
    store: StoreId,
    me: ReplicaId,
) -> Result<(), StoreError> {
    let fresh = Replica::new(store, me);
    conn.execute(
        "INSERT INTO store_meta (id, store_id, replica, hlc, next_lot_no) VALUES (1, ?1, ?2, ?3, ?4)",
        params![i64::from(store.0), rid(me), to_db(fresh.hlc().0), i64::from(fresh.next_lot_no())],
    )?;
    Ok(())
}

// --- writes -------------------------------------------------------------------------

/// Replica scalars: clock and next lot number.
pub(super) fn write_scalars(conn: &Connection, replica: &Replica) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE store_meta SET hlc = ?1, next_lot_no = ?2 WHERE id = 1",
        params![to_db(replica.hlc().0), i64::from(replica.next_lot_no())],
    )?;
    Ok(())
}

/// Upserts the entries of a version vector into `vv` or `root_vv`.
pub(super) fn write_vv(
    conn: &Connection,
    table: VvTable,
    vv: &VersionVector,
) -> Result<(), StoreError> {
    let sql = match table {
        VvTable::State => {
            "INSERT INTO vv (replica, seq) VALUES (?1, ?2) ON CONFLICT (replica) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > vv.seq"
        }
        VvTable::Root => {
            "INSERT INTO root_vv (replica, seq) VALUES (?1, ?2) ON CONFLICT (replica) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > root_vv.seq"
        }
    };
    let mut stmt = conn.prepare_cached(sql)?;
    for (r, s) in &vv.dots {
        stmt.execute(params![rid(*r), to_db(*s)])?;
    }
    Ok(())
}

/// Which version-vector table.
#[derive(Debug, Clone, Copy)]
pub(super) enum VvTable {
    /// The state's version vector.
    State,
    /// What the root has.
    Root,
}

/// Inserts a transaction row (own = committed by this store's replica).
pub(super) fn insert_txn(conn: &Connection, txn: &Txn, own: bool) -> Result<(), StoreError> {
    let (format, body) = blob::encode_txn(txn)?;
    conn.prepare_cached("INSERT INTO transactions (replica, seq, hlc, kind, own, acked_by_root, format, body) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)")?
        .execute(params![rid(txn.id.replica), to_db(txn.id.seq), to_db(txn.hlc.0), txn.kind as u8, own, format, body])?;
    Ok(())
}

/// Marks every transaction the root has as acknowledged (it leaves the outbox).
pub(super) fn ack_root(conn: &Connection, root_vv: &VersionVector) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached("UPDATE transactions SET acked_by_root = 1 WHERE acked_by_root = 0 AND replica = ?1 AND seq <= ?2")?;
    for (r, s) in &root_vv.dots {
        stmt.execute(params![rid(*r), to_db(*s)])?;
    }
    Ok(())
}

fn insert_queued(
    conn: &Connection,
    table: QueueTable,
    item: &QueuedItem,
) -> Result<(), StoreError> {
    let sql = match table {
        QueueTable::Claims => {
            "INSERT INTO claims (txn_replica, txn_seq, payload) VALUES (?1, ?2, ?3)"
        }
        QueueTable::PmpReports => {
            "INSERT INTO pmp_reports (txn_replica, txn_seq, payload) VALUES (?1, ?2, ?3)"
        }
    };
    conn.prepare_cached(sql)?.execute(params![
        rid(item.txn.replica),
        to_db(item.txn.seq),
        item.payload
    ])?;
    Ok(())
}

/// Marks a queued row as sent; returns whether it was pending.
pub(super) fn mark_sent(
    conn: &Connection,
    table: QueueTable,
    txn: TxnId,
    now_ms: u64,
) -> Result<bool, StoreError> {
    let sql = match table {
        QueueTable::Claims => {
            "UPDATE claims SET sent_ms = ?3 WHERE txn_replica = ?1 AND txn_seq = ?2 AND sent_ms IS NULL"
        }
        QueueTable::PmpReports => {
            "UPDATE pmp_reports SET sent_ms = ?3 WHERE txn_replica = ?1 AND txn_seq = ?2 AND sent_ms IS NULL"
        }
    };
    Ok(conn.execute(
        sql,
        params![rid(txn.replica), to_db(txn.seq), to_db(now_ms)],
    )? > 0)
}

/// Which queue table.
#[derive(Debug, Clone, Copy)]
pub(super) enum QueueTable {
    /// Insurance claims.
    Claims,
    /// PMP reports.
    PmpReports,
}

/// Everything a local commit changes, in one database transaction: the transaction row,
/// the state rows it touched, the version vector, clock and lot counter, and its queue rows.
pub(super) fn write_commit(
    conn: &Connection,
    replica: &Replica,
    commit: &Commit,
) -> Result<(), StoreError> {
    insert_txn(conn, &commit.txn, true)?;
    write_changes(conn, replica.state(), &txn_changes(&commit.txn))?;
    write_vv(conn, VvTable::State, replica.state().vv())?;
    write_scalars(conn, replica)?;
    if let Some(c) = &commit.claim {
        insert_queued(conn, QueueTable::Claims, c)?;
    }
    if let Some(r) = &commit.pmp_report {
        insert_queued(conn, QueueTable::PmpReports, r)?;
    }
    Ok(())
}

/// The parts of the state an applied transaction can change, shaped as a delta (counter
/// values and metadata are read back from the state when written).
pub(super) fn txn_changes(txn: &Txn) -> StateDelta {
    let mut d = StateDelta {
        lots: txn.new_lots.clone(),
        ..StateDelta::default()
    };
    if txn.kind == TxnKind::TransferIn {
        if let (Some(t), Some(first)) = (txn.transfer, txn.lines.first()) {
            let units = txn.lines.iter().map(|l| l.delta.unsigned_abs()).sum();
            d.transfers.push((t, txn.id, first.lot, units));
        }
    } else {
        d.cells = txn
            .lines
            .iter()
            .map(|l| (l.lot, txn.id.replica, 0, 0))
            .collect();
    }
    for op in &txn.holds {
        match op {
            HoldOp::Place { lot, reference } => d.holds.push((txn.id, *lot, reference.clone())),
            HoldOp::Release { hold } => d.releases.push((*hold, txn.id)),
        }
    }
    if let Some(c) = txn.compensates {
        d.compensations.push((c, txn.id));
    }
    d.meta = txn
        .meta
        .iter()
        .map(|(lot, value)| {
            (
                *lot,
                Lww {
                    value: value.clone(),
                    hlc: txn.hlc,
                    by: txn.id,
                },
            )
        })
        .collect();
    d
}

/// Writes the state rows named by `changes`. Grow-only facts (lots, holds, releases,
/// transfer recordings, compensations) are inserted as given; counter cells and metadata
/// are read back from `state`, which already includes the change.
pub(super) fn write_changes(
    conn: &Connection,
    state: &InventoryState,
    changes: &StateDelta,
) -> Result<(), StoreError> {
    if !changes.lots.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT OR IGNORE INTO lots (origin, local_no, created_seq, sku, ndc, lot_number, expiry, controlled) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for l in &changes.lots {
            // Only what the state accepted (the first facts of a lot win).
            let Some(info) = state.lot(&l.key) else {
                continue;
            };
            stmt.execute(params![
                rid(info.key.origin),
                info.key.local_no,
                to_db(info.created_seq),
                info.sku,
                info.ndc.to_string(),
                info.lot_number,
                info.expiry.to_string(),
                info.controlled
            ])?;
        }
    }
    if !changes.cells.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO cells (lot_origin, lot_no, replica, p, n, last_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (lot_origin, lot_no, replica) DO UPDATE SET p = excluded.p, n = excluded.n, last_seq = excluded.last_seq",
        )?;
        for (lot, r, _, _) in &changes.cells {
            if let Some(c) = state.cells(lot).iter().find(|c| c.replica == *r) {
                stmt.execute(params![
                    rid(lot.origin),
                    lot.local_no,
                    rid(*r),
                    to_db(c.p),
                    to_db(c.n),
                    to_db(c.last_seq)
                ])?;
            }
        }
    }
    if !changes.holds.is_empty() {
        let mut stmt =
            conn.prepare_cached("INSERT OR IGNORE INTO holds (hold_replica, hold_seq, lot_origin, lot_no, reference) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for (id, lot, reference) in &changes.holds {
            stmt.execute(params![
                rid(id.replica),
                to_db(id.seq),
                rid(lot.origin),
                lot.local_no,
                reference
            ])?;
        }
    }
    if !changes.releases.is_empty() {
        let mut stmt = conn.prepare_cached("INSERT OR IGNORE INTO releases (hold_replica, hold_seq, by_replica, by_seq) VALUES (?1, ?2, ?3, ?4)")?;
        for (hold, by) in &changes.releases {
            stmt.execute(params![
                rid(hold.replica),
                to_db(hold.seq),
                rid(by.replica),
                to_db(by.seq)
            ])?;
        }
    }
    if !changes.transfers.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT OR IGNORE INTO transfers (from_store, number, by_replica, by_seq, lot_origin, lot_no, units) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (t, by, lot, units) in &changes.transfers {
            stmt.execute(params![
                i64::from(t.from.0),
                to_db(t.number),
                rid(by.replica),
                to_db(by.seq),
                rid(lot.origin),
                lot.local_no,
                to_db(*units)
            ])?;
        }
    }
    if !changes.compensations.is_empty() {
        let mut stmt =
            conn.prepare_cached("INSERT OR IGNORE INTO compensations (lot_origin, lot_no, version, by_replica, by_seq) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for (d, by) in &changes.compensations {
            stmt.execute(params![
                rid(d.lot.origin),
                d.lot.local_no,
                to_db(d.version),
                rid(by.replica),
                to_db(by.seq)
            ])?;
        }
    }
    if !changes.meta.is_empty() {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO lot_meta (lot_origin, lot_no, value, hlc, by_replica, by_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (lot_origin, lot_no) DO UPDATE SET value = excluded.value, hlc = excluded.hlc, \
             by_replica = excluded.by_replica, by_seq = excluded.by_seq",
        )?;
        for (lot, _) in &changes.meta {
            if let Some(m) = state.meta(lot) {
                stmt.execute(params![
                    rid(lot.origin),
                    lot.local_no,
                    m.value,
                    to_db(m.hlc.0),
                    rid(m.by.replica),
                    to_db(m.by.seq)
                ])?;
            }
        }
    }
    Ok(())
}

// --- reads --------------------------------------------------------------------------

/// Everything loaded from the file.
pub(super) struct Loaded {
    /// The replica's parts.
    pub(super) parts: ReplicaParts,
    /// Last successful sync.
    pub(super) last_sync_ms: Option<u64>,
}

fn read_vv(conn: &Connection, table: VvTable) -> Result<VersionVector, StoreError> {
    let sql = match table {
        VvTable::State => "SELECT replica, seq FROM vv",
        VvTable::Root => "SELECT replica, seq FROM root_vv",
    };
    let mut vv = VersionVector::new();
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        vv.apply(Dot::new(replica_of(row.get(0)?)?, from_db(row.get(1)?)));
    }
    Ok(vv)
}

fn read_lots(conn: &Connection) -> Result<Vec<LotInfo>, StoreError> {
    let mut stmt = conn.prepare("SELECT origin, local_no, created_seq, sku, ndc, lot_number, expiry, controlled FROM lots ORDER BY ord")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let ndc: String = row.get(4)?;
        let expiry: String = row.get(6)?;
        out.push(LotInfo {
            key: lot_of(row.get(0)?, row.get(1)?)?,
            created_seq: from_db(row.get(2)?),
            sku: u32_of(row.get(3)?, "sku")?,
            ndc: Ndc::from_str(&ndc).map_err(|e| corrupt(format!("lot NDC {ndc:?}: {e}")))?,
            lot_number: row.get(5)?,
            expiry: Date::from_str(&expiry)
                .map_err(|e| corrupt(format!("lot expiry {expiry:?}: {e}")))?,
            controlled: row.get(7)?,
        });
    }
    Ok(out)
}

/// Rebuilds the inventory state from its tables.
///
/// Joins are used as the constructor: lot facts first (in the order they became known),
/// then the counter cells grouped by (replica, last_seq) with a version vector of exactly
/// that bound (so each cell's `last_seq` comes back exactly, not as an upper bound), then
/// the grow-only sets and metadata under the full version vector.
fn read_state(
    conn: &Connection,
    store: StoreId,
    vv: &VersionVector,
) -> Result<InventoryState, StoreError> {
    let mut state = InventoryState::new(store);
    state.join(&StateDelta {
        lots: read_lots(conn)?,
        ..StateDelta::default()
    });

    let mut stmt = conn.prepare(
        "SELECT lot_origin, lot_no, replica, p, n, last_seq FROM cells ORDER BY replica, last_seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut group: Option<(ReplicaId, u64)> = None;
    let mut cells = Vec::new();
    let flush = |state: &mut InventoryState,
                 group: Option<(ReplicaId, u64)>,
                 cells: &mut Vec<(LotKey, ReplicaId, u64, u64)>| {
        if let Some((r, s)) = group {
            let mut bound = VersionVector::new();
            bound.apply(Dot::new(r, s));
            state.join(&StateDelta {
                vv: bound,
                cells: std::mem::take(cells),
                ..StateDelta::default()
            });
        }
    };
    while let Some(row) = rows.next()? {
        let lot = lot_of(row.get(0)?, row.get(1)?)?;
        let r = replica_of(row.get(2)?)?;
        let last_seq = from_db(row.get(5)?);
        if last_seq > vv.get(&r) {
            return Err(corrupt(format!(
                "cell of {r} on {lot:?} at seq {last_seq} beyond version {}",
                vv.get(&r)
            )));
        }
        if group != Some((r, last_seq)) {
            flush(&mut state, group, &mut cells);
            group = Some((r, last_seq));
        }
        cells.push((lot, r, from_db(row.get(3)?), from_db(row.get(4)?)));
    }
    flush(&mut state, group, &mut cells);
    drop(rows);
    drop(stmt);

    let mut rest = StateDelta {
        vv: vv.clone(),
        ..StateDelta::default()
    };
    {
        let mut stmt = conn.prepare("SELECT hold_replica, hold_seq, lot_origin, lot_no, reference FROM holds ORDER BY hold_replica, hold_seq")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            rest.holds.push((
                txn_id_of(row.get(0)?, row.get(1)?)?,
                lot_of(row.get(2)?, row.get(3)?)?,
                row.get(4)?,
            ));
        }
    }
    {
        let mut stmt =
            conn.prepare("SELECT hold_replica, hold_seq, by_replica, by_seq FROM releases")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            rest.releases.push((
                txn_id_of(row.get(0)?, row.get(1)?)?,
                txn_id_of(row.get(2)?, row.get(3)?)?,
            ));
        }
    }
    {
        let mut stmt = conn.prepare("SELECT from_store, number, by_replica, by_seq, lot_origin, lot_no, units FROM transfers")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let t = TransferId {
                from: StoreId(u32_of(row.get(0)?, "store id")?),
                number: from_db(row.get(1)?),
            };
            rest.transfers.push((
                t,
                txn_id_of(row.get(2)?, row.get(3)?)?,
                lot_of(row.get(4)?, row.get(5)?)?,
                from_db(row.get(6)?),
            ));
        }
    }
    {
        let mut stmt = conn
            .prepare("SELECT lot_origin, lot_no, version, by_replica, by_seq FROM compensations")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let d = DiscrepancyId {
                lot: lot_of(row.get(0)?, row.get(1)?)?,
                version: from_db(row.get(2)?),
            };
            rest.compensations
                .push((d, txn_id_of(row.get(3)?, row.get(4)?)?));
        }
    }
    {
        let mut stmt = conn
            .prepare("SELECT lot_origin, lot_no, value, hlc, by_replica, by_seq FROM lot_meta")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let lww = Lww {
                value: row.get(2)?,
                hlc: Hlc(from_db(row.get(3)?)),
                by: txn_id_of(row.get(4)?, row.get(5)?)?,
            };
            rest.meta.push((lot_of(row.get(0)?, row.get(1)?)?, lww));
        }
    }
    state.join(&rest);
    Ok(state)
}

fn read_queue(conn: &Connection, table: QueueTable) -> Result<Vec<QueuedItem>, StoreError> {
    let sql = match table {
        QueueTable::Claims => {
            "SELECT txn_replica, txn_seq, payload FROM claims WHERE sent_ms IS NULL ORDER BY txn_replica, txn_seq"
        }
        QueueTable::PmpReports => {
            "SELECT txn_replica, txn_seq, payload FROM pmp_reports WHERE sent_ms IS NULL ORDER BY txn_replica, txn_seq"
        }
    };
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(QueuedItem {
            txn: txn_id_of(row.get(0)?, row.get(1)?)?,
            payload: row.get(2)?,
        });
    }
    Ok(out)
}

/// A stored transaction with its flags.
pub(super) fn read_txns(
    conn: &Connection,
    outbox_only: bool,
) -> Result<Vec<(Txn, bool, bool)>, StoreError> {
    let sql = if outbox_only {
        "SELECT replica, seq, own, acked_by_root, format, body FROM transactions WHERE acked_by_root = 0 ORDER BY replica, seq"
    } else {
        "SELECT replica, seq, own, acked_by_root, format, body FROM transactions ORDER BY replica, seq"
    };
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let id = txn_id_of(row.get(0)?, row.get(1)?)?;
        let body: Vec<u8> = row.get(5)?;
        let txn = blob::decode_txn(row.get(4)?, &body)?;
        if txn.id != id {
            return Err(corrupt(format!(
                "transaction row {id:?} holds {:?}",
                txn.id
            )));
        }
        out.push((txn, row.get(2)?, row.get(3)?));
    }
    Ok(out)
}

/// Loads the replica.
pub(super) fn load(conn: &Connection) -> Result<Loaded, StoreError> {
    let (store, me, hlc, next_lot_no, last_sync): (i64, i64, i64, i64, Option<i64>) = conn
        .query_row(
            "SELECT store_id, replica, hlc, next_lot_no, last_sync_ms FROM store_meta WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?
        .ok_or_else(|| corrupt("store_meta row missing"))?;
    let store = StoreId(u32_of(store, "store id")?);
    let me = replica_of(me)?;
    let vv = read_vv(conn, VvTable::State)?;
    let state = read_state(conn, store, &vv)?;
    let ledger: Vec<Txn> = read_txns(conn, true)?
        .into_iter()
        .map(|(t, _, _)| t)
        .collect();
    let parts = ReplicaParts {
        me,
        state,
        hlc: Hlc(from_db(hlc)),
        next_lot_no: u32_of(next_lot_no, "next lot number")?,
        ledger,
        root_vv: read_vv(conn, VvTable::Root)?,
        claims: read_queue(conn, QueueTable::Claims)?,
        pmp_reports: read_queue(conn, QueueTable::PmpReports)?,
    };
    Ok(Loaded {
        parts,
        last_sync_ms: last_sync.map(from_db),
    })
}
