//! The last good aggregate, served with its age when the analytics replica is down.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::executor::ShardExecutor;
use super::gather::{GatherResult, ScatterError, ScatterOptions, scatter_gather};
use super::grouping::ScatterRequest;
use crate::Sleep;
use crate::reads::{ReplicaRole, Target};

/// The last result of one dashboard query and when it was obtained (pure: the caller
/// supplies the time, in milliseconds on its clock). Keep one per query.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateCache {
    entry: Option<(GatherResult, u64)>,
}

/// A cached result and how old it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachedAggregate<'a> {
    /// The result.
    pub result: &'a GatherResult,
    /// When it was stored (ms).
    pub stored_at_ms: u64,
    /// `now − stored_at`, zero if the clock went backwards.
    pub age: Duration,
}

impl AggregateCache {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `result` as obtained at `at_ms`, unless the cache holds a newer one.
    pub fn put(&mut self, result: GatherResult, at_ms: u64) {
        if self
            .entry
            .as_ref()
            .is_none_or(|(_, stored)| *stored <= at_ms)
        {
            self.entry = Some((result, at_ms));
        }
    }

    /// The cached result and its age at `now_ms`.
    #[must_use]
    pub fn get(&self, now_ms: u64) -> Option<CachedAggregate<'_>> {
        self.entry.as_ref().map(|(result, stored)| CachedAggregate {
            result,
            stored_at_ms: *stored,
            age: Duration::from_millis(now_ms.saturating_sub(*stored)),
        })
    }

    /// The cached result if it is at most `max_age` old at `now_ms`.
    #[must_use]
    pub fn get_within(&self, now_ms: u64, max_age: Duration) -> Option<CachedAggregate<'_>> {
        self.get(now_ms).filter(|cached| cached.age <= max_age)
    }

    /// Empties the cache.
    pub fn clear(&mut self) {
        self.entry = None;
    }
}

/// Whether a failed scatter-gather may be answered from the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FallbackPolicy {
    /// Never: the error is returned (the default).
    #[default]
    None,
    /// When every failed leg ran on an analytics replica that is down (unreachable or
    /// timing out — not a failing query), answer with the cached result if it is at most
    /// `max_age` old (the design's degradation for dashboards).
    UseCachedIfAnalyticsDown {
        /// The oldest acceptable cached result (inclusive).
        max_age: Duration,
    },
}

/// The answer of [`gather_or_cached`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Computed now (and cached when complete).
    Fresh(GatherResult),
    /// From the cache, because the analytics replica is down.
    Cached {
        /// The cached result.
        result: GatherResult,
        /// Its age.
        age: Duration,
        /// The failure that made the cache necessary.
        cause: ScatterError,
    },
}

impl Answer {
    /// The result, fresh or cached.
    #[must_use]
    pub fn result(&self) -> &GatherResult {
        match self {
            Answer::Fresh(result) | Answer::Cached { result, .. } => result,
        }
    }
}

/// Whether every failed leg of `error` is an analytics replica that is down.
#[must_use]
pub fn analytics_down(error: &ScatterError) -> bool {
    let missing = error.missing_shards();
    !missing.is_empty()
        && missing.iter().all(|shard| {
            shard.target.node == Target::Replica(ReplicaRole::Analytics)
                && shard.failure.is_node_down()
        })
}

/// [`scatter_gather`], storing complete results in `cache` (stamped `now_ms`, the time the
/// query was issued) and, under [`FallbackPolicy::UseCachedIfAnalyticsDown`], answering
/// from the cache when the failure is an analytics replica being down.
///
/// # Errors
/// The [`ScatterError`] when the policy does not allow the cache, the failure is not
/// (only) analytics replicas being down, or the cache is empty or too old.
pub async fn gather_or_cached<E, T>(
    executor: &E,
    timer: &T,
    request: &ScatterRequest,
    options: &ScatterOptions,
    cache: &mut AggregateCache,
    fallback: FallbackPolicy,
    now_ms: u64,
) -> Result<Answer, ScatterError>
where
    E: ShardExecutor + ?Sized,
    T: Sleep + ?Sized,
{
    match scatter_gather(executor, timer, request, options).await {
        Ok(result) => {
            if result.is_complete() {
                cache.put(result.clone(), now_ms);
            }
            Ok(Answer::Fresh(result))
        }
        Err(error) => {
            let FallbackPolicy::UseCachedIfAnalyticsDown { max_age } = fallback else {
                return Err(error);
            };
            if !analytics_down(&error) {
                return Err(error);
            }
            match cache.get_within(now_ms, max_age) {
                Some(cached) => Ok(Answer::Cached {
                    result: cached.result.clone(),
                    age: cached.age,
                    cause: error,
                }),
                None => Err(error),
            }
        }
    }
}
