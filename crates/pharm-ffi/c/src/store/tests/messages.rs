//! A sync session between two terminals through the ABI; hostile, cut and oversized
//! messages; the golden messages; message lists.

use std::path::Path;

use std::ptr::{null, null_mut};

use super::*;
use crate::result::pharm_result;
use crate::store::*;

#[test]
fn two_terminals_sell_offline_and_converge_through_the_abi() {
    let dir = TempDir::new("converge");
    let (p1, p2) = (dir.path("t1.db"), dir.path("t2.db"));
    let t1 = create(&p1, 1, 0x1111);
    let t2 = create(&p2, 2, 0x2222);
    assert_eq!(status(t1)["replica"], "T1.4369");
    assert_eq!(status(t1)["role"], "member");

    let receipt = apply(t1, 1_000, RECEIVE).unwrap();
    let lot = receipt["txn"]["new_lots"][0]["key"].clone();
    assert_eq!(lot["origin"], "T1.4369");
    // T2 does not know the lot yet: FEFO has nothing to charge.
    fails(
        apply(t2, 1_500, &dispense(5)).unwrap_err(),
        pharm_result::SyncError,
        "sync.op_no_lots",
    );
    session(t2, t1, 2_000); // T1 is the store leader
    assert_eq!(view(t1), view(t2));

    let sale = apply(t1, 3_000, &dispense(30)).unwrap();
    assert!(sale["claim"].is_object() && sale["negative"] == serde_json::json!([]));
    apply(t2, 3_100, &dispense(25)).unwrap();
    assert_ne!(view(t1), view(t2));
    session(t2, t1, 4_000);
    session(t2, t1, 4_100);
    let (v1, v2) = (view(t1), view(t2));
    assert_eq!(v1, v2);
    assert_eq!(v1["lots"][0]["value"], 35);
    assert_eq!(status(t2)["outbox"], 1, "only the cloud empties an outbox");

    // Reopen: the same state.
    free(t1);
    let t1 = open(&p1, 1).unwrap();
    assert_eq!(view(t1), v1);
    free(t1);
    free(t2);
}

#[test]
fn hostile_and_cut_messages_are_refused() {
    let dir = TempDir::new("hostile");
    let t1 = create(&dir.path("t1.db"), 1, 11);
    let t2 = create(&dir.path("t2.db"), 2, 22);
    let before = view(t1);
    let good = hello(t2, 10);

    let mut tampered = good.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    fails(
        deliver(t1, 11, &tampered).unwrap_err(),
        pharm_result::SyncError,
        "sync.protocol_bad_tag",
    );
    fails(
        deliver(t1, 11, &good[..good.len() - 1]).unwrap_err(),
        pharm_result::SyncError,
        "sync.decode_truncated",
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        deliver(t1, 11, &trailing).unwrap_err(),
        pharm_result::SyncError
    );
    fails(
        deliver(t1, 11, b"").unwrap_err(),
        pharm_result::SyncError,
        "sync.decode_truncated",
    );
    fails(
        deliver(t1, 11, b"GARBAGE!").unwrap_err(),
        pharm_result::SyncError,
        "sync.decode_bad_magic",
    );
    let huge = vec![0u8; pharm_sync::codec::DecodeLimits::default().max_message_bytes + 1];
    fails(
        deliver(t1, 11, &huge).unwrap_err(),
        pharm_result::InputTooLarge,
        "ffi.input_too_large",
    );

    // A terminal of another pharmacy with its own keys.
    let mut foreign_ring = null_mut();
    let key = origin_key(2);
    // SAFETY: 32-byte keys and a writable out pointer; the ring is freed once.
    let foreign = unsafe {
        assert_eq!(
            pharm_keyring_new(43, key.as_ptr(), 32, &mut foreign_ring),
            pharm_result::Ok
        );
        assert_eq!(
            pharm_keyring_add_member(foreign_ring, 2, key.as_ptr(), 32),
            pharm_result::Ok
        );
        let store = create_with(&dir.path("other.db"), 43, 2, 0, foreign_ring, &[3; 8]);
        pharm_keyring_free(foreign_ring);
        store.unwrap()
    };
    fails(
        deliver(t1, 12, &hello(foreign, 12)).unwrap_err(),
        pharm_result::SyncError,
        "sync.protocol_wrong_store",
    );
    // A message from this very terminal.
    fails(
        deliver(t1, 12, &hello(t1, 12)).unwrap_err(),
        pharm_result::SyncError,
        "sync.protocol_from_self",
    );
    assert_eq!(view(t1), before, "nothing changed");
    assert_eq!(
        deliver(t1, 13, &good).unwrap().len(),
        2,
        "welcome and delta"
    );
    for s in [t1, t2, foreign] {
        free(s);
    }
}

#[test]
fn golden_messages_decode_to_their_json() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../testdata/golden/sync");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let hex_path = entry.unwrap().path();
        if hex_path.extension().and_then(|e| e.to_str()) != Some("hex") {
            continue;
        }
        let hex = std::fs::read_to_string(&hex_path).unwrap();
        let bytes: Vec<u8> = (0..hex.trim().len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex.trim()[i..i + 2], 16).unwrap())
            .collect();
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(hex_path.with_extension("json")).unwrap(),
        )
        .unwrap();
        let mut out = null_mut();
        // SAFETY: the message's bytes and a writable out pointer.
        let result = unsafe { pharm_sync_message_to_json(bytes.as_ptr(), bytes.len(), &mut out) };
        assert_eq!(result, pharm_result::Ok, "{}", hex_path.display());
        let text = take(out);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&text).unwrap(),
            expected
        );
        // Compact: the golden file without its layout.
        assert!(!text.contains(&b'\n'));
        // SAFETY: a cut copy of the message and a writable out pointer.
        let cut = unsafe { pharm_sync_message_to_json(bytes.as_ptr(), bytes.len() - 1, &mut out) };
        fails(cut, pharm_result::SyncError, "sync.decode_truncated");
        seen += 1;
    }
    assert!(seen >= 7);
    // SAFETY: NULL arguments are allowed.
    unsafe {
        let mut out = null_mut();
        fails(
            pharm_sync_message_to_json(null(), 0, &mut out),
            pharm_result::SyncError,
            "sync.decode_truncated",
        );
        fails(
            pharm_sync_message_to_json(null(), 0, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
    }
}

#[test]
fn message_lists_are_checked() {
    let list = lists::write_list(&[b"ab".to_vec(), b"c".to_vec()]).unwrap();
    let (mut data, mut len, mut count) = (null(), 0, 0);
    // SAFETY: the list's bytes (or NULL with length 0) and writable or NULL outputs.
    unsafe {
        assert_eq!(
            pharm_sync_messages_count(list.as_ptr(), list.len(), &mut count),
            pharm_result::Ok
        );
        assert_eq!(count, 2);
        assert_eq!(
            pharm_sync_messages_get(list.as_ptr(), list.len(), 1, &mut data, &mut len),
            pharm_result::Ok
        );
        assert_eq!(std::slice::from_raw_parts(data, len), b"c");
        fails(
            pharm_sync_messages_get(list.as_ptr(), list.len(), 2, &mut data, &mut len),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        fails(
            pharm_sync_messages_count(list.as_ptr(), list.len() - 1, &mut count),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        fails(
            pharm_sync_messages_get(list.as_ptr(), 3, 0, &mut data, &mut len),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        fails(
            pharm_sync_messages_count(list.as_ptr(), list.len(), null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_sync_messages_get(list.as_ptr(), list.len(), 0, null_mut(), &mut len),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        fails(
            pharm_sync_messages_get(list.as_ptr(), list.len(), 0, &mut data, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_eq!(
            pharm_sync_messages_count(null(), 0, &mut count),
            pharm_result::Ok
        );
        assert_eq!(count, 0);
    }
}
