//! The durable terminal store (feature `sqlite`): a [`Replica`] (inside a protocol [`Peer`])
//! whose every change is written to SQLite in one database transaction before it is
//! acknowledged.
//!
//! # What "acknowledged" means
//!
//! A mutating method of [`TerminalStore`] (e.g. [`TerminalStore::apply`]) returns `Ok`
//! only after the SQLite `COMMIT` of everything the operation changed has returned: the
//! transaction row (outbox), the inventory state rows it touched, the version vector, the
//! head, the clock and lot counter, and the insurance-claim / PMP-report rows that go with
//! it. With the default [`Synchronous::Full`] that commit has been `fsync`ed, so an
//! acknowledged commit survives a process kill (`SIGKILL`), an OS crash and a power loss
//! (given a drive that honours flushes). Nothing is ever half-written: either all rows of a
//! commit are on disk or none is. A sync message is answered only after everything it
//! changed is committed, so what a store acknowledges to another peer is on its disk.
//!
//! The in-memory replica never runs ahead of (or behind) the file: an operation validates
//! everything before it changes the replica, the change is written, and if writing fails
//! the replica is reloaded from the file; if even that fails the store refuses further
//! writes ([`StoreError::Poisoned`]) until it is reopened.
//!
//! # Creating and opening: fail loud
//!
//! [`TerminalStore::create`] makes a new store (the file must not exist) under a fresh
//! random incarnation. [`TerminalStore::open`] opens only a complete store of this schema
//! version and refuses, with a typed error, anything else: a missing, empty or truncated
//! file, another application's database, a file without its identity row, another store's
//! or terminal's file. Before anything is loaded it checks
//!
//! * the write-ahead log, for a damaged frame followed by later transactions (SQLite would
//!   silently drop them: [`StoreError::WalDamaged`]);
//! * `PRAGMA quick_check` (every b-tree; the schema has no secondary index), the schema
//!   itself, and every row's checksum (a flipped bit anywhere in a row's values is found);
//! * the stored state against the stored transactions: this replica's whole history is
//!   there (sequence numbers 1 to its version, each chained to the digest of the one before) and
//!   its counter cells are exactly the sums of their lines; every replica of the version
//!   vector has its head.
//!
//! A failure is a typed error the POS can show; the recovery is explicit:
//! [`TerminalStore::restore_from_backup`] (the last good backup, as a new incarnation) or
//! [`TerminalStore::recover`] (a fresh incarnation whose state comes from the store leader
//! or the cloud at the next sync, carrying every transaction still readable and intact
//! in the damaged file to the root for judgement). Neither ever starts fresh silently.
//!
//! # Durability settings
//!
//! * `journal_mode = WAL`: a commit appends to the write-ahead log and is atomic.
//! * `synchronous = FULL` (default, [`Synchronous::Full`]): the WAL is `fsync`ed at every
//!   commit. `NORMAL` ([`Synchronous::Normal`]) syncs only at checkpoints: safe against a
//!   *process* crash but the last commits before an OS crash or power loss may roll back.
//! * `fullfsync = ON` with `FULL` (macOS: `F_FULLFSYNC`; ignored elsewhere).
//! * `locking_mode = EXCLUSIVE` (default, [`StoreOptions::exclusive`]): the file can be
//!   open in one store only.
//! * `foreign_keys = ON`: queue rows must belong to a stored transaction.
//!
//! # Schema (version 2, `PRAGMA user_version`, `PRAGMA application_id` = "PHSY")
//!
//! | table | contents |
//! |---|---|
//! | `store_meta` | one row: store id, replica id, HLC, next lot number, last sync time, incarnation restored from, superseded reason |
//! | `vv`, `acks`, `heads` | the state's version vector; the root's acknowledgements (with digests); each replica's head transaction, with its origin seal where known |
//! | `transactions` | own and relayed transactions `(replica, seq)` with `own`, `status` (0 held by the root, 1 outbox, 2 salvage, 3 forked, 4 refused), the encoded body (its digest is recomputed on reading) and, for a relayed one, the origin seal it came with; the root keeps every transaction it holds here (its log) |
//! | `lots`, `cells`, `holds`, `releases`, `transfers`, `compensations`, `lot_meta` | the inventory CRDT state |
//! | `claims`, `pmp_reports` | queues committed with their transaction; `sent_ms` set by `mark_*_sent` |
//! | `patients`, `drug_catalog`, `prescriptions` | opaque JSON caches keyed by id ([`CacheTable`]) |
//!
//! Every row carries a checksum. A file of an earlier schema version (version 1, before
//! transactions were authenticated) is refused ([`StoreError::SchemaTooOld`]): its outbox
//! transactions are not chained by digests, so no root could verify them; sync it empty with
//! the release that wrote it, then create a new store.
//!
//! # Incarnations
//!
//! [`create`](TerminalStore::create), [`restore_from_backup`](TerminalStore::restore_from_backup)
//! and [`recover`](TerminalStore::recover) draw a fresh random 64-bit incarnation from the
//! caller's randomness ([`Entropy`]), so restoring the same backup twice, even while
//! offline, gives two different replicas (see [`ReplicaId`]).

mod blob;
mod check;
#[cfg(feature = "crash-points")]
mod crash;
mod persist;
mod recover;
mod schema;
mod tables;
mod wal;
mod witness;

use pharm_core::error_code::ErrorCode;
use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::auth::{KeyRing, MacKey, Tag};
use crate::codec::{DecodeLimits, EncodeError};
use crate::hlc::Hlc;
use crate::ids::{Entropy, IdError, ReplicaId, TxnId};
use crate::message::Message;
use crate::protocol::{Peer, ProtocolError, Role, SyncLimits};
use crate::replica::{Commit, Op, OpError, Replica, Waiting};
use crate::txn::Txn;

use persist::Status;
pub use recover::Recovery;
use witness::Witness;

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
    /// Test only (feature `crash-points`): `OFF`, nothing is ever `fsync`ed. Acknowledged
    /// commits survive a process crash (the operating system holds them) and nothing else:
    /// for tests and simulators that kill processes, never machines.
    #[cfg(feature = "crash-points")]
    Off,
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
    /// The replica's place in the relay chain.
    pub role: Role,
    /// Protocol limits.
    pub limits: SyncLimits,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            synchronous: Synchronous::Full,
            exclusive: true,
            busy_timeout: Duration::from_secs(5),
            role: Role::Member,
            limits: SyncLimits::default(),
        }
    }
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error (I/O, lock, constraint, a malformed file...). Nothing of
    /// the operation was committed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file's contents are inconsistent: recover from a backup or from upstream.
    #[error("store database is corrupt: {what}")]
    Corrupt {
        /// What is wrong.
        what: String,
    },
    /// The write-ahead log lost a completed transaction (a damaged frame followed by later
    /// ones): opening it would silently go back in time.
    #[error(
        "the write-ahead log is damaged at frame {frame}: completed transactions after it would be lost"
    )]
    WalDamaged {
        /// First damaged frame.
        frame: usize,
    },
    /// The database holds fewer committed transactions than its commit witness recorded:
    /// it was rolled back (damaged log, or a file copied back from another day).
    #[error(
        "{missing} committed write transaction(s) are missing from the database: it was rolled back"
    )]
    RolledBack {
        /// How many.
        missing: u64,
    },
    /// The file does not exist.
    #[error("{0:?} does not exist (create a store with TerminalStore::create)")]
    NotFound(PathBuf),
    /// The file belongs to another store or terminal.
    #[error(
        "database belongs to store {found_store:?} replica {found_replica}, not store {expected_store:?} terminal {expected_terminal:?}"
    )]
    WrongStore {
        /// Store asked for.
        expected_store: PharmacyId,
        /// Terminal asked for (`None` when restoring a backup).
        expected_terminal: Option<u16>,
        /// Store in the file.
        found_store: PharmacyId,
        /// Replica in the file.
        found_replica: ReplicaId,
    },
    /// The file is empty or not a pharm-sync store (another application's database, or a
    /// file without its identity row).
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
    /// The file was written by an older schema this build does not read (see the module
    /// documentation).
    #[error("schema version {found} is older than the supported version {supported}")]
    SchemaTooOld {
        /// Version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// WAL journal mode could not be enabled (e.g. an in-memory database).
    #[error("WAL journal mode unavailable (journal_mode = {0})")]
    NoWal(String),
    /// A path is not valid UTF-8 (SQLite needs a string).
    #[error("path {0:?} is not valid UTF-8")]
    InvalidPath(PathBuf),
    /// The target of a create, backup or restore already exists.
    #[error("{0:?} already exists")]
    TargetExists(PathBuf),
    /// No fresh incarnation could be drawn.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The key ring has no origin key for this terminal.
    #[error("the key ring holds no origin key for terminal {0}")]
    MissingKey(u16),
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
    /// The store crashed at an armed crash point (feature `crash-points`, see
    /// [`TerminalStore::crash_at`]) after `writes` write statements of its transaction,
    /// before `COMMIT`: nothing of the transaction was committed and the store is dead
    /// ([`StoreError::Poisoned`] from then on); reopen the file.
    #[error("crashed after {writes} write statement(s), before COMMIT: reopen the store")]
    Crashed {
        /// Write statements the transaction ran before it crashed.
        writes: u32,
    },
    /// The operation was refused by the replica (nothing was written).
    #[error(transparent)]
    Op(#[from] OpError),
    /// A transaction cannot be encoded (nothing was written).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A sync message was refused (only what the protocol changed before refusing, such as
    /// a superseded mark, was written).
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

impl StoreError {
    /// The error whose stable code tells most precisely what went wrong: a refused
    /// operation's own (`sync.op_no_lots`...), the id's, the encoder's, or for a refused
    /// message [`ProtocolError::most_specific`] (`sync.protocol_bad_tag`,
    /// `sync.decode_truncated`...), never the wrapping `sync.store_op` /
    /// `sync.store_protocol`; else this error. A binding reports this code with the whole
    /// chain ([`Display`](std::fmt::Display) of `self`) as the message.
    pub fn most_specific(&self) -> &dyn ErrorCode {
        match self {
            StoreError::Op(e) => e,
            StoreError::Encode(e) => e,
            StoreError::Id(e) => e,
            StoreError::Protocol(e) => e.most_specific(),
            other => other,
        }
    }
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
    fn table(self) -> tables::Table {
        match self {
            CacheTable::Patients => tables::PATIENTS,
            CacheTable::DrugCatalog => tables::DRUG_CATALOG,
            CacheTable::Prescriptions => tables::PRESCRIPTIONS,
        }
    }
}

/// A transaction row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTxn {
    /// The transaction.
    pub txn: Txn,
    /// Committed by this store's terminal (in this or an earlier incarnation), not relayed.
    pub own: bool,
    /// The root holds it (it left the outbox).
    pub acked_by_root: bool,
}

/// A replica persisted in SQLite. See the [module documentation](self).
pub struct TerminalStore {
    conn: Connection,
    witness: Witness,
    peer: Peer,
    keys: Arc<dyn KeyRing>,
    path: PathBuf,
    options: StoreOptions,
    last_sync_ms: Option<u64>,
    poisoned: bool,
    /// The crash point armed for the next write transaction (feature `crash-points`).
    #[cfg(feature = "crash-points")]
    crash_point: Option<u32>,
}

impl std::fmt::Debug for TerminalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalStore")
            .field("path", &self.path)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

fn path_str(path: &Path) -> Result<&str, StoreError> {
    path.to_str()
        .ok_or_else(|| StoreError::InvalidPath(path.to_path_buf()))
}

/// Runs `write` in one immediate SQLite transaction that also counts the commit, commits
/// it (an error rolls back) and updates the commit witness.
fn in_tx<R>(
    conn: &mut Connection,
    witness: &Witness,
    write: impl FnOnce(&Connection) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = write(&tx)?;
    let commits = persist::bump_commits(&tx)?;
    #[cfg(feature = "crash-points")]
    crash::before_commit()?;
    tx.commit()?;
    witness.write(commits);
    Ok(out)
}

fn own_key(keys: &dyn KeyRing, store: PharmacyId, terminal: u16) -> Result<MacKey, StoreError> {
    keys.origin_key(store, terminal)
        .cloned()
        .ok_or(StoreError::MissingKey(terminal))
}

/// The stored status of a waiting transaction.
fn status_of(w: Waiting) -> Status {
    match w {
        Waiting::Outbox => Status::Outbox,
        Waiting::Salvage => Status::Salvage,
        Waiting::Forked => Status::Forked,
    }
}

/// What a message can change in a replica, to find out whether anything must be written.
#[derive(PartialEq)]
struct Footprint {
    vv: crate::state::VersionVector,
    acks: crate::message::Acks,
    waiting: BTreeMap<TxnId, (Waiting, Option<Tag>)>,
    /// Sequence number of each head, and whether its seal is known.
    heads: BTreeMap<ReplicaId, (u64, bool)>,
    hlc: Hlc,
    next_lot_no: u32,
    superseded: Option<crate::replica::Superseded>,
}

impl Footprint {
    fn of(r: &Replica) -> Self {
        Footprint {
            vv: r.state().vv().clone(),
            acks: r.acks().clone(),
            waiting: r.waiting_ids().collect(),
            heads: r
                .state()
                .heads()
                .filter_map(|h| r.state().sealed_head(&h.id.replica))
                .map(|h| (h.txn.id.replica, (h.txn.id.seq, h.seal.is_some())))
                .collect(),
            hlc: r.hlc(),
            next_lot_no: r.next_lot_no(),
            superseded: r.superseded(),
        }
    }
}

impl TerminalStore {
    /// Creates a new store at `path` (which must not exist) for `terminal` of pharmacy
    /// `store`, under a fresh incarnation drawn from `entropy`. Creation is atomic: the
    /// store is built in a temporary file next to `path` and moved into place complete, so
    /// a crash while creating leaves no file at `path` (and creating again works).
    pub fn create(
        path: impl AsRef<Path>,
        store: PharmacyId,
        terminal: u16,
        keys: Arc<dyn KeyRing>,
        entropy: &mut dyn Entropy,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        own_key(keys.as_ref(), store, terminal)?;
        let me = ReplicaId::new(terminal, 0).reincarnate(entropy, &|_| false)?;
        recover::build(path, &options, |conn| {
            persist::init_identity(conn, store, me, Hlc::default(), None)
        })?;
        Self::open(path, store, terminal, keys, options)
    }

    /// Opens the existing store of `terminal` of pharmacy `store` at `path`, checking it
    /// completely first (see the [module documentation](self#creating-and-opening-fail-loud)).
    pub fn open(
        path: impl AsRef<Path>,
        store: PharmacyId,
        terminal: u16,
        keys: Arc<dyn KeyRing>,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let conn = Self::open_checked(path, &options)?;
        let (found_store, found) = persist::read_identity(&conn)?.ok_or(StoreError::NotAStore)?;
        if found_store != store || found.terminal != terminal {
            return Err(StoreError::WrongStore {
                expected_store: store,
                expected_terminal: Some(terminal),
                found_store,
                found_replica: found,
            });
        }
        let key = own_key(keys.as_ref(), store, terminal)?;
        check::file(&conn)?;
        let witness = Witness::of(path);
        let commits = persist::commits(&conn)?;
        match witness.read() {
            Some(seen) if seen > commits => {
                return Err(StoreError::RolledBack {
                    missing: seen - commits,
                });
            }
            Some(seen) if seen == commits => {}
            _ => witness.write(commits),
        }
        let loaded = persist::load(&conn)?;
        check::state(&loaded, &loaded.own)?;
        if options.role == Role::Root {
            check::log(&loaded.held)?;
        }
        let last_sync = loaded.last_sync_ms;
        let replica = Replica::restore(loaded.parts, key);
        Self::wrap(conn, replica, loaded.held, keys, path, options, last_sync)
    }

    /// Opens a connection to an existing, non-empty file after checking its write-ahead log,
    /// and checks the schema.
    fn open_checked(path: &Path, options: &StoreOptions) -> Result<Connection, StoreError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(path.to_path_buf()));
            }
            Err(e) => {
                return Err(StoreError::Corrupt {
                    what: format!("cannot read the file: {e}"),
                });
            }
            Ok(m) if m.len() == 0 => return Err(StoreError::NotAStore),
            Ok(_) => {}
        }
        wal::check(path)?;
        let conn = schema::connect(path, options, false).map_err(not_a_database_is_not_a_store)?;
        schema::check(&conn).map_err(not_a_database_is_not_a_store)?;
        Ok(conn)
    }

    fn wrap(
        conn: Connection,
        replica: Replica,
        held: Vec<Arc<Txn>>,
        keys: Arc<dyn KeyRing>,
        path: &Path,
        options: StoreOptions,
        last_sync_ms: Option<u64>,
    ) -> Result<Self, StoreError> {
        let mut peer =
            Peer::new(replica, Arc::clone(&keys), options.role).with_limits(options.limits);
        if options.role == Role::Root {
            for t in &held {
                peer.log_mut().push(t);
            }
            peer.record_logged();
        }
        Ok(TerminalStore {
            conn,
            witness: Witness::of(path),
            peer,
            keys,
            path: path.to_path_buf(),
            options,
            last_sync_ms,
            poisoned: false,
            #[cfg(feature = "crash-points")]
            crash_point: None,
        })
    }

    /// The store and replica recorded in a file, without opening it as a store (`None` if
    /// the file does not exist or is not a store).
    pub fn identity(path: impl AsRef<Path>) -> Result<Option<(PharmacyId, ReplicaId)>, StoreError> {
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

    /// Runs `write` in one immediate SQLite transaction and commits it; a failed commit
    /// reloads the replica from the file.
    fn persist<R>(
        &mut self,
        write: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        let out = in_tx(&mut self.conn, &self.witness, write);
        if out.is_err() {
            // The commit may or may not have reached the file: take the file as the truth.
            self.reload_from_file();
        }
        out
    }

    /// After a failed write: a crash kills the store, any other failure reloads the replica
    /// from the file.
    fn after_failed_write(&mut self, error: &StoreError) {
        if matches!(error, StoreError::Crashed { .. }) {
            self.die();
        } else {
            self.reload_from_file();
        }
    }

    /// The store is dead, as its process would be: it refuses every further write
    /// ([`StoreError::Poisoned`]) and lets go of its file (and its lock), as the operating
    /// system does for a killed process, so the file can be reopened.
    fn die(&mut self) {
        self.poisoned = true;
        if let Ok(detached) = Connection::open_in_memory() {
            self.conn = detached;
        }
    }

    /// Replaces the in-memory replica with what the file holds (after a failed write), or
    /// poisons the store when even that fails.
    fn reload_from_file(&mut self) {
        let me = self.peer.replica().id();
        let reloaded = persist::load(&self.conn).and_then(|loaded| {
            let key = own_key(self.keys.as_ref(), loaded.parts.state.store(), me.terminal)?;
            let mut peer = Peer::new(
                Replica::restore(loaded.parts, key),
                Arc::clone(&self.keys),
                self.options.role,
            )
            .with_limits(self.options.limits);
            if self.options.role == Role::Root {
                for t in &loaded.held {
                    peer.log_mut().push(t);
                }
                peer.record_logged();
            }
            Ok((peer, loaded.last_sync_ms))
        });
        match reloaded {
            Ok((peer, last_sync)) => {
                self.peer = peer;
                self.last_sync_ms = last_sync;
            }
            Err(_) => self.poisoned = true,
        }
    }

    /// Applies one local operation ([`Replica::apply`]) and persists its commit (the
    /// transaction, the state rows it touched, its claim and PMP report rows) in one SQLite
    /// transaction before returning it. A refused operation writes nothing; if the write
    /// fails, the replica is reloaded from the file.
    ///
    /// A sync starts with the peer's hello (`store.peer().hello(now_ms)`, [`Peer::hello`]),
    /// which changes nothing; its replies go through
    /// [`apply_messages`](Self::apply_messages).
    ///
    /// # Errors
    ///
    /// [`StoreError::Op`] when the replica refuses the operation, [`StoreError::Poisoned`]
    /// after an earlier ambiguous failure, or the SQLite error of the write.
    pub fn apply(&mut self, now_ms: u64, op: Op) -> Result<Commit, StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        // Replica operations validate before they change anything, so an `OpError` leaves
        // the replica untouched.
        let commit = self.peer.replica_mut().apply(now_ms, op)?;
        let replica = self.peer.replica();
        #[cfg(feature = "crash-points")]
        let armed = crash::Armed::new(self.crash_point.take());
        let written = in_tx(&mut self.conn, &self.witness, |tx| {
            persist::write_commit(tx, replica, &commit)
        });
        #[cfg(feature = "crash-points")]
        drop(armed);
        if let Err(e) = written {
            self.after_failed_write(&e);
            return Err(e);
        }
        Ok(commit)
    }

    /// Handles one protocol message ([`Peer::handle`]) and persists everything it changed
    /// in one SQLite transaction before returning the replies. A refused message changes
    /// nothing, except that what the protocol recorded before refusing (a superseded mark)
    /// is written too.
    pub fn apply_messages(
        &mut self,
        now_ms: u64,
        msg: Message,
    ) -> Result<Vec<Message>, StoreError> {
        self.handle_with(|peer| peer.handle(now_ms, msg))
    }

    /// [`apply_messages`](Self::apply_messages) on encoded bytes ([`Peer::handle_bytes`]).
    pub fn apply_bytes(
        &mut self,
        now_ms: u64,
        bytes: &[u8],
        limits: &DecodeLimits,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.handle_with(|peer| peer.handle_bytes(now_ms, bytes, limits))
    }

    /// Runs `handle` on the peer and persists everything it changed in one SQLite
    /// transaction.
    fn handle_with<R>(
        &mut self,
        handle: impl FnOnce(&mut Peer) -> Result<R, ProtocolError>,
    ) -> Result<R, StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        let before = Footprint::of(self.peer.replica());
        let result = handle(&mut self.peer);
        let logged = self.peer.take_logged();
        let after = self.peer.replica();
        let now = Footprint::of(after);
        if now == before && logged.is_empty() {
            // A refused message (or one that changed nothing): nothing to write.
            return Ok(result?);
        }
        let me = after.id();
        let mut changes = after.state().delta_since(&before.vv);
        // Every head that moved or gained its seal is rewritten (a head can gain a seal
        // without the version moving).
        changes.heads.clear();
        let heads: Vec<ReplicaId> = now
            .heads
            .iter()
            .filter(|(r, h)| before.heads.get(r) != Some(h))
            .map(|(r, _)| *r)
            .collect();
        #[cfg(feature = "crash-points")]
        let armed = crash::Armed::new(self.crash_point.take());
        let written = in_tx(&mut self.conn, &self.witness, |tx| {
            persist::write_changes(tx, after.state(), &changes)?;
            persist::write_heads(tx, after.state(), heads.iter().copied())?;
            persist::write_vv(tx, after.state().vv())?;
            for (id, (w, seal)) in &now.waiting {
                match before.waiting.get(id) {
                    None => {
                        if let Some((_, t)) = after.waiting(id) {
                            // A copy taken again (a relayed one the root had refused, sent
                            // once more) replaces its earlier row.
                            let own = id.replica.terminal == me.terminal;
                            persist::upsert_txn(tx, t, own, status_of(*w), *seal)?;
                        }
                    }
                    Some((was, had)) => {
                        if was != w {
                            persist::set_status(tx, *id, status_of(*w))?;
                        }
                        if let (true, Some(seal)) = (had != seal, seal) {
                            persist::set_seal(tx, *id, *seal)?;
                        }
                    }
                }
            }
            for id in before
                .waiting
                .keys()
                .filter(|id| !now.waiting.contains_key(id))
            {
                // Left the outbox: confirmed by the root, or refused as another history.
                let status = if now.acks.get(&id.replica).is_some_and(|a| a.seq >= id.seq) {
                    Status::Held
                } else {
                    Status::Refused
                };
                persist::set_status(tx, *id, status)?;
            }
            for t in &logged {
                persist::insert_held(tx, t)?;
            }
            if now.acks != before.acks {
                persist::write_acks(tx, &now.acks)?;
            }
            persist::write_scalars(tx, after)
        });
        #[cfg(feature = "crash-points")]
        drop(armed);
        if let Err(e) = written {
            self.after_failed_write(&e);
            return Err(e);
        }
        Ok(result?)
    }

    /// Durably records the store-leader election state (term and vote). Call it whenever
    /// [`Election::persistent_state`](crate::leader::Election::persistent_state) changes,
    /// before sending the election's outgoing messages.
    pub fn save_election_state(
        &mut self,
        state: &crate::leader::PersistentState,
    ) -> Result<(), StoreError> {
        self.persist(|tx| persist::save_election(tx, state))
    }

    /// The election state saved by [`save_election_state`](Self::save_election_state), for
    /// [`Election::restore`](crate::leader::Election::restore) after a restart.
    pub fn election_state(&self) -> Result<Option<crate::leader::PersistentState>, StoreError> {
        persist::read_election(&self.conn)
    }

    /// Records the time of the last successful sync.
    pub fn set_last_sync(&mut self, ms: u64) -> Result<(), StoreError> {
        self.persist(|tx| persist::set_last_sync(tx, ms))?;
        self.last_sync_ms = Some(ms);
        Ok(())
    }

    /// Marks the insurance claim of a transaction as sent (it leaves the queue). Returns
    /// whether it was pending.
    pub fn mark_claim_sent(&mut self, txn: TxnId, now_ms: u64) -> Result<bool, StoreError> {
        let was = self.persist(|tx| persist::mark_sent(tx, tables::CLAIMS, txn, now_ms))?;
        let in_memory = self.peer.replica_mut().claim_sent(&txn);
        Ok(was || in_memory)
    }

    /// Marks the PMP report of a transaction as sent (it leaves the queue). Returns whether
    /// it was pending.
    pub fn mark_pmp_report_sent(&mut self, txn: TxnId, now_ms: u64) -> Result<bool, StoreError> {
        let was = self.persist(|tx| persist::mark_sent(tx, tables::PMP_REPORTS, txn, now_ms))?;
        let in_memory = self.peer.replica_mut().pmp_report_sent(&txn);
        Ok(was || in_memory)
    }

    /// Every stored transaction (outbox, history, salvage), in (replica, seq) order.
    pub fn stored_transactions(&self) -> Result<Vec<StoredTxn>, StoreError> {
        Ok(persist::read_txns(&self.conn)?
            .into_iter()
            .map(|(txn, own, status, _)| StoredTxn {
                txn,
                own,
                acked_by_root: status == Status::Held,
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
                table: table.table().name,
                id: id.to_string(),
            });
        }
        self.persist(|tx| persist::cache_put(tx, table.table(), id, json))
    }

    /// A cache entry.
    pub fn cache_get(&self, table: CacheTable, id: &str) -> Result<Option<String>, StoreError> {
        let sql = format!("SELECT body FROM {} WHERE id = ?1", table.table().name);
        Ok(self
            .conn
            .query_row(&sql, params![id], |r| r.get(0))
            .optional()?)
    }

    /// Removes a cache entry; returns whether it existed.
    pub fn cache_remove(&mut self, table: CacheTable, id: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE id = ?1", table.table().name);
        self.persist(|tx| Ok(tx.execute(&sql, params![id])? > 0))
    }

    /// The ids in a cache, sorted.
    pub fn cache_ids(&self, table: CacheTable) -> Result<Vec<String>, StoreError> {
        let sql = format!("SELECT id FROM {} ORDER BY id", table.table().name);
        let mut stmt = self.conn.prepare(&sql)?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }
}

/// Crash points (feature `crash-points`): see the `crash` module.
#[cfg(feature = "crash-points")]
impl TerminalStore {
    /// Arms a crash point for the next write transaction of [`apply`](Self::apply),
    /// [`apply_messages`](Self::apply_messages) or [`apply_bytes`](Self::apply_bytes): it
    /// runs `after_writes` write statements and then stops before the next one (or before
    /// `COMMIT` when it has no more), as a process killed there would. The call returns
    /// [`StoreError::Crashed`], nothing of it is committed, and the store is dead: reopen the
    /// file with [`TerminalStore::open`], as a restarted terminal would.
    pub fn crash_at(&mut self, after_writes: u32) {
        self.crash_point = Some(after_writes);
    }

    /// Kills the store now, between transactions (a power cut): it refuses every further
    /// write and lets go of its file, which can then be copied, replaced or reopened.
    pub fn kill(&mut self) {
        self.die();
    }
}

/// SQLite's "file is not a database" on open means the file is no store at all: the same
/// refusal as an empty file or another application's database, not a storage failure.
fn not_a_database_is_not_a_store(error: StoreError) -> StoreError {
    match &error {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _))
            if failure.code == rusqlite::ErrorCode::NotADatabase =>
        {
            StoreError::NotAStore
        }
        _ => error,
    }
}
