//! Tests of the shard calls, through the exported functions as C calls them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod directory;
mod golden;
mod json;
mod reads;
mod resilience;
mod resilience_input;

use std::path::PathBuf;

use crate::output::pharm_bytes;
use crate::result::pharm_result;

/// The stable id of the calling thread's last failure.
fn last_id() -> String {
    let mut buf = [0u8; 128];
    let mut n = 0;
    // SAFETY: a writable buffer of its length and a writable length.
    let result = unsafe { crate::pharm_error_id(buf.as_mut_ptr(), buf.len(), &mut n) };
    assert_eq!(result, pharm_result::Ok);
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// The message of the calling thread's last failure.
fn last_message() -> String {
    let mut n = 0;
    // SAFETY: NULL with length 0 asks for the length only.
    unsafe { crate::pharm_error_message(std::ptr::null_mut(), 0, &mut n) };
    let mut buf = vec![0u8; n + 1];
    // SAFETY: a writable buffer of its length and a writable length.
    let result = unsafe { crate::pharm_error_message(buf.as_mut_ptr(), buf.len(), &mut n) };
    assert_eq!(result, pharm_result::Ok);
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Asserts the last call failed with `result` and the stable `id`.
#[track_caller]
fn assert_failed(got: pharm_result, result: pharm_result, id: &str) {
    assert_eq!(got, result, "{}: {}", last_id(), last_message());
    assert_eq!(last_id(), id, "{}", last_message());
}

/// Copies and frees library-allocated bytes.
fn take_bytes(bytes: *mut pharm_bytes) -> Vec<u8> {
    assert!(!bytes.is_null());
    // SAFETY: a live pharm_bytes from the library, freed once here.
    unsafe {
        let data = std::slice::from_raw_parts(
            crate::pharm_bytes_data(bytes),
            crate::pharm_bytes_len(bytes),
        )
        .to_vec();
        crate::pharm_bytes_free(bytes);
        data
    }
}

/// The repository root.
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// A JSON document larger than every JSON input accepts.
fn oversized_json() -> Vec<u8> {
    let mut big = vec![b' '; crate::PHARM_SHARD_MAX_JSON_BYTES + 1];
    big[0] = b'{';
    *big.last_mut().unwrap() = b'}';
    big
}
