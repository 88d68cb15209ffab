//! Identifiers: NDC normalisation over a whole column, DEA numbers, GS1 DataMatrix.

use pharm_core::ids::{DataMatrix, parse_scanned};
use pharm_core::{DeaNumber, ErrorCode, Ndc};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use serde::Serialize;

use super::context::list_items;
use crate::errors;
use crate::json;

/// What `normalize_ndc` does with a value that is not an NDC.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnError {
    Raise,
    Null,
}

/// Normalises a column of NDC texts (a list or tuple of `str`, `None` for a missing value)
/// to pharm-core's canonical text of each NDC (hyphenated in its own layout, as the JSON
/// contract writes NDCs). `None` stays `None`. With `errors="raise"` (the default) the
/// first invalid value raises `pharm.CoreError` (the NDC error's `code` and `id`, the
/// message naming the index); with `errors="null"` an invalid value becomes `None`. A value
/// that is neither `str` nor `None` is a TypeError; another `errors` is a ValueError. The
/// GIL is released while the values are parsed.
#[pyfunction]
#[pyo3(signature = (values, errors = "raise"))]
pub(crate) fn normalize_ndc<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    errors: &str,
) -> PyResult<Bound<'py, PyList>> {
    let on_error = match errors {
        "raise" => OnError::Raise,
        "null" => OnError::Null,
        other => {
            return Err(PyValueError::new_err(format!(
                "errors must be \"raise\" or \"null\", not {other:?}"
            )));
        }
    };
    let items = list_items(values, "values")?;
    let mut texts: Vec<Option<String>> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if item.is_none() {
            texts.push(None);
        } else if let Ok(text) = item.cast::<PyString>() {
            texts.push(Some(text.to_str()?.to_owned()));
        } else {
            return Err(PyTypeError::new_err(format!(
                "values[{index}] must be a str or None, not {}",
                item.get_type().name()?
            )));
        }
    }
    let normalized = py.detach(|| {
        let mut out: Vec<Option<String>> = Vec::with_capacity(texts.len());
        for (index, text) in texts.iter().enumerate() {
            let Some(text) = text else {
                out.push(None);
                continue;
            };
            match text.parse::<Ndc>() {
                Ok(ndc) => out.push(Some(ndc.to_string())),
                Err(_) if on_error == OnError::Null => out.push(None),
                Err(error) => return Err((index, error)),
            }
        }
        Ok(out)
    });
    let normalized = normalized.map_err(|(index, error)| {
        errors::domain_with(
            py,
            error.code(),
            error.id(),
            format!("values[{index}]: {error}"),
        )
    })?;
    PyList::new(py, normalized)
}

/// Validates a DEA registration number (format and check digit); returns a dict with the
/// number, its base and suffix, the registrant type (and whether its letter is a known
/// one), the second character and, given `last_name`, whether that character matches it
/// (`None` without a last name). Raises `pharm.CoreError` (`core.dea_format`,
/// `core.dea_check_digit`) for an invalid number, TypeError for a non-`str` argument.
#[pyfunction]
#[pyo3(signature = (dea, last_name = None))]
pub(crate) fn validate_dea<'py>(
    py: Python<'py>,
    dea: &str,
    last_name: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let number: DeaNumber = dea.parse().map_err(|error| errors::domain(py, &error))?;
    json::to_py(py, &number.report(last_name))
}

/// The answer of `parse_datamatrix`.
#[derive(Serialize)]
struct Gs1Answer {
    #[serde(flatten)]
    data: DataMatrix,
    ndc10_digits: Option<String>,
}

/// Parses GS1 element strings as a DataMatrix (or GS1-128, GS1 QR) scanner sends them
/// (with or without a symbology identifier, FNC1 as the GS character), or their
/// human-readable form when the text starts with `(`; returns a dict of the GTIN, expiry,
/// lot, serial and the NDC's 10 digits when the GTIN carries one. Raises `pharm.CoreError`
/// (`core.gs1_*`) for malformed data, TypeError for a non-`str` argument.
#[pyfunction]
pub(crate) fn parse_datamatrix<'py>(py: Python<'py>, data: &str) -> PyResult<Bound<'py, PyAny>> {
    let data = parse_scanned(data).map_err(|error| errors::domain(py, &error))?;
    let answer = Gs1Answer {
        ndc10_digits: data.gtin.ndc10_digits(),
        data,
    };
    json::to_py(py, &answer)
}
