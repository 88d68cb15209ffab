//! Read/write split, lag-aware replica routing and read-your-writes.
//!
//! # The split
//!
//! | query kind | node |
//! |---|---|
//! | [`QueryKind::Write`] | primary |
//! | [`QueryKind::TransactionalRead`] (inside or feeding a write transaction) | primary |
//! | [`QueryKind::Analytics`] (cross-pharmacy aggregates, scatter-gather) | analytics replica |
//! | [`QueryKind::Reporting`] (scheduled and regulatory reports) | reporting replica |
//! | [`QueryKind::ApiRead`] (reads served by the public API) | API replica |
//!
//! Each physical shard has one primary and one replica per [`ReplicaRole`].
//!
//! # Lag
//!
//! A [`ReadRouter`] is fed [`LagSample`]s for each replica (see [`crate::lag`] for how the
//! lag is estimated without the idle-primary pitfall) and sends a replica's reads to the
//! primary while its lag exceeds [`ReadRouterConfig::max_lag`] (5 s by default; exactly
//! 5 s still reads from the replica, 5 s + 1 ms does not). A replica with outstanding WAL
//! whose lag is only known as a lower bound ([`LagSource::LowerBound`]: the first sample,
//! no heartbeat, replay not paused) does not serve either ([`FallbackReason::LagUnknown`])
//! until a caught-up, heartbeat or history estimate puts it within the limit. Each change
//! of a replica's state emits one [`RoutingEvent`]: [`RoutingEvent::FellBackToPrimary`]
//! when it stops serving, [`RoutingEvent::ReplicaRestored`] when it serves again.

//!
//! # Read-your-writes
//!
//! After a write commits, the adapter reads `pg_current_wal_insert_lsn()` on the same
//! primary and hands the caller an [`LsnToken`]. A read that carries the token goes to a
//! replica only if that replica's last observed replay LSN is at or past the token;
//! otherwise to the primary.
//!
//! Tokens are per physical shard, and a token naming **another** physical shard than the
//! one the read is routed to sends the read to the primary
//! ([`DecisionReason::TokenForOtherShard`]). The router cannot tell how that shard's WAL
//! relates to this one's: after a logical shard is moved and cut over, a write made on the
//! old physical shard is now read from the new one, whose replica may not have replayed
//! the moved rows yet. Pass the session's token for the shard the pharmacy currently
//! routes to (keep one per shard with [`LsnToken::max`]) to read from its replica.
//!
//! The router is pure: time comes in as arguments (`*_ms`, milliseconds on the caller's
//! clock) and it performs no I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::directory::PhysicalShard;
use crate::lag::{
    HistoryCapacityError, LagEstimate, LagSample, LagSource, LagTracker, Lsn, LsnParseError,
    check_history_capacity,
};

/// What a query does, which decides where it may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum QueryKind {
    /// Any statement that writes (and anything else inside a write transaction).
    Write,
    /// A read that must see the latest committed state (read-modify-write, stock checks
    /// before a dispense).
    TransactionalRead,
    /// Cross-pharmacy analytics and dashboards.
    Analytics,
    /// Reports.
    Reporting,
    /// Reads served by the public API.
    ApiRead,
}

/// The replica a read kind is served by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReplicaRole {
    /// Serves [`QueryKind::Analytics`].
    Analytics,
    /// Serves [`QueryKind::Reporting`].
    Reporting,
    /// Serves [`QueryKind::ApiRead`].
    Api,
}

impl ReplicaRole {
    /// Every role, in a fixed order.
    pub const ALL: [ReplicaRole; 3] = [
        ReplicaRole::Analytics,
        ReplicaRole::Reporting,
        ReplicaRole::Api,
    ];
}

/// A node of a shard: its primary or one of its replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Target {
    /// The shard's primary.
    Primary,
    /// The shard's replica with this role.
    Replica(ReplicaRole),
}

impl QueryKind {
    /// The node this kind of query is meant for, per the split table (before lag and
    /// read-your-writes are considered).
    #[must_use]
    pub const fn target(self) -> Target {
        match self {
            QueryKind::Write | QueryKind::TransactionalRead => Target::Primary,
            QueryKind::Analytics => Target::Replica(ReplicaRole::Analytics),
            QueryKind::Reporting => Target::Replica(ReplicaRole::Reporting),
            QueryKind::ApiRead => Target::Replica(ReplicaRole::Api),
        }
    }
}

/// One replica of one physical shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaKey {
    /// The physical shard.
    pub shard: PhysicalShard,
    /// Which of its replicas.
    pub role: ReplicaRole,
}

/// A read-your-writes token: the primary's WAL position after a write committed.
///
/// Its text form (for an HTTP header or a session) is `<shard>:<lsn>`, for example
/// `3:16/B374D848`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LsnToken {
    /// The physical shard the write went to.
    pub shard: PhysicalShard,
    /// `pg_current_wal_insert_lsn()` on that shard's primary, read after the commit (an
    /// LSN at or past the end of the commit record).
    pub lsn: Lsn,
}

impl LsnToken {
    /// Whether a replica of `shard` that has replayed up to `replay` is known to show this
    /// write. Always false for another shard (see the module documentation).
    #[must_use]
    pub fn satisfied_by(&self, shard: PhysicalShard, replay: Lsn) -> bool {
        self.shard == shard && replay >= self.lsn
    }

    /// The later of two tokens of the same shard (a session keeps one per shard).
    #[must_use]
    pub fn max(self, other: LsnToken) -> LsnToken {
        if self.shard == other.shard && other.lsn > self.lsn {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for LsnToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.shard.0, self.lsn)
    }
}

/// A string that is not an [`LsnToken`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LsnTokenParseError {
    /// No `:` separator or a bad shard number.
    #[error("invalid LSN token {0:?}: expected <shard>:<lsn>, like 3:16/B374D848")]
    Format(String),
    /// The LSN part is invalid.
    #[error(transparent)]
    Lsn(#[from] LsnParseError),
}

impl FromStr for LsnToken {
    type Err = LsnTokenParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (shard, lsn) = s
            .split_once(':')
            .ok_or_else(|| LsnTokenParseError::Format(s.to_owned()))?;
        if shard.is_empty() || !shard.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LsnTokenParseError::Format(s.to_owned()));
        }
        let shard = PhysicalShard(
            shard
                .parse()
                .map_err(|_| LsnTokenParseError::Format(s.to_owned()))?,
        );
        Ok(LsnToken {
            shard,
            lsn: lsn.parse()?,
        })
    }
}

/// Settings of a [`ReadRouter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadRouterConfig {
    /// Highest lag at which a replica still serves reads (inclusive). Default 5 s.
    pub max_lag: Duration,
    /// A replica whose last sample is older than this (at routing time) stops serving
    /// until a new sample arrives, because its lag is no longer known. Default 10 s.
    pub stale_after: Duration,
    /// Distinct primary positions each replica's [`LagTracker`] remembers, at most
    /// [`MAX_HISTORY_CAPACITY`](crate::lag::MAX_HISTORY_CAPACITY) (checked by
    /// [`ReadRouter::new`]). Default 1,024.
    pub history_capacity: usize,
}

impl Default for ReadRouterConfig {
    fn default() -> Self {
        Self {
            max_lag: Duration::from_secs(5),
            stale_after: Duration::from_secs(10),
            history_capacity: crate::lag::DEFAULT_HISTORY_CAPACITY,
        }
    }
}

/// Why a replica's reads go to the primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FallbackReason {
    /// The estimated lag exceeded [`ReadRouterConfig::max_lag`].
    LagAboveMax,
    /// No sample for longer than [`ReadRouterConfig::stale_after`].
    Stale,
    /// The adapter reported the replica unreachable ([`ReadRouter::replica_down`]).
    Unreachable,
    /// No sample has been received for the replica yet.
    NeverObserved,
    /// The replica has outstanding WAL and its lag is only known as a lower bound
    /// ([`LagSource::LowerBound`]), so it may be far behind. Like
    /// [`FallbackReason::NeverObserved`], this queues no event while the replica has not
    /// been reported on yet.
    LagUnknown,
}

/// A change in whether a replica serves its reads. Emitted once per transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum RoutingEvent {
    /// The replica stopped serving; its reads go to the primary.
    FellBackToPrimary {
        /// The replica.
        replica: ReplicaKey,
        /// Its estimated lag, when known.
        lag: Option<Duration>,
        /// Why.
        reason: FallbackReason,
        /// When (ms).
        at_ms: u64,
    },
    /// The replica serves its reads again.
    ReplicaRestored {
        /// The replica.
        replica: ReplicaKey,
        /// Its estimated lag.
        lag: Duration,
        /// When (ms).
        at_ms: u64,
    },
}

/// Why a read went where it went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum DecisionReason {
    /// The query kind belongs on the primary.
    PrimaryByKind,
    /// The replica is within the lag limit (and has replayed the token, if any).
    ReplicaInSync {
        /// The replica's last estimated lag.
        lag: Duration,
    },
    /// The replica is not serving.
    ReplicaFallback(FallbackReason),
    /// The caller's token names another physical shard than the read's: conservatively
    /// the primary (see the module documentation).
    TokenForOtherShard {
        /// The caller's token.
        token: LsnToken,
    },
    /// The replica serves, but has not yet replayed the caller's write.
    TokenNotReplayed {
        /// The caller's token.
        token: LsnToken,
        /// The replica's last observed replay LSN.
        replay_lsn: Lsn,
    },
}

/// Where one query runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadDecision {
    /// The physical shard.
    pub shard: PhysicalShard,
    /// The node to run on.
    pub target: Target,
    /// Why.
    pub reason: DecisionReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Serving,
    Fallback(FallbackReason),
}

#[derive(Clone, Debug)]
struct ReplicaState {
    tracker: LagTracker,
    last: Option<LagEstimate>,
    status: Status,
    /// Whether an event was queued for the replica or it served: until then its first
    /// news is silent when good (or when only [`FallbackReason::LagUnknown`]).
    announced: bool,
}

impl ReplicaState {
    fn new(capacity: usize) -> Self {
        Self {
            tracker: LagTracker::with_valid_capacity(capacity),
            last: None,
            status: Status::Fallback(FallbackReason::NeverObserved),
            announced: false,
        }
    }
}

/// Lag-aware read routing for every replica of every shard (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct ReadRouter {
    config: ReadRouterConfig,
    replicas: BTreeMap<ReplicaKey, ReplicaState>,
    events: Vec<RoutingEvent>,
}

impl ReadRouter {
    /// A router with no samples yet: until a replica's first sample, its reads go to the
    /// primary ([`FallbackReason::NeverObserved`], with no event).
    ///
    /// # Errors
    ///
    /// [`HistoryCapacityError`] if `config.history_capacity` is outside
    /// `1..=MAX_HISTORY_CAPACITY`.
    pub fn new(config: ReadRouterConfig) -> Result<Self, HistoryCapacityError> {
        check_history_capacity(config.history_capacity)?;
        Ok(Self {
            config,
            replicas: BTreeMap::new(),
            events: Vec::new(),
        })
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ReadRouterConfig {
        &self.config
    }

    /// Records a lag sample of `replica` and returns the estimate. The replica serves when
    /// `estimate.lag <= max_lag`, unless the estimate is only a
    /// [`LagSource::LowerBound`] ([`FallbackReason::LagUnknown`]; a lower bound above the
    /// limit is [`FallbackReason::LagAboveMax`]). A change of state queues one
    /// [`RoutingEvent`]; until a replica has served or been reported on, it queues an event
    /// only if it falls back for a reason other than [`FallbackReason::LagUnknown`].
    pub fn observe(&mut self, replica: ReplicaKey, sample: &LagSample) -> LagEstimate {
        let capacity = self.config.history_capacity;
        let state = self
            .replicas
            .entry(replica)
            .or_insert_with(|| ReplicaState::new(capacity));
        let estimate = state.tracker.observe(sample);
        state.last = Some(estimate);
        let next = if estimate.lag > self.config.max_lag {
            // Also a lower bound above the limit: the lag is known to be too high.
            Status::Fallback(FallbackReason::LagAboveMax)
        } else if estimate.source == LagSource::LowerBound {
            Status::Fallback(FallbackReason::LagUnknown)
        } else {
            Status::Serving
        };
        Self::transition(
            &mut self.events,
            replica,
            state,
            next,
            Some(estimate.lag),
            sample.measured_at_ms,
        );
        estimate
    }

    /// Marks `replica` unreachable (a failed connection or health check): its reads go to
    /// the primary until the next sample within the lag limit.
    pub fn replica_down(&mut self, replica: ReplicaKey, at_ms: u64) {
        let capacity = self.config.history_capacity;
        let state = self
            .replicas
            .entry(replica)
            .or_insert_with(|| ReplicaState::new(capacity));
        let lag = state.last.map(|estimate| estimate.lag);
        Self::transition(
            &mut self.events,
            replica,
            state,
            Status::Fallback(FallbackReason::Unreachable),
            lag,
            at_ms,
        );
    }

    /// Decides where a query of `kind` for physical `shard` runs at `now_ms`, honouring
    /// the caller's read-your-writes `token`. A replica whose last sample became stale
    /// falls back here (queuing its event).
    pub fn route(
        &mut self,
        now_ms: u64,
        shard: PhysicalShard,
        kind: QueryKind,
        token: Option<&LsnToken>,
    ) -> ReadDecision {
        let role = match kind.target() {
            Target::Primary => {
                return ReadDecision {
                    shard,
                    target: Target::Primary,
                    reason: DecisionReason::PrimaryByKind,
                };
            }
            Target::Replica(role) => role,
        };
        let replica = ReplicaKey { shard, role };
        let primary = |reason| ReadDecision {
            shard,
            target: Target::Primary,
            reason,
        };
        let Some(state) = self.replicas.get_mut(&replica) else {
            return primary(DecisionReason::ReplicaFallback(
                FallbackReason::NeverObserved,
            ));
        };
        if let (Status::Serving, Some(last)) = (state.status, state.last) {
            let age = now_ms.saturating_sub(last.measured_at_ms);
            if Duration::from_millis(age) > self.config.stale_after {
                Self::transition(
                    &mut self.events,
                    replica,
                    state,
                    Status::Fallback(FallbackReason::Stale),
                    Some(last.lag),
                    now_ms,
                );
            }
        }
        match (state.status, state.last) {
            (Status::Serving, Some(last)) => match token {
                Some(token) if token.shard != shard => {
                    primary(DecisionReason::TokenForOtherShard { token: *token })
                }
                Some(token) if !token.satisfied_by(shard, last.replay_lsn) => {
                    primary(DecisionReason::TokenNotReplayed {
                        token: *token,
                        replay_lsn: last.replay_lsn,
                    })
                }
                _ => ReadDecision {
                    shard,
                    target: Target::Replica(role),
                    reason: DecisionReason::ReplicaInSync { lag: last.lag },
                },
            },
            (Status::Fallback(reason), _) => primary(DecisionReason::ReplicaFallback(reason)),
            (Status::Serving, None) => primary(DecisionReason::ReplicaFallback(
                FallbackReason::NeverObserved,
            )),
        }
    }

    /// Whether `replica` currently serves its reads (ignoring staleness until the next
    /// [`ReadRouter::route`]).
    #[must_use]
    pub fn is_serving(&self, replica: ReplicaKey) -> bool {
        self.replicas
            .get(&replica)
            .is_some_and(|state| state.status == Status::Serving)
    }

    /// The last lag estimate of `replica`.
    #[must_use]
    pub fn last_estimate(&self, replica: ReplicaKey) -> Option<&LagEstimate> {
        self.replicas
            .get(&replica)
            .and_then(|state| state.last.as_ref())
    }

    /// Forgets `replica` entirely (lag history and state), for example after it was
    /// promoted or rebuilt; its reads go to the primary until its next sample, without an
    /// event.
    pub fn forget(&mut self, replica: ReplicaKey) {
        self.replicas.remove(&replica);
    }

    /// Takes the queued events, oldest first.
    pub fn take_events(&mut self) -> Vec<RoutingEvent> {
        std::mem::take(&mut self.events)
    }

    fn transition(
        events: &mut Vec<RoutingEvent>,
        replica: ReplicaKey,
        state: &mut ReplicaState,
        next: Status,
        lag: Option<Duration>,
        at_ms: u64,
    ) {
        let previous = state.status;
        if previous == next {
            return;
        }
        state.status = next;
        match next {
            Status::Serving => {
                if state.announced {
                    events.push(RoutingEvent::ReplicaRestored {
                        replica,
                        lag: lag.unwrap_or_default(),
                        at_ms,
                    });
                }
                state.announced = true;
            }
            Status::Fallback(reason) => {
                // Serving → fallback, or the first news of a replica is bad (an unknown
                // lag is not news yet). A change of reason while already falling back is
                // not a new transition.
                if previous == Status::Serving
                    || (!state.announced && reason != FallbackReason::LagUnknown)
                {
                    events.push(RoutingEvent::FellBackToPrimary {
                        replica,
                        lag,
                        reason,
                        at_ms,
                    });
                    state.announced = true;
                }
            }
        }
    }
}
