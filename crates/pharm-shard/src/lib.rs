//! # pharm-shard
//!
//! The cloud side of pharm: route every pharmacy to its shard, keep reads off a lagging
//! replica, retry flaky partners without storms, stop calling a partner that is down, and
//! gather analytics across shards.
//!
//! - [`hash`], [`directory`], [`reshard`]: a documented, platform-independent hash of the
//!   pharmacy id (or exactly PostgreSQL's `PARTITION BY HASH` on a bigint, checked against a
//!   real server) into logical shards (16 by default, splittable), a versioned logical →
//!   physical map with pins and online moves (copying, catch-up, cut-over, stale-map
//!   detection), and reshard plans that move the theoretical minimum.
//! - [`reads`], [`lag`]: the read/write split, replica lag from LSNs or a heartbeat (an idle
//!   primary is not lag), fallback to the primary above 5 s, read-your-writes LSN tokens.
//! - [`retry`]: the per-operation retry table, jitter after the cap, deadlines, error
//!   classification, retry budgets; a runtime-agnostic async helper.
//! - [`breaker`]: a circuit breaker with resilience4j semantics and the `pmp-api` /
//!   `insurance-api` presets.
//! - [`failover`], [`scaling`]: failover triggers as a state machine, scaling triggers as data.
//! - [`scatter`]: scatter-gather over an async `ShardExecutor`, exact mergeable aggregates,
//!   partial-failure policy, last cached aggregate for dashboards.
//! - `pg` (feature `postgres`): tokio-postgres with deadpool pools executing all of the above
//!   against real primaries and replicas.
//!
//! - [`json`]: strict reading of the crate's types from JSON (unknown fields are refused
//!   in every object) with stable codes; [`ShardMap::from_json`] keeps a map's own error.
//!
//! - [`resilience`]: one [`Resilience`] policy per downstream composing its breaker, its
//!   retry policy and its retry budget, driven by the caller (`before_call` /
//!   `after_call`) or by the async [`resilience::call`].
//!
//! Everything but `pg` is sans-IO: time ([`pharm_core::time::Clock`]), sleeping
//! ([`Sleep`]) and randomness are injected; the only clock reads are pharm-core's
//! `SystemClock`, which the `postgres` feature enables. Pharmacies are
//! [`pharm_core::ids::PharmacyId`]s, hashed as the `bigint` PostgreSQL stores
//! ([`directory`]). Every error type has a stable code ([`ERROR_CODES`], 4000-4999).
//!
//! ## Example
//!
//! ```
//! use pharm_core::ids::PharmacyId;
//! use pharm_shard::reshard::plan_to_count;
//! use pharm_shard::{PhysicalShard, ShardMap};
//!
//! let physical: Vec<PhysicalShard> = (0..4).map(PhysicalShard).collect();
//! let map = ShardMap::with_defaults(&physical)?; // 16 logical shards on 4 servers
//! let pharmacy = PharmacyId::new(31_337);
//! let route = map.route(pharmacy);
//! assert_eq!(route, map.route(pharmacy)); // stable, no allocation
//! assert!(route.physical.0 < 4);
//!
//! // Adding a fifth server moves 3 of 16 logical shards (18.75 % of the pharmacies);
//! // `hash % N` would move about 80 %.
//! let plan = plan_to_count(&map, 5)?;
//! assert_eq!(plan.moves.len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

#[cfg(doctest)]
mod api_boundary;
pub mod breaker;
pub mod directory;
mod error_codes;
pub mod failover;
pub mod hash;
pub mod json;
pub mod lag;
pub mod reads;
pub mod reshard;
pub mod resilience;
pub mod retry;
pub mod scaling;
pub mod scatter;
mod sleep;

pub use breaker::{CallNotPermitted, CircuitBreaker, CircuitBreakerConfig, ConfigError, State};
pub use directory::{DirectoryError, LogicalShard, PhysicalShard, Route, ShardMap, StaleMap};
pub use error_codes::ERROR_CODES;
pub use hash::HashScheme;
pub use reads::{LsnToken, QueryKind, ReadRouter, ReplicaRole, Target};
pub use reshard::{PlanError, ReshardPlan};
pub use resilience::{Next, Outcome, Resilience, ResilienceConfig, ResilienceError};
pub use retry::{ErrorKind, Operation, RetryBudget, RetryError, RetryPolicy};
pub use scatter::{ScatterError, ScatterRequest, ShardError, ShardExecutor};
pub use sleep::Sleep;

#[cfg(feature = "postgres")]
pub use pg::{PgError, PgShards};

#[cfg(feature = "postgres")]
pub mod pg;
