//! Strict reading of the JSON documents a binding hands to this crate (an [`Op`] to apply),
//! with a size limit and stable error codes, as `pharm_core::contract` does for requests.
//!
//! Every object of an operation rejects unknown fields, so a misspelled field is an error
//! instead of a silently defaulted value.
//!
//! ```
//! use pharm_sync::json::JsonError;
//! use pharm_sync::replica::Op;
//!
//! let op = Op::from_json(r#"{"op":"set_location","lot":{"origin":"T1.7","local_no":1},"location":"A-1"}"#)?;
//! assert!(matches!(op, Op::SetLocation { .. }));
//! let err = Op::from_json(r#"{"op":"set_location","lot":{"origin":"T1.7","local_no":1},"locaton":"A-1"}"#)
//!     .unwrap_err();
//! assert!(matches!(err, JsonError::Invalid { .. }));
//! # Ok::<(), JsonError>(())
//! ```
//!
//! [`Op`]: crate::replica::Op

use pharm_core::contract::read_json;
use serde::de::DeserializeOwned;

use crate::replica::Op;

/// Largest JSON document read: `pharm_core::contract::MAX_DOCUMENT_BYTES` (4 MiB), the
/// limit of every JSON document of the family. An operation is at most some hundred
/// kilobytes (1,024 lines of a compensation, strings of at most 256 bytes, and the claim and
/// PMP report payloads).
pub const MAX_JSON_BYTES: usize = pharm_core::contract::MAX_DOCUMENT_BYTES;

/// Why a JSON document was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Larger than [`MAX_JSON_BYTES`].
    #[error("{document} of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// The document (`"operation"`).
        document: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not well-formed JSON (or not UTF-8, or cut short).
    #[error("{document} is not valid JSON at line {line}, column {column}: {reason}")]
    Syntax {
        /// The document (`"operation"`).
        document: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// Well-formed JSON that is not the document's serde form: an unknown or missing field,
    /// a wrong type, an unknown `op`, a value out of range.
    #[error("{document} does not match its JSON form at line {line}, column {column}: {reason}")]
    Invalid {
        /// The document (`"operation"`).
        document: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong, naming the field.
        reason: String,
    },
}

pharm_core::json_refusal!(JsonError, Syntax, Invalid);

fn parse<T: DeserializeOwned>(document: &'static str, bytes: &[u8]) -> Result<T, JsonError> {
    if bytes.len() > MAX_JSON_BYTES {
        return Err(JsonError::TooLarge {
            document,
            size: bytes.len(),
            limit: MAX_JSON_BYTES,
        });
    }
    read_json(document, bytes)
}

impl Op {
    /// Reads an operation from its JSON form (UTF-8 bytes or text; see [`Op`]), refusing
    /// unknown fields and documents larger than [`MAX_JSON_BYTES`].
    pub fn from_json(json: impl AsRef<[u8]>) -> Result<Op, JsonError> {
        parse("operation", json.as_ref())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn size_syntax_and_contents_are_told_apart() {
        let big = vec![b' '; MAX_JSON_BYTES + 1];
        assert!(matches!(
            Op::from_json(&big),
            Err(JsonError::TooLarge { size, .. }) if size == MAX_JSON_BYTES + 1
        ));
        assert!(matches!(
            Op::from_json("{\"op\":"),
            Err(JsonError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            Op::from_json(b"\xff"),
            Err(JsonError::Syntax { .. })
        ));
        let unknown = Op::from_json(r#"{"op":"teleport"}"#).unwrap_err();
        assert!(matches!(unknown, JsonError::Invalid { .. }), "{unknown}");
        let extra = Op::from_json(
            r#"{"op":"hold","lot":{"origin":"T1.2","local_no":1},"reference":"r","qty":1}"#,
        )
        .unwrap_err();
        assert!(extra.to_string().contains("unknown field `qty`"), "{extra}");
        assert!(!extra.to_string().contains(" at line 1 column"), "{extra}");
    }
}
