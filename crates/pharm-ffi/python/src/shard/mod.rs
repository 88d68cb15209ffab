//! `pharm.shard`: shard routing over columns of pharmacy ids, reshard planning, merging of
//! scatter-gather partial aggregates, lag-aware read routing, and breaker traces (pharm-shard).
//!
//! Documents (a shard map, a lag sample, a resilience configuration, a partial aggregate)
//! are the crate's serde forms (`testdata/golden/shard/`), as a dict or a JSON str of at
//! most 4 MiB (ValueError above); an unknown field at any depth is refused. Errors of
//! pharm-shard raise `pharm.ShardError`: `shard.json_syntax`, `shard.json_invalid`, or the
//! code of the refused value (`shard.directory_*`, `shard.resilience_config_*`...). Time
//! is always the caller's.

mod aggregate;
mod breaker;
mod directory;
mod reads;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde::de::DeserializeOwned;

use crate::{errors, json};

/// The largest JSON document any shard call accepts: 4 MiB, the C ABI's
/// `PHARM_SHARD_MAX_JSON_BYTES` (the family's document limit).
const MAX_JSON_BYTES: usize = pharm_core::contract::MAX_DOCUMENT_BYTES;

/// Adds the `pharm.shard` classes and functions to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<directory::Directory>()?;
    m.add_class::<reads::ReadRouter>()?;
    m.add_function(wrap_pyfunction!(aggregate::partial_aggregate, m)?)?;
    m.add_function(wrap_pyfunction!(aggregate::merge_aggregates, m)?)?;
    m.add_function(wrap_pyfunction!(breaker::preset_config, m)?)?;
    m.add_function(wrap_pyfunction!(breaker::breaker_trace, m)?)?;
    m.add_function(wrap_pyfunction!(breaker::retry_trace, m)?)?;
    Ok(())
}

/// The JSON text of a document argument (dict or JSON str), at most [`MAX_JSON_BYTES`].
fn document_text(document: &Bound<'_, PyAny>, argument: &str) -> PyResult<String> {
    let text = json::dumps(document, argument)?;
    if text.len() > MAX_JSON_BYTES {
        return Err(PyValueError::new_err(format!(
            "{argument}: {} bytes of JSON exceed the {MAX_JSON_BYTES}-byte limit",
            text.len()
        )));
    }
    Ok(text)
}

/// Reads a document argument as a `T` with pharm-shard's strict reader.
fn parse<T: DeserializeOwned>(document: &Bound<'_, PyAny>, argument: &'static str) -> PyResult<T> {
    let text = document_text(document, argument)?;
    pharm_shard::json::from_json(argument, &text)
        .map_err(|error| errors::domain(document.py(), &error))
}

/// A value's serde name (a unit enum variant: `"CLOSED"`, `"copying"`...).
fn serde_name<T: serde::Serialize>(value: &T) -> Option<String> {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
}
