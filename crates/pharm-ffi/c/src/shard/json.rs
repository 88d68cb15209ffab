//! Strict JSON input in the crate's serde forms, with pharm-shard's stable codes.
//!
//! Some of the crate's types deny unknown fields (`ShardMap`, `ResilienceConfig`,
//! `CircuitBreakerConfig`) but the types nested in them do not (a shard map's pins and
//! moves, a retry policy and its backoff, a retry budget, a lag sample and its heartbeat),
//! so serde alone would read `{"max_attempt": 5}` as "no change". Every document is
//! therefore also checked against what its type writes back: a key the type does not
//! write is an unknown field.

use std::fmt;

use pharm_core::error_code::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::Failure;

/// The largest JSON document any shard call accepts: 4 MiB (the family's document limit,
/// `pharm_core::contract::MAX_DOCUMENT_BYTES`), several times a shard map with the maximum
/// 65,536 logical shards. A larger document is `PHARM_RESULT_INPUT_TOO_LARGE`.
pub const PHARM_SHARD_MAX_JSON_BYTES: usize = 4 << 20;

/// `shard.json_syntax`: not well-formed JSON.
pub(super) const JSON_SYNTAX: (u32, &str) = (4110, "shard.json_syntax");
/// `shard.json_invalid`: well-formed JSON that does not match the type.
pub(super) const JSON_INVALID: (u32, &str) = (4111, "shard.json_invalid");

/// A JSON document serde (or the unknown-field check) rejected.
#[derive(Debug)]
pub(super) struct JsonError {
    syntax: bool,
    document: &'static str,
    reason: String,
}

impl JsonError {
    fn invalid(document: &'static str, reason: impl Into<String>) -> JsonError {
        JsonError {
            syntax: false,
            document,
            reason: reason.into(),
        }
    }

    fn from_serde(document: &'static str, error: &serde_json::Error) -> JsonError {
        JsonError {
            syntax: !error.is_data(),
            document,
            reason: error.to_string(),
        }
    }
}

impl ErrorCode for JsonError {
    fn code(&self) -> u32 {
        if self.syntax {
            JSON_SYNTAX.0
        } else {
            JSON_INVALID.0
        }
    }

    fn id(&self) -> &'static str {
        if self.syntax {
            JSON_SYNTAX.1
        } else {
            JSON_INVALID.1
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.syntax {
            write!(
                f,
                "the {} is not valid JSON: {}",
                self.document, self.reason
            )
        } else {
            write!(
                f,
                "the {} does not match its JSON form: {}",
                self.document, self.reason
            )
        }
    }
}

/// Reads `text` as a `T` (`document` names it in errors), rejecting unknown fields at
/// every depth.
pub(super) fn parse<T: DeserializeOwned + Serialize>(
    document: &'static str,
    text: &str,
) -> Result<T, Failure> {
    let value: T =
        serde_json::from_str(text).map_err(|error| JsonError::from_serde(document, &error))?;
    let input: Value =
        serde_json::from_str(text).map_err(|error| JsonError::from_serde(document, &error))?;
    let known = serde_json::to_value(&value)
        .map_err(|error| JsonError::invalid(document, error.to_string()))?;
    let mut path = String::new();
    if unknown_field(&input, &known, &mut path) {
        return Err(JsonError::invalid(document, format!("unknown field `{path}`")).into());
    }
    Ok(value)
}

/// Whether `input` has an object key that `known` (what the type writes) lacks; `path`
/// then names it (`retry.backoff.Exponential.bogus`, `pins[1].note`).
fn unknown_field(input: &Value, known: &Value, path: &mut String) -> bool {
    match (input, known) {
        (Value::Object(input), Value::Object(known)) => {
            for (key, value) in input {
                let mark = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match known.get(key) {
                    None => return true,
                    Some(known) => {
                        if unknown_field(value, known, path) {
                            return true;
                        }
                    }
                }
                path.truncate(mark);
            }
            false
        }
        (Value::Array(input), Value::Array(known)) => {
            // The type may write elements in another order (pins are sorted), so every
            // input element is checked against the keys of all written elements.
            let mut shape = Value::Null;
            for element in known {
                merge(&mut shape, element);
            }
            for (index, element) in input.iter().enumerate() {
                let mark = path.len();
                path.push_str(&format!("[{index}]"));
                if unknown_field(element, &shape, path) {
                    return true;
                }
                path.truncate(mark);
            }
            false
        }
        _ => false,
    }
}

/// Merges the keys of `from` into `into` (objects key by key, arrays element-wise into
/// one shape).
fn merge(into: &mut Value, from: &Value) {
    match from {
        Value::Object(from) => {
            if !into.is_object() {
                *into = Value::Object(Map::new());
            }
            if let Value::Object(into) = into {
                for (key, value) in from {
                    merge(into.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        Value::Array(from) => {
            let mut shape = match into {
                Value::Array(existing) => existing.pop().unwrap_or(Value::Null),
                _ => Value::Null,
            };
            for element in from {
                merge(&mut shape, element);
            }
            *into = Value::Array(vec![shape]);
        }
        _ => {
            if into.is_null() {
                *into = from.clone();
            }
        }
    }
}
