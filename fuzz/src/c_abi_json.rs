//! `c_abi_json`: the JSON-taking entry points of the C ABI (`pharm-ffi`), called as Rust
//! functions with the input bytes as the document (pointer and length, as a C caller
//! passes them).
//!
//! Input: a selector byte (modulo 11) naming the entry point, then the document:
//!
//! | selector | entry point |
//! |---|---|
//! | 0 | `pharm_context_new` (then `pharm_context_json`) |
//! | 1 | `pharm_context_evaluate` on the golden context |
//! | 2 | `pharm_context_check_compliance` on the golden context |
//! | 3 | `pharm_context_set_connectivity` on a fresh golden context |
//! | 4 | `pharm_product_master_new` |
//! | 5 | `pharm_subst_set_packages` on a fresh service with the sample release |
//! | 6 | `pharm_subst_substitutes` on the sample release |
//! | 7 | `pharm_subst_explain` on the sample release |
//! | 8 | `pharm_directory_from_json` (then routes) |
//! | 9 | `pharm_resilience_from_json` (then a call begins) |
//! | 10 | `pharm_read_router_observe` on a fresh router |
//!
//! Properties: no call panics (`PHARM_RESULT_PANIC`) or poisons a handle; a call succeeds
//! exactly when the thread's error code is 0; what a call writes is the JSON it documents
//! (a context, decision or answer that reads back); an evaluation through the C ABI
//! equals pharm-core's on the same documents.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::ptr::null_mut;

use ::pharm_subst::{ExplainAnswer, SubstitutionAnswer};
use pharm_core::{evaluate, parse_context, parse_decision, parse_request};
use pharm_ffi::{
    PHARM_READ_ROUTER_DEFAULT_HISTORY_CAPACITY, PHARM_READ_ROUTER_DEFAULT_MAX_LAG_MS,
    PHARM_READ_ROUTER_DEFAULT_STALE_AFTER_MS, pharm_breaker_state, pharm_bytes, pharm_bytes_data,
    pharm_bytes_free, pharm_bytes_len, pharm_context, pharm_context_check_compliance,
    pharm_context_evaluate, pharm_context_free, pharm_context_json, pharm_context_new,
    pharm_context_set_connectivity, pharm_directory_free, pharm_directory_from_json,
    pharm_directory_route, pharm_error_code, pharm_lag_estimate, pharm_product_master_free,
    pharm_product_master_len, pharm_product_master_new, pharm_read_router_free,
    pharm_read_router_new, pharm_read_router_observe, pharm_resilience_begin,
    pharm_resilience_call_free, pharm_resilience_free, pharm_resilience_from_json,
    pharm_resilience_state, pharm_result, pharm_subst, pharm_subst_explain, pharm_subst_free,
    pharm_subst_new_from_bytes, pharm_subst_set_packages, pharm_subst_substitutes,
};

use crate::samples::{PRODUCTS_SAMPLE, golden_case, golden_context};
use crate::split_selector;

/// 2026-06-10T12:00:00Z: 40 days after the sample release (fresh with a 45-day limit).
const FRESH_MS: i64 = 1_781_092_800_000;
/// The sample release's date and label.
const RELEASED: &str = "2026-05-01";
const LABEL: &str = "2026-05";
/// A query every loaded sample release answers.
const QUERY: &str = r#"{"original": "N020702-001", "policy": {"state": "TX"}}"#;

/// Runs one input (see the module documentation).
pub fn run(data: &[u8]) {
    let (selector, json) = split_selector(data);
    match selector % 11 {
        0 => context_new(json),
        1 => evaluate_request(json, false),
        2 => evaluate_request(json, true),
        3 => set_connectivity(json),
        4 => product_master(json),
        5 => set_packages(json),
        6 => subst_query(json, false),
        7 => subst_query(json, true),
        8 => directory(json),
        9 => resilience(json),
        _ => observe(json),
    }
}

/// The properties of every call's result.
fn check(result: pharm_result, call: &str) -> bool {
    assert_ne!(result, pharm_result::Panic, "{call} panicked");
    assert_ne!(result, pharm_result::Poisoned, "{call} poisoned a handle");
    let code = pharm_error_code();
    assert_eq!(
        result == pharm_result::Ok,
        code == 0,
        "{call}: result {result:?} with error code {code}"
    );
    result == pharm_result::Ok
}

/// The bytes of an output a successful call wrote; frees it.
fn take(bytes: *mut pharm_bytes, call: &str) -> Vec<u8> {
    assert!(!bytes.is_null(), "{call} succeeded without output");
    // SAFETY: `bytes` is a live `pharm_bytes` the call just wrote; its data is `len`
    // readable bytes until it is freed, which happens after the copy.
    unsafe {
        let data =
            std::slice::from_raw_parts(pharm_bytes_data(bytes), pharm_bytes_len(bytes)).to_vec();
        pharm_bytes_free(bytes);
        data
    }
}

/// A new context from `json`, or `None` (checked) when the call fails.
fn new_context(json: &[u8]) -> Option<*mut pharm_context> {
    let mut ctx = null_mut();
    // SAFETY: `json` is `len` readable bytes; `ctx` is a writable pointer.
    let result = unsafe { pharm_context_new(json.as_ptr(), json.len(), &mut ctx) };
    check(result, "pharm_context_new").then_some(ctx)
}

/// A context of the golden case (which must load).
fn golden_ffi_context() -> *mut pharm_context {
    match new_context(golden_case().0.as_bytes()) {
        Some(ctx) => ctx,
        None => panic!("the golden context does not load through the C ABI"),
    }
}

fn context_new(json: &[u8]) {
    let Some(ctx) = new_context(json) else {
        return;
    };
    let mut out = null_mut();
    // SAFETY: `ctx` is a live context; `out` a writable pointer.
    let result = unsafe { pharm_context_json(ctx, &mut out) };
    if check(result, "pharm_context_json") {
        let written = take(out, "pharm_context_json");
        if let Err(e) = parse_context(&written) {
            panic!("the context written back does not parse: {e}");
        }
    }
    // SAFETY: `ctx` is live and used no more.
    unsafe { pharm_context_free(ctx) };
}

fn evaluate_request(json: &[u8], compliance: bool) {
    let ctx = golden_ffi_context();
    let mut out = null_mut();
    // SAFETY: `ctx` is a live context, `json` `len` readable bytes, `out` writable.
    let result = unsafe {
        if compliance {
            pharm_context_check_compliance(ctx, json.as_ptr(), json.len(), &mut out)
        } else {
            pharm_context_evaluate(ctx, json.as_ptr(), json.len(), &mut out)
        }
    };
    // SAFETY: `ctx` is live and used no more.
    unsafe { pharm_context_free(ctx) };
    let call = if compliance {
        "pharm_context_check_compliance"
    } else {
        "pharm_context_evaluate"
    };
    if !check(result, call) {
        return;
    }
    let written = take(out, call);
    let decision = match parse_decision(&written) {
        Ok(decision) => decision,
        Err(e) => panic!("{call} wrote a decision that does not parse: {e}"),
    };
    if !compliance {
        match parse_request(json) {
            Ok(request) => assert_eq!(
                decision,
                evaluate(&request, golden_context()),
                "the C ABI and pharm-core decide differently"
            ),
            Err(e) => panic!("{call} took a request pharm-core refuses: {e}"),
        }
    }
}

fn set_connectivity(json: &[u8]) {
    let ctx = golden_ffi_context();
    // SAFETY: `ctx` is a live context not shared; `json` is `len` readable bytes.
    let result = unsafe { pharm_context_set_connectivity(ctx, json.as_ptr(), json.len()) };
    check(result, "pharm_context_set_connectivity");
    // SAFETY: `ctx` is live and used no more.
    unsafe { pharm_context_free(ctx) };
}

fn product_master(json: &[u8]) {
    let mut master = null_mut();
    // SAFETY: `json` is `len` readable bytes; `master` a writable pointer.
    let result = unsafe { pharm_product_master_new(json.as_ptr(), json.len(), &mut master) };
    if check(result, "pharm_product_master_new") {
        let mut n = 0usize;
        // SAFETY: `master` is live; `n` is writable.
        let result = unsafe { pharm_product_master_len(master, &mut n) };
        check(result, "pharm_product_master_len");
        // SAFETY: `master` is live and used no more.
        unsafe { pharm_product_master_free(master) };
    }
}

/// A service with the sample release (which must load).
fn sample_subst() -> *mut pharm_subst {
    let mut subst = null_mut();
    // SAFETY: every input is its given number of readable bytes; `subst` is writable.
    let result = unsafe {
        pharm_subst_new_from_bytes(
            PRODUCTS_SAMPLE.as_ptr(),
            PRODUCTS_SAMPLE.len(),
            RELEASED.as_ptr(),
            RELEASED.len(),
            LABEL.as_ptr(),
            LABEL.len(),
            45,
            &mut subst,
        )
    };
    assert!(
        check(result, "pharm_subst_new_from_bytes"),
        "the sample release does not load through the C ABI"
    );
    subst
}

/// Runs a substitutes (or explain) query; the written answer when it succeeds.
fn query(subst: *const pharm_subst, json: &[u8], explain: bool) -> Option<Vec<u8>> {
    let mut out = null_mut();
    // SAFETY: `subst` is a live service, `json` `len` readable bytes, `out` writable.
    let result = unsafe {
        if explain {
            pharm_subst_explain(subst, json.as_ptr(), json.len(), FRESH_MS, 0, &mut out)
        } else {
            pharm_subst_substitutes(subst, json.as_ptr(), json.len(), FRESH_MS, 0, &mut out)
        }
    };
    let call = if explain {
        "pharm_subst_explain"
    } else {
        "pharm_subst_substitutes"
    };
    check(result, call).then(|| take(out, call))
}

fn set_packages(json: &[u8]) {
    let subst = sample_subst();
    // SAFETY: `subst` is a live service; `json` is `len` readable bytes.
    let result = unsafe { pharm_subst_set_packages(subst, json.as_ptr(), json.len()) };
    check(result, "pharm_subst_set_packages");
    assert!(
        query(subst, QUERY.as_bytes(), false).is_some(),
        "the sample query fails after pharm_subst_set_packages"
    );
    // SAFETY: `subst` is live and used no more.
    unsafe { pharm_subst_free(subst) };
}

fn subst_query(json: &[u8], explain: bool) {
    let subst = sample_subst();
    if let Some(written) = query(subst, json, explain) {
        let parsed = if explain {
            serde_json::from_slice::<ExplainAnswer>(&written).map(drop)
        } else {
            serde_json::from_slice::<SubstitutionAnswer>(&written).map(drop)
        };
        if let Err(e) = parsed {
            panic!("the written answer does not read back: {e}");
        }
    }
    // SAFETY: `subst` is live and used no more.
    unsafe { pharm_subst_free(subst) };
}

fn directory(json: &[u8]) {
    let mut directory = null_mut();
    // SAFETY: `json` is `len` readable bytes; `directory` a writable pointer.
    let result = unsafe { pharm_directory_from_json(json.as_ptr(), json.len(), &mut directory) };
    if !check(result, "pharm_directory_from_json") {
        return;
    }
    for pharmacy in [0, 1, 42, 4242, u32::MAX] {
        let mut physical = 0u32;
        // SAFETY: `directory` is live; `physical` is writable.
        let result = unsafe { pharm_directory_route(directory, pharmacy, &mut physical) };
        check(result, "pharm_directory_route");
    }
    // SAFETY: `directory` is live and used no more.
    unsafe { pharm_directory_free(directory) };
}

fn resilience(json: &[u8]) {
    let name = b"fuzz";
    let mut policy = null_mut();
    // SAFETY: `name` and `json` are readable bytes of their lengths; `policy` is writable.
    let result = unsafe {
        pharm_resilience_from_json(
            name.as_ptr(),
            name.len(),
            json.as_ptr(),
            json.len(),
            0,
            &mut policy,
        )
    };
    if !check(result, "pharm_resilience_from_json") {
        return;
    }
    let mut state = MaybeUninit::<pharm_breaker_state>::uninit();
    // SAFETY: `policy` is live; `state` is writable.
    let result = unsafe { pharm_resilience_state(policy, state.as_mut_ptr()) };
    check(result, "pharm_resilience_state");
    let mut call = null_mut();
    // SAFETY: `policy` is live; `call` is writable.
    let result = unsafe { pharm_resilience_begin(policy, 1, &mut call) };
    if check(result, "pharm_resilience_begin") {
        // SAFETY: `call` is live and used no more.
        unsafe { pharm_resilience_call_free(call) };
    }
    // SAFETY: `policy` is live and used no more.
    unsafe { pharm_resilience_free(policy) };
}

fn observe(json: &[u8]) {
    let mut router = null_mut();
    // SAFETY: `router` is writable.
    let result = unsafe {
        pharm_read_router_new(
            PHARM_READ_ROUTER_DEFAULT_MAX_LAG_MS,
            PHARM_READ_ROUTER_DEFAULT_STALE_AFTER_MS,
            PHARM_READ_ROUTER_DEFAULT_HISTORY_CAPACITY,
            &mut router,
        )
    };
    assert!(check(result, "pharm_read_router_new"), "no router");
    let mut estimate = MaybeUninit::<pharm_lag_estimate>::uninit();
    // SAFETY: `router` is live and not shared; `json` is `len` readable bytes; `estimate`
    // is writable.
    let result = unsafe {
        pharm_read_router_observe(
            router,
            0,
            0,
            json.as_ptr(),
            json.len(),
            estimate.as_mut_ptr(),
        )
    };
    check(result, "pharm_read_router_observe");
    // SAFETY: `router` is live and used no more.
    unsafe { pharm_read_router_free(router) };
}
