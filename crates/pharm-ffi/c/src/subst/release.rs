//! Loading an Orange Book release (`products.txt`) from bytes or a path, into a new
//! service or in place of the current release.

use std::fs::File;
use std::io::Read;

use ::pharm_subst::products::{ParseLimits, ParseMode, parse_products};
use ::pharm_subst::{BindingInputError, Catalog, Release};
use pharm_core::time::Date;

use super::{
    PHARM_SUBST_MAX_LABEL_BYTES, PHARM_SUBST_MAX_PATH_BYTES, PHARM_SUBST_MAX_PRODUCTS_BYTES,
    pharm_subst, to_json,
};
use crate::boundary;
use crate::error::Failure;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

/// Longest release date text accepted (`YYYY-MM-DD` is 10 bytes).
const MAX_DATE_BYTES: usize = 64;

/// The release's date and label, as the caller gave them.
struct ReleaseInfo {
    released: Date,
    label: String,
}

impl ReleaseInfo {
    /// Reads and checks the date and label arguments.
    ///
    /// # Safety
    /// Each pointer points to its length in readable bytes, or is NULL with length 0.
    unsafe fn read(
        released: *const u8,
        released_len: usize,
        label: *const u8,
        label_len: usize,
    ) -> Result<ReleaseInfo, Failure> {
        // SAFETY: the caller's contract is this function's.
        let released = unsafe { input::text(released, released_len, "released", MAX_DATE_BYTES) }?;
        // SAFETY: as above.
        let label = unsafe { input::text(label, label_len, "label", PHARM_SUBST_MAX_LABEL_BYTES) }?;
        Ok(ReleaseInfo {
            released: released.parse()?,
            label: label.to_owned(),
        })
    }

    /// Parses `products.txt` (strict: the first bad row refuses the whole file) and builds
    /// the release.
    fn build(self, products: &[u8]) -> Result<Release, Failure> {
        let limits = ParseLimits {
            max_bytes: PHARM_SUBST_MAX_PRODUCTS_BYTES,
            ..ParseLimits::default()
        };
        let parsed = parse_products(products, ParseMode::Strict, &limits)?;
        Ok(Release {
            catalog: Catalog::build(parsed.products)?,
            released: self.released,
            label: self.label,
        })
    }
}

/// Reads the file at the caller's UTF-8 path, at most `PHARM_SUBST_MAX_PRODUCTS_BYTES`.
///
/// # Safety
/// `path` points to `path_len` readable bytes, or is NULL with `path_len` 0.
unsafe fn read_file(path: *const u8, path_len: usize) -> Result<Vec<u8>, Failure> {
    // SAFETY: the caller's contract is this function's.
    let path = unsafe { input::text(path, path_len, "path", PHARM_SUBST_MAX_PATH_BYTES) }?;
    let unreadable = |error: std::io::Error| BindingInputError::FileUnreadable {
        path: path.to_owned(),
        reason: error.to_string(),
    };
    let too_large = |len: u64| {
        Failure::own(
            pharm_result::InputTooLarge,
            format!(
                "{path:?} is {len} bytes or more; at most {PHARM_SUBST_MAX_PRODUCTS_BYTES} are accepted"
            ),
        )
    };
    let file = File::open(path).map_err(unreadable)?;
    let len = file.metadata().map_err(unreadable)?.len();
    let max = PHARM_SUBST_MAX_PRODUCTS_BYTES as u64;
    if len > max {
        return Err(too_large(len));
    }
    // The file may grow between the size check and the read: read one byte past the
    // limit at most, to tell.
    let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(max + 1)
        .read_to_end(&mut data)
        .map_err(unreadable)?;
    if data.len() > PHARM_SUBST_MAX_PRODUCTS_BYTES {
        return Err(too_large(max + 1));
    }
    Ok(data)
}

/// The release in `products` with the caller's date and label.
///
/// # Safety
/// Each pointer points to its length in readable bytes, or is NULL with length 0.
unsafe fn release_from_bytes(
    products: *const u8,
    products_len: usize,
    released: *const u8,
    released_len: usize,
    label: *const u8,
    label_len: usize,
) -> Result<Release, Failure> {
    // SAFETY: the caller's contract is this function's.
    let info = unsafe { ReleaseInfo::read(released, released_len, label, label_len) }?;
    // SAFETY: as above.
    let products = unsafe {
        input::bytes(
            products,
            products_len,
            "products",
            PHARM_SUBST_MAX_PRODUCTS_BYTES,
        )
    }?;
    info.build(products)
}

/// The release in the file at `path` with the caller's date and label.
///
/// # Safety
/// Each pointer points to its length in readable bytes, or is NULL with length 0.
unsafe fn release_from_path(
    path: *const u8,
    path_len: usize,
    released: *const u8,
    released_len: usize,
    label: *const u8,
    label_len: usize,
) -> Result<Release, Failure> {
    // SAFETY: the caller's contract is this function's.
    let info = unsafe { ReleaseInfo::read(released, released_len, label, label_len) }?;
    // SAFETY: as above.
    let products = unsafe { read_file(path, path_len) }?;
    info.build(&products)
}

/// A service loaded with the Orange Book `products.txt` in `products` (`products_len`
/// bytes, at most `PHARM_SUBST_MAX_PRODUCTS_BYTES`; the 13- and 14-column layouts, CRLF or
/// LF). Parsing is strict: a malformed, truncated or garbage file is refused with the
/// error of its first bad line (`subst.missing_header`, `subst.bad_row`...).
///
/// `released`: the release's publication date as ISO 8601 text (`"2026-05-01"`, UTF-8,
/// `released_len` bytes), the date its age is counted from; `label`: a name for logs and
/// `pharm_subst_status()` (`"2026-05"`, at most `PHARM_SUBST_MAX_LABEL_BYTES` bytes, may be
/// empty); `max_age_days` as for `pharm_subst_new()`. The bytes are not kept after the call.
///
/// On success `*out` receives a new handle the caller frees with `pharm_subst_free()`.
///
/// # Safety
/// `products`, `released` and `label` must each point to their length in readable bytes
/// (or be NULL with length 0); `out` must be NULL or point to a writable `pharm_subst *`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pharm_subst_new_from_bytes(
    products: *const u8,
    products_len: usize,
    released: *const u8,
    released_len: usize,
    label: *const u8,
    label_len: usize,
    max_age_days: u32,
    out: *mut *mut pharm_subst,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract is this function's.
        let release = unsafe {
            release_from_bytes(
                products,
                products_len,
                released,
                released_len,
                label,
                label_len,
            )
        }?;
        let subst = pharm_subst::new(max_age_days);
        subst.service.load(release);
        out.set(subst);
        Ok(())
    })
}

/// A service loaded with the Orange Book `products.txt` file at `path` (UTF-8,
/// `path_len` bytes, at most `PHARM_SUBST_MAX_PATH_BYTES`; relative to the process's
/// working directory). A file that cannot be opened or read (missing, a directory, no
/// permission) is `subst.file_unreadable`; a file larger than
/// `PHARM_SUBST_MAX_PRODUCTS_BYTES` is `PHARM_RESULT_INPUT_TOO_LARGE`; otherwise as
/// `pharm_subst_new_from_bytes()`.
///
/// On success `*out` receives a new handle the caller frees with `pharm_subst_free()`.
///
/// # Safety
/// `path`, `released` and `label` must each point to their length in readable bytes (or
/// be NULL with length 0); `out` must be NULL or point to a writable `pharm_subst *`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pharm_subst_new_from_path(
    path: *const u8,
    path_len: usize,
    released: *const u8,
    released_len: usize,
    label: *const u8,
    label_len: usize,
    max_age_days: u32,
    out: *mut *mut pharm_subst,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract is this function's.
        let release =
            unsafe { release_from_path(path, path_len, released, released_len, label, label_len) }?;
        let subst = pharm_subst::new(max_age_days);
        subst.service.load(release);
        out.set(subst);
        Ok(())
    })
}

/// Replaces the service's release with the `products.txt` in `products` (parsed as by
/// `pharm_subst_new_from_bytes()`, with its `released` date and `label`). Parsing happens
/// before the swap: on failure the current release (or none) stays and keeps answering.
///
/// On success `*out_diff` receives what changed, as JSON the caller frees with
/// `pharm_bytes_free()`: `{"added": ["A207687-001", ...], "removed": [...],
/// "te_changed": [["N021402-005", ["AB1", "AB2"], ["AB1", "AB2", "AB3"]], ...],
/// "status_changed": [...]}` (product keys; on the first load every product is "added").
///
/// Thread safety: safe while other threads query or update the handle: the release is
/// replaced atomically and queries already running finish on the old one.
///
/// # Safety
/// `subst` must be NULL or a live handle; `products`, `released` and `label` must each
/// point to their length in readable bytes (or be NULL with length 0); `out_diff` must be
/// NULL or point to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pharm_subst_load_bytes(
    subst: *const pharm_subst,
    products: *const u8,
    products_len: usize,
    released: *const u8,
    released_len: usize,
    label: *const u8,
    label_len: usize,
    out_diff: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |subst: &pharm_subst| {
        let out = Out::new(out_diff, "out_diff")?;
        // SAFETY: the caller's contract is this function's.
        let release = unsafe {
            release_from_bytes(
                products,
                products_len,
                released,
                released_len,
                label,
                label_len,
            )
        }?;
        let diff = subst.service.load(release);
        out.set_bytes(to_json(&diff)?);
        Ok(())
    };
    // SAFETY: `subst` is NULL or a live handle (the caller's contract).
    unsafe { boundary::call_with(subst, "subst", body) }
}

/// Replaces the service's release with the `products.txt` file at `path`, as
/// `pharm_subst_load_bytes()` does with bytes; the path and file rules are those of
/// `pharm_subst_new_from_path()`. On failure the current release stays.
///
/// # Safety
/// `subst` must be NULL or a live handle; `path`, `released` and `label` must each point
/// to their length in readable bytes (or be NULL with length 0); `out_diff` must be NULL
/// or point to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pharm_subst_load_path(
    subst: *const pharm_subst,
    path: *const u8,
    path_len: usize,
    released: *const u8,
    released_len: usize,
    label: *const u8,
    label_len: usize,
    out_diff: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |subst: &pharm_subst| {
        let out = Out::new(out_diff, "out_diff")?;
        // SAFETY: the caller's contract is this function's.
        let release =
            unsafe { release_from_path(path, path_len, released, released_len, label, label_len) }?;
        let diff = subst.service.load(release);
        out.set_bytes(to_json(&diff)?);
        Ok(())
    };
    // SAFETY: `subst` is NULL or a live handle (the caller's contract).
    unsafe { boundary::call_with(subst, "subst", body) }
}
