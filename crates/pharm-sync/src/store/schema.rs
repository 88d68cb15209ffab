//! Connection set-up (pragmas, the checksum function) and the versioned schema.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{StoreError, StoreOptions, Synchronous, tables};

/// Schema version written to `PRAGMA user_version`.
pub(super) const SCHEMA_VERSION: u32 = 2;

/// `PRAGMA application_id` of a pharm-sync terminal store ("PHSY").
pub(super) const APPLICATION_ID: i32 = 0x5048_5359;

/// Version 2: authenticated transactions, random incarnations, row checksums.
///
/// Replica ids are 10-byte blobs (terminal as 2 bytes and incarnation as 8 bytes, both
/// big-endian, so blob order is replica order); `u64` quantities, sequence numbers and
/// clocks are stored bit-for-bit as SQLite's signed 64-bit integers; every row carries the
/// checksum `chk` ([`tables`]). There are no secondary indexes: every table is one b-tree,
/// which `PRAGMA quick_check` verifies.
const V2: &str = r#"
CREATE TABLE store_meta (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    store_id      INTEGER NOT NULL,
    replica       BLOB    NOT NULL,
    hlc           INTEGER NOT NULL,
    next_lot_no   INTEGER NOT NULL,
    last_sync_ms  INTEGER,
    restored_from BLOB,
    superseded    TEXT,
    commits       INTEGER NOT NULL,
    chk           INTEGER NOT NULL
) STRICT;
CREATE TABLE election (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    term      INTEGER NOT NULL,
    voted_for BLOB,
    chk       INTEGER NOT NULL
) STRICT;
CREATE TABLE vv    (replica BLOB PRIMARY KEY, seq INTEGER NOT NULL, chk INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE acks  (replica BLOB PRIMARY KEY, seq INTEGER NOT NULL, from_seq INTEGER NOT NULL, digest BLOB NOT NULL, seal BLOB NOT NULL, chk INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE heads (replica BLOB PRIMARY KEY, seq INTEGER NOT NULL, body BLOB NOT NULL, seal BLOB, chk INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE transactions (
    replica BLOB    NOT NULL,
    seq     INTEGER NOT NULL,
    own     INTEGER NOT NULL,
    status  INTEGER NOT NULL,
    format  INTEGER NOT NULL,
    body    BLOB    NOT NULL,
    seal    BLOB,
    chk     INTEGER NOT NULL,
    PRIMARY KEY (replica, seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE lots (
    origin      BLOB    NOT NULL,
    local_no    INTEGER NOT NULL,
    ord         INTEGER NOT NULL,
    created_seq INTEGER NOT NULL,
    sku         INTEGER NOT NULL,
    ndc         TEXT    NOT NULL,
    lot_number  TEXT    NOT NULL,
    expiry      TEXT    NOT NULL,
    controlled  INTEGER NOT NULL,
    chk         INTEGER NOT NULL,
    PRIMARY KEY (origin, local_no)
) STRICT, WITHOUT ROWID;
CREATE TABLE cells (
    lot_origin BLOB    NOT NULL,
    lot_no     INTEGER NOT NULL,
    replica    BLOB    NOT NULL,
    p          INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    chk        INTEGER NOT NULL,
    PRIMARY KEY (lot_origin, lot_no, replica)
) STRICT, WITHOUT ROWID;
CREATE TABLE holds (
    hold_replica BLOB    NOT NULL,
    hold_seq     INTEGER NOT NULL,
    lot_origin   BLOB    NOT NULL,
    lot_no       INTEGER NOT NULL,
    reference    TEXT    NOT NULL,
    chk          INTEGER NOT NULL,
    PRIMARY KEY (hold_replica, hold_seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE releases (
    hold_replica BLOB    NOT NULL,
    hold_seq     INTEGER NOT NULL,
    by_replica   BLOB    NOT NULL,
    by_seq       INTEGER NOT NULL,
    chk          INTEGER NOT NULL,
    PRIMARY KEY (hold_replica, hold_seq, by_replica, by_seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE transfers (
    from_store INTEGER NOT NULL,
    number     INTEGER NOT NULL,
    by_replica BLOB    NOT NULL,
    by_seq     INTEGER NOT NULL,
    lot_origin BLOB    NOT NULL,
    lot_no     INTEGER NOT NULL,
    units      INTEGER NOT NULL,
    chk        INTEGER NOT NULL,
    PRIMARY KEY (from_store, number, by_replica, by_seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE compensations (
    lot_origin BLOB    NOT NULL,
    lot_no     INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    by_replica BLOB    NOT NULL,
    by_seq     INTEGER NOT NULL,
    chk        INTEGER NOT NULL,
    PRIMARY KEY (lot_origin, lot_no, version, by_replica, by_seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE lot_meta (
    lot_origin BLOB    NOT NULL,
    lot_no     INTEGER NOT NULL,
    value      TEXT    NOT NULL,
    hlc        INTEGER NOT NULL,
    by_replica BLOB    NOT NULL,
    by_seq     INTEGER NOT NULL,
    chk        INTEGER NOT NULL,
    PRIMARY KEY (lot_origin, lot_no)
) STRICT, WITHOUT ROWID;
CREATE TABLE claims (
    txn_replica BLOB    NOT NULL,
    txn_seq     INTEGER NOT NULL,
    payload     TEXT    NOT NULL,
    sent_ms     INTEGER,
    chk         INTEGER NOT NULL,
    PRIMARY KEY (txn_replica, txn_seq),
    FOREIGN KEY (txn_replica, txn_seq) REFERENCES transactions (replica, seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE pmp_reports (
    txn_replica BLOB    NOT NULL,
    txn_seq     INTEGER NOT NULL,
    payload     TEXT    NOT NULL,
    sent_ms     INTEGER,
    chk         INTEGER NOT NULL,
    PRIMARY KEY (txn_replica, txn_seq),
    FOREIGN KEY (txn_replica, txn_seq) REFERENCES transactions (replica, seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE patients      (id TEXT PRIMARY KEY, body TEXT NOT NULL CHECK (json_valid(body)), chk INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE drug_catalog  (id TEXT PRIMARY KEY, body TEXT NOT NULL CHECK (json_valid(body)), chk INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE prescriptions (id TEXT PRIMARY KEY, body TEXT NOT NULL CHECK (json_valid(body)), chk INTEGER NOT NULL) STRICT, WITHOUT ROWID;
"#;

/// Opens a connection, applies the durability pragmas and registers the checksum function.
/// `create` allows creating the file; otherwise it must exist.
pub(super) fn connect(
    path: &Path,
    options: &StoreOptions,
    create: bool,
) -> Result<Connection, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    if options.exclusive {
        // Before the first access, so no shared-memory wal-index is used and a second
        // process (or a second store in this one) cannot open the file behind our back.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    }
    if !flushes(options) {
        // Before the switch to WAL, which would sync the file otherwise.
        conn.pragma_update(None, "synchronous", "OFF")?;
    }
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NoWal(mode));
    }
    let sync = match options.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
        #[cfg(feature = "crash-points")]
        Synchronous::Off => "OFF",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    // F_FULLFSYNC on macOS (a plain fsync there does not flush the drive cache); no-op elsewhere.
    let full = options.synchronous == Synchronous::Full;
    conn.pragma_update(None, "fullfsync", full)?;
    conn.pragma_update(None, "checkpoint_fullfsync", full)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    tables::register(&conn)?;
    Ok(conn)
}

/// Whether a store opened with `options` ever syncs its files (not with the test-only
/// [`Synchronous::Off`]).
pub(super) fn flushes(options: &StoreOptions) -> bool {
    #[cfg(feature = "crash-points")]
    if options.synchronous == Synchronous::Off {
        return false;
    }
    let _ = options;
    true
}

/// The schema version of an open database.
pub(super) fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt {
        what: format!("user_version {v}"),
    })
}

/// Creates the schema in an empty database (the caller's transaction).
pub(super) fn create(conn: &Connection) -> Result<(), StoreError> {
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    if objects > 0 || user_version(conn)? != 0 {
        return Err(StoreError::NotAStore);
    }
    conn.execute_batch(V2)?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

/// Checks that the database is a complete pharm-sync store of this schema version: the
/// application id, the version, and the schema itself, object by object.
pub(super) fn check(conn: &Connection) -> Result<(), StoreError> {
    let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version = user_version(conn)?;
    if app != APPLICATION_ID {
        return Err(StoreError::NotAStore);
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < SCHEMA_VERSION {
        return Err(StoreError::SchemaTooOld {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let expected = Connection::open_in_memory()?;
    expected.execute_batch(V2)?;
    if schema_of(conn)? != schema_of(&expected)? {
        return Err(StoreError::Corrupt {
            what: "the schema differs from this version's".into(),
        });
    }
    Ok(())
}

fn schema_of(conn: &Connection) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
    let mut stmt = conn.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn column_lists_match_the_schema() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V2).unwrap();
        for t in tables::ALL {
            let mut stmt = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{}')", t.name))
                .unwrap();
            let cols: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let mut expected: Vec<String> = t.columns.iter().map(|c| (*c).to_string()).collect();
            expected.push("chk".into());
            assert_eq!(cols, expected, "{}", t.name);
        }
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n as usize, tables::ALL.len());
    }
}
