//! Validated identifiers: NDC (10/11/12-digit), GTIN and GS1 DataMatrix, DEA numbers, and
//! the pharmacy id every crate of the family shares.
//!
//! These are the pure functions of rule table section 9.8 (NDC-10TO11-01, NDC-AMBIG-01,
//! NDC-GTIN-01, GS1-DM-01) plus the DEA checks used by section 9.1.
//!
//! Every parser here is total: it returns a typed error for any input (empty, huge,
//! non-ASCII, control characters) and never panics or guesses. Every identifier type
//! serializes to JSON as its display text.

pub mod dea;
pub mod dea_report;
pub mod gs1;
pub mod gtin;
pub mod ndc;
pub mod pharmacy;

pub use dea::{DeaError, DeaNumber, dea_check_digit};
pub use dea_report::DeaReport;
pub use gs1::{DataMatrix, Gs1Ai, Gs1Error, parse_datamatrix, parse_human_readable, parse_scanned};
pub use gtin::{Gtin, GtinError, gs1_check_digit};
pub use ndc::{Ndc, NdcError, NdcLayout, ProductMaster, resolve_unsegmented};
pub use pharmacy::{PharmacyId, PharmacyIdError};

/// Longest echo of rejected input kept inside an error, in characters.
const ECHO_CHARS: usize = 64;

/// The rejected input as echoed in an error message: at most 64 characters, with `…`
/// appended when it was cut.
pub(crate) fn echo(input: &str) -> String {
    let mut chars = input.chars();
    let mut out: String = chars.by_ref().take(ECHO_CHARS).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// Trims the ASCII whitespace (space, tab, CR, LF, FF) that scanners and forms add
/// around an identifier. Other characters, including the GS separator, are kept.
pub(crate) fn trim_ascii_ws(input: &str) -> &str {
    input.trim_matches(|c: char| c.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_truncates_by_chars() {
        assert_eq!(echo("abc"), "abc");
        let long = "é".repeat(100);
        let e = echo(&long);
        assert_eq!(e.chars().count(), 65);
        assert!(e.ends_with('…'));
        assert_eq!(echo(&"x".repeat(64)), "x".repeat(64));
    }

    #[test]
    fn trim_keeps_group_separator() {
        assert_eq!(trim_ascii_ws(" \t01\u{1d}\r\n"), "01\u{1d}");
    }
}
