//! Against a real `redis-server` (feature `redis`), started on a free loopback port:
//! the Lua scripts keep the same generation protocol as the in-memory store, two
//! processes share the L2, a killed or paused server degrades to L1 + origin and a
//! pending invalidation is delivered once it is back.
//!
//! Without `redis-server` these tests skip loudly; `PHARM_REQUIRE_REDIS=1` (CI) fails
//! them instead.
#![cfg(feature = "redis")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{TestOrigin, Val, two_threads as runtime};
use pharm_cache::l2::RedisL2;
use pharm_cache::l2::local::RedisServer;
use pharm_cache::stored::Stored;
use pharm_cache::{Cache, CachePolicy, Caches, DataClass, Event, L2Store, MemoryL2, Scope, Source};
use pharm_core::ids::PharmacyId;
use pharm_core::time::{Clock, ManualClock};
use proptest::prelude::*;

const LIMIT: Duration = Duration::from_millis(100);
const PHARMACY: Scope = Scope::Pharmacy(PharmacyId::new(5));

async fn connect(server: &RedisServer, prefix: &str) -> RedisL2 {
    RedisL2::connect(&server.url(), prefix)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Clone, Debug)]
enum Step {
    Get,
    Fill { observed: u64, payload: u8 },
    Invalidate,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Get),
        (0u64..4, any::<u8>()).prop_map(|(observed, payload)| Step::Fill { observed, payload }),
        Just(Step::Invalidate),
    ]
}

/// One step on a store: what it answered, as text.
async fn play(store: &dyn L2Store, key: &str, step: &Step) -> String {
    let ttl = Duration::from_secs(60);
    match step {
        Step::Get => format!("{:?}", store.get(key, LIMIT).await),
        Step::Fill { observed, payload } => {
            let bytes = Stored::Entry {
                generation: *observed,
                fresh_until_ms: 1,
                stale_until_ms: 1,
                payload: Some(&[*payload]),
            }
            .render();
            format!("{:?}", store.fill(key, *observed, &bytes, ttl, LIMIT).await)
        }
        Step::Invalidate => format!("{:?}", store.invalidate(key, ttl, LIMIT).await),
    }
}

#[test]
fn the_lua_scripts_keep_the_in_memory_stores_protocol() {
    let Some(server) = RedisServer::for_tests() else {
        return;
    };
    let rt = runtime();
    let redis = rt.block_on(connect(&server, "proto:"));
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new());
    let case = std::cell::Cell::new(0u32);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let result = runner.run(&proptest::collection::vec(step(), 1..24), |steps| {
        case.set(case.get() + 1);
        let key = format!("k{}", case.get());
        let memory = MemoryL2::new(Arc::clone(&clock), 1 << 20);
        rt.block_on(async {
            for (n, step) in steps.iter().enumerate() {
                let from_redis = play(&redis, &key, step).await;
                let from_memory = play(&memory, &key, step).await;
                prop_assert_eq!(&from_redis, &from_memory, "step {} {:?}", n, step);
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Tombstones and values expire with their TTL (PX).
    rt.block_on(async {
        let generation = redis
            .invalidate("short", Duration::from_millis(50), LIMIT)
            .await;
        assert_eq!(generation, Ok(1));
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(redis.get("short", LIMIT).await, Ok(None));
    });
}

struct Process {
    caches: Caches,
    patients: Cache<Val>,
    catalog: Cache<Val>,
    orange_book: Cache<Val>,
}

async fn process(
    server: &RedisServer,
    clock: &Arc<ManualClock>,
    origin: &Arc<TestOrigin>,
) -> Process {
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let caches = Caches::builder(CachePolicy::design(), dyn_clock)
        .l2(Arc::new(connect(server, "pharm:").await))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let build = |class| {
        caches
            .cache::<Val>(class, origin.clone())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    Process {
        patients: build(DataClass::Patient),
        catalog: build(DataClass::DrugCatalog),
        orange_book: build(DataClass::OrangeBook),
        caches,
    }
}

async fn read(cache: &Cache<Val>, scope: Scope, id: &str) -> (Source, Option<u64>) {
    let key = cache.key(scope, id).unwrap_or_else(|e| panic!("{e}"));
    let fetched = cache.get(&key).await.unwrap_or_else(|e| panic!("{e}"));
    (fetched.source, fetched.value.map(|v| v.version))
}

#[test]
fn two_processes_share_the_l2_and_its_invalidations() {
    let Some(server) = RedisServer::for_tests() else {
        return;
    };
    let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1_800_000_000)));
    let origin = TestOrigin::new();
    runtime().block_on(async {
        let a = process(&server, &clock, &origin).await;
        let b = process(&server, &clock, &origin).await;
        assert_eq!(
            read(&a.catalog, Scope::Global, "d1").await,
            (Source::Origin, Some(1))
        );
        assert_eq!(
            read(&b.catalog, Scope::Global, "d1").await,
            (Source::L2, Some(1))
        );
        assert_eq!(
            read(&a.patients, PHARMACY, "p1").await,
            (Source::Origin, Some(1))
        );
        assert_eq!(
            read(&b.patients, PHARMACY, "p1").await,
            (Source::L2, Some(1))
        );
        assert_eq!(
            read(&b.patients, PHARMACY, "p1").await,
            (Source::L1, Some(1))
        );
        // A patient update, applied by both processes: neither level serves version 1.
        origin.update("p1");
        let event = Event::PatientUpdated {
            pharmacy: PharmacyId::new(5),
            patient: "p1".into(),
        };
        for p in [&a, &b] {
            let applied = p
                .caches
                .apply(&event)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(applied.pending, 0);
        }
        assert_eq!(
            read(&b.patients, PHARMACY, "p1").await,
            (Source::Origin, Some(2))
        );
        assert_eq!(
            read(&a.patients, PHARMACY, "p1").await,
            (Source::L2, Some(2))
        );
        // A drug update applied only by A still reaches B through the L2 tombstone.
        origin.update("d1");
        a.caches
            .apply(&Event::DrugUpdated { drug: "d1".into() })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            read(&b.catalog, Scope::Global, "d1").await,
            (Source::Origin, Some(2))
        );
        // The Orange Book release: the new namespace is warmed, then swapped.
        for p in [&a, &b] {
            p.caches
                .apply(&Event::OrangeBookRelease {
                    release: 20_261_201,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let key = |c: &Cache<Val>, v| {
            c.key_at(Scope::Global, v, "te1")
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let old = a
            .orange_book
            .get(&key(&a.orange_book, 20_261_201))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let warm = a
            .orange_book
            .get(&key(&a.orange_book, 20_261_208))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((old.source, warm.source), (Source::Origin, Source::Origin));
        for p in [&a, &b] {
            p.caches
                .apply(&Event::OrangeBookRelease {
                    release: 20_261_208,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let current = b
            .orange_book
            .key(Scope::Global, "te1")
            .unwrap_or_else(|e| panic!("{e}"));
        let fetched = b
            .orange_book
            .get(&current)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fetched.source, Source::L2, "warmed before the swap");
        assert_eq!(fetched.value.map(|v| v.namespace), Some(20_261_208));
    });
}

#[test]
fn a_killed_server_degrades_to_l1_and_origin_and_pending_invalidations_follow() {
    let Some(mut server) = RedisServer::for_tests() else {
        return;
    };
    let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1_800_000_000)));
    let origin = TestOrigin::new();
    let rt = runtime();
    let a = rt.block_on(process(&server, &clock, &origin));
    rt.block_on(async {
        assert_eq!(
            read(&a.catalog, Scope::Global, "d1").await,
            (Source::Origin, Some(1))
        );
        assert_eq!(
            read(&a.patients, PHARMACY, "p1").await,
            (Source::Origin, Some(1))
        );
    });
    server.stop().unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        // Every read is answered; none is an error.
        for n in 0..15 {
            assert_eq!(
                read(&a.catalog, Scope::Global, &format!("x{n}")).await.0,
                Source::Origin
            );
        }
        assert_eq!(
            read(&a.patients, PHARMACY, "p1").await,
            (Source::L1, Some(1))
        );
        assert_eq!(a.caches.l2_state(), Some(pharm_shard::State::Open));
        origin.update("d1");
        let applied = a
            .caches
            .apply(&Event::DrugUpdated { drug: "d1".into() })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(applied.pending, 1);
    });
    server.restart().unwrap_or_else(|e| panic!("{e}"));
    // Restarted empty here; a server that kept its data would still hold version 1,
    // which the pending tombstone covers.
    rt.block_on(async {
        clock.advance(Duration::from_millis(5_001));
        assert_eq!(a.caches.retry_pending_invalidations().await, 0);
        assert_eq!(
            read(&a.catalog, Scope::Global, "d1").await,
            (Source::Origin, Some(2))
        );
        assert_eq!(
            read(&a.catalog, Scope::Global, "d1").await,
            (Source::L2, Some(2))
        );
    });
}

#[test]
fn a_paused_server_costs_a_read_at_most_the_100_ms_limit() {
    let Some(server) = RedisServer::for_tests() else {
        return;
    };
    let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1_800_000_000)));
    let origin = TestOrigin::new();
    let rt = runtime();
    let a = rt.block_on(process(&server, &clock, &origin));
    rt.block_on(async {
        assert_eq!(
            read(&a.catalog, Scope::Global, "d1").await.0,
            Source::Origin
        );
    });
    // CLIENT PAUSE holds every other client's commands for 1.5 s.
    let reply = server
        .command("CLIENT PAUSE 1500 ALL")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply, "+OK");
    let started = Instant::now();
    let answer = rt.block_on(read(&a.catalog, Scope::Global, "d1"));
    let took = started.elapsed();
    assert_eq!(
        answer,
        (Source::Origin, Some(1)),
        "the origin answers when L2 is too slow"
    );
    assert!(a.catalog.stats().l2_errors >= 1);
    // Two L2 operations at most (the read and the fill), each cut at 100 ms.
    assert!(took < Duration::from_millis(1_000), "took {took:?}");
}
