//! # pharm-core
//!
//! The pure domain core of pharm: identifiers, products, lots and prescriptions, and a
//! dispensing rule engine that answers *allow / warn / require pharmacist override / block*
//! for any sale or fill, with the rule and its legal source, online or after a day offline.
//!
//! Nothing in this crate reads a clock, a file or a socket: today's date, the state profile,
//! connectivity and every remote answer (PMP, NPLEx, DSCSA, DUR) come in as arguments, so the
//! same inputs always give the same decision and the engine can run inside a till, a server,
//! or a C/Python binding.
//!
//! ## Example
//!
//! ```
//! use pharm_core::model::*;
//! use pharm_core::rules::FillRequest;
//! use pharm_core::{
//!     evaluate, parse_request, Context, DateTime, Ndc, Outcome, Request, SchemaVersion,
//!     StateProfile,
//! };
//!
//! let ndc: Ndc = "0093-7146-56".parse()?; // 4-4-2 → 00093-7146-56
//! assert_eq!(ndc.ndc11().as_deref(), Some("00093714656"));
//!
//! let product = Product {
//!     ndc,
//!     name: "Atorvastatin".into(),
//!     strength: "20 mg".into(),
//!     dosage_form: "tablet".into(),
//!     rx_only: true,
//!     schedule: None,
//!     listed_chemical: None,
//!     cv_otc_class: None,
//!     nti: false,
//!     non_interchangeable_biologic: false,
//!     brand: false,
//!     multi_source: true,
//!     classes: vec![],
//!     state_reportable: false,
//!     package: Package { size: 90, unit: DosageUnit::Each },
//!     removal_lead_days: 0,
//!     bud_days: None,
//!     unit_price: None,
//! };
//! let rx = Prescription {
//!     rx_number: "RX1001".into(),
//!     patient: Patient { id: "P1".into(), first_name: "Ana".into(), last_name: "Diaz".into(), ..Default::default() },
//!     prescriber: Prescriber { first_name: "Bo".into(), last_name: "Brown".into(), ..Default::default() },
//!     prescribed_ndc: ndc,
//!     drug_name: "Atorvastatin".into(),
//!     strength: "20 mg".into(),
//!     dosage_form: "tablet".into(),
//!     quantity: 30,
//!     days_supply: 30,
//!     directions: "1 tablet daily".into(),
//!     max_daily_units: Some(1),
//!     refills_authorized: 5,
//!     issue_date: "2026-01-10".parse()?,
//!     issued_at: None,
//!     earliest_fill_date: None,
//!     signed: true,
//!     origin: RxOrigin::Electronic,
//!     emergency_period_days: None,
//!     emergency_followup: None,
//!     special_population: SpecialPopulation::None,
//!     prescriber_partial_quantity: None,
//!     may_fill_up_to_days: None,
//!     daw: DawCode::NoSelection,
//!     fills: vec![Fill { at: "2026-03-01T10:00:00".parse()?, quantity: 30, days_supply: 30, ndc, partial: None, fill_number: Some(0) }],
//!     transfers: vec![],
//!     void: false,
//! };
//! let request = Request::Fill(FillRequest {
//!     schema_version: SchemaVersion::CURRENT,
//!     prescription: rx,
//!     prescribed: product.clone(),
//!     dispensed: product,
//!     quantity: 30,
//!     days_supply: 30,
//!     picks: vec![],
//!     lots: vec![],
//!     partial: None,
//!     payment: Default::default(),
//!     pmp: Default::default(),
//!     dur_alerts: vec![],
//!     dscsa: None,
//!     overrides: vec![],
//! });
//!
//! // 75% of 30 days: refill eligible on 2026-03-24. The day before, a cash refill warns.
//! let ctx = Context::new("2026-03-23T09:00:00".parse::<DateTime>()?, StateProfile::federal());
//! let early = evaluate(&request, &ctx);
//! assert_eq!(early.outcome, Outcome::Warn);
//! assert_eq!(early.findings[0].rule.as_str(), "RX-RTS-01");
//!
//! let ctx = Context::new("2026-03-24T09:00:00".parse::<DateTime>()?, StateProfile::federal());
//! let decision = evaluate(&request, &ctx);
//! assert_eq!(decision.outcome, Outcome::Allow);
//! // The figures the rule judged, as numbers: 23 days (ceil(30 × 75 %)) after the last fill.
//! assert_eq!(decision.figures.refill_timing.map(|t| t.days_remaining), Some(0));
//!
//! // The JSON contract: strict (unknown fields are errors) and versioned.
//! let json = serde_json::to_string(&request)?;
//! assert_eq!(parse_request(&json)?, request);
//! assert!(parse_request(json.replace("\"nti\"", "\"ntii\"")).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Modules
//!
//! The main types are re-exported at the crate root: [`Ndc`], [`Gtin`], [`DataMatrix`],
//! [`DeaNumber`], [`PharmacyId`]; [`Product`], [`Prescription`], [`Lot`]; [`evaluate`] with
//! its [`Request`], [`Context`], [`StateProfile`] and [`Decision`] ([`Outcome`], [`Finding`],
//! [`RuleId`]); [`Date`], [`DateTime`] and the [`Clock`] trait; the contract's
//! [`parse_request`], [`parse_context`], [`parse_decision`] ([`SchemaVersion`],
//! [`ContractError`]; every document serializes with `serde`); and the stable error codes
//! ([`ErrorCode`], [`ERROR_CODES`]).
//!
//! - [`ids`]: NDC (10/11/12-digit), GTIN and GS1 DataMatrix, DEA numbers.
//! - [`model`]: products, lots, prescriptions, patients, prescribers, purchasers.
//! - [`rules`]: the rule engine, state profiles, decisions and their JSON form.
//! - [`fefo`]: first-expiry-first-out lot allocation.
//! - [`offline`]: what works offline and how each feature degrades.
//! - [`forecast`]: the historical-average demand forecast used when forecasting is down.
//! - [`time`]: dates, store-local timestamps and the monotonic [`Clock`].
//! - [`error_code`]: the stable error codes of the family.
//! - [`contract`]: the versioned JSON contract (schema version, strict parsing, JSON Schema).
#![forbid(unsafe_code)]

#[cfg(doctest)]
mod api_boundary;
pub mod contract;
pub mod error_code;
mod errors;
pub mod fefo;
pub mod forecast;
pub mod ids;
pub mod model;
pub mod offline;
pub mod rules;
pub mod serde_strict;
mod serde_text;
pub mod time;

pub use contract::{ContractError, SchemaVersion, parse_context, parse_decision, parse_request};
pub use error_code::{ErrorCode, ErrorCodeInfo};
pub use errors::ERROR_CODES;
pub use ids::{DataMatrix, DeaNumber, Gtin, Ndc, PharmacyId};
pub use model::{Lot, Prescription, Product};
pub use rules::{Context, Decision, Finding, Outcome, Request, RuleId, StateProfile, evaluate};
pub use time::{Clock, Date, DateTime};
