//! A terminal's sync end: an in-memory pharm-sync [`Peer`], or a durable SQLite
//! [`TerminalStore`] (pharm-sync's `sqlite` feature) for the sample of pharmacies whose
//! terminals are durable (`--durable`).
//!
//! Both ends make the same decisions: a durable terminal is created under the incarnation
//! the in-memory path draws from the seed, starts from the cloud's seeded state by one
//! sync with the cloud's root before the day, and is restored after a planned crash with
//! the store's backup API (`backup_to`, then `restore_from_backup` as a new incarnation
//! drawn from the same seeded stream), so counts and the final-state digest do not
//! depend on which pharmacies are durable. Only the latencies do.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pharm_sync::auth::KeyRing;
use pharm_sync::ids::{Entropy, TxnId};
use pharm_sync::message::Message;
use pharm_sync::protocol::Peer;
use pharm_sync::replica::{Commit, Op, Replica};
use pharm_sync::store::{StoreError, StoreOptions, TerminalStore};

use super::CommitError;
use super::disk::CrashPoints;

/// The sync operations a session needs from either side of it.
pub(super) trait SyncEnd {
    /// The opening message of a session.
    fn hello(&self, now_ms: u64) -> Result<Message, String>;
    /// Handles one message; returns the replies.
    fn handle(&mut self, now_ms: u64, msg: Message) -> Result<Vec<Message>, String>;
}

impl SyncEnd for Peer {
    fn hello(&self, now_ms: u64) -> Result<Message, String> {
        Peer::hello(self, now_ms).map_err(|e| e.to_string())
    }

    fn handle(&mut self, now_ms: u64, msg: Message) -> Result<Vec<Message>, String> {
        Peer::handle(self, now_ms, msg).map_err(|e| e.to_string())
    }
}

/// A durable terminal: its store and what a restore needs.
pub struct Durable {
    store: TerminalStore,
    keys: Arc<dyn KeyRing>,
    /// Where its write transactions are killed (the `store-crash` knob).
    crashes: Option<CrashPoints>,
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Durable {
    /// The terminal store.
    pub fn store(&self) -> &TerminalStore {
        &self.store
    }

    /// The terminal store, to kill it.
    pub(super) fn store_mut(&mut self) -> &mut TerminalStore {
        &mut self.store
    }

    /// Reopens the store's file as a restarted terminal would (the store must have let go
    /// of it: crashed or killed); on success the reopened store replaces it.
    pub(super) fn reopened(&mut self) -> Result<(), StoreError> {
        let reopened = TerminalStore::open(
            self.store.path(),
            self.store.replica().state().store(),
            self.store.replica().id().terminal,
            Arc::clone(&self.keys),
            self.store.options().clone(),
        )?;
        self.store = reopened;
        Ok(())
    }

    /// Arms a crash point when this write is drawn to crash.
    fn arm(&mut self) -> Result<(), String> {
        match &mut self.crashes {
            Some(points) => points.arm(&mut self.store),
            None => Ok(()),
        }
    }

    /// After a crash (handling a sync message when `in_sync`): reopens the file and notes
    /// both.
    fn restart(&mut self, in_sync: bool) {
        let reopened = self.reopened().map_err(store_error);
        if let Some(points) = &mut self.crashes {
            points.crashed(in_sync, reopened);
        }
    }
}

/// A terminal's sync end.
#[derive(Debug)]
pub enum TerminalEnd {
    /// An in-memory replica inside its protocol peer.
    Memory(Box<Peer>),
    /// A replica persisted in SQLite: every commit and every sync message is written
    /// before it is acknowledged.
    Durable(Box<Durable>),
}

/// A terminal's backup, taken two rounds before its planned crash.
#[derive(Debug)]
pub(super) enum Backup {
    /// A copy of the in-memory replica.
    Memory(Box<Replica>),
    /// A copy of the store's file (`VACUUM INTO`).
    Durable(PathBuf),
}

/// `path` with `suffix` appended to its file name.
pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = OsString::from(path.as_os_str());
    p.push(suffix);
    PathBuf::from(p)
}

fn store_error(e: StoreError) -> String {
    e.to_string()
}

impl TerminalEnd {
    /// A new durable store at `path` (which must not exist) for `terminal`, under
    /// `incarnation`, with the pharmacy's store keys, opened with `options`.
    pub(super) fn create(
        path: &Path,
        store: pharm_core::ids::PharmacyId,
        terminal: u16,
        keys: Arc<dyn KeyRing>,
        incarnation: u64,
        options: StoreOptions,
    ) -> Result<TerminalEnd, String> {
        let mut draw = || incarnation;
        let created =
            TerminalStore::create(path, store, terminal, Arc::clone(&keys), &mut draw, options)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(TerminalEnd::Durable(Box::new(Durable {
            store: created,
            keys,
            crashes: None,
        })))
    }

    /// From now on a durable terminal's writes crash at `points` (an in-memory one has no
    /// file to crash in).
    pub(super) fn set_crash_points(&mut self, points: CrashPoints) {
        if let TerminalEnd::Durable(d) = self {
            d.crashes = Some(points);
        }
    }

    /// A durable terminal's crash points.
    pub(super) fn crash_points(&mut self) -> Option<&mut CrashPoints> {
        match self {
            TerminalEnd::Memory(_) => None,
            TerminalEnd::Durable(d) => d.crashes.as_mut(),
        }
    }

    /// The durable terminal.
    pub(super) fn durable_mut(&mut self) -> Option<&mut Durable> {
        match self {
            TerminalEnd::Memory(_) => None,
            TerminalEnd::Durable(d) => Some(d),
        }
    }

    /// The terminal's replica.
    pub fn replica(&self) -> &Replica {
        match self {
            TerminalEnd::Memory(peer) => peer.replica(),
            TerminalEnd::Durable(d) => d.store.replica(),
        }
    }

    /// The database file of a durable terminal.
    pub fn path(&self) -> Option<&Path> {
        match self {
            TerminalEnd::Memory(_) => None,
            TerminalEnd::Durable(d) => Some(d.store.path()),
        }
    }

    /// Applies a local operation (a durable terminal persists its commit first).
    pub(super) fn apply(&mut self, now_ms: u64, op: Op) -> Result<Commit, CommitError> {
        match self {
            TerminalEnd::Memory(peer) => peer
                .replica_mut()
                .apply(now_ms, op)
                .map_err(CommitError::Op),
            TerminalEnd::Durable(d) => {
                d.arm().map_err(CommitError::Store)?;
                d.store.apply(now_ms, op).map_err(|e| match e {
                    StoreError::Op(op) => CommitError::Op(op),
                    StoreError::Crashed { writes } => {
                        d.restart(false);
                        CommitError::Crashed(writes)
                    }
                    other => CommitError::Store(other.to_string()),
                })
            }
        }
    }

    /// Marks a queued claim as sent; returns whether it was pending.
    pub(super) fn claim_sent(&mut self, txn: TxnId, now_ms: u64) -> Result<bool, String> {
        match self {
            TerminalEnd::Memory(peer) => Ok(peer.replica_mut().claim_sent(&txn)),
            TerminalEnd::Durable(d) => d.store.mark_claim_sent(txn, now_ms).map_err(store_error),
        }
    }

    /// Marks a queued PMP report (a reconciliation item) as sent; returns whether it was
    /// pending.
    pub(super) fn pmp_report_sent(&mut self, txn: TxnId, now_ms: u64) -> Result<bool, String> {
        match self {
            TerminalEnd::Memory(peer) => Ok(peer.replica_mut().pmp_report_sent(&txn)),
            TerminalEnd::Durable(d) => d
                .store
                .mark_pmp_report_sent(txn, now_ms)
                .map_err(store_error),
        }
    }

    /// A backup of the terminal (a durable one: a consistent copy of its file next to it).
    pub(super) fn backup(&self) -> Result<Backup, String> {
        self.backup_as(".backup")
    }

    /// A backup of the terminal (a durable one: next to its file, named with `suffix`).
    pub(super) fn backup_as(&self, suffix: &str) -> Result<Backup, String> {
        match self {
            TerminalEnd::Memory(peer) => Ok(Backup::Memory(Box::new(peer.replica().clone()))),
            TerminalEnd::Durable(d) => {
                let path = with_suffix(d.store.path(), suffix);
                d.store.backup_to(&path).map_err(store_error)?;
                Ok(Backup::Durable(path))
            }
        }
    }

    /// Restores the terminal from `backup` as a new incarnation drawn from `entropy` (or,
    /// with `reuse`, the defect: under the backup's own incarnation).
    pub(super) fn restore(
        &mut self,
        backup: Backup,
        reuse: bool,
        entropy: &mut dyn Entropy,
    ) -> Result<(), String> {
        match (self, backup) {
            (TerminalEnd::Memory(peer), Backup::Memory(replica)) => {
                let restored = if reuse {
                    *replica
                } else {
                    replica.reincarnated(entropy).map_err(|e| e.to_string())?
                };
                peer.replace_replica(restored);
                Ok(())
            }
            (TerminalEnd::Durable(d), Backup::Durable(path)) => {
                let id = d.store.replica().state().store();
                let terminal = d.store.replica().id().terminal;
                let keys = Arc::clone(&d.keys);
                let options = d.store.options().clone();
                let restored = if reuse {
                    TerminalStore::open(&path, id, terminal, keys, options)
                } else {
                    let target = with_suffix(d.store.path(), ".restored");
                    TerminalStore::restore_from_backup(&path, target, id, keys, entropy, options)
                };
                d.store = restored.map_err(store_error)?;
                Ok(())
            }
            _ => Err("the backup is of the other kind of terminal".into()),
        }
    }
}

impl SyncEnd for TerminalEnd {
    fn hello(&self, now_ms: u64) -> Result<Message, String> {
        match self {
            TerminalEnd::Memory(peer) => SyncEnd::hello(peer.as_ref(), now_ms),
            TerminalEnd::Durable(d) => d.store.peer().hello(now_ms).map_err(|e| e.to_string()),
        }
    }

    fn handle(&mut self, now_ms: u64, msg: Message) -> Result<Vec<Message>, String> {
        match self {
            TerminalEnd::Memory(peer) => SyncEnd::handle(peer.as_mut(), now_ms, msg),
            TerminalEnd::Durable(d) => {
                d.arm()?;
                match d.store.apply_messages(now_ms, msg) {
                    // The terminal died handling it: it answers nothing, and restarts.
                    Err(StoreError::Crashed { .. }) => {
                        d.restart(true);
                        Ok(Vec::new())
                    }
                    other => other.map_err(store_error),
                }
            }
        }
    }
}
