//! Integration tests of the PostgreSQL adapter against real PostgreSQL clusters started by
//! the tests themselves (see `pg_cluster`): two shard primaries and a streaming replica.
//!
//! Without server binaries the tests skip with a loud message, unless `PHARM_REQUIRE_PG=1`
//! (CI), which makes that a failure.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod pg_cluster;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pg_cluster::{Cluster, pg_env, wait_until};
use pharm_core::ids::PharmacyId;
use pharm_core::time::ManualClock;
use pharm_shard::directory::{PhysicalShard, ShardMap};
use pharm_shard::hash::{
    HashScheme, PG_HASH_PARTITION_SEED, PG_VECTORS, pg_hashint8, pg_hashint8extended, pharm_hash,
};
use pharm_shard::lag::{LagEstimate, LagSource};
use pharm_shard::pg::{PgError, PgShards, PgShardsConfig, PoolSettings, ReadOutcome, ShardNodes};
use pharm_shard::reads::{
    DecisionReason, FallbackReason, LsnToken, QueryKind, ReplicaKey, ReplicaRole, RoutingEvent,
    Target,
};
use pharm_shard::scatter::{
    ParamValue, PartialAggregate, PartialFailurePolicy, ScatterError, ScatterOptions, ShardError,
    ShardFailure, ShardTarget,
};
use tokio_postgres::Client;

const SHARD_A: PhysicalShard = PhysicalShard(0);
const SHARD_B: PhysicalShard = PhysicalShard(1);
const SALES: &str = "CREATE TABLE sales (pharmacy_id bigint NOT NULL, amount_cents bigint NOT NULL, ndc text NOT NULL)";
const ANALYTICS_A: ReplicaKey = ReplicaKey {
    shard: SHARD_A,
    role: ReplicaRole::Analytics,
};

fn primary(shard: PhysicalShard) -> ShardTarget {
    ShardTarget {
        shard,
        node: Target::Primary,
    }
}

fn analytics(shard: PhysicalShard) -> ShardTarget {
    ShardTarget {
        shard,
        node: Target::Replica(ReplicaRole::Analytics),
    }
}

/// A manual clock on the Unix epoch (the replica's replay timestamps are Unix times).
fn unix_clock() -> ManualClock {
    ManualClock::starting_at(SystemTime::now().duration_since(UNIX_EPOCH).unwrap())
}

/// 16 logical shards by PostgreSQL's bigint hash over `physical` shards 0..n.
fn map(physical: u32) -> ShardMap {
    let shards: Vec<PhysicalShard> = (0..physical).map(PhysicalShard).collect();
    ShardMap::new(HashScheme::PostgresBigint, 16, &shards).unwrap()
}

fn adapter(
    map: ShardMap,
    nodes: Vec<(PhysicalShard, ShardNodes)>,
    clock: &ManualClock,
) -> PgShards {
    adapter_with(map, nodes, clock, None)
}

fn adapter_with(
    map: ShardMap,
    nodes: Vec<(PhysicalShard, ShardNodes)>,
    clock: &ManualClock,
    heartbeat_table: Option<&str>,
) -> PgShards {
    let config = PgShardsConfig {
        pool: PoolSettings {
            max_size: 4,
            connect_timeout: Duration::from_secs(3),
            wait_timeout: Duration::from_secs(3),
            ..PoolSettings::default()
        },
        query_timeout: Duration::from_secs(15),
        heartbeat_table: heartbeat_table.map(str::to_owned),
        ..PgShardsConfig::default()
    };
    PgShards::new(map, nodes, config, Arc::new(clock.clone())).unwrap()
}

async fn count_rows(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// Refreshes the replica's lag until it reports caught up (the clock does not move).
async fn wait_caught_up(shards: &PgShards, replica: ReplicaKey) -> LagEstimate {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let estimate = shards.refresh_lag(replica).await.unwrap();
        if estimate.source == LagSource::CaughtUp {
            return estimate;
        }
        assert!(
            Instant::now() < deadline,
            "replica never caught up: {estimate:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The single integer of a one-column row.
fn int(row: &[ParamValue]) -> i64 {
    match row {
        [ParamValue::Int(value)] => *value,
        other => panic!("expected one integer, got {other:?}"),
    }
}

/// `sql` (with the pharmacy as `$1`) read for pharmacy `p` through the read router.
async fn read_pharmacy(
    shards: &PgShards,
    kind: QueryKind,
    p: i64,
    token: Option<&LsnToken>,
    sql: &str,
) -> ReadOutcome {
    shards
        .query_read(kind, ph(p), token, sql, &[ParamValue::Int(p)])
        .await
        .unwrap()
}

/// A pharmacy id of the tests' `bigint` column.
fn ph(id: i64) -> PharmacyId {
    PharmacyId::from_i64(id).unwrap()
}

/// The pharmacies among `ids` that the map sends to `shard`.
fn on_shard(
    shards: &PgShards,
    ids: impl IntoIterator<Item = i64>,
    shard: PhysicalShard,
) -> Vec<i64> {
    ids.into_iter()
        .filter(|id| shards.route(ph(*id)).physical == shard)
        .collect()
}

/// Test (1): `HashScheme::PostgresBigint` places every id in the partition a real server
/// puts it in, for `MODULUS` 4, 5, 16 and 64.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_partition_hash_matches_a_real_server() {
    let Some(env) = pg_env() else { return };
    let started = Instant::now();
    let cluster = Cluster::primary(&env, "hash");
    let client = cluster.client().await;

    let mut ids: Vec<i64> = vec![
        i64::MIN,
        i64::MIN + 1,
        i64::MAX,
        i64::MAX - 1,
        i64::from(i32::MIN),
        i64::from(i32::MIN) - 1,
        i64::from(i32::MAX),
        i64::from(i32::MAX) + 1,
        i64::from(u32::MAX),
        1 << 32,
        -(1 << 32),
        123_456_789_012,
    ];
    ids.extend(-1_000..=5_000);
    // 2,000 well-spread 64-bit ids.
    ids.extend((0..2_000).map(|i| pharm_hash(i) as i64));
    ids.extend(PG_VECTORS.iter().map(|(id, _, _)| *id));
    ids.sort_unstable();
    ids.dedup();

    let moduli = [4u64, 5, 16, 64];
    let mut ddl = String::new();
    for m in moduli {
        ddl += &format!("CREATE TABLE hp{m} (id bigint NOT NULL) PARTITION BY HASH (id);\n");
        for r in 0..m {
            ddl += &format!(
                "CREATE TABLE hp{m}_p{r} PARTITION OF hp{m} \
                 FOR VALUES WITH (MODULUS {m}, REMAINDER {r});\n"
            );
        }
    }
    client.batch_execute(&ddl).await.unwrap();

    let mut server: BTreeMap<(i64, u64), u64> = BTreeMap::new();
    for m in moduli {
        let inserted = client
            .execute(
                &format!("INSERT INTO hp{m} SELECT unnest($1::int8[])"),
                &[&ids],
            )
            .await
            .unwrap();
        assert_eq!(inserted, ids.len() as u64);
        let rows = client
            .query(
                &format!("SELECT id, tableoid::regclass::text FROM hp{m}"),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), ids.len());
        let shard_map = ShardMap::new(
            HashScheme::PostgresBigint,
            m as u32,
            &[PhysicalShard(0), PhysicalShard(1)],
        )
        .unwrap();
        for row in rows {
            let id: i64 = row.get(0);
            let partition: String = row.get(1);
            let remainder: u64 = partition
                .rsplit_once("_p")
                .and_then(|(_, r)| r.parse().ok())
                .unwrap_or_else(|| panic!("unexpected partition name {partition}"));
            assert_eq!(
                HashScheme::pg_partition(id, m),
                remainder,
                "id {id}, MODULUS {m}: the server chose {partition}"
            );
            // Every pharmacy id is such a bigint (`PharmacyId::to_i64`); the map routes it
            // to the server's partition.
            if let Ok(pharmacy) = PharmacyId::from_i64(id) {
                assert_eq!(pharmacy.to_i64(), id);
                assert_eq!(
                    u64::from(shard_map.logical_of(pharmacy).0),
                    remainder,
                    "id {id}, {m}"
                );
            }
            server.insert((id, m), remainder);
        }
    }
    // The published vectors agree with this server too.
    for &(id, m, remainder) in PG_VECTORS {
        assert_eq!(
            server.get(&(id, m)),
            Some(&remainder),
            "PG_VECTORS ({id}, {m})"
        );
    }
    // And so do the raw hash functions.
    let rows = client
        .query(
            "SELECT id, hashint8extended(id, $2), hashint8(id) FROM unnest($1::int8[]) AS id",
            &[&ids, &(PG_HASH_PARTITION_SEED as i64)],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), ids.len());
    for row in rows {
        let id: i64 = row.get(0);
        let extended: i64 = row.get(1);
        let short: i32 = row.get(2);
        assert_eq!(
            pg_hashint8extended(id, PG_HASH_PARTITION_SEED) as i64,
            extended,
            "{id}"
        );
        assert_eq!(pg_hashint8(id), short, "{id}");
    }
    eprintln!(
        "pg_partition_hash_matches_a_real_server: {} ids x {} moduli in {:?}",
        ids.len(),
        moduli.len(),
        started.elapsed()
    );
}

/// Test (2): writes go to the primary the map names, analytics reads to that shard's
/// replica once it has caught up, transactional reads to the primary, and a
/// read-your-writes token keeps a read on the primary until the replica has replayed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_reads_land_where_the_table_says() {
    let Some(env) = pg_env() else { return };
    let started = Instant::now();
    let clusters = Cluster::primaries(&env, &["a", "b"]);
    let (a, b) = (&clusters[0], &clusters[1]);
    let (ca, cb) = (a.client().await, b.client().await);
    ca.batch_execute(SALES).await.unwrap();
    cb.batch_execute(SALES).await.unwrap();
    let a_replica = Cluster::replica_of(a, "a_replica");
    let cr = a_replica.client().await;
    let clock = unix_clock();
    let nodes = vec![
        (
            SHARD_A,
            ShardNodes::primary(a.conn_string())
                .with_replica(ReplicaRole::Analytics, a_replica.conn_string()),
        ),
        (SHARD_B, ShardNodes::primary(b.conn_string())),
    ];
    let shards = adapter(map(2), nodes.clone(), &clock);
    eprintln!("clusters ready after {:?}", started.elapsed());

    let pharmacies: Vec<i64> = (1..=40).collect();
    let on_a = on_shard(&shards, pharmacies.clone(), SHARD_A);
    let on_b = on_shard(&shards, pharmacies.clone(), SHARD_B);
    assert!(!on_a.is_empty() && !on_b.is_empty(), "{on_a:?} / {on_b:?}");

    // Writes: pharmacy p gets p % 3 + 1 rows, each on the primary the map names.
    let mut expected_rows: BTreeMap<PhysicalShard, i64> = BTreeMap::new();
    for &p in &pharmacies {
        let n = p % 3 + 1;
        for i in 0..n {
            let amount = 100 * p + i;
            let outcome = shards
                .execute_write(
                    ph(p),
                    "INSERT INTO sales (pharmacy_id, amount_cents, ndc) VALUES ($1, $2, $3)",
                    &[
                        ParamValue::Int(p),
                        ParamValue::Int(amount),
                        ParamValue::Text(format!("ndc-{i}")),
                    ],
                )
                .await
                .unwrap();
            let shard = shards.route(ph(p)).physical;
            assert_eq!(outcome.rows_affected, 1);
            assert_eq!(outcome.served_by, primary(shard));
            assert_eq!(outcome.token.shard, shard);
        }
        *expected_rows
            .entry(shards.route(ph(p)).physical)
            .or_default() += n;
    }
    // Each primary holds exactly the rows of its pharmacies.
    for (client, shard, ids) in [(&ca, SHARD_A, &on_a), (&cb, SHARD_B, &on_b)] {
        assert_eq!(
            count_rows(client, "SELECT count(*) FROM sales").await,
            expected_rows[&shard]
        );
        let held: BTreeSet<i64> = client
            .query("SELECT DISTINCT pharmacy_id FROM sales", &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(
            held,
            ids.iter().copied().collect::<BTreeSet<_>>(),
            "shard {shard}"
        );
    }

    // The replica catches up; analytics reads of shard A then land on it.
    wait_caught_up(&shards, ANALYTICS_A).await;
    assert_eq!(
        count_rows(&cr, "SELECT count(*) FROM sales").await,
        expected_rows[&SHARD_A]
    );
    let p = on_a[0];
    let sql = "SELECT count(*) FROM sales WHERE pharmacy_id = $1";
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, None, sql).await;
    assert_eq!(read.served_by, analytics(SHARD_A));
    assert!(matches!(
        read.decision.reason,
        DecisionReason::ReplicaInSync { .. }
    ));
    assert_eq!(int(&read.rows[0]), p % 3 + 1);
    // pg_is_in_recovery() proves which server answered.
    let on_replica = shards
        .query_read(
            QueryKind::Analytics,
            ph(p),
            None,
            "SELECT pg_is_in_recovery()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(on_replica.rows[0], [ParamValue::Bool(true)]);
    // Rows come back as values: text and NULL decode, other column types are refused
    // with a hint to cast them.
    let values = shards
        .query_on(
            primary(SHARD_A),
            "SELECT 'x'::text, NULL::int8, $1::int4",
            &[ParamValue::Int(7)],
        )
        .await
        .unwrap();
    assert_eq!(
        values,
        [vec![
            ParamValue::Text("x".into()),
            ParamValue::Null,
            ParamValue::Int(7)
        ]]
    );
    let numeric = shards
        .query_on(primary(SHARD_A), "SELECT 1.5::numeric", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(numeric, PgError::BadResult { ref message, .. } if message.contains("cast")),
        "{numeric}"
    );

    // An analytics scatter-gather runs shard A's leg on its replica, shard B's on its
    // primary, and adds up to the rows written.
    let request = shards.scatter_request(
        "SELECT amount_cents, pharmacy_id FROM sales WHERE pharmacy_id = ANY($1)",
        vec![],
        pharmacies.iter().copied().map(ph),
        QueryKind::Analytics,
    );
    let result = shards
        .scatter_gather(&request, &ScatterOptions::default())
        .await
        .unwrap();
    assert_eq!(result.shards_ok, vec![analytics(SHARD_A), primary(SHARD_B)]);
    let written: i64 = pharmacies.iter().map(|p| p % 3 + 1).sum();
    let written_sum: i128 = pharmacies
        .iter()
        .flat_map(|p| (0..p % 3 + 1).map(move |i| i128::from(100 * p + i)))
        .sum();
    assert_eq!(result.aggregate.count, written as u64);
    assert_eq!(result.aggregate.sum, written_sum);
    assert_eq!(result.aggregate.distinct_count(), pharmacies.len() as u64);

    let read = read_pharmacy(&shards, QueryKind::TransactionalRead, p, None, sql).await;
    assert_eq!(read.served_by, primary(SHARD_A));
    assert_eq!(read.decision.reason, DecisionReason::PrimaryByKind);

    // Shard B has no replica: its analytics reads go to its primary.
    let q = on_b[0];
    let read = read_pharmacy(&shards, QueryKind::Analytics, q, None, sql).await;
    assert_eq!(read.served_by, primary(SHARD_B));
    assert_eq!(int(&read.rows[0]), q % 3 + 1);

    // Read-your-writes: until a lag sample shows the replica past the token, a read with
    // the token goes to the primary (and sees the write); afterwards to the replica.
    let write = shards
        .execute_write(
            ph(p),
            "INSERT INTO sales (pharmacy_id, amount_cents, ndc) VALUES ($1, 1, 'ryw')",
            &[ParamValue::Int(p)],
        )
        .await
        .unwrap();
    let ryw = "SELECT count(*) FROM sales WHERE pharmacy_id = $1 AND ndc = 'ryw'";
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, Some(&write.token), ryw).await;
    assert_eq!(read.served_by, primary(SHARD_A));
    assert!(matches!(
        read.decision.reason,
        DecisionReason::TokenNotReplayed { .. }
    ));
    assert_eq!(int(&read.rows[0]), 1);
    let estimate = wait_caught_up(&shards, ANALYTICS_A).await;
    assert!(estimate.replay_lsn >= write.token.lsn);
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, Some(&write.token), ryw).await;
    assert_eq!(read.served_by, analytics(SHARD_A));
    assert_eq!(int(&read.rows[0]), 1);
    // A token of shard A does not constrain reads of shard B.
    let read = read_pharmacy(
        &shards,
        QueryKind::TransactionalRead,
        q,
        Some(&write.token),
        sql,
    )
    .await;
    assert_eq!(read.served_by, primary(SHARD_B));
    assert!(shards.take_events().is_empty());

    // The lag monitor with a heartbeat table: it writes the primary's heartbeat, which the
    // replica replays, and feeds the router samples that carry it.
    let monitored = Arc::new(adapter_with(map(2), nodes, &clock, Some("pharm_heartbeat")));
    monitored.install_heartbeat(SHARD_A).await.unwrap();
    let monitor = monitored
        .spawn_lag_monitor(Duration::from_millis(50))
        .unwrap();
    wait_until(
        "a monitored sample with a heartbeat",
        Duration::from_secs(20),
        || {
            let monitored = Arc::clone(&monitored);
            async move {
                let sample = monitored.measure_lag(ANALYTICS_A).await.unwrap();
                let observed = monitored.with_router(|r| r.last_estimate(ANALYTICS_A).is_some());
                sample
                    .heartbeat
                    .is_some_and(|h| h.written_at_ms <= h.observed_at_ms)
                    && observed
            }
        },
    )
    .await;
    monitor.abort();
    eprintln!(
        "writes_and_reads_land_where_the_table_says: {:?}",
        started.elapsed()
    );
}

/// Test (3): with replay paused on the replica and writes continuing on the primary, the
/// measured lag passes 5 s and reads fall back to the primary (with an event); resuming
/// replay brings them back to the replica (with an event). Finally the replica dies: reads
/// go to the primary and it is marked unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_replay_falls_back_to_primary_and_resume_returns() {
    let Some(env) = pg_env() else { return };
    let started = Instant::now();
    let a = Cluster::primary(&env, "lag_a");
    let ca = a.client().await;
    ca.batch_execute(SALES).await.unwrap();
    let mut a_replica = Cluster::replica_of(&a, "lag_a_replica");
    let cr = a_replica.client().await;
    let clock = unix_clock();
    let shards = adapter(
        map(1),
        vec![(
            SHARD_A,
            ShardNodes::primary(a.conn_string())
                .with_replica(ReplicaRole::Analytics, a_replica.conn_string()),
        )],
        &clock,
    );
    assert_eq!(shards.config().router.max_lag, Duration::from_secs(5));
    eprintln!("clusters ready after {:?}", started.elapsed());

    let p = 7;
    let insert = "INSERT INTO sales (pharmacy_id, amount_cents, ndc) VALUES ($1, $2, 'x')";
    let count = "SELECT count(*) FROM sales WHERE pharmacy_id = $1";
    shards
        .execute_write(ph(p), insert, &[ParamValue::Int(p), ParamValue::Int(100)])
        .await
        .unwrap();
    wait_caught_up(&shards, ANALYTICS_A).await;
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, None, count).await;
    assert_eq!(read.served_by, analytics(SHARD_A));
    assert_eq!(int(&read.rows[0]), 1);

    // Pause replay; the primary keeps taking writes.
    cr.execute("SELECT pg_wal_replay_pause()", &[])
        .await
        .unwrap();
    wait_until("replay to pause", Duration::from_secs(20), || async {
        let state: String = cr
            .query_one("SELECT pg_get_wal_replay_pause_state()", &[])
            .await
            .unwrap()
            .get(0);
        state == "paused"
    })
    .await;
    for amount in [200i64, 300, 400] {
        shards
            .execute_write(
                ph(p),
                insert,
                &[ParamValue::Int(p), ParamValue::Int(amount)],
            )
            .await
            .unwrap();
    }

    // One second later the replica is behind but within the limit: reads stay on it (and
    // see the old data), a read carrying the new write's token does not.
    clock.advance(Duration::from_secs(1));
    let estimate = shards.refresh_lag(ANALYTICS_A).await.unwrap();
    assert!(estimate.replay_paused, "{estimate:?}");
    assert!(estimate.bytes_behind > 0, "{estimate:?}");
    assert_eq!(estimate.lag, Duration::from_secs(1), "{estimate:?}");
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, None, count).await;
    assert_eq!(read.served_by, analytics(SHARD_A));
    assert_eq!(int(&read.rows[0]), 1);
    assert!(shards.take_events().is_empty());

    // Past 5 s: the replica stops serving, with one event, and reads see the new rows on
    // the primary.
    clock.advance(Duration::from_millis(4_001));
    let estimate = shards.refresh_lag(ANALYTICS_A).await.unwrap();
    assert_eq!(estimate.source, LagSource::PrimaryLsnHistory);
    assert!(estimate.lag > Duration::from_secs(5), "{estimate:?}");
    let events = shards.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [RoutingEvent::FellBackToPrimary {
                replica: ANALYTICS_A,
                reason: FallbackReason::LagAboveMax,
                ..
            }]
        ),
        "{events:?}"
    );
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, None, count).await;
    assert_eq!(read.served_by, primary(SHARD_A));
    assert_eq!(
        read.decision.reason,
        DecisionReason::ReplicaFallback(FallbackReason::LagAboveMax)
    );
    assert_eq!(int(&read.rows[0]), 4);
    // Still paused a little later: still on the primary, no new event.
    clock.advance(Duration::from_secs(2));
    shards.refresh_lag(ANALYTICS_A).await.unwrap();
    assert!(shards.take_events().is_empty());
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, None, count).await;
    assert_eq!(read.served_by, primary(SHARD_A));

    // Resume: once the replica has caught up it serves again, with one event.
    cr.execute("SELECT pg_wal_replay_resume()", &[])
        .await
        .unwrap();
    clock.advance(Duration::from_secs(1));
    let estimate = wait_caught_up(&shards, ANALYTICS_A).await;
    assert!(!estimate.replay_paused);
    let events = shards.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [RoutingEvent::ReplicaRestored {
                replica: ANALYTICS_A,
                ..
            }]
        ),
        "{events:?}"
    );
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, None, count).await;
    assert_eq!(read.served_by, analytics(SHARD_A));
    assert_eq!(int(&read.rows[0]), 4);

    // The replica dies: the read that finds out is served by the primary, and the replica
    // is marked down (one event) until a good sample arrives.
    drop(cr);
    a_replica.stop();
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, None, count).await;
    assert_eq!(read.served_by, primary(SHARD_A));
    assert_eq!(
        read.decision.reason,
        DecisionReason::ReplicaFallback(FallbackReason::Unreachable)
    );
    assert_eq!(int(&read.rows[0]), 4);
    let events = shards.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [RoutingEvent::FellBackToPrimary {
                replica: ANALYTICS_A,
                reason: FallbackReason::Unreachable,
                ..
            }]
        ),
        "{events:?}"
    );
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, None, count).await;
    assert_eq!(read.served_by, primary(SHARD_A));
    assert!(
        shards
            .refresh_lag(ANALYTICS_A)
            .await
            .unwrap_err()
            .is_node_down()
    );
    eprintln!(
        "paused_replay_falls_back_to_primary_and_resume_returns: {:?}",
        started.elapsed()
    );
}

/// Read-your-writes under `synchronous_commit = off`: the commit returns before its
/// record is written, so the primary's write position (`pg_current_wal_lsn()`) is still
/// behind it and a replica at that position does not show the row. The token (the insert
/// position) covers the commit record, so the read goes to the primary (or to a replica
/// that really has the row). A token taken right after a WAL segment switch (the insert
/// position then sits behind the new segment's page header) is still reached by the
/// replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_your_writes_token_covers_an_async_commit() {
    let Some(env) = pg_env() else { return };
    let started = Instant::now();
    let a = Cluster::primary(&env, "ryw_a");
    let ca = a.client().await;
    ca.batch_execute(SALES).await.unwrap();
    // The WAL writer would write the async commit out within 200 ms; make it lazy.
    ca.batch_execute("ALTER SYSTEM SET wal_writer_delay = '10s'")
        .await
        .unwrap();
    ca.execute("SELECT pg_reload_conf()", &[]).await.unwrap();
    let a_replica = Cluster::replica_of(&a, "ryw_a_replica");
    let clock = unix_clock();
    let shards = adapter(
        map(1),
        vec![(
            SHARD_A,
            ShardNodes::primary(format!(
                "{} options='-c synchronous_commit=off'",
                a.conn_string()
            ))
            .with_replica(ReplicaRole::Analytics, a_replica.conn_string()),
        )],
        &clock,
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    wait_caught_up(&shards, ANALYTICS_A).await;
    eprintln!("clusters ready after {:?}", started.elapsed());

    let p = 11;
    let insert_before: tokio_postgres::types::PgLsn = ca
        .query_one("SELECT pg_current_wal_insert_lsn()", &[])
        .await
        .unwrap()
        .get(0);
    let write = shards
        .execute_write(
            ph(p),
            "INSERT INTO sales (pharmacy_id, amount_cents, ndc) VALUES ($1, 1, 'async')",
            &[ParamValue::Int(p)],
        )
        .await
        .unwrap();
    // The replica has everything written so far, and the sample may well say caught up.
    shards.refresh_lag(ANALYTICS_A).await.unwrap();
    let ryw = "SELECT count(*) FROM sales WHERE pharmacy_id = $1 AND ndc = 'async'";
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, Some(&write.token), ryw).await;
    assert_eq!(
        int(&read.rows[0]),
        1,
        "read-your-writes violated: served by {:?} ({:?})",
        read.served_by,
        read.decision
    );
    assert!(
        write.token.lsn.0 > u64::from(insert_before),
        "the token must cover the commit record: {} vs {insert_before}",
        write.token.lsn
    );

    // A segment switch: the insert position is the new segment's start plus its header.
    let switch = shards
        .execute_write(ph(p), "SELECT pg_switch_wal()", &[])
        .await
        .unwrap();
    let estimate = wait_caught_up(&shards, ANALYTICS_A).await;
    assert!(
        estimate.replay_lsn >= switch.token.lsn,
        "{estimate:?} never reaches {}",
        switch.token.lsn
    );
    let read = read_pharmacy(&shards, QueryKind::Analytics, p, Some(&switch.token), ryw).await;
    assert_eq!(read.served_by, analytics(SHARD_A));
    assert_eq!(int(&read.rows[0]), 1);
    eprintln!(
        "read_your_writes_token_covers_an_async_commit: {:?}",
        started.elapsed()
    );
}

/// Loads `sales` for pharmacies `ids` through the adapter (each pharmacy's rows on its
/// shard): pharmacy p gets 20 + p % 7 rows with amounts between −500 and 9,499 cents.
async fn load_sales(shards: &PgShards, ids: &[i64]) {
    for &p in ids {
        let rows = 20 + p % 7;
        shards
            .execute_write(
                ph(p),
                "INSERT INTO sales (pharmacy_id, amount_cents, ndc) \
                 SELECT $1::int8, (g * 7919 + $1::int8 * 104729) % 10000 - 500, \
                 'ndc-' || (g % 5) FROM generate_series(1, $2::int8) AS g",
                &[ParamValue::Int(p), ParamValue::Int(rows)],
            )
            .await
            .unwrap();
    }
}

/// The aggregate of `sales` computed directly on one node, restricted to `ids` and to
/// `amount_cents >= min_amount`.
async fn direct(client: &Client, ids: &[i64], min_amount: i64) -> PartialAggregate {
    let row = client
        .query_one(
            "SELECT count(amount_cents), coalesce(sum(amount_cents), 0)::text, \
             min(amount_cents), max(amount_cents), \
             coalesce(array_agg(DISTINCT pharmacy_id), '{}') \
             FROM sales WHERE pharmacy_id = ANY($1) AND amount_cents >= $2",
            &[&ids, &min_amount],
        )
        .await
        .unwrap();
    let sum: String = row.get(1);
    let distinct: Vec<i64> = row.get(4);
    PartialAggregate {
        count: row.get::<_, i64>(0) as u64,
        sum: sum.parse().unwrap(),
        min: row.get(2),
        max: row.get(3),
        distinct: distinct.into_iter().collect(),
    }
}

async fn two_loaded_shards(
    env: &pg_cluster::PgEnv,
    clock: &ManualClock,
) -> (Vec<Cluster>, PgShards, Vec<i64>) {
    let clusters = Cluster::primaries(env, &["sg_a", "sg_b"]);
    for c in &clusters {
        c.client().await.batch_execute(SALES).await.unwrap();
    }
    let shards = adapter(
        map(2),
        vec![
            (SHARD_A, ShardNodes::primary(clusters[0].conn_string())),
            (SHARD_B, ShardNodes::primary(clusters[1].conn_string())),
        ],
        clock,
    );
    let pharmacies: Vec<i64> = (1..=60).collect();
    load_sales(&shards, &pharmacies).await;
    (clusters, shards, pharmacies)
}

const LEG: &str = "SELECT amount_cents, pharmacy_id FROM sales \
                   WHERE amount_cents >= $1 AND pharmacy_id = ANY($2)";

/// Test (4): a scatter-gather over pharmacies on both shards equals the sums computed
/// directly on each node and added up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scatter_gather_sum_equals_direct_sum() {
    let Some(env) = pg_env() else { return };
    let started = Instant::now();
    let clock = unix_clock();
    let (clusters, shards, pharmacies) = two_loaded_shards(&env, &clock).await;
    let (ca, cb) = (clusters[0].client().await, clusters[1].client().await);
    eprintln!("clusters ready and loaded after {:?}", started.elapsed());
    let options = ScatterOptions {
        per_shard_timeout: Duration::from_secs(10),
        ..ScatterOptions::default()
    };

    // Every pharmacy, no amount filter; then a subset with a filter.
    for (ids, min_amount) in [
        (pharmacies.clone(), i64::MIN),
        (
            pharmacies
                .iter()
                .copied()
                .filter(|p| p % 4 != 1)
                .collect::<Vec<_>>(),
            2_500,
        ),
    ] {
        let request = shards.scatter_request(
            LEG,
            vec![ParamValue::Int(min_amount)],
            ids.iter().copied().map(ph),
            QueryKind::Analytics,
        );
        assert_eq!(request.legs.len(), 2);
        let result = shards.scatter_gather(&request, &options).await.unwrap();
        assert!(result.is_complete());
        // No replicas here: the analytics legs ran on the primaries.
        assert_eq!(result.shards_ok, vec![primary(SHARD_A), primary(SHARD_B)]);

        let on_a = on_shard(&shards, ids.clone(), SHARD_A);
        let on_b = on_shard(&shards, ids.clone(), SHARD_B);
        let da = direct(&ca, &on_a, min_amount).await;
        let db = direct(&cb, &on_b, min_amount).await;
        // Rows of one shard's pharmacies are only on that shard.
        assert_eq!(direct(&ca, &on_b, i64::MIN).await.count, 0);
        assert_eq!(direct(&cb, &on_a, i64::MIN).await.count, 0);
        let expected = da.clone().merged(&db);
        assert!(expected.count > 0);
        assert_eq!(result.aggregate, expected);
        // The plain SQL sum over both nodes, added up.
        let mut sum = 0i128;
        for client in [&ca, &cb] {
            let text: String = client
                .query_one(
                    "SELECT coalesce(sum(amount_cents), 0)::text FROM sales \
                     WHERE pharmacy_id = ANY($1) AND amount_cents >= $2",
                    &[&ids, &min_amount],
                )
                .await
                .unwrap()
                .get(0);
            sum += text.parse::<i128>().unwrap();
        }
        assert_eq!(result.aggregate.sum, sum);
        assert_eq!(result.aggregate.distinct_count(), ids.len() as u64);
    }

    // A value-only statement (no distinct keys) works too.
    let request = shards.scatter_request(
        "SELECT amount_cents FROM sales WHERE pharmacy_id = ANY($1)",
        vec![],
        pharmacies.iter().copied().map(ph),
        QueryKind::Reporting,
    );
    let result = shards.scatter_gather(&request, &options).await.unwrap();
    assert_eq!(result.aggregate.distinct_count(), 0);
    let all = direct(&ca, &pharmacies, i64::MIN)
        .await
        .merged(&direct(&cb, &pharmacies, i64::MIN).await);
    assert_eq!(
        (result.aggregate.count, result.aggregate.sum),
        (all.count, all.sum)
    );

    // A leg slower than the per-shard timeout fails as a timeout (the server cancels it on
    // `statement_timeout` too), and the pools stay usable afterwards.
    let slow = shards.scatter_request(
        "SELECT amount_cents, pharmacy_id FROM sales, pg_sleep(3) \
         WHERE pharmacy_id = ANY($1)",
        vec![],
        pharmacies.iter().copied().map(ph),
        QueryKind::Analytics,
    );
    let hurried = ScatterOptions {
        per_shard_timeout: Duration::from_millis(300),
        partial: PartialFailurePolicy::AllowPartial,
    };
    let slow_started = Instant::now();
    let error = shards.scatter_gather(&slow, &hurried).await.unwrap_err();
    assert!(slow_started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(&error, ScatterError::AllShardsFailed { missing }
            if missing.len() == 2 && missing.iter().all(|m| m.failure.is_node_down())),
        "{error:?}"
    );
    let request = shards.scatter_request(
        LEG,
        vec![ParamValue::Int(i64::MIN)],
        pharmacies.iter().copied().map(ph),
        QueryKind::Analytics,
    );
    let result = shards.scatter_gather(&request, &options).await.unwrap();
    assert_eq!(result.aggregate.count, all.count);

    // A statement that ignores the pharmacy list is refused, not run unrestricted.
    let request = shards.scatter_request(
        "SELECT amount_cents FROM sales",
        vec![],
        pharmacies.iter().copied().map(ph),
        QueryKind::Analytics,
    );
    let error = shards.scatter_gather(&request, &options).await.unwrap_err();
    assert!(
        error
            .missing_shards()
            .iter()
            .all(|m| matches!(m.failure, ShardFailure::Error(ShardError::Query(_)))),
        "{error:?}"
    );
    eprintln!(
        "scatter_gather_sum_equals_direct_sum: {:?}",
        started.elapsed()
    );
}

/// Test (5): with shard B's server stopped, a scatter-gather fails by default, and with
/// partial results allowed answers for shard A alone, naming shard B as missing. After B
/// restarts the pools recover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_shard_fails_by_default_and_is_named_in_a_partial_result() {
    let Some(env) = pg_env() else { return };
    let started = Instant::now();
    let clock = unix_clock();
    let (mut clusters, shards, pharmacies) = two_loaded_shards(&env, &clock).await;
    let ca = clusters[0].client().await;
    eprintln!("clusters ready and loaded after {:?}", started.elapsed());
    let strict = ScatterOptions {
        per_shard_timeout: Duration::from_secs(5),
        partial: PartialFailurePolicy::Fail,
    };
    let partial = ScatterOptions {
        partial: PartialFailurePolicy::AllowPartial,
        ..strict
    };
    let request = shards.scatter_request(
        LEG,
        vec![ParamValue::Int(i64::MIN)],
        pharmacies.iter().copied().map(ph),
        QueryKind::Analytics,
    );
    // Both shards answer (and the pools now hold connections to both).
    let before = shards.scatter_gather(&request, &strict).await.unwrap();
    assert!(before.is_complete());

    clusters[1].stop();
    let stopped_at = Instant::now();

    let error = shards.scatter_gather(&request, &strict).await.unwrap_err();
    match &error {
        ScatterError::ShardsFailed { missing, shards_ok } => {
            assert_eq!(shards_ok, &vec![primary(SHARD_A)]);
            assert_eq!(missing.len(), 1);
            assert_eq!(missing[0].target, primary(SHARD_B));
            assert!(
                missing[0].failure.is_node_down(),
                "{:?}",
                missing[0].failure
            );
        }
        other => panic!("expected ShardsFailed naming shard B, got {other:?}"),
    }

    let result = shards.scatter_gather(&request, &partial).await.unwrap();
    assert!(!result.is_complete());
    assert_eq!(result.shards_ok, vec![primary(SHARD_A)]);
    assert_eq!(result.missing_shards.len(), 1);
    assert_eq!(result.missing_shards[0].target, primary(SHARD_B));
    assert!(result.missing_shards[0].failure.is_node_down());
    let on_a = on_shard(&shards, pharmacies.clone(), SHARD_A);
    assert_eq!(result.aggregate, direct(&ca, &on_a, i64::MIN).await);
    assert!(result.aggregate.count < before.aggregate.count);
    // Detecting the dead shard took nowhere near the per-shard timeout.
    assert!(
        stopped_at.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopped_at.elapsed()
    );

    // Routed reads and writes of shard B fail as "unavailable", naming it.
    let q = on_shard(&shards, pharmacies.clone(), SHARD_B)[0];
    let error = shards
        .execute_write(
            ph(q),
            "DELETE FROM sales WHERE pharmacy_id = $1",
            &[ParamValue::Int(q)],
        )
        .await
        .unwrap_err();
    assert!(error.is_node_down(), "{error}");
    assert_eq!(error.node(), Some(primary(SHARD_B)));

    // B comes back: the pool reconnects and the result is complete again.
    clusters[1].start();
    let again = shards.scatter_gather(&request, &strict).await.unwrap();
    assert_eq!(again.aggregate, before.aggregate);
    eprintln!(
        "stopped_shard_fails_by_default_and_is_named_in_a_partial_result: {:?}",
        started.elapsed()
    );
}

/// The harness stops and removes a cluster even when the test using it panics.
#[test]
fn clusters_are_removed_even_when_a_test_panics() {
    let Some(env) = pg_env() else { return };
    let seen: Mutex<Option<(std::path::PathBuf, u16)>> = Mutex::new(None);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let cluster = Cluster::primary(&env, "doomed");
        *seen.lock().unwrap() = Some((cluster.root().to_owned(), cluster.port()));
        assert!(std::net::TcpStream::connect(("127.0.0.1", cluster.port())).is_ok());
        panic!("deliberate panic while a cluster is running (expected by this test)");
    }));
    assert!(outcome.is_err());
    let (root, port) = seen.lock().unwrap().clone().expect("cluster was started");
    assert!(!root.exists(), "{} still exists", root.display());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a server still listens on port {port}"
    );
}
