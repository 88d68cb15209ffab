//! Domain errors as Python exceptions: every error with a stable code ([`ErrorCode`])
//! becomes the `pharm.errors` class of its crate's code range, carrying `code` and `id`.

use std::fmt::Display;

use pharm_core::ErrorCode;
use pharm_core::error_code::CODE_RANGES;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The `pharm.errors` class for a code: `CoreError` for 1000–1999, `SubstError` for
/// 2000–2999, `SyncError` for 3000–3999, `ShardError` for 4000–4999, `PharmError` for any
/// other code.
fn class_name(code: u32) -> &'static str {
    let owner = CODE_RANGES
        .iter()
        .find(|range| (range.first..=range.last).contains(&code))
        .map_or("", |range| range.owner);
    match owner {
        "core" => "CoreError",
        "subst" => "SubstError",
        "sync" => "SyncError",
        "shard" => "ShardError",
        _ => "PharmError",
    }
}

/// The Python exception for a domain error: its crate's `pharm.errors` class, with the
/// error's message, `code` and `id`.
pub(crate) fn domain<E: ErrorCode + Display>(py: Python<'_>, error: &E) -> PyErr {
    domain_with(py, error.code(), error.id(), error.to_string())
}

/// As [`domain`], with a message of the caller's (for example naming the row).
pub(crate) fn domain_with(py: Python<'_>, code: u32, id: &str, message: String) -> PyErr {
    let made = py
        .import("pharm.errors")
        .and_then(|module| module.getattr(class_name(code)))
        .and_then(|class| class.call1((message.clone(), code, id)));
    match made {
        Ok(exception) => PyErr::from_value(exception),
        // `pharm.errors` is part of the package; should it fail to load, the error still
        // reaches the caller, as a ValueError naming the code and id.
        Err(_) => PyValueError::new_err(format!("{message} [{id} {code}]")),
    }
}
