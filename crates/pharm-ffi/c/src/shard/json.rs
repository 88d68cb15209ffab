//! Strict JSON input in the crate's serde forms, with pharm-shard's stable codes.
//!
//! Every serde type of pharm-shard refuses an unknown field in any of its objects (a shard
//! map's pins and moves, a retry policy's backoff, a retry budget, a lag sample's
//! heartbeat...), so the crate's own reader is all a call needs: `shard.json_syntax` (4110)
//! for malformed JSON, `shard.json_invalid` (4111) for JSON that does not match the type,
//! and for a shard map that is not consistent its own `shard.directory_*` code
//! (`ShardMap::from_json`).

use serde::de::DeserializeOwned;

use crate::error::Failure;

/// The largest JSON document any shard call accepts: 4 MiB (the family's document limit,
/// `pharm_core::contract::MAX_DOCUMENT_BYTES`), several times a shard map with the maximum
/// 65,536 logical shards. A larger document is `PHARM_RESULT_INPUT_TOO_LARGE`.
pub const PHARM_SHARD_MAX_JSON_BYTES: usize = 4 << 20;

/// Reads `text` as a `T` (`document` names it in errors) with `pharm_shard::json::from_json`.
pub(super) fn parse<T: DeserializeOwned>(document: &'static str, text: &str) -> Result<T, Failure> {
    Ok(pharm_shard::json::from_json(document, text)?)
}
