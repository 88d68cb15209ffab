//! DEA registration number validation.

use pharm_core::DeaNumber;
use pharm_core::ids::dea::MAX_DEA_INPUT;

use super::json;
use crate::boundary;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

/// Longest prescriber last name `pharm_dea_validate()` accepts, in bytes.
pub(crate) const MAX_LAST_NAME_BYTES: usize = 1024;

/// Validates a DEA registration number (2 letters + 7 digits with a valid check digit,
/// optionally `-` and an institutional suffix of 1 to 10 letters and digits; surrounding
/// whitespace ignored, letters uppercased; at most 64 bytes), and, when `last_name` is
/// not NULL, whether its second letter matches the prescriber's last name (UTF-8, at most
/// 1024 bytes; a `9` matches any name: business registration; with `last_name` NULL,
/// `last_name_len` is ignored).
///
/// `*out` receives `{"dea":"AB1234563","base":"AB1234563","suffix":null,
/// "registrant_type":"A","known_registrant_type":true,"second_char":"B",
/// "matches_last_name":true}`: `dea` is the normalised number, `base` the 9 characters
/// without the suffix, `known_registrant_type` false for a first letter not in use
/// (worth a warning), `matches_last_name` null when `last_name` is NULL and false for a
/// mismatch (a warning in the rules, DEA-NAME-01: name change or business registration).
/// The caller frees it with `pharm_bytes_free()`. A valid check digit proves only that
/// the number is well formed, not that the registration is active.
///
/// Errors: `PHARM_RESULT_CORE_ERROR` with `core.dea_format` or `core.dea_check_digit`;
/// `PHARM_RESULT_NULL_PARAMETER`, `PHARM_RESULT_INVALID_UTF8`,
/// `PHARM_RESULT_INPUT_TOO_LARGE`. Thread-safe.
///
/// # Safety
/// `dea` points to `len` readable bytes (or is NULL with `len` 0); `last_name` is NULL or
/// points to `last_name_len` readable bytes; `out` is NULL or points to a writable
/// `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_dea_validate(
    dea: *const u8,
    len: usize,
    last_name: *const u8,
    last_name_len: usize,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: `len` readable bytes or NULL (caller's contract).
        let text = unsafe { input::text(dea, len, "dea", MAX_DEA_INPUT) }?;
        let last_name = if last_name.is_null() {
            None
        } else {
            // SAFETY: non-NULL, `last_name_len` readable bytes (caller's contract).
            Some(unsafe {
                input::text(last_name, last_name_len, "last_name", MAX_LAST_NAME_BYTES)
            }?)
        };
        let number: DeaNumber = text.parse()?;
        out.set_bytes(json::to_vec(&number.report(last_name))?);
        Ok(())
    })
}
