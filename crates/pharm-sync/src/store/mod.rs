//! The durable terminal store (feature `sqlite`): a [`Replica`] (inside a protocol [`Peer`])
//! whose every change is written to SQLite in one database transaction before it is
//! acknowledged.
//!
//! # What "acknowledged" means
//!
//! A mutating method of [`TerminalStore`] (e.g. [`TerminalStore::dispense`]) returns `Ok`
//! only after the SQLite `COMMIT` of everything the operation changed has returned: the
//! transaction row (outbox), the inventory state rows it touched, the version vector, the
//! clock and lot counter, and the insurance-claim / PMP-report rows that go with it. With
//! the default [`Synchronous::Full`] that commit has been `fsync`ed, so an acknowledged
//! commit survives a process kill (`SIGKILL`), an OS crash and a power loss (given a drive
//! that honours flushes). Nothing is ever half-written: either all rows of a commit are on
//! disk or none is. The caller may print the receipt, hand over the package, or tell the
//! insurer only after `Ok`.
//!
//! The in-memory replica never runs ahead of (or behind) the file: an operation runs on a
//! copy of the replica, the copy's changes are written, and the copy replaces the live
//! replica only once the commit succeeded. If writing fails, the live replica is untouched
//! and the database transaction is rolled back. If `COMMIT` itself fails (which can be
//! ambiguous after an I/O error) the replica is reloaded from the file; if even that fails
//! the store refuses further writes ([`StoreError::Poisoned`]) until it is reopened. The
//! copy (and dropping the replaced replica) costs O(state) per operation: about 5 ms for
//! 45,000 lots in a release build on a 2-vCPU VM, next to about 5 ms for the `FULL` commit
//! (the ignored `large_store_timings` test in `tests/store.rs` measures both).
//!
//! # Durability settings
//!
//! * `journal_mode = WAL`: a commit appends to the write-ahead log and is atomic; readers
//!   never see a partial commit; a crash leaves either the old or the new state, recovered
//!   automatically on the next open.
//! * `synchronous = FULL` (default, [`Synchronous::Full`]): the WAL is `fsync`ed at every
//!   commit. `NORMAL` with WAL ([`Synchronous::Normal`]) syncs only at checkpoints: it is
//!   still safe against a *process* crash (`SIGKILL`, panic, OOM kill: the OS has the WAL
//!   pages) and never corrupts the database, but the last commits before an OS crash or a
//!   **power loss** may roll back. Because an acknowledged dispense may already have been
//!   handed over and billed, we need those to survive power loss too, so `FULL` is the
//!   default. `NORMAL` is available for bulk imports or hardware with a UPS.
//! * `fullfsync = ON` with `FULL` (macOS: `F_FULLFSYNC`, a plain `fsync` there does not
//!   flush the drive's cache; ignored elsewhere).
//! * `locking_mode = EXCLUSIVE` (default, [`StoreOptions::exclusive`]): the file can be
//!   open in one store only, so two processes can never run two in-memory replicas on one
//!   file.
//! * `foreign_keys = ON`: queue rows must belong to a stored transaction.
//!
//! # Schema (version 1, `PRAGMA user_version`, `PRAGMA application_id` = "PHSY")
//!
//! | table | contents |
//! |---|---|
//! | `store_meta` | one row: store id, replica id, HLC, next lot number, last sync time, incarnation restored from |
//! | `vv`, `root_vv` | the state's version vector; what the root (cloud) is known to have |
//! | `transactions` | own and relayed transactions `(replica, seq)` with `own`, `acked_by_root` and the encoded body; rows with `acked_by_root = 0` are the outbox (pending sync); acknowledged rows stay as audit history |
//! | `lots`, `cells`, `holds`, `releases`, `transfers`, `compensations`, `lot_meta` | the inventory CRDT state: lot facts (in the order they became known), PN-counter cells `(lot, replica) → (p, n, last_seq)`, grow-only sets and last-writer-wins metadata |
//! | `claims`, `pmp_reports` | queues committed with their transaction; `sent_ms` set by `mark_*_sent` |
//! | `patients`, `drug_catalog`, `prescriptions` | opaque JSON caches keyed by id ([`CacheTable`]) |
//!
//! The state is stored as tables rather than as a replay log: a commit upserts exactly the
//! rows it changed, and reopening rebuilds the state by joining the rows (time proportional
//! to the state, not to the history: about 0.1 s for 45,000 lots), which restores
//! [`InventoryState::observable`](crate::state::InventoryState::observable), every cell's
//! `last_seq` and FEFO tie order exactly. Schema changes are appended as migrations and run in
//! the same transaction that bumps `user_version`; a file from a newer version is refused
//! ([`StoreError::SchemaTooNew`]).
//!
//! # Restore from backup
//!
//! [`TerminalStore::restore_from_backup`] copies an old backup and gives the terminal a
//! **new incarnation** ([`ReplicaId::next_incarnation`]). The lost device may have committed
//! more transactions after the backup and synced them: their sequence numbers and counter
//! totals are already at the server. Were the restored copy to continue under the old id,
//! its next transaction would reuse sequence numbers the server already has (dropped as
//! duplicates), and its counter cells would restart from the backup's older totals, which the
//! per-replica maximum of the PN-counter join ignores until they pass the lost device's
//! totals: new receipts and dispenses would silently vanish. A new incarnation starts fresh
//! cells and sequence numbers that nobody has seen. Transactions of the old incarnation still
//! in the backup's outbox are uploaded under their old ids and de-duplicated by the server.

mod blob;
mod persist;
mod schema;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pharm_core::time::Date;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::codec::EncodeError;
use crate::ids::{ReplicaId, StoreId, TxnId};
use crate::protocol::{Message, Peer, ProtocolError, SyncLimits};
use crate::replica::{Attachments, Commit, NewLot, OpError, Replica};
use crate::state::StateDelta;
use crate::txn::{DiscrepancyId, HoldId, Line, LotKey, Reason, TransferId, Txn};

use persist::{QueueTable, VvTable};

/// Schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = schema::SCHEMA_VERSION;

/// How hard a commit is flushed (`PRAGMA synchronous`, always with WAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `FULL`: every commit is `fsync`ed; acknowledged commits survive power loss.
    #[default]
    Full,
    /// `NORMAL`: acknowledged commits survive a process crash but the last ones may roll
    /// back after an OS crash or power loss.
    Normal,
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Commit flush level.
    pub synchronous: Synchronous,
    /// Hold an exclusive lock on the file while open (default `true`).
    pub exclusive: bool,
    /// How long to wait for a lock held by another connection.
    pub busy_timeout: Duration,
    /// This replica is the root (the cloud) of the relay chain.
    pub is_root: bool,
    /// Protocol limits.
    pub limits: SyncLimits,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            synchronous: Synchronous::Full,
            exclusive: true,
            busy_timeout: Duration::from_secs(5),
            is_root: false,
            limits: SyncLimits::default(),
        }
    }
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error (I/O, lock, constraint...). Nothing of the operation was
    /// committed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file's contents are inconsistent.
    #[error("store database is corrupt: {what}")]
    Corrupt {
        /// What is wrong.
        what: String,
    },
    /// The file belongs to another store or replica.
    #[error(
        "database belongs to store {found_store:?} replica {found_replica}, not store {expected_store:?} replica {expected_replica:?}"
    )]
    WrongStore {
        /// Store asked for.
        expected_store: StoreId,
        /// Replica asked for (`None` when restoring a backup).
        expected_replica: Option<ReplicaId>,
        /// Store in the file.
        found_store: StoreId,
        /// Replica in the file.
        found_replica: ReplicaId,
    },
    /// The file is an SQLite database of another application.
    #[error("not a pharm-sync store database")]
    NotAStore,
    /// The file was written by a newer schema.
    #[error("schema version {found} is newer than the supported version {supported}")]
    SchemaTooNew {
        /// Version in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// WAL journal mode could not be enabled (e.g. an in-memory database).
    #[error("WAL journal mode unavailable (journal_mode = {0})")]
    NoWal(String),
    /// A path is not valid UTF-8 (SQLite needs a string).
    #[error("path {0:?} is not valid UTF-8")]
    InvalidPath(PathBuf),
    /// The target of a restore already exists.
    #[error("{0:?} already exists")]
    TargetExists(PathBuf),
    /// No incarnation left for the terminal.
    #[error("terminal {0} has no incarnation left")]
    IncarnationsExhausted(u16),
    /// A cache body is not valid JSON.
    #[error("{table} entry {id:?} is not valid JSON")]
    InvalidJson {
        /// Table.
        table: &'static str,
        /// Key.
        id: String,
    },
    /// A commit failed ambiguously and the replica could not be reloaded: reopen the store.
    #[error("store must be reopened after a failed commit")]
    Poisoned,
    /// The operation was refused by the replica (nothing was written).
    #[error(transparent)]
    Op(#[from] OpError),
    /// A transaction cannot be encoded for the outbox (and so could never be uploaded),
    /// e.g. a reference longer than the wire format allows. Nothing was written.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A sync message was refused (nothing was written).
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

/// One of the opaque JSON caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheTable {
    /// Cached patient records.
    Patients,
    /// Drug catalog entries.
    DrugCatalog,
    /// Active prescriptions.
    Prescriptions,
}

impl CacheTable {
    fn name(self) -> &'static str {
        match self {
            CacheTable::Patients => "patients",
            CacheTable::DrugCatalog => "drug_catalog",
            CacheTable::Prescriptions => "prescriptions",
        }
    }
}

/// A transaction row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTxn {
    /// The transaction.
    pub txn: Txn,
    /// Committed by this store's replica (in this or an earlier incarnation), not relayed.
    pub own: bool,
    /// The root has it (it left the outbox).
    pub acked_by_root: bool,
}

/// Operation results that may carry a commit.
trait CommitOf {
    fn commit_of(&self) -> Option<&Commit>;
}

impl CommitOf for Commit {
    fn commit_of(&self) -> Option<&Commit> {
        Some(self)
    }
}

impl CommitOf for Option<Commit> {
    fn commit_of(&self) -> Option<&Commit> {
        self.as_ref()
    }
}

impl<K> CommitOf for (K, Commit) {
    fn commit_of(&self) -> Option<&Commit> {
        Some(&self.1)
    }
}

/// A replica persisted in SQLite. See the [module documentation](self).
#[derive(Debug)]
pub struct TerminalStore {
    conn: Connection,
    peer: Peer,
    path: PathBuf,
    options: StoreOptions,
    last_sync_ms: Option<u64>,
    poisoned: bool,
}

fn path_str(path: &Path) -> Result<&str, StoreError> {
    path.to_str()
        .ok_or_else(|| StoreError::InvalidPath(path.to_path_buf()))
}

impl TerminalStore {
    /// Opens (creating if needed) the store of `replica` in pharmacy `store` at `path`, with
    /// default options. A file of another store or replica is refused.
    pub fn open(
        path: impl AsRef<Path>,
        store: StoreId,
        replica: ReplicaId,
    ) -> Result<Self, StoreError> {
        Self::open_with(path, store, replica, StoreOptions::default())
    }

    /// [`TerminalStore::open`] with options.
    pub fn open_with(
        path: impl AsRef<Path>,
        store: StoreId,
        replica: ReplicaId,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let mut conn = schema::connect(path, &options)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        schema::migrate(&tx)?;
        match persist::read_identity(&tx)? {
            None => persist::init_identity(&tx, store, replica)?,
            Some((s, r)) if s == store && r == replica => {}
            Some((found_store, found_replica)) => {
                return Err(StoreError::WrongStore {
                    expected_store: store,
                    expected_replica: Some(replica),
                    found_store,
                    found_replica,
                });
            }
        }
        tx.commit()?;
        Self::from_conn(conn, path, options)
    }

    fn from_conn(conn: Connection, path: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        let loaded = persist::load(&conn)?;
        let peer =
            Peer::new(Replica::restore(loaded.parts), options.is_root).with_limits(options.limits);
        Ok(TerminalStore {
            conn,
            peer,
            path: path.to_path_buf(),
            options,
            last_sync_ms: loaded.last_sync_ms,
            poisoned: false,
        })
    }

    /// The store and replica recorded in a file, without opening it as a store (`None` if
    /// the file does not exist or is not initialised).
    pub fn identity(path: impl AsRef<Path>) -> Result<Option<(StoreId, ReplicaId)>, StoreError> {
        let path = path.as_ref();
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if app != schema::APPLICATION_ID {
            return Ok(None);
        }
        persist::read_identity(&conn)
    }

    /// Restores a backup into a new file and gives the terminal a new incarnation (see the
    /// [module documentation](self#restore-from-backup) for why).
    ///
    /// The new incarnation is above the backup's own, above every incarnation of the same
    /// terminal the backup knows of, and at least `min_incarnation` (pass the highest
    /// incarnation the server knows plus one when it is reachable, else 0). The backup file
    /// is only read. `new_path` must not exist.
    ///
    /// Claims and PMP reports still queued in the backup may already have been sent by the
    /// lost device: they are listed by
    /// [`Replica::queued_by_earlier_incarnation`](crate::replica::Replica::queued_by_earlier_incarnation)
    /// so the POS can check their status before sending them again.
    pub fn restore_from_backup(
        backup_path: impl AsRef<Path>,
        new_path: impl AsRef<Path>,
        store: StoreId,
        min_incarnation: u16,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let (backup_path, new_path) = (backup_path.as_ref(), new_path.as_ref());
        if new_path.exists() {
            return Err(StoreError::TargetExists(new_path.to_path_buf()));
        }
        let restored = Self::copy_backup(backup_path, new_path, &options)
            .and_then(|()| Self::reincarnate(new_path, store, min_incarnation, options));
        if restored.is_err() {
            // Leave nothing half-restored behind.
            for suffix in ["", "-wal", "-shm"] {
                let mut p = new_path.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
        restored
    }

    /// Copies a store file (read-only on the source) with `VACUUM INTO`.
    fn copy_backup(
        backup_path: &Path,
        new_path: &Path,
        options: &StoreOptions,
    ) -> Result<(), StoreError> {
        let src = Connection::open_with_flags(
            backup_path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        src.busy_timeout(options.busy_timeout)?;
        let app: i32 = src.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if app != schema::APPLICATION_ID {
            return Err(StoreError::NotAStore);
        }
        src.execute("VACUUM INTO ?1", params![path_str(new_path)?])?;
        Ok(())
    }

    /// Gives the copy at `path` a new incarnation and opens it.
    fn reincarnate(
        path: &Path,
        store: StoreId,
        min_incarnation: u16,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let mut conn = schema::connect(path, &options)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        schema::migrate(&tx)?;
        let (found_store, old) = persist::read_identity(&tx)?.ok_or(StoreError::Corrupt {
            what: "backup has no store identity".into(),
        })?;
        if found_store != store {
            return Err(StoreError::WrongStore {
                expected_store: store,
                expected_replica: None,
                found_store,
                found_replica: old,
            });
        }
        let mut highest = old.incarnation;
        for sql in [
            "SELECT replica FROM vv",
            "SELECT replica FROM root_vv",
            "SELECT DISTINCT replica FROM transactions",
            "SELECT restored_from FROM store_meta WHERE restored_from IS NOT NULL",
        ] {
            let mut stmt = tx.prepare(sql)?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let r = persist::replica_of(row.get(0)?)?;
                if r.terminal == old.terminal {
                    highest = highest.max(r.incarnation);
                }
            }
        }
        let next = highest
            .checked_add(1)
            .ok_or(StoreError::IncarnationsExhausted(old.terminal))?
            .max(min_incarnation);
        let me = ReplicaId::new(old.terminal, next);
        tx.execute(
            "UPDATE store_meta SET replica = ?1, next_lot_no = 1, restored_from = ?2 WHERE id = 1",
            params![persist::rid(me), persist::rid(old)],
        )?;
        tx.commit()?;
        Self::from_conn(conn, path, options)
    }

    /// Writes a consistent copy of the store to `path` (`VACUUM INTO`; `path` must not exist).
    pub fn backup_to(&self, path: impl AsRef<Path>) -> Result<(), StoreError> {
        let path = path.as_ref();
        if path.exists() {
            return Err(StoreError::TargetExists(path.to_path_buf()));
        }
        self.conn
            .execute("VACUUM INTO ?1", params![path_str(path)?])?;
        Ok(())
    }

    /// The replica (read-only; change it through the store's methods).
    pub fn replica(&self) -> &Replica {
        self.peer.replica()
    }

    /// The protocol peer wrapping the replica.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// Last successful sync (wall-clock ms), as recorded by [`TerminalStore::set_last_sync`].
    pub fn last_sync_ms(&self) -> Option<u64> {
        self.last_sync_ms
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema::user_version(&self.conn)
    }

    /// Runs `write` in one immediate SQLite transaction and commits it.
    fn persist<R>(
        &mut self,
        write: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = write(&tx)?; // an error drops `tx`: rollback
        if let Err(e) = tx.commit() {
            // The commit may or may not have reached the file: take the file as the truth.
            self.reload_from_file();
            return Err(e.into());
        }
        Ok(out)
    }

    /// Replaces the in-memory replica with what the file holds (after a failed write), or
    /// poisons the store when even that fails.
    fn reload_from_file(&mut self) {
        match persist::load(&self.conn) {
            Ok(loaded) => {
                self.peer = Peer::new(Replica::restore(loaded.parts), self.options.is_root)
                    .with_limits(self.options.limits);
                self.last_sync_ms = loaded.last_sync_ms;
            }
            Err(_) => self.poisoned = true,
        }
    }

    /// Takes the live peer out for an in-place change (no copy of the state); the caller
    /// puts it back after a successful commit or reloads from the file on failure.
    fn take_peer(&mut self) -> Peer {
        let r = self.peer.replica();
        let placeholder = Peer::new(Replica::new(r.store(), r.id()), self.options.is_root);
        std::mem::replace(&mut self.peer, placeholder)
    }

    /// Runs a local operation on the replica in place and persists its commit in one SQLite
    /// transaction; if the write fails, the replica is reloaded from the file.
    fn local<T: CommitOf>(
        &mut self,
        op: impl FnOnce(&mut Replica) -> Result<T, OpError>,
    ) -> Result<T, StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        // Replica operations validate before they change anything, so an `OpError` leaves
        // the peer untouched; a failed write reloads the peer from the file.
        let mut next = self.take_peer();
        let out = match op(next.replica_mut()) {
            Ok(out) => out,
            Err(e) => {
                self.peer = next;
                return Err(e.into());
            }
        };
        if let Some(commit) = out.commit_of()
            && let Err(e) = self.persist(|tx| persist::write_commit(tx, next.replica(), commit))
        {
            self.reload_from_file();
            return Err(e);
        }
        self.peer = next;
        Ok(out)
    }

    /// [`Replica::receive_new`], persisted.
    pub fn receive_new(
        &mut self,
        now_ms: u64,
        lot: NewLot,
        qty: u64,
        reference: &str,
    ) -> Result<(LotKey, Commit), StoreError> {
        self.local(|r| r.receive_new(now_ms, lot, qty, reference))
    }

    /// [`Replica::receive`], persisted.
    pub fn receive(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        qty: u64,
        reference: &str,
    ) -> Result<Commit, StoreError> {
        self.local(|r| r.receive(now_ms, lot, qty, reference))
    }

    /// [`Replica::dispense`], persisted with its claim and PMP report rows.
    #[allow(clippy::too_many_arguments)]
    pub fn dispense(
        &mut self,
        now_ms: u64,
        today: Date,
        sku: u32,
        qty: u64,
        scanned: Option<LotKey>,
        reference: &str,
        attachments: Attachments,
    ) -> Result<Commit, StoreError> {
        self.local(|r| r.dispense(now_ms, today, sku, qty, scanned, reference, attachments))
    }

    /// [`Replica::adjust`], persisted.
    pub fn adjust(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        delta: i64,
        reason: Reason,
        reference: &str,
    ) -> Result<Commit, StoreError> {
        self.local(|r| r.adjust(now_ms, lot, delta, reason, reference))
    }

    /// [`Replica::stock_count`], persisted (`None`: the count matched, nothing written).
    pub fn stock_count(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        counted: u64,
        reference: &str,
    ) -> Result<Option<Commit>, StoreError> {
        self.local(|r| r.stock_count(now_ms, lot, counted, reference))
    }

    /// [`Replica::write_off`], persisted (`None`: nothing on hand, nothing written).
    pub fn write_off(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        reason: Reason,
        reference: &str,
    ) -> Result<Option<Commit>, StoreError> {
        self.local(|r| r.write_off(now_ms, lot, reason, reference))
    }

    /// [`Replica::transfer_out`], persisted.
    pub fn transfer_out(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        qty: u64,
        number: u64,
        reference: &str,
    ) -> Result<(TransferId, Commit), StoreError> {
        self.local(|r| r.transfer_out(now_ms, lot, qty, number, reference))
    }

    /// [`Replica::transfer_in`], persisted.
    pub fn transfer_in(
        &mut self,
        now_ms: u64,
        transfer: TransferId,
        lot: NewLot,
        qty: u64,
        reference: &str,
    ) -> Result<(LotKey, Commit), StoreError> {
        self.local(|r| r.transfer_in(now_ms, transfer, lot, qty, reference))
    }

    /// [`Replica::hold`], persisted.
    pub fn hold(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        reference: &str,
    ) -> Result<(HoldId, Commit), StoreError> {
        self.local(|r| r.hold(now_ms, lot, reference))
    }

    /// [`Replica::release`], persisted.
    pub fn release(
        &mut self,
        now_ms: u64,
        hold: HoldId,
        reference: &str,
    ) -> Result<Commit, StoreError> {
        self.local(|r| r.release(now_ms, hold, reference))
    }

    /// [`Replica::set_location`], persisted.
    pub fn set_location(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        location: &str,
    ) -> Result<Commit, StoreError> {
        self.local(|r| r.set_location(now_ms, lot, location))
    }

    /// [`Replica::compensate`] (store server reconciliation), persisted.
    pub fn compensate(
        &mut self,
        now_ms: u64,
        discrepancy: DiscrepancyId,
        lines: Vec<Line>,
        reference: &str,
    ) -> Result<Commit, StoreError> {
        self.local(|r| Ok(r.compensate(now_ms, discrepancy, lines, reference)))
    }

    /// Starts a sync with the upstream ([`Peer::hello`]; changes nothing).
    pub fn hello(&self, now_ms: u64) -> Message {
        let r = self.peer.replica();
        Message::Hello {
            store: r.store(),
            from: r.id(),
            vv: r.state().vv().clone(),
            hlc: r.hlc().tick(now_ms),
        }
    }

    /// Handles one protocol message ([`Peer::handle`]) and persists everything it changed
    /// in one SQLite transaction before returning the replies: the clock, a joined delta,
    /// transactions applied as a server (and kept for relaying), the root's version vector
    /// and the outbox rows it acknowledges. On error nothing changes.
    pub fn apply_messages(
        &mut self,
        now_ms: u64,
        msg: Message,
    ) -> Result<Vec<Message>, StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        let mut next = self.take_peer();
        let before_vv = next.replica().state().vv().clone();
        let before_root = next.replica().root_vv().clone();
        let before_outbox: BTreeSet<TxnId> = next.replica().outbox().map(|t| t.id).collect();
        let joined = match &msg {
            // A delta the state refuses to join changes nothing, on disk either.
            Message::Delta { delta, .. } if next.replica().state().can_join(delta) => {
                Some(delta.clone())
            }
            _ => None,
        };
        let replies = match next.handle(now_ms, msg) {
            Ok(r) => r,
            Err(e) => {
                // `handle` rejects a message before changing anything.
                self.peer = next;
                return Err(e.into());
            }
        };
        let after = next.replica();
        let me = after.id();
        let changes = match joined {
            Some(d) => d,
            None if after.state().vv() != &before_vv => after.state().delta_since(&before_vv),
            None => StateDelta::default(),
        };
        let root_changed = after.root_vv() != &before_root;
        let written = self.persist(|tx| {
            persist::write_changes(tx, after.state(), &changes)?;
            persist::write_vv(tx, VvTable::State, after.state().vv())?;
            for t in after.outbox().filter(|t| !before_outbox.contains(&t.id)) {
                persist::insert_txn(tx, t, t.id.replica == me)?;
            }
            if root_changed {
                persist::write_vv(tx, VvTable::Root, after.root_vv())?;
                persist::ack_root(tx, after.root_vv())?;
            }
            persist::write_scalars(tx, after)
        });
        if let Err(e) = written {
            self.reload_from_file();
            return Err(e);
        }
        self.peer = next;
        Ok(replies)
    }

    /// Durably records the store-leader election state (term and vote). Call it whenever
    /// [`Election::persistent_state`](crate::leader::Election::persistent_state) changes,
    /// before sending the election's outgoing messages.
    pub fn save_election_state(
        &mut self,
        state: &crate::leader::PersistentState,
    ) -> Result<(), StoreError> {
        self.persist(|tx| {
            tx.execute(
                "INSERT INTO election (id, term, voted_for) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET term = excluded.term, voted_for = excluded.voted_for",
                params![persist::to_db(state.term), state.voted_for.map(|r| i64::from(r.packed()))],
            )?;
            Ok(())
        })
    }

    /// The election state saved by [`save_election_state`](Self::save_election_state), for
    /// [`Election::restore`](crate::leader::Election::restore) after a restart.
    pub fn election_state(&self) -> Result<Option<crate::leader::PersistentState>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT term, voted_for FROM election WHERE id = 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .optional()?;
        row.map(|(term, voted)| {
            let term = persist::from_db(term);
            let voted_for = voted
                .map(|v| u32::try_from(v).map(crate::ids::ReplicaId::from_packed))
                .transpose()
                .map_err(|_| StoreError::Corrupt {
                    what: "election vote".into(),
                })?;
            Ok(crate::leader::PersistentState { term, voted_for })
        })
        .transpose()
    }

    /// Records the time of the last successful sync.
    pub fn set_last_sync(&mut self, ms: u64) -> Result<(), StoreError> {
        self.persist(|tx| {
            tx.execute(
                "UPDATE store_meta SET last_sync_ms = ?1 WHERE id = 1",
                params![persist::to_db(ms)],
            )?;
            Ok(())
        })?;
        self.last_sync_ms = Some(ms);
        Ok(())
    }

    /// Marks the insurance claim of a transaction as sent (it leaves the queue). Returns
    /// whether it was pending.
    pub fn mark_claim_sent(&mut self, txn: TxnId, now_ms: u64) -> Result<bool, StoreError> {
        let was = self.persist(|tx| persist::mark_sent(tx, QueueTable::Claims, txn, now_ms))?;
        let in_memory = self.peer.replica_mut().claim_sent(&txn);
        Ok(was || in_memory)
    }

    /// Marks the PMP report of a transaction as sent (it leaves the queue). Returns whether
    /// it was pending.
    pub fn mark_pmp_report_sent(&mut self, txn: TxnId, now_ms: u64) -> Result<bool, StoreError> {
        let was = self.persist(|tx| persist::mark_sent(tx, QueueTable::PmpReports, txn, now_ms))?;
        let in_memory = self.peer.replica_mut().pmp_report_sent(&txn);
        Ok(was || in_memory)
    }

    /// Every stored transaction (outbox and acknowledged history), in (replica, seq) order.
    pub fn stored_transactions(&self) -> Result<Vec<StoredTxn>, StoreError> {
        Ok(persist::read_txns(&self.conn, false)?
            .into_iter()
            .map(|(txn, own, acked_by_root)| StoredTxn {
                txn,
                own,
                acked_by_root,
            })
            .collect())
    }

    /// Stores (or replaces) a cache entry. `json` must be valid JSON; it is not interpreted.
    pub fn cache_put(&mut self, table: CacheTable, id: &str, json: &str) -> Result<(), StoreError> {
        let valid: bool = self
            .conn
            .query_row("SELECT json_valid(?1)", params![json], |r| r.get(0))?;
        if !valid {
            return Err(StoreError::InvalidJson {
                table: table.name(),
                id: id.to_string(),
            });
        }
        let sql = format!(
            "INSERT INTO {} (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            table.name()
        );
        self.persist(|tx| {
            tx.execute(&sql, params![id, json])?;
            Ok(())
        })
    }

    /// A cache entry.
    pub fn cache_get(&self, table: CacheTable, id: &str) -> Result<Option<String>, StoreError> {
        let sql = format!("SELECT body FROM {} WHERE id = ?1", table.name());
        Ok(self
            .conn
            .query_row(&sql, params![id], |r| r.get(0))
            .optional()?)
    }

    /// Removes a cache entry; returns whether it existed.
    pub fn cache_remove(&mut self, table: CacheTable, id: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE id = ?1", table.name());
        self.persist(|tx| Ok(tx.execute(&sql, params![id])? > 0))
    }

    /// The ids in a cache, sorted.
    pub fn cache_ids(&self, table: CacheTable) -> Result<Vec<String>, StoreError> {
        let sql = format!("SELECT id FROM {} ORDER BY id", table.name());
        let mut stmt = self.conn.prepare(&sql)?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }
}
