//! Creating and opening stores (fail loud), and bad arguments everywhere.

use std::path::Path;

use std::ptr::{null, null_mut};

use super::*;
use crate::result::pharm_result;
use crate::store::*;

#[test]
fn opening_fails_loud() {
    let dir = TempDir::new("fail-loud");
    fails(
        open(&dir.path("missing.db"), 1).unwrap_err(),
        pharm_result::SyncError,
        "sync.store_not_found",
    );
    let empty = dir.path("empty.db");
    std::fs::write(&empty, b"").unwrap();
    fails(
        open(&empty, 1).unwrap_err(),
        pharm_result::SyncError,
        "sync.store_not_a_store",
    );
    let garbage = dir.path("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    fails(
        open(&garbage, 1).unwrap_err(),
        pharm_result::SyncError,
        "sync.store_not_a_store",
    );

    let good = dir.path("t1.db");
    free(create(&good, 1, 7));
    fails(
        open(&good, 2).unwrap_err(),
        pharm_result::SyncError,
        "sync.store_wrong_store",
    );
    let ring = ring(Some(1));
    fails(
        create_with(&good, STORE, 1, 0, ring, &[9; 8]).unwrap_err(),
        pharm_result::SyncError,
        "sync.store_target_exists",
    );
    // The ring holds terminal 1's origin key only.
    fails(
        create_with(&dir.path("t2.db"), STORE, 2, 0, ring, &[9; 8]).unwrap_err(),
        pharm_result::SyncError,
        "sync.store_missing_key",
    );
    // Random bytes that are all zero: no incarnation can be drawn.
    fails(
        create_with(&dir.path("t1b.db"), STORE, 1, 0, ring, &[0; 16]).unwrap_err(),
        pharm_result::SyncError,
        "sync.id_incarnations_exhausted",
    );
    for entropy in [&[][..], &[1; 7][..], &[1; 12][..], &[1; 520][..]] {
        let result = create_with(&dir.path("t1c.db"), STORE, 1, 0, ring, entropy).unwrap_err();
        assert!(
            [pharm_result::InvalidArgument, pharm_result::InputTooLarge].contains(&result),
            "{entropy:?}"
        );
    }
    fails(
        create_with(&dir.path("t1d.db"), STORE, 1, 2, ring, &[1; 8]).unwrap_err(),
        pharm_result::InvalidArgument,
        "ffi.invalid_argument",
    );
    assert!(!Path::new(&dir.path("t1c.db")).exists());
    // SAFETY: the ring, freed once.
    unsafe { pharm_keyring_free(ring) };
}

#[test]
fn bad_arguments_are_reported() {
    let dir = TempDir::new("arguments");
    let ring = ring(Some(1));
    let mut out = null_mut();
    let seed = [1u8; 8];
    let p = dir.path("t1.db");
    // SAFETY: every pointer is NULL, or live with its length, or writable.
    unsafe {
        let create = |path: &[u8], ring, out| {
            pharm_store_create(
                path.as_ptr(),
                path.len(),
                STORE,
                1,
                0,
                ring,
                seed.as_ptr(),
                seed.len(),
                out,
            )
        };
        fails(
            create(p.as_bytes(), ring, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            create(p.as_bytes(), null(), &mut out),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            create(b"/tmp/\xff.db", ring, &mut out),
            pharm_result::InvalidUtf8,
            "ffi.invalid_utf8",
        );
        fails(
            create(b"/tmp/a\0b.db", ring, &mut out),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        fails(
            create(b"", ring, &mut out),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        fails(
            create(&[b'a'; MAX_PATH_BYTES + 1], ring, &mut out),
            pharm_result::InputTooLarge,
            "ffi.input_too_large",
        );
        fails(
            pharm_store_create(null(), 5, STORE, 1, 0, ring, seed.as_ptr(), 8, &mut out),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_store_open(null(), 0, STORE, 1, 0, ring, &mut out),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        assert!(out.is_null());

        // Keys: 32 bytes or `sync.key_length`, never echoed.
        let mut other = null_mut();
        let short = [0x41u8; 31];
        fails(
            pharm_keyring_new(STORE, short.as_ptr(), short.len(), &mut other),
            pharm_result::SyncError,
            "sync.key_length",
        );
        assert!(!last_message().contains("AAAA"));
        fails(
            pharm_keyring_new(STORE, null(), 32, &mut other),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_keyring_new(STORE, link_key().as_ptr(), 32, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_keyring_add_member(ring, 5, short.as_ptr(), short.len()),
            pharm_result::SyncError,
            "sync.key_length",
        );
        fails(
            pharm_keyring_add_member(ring, 5, null(), 32),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_keyring_add_member(null_mut(), 5, null(), 0),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert!(other.is_null());
        pharm_keyring_free(null_mut());
        pharm_store_free(null_mut());

        // Store calls on NULL.
        let mut bytes = null_mut();
        let op = RECEIVE.as_bytes();
        fails(
            pharm_store_apply(null_mut(), 1, op.as_ptr(), op.len(), &mut bytes),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_store_inventory_view(null_mut(), &mut bytes),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_store_status(null_mut(), &mut bytes),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_store_hello(null_mut(), 1, &mut bytes),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_store_apply_bytes(null_mut(), 1, op.as_ptr(), op.len(), &mut bytes),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_store_backup_to(null_mut(), p.as_ptr(), p.len()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert!(bytes.is_null());
        pharm_keyring_free(ring);
    }
}
