//! Reading the crate's types from JSON, with stable error codes.
//!
//! Every serde type of the crate reads strictly: an unknown field in any object (a shard
//! map's pins and moves, a retry policy's backoff, a lag sample's heartbeat, ...) is refused,
//! never ignored, so a misspelt `max_attempt` is an error instead of a silent default.
//! [`from_json`] reads any of them and tells malformed JSON (`shard.json_syntax`) from JSON
//! that does not match the type (`shard.json_invalid`). [`ShardMap::from_json`] also keeps
//! the map's own [`DirectoryError`] when the JSON is well-formed but the map is not
//! consistent: a pharmacy pinned twice is `shard.directory_already_pinned`, as when pinned
//! twice through [`ShardMap::pin`], not a text inside a serde error; likewise
//! [`ResilienceConfig::from_json`](crate::ResilienceConfig::from_json) keeps an invalid part's [`ResilienceConfigError`].
//!
//! ```
//! use pharm_core::error_code::ErrorCode;
//! use pharm_shard::ShardMap;
//! use pharm_shard::json::{ShardMapJsonError, from_json};
//! use pharm_shard::lag::LagSample;
//!
//! let map = ShardMap::from_json(r#"{"version": 1, "logical_count": 2, "assignment": [0, 1],
//!     "pins": [{"pharmacy_id": 7, "physical": 3}]}"#)?;
//! assert!(map.route(pharm_core::ids::PharmacyId::new(7)).pinned);
//!
//! let twice = ShardMap::from_json(r#"{"version": 1, "logical_count": 2, "assignment": [0, 1],
//!     "pins": [{"pharmacy_id": 7, "physical": 3}, {"pharmacy_id": 7, "physical": 1}]}"#)
//!     .unwrap_err();
//! assert!(matches!(twice, ShardMapJsonError::Map(_)));
//! assert_eq!(twice.id(), "shard.directory_already_pinned");
//!
//! let misspelt = from_json::<LagSample>("lag sample", r#"{"primary_lsn": "0/10",
//!     "replay_lsn": "0/10", "replay_paused": false, "measured_at_ms": 5, "lag_ms": 0}"#)
//!     .unwrap_err();
//! assert_eq!(misspelt.id(), "shard.json_invalid");
//! # Ok::<(), ShardMapJsonError>(())
//! ```
//!
//! [`ShardMap::pin`]: crate::directory::ShardMap::pin

use pharm_core::contract::read_json;
use serde::de::DeserializeOwned;

use crate::directory::{DirectoryError, ShardMap, ShardMapConfig};
use crate::resilience::ResilienceConfigError;

/// A JSON document the crate could not read as the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Not well-formed JSON (or not UTF-8, or cut short).
    #[error("the {document} is not valid JSON at line {line}, column {column}: {reason}")]
    Syntax {
        /// What the document is (`"shard map"`, `"lag sample"`, ...).
        document: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// Well-formed JSON that is not the type's serde form: an unknown or missing field, a
    /// wrong type, a value the type refuses.
    #[error(
        "the {document} does not match its JSON form at line {line}, column {column}: {reason}"
    )]
    Invalid {
        /// What the document is.
        document: &'static str,
        /// 1-based line of the error (0 when serde cannot tell, inside a tagged enum).
        line: usize,
        /// 1-based column of the error (0 when serde cannot tell).
        column: usize,
        /// What is wrong, naming the field.
        reason: String,
    },
}

pharm_core::json_refusal!(JsonError, Syntax, Invalid);

/// Reads `json` (UTF-8 text or bytes) as a `T`, one of the crate's serde types;
/// `document` names it in errors.
///
/// # Errors
///
/// [`JsonError::Syntax`] for malformed JSON, [`JsonError::Invalid`] for JSON that is not a
/// `T` (an unknown field anywhere, a missing field, a wrong type, a value out of range).
pub fn from_json<T: DeserializeOwned>(
    document: &'static str,
    json: impl AsRef<[u8]>,
) -> Result<T, JsonError> {
    read_json(document, json.as_ref())
}

/// Why [`ShardMap::from_json`] refused a document.
///
/// Each variant reports the code of the error it holds: reading a map is building it, so
/// a map that is not consistent is refused with the same [`DirectoryError`] (and code) as
/// the calls that build one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardMapJsonError {
    /// The document is not a shard map's JSON form (`shard.json_syntax`,
    /// `shard.json_invalid`).
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The map is not consistent: a pharmacy pinned twice, a move whose source is not the
    /// logical shard's physical shard, an assignment of the wrong length, ... (the
    /// `shard.directory_*` code of the [`DirectoryError`]).
    #[error("the shard map is not consistent: {0}")]
    Map(#[from] DirectoryError),
}

/// Why [`ResilienceConfig::from_json`](crate::ResilienceConfig::from_json) refused a document.
///
/// Each variant reports the code of the error it holds: an invalid part is refused with
/// the same [`ResilienceConfigError`] (and code) as [`Resilience::new`] gives.
///
/// [`Resilience::new`]: crate::Resilience::new
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ResilienceJsonError {
    /// The document is not a configuration's JSON form (`shard.json_syntax`,
    /// `shard.json_invalid`).
    #[error(transparent)]
    Json(#[from] JsonError),
    /// A part is invalid: the breaker, the retry policy or the budget (the
    /// `shard.resilience_config_*` code of the [`ResilienceConfigError`]).
    #[error("the resilience configuration is invalid: {0}")]
    Config(#[from] ResilienceConfigError),
}

impl ShardMap {
    /// Reads a map from its JSON form (see [`ShardMap`]), refusing unknown fields at any
    /// depth and keeping a consistency error as its [`DirectoryError`].
    ///
    /// # Errors
    ///
    /// [`ShardMapJsonError::Json`] for a document that is not a map's JSON form,
    /// [`ShardMapJsonError::Map`] for a map that is not consistent.
    pub fn from_json(json: impl AsRef<[u8]>) -> Result<ShardMap, ShardMapJsonError> {
        let config: ShardMapConfig = from_json("shard map", json)?;
        Ok(ShardMap::try_from(config)?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use pharm_core::error_code::ErrorCode;
    use pharm_core::ids::PharmacyId;

    use super::*;
    use crate::directory::{LogicalShard, PhysicalShard};

    const MAP: &str = r#"{"version": 3, "logical_count": 2, "assignment": [0, 1],
        "pins": [{"pharmacy_id": 9, "physical": 3}],
        "moves": [{"logical": 0, "source": 0, "target": 1, "phase": "copying"}]}"#;

    #[test]
    fn a_map_reads_as_serde_reads_it() {
        let map = ShardMap::from_json(MAP).unwrap();
        assert_eq!(map, serde_json::from_str::<ShardMap>(MAP).unwrap());
        assert_eq!(map.version(), 3);
        assert_eq!(map.route(PharmacyId::new(9)).physical, PhysicalShard(3));
        let back = serde_json::to_string(&map).unwrap();
        assert_eq!(ShardMap::from_json(&back).unwrap(), map);
    }

    #[test]
    fn an_inconsistent_map_keeps_its_directory_error() {
        let cases = [
            (
                r#"{"version": 1, "logical_count": 2, "assignment": [0, 1],
                "pins": [{"pharmacy_id": 9, "physical": 3}, {"pharmacy_id": 9, "physical": 1}]}"#,
                DirectoryError::AlreadyPinned {
                    pharmacy_id: PharmacyId::new(9),
                    physical: PhysicalShard(3),
                },
            ),
            (
                r#"{"version": 1, "logical_count": 2, "assignment": [0, 1],
                "moves": [{"logical": 0, "source": 1, "target": 0, "phase": "copying"}]}"#,
                DirectoryError::SourceMismatch {
                    logical: LogicalShard(0),
                    source_shard: PhysicalShard(1),
                    assigned: PhysicalShard(0),
                },
            ),
            (
                r#"{"version": 1, "logical_count": 3, "assignment": [0, 1]}"#,
                DirectoryError::AssignmentLength {
                    got: 2,
                    logical_count: 3,
                },
            ),
            (
                r#"{"version": 1, "logical_count": 0, "assignment": []}"#,
                DirectoryError::LogicalCount(0),
            ),
        ];
        for (json, expected) in cases.clone() {
            let error = ShardMap::from_json(json).unwrap_err();
            assert_eq!(error, ShardMapJsonError::Map(expected.clone()), "{json}");
            assert_eq!((error.code(), error.id()), (expected.code(), expected.id()));
            assert!(error.to_string().contains(&expected.to_string()), "{error}");
            // serde alone has only the text.
            let serde = serde_json::from_str::<ShardMap>(json).unwrap_err();
            assert!(serde.to_string().contains(&expected.to_string()), "{serde}");
        }
        assert_eq!(
            ShardMap::from_json(cases[0].0).unwrap_err().id(),
            "shard.directory_already_pinned"
        );
    }

    #[test]
    fn an_invalid_resilience_part_keeps_its_error() {
        use crate::ResilienceConfig;
        use crate::breaker::ConfigError;
        use crate::retry::{BudgetConfigError, PolicyError};

        let good = serde_json::to_value(ResilienceConfig::pmp_api()).unwrap();
        let read = ResilienceConfig::from_json(good.to_string()).unwrap();
        assert_eq!(serde_json::to_value(&read).unwrap(), good);
        let with = |pointer: &str, value: serde_json::Value| {
            let mut json = good.clone();
            *json.pointer_mut(pointer).unwrap() = value;
            ResilienceConfig::from_json(json.to_string()).unwrap_err()
        };
        let cases = [
            (
                with("/breaker/failure_rate_threshold", 0.into()),
                ResilienceConfigError::Breaker(ConfigError::FailureRateThreshold(0.0)),
            ),
            (
                with("/retry/max_attempts", 101.into()),
                ResilienceConfigError::Retry(PolicyError::TooManyAttempts(101)),
            ),
            (
                with("/budget/max_tokens", 0.into()),
                ResilienceConfigError::Budget(BudgetConfigError::ZeroCapacity),
            ),
        ];
        for (error, expected) in cases {
            assert_eq!((error.code(), error.id()), (expected.code(), expected.id()));
            assert_eq!(error, ResilienceJsonError::Config(expected));
        }
        // serde alone: a breaker or policy error is a text of `shard.json_invalid`.
        let mut json = good.clone();
        json["breaker"]["failure_rate_threshold"] = 0.into();
        assert!(serde_json::from_value::<ResilienceConfig>(json).is_err());
        for (pointer, value) in [
            ("/retry/backoff/Exponential/jitter", serde_json::json!(1)),
            ("/budget/ratoi", serde_json::json!(0.5)),
            ("/jitter_seed", serde_json::json!("seven")),
        ] {
            let mut json = good.clone();
            let (parent, field) = pointer.rsplit_once('/').unwrap();
            json.pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert(field.into(), value);
            let error = ResilienceConfig::from_json(json.to_string()).unwrap_err();
            assert_eq!(error.id(), "shard.json_invalid", "{pointer}: {error}");
        }
        assert_eq!(
            ResilienceConfig::from_json("{").unwrap_err().id(),
            "shard.json_syntax"
        );
    }

    #[test]
    fn malformed_and_mismatched_documents_have_their_codes() {
        for text in ["", "{", r#"{"version": 1,,}"#, "nul", "\u{feff}{}"] {
            let error = ShardMap::from_json(text).unwrap_err();
            assert_eq!(error.id(), "shard.json_syntax", "{text:?}: {error}");
            assert!(matches!(
                error,
                ShardMapJsonError::Json(JsonError::Syntax { .. })
            ));
        }
        for text in [
            "null",
            "[]",
            r#"{"version": "1"}"#,
            "{}",
            r#"{"version": 1, "logical_count": 2, "assignment": [0, 1], "pins": [{"pharmacy_id": 9, "physical": 3, "note": 1}]}"#,
            r#"{"version": 1, "logical_count": 2, "assignment": [0, 1], "moves": [{"logical": 0, "source": 0, "target": 1, "phase": "copying", "eta": 3}]}"#,
            r#"{"version": 1, "logical_count": 2, "assignment": [0, 1], "owner": "ops"}"#,
        ] {
            let error = ShardMap::from_json(text).unwrap_err();
            assert_eq!(error.id(), "shard.json_invalid", "{text:?}: {error}");
            assert_eq!(error.code(), 4111);
        }
        let error = ShardMap::from_json("{").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the shard map is not valid JSON"),
            "{error}"
        );
        let unknown = ShardMap::from_json(
            r#"{"version": 1, "logical_count": 2, "assignment": [0, 1], "pins": [{"pharmacy_id": 9, "physical": 3, "note": 1}]}"#,
        )
        .unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `note`"),
            "{unknown}"
        );
    }
}
