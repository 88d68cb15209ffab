//! Failover detection for one shard's primary, as a pure state machine.
//!
//! The design names three failover triggers:
//!
//! 1. **Primary health failing for 30 s.** Health-check results are fed in with their
//!    timestamps ([`FailoverDetector::health_check`]). Following the reference (§3.8,
//!    "require N consecutive failed checks spread over 30 s, not one timeout"), failover is
//!    recommended when, with no successful check in between, **at least
//!    [`FailoverConfig::min_failed_checks`] checks have failed (default 3) and the latest
//!    failed check is at least [`FailoverConfig::unhealthy_for`] (default 30 s) after the
//!    first one**: `last_failure − first_failure ≥ 30 s`. A run of failures spanning
//!    29.999 s does not trigger; 30.000 s does. The detector reads no clock: the trigger is
//!    evaluated when a failed check arrives, so the health checker must report timeouts as
//!    failed checks.
//! 2. **Replication lag over 60 s.** A replica lagging more than
//!    [`FailoverConfig::replica_lag_limit`] (strictly more than 60 s) raises
//!    [`FailoverEvent::ReplicaLagCritical`]: it must be replaced or rebuilt, and it is
//!    never a promotion candidate (its reads already went to the primary at 5 s, see
//!    [`crate::reads`]). The reference is explicit that a lagging replica must not be
//!    promoted ("never fail over to a replica whose lag exceeds the threshold"), so this
//!    trigger fails over *away from the replica*, not to it. Exactly 60 s is still
//!    acceptable.
//! 3. **Manual** ([`FailoverDetector::manual`]), optionally naming the replica to promote.
//!
//! States: [`FailoverState::Healthy`] → (failed check) [`FailoverState::Suspect`] →
//! (trigger) [`FailoverState::FailoverRecommended`] → ([`FailoverDetector::start_failover`])
//! [`FailoverState::FailingOver`] → ([`FailoverDetector::complete_failover`] or
//! [`FailoverDetector::abort_failover`]) [`FailoverState::Healthy`]. A successful check
//! returns a suspect primary, or one whose failover was recommended by the health trigger
//! but not started, to `Healthy`; a manual recommendation stays until started or aborted.
//! Checks are ignored while failing over (the old primary is being fenced).
//!
//! **Candidate lag is frozen when the primary starts failing**: lag measured against a
//! dead primary measures the outage, not how much data the replica lacks, so the candidate
//! is chosen from the lag last reported while the primary was healthy (lowest lag wins,
//! ties in [`ReplicaRole`] order). Lag reports received meanwhile are kept for when the
//! primary recovers. The detector only recommends; fencing the old primary and promoting
//! the replica are the operator's or the adapter's job ([`FailoverEvent::FailoverStarted`]).
//!
//! **Lag reports expire.** Each report is kept with the time it was measured, and a report
//! older than [`FailoverConfig::max_report_age`] (default 30 s, about twice the interval at
//! which lag is reported; set it to that for another cadence) is ignored when choosing a
//! candidate: a replica that stopped reporting may have stopped replicating. The age is
//! taken at the moment of the decision, or, while the lag is frozen, at the moment the
//! primary started failing (the frozen reports describe that moment). A replica reported
//! down ([`FailoverDetector::replica_down`]) loses its report, frozen or not, until it
//! reports again. After [`FailoverDetector::complete_failover`] every report is dropped:
//! they were measured against the old primary, and no replica is a candidate until it
//! reports its lag against the new one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::reads::ReplicaRole;

/// Thresholds of a [`FailoverDetector`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverConfig {
    /// How long checks must fail without a success in between (inclusive). Default 30 s.
    pub unhealthy_for: Duration,
    /// How many consecutive failed checks are needed as well. Default 3.
    pub min_failed_checks: u32,
    /// Highest replica lag (inclusive) at which a replica may be promoted. Default 60 s.
    pub max_candidate_lag: Duration,
    /// Lag above which (exclusive) a replica raises [`FailoverEvent::ReplicaLagCritical`].
    /// Default 60 s.
    pub replica_lag_limit: Duration,
    /// Oldest lag report (inclusive) still used to choose a promotion candidate; older
    /// ones are ignored. Default 30 s: about twice the interval at which lag is reported
    /// (the health-check cadence); set it to twice your reporting interval.
    #[serde(default = "default_max_report_age")]
    pub max_report_age: Duration,
}

fn default_max_report_age() -> Duration {
    Duration::from_secs(30)
}

impl Default for FailoverConfig {
    fn default() -> Self {
        Self {
            unhealthy_for: Duration::from_secs(30),
            min_failed_checks: 3,
            max_candidate_lag: Duration::from_secs(60),
            replica_lag_limit: Duration::from_secs(60),
            max_report_age: default_max_report_age(),
        }
    }
}

/// What caused a failover recommendation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FailoverTrigger {
    /// The primary's health checks failed for long enough.
    PrimaryUnhealthy {
        /// Time from the first to the latest failed check.
        failing_for: Duration,
        /// Consecutive failed checks.
        failed_checks: u32,
    },
    /// An operator asked for it.
    Manual {
        /// Why (free text, for the audit log).
        reason: String,
        /// The replica the operator wants promoted, if any.
        preferred: Option<ReplicaRole>,
    },
}

/// Where the detector stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FailoverState {
    /// The last health check succeeded (or none failed yet).
    #[default]
    Healthy,
    /// Checks are failing, not yet long enough.
    Suspect {
        /// Time of the first failed check of the run (ms).
        failing_since_ms: u64,
        /// Failed checks in the run.
        failed_checks: u32,
    },
    /// Failover should happen.
    FailoverRecommended {
        /// Why.
        trigger: FailoverTrigger,
        /// The replica to promote, if one is eligible.
        candidate: Option<ReplicaRole>,
        /// When recommended (ms).
        at_ms: u64,
    },
    /// Failover is under way.
    FailingOver {
        /// Why.
        trigger: FailoverTrigger,
        /// The replica being promoted.
        candidate: ReplicaRole,
        /// When started (ms).
        started_ms: u64,
    },
}

/// Something the operator or the adapter should know or act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FailoverEvent {
    /// The first failed check of a run.
    PrimarySuspect {
        /// Time of that check (ms).
        since_ms: u64,
    },
    /// A successful check ended a run of failures (and any health-triggered
    /// recommendation).
    PrimaryRecovered {
        /// Time of the successful check (ms).
        at_ms: u64,
        /// Time from the first failed check to the successful one.
        failed_for: Duration,
    },
    /// Failover should happen. `candidate: None` means no replica is eligible (all lag
    /// more than [`FailoverConfig::max_candidate_lag`] or have never reported): do not
    /// promote; escalate.
    FailoverRecommended {
        /// Why.
        trigger: FailoverTrigger,
        /// The replica to promote.
        candidate: Option<ReplicaRole>,
        /// When (ms).
        at_ms: u64,
    },
    /// Failover began: fence the old primary, then promote `candidate`.
    FailoverStarted {
        /// The replica being promoted.
        candidate: ReplicaRole,
        /// When (ms).
        at_ms: u64,
    },
    /// The replica was promoted; it is no longer tracked as a replica.
    FailoverCompleted {
        /// The former replica that is now the primary.
        new_primary: ReplicaRole,
        /// When (ms).
        at_ms: u64,
    },
    /// The failover or its recommendation was abandoned.
    FailoverAborted {
        /// When (ms).
        at_ms: u64,
    },
    /// The replica's lag exceeded [`FailoverConfig::replica_lag_limit`]: replace it; it is
    /// not a promotion candidate meanwhile.
    ReplicaLagCritical {
        /// The replica.
        replica: ReplicaRole,
        /// Its lag.
        lag: Duration,
        /// When (ms).
        at_ms: u64,
    },
    /// The replica's lag is back within the limit.
    ReplicaLagCleared {
        /// The replica.
        replica: ReplicaRole,
        /// Its lag.
        lag: Duration,
        /// When (ms).
        at_ms: u64,
    },
}

/// An operation the current state does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailoverError {
    /// `start_failover` without a recommendation.
    #[error("no failover has been recommended")]
    NotRecommended,
    /// `complete_failover` or `abort_failover` while not failing over (abort also accepts a
    /// recommendation).
    #[error("no failover is in progress")]
    NotFailingOver,
    /// A failover is already in progress.
    #[error("a failover is already in progress")]
    AlreadyFailingOver,
    /// No replica has a known lag within the limit.
    #[error("no replica is eligible for promotion")]
    NoEligibleCandidate,
    /// The named replica lags too much, or has no usable lag report (never reported,
    /// reported down, or its last report is older than
    /// [`FailoverConfig::max_report_age`]).
    #[error("replica {candidate:?} is not eligible for promotion (lag {lag:?})")]
    CandidateIneligible {
        /// The replica.
        candidate: ReplicaRole,
        /// Its lag as used for the decision (`None`: no usable report).
        lag: Option<Duration>,
    },
}

/// One replica's last lag report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LagReport {
    lag: Duration,
    /// When it was measured (ms).
    at_ms: u64,
}

/// The reports as they were when the primary started failing.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FrozenLag {
    /// The first failed check (ms): report ages are taken at this moment.
    at_ms: u64,
    reports: BTreeMap<ReplicaRole, LagReport>,
}

/// The failover state machine of one shard (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct FailoverDetector {
    config: FailoverConfig,
    state: FailoverState,
    lag: BTreeMap<ReplicaRole, LagReport>,
    frozen_lag: Option<FrozenLag>,
    critical: BTreeSet<ReplicaRole>,
    events: Vec<FailoverEvent>,
}

impl FailoverDetector {
    /// A detector for a healthy primary with no replica lag known yet.
    #[must_use]
    pub fn new(config: FailoverConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The thresholds.
    #[must_use]
    pub fn config(&self) -> &FailoverConfig {
        &self.config
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> &FailoverState {
        &self.state
    }

    /// Takes the queued events, oldest first.
    pub fn take_events(&mut self) -> Vec<FailoverEvent> {
        std::mem::take(&mut self.events)
    }

    /// Feeds one health check of the primary taken at `at_ms` (a timeout is `ok: false`).
    pub fn health_check(&mut self, at_ms: u64, ok: bool) {
        if ok {
            self.check_ok(at_ms);
        } else {
            self.check_failed(at_ms);
        }
    }

    fn check_ok(&mut self, at_ms: u64) {
        let since = match &self.state {
            FailoverState::Suspect {
                failing_since_ms, ..
            } => *failing_since_ms,
            FailoverState::FailoverRecommended {
                trigger: FailoverTrigger::PrimaryUnhealthy { failing_for, .. },
                at_ms: recommended_at,
                ..
            } => recommended_at.saturating_sub(duration_ms(*failing_for)),
            _ => return,
        };
        self.state = FailoverState::Healthy;
        self.frozen_lag = None;
        self.events.push(FailoverEvent::PrimaryRecovered {
            at_ms,
            failed_for: Duration::from_millis(at_ms.saturating_sub(since)),
        });
    }

    fn check_failed(&mut self, at_ms: u64) {
        let (since, checks) = match self.state {
            FailoverState::Healthy => {
                self.frozen_lag = Some(FrozenLag {
                    at_ms,
                    reports: self.lag.clone(),
                });
                self.events
                    .push(FailoverEvent::PrimarySuspect { since_ms: at_ms });
                (at_ms, 1)
            }
            FailoverState::Suspect {
                failing_since_ms,
                failed_checks,
            } => (failing_since_ms, failed_checks.saturating_add(1)),
            FailoverState::FailoverRecommended { .. } | FailoverState::FailingOver { .. } => {
                return;
            }
        };
        let failing_for = Duration::from_millis(at_ms.saturating_sub(since));
        if failing_for >= self.config.unhealthy_for && checks >= self.config.min_failed_checks {
            self.recommend(
                at_ms,
                FailoverTrigger::PrimaryUnhealthy {
                    failing_for,
                    failed_checks: checks,
                },
                None,
            );
        } else {
            self.state = FailoverState::Suspect {
                failing_since_ms: since,
                failed_checks: checks,
            };
        }
    }

    /// Records the lag of a replica measured at `at_ms`. While the primary is healthy, a
    /// lag above [`FailoverConfig::replica_lag_limit`] raises
    /// [`FailoverEvent::ReplicaLagCritical`] once, and a return within it
    /// [`FailoverEvent::ReplicaLagCleared`].
    pub fn replica_lag(&mut self, at_ms: u64, replica: ReplicaRole, lag: Duration) {
        self.lag.insert(replica, LagReport { lag, at_ms });
        if self.state != FailoverState::Healthy {
            return;
        }
        let critical = lag > self.config.replica_lag_limit;
        if critical && self.critical.insert(replica) {
            self.events.push(FailoverEvent::ReplicaLagCritical {
                replica,
                lag,
                at_ms,
            });
        } else if !critical && self.critical.remove(&replica) {
            self.events.push(FailoverEvent::ReplicaLagCleared {
                replica,
                lag,
                at_ms,
            });
        }
    }

    /// Marks `replica` down (unreachable, or its replication broke): its lag report is
    /// dropped, also from the reports frozen while the primary fails, so it is no
    /// promotion candidate until it reports its lag again.
    pub fn replica_down(&mut self, replica: ReplicaRole) {
        self.lag.remove(&replica);
        if let Some(frozen) = &mut self.frozen_lag {
            frozen.reports.remove(&replica);
        }
    }

    /// The lag of each replica usable for a candidate decision at `now_ms`: the frozen
    /// reports (aged at the freeze) while the primary is failing, else the current ones,
    /// without those older than [`FailoverConfig::max_report_age`].
    fn decision_lag(&self, now_ms: u64) -> impl Iterator<Item = (ReplicaRole, Duration)> + '_ {
        let (reports, reference_ms) = match &self.frozen_lag {
            Some(frozen) => (&frozen.reports, frozen.at_ms),
            None => (&self.lag, now_ms),
        };
        let max_age = self.config.max_report_age;
        reports.iter().filter_map(move |(role, report)| {
            let age = Duration::from_millis(reference_ms.saturating_sub(report.at_ms));
            (age <= max_age).then_some((*role, report.lag))
        })
    }

    /// The usable lag of `replica` at `now_ms` (see [`FailoverDetector::is_eligible`]).
    fn usable_lag(&self, replica: ReplicaRole, now_ms: u64) -> Option<Duration> {
        self.decision_lag(now_ms)
            .find(|(role, _)| *role == replica)
            .map(|(_, lag)| lag)
    }

    /// Whether `replica` may be promoted at `now_ms`: its lag (frozen while the primary is
    /// failing) is known from a report at most [`FailoverConfig::max_report_age`] old and
    /// is at most [`FailoverConfig::max_candidate_lag`].
    #[must_use]
    pub fn is_eligible(&self, replica: ReplicaRole, now_ms: u64) -> bool {
        self.usable_lag(replica, now_ms)
            .is_some_and(|lag| lag <= self.config.max_candidate_lag)
    }

    /// The best replica to promote at `now_ms`: the eligible one with the lowest lag.
    #[must_use]
    pub fn best_candidate(&self, now_ms: u64) -> Option<ReplicaRole> {
        self.decision_lag(now_ms)
            .filter(|(_, lag)| *lag <= self.config.max_candidate_lag)
            .min_by_key(|(role, lag)| (*lag, *role))
            .map(|(role, _)| role)
    }

    fn choose(
        &self,
        preferred: Option<ReplicaRole>,
        now_ms: u64,
    ) -> Result<ReplicaRole, FailoverError> {
        match preferred {
            Some(candidate) if self.is_eligible(candidate, now_ms) => Ok(candidate),
            Some(candidate) => Err(FailoverError::CandidateIneligible {
                candidate,
                lag: self.usable_lag(candidate, now_ms),
            }),
            None => self
                .best_candidate(now_ms)
                .ok_or(FailoverError::NoEligibleCandidate),
        }
    }

    fn recommend(&mut self, at_ms: u64, trigger: FailoverTrigger, candidate: Option<ReplicaRole>) {
        let candidate = candidate.or_else(|| self.best_candidate(at_ms));
        self.events.push(FailoverEvent::FailoverRecommended {
            trigger: trigger.clone(),
            candidate,
            at_ms,
        });
        self.state = FailoverState::FailoverRecommended {
            trigger,
            candidate,
            at_ms,
        };
    }

    /// An operator asks for failover at `at_ms`, optionally naming the replica to promote.
    ///
    /// # Errors
    /// [`FailoverError::AlreadyFailingOver`] while failing over;
    /// [`FailoverError::CandidateIneligible`] when `preferred` lags too much or has no
    /// usable lag report. Without `preferred`, a recommendation is made even with no eligible
    /// replica (`candidate: None`).
    pub fn manual(
        &mut self,
        at_ms: u64,
        reason: impl Into<String>,
        preferred: Option<ReplicaRole>,
    ) -> Result<(), FailoverError> {
        if matches!(self.state, FailoverState::FailingOver { .. }) {
            return Err(FailoverError::AlreadyFailingOver);
        }
        let candidate = match preferred {
            Some(_) => Some(self.choose(preferred, at_ms)?),
            None => None,
        };
        self.recommend(
            at_ms,
            FailoverTrigger::Manual {
                reason: reason.into(),
                preferred,
            },
            candidate,
        );
        Ok(())
    }

    /// Starts the recommended failover at `at_ms` and returns the replica to promote (the
    /// candidate is re-checked against the current lag). Fence the old primary first.
    ///
    /// # Errors
    /// [`FailoverError::NotRecommended`], [`FailoverError::AlreadyFailingOver`],
    /// [`FailoverError::NoEligibleCandidate`] or [`FailoverError::CandidateIneligible`].
    pub fn start_failover(&mut self, at_ms: u64) -> Result<ReplicaRole, FailoverError> {
        let trigger = match &self.state {
            FailoverState::FailoverRecommended { trigger, .. } => trigger.clone(),
            FailoverState::FailingOver { .. } => return Err(FailoverError::AlreadyFailingOver),
            _ => return Err(FailoverError::NotRecommended),
        };
        let preferred = match &trigger {
            FailoverTrigger::Manual { preferred, .. } => *preferred,
            FailoverTrigger::PrimaryUnhealthy { .. } => None,
        };
        let candidate = self.choose(preferred, at_ms)?;
        self.state = FailoverState::FailingOver {
            trigger,
            candidate,
            started_ms: at_ms,
        };
        self.events
            .push(FailoverEvent::FailoverStarted { candidate, at_ms });
        Ok(candidate)
    }

    /// The promotion finished at `at_ms`: the promoted replica is the primary now, is no
    /// longer tracked as a replica, and the detector is `Healthy`. Every lag report is
    /// dropped (it was measured against the old primary), so no replica is a candidate
    /// until it reports its lag against the new primary. Lag alerts
    /// ([`FailoverEvent::ReplicaLagCritical`]) of the remaining replicas stay open until
    /// such a report clears them.
    ///
    /// # Errors
    /// [`FailoverError::NotFailingOver`].
    pub fn complete_failover(&mut self, at_ms: u64) -> Result<ReplicaRole, FailoverError> {
        let FailoverState::FailingOver { candidate, .. } = self.state else {
            return Err(FailoverError::NotFailingOver);
        };
        self.lag.clear();
        self.critical.remove(&candidate);
        self.frozen_lag = None;
        self.state = FailoverState::Healthy;
        self.events.push(FailoverEvent::FailoverCompleted {
            new_primary: candidate,
            at_ms,
        });
        Ok(candidate)
    }

    /// Abandons a failover in progress or a recommendation; the detector is `Healthy` and
    /// the next failed check starts a new run.
    ///
    /// # Errors
    /// [`FailoverError::NotFailingOver`] when there is neither.
    pub fn abort_failover(&mut self, at_ms: u64) -> Result<(), FailoverError> {
        match self.state {
            FailoverState::FailingOver { .. } | FailoverState::FailoverRecommended { .. } => {
                self.state = FailoverState::Healthy;
                self.frozen_lag = None;
                self.events.push(FailoverEvent::FailoverAborted { at_ms });
                Ok(())
            }
            _ => Err(FailoverError::NotFailingOver),
        }
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
