//! NDC normalisation, and the product master that resolves unhyphenated 10-digit NDCs.

use std::collections::HashSet;

use pharm_core::Ndc;
use pharm_core::ids::ndc::MAX_NDC_INPUT;
use pharm_core::ids::resolve_unsegmented;
use serde::Serialize;

use super::json;
use crate::boundary::{self, Handle, Poison};
use crate::error::Failure;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

/// Largest product-master document `pharm_product_master_new()` accepts: 16 MiB, about a
/// million NDCs.
pub(crate) const MAX_PRODUCT_MASTER_BYTES: usize = 16 << 20;

/// Every form of one NDC: the JSON answer of `pharm_ndc_normalize()` and the resolutions.
#[derive(Debug, Serialize)]
pub(super) struct NdcForms {
    /// The native hyphenated form (`0002-7597-01`), the NDC's contract form.
    ndc: Ndc,
    /// `4-4-2`, `5-3-2`, `5-4-1`, `5-4-2` or `6-4-2`.
    layout: String,
    labeler_code: u32,
    product_code: u16,
    package_code: u8,
    /// The native 10 digits; null for 5-4-2 and 6-4-2 layouts.
    ndc10: Option<String>,
    /// The 11-digit billing form; null when the labeler has 6 significant digits.
    ndc11: Option<String>,
    ndc11_hyphenated: Option<String>,
    ndc12: String,
    ndc12_hyphenated: String,
}

impl NdcForms {
    pub(super) fn of(ndc: Ndc) -> NdcForms {
        NdcForms {
            layout: ndc.layout().to_string(),
            labeler_code: ndc.labeler(),
            product_code: ndc.product_code(),
            package_code: ndc.package_code(),
            ndc10: ndc.ndc10(),
            ndc11: ndc.ndc11(),
            ndc11_hyphenated: ndc.ndc11_hyphenated(),
            ndc12: ndc.ndc12(),
            ndc12_hyphenated: ndc.ndc12_hyphenated(),
            ndc,
        }
    }
}

/// Normalises an NDC given in any accepted form (`0002-7597-01`, `50242-040-62`,
/// `60575-4112-1`, `00002-7597-01`, `00002759701`, `000002759701`, a `*` placeholder as in
/// `12345-*678-90`; surrounding whitespace ignored; at most 64 bytes). `*out` receives
/// `{"ndc":"0002-7597-01","layout":"4-4-2","labeler_code":2,"product_code":7597,
/// "package_code":1,"ndc10":"0002759701","ndc11":"00002759701",
/// "ndc11_hyphenated":"00002-7597-01","ndc12":"000002759701",
/// "ndc12_hyphenated":"000002-7597-01"}` (`ndc10` is null for a 5-4-2 or 6-4-2 NDC,
/// `ndc11` and `ndc11_hyphenated` for a 6-digit labeler); the caller frees it with
/// `pharm_bytes_free()`.
///
/// Unhyphenated 10 digits are never guessed: `PHARM_RESULT_CORE_ERROR` with
/// `core.ndc_ambiguous`, the detail naming every possible reading; resolve them with
/// `pharm_product_master_resolve_ndc()`. Other errors: `PHARM_RESULT_NULL_PARAMETER`,
/// `PHARM_RESULT_INVALID_UTF8`, `PHARM_RESULT_INPUT_TOO_LARGE`, `core.ndc_syntax`,
/// `core.ndc_out_of_range`. Thread-safe.
///
/// # Safety
/// `ndc` points to `len` readable bytes (or is NULL with `len` 0); `out` is NULL or points
/// to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_ndc_normalize(
    ndc: *const u8,
    len: usize,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `len` readable bytes or NULL (caller's contract).
        let text = unsafe { input::text(ndc, len, "ndc", MAX_NDC_INPUT) }?;
        let ndc: Ndc = text.parse()?;
        out.set_bytes(json::to_vec(&NdcForms::of(ndc))?);
        Ok(())
    })
}

/// The package NDCs a store's product master (or an FDA NDC Directory extract) knows: what
/// turns unhyphenated 10 digits (from a UPC, a GTIN or manual entry) into one NDC.
///
/// Make it with `pharm_product_master_new()`, free it with `pharm_product_master_free()`.
/// Immutable: every call takes `const pharm_product_master *` and may run concurrently on
/// several threads.
#[derive(Debug)]
pub struct pharm_product_master {
    poison: Poison,
    pub(super) ndcs: HashSet<Ndc>,
}

impl Handle for pharm_product_master {
    fn poison(&self) -> &Poison {
        &self.poison
    }
}

/// Makes a product master from a JSON array of package NDCs in any form
/// `pharm_ndc_normalize()` accepts (`["0002-7597-01","50242004062"]`), at most 16 MiB.
/// Membership is by package identity, so `00002-7597-01` and `0002-7597-01` are the same
/// entry; duplicates are allowed. An unhyphenated 10-digit entry is ambiguous and
/// rejected. `*out` receives the handle; free it with `pharm_product_master_free()`.
///
/// Errors: `PHARM_RESULT_NULL_PARAMETER`, `PHARM_RESULT_INVALID_UTF8`,
/// `PHARM_RESULT_INPUT_TOO_LARGE`, `PHARM_RESULT_CORE_ERROR` with `core.contract_syntax`
/// (not JSON) or `core.contract_invalid` (not an array of NDC strings; the detail names
/// the bad entry's position).
///
/// # Safety
/// `master_json` points to `len` readable bytes (or is NULL with `len` 0); `out` is NULL
/// or points to a writable `pharm_product_master *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_product_master_new(
    master_json: *const u8,
    len: usize,
    out: *mut *mut pharm_product_master,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `len` readable bytes or NULL (caller's contract).
        let text =
            unsafe { input::text(master_json, len, "master_json", MAX_PRODUCT_MASTER_BYTES) }?;
        let ndcs: Vec<Ndc> = json::parse("product master", text)?;
        out.set(pharm_product_master {
            poison: Poison::default(),
            ndcs: ndcs.into_iter().collect(),
        });
        Ok(())
    })
}

/// Frees a product master. `pharm_product_master_free(NULL)` does nothing; works on a
/// poisoned master; using it afterwards, or freeing it twice, is undefined.
///
/// # Safety
/// `master` is NULL or a product master not yet freed and not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_product_master_free(master: *mut pharm_product_master) {
    // SAFETY: NULL or a master not yet freed nor shared (caller's contract).
    unsafe { boundary::free(master) }
}

/// The number of distinct package NDCs in the master, in `*out_n`. Errors:
/// `PHARM_RESULT_NULL_PARAMETER`, `PHARM_RESULT_POISONED`.
///
/// # Safety
/// `master` is NULL or a live product master; `out_n` is NULL or points to a writable
/// `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_product_master_len(
    master: *const pharm_product_master,
    out_n: *mut usize,
) -> pharm_result {
    let body = |master: &pharm_product_master| {
        if out_n.is_null() {
            return Err(Failure::null("out_n"));
        }
        // SAFETY: non-NULL and writable (caller's contract).
        unsafe { *out_n = master.ndcs.len() };
        Ok(())
    };
    // SAFETY: `master` is NULL or a live product master (caller's contract).
    unsafe { boundary::call_with(master, "master", body) }
}

/// Resolves an NDC against the master (rules NDC-AMBIG-01 / NDC-GTIN-01): unhyphenated 10
/// digits give the single reading the master knows, in its 10-digit layout; any other
/// form is only normalised, without consulting the master. `*out` receives the JSON of
/// `pharm_ndc_normalize()`; the caller frees it with `pharm_bytes_free()`.
///
/// Errors: `PHARM_RESULT_CORE_ERROR` with `core.ndc_ambiguous` (the master knows several
/// readings; the detail names them) or `core.ndc_not_in_master` (it knows none; the detail
/// names every reading looked up), and those of `pharm_ndc_normalize()`.
///
/// # Safety
/// `master` is NULL or a live product master; `ndc` points to `len` readable bytes (or is
/// NULL with `len` 0); `out` is NULL or points to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_product_master_resolve_ndc(
    master: *const pharm_product_master,
    ndc: *const u8,
    len: usize,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |master: &pharm_product_master| {
        let out = Out::new(out, "out")?;
        // SAFETY: `len` readable bytes or NULL (caller's contract).
        let text = unsafe { input::text(ndc, len, "ndc", MAX_NDC_INPUT) }?;
        let ndc = resolve_unsegmented(text, &master.ndcs)?;
        out.set_bytes(json::to_vec(&NdcForms::of(ndc))?);
        Ok(())
    };
    // SAFETY: `master` is NULL or a live product master (caller's contract).
    unsafe { boundary::call_with(master, "master", body) }
}
