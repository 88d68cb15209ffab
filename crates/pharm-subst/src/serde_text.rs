//! Serde through text: a type whose JSON form is its `Display` / `FromStr` text.

/// Implements `serde::Serialize` / `Deserialize` for a type through its `Display` and
/// `FromStr`, so its JSON form is its text form (used for product keys, applications and TE codes).
macro_rules! text_serde {
    ($t:ty) => {
        impl ::serde::Serialize for $t {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $t {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use text_serde;
