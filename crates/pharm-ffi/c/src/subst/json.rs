//! The JSON the substitution calls read, with pharm-subst's codes. The queries themselves
//! are `pharm_subst::query_doc`'s (shared with the Python wheel).

use ::pharm_subst::BindingInputError;
use pharm_core::contract::read_json_str;
use serde::de::DeserializeOwned;

use crate::error::Failure;

/// Parses `text` as the JSON `document`; errors get pharm-subst's codes
/// (`subst.json_syntax`, `subst.json_invalid`).
pub(super) fn parse<T: DeserializeOwned>(document: &'static str, text: &str) -> Result<T, Failure> {
    Ok(read_json_str::<T, BindingInputError>(document, text)?)
}
