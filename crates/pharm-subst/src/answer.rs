//! Owned answers for the bindings: what [`Substitutes`] and [`Explanation`] say, without
//! borrowing the catalog, with a stable JSON form that reads back (unknown fields are
//! rejected). The C ABI and the Python wheel return these; `testdata/golden/subst/` holds
//! their vectors.

use pharm_core::ids::Ndc;
use pharm_core::model::DawCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::product_map::ProductMap;
use crate::query::{Choice, ChoiceReason, Degraded, Explanation, Restriction, Substitutes};
use crate::record::ProductKey;
use crate::te::TeCode;

/// A stocked package of a product: the store's sku and its NDC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// The store catalog's item id.
    pub sku: u32,
    /// The package NDC.
    pub ndc: Ndc,
}

/// One product the store may dispense, owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceAnswer {
    /// The Orange Book product (application and product number, `N021368-003`).
    pub key: ProductKey,
    /// Trade name; `None` only when answered without a catalog.
    pub trade_name: Option<String>,
    /// Short applicant name; `None` only when answered without a catalog.
    pub applicant: Option<String>,
    /// The product's TE codes (empty when unrated, or answered without a catalog).
    pub te_codes: Vec<TeCode>,
    /// Why it qualifies.
    pub reason: ChoiceReason,
    /// The DAW / product selection code (NCPDP 408-D8) to submit if it is dispensed.
    pub daw: DawCode,
    /// On hand at the store (caller lookup).
    pub in_stock: bool,
    /// Formulary tier (caller lookup; lower is preferred).
    pub formulary_tier: Option<u8>,
    /// Unit acquisition cost (caller lookup), as a decimal string (read from a string
    /// only, never a JSON number).
    #[serde(default, deserialize_with = "crate::serde_strict::option_decimal_text")]
    pub unit_cost: Option<Decimal>,
    /// The store's packages of the product, in sku order (empty without a
    /// [`ProductMap`], or when the store does not stock it).
    pub packages: Vec<Package>,
}

/// The answer to a substitution query, owned: [`Substitutes`] plus the products' codes
/// and the store's packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubstitutionAnswer {
    /// The product as written.
    pub original: ProductKey,
    /// Products that may be dispensed, best first (see [`Substitutes::choices`]).
    pub choices: Vec<ChoiceAnswer>,
    /// Set when state law or DAW withheld substitutes.
    pub restriction: Option<Restriction>,
    /// Set when the catalog is missing or stale.
    pub degraded: Option<Degraded>,
    /// The state requires consent that was not recorded (see
    /// [`Substitutes::consent_needed`]).
    pub consent_needed: bool,
}

/// The answer to an explain query, owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainAnswer {
    /// The first product (the one written, when a prescription's context applies).
    pub a: ProductKey,
    /// The second product.
    pub b: ProductKey,
    /// Whether they are A-rated to each other, and if not the first reason found.
    pub explanation: Explanation,
    /// Set when the release answering is stale.
    pub degraded: Option<Degraded>,
}

impl Substitutes<'_> {
    /// The owned answer. With `packages`, each choice lists the store's skus and NDCs of
    /// the product.
    pub fn to_answer(&self, packages: Option<&ProductMap>) -> SubstitutionAnswer {
        SubstitutionAnswer {
            original: self.original,
            choices: self.choices.iter().map(|c| c.to_answer(packages)).collect(),
            restriction: self.restriction.clone(),
            degraded: self.degraded.clone(),
            consent_needed: self.consent_needed,
        }
    }
}

impl Choice<'_> {
    /// The owned choice (see [`Substitutes::to_answer`]).
    pub fn to_answer(&self, packages: Option<&ProductMap>) -> ChoiceAnswer {
        ChoiceAnswer {
            key: self.key,
            trade_name: self.product.map(|p| p.trade_name.clone()),
            applicant: self.product.map(|p| p.applicant.clone()),
            te_codes: self.product.map(|p| p.te_codes.clone()).unwrap_or_default(),
            reason: self.reason,
            daw: self.daw,
            in_stock: self.in_stock,
            formulary_tier: self.formulary_tier,
            unit_cost: self.unit_cost,
            // An empty map (no packages given) lists none without a lookup per choice.
            packages: packages
                .into_iter()
                .filter(|m| !m.is_empty())
                .flat_map(|m| m.by_product(&self.key))
                .map(|r| Package {
                    sku: r.sku,
                    ndc: r.ndc,
                })
                .collect(),
        }
    }
}
