//! Per-operation retry state and the decisions it produces.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::budget::RetryBudget;
use super::classify::ErrorKind;
use super::policy::RetryPolicy;
use super::rng::RngSource;

/// Why retrying stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GiveUpReason {
    /// `max_attempts` tries were made.
    Exhausted,
    /// The error was classified [`ErrorKind::Permanent`].
    NotRetryable,
    /// Waiting for the next try would reach or pass the overall deadline.
    DeadlineWouldPass,
    /// The shared [`RetryBudget`] had no token for another retry.
    BudgetExhausted,
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Exhausted => "attempts exhausted",
            Self::NotRetryable => "error is not retryable",
            Self::DeadlineWouldPass => "next retry would pass the deadline",
            Self::BudgetExhausted => "retry budget exhausted",
        })
    }
}

/// What to do after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Stop and report the last error.
    GiveUp(GiveUpReason),
}

/// One try, as handed to the operation by [`retry`](super::retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    /// 1-based try number (1 is the first call).
    pub number: u32,
    /// The time this try may take: the policy's per-attempt timeout, shortened to what is
    /// left before the overall deadline. The caller enforces it, and should classify its
    /// own timeout error as [`ErrorKind::Retryable`].
    pub timeout: Duration,
}

/// The state of one logical operation across its tries (sans-IO: the caller supplies every
/// timestamp).
///
/// ```
/// use std::time::Duration;
/// use pharm_shard::retry::{Decision, ErrorKind, RetryPolicy, RetryState, XorShift};
///
/// let policy = RetryPolicy::db_read().with_jitter(pharm_shard::retry::Jitter::None);
/// let mut rng = XorShift::new(1);
/// let mut state = RetryState::new(Duration::ZERO);
/// assert_eq!(state.next_attempt(&policy, Duration::ZERO).number, 1);
/// let d = state.on_failure(&policy, ErrorKind::Retryable, Duration::from_millis(10), None, &mut rng);
/// assert_eq!(d, Decision::RetryAfter(Duration::from_millis(50)));
/// assert_eq!(state.next_attempt(&policy, Duration::from_millis(60)).number, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryState {
    started_at: Duration,
    failures: u32,
    last_delay: Option<Duration>,
}

impl RetryState {
    /// State for an operation whose first try starts at `started_at` (a [`Clock`]
    /// reading).
    ///
    /// [`Clock`]: pharm_core::time::Clock
    #[must_use]
    pub fn new(started_at: Duration) -> Self {
        Self {
            started_at,
            failures: 0,
            last_delay: None,
        }
    }

    /// Tries that have failed so far.
    #[must_use]
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When the first try started.
    #[must_use]
    pub fn started_at(&self) -> Duration {
        self.started_at
    }

    /// The delay chosen after the most recent failure, if any.
    #[must_use]
    pub fn last_delay(&self) -> Option<Duration> {
        self.last_delay
    }

    /// Time since the first try started (zero if `now` is earlier).
    #[must_use]
    pub fn elapsed(&self, now: Duration) -> Duration {
        now.saturating_sub(self.started_at)
    }

    /// The try about to start at `now`: its number and its time limit.
    #[must_use]
    pub fn next_attempt(&self, policy: &RetryPolicy, now: Duration) -> Attempt {
        let remaining = policy
            .deadline
            .map_or(Duration::MAX, |d| d.saturating_sub(self.elapsed(now)));
        Attempt {
            number: self.failures.saturating_add(1),
            timeout: policy.per_attempt_timeout.min(remaining),
        }
    }

    /// Records a failed try (classified `kind`, observed at `now`) and decides what to do.
    ///
    /// Runs [`RetryPolicy::decide`]; only if that allows a retry is a token withdrawn from
    /// `budget`, so refused retries never consume tokens. Depositing for the first try is
    /// the caller's job ([`RetryBudget::deposit`]); [`retry`](super::retry) does it.
    pub fn on_failure(
        &mut self,
        policy: &RetryPolicy,
        kind: ErrorKind,
        now: Duration,
        budget: Option<&RetryBudget>,
        rng: &mut (impl RngSource + ?Sized),
    ) -> Decision {
        self.failures = self.failures.saturating_add(1);
        let decision = policy.decide(self.failures, kind, self.elapsed(now), self.last_delay, rng);
        match decision {
            Decision::RetryAfter(delay) => {
                if budget.is_some_and(|b| !b.try_withdraw(now)) {
                    return Decision::GiveUp(GiveUpReason::BudgetExhausted);
                }
                self.last_delay = Some(delay);
                decision
            }
            Decision::GiveUp(_) => decision,
        }
    }
}
