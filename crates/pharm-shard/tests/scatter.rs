//! Scatter-gather with a fake executor on the tokio test runtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use pharm_core::ids::PharmacyId;
use pharm_shard::Sleep;
use pharm_shard::directory::PhysicalShard;
use pharm_shard::reads::{ReplicaRole, Target};
use pharm_shard::scatter::{
    AggregateCache, Answer, DistinctSet, FallbackPolicy, ParamValue, PartialAggregate,
    PartialFailurePolicy, ScatterError, ScatterOptions, ScatterRequest, ShardError, ShardExecutor,
    ShardFailure, ShardLeg, ShardQuery, ShardTarget, gather_or_cached, group_by_shard,
    scatter_gather, try_group_by_shard,
};
use proptest::prelude::*;

const ANALYTICS: Target = Target::Replica(ReplicaRole::Analytics);

/// A sale: (pharmacy, amount in cents, patient id).
type Sale = (u32, i64, i64);

#[derive(Clone, Debug)]
enum Behaviour {
    Fail(ShardError),
    Hang,
    /// Waits until every leg has started (proves the legs run concurrently).
    Barrier(Arc<tokio::sync::Barrier>),
}

#[derive(Default)]
struct FakeExecutor {
    sales: Vec<Sale>,
    behaviour: BTreeMap<PhysicalShard, Behaviour>,
    calls: Mutex<Vec<(ShardTarget, ShardQuery)>>,
}

impl FakeExecutor {
    fn new(sales: Vec<Sale>) -> Self {
        Self {
            sales,
            ..Self::default()
        }
    }

    fn with(mut self, shard: u32, behaviour: Behaviour) -> Self {
        self.behaviour.insert(PhysicalShard(shard), behaviour);
        self
    }
}

#[async_trait]
impl ShardExecutor for FakeExecutor {
    async fn run(
        &self,
        shard: ShardTarget,
        query: &ShardQuery,
    ) -> Result<PartialAggregate, ShardError> {
        self.calls.lock().unwrap().push((shard, query.clone()));
        match self.behaviour.get(&shard.shard).cloned() {
            Some(Behaviour::Fail(error)) => return Err(error),
            Some(Behaviour::Hang) => std::future::pending::<()>().await,
            Some(Behaviour::Barrier(barrier)) => {
                barrier.wait().await;
            }
            None => {}
        }
        Ok(PartialAggregate::from_rows(
            self.sales
                .iter()
                .filter(|(pharmacy, _, _)| {
                    query
                        .pharmacy_ids
                        .binary_search(&PharmacyId::new(*pharmacy))
                        .is_ok()
                })
                .map(|(_, amount, patient)| (*amount, Some(*patient))),
        ))
    }
}

struct TokioSleep;

#[async_trait]
impl Sleep for TokioSleep {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

fn route(pharmacy: PharmacyId) -> PhysicalShard {
    PhysicalShard(pharmacy.get() % 4)
}

fn ids<const N: usize>(ids: [u32; N]) -> [PharmacyId; N] {
    ids.map(PharmacyId::new)
}

fn sales() -> Vec<Sale> {
    vec![
        (1, 1_999, 100),
        (1, 2_500, 101),
        (2, 10_000, 100),
        (3, -500, 102), // a refund
        (4, 750, 103),
        (5, 123_456, 101),
        (6, 42, 104),
        (8, 9_999, 105),
        (9, 1, 100),
    ]
}

fn request(pharmacies: impl IntoIterator<Item = u32>) -> ScatterRequest {
    ScatterRequest::for_pharmacies(
        "sales_total",
        vec![ParamValue::Text("2026-04-15".into())],
        pharmacies.into_iter().map(PharmacyId::new),
        route,
        |_| ANALYTICS,
    )
}

fn direct(sales: &[Sale], pharmacies: &[u32]) -> PartialAggregate {
    PartialAggregate::from_rows(
        sales
            .iter()
            .filter(|(pharmacy, _, _)| pharmacies.contains(pharmacy))
            .map(|(_, amount, patient)| (*amount, Some(*patient))),
    )
}

fn target(shard: u32) -> ShardTarget {
    ShardTarget {
        shard: PhysicalShard(shard),
        node: ANALYTICS,
    }
}

fn fast() -> ScatterOptions {
    ScatterOptions {
        per_shard_timeout: Duration::from_millis(50),
        ..ScatterOptions::default()
    }
}

#[test]
fn grouping_by_shard() {
    let groups = group_by_shard(ids([9, 1, 2, 5, 1, 8, 4, 13]), route);
    assert_eq!(
        groups,
        BTreeMap::from([
            (PhysicalShard(0), ids([4, 8]).to_vec()),
            (PhysicalShard(1), ids([1, 5, 9, 13]).to_vec()),
            (PhysicalShard(2), ids([2]).to_vec())
        ])
    );
    let failing = try_group_by_shard(ids([1, 2, 99]), |id| {
        if id.get() == 99 {
            Err(id)
        } else {
            Ok(route(id))
        }
    });
    assert_eq!(failing, Err(PharmacyId::new(99)));
    assert_eq!(
        try_group_by_shard::<_, _, ()>(ids([3]), |id| Ok(route(id))).unwrap(),
        BTreeMap::from([(PhysicalShard(3), ids([3]).to_vec())])
    );
}

#[tokio::test]
async fn merges_sums_min_max_average_and_distinct_across_shards() {
    let pharmacies: Vec<u32> = (1..=9).collect();
    let executor = FakeExecutor::new(sales());
    let result = scatter_gather(
        &executor,
        &TokioSleep,
        &request(pharmacies.clone()),
        &fast(),
    )
    .await
    .unwrap();
    let all = &result.aggregate;
    assert_eq!(all.count, 9);
    assert_eq!(all.sum, 148_247);
    assert_eq!(all.min, Some(-500));
    assert_eq!(all.max, Some(123_456));
    assert_eq!(all.distinct_count(), 6);
    assert_eq!(all.average_rounded(), Some(16_472)); // 148_247 / 9 = 16_471.9
    assert!((all.average().unwrap() - 16_471.888_9).abs() < 1e-3);
    assert_eq!(all, &direct(&sales(), &pharmacies));
    assert!(result.is_complete());
    assert_eq!(
        result.shards_ok,
        vec![target(0), target(1), target(2), target(3)]
    );

    // Each shard was asked once, for exactly its pharmacies, with the shared parameters.
    let mut calls = executor.calls.lock().unwrap().clone();
    calls.sort_by_key(|(t, _)| *t);
    let asked: Vec<(u32, Vec<u32>)> = calls
        .iter()
        .map(|(t, q)| {
            (
                t.shard.0,
                q.pharmacy_ids.iter().map(|id| id.get()).collect(),
            )
        })
        .collect();
    assert_eq!(
        asked,
        vec![
            (0, vec![4, 8]),
            (1, vec![1, 5, 9]),
            (2, vec![2, 6]),
            (3, vec![3, 7])
        ]
    );
    assert!(calls.iter().all(|(_, q)| q.statement == "sales_total"
        && q.params == [ParamValue::Text("2026-04-15".into())]
        && q.timeout == Duration::from_millis(50)));
}

#[tokio::test]
async fn an_average_is_not_an_average_of_averages() {
    // Shard 1 has one big sale, shard 2 has three small ones.
    let sales = vec![(1, 900, 1), (2, 100, 2), (6, 100, 3), (10, 100, 4)];
    let executor = FakeExecutor::new(sales);
    let result = scatter_gather(&executor, &TokioSleep, &request([1, 2, 6, 10]), &fast())
        .await
        .unwrap();
    assert_eq!(result.aggregate.average_rounded(), Some(300)); // not (900 + 100) / 2
}

#[tokio::test]
async fn legs_run_concurrently() {
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let mut executor = FakeExecutor::new(sales());
    for shard in 0..4 {
        executor = executor.with(shard, Behaviour::Barrier(barrier.clone()));
    }
    let options = ScatterOptions {
        per_shard_timeout: Duration::from_secs(30),
        ..ScatterOptions::default()
    };
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        scatter_gather(&executor, &TokioSleep, &request(1..=9), &options),
    )
    .await
    .expect("sequential legs would deadlock on the barrier")
    .unwrap();
    assert_eq!(result.aggregate.count, 9);
}

#[tokio::test]
async fn a_slow_shard_times_out() {
    let executor = FakeExecutor::new(sales()).with(2, Behaviour::Hang);
    // The hanging leg is abandoned at its 50 ms timeout, long before this guard.
    let error = tokio::time::timeout(
        Duration::from_secs(5),
        scatter_gather(&executor, &TokioSleep, &request(1..=9), &fast()),
    )
    .await
    .expect("the hanging leg is abandoned at its timeout")
    .unwrap_err();
    let ScatterError::ShardsFailed { missing, shards_ok } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].target, target(2));
    assert_eq!(
        missing[0].failure,
        ShardFailure::TimedOut {
            after: Duration::from_millis(50)
        }
    );
    assert_eq!(shards_ok, &vec![target(0), target(1), target(3)]);
    assert_eq!(error.to_string(), "1 of 4 shards failed");

    // Opting in to partial results: the other shards' merge, with shard 2 listed.
    let options = ScatterOptions {
        partial: PartialFailurePolicy::AllowPartial,
        ..fast()
    };
    let result = scatter_gather(&executor, &TokioSleep, &request(1..=9), &options)
        .await
        .unwrap();
    assert!(!result.is_complete());
    assert_eq!(result.missing_shards.len(), 1);
    assert_eq!(result.missing_shards[0].target, target(2));
    assert_eq!(result.aggregate, direct(&sales(), &[1, 3, 4, 5, 7, 8, 9]));
}

#[tokio::test]
async fn a_failing_shard_fails_by_default_and_is_listed_when_partial() {
    let failure = ShardError::Query("relation \"sales\" does not exist".into());
    let executor = FakeExecutor::new(sales()).with(1, Behaviour::Fail(failure.clone()));
    let error = scatter_gather(&executor, &TokioSleep, &request(1..=9), &fast())
        .await
        .unwrap_err();
    assert_eq!(error.missing_shards().len(), 1);
    assert_eq!(
        error.missing_shards()[0].failure,
        ShardFailure::Error(failure.clone())
    );

    let options = ScatterOptions {
        partial: PartialFailurePolicy::AllowPartial,
        ..fast()
    };
    let result = scatter_gather(&executor, &TokioSleep, &request(1..=9), &options)
        .await
        .unwrap();
    assert_eq!(result.missing_shards.len(), 1);
    assert_eq!(result.missing_shards[0].target, target(1));
    assert_eq!(result.aggregate, direct(&sales(), &[2, 3, 4, 6, 7, 8]));
    assert_eq!(result.shards_ok, vec![target(0), target(2), target(3)]);
}

#[tokio::test]
async fn all_shards_failing_is_an_error_even_when_partial() {
    let mut executor = FakeExecutor::new(sales());
    for shard in 0..4 {
        executor = executor.with(
            shard,
            Behaviour::Fail(ShardError::Unavailable("down".into())),
        );
    }
    let options = ScatterOptions {
        partial: PartialFailurePolicy::AllowPartial,
        ..fast()
    };
    let error = scatter_gather(&executor, &TokioSleep, &request(1..=9), &options)
        .await
        .unwrap_err();
    assert!(matches!(&error, ScatterError::AllShardsFailed { missing } if missing.len() == 4));
}

#[tokio::test]
async fn duplicate_shards_and_empty_requests() {
    let executor = FakeExecutor::new(sales());
    let leg = ShardLeg {
        target: target(1),
        pharmacy_ids: ids([1]).to_vec(),
    };
    let duplicated = ScatterRequest {
        statement: "q".into(),
        params: vec![],
        legs: vec![
            leg.clone(),
            ShardLeg {
                target: ShardTarget {
                    shard: PhysicalShard(1),
                    node: Target::Primary,
                },
                ..leg
            },
        ],
    };
    assert_eq!(
        scatter_gather(&executor, &TokioSleep, &duplicated, &fast()).await,
        Err(ScatterError::DuplicateShard(PhysicalShard(1)))
    );
    assert!(executor.calls.lock().unwrap().is_empty());

    // The same pharmacy in two legs (say, a stale grouping during a move) would be
    // counted twice: rejected before anything runs, as is a pharmacy twice in one leg.
    let repeated = ScatterRequest {
        statement: "q".into(),
        params: vec![],
        legs: vec![
            ShardLeg {
                target: target(1),
                pharmacy_ids: ids([1, 5]).to_vec(),
            },
            ShardLeg {
                target: target(2),
                pharmacy_ids: ids([2, 5]).to_vec(),
            },
        ],
    };
    let error = scatter_gather(&executor, &TokioSleep, &repeated, &fast())
        .await
        .unwrap_err();
    assert_eq!(error, ScatterError::DuplicatePharmacy(PharmacyId::new(5)));
    assert!(error.missing_shards().is_empty());
    let twice_in_one_leg = ScatterRequest {
        legs: vec![ShardLeg {
            target: target(1),
            pharmacy_ids: ids([3, 3]).to_vec(),
        }],
        ..repeated
    };
    assert_eq!(
        scatter_gather(&executor, &TokioSleep, &twice_in_one_leg, &fast()).await,
        Err(ScatterError::DuplicatePharmacy(PharmacyId::new(3)))
    );
    assert!(executor.calls.lock().unwrap().is_empty());

    let empty = scatter_gather(&executor, &TokioSleep, &request([]), &fast())
        .await
        .unwrap();
    assert!(empty.is_complete());
    assert_eq!(empty.aggregate, PartialAggregate::default());
    assert_eq!(empty.aggregate.average(), None);
}

#[tokio::test]
async fn cached_aggregate_with_its_age_when_analytics_is_down() {
    let mut cache = AggregateCache::new();
    let fallback = FallbackPolicy::UseCachedIfAnalyticsDown {
        max_age: Duration::from_secs(15 * 60),
    };
    let healthy = FakeExecutor::new(sales());
    let fresh = gather_or_cached(
        &healthy,
        &TokioSleep,
        &request(1..=9),
        &fast(),
        &mut cache,
        fallback,
        1_000_000,
    )
    .await
    .unwrap();
    assert!(matches!(fresh, Answer::Fresh(_)));
    let expected = fresh.result().clone();

    // The analytics replica of shard 3 is down (refusing connections, or hanging).
    for behaviour in [
        Behaviour::Fail(ShardError::Unavailable("connection refused".into())),
        Behaviour::Hang,
    ] {
        let down = FakeExecutor::new(sales()).with(3, behaviour);
        // Not opted in: the error.
        let error = gather_or_cached(
            &down,
            &TokioSleep,
            &request(1..=9),
            &fast(),
            &mut cache,
            FallbackPolicy::None,
            1_060_000,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, ScatterError::ShardsFailed { .. }));

        // Opted in: the cached aggregate, 60 s old.
        let answer = gather_or_cached(
            &down,
            &TokioSleep,
            &request(1..=9),
            &fast(),
            &mut cache,
            fallback,
            1_060_000,
        )
        .await
        .unwrap();
        let Answer::Cached { result, age, cause } = answer else {
            panic!("expected the cached answer");
        };
        assert_eq!(result, expected);
        assert_eq!(age, Duration::from_secs(60));
        assert_eq!(cause.missing_shards()[0].target, target(3));

        // Too old: the error.
        assert!(
            gather_or_cached(
                &down,
                &TokioSleep,
                &request(1..=9),
                &fast(),
                &mut cache,
                fallback,
                1_000_000 + 15 * 60_000 + 1,
            )
            .await
            .is_err()
        );
    }

    // A failing query is not "analytics down": no cache.
    let broken =
        FakeExecutor::new(sales()).with(3, Behaviour::Fail(ShardError::Query("syntax".into())));
    assert!(
        gather_or_cached(
            &broken,
            &TokioSleep,
            &request(1..=9),
            &fast(),
            &mut cache,
            fallback,
            1_060_000,
        )
        .await
        .is_err()
    );
    // Nor is a leg on the primary being down.
    let on_primary =
        ScatterRequest::for_pharmacies("q", vec![], (1..=9).map(PharmacyId::new), route, |_| {
            Target::Primary
        });
    let down =
        FakeExecutor::new(sales()).with(3, Behaviour::Fail(ShardError::Unavailable("x".into())));
    assert!(
        gather_or_cached(
            &down,
            &TokioSleep,
            &on_primary,
            &fast(),
            &mut cache,
            fallback,
            1_060_000,
        )
        .await
        .is_err()
    );
    // A partial result is returned fresh but not cached.
    let options = ScatterOptions {
        partial: PartialFailurePolicy::AllowPartial,
        ..fast()
    };
    let answer = gather_or_cached(
        &down,
        &TokioSleep,
        &request(1..=9),
        &options,
        &mut cache,
        fallback,
        2_000_000,
    )
    .await
    .unwrap();
    assert!(matches!(&answer, Answer::Fresh(r) if !r.is_complete()));
    assert_eq!(cache.get(2_000_000).unwrap().stored_at_ms, 1_000_000);
}

#[test]
fn cache_keeps_the_newest_and_reports_age() {
    let mut cache = AggregateCache::new();
    assert!(cache.get(0).is_none());
    let result = |sum| pharm_shard::scatter::GatherResult {
        aggregate: PartialAggregate {
            sum,
            count: 1,
            ..PartialAggregate::default()
        },
        shards_ok: vec![target(0)],
        missing_shards: vec![],
    };
    cache.put(result(1), 5_000);
    cache.put(result(2), 4_000); // older: ignored
    let cached = cache.get(65_000).unwrap();
    assert_eq!(cached.result.aggregate.sum, 1);
    assert_eq!(cached.age, Duration::from_secs(60));
    assert_eq!(cache.get(1_000).unwrap().age, Duration::ZERO);
    assert!(cache.get_within(65_000, Duration::from_secs(60)).is_some());
    assert!(cache.get_within(65_001, Duration::from_secs(60)).is_none());
    cache.clear();
    assert!(cache.get(65_000).is_none());
}

#[tokio::test]
async fn works_through_trait_objects_and_spawned_tasks() {
    let executor: Arc<dyn ShardExecutor> = Arc::new(FakeExecutor::new(sales()));
    let timer: Arc<dyn Sleep> = Arc::new(TokioSleep);
    let handle =
        tokio::spawn(
            async move { scatter_gather(&*executor, &*timer, &request(1..=9), &fast()).await },
        );
    assert_eq!(handle.await.unwrap().unwrap().aggregate.count, 9);
}

#[test]
fn aggregates_serialize() {
    let aggregate = PartialAggregate::from_rows([(5, Some(1)), (-7, Some(2)), (5, Some(1))]);
    let json = serde_json::to_string(&aggregate).unwrap();
    assert_eq!(
        serde_json::from_str::<PartialAggregate>(&json).unwrap(),
        aggregate
    );
    assert_eq!(aggregate.distinct.iter().collect::<Vec<_>>(), vec![1, 2]);
}

// ---- properties ----

fn partial() -> impl Strategy<Value = PartialAggregate> {
    prop::collection::vec((any::<i64>(), prop::option::of(-20i64..20)), 0..12)
        .prop_map(PartialAggregate::from_rows)
}

fn sales_strategy() -> impl Strategy<Value = Vec<Sale>> {
    prop::collection::vec((0u32..40, -1_000_000i64..1_000_000, 0i64..30), 0..80)
}

proptest! {
    #[test]
    fn merge_is_commutative(a in partial(), b in partial()) {
        prop_assert_eq!(a.clone().merged(&b), b.merged(&a));
    }

    #[test]
    fn merge_is_associative(a in partial(), b in partial(), c in partial()) {
        prop_assert_eq!(
            a.clone().merged(&b).merged(&c),
            a.merged(&b.merged(&c))
        );
    }

    #[test]
    fn empty_is_the_identity(a in partial()) {
        prop_assert_eq!(a.clone().merged(&PartialAggregate::default()), a.clone());
        prop_assert_eq!(PartialAggregate::default().merged(&a), a);
    }

    /// Splitting rows over shards in any way, aggregating each shard and merging gives the
    /// aggregate of all rows.
    #[test]
    fn merged_partials_equal_the_direct_aggregate(
        rows in prop::collection::vec((any::<i64>(), prop::option::of(any::<i64>()), 0u32..6), 0..60)
    ) {
        let mut shards: BTreeMap<u32, PartialAggregate> = BTreeMap::new();
        for (value, key, shard) in &rows {
            shards.entry(*shard).or_default().push(*value, *key);
        }
        let merged = shards
            .values()
            .fold(PartialAggregate::default(), |acc, p| acc.merged(p));
        let direct = PartialAggregate::from_rows(rows.iter().map(|(v, k, _)| (*v, *k)));
        prop_assert_eq!(&merged, &direct);
        let sum: i128 = rows.iter().map(|(v, _, _)| i128::from(*v)).sum();
        prop_assert_eq!(merged.sum, sum);
        let keys: DistinctSet = rows.iter().filter_map(|(_, k, _)| *k).collect();
        prop_assert_eq!(merged.distinct_count(), keys.len());
    }

    /// The whole scatter-gather (grouping, concurrent legs, merge) equals aggregating the
    /// selected pharmacies' rows directly, for any routing.
    #[test]
    fn scatter_gather_equals_direct(
        sales in sales_strategy(),
        selected in prop::collection::btree_set(0u32..40, 0..40),
        shards in 1u32..7,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let executor = FakeExecutor::new(sales.clone());
        let request = ScatterRequest::for_pharmacies(
            "q",
            vec![],
            selected.iter().copied().map(PharmacyId::new),
            |id| PhysicalShard(id.get() % shards),
            |_| ANALYTICS,
        );
        let result = runtime
            .block_on(scatter_gather(&executor, &TokioSleep, &request, &ScatterOptions::default()))
            .unwrap();
        let selected: Vec<u32> = selected.into_iter().collect();
        prop_assert_eq!(result.aggregate, direct(&sales, &selected));
        prop_assert_eq!(result.shards_ok.len(), request.legs.len());
    }
}
