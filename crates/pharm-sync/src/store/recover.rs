//! The explicit recovery calls: a backup restored as a new incarnation, and a fresh
//! incarnation that takes its state from upstream and salvages what the old file still
//! holds.

use pharm_core::ids::PharmacyId;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::persist::{self, Status};
use super::witness::Witness;
use super::{StoreError, StoreOptions, TerminalStore, blob, own_key, path_str, schema, tables};
use crate::auth::KeyRing;
use crate::hlc::Hlc;
use crate::ids::{Entropy, ReplicaId};
use crate::txn::Txn;

/// What [`TerminalStore::recover`] carried over from the old file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recovery {
    /// The replica the old file belonged to, if its identity row was readable.
    pub old: Option<ReplicaId>,
    /// This terminal's transactions found intact (a readable row that passes its checksum)
    /// and handed to the root for judgement (the root drops the ones it holds, applies the ones it lacks, and
    /// the forked ones are issued again).
    pub salvaged: usize,
    /// Transactions the root had already confirmed, kept as history.
    pub confirmed: usize,
    /// Transaction rows that could not be read or failed their checksum.
    pub unreadable: usize,
    /// Insurance claims and PMP reports still queued, carried over.
    pub queued: usize,
    /// Whether reading stopped early because the old file is damaged (rows after the
    /// damage were not seen).
    pub incomplete: bool,
}

/// Builds a new store at `path` atomically: a temporary file next to it gets the schema and
/// whatever `fill` writes, in one transaction; the log is checkpointed and the file closed,
/// then linked into place (never over an existing file) and the directory synced. A crash
/// at any point leaves either no file at `path` or the complete store.
pub(super) fn build(
    path: &Path,
    options: &StoreOptions,
    fill: impl FnOnce(&Connection) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if path.exists() {
        return Err(StoreError::TargetExists(path.to_path_buf()));
    }
    let tmp = with_suffix(path, ".creating");
    remove_files(&tmp);
    let built = (|| {
        let mut conn = schema::connect(&tmp, options, true)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        schema::create(&tx)?;
        fill(&tx)?;
        tx.commit()?;
        finish(conn, &tmp, path, schema::flushes(options))
    })();
    remove_files(&tmp);
    built
}

/// Checkpoints and closes a finished temporary store, then links it to `path` (syncing the
/// file and the directory when `sync`).
fn finish(conn: Connection, tmp: &Path, path: &Path, sync: bool) -> Result<(), StoreError> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    conn.close().map_err(|(_, e)| e)?;
    let io = |e: std::io::Error| StoreError::Corrupt {
        what: format!("cannot move the new store into place: {e}"),
    };
    if sync {
        std::fs::File::open(tmp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
    }
    std::fs::hard_link(tmp, path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            StoreError::TargetExists(path.to_path_buf())
        } else {
            io(e)
        }
    })?;
    if let Some(dir) = path.parent().filter(|d| sync && !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

/// Removes a database file and its journal and witness files (a failed create or
/// restore).
pub(super) fn remove_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal", "-witness"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

impl TerminalStore {
    /// Restores a backup into a new file as a **new incarnation** of the terminal (drawn
    /// from `entropy`, different from every incarnation the backup knows): the lost device
    /// may have committed and synced more after the backup, and reusing its id would make
    /// the two histories collide. The backup is checked like any store on open and is only
    /// read; `new_path` must not exist. When the backup holds transactions of its own, the
    /// new incarnation's first transaction is the restore record that links its
    /// controlled-substance log to the backup's head (as in
    /// [`Replica::reincarnated`](crate::replica::Replica::reincarnated)).
    ///
    /// Claims and PMP reports still queued in the backup may already have been sent by the
    /// lost device: they are listed by
    /// [`Replica::queued_by_earlier_incarnation`](crate::replica::Replica::queued_by_earlier_incarnation)
    /// so the POS can check their status before sending them again.
    pub fn restore_from_backup(
        backup_path: impl AsRef<Path>,
        new_path: impl AsRef<Path>,
        store: PharmacyId,
        keys: Arc<dyn KeyRing>,
        entropy: &mut dyn Entropy,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let (backup_path, new_path) = (backup_path.as_ref(), new_path.as_ref());
        if new_path.exists() {
            return Err(StoreError::TargetExists(new_path.to_path_buf()));
        }
        let tmp = with_suffix(new_path, ".creating");
        remove_files(&tmp);
        let restored = (|| {
            Self::copy_file(backup_path, &tmp, &options)?;
            let (found_store, old) = {
                let conn = Self::open_checked(&tmp, &options)?;
                persist::read_identity(&conn)?.ok_or(StoreError::NotAStore)?
            };
            if found_store != store {
                return Err(StoreError::WrongStore {
                    expected_store: store,
                    expected_terminal: None,
                    found_store,
                    found_replica: old,
                });
            }
            // The backup must be sound before it becomes a store again.
            let checked = Self::open(
                &tmp,
                store,
                old.terminal,
                Arc::clone(&keys),
                options.clone(),
            )?;
            let mut conn = checked.conn;
            let taken = known_incarnations(&conn, old.terminal)?;
            let me = old.reincarnate(entropy, &|i| taken.contains(&i))?;
            super::in_tx(&mut conn, &Witness::of(&tmp), |tx| {
                tx.execute(
                    &tables::STORE_META.update(&[
                        "replica",
                        "next_lot_no",
                        "restored_from",
                        "superseded",
                    ]),
                    params![
                        persist::rid(me).as_slice(),
                        1,
                        persist::rid(old).as_slice(),
                        Option::<String>::None,
                        1
                    ],
                )?;
                Ok(())
            })?;
            finish(conn, &tmp, new_path, schema::flushes(&options))?;
            Ok(old)
        })();
        remove_files(&tmp);
        let old = restored?;
        let mut reopened = Self::open(new_path, store, old.terminal, keys, options)?;
        reopened.link_restore(old)?;
        Ok(reopened)
    }

    /// Commits and persists the new incarnation's restore record linking it to `old`'s
    /// head ([`Replica::reincarnated`](crate::replica::Replica::reincarnated) does the same
    /// in memory).
    fn link_restore(&mut self, old: ReplicaId) -> Result<(), StoreError> {
        let Some(commit) = self.peer.replica_mut().link_restore(old)? else {
            return Ok(());
        };
        let replica = self.peer.replica();
        super::in_tx(&mut self.conn, &self.witness, |tx| {
            persist::write_commit(tx, replica, &commit)
        })
    }

    /// Copies a store file (read-only on the source) with `VACUUM INTO`.
    fn copy_file(from: &Path, to: &Path, options: &StoreOptions) -> Result<(), StoreError> {
        if !from.exists() {
            return Err(StoreError::NotFound(from.to_path_buf()));
        }
        let src = Connection::open_with_flags(
            from,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        src.busy_timeout(options.busy_timeout)?;
        let app: i32 = src.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if app != schema::APPLICATION_ID {
            return Err(StoreError::NotAStore);
        }
        src.execute("VACUUM INTO ?1", params![path_str(to)?])?;
        Ok(())
    }

    /// A fresh incarnation of `terminal` at `new_path` after its store at `old_path` was
    /// found damaged or superseded: the state comes from the store leader or the cloud at
    /// the next sync; every transaction of this terminal still readable in the old file,
    /// with a row that passes its checksum, goes to the root for judgement (see
    /// [`Replica::salvage`](crate::replica::Replica::salvage)); queued claims and PMP
    /// reports are carried over. The old file is only read (a copy of it is opened, so
    /// SQLite's own recovery does not alter the evidence). `new_path` must not exist.
    pub fn recover(
        old_path: impl AsRef<Path>,
        new_path: impl AsRef<Path>,
        store: PharmacyId,
        terminal: u16,
        keys: Arc<dyn KeyRing>,
        entropy: &mut dyn Entropy,
        options: StoreOptions,
    ) -> Result<(Self, Recovery), StoreError> {
        let (old_path, new_path) = (old_path.as_ref(), new_path.as_ref());
        if new_path.exists() {
            return Err(StoreError::TargetExists(new_path.to_path_buf()));
        }
        own_key(keys.as_ref(), store, terminal)?;
        let scratch = with_suffix(new_path, ".salvage");
        remove_files(&scratch);
        let found = salvage(old_path, &scratch, terminal);
        remove_files(&scratch);
        let (mut report, txns, queued) = found;
        let taken: BTreeSet<u64> = txns.iter().map(|(t, _)| t.id.replica.incarnation).collect();
        let me = ReplicaId::new(terminal, report.old.map_or(0, |r| r.incarnation))
            .reincarnate(entropy, &|i| taken.contains(&i))?;
        let old = report.old;
        build(new_path, &options, |tx| {
            persist::init_identity(tx, store, me, Hlc::default(), old)?;
            for (t, status) in &txns {
                persist::insert_txn(tx, t, true, *status, None)?;
            }
            for (table, id, payload) in &queued {
                tx.execute(
                    &table.insert(tables::OnConflict::Ignore),
                    params![
                        persist::rid(id.replica).as_slice(),
                        persist::to_db(id.seq),
                        payload,
                        Option::<i64>::None
                    ],
                )?;
            }
            Ok(())
        })?;
        report.queued = queued.len();
        let store = Self::open(new_path, store, terminal, keys, options)?;
        Ok((store, report))
    }
}

/// Incarnations of `terminal` a store file knows.
fn known_incarnations(conn: &Connection, terminal: u16) -> Result<BTreeSet<u64>, StoreError> {
    let mut out = BTreeSet::new();
    for sql in [
        "SELECT replica FROM vv",
        "SELECT replica FROM heads",
        "SELECT replica FROM transactions",
        "SELECT replica FROM store_meta",
        "SELECT restored_from FROM store_meta WHERE restored_from IS NOT NULL",
    ] {
        let mut stmt = conn.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let r = persist::replica_of(&row.get::<_, Vec<u8>>(0)?)?;
            if r.terminal == terminal {
                out.insert(r.incarnation);
            }
        }
    }
    Ok(out)
}

type Queued = Vec<(tables::Table, crate::ids::TxnId, String)>;

/// Reads what can be read of an old store (a copy at `scratch`), best effort: this
/// terminal's transactions whose rows pass their checksum (held ones as history, the
/// others for the root to judge) and the queue rows still pending.
fn salvage(old: &Path, scratch: &Path, terminal: u16) -> (Recovery, Vec<(Txn, Status)>, Queued) {
    let mut report = Recovery::default();
    let mut txns = Vec::new();
    let mut queued = Vec::new();
    let copied = ["", "-wal"].iter().all(|s| {
        let from = with_suffix(old, s);
        !from.exists() || std::fs::copy(&from, with_suffix(scratch, s)).is_ok()
    });
    let conn = copied
        .then(|| {
            Connection::open_with_flags(
                scratch,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .ok()
        })
        .flatten();
    let Some(conn) = conn else {
        report.incomplete = true;
        return (report, txns, queued);
    };
    let _ = tables::register(&conn);
    report.old = persist::read_identity(&conn).ok().flatten().map(|(_, r)| r);
    let read = (|| -> rusqlite::Result<()> {
        let mut stmt = conn.prepare(
            "SELECT replica, status, format, body, chk IS pharm_chk('transactions', replica, seq, own, status, format, body, seal) FROM transactions",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let body: Vec<u8> = row.get::<_, Vec<u8>>(3).unwrap_or_default();
            let format: i64 = row.get(2).unwrap_or(-1);
            let status: i64 = row.get(1).unwrap_or(-1);
            let row_ok: bool = row.get(4).unwrap_or(false);
            match blob::decode_txn(format, &body) {
                Ok(t) if t.id.replica.terminal == terminal && row_ok => {
                    let confirmed = status == Status::Held as i64;
                    if confirmed {
                        report.confirmed += 1;
                    } else {
                        report.salvaged += 1;
                    }
                    txns.push((
                        t,
                        if confirmed {
                            Status::Held
                        } else {
                            Status::Salvage
                        },
                    ));
                }
                Ok(t) if t.id.replica.terminal != terminal => {}
                _ => report.unreadable += 1,
            }
        }
        for table in [tables::CLAIMS, tables::PMP_REPORTS] {
            let sql = format!(
                "SELECT txn_replica, txn_seq, payload FROM {t} WHERE sent_ms IS NULL AND chk IS pharm_chk('{t}', txn_replica, txn_seq, payload, sent_ms)",
                t = table.name
            );
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let r: Vec<u8> = row.get(0)?;
                if let Ok(replica) = persist::replica_of(&r) {
                    let id = crate::ids::TxnId {
                        replica,
                        seq: persist::from_db(row.get(1)?),
                    };
                    if txns.iter().any(|(t, _)| t.id == id) {
                        queued.push((table, id, row.get(2)?));
                    }
                }
            }
        }
        Ok(())
    })();
    report.incomplete = read.is_err();
    txns.sort_by_key(|(t, _)| t.id);
    txns.dedup_by_key(|(t, _)| t.id);
    (report, txns, queued)
}
