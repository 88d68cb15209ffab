//! `pharm_resilience`: the circuit breaker, retry policy and retry budget of one
//! downstream, and `pharm_resilience_call`: one logical operation through it, driven with
//! the caller's time (the crate's sans-IO `Resilience` → `Call` → `Permit` → `Next`).

mod types;

pub use types::{
    PHARM_ERROR_KIND_PERMANENT, PHARM_ERROR_KIND_RETRYABLE, PHARM_ERROR_KIND_RETRYABLE_AFTER,
    PHARM_OUTCOME_FAILURE, PHARM_OUTCOME_NOT_COUNTED, PHARM_OUTCOME_SUCCESS, pharm_breaker_state,
    pharm_give_up_reason, pharm_next_action, pharm_resilience_next, pharm_resilience_permit,
};

use std::sync::Arc;
use std::time::Duration;

use pharm_core::time::duration_to_nanos;
use pharm_shard::resilience::{Call, Permit, Rejected};
use pharm_shard::{Next, Resilience, ResilienceConfig};

use super::fixed::Fixed;
use super::json::PHARM_SHARD_MAX_JSON_BYTES;
use crate::boundary::{self, Handle, Poison};
use crate::error::Failure;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

/// The longest policy name accepted.
const MAX_NAME_BYTES: usize = 256;

/// The policy and the poison flag it shares with its operations.
struct Shared {
    poison: Poison,
    policy: Resilience,
}

/// The resilience policy of one downstream (the crate's `Resilience`): a circuit breaker,
/// a retry policy and a retry budget shared by every operation begun from it. Made by
/// `pharm_resilience_from_preset()` or `pharm_resilience_from_json()`, freed with
/// `pharm_resilience_free()`.
///
/// Time: every `now_ns` is nanoseconds of one monotonic clock of the caller's, for the
/// policy and all its operations; the policy's time never goes backwards (an earlier
/// reading counts as the latest one seen).
///
/// Thread safety: internally locked. It may be shared by threads: `pharm_resilience_state()`
/// and `pharm_resilience_begin()` are safe concurrently, and operations begun from it may
/// run on different threads at once (each `pharm_resilience_call` one thread at a time).
/// A panic in any call on the policy or on one of its operations poisons the policy and
/// all its operations. The policy may be freed before its operations: they keep it alive.
pub struct pharm_resilience {
    shared: Arc<Shared>,
}

impl Handle for pharm_resilience {
    fn poison(&self) -> &Poison {
        &self.shared.poison
    }
}

/// One logical operation through a `pharm_resilience` (the crate's `Call`), across its
/// tries: `pharm_resilience_before_call()` before each try, `pharm_resilience_after_call()`
/// after it. Made by `pharm_resilience_begin()`, freed with `pharm_resilience_call_free()`
/// (which gives back the breaker's permit of a try that was never reported).
///
/// Thread safety: one thread at a time (every call takes a `pharm_resilience_call *`); it
/// may move between threads.
pub struct pharm_resilience_call {
    // Fields drop in declaration order: `permit` and `call` borrow the policy inside
    // `shared` and must be dropped before it.
    permit: Option<Permit<'static>>,
    call: Call<'static>,
    ended: bool,
    shared: Arc<Shared>,
}

impl Handle for pharm_resilience_call {
    fn poison(&self) -> &Poison {
        &self.shared.poison
    }
}

fn preset(name: &str) -> Result<ResilienceConfig, Failure> {
    ResilienceConfig::preset(name).ok_or_else(|| {
        Failure::invalid(
            "name",
            format!(
                "{name:?} is not a preset (\"{}\" or \"{}\")",
                ResilienceConfig::PMP_API,
                ResilienceConfig::INSURANCE_API
            ),
        )
    })
}

fn handle(policy: Resilience) -> pharm_resilience {
    pharm_resilience {
        shared: Arc::new(Shared {
            poison: Poison::default(),
            policy,
        }),
    }
}

/// Makes the policy of a preset downstream, named after it: `pmp-api` (the design's
/// pmp-api breaker, 3 tries exponential from 1 s with 10 s per try) or `insurance-api`
/// (its breaker, 3 tries exponential from 2 s with 30 s per try), each with a retry budget
/// of 20 % and 10 retries/s. `name` is UTF-8, at most 256 bytes; another name is
/// `PHARM_RESULT_INVALID_ARGUMENT`. The policy's time starts at `now_ns`.
///
/// On success `*out` receives a new policy the caller frees with
/// `pharm_resilience_free()`; on failure `*out` is not written.
///
/// # Safety
/// `name` must point to `len` readable bytes (or be NULL with `len` 0); `out` must be
/// NULL or point to a writable `pharm_resilience *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_resilience_from_preset(
    name: *const u8,
    len: usize,
    now_ns: u64,
    out: *mut *mut pharm_resilience,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract is this function's.
        let name = unsafe { input::text(name, len, "name", MAX_NAME_BYTES) }?;
        let config = preset(name)?;
        let policy = Resilience::new(name, config, Duration::from_nanos(now_ns))?;
        out.set(handle(policy));
        Ok(())
    })
}

/// Makes a policy from the crate's JSON `ResilienceConfig`: `{"breaker": a
/// CircuitBreakerConfig, "retry": a RetryPolicy, "budget": {"ratio",
/// "min_retries_per_sec", "max_tokens"}, "jitter_seed"}` (every part required; durations
/// as `{"secs", "nanos"}`; `pharm_resilience_preset_config()` writes a complete example).
/// `name` (UTF-8, at most 256 bytes) names the breaker in messages. The policy's time
/// starts at `now_ns`.
///
/// `json` is UTF-8, at most `PHARM_SHARD_MAX_JSON_BYTES`. Malformed JSON is
/// `shard.json_syntax`; an unknown field in any object, a missing field or a wrong type is
/// `shard.json_invalid`; an invalid part has its own code, as for a preset:
/// `shard.resilience_config_breaker`, `shard.resilience_config_retry` or
/// `shard.resilience_config_budget`.
///
/// On success `*out` receives a new policy the caller frees with
/// `pharm_resilience_free()`; on failure `*out` is not written.
///
/// # Safety
/// `name` must point to `name_len` readable bytes and `json` to `len` readable bytes (each
/// may be NULL with length 0); `out` must be NULL or point to a writable
/// `pharm_resilience *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_resilience_from_json(
    name: *const u8,
    name_len: usize,
    json: *const u8,
    len: usize,
    now_ns: u64,
    out: *mut *mut pharm_resilience,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract is this function's.
        let name = unsafe { input::text(name, name_len, "name", MAX_NAME_BYTES) }?;
        // SAFETY: the caller's contract is this function's.
        let text = unsafe { input::text(json, len, "json", PHARM_SHARD_MAX_JSON_BYTES) }?;
        let config = ResilienceConfig::from_json(text)?;
        let policy = Resilience::new(name, config, Duration::from_nanos(now_ns))?;
        out.set(handle(policy));
        Ok(())
    })
}

/// Writes the JSON `ResilienceConfig` of a preset (`pmp-api` or `insurance-api`, as for
/// `pharm_resilience_from_preset()`) to `*out`, a starting point for
/// `pharm_resilience_from_json()`. The caller frees `*out` with `pharm_bytes_free()`.
///
/// # Safety
/// `name` must point to `len` readable bytes (or be NULL with `len` 0); `out` must be
/// NULL or point to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_resilience_preset_config(
    name: *const u8,
    len: usize,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract is this function's.
        let name = unsafe { input::text(name, len, "name", MAX_NAME_BYTES) }?;
        let json =
            serde_json::to_vec(&preset(name)?).map_err(|error| Failure::invalid("name", error))?;
        out.set_bytes(json);
        Ok(())
    })
}

/// Writes the breaker's state to `*state`, at the latest time the policy has seen (a
/// time-driven transition that is due by then is applied first).
///
/// # Safety
/// `policy` must be NULL or a live `pharm_resilience`; `state` must be NULL or point to a
/// writable `pharm_breaker_state`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_resilience_state(
    policy: *const pharm_resilience,
    state: *mut pharm_breaker_state,
) -> pharm_result {
    let body = |policy: &pharm_resilience| -> Result<(), Failure> {
        let out = Fixed::new(state, "state")?;
        out.set(policy.shared.policy.breaker().state().into());
        Ok(())
    };
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::call_with(policy, "policy", body) }
}

/// Begins one logical operation at `now_ns` (its first try earns the retry budget its
/// deposit). `*out` receives the operation, which the caller frees with
/// `pharm_resilience_call_free()` when done; on failure `*out` is not written.
///
/// # Safety
/// `policy` must be NULL or a live `pharm_resilience`; `out` must be NULL or point to a
/// writable `pharm_resilience_call *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_resilience_begin(
    policy: *const pharm_resilience,
    now_ns: u64,
    out: *mut *mut pharm_resilience_call,
) -> pharm_result {
    let body = |policy: &pharm_resilience| -> Result<(), Failure> {
        let out = Out::new(out, "out")?;
        let shared = Arc::clone(&policy.shared);
        // SAFETY: the operation keeps `shared` (this Arc) alive for as long as it holds
        // the `Call` and any `Permit`, which are declared before it and so dropped
        // first; the `Resilience` inside is never moved or mutably borrowed (an Arc
        // hands out shared references only); the 'static borrow stays in the
        // operation's private fields.
        let resilience: &'static Resilience = unsafe { &(*Arc::as_ptr(&shared)).policy };
        let call = resilience.begin(Duration::from_nanos(now_ns));
        out.set(pharm_resilience_call {
            permit: None,
            call,
            ended: false,
            shared,
        });
        Ok(())
    };
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::call_with(policy, "policy", body) }
}

/// Asks the breaker for the operation's next try at `now_ns` and writes the answer to
/// `*out`: permitted (with the try's number and time limit), or rejected (with the state
/// and, when OPEN, the time until a probe is let through). A rejection is not an error:
/// the call returns `PHARM_RESULT_OK`.
///
/// A permitted try must be reported with `pharm_resilience_after_call()` before the next
/// one is asked for; asking again first, or asking after the operation has ended, is
/// `PHARM_RESULT_INVALID_ARGUMENT`.
///
/// # Safety
/// `call` must be NULL or a live `pharm_resilience_call` no other thread uses during the
/// call; `out` must be NULL or point to a writable `pharm_resilience_permit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_resilience_before_call(
    call: *mut pharm_resilience_call,
    now_ns: u64,
    out: *mut pharm_resilience_permit,
) -> pharm_result {
    let body = |call: &mut pharm_resilience_call| -> Result<(), Failure> {
        let out = Fixed::new(out, "out")?;
        if call.ended {
            return Err(Failure::invalid(
                "call",
                "the operation has ended (it returned or gave up); begin a new one",
            ));
        }
        if call.permit.is_some() {
            return Err(Failure::invalid(
                "call",
                "a try is in progress; report it with pharm_resilience_after_call() first",
            ));
        }
        let answer = match call.call.before_call(Duration::from_nanos(now_ns)) {
            Ok(permit) => {
                let attempt = permit.attempt();
                call.permit = Some(permit);
                pharm_resilience_permit {
                    permitted: true,
                    attempt: attempt.number,
                    timeout_ns: duration_to_nanos(attempt.timeout),
                    state: call.shared.policy.breaker().state().into(),
                    retry_after_ns: 0,
                }
            }
            Err(Rejected { not_permitted }) => pharm_resilience_permit {
                permitted: false,
                attempt: 0,
                timeout_ns: 0,
                state: not_permitted.state().into(),
                retry_after_ns: not_permitted.retry_after().map_or(0, duration_to_nanos),
            },
        };
        out.set(answer);
        Ok(())
    };
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::call_with_mut(call, "call", body) }
}

/// Reports how the permitted try ended at `now_ns` and writes what to do next to `*out`:
/// return, retry after a wait, or give up (after a failure the breaker records it first;
/// if that opened the breaker the operation gives up without spending budget; otherwise
/// the retry policy and the budget decide).
///
/// `outcome` is `PHARM_OUTCOME_SUCCESS`, `PHARM_OUTCOME_FAILURE` or
/// `PHARM_OUTCOME_NOT_COUNTED`; for the two failures `error_kind` is
/// `PHARM_ERROR_KIND_RETRYABLE`, `_RETRYABLE_AFTER` (with the server's hint in
/// `retry_after_ns`) or `_PERMANENT`; `error_kind` and `retry_after_ns` are not read for a
/// success. An unknown value, or no try in progress, is `PHARM_RESULT_INVALID_ARGUMENT`
/// (and the try stays in progress).
///
/// # Safety
/// `call` must be NULL or a live `pharm_resilience_call` no other thread uses during the
/// call; `out` must be NULL or point to a writable `pharm_resilience_next`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_resilience_after_call(
    call: *mut pharm_resilience_call,
    outcome: u32,
    error_kind: u32,
    retry_after_ns: u64,
    now_ns: u64,
    out: *mut pharm_resilience_next,
) -> pharm_result {
    let body = |call: &mut pharm_resilience_call| -> Result<(), Failure> {
        let out = Fixed::new(out, "out")?;
        let outcome = types::outcome(outcome, error_kind, retry_after_ns)?;
        let permit = call.permit.take().ok_or_else(|| {
            Failure::invalid(
                "call",
                "no try in progress; ask for one with pharm_resilience_before_call()",
            )
        })?;
        let next = call
            .call
            .after_call(permit, outcome, Duration::from_nanos(now_ns));
        call.ended = !matches!(next, Next::RetryAfter(_));
        out.set(next.into());
        Ok(())
    };
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::call_with_mut(call, "call", body) }
}

/// Frees an operation; a try that was permitted but never reported gives its breaker
/// permit back (recording nothing). `pharm_resilience_call_free(NULL)` does nothing; works
/// on a poisoned operation; using it afterwards is undefined.
///
/// # Safety
/// `call` must be NULL or a `pharm_resilience_call` from this library, not yet freed and
/// not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_resilience_call_free(call: *mut pharm_resilience_call) {
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::free(call) }
}

/// Frees a policy; operations begun from it stay usable (they keep it alive) until they
/// are freed. `pharm_resilience_free(NULL)` does nothing; works on a poisoned policy;
/// using the policy afterwards is undefined.
///
/// # Safety
/// `policy` must be NULL or a `pharm_resilience` from this library, not yet freed and not
/// in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_resilience_free(policy: *mut pharm_resilience) {
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::free(policy) }
}
