//! Product master records: schedule, listed chemicals, NTI flag, package.

use serde::{Deserialize, Serialize};

use crate::ids::Ndc;
use crate::model::Price;

/// DEA controlled-substance schedule (21 CFR 1308). Schedule I is never dispensed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Schedule {
    /// Schedule II: no refills, partial-fill pathways (21 CFR 1306.11-1306.13).
    #[serde(rename = "CII")]
    C2,
    /// Schedule III (21 CFR 1306.21-1306.23).
    #[serde(rename = "CIII")]
    C3,
    /// Schedule IV (21 CFR 1306.21-1306.23).
    #[serde(rename = "CIV")]
    C4,
    /// Schedule V (refills "as authorized"; OTC sale under 1306.26).
    #[serde(rename = "CV")]
    C5,
}

impl Schedule {
    /// Roman-numeral label (`CII`...`CV`).
    pub const fn label(self) -> &'static str {
        match self {
            Schedule::C2 => "CII",
            Schedule::C3 => "CIII",
            Schedule::C4 => "CIV",
            Schedule::C5 => "CV",
        }
    }
}

/// Unit in which a product's quantities are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DosageUnit {
    /// Discrete dosage units (tablets, capsules, patches).
    #[default]
    Each,
    /// Millilitres.
    Milliliter,
    /// Grams.
    Gram,
}

/// A sales/dispensing package: how many base units it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Units per package.
    pub size: u32,
    /// What one unit is.
    pub unit: DosageUnit,
}

/// Scheduled listed chemical (Combat Methamphetamine Epidemic Act, 21 CFR 1314).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ListedChemicalKind {
    /// Pseudoephedrine.
    Pseudoephedrine,
    /// Ephedrine.
    Ephedrine,
    /// Phenylpropanolamine.
    Phenylpropanolamine,
}

/// Listed-chemical content of one unit; limits are counted in micrograms of **base**.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ListedChemical {
    /// Which chemical.
    pub kind: ListedChemicalKind,
    /// Micrograms of base per unit (30 mg PSE HCl = 24 577 µg base).
    pub base_ug_per_unit: u64,
    /// Micrograms of labelled salt per unit (for the 60 mg single-package logbook exemption).
    pub salt_ug_per_unit: u64,
}

/// Class of a Schedule V product sold without a prescription (21 CFR 1306.26).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CvOtcClass {
    /// Opium-containing: 240 mL or 48 dosage units per 48 hours.
    OpiumContaining,
    /// Any other CV: 120 mL or 24 dosage units per 48 hours.
    Other,
}

/// Therapeutic class used by state PMP query mandates (e.g. Texas: opioids, benzodiazepines,
/// barbiturates, carisoprodol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DrugClass {
    /// Opioid analgesics and antitussives.
    Opioid,
    /// Benzodiazepines.
    Benzodiazepine,
    /// Barbiturates.
    Barbiturate,
    /// Carisoprodol.
    Carisoprodol,
    /// CNS stimulants.
    Stimulant,
    /// Gabapentinoids (a state "drug of concern" in several PMPs).
    Gabapentinoid,
}

/// One product-master record (package level: an NDC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Package NDC.
    pub ndc: Ndc,
    /// Drug name as labelled.
    pub name: String,
    /// Strength text (`"10 mg"`).
    pub strength: String,
    /// Dosage form (`"tablet"`).
    pub dosage_form: String,
    /// Federal legend drug (needs a prescription).
    pub rx_only: bool,
    /// Controlled-substance schedule, if any.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// Scheduled listed chemical content (PSE/ephedrine/PPA).
    #[serde(default)]
    pub listed_chemical: Option<ListedChemical>,
    /// Set for a CV product that may be sold without a prescription under 1306.26.
    #[serde(default)]
    pub cv_otc_class: Option<CvOtcClass>,
    /// Narrow therapeutic index drug.
    #[serde(default)]
    pub nti: bool,
    /// Biological product without an interchangeability designation.
    #[serde(default)]
    pub non_interchangeable_biologic: bool,
    /// Brand (innovator) product.
    #[serde(default)]
    pub brand: bool,
    /// Generics of this drug are on the market (multi-source).
    #[serde(default)]
    pub multi_source: bool,
    /// Classes that state PMP mandates refer to.
    #[serde(default)]
    pub classes: Vec<DrugClass>,
    /// On the state's PMP reporting list even though not federally controlled.
    #[serde(default)]
    pub state_reportable: bool,
    /// Package size and unit.
    pub package: Package,
    /// FEFO removal lead: stop picking this many days before expiry.
    #[serde(default)]
    pub removal_lead_days: u32,
    /// Product-specific beyond-use days after dispensing (reconstituted antibiotics...).
    #[serde(default)]
    pub bud_days: Option<u32>,
    /// Cash price per unit (exact and non-negative: see [`Price`]).
    #[serde(default)]
    pub unit_price: Option<Price>,
}

impl Product {
    /// Controlled substance (any schedule).
    pub fn is_controlled(&self) -> bool {
        self.schedule.is_some()
    }

    /// Must be reported to the state PMP when handed over.
    pub fn is_pmp_reportable(&self) -> bool {
        self.schedule.is_some() || self.state_reportable
    }
}
