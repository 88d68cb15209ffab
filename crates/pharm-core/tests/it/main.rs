//! Integration tests for pharm-core: scenario tables for every rule at its boundaries,
//! JSON round-trips and the shared golden vectors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::type_complexity,
    missing_docs,
    unreachable_pub
)]

mod contract;
mod fixtures;
mod golden;
mod ids;
mod json;
mod regressions;
mod rules_controlled;
mod rules_general;
mod rules_integrity;
mod rules_lots;
mod rules_prescriber;
mod rules_pse;
mod rules_schedule2;
mod rules_schedule3_5;
#[cfg(feature = "schema")]
mod schema;
