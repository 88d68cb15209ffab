//! Lots: number, expiry, status and on-hand quantity.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::Ndc;
use crate::time::{Date, DateError};

/// Status of a lot; only `Active` lots may be dispensed or sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LotStatus {
    /// Available for dispensing.
    #[default]
    Active,
    /// Held pending investigation (DSCSA suspect product).
    Quarantined,
    /// Subject to a recall.
    Recalled,
    /// Administrative hold.
    OnHold,
    /// Physically damaged.
    Damaged,
    /// Destroyed (kept for the record).
    Destroyed,
}

/// A lot's expiry as printed: a full date, or a month meaning its last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expiry {
    /// Expires at the end of this day.
    Day(Date),
    /// Printed as `YYYY-MM`: in date through the month's last day (USP convention),
    /// which is the date held here.
    Month(Date),
}

impl Expiry {
    /// A month-only expiry.
    pub fn month(year: i32, month: u32) -> Result<Self, DateError> {
        Date::end_of_month(year, month).map(Expiry::Month)
    }

    /// The last day on which the lot is in date.
    pub const fn resolved(self) -> Date {
        match self {
            Expiry::Day(d) | Expiry::Month(d) => d,
        }
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expiry::Day(d) => d.fmt(f),
            Expiry::Month(d) => {
                let (year, month, _) = d.ymd();
                write!(f, "{year:04}-{month:02}")
            }
        }
    }
}

impl FromStr for Expiry {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() == 7 && b[4] == b'-' {
            // `YYYY-MM`: read as the date `YYYY-MM-01` would be, without building it.
            let number = |range: std::ops::Range<usize>| {
                s.get(range)
                    .filter(|digits| digits.bytes().all(|c| c.is_ascii_digit()))
                    .and_then(|digits| digits.parse::<u32>().ok())
            };
            let syntax = || DateError::Syntax {
                input: s.chars().take(64).collect(),
            };
            let (Some(year), Some(month)) = (number(0..4), number(5..7)) else {
                return Err(syntax());
            };
            let year = year as i32; // at most 9999
            Date::from_ymd(year, month, 1).map_err(|_| syntax())?;
            return Expiry::month(year, month);
        }
        s.parse().map(Expiry::Day)
    }
}

crate::serde_text::text_serde!(Expiry);

/// One lot of one package NDC at this store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Lot {
    /// Package NDC.
    pub ndc: Ndc,
    /// Manufacturer lot number.
    pub lot_number: String,
    /// Printed expiry.
    pub expiry: Expiry,
    /// Dispensability.
    #[serde(default)]
    pub status: LotStatus,
    /// Units on hand at this store (may be negative after an offline oversell).
    pub on_hand: i64,
    /// Date received (FEFO tie-breaker: oldest first).
    #[serde(default)]
    pub received: Option<Date>,
}

impl Lot {
    /// Expired on `day`: the lot is usable through its expiry day (rule LOT-EXP-01).
    pub fn is_expired_on(&self, day: Date) -> bool {
        self.expiry.resolved() < day
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn syntax(input: &str) -> DateError {
        DateError::Syntax {
            input: input.into(),
        }
    }

    #[test]
    fn expiry_text() {
        let month: Expiry = "2024-02".parse().unwrap();
        assert_eq!(month, Expiry::Month("2024-02-29".parse().unwrap()));
        assert_eq!(month.to_string(), "2024-02");
        let day: Expiry = "2026-02-15".parse().unwrap();
        assert_eq!(day, Expiry::Day("2026-02-15".parse().unwrap()));
        assert_eq!(day.to_string(), "2026-02-15");
        for bad in [
            "2026-13", "2026-00", "2026-1x", "20a6-01", "1899-12", "+026-01", "2026-é",
        ] {
            assert_eq!(bad.parse::<Expiry>(), Err(syntax(bad)), "{bad}");
        }
        assert!("2026-1".parse::<Expiry>().is_err());
        assert!("2026-02-30".parse::<Expiry>().is_err());
    }

    #[test]
    fn expiry_json_is_its_text() {
        let json = serde_json::to_string(&Expiry::month(2026, 9).unwrap()).unwrap();
        assert_eq!(json, "\"2026-09\"");
        assert_eq!(
            serde_json::from_str::<Expiry>(&json).unwrap(),
            Expiry::month(2026, 9).unwrap()
        );
        // Type errors read as they do for a String field.
        let err = serde_json::from_str::<Expiry>("5").unwrap_err().to_string();
        assert!(
            err.contains("invalid type: integer `5`, expected a string"),
            "{err}"
        );
        let err = serde_json::from_str::<Expiry>("\"2026-13\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("2026-13"), "{err}");
    }
}
