//! The design's warming plan for a pharmacy: order, progress, counts, skipped steps,
//! and the hit rate of a warmed start against a cold one (the scaling trigger's input).

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::{TestOrigin, Val, runtime};
use pharm_cache::warm::{StepReport, WarmCounts};
use pharm_cache::{
    Cache, CachePolicy, Caches, DataClass, HIT_RATE_THRESHOLD, MemoryL2, OriginError, Scope,
    WarmPlan, WarmSource, WarmStep, grow_cache_signals,
};
use pharm_core::ids::PharmacyId;
use pharm_core::time::{Clock, ManualClock};

const PHARMACY: PharmacyId = PharmacyId::new(12);

struct Source {
    fail_step: Option<WarmStep>,
}

#[async_trait]
impl WarmSource for Source {
    async fn ids(
        &self,
        step: WarmStep,
        pharmacy: PharmacyId,
    ) -> Result<Vec<(Scope, String)>, OriginError> {
        if self.fail_step == Some(step) {
            return Err("system of record unavailable".into());
        }
        fn ids(
            scope: Scope,
            prefix: &'static str,
            n: u32,
        ) -> impl Iterator<Item = (Scope, String)> {
            (0..n).map(move |i| (scope, format!("{prefix}{i}")))
        }
        Ok(match step {
            WarmStep::DrugCatalog => ids(Scope::Global, "ndc", 600).collect(),
            WarmStep::Inventory => ids(Scope::Pharmacy(pharmacy), "ndc", 300).collect(),
            WarmStep::ActivePrescriptions => {
                ids(Scope::Pharmacy(pharmacy), "patient", 40).collect()
            }
            // Seven payers listed by rank: only the first five are warmed.
            WarmStep::TopPayerFormularies => (0..7u32)
                .flat_map(|payer| ids(Scope::Payer(600_000 + payer), "ndc", 20))
                .collect(),
            WarmStep::OrangeBook => ids(Scope::Global, "te", 100).collect(),
        })
    }
}

struct Process {
    caches: Caches,
    classes: Vec<Cache<Val>>,
}

fn process(clock: &Arc<ManualClock>, l2: &Arc<MemoryL2>, origin: &Arc<TestOrigin>) -> Process {
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let caches = Caches::builder(CachePolicy::design(), dyn_clock)
        .l2(l2.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let classes = WarmStep::ORDER
        .iter()
        .map(|step| {
            caches
                .cache::<Val>(step.class(), origin.clone())
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    Process { caches, classes }
}

/// The reads of a pharmacy's first minutes: every warmed key once.
fn first_reads(p: &Process) {
    let source = Source { fail_step: None };
    runtime().block_on(async {
        for (step, cache) in WarmStep::ORDER.iter().zip(&p.classes) {
            for (scope, id) in source.ids(*step, PHARMACY).await.unwrap_or_default() {
                if matches!(scope, Scope::Payer(p) if p >= 600_005) {
                    continue;
                }
                let key = cache.key(scope, &id).unwrap_or_else(|e| panic!("{e}"));
                cache.get(&key).await.unwrap_or_else(|e| panic!("{e}"));
            }
        }
    });
}

#[test]
fn the_plan_runs_in_the_design_order_with_progress_and_a_warmed_start_hits() {
    let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1_000_000)));
    let l2 = Arc::new(MemoryL2::new(clock.clone(), 256 << 20));
    let origin = TestOrigin::new();

    // A cold process: every first read misses; the trigger says grow (or warm).
    let cold = process(&clock, &l2, &origin);
    first_reads(&cold);
    let cold_stats = cold.caches.stats();
    assert!(
        cold_stats.iter().all(|(_, s)| s.hit_rate() == Some(0.0)),
        "{cold_stats:?}"
    );
    assert_eq!(
        grow_cache_signals(&cold_stats, HIT_RATE_THRESHOLD, 1).len(),
        5
    );

    // A warmed process (a fresh L2, as at deployment).
    let l2 = Arc::new(MemoryL2::new(clock.clone(), 256 << 20));
    let warmed = process(&clock, &l2, &origin);
    let plan = WarmPlan::design(PHARMACY);
    assert_eq!(plan.steps, WarmStep::ORDER);
    let mut progress = Vec::new();
    let reports = runtime().block_on(plan.run(&warmed.caches, &Source { fail_step: None }, |p| {
        progress.push(p)
    }));
    let loaded = |step, n| StepReport {
        step,
        outcome: Ok(WarmCounts {
            cached: 0,
            loaded: n,
            failed: 0,
        }),
    };
    assert_eq!(
        reports,
        [
            loaded(WarmStep::DrugCatalog, 600),
            loaded(WarmStep::Inventory, 300),
            loaded(WarmStep::ActivePrescriptions, 40),
            loaded(WarmStep::TopPayerFormularies, 100),
            loaded(WarmStep::OrangeBook, 100),
        ]
    );
    // Progress: each step from 0 to its total, in plan order, batches of 256.
    let steps: Vec<WarmStep> = progress.iter().map(|p| p.step).collect();
    let mut order = steps.clone();
    order.dedup();
    assert_eq!(order, WarmStep::ORDER);
    let catalog: Vec<(u64, u64)> = progress
        .iter()
        .filter(|p| p.step == WarmStep::DrugCatalog)
        .map(|p| (p.done, p.total))
        .collect();
    assert_eq!(catalog, [(0, 600), (256, 600), (512, 600), (600, 600)]);
    assert_eq!(progress.last().map(|p| p.position), Some((4, 5)));

    let before = warmed.caches.stats();
    first_reads(&warmed);
    let after = warmed.caches.stats();
    for ((class, now), (_, then)) in after.iter().zip(&before) {
        let window = now.since(then);
        assert_eq!(window.hit_rate(), Some(1.0), "{class}: {window:?}");
    }
    let windows: Vec<_> = after
        .iter()
        .zip(&before)
        .map(|((c, n), (_, t))| (*c, n.since(t)))
        .collect();
    assert!(grow_cache_signals(&windows, HIT_RATE_THRESHOLD, 1).is_empty());

    // Warming again finds everything cached.
    let again = runtime().block_on(plan.run(&warmed.caches, &Source { fail_step: None }, |_| {}));
    assert!(
        again.iter().all(|r| matches!(
            r.outcome,
            Ok(WarmCounts {
                loaded: 0,
                failed: 0,
                ..
            })
        )),
        "{again:?}"
    );
}

#[test]
fn a_step_that_cannot_run_is_reported_and_the_others_still_run() {
    let clock = Arc::new(ManualClock::starting_at(Duration::from_secs(1_000_000)));
    let l2 = Arc::new(MemoryL2::new(clock.clone(), 256 << 20));
    let origin = TestOrigin::new();
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let caches = Caches::builder(CachePolicy::design(), dyn_clock)
        .l2(l2)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    // No inventory cache built; the Orange Book listing fails.
    let _kept: Vec<Cache<Val>> = [
        DataClass::DrugCatalog,
        DataClass::Patient,
        DataClass::Formulary,
        DataClass::OrangeBook,
    ]
    .into_iter()
    .map(|class| {
        caches
            .cache::<Val>(class, origin.clone())
            .unwrap_or_else(|e| panic!("{e}"))
    })
    .collect();
    let reports = runtime().block_on(WarmPlan::design(PHARMACY).run(
        &caches,
        &Source {
            fail_step: Some(WarmStep::OrangeBook),
        },
        |_| {},
    ));
    let outcome = |step| {
        reports
            .iter()
            .find(|r| r.step == step)
            .map(|r| r.outcome.clone())
    };
    assert_eq!(
        outcome(WarmStep::Inventory),
        Some(Err("no cache of inventory is built".into()))
    );
    assert!(matches!(outcome(WarmStep::OrangeBook), Some(Err(e)) if e.contains("unavailable")));
    assert!(matches!(
        outcome(WarmStep::DrugCatalog),
        Some(Ok(WarmCounts { loaded: 600, .. }))
    ));
    // Loads that fail are counted and leave the keys cold (another pharmacy's patients).
    origin
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let reports = runtime().block_on(
        WarmPlan {
            pharmacy: PharmacyId::new(13),
            steps: vec![WarmStep::ActivePrescriptions],
        }
        .run(&caches, &Source { fail_step: None }, |_| {}),
    );
    assert_eq!(
        reports[0].outcome,
        Ok(WarmCounts {
            cached: 0,
            loaded: 0,
            failed: 40
        })
    );
}
