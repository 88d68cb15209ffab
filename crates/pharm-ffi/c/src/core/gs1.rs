//! GS1 DataMatrix (and GS1-128, GS1 QR) element strings: GTIN, expiry, lot, serial.

use pharm_core::ids::gs1::MAX_DATAMATRIX_INPUT;
use pharm_core::ids::{DataMatrix, parse_scanned};
use serde::Serialize;

use super::json;
use super::ndc::{NdcForms, pharm_product_master};
use crate::boundary;
use crate::error::Failure;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

/// The JSON answer of `pharm_gs1_parse()` and `pharm_product_master_resolve_gs1()`: the
/// DataMatrix's contract form plus the NDC digits (and the resolved NDC).
#[derive(Debug, Serialize)]
struct Gs1Answer {
    #[serde(flatten)]
    data: DataMatrix,
    ndc10_digits: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ndc: Option<NdcForms>,
}

/// Parses scanner output or its human-readable text (`parse_scanned`).
///
/// # Safety
/// `data` points to `len` readable bytes (or is NULL with `len` 0).
unsafe fn parse(data: *const u8, len: usize) -> Result<DataMatrix, Failure> {
    // SAFETY: the caller's contract is this function's.
    let text = unsafe { input::text(data, len, "data", MAX_DATAMATRIX_INPUT) }?;
    Ok(parse_scanned(text)?)
}

/// Parses the data of a GS1 DataMatrix (the DSCSA product identifier), as a scanner sends
/// it: an optional symbology identifier (`]d2`, `]C1`, `]Q3`), then AIs 01 (GTIN), 17
/// (expiry, YYMMDD, day 00 = end of month), 10 (lot) and 21 (serial) in any order,
/// variable-length fields ended by GS (0x1D) or the end; or the human-readable text
/// printed under the barcode, `(01)00300027597010(17)270531(10)A123B(21)100000012345`,
/// when the data starts with `(`. At most 512 bytes of UTF-8.
///
/// `*out` receives `{"gtin":"00300027597010","expiry":"2027-05-31","lot":"A123B",
/// "serial":"100000012345","ndc10_digits":"0002759701"}` (`expiry`, `lot`, `serial` null
/// when absent; `ndc10_digits` the 10 unsegmented NDC digits a US drug GTIN carries, null
/// when it carries none). Turn them into an NDC with `pharm_product_master_resolve_gs1()`
/// or `pharm_product_master_resolve_ndc()`. The caller frees `*out` with
/// `pharm_bytes_free()`.
///
/// Errors: `PHARM_RESULT_CORE_ERROR` with a `core.gs1_*` code (the detail gives the byte
/// offset), `PHARM_RESULT_NULL_PARAMETER`, `PHARM_RESULT_INVALID_UTF8`,
/// `PHARM_RESULT_INPUT_TOO_LARGE`. Thread-safe.
///
/// # Safety
/// `data` points to `len` readable bytes (or is NULL with `len` 0); `out` is NULL or
/// points to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_gs1_parse(
    data: *const u8,
    len: usize,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract is this function's.
        let data = unsafe { parse(data, len) }?;
        let answer = Gs1Answer {
            ndc10_digits: data.gtin.ndc10_digits(),
            data,
            ndc: None,
        };
        out.set_bytes(json::to_vec(&answer)?);
        Ok(())
    })
}

/// Parses GS1 data as `pharm_gs1_parse()` does and resolves the NDC inside the GTIN
/// against the product master. `*out` receives the JSON of `pharm_gs1_parse()` with one
/// more member, `"ndc"`: the NDC's forms as `pharm_ndc_normalize()` gives them. The caller
/// frees it with `pharm_bytes_free()`.
///
/// Errors: those of `pharm_gs1_parse()`, and `PHARM_RESULT_CORE_ERROR` with
/// `core.gtin_not_an_ndc` (the GTIN carries no NDC) or `core.gtin_ndc` (the master knows
/// none or several of the NDC's readings; the detail names them).
///
/// # Safety
/// `master` is NULL or a live product master; otherwise as for `pharm_gs1_parse()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_product_master_resolve_gs1(
    master: *const pharm_product_master,
    data: *const u8,
    len: usize,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |master: &pharm_product_master| {
        let out = Out::new(out, "out")?;
        // SAFETY: `len` readable bytes or NULL (caller's contract).
        let data = unsafe { parse(data, len) }?;
        let ndc = data.gtin.to_ndc(&master.ndcs)?;
        let answer = Gs1Answer {
            ndc10_digits: data.gtin.ndc10_digits(),
            data,
            ndc: Some(NdcForms::of(ndc)),
        };
        out.set_bytes(json::to_vec(&answer)?);
        Ok(())
    };
    // SAFETY: `master` is NULL or a live product master (caller's contract).
    unsafe { boundary::call_with(master, "master", body) }
}
