//! Strict serde reading: unknown fields are refused everywhere, including in the unit
//! variants of internally tagged enums, which `#[serde(deny_unknown_fields)]` does not reach
//! (serde-rs/serde#2123: `{"type": "reset", "typo": 1}` would be read). Each such variant is
//! marked `#[serde(deserialize_with = "crate::serde_strict::no_fields")]`; the JSON written
//! is unchanged.

use serde::{Deserialize, Deserializer};

/// Reads the fields of a unit variant of an internally tagged enum: none.
pub(crate) fn no_fields<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoFields {}
    NoFields::deserialize(deserializer).map(|NoFields {}| ())
}
