//! The enumerations and structs of read routing, and their conversions from the crate's.

use std::time::Duration;

use pharm_shard::lag::LagSource;
use pharm_shard::reads::{DecisionReason, FallbackReason, ReadDecision};
use pharm_shard::{QueryKind, ReplicaRole, Target};

use crate::error::Failure;

/// What a query does, which decides where it may run (the crate's `QueryKind`). Passed as a
/// `uint32_t`; `pharm_query_class_parse()` reads the crate's names.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pharm_query_class {
    /// Any statement that writes: the primary. Name `Write`.
    Write = 0,
    /// A read that must see the latest committed state: the primary. Name
    /// `TransactionalRead`.
    TransactionalRead = 1,
    /// Cross-pharmacy analytics: the analytics replica. Name `Analytics`.
    Analytics = 2,
    /// Reports: the reporting replica. Name `Reporting`.
    Reporting = 3,
    /// Reads served by the public API: the API replica. Name `ApiRead`.
    ApiRead = 4,
}

/// Every class with its name (the crate's serde name).
pub(super) const CLASSES: [(pharm_query_class, QueryKind, &str); 5] = [
    (pharm_query_class::Write, QueryKind::Write, "Write"),
    (
        pharm_query_class::TransactionalRead,
        QueryKind::TransactionalRead,
        "TransactionalRead",
    ),
    (
        pharm_query_class::Analytics,
        QueryKind::Analytics,
        "Analytics",
    ),
    (
        pharm_query_class::Reporting,
        QueryKind::Reporting,
        "Reporting",
    ),
    (pharm_query_class::ApiRead, QueryKind::ApiRead, "ApiRead"),
];

/// A node of a shard: its primary or one of its replicas. The replica values also name a
/// replica in the `replica` argument of `pharm_read_router_observe()` and
/// `pharm_read_router_replica_down()`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pharm_read_target {
    /// The shard's primary.
    Primary = 0,
    /// The replica serving `PHARM_QUERY_CLASS_ANALYTICS`.
    AnalyticsReplica = 1,
    /// The replica serving `PHARM_QUERY_CLASS_REPORTING`.
    ReportingReplica = 2,
    /// The replica serving `PHARM_QUERY_CLASS_API_READ`.
    ApiReplica = 3,
}

/// Why a read went where it went (the crate's `DecisionReason`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pharm_read_reason {
    /// The query class belongs on the primary.
    PrimaryByKind = 0,
    /// The replica is within the lag limit (and has replayed the token, if any).
    ReplicaInSync = 1,
    /// The replica is not serving; `fallback` says why. The read goes to the primary: the
    /// crate never refuses a read.
    ReplicaFallback = 2,
    /// The token names another physical shard: conservatively the primary.
    TokenForOtherShard = 3,
    /// The replica serves but has not replayed the token's write yet.
    TokenNotReplayed = 4,
}

/// Why a replica's reads go to the primary (the crate's `FallbackReason`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pharm_fallback_reason {
    /// Not a fallback.
    None = 0,
    /// The estimated lag exceeds the router's `max_lag_ms`.
    LagAboveMax = 1,
    /// No sample for longer than the router's `stale_after_ms`.
    Stale = 2,
    /// Reported down with `pharm_read_router_replica_down()`.
    Unreachable = 3,
    /// No sample received yet.
    NeverObserved = 4,
    /// WAL is outstanding and the lag is only known as a lower bound.
    LagUnknown = 5,
}

/// How a lag estimate was obtained (the crate's `LagSource`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pharm_lag_source {
    /// The replica has replayed everything the primary had written: lag is zero.
    CaughtUp = 0,
    /// From the heartbeat row.
    Heartbeat = 1,
    /// From the history of primary positions, interpolated.
    PrimaryLsnHistory = 2,
    /// From the last replayed commit, replay being paused.
    ReplayTimestamp = 3,
    /// Only a lower bound: not enough for the replica to serve.
    LowerBound = 4,
}

/// A replica's lag after a sample (the crate's `LagEstimate`, in short).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct pharm_lag_estimate {
    /// Estimated lag in milliseconds (0 when caught up).
    pub lag_ms: u64,
    /// Bytes of WAL the replica has not replayed.
    pub bytes_behind: u64,
    /// How `lag_ms` was obtained.
    pub source: pharm_lag_source,
    /// Whether the replica serves its reads after this sample.
    pub serving: bool,
}

/// Where one query runs (the crate's `ReadDecision`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct pharm_read_decision {
    /// The physical shard (as asked).
    pub shard: u32,
    /// The node to run on: the primary or one replica of `shard`.
    pub target: pharm_read_target,
    /// Why.
    pub reason: pharm_read_reason,
    /// For `PHARM_READ_REASON_REPLICA_FALLBACK`: why the replica does not serve (else
    /// `PHARM_FALLBACK_REASON_NONE`).
    pub fallback: pharm_fallback_reason,
    /// For `PHARM_READ_REASON_REPLICA_IN_SYNC`: the replica's last estimated lag in
    /// milliseconds (else 0).
    pub lag_ms: u64,
    /// For `PHARM_READ_REASON_TOKEN_NOT_REPLAYED`: the replica's last replay position as a
    /// 64-bit LSN (PostgreSQL writes it as `hi/lo` in hexadecimal; else 0).
    pub replay_lsn: u64,
}

pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn replica_role(replica: u32) -> Result<ReplicaRole, Failure> {
    match replica {
        1 => Ok(ReplicaRole::Analytics),
        2 => Ok(ReplicaRole::Reporting),
        3 => Ok(ReplicaRole::Api),
        other => Err(Failure::invalid(
            "replica",
            format!(
                "{other} is not a replica (PHARM_READ_TARGET_ANALYTICS_REPLICA = 1, _REPORTING_REPLICA = 2, _API_REPLICA = 3)"
            ),
        )),
    }
}

pub(super) fn query_kind(class: u32) -> Result<QueryKind, Failure> {
    CLASSES
        .iter()
        .find(|(value, _, _)| *value as u32 == class)
        .map(|(_, kind, _)| *kind)
        .ok_or_else(|| {
            Failure::invalid(
                "query_class",
                format!("{class} is not a query class (0..=4, pharm_query_class)"),
            )
        })
}

fn target(target: Target) -> pharm_read_target {
    match target {
        Target::Primary => pharm_read_target::Primary,
        Target::Replica(ReplicaRole::Analytics) => pharm_read_target::AnalyticsReplica,
        Target::Replica(ReplicaRole::Reporting) => pharm_read_target::ReportingReplica,
        Target::Replica(ReplicaRole::Api) => pharm_read_target::ApiReplica,
    }
}

fn fallback(reason: FallbackReason) -> pharm_fallback_reason {
    match reason {
        FallbackReason::LagAboveMax => pharm_fallback_reason::LagAboveMax,
        FallbackReason::Stale => pharm_fallback_reason::Stale,
        FallbackReason::Unreachable => pharm_fallback_reason::Unreachable,
        FallbackReason::NeverObserved => pharm_fallback_reason::NeverObserved,
        FallbackReason::LagUnknown => pharm_fallback_reason::LagUnknown,
    }
}

pub(super) fn lag_source(source: LagSource) -> pharm_lag_source {
    match source {
        LagSource::CaughtUp => pharm_lag_source::CaughtUp,
        LagSource::Heartbeat => pharm_lag_source::Heartbeat,
        LagSource::PrimaryLsnHistory => pharm_lag_source::PrimaryLsnHistory,
        LagSource::ReplayTimestamp => pharm_lag_source::ReplayTimestamp,
        LagSource::LowerBound => pharm_lag_source::LowerBound,
    }
}

impl From<ReadDecision> for pharm_read_decision {
    fn from(decision: ReadDecision) -> pharm_read_decision {
        let mut out = pharm_read_decision {
            shard: decision.shard.0,
            target: target(decision.target),
            reason: pharm_read_reason::PrimaryByKind,
            fallback: pharm_fallback_reason::None,
            lag_ms: 0,
            replay_lsn: 0,
        };
        match decision.reason {
            DecisionReason::PrimaryByKind => {}
            DecisionReason::ReplicaInSync { lag } => {
                out.reason = pharm_read_reason::ReplicaInSync;
                out.lag_ms = millis(lag);
            }
            DecisionReason::ReplicaFallback(reason) => {
                out.reason = pharm_read_reason::ReplicaFallback;
                out.fallback = fallback(reason);
            }
            DecisionReason::TokenForOtherShard { .. } => {
                out.reason = pharm_read_reason::TokenForOtherShard;
            }
            DecisionReason::TokenNotReplayed { replay_lsn, .. } => {
                out.reason = pharm_read_reason::TokenNotReplayed;
                out.replay_lsn = replay_lsn.0;
            }
        }
        out
    }
}
