//! `pharm_resilience` input: presets, configuration JSON, NULLs and poisoning.

use std::ptr::{null, null_mut};

use pharm_shard::ResilienceConfig;

use super::resilience::{S, begin, free, from_json, no_next, no_permit, preset, state};
use super::{assert_failed, oversized_json, take_bytes};
use crate::result::pharm_result;
use crate::*;

#[test]
fn presets_and_their_configuration() {
    for name in ["pmp-api", "insurance-api"] {
        let policy = preset(name, 5 * S);
        assert_eq!(state(policy), pharm_breaker_state::Closed);
        let mut out = null_mut();
        // SAFETY: the name's bytes and a writable output.
        let result = unsafe { pharm_resilience_preset_config(name.as_ptr(), name.len(), &mut out) };
        assert_eq!(result, pharm_result::Ok);
        let json = String::from_utf8(take_bytes(out)).unwrap();
        let expected = serde_json::to_string(&ResilienceConfig::preset(name).unwrap()).unwrap();
        assert_eq!(json, expected);
        let (result, from_json) = from_json(&json);
        assert_eq!(result, pharm_result::Ok);
        free(from_json);
        free(policy);
    }
    let mut policy = null_mut();
    let mut out = null_mut();
    // SAFETY: readable inputs of the given lengths (or NULL), writable outputs (or NULL).
    unsafe {
        for bad in ["pmp_api", "PMP-API", ""] {
            assert_failed(
                pharm_resilience_from_preset(bad.as_ptr(), bad.len(), 0, &mut policy),
                pharm_result::InvalidArgument,
                "ffi.invalid_argument",
            );
            assert_failed(
                pharm_resilience_preset_config(bad.as_ptr(), bad.len(), &mut out),
                pharm_result::InvalidArgument,
                "ffi.invalid_argument",
            );
        }
        let long = "p".repeat(257);
        assert_failed(
            pharm_resilience_from_preset(long.as_ptr(), long.len(), 0, &mut policy),
            pharm_result::InputTooLarge,
            "ffi.input_too_large",
        );
        assert_failed(
            pharm_resilience_from_preset(b"pmp-ap\xff".as_ptr(), 7, 0, &mut policy),
            pharm_result::InvalidUtf8,
            "ffi.invalid_utf8",
        );
        assert_failed(
            pharm_resilience_from_preset(null(), 7, 0, &mut policy),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            pharm_resilience_from_preset(b"pmp-api".as_ptr(), 7, 0, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            pharm_resilience_preset_config(b"pmp-api".as_ptr(), 7, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            pharm_resilience_preset_config(b"pmp-\xffpi".as_ptr(), 7, &mut out),
            pharm_result::InvalidUtf8,
            "ffi.invalid_utf8",
        );
    }
    assert!(policy.is_null() && out.is_null());
}

#[test]
fn bad_configurations_are_refused() {
    let good = serde_json::to_value(ResilienceConfig::pmp_api()).unwrap();
    let with = |pointer: &str, value: serde_json::Value| {
        let mut json = good.clone();
        *json.pointer_mut(pointer).unwrap() = value;
        json.to_string()
    };
    let mut no_budget = good.clone();
    no_budget.as_object_mut().unwrap().remove("budget");
    let cases = [
        (
            "{\"breaker\":".to_owned(),
            pharm_result::ShardError,
            "shard.json_syntax",
        ),
        (String::new(), pharm_result::ShardError, "shard.json_syntax"),
        (
            no_budget.to_string(),
            pharm_result::ShardError,
            "shard.json_invalid",
        ),
        (
            with(
                "/retry/backoff/Exponential",
                serde_json::json!({"base": {"secs": 1, "nanos": 0}, "cap": {"secs": 10, "nanos": 0}, "multiplier": 2, "factor": 3}),
            ),
            pharm_result::ShardError,
            "shard.json_invalid",
        ),
        (
            with("/retry/max_attempts", 101.into()),
            pharm_result::ShardError,
            "shard.resilience_config_retry",
        ),
        (
            with("/breaker/failure_rate_threshold", 0.into()),
            pharm_result::ShardError,
            "shard.resilience_config_breaker",
        ),
        (
            with("/breaker/sliding_window_size", 10_001.into()),
            pharm_result::ShardError,
            "shard.resilience_config_breaker",
        ),
        (
            with("/jitter_seed", "seven".into()),
            pharm_result::ShardError,
            "shard.json_invalid",
        ),
        (
            with("/budget/max_tokens", 0.into()),
            pharm_result::ShardError,
            "shard.resilience_config_budget",
        ),
        (
            with("/budget/ratio", (-1.0).into()),
            pharm_result::ShardError,
            "shard.resilience_config_budget",
        ),
    ];
    for (json, result, id) in cases {
        let (got, policy) = from_json(&json);
        assert_failed(got, result, id);
        assert!(policy.is_null());
    }
    let big = oversized_json();
    let good = good.to_string();
    let mut policy = null_mut();
    // SAFETY: readable inputs of the given lengths (or NULL), writable outputs (or NULL).
    unsafe {
        let make = |name: &[u8], json: &[u8], out: *mut *mut pharm_resilience| {
            pharm_resilience_from_json(name.as_ptr(), name.len(), json.as_ptr(), json.len(), 0, out)
        };
        assert_failed(
            make(b"x", &big, &mut policy),
            pharm_result::InputTooLarge,
            "ffi.input_too_large",
        );
        assert_failed(
            make(b"x", b"{\"breaker\xff\":1}", &mut policy),
            pharm_result::InvalidUtf8,
            "ffi.invalid_utf8",
        );
        assert_failed(
            make(b"\xff", good.as_bytes(), &mut policy),
            pharm_result::InvalidUtf8,
            "ffi.invalid_utf8",
        );
        assert_failed(
            make(b"x", good.as_bytes(), null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            pharm_resilience_from_json(b"x".as_ptr(), 1, null(), 9, 0, &mut policy),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            pharm_resilience_from_json(null(), 1, good.as_ptr(), good.len(), 0, &mut policy),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        // An empty name is a name.
        assert_eq!(
            pharm_resilience_from_json(null(), 0, good.as_ptr(), good.len(), 0, &mut policy),
            pharm_result::Ok
        );
    }
    free(policy);
}

#[test]
fn null_handles_and_outputs_are_reported() {
    let policy = preset("pmp-api", 0);
    let call = begin(policy, 0);
    let (mut permit, mut next, mut state) = (no_permit(), no_next(), pharm_breaker_state::Disabled);
    let mut out = null_mut();
    // SAFETY: NULL where the test says so, else live handles and writable outputs.
    unsafe {
        for result in [
            pharm_resilience_state(null(), &mut state),
            pharm_resilience_state(policy, null_mut()),
            pharm_resilience_begin(null(), 0, &mut out),
            pharm_resilience_begin(policy, 0, null_mut()),
            pharm_resilience_before_call(null_mut(), 0, &mut permit),
            pharm_resilience_before_call(call, 0, null_mut()),
            pharm_resilience_after_call(null_mut(), 0, 0, 0, 0, &mut next),
            pharm_resilience_after_call(call, 0, 0, 0, 0, null_mut()),
        ] {
            assert_failed(result, pharm_result::NullParameter, "ffi.null_parameter");
        }
        pharm_resilience_call_free(call);
    }
    assert!(out.is_null());
    free(policy);
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_panic_poisons_the_policy_and_its_operations() {
    use super::resilience::before;

    let policy = preset("pmp-api", 0);
    let (first, second) = (begin(policy, 0), begin(policy, 0));
    let (mut permit, mut next, mut state) = (no_permit(), no_next(), pharm_breaker_state::Disabled);
    let mut out = null_mut();
    // SAFETY: live handles and writable outputs; each handle freed once.
    unsafe {
        assert!(before(second, 0).permitted);
        pharm_test_panic_next_call();
        assert_failed(
            pharm_resilience_before_call(first, 0, &mut permit),
            pharm_result::Panic,
            "ffi.panic",
        );
        assert_eq!(permit, no_permit());
        for result in [
            pharm_resilience_before_call(first, 0, &mut permit),
            pharm_resilience_after_call(second, 0, 0, 0, 0, &mut next),
            pharm_resilience_state(policy, &mut state),
            pharm_resilience_begin(policy, 0, &mut out),
        ] {
            assert_failed(result, pharm_result::Poisoned, "ffi.poisoned");
        }
        assert!(out.is_null());
        pharm_resilience_call_free(first);
        pharm_resilience_call_free(second);
        pharm_resilience_free(policy);
    }
    // Another policy is not affected.
    let other = preset("pmp-api", 0);
    assert_eq!(self::state(other), pharm_breaker_state::Closed);
    free(other);
}
