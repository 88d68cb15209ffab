//! Backups, restores, recovery, and poisoned handles.

use std::ptr::null_mut;

use super::*;
use crate::result::pharm_result;
use crate::store::*;

#[test]
fn a_backup_restores_as_a_new_incarnation_and_a_store_recovers() {
    let dir = TempDir::new("backup");
    let (p1, backup, restored, recovered) = (
        dir.path("t1.db"),
        dir.path("backup.db"),
        dir.path("restored.db"),
        dir.path("recovered.db"),
    );
    let t1 = create(&p1, 1, 100);
    apply(t1, 1_000, RECEIVE).unwrap();
    // SAFETY: a live store and a path of its length.
    unsafe {
        assert_eq!(
            pharm_store_backup_to(t1, backup.as_ptr(), backup.len()),
            pharm_result::Ok
        );
        fails(
            pharm_store_backup_to(t1, backup.as_ptr(), backup.len()),
            pharm_result::SyncError,
            "sync.store_target_exists",
        );
    }
    let v1 = view(t1);
    free(t1);

    let ring = ring(Some(1));
    let seed = 200u64.to_le_bytes();
    let mut out = null_mut();
    // SAFETY: paths and entropy of their lengths, a live ring, writable outputs.
    unsafe {
        assert_eq!(
            pharm_store_restore_from_backup(
                backup.as_ptr(),
                backup.len(),
                restored.as_ptr(),
                restored.len(),
                STORE,
                PHARM_STORE_ROLE_MEMBER,
                ring,
                seed.as_ptr(),
                seed.len(),
                &mut out,
            ),
            pharm_result::Ok
        );
    }
    assert_eq!(status(out)["replica"], "T1.200");
    assert_eq!(view(out)["lots"], v1["lots"]);
    free(out);

    let (mut store, mut report) = (null_mut(), null_mut());
    let seed = 300u64.to_le_bytes();
    // SAFETY: as above.
    unsafe {
        let recover = |old: &str, store, report| {
            pharm_store_recover(
                old.as_ptr(),
                old.len(),
                recovered.as_ptr(),
                recovered.len(),
                STORE,
                1,
                PHARM_STORE_ROLE_MEMBER,
                ring,
                seed.as_ptr(),
                seed.len(),
                store,
                report,
            )
        };
        fails(
            recover(&p1, &mut store, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_eq!(recover(&p1, &mut store, &mut report), pharm_result::Ok);
        assert!(store.is_null() == report.is_null() && !store.is_null());
    }
    let report = json(report);
    assert_eq!(report["old"], "T1.100");
    assert_eq!(report["salvaged"], 1);
    assert_eq!(status(store)["replica"], "T1.300");
    free(store);
    // SAFETY: the ring, freed once.
    unsafe { pharm_keyring_free(ring) };
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_panic_poisons_the_store_and_free_still_works() {
    let dir = TempDir::new("poison");
    let t1 = create(&dir.path("t1.db"), 1, 9);
    crate::pharm_test_panic_next_call();
    fails(
        apply(t1, 1, RECEIVE).unwrap_err(),
        pharm_result::Panic,
        "ffi.panic",
    );
    let mut out = null_mut();
    // SAFETY: a live (poisoned) store and a writable out pointer.
    unsafe {
        fails(
            pharm_store_inventory_view(t1, &mut out),
            pharm_result::Poisoned,
            "ffi.poisoned",
        );
        fails(
            pharm_store_hello(t1, 1, &mut out),
            pharm_result::Poisoned,
            "ffi.poisoned",
        );
    }
    assert!(out.is_null());
    free(t1);
    // The file is intact: it opens again.
    let t1 = open(&dir.path("t1.db"), 1).unwrap();
    free(t1);

    // A panic while a key ring is in use poisons the ring.
    let ring = ring(Some(1));
    crate::pharm_test_panic_next_call();
    fails(
        create_with(&dir.path("t1b.db"), STORE, 1, 0, ring, &[4; 8]).unwrap_err(),
        pharm_result::Panic,
        "ffi.panic",
    );
    fails(
        create_with(&dir.path("t1b.db"), STORE, 1, 0, ring, &[4; 8]).unwrap_err(),
        pharm_result::Poisoned,
        "ffi.poisoned",
    );
    // SAFETY: the ring (poisoned), freed once.
    unsafe { pharm_keyring_free(ring) };
}
