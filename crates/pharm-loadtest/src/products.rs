//! The products of the workload and the request templates every transaction starts from
//! (`templates.json`: complete, valid documents as pharm-core reads them).

use pharm_core::model::Product;
use pharm_core::rules::{FillRequest, OtcSaleRequest};
use serde::Deserialize;

/// Products in the mix; SKU `s` of a pharmacy stocks product `s % PRODUCTS`.
pub const PRODUCTS: usize = 12;

/// Non-controlled maintenance drugs (fills and refills): products `0..6`.
pub const MAINTENANCE: std::ops::Range<usize> = 0..6;
/// Ordinary OTC items: products `6..8`.
pub const OTC: std::ops::Range<usize> = 6..8;
/// Pseudoephedrine 30 mg × 24 (a listed chemical sold from behind the counter).
pub const PSEUDOEPHEDRINE: usize = 8;
/// Alprazolam 0.5 mg (CIV); it and the products after it are controlled.
pub const ALPRAZOLAM: usize = 9;
/// Oxycodone 5 mg and hydrocodone/APAP 5/325 mg (CII): products `10..12`.
pub const SCHEDULE_II: std::ops::Range<usize> = 10..12;

/// Units per day of maintenance product `i` (metformin is taken twice a day).
pub fn units_per_day(product: usize) -> u32 {
    if product == 2 { 2 } else { 1 }
}

/// The parsed templates.
#[derive(Debug, Clone, Deserialize)]
pub struct Templates {
    /// What the file is.
    #[serde(rename = "_note")]
    pub note: String,
    /// The [`PRODUCTS`] products, by index.
    pub products: Vec<Product>,
    /// A complete fill of a signed electronic prescription (commercial plan).
    pub fill: FillRequest,
    /// A complete pseudoephedrine sale: purchaser with photo ID, signed logbook.
    pub otc_sale: OtcSaleRequest,
}

/// The templates' text, compiled in.
const TEMPLATES: &str = include_str!("templates.json");

impl Templates {
    /// Parses the compiled-in templates and checks there are [`PRODUCTS`] products.
    pub fn load() -> Result<Templates, String> {
        let t: Templates = serde_json::from_str(TEMPLATES).map_err(|e| e.to_string())?;
        if t.products.len() != PRODUCTS {
            return Err(format!(
                "templates.json has {} products, expected {PRODUCTS}",
                t.products.len()
            ));
        }
        Ok(t)
    }

    /// Product `i` (modulo [`PRODUCTS`]).
    pub fn product(&self, i: usize) -> &Product {
        &self.products[i % self.products.len().max(1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_with_the_expected_classes() {
        let t = Templates::load();
        assert!(t.is_ok(), "{t:?}");
        let Ok(t) = t else { return };
        assert!(MAINTENANCE.clone().all(|i| !t.product(i).is_controlled()));
        assert!(OTC.clone().all(|i| !t.product(i).rx_only));
        assert!(t.product(PSEUDOEPHEDRINE).listed_chemical.is_some());
        assert!(t.product(ALPRAZOLAM).is_controlled());
        assert!(SCHEDULE_II.clone().all(|i| t.product(i).is_controlled()));
    }
}
