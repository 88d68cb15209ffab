//! The data classes of the design's cache table, and the classes that are never cached.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A class of cached data: one row of the design's cache table, plus the analytics
/// aggregates its degradation table serves from cache ("last cached aggregate").
///
/// There is no variant for controlled-substance balances or transaction status: those are
/// the design's consistent reads (they go to the primary) and cannot be named as a cache
/// class; [`DataClass::from_str`] refuses their names with [`ClassError::NeverCached`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// Drug master data.
    DrugCatalog,
    /// Therapeutic-equivalence codes of the FDA Orange Book.
    OrangeBook,
    /// Payer formularies.
    Formulary,
    /// Active patients (with their active prescriptions).
    Patient,
    /// Stock levels of a pharmacy.
    Inventory,
    /// User sessions.
    Session,
    /// Dashboard aggregates (analytics reads).
    Analytics,
}

/// What a key of a class is scoped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// One copy for the whole chain.
    Global,
    /// Per pharmacy.
    Pharmacy,
    /// Per payer.
    Payer,
}

impl DataClass {
    /// Every class, in the order of the design's table (analytics last).
    pub const ALL: [Self; 7] = [
        Self::DrugCatalog,
        Self::OrangeBook,
        Self::Formulary,
        Self::Patient,
        Self::Inventory,
        Self::Session,
        Self::Analytics,
    ];

    /// The class's name (as in JSON policies and key strings).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::DrugCatalog => "drug_catalog",
            Self::OrangeBook => "orange_book",
            Self::Formulary => "formulary",
            Self::Patient => "patient",
            Self::Inventory => "inventory",
            Self::Session => "session",
            Self::Analytics => "analytics",
        }
    }

    /// What the class's keys are scoped by.
    #[must_use]
    pub const fn scope_kind(self) -> ScopeKind {
        match self {
            Self::DrugCatalog | Self::OrangeBook | Self::Session => ScopeKind::Global,
            Self::Formulary => ScopeKind::Payer,
            Self::Patient | Self::Inventory | Self::Analytics => ScopeKind::Pharmacy,
        }
    }
}

impl fmt::Display for DataClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Data that must never be served from a cache (the design's consistent reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeverCached {
    /// A controlled-substance balance (21 CFR 1304: the perpetual inventory is read from
    /// the primary).
    ControlledSubstanceBalance,
    /// A controlled-substance log.
    ControlledSubstanceLog,
    /// A transaction's status (read-after-write).
    TransactionStatus,
}

impl NeverCached {
    /// Every never-cached class.
    pub const ALL: [Self; 3] = [
        Self::ControlledSubstanceBalance,
        Self::ControlledSubstanceLog,
        Self::TransactionStatus,
    ];

    /// Its name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::ControlledSubstanceBalance => "cs_balance",
            Self::ControlledSubstanceLog => "cs_log",
            Self::TransactionStatus => "transaction_status",
        }
    }
}

/// A class name that is not a cache class.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClassError {
    /// The name is a consistent read, which is never cached.
    #[error("{0:?} is a consistent read (primary only) and is never cached")]
    NeverCached(NeverCached),
    /// The name is no class at all.
    #[error("unknown cache class {0:?}")]
    Unknown(String),
}

impl FromStr for DataClass {
    type Err = ClassError;

    fn from_str(name: &str) -> Result<Self, ClassError> {
        if let Some(class) = Self::ALL.into_iter().find(|c| c.name() == name) {
            return Ok(class);
        }
        if let Some(never) = NeverCached::ALL.into_iter().find(|c| c.name() == name) {
            return Err(ClassError::NeverCached(never));
        }
        Err(ClassError::Unknown(name.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_consistent_reads_are_refused() {
        for class in DataClass::ALL {
            assert_eq!(class.name().parse::<DataClass>(), Ok(class));
        }
        for never in NeverCached::ALL {
            assert_eq!(
                never.name().parse::<DataClass>(),
                Err(ClassError::NeverCached(never))
            );
        }
        assert!(matches!(
            "drugs".parse::<DataClass>(),
            Err(ClassError::Unknown(_))
        ));
    }
}
