//! Compliance obligations: what is due on a prescription, by when, and whether it is met.

use serde::{Deserialize, Serialize};

use crate::rules::RuleId;
use crate::time::DateTime;

/// What an obligation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObligationKind {
    /// The prescriber's written/EPCS follow-up of an emergency oral CII (1306.11(d)(4)).
    EmergencyFollowUp,
    /// The PMP report of a handed-over dispense.
    PmpReport,
}

/// Where an obligation stands at the evaluation's `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObligationStatus {
    /// Open, and `due` has not passed.
    Due,
    /// Open after `due`.
    Overdue,
    /// Met by `due`.
    Satisfied,
    /// Met after `due` (the late event still needs its notice, e.g. to DEA).
    SatisfiedLate,
}

/// One compliance obligation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Obligation {
    /// Stable key (`CS2-EMERG-02:RX-100`, `CS-PMP-REPORT-01:RX-100:2026-03-11T10:00:00`):
    /// the same on every decision, and the id of the compliance task created for it.
    pub id: String,
    /// Rule behind it.
    pub rule: RuleId,
    /// What it is about.
    pub kind: ObligationKind,
    /// The prescription (Rx number).
    pub reference: String,
    /// It is overdue after this moment.
    pub due: DateTime,
    /// Status at `now`.
    pub status: ObligationStatus,
    /// What met it (the follow-up prescription's reference), when satisfied.
    #[serde(default)]
    pub resolved_by: Option<String>,
}
