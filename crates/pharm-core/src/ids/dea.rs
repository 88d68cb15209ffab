//! DEA registration numbers: format and check digit (dispensing-rules §1.5).
//!
//! A DEA number is 2 letters + 7 digits (`AB1234563`), optionally followed by an
//! institutional-practitioner suffix (`F91234563-001AB`). The first letter is the
//! registrant type; the second is the first letter of the registrant's last name, or
//! `9` for a business-name registration. A valid check digit proves only that the text
//! is well formed, not that the registration is active or covers a schedule.

use std::fmt;
use std::str::FromStr;

use super::{echo, trim_ascii_ws};

/// Longest DEA input accepted, in bytes (checked before trimming).
pub const MAX_DEA_INPUT: usize = 64;

/// Longest institutional suffix after the hyphen.
pub const MAX_DEA_SUFFIX: usize = 10;

/// First letters §1.5 lists as known registrant types; others get a warning, not a
/// rejection.
const KNOWN_REGISTRANT_LETTERS: &str = "ABCDEFGHJKLMPRSTUX";

/// A DEA registration number with a valid check digit, kept in normalised text form
/// (uppercase, `AA0000000` or `AA0000000-SUFFIX`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeaNumber(String);

/// Why a DEA number was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeaError {
    /// The text does not match `^[A-Z][A-Z9][0-9]{7}(-[A-Z0-9]{1,10})?$` (after trimming
    /// and uppercasing).
    #[error("{input:?} is not a DEA number: {reason}")]
    Format {
        /// The rejected text (at most 64 characters).
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The check digit (7th digit) does not match the other six.
    #[error("{input:?} is not a valid DEA number: check digit is {found}, expected {expected}")]
    CheckDigit {
        /// The rejected text (at most 64 characters).
        input: String,
        /// The check digit computed from the first six digits.
        expected: u8,
        /// The 7th digit as given.
        found: u8,
    },
}

/// The DEA check digit of the first six digits `d1..d6`:
/// `((d1 + d3 + d5) + 2 × (d2 + d4 + d6)) mod 10`, which must equal `d7`.
///
/// Example: `AB1234563` → (1+3+5) + 2×(2+4+6) = 33 → 3.
///
/// # What the check digit detects
///
/// Changing one digit by `δ` (mod 10) changes the sum by `δ` at d1/d3/d5 and by `2δ` at
/// d2/d4/d6. `δ` ≢ 0 is always detected at weight 1, but `2δ ≡ 0 (mod 10)` for
/// `δ = 5`, so **a single-digit change by ±5 at d2, d4 or d6 is not detected**
/// (`AB1234563` and `AB1734563` are both "valid"). Every other single-digit change,
/// including any change of d7, is detected. Swapping two adjacent distinct digits
/// (d7 included) is always detected; swapping two digits of equal weight (d1↔d3,
/// d2↔d6, …) never is. Treat the check digit as a typo filter, not proof of validity.
///
/// Values above 9 are not digits; they are used as given (no panic).
pub fn dea_check_digit(six_digits: [u8; 6]) -> u8 {
    let [d1, d2, d3, d4, d5, d6] = six_digits.map(u32::from);
    let sum = (d1 + d3 + d5) + 2 * (d2 + d4 + d6);
    // sum % 10 < 10, so it fits u8.
    (sum % 10) as u8
}

fn format_error(input: &str, reason: &'static str) -> DeaError {
    DeaError::Format {
        input: echo(input),
        reason,
    }
}

impl DeaNumber {
    /// The normalised text (`AB1234563`, `F91234563-001AB`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Registrant-type letter (first character).
    pub fn registrant_type(&self) -> char {
        self.nth(0)
    }

    /// Second character: the registrant's last-name initial, or `9`.
    pub fn second_char(&self) -> char {
        self.nth(1)
    }

    fn nth(&self, i: usize) -> char {
        // The text is validated ASCII of at least 9 bytes.
        char::from(self.0.as_bytes().get(i).copied().unwrap_or(b'?'))
    }

    /// The institutional-practitioner suffix after the hyphen (`001AB`), if any.
    pub fn suffix(&self) -> Option<&str> {
        self.0.split_once('-').map(|(_, s)| s)
    }

    /// The 9-character registration number without the suffix (`F91234563`).
    pub fn base(&self) -> &str {
        self.0.get(..9).unwrap_or(&self.0)
    }

    /// Whether the second character is consistent with the prescriber's last name:
    /// `true` when it is `9` (business-name registration; no name to compare, whatever
    /// `last_name` is) or equals the uppercased first character of `last_name` (after
    /// trimming whitespace) and that character is an ASCII letter. An empty name or
    /// one starting with anything else (`Ølsen`, `'t Hooft`) gives `false`.
    ///
    /// A mismatch is a warning, not a block (name changes, business registrations).
    pub fn matches_last_name(&self, last_name: &str) -> bool {
        let second = self.second_char();
        if second == '9' {
            return true;
        }
        match last_name.trim().chars().next() {
            Some(c) if c.is_ascii_alphabetic() => c.to_ascii_uppercase() == second,
            _ => false,
        }
    }

    /// Whether the first letter is one §1.5 lists
    /// (A, B, C, D, E, F, G, H, J, K, L, M, P, R, S, T, U, X). Others are accepted by the
    /// parser but deserve a warning.
    pub fn has_known_registrant_letter(&self) -> bool {
        KNOWN_REGISTRANT_LETTERS.contains(self.registrant_type())
    }
}

impl fmt::Display for DeaNumber {
    /// The normalised text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DeaNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for DeaNumber {
    type Err = DeaError;

    /// Trims surrounding whitespace, uppercases ASCII letters, then checks the format
    /// and the check digit.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_DEA_INPUT {
            return Err(format_error(s, "longer than 64 bytes"));
        }
        let text = trim_ascii_ws(s).to_ascii_uppercase();
        let b = text.as_bytes();
        if b.len() < 9 {
            return Err(format_error(
                s,
                "shorter than 9 characters (2 letters + 7 digits)",
            ));
        }
        if !b[0].is_ascii_uppercase() {
            return Err(format_error(s, "the first character must be a letter"));
        }
        if !(b[1].is_ascii_uppercase() || b[1] == b'9') {
            return Err(format_error(
                s,
                "the second character must be a letter or '9'",
            ));
        }
        if !b[2..9].iter().all(u8::is_ascii_digit) {
            return Err(format_error(s, "characters 3 to 9 must be 7 digits"));
        }
        match &b[9..] {
            [] => {}
            [b'-', suffix @ ..] => {
                if suffix.is_empty() || suffix.len() > MAX_DEA_SUFFIX {
                    return Err(format_error(
                        s,
                        "the suffix after '-' must be 1 to 10 characters",
                    ));
                }
                if !suffix
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                {
                    return Err(format_error(
                        s,
                        "the suffix after '-' must be letters and digits",
                    ));
                }
            }
            _ => {
                return Err(format_error(
                    s,
                    "after the 7 digits only a '-' suffix may follow",
                ));
            }
        }
        let mut d = [0u8; 7];
        for (slot, c) in d.iter_mut().zip(&b[2..9]) {
            *slot = c - b'0';
        }
        let expected = dea_check_digit([d[0], d[1], d[2], d[3], d[4], d[5]]);
        if expected != d[6] {
            return Err(DeaError::CheckDigit {
                input: echo(s),
                expected,
                found: d[6],
            });
        }
        Ok(DeaNumber(text))
    }
}

crate::serde_text::text_serde!(DeaNumber);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dea(s: &str) -> DeaNumber {
        s.parse().unwrap()
    }

    #[test]
    fn worked_examples() {
        assert_eq!(dea_check_digit([1, 2, 3, 4, 5, 6]), 3);
        assert_eq!(dea("AB1234563").as_str(), "AB1234563");
        assert_eq!(dea("AP5836727").to_string(), "AP5836727");
        assert_eq!(
            "AB1234564".parse::<DeaNumber>().unwrap_err(),
            DeaError::CheckDigit {
                input: "AB1234564".into(),
                expected: 3,
                found: 4
            }
        );
        let msg = "AB1234564".parse::<DeaNumber>().unwrap_err().to_string();
        assert!(
            msg.contains("AB1234564") && msg.contains("expected 3"),
            "{msg}"
        );
    }

    #[test]
    fn normalises_and_exposes_parts() {
        let d = dea("  f91234563-001ab \n");
        assert_eq!(d.to_string(), "F91234563-001AB");
        assert_eq!(d.registrant_type(), 'F');
        assert_eq!(d.second_char(), '9');
        assert_eq!(d.suffix(), Some("001AB"));
        assert_eq!(d.base(), "F91234563");
        assert!(d.has_known_registrant_letter());
        let d = dea("AB1234563");
        assert_eq!(d.suffix(), None);
        assert_eq!(d.base(), "AB1234563");
        assert!(!dea("ZB1234563").has_known_registrant_letter());
        assert!(!dea("NB1234563").has_known_registrant_letter());
        assert_eq!(dea("ab1234563"), dea("AB1234563"));
    }

    #[test]
    fn last_name_match() {
        let d = dea("AB1234563");
        assert!(d.matches_last_name("Brown"));
        assert!(d.matches_last_name(" brown"));
        assert!(!d.matches_last_name("Smith"));
        assert!(!d.matches_last_name(""));
        assert!(!d.matches_last_name("  "));
        assert!(!d.matches_last_name("'Brown"));
        assert!(!d.matches_last_name("Ölsen"));
        let business = dea("F91234563");
        assert!(business.matches_last_name("Anyone"));
        assert!(business.matches_last_name(""));
    }

    #[test]
    fn rejects_bad_format() {
        for bad in [
            "",
            "AB123456",
            "AB12345630",
            "1B1234563",
            "A-1234563",
            "A81234563",
            "AB12345X3",
            "AB1234563-",
            "AB1234563-12345678901",
            "AB1234563-00_1",
            "AB1234563 001",
            "ÄB1234563",
            "AB1234563-ÄÖ",
            "AB１234563",
        ] {
            let err = bad.parse::<DeaNumber>().unwrap_err();
            assert!(matches!(err, DeaError::Format { .. }), "{bad:?}: {err:?}");
            assert!(err.to_string().contains("is not a DEA number"), "{err}");
        }
        assert!("AB1234563-1234567890".parse::<DeaNumber>().is_ok());
        let err = "A".repeat(500).parse::<DeaNumber>().unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
    }

    #[test]
    fn plus_minus_five_on_weight_two_digit_is_undetected() {
        // The documented blind spot: d2 changed by 5.
        assert!("AB1734563".parse::<DeaNumber>().is_ok());
        assert!("AB1234568".parse::<DeaNumber>().is_err());
    }

    /// The weighted sum is linear in each digit, so whether a corruption is caught
    /// depends only on the position and the old/new digit: enumerate all of them.
    #[test]
    fn single_digit_law_exhaustive() {
        let text = |d: &[u8; 7]| {
            let mut s = String::from("AB");
            s.extend(d.iter().map(|x| char::from(b'0' + x)));
            s
        };
        let mut undetected = Vec::new();
        for pos in 0..7 {
            for old in 0..10u8 {
                for new in (0..10u8).filter(|&n| n != old) {
                    let mut d = [1u8, 2, 3, 4, 5, 6, 0];
                    if pos < 6 {
                        d[pos] = old;
                    }
                    d[6] = dea_check_digit([d[0], d[1], d[2], d[3], d[4], d[5]]);
                    if pos == 6 && d[6] != old {
                        continue;
                    }
                    assert!(text(&d).parse::<DeaNumber>().is_ok());
                    d[pos] = new;
                    if text(&d).parse::<DeaNumber>().is_ok() {
                        undetected.push((pos + 1, old, new));
                    }
                }
            }
        }
        let expected: Vec<(usize, u8, u8)> = [2, 4, 6]
            .into_iter()
            .flat_map(|p| (0..10u8).map(move |old| (p, old, (old + 5) % 10)))
            .collect();
        assert_eq!(undetected, expected);
    }

    #[test]
    fn serde_is_text() {
        let d = dea("F91234563-001AB");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, "\"F91234563-001AB\"");
        assert_eq!(serde_json::from_str::<DeaNumber>(&json).unwrap(), d);
        assert!(serde_json::from_str::<DeaNumber>("\"AB1234564\"").is_err());
    }

    fn arb_dea() -> impl Strategy<Value = (String, [u8; 7])> {
        (
            "[A-Z]",
            "[A-Z9]",
            proptest::array::uniform6(0u8..=9),
            proptest::option::of("[A-Z0-9]{1,10}"),
        )
            .prop_map(|(a, b, six, suffix)| {
                let check = dea_check_digit(six);
                let mut digits = [0u8; 7];
                digits[..6].copy_from_slice(&six);
                digits[6] = check;
                let mut text = format!("{a}{b}");
                text.extend(digits.iter().map(|d| char::from(b'0' + d)));
                if let Some(sfx) = suffix {
                    text.push('-');
                    text.push_str(&sfx);
                }
                (text, digits)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn generated_numbers_are_valid((text, _) in arb_dea()) {
            let d: DeaNumber = text.parse().unwrap();
            prop_assert_eq!(d.to_string(), text.clone());
            prop_assert_eq!(text.to_ascii_lowercase().parse::<DeaNumber>().unwrap(), d.clone());
            let json = serde_json::to_string(&d).unwrap();
            prop_assert_eq!(serde_json::from_str::<DeaNumber>(&json).unwrap(), d);
        }

        /// The exact single-digit law: a corruption of d1, d3, d5 or d7 is always
        /// rejected; one of d2, d4 or d6 is rejected unless it changes the digit by ±5.
        #[test]
        fn single_digit_corruption_law(
            (text, digits) in arb_dea(),
            pos in 0usize..7,
            delta in 1u8..=9,
        ) {
            let old = digits[pos];
            let new = (old + delta) % 10;
            let mut bytes = text.into_bytes();
            bytes[2 + pos] = b'0' + new;
            let corrupted = String::from_utf8(bytes).unwrap();
            let result = corrupted.parse::<DeaNumber>();
            let weight_two = matches!(pos, 1 | 3 | 5);
            let undetectable = weight_two && old.abs_diff(new) == 5;
            if undetectable {
                prop_assert!(result.is_ok(), "{} should pass the check", corrupted);
            } else {
                let is_check_error = matches!(
                    result,
                    Err(DeaError::CheckDigit { .. })
                );
                prop_assert!(is_check_error, "{} should be rejected", corrupted);
            }
        }

        /// Adjacent transpositions of distinct digits are always rejected.
        #[test]
        fn adjacent_transposition_is_rejected((text, digits) in arb_dea(), pos in 0usize..6) {
            prop_assume!(digits[pos] != digits[pos + 1]);
            let mut bytes = text.into_bytes();
            bytes.swap(2 + pos, 3 + pos);
            let swapped = String::from_utf8(bytes).unwrap();
            let is_check_error = matches!(
                swapped.parse::<DeaNumber>(),
                Err(DeaError::CheckDigit { .. })
            );
            prop_assert!(is_check_error, "{} should be rejected", swapped);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            if let Ok(d) = s.parse::<DeaNumber>() {
                prop_assert_eq!(d.to_string().parse::<DeaNumber>().unwrap(), d.clone());
                let _ = (d.registrant_type(), d.second_char(), d.suffix(), d.base());
                let _ = d.matches_last_name(&s);
            }
        }

        #[test]
        fn parse_never_panics_on_dea_like_text(s in "[A-Za-z9][A-Za-z0-9][0-9]{7}(-[A-Za-z0-9_]{0,12})?") {
            let _ = s.parse::<DeaNumber>();
        }

        #[test]
        fn parse_never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = String::from_utf8_lossy(&b).parse::<DeaNumber>();
        }
    }
}
