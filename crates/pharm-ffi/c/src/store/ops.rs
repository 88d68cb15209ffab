//! Operations on a store and what it shows: apply an operation (JSON in, commit JSON out),
//! the inventory view, the status.

use pharm_core::ids::PharmacyId;
use pharm_sync::ids::ReplicaId;
use pharm_sync::json::MAX_JSON_BYTES;
use pharm_sync::protocol::Role;
use pharm_sync::replica::{Op, Superseded};
use serde::Serialize;

use super::terminal::pharm_store;
use super::{store_failure, to_json};
use crate::boundary;
use crate::error::Failure;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

/// Applies one local inventory operation at `now_ms` (the caller's wall clock, Unix
/// milliseconds) and commits it durably before returning: receive, dispense (FEFO or a
/// scanned lot), adjust, stock count, write-off, transfer out/in, hold, release, shelf
/// location, compensation. `op_json` (UTF-8, at most 4 MiB) is the operation's JSON form,
/// tagged by `"op"` (one of each kind in `testdata/golden/sync/ops.json`), e.g.
/// `{"op":"dispense","today":"2026-03-10","sku":7,"qty":2,"scanned":null,"reference":"RX-1",
/// "attachments":{"claim":null,"pmp_report":null}}`; unknown fields are refused.
///
/// `*commit_json` receives the commit (free it with `pharm_bytes_free()`): the transaction
/// (`txn`, with its id, the lots it created in `new_lots` and its `lines`), the queued
/// `claim` and `pmp_report` rows, and the `negative` lots (oversold offline, flagged for
/// reconciliation), as in `testdata/golden/sync/commit.json`. A refused operation records
/// nothing.
///
/// Errors: `sync.json_syntax`, `sync.json_invalid` (unknown or missing field, wrong type);
/// the operation's own (`sync.op_unknown_lot`, `sync.op_no_lots`, `sync.op_held`,
/// `sync.op_superseded`: recover the store, `sync.op_nothing_to_record`...);
/// `sync.store_sqlite`, `sync.store_poisoned` (reopen the store); `ffi.*`.
///
/// # Safety
/// `store` is NULL or a live store not used by another thread during the call; `op_json`
/// points to `op_json_len` readable bytes; `commit_json` is NULL or points to a writable
/// `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_store_apply(
    store: *mut pharm_store,
    now_ms: u64,
    op_json: *const u8,
    op_json_len: usize,
    commit_json: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |store: &mut pharm_store| {
        let out = Out::new(commit_json, "commit_json")?;
        // SAFETY: the caller's contract.
        let text = unsafe { input::text(op_json, op_json_len, "op_json", MAX_JSON_BYTES) }?;
        let op = Op::from_json(text)?;
        let commit = store.store.apply(now_ms, op).map_err(store_failure)?;
        out.set_bytes(to_json(&commit, "the commit")?);
        Ok(())
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with_mut(store, "store", body) }
}

/// The store's inventory as this terminal sees it, as JSON in `*view_json` (free it with
/// `pharm_bytes_free()`): `{"store", "vv", "lots"}`, every lot in key order with its facts
/// (`info`), `value` (units on hand; negative after an offline oversell), active `holds`
/// and shelf `location`, as in `testdata/golden/sync/inventory_view.json`. Two terminals
/// that have synced to the same version vector (`vv`) show equal views.
///
/// # Safety
/// `store` is NULL or a live store not used by another thread during the call; `view_json`
/// is NULL or points to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_store_inventory_view(
    store: *mut pharm_store,
    view_json: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |store: &mut pharm_store| {
        let out = Out::new(view_json, "view_json")?;
        let view = store.store.replica().state().view();
        out.set_bytes(to_json(&view, "the inventory view")?);
        Ok(())
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with_mut(store, "store", body) }
}

/// The JSON of a store's status.
#[derive(Serialize)]
struct Status {
    store: PharmacyId,
    replica: ReplicaId,
    role: Role,
    outbox: usize,
    superseded: Option<Superseded>,
}

/// The store's status as JSON in `*status_json` (free it with `pharm_bytes_free()`):
/// `{"store": 42, "replica": "T<terminal>.<incarnation>", "role": "member" | "root",
/// "outbox": n, "superseded": null | {...}}`.
/// `outbox` counts the transactions the cloud does not hold yet (this terminal's and those
/// it relays as a store leader). `superseded` is not null when another copy of this
/// terminal's history was found (a rolled-back or copied file): the store then refuses
/// operations until it is recovered with `pharm_store_recover()`; its `"kind"` is
/// `"behind"`, `"forked"` or `"took"`.
///
/// # Safety
/// `store` is NULL or a live store not used by another thread during the call;
/// `status_json` is NULL or points to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_store_status(
    store: *mut pharm_store,
    status_json: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |store: &mut pharm_store| {
        let out = Out::new(status_json, "status_json")?;
        let replica = store.store.replica();
        let status = Status {
            store: replica.store(),
            replica: replica.id(),
            role: store.store.options().role,
            outbox: replica.outbox().count(),
            superseded: replica.superseded(),
        };
        out.set_bytes(to_json(&status, "the status")?);
        Ok::<(), Failure>(())
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with_mut(store, "store", body) }
}
