//! The substitution service handle: an FDA Orange Book release (`products.txt`, from bytes
//! or a path) in a `pharm_subst::SubstitutionService`, swapped atomically while queries
//! run, and the store's packages (sku ↔ NDC ↔ product key). Queries and answers are JSON
//! (`query.rs`, `json.rs`); loading is in `release.rs`.
//!
//! Every call takes `const pharm_subst *`: queries read a snapshot, and the two updates
//! (a release swap, a new package list) replace one `Arc` under a lock, so they may run
//! on any thread while queries run on others. Only `pharm_subst_free` needs exclusive use.

mod json;
mod query;
mod release;
#[cfg(test)]
mod tests;

use std::sync::{Arc, PoisonError, RwLock};

use ::pharm_subst::{Degraded, ProductMap, ProductRow, SubstitutionService};
use pharm_core::time::{Date, DateTime};
use serde::Serialize;

use crate::boundary::{self, Handle, Poison};
use crate::error::Failure;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

pub use query::{pharm_subst_explain, pharm_subst_is_single_source, pharm_subst_substitutes};
pub use release::{
    pharm_subst_load_bytes, pharm_subst_load_path, pharm_subst_new_from_bytes,
    pharm_subst_new_from_path,
};

/// Largest Orange Book `products.txt` accepted, from bytes or from a file: 64 MiB, the
/// parser's own limit (the FDA file is about 8 MB).
pub const PHARM_SUBST_MAX_PRODUCTS_BYTES: usize = 64 << 20;

/// Longest path accepted by the `_path` calls, in bytes.
pub const PHARM_SUBST_MAX_PATH_BYTES: usize = 4096;

/// Longest release label accepted, in bytes.
pub const PHARM_SUBST_MAX_LABEL_BYTES: usize = 256;

/// Largest JSON query accepted by `pharm_subst_substitutes()` and `pharm_subst_explain()`:
/// 4 MiB, the limit of the family's JSON documents.
pub const PHARM_SUBST_MAX_QUERY_BYTES: usize = 4 << 20;

/// Largest JSON package list accepted by `pharm_subst_set_packages()`: 16 MiB (about
/// 200,000 packages).
pub const PHARM_SUBST_MAX_PACKAGES_BYTES: usize = 16 << 20;

// The limits above that name another crate's limit stay equal to it.
const _: () = assert!(PHARM_SUBST_MAX_PRODUCTS_BYTES == ::pharm_subst::products::DEFAULT_MAX_BYTES);
const _: () = assert!(PHARM_SUBST_MAX_QUERY_BYTES == pharm_core::contract::MAX_DOCUMENT_BYTES);

/// Largest UTC offset accepted (`utc_offset_s`), in seconds either way: 18 hours.
pub const PHARM_SUBST_MAX_UTC_OFFSET_S: i32 = 18 * 3600;

/// A substitution service: the current Orange Book release (or none), the store's
/// packages, and the substitution and explain queries on them.
///
/// Make one with `pharm_subst_new()` (no release yet: answers are degraded),
/// `pharm_subst_new_from_bytes()` or `pharm_subst_new_from_path()`; swap releases with
/// `pharm_subst_load_bytes()` / `pharm_subst_load_path()`; free it with
/// `pharm_subst_free()`.
///
/// Thread safety: may be shared by threads. Every call but `pharm_subst_free()` takes
/// `const pharm_subst *` and is safe concurrently with every other, including the updates
/// (`pharm_subst_load_*`, `pharm_subst_set_packages()`): they replace the release or the
/// package list atomically, so a query sees the old one or the new one, never a mix. This
/// is the one handle whose `const` calls may change what later calls see; the change is
/// internally synchronized.
#[derive(Debug)]
pub struct pharm_subst {
    poison: Poison,
    service: SubstitutionService,
    packages: RwLock<Arc<ProductMap>>,
}

impl Handle for pharm_subst {
    fn poison(&self) -> &Poison {
        &self.poison
    }
}

// Shared by threads without a lock on the C side (see the type's documentation).
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<pharm_subst>();
};

impl pharm_subst {
    fn new(max_age_days: u32) -> pharm_subst {
        pharm_subst {
            poison: Poison::default(),
            service: SubstitutionService::new(max_age_days),
            packages: RwLock::new(Arc::new(ProductMap::default())),
        }
    }

    /// The current package list.
    fn packages(&self) -> Arc<ProductMap> {
        Arc::clone(&self.packages.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn set_packages(&self, packages: ProductMap) {
        *self
            .packages
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(packages);
    }
}

/// The store-local date of the caller's clock reading.
fn today(now_unix_ms: i64, utc_offset_s: i32) -> Result<Date, Failure> {
    if !(-PHARM_SUBST_MAX_UTC_OFFSET_S..=PHARM_SUBST_MAX_UTC_OFFSET_S).contains(&utc_offset_s) {
        return Err(Failure::invalid(
            "utc_offset_s",
            format!(
                "{utc_offset_s} s is not a UTC offset (at most {PHARM_SUBST_MAX_UTC_OFFSET_S} s either way)"
            ),
        ));
    }
    Ok(DateTime::from_unix_ms(now_unix_ms, utc_offset_s).date())
}

/// Serializes an answer for the caller.
fn to_json(value: &impl Serialize) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(value).map_err(|error| Failure::invalid("answer", error))
}

/// An empty substitution service: no release is loaded, so every substitution answer is
/// the written product only, flagged `"degraded": {"kind": "no_catalog"}`, and explain
/// and single-source queries fail with `subst.no_catalog` until a release is loaded with
/// `pharm_subst_load_bytes()` or `pharm_subst_load_path()`.
///
/// `max_age_days`: a release older than this many days (publication date to the store's
/// date of the query) gives degraded answers (`"degraded": {"kind": "stale", ...}`).
///
/// On success `*out` receives a new handle the caller frees with `pharm_subst_free()`.
///
/// # Safety
/// `out` must be NULL or point to a writable `pharm_subst *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_subst_new(
    max_age_days: u32,
    out: *mut *mut pharm_subst,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        out.set(pharm_subst::new(max_age_days));
        Ok(())
    })
}

/// Replaces the store's packages: the JSON array `[{"sku": 1, "ndc": "0071-0155-23",
/// "product": "N020702-001"}, ...]` (the store's item id, the package NDC and the Orange
/// Book product key; unknown fields rejected; a sku listed twice is
/// `subst.map_duplicate_sku`, an NDC listed twice `subst.map_duplicate_ndc`).
/// Each choice of a substitution answer lists the store's packages of its product in sku
/// order. `[]` clears the list. At most `PHARM_SUBST_MAX_PACKAGES_BYTES` bytes. On failure
/// the current list stays.
///
/// Thread safety: safe concurrently with queries and other updates (the list is replaced
/// atomically).
///
/// # Safety
/// `subst` must be NULL or a live handle; `json` must point to `json_len` readable bytes
/// (or be NULL with `json_len` 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_subst_set_packages(
    subst: *const pharm_subst,
    json: *const u8,
    json_len: usize,
) -> pharm_result {
    let body = |subst: &pharm_subst| {
        // SAFETY: `json` points to `json_len` readable bytes or is NULL with 0 (the
        // caller's contract).
        let text = unsafe { input::text(json, json_len, "json", PHARM_SUBST_MAX_PACKAGES_BYTES) }?;
        let rows: Vec<ProductRow> = json::parse("packages", text)?;
        subst.set_packages(ProductMap::from_rows(rows)?);
        Ok(())
    };
    // SAFETY: `subst` is NULL or a live handle (the caller's contract).
    unsafe { boundary::call_with(subst, "subst", body) }
}

#[derive(Serialize)]
struct Status<'a> {
    release: Option<ReleaseStatus<'a>>,
    degraded: Option<&'a Degraded>,
    packages: usize,
}

#[derive(Serialize)]
struct ReleaseStatus<'a> {
    label: &'a str,
    released: Date,
    products: usize,
    equivalences: usize,
}

/// What the service holds as of the store's date (`now_unix_ms`, the caller's clock in
/// Unix milliseconds, plus `utc_offset_s`, the store's offset from UTC in seconds, east
/// positive): JSON `{"release": {"label": "2026-05", "released": "2026-05-01",
/// "products": 60, "equivalences": 43} or null, "degraded": null or {"kind": "no_catalog"}
/// or {"kind": "stale", "age_days": 46, "max_age_days": 45}, "packages": 7}`.
///
/// On success `*out` receives the JSON, which the caller frees with `pharm_bytes_free()`.
///
/// # Safety
/// `subst` must be NULL or a live handle; `out` must be NULL or point to a writable
/// `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_subst_status(
    subst: *const pharm_subst,
    now_unix_ms: i64,
    utc_offset_s: i32,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |subst: &pharm_subst| {
        let out = Out::new(out, "out")?;
        let snapshot = subst.service.snapshot(today(now_unix_ms, utc_offset_s)?);
        let status = Status {
            release: snapshot.release().map(|release| ReleaseStatus {
                label: &release.label,
                released: release.released,
                products: release.catalog.len(),
                equivalences: release.catalog.edge_count(),
            }),
            degraded: snapshot.degraded(),
            packages: subst.packages().len(),
        };
        out.set_bytes(to_json(&status)?);
        Ok(())
    };
    // SAFETY: `subst` is NULL or a live handle (the caller's contract).
    unsafe { boundary::call_with(subst, "subst", body) }
}

/// Frees the service. `pharm_subst_free(NULL)` does nothing; works on a poisoned handle;
/// freeing twice or using the handle afterwards is undefined.
///
/// # Safety
/// `subst` must be NULL or a handle from this library not yet freed, not in use by
/// another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_subst_free(subst: *mut pharm_subst) {
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::free(subst) }
}
