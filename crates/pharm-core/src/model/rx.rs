//! Prescriptions, their fills, partial-fill pathways, DAW codes and transfers.

use serde::{Deserialize, Serialize};

use crate::ids::{Ndc, PharmacyId};
use crate::model::{FillHistory, Patient, Prescriber};
use crate::time::{Date, DateTime};

/// NCPDP Dispense-As-Written / product selection code (field 408-D8), 0-9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(try_from = "u8", into = "u8")]
pub enum DawCode {
    /// 0: no product selection indicated.
    #[default]
    NoSelection,
    /// 1: substitution not allowed by prescriber.
    PrescriberRequiresBrand,
    /// 2: substitution allowed, patient requested product dispensed.
    PatientRequested,
    /// 3: substitution allowed, pharmacist selected product dispensed.
    PharmacistSelected,
    /// 4: substitution allowed, generic not in stock.
    GenericNotInStock,
    /// 5: substitution allowed, brand dispensed as generic.
    BrandAsGeneric,
    /// 6: override.
    Override,
    /// 7: substitution not allowed, brand mandated by law.
    BrandMandatedByLaw,
    /// 8: substitution allowed, generic not available in marketplace.
    GenericUnavailable,
    /// 9: substitution allowed by prescriber but plan requests brand.
    PlanRequestsBrand,
}

impl DawCode {
    /// Numeric code 0-9.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// DAW 1 and 7 forbid substitution.
    pub const fn forbids_substitution(self) -> bool {
        matches!(
            self,
            DawCode::PrescriberRequiresBrand | DawCode::BrandMandatedByLaw
        )
    }
}

/// A DAW code outside 0-9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("DAW code {0} is not one of 0-9 (NCPDP 408-D8)")]
pub struct DawCodeError(pub u8);

impl TryFrom<u8> for DawCode {
    type Error = DawCodeError;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        use DawCode::*;
        Ok(match v {
            0 => NoSelection,
            1 => PrescriberRequiresBrand,
            2 => PatientRequested,
            3 => PharmacistSelected,
            4 => GenericNotInStock,
            5 => BrandAsGeneric,
            6 => Override,
            7 => BrandMandatedByLaw,
            8 => GenericUnavailable,
            9 => PlanRequestsBrand,
            _ => return Err(DawCodeError(v)),
        })
    }
}

impl From<DawCode> for u8 {
    fn from(d: DawCode) -> u8 {
        d.code()
    }
}

/// How the prescription reached the pharmacy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RxOrigin {
    /// Paper, manually signed.
    #[default]
    Written,
    /// Electronic (EPCS for controlled substances).
    Electronic,
    /// Telephoned (not allowed for CII except in an emergency).
    Oral,
    /// Emergency oral CII order (21 CFR 1306.11(d)).
    EmergencyOral,
    /// Faxed.
    Fax,
    /// Received by transfer from another pharmacy.
    Transfer,
}

/// Which federal partial-fill pathway a CII partial fill uses (21 CFR 1306.13, 21 U.S.C. 829(f)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PartialPathway {
    /// (a) Pharmacy unable to supply the full quantity: remainder within 72 hours.
    UnableToSupply,
    /// (b) Requested by the patient: remainder within 30 days of issue.
    PatientRequest,
    /// (b) Requested by the prescriber (the quantity must be on the prescription).
    PrescriberRequest,
    /// (c) LTCF patient or documented terminal illness: all portions within 60 days.
    LtcfOrTerminal,
}

/// Special population flags relevant to CII partial fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SpecialPopulation {
    /// None.
    #[default]
    None,
    /// Patient in a long-term care facility.
    Ltcf,
    /// Medical diagnosis documenting terminal illness.
    TerminallyIll,
}

/// One recorded fill (or partial fill) of a prescription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Fill {
    /// When it was filled (store-local). A fill dated after the evaluation's `now` is a
    /// data-integrity block (DATA-FUTURE-01).
    pub at: DateTime,
    /// Units actually dispensed (never assume the face amount; 0 is DATA-ZERO-01).
    pub quantity: u32,
    /// Days supply entered (0 is DATA-ZERO-01).
    pub days_supply: u32,
    /// Package NDC dispensed.
    pub ndc: Ndc,
    /// Set when this fill was a partial fill, with its pathway.
    #[serde(default)]
    pub partial: Option<PartialPathway>,
    /// Fill number as recorded by the pharmacy system (NCPDP 403-D3: 0 = original,
    /// 1 = first refill...), when known. In time order the numbers may not decrease
    /// (DATA-HISTORY-01); the engine counts fills from the quantities dispensed.
    #[serde(default)]
    pub fill_number: Option<u32>,
}

/// The written or electronic prescription that follows an emergency oral CII order
/// (21 CFR 1306.11(d)(4)), linked to the order it authorizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EmergencyFollowUp {
    /// The day it arrived (postmark day for a mailed one).
    pub received: Date,
    /// Its identifier (Rx number or EPCS message id), recorded on the emergency order.
    pub reference: String,
}

/// A transfer of the prescription between pharmacies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Date of transfer.
    pub date: Date,
    /// Pharmacy it came from.
    pub from_pharmacy: PharmacyId,
    /// Pharmacy it went to.
    pub to_pharmacy: PharmacyId,
    /// Transferred for initial filling (unfilled EPCS) rather than for refills.
    #[serde(default)]
    pub initial_fill: bool,
}

/// A prescription with its fill history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Prescription {
    /// Pharmacy Rx number.
    pub rx_number: String,
    /// Patient.
    pub patient: Patient,
    /// Prescriber.
    pub prescriber: Prescriber,
    /// NDC the prescriber wrote for (or the pharmacy mapped the written drug to).
    pub prescribed_ndc: Ndc,
    /// Drug name as written.
    pub drug_name: String,
    /// Strength as written.
    pub strength: String,
    /// Dosage form as written.
    pub dosage_form: String,
    /// Quantity per fill, in the product's base units.
    pub quantity: u32,
    /// Days supply per fill as written.
    pub days_supply: u32,
    /// Directions for use (sig).
    pub directions: String,
    /// Maximum units per day implied by the sig (PRN: the maximum), for days-supply checks.
    #[serde(default)]
    pub max_daily_units: Option<u32>,
    /// Refills authorized (in addition to the original fill).
    #[serde(default)]
    pub refills_authorized: u32,
    /// Date written (issue date).
    pub issue_date: Date,
    /// When the order was issued, for the 72-hour emergency-oral clock. Must fall on
    /// `issue_date` (DATA-HISTORY-01). When it is not recorded the engine knows only the
    /// day, and treats the order as issued at any second of it
    /// ([`Prescription::issue_time_bounds`]).
    #[serde(default)]
    pub issued_at: Option<DateTime>,
    /// Earliest fill date for sequential CII prescriptions (1306.12(b)).
    #[serde(default)]
    pub earliest_fill_date: Option<Date>,
    /// Manually signed (written) or digitally signed (EPCS).
    #[serde(default)]
    pub signed: bool,
    /// How the prescription was received.
    #[serde(default)]
    pub origin: RxOrigin,
    /// Emergency oral CII: the emergency period the pharmacist documented, in days.
    #[serde(default)]
    pub emergency_period_days: Option<u32>,
    /// Emergency oral CII: the prescriber's written/EPCS follow-up, once it arrived and was
    /// linked to this order (it resolves the CS2-EMERG-02 obligation).
    #[serde(default)]
    pub emergency_followup: Option<EmergencyFollowUp>,
    /// LTCF or terminal-illness status (CII partial pathway (c)).
    #[serde(default)]
    pub special_population: SpecialPopulation,
    /// Partial quantity the prescriber specified (required for prescriber-requested partials).
    #[serde(default)]
    pub prescriber_partial_quantity: Option<u32>,
    /// Prescriber authorized filling up to this many days supply ("may fill up to 90 DS").
    #[serde(default)]
    pub may_fill_up_to_days: Option<u32>,
    /// Dispense-as-written code.
    #[serde(default)]
    pub daw: DawCode,
    /// Fills so far, in any order: the engine reads them in time order
    /// ([`Prescription::history`]), so the order given never changes a decision.
    #[serde(default)]
    pub fills: Vec<Fill>,
    /// Transfers so far, in any order.
    #[serde(default)]
    pub transfers: Vec<Transfer>,
    /// Voided here (for example after a transfer out).
    #[serde(default)]
    pub void: bool,
}

impl Prescription {
    /// Units dispensed so far across all fills.
    pub fn dispensed_total(&self) -> u64 {
        self.fills.iter().map(|f| u64::from(f.quantity)).sum()
    }

    /// Units the prescription authorizes in total: quantity × (1 + refills).
    pub fn authorized_total(&self, refills_cap: Option<u32>) -> u64 {
        let refills =
            refills_cap.map_or(self.refills_authorized, |c| self.refills_authorized.min(c));
        u64::from(self.quantity) * (1 + u64::from(refills))
    }

    /// Number of completed fills so far (whole face quantities dispensed; partials
    /// count toward the fill they belong to).
    pub fn completed_fills(&self) -> u64 {
        if self.quantity == 0 {
            return self.fills.len() as u64;
        }
        self.dispensed_total() / u64::from(self.quantity)
    }

    /// The fill the next dispense belongs to: 0 = original, 1 = first refill...
    pub fn next_fill_number(&self) -> u64 {
        self.completed_fills()
    }

    /// Units still owed on the current (incomplete) fill, 0 if the last fill is complete.
    pub fn open_partial_remainder(&self) -> u64 {
        if self.quantity == 0 {
            return 0;
        }
        let rem = self.dispensed_total() % u64::from(self.quantity);
        if rem == 0 {
            0
        } else {
            u64::from(self.quantity) - rem
        }
    }

    /// The fills in time order, whatever order `fills` holds them in.
    pub fn history(&self) -> FillHistory<'_> {
        FillHistory::new(&self.fills)
    }

    /// The first partial fill of the fill currently in progress, if any (in time order).
    pub fn open_partial_start(&self) -> Option<&Fill> {
        self.history().open_partial_start(self.quantity)
    }

    /// Earliest and latest moment the order can have been issued: `issued_at` when it is
    /// recorded, otherwise the first and last second of `issue_date` (the engine never
    /// guesses a time of day).
    pub fn issue_time_bounds(&self) -> (DateTime, DateTime) {
        match self.issued_at {
            Some(t) => (t, t),
            None => (self.issue_date.start(), self.issue_date.end()),
        }
    }

    /// Start (first portion) and total days supply of the most recent completed fill, in
    /// time order, with partial portions of one fill taken together, so splitting a fill
    /// into portions cannot move the refill-too-soon date.
    pub fn last_completed_fill(&self) -> Option<(DateTime, u32)> {
        self.history()
            .last_completed_fill(self.quantity)
            .map(|(f, days)| (f.at, days))
    }

    /// The most recent fill (in time order).
    pub fn last_fill(&self) -> Option<&Fill> {
        self.fills.iter().max_by(|a, b| a.chronological_cmp(b))
    }
}
