//! NDC → Orange Book product lookup, through a mapping the caller provides or one resolved
//! from the FDA NDC Directory.

use std::collections::{HashMap, HashSet};

use pharm_core::ids::Ndc;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::ndc_directory::{ApplicationIndex, NdcMatch, NdcProduct, match_product_indexed};
use crate::record::{ObProduct, ProductKey};

/// Maps a product NDC (labeler and product code; the package does not matter for
/// equivalence) to an Orange Book product key.
pub trait NdcMapping {
    /// The Orange Book product for `labeler`-`product`, if known.
    fn product_key(&self, labeler: u32, product: u16) -> Option<ProductKey>;
}

impl<S: std::hash::BuildHasher> NdcMapping for HashMap<(u32, u16), ProductKey, S> {
    fn product_key(&self, labeler: u32, product: u16) -> Option<ProductKey> {
        self.get(&(labeler, product)).copied()
    }
}

impl<F: Fn(u32, u16) -> Option<ProductKey>> NdcMapping for F {
    fn product_key(&self, labeler: u32, product: u16) -> Option<ProductKey> {
        self(labeler, product)
    }
}

/// A product NDC the directory could not tie to exactly one Orange Book product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NdcIssue {
    /// Several Orange Book products fit (reported, never guessed).
    Ambiguous {
        /// The product NDC (`0071-0155`).
        product_ndc: String,
        /// The candidates.
        candidates: Vec<ProductKey>,
    },
    /// The application is in the Orange Book but no product fits form, route and strength.
    NotFound {
        /// The product NDC.
        product_ndc: String,
    },
    /// Two directory rows for one product NDC resolve to different products.
    Conflict {
        /// The product NDC.
        product_ndc: String,
        /// The products it resolved to.
        candidates: Vec<ProductKey>,
    },
}

/// What resolving a directory produced.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NdcReport {
    /// Product NDCs mapped to one Orange Book product.
    pub resolved: usize,
    /// Entries without an NDA/ANDA application (BLA, OTC monograph, unapproved).
    pub no_application: usize,
    /// Entries that could not be resolved to exactly one product.
    pub issues: Vec<NdcIssue>,
}

/// Product NDC → Orange Book product key, built from the FDA NDC Directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NdcIndex {
    map: HashMap<(u32, u16), ProductKey>,
}

impl NdcIndex {
    /// Resolves every directory entry against the catalog. Ambiguous, unmatched and
    /// conflicting entries are left out of the index and listed in the report. A product NDC
    /// with any ambiguous or unmatched row is left out entirely, even when another row for it
    /// resolves to one product (the ambiguous or unmatched row is the reported issue).
    pub fn from_directory(catalog: &Catalog, entries: &[NdcProduct]) -> (Self, NdcReport) {
        let products = catalog.products();
        let apps = ApplicationIndex::new(products);
        let mut map: HashMap<(u32, u16), ProductKey> = HashMap::new();
        let mut conflicts: HashMap<(u32, u16), Vec<ProductKey>> = HashMap::new();
        // Keys with any ambiguous or unmatched row: never mapped, even if another row for
        // the same product NDC resolves uniquely.
        let mut unresolved: HashSet<(u32, u16)> = HashSet::new();
        let mut report = NdcReport::default();
        for e in entries {
            let key = (e.labeler, e.product_code);
            match match_product_indexed(e, products, &apps) {
                NdcMatch::Unique(i) => {
                    let found = products[i].key;
                    match map.get(&key) {
                        Some(k) if *k != found => {
                            conflicts.entry(key).or_insert_with(|| vec![*k]).push(found)
                        }
                        _ => {
                            map.insert(key, found);
                        }
                    }
                }
                NdcMatch::Ambiguous(list) => {
                    unresolved.insert(key);
                    report.issues.push(NdcIssue::Ambiguous {
                        product_ndc: e.product_ndc.clone(),
                        candidates: list.iter().map(|&i| products[i].key).collect(),
                    });
                }
                NdcMatch::NotFound => {
                    unresolved.insert(key);
                    report.issues.push(NdcIssue::NotFound {
                        product_ndc: e.product_ndc.clone(),
                    });
                }
                NdcMatch::NoApplication => report.no_application += 1,
            }
        }
        for key in &unresolved {
            map.remove(key);
        }
        for (key, candidates) in conflicts {
            map.remove(&key);
            report.issues.push(NdcIssue::Conflict {
                product_ndc: format!("{}-{}", key.0, key.1),
                candidates,
            });
        }
        report.resolved = map.len();
        (NdcIndex { map }, report)
    }

    /// Number of product NDCs mapped.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl NdcMapping for NdcIndex {
    fn product_key(&self, labeler: u32, product: u16) -> Option<ProductKey> {
        self.map.get(&(labeler, product)).copied()
    }
}

impl Catalog {
    /// The Orange Book product of a package NDC through `mapping`.
    pub fn get_by_ndc(
        &self,
        ndc: &Ndc,
        mapping: &(impl NdcMapping + ?Sized),
    ) -> Option<&ObProduct> {
        let (labeler, product) = ndc.product_ndc();
        mapping
            .product_key(labeler, product)
            .and_then(|k| self.get(&k))
    }
}
