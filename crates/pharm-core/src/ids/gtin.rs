//! GTIN-14 (and UPC-A / GTIN-13 normalised to it) with the GS1 mod-10 check digit, and
//! the NDC carried inside a US drug GTIN (dispensing-rules §3.4, rule NDC-GTIN-01).
//!
//! A US drug GTIN-14 is `indicator` + `03` + the 10 NDC digits + check digit; a retail
//! UPC-A is `3` + NDC10 + check, i.e. the same GTIN-14 with indicator 0 once padded
//! with `00`. The 10 NDC digits carry no segmentation, so turning them into an [`Ndc`]
//! needs a product master ([`Gtin::to_ndc`]).

use std::fmt;
use std::str::FromStr;

use super::ndc::{Ndc, NdcError, ProductMaster, resolve_unsegmented};
use super::{echo, trim_ascii_ws};

/// Longest GTIN input accepted, in bytes (checked before trimming).
pub const MAX_GTIN_INPUT: usize = 64;

/// A GTIN normalised to 14 digits (GTIN-12/UPC-A gets `00`, GTIN-13 gets `0` in front).
///
/// Always holds 14 decimal digits with a valid GS1 check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin([u8; 14]);

/// Why a GTIN was rejected or does not yield an NDC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GtinError {
    /// The text contains something other than digits.
    #[error("{input:?} is not a GTIN: {reason}")]
    Syntax {
        /// The rejected text (at most 64 characters).
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Wrong number of digits (12, 13 or 14 are accepted), including over-long input.
    #[error("{input:?} is not a GTIN: it has length {len}; expected 12 (UPC-A), 13 or 14 digits")]
    Length {
        /// The rejected text (at most 64 characters).
        input: String,
        /// Its length in bytes (after trimming surrounding whitespace).
        len: usize,
    },
    /// The GS1 mod-10 check digit does not match.
    #[error("{input:?} is not a valid GTIN: check digit is {found}, expected {expected}")]
    BadCheckDigit {
        /// The rejected text (at most 64 characters).
        input: String,
        /// The check digit computed from the other digits.
        expected: u8,
        /// The last digit as given.
        found: u8,
    },
    /// The GTIN does not carry an NDC: digits 2–3 (after the indicator) are not `03`.
    #[error("GTIN {gtin} does not carry an NDC: digits 2-3 are {prefix:?}, not \"03\"")]
    NotAnNdc {
        /// The GTIN-14.
        gtin: String,
        /// The two digits after the indicator.
        prefix: String,
    },
    /// The NDC has no known 10-digit form (5-4-2 or 6-4-2 layout), so it cannot be put
    /// into a GTIN without guessing which segment was padded.
    #[error(
        "NDC {ndc} ({layout} layout) has no known 10-digit form, so it cannot be encoded in \
         a GTIN; use its native 4-4-2, 5-3-2 or 5-4-1 form"
    )]
    NoTenDigitForm {
        /// The NDC as displayed.
        ndc: String,
        /// Its layout, as text (`5-4-2`).
        layout: String,
    },
    /// The packaging indicator must be a single digit 0–9.
    #[error("GTIN indicator {indicator} is not a single digit 0-9")]
    BadIndicator {
        /// The indicator as given.
        indicator: u8,
    },
    /// The NDC digits inside the GTIN could not be resolved to one NDC.
    /// Reports its own code (`core.gtin_ndc`); the inner [`NdcError`]'s code is reachable
    /// through the field.
    #[error("the NDC inside the GTIN could not be resolved: {0}")]
    Ndc(NdcError),
}

/// GS1 mod-10 check digit of `data` (digit values 0–9, without the check digit):
/// weights 3, 1, 3, … from the rightmost data digit, `check = (10 − Σ mod 10) mod 10`.
///
/// Values above 9 are not digits; they are used as given (no panic, no validation).
/// Because 1 and 3 are both coprime to 10, changing any single digit of a GTIN, check
/// digit included, always changes the check result: every single-digit error is caught.
pub fn gs1_check_digit(data: &[u8]) -> u8 {
    let sum = data.iter().rev().enumerate().fold(0u32, |acc, (i, &d)| {
        let weight = if i % 2 == 0 { 3 } else { 1 };
        (acc + weight * u32::from(d)) % 10
    });
    // sum < 10, so the result is a digit and fits u8.
    ((10 - sum) % 10) as u8
}

impl Gtin {
    /// Builds a GTIN from 14 digit values (0–9), verifying the check digit.
    pub fn from_digits(digits: [u8; 14]) -> Result<Gtin, GtinError> {
        let text: String = digits
            .iter()
            .map(|&d| char::from_digit(u32::from(d), 10).unwrap_or('?'))
            .collect();
        if digits.iter().any(|&d| d > 9) {
            return Err(GtinError::Syntax {
                input: text,
                reason: "a digit value is above 9".into(),
            });
        }
        Self::checked(digits, &text)
    }

    fn checked(digits: [u8; 14], input: &str) -> Result<Gtin, GtinError> {
        let expected = gs1_check_digit(&digits[..13]);
        let found = digits[13];
        if expected != found {
            return Err(GtinError::BadCheckDigit {
                input: echo(input),
                expected,
                found,
            });
        }
        Ok(Gtin(digits))
    }

    /// The 14 digit values.
    pub const fn digits(&self) -> [u8; 14] {
        self.0
    }

    /// The packaging indicator (first digit): 0 for the unit of use, 1–8 for higher
    /// packaging levels.
    pub const fn indicator(&self) -> u8 {
        self.0[0]
    }

    /// The check digit (last digit).
    pub const fn check_digit(&self) -> u8 {
        self.0[13]
    }

    /// The 12-digit UPC-A form, when the GTIN-14 starts with `00`.
    pub fn upc_a(&self) -> Option<String> {
        (self.0[0] == 0 && self.0[1] == 0).then(|| digits_text(&self.0[2..]))
    }

    /// The 10 NDC digits, unsegmented (rule NDC-GTIN-01): `Some(gtin[3..13])` exactly
    /// when the two digits after the indicator are `03`.
    pub fn ndc10_digits(&self) -> Option<String> {
        self.carries_ndc().then(|| digits_text(&self.0[3..13]))
    }

    fn carries_ndc(&self) -> bool {
        self.0[1] == 0 && self.0[2] == 3
    }

    /// The NDC inside the GTIN, segmented through the product master with
    /// [`resolve_unsegmented`]. [`GtinError::NotAnNdc`] when the GTIN carries no NDC;
    /// [`GtinError::Ndc`] wraps [`NdcError::NotInMaster`] / [`NdcError::Ambiguous`].
    pub fn to_ndc(&self, master: &(impl ProductMaster + ?Sized)) -> Result<Ndc, GtinError> {
        let Some(ten) = self.ndc10_digits() else {
            return Err(GtinError::NotAnNdc {
                gtin: self.to_string(),
                prefix: digits_text(&self.0[1..3]),
            });
        };
        resolve_unsegmented(&ten, master).map_err(GtinError::Ndc)
    }

    /// The GTIN-14 `indicator` + `03` + NDC10 + check digit for an NDC whose native
    /// layout is 4-4-2, 5-3-2 or 5-4-1 (e.g. `0002-7597-01`, indicator 0 →
    /// `00300027597010`; indicator 5 → `50300027597015`).
    ///
    /// A 5-4-2 or 6-4-2 NDC gives [`GtinError::NoTenDigitForm`]: its 10-digit form is
    /// not derivable without knowing which segment was padded (§3.3 item 3); convert it
    /// with [`Ndc::with_layout`] once the native layout is known.
    pub fn from_ndc(ndc: &Ndc, indicator: u8) -> Result<Gtin, GtinError> {
        if indicator > 9 {
            return Err(GtinError::BadIndicator { indicator });
        }
        let Some(ten) = ndc.ndc10() else {
            return Err(GtinError::NoTenDigitForm {
                ndc: ndc.to_string(),
                layout: ndc.layout().to_string(),
            });
        };
        let mut digits = [0u8; 14];
        digits[0] = indicator;
        digits[2] = 3;
        for (slot, b) in digits[3..13].iter_mut().zip(ten.bytes()) {
            *slot = b.wrapping_sub(b'0');
        }
        digits[13] = gs1_check_digit(&digits[..13]);
        Ok(Gtin(digits))
    }
}

fn digits_text(digits: &[u8]) -> String {
    digits.iter().map(|&d| char::from(b'0' + d % 10)).collect()
}

impl fmt::Display for Gtin {
    /// The 14 digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&digits_text(&self.0))
    }
}

impl FromStr for Gtin {
    type Err = GtinError;

    /// Parses 14 digits (GTIN-14), 13 (GTIN-13) or 12 (UPC-A), ignoring surrounding
    /// ASCII whitespace, and verifies the check digit.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_GTIN_INPUT {
            return Err(GtinError::Length {
                input: echo(s),
                len: s.len(),
            });
        }
        let text = trim_ascii_ws(s);
        if let Some((i, c)) = text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(GtinError::Syntax {
                input: echo(s),
                reason: format!("unexpected character {c:?} at byte {i}; a GTIN has only digits"),
            });
        }
        let len = text.len();
        if !(12..=14).contains(&len) {
            return Err(GtinError::Length {
                input: echo(s),
                len,
            });
        }
        let mut digits = [0u8; 14];
        for (slot, b) in digits[14 - len..].iter_mut().zip(text.bytes()) {
            *slot = b - b'0';
        }
        Self::checked(digits, s)
    }
}

crate::serde_text::text_serde!(Gtin);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ids::ndc::{NdcLayout, arb_ndc, arb_ndc10};
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn g(s: &str) -> Gtin {
        s.parse().unwrap()
    }

    fn n(s: &str) -> Ndc {
        s.parse().unwrap()
    }

    #[test]
    fn check_digit_vectors() {
        assert_eq!(gs1_check_digit(&[3, 0, 0, 0, 2, 7, 5, 9, 7, 0, 1]), 0);
        assert_eq!(gs1_check_digit(&[5, 0, 3, 0, 0, 0, 2, 7, 5, 9, 7, 0, 1]), 5);
        // GS1 example GTIN-13 4006381333931.
        assert_eq!(gs1_check_digit(&[4, 0, 0, 6, 3, 8, 1, 3, 3, 3, 9, 3]), 1);
        assert_eq!(gs1_check_digit(&[]), 0);
        assert_eq!(gs1_check_digit(&[255; 1000]), gs1_check_digit(&[255; 1000]));
    }

    #[test]
    fn ndc_gtin_vectors() {
        let ndc = n("0002-7597-01");
        assert_eq!(
            Gtin::from_ndc(&ndc, 0).unwrap().to_string(),
            "00300027597010"
        );
        assert_eq!(
            Gtin::from_ndc(&ndc, 5).unwrap().to_string(),
            "50300027597015"
        );
        let upc = g("300027597010");
        assert_eq!(upc, g("00300027597010"));
        assert_eq!(upc.upc_a().unwrap(), "300027597010");
        assert_eq!(g("0300027597010"), upc);
        assert_eq!(upc.indicator(), 0);
        assert_eq!(g("50300027597015").indicator(), 5);
        assert_eq!(g("50300027597015").upc_a(), None);
        assert_eq!(upc.ndc10_digits().unwrap(), "0002759701");
        assert_eq!(g("50300027597015").ndc10_digits().unwrap(), "0002759701");
    }

    #[test]
    fn from_ndc_needs_a_native_ten_digit_form() {
        let err = Gtin::from_ndc(&n("00002-7597-01"), 0).unwrap_err();
        assert!(matches!(err, GtinError::NoTenDigitForm { .. }), "{err:?}");
        assert!(err.to_string().contains("00002-7597-01"), "{err}");
        assert!(matches!(
            Gtin::from_ndc(&n("000002-7597-01"), 0),
            Err(GtinError::NoTenDigitForm { .. })
        ));
        assert!(matches!(
            Gtin::from_ndc(&n("0002-7597-01"), 10),
            Err(GtinError::BadIndicator { indicator: 10 })
        ));
        let via = n("00002-7597-01").with_layout(NdcLayout::L442).unwrap();
        assert_eq!(
            Gtin::from_ndc(&via, 0).unwrap().to_string(),
            "00300027597010"
        );
    }

    #[test]
    fn to_ndc_resolves_through_master() {
        let master: HashSet<Ndc> = [n("00002-7597-01")].into();
        let ndc = g("50300027597015").to_ndc(&master).unwrap();
        assert_eq!(ndc.to_string(), "0002-7597-01");

        let err = g("50300027597015").to_ndc(&|_: &Ndc| false).unwrap_err();
        assert!(
            matches!(err, GtinError::Ndc(NdcError::NotInMaster { .. })),
            "{err:?}"
        );
        let err = g("50300027597015").to_ndc(&|_: &Ndc| true).unwrap_err();
        assert!(
            matches!(err, GtinError::Ndc(NdcError::Ambiguous { .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains("0002759701"), "{err}");

        // GS1 example GTIN-13: a commercial UPC/EAN, not an NDC.
        let err = g("4006381333931").to_ndc(&master).unwrap_err();
        let GtinError::NotAnNdc { gtin, prefix } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((gtin.as_str(), prefix.as_str()), ("04006381333931", "40"));
        assert_eq!(g("4006381333931").ndc10_digits(), None);
    }

    #[test]
    fn rejects_bad_input() {
        let err = "00300027597011".parse::<Gtin>().unwrap_err();
        assert_eq!(
            err,
            GtinError::BadCheckDigit {
                input: "00300027597011".into(),
                expected: 0,
                found: 1
            }
        );
        assert!(err.to_string().contains("00300027597011"), "{err}");
        for bad in [
            "",
            "1234",
            "12345678901",
            "123456789012345",
            "3000275970100",
        ] {
            assert!(bad.parse::<Gtin>().is_err(), "{bad}");
        }
        assert!(matches!(
            "30002759701O".parse::<Gtin>(),
            Err(GtinError::Syntax { .. })
        ));
        assert!(matches!(
            "３00027597010".parse::<Gtin>(),
            Err(GtinError::Syntax { .. })
        ));
        assert!(matches!(
            "9".repeat(1000).parse::<Gtin>(),
            Err(GtinError::Length { len: 1000, .. })
        ));
        assert_eq!(g(" 300027597010\r\n"), g("300027597010"));
        assert!(matches!(
            Gtin::from_digits([10; 14]),
            Err(GtinError::Syntax { .. })
        ));
        assert_eq!(
            Gtin::from_digits(g("50300027597015").digits()).unwrap(),
            g("50300027597015")
        );
    }

    #[test]
    fn serde_is_fourteen_digits() {
        let json = serde_json::to_string(&g("300027597010")).unwrap();
        assert_eq!(json, "\"00300027597010\"");
        assert_eq!(
            serde_json::from_str::<Gtin>(&json).unwrap(),
            g("300027597010")
        );
        assert!(serde_json::from_str::<Gtin>("\"00300027597011\"").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn from_ndc_round_trips(ndc in arb_ndc10(), indicator in 0u8..=9) {
            let gtin = Gtin::from_ndc(&ndc, indicator).unwrap();
            let text = gtin.to_string();
            prop_assert_eq!(text.len(), 14);
            let back: Gtin = text.parse().unwrap();
            prop_assert_eq!(back, gtin);
            prop_assert_eq!(back.indicator(), indicator);
            prop_assert_eq!(back.ndc10_digits(), ndc.ndc10());
            prop_assert_eq!(&text[1..3], "03");
            let master = [ndc];
            let resolved = back.to_ndc(&master[..]).unwrap();
            prop_assert_eq!(resolved, ndc);
            prop_assert_eq!(resolved.layout(), ndc.layout());
            let json = serde_json::to_string(&gtin).unwrap();
            prop_assert_eq!(serde_json::from_str::<Gtin>(&json).unwrap(), gtin);
        }

        #[test]
        fn from_ndc_rejects_exactly_the_eleven_and_twelve_digit_layouts(ndc in arb_ndc()) {
            prop_assert_eq!(
                Gtin::from_ndc(&ndc, 0).is_ok(),
                ndc.layout().is_ten_digit()
            );
        }

        #[test]
        fn every_single_digit_corruption_is_rejected(
            body in proptest::array::uniform13(0u8..=9),
            pos in 0usize..14,
            delta in 1u8..=9,
        ) {
            let mut digits = [0u8; 14];
            digits[..13].copy_from_slice(&body);
            digits[13] = gs1_check_digit(&body);
            let valid = Gtin::from_digits(digits).unwrap();
            prop_assert_eq!(valid.to_string().parse::<Gtin>().unwrap(), valid);
            digits[pos] = (digits[pos] + delta) % 10;
            let corrupted = digits_text(&digits);
            let is_bad_check = matches!(
                corrupted.parse::<Gtin>(),
                Err(GtinError::BadCheckDigit { .. })
            );
            prop_assert!(is_bad_check);
        }

        #[test]
        fn upc_a_and_gtin13_normalise(body in proptest::array::uniform11(0u8..=9)) {
            let check = gs1_check_digit(&body);
            let upc: String = digits_text(&body) + &check.to_string();
            let gtin = upc.parse::<Gtin>().unwrap();
            prop_assert_eq!(gtin.to_string(), format!("00{upc}"));
            prop_assert_eq!(format!("0{upc}").parse::<Gtin>().unwrap(), gtin);
            prop_assert_eq!(gtin.upc_a(), Some(upc));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = s.parse::<Gtin>();
        }

        #[test]
        fn parse_never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = String::from_utf8_lossy(&b).parse::<Gtin>();
        }
    }
}
