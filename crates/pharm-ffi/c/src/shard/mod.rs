//! pharm-shard through the C ABI: shard routing of a pharmacy id (`pharm_directory`),
//! lag-aware read routing of a query class (`pharm_read_router`), and a circuit breaker +
//! retry policy + retry budget for one downstream (`pharm_resilience`), driven with the
//! caller's time.
//!
//! - **Time** always comes from the caller: the read router takes milliseconds on the
//!   caller's clock (`*_ms`, the crate's convention for lag), the resilience policy takes
//!   nanoseconds of the caller's monotonic clock (`now_ns`); durations come back in the same
//!   unit (`lag_ms`, `wait_ns`...). Nothing here reads a clock.
//! - **Decisions** a till acts on ("may I call now", "wait this long", "give up", "read
//!   from the primary") are small fixed structs (`pharm_route`, `pharm_read_decision`,
//!   `pharm_resilience_permit`, `pharm_resilience_next`): no JSON parser needed.
//! - **JSON inputs** (a shard map, a lag sample, a resilience configuration) are the
//!   crate's serde forms (`testdata/golden/shard/`), at most
//!   `PHARM_SHARD_MAX_JSON_BYTES`, read by the crate; an unknown field at any depth is
//!   rejected. Errors: `shard.json_syntax` (4110) for malformed JSON, `shard.json_invalid`
//!   (4111) for JSON that does not match the type, and a shard map that is not consistent
//!   keeps its own `shard.directory_*` code.
//! - **Enumerations** the library returns are C enums in the header; the values a caller
//!   passes in are `uint32_t` arguments checked on entry (an unknown value is
//!   `PHARM_RESULT_INVALID_ARGUMENT`), with their values as `#define`s where the header
//!   has no enum for them.

mod directory;
mod fixed;
mod json;
mod reads;
mod resilience;

#[cfg(test)]
mod tests;

pub use directory::{
    PHARM_HASH_SCHEME_PHARM, PHARM_HASH_SCHEME_POSTGRES_BIGINT, pharm_directory,
    pharm_directory_free, pharm_directory_from_json, pharm_directory_new, pharm_directory_route,
    pharm_directory_route_detail, pharm_move_phase, pharm_route,
};
pub use json::PHARM_SHARD_MAX_JSON_BYTES;
pub use reads::{
    PHARM_READ_ROUTER_DEFAULT_HISTORY_CAPACITY, PHARM_READ_ROUTER_DEFAULT_MAX_LAG_MS,
    PHARM_READ_ROUTER_DEFAULT_STALE_AFTER_MS, pharm_fallback_reason, pharm_lag_estimate,
    pharm_lag_source, pharm_query_class, pharm_query_class_parse, pharm_read_decision,
    pharm_read_reason, pharm_read_router, pharm_read_router_free, pharm_read_router_new,
    pharm_read_router_observe, pharm_read_router_replica_down, pharm_read_router_route,
    pharm_read_router_take_events, pharm_read_target,
};
pub use resilience::{
    PHARM_ERROR_KIND_PERMANENT, PHARM_ERROR_KIND_RETRYABLE, PHARM_ERROR_KIND_RETRYABLE_AFTER,
    PHARM_OUTCOME_FAILURE, PHARM_OUTCOME_NOT_COUNTED, PHARM_OUTCOME_SUCCESS, pharm_breaker_state,
    pharm_give_up_reason, pharm_next_action, pharm_resilience, pharm_resilience_after_call,
    pharm_resilience_before_call, pharm_resilience_begin, pharm_resilience_call,
    pharm_resilience_call_free, pharm_resilience_free, pharm_resilience_from_json,
    pharm_resilience_from_preset, pharm_resilience_next, pharm_resilience_permit,
    pharm_resilience_preset_config, pharm_resilience_state,
};
