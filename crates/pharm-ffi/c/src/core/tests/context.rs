//! `pharm_context`: construction, the per-sale setters, evaluate and the compliance checks.

use std::ptr::{null, null_mut};

use pharm_core::contract::MAX_DOCUMENT_BYTES;
use serde_json::{Value, json};

use super::{NOT_UTF8, failed, golden, take, take_json};
use crate::core::context::MAX_CONNECTIVITY_BYTES;
use crate::core::*;
use crate::output::pharm_bytes;
use crate::result::pharm_result::{self, *};

/// A context from JSON text; panics on failure.
fn new_context(json: &str) -> *mut pharm_context {
    let mut ctx = null_mut();
    // SAFETY: a live string and a writable out pointer.
    let result = unsafe { pharm_context_new(json.as_ptr(), json.len(), &mut ctx) };
    assert_eq!(result, Ok, "{}", super::detail().1);
    ctx
}

fn new_result(json: &[u8]) -> pharm_result {
    let mut ctx = null_mut();
    // SAFETY: a live buffer and a writable out pointer.
    let result = unsafe { pharm_context_new(json.as_ptr(), json.len(), &mut ctx) };
    assert!(ctx.is_null(), "no handle on failure");
    result
}

/// Evaluates `request` (bytes) in `ctx`: the result and the decision text, if any.
fn evaluate(ctx: *const pharm_context, request: &[u8]) -> (pharm_result, Option<String>) {
    let mut decision: *mut pharm_bytes = null_mut();
    // SAFETY: `ctx` is NULL or live; a live buffer; a writable out pointer.
    let result =
        unsafe { pharm_context_evaluate(ctx, request.as_ptr(), request.len(), &mut decision) };
    (result, (!decision.is_null()).then(|| take(decision)))
}

fn compliance(ctx: *const pharm_context, request: &[u8]) -> (pharm_result, Option<String>) {
    let mut decision: *mut pharm_bytes = null_mut();
    // SAFETY: as in `evaluate`.
    let result = unsafe {
        pharm_context_check_compliance(ctx, request.as_ptr(), request.len(), &mut decision)
    };
    (result, (!decision.is_null()).then(|| take(decision)))
}

fn context_json(ctx: *const pharm_context) -> Value {
    let mut out = null_mut();
    // SAFETY: a live context and a writable out pointer.
    assert_eq!(unsafe { pharm_context_json(ctx, &mut out) }, Ok);
    take_json(out)
}

fn set_connectivity(ctx: *mut pharm_context, json: &[u8]) -> pharm_result {
    // SAFETY: a live context used by this thread only; a live buffer.
    unsafe { pharm_context_set_connectivity(ctx, json.as_ptr(), json.len()) }
}

fn free(ctx: *mut pharm_context) {
    // SAFETY: a live context, freed once.
    unsafe { pharm_context_free(ctx) }
}

/// Milliseconds of a store-local `YYYY-MM-DDTHH:MM:SS`.
fn ms(text: &str) -> i64 {
    text.parse::<pharm_core::DateTime>().unwrap().to_unix_ms(0)
}

#[test]
fn evaluates_the_golden_refill_and_keeps_the_context() {
    let (context, request, decision) = golden("non-controlled refill allowed");
    let ctx = new_context(&context.to_string());
    assert_eq!(context_json(ctx), context);
    let (result, answer) = evaluate(ctx, request.to_string().as_bytes());
    assert_eq!(result, Ok);
    let answer = answer.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&answer).unwrap(), decision);
    // Pure: the same bytes again.
    assert_eq!(
        evaluate(ctx, request.to_string().as_bytes()).1.unwrap(),
        answer
    );
    assert_eq!(crate::pharm_error_code(), 0);
    free(ctx);
}

#[test]
fn concurrent_evaluations_share_one_context() {
    let (context, request, _) = golden("PSE over daily limit");
    let ctx = new_context(&context.to_string());
    let request = request.to_string();
    let expected = evaluate(ctx, request.as_bytes()).1.unwrap();
    // SAFETY: live until freed below, after every thread ended; `const` calls only.
    let shared: &pharm_context = unsafe { &*ctx };
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..20 {
                    let (result, answer) = evaluate(shared, request.as_bytes());
                    assert_eq!(result, Ok);
                    assert_eq!(answer.as_deref(), Some(expected.as_str()));
                }
            });
        }
    });
    free(ctx);
}

#[test]
fn construction_refuses_bad_input() {
    let (context, _, _) = golden("non-controlled refill allowed");
    let text = context.to_string();
    // SAFETY: NULL out pointer / NULL input with a length: reported, not dereferenced.
    unsafe {
        let result = pharm_context_new(text.as_ptr(), text.len(), null_mut());
        failed(result, NullParameter, "ffi.null_parameter");
        let mut ctx = null_mut();
        let result = pharm_context_new(null(), 10, &mut ctx);
        failed(result, NullParameter, "ffi.null_parameter");
        // NULL with length 0 is the empty document: not JSON.
        let result = pharm_context_new(null(), 0, &mut ctx);
        failed(result, CoreError, "core.contract_syntax");
        assert!(ctx.is_null());
    }
    failed(new_result(NOT_UTF8), InvalidUtf8, "ffi.invalid_utf8");
    let message = failed(
        new_result(&text.as_bytes()[..text.len() / 2]),
        CoreError,
        "core.contract_syntax",
    );
    assert!(message.contains("context is not valid JSON"), "{message}");
    assert_eq!(crate::pharm_error_code(), 1601);
    let mut unknown = context.clone();
    unknown["policy"]["cash_rts_pct"] = json!(75);
    let message = failed(
        new_result(unknown.to_string().as_bytes()),
        CoreError,
        "core.contract_invalid",
    );
    assert!(
        message.contains("unknown field `cash_rts_pct`"),
        "{message}"
    );
    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    failed(new_result(&big), InputTooLarge, "ffi.input_too_large");
}

#[test]
fn now_moves_the_evaluation_and_refuses_what_does_not_fit() {
    let (context, request, decision) = golden("cash refill too soon warns");
    assert_eq!(decision["outcome"], "warn");
    let ctx = new_context(&context.to_string());
    let request = request.to_string();
    // SAFETY: a live context used by this thread only.
    unsafe {
        assert_eq!(
            pharm_context_set_now(ctx, ms("2026-04-10T10:00:00") + 999),
            Ok
        );
    }
    assert_eq!(context_json(ctx)["now"], "2026-04-10T10:00:00");
    let later: Value = serde_json::from_str(&evaluate(ctx, request.as_bytes()).1.unwrap()).unwrap();
    assert_eq!(later["outcome"], "allow");

    let first = ms("1900-01-01T00:00:00");
    let last = ms("9999-12-31T23:59:59") + 999;
    for (value, accepted, now) in [
        (first, true, "1900-01-01T00:00:00"),
        (last, true, "9999-12-31T23:59:59"),
        (-1, true, "1969-12-31T23:59:59"),
        (first - 1, false, ""),
        (last + 1, false, ""),
        (i64::MIN, false, ""),
        (i64::MAX, false, ""),
    ] {
        // SAFETY: a live context used by this thread only.
        let result = unsafe { pharm_context_set_now(ctx, value) };
        if accepted {
            assert_eq!(result, Ok, "{value}");
            assert_eq!(context_json(ctx)["now"], now);
        } else {
            let message = failed(result, InvalidArgument, "ffi.invalid_argument");
            assert!(message.contains("store_local_unix_ms"), "{message}");
            assert_eq!(context_json(ctx)["now"], "1969-12-31T23:59:59", "unchanged");
        }
    }
    // SAFETY: NULL handles are reported, not dereferenced.
    unsafe {
        failed(
            pharm_context_set_now(null_mut(), 0),
            NullParameter,
            "ffi.null_parameter",
        );
    }
    free(ctx);
}

#[test]
fn connectivity_and_the_recall_feed_are_per_sale_state() {
    let (context, request, _) = golden("non-controlled refill allowed");
    let ctx = new_context(&context.to_string());
    let request = request.to_string();
    let offline = br#"{"state":"offline","since":"2026-03-10T08:00:00"}"#;
    assert_eq!(set_connectivity(ctx, offline), Ok);
    assert_eq!(
        context_json(ctx)["connectivity"],
        json!({"state": "offline", "since": "2026-03-10T08:00:00"})
    );
    let decision: Value =
        serde_json::from_str(&evaluate(ctx, request.as_bytes()).1.unwrap()).unwrap();
    assert_eq!(decision["offline"], true);

    for (bad, result, id) in [
        (
            &br#"{"state":"online","since":"2026-03-10T08:00:00"}"#[..],
            CoreError,
            "core.contract_invalid",
        ),
        (
            br#"{"state":"offline"}"#,
            CoreError,
            "core.contract_invalid",
        ),
        (
            br#"{"state":"elsewhere"}"#,
            CoreError,
            "core.contract_invalid",
        ),
        (br#"{"state":"online""#, CoreError, "core.contract_syntax"),
        (b"", CoreError, "core.contract_syntax"),
        (NOT_UTF8, InvalidUtf8, "ffi.invalid_utf8"),
    ] {
        let message = failed(set_connectivity(ctx, bad), result, id);
        if result == CoreError {
            assert!(message.starts_with("connectivity "), "{message}");
        }
    }
    let big = vec![b' '; MAX_CONNECTIVITY_BYTES + 1];
    failed(
        set_connectivity(ctx, &big),
        InputTooLarge,
        "ffi.input_too_large",
    );
    assert_eq!(
        context_json(ctx)["connectivity"]["state"],
        "offline",
        "unchanged"
    );
    assert_eq!(set_connectivity(ctx, br#" {"state":"online"} "#), Ok);
    assert_eq!(
        context_json(ctx)["connectivity"],
        json!({"state": "online"})
    );

    // SAFETY: a live context used by this thread only; NULL arguments are reported.
    unsafe {
        assert_eq!(
            pharm_context_set_recall_feed_as_of(ctx, ms("2026-03-09T07:30:00")),
            Ok
        );
        assert_eq!(
            context_json(ctx)["recall_feed_as_of"],
            "2026-03-09T07:30:00"
        );
        failed(
            pharm_context_set_recall_feed_as_of(ctx, i64::MAX),
            InvalidArgument,
            "ffi.invalid_argument",
        );
        assert_eq!(
            context_json(ctx)["recall_feed_as_of"],
            "2026-03-09T07:30:00"
        );
        assert_eq!(pharm_context_clear_recall_feed_as_of(ctx), Ok);
        assert_eq!(context_json(ctx)["recall_feed_as_of"], Value::Null);
        failed(
            pharm_context_set_recall_feed_as_of(null_mut(), 0),
            NullParameter,
            "ffi.null_parameter",
        );
        failed(
            pharm_context_clear_recall_feed_as_of(null_mut()),
            NullParameter,
            "ffi.null_parameter",
        );
        failed(
            pharm_context_set_connectivity(null_mut(), offline.as_ptr(), offline.len()),
            NullParameter,
            "ffi.null_parameter",
        );
        failed(
            pharm_context_set_connectivity(ctx, null(), 3),
            NullParameter,
            "ffi.null_parameter",
        );
        failed(
            pharm_context_json(ctx, null_mut()),
            NullParameter,
            "ffi.null_parameter",
        );
        failed(
            pharm_context_json(null(), null_mut()),
            NullParameter,
            "ffi.null_parameter",
        );
    }
    free(ctx);
}

#[test]
fn evaluate_refuses_bad_requests() {
    let (context, request, _) = golden("non-controlled refill allowed");
    let ctx = new_context(&context.to_string());
    let text = request.to_string();
    // SAFETY: NULL arguments are reported, not dereferenced.
    unsafe {
        let mut decision = null_mut();
        let result = pharm_context_evaluate(null(), text.as_ptr(), text.len(), &mut decision);
        failed(result, NullParameter, "ffi.null_parameter");
        let result = pharm_context_evaluate(ctx, text.as_ptr(), text.len(), null_mut());
        failed(result, NullParameter, "ffi.null_parameter");
        let result = pharm_context_evaluate(ctx, null(), 5, &mut decision);
        failed(result, NullParameter, "ffi.null_parameter");
        let result = pharm_context_evaluate(ctx, null(), 0, &mut decision);
        failed(result, CoreError, "core.contract_syntax");
        assert!(decision.is_null());
    }
    let check = |bytes: &[u8], result, id| {
        let (got, decision) = evaluate(ctx, bytes);
        assert!(decision.is_none());
        failed(got, result, id)
    };
    check(NOT_UTF8, InvalidUtf8, "ffi.invalid_utf8");
    check(&text.as_bytes()[..100], CoreError, "core.contract_syntax");
    let mut unknown = request.clone();
    unknown["dispensed"]["ntii"] = json!(true);
    let message = check(
        unknown.to_string().as_bytes(),
        CoreError,
        "core.contract_invalid",
    );
    assert!(message.contains("unknown field `ntii`"), "{message}");
    let mut version = request.clone();
    version["schema_version"] = json!(1);
    let message = check(
        version.to_string().as_bytes(),
        CoreError,
        "core.contract_invalid",
    );
    assert!(
        message.contains("schema_version 1 is not supported"),
        "{message}"
    );
    check(
        &vec![b' '; MAX_DOCUMENT_BYTES + 1],
        InputTooLarge,
        "ffi.input_too_large",
    );
    free(ctx);
}

#[test]
fn compliance_checks_take_compliance_and_end_of_day_requests_only() {
    for name in [
        "compliance: emergency follow-ups and PMP reports",
        "MN zero report",
    ] {
        let (context, request, decision) = golden(name);
        let ctx = new_context(&context.to_string());
        let (result, answer) = compliance(ctx, request.to_string().as_bytes());
        assert_eq!(result, Ok, "{name}");
        let answer: Value = serde_json::from_str(&answer.unwrap()).unwrap();
        assert_eq!(answer, decision, "{name}");
        free(ctx);
    }
    let (context, request, _) = golden("non-controlled refill allowed");
    let ctx = new_context(&context.to_string());
    let (result, answer) = compliance(ctx, request.to_string().as_bytes());
    assert!(answer.is_none());
    let message = failed(result, InvalidArgument, "ffi.invalid_argument");
    assert!(message.contains("\"compliance\""), "{message}");
    let (result, _) = compliance(ctx, NOT_UTF8);
    failed(result, InvalidUtf8, "ffi.invalid_utf8");
    let (result, _) = compliance(
        ctx,
        b"{\"type\":\"compliance\",\"schema_version\":2,\"x\":1}",
    );
    failed(result, CoreError, "core.contract_invalid");
    // SAFETY: NULL arguments are reported, not dereferenced.
    unsafe {
        let text = b"{}";
        let result = pharm_context_check_compliance(ctx, text.as_ptr(), 2, null_mut());
        failed(result, NullParameter, "ffi.null_parameter");
        let mut out = null_mut();
        let result = pharm_context_check_compliance(null(), text.as_ptr(), 2, &mut out);
        failed(result, NullParameter, "ffi.null_parameter");
    }
    free(ctx);
}

#[test]
fn free_null_does_nothing() {
    free(null_mut());
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_panic_poisons_the_context_and_only_free_still_works() {
    let (context, request, _) = golden("non-controlled refill allowed");
    let ctx = new_context(&context.to_string());
    let other = new_context(&context.to_string());
    let request = request.to_string();
    crate::pharm_test_panic_next_call();
    let (result, decision) = evaluate(ctx, request.as_bytes());
    assert!(decision.is_none());
    failed(result, Panic, "ffi.panic");
    let (result, _) = evaluate(ctx, request.as_bytes());
    failed(result, Poisoned, "ffi.poisoned");
    let (result, _) = compliance(ctx, request.as_bytes());
    failed(result, Poisoned, "ffi.poisoned");
    failed(
        set_connectivity(ctx, br#"{"state":"online"}"#),
        Poisoned,
        "ffi.poisoned",
    );
    // SAFETY: a live (poisoned) context used by this thread only.
    unsafe {
        failed(pharm_context_set_now(ctx, 0), Poisoned, "ffi.poisoned");
        failed(
            pharm_context_set_recall_feed_as_of(ctx, 0),
            Poisoned,
            "ffi.poisoned",
        );
        failed(
            pharm_context_clear_recall_feed_as_of(ctx),
            Poisoned,
            "ffi.poisoned",
        );
        let mut out = null_mut();
        failed(pharm_context_json(ctx, &mut out), Poisoned, "ffi.poisoned");
        assert!(out.is_null());
    }
    // Another context is untouched, and a panic in a setter poisons too.
    assert_eq!(evaluate(other, request.as_bytes()).0, Ok);
    crate::pharm_test_panic_next_call();
    // SAFETY: a live context used by this thread only.
    unsafe {
        failed(pharm_context_set_now(other, 0), Panic, "ffi.panic");
    }
    failed(
        evaluate(other, request.as_bytes()).0,
        Poisoned,
        "ffi.poisoned",
    );
    // A panic in the constructor leaves no handle.
    crate::pharm_test_panic_next_call();
    failed(
        new_result(context.to_string().as_bytes()),
        Panic,
        "ffi.panic",
    );
    free(ctx);
    free(other);
}
