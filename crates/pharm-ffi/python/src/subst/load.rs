//! Reading and parsing a release: bytes or a file (size-limited), strict parsing, the
//! catalog built.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use pharm_core::time::Date;
use pharm_subst::products::{DEFAULT_MAX_BYTES, ParseLimits, ParseMode, parse_products};
use pharm_subst::{BindingInputError, Catalog, Release};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors;

/// Largest `products.txt` accepted, from bytes or a file: 64 MiB, the parser's own limit
/// (the FDA file is about 8 MB).
pub(super) const MAX_PRODUCTS_BYTES: usize = DEFAULT_MAX_BYTES;

/// Longest release label accepted, in bytes.
const MAX_LABEL_BYTES: usize = 256;

/// Parses `products.txt` strictly (the first bad line refuses the file) into a release.
/// Runs without the GIL.
pub(super) fn release(
    py: Python<'_>,
    products: &[u8],
    released: Date,
    label: &str,
) -> PyResult<Release> {
    if products.len() > MAX_PRODUCTS_BYTES {
        return Err(PyValueError::new_err(format!(
            "products is {} bytes; at most {MAX_PRODUCTS_BYTES} are accepted",
            products.len()
        )));
    }
    if label.len() > MAX_LABEL_BYTES {
        return Err(PyValueError::new_err(format!(
            "label is {} bytes; at most {MAX_LABEL_BYTES} are accepted",
            label.len()
        )));
    }
    let limits = ParseLimits {
        max_bytes: MAX_PRODUCTS_BYTES,
        ..ParseLimits::default()
    };
    let parsed = py
        .detach(|| parse_products(products, ParseMode::Strict, &limits))
        .map_err(|error| errors::domain(py, &error))?;
    let catalog = py
        .detach(|| Catalog::build(parsed.products))
        .map_err(|error| errors::domain(py, &error))?;
    Ok(Release {
        catalog,
        released,
        label: label.to_owned(),
    })
}

/// The bytes of the file at `path`, at most [`MAX_PRODUCTS_BYTES`]; a file that cannot be
/// read is `subst.file_unreadable`, a larger one a ValueError.
pub(super) fn read(py: Python<'_>, path: &PathBuf) -> PyResult<Vec<u8>> {
    let shown = path.display().to_string();
    let unreadable = |error: std::io::Error| {
        let error = BindingInputError::FileUnreadable {
            path: shown.clone(),
            reason: error.to_string(),
        };
        errors::domain(py, &error)
    };
    let max = MAX_PRODUCTS_BYTES as u64;
    let file = File::open(path).map_err(unreadable)?;
    let mut data = Vec::new();
    // One byte past the limit at most, to tell a file that is too large.
    py.detach(|| file.take(max + 1).read_to_end(&mut data))
        .map_err(unreadable)?;
    if data.len() > MAX_PRODUCTS_BYTES {
        return Err(PyValueError::new_err(format!(
            "{shown:?} is more than {MAX_PRODUCTS_BYTES} bytes"
        )));
    }
    Ok(data)
}
