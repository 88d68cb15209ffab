//! What the POS asks the engine about.
//!
//! Every entry point (new fill, refill button, bulk refill, will-call hand-off) builds one
//! of these and calls [`evaluate`](crate::rules::evaluate), so no rule can be bypassed by
//! choosing another screen.

use serde::{Deserialize, Serialize};

use crate::contract::SchemaVersion;
use crate::ids::PharmacyId;
use crate::model::{
    Lot, PartialPathway, PhotoId, Prescription, Product, PurchaseRecord, Purchaser,
};
use crate::rules::{Override, PmpStatus};
use crate::time::{Date, DateTime};

/// One request to the engine. JSON: an object with `"type"` naming the variant and
/// `"schema_version"` ([`SchemaVersion::CURRENT`]); unknown fields are rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
// Requests are built once and evaluated by reference; boxing the large variants would only
// add an allocation per request and noise at every construction site.
#[allow(clippy::large_enum_variant)]
pub enum Request {
    /// A prescription arrives (validity, prescriber, DEA checks).
    Intake(IntakeRequest),
    /// Fill or refill a prescription (including partial fills).
    Fill(FillRequest),
    /// Hand a filled prescription to the patient at the POS.
    HandOff(HandOffRequest),
    /// Transfer a prescription to another pharmacy.
    Transfer(TransferRequest),
    /// Sell an OTC item, including listed chemicals and CV without a prescription.
    OtcSale(OtcSaleRequest),
    /// Move stock out for destruction, return or adjustment.
    StockMove(StockMoveRequest),
    /// Close the business day (PMP zero report, overdue reports).
    EndOfDay(EndOfDayRequest),
    /// Outstanding compliance obligations of prescriptions, without a fill (emergency
    /// follow-ups, PMP reports): what a POS runs at the end of the day.
    Compliance(ComplianceRequest),
}

/// A new prescription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct IntakeRequest {
    /// Contract version of this document ([`SchemaVersion::CURRENT`]).
    pub schema_version: SchemaVersion,
    /// The prescription as received.
    pub prescription: Prescription,
    /// Product master record of the prescribed product.
    pub product: Product,
}

/// How the fill is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Payment {
    /// Cash (the store's own refill-too-soon policy applies).
    #[default]
    Cash,
    /// Billed to a payer.
    Insurance {
        /// Payer / plan id.
        payer: String,
        /// Payer refill-too-soon threshold, percent of days supply used.
        rts_percent: u32,
        /// Plan maximum days supply per claim.
        max_days_supply: u32,
    },
}

/// Severity of a DUR alert (NCPDP 528-FS clinical significance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DurSeverity {
    /// 1: major.
    Major,
    /// 2: moderate.
    Moderate,
    /// 3: minor.
    Minor,
}

/// A DUR alert computed elsewhere (local DUR database or payer response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DurAlert {
    /// 439-E4 reason for service (`"DD"` drug-drug, `"TD"` therapeutic duplication...).
    pub reason: String,
    /// Clinical significance.
    pub severity: DurSeverity,
    /// Text shown to the pharmacist.
    pub message: String,
}

/// Result of a DSCSA product-identifier verification of the scanned unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum DscsaCheck {
    /// Matches an accepted transaction record.
    Verified,
    /// GTIN/serial/lot/expiry do not match a transaction record.
    Mismatch {
        /// What did not match.
        detail: String,
    },
    /// Flagged suspect (or illegitimate) by the trading partner or FDA.
    Suspect {
        /// Why.
        detail: String,
    },
    /// Verification could not be performed (offline, partner down).
    Unavailable,
}

/// Units taken from one lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LotPick {
    /// Lot number (must be one of the request's `lots`).
    pub lot_number: String,
    /// Units from this lot.
    pub quantity: u32,
}

/// Fill (or refill, or partial fill) a prescription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FillRequest {
    /// Contract version of this document ([`SchemaVersion::CURRENT`]).
    pub schema_version: SchemaVersion,
    /// The prescription with its fill history so far.
    pub prescription: Prescription,
    /// Product master record of the prescribed product.
    pub prescribed: Product,
    /// Product master record of the product being dispensed.
    pub dispensed: Product,
    /// Units to dispense now.
    pub quantity: u32,
    /// Days supply of this fill.
    pub days_supply: u32,
    /// Lots picked (scanned or allocated by FEFO).
    #[serde(default)]
    pub picks: Vec<LotPick>,
    /// The store's lots of the dispensed NDC (for FEFO and stock checks).
    #[serde(default)]
    pub lots: Vec<Lot>,
    /// Partial-fill pathway when dispensing less than the quantity owed.
    #[serde(default)]
    pub partial: Option<PartialPathway>,
    /// Payment.
    #[serde(default)]
    pub payment: Payment,
    /// PMP query state for this patient.
    #[serde(default)]
    pub pmp: PmpStatus,
    /// DUR alerts to adjudicate.
    #[serde(default)]
    pub dur_alerts: Vec<DurAlert>,
    /// DSCSA verification result for the scanned unit, if one was made.
    #[serde(default)]
    pub dscsa: Option<DscsaCheck>,
    /// Pharmacist overrides for `require_override` findings.
    #[serde(default)]
    pub overrides: Vec<Override>,
}

/// Hand a filled prescription over at the POS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HandOffRequest {
    /// Contract version of this document ([`SchemaVersion::CURRENT`]).
    pub schema_version: SchemaVersion,
    /// The prescription (its last fill is the one handed over).
    pub prescription: Prescription,
    /// Product dispensed.
    pub product: Product,
    /// ID of the person picking up.
    #[serde(default)]
    pub pickup_id: Option<PhotoId>,
    /// Payment of the fill: an insurance fill handed over offline gets a reconciliation item
    /// for a possible later reject.
    #[serde(default)]
    pub payment: Payment,
}

/// Transfer a prescription to another pharmacy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Contract version of this document ([`SchemaVersion::CURRENT`]).
    pub schema_version: SchemaVersion,
    /// The prescription.
    pub prescription: Prescription,
    /// Its product.
    pub product: Product,
    /// Receiving pharmacy.
    pub to_pharmacy: PharmacyId,
}

/// NPLEx (or state system) answer for a listed-chemical sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NplexResult {
    /// The state does not use a real-time system.
    #[default]
    NotRequired,
    /// Approved.
    Approved,
    /// Stop-sale returned.
    StopSale,
    /// Could not be reached.
    Unreachable,
}

/// Listed-chemical logbook entry (21 CFR 1314.30).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LogbookEntry {
    /// Purchaser name.
    pub purchaser_name: String,
    /// Purchaser address.
    pub purchaser_address: String,
    /// Date and time of sale.
    pub at: Option<DateTime>,
    /// Product name.
    pub product_name: String,
    /// Quantity sold.
    pub quantity: u32,
    /// Purchaser signed (paper or electronic).
    pub signed: bool,
}

impl LogbookEntry {
    /// All fields 1314.30 requires are present.
    pub fn is_complete(&self) -> bool {
        !self.purchaser_name.trim().is_empty()
            && !self.purchaser_address.trim().is_empty()
            && self.at.is_some()
            && !self.product_name.trim().is_empty()
            && self.quantity > 0
            && self.signed
    }
}

/// Sell an OTC item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OtcSaleRequest {
    /// Contract version of this document ([`SchemaVersion::CURRENT`]).
    pub schema_version: SchemaVersion,
    /// Product.
    pub product: Product,
    /// Units sold.
    pub quantity: u32,
    /// Lots picked, when the item is lot-tracked.
    #[serde(default)]
    pub picks: Vec<LotPick>,
    /// The store's lots of this product.
    #[serde(default)]
    pub lots: Vec<Lot>,
    /// Purchaser (listed chemicals and CV OTC).
    #[serde(default)]
    pub purchaser: Option<Purchaser>,
    /// This purchaser's earlier purchases known locally.
    #[serde(default)]
    pub purchaser_history: Vec<PurchaseRecord>,
    /// Logbook entry.
    #[serde(default)]
    pub logbook: Option<LogbookEntry>,
    /// The seller is a pharmacist (CV OTC must be sold by one).
    #[serde(default)]
    pub seller_is_pharmacist: bool,
    /// NPLEx answer.
    #[serde(default)]
    pub nplex: NplexResult,
    /// Pharmacist overrides.
    #[serde(default)]
    pub overrides: Vec<Override>,
}

/// Why stock leaves the shelf without a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StockMoveKind {
    /// Destruction (expired, damaged).
    Destroy,
    /// Return to vendor / reverse distributor.
    Return,
    /// Loss or theft write-off.
    WriteOff,
    /// Transfer to another store.
    TransferOut,
}

/// Move stock out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StockMoveRequest {
    /// Contract version of this document ([`SchemaVersion::CURRENT`]).
    pub schema_version: SchemaVersion,
    /// Kind of move.
    pub kind: StockMoveKind,
    /// The lot.
    pub lot: Lot,
    /// Units.
    pub quantity: u32,
}

/// A PMP report that is queued but not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PendingPmpReport {
    /// Prescription.
    pub rx_number: String,
    /// Due by.
    pub due: DateTime,
}

/// Close a business day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EndOfDayRequest {
    /// Contract version of this document ([`SchemaVersion::CURRENT`]).
    pub schema_version: SchemaVersion,
    /// The business day closed.
    pub date: Date,
    /// Reportable dispenses handed over on that day.
    pub reportable_dispenses: u32,
    /// Reports still unsent.
    #[serde(default)]
    pub pending_reports: Vec<PendingPmpReport>,
}

/// Evaluate outstanding obligations without dispensing: emergency oral CII follow-ups
/// (due, overdue, satisfied) and unsent PMP reports (due, overdue). The decision lists one
/// [`Obligation`](crate::rules::Obligation) per item; a follow-up linked to its emergency
/// order ([`Prescription::emergency_followup`]) resolves that order's obligation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ComplianceRequest {
    /// Contract version of this document ([`SchemaVersion::CURRENT`]).
    pub schema_version: SchemaVersion,
    /// Prescriptions with open obligations (emergency oral CII orders); others have none
    /// and are only checked for data integrity.
    #[serde(default)]
    pub prescriptions: Vec<Prescription>,
    /// PMP reports queued but not yet acknowledged.
    #[serde(default)]
    pub pending_reports: Vec<PendingPmpReport>,
}
