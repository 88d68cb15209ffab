//! Criterion benchmarks of the Orange Book substitution graph (`pharm-subst`) against the
//! SQLite peer a vendor would write, on a synthetic full-size `products.txt`
//! ([`pharm_benches::orange_book::generate_products_txt`], 55,000 rows):
//!
//! - `load/parse_and_build`: strict parse of the whole file plus `Catalog::build`.
//! - `load/parse_only`: the strict parse alone.
//! - `load/sqlite_load`: the parsed products into an in-memory SQLite database with its
//!   indexes (for reference; it starts from parsed products, so add `parse_only`).
//! - `substitutes/graph` vs `substitutes/sqlite`: one query per iteration over a rotating
//!   set of 256 realistic keys (big groups, single-source products, multi-coded products,
//!   any RX product), with store stock / tier / cost lookups on both sides.
//! - `substitutes/graph_big_groups` vs `substitutes/sqlite_big_groups`: only keys with 14 or
//!   more equivalents (the worst case for both).
//! - `substitutes/graph_no_market`: the mixed keys with `NoMarket`, i.e. the graph walk,
//!   ranking and DAW assignment without the caller's stock / tier / cost lookups.
//! - `substitutes/service_answer`: what a binding does per call (the C ABI, the Python
//!   wheel): the same keys and `NoMarket` through `SubstitutionService::snapshot(today)`
//!   (staleness) and `Snapshot::answer`, the owned answer with the store's packages.
//!
//! Before timing anything the setup checks that the SQL answers equal the graph's, as sets of
//! product keys, for 200 uniformly drawn products and for every benchmark key, and panics
//! otherwise. Run with `cargo bench -p pharm-benches --bench substitution`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use pharm_benches::orange_book::sqlite::{SqlitePeer, compare};
use pharm_benches::orange_book::{
    CatalogSummary, DEFAULT_ROWS, DEFAULT_SEED, StockTable, generate_products_txt, load_catalog,
    parse_strict, sample_keys, uniform_keys,
};
use pharm_core::time::Date;
use pharm_subst::catalog::Catalog;
use pharm_subst::policy::{NoMarket, SubstitutionContext, SubstitutionPolicy};
use pharm_subst::{ProductKey, ProductMap, Release, SubstitutionService};

fn substitution_benches(c: &mut Criterion) {
    let text = generate_products_txt(DEFAULT_SEED, DEFAULT_ROWS);
    let parsed = parse_strict(&text).expect("generated file parses strictly");
    assert!(parsed.rejects.is_empty());
    assert_eq!(parsed.products.len(), DEFAULT_ROWS);
    let products = parsed.products;
    let catalog = Catalog::build(products.clone()).expect("unique keys");
    eprintln!(
        "generated products.txt: {} bytes, {} rows",
        text.len(),
        DEFAULT_ROWS
    );
    eprintln!("{}", CatalogSummary::of(&catalog));

    let stock = StockTable::synthetic(catalog.products(), DEFAULT_SEED);
    let started = Instant::now();
    let mut peer = SqlitePeer::load(catalog.products()).expect("sqlite load");
    peer.load_stock(&stock).expect("stock load");
    eprintln!(
        "sqlite: {} products loaded in {:?}",
        peer.product_count().expect("count"),
        started.elapsed()
    );
    for line in peer.query_plan().expect("query plan") {
        eprintln!("  plan: {line}");
    }

    let mix = sample_keys(&catalog, 256, DEFAULT_SEED);
    let big: Vec<_> = {
        let big_mix = sample_keys(&catalog, 4_096, DEFAULT_SEED ^ 1);
        big_mix
            .keys
            .into_iter()
            .filter(|k| catalog.equivalents(k).is_ok_and(|e| e.count() >= 14))
            .take(64)
            .collect()
    };
    eprintln!(
        "benchmark keys: {} ({} big-group, {} single, {} multi-coded, {} other); {} big-group-only keys",
        mix.keys.len(),
        mix.big,
        mix.singleton,
        mix.multi_code,
        mix.other,
        big.len()
    );

    // Apples to apples: both sides must give the same answers before anything is timed.
    for (label, keys) in [
        (
            "200 uniform products",
            uniform_keys(&catalog, 200, DEFAULT_SEED),
        ),
        ("benchmark keys", mix.keys.clone()),
    ] {
        let a = compare(&catalog, &peer, &stock, &keys).expect("compare");
        eprintln!(
            "SQL vs graph on {label}: {}/{} same set, {}/{} same order and stock facts, {} with equivalents, {} choices",
            a.same_set, a.checked, a.same_order, a.checked, a.with_equivalents, a.total_choices
        );
        for m in a.set_mismatches.iter().chain(&a.order_mismatches) {
            eprintln!("  mismatch {}: graph {:?} sql {:?}", m.key, m.graph, m.sql);
        }
        assert!(a.sets_agree(), "SQL and graph answers differ on {label}");
    }

    let policy = SubstitutionPolicy::permissive("TX");
    let ctx = SubstitutionContext::new(&policy, &stock);

    let mut load = c.benchmark_group("load");
    load.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    load.bench_function("parse_and_build", |b| {
        b.iter(|| load_catalog(black_box(&text)).expect("load"));
    });
    load.bench_function("parse_only", |b| {
        b.iter(|| parse_strict(black_box(&text)).expect("parse"));
    });
    load.bench_function("sqlite_load", |b| {
        b.iter(|| SqlitePeer::load(black_box(&products)).expect("sqlite load"));
    });
    load.finish();

    let mut group = c.benchmark_group("substitutes");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));
    let by_graph = |key: &ProductKey| catalog.substitutes(key, &ctx).expect("known key");
    let by_sql = |key: &ProductKey| peer.substitutes(key).expect("sql query");
    bench_rotating(&mut group, "graph", &mix.keys, by_graph);
    bench_rotating(&mut group, "sqlite", &mix.keys, by_sql);
    bench_rotating(&mut group, "graph_big_groups", &big, by_graph);
    bench_rotating(&mut group, "sqlite_big_groups", &big, by_sql);
    // The engine alone: the same keys with no market lookups (nothing in stock, no tier or
    // cost), to separate the graph walk from the caller's three lookups per choice.
    let no_market = SubstitutionContext::new(&policy, &NoMarket);
    bench_rotating(&mut group, "graph_no_market", &mix.keys, |key| {
        catalog.substitutes(key, &no_market).expect("known key")
    });
    // The bindings' call: a snapshot of the service, then the owned answer.
    let service = SubstitutionService::new(45);
    service.load(Release {
        catalog: catalog.clone(),
        released: Date::from_ymd(2026, 5, 1).expect("a date"),
        label: "generated".to_owned(),
    });
    let today = Date::from_ymd(2026, 5, 2).expect("a date");
    let packages = ProductMap::default();
    bench_rotating(&mut group, "service_answer", &mix.keys, |key| {
        service
            .snapshot(black_box(today))
            .answer(key, &no_market, Some(&packages))
            .expect("known key")
    });
    group.finish();
}

/// One query per iteration, on the next of `keys` in turn (passed through `black_box`).
fn bench_rotating<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    keys: &[ProductKey],
    mut query: impl FnMut(&ProductKey) -> T,
) {
    let mut i = 0usize;
    group.bench_function(name, |b| {
        b.iter(|| {
            let key = &keys[i % keys.len()];
            i = i.wrapping_add(1);
            query(black_box(key))
        });
    });
}

criterion_group!(benches, substitution_benches);
criterion_main!(benches);
