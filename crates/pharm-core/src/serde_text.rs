//! Serde through text: a type whose JSON form is its `Display` / `FromStr` text.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// Reads a string and parses it with `T::from_str`, borrowing the text from the
/// deserializer instead of copying it into a `String` first.
pub(crate) struct TextVisitor<T>(PhantomData<T>);

impl<T> TextVisitor<T> {
    pub(crate) const fn new() -> Self {
        TextVisitor(PhantomData)
    }
}

impl<T: FromStr> serde::de::Visitor<'_> for TextVisitor<T>
where
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What `String` says, so type errors read as they did.
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<T, E> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.visit_str(text),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(bytes), &self)),
        }
    }
}

/// Implements `serde::Serialize` / `Deserialize` for a type through its `Display` and
/// `FromStr`, so its JSON form is its text form (used for dates, NDCs, rule ids...).
macro_rules! text_serde {
    ($t:ty) => {
        impl ::serde::Serialize for $t {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $t {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str($crate::serde_text::TextVisitor::<$t>::new())
            }
        }
    };
}

pub(crate) use text_serde;
