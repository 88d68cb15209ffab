//! The caller's market data (stock, formulary, cost) and the product keys a benchmark asks
//! about.

use std::hash::BuildHasherDefault;

use pharm_subst::catalog::Catalog;
use pharm_subst::policy::{Market, MarketFacts};
use pharm_subst::record::{MarketingStatus, ObProduct, ProductKey};
use rust_decimal::Decimal;

use crate::rng::XorShift64;

use super::hasher::FxHashMap;

/// One product's store facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockRow {
    /// On hand at the store.
    pub in_stock: bool,
    /// Formulary tier (1 best), if on the plan's formulary.
    pub tier: Option<u8>,
    /// Unit acquisition cost in thousandths of a dollar, if known.
    pub cost_millis: Option<i64>,
}

/// The store's stock, formulary and cost data keyed by product: the [`Market`] the
/// benchmark's graph queries use (the SQLite peer loads the same rows into a table).
#[derive(Debug, Clone, Default)]
pub struct StockTable {
    rows: FxHashMap<ProductKey, StockRow>,
}

impl StockTable {
    /// Deterministic facts for every product: RX generics are mostly stocked and cheap,
    /// brands dearer and less often stocked; some products have no tier or cost.
    pub fn synthetic(products: &[ObProduct], seed: u64) -> Self {
        let mut rng = XorShift64::new(seed ^ 0x5702_6B00);
        let mut rows =
            FxHashMap::with_capacity_and_hasher(products.len(), BuildHasherDefault::default());
        for p in products {
            let brand = p.key.appl_type == pharm_subst::record::ApplType::Nda;
            let marketed = p.status != MarketingStatus::Discn;
            let in_stock = marketed && rng.chance(if brand { 35 } else { 60 });
            let tier = rng.chance(70).then(|| {
                if brand {
                    rng.range(2, 3) as u8
                } else {
                    rng.range(1, 2) as u8
                }
            });
            let cost_millis = rng.chance(90).then(|| {
                let base = if brand {
                    rng.range(2_000, 40_000)
                } else {
                    rng.range(10, 3_000)
                };
                i64::from(base)
            });
            rows.insert(
                p.key,
                StockRow {
                    in_stock,
                    tier,
                    cost_millis,
                },
            );
        }
        StockTable { rows }
    }

    /// The facts of one product.
    pub fn get(&self, key: &ProductKey) -> Option<&StockRow> {
        self.rows.get(key)
    }

    /// All rows.
    pub fn iter(&self) -> impl Iterator<Item = (&ProductKey, &StockRow)> {
        self.rows.iter()
    }

    /// Number of products with facts.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl Market for StockTable {
    fn facts(&self, key: &ProductKey) -> MarketFacts {
        self.rows
            .get(key)
            .map_or_else(MarketFacts::default, |r| MarketFacts {
                in_stock: r.in_stock,
                formulary_tier: r.tier,
                unit_cost: r.cost_millis.map(|m| Decimal::new(m, 3)),
            })
    }
}

/// A rotating set of prescription keys and what kinds of products it holds.
#[derive(Debug, Clone, Default)]
pub struct KeyMix {
    /// The keys, in query order.
    pub keys: Vec<ProductKey>,
    /// Keys with at least 14 equivalents (atorvastatin-size groups).
    pub big: usize,
    /// Keys of marketed RX products without any equivalent (single source, B-rated …).
    pub singleton: usize,
    /// Keys of products carrying several TE codes (levothyroxine style).
    pub multi_code: usize,
    /// Other marketed RX products.
    pub other: usize,
}

/// `n` product keys for the benchmark: about 35 % from big groups, 25 % single-source or
/// otherwise unsubstitutable RX products, 10 % multi-coded products, 30 % any RX product.
pub fn sample_keys(catalog: &Catalog, n: usize, seed: u64) -> KeyMix {
    let mut big = Vec::new();
    let mut single = Vec::new();
    let mut multi = Vec::new();
    let mut rx = Vec::new();
    for p in catalog.products() {
        if p.status != MarketingStatus::Rx {
            continue;
        }
        let degree = catalog.equivalents(&p.key).map_or(0, Iterator::count);
        rx.push(p.key);
        if p.te_codes.len() >= 2 && degree > 0 {
            multi.push(p.key);
        } else if degree >= 14 {
            big.push(p.key);
        } else if degree == 0 {
            single.push(p.key);
        }
    }
    let mut rng = XorShift64::new(seed ^ 0x4B45_5953);
    let mut mix = KeyMix::default();
    for _ in 0..n {
        let roll = rng.below(100);
        let (pool, counter) = match roll {
            0..35 if !big.is_empty() => (&big, &mut mix.big),
            35..60 if !single.is_empty() => (&single, &mut mix.singleton),
            60..70 if !multi.is_empty() => (&multi, &mut mix.multi_code),
            _ => (&rx, &mut mix.other),
        };
        if pool.is_empty() {
            break;
        }
        mix.keys.push(pool[rng.index(pool.len())]);
        *counter += 1;
    }
    mix
}

/// `n` keys drawn uniformly from all products (any status).
pub fn uniform_keys(catalog: &Catalog, n: usize, seed: u64) -> Vec<ProductKey> {
    let mut rng = XorShift64::new(seed ^ 0x554E_4946);
    let products = catalog.products();
    if products.is_empty() {
        return Vec::new();
    }
    (0..n)
        .map(|_| products[rng.index(products.len())].key)
        .collect()
}
