//! The JSON the substitution calls read: the queries, and the policy and market facts in
//! them. Every object rejects unknown fields. The state policy and the market facts mirror
//! `pharm_subst`'s `SubstitutionPolicy` and `MarketFacts` field for field (those accept
//! unknown fields, and a unit cost as a JSON number); a test keeps them in step.

use std::collections::HashMap;
use std::fmt;

use ::pharm_subst::{
    BindingInputError, LastFill, MarketFacts, NtiRule, ProductKey, SubstitutionPolicy,
};
use pharm_core::model::DawCode;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};

use crate::error::Failure;

/// Parses `text` as the JSON `document`; errors get pharm-subst's codes
/// (`subst.json_syntax`, `subst.json_invalid`).
pub(super) fn parse<T: DeserializeOwned>(document: &'static str, text: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|error| {
        let (line, column) = (error.line(), error.column());
        let mut reason = error.to_string();
        // serde_json appends " at line L column C"; the error names them itself.
        if let Some(cut) = reason.rfind(" at line ") {
            reason.truncate(cut);
        }
        let error = if error.is_data() {
            BindingInputError::JsonInvalid {
                document,
                line,
                column,
                reason,
            }
        } else {
            BindingInputError::JsonSyntax {
                document,
                line,
                column,
                reason,
            }
        };
        Failure::from(error)
    })
}

/// State substitution law: `SubstitutionPolicy`'s JSON form, unknown fields rejected.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Policy {
    state: String,
    #[serde(default)]
    nti_ingredients: Vec<String>,
    #[serde(default)]
    nti_rule: NtiRule,
    #[serde(default)]
    negative_formulary: Vec<String>,
    #[serde(default)]
    same_manufacturer_refill: bool,
}

impl From<Policy> for SubstitutionPolicy {
    fn from(policy: Policy) -> SubstitutionPolicy {
        SubstitutionPolicy {
            state: policy.state,
            nti_ingredients: policy.nti_ingredients,
            nti_rule: policy.nti_rule,
            negative_formulary: policy.negative_formulary,
            same_manufacturer_refill: policy.same_manufacturer_refill,
        }
    }
}

/// One product's market facts as written: the unit cost as a decimal string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsText {
    in_stock: bool,
    #[serde(default)]
    formulary_tier: Option<u8>,
    #[serde(default)]
    unit_cost: Option<String>,
}

/// One product's market facts, checked: a cost that is a decimal string, not negative.
#[derive(Debug)]
struct Facts(MarketFacts);

impl<'de> Deserialize<'de> for Facts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Facts, D::Error> {
        let text = FactsText::deserialize(deserializer)?;
        let unit_cost = match &text.unit_cost {
            None => None,
            Some(cost) => Some(cost.parse().map_err(|error| {
                de::Error::custom(format_args!(
                    "unit_cost {cost:?} is not a decimal amount: {error}"
                ))
            })?),
        };
        let facts = MarketFacts {
            in_stock: text.in_stock,
            formulary_tier: text.formulary_tier,
            unit_cost,
        };
        if let Some(cost) = facts.unit_cost
            && cost.is_sign_negative()
            && !cost.is_zero()
        {
            return Err(de::Error::custom(format_args!(
                "unit_cost {cost} is negative"
            )));
        }
        Ok(Facts(facts))
    }
}

/// Market facts by product key; a product listed twice (in any spelling of its key) is
/// an error, not the last one winning.
#[derive(Debug, Default)]
pub(super) struct MarketTable(pub(super) HashMap<ProductKey, MarketFacts>);

impl<'de> Deserialize<'de> for MarketTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MarketTable, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = MarketTable;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of market facts by product key")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MarketTable, A::Error> {
                let mut table = HashMap::new();
                while let Some((key, facts)) = map.next_entry::<ProductKey, Facts>()? {
                    if table.insert(key, facts.0).is_some() {
                        return Err(de::Error::custom(format_args!(
                            "market lists product {key} twice"
                        )));
                    }
                }
                Ok(MarketTable(table))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// The query of `pharm_subst_substitutes()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubstitutesQuery {
    pub(super) original: ProductKey,
    pub(super) policy: Policy,
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
    policy: Option<Policy>,
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
                policy: policy.into(),
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
