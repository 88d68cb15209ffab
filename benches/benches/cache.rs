//! Criterion benchmarks of [`pharm_cache`]: the three paths of a read, each beside the
//! floor it is built on.
//!
//! - `cache/l1_hit_get_cached`: a fresh L1 hit through the synchronous fast path
//!   (`Cache::get_cached`) on the patient class (L1 + L2), clock read included
//!   (target: ≤ 100 ns).
//! - `cache/l1_hit_get`: the same hit through `Cache::get` (an `async fn`, polled once:
//!   it is ready at once on an L1 hit), counters included.
//! - `cache/quick_cache_get` (peer, the floor): the bare `quick_cache::sync::Cache::get`
//!   the L1 is built on, same key shape, weighted.
//! - `cache/moka_get` (peer): the bare `moka::sync::Cache::get` (weighted, TTL), the
//!   other well-kept concurrent cache a vendor would reach for.
//! - `cache/l2_hit_memory`: an L2 hit on the drug catalog (L2 only) with [`MemoryL2`]:
//!   the L2 breaker's permit, the entry's parsing and JSON decoding.
//! - `cache/l2_hit_redis`: the same on a real `redis-server` (started on loopback by the
//!   bench, skipped when missing); `cache/redis_get_raw` (peer): the adapter's bare GET
//!   of the same key, one round trip, the floor of an L2 hit.
//! - `cache/miss_origin_memory` and `cache/miss_origin_redis`: a miss of a new key
//!   each time: L2 read, the origin (an in-memory map), the generation-checked fill.
//!
//! Run with `cargo bench -p pharm-benches --bench cache`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pharm_cache::l2::RedisL2;
use pharm_cache::l2::local::RedisServer;
use pharm_cache::{
    Cache, CacheKey, CachePolicy, Caches, DataClass, FnOrigin, L2Store, MemoryL2, OriginError,
    Scope,
};
use pharm_core::ids::PharmacyId;
use pharm_core::time::{Clock, SystemClock};
use serde::{Deserialize, Serialize};

/// A drug-master-like record of a realistic size (about 200 bytes of JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Drug {
    ndc: String,
    name: String,
    strength: String,
    form: String,
    package: String,
    te_code: String,
    schedule: u8,
}

fn drug(id: &str) -> Drug {
    Drug {
        ndc: id.to_owned(),
        name: "Atorvastatin Calcium".into(),
        strength: "20 mg".into(),
        form: "TABLET, FILM COATED".into(),
        package: "90 TABLET in 1 BOTTLE".into(),
        te_code: "AB".into(),
        schedule: 0,
    }
}

/// Polls a future that must be ready at once (an L1 hit, an in-memory L2).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("not ready"),
    }
}

fn caches(l2: Arc<dyn L2Store>) -> Caches {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    Caches::builder(CachePolicy::design(), clock)
        .l2(l2)
        .build()
        .unwrap()
}

fn class(caches: &Caches, class: DataClass) -> Cache<Drug> {
    let origin =
        FnOrigin(|key: CacheKey| async move { Ok::<_, OriginError>(Some(drug(key.id()))) });
    caches.cache(class, Arc::new(origin)).unwrap()
}

fn cache_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let memory = Arc::new(MemoryL2::new(clock, 1 << 30));
    let process = caches(memory.clone());

    let patients = class(&process, DataClass::Patient);
    let key = patients
        .key(Scope::Pharmacy(PharmacyId::new(7)), "patient-000123")
        .unwrap();
    ready(patients.get(&key)).unwrap();
    assert!(patients.get_cached(&key).is_some());
    group.bench_function("l1_hit_get_cached", |b| {
        b.iter(|| black_box(&patients).get_cached(black_box(&key)).unwrap());
    });
    group.bench_function("l1_hit_get", |b| {
        b.iter(|| ready(black_box(&patients).get(black_box(&key))).unwrap());
    });
    let raw_key: Arc<str> = Arc::from(key.as_str());
    let quick: quick_cache::sync::Cache<Arc<str>, Arc<Drug>, KeyBytes> =
        quick_cache::sync::Cache::with_weighter(1 << 16, 1 << 30, KeyBytes);
    quick.insert(raw_key.clone(), Arc::new(drug("x")));
    group.bench_function("quick_cache_get", |b| {
        b.iter(|| black_box(&quick).get(black_box(&*raw_key)).unwrap());
    });
    let moka: moka::sync::Cache<Arc<str>, Arc<Drug>, foldhash::fast::RandomState> =
        moka::sync::Cache::builder()
            .max_capacity(1 << 30)
            .weigher(|key: &Arc<str>, _: &Arc<Drug>| u32::try_from(key.len()).unwrap() + 64)
            .time_to_live(Duration::from_secs(3600))
            .build_with_hasher(foldhash::fast::RandomState::default());
    moka.insert(raw_key.clone(), Arc::new(drug("x")));
    moka.run_pending_tasks();
    group.bench_function("moka_get", |b| {
        b.iter(|| black_box(&moka).get(black_box(&*raw_key)).unwrap());
    });

    let catalog = class(&process, DataClass::DrugCatalog);
    let key = catalog.key(Scope::Global, "0071-0155-23").unwrap();
    ready(catalog.get(&key)).unwrap();
    group.bench_function("l2_hit_memory", |b| {
        b.iter(|| ready(black_box(&catalog).get(black_box(&key))).unwrap());
    });
    let next = AtomicU64::new(0);
    group.bench_function("miss_origin_memory", |b| {
        b.iter(|| {
            let id = format!("m{}", next.fetch_add(1, Ordering::Relaxed));
            let key = catalog.key(Scope::Global, &id).unwrap();
            ready(catalog.get(&key)).unwrap()
        });
    });
    drop(catalog);

    // The Redis benches stay inline (before `finish`): benches/tests/bench_table.rs reads the
    // ids in file order.
    if let Ok(server) = RedisServer::start() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let redis = Arc::new(
            rt.block_on(RedisL2::connect(&server.url(), "bench:"))
                .unwrap(),
        );
        let process = caches(redis.clone());
        let catalog = class(&process, DataClass::DrugCatalog);
        let key = catalog.key(Scope::Global, "0071-0155-23").unwrap();
        rt.block_on(catalog.get(&key)).unwrap();
        group.bench_function("l2_hit_redis", |b| {
            b.iter(|| {
                rt.block_on(black_box(&catalog).get(black_box(&key)))
                    .unwrap()
            });
        });
        let limit = Duration::from_millis(100);
        group.bench_function("redis_get_raw", |b| {
            b.iter(|| {
                rt.block_on(redis.get(black_box(key.as_str()), limit))
                    .unwrap()
            });
        });
        group.bench_function("miss_origin_redis", |b| {
            b.iter(|| {
                let id = format!("r{}", next.fetch_add(1, Ordering::Relaxed));
                let key = catalog.key(Scope::Global, &id).unwrap();
                rt.block_on(catalog.get(&key)).unwrap()
            });
        });
    } else {
        eprintln!("cache: redis-server not found: the cache/*_redis benches are skipped");
    }
    group.finish();
}

/// The peers' weight: key bytes plus a fixed overhead, as the L1 counts an entry.
#[derive(Clone, Copy)]
struct KeyBytes;

impl quick_cache::Weighter<Arc<str>, Arc<Drug>> for KeyBytes {
    fn weight(&self, key: &Arc<str>, _: &Arc<Drug>) -> u64 {
        key.len() as u64 + 64
    }
}

criterion_group!(benches, cache_benches);
criterion_main!(benches);
