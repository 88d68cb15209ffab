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
//! Everything but `pg` is sans-IO: time, sleeping and randomness are injected.
//!
//! ## Example
//!
//! ```
//! use pharm_core::ids::PharmacyId;
//! use pharm_shard::directory::{PhysicalShard, ShardMap};
//! use pharm_shard::reshard::plan_to_count;
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

pub mod breaker;
pub mod directory;
mod error_codes;
pub mod failover;
pub mod hash;
pub mod lag;
pub mod reads;
pub mod reshard;
pub mod resilience;
pub mod retry;
pub mod scaling;
pub mod scatter;
mod sleep;

pub use error_codes::ERROR_CODES;
pub use sleep::Sleep;

#[cfg(feature = "postgres")]
pub mod pg;
