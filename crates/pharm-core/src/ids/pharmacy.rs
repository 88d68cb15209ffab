//! The pharmacy (store) identity shared by every crate of the family: the rules'
//! [`Pharmacy`](crate::rules::Pharmacy), pharm-sync's store (every message, seal and key
//! ring is bound to one), pharm-shard's routing key and the bindings.
//!
//! A pharmacy id is an unsigned 32-bit number: an NCPDP provider id (seven digits) or a
//! chain's internal store number. In PostgreSQL it is a `bigint`; [`PharmacyId::to_i64`]
//! is the value the shard directory hashes (as PostgreSQL's `hashint8` does), and
//! [`PharmacyId::from_i64`] the checked way back. In JSON it is a number; as text, its
//! decimal digits.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::echo;

/// One pharmacy (store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct PharmacyId(u32);

/// Why a pharmacy id was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PharmacyIdError {
    /// The text is not the decimal digits of a number in `0..=4294967295`.
    #[error("{input:?} is not a pharmacy id (decimal digits of a number up to 4294967295)")]
    Syntax {
        /// The rejected text (at most 64 characters).
        input: String,
    },
    /// The database value is outside `0..=4294967295`.
    #[error("{value} is out of range for a pharmacy id (0..=4294967295)")]
    OutOfRange {
        /// The rejected value.
        value: i64,
    },
}

impl PharmacyId {
    /// The pharmacy with this number.
    pub const fn new(id: u32) -> Self {
        PharmacyId(id)
    }

    /// Its number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The `bigint` a database stores and the shard directory hashes (lossless).
    pub const fn to_i64(self) -> i64 {
        self.0 as i64
    }

    /// The id stored as a `bigint`, if it is one.
    pub fn from_i64(value: i64) -> Result<Self, PharmacyIdError> {
        u32::try_from(value)
            .map(PharmacyId)
            .map_err(|_| PharmacyIdError::OutOfRange { value })
    }
}

impl From<u32> for PharmacyId {
    fn from(id: u32) -> Self {
        PharmacyId(id)
    }
}

impl From<PharmacyId> for i64 {
    fn from(id: PharmacyId) -> Self {
        id.to_i64()
    }
}

impl fmt::Display for PharmacyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for PharmacyId {
    type Err = PharmacyIdError;

    /// Decimal digits only (no sign, no spaces); leading zeros are allowed (NCPDP ids are
    /// written with seven digits).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || PharmacyIdError::Syntax { input: echo(s) };
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        s.parse::<u32>().map(PharmacyId).map_err(|_| syntax())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_database_forms_round_trip_at_the_edges() {
        for n in [0u32, 1, 1_234_567, u32::MAX] {
            let id = PharmacyId::new(n);
            assert_eq!(id.to_string().parse::<PharmacyId>(), Ok(id));
            assert_eq!(PharmacyId::from_i64(id.to_i64()), Ok(id));
        }
        assert_eq!("0012345".parse::<PharmacyId>(), Ok(PharmacyId::new(12_345)));
    }

    #[test]
    fn bad_ids_are_typed_errors_naming_the_input() {
        for bad in ["", "-1", "+1", " 1", "1 ", "4294967296", "12a", "١٢"] {
            assert!(
                matches!(bad.parse::<PharmacyId>(), Err(PharmacyIdError::Syntax { ref input }) if input == bad),
                "{bad:?}"
            );
        }
        for value in [-1i64, i64::from(u32::MAX) + 1, i64::MIN, i64::MAX] {
            assert_eq!(
                PharmacyId::from_i64(value),
                Err(PharmacyIdError::OutOfRange { value })
            );
        }
    }

    #[test]
    fn json_is_a_number() {
        let id = PharmacyId::new(42);
        assert_eq!(serde_json::to_string(&id).ok().as_deref(), Some("42"));
        assert_eq!(serde_json::from_str::<PharmacyId>("42").ok(), Some(id));
        assert!(serde_json::from_str::<PharmacyId>("-1").is_err());
        assert!(serde_json::from_str::<PharmacyId>("\"42\"").is_err());
    }
}
