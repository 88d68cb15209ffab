//! `pharm._pharm`: the native module of the `pharm` Python wheel.
//!
//! The Python package (`python/pharm/`) re-exports these functions and classes from its
//! submodules (`pharm.core`, `pharm.sync`, `pharm.shard`) and defines the exception
//! hierarchy (`pharm.errors`), which this module raises (module `errors`). Documents cross
//! as JSON in the schema of the JSON contract (`schema/`), exactly as the C ABI exchanges
//! them; Python dicts are turned into that JSON with the standard `json` module and
//! decisions come back through it. The crate binds the pure crates directly, not the C ABI.

mod core;
mod errors;
mod json;
mod shard;
mod subst;
mod sync;
mod table;

use pyo3::prelude::*;

/// The native module, imported by the `pharm` package as `pharm._pharm`.
#[pymodule]
fn _pharm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    core::register(m)?;
    subst::register(m)?;
    sync::register(m)?;
    shard::register(m)
}
