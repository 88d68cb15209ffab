//! Documents in and out: a `str` is taken as JSON text; a `dict` is written with the
//! standard `json` module; results come back as Python objects through `json.loads`.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde::Serialize;

/// The JSON text of a document argument: a `str` as it is, a `dict` through
/// `json.dumps` (which raises TypeError for values JSON cannot hold, ValueError for
/// circular ones). Any other type is a TypeError naming `argument`.
pub(crate) fn text_of(document: &Bound<'_, PyAny>, argument: &str) -> PyResult<String> {
    if let Ok(text) = document.cast::<PyString>() {
        return Ok(text.to_str()?.to_owned());
    }
    if document.is_instance_of::<PyDict>() {
        let py = document.py();
        let options = PyDict::new(py);
        // NaN and infinities are refused: no floats cross the contract.
        options.set_item("allow_nan", false)?;
        let dumped = py
            .import("json")?
            .getattr("dumps")?
            .call((document,), Some(&options))?;
        return Ok(dumped.cast::<PyString>()?.to_str()?.to_owned());
    }
    Err(PyTypeError::new_err(format!(
        "{argument} must be a dict or a JSON str, not {}",
        document.get_type().name()?
    )))
}

/// A value as its JSON text, as pharm-core writes it.
pub(crate) fn to_text<T: Serialize + ?Sized>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|error| PyValueError::new_err(error.to_string()))
}

/// JSON text as a Python object (`json.loads`).
pub(crate) fn load<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.getattr("loads")?.call1((text,))
}

/// A value as a Python object, through its JSON form.
pub(crate) fn to_py<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    load(py, &to_text(value)?)
}
