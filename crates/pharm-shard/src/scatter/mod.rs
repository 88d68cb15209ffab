//! Scatter-gather for cross-pharmacy analytics.
//!
//! 1. **Group** the pharmacies by physical shard ([`group_by_shard`], given the routing
//!    function as a closure) and build one [`ShardLeg`] per shard
//!    ([`ScatterRequest::for_pharmacies`]).
//! 2. **Scatter**: [`scatter_gather`] runs every leg concurrently through a
//!    [`ShardExecutor`] (implemented by the PostgreSQL adapter), each raced against a
//!    per-shard timeout from an injected [`Sleep`](crate::Sleep). The legs are polled together by a small
//!    hand-written join, so this crate needs no async runtime.
//! 3. **Gather**: the [`PartialAggregate`]s merge exactly (count and sum add, min/max take
//!    the extreme, distinct sets unite); the average is `Σsum / Σcount`, computed only at
//!    the end.
//! 4. **Partial failure**: by default any failed shard fails the query
//!    ([`ScatterError::ShardsFailed`]); with [`PartialFailurePolicy::AllowPartial`] the
//!    result lists the [`GatherResult::missing_shards`]. If every shard fails it is always
//!    an error ([`ScatterError::AllShardsFailed`]), never an empty success.
//! 5. **Degradation**: [`gather_or_cached`] keeps the last complete result in an
//!    [`AggregateCache`] and, when the caller opts in with
//!    [`FallbackPolicy::UseCachedIfAnalyticsDown`], answers with it and its age while the
//!    analytics replica is down.
//!
//! ```
//! use std::time::Duration;
//! use async_trait::async_trait;
//! use pharm_shard::reads::{ReplicaRole, Target};
//! use pharm_shard::scatter::{
//!     PartialAggregate, ScatterOptions, ScatterRequest, ShardError, ShardExecutor, ShardQuery,
//!     ShardTarget, scatter_gather,
//! };
//! use pharm_core::ids::PharmacyId;
//! use pharm_shard::Sleep;
//! use pharm_shard::directory::PhysicalShard;
//!
//! /// Every pharmacy sold 1,000 cents + its id.
//! struct Fake;
//! #[async_trait]
//! impl ShardExecutor for Fake {
//!     async fn run(&self, _: ShardTarget, q: &ShardQuery) -> Result<PartialAggregate, ShardError> {
//!         let rows = q.pharmacy_ids.iter().map(|id| (1_000 + id.to_i64(), Some(id.to_i64())));
//!         Ok(PartialAggregate::from_rows(rows))
//!     }
//! }
//! struct NeverFires;
//! #[async_trait]
//! impl Sleep for NeverFires {
//!     async fn sleep(&self, _: Duration) {
//!         std::future::pending::<()>().await
//!     }
//! }
//!
//! let request = ScatterRequest::for_pharmacies(
//!     "daily_sales",
//!     vec![],
//!     [1, 2, 3, 4, 5].map(PharmacyId::new),
//!     |id| PhysicalShard(id.get() % 2),                // the routing helper's job
//!     |_| Target::Replica(ReplicaRole::Analytics),
//! );
//! assert_eq!(request.legs.len(), 2);
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let result = runtime.block_on(scatter_gather(&Fake, &NeverFires, &request, &ScatterOptions::default()))?;
//! assert_eq!(result.aggregate.sum, 5_015);
//! assert_eq!(result.aggregate.average_rounded(), Some(1_003));
//! assert_eq!(result.aggregate.distinct_count(), 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod aggregate;
mod cache;
mod executor;
mod gather;
mod grouping;
mod join;

pub use aggregate::{DistinctSet, PartialAggregate};
pub use cache::{
    AggregateCache, Answer, CachedAggregate, FallbackPolicy, analytics_down, gather_or_cached,
};
pub use executor::{ParamValue, ShardError, ShardExecutor, ShardQuery, ShardTarget};
pub use gather::{
    GatherResult, MissingShard, PartialFailurePolicy, ScatterError, ScatterOptions, ShardFailure,
    scatter_gather,
};
pub use grouping::{ScatterRequest, ShardLeg, group_by_shard, try_group_by_shard};
