//! Strict decimal reading: decimals are read from their text only (`"4.10"`), never from a
//! JSON number, which a reader may have rounded through a binary float already. (Unit
//! variants of tagged enums refuse fields through `pharm_core::serde_strict::no_fields`.)

use std::borrow::Cow;
use std::fmt;

use pharm_core::model::Price;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// `digits` or `digits.digits`, with an optional leading `-`.
fn plain_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac)
}

/// A decimal from its JSON text: a string of digits with an optional `-` and fraction
/// (`"0.1"`, `"-2"`), held exactly (no rounding); no number, exponent or separator.
pub(crate) fn decimal_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Decimal, D::Error> {
    let text = <Cow<'de, str>>::deserialize(deserializer)?;
    if !plain_decimal(&text) {
        return Err(de::Error::custom(format_args!(
            "{text:?} is not a decimal such as \"0.5\" (digits, an optional `-` and fraction)"
        )));
    }
    Decimal::from_str_exact(&text).map_err(|_| {
        de::Error::custom(format_args!(
            "{text:?} has more digits than a decimal keeps exactly (28 significant digits)"
        ))
    })
}

/// A money amount's text: a non-negative decimal string, exact ([`Price`]'s form).
struct PriceText;

impl Visitor<'_> for PriceText {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative decimal amount as a string, such as \"4.10\"")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Decimal, E> {
        text.parse::<Price>().map(Price::amount).map_err(E::custom)
    }
}

/// An optional money amount (`null`, or a string such as `"4.10"`): non-negative and
/// exact as a [`Price`] is; a JSON number is refused (`4.1` may already be a rounded binary
/// float), and so are `"-0.01"`, `"4.1e0"`, `"1_000"` and `""`.
pub(crate) fn option_price<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    struct OptionPrice;

    impl<'de> Visitor<'de> for OptionPrice {
        type Value = Option<Decimal>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("null or a non-negative decimal amount as a string, such as \"4.10\"")
        }

        fn visit_none<E: de::Error>(self) -> Result<Option<Decimal>, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Option<Decimal>, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Decimal>, D::Error> {
            d.deserialize_str(PriceText).map(Some)
        }
    }

    deserializer.deserialize_option(OptionPrice)
}

/// An optional decimal (`null`, or a string such as `"-4.10"`) read as [`decimal_text`].
pub(crate) fn option_decimal_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Text(#[serde(deserialize_with = "decimal_text")] Decimal);
    Ok(Option::<Text>::deserialize(deserializer)?.map(|Text(d)| d))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Costs {
        #[serde(default, deserialize_with = "option_price")]
        price: Option<Decimal>,
        #[serde(default, deserialize_with = "option_decimal_text")]
        signed: Option<Decimal>,
    }

    fn read(json: &str) -> Result<Costs, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn decimals_come_from_text_only() {
        let c = read(r#"{"price": "4.10", "signed": "-0.5"}"#).unwrap();
        assert_eq!(c.price.unwrap().to_string(), "4.10");
        assert_eq!(c.signed.unwrap().to_string(), "-0.5");
        let c = read(r#"{"price": null}"#).unwrap();
        assert_eq!((c.price, c.signed), (None, None));
        for bad in [
            r#"{"price": 4.1}"#,
            r#"{"price": 4}"#,
            r#"{"price": "-0.01"}"#,
            r#"{"price": "4.1e0"}"#,
            r#"{"price": "1_000"}"#,
            r#"{"price": ""}"#,
            r#"{"price": " 4.10"}"#,
            r#"{"signed": 1.5}"#,
            r#"{"signed": "+1"}"#,
            r#"{"signed": ".5"}"#,
            r#"{"signed": "99999999999999999999999999999"}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
        let float = read(r#"{"price": 4.1}"#).unwrap_err();
        assert!(float.contains("as a string"), "{float}");
    }
}
