//! The query documents the bindings read (the C ABI's `pharm_subst_substitutes()` and
//! `pharm_subst_explain()`, the Python wheel's `OrangeBook.substitutes()` and `.explain()`):
//! JSON objects that reject unknown fields. The policy and the market facts in them are the
//! crate's own strict types ([`SubstitutionPolicy`], [`MarketTable`] of market facts):
//! unknown fields, a unit cost that is not a non-negative decimal string and a product
//! listed twice are refused.

use pharm_core::contract::read_json_str;
use pharm_core::model::DawCode;
use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::binding_input::BindingInputError;
use crate::policy::{LastFill, MarketTable, NoMarket, SubstitutionContext, SubstitutionPolicy};
use crate::record::ProductKey;

/// A substitution query: `{"original": "N020702-001", "policy": {...}, "daw": 0,
/// "last_fill": null, "consent": false, "patient_requests_brand": false, "market": {...}}`;
/// `original` and `policy` are required, the rest defaults to the values shown.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubstitutesQuery {
    /// The written product.
    pub original: ProductKey,
    /// The state's substitution law.
    pub policy: SubstitutionPolicy,
    /// The prescription's DAW code.
    #[serde(default)]
    pub daw: DawCode,
    /// The last fill's product (`None` on a first fill).
    #[serde(default)]
    pub last_fill: Option<LastFill>,
    /// Prescriber and patient consented.
    #[serde(default)]
    pub consent: bool,
    /// The patient asked for the brand.
    #[serde(default)]
    pub patient_requests_brand: bool,
    /// The store's and the plan's facts per product (none listed: not in stock, off
    /// formulary, no cost).
    #[serde(default)]
    pub market: MarketTable,
}

impl SubstitutesQuery {
    /// Reads the query from JSON text (`subst.json_syntax`, `subst.json_invalid`).
    pub fn from_json(text: &str) -> Result<SubstitutesQuery, BindingInputError> {
        read_json_str("substitution query", text)
    }

    /// The query's context for [`Snapshot::answer`](crate::Snapshot::answer).
    pub fn context(&self) -> SubstitutionContext<'_> {
        let mut ctx = SubstitutionContext::new(&self.policy, &self.market);
        ctx.daw = self.daw;
        ctx.last_fill = self.last_fill;
        ctx.consent = self.consent;
        ctx.patient_requests_brand = self.patient_requests_brand;
        ctx
    }
}

/// The explain query as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainText {
    a: ProductKey,
    b: ProductKey,
    #[serde(default)]
    policy: Option<SubstitutionPolicy>,
    #[serde(default)]
    daw: DawCode,
    #[serde(default)]
    last_fill: Option<LastFill>,
    #[serde(default)]
    consent: bool,
}

/// The prescription an explain query is asked under.
#[derive(Debug)]
pub struct Prescription {
    /// The state's substitution law.
    pub policy: SubstitutionPolicy,
    /// The prescription's DAW code.
    pub daw: DawCode,
    /// The last fill's product.
    pub last_fill: Option<LastFill>,
    /// Prescriber and patient consented.
    pub consent: bool,
}

impl Prescription {
    /// The prescription's context (no market facts: explain does not rank).
    pub fn context(&self) -> SubstitutionContext<'_> {
        let mut ctx = SubstitutionContext::new(&self.policy, &NoMarket);
        ctx.daw = self.daw;
        ctx.last_fill = self.last_fill;
        ctx.consent = self.consent;
        ctx
    }
}

/// An explain query: `{"a": "N020702-001", "b": "A207687-001"}` for the Orange Book's
/// answer alone, or under a prescription with `"policy": {...}` and optional `"daw"`,
/// `"last_fill"` and `"consent"` (then `a` is the written product). `daw`, `last_fill`
/// and `consent` without a policy are refused.
#[derive(Debug)]
pub struct ExplainQuery {
    /// The first product (the written one under a prescription).
    pub a: ProductKey,
    /// The second product.
    pub b: ProductKey,
    /// The prescription, when the query gives a policy.
    pub prescription: Option<Prescription>,
}

impl ExplainQuery {
    /// Reads the query from JSON text (`subst.json_syntax`, `subst.json_invalid`).
    pub fn from_json(text: &str) -> Result<ExplainQuery, BindingInputError> {
        read_json_str("explain query", text)
    }
}

impl<'de> Deserialize<'de> for ExplainQuery {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ExplainQuery, D::Error> {
        let text = ExplainText::deserialize(deserializer)?;
        let prescription = match text.policy {
            Some(policy) => Some(Prescription {
                policy,
                daw: text.daw,
                last_fill: text.last_fill,
                consent: text.consent,
            }),
            None if text.daw != DawCode::NoSelection
                || text.last_fill.is_some()
                || text.consent =>
            {
                return Err(de::Error::custom(
                    "daw, last_fill and consent describe a prescription and need its policy \
                     (policy is null or missing)",
                ));
            }
            None => None,
        };
        Ok(ExplainQuery {
            a: text.a,
            b: text.b,
            prescription,
        })
    }
}
