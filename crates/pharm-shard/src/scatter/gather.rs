//! Running a [`ScatterRequest`] on every shard at once and merging the answers.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::aggregate::PartialAggregate;
use super::executor::{ShardError, ShardExecutor, ShardQuery, ShardTarget};
use super::grouping::ScatterRequest;
use super::join::{BoxFuture, JoinAll, Raced, race};
use crate::Sleep;
use crate::directory::PhysicalShard;
use pharm_core::ids::PharmacyId;

/// What to do when some shards fail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PartialFailurePolicy {
    /// Any failed shard fails the whole query (the default, as in Vitess and MongoDB).
    #[default]
    Fail,
    /// Return the merge of the shards that answered, listing the missing ones. Sums and
    /// counts are then biased low, and averages, minima and maxima in unknown directions:
    /// the caller must show that. If every shard fails it is still an error.
    AllowPartial,
}

/// Settings of one scatter-gather.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScatterOptions {
    /// Deadline of each leg, derived by the caller from its own overall deadline. Default
    /// 10 s.
    pub per_shard_timeout: Duration,
    /// Partial-failure policy. Default [`PartialFailurePolicy::Fail`].
    pub partial: PartialFailurePolicy,
}

impl Default for ScatterOptions {
    fn default() -> Self {
        Self {
            per_shard_timeout: Duration::from_secs(10),
            partial: PartialFailurePolicy::Fail,
        }
    }
}

/// How a leg failed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
#[serde(deny_unknown_fields)]
pub enum ShardFailure {
    /// The executor returned an error.
    #[error(transparent)]
    Error(ShardError),
    /// The leg did not answer within [`ScatterOptions::per_shard_timeout`].
    #[error("no answer within {after:?}")]
    TimedOut {
        /// The timeout that elapsed.
        after: Duration,
    },
}

impl ShardFailure {
    /// Whether the failure means the node is down or unresponsive (a timeout, or
    /// [`ShardError::is_node_down`]) rather than a bad query.
    #[must_use]
    pub fn is_node_down(&self) -> bool {
        match self {
            ShardFailure::Error(error) => error.is_node_down(),
            ShardFailure::TimedOut { .. } => true,
        }
    }
}

/// A leg that failed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingShard {
    /// Where it ran.
    pub target: ShardTarget,
    /// How it failed.
    pub failure: ShardFailure,
}

/// The merged answer of a scatter-gather.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatherResult {
    /// The merge of every shard that answered.
    pub aggregate: PartialAggregate,
    /// The shards that answered, ascending.
    pub shards_ok: Vec<ShardTarget>,
    /// The shards that did not (only with [`PartialFailurePolicy::AllowPartial`]),
    /// ascending.
    pub missing_shards: Vec<MissingShard>,
}

impl GatherResult {
    /// Whether every shard answered.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.missing_shards.is_empty()
    }
}

/// A scatter-gather that produced no answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
#[serde(deny_unknown_fields)]
pub enum ScatterError {
    /// Some shards failed under [`PartialFailurePolicy::Fail`].
    #[error("{} of {} shards failed", .missing.len(), .missing.len() + .shards_ok.len())]
    ShardsFailed {
        /// The failed shards, ascending.
        missing: Vec<MissingShard>,
        /// The shards that answered, ascending.
        shards_ok: Vec<ShardTarget>,
    },
    /// Every shard failed (under either policy).
    #[error("all {} shards failed", .missing.len())]
    AllShardsFailed {
        /// The failed shards, ascending.
        missing: Vec<MissingShard>,
    },
    /// The request names a physical shard twice (its rows would be counted twice).
    #[error("{0} appears in more than one leg")]
    DuplicateShard(PhysicalShard),
    /// The request lists a pharmacy twice, in two legs or twice in one leg (its rows would
    /// be counted twice, for example once on a move's source shard and once on its target).
    #[error("pharmacy {0} appears more than once in the request's legs")]
    DuplicatePharmacy(PharmacyId),
}

impl ScatterError {
    /// The failed shards (empty for [`ScatterError::DuplicateShard`] and
    /// [`ScatterError::DuplicatePharmacy`]).
    #[must_use]
    pub fn missing_shards(&self) -> &[MissingShard] {
        match self {
            ScatterError::ShardsFailed { missing, .. }
            | ScatterError::AllShardsFailed { missing } => missing,
            ScatterError::DuplicateShard(_) | ScatterError::DuplicatePharmacy(_) => &[],
        }
    }
}

/// Runs `request` on all its shards concurrently through `executor`, each leg raced
/// against `timer.sleep(per_shard_timeout)`, and merges the partial aggregates.
///
/// No runtime is needed beyond whatever drives the returned future; the legs are polled
/// together (not spawned), so the future is `Send` when the executor and timer are. A
/// request without legs yields an empty, complete result.
///
/// # Errors
/// [`ScatterError::DuplicateShard`] or [`ScatterError::DuplicatePharmacy`] (the first
/// repeated shard or pharmacy, in leg order) before running anything;
/// [`ScatterError::ShardsFailed`] when a shard fails under [`PartialFailurePolicy::Fail`];
/// [`ScatterError::AllShardsFailed`] when every shard fails.
pub async fn scatter_gather<E, T>(
    executor: &E,
    timer: &T,
    request: &ScatterRequest,
    options: &ScatterOptions,
) -> Result<GatherResult, ScatterError>
where
    E: ShardExecutor + ?Sized,
    T: Sleep + ?Sized,
{
    let mut shards = BTreeSet::new();
    let mut pharmacies = BTreeSet::new();
    for leg in &request.legs {
        if !shards.insert(leg.target.shard) {
            return Err(ScatterError::DuplicateShard(leg.target.shard));
        }
        for &id in &leg.pharmacy_ids {
            if !pharmacies.insert(id) {
                return Err(ScatterError::DuplicatePharmacy(id));
            }
        }
    }

    let timeout = options.per_shard_timeout;
    type LegOutcome = (ShardTarget, Result<PartialAggregate, ShardFailure>);
    let legs: Vec<BoxFuture<'_, LegOutcome>> = request
        .legs
        .iter()
        .map(|leg| {
            let target = leg.target;
            let query = ShardQuery {
                statement: request.statement.clone(),
                params: request.params.clone(),
                pharmacy_ids: leg.pharmacy_ids.clone(),
                timeout,
            };
            let leg: BoxFuture<'_, LegOutcome> = Box::pin(async move {
                let outcome = match race(executor.run(target, &query), timer.sleep(timeout)).await {
                    Raced::First(Ok(aggregate)) => Ok(aggregate),
                    Raced::First(Err(error)) => Err(ShardFailure::Error(error)),
                    Raced::Second(()) => Err(ShardFailure::TimedOut { after: timeout }),
                };
                (target, outcome)
            });
            leg
        })
        .collect();
    let mut outcomes = JoinAll::new(legs).await;
    outcomes.sort_by_key(|(target, _)| *target);

    let mut aggregate = PartialAggregate::new();
    let mut shards_ok = Vec::new();
    let mut missing = Vec::new();
    for (target, outcome) in outcomes {
        match outcome {
            Ok(partial) => {
                aggregate.merge(&partial);
                shards_ok.push(target);
            }
            Err(failure) => missing.push(MissingShard { target, failure }),
        }
    }

    if !missing.is_empty() {
        if shards_ok.is_empty() {
            return Err(ScatterError::AllShardsFailed { missing });
        }
        if options.partial == PartialFailurePolicy::Fail {
            return Err(ScatterError::ShardsFailed { missing, shards_ok });
        }
    }
    Ok(GatherResult {
        aggregate,
        shards_ok,
        missing_shards: missing,
    })
}
