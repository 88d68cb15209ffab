//! The catalog of every stable error code of the family, for tills that show or log them.

use serde::Serialize;

use crate::boundary;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

#[derive(Serialize)]
struct Row {
    code: u32,
    id: &'static str,
    summary: &'static str,
}

/// Every stable error code of the family (this binding's, then pharm-core's, pharm-subst's,
/// pharm-sync's and pharm-shard's) as a JSON array of `{"code", "id", "summary"}` objects,
/// the table of `ERRORS.md`. The caller frees `*out` with `pharm_bytes_free`.
///
/// # Safety
/// `out` must be NULL or point to a writable `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_error_codes(out: *mut *mut pharm_bytes) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        let tables = [
            crate::result::ERROR_CODES,
            pharm_core::ERROR_CODES,
            pharm_subst::ERROR_CODES,
            pharm_sync::ERROR_CODES,
            pharm_shard::ERROR_CODES,
        ];
        let rows: Vec<Row> = tables
            .into_iter()
            .flatten()
            .map(|info| Row {
                code: info.code,
                id: info.id,
                summary: info.summary,
            })
            .collect();
        let json = serde_json::to_vec(&rows)
            .map_err(|error| crate::error::Failure::invalid("catalog", error))?;
        out.set_bytes(json);
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once() {
        let mut out = std::ptr::null_mut();
        // SAFETY: `out` is a writable pointer; the bytes are freed below.
        unsafe {
            assert_eq!(pharm_error_codes(&mut out), pharm_result::Ok);
            let json = std::slice::from_raw_parts(
                crate::pharm_bytes_data(out),
                crate::pharm_bytes_len(out),
            );
            let rows: Vec<serde_json::Value> = serde_json::from_slice(json).unwrap();
            let mut codes: Vec<u64> = rows
                .iter()
                .map(|row| row["code"].as_u64().unwrap())
                .collect();
            let count = codes.len();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), count);
            assert!(codes.contains(&1001) && codes.contains(&1));
            crate::pharm_bytes_free(out);
            assert_eq!(
                pharm_error_codes(std::ptr::null_mut()),
                pharm_result::NullParameter
            );
        }
    }
}
