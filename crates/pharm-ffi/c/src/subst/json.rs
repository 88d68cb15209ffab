//! The JSON the substitution calls read: the queries. Every object rejects unknown fields.
//! The policy and the market facts in them are `pharm_subst`'s own types
//! (`SubstitutionPolicy`, `MarketTable` of `MarketFacts`), strict themselves: unknown
//! fields, a unit cost that is not a non-negative decimal string and a product listed twice
//! are refused by the crate. Only the query objects are this binding's: they have no
//! `catalog` (the vectors' replay setting) and an explain query's prescription fields need
//! its policy.

use ::pharm_subst::{BindingInputError, LastFill, MarketTable, ProductKey, SubstitutionPolicy};
use pharm_core::contract::read_json_str;
use pharm_core::model::DawCode;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer};

use crate::error::Failure;

/// Parses `text` as the JSON `document`; errors get pharm-subst's codes
/// (`subst.json_syntax`, `subst.json_invalid`).
pub(super) fn parse<T: DeserializeOwned>(document: &'static str, text: &str) -> Result<T, Failure> {
    Ok(read_json_str::<T, BindingInputError>(document, text)?)
}

/// The query of `pharm_subst_substitutes()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubstitutesQuery {
    pub(super) original: ProductKey,
    pub(super) policy: SubstitutionPolicy,
    #[serde(default)]
    pub(super) daw: DawCode,
    #[serde(default)]
    pub(super) last_fill: Option<LastFill>,
    #[serde(default)]
    pub(super) consent: bool,
    #[serde(default)]
    pub(super) patient_requests_brand: bool,
    #[serde(default)]
    pub(super) market: MarketTable,
}

/// The query of `pharm_subst_explain()` as written.
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
pub(super) struct Prescription {
    pub(super) policy: SubstitutionPolicy,
    pub(super) daw: DawCode,
    pub(super) last_fill: Option<LastFill>,
    pub(super) consent: bool,
}

/// The query of `pharm_subst_explain()`: a prescription's fields only with its policy.
#[derive(Debug)]
pub(super) struct ExplainQuery {
    pub(super) a: ProductKey,
    pub(super) b: ProductKey,
    pub(super) prescription: Option<Prescription>,
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
