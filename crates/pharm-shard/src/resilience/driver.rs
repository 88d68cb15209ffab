//! [`call`]: the caller-driven loop of a [`Resilience`] policy as one async helper.

use std::fmt;
use std::future::Future;

use pharm_core::time::Clock;

use super::{Rejected, Resilience, StopReason};
use crate::Sleep;
use crate::breaker::CallNotPermitted;
use crate::retry::{Attempt, Classify, ErrorKind};

/// Why [`call`] returned without a result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResilienceError<E> {
    /// The breaker refused a try (before the first, or before a retry); `last` is the
    /// error of the try before it, if there was one.
    Rejected {
        /// The breaker's rejection.
        not_permitted: CallNotPermitted,
        /// The previous try's error.
        last: Option<E>,
        /// Tries made.
        attempts: u32,
    },
    /// The operation gave up after a failed try.
    GaveUp {
        /// The last try's error.
        last: E,
        /// Tries made, including the first.
        attempts: u32,
        /// Why it stopped.
        reason: StopReason,
    },
}

impl<E: fmt::Display> fmt::Display for ResilienceError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected {
                not_permitted,
                attempts,
                ..
            } => write!(f, "{not_permitted} (after {attempts} attempt(s))"),
            Self::GaveUp {
                last,
                attempts,
                reason,
            } => write!(f, "gave up after {attempts} attempt(s) ({reason}): {last}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ResilienceError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Rejected { not_permitted, .. } => Some(not_permitted),
            Self::GaveUp { last, .. } => Some(last),
        }
    }
}

/// Runs `op` through `policy`: each try asks the breaker, the outcome is reported, waits
/// happen on `sleep`, and time is read from `clock` (which should be the clock of `sleep`).
///
/// Errors are classified with [`Classify`]; a [`ErrorKind::Permanent`] error is reported
/// as [`Outcome::NotCounted`](super::Outcome::NotCounted) (it says nothing about the
/// downstream's health), any other as [`Outcome::Failure`](super::Outcome::Failure). Each try gets its [`Attempt`] (number and time limit), which
/// `op` enforces.
///
/// # Errors
///
/// [`ResilienceError::Rejected`] when the breaker refuses a try,
/// [`ResilienceError::GaveUp`] when the policy stops after a failure.
pub async fn call<T, E, F, Fut>(
    policy: &Resilience,
    clock: &dyn Clock,
    sleep: &dyn Sleep,
    mut op: F,
) -> Result<T, ResilienceError<E>>
where
    E: Classify,
    F: FnMut(Attempt) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut call = policy.begin(clock.now());
    let mut last = None;
    loop {
        let permit = match call.before_call(clock.now()) {
            Ok(permit) => permit,
            Err(Rejected { not_permitted }) => {
                return Err(ResilienceError::Rejected {
                    not_permitted,
                    last,
                    attempts: call.failures(),
                });
            }
        };
        let attempt = permit.attempt();
        let error = match op(attempt).await {
            Ok(value) => {
                call.succeeded(permit, clock.now());
                return Ok(value);
            }
            Err(error) => error,
        };
        let kind = error.classify();
        // A permanent error says nothing about the downstream's health.
        let counted = kind != ErrorKind::Permanent;
        match call.failed(permit, kind, counted, clock.now()) {
            Ok(wait) => {
                last = Some(error);
                sleep.sleep(wait).await;
            }
            Err(reason) => {
                return Err(ResilienceError::GaveUp {
                    last: error,
                    attempts: attempt.number,
                    reason,
                });
            }
        }
    }
}
