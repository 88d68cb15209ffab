//! Prices: exact, non-negative decimal amounts of money.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Longest price text accepted (digits and the decimal point).
const MAX_PRICE_TEXT: usize = 40;

/// A non-negative amount of money in US dollars, exactly as written (`"12.50"` keeps its
/// two decimal places). Never a float: the JSON form is a string, and a value that a
/// [`Decimal`] cannot hold exactly (more than 28 significant digits) is rejected rather
/// than rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(Decimal);

/// Why a price was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PriceError {
    /// Below zero.
    #[error("price {input:?} is negative")]
    Negative {
        /// The rejected value (truncated to 64 characters).
        input: String,
    },
    /// Not plain decimal digits with an optional fraction (no sign, exponent or separators).
    #[error("price {input:?} is not a decimal amount such as \"12.50\"")]
    Syntax {
        /// The rejected text (truncated to 64 characters).
        input: String,
    },
    /// More significant digits than a price keeps exactly (28).
    #[error("price {input:?} has more digits than a price keeps exactly (28 significant digits)")]
    TooPrecise {
        /// The rejected text (truncated to 64 characters).
        input: String,
    },
}

fn excerpt(s: &str) -> String {
    s.chars().take(64).collect()
}

impl Price {
    /// Zero dollars.
    pub const ZERO: Price = Price(Decimal::ZERO);

    /// A price from a decimal amount; negative amounts are rejected.
    pub fn new(amount: Decimal) -> Result<Self, PriceError> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(PriceError::Negative {
                input: excerpt(&amount.to_string()),
            });
        }
        Ok(Price(amount))
    }

    /// The amount.
    pub const fn amount(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Price {
    type Err = PriceError;

    /// Parses `digits[.digits]` exactly; `-` gives [`PriceError::Negative`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix('-')
            && plain_decimal(rest)
        {
            return Err(PriceError::Negative { input: excerpt(s) });
        }
        if s.len() > MAX_PRICE_TEXT || !plain_decimal(s) {
            return Err(PriceError::Syntax { input: excerpt(s) });
        }
        Decimal::from_str_exact(s)
            .map(Price)
            .map_err(|_| PriceError::TooPrecise { input: excerpt(s) })
    }
}

/// `digits` or `digits.digits`.
fn plain_decimal(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, "1"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac)
}

crate::serde_text::text_serde!(Price);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exact_non_negative_amounts_only() {
        let p: Price = "12.50".parse().unwrap();
        assert_eq!(p.to_string(), "12.50");
        assert_eq!(p.amount(), Decimal::new(1250, 2));
        assert_eq!("0".parse::<Price>().unwrap(), Price::ZERO);
        for (text, negative) in [
            ("-0.01", true),
            ("-3", true),
            ("1e3", false),
            ("1_000", false),
            ("+1", false),
            (".5", false),
            ("5.", false),
            ("", false),
            ("1.2.3", false),
        ] {
            let err = text.parse::<Price>().unwrap_err();
            assert_eq!(
                matches!(err, PriceError::Negative { .. }),
                negative,
                "{text}: {err}"
            );
        }
        // Beyond 28 decimal places, or a mantissa above 96 bits: rejected, not rounded.
        for long in [
            "0.00000000000000000000000000001",
            "99999999999999999999999999999",
        ] {
            assert!(
                matches!(long.parse::<Price>(), Err(PriceError::TooPrecise { .. })),
                "{long}"
            );
        }
        let exact = "0.0000000000000000000000000001";
        assert_eq!(exact.parse::<Price>().unwrap().to_string(), exact);
        assert!(Price::new(Decimal::new(-1, 2)).is_err());
        assert_eq!(Price::new(Decimal::new(5, 1)).unwrap().to_string(), "0.5");
    }

    #[test]
    fn json_form_is_a_string() {
        let p: Price = serde_json::from_str("\"3.25\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"3.25\"");
        assert!(serde_json::from_str::<Price>("3.25").is_err());
        assert!(serde_json::from_str::<Price>("\"-3.25\"").is_err());
    }
}
