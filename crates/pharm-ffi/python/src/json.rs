//! Documents in and out. In: a `str` is JSON text, read with positions in its errors; a
//! `dict` (or a `list` where a list is expected) is turned into a JSON value in Rust
//! ([`Document`]), without JSON text between, then read by the same serde types. Out:
//! answers become Python objects from their JSON value (`pythonize`), the same values
//! `json.loads` of the JSON text would give.

use pharm_core::contract::{JsonRefusal, read_json_str, read_json_value};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

/// Deepest nesting accepted in a document given as Python objects (serde_json's own limit
/// for text); a deeper one, or one that contains itself, is a ValueError.
const MAX_DEPTH: usize = 128;

/// A document argument: JSON text, or a JSON value made from Python objects.
pub(crate) enum Document {
    /// A `str`: JSON text.
    Text(String),
    /// A `dict` or `list`, as a JSON value.
    Value(Value),
}

impl Document {
    /// Reads the document as a `T`; `name` names it in a refusal.
    pub(crate) fn read<T: DeserializeOwned, E: JsonRefusal>(
        self,
        name: &'static str,
    ) -> Result<T, E> {
        match self {
            Document::Text(text) => read_json_str(name, &text),
            Document::Value(value) => read_json_value(name, value),
        }
    }
}

/// A document argument that is an object: a `str` (JSON text) or a `dict`. Any other type
/// is a TypeError naming `argument`.
pub(crate) fn document(value: &Bound<'_, PyAny>, argument: &str) -> PyResult<Document> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Document::Text(text.to_str()?.to_owned()));
    }
    if value.is_instance_of::<PyDict>() {
        return Ok(Document::Value(value_of(value, 0)?));
    }
    Err(PyTypeError::new_err(format!(
        "{argument} must be a dict or a JSON str, not {}",
        value.get_type().name()?
    )))
}

/// A document argument that is an array: a `str` (JSON text), a `list` or a `tuple`. Any
/// other type is a TypeError naming `argument`.
pub(crate) fn document_list(value: &Bound<'_, PyAny>, argument: &str) -> PyResult<Document> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Document::Text(text.to_str()?.to_owned()));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        return Ok(Document::Value(value_of(value, 0)?));
    }
    Err(PyTypeError::new_err(format!(
        "{argument} must be a list or a JSON str, not {}",
        value.get_type().name()?
    )))
}

/// The JSON text of a document argument (`str` or `dict`), for readers that take text (a
/// dict's text is written from its JSON value in Rust).
pub(crate) fn text_of(value: &Bound<'_, PyAny>, argument: &str) -> PyResult<String> {
    match document(value, argument)? {
        Document::Text(text) => Ok(text),
        Document::Value(value) => to_text(&value),
    }
}

/// The JSON text of a document argument (`str`, `dict` or `list`) written by Python's
/// `json.dumps` (refusing NaN and infinities), for documents whose integers may exceed 64
/// bits (the exact sums of aggregates), which a JSON value cannot hold.
pub(crate) fn dumps(value: &Bound<'_, PyAny>, argument: &str) -> PyResult<String> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(text.to_str()?.to_owned());
    }
    if !(value.is_instance_of::<PyDict>() || value.is_instance_of::<PyList>()) {
        return Err(PyTypeError::new_err(format!(
            "{argument} must be a dict or a JSON str, not {}",
            value.get_type().name()?
        )));
    }
    let py = value.py();
    let options = PyDict::new(py);
    options.set_item("allow_nan", false)?;
    let dumped = py
        .import("json")?
        .getattr("dumps")?
        .call((value,), Some(&options))?;
    Ok(dumped.cast::<PyString>()?.to_str()?.to_owned())
}

/// The JSON value of Python objects as `json.dumps` would write them, but stricter: `None`,
/// `bool`, `int` (within 64 bits), `float` (finite), `str`, `list`/`tuple` and `dict` with
/// `str` keys. Anything else is a TypeError; a non-finite float, an integer out of range or
/// nesting deeper than [`MAX_DEPTH`] (a container that contains itself) a ValueError.
fn value_of(value: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "document is nested more than {MAX_DEPTH} levels deep (or contains itself)"
        )));
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(flag) = value.cast::<PyBool>() {
        return Ok(Value::Bool(flag.is_true()));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Value::String(text.to_str()?.to_owned()));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "document keys must be str, not {}",
                    key.get_type().name()?
                )));
            };
            map.insert(key.to_str()?.to_owned(), value_of(&item, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = value.cast::<PyList>() {
        return list
            .iter()
            .map(|item| value_of(&item, depth + 1))
            .collect::<PyResult<Vec<Value>>>()
            .map(Value::Array);
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        return tuple
            .iter()
            .map(|item| value_of(&item, depth + 1))
            .collect::<PyResult<Vec<Value>>>()
            .map(Value::Array);
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(number) = value.extract::<i64>() {
            return Ok(Value::Number(number.into()));
        }
        if let Ok(number) = value.extract::<u64>() {
            return Ok(Value::Number(number.into()));
        }
        return Err(PyValueError::new_err(format!(
            "integer {value} does not fit in 64 bits"
        )));
    }
    if let Ok(float) = value.cast::<PyFloat>() {
        return Number::from_f64(float.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{float} is not a finite number")));
    }
    Err(PyTypeError::new_err(format!(
        "Object of type {} is not JSON serializable",
        value.get_type().name()?
    )))
}

/// A value as its JSON text, as the crates write it.
pub(crate) fn to_text<T: Serialize + ?Sized>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|error| PyValueError::new_err(error.to_string()))
}

/// JSON text as a Python object (`json.loads`).
pub(crate) fn load<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.getattr("loads")?.call1((text,))
}

/// A value as a Python object: what `json.loads` of its JSON text gives, built without
/// the text. It goes through its JSON value so that every shape is JSON's (a tuple becomes
/// a list, a map key a `str`), as pythonize alone would not.
pub(crate) fn to_py<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let value =
        serde_json::to_value(value).map_err(|error| PyValueError::new_err(error.to_string()))?;
    pythonize::pythonize(py, &value).map_err(|error| PyValueError::new_err(error.to_string()))
}

/// A value as a Python object built straight from its serde form, without the JSON value
/// between: faster, and exact for integers beyond 64 bits (which a JSON value cannot hold).
/// Only for types whose serde form has no tuples and no non-text map keys (which would come
/// out as tuples and non-`str` keys, not JSON's lists and `str` keys); the golden-vector
/// tests of each caller check the form.
pub(crate) fn to_py_exact<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value).map_err(|error| PyValueError::new_err(error.to_string()))
}
