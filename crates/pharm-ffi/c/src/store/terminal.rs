//! `pharm_store`: a terminal's durable SQLite store (pharm-sync's `TerminalStore`): create,
//! open, restore from a backup, recover, back up, free.

use std::sync::Arc;

use pharm_core::ids::PharmacyId;
use pharm_sync::ids::ReplicaId;
use pharm_sync::store::{Recovery, TerminalStore};
use serde::Serialize;

use super::keyring::pharm_keyring;
use super::{options, store_failure, to_json};
use crate::boundary::{self, Handle, Poison};
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

/// `role` of a terminal or store server (it syncs with an upstream, and serves the other
/// terminals of its store while it is their leader).
pub const PHARM_STORE_ROLE_MEMBER: u32 = 0;

/// `role` of the cloud (the root): it holds every member's origin key and verifies every
/// transaction; only its acknowledgements empty the terminals' outboxes.
pub const PHARM_STORE_ROLE_ROOT: u32 = 1;

/// A terminal's durable inventory store: a SQLite file holding the terminal's replica of the
/// store's stock, its outbox of transactions to upload, and its queued claims and PMP
/// reports. Every change is committed (`synchronous = FULL`) before the call that made it
/// returns. The file is locked while the store is open.
///
/// Made by `pharm_store_create()`, `pharm_store_open()`, `pharm_store_restore_from_backup()`
/// or `pharm_store_recover()`; freed by `pharm_store_free()`.
///
/// A failed call reports the most specific stable code: a refused operation its own
/// (`sync.op_no_lots`...), a refused message the protocol's or the decoder's
/// (`sync.protocol_bad_tag`, `sync.decode_truncated`...), never the wrapping
/// `sync.store_op` / `sync.store_protocol`; the message text holds the whole chain.
///
/// Thread safety: one thread at a time. Every call takes `pharm_store *` and needs
/// exclusive use of the store during the call; the store may move between threads between
/// calls.
pub struct pharm_store {
    poison: Poison,
    pub(crate) store: TerminalStore,
}

impl Handle for pharm_store {
    fn poison(&self) -> &Poison {
        &self.poison
    }
}

impl pharm_store {
    fn new(store: TerminalStore) -> pharm_store {
        pharm_store {
            poison: Poison::default(),
            store,
        }
    }
}

/// The JSON of a recovery's report.
#[derive(Serialize)]
struct RecoveryJson {
    old: Option<ReplicaId>,
    salvaged: usize,
    confirmed: usize,
    unreadable: usize,
    queued: usize,
    incomplete: bool,
}

impl From<Recovery> for RecoveryJson {
    fn from(r: Recovery) -> RecoveryJson {
        RecoveryJson {
            old: r.old,
            salvaged: r.salvaged,
            confirmed: r.confirmed,
            unreadable: r.unreadable,
            queued: r.queued,
            incomplete: r.incomplete,
        }
    }
}

/// Creates a new store file at `path` (UTF-8, `path_len` bytes, at most 4096; the file must
/// not exist) for terminal `terminal` of pharmacy `store_id`, in `role`
/// (`PHARM_STORE_ROLE_MEMBER` for a till), under a fresh incarnation drawn from `entropy`
/// (8 to 512 random bytes from the operating system, a multiple of 8). The key ring must
/// hold this terminal's origin key; the store keeps its own copy of the ring. Creation is
/// atomic: a crash leaves either no file or the complete store. The caller frees `*out`
/// with `pharm_store_free()`.
///
/// Errors: `sync.store_target_exists`, `sync.store_missing_key`,
/// `sync.id_incarnations_exhausted` (the random bytes repeat or are zero),
/// `sync.store_sqlite`; `ffi.*` for bad arguments. A panic poisons `keyring`.
///
/// # Safety
/// `path` points to `path_len` readable bytes; `keyring` is NULL or a live key ring;
/// `entropy` points to `entropy_len` readable bytes; `out` is NULL or points to a writable
/// `pharm_store *`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pharm_store_create(
    path: *const u8,
    path_len: usize,
    store_id: u32,
    terminal: u16,
    role: u32,
    keyring: *const pharm_keyring,
    entropy: *const u8,
    entropy_len: usize,
    out: *mut *mut pharm_store,
) -> pharm_result {
    let body = |ring: &pharm_keyring| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract.
        let path = unsafe { super::path(path, path_len, "path") }?;
        // SAFETY: the caller's contract.
        let mut draws = unsafe { super::entropy(entropy, entropy_len) }?;
        let options = options(role)?;
        let store = TerminalStore::create(
            path,
            PharmacyId::new(store_id),
            terminal,
            Arc::new(ring.keys.clone()),
            &mut draws,
            options,
        )
        .map_err(store_failure)?;
        out.set(pharm_store::new(store));
        Ok(())
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with(keyring, "keyring", body) }
}

/// Opens the existing store of terminal `terminal` of pharmacy `store_id` at `path`, in
/// `role`, after checking it completely. It fails loud: a missing, empty, truncated,
/// damaged, rolled-back or foreign file is an error with its stable code, never a fresh
/// store. The way back from a damaged file is explicit: `pharm_store_restore_from_backup()`
/// or `pharm_store_recover()`. The caller frees `*out` with `pharm_store_free()`.
///
/// Errors: `sync.store_not_found`, `sync.store_not_a_store` (an empty file or another
/// application's), `sync.store_sqlite` (a file SQLite cannot read), `sync.store_corrupt`,
/// `sync.store_wal_damaged`, `sync.store_rolled_back`, `sync.store_wrong_store`,
/// `sync.store_schema_too_old` / `_too_new`, `sync.store_missing_key`; `ffi.*` for bad
/// arguments. A panic poisons `keyring`.
///
/// # Safety
/// `path` points to `path_len` readable bytes; `keyring` is NULL or a live key ring; `out`
/// is NULL or points to a writable `pharm_store *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_store_open(
    path: *const u8,
    path_len: usize,
    store_id: u32,
    terminal: u16,
    role: u32,
    keyring: *const pharm_keyring,
    out: *mut *mut pharm_store,
) -> pharm_result {
    let body = |ring: &pharm_keyring| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract.
        let path = unsafe { super::path(path, path_len, "path") }?;
        let options = options(role)?;
        let store = TerminalStore::open(
            path,
            PharmacyId::new(store_id),
            terminal,
            Arc::new(ring.keys.clone()),
            options,
        )
        .map_err(store_failure)?;
        out.set(pharm_store::new(store));
        Ok(())
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with(keyring, "keyring", body) }
}

/// Restores the backup at `backup_path` (made by `pharm_store_backup_to()`; only read, and
/// checked like any store on open) into a new file at `new_path` (which must not exist) as a
/// NEW incarnation of the backup's terminal, drawn from `entropy`: the lost device may have
/// recorded and synced more after the backup, and reusing its identity would make the two
/// histories collide. The caller frees `*out` with `pharm_store_free()`.
///
/// Errors: as `pharm_store_open()` for the backup, plus `sync.store_target_exists` and
/// `sync.id_incarnations_exhausted`. A panic poisons `keyring`.
///
/// # Safety
/// `backup_path` and `new_path` point to their lengths' readable bytes; `keyring` is NULL
/// or a live key ring; `entropy` points to `entropy_len` readable bytes; `out` is NULL or
/// points to a writable `pharm_store *`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pharm_store_restore_from_backup(
    backup_path: *const u8,
    backup_path_len: usize,
    new_path: *const u8,
    new_path_len: usize,
    store_id: u32,
    role: u32,
    keyring: *const pharm_keyring,
    entropy: *const u8,
    entropy_len: usize,
    out: *mut *mut pharm_store,
) -> pharm_result {
    let body = |ring: &pharm_keyring| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract.
        let backup = unsafe { super::path(backup_path, backup_path_len, "backup_path") }?;
        // SAFETY: the caller's contract.
        let new = unsafe { super::path(new_path, new_path_len, "new_path") }?;
        // SAFETY: the caller's contract.
        let mut draws = unsafe { super::entropy(entropy, entropy_len) }?;
        let options = options(role)?;
        let store = TerminalStore::restore_from_backup(
            backup,
            new,
            PharmacyId::new(store_id),
            Arc::new(ring.keys.clone()),
            &mut draws,
            options,
        )
        .map_err(store_failure)?;
        out.set(pharm_store::new(store));
        Ok(())
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with(keyring, "keyring", body) }
}

/// Recovers terminal `terminal` of pharmacy `store_id` after its store at `old_path` was
/// found damaged, or superseded (`"superseded"` in `pharm_store_status()`): a new store at
/// `new_path` (which must not exist) under a fresh incarnation drawn from `entropy`, whose
/// state comes from the store leader or the cloud at the next sync. Every transaction of
/// this terminal still readable and intact in the old file goes to the cloud for judgement,
/// and queued claims and PMP reports are carried over. The old file is only read; free the
/// old store first (its file is locked while open).
///
/// `*out` receives the new store (free it with `pharm_store_free()`) and `*recovery_json`
/// what was carried over (free it with `pharm_bytes_free()`):
/// `{"old": "T<terminal>.<incarnation>" | null, "salvaged": n, "confirmed": n,
/// "unreadable": n, "queued": n, "incomplete": bool}`.
///
/// Errors: `sync.store_target_exists`, `sync.store_missing_key`,
/// `sync.id_incarnations_exhausted`, `sync.store_sqlite`; `ffi.*` for bad arguments. A
/// panic poisons `keyring`.
///
/// # Safety
/// `old_path` and `new_path` point to their lengths' readable bytes; `keyring` is NULL or a
/// live key ring; `entropy` points to `entropy_len` readable bytes; `out` and
/// `recovery_json` are NULL or point to writable pointers.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pharm_store_recover(
    old_path: *const u8,
    old_path_len: usize,
    new_path: *const u8,
    new_path_len: usize,
    store_id: u32,
    terminal: u16,
    role: u32,
    keyring: *const pharm_keyring,
    entropy: *const u8,
    entropy_len: usize,
    out: *mut *mut pharm_store,
    recovery_json: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |ring: &pharm_keyring| {
        let out = Out::new(out, "out")?;
        let recovery_out = Out::new(recovery_json, "recovery_json")?;
        // SAFETY: the caller's contract.
        let old = unsafe { super::path(old_path, old_path_len, "old_path") }?;
        // SAFETY: the caller's contract.
        let new = unsafe { super::path(new_path, new_path_len, "new_path") }?;
        // SAFETY: the caller's contract.
        let mut draws = unsafe { super::entropy(entropy, entropy_len) }?;
        let options = options(role)?;
        let (store, recovery) = TerminalStore::recover(
            old,
            new,
            PharmacyId::new(store_id),
            terminal,
            Arc::new(ring.keys.clone()),
            &mut draws,
            options,
        )
        .map_err(store_failure)?;
        let json = to_json(&RecoveryJson::from(recovery), "the recovery report")?;
        out.set(pharm_store::new(store));
        recovery_out.set_bytes(json);
        Ok(())
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with(keyring, "keyring", body) }
}

/// Writes a consistent copy of the store to `path` (which must not exist), for
/// `pharm_store_restore_from_backup()`.
///
/// Errors: `sync.store_target_exists`, `sync.store_sqlite`; `ffi.*`.
///
/// # Safety
/// `store` is NULL or a live store not used by another thread during the call; `path`
/// points to `path_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_store_backup_to(
    store: *mut pharm_store,
    path: *const u8,
    path_len: usize,
) -> pharm_result {
    let body = |store: &mut pharm_store| {
        // SAFETY: the caller's contract.
        let path = unsafe { super::path(path, path_len, "path") }?;
        store.store.backup_to(path).map_err(store_failure)
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with_mut(store, "store", body) }
}

/// Closes the store and frees it (everything was already committed). `pharm_store_free(NULL)`
/// does nothing; freeing twice or using the store afterwards is undefined. Works on a
/// poisoned store.
///
/// # Safety
/// `store` is NULL or a store from this library, not yet freed and not in use by another
/// thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_store_free(store: *mut pharm_store) {
    // SAFETY: the caller's contract.
    unsafe { boundary::free(store) }
}
