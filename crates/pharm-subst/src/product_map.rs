//! One product, three identities: a store's `sku`, the package [`Ndc`] and the Orange Book
//! [`ProductKey`], and the [`ProductMap`] that ties them together.
//!
//! * **`sku`** (`u32`): the dense id a store's catalog gives each item it stocks, the key
//!   of pharm-sync's inventory (lots, counts, sales). It means nothing outside that
//!   catalog. One sku is one package NDC.
//! * **[`Ndc`]**: the National Drug Code on the package (labeler, product, package; 21 CFR
//!   207.33). What is scanned at the counter and billed to the plan. Its first two
//!   segments, the *product NDC*, name the labeler's product; the package code only the
//!   pack size.
//! * **[`ProductKey`]**: the Orange Book product (application type and number, product
//!   number), the unit of therapeutic equivalence. Many product NDCs (labelers, repackagers)
//!   map to one key, through the FDA NDC Directory's application number and the product's
//!   form, route and strength ([`NdcIndex`](crate::ndc_index::NdcIndex)).
//!
//! So sku → NDC is one-to-one, NDC → product key many-to-one, and a product key may be
//! stocked under several skus (two pack sizes) or none. A substitution query speaks in
//! product keys; the till speaks in skus and NDCs; the map translates both ways and says so
//! with a typed error when a lookup is unknown or has more than one answer.

use std::collections::HashMap;

use pharm_core::ids::Ndc;
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::ndc_index::NdcMapping;
use crate::record::ProductKey;

/// One stocked item: its sku, package NDC and Orange Book product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRow {
    /// The store catalog's dense item id (pharm-sync's `sku`).
    pub sku: u32,
    /// The package NDC.
    pub ndc: Ndc,
    /// The Orange Book product.
    pub product: ProductKey,
}

/// A lookup in a [`ProductMap`] that failed, or rows that cannot form one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProductMapError {
    /// Two rows share a sku (a sku is one package).
    #[error("sku {sku} is listed for both {first} and {second}")]
    DuplicateSku {
        /// The sku.
        sku: u32,
        /// The NDC of its first row.
        first: Ndc,
        /// The NDC of the repeated row.
        second: Ndc,
    },
    /// Two rows share a package NDC.
    #[error("NDC {ndc} is listed under skus {first} and {second}")]
    DuplicateNdc {
        /// The NDC.
        ndc: Ndc,
        /// The sku of its first row.
        first: u32,
        /// The sku of the repeated row.
        second: u32,
    },
    /// The NDC mapping does not tie the package to a product of the catalog.
    #[error("NDC {ndc} of sku {sku} is not tied to a product of the loaded release")]
    UnmappedNdc {
        /// The sku.
        sku: u32,
        /// Its NDC.
        ndc: Ndc,
    },
    /// No row has this sku.
    #[error("sku {0} is not in the product map")]
    UnknownSku(u32),
    /// No row has this NDC.
    #[error("NDC {0} is not in the product map")]
    UnknownNdc(Ndc),
    /// No row has this product.
    #[error("product {0} is not stocked under any sku of the product map")]
    UnknownProduct(ProductKey),
    /// The product is stocked under several skus; the caller must choose the package.
    #[error("product {product} is stocked under several skus: {skus:?}")]
    AmbiguousProduct {
        /// The product.
        product: ProductKey,
        /// Its skus, ascending.
        skus: Vec<u32>,
    },
}

/// sku ↔ package NDC ↔ Orange Book product key (see the [module docs](self)).
///
/// Built from explicit rows ([`from_rows`](Self::from_rows)) or by resolving a store's
/// (sku, NDC) list through an NDC mapping ([`resolve`](Self::resolve)). Serialized as its
/// list of rows, in sku order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<ProductRow>", into = "Vec<ProductRow>")]
pub struct ProductMap {
    /// Rows in ascending sku order.
    rows: Vec<ProductRow>,
    by_ndc: HashMap<Ndc, usize>,
    /// Row indices per product, in ascending sku order.
    by_product: HashMap<ProductKey, Vec<usize>>,
}

impl ProductMap {
    /// A map of explicit rows. Every sku and every NDC may appear once.
    pub fn from_rows(rows: impl IntoIterator<Item = ProductRow>) -> Result<Self, ProductMapError> {
        let mut rows: Vec<ProductRow> = rows.into_iter().collect();
        rows.sort_by_key(|r| r.sku);
        if let Some(w) = rows.windows(2).find(|w| w[0].sku == w[1].sku) {
            return Err(ProductMapError::DuplicateSku {
                sku: w[0].sku,
                first: w[0].ndc,
                second: w[1].ndc,
            });
        }
        let mut by_ndc = HashMap::with_capacity(rows.len());
        let mut by_product: HashMap<ProductKey, Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            if let Some(&first) = by_ndc.get(&r.ndc) {
                let first: &ProductRow = &rows[first];
                return Err(ProductMapError::DuplicateNdc {
                    ndc: r.ndc,
                    first: first.sku,
                    second: r.sku,
                });
            }
            by_ndc.insert(r.ndc, i);
            by_product.entry(r.product).or_default().push(i);
        }
        Ok(ProductMap {
            rows,
            by_ndc,
            by_product,
        })
    }

    /// A map of a store's (sku, package NDC) list, each NDC tied to its Orange Book
    /// product through `mapping` (an [`NdcIndex`](crate::ndc_index::NdcIndex) or the
    /// caller's own). An NDC the mapping does not tie to a product of `catalog` is an
    /// error ([`ProductMapError::UnmappedNdc`]), never skipped.
    pub fn resolve(
        catalog: &Catalog,
        mapping: &(impl NdcMapping + ?Sized),
        packages: impl IntoIterator<Item = (u32, Ndc)>,
    ) -> Result<Self, ProductMapError> {
        let rows = packages
            .into_iter()
            .map(|(sku, ndc)| {
                catalog
                    .get_by_ndc(&ndc, mapping)
                    .map(|p| ProductRow {
                        sku,
                        ndc,
                        product: p.key,
                    })
                    .ok_or(ProductMapError::UnmappedNdc { sku, ndc })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_rows(rows)
    }

    /// All rows, in ascending sku order.
    pub fn rows(&self) -> &[ProductRow] {
        &self.rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the map has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row of a sku.
    pub fn by_sku(&self, sku: u32) -> Result<&ProductRow, ProductMapError> {
        self.rows
            .binary_search_by_key(&sku, |r| r.sku)
            .map(|i| &self.rows[i])
            .map_err(|_| ProductMapError::UnknownSku(sku))
    }

    /// The row of a package NDC (compared by labeler, product and package codes).
    pub fn by_ndc(&self, ndc: &Ndc) -> Result<&ProductRow, ProductMapError> {
        self.by_ndc
            .get(ndc)
            .map(|&i| &self.rows[i])
            .ok_or(ProductMapError::UnknownNdc(*ndc))
    }

    /// The rows (packages) of a product, in ascending sku order; empty when it is not
    /// stocked.
    pub fn by_product(&self, product: &ProductKey) -> impl Iterator<Item = &ProductRow> + '_ {
        self.by_product
            .get(product)
            .into_iter()
            .flatten()
            .map(|&i| &self.rows[i])
    }

    /// The one row of a product: an error when it is not stocked
    /// ([`ProductMapError::UnknownProduct`]) or stocked under several skus
    /// ([`ProductMapError::AmbiguousProduct`]).
    pub fn only_row(&self, product: &ProductKey) -> Result<&ProductRow, ProductMapError> {
        let mut rows = self.by_product(product);
        let first = rows
            .next()
            .ok_or(ProductMapError::UnknownProduct(*product))?;
        if rows.next().is_some() {
            return Err(ProductMapError::AmbiguousProduct {
                product: *product,
                skus: self.by_product(product).map(|r| r.sku).collect(),
            });
        }
        Ok(first)
    }
}

impl TryFrom<Vec<ProductRow>> for ProductMap {
    type Error = ProductMapError;
    fn try_from(rows: Vec<ProductRow>) -> Result<Self, Self::Error> {
        Self::from_rows(rows)
    }
}

impl From<ProductMap> for Vec<ProductRow> {
    fn from(map: ProductMap) -> Self {
        map.rows
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::products::{ParseLimits, ParseMode, parse_products};

    fn k(s: &str) -> ProductKey {
        s.parse().unwrap()
    }

    fn ndc(s: &str) -> Ndc {
        s.parse().unwrap()
    }

    fn row(sku: u32, n: &str, product: &str) -> ProductRow {
        ProductRow {
            sku,
            ndc: ndc(n),
            product: k(product),
        }
    }

    fn map() -> ProductMap {
        ProductMap::from_rows([
            row(7, "0071-0155-40", "N020702-001"),
            row(3, "0071-0155-23", "N020702-001"),
            row(5, "16729-044-15", "A207687-001"),
        ])
        .unwrap()
    }

    #[test]
    fn lookups_both_ways() {
        let m = map();
        assert_eq!(m.len(), 3);
        assert_eq!(
            m.rows().iter().map(|r| r.sku).collect::<Vec<_>>(),
            [3, 5, 7]
        );
        assert_eq!(m.by_sku(5).unwrap().product, k("A207687-001"));
        assert_eq!(m.by_sku(5).unwrap().ndc, ndc("16729-044-15"));
        // NDCs compare by their codes, whatever layout they are written in.
        assert_eq!(m.by_ndc(&ndc("16729-0044-15")).unwrap().sku, 5);
        assert_eq!(m.only_row(&k("A207687-001")).unwrap().sku, 5);
        let lipitor: Vec<u32> = m.by_product(&k("N020702-001")).map(|r| r.sku).collect();
        assert_eq!(lipitor, [3, 7]);
    }

    #[test]
    fn unknown_and_ambiguous_lookups_are_typed_errors() {
        let m = map();
        assert_eq!(m.by_sku(4), Err(ProductMapError::UnknownSku(4)));
        let other = ndc("0071-0155-99");
        assert_eq!(m.by_ndc(&other), Err(ProductMapError::UnknownNdc(other)));
        assert_eq!(
            m.only_row(&k("A091226-001")),
            Err(ProductMapError::UnknownProduct(k("A091226-001")))
        );
        assert_eq!(m.by_product(&k("A091226-001")).count(), 0);
        assert_eq!(
            m.only_row(&k("N020702-001")),
            Err(ProductMapError::AmbiguousProduct {
                product: k("N020702-001"),
                skus: vec![3, 7],
            })
        );
    }

    #[test]
    fn rows_that_repeat_a_sku_or_an_ndc_are_refused() {
        assert_eq!(
            ProductMap::from_rows([
                row(1, "0071-0155-23", "N020702-001"),
                row(1, "0071-0155-40", "N020702-001"),
            ]),
            Err(ProductMapError::DuplicateSku {
                sku: 1,
                first: ndc("0071-0155-23"),
                second: ndc("0071-0155-40"),
            })
        );
        assert_eq!(
            ProductMap::from_rows([
                row(1, "0071-0155-23", "N020702-001"),
                row(2, "0071-0155-23", "A207687-001"),
            ]),
            Err(ProductMapError::DuplicateNdc {
                ndc: ndc("0071-0155-23"),
                first: 1,
                second: 2,
            })
        );
    }

    #[test]
    fn serde_is_the_row_list_and_checks_it() {
        let m = map();
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.starts_with(r#"[{"sku":3,"ndc":"0071-0155-23","product":"N020702-001"}"#));
        assert_eq!(serde_json::from_str::<ProductMap>(&json).unwrap(), m);
        let repeated = r#"[{"sku":1,"ndc":"0071-0155-23","product":"N020702-001"},
                           {"sku":1,"ndc":"0071-0155-40","product":"N020702-001"}]"#;
        assert!(serde_json::from_str::<ProductMap>(repeated).is_err());
        let extra = r#"[{"sku":1,"ndc":"0071-0155-23","product":"N020702-001","x":0}]"#;
        assert!(serde_json::from_str::<ProductMap>(extra).is_err());
    }

    #[test]
    fn resolve_ties_each_package_to_its_product_or_fails() {
        let file = "Ingredient~DF;Route~Trade_Name~Applicant~Strength~Appl_Type~Appl_No~Product_No~TE_Code~Approval_Date~RLD~RS~Type~Applicant_Full_Name
ATORVASTATIN CALCIUM~TABLET;ORAL~LIPITOR~UPJOHN~EQ 10MG BASE~N~020702~001~AB~Dec 17, 1996~Yes~No~RX~UPJOHN
";
        let parsed =
            parse_products(file.as_bytes(), ParseMode::Strict, &ParseLimits::default()).unwrap();
        let catalog = Catalog::build(parsed.products).unwrap();
        let mapping = |labeler: u32, product: u16| {
            // Pfizer's Lipitor 10 mg; an unlisted key for any other product code of 0071.
            (labeler == 71).then(|| {
                if product == 155 {
                    k("N020702-001")
                } else {
                    k("N099999-001")
                }
            })
        };
        let m = ProductMap::resolve(
            &catalog,
            &mapping,
            [(1, ndc("0071-0155-23")), (2, ndc("0071-0155-40"))],
        )
        .unwrap();
        assert_eq!(m.by_product(&k("N020702-001")).count(), 2);
        for bad in ["0071-0156-23", "0093-0155-23"] {
            assert_eq!(
                ProductMap::resolve(&catalog, &mapping, [(9, ndc(bad))]),
                Err(ProductMapError::UnmappedNdc {
                    sku: 9,
                    ndc: ndc(bad)
                })
            );
        }
    }
}
