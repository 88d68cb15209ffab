//! The cloud tier's cache in the load test: a cold and a warm start play the same day
//! (same digest as without a cache), warming raises the first minute's hit rates, no
//! read is stale, and a cache that is not told of stock moves is caught.

use std::sync::Arc;

use pharm_cache::DataClass;
use pharm_loadtest::cloud::cache::{CacheReport, CloudCache};
use pharm_loadtest::config::{Breaks, Config};
use pharm_loadtest::sim::{World, run_simulated, run_simulated_cached};
use pharm_loadtest::subst_desk::SubstDesk;

fn config(breaks: Breaks) -> Config {
    Config {
        pharmacies: 6,
        terminals: 3,
        txns: 60,
        durable: 0,
        breaks,
        ..Config::default()
    }
}

fn world() -> World {
    let desk = SubstDesk::generated(7).unwrap_or_else(|e| panic!("{e}"));
    World::embedded(Arc::new(desk)).unwrap_or_else(|e| panic!("{e}"))
}

/// The day with a cache (warmed or not): its digest and the cache's report.
fn day(config: &Config, warm: bool) -> (String, CacheReport) {
    let cache = Arc::new(CloudCache::new(config, warm, 1).unwrap_or_else(|e| panic!("{e}")));
    if warm {
        cache.warm(|_| 0);
    }
    let summary = run_simulated_cached(config, &world(), Some(Arc::clone(&cache)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(summary.violations.is_empty(), "{:?}", summary.violations);
    cache.logout_all();
    (summary.digest, cache.report())
}

fn first_minute(report: &CacheReport, class: DataClass) -> f64 {
    report
        .classes
        .iter()
        .find(|c| c.class == class)
        .map_or(-1.0, |c| c.first_minute_hit_rate)
}

#[test]
fn a_cold_and_a_warm_start_play_the_same_day_and_warming_pays_at_once() {
    let config = config(Breaks::default());
    let plain = run_simulated(&config, &world()).unwrap_or_else(|e| panic!("{e}"));
    let (cold_digest, cold) = day(&config, false);
    let (warm_digest, warm) = day(&config, true);
    assert_eq!(cold_digest, plain.digest);
    assert_eq!(warm_digest, plain.digest);
    for report in [&cold, &warm] {
        assert!(report.ok(), "{}", report.text());
        assert_eq!(report.stale_reads, 0);
    }
    let warmed = warm.warm.unwrap_or_else(|| panic!("warm summary"));
    assert!(warmed.loaded > 0);
    for class in [
        DataClass::DrugCatalog,
        DataClass::Patient,
        DataClass::Formulary,
    ] {
        assert!(
            first_minute(&warm, class) > first_minute(&cold, class),
            "{class}: warm {} vs cold {}",
            first_minute(&warm, class),
            first_minute(&cold, class)
        );
    }
    assert!((first_minute(&warm, DataClass::DrugCatalog) - 1.0).abs() < 1e-9);
    assert!(
        first_minute(&cold, DataClass::Patient) < 0.1,
        "a cold start's patients miss at first"
    );
    // Every stock move reached the inventory cache, and the sessions were logged out.
    let stats = |r: &CacheReport, class| {
        r.classes
            .iter()
            .find(|c| c.class == class)
            .map(|c| c.stats)
            .unwrap_or_default()
    };
    assert!(stats(&warm, DataClass::Inventory).invalidations > 0);
    assert_eq!(stats(&warm, DataClass::Session).invalidations, 6 * 3);
}

#[test]
fn a_cache_not_told_of_stock_moves_serves_stale_stock_and_fails_the_run() {
    let mut breaks = Breaks::default();
    assert!(breaks.switch_on("no-cache-invalidation"));
    // Few SKUs and a longer day: stock is read again after it moved.
    let config = Config {
        skus: 12,
        txns: 200,
        ..config(breaks)
    };
    let (_, report) = day(&config, true);
    assert!(report.stale_reads > 0, "{}", report.text());
    assert!(!report.ok());
}
