//! Decision figures: the amounts a rule judged, as structured numbers next to the message
//! text, so a POS screen or an auditor need not parse prose.

use serde::{Deserialize, Serialize};

use crate::model::{DosageUnit, ListedChemicalKind};
use crate::time::Date;

/// The amounts the rules judged for one request. Each member is set by the requests it
/// applies to and `null` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Figures {
    /// Refill authorization (intake and fills).
    #[serde(default)]
    pub refills: Option<RefillFigures>,
    /// Refill-too-soon timing (fills after a completed fill).
    #[serde(default)]
    pub refill_timing: Option<RefillTiming>,
    /// Listed-chemical amounts per window (pseudoephedrine, ephedrine, PPA sales).
    // Boxed, like `cv_otc`, so a decision without them stays small to move.
    #[serde(default)]
    pub listed_chemical: Option<Box<ListedChemicalFigures>>,
    /// Schedule V sold without a prescription: the 48-hour window.
    #[serde(default)]
    pub cv_otc: Option<Box<CvOtcFigures>>,
}

/// How many fills a prescription allows, after the federal and state caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RefillFigures {
    /// Refills the prescriber authorized.
    pub authorized: u32,
    /// Refills that may be dispensed: the authorized count capped by law (CIII/IV 5,
    /// 1306.22(a); CII 0; CV the state cap).
    pub allowed: u32,
    /// The fill this dispense belongs to (0 = original, 1 = first refill...), counted from
    /// the units dispensed so far.
    pub fill_number: u64,
    /// Units dispensed so far.
    pub units_dispensed: u64,
    /// Units the allowed fills add up to: quantity × (1 + allowed).
    pub units_allowed: u64,
}

/// When the next refill becomes eligible (RX-RTS-01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RefillTiming {
    /// Day the last completed fill started (its first portion).
    pub last_fill: Date,
    /// Days supply of that fill (all portions).
    pub days_supply: u32,
    /// Percent of the days supply that must be used (payer or store threshold).
    pub percent: u32,
    /// First day a refill is not too soon.
    pub eligible: Date,
    /// Days from today to `eligible` (0 when eligible).
    pub days_remaining: u32,
}

/// Listed-chemical amounts of a sale, in micrograms of base (21 CFR 1314.20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ListedChemicalFigures {
    /// The chemical.
    pub kind: ListedChemicalKind,
    /// This sale.
    pub sale_ug: u64,
    /// The calendar day (PSE-DAY-01).
    pub day: WindowFigure,
    /// The rolling window (PSE-30D-01, or PSE-MAIL-01 with the mail-order limit).
    pub rolling: WindowFigure,
    /// The state's annual window, when it has one (PSE-STATE-01).
    #[serde(default)]
    pub annual: Option<WindowFigure>,
}

/// One purchase window: its total including this sale, and its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WindowFigure {
    /// Window length in days (1 = the calendar day).
    pub days: u32,
    /// Micrograms of base in the window, this sale included.
    pub total_ug: u64,
    /// The limit in micrograms of base.
    pub limit_ug: u64,
}

/// A Schedule V sale without a prescription: the 48-hour window of 21 CFR 1306.26.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CvOtcFigures {
    /// Window length in hours.
    pub hours: u32,
    /// Units in the window, this sale included.
    pub total: u64,
    /// The limit.
    pub limit: u64,
    /// What the units are (dosage units or millilitres).
    pub unit: DosageUnit,
}
