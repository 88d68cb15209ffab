//! The dispensing rule engine: [`evaluate`] a [`Request`] in a [`Context`] to get a
//! [`Decision`].
//!
//! Rules are grouped by the sections of the rule table: prescriber and prescription validity
//! (§9.1), Schedule II (§9.2), Schedules III-V (§9.3), controlled cross-cutting (§9.4),
//! general (§9.5), lots (§9.6) and listed chemicals (§9.7). Section 9.8 lives in
//! [`crate::ids`].

mod context;
mod controlled;
mod decision;
mod engine;
mod general;
mod lots;
mod prescriber;
mod profile;
mod pse;
mod request;
mod rule_id;
mod schedule2;
mod schedule3_5;
mod sink;

pub use context::{Connectivity, Context, Pharmacy, PmpStatus, StorePolicy};
pub use decision::{Decision, DurPps, Finding, FollowUp, Outcome, Override};
pub use engine::evaluate;
pub use profile::{OfflinePolicy, PseLimits, StateProfile};
pub use request::{
    DscsaCheck, DurAlert, DurSeverity, EndOfDayRequest, FillRequest, HandOffRequest, IntakeRequest,
    LogbookEntry, LotPick, NplexResult, OtcSaleRequest, Payment, PendingPmpReport, Request,
    StockMoveKind, StockMoveRequest, TransferRequest,
};
pub use rule_id::{RuleId, UnknownRuleId};
