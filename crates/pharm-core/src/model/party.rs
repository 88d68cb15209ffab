//! People: patients, prescribers (with cached DEA registration), listed-chemical purchasers.

use serde::{Deserialize, Serialize};

use crate::model::{ListedChemicalKind, Schedule};
use crate::time::{Date, DateTime};

/// A postal address (the fields 21 CFR 1306.05(a) needs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street line.
    pub line1: String,
    /// City.
    pub city: String,
    /// Two-letter state.
    pub state: String,
    /// ZIP code.
    pub zip: String,
}

impl Address {
    /// Street, city and state are all present.
    pub fn is_complete(&self) -> bool {
        !self.line1.trim().is_empty()
            && !self.city.trim().is_empty()
            && !self.state.trim().is_empty()
    }
}

/// A patient as the pharmacy knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Patient {
    /// Pharmacy patient id.
    pub id: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Home address.
    #[serde(default)]
    pub address: Option<Address>,
    /// Date of birth.
    #[serde(default)]
    pub birth_date: Option<Date>,
    /// No dispensing history at this pharmacy yet (created at this visit, possibly offline).
    #[serde(default)]
    pub new_patient: bool,
}

/// A prescriber's DEA registration as last fetched from the registrant database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DeaRegistration {
    /// Registration expiry date.
    pub expires: Date,
    /// Registration is active (not revoked, surrendered or suspended).
    pub active: bool,
    /// Schedules the registration covers.
    pub schedules: Vec<Schedule>,
    /// When this record was fetched (cache age is measured from here).
    pub fetched_at: DateTime,
}

/// A prescriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Prescriber {
    /// Given name.
    pub first_name: String,
    /// Family name (the DEA number's second letter is checked against it).
    pub last_name: String,
    /// Practice address.
    #[serde(default)]
    pub address: Option<Address>,
    /// DEA number exactly as written or received; validated by the engine (DEA-FMT-01,
    /// DEA-CHK-01), so an invalid value can be represented and reported.
    #[serde(default)]
    pub dea: Option<String>,
    /// National Provider Identifier.
    #[serde(default)]
    pub npi: Option<String>,
    /// Cached registration data, if fetched.
    #[serde(default)]
    pub registration: Option<DeaRegistration>,
}

/// Photo identification captured at the counter (21 CFR 1314.30(b)(1)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PhotoId {
    /// Document kind (`"drivers_license"`, `"passport"`, ...).
    pub kind: String,
    /// Issuing jurisdiction (`"TX"`, `"US"`).
    pub issuer: String,
    /// Document number.
    pub number: String,
}

/// The buyer of a listed-chemical or CV-OTC product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Purchaser {
    /// Stable key the pharmacy uses to match this purchaser's history (e.g. a hash of the ID).
    pub key: String,
    /// Full name.
    pub name: String,
    /// Address.
    #[serde(default)]
    pub address: Option<Address>,
    /// Date of birth (CV OTC buyers must be 18 or older).
    #[serde(default)]
    pub birth_date: Option<Date>,
    /// ID shown at this sale.
    #[serde(default)]
    pub photo_id: Option<PhotoId>,
    /// Known to the pharmacist (1306.26 waives the ID for a known purchaser).
    #[serde(default)]
    pub known_to_pharmacist: bool,
}

/// One earlier listed-chemical or CV-OTC purchase by a purchaser (local history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PurchaseRecord {
    /// When it was sold (store-local).
    pub at: DateTime,
    /// Listed chemical sold, with micrograms of base.
    #[serde(default)]
    pub chemical: Option<(ListedChemicalKind, u64)>,
    /// CV OTC sold: dosage units.
    #[serde(default)]
    pub cv_units: u32,
    /// CV OTC sold: millilitres.
    #[serde(default)]
    pub cv_ml: u32,
    /// Whether the CV sold was opium-containing.
    #[serde(default)]
    pub cv_opium: bool,
}
