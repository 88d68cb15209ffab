//! The JSON contract the C and Python bindings expose: a schema version, strict parsing
//! with a size limit, and (feature `schema`) the JSON Schema of every document.
//!
//! Three documents cross the boundary: a [`Request`], the [`Context`] it is evaluated in,
//! and the engine's [`Decision`]. Requests and decisions carry `"schema_version"`
//! ([`SchemaVersion::CURRENT`]); every object of all three rejects unknown fields, so a
//! misspelled flag (`"ntii": true`) is an error instead of a silently defaulted `false`
//! ([`strictness`] probes that on any document).
//! The committed JSON Schema lives in `schema/` at the repository root and a test fails
//! when it no longer matches the types.
//!
//! ```
//! use pharm_core::contract::{ContractError, parse_request};
//!
//! let err = parse_request(r#"{"type": "end_of_day", "schema_version": 2,
//!     "date": "2026-03-10", "reportable_dispenses": 0, "pending_reports": [],
//!     "prescriptions": []}"#).unwrap_err();
//! assert!(matches!(err, ContractError::Invalid { .. }));
//! assert!(err.to_string().contains("unknown field `prescriptions`"));
//! ```

#[cfg(feature = "schema")]
mod schema;
pub mod strictness;
mod type_first;

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::rules::{Context, Decision, Request};

mod json_read;
pub use json_read::{JsonRefusal, read_json, read_json_str, read_json_value};

#[cfg(feature = "schema")]
pub use schema::schemas;

/// Largest document [`parse_request`], [`parse_context`] and [`parse_decision`] accept:
/// 4 MiB, two orders of magnitude above a request with a long fill history.
pub const MAX_DOCUMENT_BYTES: usize = 4 << 20;

/// Version of the JSON contract a request or decision is written in.
///
/// Serializes as a bare integer. Deserializing any other number than
/// [`SchemaVersion::CURRENT`] fails, naming both versions: a document written for another
/// version of the contract is never read as if it were this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchemaVersion(u32);

impl SchemaVersion {
    /// The version this build reads and writes: 2, where pharmacy ids (`pharmacy.id`,
    /// `shares_realtime_db_with`, the transfers' `from_pharmacy` / `to_pharmacy`) are JSON
    /// numbers ([`PharmacyId`](crate::ids::PharmacyId)). Version 1 wrote them as strings;
    /// documents from before version 1 had no `schema_version`. Both are rejected.
    pub const CURRENT: SchemaVersion = SchemaVersion(2);

    /// The version number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for SchemaVersion {
    fn default() -> Self {
        SchemaVersion::CURRENT
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let version = u32::deserialize(d)?;
        if version == SchemaVersion::CURRENT.0 {
            Ok(SchemaVersion(version))
        } else {
            Err(serde::de::Error::custom(format_args!(
                "schema_version {version} is not supported: this build reads schema_version {}",
                SchemaVersion::CURRENT
            )))
        }
    }
}

/// Why a JSON document was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// Larger than [`MAX_DOCUMENT_BYTES`].
    #[error("{document} of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// `"request"`, `"context"` or `"decision"`.
        document: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not well-formed JSON (or not UTF-8, or cut short).
    #[error("{document} is not valid JSON at line {line}, column {column}: {reason}")]
    Syntax {
        /// `"request"`, `"context"` or `"decision"`.
        document: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// Well-formed JSON that does not match the contract: unknown or missing field, wrong
    /// type, unsupported `schema_version`, a value out of range (a negative price...).
    #[error(
        "{document} does not match the pharm JSON contract (schema_version {}) at line {line}, column {column}: {reason}",
        SchemaVersion::CURRENT
    )]
    Invalid {
        /// `"request"`, `"context"` or `"decision"`.
        document: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong, naming the field.
        reason: String,
    },
}

crate::json_refusal!(ContractError, Syntax, Invalid);

fn parse<T: DeserializeOwned>(document: &'static str, bytes: &[u8]) -> Result<T, ContractError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ContractError::TooLarge {
            document,
            size: bytes.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    read_json(document, bytes)
}

/// Parses a request document (UTF-8 JSON bytes or text).
///
/// A document with one `"type"` member is read straight into its variant, about twice as
/// fast as the general path, which reads the whole document into a buffer before it knows
/// the variant (when `"type"` is first, as pharm-core writes it, in one pass; elsewhere, as
/// in a document with sorted keys, after a pass that skims for it); any other document, and
/// every error, goes the general way, so the result is the same either way.
pub fn parse_request(json: impl AsRef<[u8]>) -> Result<Request, ContractError> {
    let bytes = json.as_ref();
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_request_str(text),
        // The general path reports where the text stops being UTF-8.
        Err(_) => parse("request", bytes),
    }
}

/// [`parse_request`] for text already known to be UTF-8 (a binding that checked it), which
/// spares the second check.
pub fn parse_request_str(text: &str) -> Result<Request, ContractError> {
    if text.len() <= MAX_DOCUMENT_BYTES
        && let Some(request) = type_first::parse(text)
    {
        return Ok(request);
    }
    parse("request", text.as_bytes())
}

/// Parses a request given as a JSON value (a binding's document built from its host
/// language's objects, without text): the same rules as [`parse_request`], wherever
/// `"type"` is; refusals name line 0, column 0.
pub fn parse_request_value(value: serde_json::Value) -> Result<Request, ContractError> {
    type_first::from_value(value)
}

/// Parses a context given as a JSON value (see [`parse_request_value`]).
pub fn parse_context_value(value: serde_json::Value) -> Result<Context, ContractError> {
    read_json_value("context", value)
}

/// Parses a context document.
pub fn parse_context(json: impl AsRef<[u8]>) -> Result<Context, ContractError> {
    parse("context", json.as_ref())
}

/// Parses a decision document (bindings and tests read decisions back).
pub fn parse_decision(json: impl AsRef<[u8]>) -> Result<Decision, ContractError> {
    parse("decision", json.as_ref())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn version_is_checked() {
        assert_eq!(serde_json::to_string(&SchemaVersion::CURRENT).unwrap(), "2");
        assert_eq!(
            serde_json::from_str::<SchemaVersion>("2").unwrap(),
            SchemaVersion::CURRENT
        );
        let err = serde_json::from_str::<SchemaVersion>("1").unwrap_err();
        assert!(
            err.to_string()
                .contains("schema_version 1 is not supported"),
            "{err}"
        );
        assert!(serde_json::from_str::<SchemaVersion>("\"2\"").is_err());
    }

    #[test]
    fn errors_are_typed_and_located() {
        let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        assert!(matches!(
            parse_request(&big),
            Err(ContractError::TooLarge { size, .. }) if size == MAX_DOCUMENT_BYTES + 1
        ));
        match parse_context("{\n  \"now\": ") {
            Err(ContractError::Syntax {
                line: 2,
                document: "context",
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_decision([0xff, 0xfe]),
            Err(ContractError::Syntax { .. })
        ));
        match parse_request(r#"{"type": "end_of_day", "schema_version": 7}"#) {
            Err(ContractError::Invalid { reason, .. }) => {
                assert!(reason.contains("schema_version 7"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
