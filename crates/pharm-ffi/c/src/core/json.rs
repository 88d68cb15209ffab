//! JSON in and out for the core calls, with pharm-core's contract errors.

use pharm_core::ContractError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Failure;

/// Parses an ffi-side JSON document (`document` names it in the error) the way
/// `pharm_core::contract` parses its own: malformed JSON is [`ContractError::Syntax`], a
/// document that does not match its type is [`ContractError::Invalid`]. The caller
/// checked the size and the UTF-8.
pub(super) fn parse<T: DeserializeOwned>(document: &'static str, text: &str) -> Result<T, Failure> {
    serde_json::from_str(text).map_err(|error| {
        let (line, column) = (error.line(), error.column());
        let mut reason = error.to_string();
        // serde_json appends " at line L column C"; the error names them itself.
        if let Some(cut) = reason.rfind(" at line ") {
            reason.truncate(cut);
        }
        let error = if error.is_data() {
            ContractError::Invalid {
                document,
                line,
                column,
                reason,
            }
        } else {
            ContractError::Syntax {
                document,
                line,
                column,
                reason,
            }
        };
        Failure::from(error)
    })
}

/// Serializes an answer as compact JSON.
pub(super) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(value).map_err(|error| Failure::invalid("output", error))
}
