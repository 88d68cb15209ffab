//! What a scatter-gather needs from the outside world: a shard executor (and a [`Sleep`](crate::Sleep) for the timeouts).

use std::time::Duration;

use async_trait::async_trait;
use pharm_core::ids::PharmacyId;
use serde::{Deserialize, Serialize};

use super::aggregate::PartialAggregate;
use crate::directory::PhysicalShard;
use crate::reads::Target;

/// Which node of which physical shard a leg runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardTarget {
    /// The physical shard.
    pub shard: PhysicalShard,
    /// Its primary or one of its replicas (analytics queries normally use
    /// `Target::Replica(ReplicaRole::Analytics)`).
    pub node: Target,
}

/// A positional query parameter (`$1`, `$2`, … in PostgreSQL).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ParamValue {
    /// SQL `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer (ids, base-unit amounts, epoch milliseconds).
    Int(i64),
    /// Text (dates and timestamps in ISO 8601 as well).
    Text(String),
}

/// The query one shard runs.
///
/// The executor runs `statement` restricted to `pharmacy_ids` (for PostgreSQL, for example
/// `… WHERE pharmacy_id = ANY($n)`) and returns its partial aggregate: `count(x)`,
/// `sum(x)`, `min(x)`, `max(x)` and, when the query asks for one, the distinct keys. The
/// pharmacies are always listed explicitly, so a shard that still holds copies of
/// pharmacies being moved elsewhere never counts them twice.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardQuery {
    /// The statement or the name of a prepared query; its meaning is the executor's.
    pub statement: String,
    /// Positional parameters, before the pharmacy list.
    pub params: Vec<ParamValue>,
    /// The pharmacies of this shard that the query covers (ascending, distinct).
    pub pharmacy_ids: Vec<PharmacyId>,
    /// The leg's deadline; the coordinator abandons the leg after it, and the executor may
    /// also use it server-side (`SET LOCAL statement_timeout`).
    pub timeout: Duration,
}

/// Why one shard leg failed, as the executor reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ShardError {
    /// The node could not be reached or is known to be down (connection refused, pool
    /// exhausted, replica marked down by the read router).
    #[error("shard node unavailable: {0}")]
    Unavailable(String),
    /// The node timed out on its side (statement timeout, connect timeout).
    #[error("shard query timed out: {0}")]
    Timeout(String),
    /// The query failed (SQL error, permission, constraint).
    #[error("shard query failed: {0}")]
    Query(String),
    /// The result could not be turned into a [`PartialAggregate`].
    #[error("shard returned an unusable result: {0}")]
    BadResult(String),
}

impl ShardError {
    /// Whether the error means the node is down or unresponsive (as opposed to a query
    /// that is wrong): [`ShardError::Unavailable`] or [`ShardError::Timeout`].
    #[must_use]
    pub fn is_node_down(&self) -> bool {
        matches!(self, ShardError::Unavailable(_) | ShardError::Timeout(_))
    }
}

/// Runs one shard's part of a scatter-gather. Implemented by the PostgreSQL adapter (and by
/// fakes in tests).
///
/// Implementations must be cancel-safe in the usual sense: the coordinator drops the
/// returned future when the leg's timeout fires first.
#[async_trait]
pub trait ShardExecutor: Send + Sync {
    /// Runs `query` on `shard` and returns its partial aggregate.
    async fn run(
        &self,
        shard: ShardTarget,
        query: &ShardQuery,
    ) -> Result<PartialAggregate, ShardError>;
}
