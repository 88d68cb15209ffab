//! The dispensing rule engine: [`evaluate`] a [`Request`] in a [`Context`] to get a
//! [`Decision`].
//!
//! Rules are grouped by the sections of the rule table: prescriber and prescription validity
//! (§9.1), Schedule II (§9.2), Schedules III-V (§9.3), controlled cross-cutting (§9.4),
//! general (§9.5), lots (§9.6) and listed chemicals (§9.7). Section 9.8 lives in
//! [`crate::ids`]. Before any of them, the data-integrity rules (DATA-FUTURE-01,
//! DATA-ZERO-01, DATA-HISTORY-01) block requests whose records cannot be true: fills dated
//! after `now`, zero days supply, fill numbers out of order.
//!
//! Decisions never depend on the order of a fill history: rules read fills in time order
//! ([`crate::model::FillHistory`]).

mod compliance;
mod context;
mod controlled;
mod decision;
mod engine;
mod figures;
mod general;
mod integrity;
mod lots;
mod obligation;
mod prescriber;
mod profile;
mod pse;
mod request;
mod rule_id;
mod schedule2;
mod schedule3_5;
mod sink;
mod strict_tags;

pub use context::{Connectivity, Context, Pharmacy, PmpStatus, StorePolicy};
pub use decision::{Decision, DurPps, Finding, FollowUp, Outcome, Override};
pub use engine::evaluate;
pub use figures::{
    CvOtcFigures, Figures, ListedChemicalFigures, RefillFigures, RefillTiming, WindowFigure,
};
pub use obligation::{Obligation, ObligationKind, ObligationStatus};
pub use profile::{OfflinePolicy, PseLimits, StateProfile};
pub use request::{
    ComplianceRequest, DscsaCheck, DurAlert, DurSeverity, EndOfDayRequest, FillRequest,
    HandOffRequest, IntakeRequest, LogbookEntry, LotPick, NplexResult, OtcSaleRequest, Payment,
    PendingPmpReport, Request, StockMoveKind, StockMoveRequest, TransferRequest,
};
pub use rule_id::{RuleId, UnknownRuleId};
