//! `pharm_resilience` and `pharm_resilience_call`: presets, configuration JSON, the
//! before/after protocol, retries and the breaker, ownership and poisoning.

use std::ptr::null_mut;

use pharm_shard::ResilienceConfig;

use super::assert_failed;
use crate::result::pharm_result;
use crate::*;

const MS: u64 = 1_000_000;
pub(super) const S: u64 = 1_000 * MS;

pub(super) fn no_permit() -> pharm_resilience_permit {
    pharm_resilience_permit {
        permitted: false,
        attempt: u32::MAX,
        timeout_ns: u64::MAX,
        state: pharm_breaker_state::Disabled,
        retry_after_ns: u64::MAX,
    }
}

pub(super) fn no_next() -> pharm_resilience_next {
    pharm_resilience_next {
        action: pharm_next_action::Return,
        give_up: pharm_give_up_reason::None,
        wait_ns: u64::MAX,
    }
}

pub(super) fn preset(name: &str, now: u64) -> *mut pharm_resilience {
    let mut policy = null_mut();
    // SAFETY: the name's bytes and a writable output.
    let result =
        unsafe { pharm_resilience_from_preset(name.as_ptr(), name.len(), now, &mut policy) };
    assert_eq!(result, pharm_result::Ok, "{}", super::last_message());
    policy
}

pub(super) fn from_json(json: &str) -> (pharm_result, *mut pharm_resilience) {
    let mut policy = null_mut();
    // SAFETY: the inputs' bytes and a writable output.
    let result = unsafe {
        pharm_resilience_from_json(b"x".as_ptr(), 1, json.as_ptr(), json.len(), 0, &mut policy)
    };
    (result, policy)
}

pub(super) fn begin(policy: *const pharm_resilience, now: u64) -> *mut pharm_resilience_call {
    let mut call = null_mut();
    // SAFETY: a live policy and a writable output.
    let result = unsafe { pharm_resilience_begin(policy, now, &mut call) };
    assert_eq!(result, pharm_result::Ok);
    call
}

pub(super) fn before(call: *mut pharm_resilience_call, now: u64) -> pharm_resilience_permit {
    let mut permit = no_permit();
    // SAFETY: a live operation and a writable output.
    let result = unsafe { pharm_resilience_before_call(call, now, &mut permit) };
    assert_eq!(result, pharm_result::Ok, "{}", super::last_message());
    permit
}

pub(super) fn after(
    call: *mut pharm_resilience_call,
    outcome: u32,
    kind: u32,
    hint: u64,
    now: u64,
) -> pharm_resilience_next {
    let mut next = no_next();
    // SAFETY: a live operation and a writable output.
    let result = unsafe { pharm_resilience_after_call(call, outcome, kind, hint, now, &mut next) };
    assert_eq!(result, pharm_result::Ok, "{}", super::last_message());
    next
}

pub(super) fn state(policy: *const pharm_resilience) -> pharm_breaker_state {
    let mut state = pharm_breaker_state::Disabled;
    // SAFETY: a live policy and a writable output.
    let result = unsafe { pharm_resilience_state(policy, &mut state) };
    assert_eq!(result, pharm_result::Ok);
    state
}

/// One operation of one try at `now` with `outcome`.
fn one_try(
    policy: *const pharm_resilience,
    outcome: u32,
    now: u64,
) -> (pharm_resilience_permit, pharm_resilience_next) {
    let call = begin(policy, now);
    let permit = before(call, now);
    let next = if permit.permitted {
        after(call, outcome, PHARM_ERROR_KIND_RETRYABLE, 0, now)
    } else {
        no_next()
    };
    // SAFETY: a live operation, freed once.
    unsafe { pharm_resilience_call_free(call) };
    (permit, next)
}

pub(super) fn free(policy: *mut pharm_resilience) {
    // SAFETY: a live policy, freed once.
    unsafe { pharm_resilience_free(policy) };
}

#[test]
fn the_protocol_is_enforced() {
    let policy = preset("pmp-api", 0);
    let call = begin(policy, 0);
    let mut next = no_next();
    // SAFETY: a live operation and writable outputs.
    unsafe {
        assert_failed(
            pharm_resilience_after_call(call, PHARM_OUTCOME_SUCCESS, 0, 0, 0, &mut next),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        let mut permit = before(call, 0);
        assert!(permit.permitted);
        assert_eq!((permit.attempt, permit.timeout_ns), (1, 10 * S));
        assert_eq!(permit.state, pharm_breaker_state::Closed);
        assert_failed(
            pharm_resilience_before_call(call, 0, &mut permit),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        // Unknown values are refused and the try stays in progress.
        for (outcome, kind) in [
            (3, 0),
            (u32::MAX, 0),
            (PHARM_OUTCOME_FAILURE, 3),
            (PHARM_OUTCOME_NOT_COUNTED, 9),
        ] {
            assert_failed(
                pharm_resilience_after_call(call, outcome, kind, 0, 0, &mut next),
                pharm_result::InvalidArgument,
                "ffi.invalid_argument",
            );
        }
        assert_eq!(next, no_next(), "not written on failure");
        // The error kind is not read for a success.
        next = after(call, PHARM_OUTCOME_SUCCESS, 99, 0, 20 * MS);
        assert_eq!(next.action, pharm_next_action::Return);
        assert_eq!(
            (next.give_up, next.wait_ns),
            (pharm_give_up_reason::None, 0)
        );
        assert_failed(
            pharm_resilience_before_call(call, 30 * MS, &mut permit),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        assert!(super::last_message().contains("ended"));
        pharm_resilience_call_free(call);
    }
    free(policy);
}

#[test]
fn retries_follow_the_policy_and_the_hints() {
    let policy = preset("pmp-api", 0);
    // A Retry-After hint longer than the backoff is honoured.
    let call = begin(policy, 0);
    assert!(before(call, 0).permitted);
    let next = after(
        call,
        PHARM_OUTCOME_FAILURE,
        PHARM_ERROR_KIND_RETRYABLE_AFTER,
        5 * S,
        100 * MS,
    );
    assert_eq!(next.action, pharm_next_action::RetryAfter);
    assert!(next.wait_ns >= 5 * S, "{}", next.wait_ns);
    let permit = before(call, 100 * MS + next.wait_ns);
    assert_eq!(permit.attempt, 2);
    // A hint past the deadline ends the retries.
    let next = after(
        call,
        PHARM_OUTCOME_FAILURE,
        PHARM_ERROR_KIND_RETRYABLE_AFTER,
        60 * S,
        6 * S,
    );
    assert_eq!(
        (next.action, next.give_up),
        (
            pharm_next_action::GiveUp,
            pharm_give_up_reason::DeadlineWouldPass
        )
    );
    // SAFETY: a live operation, freed once.
    unsafe { pharm_resilience_call_free(call) };

    // A permanent error is not retried, counted or not.
    for outcome in [PHARM_OUTCOME_FAILURE, PHARM_OUTCOME_NOT_COUNTED] {
        let call = begin(policy, 10 * S);
        assert!(before(call, 10 * S).permitted);
        let next = after(call, outcome, PHARM_ERROR_KIND_PERMANENT, 0, 10 * S);
        assert_eq!(
            (next.action, next.give_up),
            (
                pharm_next_action::GiveUp,
                pharm_give_up_reason::NotRetryable
            )
        );
        // SAFETY: a live operation, freed once.
        unsafe { pharm_resilience_call_free(call) };
    }
    free(policy);

    // An empty budget stops the first retry.
    let mut config = serde_json::to_value(ResilienceConfig::pmp_api()).unwrap();
    config["budget"] = serde_json::json!({"ratio": 0.0, "min_retries_per_sec": 0, "max_tokens": 1});
    let (result, policy) = from_json(&config.to_string());
    assert_eq!(result, pharm_result::Ok);
    let (_, next) = one_try(policy, PHARM_OUTCOME_FAILURE, 0);
    assert_eq!(
        (next.action, next.give_up),
        (
            pharm_next_action::GiveUp,
            pharm_give_up_reason::BudgetExhausted
        )
    );
    free(policy);
}

#[test]
fn the_breaker_opens_rejects_and_counts_only_counted_failures() {
    let policy = preset("pmp-api", 0);
    // Ten failures that say nothing about the downstream's health do not open it.
    for i in 0..10 {
        one_try(policy, PHARM_OUTCOME_NOT_COUNTED, i * MS);
    }
    assert_eq!(state(policy), pharm_breaker_state::Closed);
    // Ten counted ones do; the tenth gives up without a retry.
    let mut last = no_next();
    for i in 0..10 {
        last = one_try(policy, PHARM_OUTCOME_FAILURE, S + i * MS).1;
    }
    assert_eq!(
        (last.action, last.give_up),
        (pharm_next_action::GiveUp, pharm_give_up_reason::BreakerOpen)
    );
    assert_eq!(state(policy), pharm_breaker_state::Open);
    let opened = S + 9 * MS;
    let (permit, _) = one_try(policy, PHARM_OUTCOME_SUCCESS, opened + S);
    assert!(!permit.permitted);
    assert_eq!(permit.state, pharm_breaker_state::Open);
    assert_eq!(permit.retry_after_ns, 29 * S);
    assert_eq!((permit.attempt, permit.timeout_ns), (0, 0));

    // After the wait: three probes. A probe whose operation is freed unreported gives its
    // slot back, so three more can still be taken, and not a fourth.
    let probe = begin(policy, opened + 31 * S);
    let permit = before(probe, opened + 31 * S);
    assert!(permit.permitted);
    assert_eq!(permit.state, pharm_breaker_state::HalfOpen);
    // SAFETY: a live operation, freed once.
    unsafe { pharm_resilience_call_free(probe) };
    let probes: Vec<_> = (0..4).map(|_| begin(policy, opened + 32 * S)).collect();
    let permits: Vec<_> = probes
        .iter()
        .map(|&call| before(call, opened + 32 * S))
        .collect();
    assert_eq!(
        permits
            .iter()
            .map(|permit| permit.permitted)
            .collect::<Vec<_>>(),
        [true, true, true, false]
    );
    assert_eq!(permits[3].state, pharm_breaker_state::HalfOpen);
    for &call in &probes[..3] {
        assert_eq!(
            after(call, PHARM_OUTCOME_SUCCESS, 0, 0, opened + 33 * S).action,
            pharm_next_action::Return
        );
    }
    assert_eq!(state(policy), pharm_breaker_state::Closed);
    for call in probes {
        // SAFETY: live operations, each freed once.
        unsafe { pharm_resilience_call_free(call) };
    }
    free(policy);
}

#[test]
fn operations_outlive_their_policy() {
    let policy = preset("insurance-api", 0);
    let call = begin(policy, 0);
    free(policy);
    assert!(before(call, S).permitted);
    assert_eq!(
        after(call, PHARM_OUTCOME_SUCCESS, 0, 0, 2 * S).action,
        pharm_next_action::Return
    );
    // SAFETY: a live operation, freed once; NULL frees nothing.
    unsafe {
        pharm_resilience_call_free(call);
        pharm_resilience_call_free(null_mut());
        pharm_resilience_free(null_mut());
    }
}

#[test]
fn a_policy_is_shared_by_threads() {
    let policy = preset("pmp-api", 0) as usize;
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            scope.spawn(move || {
                for i in 0..200u64 {
                    let (permit, next) = one_try(
                        policy as *const pharm_resilience,
                        PHARM_OUTCOME_SUCCESS,
                        (t * 200 + i) * MS,
                    );
                    assert!(permit.permitted);
                    assert_eq!(next.action, pharm_next_action::Return);
                }
            });
        }
    });
    assert_eq!(
        state(policy as *const pharm_resilience),
        pharm_breaker_state::Closed
    );
    free(policy as *mut pharm_resilience);
}

#[test]
fn the_handles_may_move_between_threads() {
    fn shared<T: Send + Sync>() {}
    fn sent<T: Send>() {}
    shared::<pharm_shard::Resilience>();
    shared::<pharm_shard::ShardMap>();
    sent::<pharm_shard::ReadRouter>();
    sent::<pharm_shard::resilience::Call<'static>>();
    sent::<pharm_shard::resilience::Permit<'static>>();
}
