//! `PgTables` against throw-away PostgreSQL clusters (two primaries, each with a streaming
//! replica): the shared table check gives what the in-memory tables give, rows land on
//! the physical shard the map names, reads reach the replicas, and a rough write rate.
//!
//! Without server binaries the test skips with a loud message, unless `PHARM_REQUIRE_PG=1`
//! (CI), which makes that a failure.
#![cfg(feature = "postgres")]
#![allow(missing_docs)]

mod tables_check;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use pharm_loadtest::cloud::pg::PgTables;
use pharm_loadtest::cloud::table::{MemoryTables, TxnRow, TxnTables, Written};
use pharm_loadtest::requests::pharmacy_id;
use pharm_shard::directory::{LogicalShard, PhysicalShard};
use pharm_shard::pg::local::PgEnv;
use tables_check::{check, logical, row};

/// The pharmacies each primary holds, read from the cluster itself.
fn held_by_primaries(tables: &PgTables) -> BTreeMap<PhysicalShard, BTreeSet<i64>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let mut held = BTreeMap::new();
        for (shard, nodes) in tables.nodes() {
            let (client, conn) = tokio_postgres::connect(&nodes.primary, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("{shard}: {e}"));
            let task = tokio::spawn(conn);
            let rows = client
                .query("SELECT DISTINCT pharmacy FROM loadtest_txn", &[])
                .await
                .unwrap_or_else(|e| panic!("{shard}: {e}"));
            held.insert(*shard, rows.iter().map(|r| r.get::<_, i64>(0)).collect());
            drop(client);
            let _ = task.await;
        }
        held
    })
}

#[test]
fn pg_tables_match_memory_tables_and_route_by_the_map() {
    let Some(_env) = PgEnv::for_tests() else {
        return;
    };
    let started = Instant::now();
    let tables = PgTables::start_local(2, true).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("2 primaries + 2 replicas ready in {:?}", started.elapsed());

    // Same counts and rows as the in-memory tables.
    let on_pg = check(&tables);
    let in_memory = check(&MemoryTables::new(16));
    assert_eq!(on_pg, in_memory);

    // A pharmacy written under another logical shard is refused.
    let wrong = LogicalShard((logical(0).0 + 1) % 16);
    assert!(tables.write(wrong, &[row(0, 1, 1, 1)]).is_err());
    assert!(tables.rows(wrong, 0).is_err());

    // Every pharmacy's rows are on the primary the map names, and only there.
    let map = tables.map();
    let held = held_by_primaries(&tables);
    assert_eq!(held.len(), 2);
    for (shard, pharmacies) in &held {
        assert!(!pharmacies.is_empty(), "{shard} holds nothing");
        for p in pharmacies {
            let p = u32::try_from(*p).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(map.route(pharmacy_id(p)).physical, *shard, "pharmacy {p}");
        }
    }
    let total: usize = held.values().map(BTreeSet::len).sum();
    assert_eq!(total, 12);

    // Reads reach a replica once its lag is measured and it has replayed the writes.
    let deadline = Instant::now() + Duration::from_secs(15);
    while tables.replica_reads() == 0 {
        assert!(Instant::now() < deadline, "no read reached a replica");
        for p in 0..12 {
            let rows = tables.rows(logical(p), p).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(rows, in_memory[&p]);
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    // A rough write rate: 10,000 new rows in batches of 100 (one logical shard each).
    let mut by_shard: BTreeMap<u32, Vec<TxnRow>> = BTreeMap::new();
    for i in 0..10_000u64 {
        let p = 1_000 + u32::try_from(i % 200).unwrap_or(0);
        let r = TxnRow {
            seq: 1 + i / 200,
            ..row(p, 1, 0, 7)
        };
        by_shard.entry(logical(p).0).or_default().push(r);
    }
    let started = Instant::now();
    let mut sum = Written::default();
    let mut batches = 0;
    for (shard, rows) in &by_shard {
        for batch in rows.chunks(100) {
            sum.add(
                tables
                    .write(LogicalShard(*shard), batch)
                    .unwrap_or_else(|e| panic!("{e}")),
            );
            batches += 1;
        }
    }
    let took = started.elapsed();
    assert_eq!(sum.inserted, 10_000);
    eprintln!(
        "10,000 rows in {batches} batches through PgTables: {took:?} ({:.0} rows/s)",
        10_000.0 / took.as_secs_f64()
    );
}
