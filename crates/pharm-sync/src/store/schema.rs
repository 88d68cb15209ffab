//! Connection set-up (pragmas) and the versioned schema with its migrations.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, Transaction};

use super::{StoreError, StoreOptions, Synchronous};

/// Schema version written to `PRAGMA user_version` (0 = empty file).
pub(super) const SCHEMA_VERSION: u32 = 1;

/// `PRAGMA application_id` of a pharm-sync terminal store ("PHSY").
pub(super) const APPLICATION_ID: i32 = 0x5048_5359;

/// `MIGRATIONS[v]` takes the schema from version `v` to `v + 1`. Each runs inside the
/// same immediate transaction that bumps `user_version`, so a crash mid-migration leaves
/// the old version intact. Never edit a released step: append a new one.
const MIGRATIONS: &[&str] = &[V1];

/// Version 1: the whole store.
///
/// Identifiers: replica ids are `ReplicaId::packed()`; `u64` quantities, sequence numbers
/// and clocks are stored bit-for-bit as SQLite's signed 64-bit integers.
const V1: &str = r#"
-- One row: who this store is, and the replica's scalar state.
CREATE TABLE store_meta (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    store_id      INTEGER NOT NULL,
    replica       INTEGER NOT NULL,
    hlc           INTEGER NOT NULL,
    next_lot_no   INTEGER NOT NULL,
    last_sync_ms  INTEGER,
    restored_from INTEGER
) STRICT;

-- Version vector of the inventory state, and what the root (cloud) is known to have.
CREATE TABLE election (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    term      INTEGER NOT NULL,
    voted_for INTEGER
) STRICT;
CREATE TABLE vv      (replica INTEGER PRIMARY KEY, seq INTEGER NOT NULL) STRICT;
CREATE TABLE root_vv (replica INTEGER PRIMARY KEY, seq INTEGER NOT NULL) STRICT;

-- Own and relayed transactions. Rows with acked_by_root = 0 are the outbox (pending sync);
-- acknowledged rows stay as the local audit history.
CREATE TABLE transactions (
    replica       INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    hlc           INTEGER NOT NULL,
    kind          INTEGER NOT NULL,
    own           INTEGER NOT NULL,
    acked_by_root INTEGER NOT NULL DEFAULT 0,
    format        INTEGER NOT NULL,
    body          BLOB    NOT NULL,
    PRIMARY KEY (replica, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX transactions_outbox ON transactions (replica, seq) WHERE acked_by_root = 0;

-- Inventory CRDT state (see InventoryState). `ord` keeps the order in which lot facts
-- became known, which FEFO uses to break ties between lots with equal expiry.
CREATE TABLE lots (
    ord         INTEGER PRIMARY KEY,
    origin      INTEGER NOT NULL,
    local_no    INTEGER NOT NULL,
    created_seq INTEGER NOT NULL,
    sku         INTEGER NOT NULL,
    ndc         TEXT    NOT NULL,
    lot_number  TEXT    NOT NULL,
    expiry      TEXT    NOT NULL,
    controlled  INTEGER NOT NULL,
    UNIQUE (origin, local_no)
) STRICT;
CREATE TABLE cells (
    lot_origin INTEGER NOT NULL,
    lot_no     INTEGER NOT NULL,
    replica    INTEGER NOT NULL,
    p          INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    PRIMARY KEY (lot_origin, lot_no, replica)
) STRICT, WITHOUT ROWID;
CREATE TABLE holds (
    hold_replica INTEGER NOT NULL,
    hold_seq     INTEGER NOT NULL,
    lot_origin   INTEGER NOT NULL,
    lot_no       INTEGER NOT NULL,
    reference    TEXT    NOT NULL,
    PRIMARY KEY (hold_replica, hold_seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE releases (
    hold_replica INTEGER NOT NULL,
    hold_seq     INTEGER NOT NULL,
    by_replica   INTEGER NOT NULL,
    by_seq       INTEGER NOT NULL,
    PRIMARY KEY (hold_replica, hold_seq, by_replica, by_seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE transfers (
    from_store INTEGER NOT NULL,
    number     INTEGER NOT NULL,
    by_replica INTEGER NOT NULL,
    by_seq     INTEGER NOT NULL,
    lot_origin INTEGER NOT NULL,
    lot_no     INTEGER NOT NULL,
    units      INTEGER NOT NULL,
    PRIMARY KEY (from_store, number, by_replica, by_seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE compensations (
    lot_origin INTEGER NOT NULL,
    lot_no     INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    by_replica INTEGER NOT NULL,
    by_seq     INTEGER NOT NULL,
    PRIMARY KEY (lot_origin, lot_no, version, by_replica, by_seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE lot_meta (
    lot_origin INTEGER NOT NULL,
    lot_no     INTEGER NOT NULL,
    value      TEXT    NOT NULL,
    hlc        INTEGER NOT NULL,
    by_replica INTEGER NOT NULL,
    by_seq     INTEGER NOT NULL,
    PRIMARY KEY (lot_origin, lot_no)
) STRICT, WITHOUT ROWID;

-- Queues committed with their transaction; sent_ms IS NULL = still pending.
CREATE TABLE claims (
    txn_replica INTEGER NOT NULL,
    txn_seq     INTEGER NOT NULL,
    payload     TEXT    NOT NULL,
    sent_ms     INTEGER,
    PRIMARY KEY (txn_replica, txn_seq),
    FOREIGN KEY (txn_replica, txn_seq) REFERENCES transactions (replica, seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE pmp_reports (
    txn_replica INTEGER NOT NULL,
    txn_seq     INTEGER NOT NULL,
    payload     TEXT    NOT NULL,
    sent_ms     INTEGER,
    PRIMARY KEY (txn_replica, txn_seq),
    FOREIGN KEY (txn_replica, txn_seq) REFERENCES transactions (replica, seq)
) STRICT, WITHOUT ROWID;

-- Opaque caches (JSON), not interpreted by pharm-sync.
CREATE TABLE patients      (id TEXT PRIMARY KEY, body TEXT NOT NULL CHECK (json_valid(body))) STRICT, WITHOUT ROWID;
CREATE TABLE drug_catalog  (id TEXT PRIMARY KEY, body TEXT NOT NULL CHECK (json_valid(body))) STRICT, WITHOUT ROWID;
CREATE TABLE prescriptions (id TEXT PRIMARY KEY, body TEXT NOT NULL CHECK (json_valid(body))) STRICT, WITHOUT ROWID;
"#;

/// Opens a connection and applies the durability pragmas.
pub(super) fn connect(path: &Path, options: &StoreOptions) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    if options.exclusive {
        // Before the first access, so no shared-memory wal-index is used and a second
        // process (or a second store in this one) cannot open the file behind our back.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    }
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NoWal(mode));
    }
    let sync = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    // F_FULLFSYNC on macOS (a plain fsync there does not flush the drive cache); no-op elsewhere.
    let full = options.synchronous == Synchronous::Full;
    conn.pragma_update(None, "fullfsync", full)?;
    conn.pragma_update(None, "checkpoint_fullfsync", full)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

/// The schema version of an open database.
pub(super) fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt {
        what: format!("user_version {v}"),
    })
}

/// Checks the file is a pharm-sync store (or empty) and migrates it to
/// [`SCHEMA_VERSION`], inside the caller's transaction.
pub(super) fn migrate(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let version = user_version(tx)?;
    let app: i32 = tx.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if version == 0 {
        let objects: i64 = tx.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        if objects > 0 || (app != 0 && app != APPLICATION_ID) {
            return Err(StoreError::NotAStore);
        }
    } else if app != APPLICATION_ID {
        return Err(StoreError::NotAStore);
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    for step in MIGRATIONS.iter().skip(version as usize) {
        tx.execute_batch(step)?;
    }
    if version != SCHEMA_VERSION {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_migration_per_version() {
        assert_eq!(MIGRATIONS.len(), SCHEMA_VERSION as usize);
    }
}
