//! The durable terminal store of pharm-sync through the C ABI: a key ring built from the
//! caller's secrets (`pharm_keyring`), the SQLite terminal store (`pharm_store`: create,
//! open, restore, recover, back up, apply operations, read the inventory), and sync
//! messages as byte buffers (produce, apply, inspect).
//!
//! Conventions of this area:
//!
//! - **Time** is the caller's wall clock as Unix milliseconds (`uint64_t now_ms`), the
//!   convention of pharm-sync's hybrid logical clock. The library never reads a clock.
//! - **Randomness**: creating, restoring or recovering a store draws a fresh incarnation
//!   from `entropy`, bytes the caller fills from its operating system's random number
//!   generator (8 to 512 bytes, a multiple of 8; each 8 bytes are one draw).
//! - **Operations** in and **commits**, **inventory views** and **status** out are JSON (the
//!   serde forms of `testdata/golden/sync/`: `ops.json`, `commit.json`,
//!   `inventory_view.json`).
//! - **Sync messages** are pharm-sync's binary frames (`testdata/golden/sync/*.hex`). A call
//!   that may answer with several messages returns a *message list*: each message as its
//!   length (4 bytes, little-endian) followed by its bytes; `pharm_sync_messages_count()`
//!   and `pharm_sync_messages_get()` walk one.
//! - **Errors** of pharm-sync report the most specific stable code: a refused operation
//!   gives the operation's code (`sync.op_no_lots`, `sync.op_superseded`...), not the
//!   store's wrapping `sync.store_op`; a refused message gives the protocol's or the
//!   decoder's code (`sync.protocol_bad_tag`, `sync.decode_truncated`...). The message text
//!   is the whole chain.

mod keyring;
mod lists;
mod messages;
mod ops;
mod terminal;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

use std::path::Path;

use pharm_sync::ids::EntropyBytes;
use pharm_sync::protocol::{ProtocolError, Role};
use pharm_sync::store::{StoreError, StoreOptions};

use crate::error::Failure;
use crate::input;

pub use keyring::{pharm_keyring, pharm_keyring_add_member, pharm_keyring_free, pharm_keyring_new};
pub use lists::{pharm_sync_messages_count, pharm_sync_messages_get};
pub use messages::{pharm_store_apply_bytes, pharm_store_hello, pharm_sync_message_to_json};
pub use ops::{pharm_store_apply, pharm_store_inventory_view, pharm_store_status};
pub use terminal::{
    PHARM_STORE_ROLE_MEMBER, PHARM_STORE_ROLE_ROOT, pharm_store, pharm_store_backup_to,
    pharm_store_create, pharm_store_free, pharm_store_open, pharm_store_recover,
    pharm_store_restore_from_backup,
};

/// Longest path accepted, in bytes (Linux's `PATH_MAX`).
pub(crate) const MAX_PATH_BYTES: usize = 4096;

/// Most entropy accepted: one 8-byte draw for every attempt pharm-sync makes.
pub(crate) const MAX_ENTROPY_BYTES: usize = 8 * pharm_sync::ids::INCARNATION_DRAWS;

/// Borrows a UTF-8 path argument (no NUL byte, at most [`MAX_PATH_BYTES`]).
///
/// # Safety
/// As for `input::text`.
pub(crate) unsafe fn path<'a>(
    ptr: *const u8,
    len: usize,
    argument: &str,
) -> Result<&'a Path, Failure> {
    // SAFETY: the caller's contract is this function's.
    let text = unsafe { input::text(ptr, len, argument, MAX_PATH_BYTES) }?;
    if text.is_empty() {
        return Err(Failure::invalid(argument, "the path is empty"));
    }
    if text.contains('\0') {
        return Err(Failure::invalid(argument, "the path contains a NUL byte"));
    }
    Ok(Path::new(text))
}

/// Borrows the `entropy` argument: 8 to [`MAX_ENTROPY_BYTES`] bytes, a multiple of 8.
///
/// # Safety
/// As for `input::bytes`.
pub(crate) unsafe fn entropy<'a>(ptr: *const u8, len: usize) -> Result<EntropyBytes<'a>, Failure> {
    // SAFETY: the caller's contract is this function's.
    let bytes = unsafe { input::bytes(ptr, len, "entropy", MAX_ENTROPY_BYTES) }?;
    if bytes.len() < 8 || bytes.len() % 8 != 0 {
        return Err(Failure::invalid(
            "entropy",
            format_args!(
                "{} bytes; give 8 to {MAX_ENTROPY_BYTES} random bytes, a multiple of 8",
                bytes.len()
            ),
        ));
    }
    Ok(EntropyBytes::new(bytes))
}

/// The store options for a `role` argument (`PHARM_STORE_ROLE_*`), the defaults otherwise
/// (`synchronous = FULL`, an exclusive lock on the file, pharm-sync's protocol limits).
pub(crate) fn options(role: u32) -> Result<StoreOptions, Failure> {
    let role = match role {
        terminal::PHARM_STORE_ROLE_MEMBER => Role::Member,
        terminal::PHARM_STORE_ROLE_ROOT => Role::Root,
        other => {
            return Err(Failure::invalid(
                "role",
                format_args!(
                    "{other} is not PHARM_STORE_ROLE_MEMBER (0) or PHARM_STORE_ROLE_ROOT (1)"
                ),
            ));
        }
    };
    Ok(StoreOptions {
        role,
        ..StoreOptions::default()
    })
}

/// A store error with the code of its most specific cause
/// ([`StoreError::most_specific`]) and the whole chain as message.
pub(crate) fn store_failure(error: StoreError) -> Failure {
    Failure::caused_by(error.most_specific(), error.to_string())
}

/// A protocol error with the code of its most specific cause
/// ([`ProtocolError::most_specific`]) and the whole chain as message.
pub(crate) fn protocol_failure(error: ProtocolError) -> Failure {
    Failure::caused_by(error.most_specific(), error.to_string())
}

/// `value` as compact JSON.
pub(crate) fn to_json(value: &impl serde::Serialize, what: &str) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(value).map_err(|error| {
        Failure::own(
            crate::result::pharm_result::InvalidArgument,
            format!("{what} cannot be written as JSON: {error}"),
        )
    })
}

/// Borrows a fixed-size output parameter, checked for NULL.
///
/// # Safety
/// `ptr` is NULL or points to a writable `T` not aliased during the call.
pub(crate) unsafe fn out_param<'a, T>(ptr: *mut T, argument: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: NULL or writable and unaliased (caller's contract).
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(argument))
}
