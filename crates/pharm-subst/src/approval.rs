//! Orange Book dates: `Mon D, YYYY` and the literal `Approved Prior to Jan 1, 1982`.
//!
//! `Approval_Date` (products), `Exclusivity_Date` (exclusivity) and `Patent_Expire_Date_Text`
//! (patents) use the same `Mon D, YYYY` spelling: a 3-letter English month with an initial
//! capital (`Dec`), a day without zero padding (a zero-padded day such as `Feb 05, 2019` is also
//! accepted), a comma and a 4-digit year. Nothing else is accepted: no other separators,
//! no full month names, no numeric forms.

use std::fmt;
use std::str::FromStr;

use pharm_core::time::Date;

use crate::record::ApprovalDate;

/// The literal used for products approved before 1 January 1982.
pub const PRIOR_TO_1982: &str = "Approved Prior to Jan 1, 1982";

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Why an Orange Book date was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalDateError {
    /// The text is not `Mon D, YYYY` (or the pre-1982 literal where allowed).
    #[error(
        "{input:?} is not an Orange Book date (expected e.g. \"Dec 17, 1996\" or \"Approved Prior to Jan 1, 1982\")"
    )]
    Syntax {
        /// The rejected text (truncated to 64 characters).
        input: String,
    },
    /// The text has the right shape but is not a calendar date (`Feb 30, 2020`).
    #[error("{input:?} is not a calendar date")]
    NotADate {
        /// The rejected text (truncated to 64 characters).
        input: String,
    },
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Parses `Mon D, YYYY` (surrounding whitespace ignored) into a date.
pub fn parse_ob_date(s: &str) -> Result<Date, ApprovalDateError> {
    let t = s.trim();
    let syntax = || ApprovalDateError::Syntax { input: truncate(s) };
    let b = t.as_bytes();
    // Shortest "Jan 1, 1982" (11 bytes), longest "Jan 01, 1982" (12 bytes).
    if !(11..=12).contains(&b.len()) || !t.is_ascii() {
        return Err(syntax());
    }
    let month = MONTHS
        .iter()
        .position(|m| m.as_bytes() == &b[..3])
        .ok_or_else(syntax)?;
    if b[3] != b' ' {
        return Err(syntax());
    }
    let rest = &t[4..];
    let (day, year) = rest.split_once(", ").ok_or_else(syntax)?;
    let all_digits = |x: &str| x.bytes().all(|c| c.is_ascii_digit());
    if day.is_empty() || day.len() > 2 || !all_digits(day) || year.len() != 4 || !all_digits(year) {
        return Err(syntax());
    }
    let day: u32 = day.parse().map_err(|_| syntax())?;
    let year: i32 = year.parse().map_err(|_| syntax())?;
    // `month` is an index below 12.
    let month = u32::try_from(month + 1).map_err(|_| syntax())?;
    Date::from_ymd(year, month, day).map_err(|_| ApprovalDateError::NotADate { input: truncate(s) })
}

/// Parses an `Approval_Date` field: `Mon D, YYYY` or `Approved Prior to Jan 1, 1982`.
pub fn parse_approval_date(s: &str) -> Result<ApprovalDate, ApprovalDateError> {
    if s.trim() == PRIOR_TO_1982 {
        return Ok(ApprovalDate::PriorTo1982);
    }
    parse_ob_date(s).map(ApprovalDate::On)
}

/// Formats a date the Orange Book way (`Dec 17, 1996`).
pub fn format_ob_date(d: Date) -> String {
    let (y, m, day) = d.ymd();
    let name = usize::try_from(m)
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("???");
    format!("{name} {day}, {y}")
}

impl FromStr for ApprovalDate {
    type Err = ApprovalDateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_approval_date(s)
    }
}

impl fmt::Display for ApprovalDate {
    /// The Orange Book spelling: `Dec 17, 1996` or `Approved Prior to Jan 1, 1982`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApprovalDate::On(d) => f.write_str(&format_ob_date(*d)),
            ApprovalDate::PriorTo1982 => f.write_str(PRIOR_TO_1982),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> ApprovalDate {
        ApprovalDate::On(Date::from_ymd(y, m, day).unwrap())
    }

    #[test]
    fn accepts_file_spellings() {
        assert_eq!(
            parse_approval_date("Dec 17, 1996").unwrap(),
            d(1996, 12, 17)
        );
        assert_eq!(parse_approval_date("Feb 5, 2019").unwrap(), d(2019, 2, 5));
        assert_eq!(parse_approval_date("Feb 05, 2019").unwrap(), d(2019, 2, 5));
        assert_eq!(
            parse_approval_date(" May 27, 2026 ").unwrap(),
            d(2026, 5, 27)
        );
        assert_eq!(
            parse_approval_date(PRIOR_TO_1982).unwrap(),
            ApprovalDate::PriorTo1982
        );
        assert_eq!(
            "Apr 7, 2000".parse::<ApprovalDate>().unwrap(),
            d(2000, 4, 7)
        );
    }

    #[test]
    fn rejects_other_spellings() {
        for s in [
            "",
            "Dec 17 1996",
            "December 17, 1996",
            "dec 17, 1996",
            "DEC 17, 1996",
            "1996-12-17",
            "Dec 017, 1996",
            "Dec 17, 96",
            "Dec  7, 1996",
            "Dec 7,1996",
            "Dec -7, 1996",
            "Approved Prior to Jan 1, 1983",
            "Dec 17, 1996x",
            "Déc 17, 1996",
            "Dec 1\u{7f}, 1996",
        ] {
            assert!(
                matches!(
                    parse_approval_date(s),
                    Err(ApprovalDateError::Syntax { .. })
                ),
                "{s:?}"
            );
        }
        for s in ["Feb 30, 2020", "Feb 29, 2019", "Dec 0, 1996", "Jan 1, 1800"] {
            assert!(
                matches!(
                    parse_approval_date(s),
                    Err(ApprovalDateError::NotADate { .. })
                ),
                "{s:?}"
            );
        }
        assert!(parse_approval_date("Feb 29, 2020").is_ok());
    }

    #[test]
    fn display_round_trips() {
        for s in ["Dec 17, 1996", "Feb 5, 2019", PRIOR_TO_1982] {
            assert_eq!(s.parse::<ApprovalDate>().unwrap().to_string(), s);
        }
        assert_eq!(
            "Feb 05, 2019".parse::<ApprovalDate>().unwrap().to_string(),
            "Feb 5, 2019"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = parse_approval_date(&s);
        }

        #[test]
        fn format_parse_round_trip(y in 1900i32..2100, m in 1u32..=12, day in 1u32..=28) {
            let date = Date::from_ymd(y, m, day).unwrap();
            prop_assert_eq!(parse_ob_date(&format_ob_date(date)).unwrap(), date);
        }
    }
}
