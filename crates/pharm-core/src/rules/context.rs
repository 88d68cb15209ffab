//! What the engine knows about the world at evaluation time: the clock reading, the state
//! profile, store policy, connectivity and the freshness of remote data.

use serde::{Deserialize, Serialize};

use crate::ids::PharmacyId;
use crate::rules::StateProfile;
use crate::time::{Date, DateTime};

/// Whether the store can reach the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum Connectivity {
    /// Cloud reachable.
    #[default]
    Online,
    /// Cloud unreachable since the given time.
    Offline {
        /// When connectivity was lost.
        since: DateTime,
    },
}

impl Connectivity {
    /// True when offline.
    pub const fn is_offline(self) -> bool {
        matches!(self, Connectivity::Offline { .. })
    }
}

/// State of the prescription-drug-monitoring-program check for this patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum PmpStatus {
    /// No query has been made.
    #[default]
    NotQueried,
    /// The PMP was queried for this patient.
    Queried {
        /// When.
        at: DateTime,
    },
    /// The PMP could not be reached.
    Unavailable {
        /// Why (timeout, outage, offline).
        reason: String,
    },
}

/// Store policy: values the pharmacy (not the state) chooses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StorePolicy {
    /// Cash refill-too-soon threshold, percent of the last days supply used (default 75).
    pub cash_rts_percent: u32,
    /// Stricter cash threshold for controlled substances (default 80).
    pub controlled_rts_percent: u32,
    /// Tolerance in days between entered and computed days supply (RX-DS-01).
    pub days_supply_tolerance: u32,
    /// Store cap on days supply for cash fills (RX-DS-02).
    pub cash_max_days_supply: u32,
    /// More than one lot may go into one prescription fill (the label then lists all).
    pub allow_multi_lot_rx: bool,
    /// Recall feed older than this many hours makes lot-status checks a warning.
    pub recall_feed_max_age_hours: u32,
    /// Cached DEA registrant data older than this many hours is stale.
    pub dea_cache_max_age_hours: u32,
    /// Records dated up to this many seconds after `now` are read as made now (terminal
    /// clocks drift apart); a record dated later is a data-integrity block
    /// (DATA-FUTURE-01). Default 300.
    pub clock_skew_tolerance_seconds: u32,
}

impl Default for StorePolicy {
    fn default() -> Self {
        StorePolicy {
            cash_rts_percent: 75,
            controlled_rts_percent: 80,
            days_supply_tolerance: 1,
            cash_max_days_supply: 90,
            allow_multi_lot_rx: false,
            recall_feed_max_age_hours: 24,
            dea_cache_max_age_hours: 24 * 30,
            clock_skew_tolerance_seconds: 300,
        }
    }
}

/// This pharmacy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Pharmacy {
    /// Pharmacy id (NCPDP provider id or the chain's store number; a JSON number).
    pub id: PharmacyId,
    /// Pharmacies sharing a real-time online database with this one (1306.25(a)).
    #[serde(default)]
    pub shares_realtime_db_with: Vec<PharmacyId>,
    /// Mail-order or mobile retail vendor (PSE 7.5 g limit).
    #[serde(default)]
    pub mail_order: bool,
}

impl Default for Pharmacy {
    /// Pharmacy 0, sharing no database, not mail order: what [`Context::new`] starts from
    /// until the caller names the store.
    fn default() -> Self {
        Pharmacy {
            id: PharmacyId::new(0),
            shares_realtime_db_with: Vec::new(),
            mail_order: false,
        }
    }
}

/// Everything the engine needs besides the request itself. Build it once per store and
/// update `now`, `connectivity` and the freshness fields as they change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Store-local time of the evaluation (today is `now.date()`).
    pub now: DateTime,
    /// State rules.
    pub profile: StateProfile,
    /// Store policy.
    #[serde(default)]
    pub policy: StorePolicy,
    /// This pharmacy.
    #[serde(default)]
    pub pharmacy: Pharmacy,
    /// Cloud connectivity.
    #[serde(default)]
    pub connectivity: Connectivity,
    /// When the recall/hold feed was last refreshed (None = never).
    #[serde(default)]
    pub recall_feed_as_of: Option<DateTime>,
}

impl Context {
    /// A context for `now` under `profile`, online, default policy.
    pub fn new(now: DateTime, profile: StateProfile) -> Self {
        Context {
            now,
            profile,
            policy: StorePolicy::default(),
            pharmacy: Pharmacy::default(),
            connectivity: Connectivity::Online,
            recall_feed_as_of: Some(now),
        }
    }

    /// The store-local date of the evaluation.
    pub const fn today(&self) -> Date {
        self.now.date()
    }

    /// The latest moment a recorded event may carry: `now` plus the clock-skew tolerance.
    pub const fn latest_record_time(&self) -> DateTime {
        self.now
            .add_seconds(self.policy.clock_skew_tolerance_seconds as i64)
    }
}
