//! Sync messages as bytes: the hello that opens a session, applying a received message
//! (with the replies), and the JSON form of a message for inspection.

use pharm_sync::codec::{self, DecodeLimits};

use super::lists::write_list;
use super::terminal::pharm_store;
use super::{protocol_failure, store_failure, to_json};
use crate::boundary;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

/// The decoding limits of every received message: pharm-sync's defaults (at most 16 MiB per
/// message, 4,096 transactions, 1,024 lines per transaction, 256-byte strings).
fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

/// Opens a sync session with the upstream (the store leader or the cloud): `*message`
/// receives the hello message (pharm-sync's binary frame; free it with
/// `pharm_bytes_free()`), which the caller carries to the upstream over its own transport
/// and passes to the upstream's `pharm_store_apply_bytes()`. Then each side applies the
/// messages it receives and sends back the replies, until neither has a reply. The session
/// may stop at any point and run again: every step is idempotent. Changes nothing.
///
/// Errors: `sync.protocol_missing_key` (the key ring lacks the store's link key);
/// `ffi.*`.
///
/// # Safety
/// `store` is NULL or a live store not used by another thread during the call; `message`
/// is NULL or points to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_store_hello(
    store: *mut pharm_store,
    now_ms: u64,
    message: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |store: &mut pharm_store| {
        let out = Out::new(message, "message")?;
        let hello = store.store.peer().hello(now_ms).map_err(protocol_failure)?;
        out.set_bytes(codec::encode(&hello)?);
        Ok(())
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with_mut(store, "store", body) }
}

/// Applies one received sync message (`message_len` bytes, at most 16 MiB) at `now_ms` and
/// commits everything it changed before returning. `*replies` receives the messages to send
/// back as a message list (free it with `pharm_bytes_free()`): each message as its length
/// (4 bytes, little-endian) followed by its bytes; an empty list (0 bytes) when there is
/// nothing to answer. Walk it with `pharm_sync_messages_count()` and
/// `pharm_sync_messages_get()`, and pass each message to the peer's
/// `pharm_store_apply_bytes()`.
///
/// Every message is checked before anything changes: its store, its sender (a member of the
/// key ring) and its tag under the store's link key. A refused message changes nothing,
/// except that a store that learns it is superseded records it (see `pharm_store_status()`).
///
/// Errors: the decoder's (`sync.decode_truncated`, `sync.decode_bad_magic`...), the
/// protocol's (`sync.protocol_wrong_store`, `sync.protocol_unknown_sender`,
/// `sync.protocol_bad_tag`, `sync.protocol_superseded`...), a delta's (`sync.delta_*`);
/// `sync.store_sqlite`, `sync.store_poisoned`; `ffi.input_too_large` above 16 MiB; `ffi.*`.
///
/// # Safety
/// `store` is NULL or a live store not used by another thread during the call; `message`
/// points to `message_len` readable bytes; `replies` is NULL or points to a writable
/// `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_store_apply_bytes(
    store: *mut pharm_store,
    now_ms: u64,
    message: *const u8,
    message_len: usize,
    replies: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |store: &mut pharm_store| {
        let out = Out::new(replies, "replies")?;
        let limits = limits();
        // SAFETY: the caller's contract.
        let bytes =
            unsafe { input::bytes(message, message_len, "message", limits.max_message_bytes) }?;
        let answers = store
            .store
            .apply_bytes(now_ms, bytes, &limits)
            .map_err(store_failure)?;
        out.set_bytes(write_list(&answers)?);
        Ok(())
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with_mut(store, "store", body) }
}

/// Decodes one sync message (`message_len` bytes, at most 16 MiB) to its JSON form in
/// `*json` (free it with `pharm_bytes_free()`), for logs and tests: the serde form of
/// `testdata/golden/sync/*.json` (compact, without the golden files' indentation). Only
/// decodes: the tag is not checked (no key is involved). Thread safe (no handle).
///
/// Errors: the decoder's (`sync.decode_truncated`, `sync.decode_bad_magic`,
/// `sync.decode_trailing_bytes`...); `ffi.input_too_large` above 16 MiB; `ffi.*`.
///
/// # Safety
/// `message` points to `message_len` readable bytes (or is NULL with length 0); `json` is
/// NULL or points to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_sync_message_to_json(
    message: *const u8,
    message_len: usize,
    json: *mut *mut pharm_bytes,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(json, "json")?;
        let limits = limits();
        // SAFETY: the caller's contract.
        let bytes =
            unsafe { input::bytes(message, message_len, "message", limits.max_message_bytes) }?;
        let decoded = codec::decode(bytes, &limits)?;
        out.set_bytes(to_json(&decoded, "the message")?);
        Ok(())
    })
}
