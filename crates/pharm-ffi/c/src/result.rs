//! The one result enum every fallible function returns.

use pharm_core::error_code::{CODE_RANGES, ErrorCodeInfo};

/// What an exported call did. Fixed numbers, never reused for another meaning.
///
/// `1..=999` are the binding's own results; a domain error returns its crate's value
/// (`PHARM_RESULT_CORE_ERROR` for every error of pharm-core, and so on), and
/// `pharm_error_code()` gives the exact stable code of `ERRORS.md`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pharm_result {
    /// The call succeeded; its outputs were written.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// A text argument was not valid UTF-8.
    InvalidUtf8 = 2,
    /// The call panicked; it was stopped at the boundary and the handle is poisoned.
    Panic = 3,
    /// The handle was poisoned by an earlier panic; free it and make a new one.
    Poisoned = 4,
    /// An input was longer than the call accepts.
    InputTooLarge = 5,
    /// An argument was out of range (an unknown enum value, a zero count...).
    InvalidArgument = 6,
    /// The caller's buffer is too small; the needed length was reported.
    BufferTooSmall = 7,
    /// An error of pharm-core (codes 1000–1999: identifiers, the JSON contract).
    CoreError = 1000,
    /// An error of pharm-subst (codes 2000–2999: the Orange Book, substitution).
    SubstError = 2000,
    /// An error of pharm-sync (codes 3000–3999: inventory, sync messages, the store).
    SyncError = 3000,
    /// An error of pharm-shard (codes 4000–4999: routing, resilience).
    ShardError = 4000,
}

impl pharm_result {
    /// The result for a domain error with the stable `code`: its crate's value.
    pub(crate) fn for_code(code: u32) -> pharm_result {
        let owner = CODE_RANGES
            .iter()
            .find(|range| (range.first..=range.last).contains(&code))
            .map(|range| range.owner);
        match owner {
            Some("core") => pharm_result::CoreError,
            Some("subst") => pharm_result::SubstError,
            Some("sync") => pharm_result::SyncError,
            Some("shard") => pharm_result::ShardError,
            // The binding's own codes are the result values themselves.
            _ => OWN_RESULTS
                .into_iter()
                .find(|result| *result as u32 == code)
                .unwrap_or(pharm_result::InvalidArgument),
        }
    }

    /// The stable id of one of the binding's own results (`ffi.null_parameter`...).
    pub(crate) fn id(self) -> &'static str {
        ERROR_CODES
            .iter()
            .find(|row| row.code == self as u32)
            .map_or("ffi.unknown", |row| row.id)
    }
}

/// The name of a result as static NUL-terminated text (`"PHARM_RESULT_NULL_PARAMETER"`), for
/// logs; `"PHARM_RESULT_UNKNOWN"` for a number that is not a result. Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn pharm_result_str(result: u32) -> *const std::ffi::c_char {
    crate::boundary::guard_value(std::ptr::null(), || result_name(result).as_ptr().cast())
}

fn result_name(result: u32) -> &'static str {
    match result {
        0 => "PHARM_RESULT_OK\0",
        1 => "PHARM_RESULT_NULL_PARAMETER\0",
        2 => "PHARM_RESULT_INVALID_UTF8\0",
        3 => "PHARM_RESULT_PANIC\0",
        4 => "PHARM_RESULT_POISONED\0",
        5 => "PHARM_RESULT_INPUT_TOO_LARGE\0",
        6 => "PHARM_RESULT_INVALID_ARGUMENT\0",
        7 => "PHARM_RESULT_BUFFER_TOO_SMALL\0",
        1000 => "PHARM_RESULT_CORE_ERROR\0",
        2000 => "PHARM_RESULT_SUBST_ERROR\0",
        3000 => "PHARM_RESULT_SYNC_ERROR\0",
        4000 => "PHARM_RESULT_SHARD_ERROR\0",
        _ => "PHARM_RESULT_UNKNOWN\0",
    }
}

/// The binding's own results, in the order of [`ERROR_CODES`].
const OWN_RESULTS: [pharm_result; 7] = [
    pharm_result::NullParameter,
    pharm_result::InvalidUtf8,
    pharm_result::Panic,
    pharm_result::Poisoned,
    pharm_result::InputTooLarge,
    pharm_result::InvalidArgument,
    pharm_result::BufferTooSmall,
];

const fn row(code: pharm_result, id: &'static str, summary: &'static str) -> ErrorCodeInfo {
    ErrorCodeInfo {
        code: code as u32,
        id,
        summary,
    }
}

/// Every code of the binding's own range, in the form of the crates' `ERROR_CODES` tables.
pub const ERROR_CODES: &[ErrorCodeInfo] = &[
    row(
        pharm_result::NullParameter,
        "ffi.null_parameter",
        "a required pointer argument was NULL",
    ),
    row(
        pharm_result::InvalidUtf8,
        "ffi.invalid_utf8",
        "a text argument was not valid UTF-8",
    ),
    row(
        pharm_result::Panic,
        "ffi.panic",
        "the call panicked and was stopped at the boundary; the handle is poisoned",
    ),
    row(
        pharm_result::Poisoned,
        "ffi.poisoned",
        "the handle was poisoned by an earlier panic",
    ),
    row(
        pharm_result::InputTooLarge,
        "ffi.input_too_large",
        "an input was longer than the call accepts",
    ),
    row(
        pharm_result::InvalidArgument,
        "ffi.invalid_argument",
        "an argument was out of range",
    ),
    row(
        pharm_result::BufferTooSmall,
        "ffi.buffer_too_small",
        "the caller's buffer is too small; the needed length was reported",
    ),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_valid_and_matches_the_ids() {
        pharm_core::error_code::check_table("ffi", ERROR_CODES).unwrap();
        assert_eq!(ERROR_CODES.len(), OWN_RESULTS.len());
        for (row, result) in ERROR_CODES.iter().zip(OWN_RESULTS) {
            assert_eq!(pharm_result::for_code(row.code), result);
            assert_eq!(result.id(), row.id);
        }
    }

    #[test]
    fn every_result_has_its_name() {
        let name = |result: u32| {
            // SAFETY: a static NUL-terminated string.
            unsafe { std::ffi::CStr::from_ptr(pharm_result_str(result)) }
                .to_str()
                .unwrap()
                .to_owned()
        };
        for result in OWN_RESULTS {
            let id = result.id().trim_start_matches("ffi.").to_ascii_uppercase();
            assert_eq!(name(result as u32), format!("PHARM_RESULT_{id}"));
        }
        assert_eq!(name(0), "PHARM_RESULT_OK");
        assert_eq!(name(3000), "PHARM_RESULT_SYNC_ERROR");
        assert_eq!(name(8), "PHARM_RESULT_UNKNOWN");
    }

    #[test]
    fn domain_codes_map_to_their_crate() {
        assert_eq!(pharm_result::for_code(1001), pharm_result::CoreError);
        assert_eq!(pharm_result::for_code(2306), pharm_result::SubstError);
        assert_eq!(pharm_result::for_code(3000), pharm_result::SyncError);
        assert_eq!(pharm_result::for_code(4999), pharm_result::ShardError);
        assert_eq!(
            pharm_result::for_code(999_999),
            pharm_result::InvalidArgument
        );
    }
}
