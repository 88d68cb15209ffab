//! Sync messages for inspection: their JSON form as a dict.

use pharm_sync::codec;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::replica::limits;
use crate::{errors, json};

/// Decodes one sync message (`bytes`, at most 16 MiB) to a dict: the JSON form of
/// `testdata/golden/sync/*.json`. Only decodes: the tag is not checked (no key is
/// involved). Raises `pharm.SyncError` with the decoder's code (`sync.decode_truncated`,
/// `sync.decode_bad_magic`, `sync.decode_trailing_bytes`, `sync.decode_too_large`...).
#[pyfunction]
pub(crate) fn message_to_dict<'py>(
    py: Python<'py>,
    message: &Bound<'py, PyBytes>,
) -> PyResult<Bound<'py, PyAny>> {
    let decoded =
        codec::decode(message.as_bytes(), &limits()).map_err(|error| errors::domain(py, &error))?;
    json::to_py(py, &decoded)
}
