//! `pharm_read_router`: where a query of a class runs (the shard's primary or one of its
//! replicas), from the replicas' lag samples and the caller's read-your-writes token.

mod types;

pub use types::{
    pharm_fallback_reason, pharm_lag_estimate, pharm_lag_source, pharm_query_class,
    pharm_read_decision, pharm_read_reason, pharm_read_target,
};

use std::time::Duration;

use pharm_shard::lag::LagSample;
use pharm_shard::reads::{ReadRouterConfig, ReplicaKey};
use pharm_shard::{LsnToken, PhysicalShard, ReadRouter};

use super::fixed::Fixed;
use super::json::{self, PHARM_SHARD_MAX_JSON_BYTES};
use crate::boundary::{self, Handle, Poison};
use crate::error::Failure;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;
use types::{CLASSES, lag_source, millis, query_kind, replica_role};

/// The crate's default `max_lag_ms` for `pharm_read_router_new()`: a replica more than
/// 5 s behind (exactly 5 s still serves) sends its reads to the primary.
pub const PHARM_READ_ROUTER_DEFAULT_MAX_LAG_MS: u64 = 5_000;
/// The crate's default `stale_after_ms`: a replica without a sample for longer stops
/// serving until its next sample.
pub const PHARM_READ_ROUTER_DEFAULT_STALE_AFTER_MS: u64 = 10_000;
/// The crate's default `history_capacity`: distinct primary positions remembered per
/// replica (1..=65536).
pub const PHARM_READ_ROUTER_DEFAULT_HISTORY_CAPACITY: u32 = 1_024;

/// The longest read-your-writes token accepted (`<shard>:<lsn>` is at most 28 bytes).
const MAX_TOKEN_BYTES: usize = 64;
/// The longest query class name accepted.
const MAX_CLASS_NAME_BYTES: usize = 64;

/// Lag-aware read routing for every replica of every shard (the crate's `ReadRouter`).
/// Made by `pharm_read_router_new()`, fed lag samples with `pharm_read_router_observe()`,
/// asked with `pharm_read_router_route()`, freed with `pharm_read_router_free()`.
///
/// Thread safety: one thread at a time. Every call takes a `pharm_read_router *` (routing
/// too: a replica whose last sample became stale falls back and queues an event); the
/// caller serializes calls on one router, which may move between threads.
pub struct pharm_read_router {
    poison: Poison,
    router: ReadRouter,
}

impl Handle for pharm_read_router {
    fn poison(&self) -> &Poison {
        &self.poison
    }
}

/// Reads a query class name, the crate's: `Write`, `TransactionalRead`, `Analytics`,
/// `Reporting` or `ApiRead` (exact case), into `*out`. Any other name is
/// `PHARM_RESULT_INVALID_ARGUMENT`.
///
/// # Safety
/// `name` must point to `len` readable bytes (or be NULL with `len` 0); `out` must be NULL
/// or point to a writable `pharm_query_class`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_query_class_parse(
    name: *const u8,
    len: usize,
    out: *mut pharm_query_class,
) -> pharm_result {
    boundary::call(|| {
        let out = Fixed::new(out, "out")?;
        // SAFETY: the caller's contract is this function's.
        let name = unsafe { input::text(name, len, "name", MAX_CLASS_NAME_BYTES) }?;
        let (class, _, _) = CLASSES
            .iter()
            .find(|(_, _, known)| *known == name)
            .ok_or_else(|| {
                Failure::invalid(
                    "name",
                    format!("{name:?} is not a query class (Write, TransactionalRead, Analytics, Reporting, ApiRead)"),
                )
            })?;
        out.set(*class);
        Ok(())
    })
}

/// Makes a read router with no samples yet (every replica read goes to the primary until
/// the replica's first good sample). `max_lag_ms`: the highest lag at which a replica
/// still serves (inclusive); `stale_after_ms`: a replica without a sample for longer stops
/// serving; `history_capacity`: primary positions remembered per replica, 1..=65536
/// (`shard.lag_history_capacity`). The crate's defaults are the
/// `PHARM_READ_ROUTER_DEFAULT_*` constants.
///
/// On success `*out` receives a new router the caller frees with
/// `pharm_read_router_free()`; on failure `*out` is not written.
///
/// # Safety
/// `out` must be NULL or point to a writable `pharm_read_router *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_read_router_new(
    max_lag_ms: u64,
    stale_after_ms: u64,
    history_capacity: u32,
    out: *mut *mut pharm_read_router,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        let config = ReadRouterConfig {
            max_lag: Duration::from_millis(max_lag_ms),
            stale_after: Duration::from_millis(stale_after_ms),
            history_capacity: usize::try_from(history_capacity).unwrap_or(usize::MAX),
        };
        let router = ReadRouter::new(config)?;
        out.set(pharm_read_router {
            poison: Poison::default(),
            router,
        });
        Ok(())
    })
}

/// Records one lag sample of a replica of physical shard `shard` and writes the lag
/// estimate to `*out`. `replica` is `PHARM_READ_TARGET_ANALYTICS_REPLICA`,
/// `_REPORTING_REPLICA` or `_API_REPLICA`. Feed each replica's samples in time order.
///
/// `sample_json` is the crate's `LagSample` (UTF-8, at most `PHARM_SHARD_MAX_JSON_BYTES`):
/// `{"primary_lsn": "0/3000000", "replay_lsn": "0/2000000", "receive_lsn": null,
/// "replay_paused": false, "replay_timestamp_ms": null, "heartbeat": {"written_at_ms",
/// "observed_at_ms"} or null, "measured_at_ms"}`; LSNs in PostgreSQL's text form, times in
/// milliseconds on the caller's clock; the fields that may be null may be left out.
/// Malformed JSON is `shard.json_syntax`, anything else wrong `shard.json_invalid`.
///
/// # Safety
/// `router` must be NULL or a live `pharm_read_router` no other thread uses during the
/// call; `sample_json` must point to `len` readable bytes (or be NULL with `len` 0); `out`
/// must be NULL or point to a writable `pharm_lag_estimate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_read_router_observe(
    router: *mut pharm_read_router,
    shard: u32,
    replica: u32,
    sample_json: *const u8,
    len: usize,
    out: *mut pharm_lag_estimate,
) -> pharm_result {
    let body = |router: &mut pharm_read_router| -> Result<(), Failure> {
        let out = Fixed::new(out, "out")?;
        let role = replica_role(replica)?;
        // SAFETY: the caller's contract is this function's.
        let text =
            unsafe { input::text(sample_json, len, "sample_json", PHARM_SHARD_MAX_JSON_BYTES) }?;
        let sample: LagSample = json::parse("lag sample", text)?;
        let key = ReplicaKey {
            shard: PhysicalShard(shard),
            role,
        };
        let estimate = router.router.observe(key, &sample);
        out.set(pharm_lag_estimate {
            lag_ms: millis(estimate.lag),
            bytes_behind: estimate.bytes_behind,
            source: lag_source(estimate.source),
            serving: router.router.is_serving(key),
        });
        Ok(())
    };
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::call_with_mut(router, "router", body) }
}

/// Marks a replica of physical shard `shard` unreachable at `at_ms` (a failed connection
/// or health check): its reads go to the primary until its next sample within the lag
/// limit. `replica` as for `pharm_read_router_observe()`.
///
/// # Safety
/// `router` must be NULL or a live `pharm_read_router` no other thread uses during the
/// call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_read_router_replica_down(
    router: *mut pharm_read_router,
    shard: u32,
    replica: u32,
    at_ms: u64,
) -> pharm_result {
    let body = |router: &mut pharm_read_router| -> Result<(), Failure> {
        let role = replica_role(replica)?;
        let key = ReplicaKey {
            shard: PhysicalShard(shard),
            role,
        };
        router.router.replica_down(key, at_ms);
        Ok(())
    };
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::call_with_mut(router, "router", body) }
}

/// Decides where a query of `query_class` (a `pharm_query_class` value; another value is
/// `PHARM_RESULT_INVALID_ARGUMENT`) for physical shard `shard` runs at `now_ms`, and writes
/// the decision to `*out`: the primary, or the class's replica when it is within the lag
/// limit, has a fresh sample and has replayed the caller's write.
///
/// `token` is the read-your-writes token of the caller's last write, `<shard>:<lsn>` (for
/// example `3:16/B374D848`), at most 64 bytes; NULL with `token_len` 0 (or an empty token)
/// means none. A malformed token is `shard.lsn_token_format` or `shard.lsn_token_lsn`.
///
/// # Safety
/// `router` must be NULL or a live `pharm_read_router` no other thread uses during the
/// call; `token` must point to `token_len` readable bytes (or be NULL with `token_len` 0);
/// `out` must be NULL or point to a writable `pharm_read_decision`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_read_router_route(
    router: *mut pharm_read_router,
    now_ms: u64,
    shard: u32,
    query_class: u32,
    token: *const u8,
    token_len: usize,
    out: *mut pharm_read_decision,
) -> pharm_result {
    let body = |router: &mut pharm_read_router| -> Result<(), Failure> {
        let out = Fixed::new(out, "out")?;
        let kind = query_kind(query_class)?;
        // SAFETY: the caller's contract is this function's.
        let token = unsafe { input::text(token, token_len, "token", MAX_TOKEN_BYTES) }?;
        let token: Option<LsnToken> = if token.is_empty() {
            None
        } else {
            Some(token.parse()?)
        };
        let decision = router
            .router
            .route(now_ms, PhysicalShard(shard), kind, token.as_ref());
        out.set(decision.into());
        Ok(())
    };
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::call_with_mut(router, "router", body) }
}

/// Takes the routing events queued since the last call (oldest first) as the crate's JSON:
/// an array of `{"FellBackToPrimary": {"replica": {"shard", "role"}, "lag", "reason",
/// "at_ms"}}` and `{"ReplicaRestored": {"replica", "lag", "at_ms"}}` (durations as
/// `{"secs", "nanos"}`). `*out` receives bytes the caller frees with `pharm_bytes_free()`;
/// the events are taken only when the call succeeds.
///
/// # Safety
/// `router` must be NULL or a live `pharm_read_router` no other thread uses during the
/// call; `out` must be NULL or point to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_read_router_take_events(
    router: *mut pharm_read_router,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |router: &mut pharm_read_router| -> Result<(), Failure> {
        let out = Out::new(out, "out")?;
        let events = router.router.take_events();
        let json =
            serde_json::to_vec(&events).map_err(|error| Failure::invalid("router", error))?;
        out.set_bytes(json);
        Ok(())
    };
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::call_with_mut(router, "router", body) }
}

/// Frees a read router. `pharm_read_router_free(NULL)` does nothing; works on a poisoned
/// router; using the router afterwards is undefined.
///
/// # Safety
/// `router` must be NULL or a `pharm_read_router` from this library, not yet freed and
/// not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_read_router_free(router: *mut pharm_read_router) {
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::free(router) }
}
