//! Tests of the core calls, made from Rust exactly as C makes them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod context;
mod ids;

use std::path::PathBuf;

use serde_json::Value;

use crate::output::pharm_bytes;
use crate::result::pharm_result;

/// One case of `testdata/golden/decisions.json`: (name, context, request, decision).
pub(super) fn golden(name: &str) -> (Value, Value, Value) {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../testdata/golden/decisions.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let case = cases
        .into_iter()
        .find(|case| case["name"] == name)
        .unwrap_or_else(|| panic!("no golden case {name:?}"));
    (
        case["context"].clone(),
        case["request"].clone(),
        case["decision"].clone(),
    )
}

/// The bytes of `bytes` as text, freeing them.
pub(super) fn take(bytes: *mut pharm_bytes) -> String {
    assert!(!bytes.is_null());
    // SAFETY: a live pharm_bytes from a successful call, freed once here.
    unsafe {
        let data = std::slice::from_raw_parts(
            crate::pharm_bytes_data(bytes),
            crate::pharm_bytes_len(bytes),
        )
        .to_vec();
        crate::pharm_bytes_free(bytes);
        String::from_utf8(data).unwrap()
    }
}

/// The bytes of `bytes` as JSON, freeing them.
pub(super) fn take_json(bytes: *mut pharm_bytes) -> Value {
    serde_json::from_str(&take(bytes)).unwrap()
}

/// The calling thread's error id and message.
pub(super) fn detail() -> (String, String) {
    let mut id = [0u8; 128];
    let mut message = vec![0u8; 4096];
    let (mut id_len, mut message_len) = (0, 0);
    // SAFETY: buffers of the given lengths and writable lengths.
    unsafe {
        assert_eq!(
            crate::pharm_error_id(id.as_mut_ptr(), id.len(), &mut id_len),
            pharm_result::Ok
        );
        assert_eq!(
            crate::pharm_error_message(message.as_mut_ptr(), message.len(), &mut message_len),
            pharm_result::Ok
        );
    }
    (
        String::from_utf8(id[..id_len].to_vec()).unwrap(),
        String::from_utf8(message[..message_len].to_vec()).unwrap(),
    )
}

/// Asserts the calling thread's last call failed with `result` and the string `id`, and
/// returns its message.
pub(super) fn failed(got: pharm_result, result: pharm_result, id: &str) -> String {
    let (got_id, message) = detail();
    assert_eq!((got, got_id.as_str()), (result, id), "{message}");
    message
}

/// Invalid UTF-8 (a lone continuation byte inside otherwise fine text).
pub(super) const NOT_UTF8: &[u8] = b"{\"a\":\"\x80\"}";
