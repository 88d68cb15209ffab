//! pharm-core through the C ABI: the dispensing context and `evaluate`, compliance checks,
//! NDC normalisation and resolution, DEA validation and GS1 DataMatrix parsing.
//!
//! - [`pharm_context`]: a long-lived handle holding the contract's Context (state profile,
//!   store policy, pharmacy) built once per store from its JSON. What changes from one sale
//!   to the next is set on the handle: the store-local time (`pharm_context_set_now()`),
//!   cloud connectivity (`pharm_context_set_connectivity()`) and the time the recall feed
//!   was last refreshed (`pharm_context_set_recall_feed_as_of()`,
//!   `pharm_context_clear_recall_feed_as_of()`). Profile, policy and pharmacy are fixed for
//!   the handle's life: make a new context to change them.
//!   `pharm_context_evaluate()` turns request JSON into decision JSON;
//!   `pharm_context_check_compliance()` evaluates a compliance request.
//! - Identifiers: `pharm_ndc_normalize()`, the [`pharm_product_master`] handle with
//!   `pharm_product_master_resolve_ndc()` and `pharm_product_master_resolve_gs1()`,
//!   `pharm_dea_validate()`, `pharm_gs1_parse()`.
//!
//! JSON in and out is the contract of `schema/` (pharm-core's serde forms, unknown fields
//! refused); where pharm-core has no serde form for an answer, the function documents the
//! small object it returns. Malformed JSON is `core.contract_syntax` (1601), JSON that does
//! not match the contract `core.contract_invalid` (1602).
//!
//! Time is always the caller's: a store-local Unix time in milliseconds, i.e. the
//! milliseconds since 1970-01-01T00:00:00 *on the store's wall clock* (UTC Unix
//! milliseconds plus the store's UTC offset), between 1900-01-01T00:00:00 and
//! 9999-12-31T23:59:59.999. It is rounded down to the second. The library never reads a
//! clock.

mod context;
mod dea;
mod gs1;
mod json;
mod ndc;
#[cfg(test)]
mod tests;

pub use context::{
    pharm_context, pharm_context_check_compliance, pharm_context_clear_recall_feed_as_of,
    pharm_context_evaluate, pharm_context_free, pharm_context_json, pharm_context_new,
    pharm_context_set_connectivity, pharm_context_set_now, pharm_context_set_recall_feed_as_of,
};
pub use dea::pharm_dea_validate;
pub use gs1::{pharm_gs1_parse, pharm_product_master_resolve_gs1};
pub use ndc::{
    pharm_ndc_normalize, pharm_product_master, pharm_product_master_free, pharm_product_master_len,
    pharm_product_master_new, pharm_product_master_resolve_ndc,
};
