//! JSON in and out for the core calls, with pharm-core's contract errors.

use pharm_core::ContractError;
use pharm_core::contract::JsonFault;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Failure;

/// Parses an ffi-side JSON document (`document` names it in the error) the way
/// `pharm_core::contract` parses its own: malformed JSON is [`ContractError::Syntax`], a
/// document that does not match its type is [`ContractError::Invalid`]. The caller
/// checked the size and the UTF-8.
pub(super) fn parse<T: DeserializeOwned>(document: &'static str, text: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|error| {
        let JsonFault {
            line,
            column,
            reason,
            syntax,
        } = JsonFault::of(&error);
        Failure::from(if syntax {
            ContractError::Syntax {
                document,
                line,
                column,
                reason,
            }
        } else {
            ContractError::Invalid {
                document,
                line,
                column,
                reason,
            }
        })
    })
}

/// Serializes an answer as compact JSON.
pub(super) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(value).map_err(|error| Failure::invalid("output", error))
}
