//! The `pharm_context` handle: the Context of the JSON contract, `evaluate` and the
//! compliance checks.

use pharm_core::contract::{MAX_DOCUMENT_BYTES, parse_context, parse_request_str};
use pharm_core::rules::{Connectivity, Context, Request, evaluate};
use pharm_core::time::DateTime;

use super::json;
use crate::boundary::{self, Handle, Poison};
use crate::error::Failure;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

/// Largest connectivity document `pharm_context_set_connectivity()` accepts, in bytes.
pub(crate) const MAX_CONNECTIVITY_BYTES: usize = 4096;

/// The dispensing context of one store: the contract's Context (state profile, store
/// policy, pharmacy, the store-local time, connectivity, the recall feed's freshness).
///
/// Make it with `pharm_context_new()`, free it with `pharm_context_free()`. Profile, policy
/// and pharmacy are fixed for its life; the time, connectivity and recall-feed time change
/// from one sale to the next through the `pharm_context_set_*` calls.
///
/// Threads: the calls taking `const pharm_context *` (`pharm_context_evaluate()`,
/// `pharm_context_check_compliance()`, `pharm_context_json()`) may run concurrently on
/// several threads; the setters take `pharm_context *` and need the handle to themselves
/// (no other call on it at the same time). The handle may be moved between threads.
#[derive(Debug)]
pub struct pharm_context {
    poison: Poison,
    context: Context,
}

impl Handle for pharm_context {
    fn poison(&self) -> &Poison {
        &self.poison
    }
}

/// The store-local timestamp of `ms` store-local Unix milliseconds, refusing values
/// outside 1900-01-01T00:00:00..=9999-12-31T23:59:59.999 (which would saturate).
fn store_local_time(ms: i64, argument: &str) -> Result<DateTime, Failure> {
    let first = DateTime::MIN.to_unix_ms(0);
    let last = DateTime::MAX.to_unix_ms(0).saturating_add(999);
    if !(first..=last).contains(&ms) {
        return Err(Failure::invalid(
            argument,
            format!(
                "{ms} ms is outside the supported store-local times {} ({first}) to {} ({last})",
                DateTime::MIN,
                DateTime::MAX
            ),
        ));
    }
    Ok(DateTime::from_unix_ms(ms, 0))
}

/// Makes a context from the contract's Context JSON (`context.schema.json`: `now`,
/// `profile`, and optionally `policy`, `pharmacy`, `connectivity`, `recall_feed_as_of`),
/// at most 4 MiB, unknown fields refused. An omitted `recall_feed_as_of` means the recall
/// feed was never loaded (lot-status checks then warn). On success `*out` receives a new
/// handle the caller frees with `pharm_context_free()`.
///
/// Errors: `PHARM_RESULT_NULL_PARAMETER` (`out`, or `context_json` with a non-zero
/// `len`), `PHARM_RESULT_INVALID_UTF8`, `PHARM_RESULT_INPUT_TOO_LARGE`,
/// `PHARM_RESULT_CORE_ERROR` with `core.contract_syntax` or `core.contract_invalid`.
///
/// # Safety
/// `context_json` points to `len` readable bytes (or is NULL with `len` 0); `out` is NULL
/// or points to a writable `pharm_context *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_context_new(
    context_json: *const u8,
    len: usize,
    out: *mut *mut pharm_context,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `len` readable bytes or NULL (caller's contract).
        let text = unsafe { input::text(context_json, len, "context_json", MAX_DOCUMENT_BYTES) }?;
        let context = parse_context(text)?;
        out.set(pharm_context {
            poison: Poison::default(),
            context,
        });
        Ok(())
    })
}

/// Frees a context. `pharm_context_free(NULL)` does nothing; works on a poisoned context;
/// using the context afterwards, or freeing it twice, is undefined.
///
/// # Safety
/// `ctx` is NULL or a context from `pharm_context_new()` not yet freed and not in use by
/// another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_context_free(ctx: *mut pharm_context) {
    // SAFETY: NULL or a context not yet freed nor shared (caller's contract).
    unsafe { boundary::free(ctx) }
}

/// Sets the store-local time of the next evaluations (the context's `now`; today is its
/// date): milliseconds since 1970-01-01T00:00:00 on the store's wall clock, i.e. UTC Unix
/// milliseconds plus the store's UTC offset, rounded down to the second. Values before
/// 1900-01-01T00:00:00 or after 9999-12-31T23:59:59.999 are
/// `PHARM_RESULT_INVALID_ARGUMENT` and leave the context unchanged. The recall feed's
/// time does not move with it: report each refresh of the feed with
/// `pharm_context_set_recall_feed_as_of()`.
///
/// Needs the context to itself (no concurrent call on it). Errors:
/// `PHARM_RESULT_NULL_PARAMETER`, `PHARM_RESULT_POISONED`, `PHARM_RESULT_INVALID_ARGUMENT`.
///
/// # Safety
/// `ctx` is NULL or a live context not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_context_set_now(
    ctx: *mut pharm_context,
    store_local_unix_ms: i64,
) -> pharm_result {
    let body = |ctx: &mut pharm_context| {
        ctx.context.now = store_local_time(store_local_unix_ms, "store_local_unix_ms")?;
        Ok(())
    };
    // SAFETY: `ctx` is NULL or live and not shared during the call (caller's contract).
    unsafe { boundary::call_with_mut(ctx, "ctx", body) }
}

/// Sets the cloud connectivity from the contract's Connectivity JSON:
/// `{"state":"online"}` or `{"state":"offline","since":"2026-03-10T08:00:00"}` (store-local
/// time the connection was lost), at most 4096 bytes, unknown fields refused. On failure
/// the context is unchanged.
///
/// Needs the context to itself (no concurrent call on it).
///
/// Errors: `PHARM_RESULT_NULL_PARAMETER` (`ctx`, or `connectivity_json` with a non-zero
/// `len`), `PHARM_RESULT_POISONED`, `PHARM_RESULT_INVALID_UTF8`,
/// `PHARM_RESULT_INPUT_TOO_LARGE`, `PHARM_RESULT_CORE_ERROR` with `core.contract_syntax`
/// or `core.contract_invalid`.
///
/// # Safety
/// `ctx` is NULL or a live context not used by another thread during the call;
/// `connectivity_json` points to `len` readable bytes (or is NULL with `len` 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_context_set_connectivity(
    ctx: *mut pharm_context,
    connectivity_json: *const u8,
    len: usize,
) -> pharm_result {
    let body = |ctx: &mut pharm_context| {
        // SAFETY: `len` readable bytes or NULL (caller's contract).
        let text = unsafe {
            input::text(
                connectivity_json,
                len,
                "connectivity_json",
                MAX_CONNECTIVITY_BYTES,
            )
        }?;
        ctx.context.connectivity = json::parse::<Connectivity>("connectivity", text)?;
        Ok(())
    };
    // SAFETY: `ctx` is NULL or live and not shared during the call (caller's contract).
    unsafe { boundary::call_with_mut(ctx, "ctx", body) }
}

/// Records when the recall/hold feed was last refreshed (the context's
/// `recall_feed_as_of`), as a store-local Unix time in milliseconds (see
/// `pharm_context_set_now()`). A feed older than the policy's `recall_feed_max_age_hours`
/// turns lot-status checks into warnings. Out-of-range values are
/// `PHARM_RESULT_INVALID_ARGUMENT` and leave the context unchanged.
///
/// Needs the context to itself (no concurrent call on it). Errors:
/// `PHARM_RESULT_NULL_PARAMETER`, `PHARM_RESULT_POISONED`, `PHARM_RESULT_INVALID_ARGUMENT`.
///
/// # Safety
/// `ctx` is NULL or a live context not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_context_set_recall_feed_as_of(
    ctx: *mut pharm_context,
    store_local_unix_ms: i64,
) -> pharm_result {
    let body = |ctx: &mut pharm_context| {
        ctx.context.recall_feed_as_of = Some(store_local_time(
            store_local_unix_ms,
            "store_local_unix_ms",
        )?);
        Ok(())
    };
    // SAFETY: `ctx` is NULL or live and not shared during the call (caller's contract).
    unsafe { boundary::call_with_mut(ctx, "ctx", body) }
}

/// Records that the recall/hold feed has never been refreshed (`recall_feed_as_of`
/// null): lot-status checks then warn that the feed is missing.
///
/// Needs the context to itself (no concurrent call on it). Errors:
/// `PHARM_RESULT_NULL_PARAMETER`, `PHARM_RESULT_POISONED`.
///
/// # Safety
/// `ctx` is NULL or a live context not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_context_clear_recall_feed_as_of(
    ctx: *mut pharm_context,
) -> pharm_result {
    let body = |ctx: &mut pharm_context| {
        ctx.context.recall_feed_as_of = None;
        Ok(())
    };
    // SAFETY: `ctx` is NULL or live and not shared during the call (caller's contract).
    unsafe { boundary::call_with_mut(ctx, "ctx", body) }
}

/// The context as it stands, as the contract's Context JSON (every field written): what
/// the next evaluation will see. The caller frees `*out` with `pharm_bytes_free()`.
///
/// May run concurrently with the other `const` calls on the same context. Errors:
/// `PHARM_RESULT_NULL_PARAMETER`, `PHARM_RESULT_POISONED`.
///
/// # Safety
/// `ctx` is NULL or a live context; `out` is NULL or points to a writable
/// `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_context_json(
    ctx: *const pharm_context,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |ctx: &pharm_context| {
        let out = Out::new(out, "out")?;
        out.set_bytes(json::to_vec(&ctx.context)?);
        Ok(())
    };
    // SAFETY: `ctx` is NULL or a live context (caller's contract).
    unsafe { boundary::call_with(ctx, "ctx", body) }
}

/// Evaluates a request in this context: request JSON (`request.schema.json`, any
/// `"type"`: `intake`, `fill`, `hand_off`, `transfer`, `otc_sale`, `stock_move`,
/// `end_of_day`, `compliance`; with `"schema_version"`, unknown fields refused, at most
/// 4 MiB) in, the decision JSON (`decision.schema.json`) in `*decision`, which the caller
/// frees with `pharm_bytes_free()`. A decision of any outcome (allow, warn,
/// require_override, block) is `PHARM_RESULT_OK`; a failure is about the input.
///
/// Pure: the same request in the same context always gives the same bytes. May run
/// concurrently on several threads with the same context.
///
/// Errors: `PHARM_RESULT_NULL_PARAMETER` (`ctx`, `decision`, or `request_json` with a
/// non-zero `len`), `PHARM_RESULT_POISONED`, `PHARM_RESULT_INVALID_UTF8`,
/// `PHARM_RESULT_INPUT_TOO_LARGE`, `PHARM_RESULT_CORE_ERROR` with `core.contract_syntax`
/// or `core.contract_invalid`.
///
/// # Safety
/// `ctx` is NULL or a live context; `request_json` points to `len` readable bytes (or is
/// NULL with `len` 0); `decision` is NULL or points to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_context_evaluate(
    ctx: *const pharm_context,
    request_json: *const u8,
    len: usize,
    decision: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |ctx: &pharm_context| {
        let out = Out::new(decision, "decision")?;
        // SAFETY: `len` readable bytes or NULL (caller's contract).
        let text = unsafe { input::text(request_json, len, "request_json", MAX_DOCUMENT_BYTES) }?;
        let request = parse_request_str(text)?;
        out.set_bytes(json::to_vec(&evaluate(&request, &ctx.context))?);
        Ok(())
    };
    // SAFETY: `ctx` is NULL or a live context (caller's contract).
    unsafe { boundary::call_with(ctx, "ctx", body) }
}

/// Runs the compliance checks of this context: a request document (as for
/// `pharm_context_evaluate()`) whose `"type"` is `compliance` (the open obligations of
/// prescriptions: emergency oral CII follow-ups with their due dates, unsent PMP reports)
/// or `end_of_day` (closing a day: PMP zero report, overdue PMP reports). `*decision`
/// receives the decision JSON, whose `obligations` list each obligation with its status
/// at `now`, `follow_ups` the tasks to create and `findings` what is overdue. Any other
/// request type is `PHARM_RESULT_INVALID_ARGUMENT`: a compliance run never evaluates a
/// dispense.
///
/// May run concurrently on several threads with the same context.
///
/// Errors: as for `pharm_context_evaluate()`, plus `PHARM_RESULT_INVALID_ARGUMENT`.
///
/// # Safety
/// As for `pharm_context_evaluate()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_context_check_compliance(
    ctx: *const pharm_context,
    request_json: *const u8,
    len: usize,
    decision: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |ctx: &pharm_context| {
        let out = Out::new(decision, "decision")?;
        // SAFETY: `len` readable bytes or NULL (caller's contract).
        let text = unsafe { input::text(request_json, len, "request_json", MAX_DOCUMENT_BYTES) }?;
        let request = parse_request_str(text)?;
        if !matches!(request, Request::Compliance(_) | Request::EndOfDay(_)) {
            return Err(Failure::invalid(
                "request_json",
                "a compliance check takes a request of type \"compliance\" or \
                 \"end_of_day\"; evaluate other requests with pharm_context_evaluate()",
            ));
        }
        out.set_bytes(json::to_vec(&evaluate(&request, &ctx.context))?);
        Ok(())
    };
    // SAFETY: `ctx` is NULL or a live context (caller's contract).
    unsafe { boundary::call_with(ctx, "ctx", body) }
}
