//! The engine's answer: outcome, findings, follow-ups.
//!
//! # JSON form
//!
//! ```json
//! {
//!   "schema_version": 2,
//!   "outcome": "require_override",
//!   "findings": [
//!     {"rule": "CS-OFFLINE-01", "outcome": "require_override",
//!      "message": "controlled substance dispensed while offline ...",
//!      "source": "pharm offline design: ...", "reason_required": false, "overridden": null}
//!   ],
//!   "follow_ups": [{"kind": "reconciliation", "reference": "RX1", "reason": "..."}],
//!   "obligations": [],
//!   "figures": {"refills": {"authorized": 0, "allowed": 0, "fill_number": 0,
//!               "units_dispensed": 0, "units_allowed": 30},
//!               "refill_timing": null, "listed_chemical": null, "cv_otc": null},
//!   "beyond_use_date": "2027-03-01",
//!   "next_refill_date": "2026-03-25",
//!   "offline": true
//! }
//! ```
//!
//! `outcome` is the most severe effective outcome of all findings (`allow` when there are
//! none). A finding whose `overridden` holds the pharmacist's [`Override`] no longer counts
//! toward `outcome` (its own `outcome` still shows what it was); a warning with
//! `reason_required` records the reason given the same way. `obligations` lists compliance
//! obligations ([`Obligation`]) and `figures` the amounts the rules judged ([`Figures`]).
//! The C and Python bindings return exactly this document.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::contract::SchemaVersion;
use crate::rules::{Figures, Obligation, RuleId};
use crate::time::{Date, DateTime};

/// Severity of a finding; the most severe one decides.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Go ahead (informational findings are logged).
    #[default]
    Allow,
    /// Go ahead; show the message.
    Warn,
    /// A pharmacist must override with a reason code.
    RequireOverride,
    /// Refuse.
    Block,
}

/// NCPDP DUR/PPS codes an override of a DUR alert must record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DurPps {
    /// 439-E4 reason for service (`"DD"`, `"TD"`...).
    pub reason: String,
    /// 440-E5 professional service (`"M0"`, `"R0"`...).
    pub service: String,
    /// 441-E6 result of service (`"1A"`, `"1G"`...).
    pub result: String,
}

/// A pharmacist's override of one `RequireOverride` finding, or the reason recorded for a
/// warning that requires one (`reason_required`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The rule overridden.
    pub rule: RuleId,
    /// Reason code (for RX-RTS-01 claims: the NCPDP submission clarification code).
    pub reason_code: String,
    /// Pharmacist id or initials.
    pub pharmacist: String,
    /// Free-text justification.
    #[serde(default)]
    pub note: String,
    /// DUR/PPS triple, required when overriding RX-DUR-01.
    #[serde(default)]
    pub dur: Option<DurPps>,
}

/// One rule's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Which rule.
    pub rule: RuleId,
    /// What it decided.
    pub outcome: Outcome,
    /// Human-readable explanation with the values involved.
    pub message: String,
    /// Legal or practice source.
    pub source: Cow<'static, str>,
    /// The pharmacist must record a reason (an [`Override`] with a reason code) for this
    /// finding although it only warns (LOT-FEFO-01: a non-FEFO pick).
    #[serde(default)]
    pub reason_required: bool,
    /// The override (or recorded reason) that was accepted for this finding, if any.
    #[serde(default)]
    pub overridden: Option<Override>,
}

impl Finding {
    /// The outcome after any accepted override (an overridden `require_override` finding
    /// counts as `Warn`; an acknowledged warning stays `Warn`).
    pub fn effective(&self) -> Outcome {
        if self.overridden.is_some() {
            self.outcome.min(Outcome::Warn)
        } else {
            self.outcome
        }
    }

    /// A reason is required and none has been recorded yet.
    pub fn awaits_reason(&self) -> bool {
        self.reason_required && self.overridden.is_none()
    }
}

/// Work the caller must do after (or because of) the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum FollowUp {
    /// Queue an ASAP record for the state PMP.
    QueuePmpReport {
        /// Prescription.
        rx_number: String,
        /// Report due by.
        due: DateTime,
    },
    /// Escalate a PMP report that is past its deadline.
    EscalatePmpReport {
        /// Prescription.
        rx_number: String,
        /// It was due at.
        due: DateTime,
    },
    /// Submit a zero report for a day without reportable dispenses.
    ZeroReport {
        /// The day covered.
        date: Date,
    },
    /// Queue the insurance claim for adjudication when back online (sold cash now).
    QueueInsuranceClaim {
        /// Prescription.
        rx_number: String,
    },
    /// Add a reconciliation item (offline controlled dispense, offline listed-chemical sale).
    Reconciliation {
        /// Prescription or sale reference.
        reference: String,
        /// Why.
        reason: String,
    },
    /// Run the PMP query as soon as the PMP is reachable and review the result.
    PmpQueryWhenAvailable {
        /// Prescription.
        rx_number: String,
    },
    /// Notify the prescriber.
    NotifyPrescriber {
        /// Prescription.
        rx_number: String,
        /// Why.
        reason: String,
    },
    /// Compliance task with a due date (emergency CII follow-up, DEA notice).
    ComplianceTask {
        /// Stable key of the task (`CS2-EMERG-02:RX-100` for the follow-up itself, with
        /// `:notify-dea` for the notice): the same key on every decision, so the POS creates
        /// a task once and closes it when an [`Obligation`] with that id is satisfied.
        id: String,
        /// Rule that raised it.
        rule: RuleId,
        /// Due date.
        due: Date,
        /// What to do.
        task: String,
    },
    /// Upload the listed-chemical logbook entry to NPLEx/state system when reachable.
    NplexUpload {
        /// Purchaser key.
        purchaser: String,
    },
    /// Quarantine the scanned unit/lot pending investigation.
    QuarantineUnit {
        /// Lot number.
        lot_number: String,
        /// Why.
        reason: String,
    },
}

/// The engine's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Contract version of this document ([`SchemaVersion::CURRENT`]).
    pub schema_version: SchemaVersion,
    /// Most severe effective outcome.
    pub outcome: Outcome,
    /// Every finding, in rule-table order of evaluation.
    pub findings: Vec<Finding>,
    /// Work to queue.
    pub follow_ups: Vec<FollowUp>,
    /// Compliance obligations and their status at `now` (emergency follow-ups, PMP
    /// reports), for fills of emergency orders, end of day and compliance requests.
    #[serde(default)]
    pub obligations: Vec<Obligation>,
    /// The amounts the rules judged, as numbers.
    #[serde(default)]
    pub figures: Figures,
    /// Beyond-use date for the label (LOT-BUD-01), for fills.
    #[serde(default)]
    pub beyond_use_date: Option<Date>,
    /// Earliest refill date under the applicable refill-too-soon threshold, for fills.
    #[serde(default)]
    pub next_refill_date: Option<Date>,
    /// Evaluated while offline.
    #[serde(default)]
    pub offline: bool,
}

impl Decision {
    /// The finding for `rule`, if raised.
    pub fn finding(&self, rule: RuleId) -> Option<&Finding> {
        self.findings.iter().find(|f| f.rule == rule)
    }

    /// Rule ids raised with the given outcome or worse.
    pub fn rules_at_least(&self, outcome: Outcome) -> impl Iterator<Item = RuleId> + '_ {
        self.findings
            .iter()
            .filter(move |f| f.outcome >= outcome)
            .map(|f| f.rule)
    }

    /// True when the sale/fill may proceed without a pharmacist override. Warnings that
    /// require a reason ([`Decision::awaiting_reason`]) still need one recorded.
    pub fn is_allowed(&self) -> bool {
        self.outcome <= Outcome::Warn
    }

    /// Findings that require a reason which has not been recorded yet.
    pub fn awaiting_reason(&self) -> impl Iterator<Item = &Finding> + '_ {
        self.findings.iter().filter(|f| f.awaits_reason())
    }
}
