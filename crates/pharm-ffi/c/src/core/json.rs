//! JSON in and out for the core calls, with pharm-core's contract errors.

use pharm_core::ContractError;
use pharm_core::contract::read_json_str;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Failure;

/// Parses an ffi-side JSON document (`document` names it in the error) the way
/// `pharm_core::contract` parses its own: malformed JSON is [`ContractError::Syntax`], a
/// document that does not match its type is [`ContractError::Invalid`]. The caller
/// checked the size and the UTF-8.
pub(super) fn parse<T: DeserializeOwned>(document: &'static str, text: &str) -> Result<T, Failure> {
    Ok(read_json_str::<T, ContractError>(document, text)?)
}

/// Serializes an answer as compact JSON.
pub(super) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(value).map_err(|error| Failure::invalid("output", error))
}
