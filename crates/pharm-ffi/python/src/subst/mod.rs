//! `pharm.subst`: an FDA Orange Book release (`products.txt`) loaded into the substitution
//! graph, its queries (substitutes, explain, single source) and its tables (products,
//! equivalence edges, multi-source groups).

mod answer;
mod book;
mod load;
mod tables;

use pyo3::prelude::*;

/// Adds the `pharm.subst` classes to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<book::OrangeBook>()?;
    m.add_class::<answer::Substitutes>()
}
