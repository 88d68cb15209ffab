//! State profiles: every state-level value the engine uses, as data.
//!
//! A profile is plain serde data; the presets below are starting points taken from the
//! states' pharmacy and controlled-substance rules cited on each field (confirm each value
//! with the state board before go-live).

use serde::{Deserialize, Serialize};

use crate::model::{DrugClass, Schedule};

/// What to do when a required remote check cannot be made (offline, service down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfflinePolicy {
    /// A pharmacist may override with a documented reason; the sale is reconciled later.
    RequireOverride,
    /// Refuse until the check can be made.
    Block,
}

/// Pseudoephedrine / ephedrine / PPA limits, in micrograms of base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PseLimits {
    /// Per purchaser per calendar day (federal 3.6 g).
    pub daily_ug: u64,
    /// Rolling window length in days (federal 30: today plus the previous 29 days).
    pub rolling_days: u32,
    /// Per purchaser per rolling window, retail (federal 9 g).
    pub rolling_ug: u64,
    /// Per purchaser per rolling window, mail order / mobile vendor (federal 7.5 g).
    pub mail_order_rolling_ug: u64,
    /// Optional per purchaser per 365 days cap (some states).
    #[serde(default)]
    pub annual_ug: Option<u64>,
    /// The state makes these products prescription-only.
    #[serde(default)]
    pub rx_only: bool,
    /// Behaviour when cross-store history (NPLEx) is unreachable.
    pub offline_policy: OfflinePolicy,
}

/// Every state-level parameter of the dispensing rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StateProfile {
    /// Two-letter state code, or `"US"` for the federal baseline.
    pub state: String,
    /// CII prescription validity in days (None = no state limit; federal law has none).
    #[serde(default)]
    pub cii_valid_days: Option<u32>,
    /// Count CII validity from the earliest fill date when one is set (Texas).
    #[serde(default)]
    pub cii_valid_from_earliest_fill: bool,
    /// CIII-V validity in calendar months after issue (federal 6, month-end clamped).
    pub c3_5_valid_months: u32,
    /// Non-controlled prescription validity in days (commonly 365).
    pub noncontrolled_valid_days: u32,
    /// State cap on CV refills (None = as authorized).
    #[serde(default)]
    pub c5_max_refills: Option<u32>,
    /// State validity of a CV prescription in days (None = no limit for refills).
    #[serde(default)]
    pub c5_valid_days: Option<u32>,
    /// Drug classes for which the dispenser must query the PMP before dispensing.
    #[serde(default)]
    pub pmp_query_classes: Vec<DrugClass>,
    /// Schedules for which the dispenser must query the PMP before dispensing.
    #[serde(default)]
    pub pmp_query_schedules: Vec<Schedule>,
    /// How old a PMP query may be, in hours.
    pub pmp_query_max_age_hours: u32,
    /// The mandate exempts dispensing while the PMP is unavailable (then an override is needed).
    pub pmp_unavailable_exemption: bool,
    /// Schedules that need the pick-up person's ID at hand-off.
    #[serde(default)]
    pub pickup_id_required_schedules: Vec<Schedule>,
    /// PSE limits.
    pub pse: PseLimits,
    /// Schedule V may be sold without a prescription (1306.26) in this state.
    pub cv_otc_allowed: bool,
    /// Days within which the prescriber's follow-up for an emergency oral CII must arrive
    /// (federal 7, NY/MA 3).
    pub emergency_cii_followup_days: u32,
    /// State cap on the days supply of an emergency oral CII (NY 5).
    #[serde(default)]
    pub emergency_cii_max_days_supply: Option<u32>,
    /// CARA patient/prescriber-requested CII partial fills are allowed (not prohibited by state law).
    pub partial_cii_allowed: bool,
    /// PMP reporting deadline after hand-off, in hours.
    pub pmp_reporting_deadline_hours: u32,
    /// A zero report is required for days without reportable dispenses.
    pub zero_report_required: bool,
    /// Default beyond-use days printed on a dispensed container.
    pub default_bud_days: u32,
    /// NTI drugs may not be substituted without prescriber consent.
    #[serde(default)]
    pub nti_substitution_forbidden: bool,
    /// Negative formulary: product NDCs (`labeler-product`, e.g. `"00074-6624"`) that may not
    /// be substituted.
    #[serde(default)]
    pub no_substitution_products: Vec<String>,
    /// A pharmacist may dispense up to the authorized days supply ("may fill up to 90 days")
    /// instead of the per-fill quantity (90-day conversion) for non-controlled drugs.
    pub allow_90_day_conversion: bool,
    /// Offline controlled dispensing to a patient with no history here.
    pub offline_new_patient_cii: OfflinePolicy,
    /// Controlled-substance records retention in years.
    pub cs_record_retention_years: u32,
}

impl StateProfile {
    /// The federal baseline: no state additions.
    pub fn federal() -> Self {
        StateProfile {
            state: "US".into(),
            cii_valid_days: None,
            cii_valid_from_earliest_fill: false,
            c3_5_valid_months: 6,
            noncontrolled_valid_days: 365,
            c5_max_refills: None,
            c5_valid_days: None,
            pmp_query_classes: Vec::new(),
            pmp_query_schedules: Vec::new(),
            pmp_query_max_age_hours: 24,
            pmp_unavailable_exemption: true,
            pickup_id_required_schedules: Vec::new(),
            pse: PseLimits {
                daily_ug: 3_600_000,
                rolling_days: 30,
                rolling_ug: 9_000_000,
                mail_order_rolling_ug: 7_500_000,
                annual_ug: None,
                rx_only: false,
                offline_policy: OfflinePolicy::RequireOverride,
            },
            cv_otc_allowed: true,
            emergency_cii_followup_days: 7,
            emergency_cii_max_days_supply: None,
            partial_cii_allowed: true,
            pmp_reporting_deadline_hours: 24,
            zero_report_required: false,
            default_bud_days: 365,
            nti_substitution_forbidden: false,
            no_substitution_products: Vec::new(),
            allow_90_day_conversion: true,
            offline_new_patient_cii: OfflinePolicy::RequireOverride,
            cs_record_retention_years: 2,
        }
    }

    /// Texas: CII valid 30 days (from the earliest fill date for sequential prescriptions),
    /// PMP check before opioids, benzodiazepines, barbiturates and carisoprodol.
    pub fn texas() -> Self {
        StateProfile {
            state: "TX".into(),
            cii_valid_days: Some(30),
            cii_valid_from_earliest_fill: true,
            pmp_query_classes: vec![
                DrugClass::Opioid,
                DrugClass::Benzodiazepine,
                DrugClass::Barbiturate,
                DrugClass::Carisoprodol,
            ],
            pickup_id_required_schedules: vec![Schedule::C2],
            pse: PseLimits {
                offline_policy: OfflinePolicy::Block,
                ..Self::federal().pse
            },
            ..Self::federal()
        }
    }

    /// California: CII valid 6 months (183 days), all controlled prescriptions 6 months.
    pub fn california() -> Self {
        StateProfile {
            state: "CA".into(),
            cii_valid_days: Some(183),
            c5_valid_days: Some(183),
            ..Self::federal()
        }
    }

    /// New York: emergency oral CII limited to 5 days supply with a 72-hour follow-up;
    /// CII valid 30 days; ID at pick-up for CII-CIV.
    pub fn new_york() -> Self {
        StateProfile {
            state: "NY".into(),
            cii_valid_days: Some(30),
            emergency_cii_followup_days: 3,
            emergency_cii_max_days_supply: Some(5),
            pickup_id_required_schedules: vec![Schedule::C2, Schedule::C3, Schedule::C4],
            nti_substitution_forbidden: true,
            ..Self::federal()
        }
    }

    /// Massachusetts: CII valid 30 days, emergency follow-up 72 hours.
    pub fn massachusetts() -> Self {
        StateProfile {
            state: "MA".into(),
            cii_valid_days: Some(30),
            emergency_cii_followup_days: 3,
            ..Self::federal()
        }
    }

    /// Illinois: CII valid 90 days.
    pub fn illinois() -> Self {
        StateProfile {
            state: "IL".into(),
            cii_valid_days: Some(90),
            ..Self::federal()
        }
    }

    /// Minnesota: zero reports required; gabapentin reported as a drug of concern (set
    /// `state_reportable` on those products).
    pub fn minnesota() -> Self {
        StateProfile {
            state: "MN".into(),
            zero_report_required: true,
            ..Self::federal()
        }
    }

    /// Alaska: dispenser PMP query before CII and CIII; PMP reporting within 7 days.
    pub fn alaska() -> Self {
        StateProfile {
            state: "AK".into(),
            pmp_query_schedules: vec![Schedule::C2, Schedule::C3],
            pmp_unavailable_exemption: false,
            pmp_reporting_deadline_hours: 7 * 24,
            ..Self::federal()
        }
    }

    /// The built-in profile for a state code (`"US"` for the federal baseline).
    pub fn preset(state: &str) -> Option<Self> {
        Some(match state {
            "US" => Self::federal(),
            "TX" => Self::texas(),
            "CA" => Self::california(),
            "NY" => Self::new_york(),
            "MA" => Self::massachusetts(),
            "IL" => Self::illinois(),
            "MN" => Self::minnesota(),
            "AK" => Self::alaska(),
            _ => return None,
        })
    }
}

impl Default for StateProfile {
    fn default() -> Self {
        Self::federal()
    }
}
