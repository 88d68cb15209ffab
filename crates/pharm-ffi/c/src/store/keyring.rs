//! `pharm_keyring`: which terminals belong to a store and the keys this holder knows, built
//! from the caller's secrets (pharm-sync's `StoreKeys`).

use pharm_core::ids::PharmacyId;
use pharm_sync::auth::{KeyLengthError, MacKey, StoreKeys};

use crate::boundary::{self, Handle, Poison};
use crate::error::Failure;
use crate::input;
use crate::output::Out;
use crate::result::pharm_result;

/// Bytes of every key (32 bytes of secret random data).
const KEY_BYTES: usize = 32;

/// The key ring of one pharmacy (store): its link key, which authenticates every sync
/// message between its terminals and the cloud, and its member terminals, each with its
/// origin key where this holder knows it (a terminal knows its own; the cloud knows them
/// all). Secrets are copied in and never written to error messages; freeing the ring wipes
/// them from memory.
///
/// Made by `pharm_keyring_new()`, filled by `pharm_keyring_add_member()`, freed by
/// `pharm_keyring_free()`. A store takes its own copy of the ring when it is created or
/// opened, so the ring may be changed or freed afterwards.
///
/// Thread safety: may be shared by threads: the calls taking `const pharm_keyring *` are
/// safe concurrently; `pharm_keyring_add_member()` needs exclusive use.
pub struct pharm_keyring {
    poison: Poison,
    pub(crate) keys: StoreKeys,
}

impl Handle for pharm_keyring {
    fn poison(&self) -> &Poison {
        &self.poison
    }
}

/// A key from `len` bytes at `ptr`: exactly 32 (`sync.key_length` otherwise).
///
/// # Safety
/// `ptr` points to `len` readable bytes, or is NULL.
unsafe fn key(ptr: *const u8, len: usize, argument: &str) -> Result<MacKey, Failure> {
    if len != KEY_BYTES {
        return Err(KeyLengthError(len).into());
    }
    // SAFETY: the caller's contract is this function's.
    let secret = unsafe { input::bytes(ptr, len, argument, KEY_BYTES) }?;
    Ok(MacKey::from_slice(secret)?)
}

/// Makes the key ring of pharmacy `store_id` with its link key (`link_key_len` must be 32:
/// the store's shared secret, from the caller's key provisioning) and no members yet. The
/// caller frees `*out` with `pharm_keyring_free()`.
///
/// Errors: `sync.key_length` when the key is not 32 bytes; `ffi.null_parameter`.
///
/// # Safety
/// `link_key` points to `link_key_len` readable bytes (or is NULL); `out` is NULL or
/// points to a writable `pharm_keyring *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_keyring_new(
    store_id: u32,
    link_key: *const u8,
    link_key_len: usize,
    out: *mut *mut pharm_keyring,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract.
        let link = unsafe { key(link_key, link_key_len, "link_key") }?;
        out.set(pharm_keyring {
            poison: Poison::default(),
            keys: StoreKeys::new(PharmacyId::new(store_id), link),
        });
        Ok(())
    })
}

/// Adds member `terminal` to the ring (or replaces it), with its origin key when this holder
/// knows it: 32 bytes, or NULL with length 0 for a member whose key only the member itself
/// and the cloud hold. A terminal's ring lists every member of its store with only its own
/// origin key; the cloud's lists every member with its key.
///
/// Errors: `sync.key_length` when a key is given that is not 32 bytes;
/// `ffi.null_parameter`; `ffi.poisoned`.
///
/// # Safety
/// `ring` is NULL or a live key ring not used by another thread during the call;
/// `origin_key` points to `origin_key_len` readable bytes (or is NULL with length 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_keyring_add_member(
    ring: *mut pharm_keyring,
    terminal: u16,
    origin_key: *const u8,
    origin_key_len: usize,
) -> pharm_result {
    let body = |ring: &mut pharm_keyring| {
        let origin = if origin_key.is_null() && origin_key_len == 0 {
            None
        } else {
            // SAFETY: the caller's contract.
            Some(unsafe { key(origin_key, origin_key_len, "origin_key") }?)
        };
        // The replaced ring is dropped, wiping its copies of the keys.
        ring.keys = ring.keys.clone().with_member(terminal, origin);
        Ok(())
    };
    // SAFETY: the caller's contract.
    unsafe { boundary::call_with_mut(ring, "ring", body) }
}

/// Frees a key ring, wiping its keys from memory. `pharm_keyring_free(NULL)` does nothing;
/// freeing twice or using the ring afterwards is undefined. Works on a poisoned ring. Stores
/// made with the ring keep their own copy.
///
/// # Safety
/// `ring` is NULL or a key ring from this library, not yet freed and not in use by another
/// thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_keyring_free(ring: *mut pharm_keyring) {
    // SAFETY: the caller's contract.
    unsafe { boundary::free(ring) }
}
