//! Row-level reads and writes. Every writer takes the connection of an open transaction;
//! callers commit. Every row is written with its checksum ([`tables`]).

use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use pharm_core::ids::Ndc;
use pharm_core::time::Date;
use rusqlite::{Connection, OptionalExtension, params};

use super::tables::{self, OnConflict, Table};
use super::{StoreError, blob};
use crate::auth::{Digest, Tag};
use crate::hlc::Hlc;
use crate::ids::{ReplicaId, TxnId};
use crate::message::{Ack, Acks};
use crate::replica::{Commit, QueuedItem, Replica, ReplicaParts, Superseded};
use crate::state::{InventoryState, Lww, StateDelta, VersionVector};
use crate::txn::{DiscrepancyId, HoldOp, LotInfo, LotKey, SealedTxn, TransferId, Txn, TxnKind};

/// `transactions.status`: held by the root (history), in the outbox, salvaged from an
/// earlier history, refused as forked (awaiting re-issue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Held = 0,
    Outbox = 1,
    Salvage = 2,
    Forked = 3,
    Refused = 4,
}

// --- scalar conversions -------------------------------------------------------------

/// `u64` stored bit-for-bit in SQLite's `i64`.
pub(super) fn to_db(v: u64) -> i64 {
    v as i64
}

pub(super) fn from_db(v: i64) -> u64 {
    v as u64
}

/// A replica id as a 10-byte big-endian blob (blob order is replica order).
pub(super) fn rid(r: ReplicaId) -> [u8; 10] {
    let mut b = [0u8; 10];
    b[..2].copy_from_slice(&r.terminal.to_be_bytes());
    b[2..].copy_from_slice(&r.incarnation.to_be_bytes());
    b
}

pub(super) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: what.into() }
}

pub(super) fn replica_of(b: &[u8]) -> Result<ReplicaId, StoreError> {
    if b.len() != 10 {
        return Err(corrupt(format!("replica id of {} bytes", b.len())));
    }
    let mut t = [0u8; 2];
    let mut i = [0u8; 8];
    t.copy_from_slice(&b[..2]);
    i.copy_from_slice(&b[2..]);
    Ok(ReplicaId::new(u16::from_be_bytes(t), u64::from_be_bytes(i)))
}

fn u32_of(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| corrupt(format!("{what} {v}")))
}

fn lot_of(origin: &[u8], no: i64) -> Result<LotKey, StoreError> {
    Ok(LotKey {
        origin: replica_of(origin)?,
        local_no: u32_of(no, "lot number")?,
    })
}

fn txn_id_of(r: &[u8], seq: i64) -> Result<TxnId, StoreError> {
    Ok(TxnId {
        replica: replica_of(r)?,
        seq: from_db(seq),
    })
}

fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize, StoreError> {
    #[cfg(feature = "crash-points")]
    super::crash::before_write()?;
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

fn insert(
    conn: &Connection,
    t: Table,
    on_conflict: OnConflict,
    params: impl rusqlite::Params,
) -> Result<usize, StoreError> {
    exec(conn, &t.insert(on_conflict), params)
}

// --- identity -----------------------------------------------------------------------

/// Store and replica recorded in the file (`None` without the identity row).
pub(super) fn read_identity(
    conn: &Connection,
) -> Result<Option<(PharmacyId, ReplicaId)>, StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT store_id, replica FROM store_meta WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((s, r)) => Ok(Some((
            PharmacyId::new(u32_of(s, "store id")?),
            replica_of(&r)?,
        ))),
    }
}

/// Writes the identity row of a new store.
pub(super) fn init_identity(
    conn: &Connection,
    store: PharmacyId,
    me: ReplicaId,
    hlc: Hlc,
    restored_from: Option<ReplicaId>,
) -> Result<(), StoreError> {
    insert(
        conn,
        tables::STORE_META,
        OnConflict::Fail,
        params![
            1,
            i64::from(store.get()),
            rid(me).as_slice(),
            to_db(hlc.0),
            1,
            Option::<i64>::None,
            restored_from.map(rid).as_ref().map(|b| b.as_slice()),
            Option::<String>::None,
            0,
        ],
    )?;
    Ok(())
}

/// Counts one more committed write transaction; returns the new count.
pub(super) fn bump_commits(conn: &Connection) -> Result<u64, StoreError> {
    #[cfg(feature = "crash-points")]
    super::crash::before_write()?;
    let n: i64 = conn.query_row(
        "UPDATE store_meta SET commits = commits + 1, \
         chk = pharm_chk('store_meta', id, store_id, replica, hlc, next_lot_no, last_sync_ms, restored_from, superseded, commits + 1) \
         WHERE id = 1 RETURNING commits",
        [],
        |r| r.get(0),
    )?;
    Ok(from_db(n))
}

/// The number of write transactions the store has committed.
pub(super) fn commits(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row("SELECT commits FROM store_meta WHERE id = 1", [], |r| {
        r.get(0)
    })?;
    Ok(from_db(n))
}

// --- writes -------------------------------------------------------------------------

/// Replica scalars: clock, next lot number, superseded reason.
pub(super) fn write_scalars(conn: &Connection, replica: &Replica) -> Result<(), StoreError> {
    let superseded = replica.superseded().map(|s| match s {
        Superseded::Behind { have, seen } => format!("behind {have} {seen}"),
        Superseded::Forked { seq } => format!("forked {seq}"),
        Superseded::Took { txn } => format!("took {} {}", txn.replica, txn.seq),
    });
    exec(
        conn,
        &tables::STORE_META.update(&["hlc", "next_lot_no", "superseded"]),
        params![
            to_db(replica.hlc().0),
            i64::from(replica.next_lot_no()),
            superseded,
            1
        ],
    )?;
    Ok(())
}

/// Records the time of the last successful sync.
pub(super) fn set_last_sync(conn: &Connection, ms: u64) -> Result<(), StoreError> {
    exec(
        conn,
        &tables::STORE_META.update(&["last_sync_ms"]),
        params![to_db(ms), 1],
    )?;
    Ok(())
}

/// Upserts the entries of the state's version vector.
pub(super) fn write_vv(conn: &Connection, vv: &VersionVector) -> Result<(), StoreError> {
    for (r, s) in vv.iter() {
        insert(
            conn,
            tables::VV,
            OnConflict::Update,
            params![rid(r).as_slice(), to_db(s)],
        )?;
    }
    Ok(())
}

/// Upserts the root's acknowledgements.
pub(super) fn write_acks(conn: &Connection, acks: &Acks) -> Result<(), StoreError> {
    for (r, a) in acks {
        insert(
            conn,
            tables::ACKS,
            OnConflict::Update,
            params![
                rid(*r).as_slice(),
                to_db(a.seq),
                to_db(a.from),
                a.digest.0.as_slice(),
                a.seal.0.as_slice()
            ],
        )?;
    }
    Ok(())
}

/// Upserts the heads of `replicas` as the state holds them.
pub(super) fn write_heads(
    conn: &Connection,
    state: &InventoryState,
    replicas: impl IntoIterator<Item = ReplicaId>,
) -> Result<(), StoreError> {
    for r in replicas {
        if let Some(h) = state.sealed_head(&r) {
            let (_, body) = blob::encode_txn(&h.txn)?;
            insert(
                conn,
                tables::HEADS,
                OnConflict::Update,
                params![
                    rid(r).as_slice(),
                    to_db(h.txn.id.seq),
                    body,
                    h.seal.map(|s| s.0.to_vec())
                ],
            )?;
        }
    }
    Ok(())
}

/// Inserts a transaction row.
pub(super) fn insert_txn(
    conn: &Connection,
    txn: &Txn,
    own: bool,
    status: Status,
    seal: Option<Tag>,
) -> Result<(), StoreError> {
    write_txn(conn, txn, own, status, seal, OnConflict::Fail)
}

/// Inserts a transaction row, or replaces the row of that id.
pub(super) fn upsert_txn(
    conn: &Connection,
    txn: &Txn,
    own: bool,
    status: Status,
    seal: Option<Tag>,
) -> Result<(), StoreError> {
    write_txn(conn, txn, own, status, seal, OnConflict::Update)
}

fn write_txn(
    conn: &Connection,
    txn: &Txn,
    own: bool,
    status: Status,
    seal: Option<Tag>,
    on_conflict: OnConflict,
) -> Result<(), StoreError> {
    let (format, body) = blob::encode_txn(txn)?;
    insert(
        conn,
        tables::TRANSACTIONS,
        on_conflict,
        params![
            rid(txn.id.replica).as_slice(),
            to_db(txn.id.seq),
            own,
            status as i64,
            format,
            body,
            seal.map(|s| s.0.to_vec())
        ],
    )?;
    Ok(())
}

/// Sets the origin seal held for a stored (relayed) transaction.
pub(super) fn set_seal(conn: &Connection, id: TxnId, seal: Tag) -> Result<(), StoreError> {
    exec(
        conn,
        &tables::TRANSACTIONS.update(&["seal"]),
        params![seal.0.as_slice(), rid(id.replica).as_slice(), to_db(id.seq)],
    )?;
    Ok(())
}

/// Inserts a transaction the root now holds (its log), unless stored already.
pub(super) fn insert_held(conn: &Connection, txn: &Txn) -> Result<(), StoreError> {
    let (format, body) = blob::encode_txn(txn)?;
    insert(
        conn,
        tables::TRANSACTIONS,
        OnConflict::Ignore,
        params![
            rid(txn.id.replica).as_slice(),
            to_db(txn.id.seq),
            false,
            Status::Held as i64,
            format,
            body,
            Option::<Vec<u8>>::None
        ],
    )?;
    Ok(())
}

/// Sets a stored transaction's status.
pub(super) fn set_status(conn: &Connection, id: TxnId, status: Status) -> Result<(), StoreError> {
    exec(
        conn,
        &tables::TRANSACTIONS.update(&["status"]),
        params![status as i64, rid(id.replica).as_slice(), to_db(id.seq)],
    )?;
    Ok(())
}

fn insert_queued(conn: &Connection, table: Table, item: &QueuedItem) -> Result<(), StoreError> {
    insert(
        conn,
        table,
        OnConflict::Fail,
        params![
            rid(item.txn.replica).as_slice(),
            to_db(item.txn.seq),
            item.payload,
            Option::<i64>::None
        ],
    )?;
    Ok(())
}

/// Marks a queued row as sent; returns whether it was pending.
pub(super) fn mark_sent(
    conn: &Connection,
    table: Table,
    txn: TxnId,
    now_ms: u64,
) -> Result<bool, StoreError> {
    let pending: Option<i64> = conn
        .query_row(
            &format!(
                "SELECT 1 FROM {} WHERE txn_replica = ?1 AND txn_seq = ?2 AND sent_ms IS NULL",
                table.name
            ),
            params![rid(txn.replica).as_slice(), to_db(txn.seq)],
            |r| r.get(0),
        )
        .optional()?;
    if pending.is_none() {
        return Ok(false);
    }
    exec(
        conn,
        &table.update(&["sent_ms"]),
        params![to_db(now_ms), rid(txn.replica).as_slice(), to_db(txn.seq)],
    )?;
    Ok(true)
}

/// Everything a local commit changes, in one database transaction: the transaction row,
/// the state rows it touched, the version vector, head, clock and lot counter, and its
/// queue rows.
pub(super) fn write_commit(
    conn: &Connection,
    replica: &Replica,
    commit: &Commit,
) -> Result<(), StoreError> {
    insert_txn(conn, &commit.txn, true, Status::Outbox, None)?;
    write_changes(conn, replica.state(), &txn_changes(&commit.txn))?;
    write_vv(conn, replica.state().vv())?;
    write_scalars(conn, replica)?;
    if let Some(c) = &commit.claim {
        insert_queued(conn, tables::CLAIMS, c)?;
    }
    if let Some(r) = &commit.pmp_report {
        insert_queued(conn, tables::PMP_REPORTS, r)?;
    }
    Ok(())
}

/// The parts of the state an applied transaction can change, shaped as a delta (counter
/// values, metadata and the head are read back from the state when written).
pub(super) fn txn_changes(txn: &Txn) -> StateDelta {
    let mut d = StateDelta {
        lots: txn.new_lots.clone(),
        heads: vec![SealedTxn::unsealed(Arc::new(txn.clone()))],
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
/// transfer recordings, compensations) are inserted as the state holds them; counter
/// cells, metadata and heads are read back from `state`, which already includes the change.
pub(super) fn write_changes(
    conn: &Connection,
    state: &InventoryState,
    changes: &StateDelta,
) -> Result<(), StoreError> {
    for l in &changes.lots {
        // Only what the state accepted (the first facts of a lot win).
        let (Some(info), Some(ord)) = (state.lot(&l.key), state.slot_of(&l.key)) else {
            continue;
        };
        insert(
            conn,
            tables::LOTS,
            OnConflict::Ignore,
            params![
                rid(info.key.origin).as_slice(),
                info.key.local_no,
                ord as i64,
                to_db(info.created_seq),
                info.sku,
                info.ndc.to_string(),
                info.lot_number,
                info.expiry.to_string(),
                info.controlled
            ],
        )?;
    }
    for (lot, r, _, _) in &changes.cells {
        if let Some(c) = state.cell(lot, *r) {
            insert(
                conn,
                tables::CELLS,
                OnConflict::Update,
                params![
                    rid(lot.origin).as_slice(),
                    lot.local_no,
                    rid(*r).as_slice(),
                    to_db(c.p),
                    to_db(c.n),
                    to_db(c.last_seq)
                ],
            )?;
        }
    }
    for (id, lot, reference) in &changes.holds {
        insert(
            conn,
            tables::HOLDS,
            OnConflict::Ignore,
            params![
                rid(id.replica).as_slice(),
                to_db(id.seq),
                rid(lot.origin).as_slice(),
                lot.local_no,
                reference
            ],
        )?;
    }
    for (hold, by) in &changes.releases {
        insert(
            conn,
            tables::RELEASES,
            OnConflict::Ignore,
            params![
                rid(hold.replica).as_slice(),
                to_db(hold.seq),
                rid(by.replica).as_slice(),
                to_db(by.seq)
            ],
        )?;
    }
    for (t, by, lot, units) in &changes.transfers {
        insert(
            conn,
            tables::TRANSFERS,
            OnConflict::Ignore,
            params![
                i64::from(t.from.get()),
                to_db(t.number),
                rid(by.replica).as_slice(),
                to_db(by.seq),
                rid(lot.origin).as_slice(),
                lot.local_no,
                to_db(*units)
            ],
        )?;
    }
    for (d, by) in &changes.compensations {
        insert(
            conn,
            tables::COMPENSATIONS,
            OnConflict::Ignore,
            params![
                rid(d.lot.origin).as_slice(),
                d.lot.local_no,
                to_db(d.version),
                rid(by.replica).as_slice(),
                to_db(by.seq)
            ],
        )?;
    }
    for (lot, _) in &changes.meta {
        if let Some(m) = state.meta(lot) {
            insert(
                conn,
                tables::LOT_META,
                OnConflict::Update,
                params![
                    rid(lot.origin).as_slice(),
                    lot.local_no,
                    m.value,
                    to_db(m.hlc.0),
                    rid(m.by.replica).as_slice(),
                    to_db(m.by.seq)
                ],
            )?;
        }
    }
    write_heads(conn, state, changes.heads.iter().map(|h| h.txn.id.replica))
}

// --- election and caches ------------------------------------------------------------

/// Stores the election's term and vote.
pub(super) fn save_election(
    conn: &Connection,
    state: &crate::leader::PersistentState,
) -> Result<(), StoreError> {
    insert(
        conn,
        tables::ELECTION,
        OnConflict::Update,
        params![
            1,
            to_db(state.term),
            state.voted_for.map(rid).as_ref().map(|b| b.as_slice())
        ],
    )?;
    Ok(())
}

/// The election's term and vote, if saved.
pub(super) fn read_election(
    conn: &Connection,
) -> Result<Option<crate::leader::PersistentState>, StoreError> {
    let row: Option<(i64, Option<Vec<u8>>)> = conn
        .query_row(
            "SELECT term, voted_for FROM election WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(term, voted)| {
        Ok(crate::leader::PersistentState {
            term: from_db(term),
            voted_for: voted.map(|v| replica_of(&v)).transpose()?,
        })
    })
    .transpose()
}

/// Stores (or replaces) a cache entry.
pub(super) fn cache_put(
    conn: &Connection,
    table: Table,
    id: &str,
    json: &str,
) -> Result<(), StoreError> {
    insert(conn, table, OnConflict::Update, params![id, json])?;
    Ok(())
}

// --- reads --------------------------------------------------------------------------

/// Everything loaded from the file.
pub(super) struct Loaded {
    /// The replica's parts.
    pub(super) parts: ReplicaParts,
    /// Last successful sync.
    pub(super) last_sync_ms: Option<u64>,
    /// Transactions of other replicas held as history (the root's log), in id order.
    pub(super) held: Vec<Arc<Txn>>,
    /// Every stored transaction of this replica, in sequence order.
    pub(super) own: Vec<(Txn, Status)>,
}

fn read_vv(conn: &Connection) -> Result<VersionVector, StoreError> {
    let mut vv = VersionVector::new();
    let mut stmt = conn.prepare("SELECT replica, seq FROM vv")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let r: Vec<u8> = row.get(0)?;
        vv.raise(replica_of(&r)?, from_db(row.get(1)?));
    }
    Ok(vv)
}

fn read_acks(conn: &Connection) -> Result<Acks, StoreError> {
    let mut acks = Acks::new();
    let mut stmt = conn.prepare("SELECT replica, seq, digest, seal, from_seq FROM acks")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let r: Vec<u8> = row.get(0)?;
        let d: Vec<u8> = row.get(2)?;
        let s: Vec<u8> = row.get(3)?;
        let from = from_db(row.get(4)?);
        let digest = Digest(
            d.try_into()
                .map_err(|_| corrupt("acknowledgement digest"))?,
        );
        let seal = Tag(s.try_into().map_err(|_| corrupt("acknowledgement seal"))?);
        acks.insert(
            replica_of(&r)?,
            Ack {
                from,
                seq: from_db(row.get(1)?),
                digest,
                seal,
            },
        );
    }
    Ok(acks)
}

fn read_lots(conn: &Connection) -> Result<Vec<LotInfo>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT origin, local_no, created_seq, sku, ndc, lot_number, expiry, controlled, ord FROM lots",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let origin: Vec<u8> = row.get(0)?;
        let ndc: String = row.get(4)?;
        let expiry: String = row.get(6)?;
        let ord: i64 = row.get(8)?;
        out.push((
            ord,
            LotInfo {
                key: lot_of(&origin, row.get(1)?)?,
                created_seq: from_db(row.get(2)?),
                sku: u32_of(row.get(3)?, "sku")?,
                ndc: Ndc::from_str(&ndc).map_err(|e| corrupt(format!("lot NDC {ndc:?}: {e}")))?,
                lot_number: row.get(5)?,
                expiry: Date::from_str(&expiry)
                    .map_err(|e| corrupt(format!("lot expiry {expiry:?}: {e}")))?,
                controlled: row.get(7)?,
            },
        ));
    }
    out.sort_by_key(|(ord, _)| *ord);
    Ok(out.into_iter().map(|(_, l)| l).collect())
}

fn read_heads(conn: &Connection) -> Result<Vec<SealedTxn>, StoreError> {
    let mut stmt = conn.prepare("SELECT replica, seq, body, seal FROM heads")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let id = txn_id_of(&row.get::<_, Vec<u8>>(0)?, row.get(1)?)?;
        let body: Vec<u8> = row.get(2)?;
        let t = blob::decode_txn(blob::FORMAT_CODEC, &body)?;
        if t.id != id {
            return Err(corrupt(format!("head row {id:?} holds {:?}", t.id)));
        }
        out.push(SealedTxn {
            txn: Arc::new(t),
            seal: seal_of(row.get(3)?)?,
        });
    }
    Ok(out)
}

fn seal_of(bytes: Option<Vec<u8>>) -> Result<Option<Tag>, StoreError> {
    bytes
        .map(|b| b.try_into().map(Tag).map_err(|_| corrupt("origin seal")))
        .transpose()
}

/// Rebuilds the inventory state from its tables.
///
/// Joins are used as the constructor: lot facts first (in the order they became known),
/// then the counter cells grouped by (replica, last_seq) with a version vector of exactly
/// that bound (so each cell's `last_seq` comes back exactly, not as an upper bound), then
/// the grow-only sets, metadata and heads under the full version vector.
fn read_state(
    conn: &Connection,
    store: PharmacyId,
    vv: &VersionVector,
) -> Result<InventoryState, StoreError> {
    let mut state = InventoryState::new(store);
    state.join_unchecked(&StateDelta {
        lots: read_lots(conn)?,
        ..StateDelta::default()
    });

    // Cells grouped by (replica, last_seq): each group joins with its exact bound.
    type Grouped = BTreeMap<(ReplicaId, u64), Vec<(LotKey, ReplicaId, u64, u64)>>;
    let mut cells = Grouped::new();
    {
        let mut stmt =
            conn.prepare("SELECT lot_origin, lot_no, replica, p, n, last_seq FROM cells")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let lot = lot_of(&row.get::<_, Vec<u8>>(0)?, row.get(1)?)?;
            let r = replica_of(&row.get::<_, Vec<u8>>(2)?)?;
            let last_seq = from_db(row.get(5)?);
            if last_seq > vv.get(&r) || last_seq == 0 {
                return Err(corrupt(format!(
                    "cell of {r} on {lot:?} at seq {last_seq} beyond version {}",
                    vv.get(&r)
                )));
            }
            if state.lot(&lot).is_none() {
                return Err(corrupt(format!("cell on unknown lot {lot:?}")));
            }
            cells.entry((r, last_seq)).or_default().push((
                lot,
                r,
                from_db(row.get(3)?),
                from_db(row.get(4)?),
            ));
        }
    }
    for ((r, s), group) in cells {
        let mut bound = VersionVector::new();
        bound.raise(r, s);
        state.join_unchecked(&StateDelta {
            vv: bound,
            cells: group,
            ..StateDelta::default()
        });
    }

    let mut rest = StateDelta {
        vv: vv.clone(),
        heads: read_heads(conn)?,
        ..StateDelta::default()
    };
    {
        let mut stmt = conn
            .prepare("SELECT hold_replica, hold_seq, lot_origin, lot_no, reference FROM holds")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            rest.holds.push((
                txn_id_of(&row.get::<_, Vec<u8>>(0)?, row.get(1)?)?,
                lot_of(&row.get::<_, Vec<u8>>(2)?, row.get(3)?)?,
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
                txn_id_of(&row.get::<_, Vec<u8>>(0)?, row.get(1)?)?,
                txn_id_of(&row.get::<_, Vec<u8>>(2)?, row.get(3)?)?,
            ));
        }
    }
    {
        let mut stmt = conn.prepare("SELECT from_store, number, by_replica, by_seq, lot_origin, lot_no, units FROM transfers")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let t = TransferId {
                from: PharmacyId::new(u32_of(row.get(0)?, "store id")?),
                number: from_db(row.get(1)?),
            };
            rest.transfers.push((
                t,
                txn_id_of(&row.get::<_, Vec<u8>>(2)?, row.get(3)?)?,
                lot_of(&row.get::<_, Vec<u8>>(4)?, row.get(5)?)?,
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
                lot: lot_of(&row.get::<_, Vec<u8>>(0)?, row.get(1)?)?,
                version: from_db(row.get(2)?),
            };
            rest.compensations
                .push((d, txn_id_of(&row.get::<_, Vec<u8>>(3)?, row.get(4)?)?));
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
                by: txn_id_of(&row.get::<_, Vec<u8>>(4)?, row.get(5)?)?,
            };
            rest.meta
                .push((lot_of(&row.get::<_, Vec<u8>>(0)?, row.get(1)?)?, lww));
        }
    }
    state.join_unchecked(&rest);
    Ok(state)
}

fn read_queue(conn: &Connection, table: Table) -> Result<Vec<QueuedItem>, StoreError> {
    let sql = format!(
        "SELECT txn_replica, txn_seq, payload FROM {} WHERE sent_ms IS NULL",
        table.name
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(QueuedItem {
            txn: txn_id_of(&row.get::<_, Vec<u8>>(0)?, row.get(1)?)?,
            payload: row.get(2)?,
        });
    }
    out.sort_by_key(|q| q.txn);
    Ok(out)
}

/// A stored transaction with its flags: (transaction, own, status).
pub(super) fn read_txns(conn: &Connection) -> Result<Vec<StoredRow>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT replica, seq, own, status, format, body, seal FROM transactions")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let id = txn_id_of(&row.get::<_, Vec<u8>>(0)?, row.get(1)?)?;
        let body: Vec<u8> = row.get(5)?;
        let txn = blob::decode_txn(row.get(4)?, &body)?;
        if txn.id != id {
            return Err(corrupt(format!(
                "transaction row {id:?} holds {:?}",
                txn.id
            )));
        }
        let status = match row.get::<_, i64>(3)? {
            0 => Status::Held,
            1 => Status::Outbox,
            2 => Status::Salvage,
            3 => Status::Forked,
            4 => Status::Refused,
            other => return Err(corrupt(format!("transaction status {other}"))),
        };
        out.push((txn, row.get(2)?, status, seal_of(row.get(6)?)?));
    }
    out.sort_by_key(|(t, ..)| t.id);
    Ok(out)
}

/// A stored transaction row: the transaction, whether it is this terminal's own, its
/// status and the origin seal held for it.
pub(super) type StoredRow = (Txn, bool, Status, Option<Tag>);

fn superseded_of(s: &str) -> Result<Superseded, StoreError> {
    let bad = || corrupt(format!("superseded reason {s:?}"));
    let words: Vec<&str> = s.split(' ').collect();
    let num = |w: &str| w.parse::<u64>().map_err(|_| bad());
    match words.as_slice() {
        ["behind", have, seen] => Ok(Superseded::Behind {
            have: num(have)?,
            seen: num(seen)?,
        }),
        ["forked", seq] => Ok(Superseded::Forked { seq: num(seq)? }),
        ["took", replica, seq] => Ok(Superseded::Took {
            txn: TxnId {
                replica: replica.parse().map_err(|_| bad())?,
                seq: num(seq)?,
            },
        }),
        _ => Err(bad()),
    }
}

/// Loads the replica (the integrity checks run separately, see `check`).
pub(super) fn load(conn: &Connection) -> Result<Loaded, StoreError> {
    let (store, me, hlc, next_lot_no, last_sync, superseded): (
        i64,
        Vec<u8>,
        i64,
        i64,
        Option<i64>,
        Option<String>,
    ) = conn
        .query_row(
            "SELECT store_id, replica, hlc, next_lot_no, last_sync_ms, superseded FROM store_meta WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?
        .ok_or_else(|| corrupt("store_meta row missing"))?;
    let store = PharmacyId::new(u32_of(store, "store id")?);
    let me = replica_of(&me)?;
    let superseded = superseded.map(|s| superseded_of(&s)).transpose()?;
    let vv = read_vv(conn)?;
    let state = read_state(conn, store, &vv)?;
    let mut ledger = Vec::new();
    let mut salvage = Vec::new();
    let mut forked = Vec::new();
    let mut held = Vec::new();
    let mut own = Vec::new();
    for (t, _own, status, seal) in read_txns(conn)? {
        if t.id.replica == me {
            own.push((t.clone(), status));
        }
        let t = Arc::new(t);
        match status {
            Status::Outbox => ledger.push(SealedTxn { txn: t, seal }),
            Status::Salvage => salvage.push(t),
            Status::Forked => forked.push(t),
            Status::Held if t.id.replica != me => held.push(t),
            Status::Held | Status::Refused => {}
        }
    }
    let parts = ReplicaParts {
        me,
        state,
        hlc: Hlc(from_db(hlc)),
        next_lot_no: u32_of(next_lot_no, "next lot number")?,
        ledger,
        acks: read_acks(conn)?,
        claims: read_queue(conn, tables::CLAIMS)?,
        pmp_reports: read_queue(conn, tables::PMP_REPORTS)?,
        superseded,
        salvage,
        forked,
    };
    Ok(Loaded {
        parts,
        last_sync_ms: last_sync.map(from_db),
        held,
        own,
    })
}
