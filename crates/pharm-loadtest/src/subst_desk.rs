//! The load test's substitution lookups on a full-size Orange Book (issue 13's "substitution
//! lookups"): a loaded [`SubstitutionService`], the store's market facts and the product
//! keys a prescription names, from which each lookup draws one with the load test's
//! [`XorShift64`].
//!
//! A lookup is the query a pharmacy service makes for a prescription: a snapshot of the
//! service as of the simulated day (so a stale release gives the degraded "original
//! product only" answer), then the owned answer ([`Snapshot::answer`]) under a permissive
//! Texas policy, DAW 0, ranked by the store's stock, formulary tier and cost.
//!
//! ```
//! use pharm_loadtest::requests::business_day;
//! use pharm_loadtest::rng::XorShift64;
//! use pharm_loadtest::subst_desk::SubstDesk;
//!
//! let desk = SubstDesk::generated(7).unwrap();
//! let mut rng = XorShift64::new(1);
//! let lookup = desk.lookup(&mut rng, business_day());
//! assert!(lookup.choices >= 1 && !lookup.degraded);
//! ```
//!
//! [`Snapshot::answer`]: pharm_subst::Snapshot::answer

use pharm_core::time::Date;
use pharm_subst::catalog::{Catalog, DuplicateKey};
use pharm_subst::policy::{SubstitutionContext, SubstitutionPolicy};
use pharm_subst::products::{ParseLimits, ParseMode, ProductsError, parse_products};
use pharm_subst::record::ProductKey;
use pharm_subst::{Release, SubstitutionService};

use crate::orange_book::{
    DEFAULT_ROWS, DEFAULT_SEED, StockTable, generate_products_txt, sample_keys,
};
use crate::requests::business_day;
use crate::rng::XorShift64;

#[cfg(test)]
mod tests;

/// Product keys the desk draws from: the benchmark's mix of big groups, single-source,
/// multi-coded and other marketed RX products ([`sample_keys`]).
pub const DRAW_KEYS: usize = 4_096;

/// Days between the release's publication and the load test's business day.
pub const RELEASE_AGE_DAYS: i64 = 14;

/// Age after which the service answers "original product only".
pub const MAX_AGE_DAYS: u32 = 45;

/// Why a desk could not be built; each names its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    /// The `products.txt` parser (strict mode) refused the input.
    #[error("{input}: products.txt refused: {reason}")]
    Parse {
        /// The input's label.
        input: String,
        /// The parser's reason.
        reason: ProductsError,
    },
    /// The catalog could not be built: two rows with one key.
    #[error("{input}: catalog not built: {reason}")]
    Duplicate {
        /// The input's label.
        input: String,
        /// The repeated key.
        reason: DuplicateKey,
    },
    /// The input lists no marketed RX product, so there is nothing to ask about.
    #[error("{input}: no marketed RX product to ask about")]
    NoRxProducts {
        /// The input's label.
        input: String,
    },
}

/// One key the desk may draw.
#[derive(Debug, Clone, Copy)]
struct DrawKey {
    key: ProductKey,
    single_source: bool,
}

/// What one lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup {
    /// The prescription's product.
    pub key: ProductKey,
    /// Products the store may dispense (the product as written included); `0` only for a
    /// product the release does not list, which the desk never draws.
    pub choices: usize,
    /// The product has no A-rated equivalent in the release.
    pub single_source: bool,
    /// The release was stale on the day asked: the answer is the product as written only.
    pub degraded: bool,
}

/// A loaded Orange Book release and the keys worth asking about; shared among driver
/// threads (`Send + Sync`).
#[derive(Debug)]
pub struct SubstDesk {
    service: SubstitutionService,
    stock: StockTable,
    policy: SubstitutionPolicy,
    keys: Vec<DrawKey>,
    products: usize,
}

impl SubstDesk {
    /// The desk on the synthetic full-size `products.txt` ([`DEFAULT_ROWS`] rows, as
    /// `orange-book-gen` writes by default) of `seed`; the store's facts and the keys are
    /// drawn from `seed` too.
    pub fn generated(seed: u64) -> Result<SubstDesk, DeskError> {
        let text = generate_products_txt(seed, DEFAULT_ROWS);
        Self::build(
            text.as_bytes(),
            &format!("generated products.txt (seed {seed:#x})"),
            seed,
        )
    }

    /// The desk on a real FDA `products.txt` (the file's bytes, either layout), parsed
    /// strictly; `label` names the input in errors and in the release.
    pub fn from_products(bytes: &[u8], label: &str) -> Result<SubstDesk, DeskError> {
        Self::build(bytes, label, DEFAULT_SEED)
    }

    fn build(bytes: &[u8], label: &str, seed: u64) -> Result<SubstDesk, DeskError> {
        let parsed = parse_products(bytes, ParseMode::Strict, &ParseLimits::default()).map_err(
            |reason| DeskError::Parse {
                input: label.to_owned(),
                reason,
            },
        )?;
        let catalog = Catalog::build(parsed.products).map_err(|reason| DeskError::Duplicate {
            input: label.to_owned(),
            reason,
        })?;
        let keys: Vec<DrawKey> = sample_keys(&catalog, DRAW_KEYS, seed)
            .keys
            .into_iter()
            .map(|key| DrawKey {
                key,
                single_source: catalog
                    .equivalents(&key)
                    .map_or(true, |mut e| e.next().is_none()),
            })
            .collect();
        if keys.is_empty() {
            return Err(DeskError::NoRxProducts {
                input: label.to_owned(),
            });
        }
        let stock = StockTable::synthetic(catalog.products(), seed);
        let products = catalog.len();
        let service = SubstitutionService::new(MAX_AGE_DAYS);
        service.load(Release {
            catalog,
            released: business_day().add_days(-RELEASE_AGE_DAYS),
            label: label.to_owned(),
        });
        Ok(SubstDesk {
            service,
            stock,
            policy: SubstitutionPolicy::permissive("TX"),
            keys,
            products,
        })
    }

    /// Draws a prescription's product with `rng` and asks the service what may be dispensed
    /// for it on `today`. The same rng state and day give the same answer.
    pub fn lookup(&self, rng: &mut XorShift64, today: Date) -> Lookup {
        // The constructors refuse an empty key list, so the index is in range.
        let drawn = self.keys[rng.index(self.keys.len())];
        let ctx = SubstitutionContext::new(&self.policy, &self.stock);
        let (choices, degraded) = match self.service.snapshot(today).answer(&drawn.key, &ctx, None)
        {
            Ok(answer) => (answer.choices.len(), answer.degraded.is_some()),
            Err(_) => (0, false),
        };
        Lookup {
            key: drawn.key,
            choices,
            single_source: drawn.single_source,
            degraded,
        }
    }

    /// Product keys the lookups draw from (with repeats: big groups are drawn more often).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: a desk has at least one key to draw.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Products in the loaded release.
    pub fn products(&self) -> usize {
        self.products
    }
}
