//! Strict serde reading shared by the family: unknown fields are refused everywhere,
//! including in the unit variants of internally tagged enums, which
//! `#[serde(deny_unknown_fields)]` does not reach (serde-rs/serde#2123:
//! `{"state": "online", "typo": 1}` would be read). Such a variant is marked
//! `#[serde(deserialize_with = "pharm_core::serde_strict::no_fields")]`; the JSON written is
//! unchanged. (The contract's own tagged enums, whose schema is generated, read through
//! empty-struct mirrors instead: `rules::strict_tags`.)
//!
//! ```
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
//! enum Link {
//!     #[serde(deserialize_with = "pharm_core::serde_strict::no_fields")]
//!     Up,
//!     Down { since: u64 },
//! }
//!
//! assert!(serde_json::from_str::<Link>(r#"{"state": "up"}"#).is_ok());
//! assert!(serde_json::from_str::<Link>(r#"{"state": "up", "typo": 1}"#).is_err());
//! assert!(serde_json::from_str::<Link>(r#"{"state": "down", "since": 1, "typo": 1}"#).is_err());
//! ```

use serde::{Deserialize, Deserializer};

/// Reads the fields of a unit variant of an internally tagged enum: none.
pub fn no_fields<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoFields {}
    NoFields::deserialize(deserializer).map(|NoFields {}| ())
}
