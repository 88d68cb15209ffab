//! Read-through across L1, L2 and the origin, per the policy's rows: levels, TTLs,
//! negative entries, oversize values, L2 outages and damage, stale-while-revalidate.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{QueueSpawn, TestOrigin, Val, runtime};
use pharm_cache::policy::{ClassPolicy, NegativePolicy};
use pharm_cache::{
    BuildError, Cache, CacheError, CachePolicy, Caches, DataClass, Event, MemoryL2, Scope, Source,
};
use pharm_core::ids::PharmacyId;
use pharm_core::time::{Clock, ManualClock};
use pharm_shard::State;

const PHARMACY: Scope = Scope::Pharmacy(PharmacyId::new(7));

struct World {
    clock: Arc<ManualClock>,
    l2: Arc<MemoryL2>,
    origin: Arc<TestOrigin>,
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1_000_000)));
        let l2 = Arc::new(MemoryL2::new(clock.clone(), 64 << 20));
        Self {
            clock,
            l2,
            origin: TestOrigin::new(),
        }
    }

    /// One process: its own caches over the shared L2 and origin.
    fn process(&self, policy: CachePolicy) -> Caches {
        let clock: Arc<dyn Clock> = self.clock.clone();
        Caches::builder(policy, clock)
            .l2(self.l2.clone())
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn cache(&self, caches: &Caches, class: DataClass) -> Cache<Val> {
        caches
            .cache(class, self.origin.clone())
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

fn get(cache: &Cache<Val>, scope: Scope, id: &str) -> (Source, Option<u64>) {
    let key = cache.key(scope, id).unwrap_or_else(|e| panic!("{e}"));
    let fetched = runtime()
        .block_on(cache.get(&key))
        .unwrap_or_else(|e| panic!("{e}"));
    (fetched.source, fetched.value.map(|v| v.version))
}

#[test]
fn an_l1_and_l2_class_fills_both_levels_on_the_way_back() {
    let world = World::new();
    let a = world.process(CachePolicy::design());
    let patients = world.cache(&a, DataClass::Patient);
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::Origin, Some(1)));
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::L1, Some(1)));
    // Another process finds it in L2, then in its own L1.
    let b = world.process(CachePolicy::design());
    let patients_b = world.cache(&b, DataClass::Patient);
    assert_eq!(get(&patients_b, PHARMACY, "p1"), (Source::L2, Some(1)));
    assert_eq!(get(&patients_b, PHARMACY, "p1"), (Source::L1, Some(1)));
    assert_eq!(world.origin.loads(), 1);
    let stats = patients_b.stats();
    assert_eq!(
        (
            stats.lookups,
            stats.l1_hits,
            stats.l2_hits,
            stats.origin_loads
        ),
        (2, 1, 1, 0)
    );
}

#[test]
fn an_l2_only_class_skips_l1_and_an_l1_only_class_never_writes_l2() {
    let world = World::new();
    let caches = world.process(CachePolicy::design());
    let catalog = world.cache(&caches, DataClass::DrugCatalog);
    assert_eq!(get(&catalog, Scope::Global, "d1").0, Source::Origin);
    assert_eq!(get(&catalog, Scope::Global, "d1").0, Source::L2);
    assert_eq!(catalog.l1_len(), (0, 0));
    assert_eq!(world.l2.len(), 1);
    let inventory = world.cache(&caches, DataClass::Inventory);
    assert_eq!(get(&inventory, PHARMACY, "i1").0, Source::Origin);
    assert_eq!(get(&inventory, PHARMACY, "i1").0, Source::L1);
    assert_eq!(world.l2.len(), 1, "inventory is L1 only");
}

#[test]
fn ttl_expires_on_the_injected_clock_at_its_boundary() {
    let world = World::new();
    let caches = world.process(CachePolicy::design());
    let inventory = world.cache(&caches, DataClass::Inventory);
    assert_eq!(get(&inventory, PHARMACY, "i1").0, Source::Origin);
    world.clock.advance(Duration::from_millis(299_999));
    assert_eq!(get(&inventory, PHARMACY, "i1").0, Source::L1);
    world.clock.advance(Duration::from_millis(1));
    assert_eq!(
        get(&inventory, PHARMACY, "i1").0,
        Source::Origin,
        "5 min TTL"
    );
    let catalog = world.cache(&caches, DataClass::DrugCatalog);
    assert_eq!(get(&catalog, Scope::Global, "d1").0, Source::Origin);
    world.clock.advance(Duration::from_secs(86_399));
    assert_eq!(get(&catalog, Scope::Global, "d1").0, Source::L2);
    world.clock.advance(Duration::from_secs(1));
    assert_eq!(
        get(&catalog, Scope::Global, "d1").0,
        Source::Origin,
        "24 h TTL"
    );
}

#[test]
fn not_found_is_cached_for_its_bounded_time_and_count() {
    let world = World::new();
    let caches = world.process(CachePolicy::design());
    let catalog = world.cache(&caches, DataClass::DrugCatalog);
    world.origin.set_missing("nope");
    assert_eq!(get(&catalog, Scope::Global, "nope"), (Source::Origin, None));
    assert_eq!(get(&catalog, Scope::Global, "nope"), (Source::L2, None));
    world.clock.advance(Duration::from_secs(59));
    assert_eq!(get(&catalog, Scope::Global, "nope"), (Source::L2, None));
    world.clock.advance(Duration::from_secs(1));
    assert_eq!(
        get(&catalog, Scope::Global, "nope"),
        (Source::Origin, None),
        "60 s negative TTL"
    );
    assert_eq!(world.origin.loads(), 2);

    // In L1, at most max_entries negative entries.
    let design = CachePolicy::design();
    let row = *design
        .class(DataClass::Patient)
        .unwrap_or_else(|| panic!("patient"));
    let policy = CachePolicy::new([(
        DataClass::Patient,
        ClassPolicy {
            negative: Some(NegativePolicy {
                ttl_s: 60,
                max_entries: 5,
            }),
            ..row
        },
    )])
    .unwrap_or_else(|e| panic!("{e}"));
    let bounded = world.process(policy);
    let patients = world.cache(&bounded, DataClass::Patient);
    for n in 0..100 {
        world.origin.set_missing(&format!("gone{n}"));
        assert_eq!(
            get(&patients, PHARMACY, &format!("gone{n}")),
            (Source::Origin, None)
        );
    }
    let (values, negatives) = patients.l1_len();
    assert_eq!(values, 0);
    assert!(negatives <= 5, "{negatives} negative entries, bound 5");
    // A class without negative caching asks the origin every time.
    let inventory = world.cache(&world.process(CachePolicy::design()), DataClass::Inventory);
    world.origin.set_missing("none");
    let before = world.origin.loads();
    assert_eq!(get(&inventory, PHARMACY, "none"), (Source::Origin, None));
    assert_eq!(get(&inventory, PHARMACY, "none"), (Source::Origin, None));
    assert_eq!(world.origin.loads(), before + 2);
}

#[test]
fn a_value_over_the_class_limit_is_served_uncached() {
    let world = World::new();
    let caches = world.process(CachePolicy::design());
    let sessions = world.cache(&caches, DataClass::Session);
    world.origin.set_padding(60_000); // over the 50 KB session row
    assert_eq!(get(&sessions, Scope::Global, "s1").0, Source::Origin);
    assert_eq!(get(&sessions, Scope::Global, "s1").0, Source::Origin);
    assert_eq!(sessions.stats().oversize, 2);
    world.origin.set_padding(40_000);
    assert_eq!(get(&sessions, Scope::Global, "s2").0, Source::Origin);
    assert_eq!(get(&sessions, Scope::Global, "s2").0, Source::L2);
}

#[test]
fn an_l2_outage_degrades_to_l1_and_origin_then_the_breaker_opens_and_recovers() {
    let world = World::new();
    let caches = world.process(CachePolicy::design());
    let patients = world.cache(&caches, DataClass::Patient);
    let catalog = world.cache(&caches, DataClass::DrugCatalog);
    world.l2.set_down(true);
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::Origin, Some(1)));
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::L1, Some(1)));
    for n in 0..12 {
        assert_eq!(
            get(&catalog, Scope::Global, &format!("d{n}")).0,
            Source::Origin,
            "never an error"
        );
    }
    assert_eq!(caches.l2_state(), Some(State::Open));
    let stats = catalog.stats();
    assert!(stats.l2_errors >= 5 && stats.l2_skipped > 0, "{stats:?}");
    world.l2.set_down(false);
    // 5 s in OPEN; a request strictly after the wait lets the probes through.
    world.clock.advance(Duration::from_secs(5));
    assert_eq!(get(&catalog, Scope::Global, "e0").0, Source::Origin);
    assert_eq!(caches.l2_state(), Some(State::Open));
    world.clock.advance(Duration::from_millis(1));
    for n in 1..4 {
        get(&catalog, Scope::Global, &format!("e{n}"));
    }
    assert_eq!(caches.l2_state(), Some(State::Closed));
    assert_eq!(get(&catalog, Scope::Global, "e1").0, Source::L2);
}

#[test]
fn an_invalidation_the_l2_cannot_take_is_pending_and_its_key_bypasses_l2() {
    let world = World::new();
    let a = world.process(CachePolicy::design());
    let b = world.process(CachePolicy::design());
    let catalog_a = world.cache(&a, DataClass::DrugCatalog);
    let catalog_b = world.cache(&b, DataClass::DrugCatalog);
    assert_eq!(
        get(&catalog_a, Scope::Global, "d1"),
        (Source::Origin, Some(1))
    );
    world.l2.set_down(true);
    world.origin.update("d1");
    let event = Event::DrugUpdated { drug: "d1".into() };
    let applied = runtime()
        .block_on(a.apply(&event))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(applied.pending, 1);
    assert_eq!(a.pending_invalidations(), 1);
    world.l2.set_down(false);
    // A does not read (or write) the key in L2 while its tombstone is pending.
    assert_eq!(
        get(&catalog_a, Scope::Global, "d1"),
        (Source::Origin, Some(2))
    );
    assert_eq!(runtime().block_on(a.retry_pending_invalidations()), 0);
    // B never saw the event yet: the tombstone makes it reload.
    assert_eq!(
        get(&catalog_b, Scope::Global, "d1"),
        (Source::Origin, Some(2))
    );
    assert_eq!(get(&catalog_b, Scope::Global, "d1"), (Source::L2, Some(2)));
}

#[test]
fn a_damaged_l2_entry_is_counted_and_replaced() {
    let world = World::new();
    let caches = world.process(CachePolicy::design());
    let catalog = world.cache(&caches, DataClass::DrugCatalog);
    let key = catalog
        .key(Scope::Global, "d1")
        .unwrap_or_else(|e| panic!("{e}"));
    for damaged in [
        &b"V1:9999999999999:9999999999999:{not json"[..],
        b"garbage",
        b"",
        b"T",
    ] {
        world
            .l2
            .put_raw(key.as_str(), damaged.to_vec(), Duration::from_secs(60));
        assert_eq!(
            get(&catalog, Scope::Global, "d1").0,
            Source::Origin,
            "{damaged:?}"
        );
        assert_eq!(
            get(&catalog, Scope::Global, "d1").0,
            Source::L2,
            "{damaged:?}"
        );
    }
    // Each damaged entry is met twice: by the read before the load and by the load's own
    // read (which looks again for a fill that landed meanwhile).
    assert_eq!(catalog.stats().l2_damaged, 8);
}

#[test]
fn analytics_serves_stale_while_revalidating_within_its_bound_only() {
    let world = World::new();
    // Without a spawner: refresh inline, stale only when the origin fails.
    let caches = world.process(CachePolicy::design());
    let analytics = world.cache(&caches, DataClass::Analytics);
    assert_eq!(
        get(&analytics, PHARMACY, "sales"),
        (Source::Origin, Some(1))
    );
    world.origin.update("sales");
    world.clock.advance(Duration::from_secs(300));
    world.origin.failing.store(true, Ordering::SeqCst);
    assert_eq!(
        get(&analytics, PHARMACY, "sales"),
        (Source::Stale, Some(1)),
        "last cached aggregate"
    );
    world.origin.failing.store(false, Ordering::SeqCst);
    assert_eq!(
        get(&analytics, PHARMACY, "sales"),
        (Source::Origin, Some(2))
    );
    // Past TTL + 24 h nothing is servable.
    world.clock.advance(Duration::from_secs(300 + 86_400));
    world.origin.failing.store(true, Ordering::SeqCst);
    let key = analytics
        .key(PHARMACY, "sales")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        runtime().block_on(analytics.get(&key)),
        Err(CacheError::Origin { .. })
    ));
    world.origin.failing.store(false, Ordering::SeqCst);

    // With a spawner: the stale value at once, the refresh in the background.
    let spawner = Arc::new(QueueSpawn::default());
    let clock: Arc<dyn Clock> = world.clock.clone();
    let swr = Caches::builder(CachePolicy::design(), clock)
        .l2(Arc::new(MemoryL2::new(world.clock.clone(), 1 << 20)))
        .spawner(spawner.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let analytics = world.cache(&swr, DataClass::Analytics);
    let version = world.origin.version("sales");
    assert_eq!(
        get(&analytics, PHARMACY, "sales"),
        (Source::Origin, Some(version))
    );
    world.origin.update("sales");
    world.clock.advance(Duration::from_secs(301));
    assert_eq!(
        get(&analytics, PHARMACY, "sales"),
        (Source::Stale, Some(version))
    );
    let tasks = spawner.take();
    assert_eq!(tasks.len(), 1);
    let loads = world.origin.loads();
    runtime().block_on(async {
        for task in tasks {
            task.await;
        }
    });
    assert_eq!(world.origin.loads(), loads + 1);
    assert_eq!(
        get(&analytics, PHARMACY, "sales"),
        (Source::L1, Some(version + 1))
    );
    // Patient data is never served stale (its row has no stale bound).
    let patients = world.cache(&swr, DataClass::Patient);
    assert_eq!(get(&patients, PHARMACY, "p").0, Source::Origin);
    world.clock.advance(Duration::from_secs(3_600));
    world.origin.failing.store(true, Ordering::SeqCst);
    let key = patients
        .key(PHARMACY, "p")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(runtime().block_on(patients.get(&key)).is_err());
}

#[test]
fn wrong_keys_missing_rows_and_missing_levels_are_refused() {
    let world = World::new();
    let caches = world.process(CachePolicy::design());
    let catalog = world.cache(&caches, DataClass::DrugCatalog);
    let patients = world.cache(&caches, DataClass::Patient);
    let key = patients
        .key(PHARMACY, "p1")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        runtime().block_on(catalog.get(&key)),
        Err(CacheError::WrongClass {
            expected: DataClass::DrugCatalog,
            given: DataClass::Patient,
            ..
        })
    ));
    assert_eq!(
        caches
            .cache::<Val>(DataClass::Patient, world.origin.clone())
            .err(),
        Some(BuildError::AlreadyBuilt(DataClass::Patient))
    );
    drop(patients);
    assert!(
        caches
            .cache::<Val>(DataClass::Patient, world.origin.clone())
            .is_ok(),
        "the first was dropped"
    );
    let clock: Arc<dyn Clock> = world.clock.clone();
    let no_l2 = Caches::builder(CachePolicy::design(), clock.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        no_l2
            .cache::<Val>(DataClass::DrugCatalog, world.origin.clone())
            .err(),
        Some(BuildError::NoL2(DataClass::DrugCatalog))
    );
    assert!(
        no_l2
            .cache::<Val>(DataClass::Inventory, world.origin.clone())
            .is_ok()
    );
    let only_inventory = CachePolicy::new([(
        DataClass::Inventory,
        *CachePolicy::design()
            .class(DataClass::Inventory)
            .unwrap_or_else(|| panic!("row")),
    )])
    .unwrap_or_else(|e| panic!("{e}"));
    let partial = Caches::builder(only_inventory, clock)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        partial
            .cache::<Val>(DataClass::Session, world.origin.clone())
            .err(),
        Some(BuildError::NotInPolicy(DataClass::Session))
    );
}

#[test]
fn another_class_s_invalidations_never_cost_a_hit() {
    let world = World::new();
    let caches = world.process(CachePolicy::design());
    let patients = world.cache(&caches, DataClass::Patient);
    let _inventory = world.cache(&caches, DataClass::Inventory);
    assert_eq!(get(&patients, PHARMACY, "p1").0, Source::Origin);
    // Far more stock invalidations than there are generation stripes.
    runtime().block_on(async {
        for n in 0..100_000 {
            let event = Event::LotTransaction {
                pharmacy: PharmacyId::new(7),
                item: format!("sku{n}"),
            };
            caches.apply(&event).await.unwrap_or_else(|e| panic!("{e}"));
        }
    });
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::L1, Some(1)));
}

/// Reads `id` with its origin load held, runs `meanwhile` while the load waits, then lets it
/// finish: where the read's answer came from.
fn read_across(
    world: &World,
    cache: &Cache<Val>,
    id: &str,
    meanwhile: impl FnOnce(),
) -> Option<Source> {
    runtime().block_on(async {
        let release = world.origin.hold_next();
        let reader = cache.clone();
        let id = id.to_owned();
        let running = tokio::spawn(async move {
            let key = reader.key(PHARMACY, &id).unwrap_or_else(|e| panic!("{e}"));
            reader.get(&key).await.map(|f| f.source)
        });
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        meanwhile();
        let _ = release.send(());
        running.await.unwrap_or_else(|e| panic!("{e}")).ok()
    })
}

#[test]
fn forgetting_l1_drops_every_entry_and_every_running_load() {
    let world = World::new();
    let caches = world.process(CachePolicy::design());
    let patients = world.cache(&caches, DataClass::Patient);
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::Origin, Some(1)));
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::L1, Some(1)));
    // A load of p2 is running when L1 is forgotten.
    let source = read_across(&world, &patients, "p2", || {
        assert_eq!(world.origin.loads(), 2, "p2's load is running");
        caches.forget_l1();
    });
    assert_eq!(source, Some(Source::Origin));
    assert_eq!(patients.l1_len(), (0, 0), "nothing refilled L1");
    // Both answers are still in L2 (forgetting L1 leaves it), then in L1 again.
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::L2, Some(1)));
    assert_eq!(get(&patients, PHARMACY, "p2"), (Source::L2, Some(1)));
    assert_eq!(get(&patients, PHARMACY, "p2"), (Source::L1, Some(1)));
}

#[test]
fn a_suspended_l1_is_neither_read_nor_filled_and_resumes_empty() {
    let world = World::new();
    let caches = world.process(CachePolicy::design());
    let patients = world.cache(&caches, DataClass::Patient);
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::Origin, Some(1)));
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::L1, Some(1)));
    caches.suspend_l1();
    assert!(caches.l1_suspended());
    let key = patients
        .key(PHARMACY, "p1")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(patients.get_cached(&key).is_none());
    assert_eq!(get(&patients, PHARMACY, "p1"), (Source::L2, Some(1)));
    assert_eq!(get(&patients, PHARMACY, "p2"), (Source::Origin, Some(1)));
    assert_eq!(patients.l1_len(), (0, 0), "nothing filled while suspended");
    // A load that began while suspended and ends after the resume does not fill L1.
    let source = read_across(&world, &patients, "p3", || caches.resume_l1());
    assert_eq!(source, Some(Source::Origin));
    assert!(!caches.l1_suspended());
    assert_eq!(patients.l1_len(), (0, 0));
    assert_eq!(get(&patients, PHARMACY, "p3"), (Source::L2, Some(1)));
    assert_eq!(get(&patients, PHARMACY, "p3"), (Source::L1, Some(1)));
}
