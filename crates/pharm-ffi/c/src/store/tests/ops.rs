//! Operations read strictly from JSON.

use std::ptr::null_mut;

use super::*;
use crate::result::pharm_result;
use crate::store::*;

#[test]
fn operations_are_read_strictly() {
    let dir = TempDir::new("ops");
    let t1 = create(&dir.path("t1.db"), 1, 5);
    let cases: [(&[u8], pharm_result, &str); 5] = [
        (b"{\"op\":", pharm_result::SyncError, "sync.json_syntax"),
        (b"[1,2]", pharm_result::SyncError, "sync.json_invalid"),
        (
            br#"{"op":"receive_new","lot":{"sku":7,"ndc":"0093-7146-56","lot_number":"A1","expiry":"2027-05-31","controlled":false,"colour":"red"},"qty":1,"reference":"PO"}"#,
            pharm_result::SyncError,
            "sync.json_invalid",
        ),
        (b"{\"op\":\"\xff\"}", pharm_result::InvalidUtf8, "ffi.invalid_utf8"),
        (
            br#"{"op":"receive_new","lot":{"sku":7,"ndc":"0093-7146-56","lot_number":"A1","expiry":"2027-05-31","controlled":false},"qty":0,"reference":"PO"}"#,
            pharm_result::SyncError,
            "sync.op_quantity",
        ),
    ];
    for (op, result, id) in cases {
        let mut out = null_mut();
        // SAFETY: a live store, the op's bytes and a writable out pointer.
        let got = unsafe { pharm_store_apply(t1, 1, op.as_ptr(), op.len(), &mut out) };
        fails(got, result, id);
        assert!(out.is_null());
    }
    assert!(last_message().contains("quantity 0"), "{}", last_message());
    let big = vec![b' '; pharm_sync::json::MAX_JSON_BYTES + 1];
    let mut out = null_mut();
    // SAFETY: as above.
    let got = unsafe { pharm_store_apply(t1, 1, big.as_ptr(), big.len(), &mut out) };
    fails(got, pharm_result::InputTooLarge, "ffi.input_too_large");
    // SAFETY: as above, with a NULL output.
    let got = unsafe { pharm_store_apply(t1, 1, RECEIVE.as_ptr(), RECEIVE.len(), null_mut()) };
    fails(got, pharm_result::NullParameter, "ffi.null_parameter");
    assert_eq!(
        view(t1)["lots"],
        serde_json::json!([]),
        "nothing was recorded"
    );
    // The golden list of operations reads, and a sale on an empty store is refused.
    let ops: Vec<serde_json::Value> = serde_json::from_str(include_str!(
        "../../../../../../testdata/golden/sync/ops.json"
    ))
    .unwrap();
    for op in ops {
        let text = op.to_string();
        let result = apply(t1, 2, &text);
        assert!(
            result.is_ok() || !last_id().starts_with("sync.json") && !last_id().starts_with("ffi."),
            "{text}: {}",
            last_id()
        );
    }
    free(t1);
}
