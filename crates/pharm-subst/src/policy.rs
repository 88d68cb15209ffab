//! Caller-supplied inputs to a substitution query: state policy (as data), market lookups
//! (stock, formulary, cost) and the prescription's DAW code.

use std::collections::BTreeMap;
use std::fmt;

use pharm_core::model::DawCode;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::ingredient::same_active_moiety;
use crate::record::{Application, ProductKey};

/// How a state treats narrow-therapeutic-index (NTI) drugs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NtiRule {
    /// NTI drugs are substituted like any A-rated product.
    #[default]
    Allow,
    /// Substitution needs prescriber and patient consent.
    RequireConsent,
    /// NTI drugs are never substituted.
    Forbid,
}

/// State substitution law as data.
///
/// JSON: `{"state": "NC", "nti_ingredients": [...], "nti_rule": "require_consent",
/// "negative_formulary": [...], "same_manufacturer_refill": true}`; `state` is required, the
/// rest defaults as [`permissive`](Self::permissive). An unknown field (a misspelt
/// `nti_ingredient`) is refused, never ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SubstitutionPolicy {
    /// Two-letter state code.
    pub state: String,
    /// Ingredients on the state's NTI list (e.g. `LEVOTHYROXINE SODIUM`). Entries are matched
    /// by the full active moiety ([`same_active_moiety`]): trailing salt, ester and hydrate
    /// words are dropped from both sides and every remaining word must match, ignoring case
    /// and whitespace. So `LEVOTHYROXINE SODIUM` covers every levothyroxine salt and
    /// `PHENYTOIN SODIUM` also covers `PHENYTOIN`, but `ESTROGENS, CONJUGATED` does not cover
    /// `ESTROGENS, ESTERIFIED` and `POTASSIUM CHLORIDE` does not cover `POTASSIUM CITRATE`.
    /// A moiety known by names that differ in more than salt words needs each name listed.
    #[serde(default)]
    pub nti_ingredients: Vec<String>,
    /// What the NTI list means.
    #[serde(default)]
    pub nti_rule: NtiRule,
    /// Negative formulary: ingredients that may not be substituted at all, matched by active
    /// moiety like [`nti_ingredients`](Self::nti_ingredients).
    #[serde(default)]
    pub negative_formulary: Vec<String>,
    /// NTI refills must keep the manufacturer of the last fill unless consent is recorded
    /// (see [`SubstitutionContext::last_fill`]).
    #[serde(default)]
    pub same_manufacturer_refill: bool,
}

impl SubstitutionPolicy {
    /// No state restrictions beyond the Orange Book.
    pub fn permissive(state: &str) -> Self {
        SubstitutionPolicy {
            state: state.into(),
            ..Self::default()
        }
    }

    /// North Carolina style: NTI list (carbamazepine, cyclosporine, digoxin, ethosuximide,
    /// levothyroxine, lithium, phenytoin, procainamide, tacrolimus, theophylline, warfarin)
    /// with consent and same-manufacturer refills.
    pub fn north_carolina() -> Self {
        let nti = [
            "CARBAMAZEPINE",
            "CYCLOSPORINE",
            "DIGOXIN",
            "ETHOSUXIMIDE",
            "LEVOTHYROXINE SODIUM",
            "LITHIUM CARBONATE",
            "PHENYTOIN SODIUM",
            "PROCAINAMIDE HYDROCHLORIDE",
            "TACROLIMUS",
            "THEOPHYLLINE",
            "WARFARIN SODIUM",
        ];
        SubstitutionPolicy {
            state: "NC".into(),
            nti_ingredients: nti.iter().map(|s| (*s).to_string()).collect(),
            nti_rule: NtiRule::RequireConsent,
            negative_formulary: Vec::new(),
            same_manufacturer_refill: true,
        }
    }

    fn lists(list: &[String], ingredients: &[String]) -> bool {
        ingredients
            .iter()
            .any(|i| list.iter().any(|l| same_active_moiety(i, l)))
    }

    /// Any of the ingredients is on the NTI list (compared by full active moiety, see
    /// [`nti_ingredients`](Self::nti_ingredients): `Levothyroxine Sodium` and
    /// `LITHIUM CITRATE` match the entries `LEVOTHYROXINE SODIUM` and `LITHIUM CARBONATE`).
    pub fn is_nti(&self, ingredients: &[String]) -> bool {
        Self::lists(&self.nti_ingredients, ingredients)
    }

    /// Any of the ingredients is on the negative formulary (compared by active moiety, as
    /// [`is_nti`](Self::is_nti)).
    pub fn is_negative_formulary(&self, ingredients: &[String]) -> bool {
        Self::lists(&self.negative_formulary, ingredients)
    }
}

/// The last fill of a prescription, for the same-manufacturer refill rule.
///
/// Products are matched to the last fill by **application** (NDA/ANDA number): every
/// product of an application is made under it by its holder, while the Orange Book's
/// applicant names are free text that spells one firm several ways. The NDC dispensed gives
/// the application through the NDC Directory ([`NdcProduct::application`]) or, via its
/// Orange Book product, [`ProductKey::application`]. An NDC labeler code is not used: a
/// labeler (repackager, distributor) is not necessarily the manufacturer, and the Orange
/// Book has no labeler column to match against. A firm that holds two applications for one
/// drug counts as two manufacturers here, so the rule asks for consent rather than assume
/// they are the same product.
///
/// [`NdcProduct::application`]: crate::ndc_directory::NdcProduct::application
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastFill {
    /// The last fill was a product of this application.
    Application(Application),
    /// A refill whose last product is not known (its NDC did not resolve to an
    /// application). Nothing can be shown to come from the same manufacturer, so a refill
    /// under the rule needs consent.
    Unidentified,
}

impl From<ProductKey> for LastFill {
    fn from(key: ProductKey) -> Self {
        LastFill::Application(key.application())
    }
}

impl From<Application> for LastFill {
    fn from(application: Application) -> Self {
        LastFill::Application(application)
    }
}

/// What the caller knows about one product at this store and on this plan.
///
/// JSON: `{"in_stock": true, "formulary_tier": 3, "unit_cost": "4.10"}`; `in_stock` is
/// required, `formulary_tier` and `unit_cost` may be `null` or left out. Unknown fields are
/// refused. The unit cost is read from its decimal string only, exact and not negative
/// (the form of [`pharm_core::model::Price`]): a JSON number (`4.1`, possibly rounded
/// through a binary float already), a negative amount, an exponent or separators are
/// refused when reading.
///
/// A `MarketFacts` built in Rust is not checked: [`Market::facts`] cannot fail, and a
/// negative `unit_cost` is ranked as given (cheapest first). A caller whose costs come from
/// untrusted input builds them through [`Price::new`](pharm_core::model::Price::new), which
/// refuses a negative amount with a typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketFacts {
    /// On hand at the store.
    pub in_stock: bool,
    /// Formulary tier on the patient's plan (lower is preferred), if on formulary.
    #[serde(default)]
    pub formulary_tier: Option<u8>,
    /// Acquisition cost per unit, if known (JSON: a decimal string such as `"4.10"`).
    #[serde(default, deserialize_with = "crate::serde_strict::option_price")]
    pub unit_cost: Option<Decimal>,
}

/// Store and plan facts the caller looks up (inventory, formulary, acquisition cost).
/// Implement it over your own data; the crate does no I/O. One call per product keeps the
/// lookup cost to a single probe of the caller's table.
pub trait Market {
    /// Facts about one product.
    fn facts(&self, key: &ProductKey) -> MarketFacts;
}

/// A market with no information: nothing in stock, no formulary, no costs.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMarket;

impl Market for NoMarket {
    fn facts(&self, _: &ProductKey) -> MarketFacts {
        MarketFacts::default()
    }
}

/// A [`Market`] built from three closures.
pub struct MarketFn<S, T, C> {
    /// Stock lookup.
    pub in_stock: S,
    /// Formulary tier lookup.
    pub tier: T,
    /// Cost lookup.
    pub cost: C,
}

impl<S, T, C> Market for MarketFn<S, T, C>
where
    S: Fn(&ProductKey) -> bool,
    T: Fn(&ProductKey) -> Option<u8>,
    C: Fn(&ProductKey) -> Option<Decimal>,
{
    fn facts(&self, key: &ProductKey) -> MarketFacts {
        MarketFacts {
            in_stock: (self.in_stock)(key),
            formulary_tier: (self.tier)(key),
            unit_cost: (self.cost)(key),
        }
    }
}

impl<S: std::hash::BuildHasher> Market for std::collections::HashMap<ProductKey, MarketFacts, S> {
    fn facts(&self, key: &ProductKey) -> MarketFacts {
        self.get(key).copied().unwrap_or_default()
    }
}

/// Market facts by product key, as a caller hands them over in JSON:
/// `{"N020702-001": {"in_stock": true, "formulary_tier": 3, "unit_cost": "4.10"}, ...}`
/// (each value a [`MarketFacts`]). A product not listed is not in stock, off formulary and
/// without cost ([`MarketFacts::default`]).
///
/// Reading refuses a product listed twice, also in two spellings of its key
/// (`N020702-001` and `NDA020702-001`), rather than letting one entry silently win.
/// Written in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MarketTable(pub BTreeMap<ProductKey, MarketFacts>);

impl Market for MarketTable {
    fn facts(&self, key: &ProductKey) -> MarketFacts {
        self.0.get(key).copied().unwrap_or_default()
    }
}

impl From<BTreeMap<ProductKey, MarketFacts>> for MarketTable {
    fn from(facts: BTreeMap<ProductKey, MarketFacts>) -> Self {
        MarketTable(facts)
    }
}

impl FromIterator<(ProductKey, MarketFacts)> for MarketTable {
    /// A later entry for a key replaces an earlier one (unlike reading JSON, which refuses
    /// the repetition).
    fn from_iter<I: IntoIterator<Item = (ProductKey, MarketFacts)>>(entries: I) -> Self {
        MarketTable(entries.into_iter().collect())
    }
}

impl<'de> Deserialize<'de> for MarketTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MarketTable, D::Error> {
        struct Entries;

        impl<'de> Visitor<'de> for Entries {
            type Value = MarketTable;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of market facts by product key")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MarketTable, A::Error> {
                let mut table = BTreeMap::new();
                while let Some((key, facts)) = map.next_entry::<ProductKey, MarketFacts>()? {
                    if table.insert(key, facts).is_some() {
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

/// Everything a substitution query needs besides the catalog.
pub struct SubstitutionContext<'a> {
    /// DAW code on the prescription (1 and 7 forbid substitution).
    pub daw: DawCode,
    /// State law.
    pub policy: &'a SubstitutionPolicy,
    /// Stock, formulary and cost lookups.
    pub market: &'a dyn Market,
    /// The product dispensed at the last fill of this prescription, for the
    /// same-manufacturer refill rule; `None` on a first fill only (`None` leaves the rule
    /// off). A refill whose last product is not known passes [`LastFill::Unidentified`].
    /// The manufacturer is identified by the product's application, never by a name.
    pub last_fill: Option<LastFill>,
    /// Prescriber and patient consented to an NTI substitution or manufacturer change.
    pub consent: bool,
    /// The patient asked for the brand.
    pub patient_requests_brand: bool,
}

impl<'a> SubstitutionContext<'a> {
    /// DAW 0, the given policy and market, no consent, no brand request.
    pub fn new(policy: &'a SubstitutionPolicy, market: &'a dyn Market) -> Self {
        SubstitutionContext {
            daw: DawCode::NoSelection,
            policy,
            market,
            last_fill: None,
            consent: false,
            patient_requests_brand: false,
        }
    }
}
