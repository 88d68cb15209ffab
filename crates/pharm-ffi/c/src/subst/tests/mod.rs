//! Tests of the substitution calls, through the exported functions as C calls them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::undocumented_unsafe_blocks
)]

mod bad_input;
mod golden;
mod loading;
mod queries;

use std::path::PathBuf;

use super::*;
use crate::{
    pharm_bytes_data, pharm_bytes_free, pharm_bytes_len, pharm_error_code, pharm_error_id,
};

/// 2026-06-10T12:00:00Z: 40 days after the sample release (fresh with a 45-day limit).
const FRESH_MS: i64 = 1_781_092_800_000;
/// 2026-06-16T12:00:00Z: 46 days after the sample release (stale).
const STALE_MS: i64 = 1_781_611_200_000;
const RELEASED: &str = "2026-05-01";
const LABEL: &str = "2026-05";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

fn sample_path() -> String {
    repo()
        .join("crates/pharm-subst/testdata/products-sample.txt")
        .to_str()
        .unwrap()
        .to_owned()
}

fn sample() -> Vec<u8> {
    std::fs::read(sample_path()).unwrap()
}

/// The stable id of the calling thread's last failure.
fn last_id() -> String {
    let mut buf = [0u8; 128];
    let mut n = 0;
    assert_eq!(
        unsafe { pharm_error_id(buf.as_mut_ptr(), buf.len(), &mut n) },
        pharm_result::Ok
    );
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Asserts that `result` failed with `expected` and the stable id `id`.
#[track_caller]
fn assert_fails(result: pharm_result, expected: pharm_result, id: &str) {
    assert_eq!(result, expected, "last error: {}", last_id());
    assert_eq!(last_id(), id);
    assert_ne!(pharm_error_code(), 0);
}

/// Takes the bytes out of a `pharm_bytes` and frees it.
fn take(bytes: *mut pharm_bytes) -> Vec<u8> {
    assert!(!bytes.is_null());
    let data =
        unsafe { std::slice::from_raw_parts(pharm_bytes_data(bytes), pharm_bytes_len(bytes)) }
            .to_vec();
    unsafe { pharm_bytes_free(bytes) };
    data
}

fn new_from_bytes(products: &[u8], max_age_days: u32) -> (pharm_result, *mut pharm_subst) {
    let mut subst = std::ptr::null_mut();
    let result = unsafe {
        pharm_subst_new_from_bytes(
            products.as_ptr(),
            products.len(),
            RELEASED.as_ptr(),
            RELEASED.len(),
            LABEL.as_ptr(),
            LABEL.len(),
            max_age_days,
            &mut subst,
        )
    };
    (result, subst)
}

/// A service with the sample release (2026-05-01, at most 45 days old).
fn loaded() -> Handle {
    let (result, subst) = new_from_bytes(&sample(), 45);
    assert_eq!(result, pharm_result::Ok);
    Handle(subst)
}

/// A service without a release.
fn empty() -> Handle {
    let mut subst = std::ptr::null_mut();
    assert_eq!(unsafe { pharm_subst_new(45, &mut subst) }, pharm_result::Ok);
    Handle(subst)
}

/// A handle freed when the test ends; shareable with threads (the type is Sync).
struct Handle(*mut pharm_subst);

// SAFETY: pharm_subst is Send + Sync; the pointer is freed only by Drop, after the
// threads that borrowed it have joined.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

impl Handle {
    fn ptr(&self) -> *const pharm_subst {
        self.0
    }

    fn substitutes(&self, query: impl AsRef<[u8]>, now_ms: i64) -> Result<Vec<u8>, pharm_result> {
        let query = query.as_ref();
        let mut out = std::ptr::null_mut();
        let result = unsafe {
            pharm_subst_substitutes(self.0, query.as_ptr(), query.len(), now_ms, 0, &mut out)
        };
        if result == pharm_result::Ok {
            Ok(take(out))
        } else {
            assert!(out.is_null());
            Err(result)
        }
    }

    fn explain(&self, query: impl AsRef<[u8]>, now_ms: i64) -> Result<Vec<u8>, pharm_result> {
        let query = query.as_ref();
        let mut out = std::ptr::null_mut();
        let result = unsafe {
            pharm_subst_explain(self.0, query.as_ptr(), query.len(), now_ms, 0, &mut out)
        };
        if result == pharm_result::Ok {
            Ok(take(out))
        } else {
            assert!(out.is_null());
            Err(result)
        }
    }

    fn status(&self, now_ms: i64, offset_s: i32) -> serde_json::Value {
        let mut out = std::ptr::null_mut();
        assert_eq!(
            unsafe { pharm_subst_status(self.0, now_ms, offset_s, &mut out) },
            pharm_result::Ok
        );
        serde_json::from_slice(&take(out)).unwrap()
    }

    fn set_packages(&self, json: &str) -> pharm_result {
        unsafe { pharm_subst_set_packages(self.0, json.as_ptr(), json.len()) }
    }

    fn single_source(&self, key: &str) -> Result<bool, pharm_result> {
        let mut out = false;
        match unsafe { pharm_subst_is_single_source(self.0, key.as_ptr(), key.len(), &mut out) } {
            pharm_result::Ok => Ok(out),
            failed => Err(failed),
        }
    }

    fn load_bytes(
        &self,
        products: &[u8],
        released: &str,
    ) -> Result<serde_json::Value, pharm_result> {
        let mut diff = std::ptr::null_mut();
        let result = unsafe {
            pharm_subst_load_bytes(
                self.0,
                products.as_ptr(),
                products.len(),
                released.as_ptr(),
                released.len(),
                LABEL.as_ptr(),
                LABEL.len(),
                &mut diff,
            )
        };
        if result == pharm_result::Ok {
            Ok(serde_json::from_slice(&take(diff)).unwrap())
        } else {
            assert!(diff.is_null());
            Err(result)
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        unsafe { pharm_subst_free(self.0) };
    }
}

/// A minimal substitution query for `original` under a permissive Texas policy.
fn tx_query(original: &str) -> String {
    format!(r#"{{"original": "{original}", "policy": {{"state": "TX"}}}}"#)
}

/// The keys of the choices of a substitution answer.
fn choice_keys(answer: &[u8]) -> Vec<String> {
    let answer: serde_json::Value = serde_json::from_slice(answer).unwrap();
    answer["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap().to_owned())
        .collect()
}
