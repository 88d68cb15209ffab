//! Tables out: columns built in Rust, handed to Python as a `pyarrow.RecordBatch` through
//! the Arrow C data interface (no copy of the column buffers), or as a dict of lists.
//!
//! Every function that returns a table takes `format`: `"arrow"` (a `pyarrow.RecordBatch`;
//! ImportError without pyarrow), `"dict"` (a dict of column name to list) or `"auto"`
//! (the default: arrow when pyarrow can be imported, else dict). pandas takes the batch
//! with `.to_pandas()`, polars with `polars.from_arrow(batch)`.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3_arrow::PyRecordBatch;

/// One column's values; `None` is a null.
pub(crate) enum Values {
    /// UTF-8 text.
    Text(Vec<Option<String>>),
    /// Unsigned integers.
    UInt(Vec<Option<u64>>),
    /// Signed integers.
    Int(Vec<Option<i64>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Text(v) => v.len(),
            Values::UInt(v) => v.len(),
            Values::Int(v) => v.len(),
            Values::Bool(v) => v.len(),
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            Values::Text(_) => DataType::Utf8,
            Values::UInt(_) => DataType::UInt64,
            Values::Int(_) => DataType::Int64,
            Values::Bool(_) => DataType::Boolean,
        }
    }

    fn nullable(&self) -> bool {
        match self {
            Values::Text(v) => v.iter().any(Option::is_none),
            Values::UInt(v) => v.iter().any(Option::is_none),
            Values::Int(v) => v.iter().any(Option::is_none),
            Values::Bool(v) => v.iter().any(Option::is_none),
        }
    }

    fn to_arrow(&self) -> ArrayRef {
        match self {
            Values::Text(v) => Arc::new(v.iter().map(Option::as_deref).collect::<StringArray>()),
            Values::UInt(v) => Arc::new(v.iter().copied().collect::<UInt64Array>()),
            Values::Int(v) => Arc::new(v.iter().copied().collect::<Int64Array>()),
            Values::Bool(v) => Arc::new(v.iter().copied().collect::<BooleanArray>()),
        }
    }

    fn to_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        match self {
            Values::Text(v) => PyList::new(py, v),
            Values::UInt(v) => PyList::new(py, v),
            Values::Int(v) => PyList::new(py, v),
            Values::Bool(v) => PyList::new(py, v),
        }
    }
}

/// A table: named columns of equal length, in order.
#[derive(Default)]
pub(crate) struct Table {
    columns: Vec<(&'static str, Values)>,
}

impl Table {
    /// An empty table (no columns).
    pub(crate) fn new() -> Table {
        Table::default()
    }

    /// Adds a column (all columns must have the same length; checked on output).
    pub(crate) fn column(mut self, name: &'static str, values: Values) -> Table {
        self.columns.push((name, values));
        self
    }

    fn rows(&self) -> PyResult<usize> {
        let rows = self.columns.first().map_or(0, |(_, values)| values.len());
        match self.columns.iter().find(|(_, values)| values.len() != rows) {
            Some((name, values)) => Err(PyValueError::new_err(format!(
                "column {name} has {} rows, the first column {rows}",
                values.len()
            ))),
            None => Ok(rows),
        }
    }

    /// The table as an Arrow record batch.
    fn to_batch(&self) -> PyResult<RecordBatch> {
        let rows = self.rows()?;
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(name, values)| Field::new(*name, values.data_type(), values.nullable()))
            .collect();
        let arrays: Vec<ArrayRef> = self.columns.iter().map(|(_, v)| v.to_arrow()).collect();
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)
            .map_err(|error| PyValueError::new_err(error.to_string()))
    }

    /// The table as a dict of column name to list.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.rows()?;
        let dict = PyDict::new(py);
        for (name, values) in &self.columns {
            dict.set_item(*name, values.to_list(py)?)?;
        }
        Ok(dict.into_any())
    }

    /// The table in the caller's `format` (see the module documentation).
    pub(crate) fn emit<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyAny>> {
        match Format::parse(format)? {
            Format::Dict => self.to_dict(py),
            Format::Arrow => PyRecordBatch::new(self.to_batch()?).into_pyarrow(py),
            Format::Auto if py.import("pyarrow").is_ok() => {
                PyRecordBatch::new(self.to_batch()?).into_pyarrow(py)
            }
            Format::Auto => self.to_dict(py),
        }
    }
}

/// The `format` argument of the table functions.
#[derive(Clone, Copy)]
enum Format {
    Auto,
    Arrow,
    Dict,
}

impl Format {
    fn parse(format: &str) -> PyResult<Format> {
        match format {
            "auto" => Ok(Format::Auto),
            "arrow" => Ok(Format::Arrow),
            "dict" => Ok(Format::Dict),
            other => Err(PyValueError::new_err(format!(
                "format must be \"auto\", \"arrow\" or \"dict\", not {other:?}"
            ))),
        }
    }
}
