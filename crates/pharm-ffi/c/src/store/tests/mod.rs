//! The store area's exported functions called from Rust: keys, create/open (fail loud),
//! operations, a sync session between two terminals through the ABI, hostile and cut
//! messages, backups, recovery, the golden messages, and a poisoned store. This module
//! holds the helpers; the tests are in its submodules.

mod lifecycle;
mod messages;
mod ops;
mod recovery;

use std::path::PathBuf;
use std::ptr::{null, null_mut};

use super::{
    PHARM_STORE_ROLE_MEMBER, pharm_keyring, pharm_keyring_add_member, pharm_keyring_free,
    pharm_keyring_new, pharm_store, pharm_store_apply, pharm_store_apply_bytes, pharm_store_create,
    pharm_store_free, pharm_store_hello, pharm_store_inventory_view, pharm_store_open,
    pharm_store_status, pharm_sync_messages_count, pharm_sync_messages_get,
};
use crate::output::{pharm_bytes, pharm_bytes_data, pharm_bytes_free, pharm_bytes_len};
use crate::result::pharm_result;

pub(super) const STORE: u32 = 42;

/// A scratch directory removed on drop.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "pharm-ffi-store-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(super) fn path(&self, file: &str) -> String {
        self.0.join(file).to_str().unwrap().to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn link_key() -> [u8; 32] {
    [0x4c; 32]
}

pub(super) fn origin_key(terminal: u16) -> [u8; 32] {
    let mut key = [0x6f; 32];
    key[..2].copy_from_slice(&terminal.to_le_bytes());
    key
}

/// The stable id of the calling thread's last failure.
pub(super) fn last_id() -> String {
    let mut buf = [0u8; 128];
    let mut n = 0;
    // SAFETY: a writable buffer of its length and a writable length.
    let result = unsafe { crate::pharm_error_id(buf.as_mut_ptr(), buf.len(), &mut n) };
    assert_eq!(result, pharm_result::Ok);
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// The calling thread's last error message.
pub(super) fn last_message() -> String {
    let mut buf = vec![0u8; 4096];
    let mut n = 0;
    // SAFETY: a writable buffer of its length and a writable length.
    let result = unsafe { crate::pharm_error_message(buf.as_mut_ptr(), buf.len(), &mut n) };
    assert_eq!(result, pharm_result::Ok);
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Asserts the result and the stable id of a failed call.
#[track_caller]
pub(super) fn fails(result: pharm_result, expected: pharm_result, id: &str) {
    assert_eq!(result, expected, "{}: {}", last_id(), last_message());
    assert_eq!(last_id(), id, "{}", last_message());
}

/// Takes the contents of a `pharm_bytes` and frees it.
pub(super) fn take(bytes: *mut pharm_bytes) -> Vec<u8> {
    assert!(!bytes.is_null());
    // SAFETY: a live pharm_bytes from the library, freed once here.
    unsafe {
        let data = std::slice::from_raw_parts(pharm_bytes_data(bytes), pharm_bytes_len(bytes));
        let owned = data.to_vec();
        pharm_bytes_free(bytes);
        owned
    }
}

pub(super) fn json(bytes: *mut pharm_bytes) -> serde_json::Value {
    serde_json::from_slice(&take(bytes)).unwrap()
}

/// A terminal's key ring: every member of the store, its own origin key only (all of them
/// for the cloud, `None`).
pub(super) fn ring(me: Option<u16>) -> *mut pharm_keyring {
    let mut ring = null_mut();
    let link = link_key();
    // SAFETY: a 32-byte key and a writable out pointer; the ring is used by this thread.
    unsafe {
        assert_eq!(
            pharm_keyring_new(STORE, link.as_ptr(), link.len(), &mut ring),
            pharm_result::Ok
        );
        for t in [1u16, 2, 3, u16::MAX] {
            let key = origin_key(t);
            let result = if me.is_none() || me == Some(t) {
                pharm_keyring_add_member(ring, t, key.as_ptr(), key.len())
            } else {
                pharm_keyring_add_member(ring, t, null(), 0)
            };
            assert_eq!(result, pharm_result::Ok);
        }
    }
    ring
}

pub(super) fn create_with(
    path: &str,
    store: u32,
    terminal: u16,
    role: u32,
    ring: *const pharm_keyring,
    entropy: &[u8],
) -> Result<*mut pharm_store, pharm_result> {
    let mut out = null_mut();
    // SAFETY: live arguments of their lengths and a writable out pointer.
    let result = unsafe {
        pharm_store_create(
            path.as_ptr(),
            path.len(),
            store,
            terminal,
            role,
            ring,
            entropy.as_ptr(),
            entropy.len(),
            &mut out,
        )
    };
    if result == pharm_result::Ok {
        Ok(out)
    } else {
        assert!(out.is_null(), "an output written on failure");
        Err(result)
    }
}

pub(super) fn create(path: &str, terminal: u16, seed: u64) -> *mut pharm_store {
    let ring = ring(Some(terminal));
    let store = create_with(
        path,
        STORE,
        terminal,
        PHARM_STORE_ROLE_MEMBER,
        ring,
        &seed.to_le_bytes(),
    )
    .unwrap();
    // SAFETY: the ring from `ring`, freed once; the store kept its own copy.
    unsafe { pharm_keyring_free(ring) };
    store
}

pub(super) fn open(path: &str, terminal: u16) -> Result<*mut pharm_store, pharm_result> {
    let ring = ring(Some(terminal));
    let mut out = null_mut();
    // SAFETY: live arguments of their lengths and a writable out pointer; the ring is
    // freed once.
    let result = unsafe {
        let result = pharm_store_open(
            path.as_ptr(),
            path.len(),
            STORE,
            terminal,
            PHARM_STORE_ROLE_MEMBER,
            ring,
            &mut out,
        );
        pharm_keyring_free(ring);
        result
    };
    if result == pharm_result::Ok {
        Ok(out)
    } else {
        assert!(out.is_null());
        Err(result)
    }
}

pub(super) fn free(store: *mut pharm_store) {
    // SAFETY: a store from `create`/`open`, freed once.
    unsafe { pharm_store_free(store) }
}

pub(super) fn apply(
    store: *mut pharm_store,
    now: u64,
    op: &str,
) -> Result<serde_json::Value, pharm_result> {
    let mut out = null_mut();
    // SAFETY: a live store, the op's bytes and a writable out pointer.
    let result = unsafe { pharm_store_apply(store, now, op.as_ptr(), op.len(), &mut out) };
    if result == pharm_result::Ok {
        Ok(json(out))
    } else {
        assert!(out.is_null());
        Err(result)
    }
}

pub(super) fn view(store: *mut pharm_store) -> serde_json::Value {
    let mut out = null_mut();
    // SAFETY: a live store and a writable out pointer.
    let result = unsafe { pharm_store_inventory_view(store, &mut out) };
    assert_eq!(result, pharm_result::Ok);
    json(out)
}

pub(super) fn status(store: *mut pharm_store) -> serde_json::Value {
    let mut out = null_mut();
    // SAFETY: a live store and a writable out pointer.
    let result = unsafe { pharm_store_status(store, &mut out) };
    assert_eq!(result, pharm_result::Ok);
    json(out)
}

pub(super) fn hello(store: *mut pharm_store, now: u64) -> Vec<u8> {
    let mut out = null_mut();
    // SAFETY: a live store and a writable out pointer.
    let result = unsafe { pharm_store_hello(store, now, &mut out) };
    assert_eq!(result, pharm_result::Ok);
    take(out)
}

/// Applies one message; the replies as separate messages.
pub(super) fn deliver(
    store: *mut pharm_store,
    now: u64,
    message: &[u8],
) -> Result<Vec<Vec<u8>>, pharm_result> {
    let mut out = null_mut();
    // SAFETY: a live store, the message's bytes and a writable out pointer.
    let result =
        unsafe { pharm_store_apply_bytes(store, now, message.as_ptr(), message.len(), &mut out) };
    if result != pharm_result::Ok {
        assert!(out.is_null());
        return Err(result);
    }
    let list = take(out);
    let mut count = 0;
    // SAFETY: the list's bytes and writable outputs; the messages borrow `list`.
    unsafe {
        assert_eq!(
            pharm_sync_messages_count(list.as_ptr(), list.len(), &mut count),
            pharm_result::Ok
        );
        Ok((0..count)
            .map(|i| {
                let (mut data, mut len) = (null(), 0);
                assert_eq!(
                    pharm_sync_messages_get(list.as_ptr(), list.len(), i, &mut data, &mut len),
                    pharm_result::Ok
                );
                std::slice::from_raw_parts(data, len).to_vec()
            })
            .collect())
    }
}

/// A session of `client` with `server` through the ABI, until neither has a reply.
pub(super) fn session(client: *mut pharm_store, server: *mut pharm_store, now: u64) {
    let mut up = vec![hello(client, now)];
    for _ in 0..64 {
        let down: Vec<Vec<u8>> = up
            .drain(..)
            .flat_map(|m| deliver(server, now, &m).unwrap())
            .collect();
        up = down
            .iter()
            .flat_map(|m| deliver(client, now, m).unwrap())
            .collect();
        if up.is_empty() {
            return;
        }
    }
    panic!("the session did not settle");
}

pub(super) const RECEIVE: &str = r#"{"op":"receive_new","lot":{"sku":7,"ndc":"0093-7146-56","lot_number":"A1","expiry":"2027-05-31","controlled":false},"qty":90,"reference":"PO-1"}"#;

pub(super) fn dispense(qty: u64) -> String {
    format!(
        r#"{{"op":"dispense","today":"2026-03-10","sku":7,"qty":{qty},"scanned":null,"reference":"RX","attachments":{{"claim":"{{}}","pmp_report":null}}}}"#
    )
}
