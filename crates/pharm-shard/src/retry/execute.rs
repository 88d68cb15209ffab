//! The async retry driver.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use super::budget::RetryBudget;
use super::classify::Classify;
use pharm_core::time::Clock;

use super::policy::RetryPolicy;
use super::rng::RngSource;
use super::state::{Attempt, Decision, GiveUpReason, RetryState};
use crate::sleep::Sleep;

/// The operation failed and will not be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryError<E> {
    /// The error of the last try.
    pub last: E,
    /// Tries made, including the first.
    pub attempts: u32,
    /// Why retrying stopped.
    pub reason: GiveUpReason,
}

impl<E> RetryError<E> {
    /// The error of the last try.
    pub fn into_inner(self) -> E {
        self.last
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up after {} attempt(s) ({}): {}",
            self.attempts, self.reason, self.last
        )
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.last)
    }
}

/// A retry about to happen, as reported to the observer of [`retry_notify`] (resilience4j
/// `RetryOnRetryEvent`: the attempt count and the wait interval).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryEvent<'a, E> {
    /// The try that failed (1-based; 1 is the first call). The next try is `attempt + 1`.
    pub attempt: u32,
    /// The wait before the next try: the jittered backoff after `attempt`, raised to a
    /// `Retry-After` hint if larger. It grows with `attempt` up to the policy's cap.
    pub delay: Duration,
    /// The error of the failed try.
    pub error: &'a E,
}

/// Runs `op` until it succeeds or `policy` (and `budget`) say stop.
///
/// * Each try gets an [`Attempt`] with its number and time limit (the per-attempt timeout,
///   shortened to what remains before the deadline). This helper does not enforce the
///   limit, so it needs no runtime; wrap the work in e.g. `tokio::time::timeout` inside
///   `op` and classify the timeout as retryable.
/// * Failures are classified with [`Classify`] and decided by [`RetryState::on_failure`];
///   the wait happens on `sleeper`, and elapsed time is read from `clock`.
/// * With a `budget`, one deposit is made for the first try and every retry must withdraw
///   a token; when none is left the helper gives up with
///   [`GiveUpReason::BudgetExhausted`].
///
/// # Errors
///
/// [`RetryError`] with the last try's error, the number of tries and the reason.
pub async fn retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    budget: Option<&RetryBudget>,
    clock: &dyn Clock,
    sleeper: &dyn Sleep,
    rng: &mut dyn RngSource,
    op: F,
) -> Result<T, RetryError<E>>
where
    E: Classify,
    F: FnMut(Attempt) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_notify(policy, budget, clock, sleeper, rng, op, |_| {}).await
}

/// [`retry`], calling `on_retry` before each wait with the failed try's number, the wait
/// and the error (for logs and metrics: which attempt a growing wait belongs to).
/// `on_retry` is not called when the helper gives up.
///
/// # Errors
///
/// As [`retry`].
pub async fn retry_notify<T, E, F, Fut>(
    policy: &RetryPolicy,
    budget: Option<&RetryBudget>,
    clock: &dyn Clock,
    sleeper: &dyn Sleep,
    rng: &mut dyn RngSource,
    mut op: F,
    mut on_retry: impl FnMut(&RetryEvent<'_, E>),
) -> Result<T, RetryError<E>>
where
    E: Classify,
    F: FnMut(Attempt) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let start = clock.now();
    let mut state = RetryState::new(start);
    if let Some(b) = budget {
        b.deposit(start);
    }
    loop {
        let attempt = state.next_attempt(policy, clock.now());
        let err = match op(attempt).await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let kind = err.classify();
        match state.on_failure(policy, kind, clock.now(), budget, &mut *rng) {
            Decision::RetryAfter(delay) => {
                on_retry(&RetryEvent {
                    attempt: attempt.number,
                    delay,
                    error: &err,
                });
                sleeper.sleep(delay).await;
            }
            Decision::GiveUp(reason) => {
                return Err(RetryError {
                    last: err,
                    attempts: attempt.number,
                    reason,
                });
            }
        }
    }
}
