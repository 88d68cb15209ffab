//! `pharm.core`: evaluation in a store's context, compliance checks, and identifiers
//! (NDC, DEA, GS1 DataMatrix).

mod batch;
mod context;
mod ids;

pub(crate) use context::list_items;

use pyo3::prelude::*;

/// Adds the `pharm.core` classes and functions to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<context::Context>()?;
    m.add_function(wrap_pyfunction!(context::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(context::evaluate_json, m)?)?;
    m.add_function(wrap_pyfunction!(context::evaluate_batch, m)?)?;
    m.add_function(wrap_pyfunction!(context::check_compliance, m)?)?;
    m.add_function(wrap_pyfunction!(ids::normalize_ndc, m)?)?;
    m.add_function(wrap_pyfunction!(ids::validate_dea, m)?)?;
    m.add_function(wrap_pyfunction!(ids::parse_datamatrix, m)?)?;
    Ok(())
}
