//! Cache policy as data: one [`ClassPolicy`] per [`DataClass`], the design's table as
//! [`CachePolicy::design`].
//!
//! | class | levels | size | TTL | invalidation | negative entries | stale |
//! |---|---|---|---|---|---|---|
//! | drug catalog | L2 | 5 GB | 24 h | database update | 60 s, ≤ 100,000 | never |
//! | Orange Book | L2 | 100 MB | 24 h | weekly release (namespace swap) | 1 h, ≤ 100,000 | never |
//! | formulary | L2 | 1 GB per payer | 1 h | payer update (namespace swap) | 5 min, ≤ 100,000 | never |
//! | patient | L1 + L2 | 2 GB per pharmacy | 1 h | patient update | 60 s, ≤ 10,000 | never |
//! | inventory | L1 | 100 MB per pharmacy | 5 min | a transaction on the lot | none | never |
//! | session | L2 | 50 KB per session | 8 h | logout | none | never |
//! | analytics | L1 + L2 | 100 MB per pharmacy | 5 min | a new aggregate | none | 24 h |
//!
//! Levels, sizes, TTLs and triggers of the first six rows are the design's cache table;
//! the analytics row is the degradation table's "last cached aggregate" (its size and
//! TTL are this crate's defaults). Negative-entry bounds are this crate's defaults. Only
//! analytics may serve a stale value: no other class's degradation row allows it, and
//! [`CachePolicy::validate`] refuses a stale bound on any other class.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::class::{ClassError, DataClass};

/// The largest policy document [`CachePolicy::from_json`] reads.
pub const MAX_POLICY_JSON: usize = 64 * 1024;

/// Which levels hold a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    /// L1: in-process.
    pub l1: bool,
    /// L2: distributed (Redis).
    pub l2: bool,
}

/// What a size budget is counted per.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizePer {
    /// The whole chain.
    Total,
    /// Each payer.
    Payer,
    /// Each pharmacy.
    Pharmacy,
    /// Each session (the budget is also the largest entry).
    Session,
}

/// What a deployment of the cache serves, to turn per-unit budgets into bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// Pharmacies whose data this cache holds.
    pub pharmacies: u64,
    /// Payers whose formularies it holds.
    pub payers: u64,
    /// Concurrent sessions.
    pub sessions: u64,
}

/// The event kind that invalidates a class (the design's "invalidation" column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A drug's master data changed in the database.
    DatabaseUpdate,
    /// The weekly Orange Book release.
    WeeklyRelease,
    /// A payer published a new formulary.
    PayerUpdate,
    /// A patient's record changed.
    PatientUpdate,
    /// A transaction moved stock of a lot.
    Transaction,
    /// A user logged out.
    Logout,
    /// A new aggregate was computed.
    NewAggregate,
}

/// Bounded negative caching: "not found" remembered for a short time, for a bounded
/// number of keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegativePolicy {
    /// How long a "not found" is remembered (≤ the class TTL), seconds.
    pub ttl_s: u64,
    /// At most this many negative entries in L1.
    pub max_entries: u64,
}

/// One class's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassPolicy {
    /// Levels holding the class.
    pub levels: Levels,
    /// Size budget, bytes, per [`Self::size_per`].
    pub size_bytes: u64,
    /// What the budget is counted per.
    pub size_per: SizePer,
    /// Time to live, seconds.
    pub ttl_s: u64,
    /// The event that invalidates it.
    pub invalidation: Trigger,
    /// How long past its TTL a value may still be served while it is refreshed or while
    /// the origin is down, seconds (stale-while-revalidate); `None`: never stale.
    pub stale_s: Option<u64>,
    /// Negative caching; `None`: "not found" is never cached.
    pub negative: Option<NegativePolicy>,
    /// The largest entry cached, bytes (encoded); larger values are served uncached.
    pub max_entry_bytes: u64,
}

impl ClassPolicy {
    /// Time to live.
    #[must_use]
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_s)
    }

    /// The stale bound (zero when the class is never served stale).
    #[must_use]
    pub fn stale(&self) -> Duration {
        Duration::from_secs(self.stale_s.unwrap_or(0))
    }

    /// The budget in bytes for `deployment` (saturating).
    #[must_use]
    pub fn budget_bytes(&self, deployment: &Deployment) -> u64 {
        let units = match self.size_per {
            SizePer::Total => 1,
            SizePer::Payer => deployment.payers,
            SizePer::Pharmacy => deployment.pharmacies,
            SizePer::Session => deployment.sessions,
        };
        self.size_bytes.saturating_mul(units.max(1))
    }
}

/// An invalid policy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A class name is not a cache class (or is a consistent read).
    #[error("policy names class {name:?}: {reason}")]
    Class {
        /// The name as given (at most 64 characters).
        name: String,
        /// Why it is refused.
        reason: ClassError,
    },
    /// A class's row is invalid.
    #[error("class {class}: {reason}")]
    Row {
        /// The class.
        class: DataClass,
        /// What is wrong.
        reason: &'static str,
    },
    /// The document is not a policy.
    #[error("cache policy JSON: {0}")]
    Json(String),
    /// The document is larger than [`MAX_POLICY_JSON`].
    #[error("cache policy JSON is {0} bytes, over the {MAX_POLICY_JSON}-byte limit")]
    TooLarge(usize),
    /// The schema version is not this crate's.
    #[error("cache policy schema_version {0}, expected {POLICY_SCHEMA_VERSION}")]
    SchemaVersion(u32),
}

/// The policy document's schema version.
pub const POLICY_SCHEMA_VERSION: u32 = 1;

/// The whole table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachePolicy {
    classes: BTreeMap<DataClass, ClassPolicy>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDocument {
    schema_version: u32,
    classes: BTreeMap<String, ClassPolicy>,
}

const MB: u64 = 1_000_000;
const GB: u64 = 1_000 * MB;
const HOUR: u64 = 3_600;

impl CachePolicy {
    /// The design's cache table (see the module documentation).
    #[must_use]
    pub fn design() -> Self {
        let row = |l1, l2, size_bytes, size_per, ttl_s, invalidation, negative| ClassPolicy {
            levels: Levels { l1, l2 },
            size_bytes,
            size_per,
            ttl_s,
            invalidation,
            stale_s: None,
            negative,
            max_entry_bytes: MB,
        };
        let neg = |ttl_s, max_entries| Some(NegativePolicy { ttl_s, max_entries });
        let mut classes = BTreeMap::new();
        let design_rows = [
            (
                DataClass::DrugCatalog,
                row(
                    false,
                    true,
                    5 * GB,
                    SizePer::Total,
                    24 * HOUR,
                    Trigger::DatabaseUpdate,
                    neg(60, 100_000),
                ),
            ),
            (
                DataClass::OrangeBook,
                row(
                    false,
                    true,
                    100 * MB,
                    SizePer::Total,
                    24 * HOUR,
                    Trigger::WeeklyRelease,
                    neg(HOUR, 100_000),
                ),
            ),
            (
                DataClass::Formulary,
                row(
                    false,
                    true,
                    GB,
                    SizePer::Payer,
                    HOUR,
                    Trigger::PayerUpdate,
                    neg(300, 100_000),
                ),
            ),
            (
                DataClass::Patient,
                row(
                    true,
                    true,
                    2 * GB,
                    SizePer::Pharmacy,
                    HOUR,
                    Trigger::PatientUpdate,
                    neg(60, 10_000),
                ),
            ),
            (
                DataClass::Inventory,
                row(
                    true,
                    false,
                    100 * MB,
                    SizePer::Pharmacy,
                    300,
                    Trigger::Transaction,
                    None,
                ),
            ),
            (
                DataClass::Session,
                ClassPolicy {
                    max_entry_bytes: 50_000,
                    ..row(
                        false,
                        true,
                        50_000,
                        SizePer::Session,
                        8 * HOUR,
                        Trigger::Logout,
                        None,
                    )
                },
            ),
            (
                DataClass::Analytics,
                ClassPolicy {
                    stale_s: Some(24 * HOUR),
                    ..row(
                        true,
                        true,
                        100 * MB,
                        SizePer::Pharmacy,
                        300,
                        Trigger::NewAggregate,
                        None,
                    )
                },
            ),
        ];
        classes.extend(design_rows);
        Self { classes }
    }

    /// A policy of the given rows.
    ///
    /// # Errors
    ///
    /// [`PolicyError`] naming the first invalid row.
    pub fn new(
        rows: impl IntoIterator<Item = (DataClass, ClassPolicy)>,
    ) -> Result<Self, PolicyError> {
        let policy = Self {
            classes: rows.into_iter().collect(),
        };
        policy.validate()?;
        Ok(policy)
    }

    /// The row of `class`, if the policy caches it.
    #[must_use]
    pub fn class(&self, class: DataClass) -> Option<&ClassPolicy> {
        self.classes.get(&class)
    }

    /// Every row.
    pub fn rows(&self) -> impl Iterator<Item = (DataClass, &ClassPolicy)> {
        self.classes.iter().map(|(class, row)| (*class, row))
    }

    /// The classes invalidated by `trigger`.
    pub fn invalidated_by(&self, trigger: Trigger) -> impl Iterator<Item = DataClass> + '_ {
        self.rows()
            .filter(move |(_, row)| row.invalidation == trigger)
            .map(|(class, _)| class)
    }

    /// Checks every row.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Row`] naming the class and the rule it breaks.
    pub fn validate(&self) -> Result<(), PolicyError> {
        for (class, row) in self.rows() {
            let fail = |reason| Err(PolicyError::Row { class, reason });
            if !row.levels.l1 && !row.levels.l2 {
                return fail("no level holds it");
            }
            if row.ttl_s == 0 {
                return fail("ttl_s is 0");
            }
            if row.size_bytes == 0 || row.max_entry_bytes == 0 {
                return fail("size_bytes and max_entry_bytes must be positive");
            }
            if row.max_entry_bytes > row.size_bytes {
                return fail("max_entry_bytes exceeds size_bytes");
            }
            if row.stale_s.is_some() && class != DataClass::Analytics {
                return fail("only analytics may be served stale (the degradation table)");
            }
            if let Some(negative) = row.negative {
                if negative.ttl_s == 0 || negative.ttl_s > row.ttl_s {
                    return fail("negative ttl_s must be in 1..=ttl_s");
                }
                if negative.max_entries == 0 {
                    return fail("negative max_entries is 0");
                }
            }
        }
        Ok(())
    }

    /// Reads a policy document: `{"schema_version": 1, "classes": {"drug_catalog": {...}}}`.
    ///
    /// # Errors
    ///
    /// [`PolicyError`]: too large, not JSON of this shape (unknown fields refused), a
    /// class that is not a cache class (a consistent read such as `cs_balance` is
    /// [`ClassError::NeverCached`]), or an invalid row.
    pub fn from_json(json: &[u8]) -> Result<Self, PolicyError> {
        if json.len() > MAX_POLICY_JSON {
            return Err(PolicyError::TooLarge(json.len()));
        }
        let document: PolicyDocument =
            serde_json::from_slice(json).map_err(|e| PolicyError::Json(e.to_string()))?;
        if document.schema_version != POLICY_SCHEMA_VERSION {
            return Err(PolicyError::SchemaVersion(document.schema_version));
        }
        let mut rows = Vec::with_capacity(document.classes.len());
        for (name, row) in document.classes {
            let class = name
                .parse::<DataClass>()
                .map_err(|reason| PolicyError::Class {
                    name: name.chars().take(64).collect(),
                    reason,
                })?;
            rows.push((class, row));
        }
        Self::new(rows)
    }

    /// The policy as a document [`Self::from_json`] reads back.
    #[must_use]
    pub fn to_json(&self) -> String {
        let document = PolicyDocument {
            schema_version: POLICY_SCHEMA_VERSION,
            classes: self
                .rows()
                .map(|(class, row)| (class.name().to_owned(), *row))
                .collect(),
        };
        serde_json::to_string_pretty(&document).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::NeverCached;

    #[test]
    fn design_rows_are_the_table() {
        let policy = CachePolicy::design();
        policy.validate().unwrap_or_else(|e| panic!("{e}"));
        let row = |c| *policy.class(c).unwrap_or_else(|| panic!("{c}"));
        assert_eq!(row(DataClass::DrugCatalog).size_bytes, 5 * GB);
        assert_eq!(
            row(DataClass::DrugCatalog).ttl(),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            row(DataClass::Inventory).levels,
            Levels {
                l1: true,
                l2: false
            }
        );
        assert_eq!(row(DataClass::Inventory).ttl_s, 300);
        assert_eq!(
            row(DataClass::Patient).levels,
            Levels { l1: true, l2: true }
        );
        assert_eq!(row(DataClass::Session).max_entry_bytes, 50_000);
        assert_eq!(row(DataClass::Session).ttl_s, 8 * HOUR);
        assert_eq!(row(DataClass::Formulary).invalidation, Trigger::PayerUpdate);
        let deployment = Deployment {
            pharmacies: 3,
            payers: 5,
            sessions: 10,
        };
        assert_eq!(row(DataClass::Formulary).budget_bytes(&deployment), 5 * GB);
        assert_eq!(
            row(DataClass::Inventory).budget_bytes(&deployment),
            300 * MB
        );
        assert_eq!(
            policy
                .invalidated_by(Trigger::WeeklyRelease)
                .collect::<Vec<_>>(),
            [DataClass::OrangeBook]
        );
    }

    #[test]
    fn json_round_trips_and_refuses_consistent_reads() {
        let policy = CachePolicy::design();
        let json = policy.to_json();
        assert_eq!(CachePolicy::from_json(json.as_bytes()), Ok(policy));
        let cs = json.replace("\"inventory\"", "\"cs_balance\"");
        assert_eq!(
            CachePolicy::from_json(cs.as_bytes()),
            Err(PolicyError::Class {
                name: "cs_balance".into(),
                reason: ClassError::NeverCached(NeverCached::ControlledSubstanceBalance)
            })
        );
        let status = json.replace("\"session\": {", "\"transaction_status\": {");
        assert!(matches!(
            CachePolicy::from_json(status.as_bytes()),
            Err(PolicyError::Class {
                reason: ClassError::NeverCached(NeverCached::TransactionStatus),
                ..
            })
        ));
        let unknown_field = json.replacen("\"ttl_s\"", "\"ttl\"", 1);
        assert!(matches!(
            CachePolicy::from_json(unknown_field.as_bytes()),
            Err(PolicyError::Json(_))
        ));
        assert!(matches!(
            CachePolicy::from_json(
                json.replace("\"schema_version\": 1", "\"schema_version\": 2")
                    .as_bytes()
            ),
            Err(PolicyError::SchemaVersion(2))
        ));
        assert_eq!(
            CachePolicy::from_json(&vec![b' '; MAX_POLICY_JSON + 1]),
            Err(PolicyError::TooLarge(MAX_POLICY_JSON + 1))
        );
        assert!(matches!(
            CachePolicy::from_json(b""),
            Err(PolicyError::Json(_))
        ));
    }

    #[test]
    fn rows_are_checked_at_their_boundaries() {
        let design = CachePolicy::design();
        let base = *design
            .class(DataClass::Patient)
            .unwrap_or_else(|| panic!("patient"));
        let negative = |ttl_s, max_entries| ClassPolicy {
            negative: Some(NegativePolicy { ttl_s, max_entries }),
            ..base
        };
        let no_levels = Levels {
            l1: false,
            l2: false,
        };
        // (class, row, valid): each rule on both sides of its boundary.
        let cases = [
            (DataClass::Patient, base, true),
            (DataClass::Patient, ClassPolicy { ttl_s: 0, ..base }, false),
            (
                DataClass::Patient,
                ClassPolicy {
                    ttl_s: 1,
                    negative: None,
                    ..base
                },
                true,
            ),
            (
                DataClass::Patient,
                ClassPolicy {
                    levels: no_levels,
                    ..base
                },
                false,
            ),
            (
                DataClass::Patient,
                ClassPolicy {
                    stale_s: Some(1),
                    ..base
                },
                false,
            ),
            (
                DataClass::Analytics,
                ClassPolicy {
                    stale_s: Some(1),
                    ..base
                },
                true,
            ),
            (DataClass::Patient, negative(base.ttl_s, 1), true),
            (DataClass::Patient, negative(base.ttl_s + 1, 1), false),
            (DataClass::Patient, negative(0, 1), false),
            (DataClass::Patient, negative(1, 0), false),
            (
                DataClass::Patient,
                ClassPolicy {
                    max_entry_bytes: base.size_bytes,
                    ..base
                },
                true,
            ),
            (
                DataClass::Patient,
                ClassPolicy {
                    max_entry_bytes: base.size_bytes + 1,
                    ..base
                },
                false,
            ),
            (
                DataClass::Patient,
                ClassPolicy {
                    size_bytes: 0,
                    max_entry_bytes: 0,
                    ..base
                },
                false,
            ),
        ];
        for (n, (class, row, valid)) in cases.into_iter().enumerate() {
            assert_eq!(
                CachePolicy::new([(class, row)]).is_ok(),
                valid,
                "case {n}: {row:?}"
            );
        }
    }
}
