//! Therapeutic-equivalence (TE) codes from the Orange Book `TE_Code` column.
//!
//! A code is a family letter (`A` = therapeutically equivalent, `B` = not), a second
//! character (`AB`, `BX`, `B*`) and, for multi-reference groups, a number (`AB1`..`AB99`).
//! Codes with different numbers are different codes: `AB` ≠ `AB1` ≠ `AB2`.
//!
//! Accepted tokens: `AA`, `AB`, `AN`, `AO`, `AP`, `AT` (the last five also with a number
//! 1–99, as in `AB1` or `AP2`), `BC`, `BD`, `BE`, `BN`, `BP`, `BR`, `BS`, `BT`, `BX` and
//! `B*`. Anything else is rejected; nothing is upper-cased or otherwise repaired.
//!
//! The number suffix is accepted on every `A` code except `AA`, not only on `AB`/`AP`, because the
//! Orange Book Preface describes the numbering as a general device for multi-reference
//! groups; `AA1` is rejected because `AA` means "no bioequivalence problem" and is not
//! split by reference.

use std::fmt;
use std::num::NonZeroU8;
use std::str::FromStr;

/// Longest token text kept in an error message.
const MAX_ERR_TEXT: usize = 32;

/// Family of a TE code: the first letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TeFamily {
    /// `A`: FDA considers the product therapeutically equivalent to other pharmaceutically
    /// equivalent products with the same code.
    A,
    /// `B`: not considered therapeutically equivalent.
    B,
}

/// One TE code token (`AB1`, `AA`, `BX`, `B*`). Compact (`Copy`, 3 bytes).
///
/// Ordering is family, then second character, then number (none first): `AB < AB1 < AB2 < AB10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TeCode {
    family: TeFamily,
    /// Second character: an ASCII upper-case letter or `*`.
    kind: u8,
    number: Option<NonZeroU8>,
}

/// Why a TE code or a `TE_Code` field was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TeError {
    /// The token is not one of the known TE codes.
    #[error(
        "{token:?} is not a TE code (expected AA, AB, AB1..AB99, AN, AO, AP, AT, BC, BD, BE, BN, BP, BR, BS, BT, BX or B*)"
    )]
    Unknown {
        /// The rejected token (truncated).
        token: String,
    },
    /// A comma-separated list had an empty token (`AB1,,AB2`, `AB,`).
    #[error("empty TE code in list {field:?}")]
    EmptyToken {
        /// The whole field (truncated).
        field: String,
    },
    /// The same code appears twice in one field.
    #[error("TE code {code} appears more than once in {field:?}")]
    Duplicate {
        /// The repeated code.
        code: TeCode,
        /// The whole field (truncated).
        field: String,
    },
}

fn truncate(s: &str) -> String {
    s.chars().take(MAX_ERR_TEXT).collect()
}

impl TeCode {
    /// The family (first letter).
    pub const fn family(&self) -> TeFamily {
        self.family
    }

    /// An "A" (therapeutically equivalent) code.
    pub const fn is_a(&self) -> bool {
        matches!(self.family, TeFamily::A)
    }

    /// A "B" (not therapeutically equivalent) code, including `B*`.
    pub const fn is_b(&self) -> bool {
        matches!(self.family, TeFamily::B)
    }

    /// The second character (`b'B'` for `AB1`, `b'*'` for `B*`).
    pub const fn kind(&self) -> u8 {
        self.kind
    }

    /// The multi-reference number (`Some(2)` for `AB2`, `None` for `AB`).
    pub fn number(&self) -> Option<u8> {
        self.number.map(NonZeroU8::get)
    }

    fn parse_token(s: &str) -> Option<TeCode> {
        let b = s.as_bytes();
        if b.len() < 2 || b.len() > 4 {
            return None;
        }
        let family = match b[0] {
            b'A' => TeFamily::A,
            b'B' => TeFamily::B,
            _ => return None,
        };
        let kind = b[1];
        let kind_ok = match family {
            TeFamily::A => matches!(kind, b'A' | b'B' | b'N' | b'O' | b'P' | b'T'),
            TeFamily::B => matches!(
                kind,
                b'C' | b'D' | b'E' | b'N' | b'P' | b'R' | b'S' | b'T' | b'X' | b'*'
            ),
        };
        if !kind_ok {
            return None;
        }
        let rest = &b[2..];
        let number = if rest.is_empty() {
            None
        } else {
            // Numbers only on A codes other than AA; no leading zero; 1..=99.
            if family != TeFamily::A || kind == b'A' || rest[0] == b'0' {
                return None;
            }
            if !rest.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n = rest.iter().fold(0u8, |acc, d| acc * 10 + (d - b'0'));
            Some(NonZeroU8::new(n)?)
        };
        Some(TeCode {
            family,
            kind,
            number,
        })
    }
}

impl fmt::Display for TeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fam = match self.family {
            TeFamily::A => 'A',
            TeFamily::B => 'B',
        };
        write!(f, "{fam}{}", char::from(self.kind))?;
        if let Some(n) = self.number {
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

impl FromStr for TeCode {
    type Err = TeError;

    /// Parses exactly one token. Surrounding whitespace is not accepted here
    /// ([`parse_te_field`] trims list tokens).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TeCode::parse_token(s).ok_or_else(|| TeError::Unknown { token: truncate(s) })
    }
}

crate::serde_text::text_serde!(TeCode);

/// Parses a whole `TE_Code` field: blank → no codes; otherwise comma-separated tokens,
/// each trimmed. Empty tokens and repeated codes are errors. Order is kept as written.
pub fn parse_te_field(s: &str) -> Result<Vec<TeCode>, TeError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let mut out: Vec<TeCode> = Vec::with_capacity(1);
    for tok in s.split(',') {
        let tok = tok.trim();
        if tok.is_empty() {
            return Err(TeError::EmptyToken { field: truncate(s) });
        }
        let code: TeCode = tok.parse()?;
        if out.contains(&code) {
            return Err(TeError::Duplicate {
                code,
                field: truncate(s),
            });
        }
        out.push(code);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: &[&str] = &[
        "AA", "AB", "AB1", "AB2", "AB3", "AB4", "AB10", "AB99", "AN", "AO", "AP", "AP1", "AT",
        "AT2", "BC", "BD", "BE", "BN", "BP", "BR", "BS", "BT", "BX", "B*",
    ];

    #[test]
    fn valid_tokens_round_trip() {
        for t in VALID {
            let c: TeCode = t.parse().unwrap();
            assert_eq!(c.to_string(), *t);
        }
    }

    #[test]
    fn invalid_tokens_rejected() {
        for t in [
            "", "A", "B", "AB0", "AB01", "AB100", "ab", "Ab", "AC", "AX", "BA", "BB", "BX1", "B*1",
            "AA1", "AB ", " AB", "ABC", "A*", "C", "AB1,AB2", "ÅB", "AB\u{0}",
        ] {
            assert!(t.parse::<TeCode>().is_err(), "{t:?} accepted");
        }
    }

    #[test]
    fn families() {
        let ab1: TeCode = "AB1".parse().unwrap();
        assert!(ab1.is_a() && !ab1.is_b());
        assert_eq!(ab1.number(), Some(1));
        assert_eq!(ab1.kind(), b'B');
        let bstar: TeCode = "B*".parse().unwrap();
        assert!(bstar.is_b() && !bstar.is_a());
        assert_eq!(bstar.family(), TeFamily::B);
        let bx: TeCode = "BX".parse().unwrap();
        assert!(bx.is_b());
        assert_eq!(bx.number(), None);
    }

    #[test]
    fn ordering_is_numeric() {
        let v: Vec<TeCode> = ["AB", "AB1", "AB2", "AB10"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(v, sorted);
        assert_ne!(v[0], v[1]);
    }

    #[test]
    fn field_parsing() {
        assert_eq!(parse_te_field("").unwrap(), vec![]);
        assert_eq!(parse_te_field("   ").unwrap(), vec![]);
        let v = parse_te_field("AB1,AB2,AB3,AB4").unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(v[3].to_string(), "AB4");
        let v = parse_te_field(" AB1 , AB2 ").unwrap();
        assert_eq!(v.len(), 2);
        assert!(matches!(
            parse_te_field("AB1,,AB2"),
            Err(TeError::EmptyToken { .. })
        ));
        assert!(matches!(
            parse_te_field("AB,"),
            Err(TeError::EmptyToken { .. })
        ));
        assert!(matches!(
            parse_te_field("AB1,AB1"),
            Err(TeError::Duplicate { .. })
        ));
        assert!(matches!(
            parse_te_field("AB1;AB2"),
            Err(TeError::Unknown { .. })
        ));
        assert!(matches!(parse_te_field("XX"), Err(TeError::Unknown { .. })));
    }

    #[test]
    fn serde_as_text() {
        let c: TeCode = "AB2".parse().unwrap();
        let j = serde_json::to_string(&c).unwrap();
        assert_eq!(j, "\"AB2\"");
        let back: TeCode = serde_json::from_str(&j).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<TeCode>("\"ZZ\"").is_err());
    }

    #[test]
    fn error_messages_name_the_token() {
        let e = "QQ".parse::<TeCode>().unwrap_err().to_string();
        assert!(e.contains("\"QQ\""), "{e}");
        let long = "X".repeat(10_000);
        let e = long.parse::<TeCode>().unwrap_err();
        match e {
            TeError::Unknown { token } => assert!(token.len() <= MAX_ERR_TEXT),
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parse_display_round_trip(s in "[AB][A-Z*][0-9]{0,3}") {
            if let Ok(c) = s.parse::<TeCode>() {
                prop_assert_eq!(c.to_string(), s.clone());
                prop_assert_eq!(c.to_string().parse::<TeCode>().unwrap(), c);
            }
        }

        #[test]
        fn field_never_panics(s in "\\PC{0,40}") {
            let _ = parse_te_field(&s);
        }

        #[test]
        fn field_of_valid_codes_round_trips(idx in proptest::collection::btree_set(0..VALID.len(), 0..6)) {
            let toks: Vec<&str> = idx.iter().map(|i| VALID[*i]).collect();
            let field = toks.join(",");
            let parsed = parse_te_field(&field).unwrap();
            let shown: Vec<String> = parsed.iter().map(ToString::to_string).collect();
            prop_assert_eq!(shown, toks.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
    }
}
