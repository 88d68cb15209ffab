//! The cache's laws, tried against interleavings proptest draws:
//! - after an invalidation event is processed (on every process), no read at either
//!   level returns the old value, even when a load that read the old value finishes
//!   after the event;
//! - N concurrent misses of one key make exactly one origin call;
//! - an Orange Book release swap is never seen half-done.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{TestOrigin, Val, runtime};
use pharm_cache::{Cache, CachePolicy, Caches, DataClass, Event, MemoryL2, Scope};
use pharm_core::ids::PharmacyId;
use pharm_core::time::{Clock, ManualClock};
use proptest::prelude::*;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const PHARMACY: PharmacyId = PharmacyId::new(3);

fn scope(class: DataClass) -> Scope {
    match class {
        DataClass::Patient | DataClass::Inventory | DataClass::Analytics => {
            Scope::Pharmacy(PHARMACY)
        }
        DataClass::Formulary => Scope::Payer(610_014),
        _ => Scope::Global,
    }
}

fn event(class: DataClass, id: &str) -> Event {
    match class {
        DataClass::Patient => Event::PatientUpdated {
            pharmacy: PHARMACY,
            patient: id.into(),
        },
        DataClass::Inventory => Event::LotTransaction {
            pharmacy: PHARMACY,
            item: id.into(),
        },
        _ => Event::DrugUpdated { drug: id.into() },
    }
}

struct Processes {
    clock: Arc<ManualClock>,
    l2: Arc<MemoryL2>,
    origin: Arc<TestOrigin>,
    caches: Vec<Caches>,
    classes: Vec<Cache<Val>>,
}

fn processes(class: DataClass, count: usize) -> Processes {
    let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1_000_000)));
    let l2 = Arc::new(MemoryL2::new(clock.clone(), 64 << 20));
    let origin = TestOrigin::new();
    let mut caches = Vec::new();
    let mut classes = Vec::new();
    for _ in 0..count {
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let process = Caches::builder(CachePolicy::design(), dyn_clock)
            .l2(l2.clone())
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        classes.push(
            process
                .cache::<Val>(class, origin.clone())
                .unwrap_or_else(|e| panic!("{e}")),
        );
        caches.push(process);
    }
    Processes {
        clock,
        l2,
        origin,
        caches,
        classes,
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// A read that completes.
    Read { process: usize, key: usize },
    /// A read whose origin load (if it makes one) reads the version, then waits.
    SlowRead { process: usize, key: usize },
    /// The origin's value moves up, then every process applies the event.
    Update { key: usize },
    /// The oldest waiting load finishes.
    Release,
    /// Time passes.
    Advance { seconds: u64 },
    /// The L2 goes down or comes back.
    L2Down(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize, 0..3usize).prop_map(|(process, key)| Op::Read { process, key }),
        3 => (0..2usize, 0..3usize).prop_map(|(process, key)| Op::SlowRead { process, key }),
        3 => (0..3usize).prop_map(|key| Op::Update { key }),
        3 => Just(Op::Release),
        1 => (0..400u64).prop_map(|seconds| Op::Advance { seconds }),
        1 => any::<bool>().prop_map(Op::L2Down),
    ]
}

type ReadTask = JoinHandle<(String, u64, u64)>;

async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// Runs `ops`; every finished read is checked against the version that was current
/// when the read began (after the last processed invalidation of its key).
async fn run(world: &Processes, class: DataClass, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut floor: HashMap<String, u64> = HashMap::new();
    let mut held: Vec<oneshot::Sender<()>> = Vec::new();
    let mut tasks: Vec<ReadTask> = Vec::new();
    let spawn_read = |process: usize, id: String, floor_now: u64| -> ReadTask {
        let cache = world.classes[process].clone();
        tokio::spawn(async move {
            let key = cache
                .key(scope(class), &id)
                .unwrap_or_else(|e| panic!("{e}"));
            let fetched = cache.get(&key).await.unwrap_or_else(|e| panic!("{e}"));
            let version = fetched.value.map_or(0, |v| v.version);
            (id, version, floor_now)
        })
    };
    for op in ops {
        match op {
            Op::Read { process, key } => {
                let id = format!("k{key}");
                let at_start = floor.get(&id).copied().unwrap_or(1);
                let task = spawn_read(*process, id, at_start);
                // It may have joined a waiting load: release loads until it finishes.
                loop {
                    settle().await;
                    if task.is_finished() || held.is_empty() {
                        break;
                    }
                    let _ = held.remove(0).send(());
                }
                settle().await;
                tasks.push(task);
            }
            Op::SlowRead { process, key } => {
                held.push(world.origin.hold_next());
                let id = format!("k{key}");
                let at_start = floor.get(&id).copied().unwrap_or(1);
                tasks.push(spawn_read(*process, id, at_start));
                settle().await;
            }
            Op::Update { key } => {
                let id = format!("k{key}");
                let version = world.origin.update(&id);
                for caches in &world.caches {
                    caches
                        .apply(&event(class, &id))
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                floor.insert(id, version);
            }
            Op::Release => {
                if !held.is_empty() {
                    let _ = held.remove(0).send(());
                }
                settle().await;
            }
            Op::Advance { seconds } => world.clock.advance(Duration::from_secs(*seconds)),
            Op::L2Down(down) => {
                world.l2.set_down(*down);
                if !down {
                    for caches in &world.caches {
                        caches.retry_pending_invalidations().await;
                    }
                }
            }
        }
        // Every read that finished so far saw at least what was current when it began.
        let mut index = 0;
        while index < tasks.len() {
            if tasks[index].is_finished() {
                let (id, version, at_start) =
                    tasks.remove(index).await.unwrap_or_else(|e| panic!("{e}"));
                prop_assert!(
                    version >= at_start,
                    "{id}: read version {version}, but {at_start} was processed before the read began"
                );
            } else {
                index += 1;
            }
        }
    }
    // Drain: every remaining load finishes.
    for sender in held.drain(..) {
        let _ = sender.send(());
    }
    world.l2.set_down(false);
    for task in tasks {
        let (id, version, at_start) = task.await.unwrap_or_else(|e| panic!("{e}"));
        prop_assert!(version >= at_start, "{id}: {version} < {at_start}");
    }
    // And once everything settled, both processes read the newest value at every level.
    for caches in &world.caches {
        caches.retry_pending_invalidations().await;
    }
    for (p, cache) in world.classes.iter().enumerate() {
        for key in 0..3 {
            let id = format!("k{key}");
            let expected = world.origin.version(&id);
            let key = cache
                .key(scope(class), &id)
                .unwrap_or_else(|e| panic!("{e}"));
            let got = cache.get(&key).await.unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(
                got.value.map(|v| v.version),
                Some(expected),
                "process {} key {}",
                p,
                id
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn no_read_returns_an_invalidated_value(
        class in prop_oneof![Just(DataClass::Patient), Just(DataClass::DrugCatalog), Just(DataClass::Inventory)],
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let world = processes(class, 2);
        runtime().block_on(run(&world, class, &ops))?;
    }

    #[test]
    fn concurrent_misses_of_one_key_make_one_origin_call(
        class in prop_oneof![Just(DataClass::Patient), Just(DataClass::DrugCatalog), Just(DataClass::Inventory)],
        readers in 2usize..48,
        l2_down: bool,
    ) {
        let world = processes(class, 1);
        world.l2.set_down(l2_down);
        let cache = world.classes[0].clone();
        runtime().block_on(async {
            let release = world.origin.hold_next();
            let tasks: Vec<_> = (0..readers)
                .map(|_| {
                    let cache = cache.clone();
                    tokio::spawn(async move {
                        let key = cache.key(scope(class), "hot").unwrap_or_else(|e| panic!("{e}"));
                        cache.get(&key).await.unwrap_or_else(|e| panic!("{e}")).value
                    })
                })
                .collect();
            settle().await;
            prop_assert_eq!(world.origin.loads(), 1, "one load while all {} readers wait", readers);
            let _ = release.send(());
            for task in tasks {
                let value = task.await.unwrap_or_else(|e| panic!("{e}"));
                prop_assert_eq!(value.map(|v| v.version), Some(1));
            }
            Ok(())
        })?;
        prop_assert_eq!(world.origin.loads(), 1);
        prop_assert_eq!(cache.stats().coalesced, readers as u64 - 1);
    }

    #[test]
    fn an_orange_book_release_swap_is_never_seen_half_done(
        keys in 2usize..12,
        swap_after in 0usize..30,
        readers in 1usize..6,
        prewarm: bool,
    ) {
        let world = processes(DataClass::OrangeBook, 2);
        let ob = world.classes[0].clone();
        runtime().block_on(async {
            // Release 1 is current and cached.
            world.caches[0].apply(&Event::OrangeBookRelease { release: 1 }).await.unwrap_or_else(|e| panic!("{e}"));
            world.caches[1].apply(&Event::OrangeBookRelease { release: 1 }).await.unwrap_or_else(|e| panic!("{e}"));
            for k in 0..keys {
                let key = ob.key(Scope::Global, &format!("te{k}")).unwrap_or_else(|e| panic!("{e}"));
                ob.get(&key).await.unwrap_or_else(|e| panic!("{e}"));
            }
            // Readers: pin the current release, then read every key, yielding between reads.
            let tasks: Vec<_> = (0..readers)
                .map(|r| {
                    let cache = world.classes[r % 2].clone();
                    tokio::spawn(async move {
                        let mut batches = Vec::new();
                        for _ in 0..4 {
                            let release = cache.version(Scope::Global);
                            let mut seen = Vec::new();
                            for k in 0..keys {
                                let key = cache.key_at(Scope::Global, release, &format!("te{k}")).unwrap_or_else(|e| panic!("{e}"));
                                let value = cache.get(&key).await.unwrap_or_else(|e| panic!("{e}")).value;
                                seen.push(value.map_or(0, |v| v.namespace));
                                tokio::task::yield_now().await;
                            }
                            batches.push((release, seen));
                        }
                        batches
                    })
                })
                .collect();
            for _ in 0..swap_after {
                tokio::task::yield_now().await;
            }
            // The swapper warms release 2 while readers read release 1, then swaps.
            if prewarm {
                for k in 0..keys {
                    let key = ob.key_at(Scope::Global, 2, &format!("te{k}")).unwrap_or_else(|e| panic!("{e}"));
                    ob.get(&key).await.unwrap_or_else(|e| panic!("{e}"));
                }
            }
            for caches in &world.caches {
                caches.apply(&Event::OrangeBookRelease { release: 2 }).await.unwrap_or_else(|e| panic!("{e}"));
            }
            for task in tasks {
                for (release, seen) in task.await.unwrap_or_else(|e| panic!("{e}")) {
                    prop_assert!(seen.iter().all(|v| *v == release), "pinned release {release}, saw {seen:?}");
                }
            }
            // After the swap every reader reads release 2 only; a replayed release is refused.
            for cache in &world.classes {
                prop_assert_eq!(cache.version(Scope::Global), 2);
                for k in 0..keys {
                    let key = cache.key(Scope::Global, &format!("te{k}")).unwrap_or_else(|e| panic!("{e}"));
                    prop_assert_eq!(cache.get(&key).await.unwrap_or_else(|e| panic!("{e}")).value.map(|v| v.namespace), Some(2));
                }
            }
            for replayed in [1, 2] {
                let replay = Event::OrangeBookRelease { release: replayed };
                prop_assert!(world.caches[0].apply(&replay).await.is_err(), "release {} replayed", replayed);
            }
            Ok(())
        })?;
    }
}

#[test]
fn concurrent_misses_on_a_multi_threaded_runtime_make_one_origin_call() {
    let world = processes(DataClass::DrugCatalog, 1);
    let cache = world.classes[0].clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let release = world.origin.hold_next();
        let barrier = Arc::new(tokio::sync::Barrier::new(65));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let cache = cache.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let key = cache
                        .key(Scope::Global, "hot")
                        .unwrap_or_else(|e| panic!("{e}"));
                    cache
                        .get(&key)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"))
                        .value
                })
            })
            .collect();
        barrier.wait().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = release.send(());
        for task in tasks {
            assert!(task.await.unwrap_or_else(|e| panic!("{e}")).is_some());
        }
    });
    assert_eq!(world.origin.loads(), 1);
}
