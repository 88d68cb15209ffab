//! Scatter-gather aggregates: one shard's partial aggregate from its rows, and the exact
//! merge of the shards' partials on the coordinator.

use pharm_shard::scatter::PartialAggregate;
use pyo3::prelude::*;

use super::parse;
use crate::core::list_items;
use crate::json;

/// One shard's partial aggregate (dict, the crate's `PartialAggregate`: `count`, `sum`,
/// `min`, `max`, `distinct`) over `values` (ints in base units, e.g. cents) and, when
/// given, their `distinct_keys` (same length; None for a row without a key).
#[pyfunction]
#[pyo3(signature = (values, distinct_keys = None))]
pub(crate) fn partial_aggregate<'py>(
    py: Python<'py>,
    values: Vec<i64>,
    distinct_keys: Option<Vec<Option<i64>>>,
) -> PyResult<Bound<'py, PyAny>> {
    let keys = match distinct_keys {
        Some(keys) if keys.len() != values.len() => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "distinct_keys has {} items, values {}",
                keys.len(),
                values.len()
            )));
        }
        Some(keys) => keys,
        None => vec![None; values.len()],
    };
    json::to_py_exact(
        py,
        &PartialAggregate::from_rows(values.into_iter().zip(keys)),
    )
}

/// Merges the shards' partial aggregates (each a dict or JSON str in the form
/// `partial_aggregate` returns; unknown fields are refused) exactly: counts and sums add,
/// min and max take the extreme, distinct sets unite. Returns the merged partial (itself
/// mergeable); its average is `sum / count`, never an average of averages. An empty list
/// merges to the aggregate of no rows.
#[pyfunction]
pub(crate) fn merge_aggregates<'py>(
    py: Python<'py>,
    partials: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut merged = PartialAggregate::new();
    for partial in list_items(partials, "partials")? {
        merged.merge(&parse::<PartialAggregate>(&partial, "partial aggregate")?);
    }
    json::to_py_exact(py, &merged)
}
