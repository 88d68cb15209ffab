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
            return format!("{s}-01")
                .parse::<Date>()
                .map_err(|_| DateError::Syntax {
                    input: s.chars().take(64).collect(),
                })
                .and_then(|d| {
                    let (year, month, _) = d.ymd();
                    Expiry::month(year, month)
                });
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
