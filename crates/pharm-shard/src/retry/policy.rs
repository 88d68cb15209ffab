//! Retry policies: backoff, jitter, attempt limits, the overall deadline and the presets.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::classify::ErrorKind;
use super::env::{RngSource, nanos, uniform_inclusive};
use super::state::{Decision, GiveUpReason};

/// The jitter factor of the presets: ±10 %, the design doc's "10 % jitter" (resilience4j
/// `randomizationFactor = 0.1`).
pub(crate) const PRESET_JITTER: f64 = 0.1;

/// The un-jittered delay schedule. `n` below is the 1-based number of the attempt that just
/// failed, so the delay before the first retry is `delay(1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Backoff {
    /// Retry immediately.
    None,
    /// The same delay every time.
    Fixed(Duration),
    /// `min(base × n, cap)`: 50 ms, 100 ms, 150 ms, … for a 50 ms base.
    Linear {
        /// Delay after the first failure and the step added per further failure.
        base: Duration,
        /// Upper limit of the un-jittered delay (jitter is applied after it).
        cap: Duration,
    },
    /// `min(base × multiplierⁿ⁻¹, cap)`, in exact integer nanoseconds (saturating).
    Exponential {
        /// Delay after the first failure.
        base: Duration,
        /// Growth factor per failure; an integer so the schedule is exact (2 = doubling).
        multiplier: u32,
        /// Upper limit of the un-jittered delay (jitter is applied after it).
        cap: Duration,
    },
}

impl Backoff {
    /// The un-jittered, capped delay after failed attempt `n` (1-based; 0 is treated as 1).
    #[must_use]
    pub fn delay(&self, n: u32) -> Duration {
        let n = n.max(1);
        match *self {
            Self::None => Duration::ZERO,
            Self::Fixed(d) => d,
            Self::Linear { base, cap } => base.saturating_mul(n).min(cap),
            Self::Exponential {
                base,
                multiplier,
                cap,
            } => {
                let raw = u128::from(multiplier)
                    .checked_pow(n - 1)
                    .and_then(|f| base.as_nanos().checked_mul(f))
                    .unwrap_or(u128::MAX);
                if raw >= cap.as_nanos() {
                    cap
                } else {
                    // raw < cap, so its whole seconds fit in a u64.
                    const NANOS_PER_SEC: u128 = 1_000_000_000;
                    let secs = u64::try_from(raw / NANOS_PER_SEC).unwrap_or(u64::MAX);
                    let sub = u32::try_from(raw % NANOS_PER_SEC).unwrap_or(0);
                    Duration::new(secs, sub)
                }
            }
        }
    }

    /// The largest un-jittered delay this schedule can produce (0 for [`Backoff::None`]).
    #[must_use]
    pub fn cap(&self) -> Duration {
        match *self {
            Self::None => Duration::ZERO,
            Self::Fixed(d) => d,
            Self::Linear { cap, .. } | Self::Exponential { cap, .. } => cap,
        }
    }
}

/// Randomisation applied to the capped delay `d` of [`Backoff::delay`].
///
/// The default (and the presets' choice) is [`Jitter::Proportional`] with factor 0.1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Jitter {
    /// Exactly `d`. Clients that failed together retry together.
    None,
    /// Symmetric multiplicative jitter, uniform on `[d·(1−f), d·(1+f)]`, applied **after**
    /// the cap (unlike resilience4j, which caps after randomising and so loses all jitter
    /// at the cap). A capped delay can therefore exceed the cap by up to `cap·f`. `f` is
    /// clamped to `[0, 1]`; NaN counts as 0.
    Proportional(f64),
    /// AWS "full jitter": uniform on `[0, d]`.
    Full,
    /// AWS "equal jitter": uniform on `[d/2, d]`.
    Equal,
    /// AWS "decorrelated jitter": `min(cap, uniform(first, prev·3))`, where `first` is the
    /// schedule's first delay, `cap` is [`Backoff::cap`] and `prev` the previous actual
    /// delay (`first` before the first retry). The schedule's growth is ignored; only its
    /// first delay and cap are used. The stateless [`RetryPolicy::next_delay`] takes `prev`
    /// to be the previous *un-jittered* delay; [`RetryState`](super::RetryState) passes the
    /// real one.
    Decorrelated,
}

impl Default for Jitter {
    fn default() -> Self {
        Self::Proportional(PRESET_JITTER)
    }
}

impl Jitter {
    fn factor(f: f64) -> f64 {
        if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) }
    }
}

/// An invalid [`RetryPolicy`], reported by [`RetryPolicy::validate`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// `max_attempts` is 0; the first call always counts as an attempt.
    #[error("max_attempts must be at least 1 (it includes the first call)")]
    ZeroAttempts,
    /// The proportional jitter factor is outside `[0, 1]` or NaN.
    #[error("jitter factor {0} is outside [0, 1]")]
    JitterFactor(f64),
    /// An exponential backoff with multiplier 0 (delays collapse to zero).
    #[error("exponential multiplier must be at least 1")]
    ZeroMultiplier,
    /// The cap is below the first delay, so the schedule never grows.
    #[error("backoff cap {cap:?} is below the base delay {base:?}")]
    CapBelowBase {
        /// The configured base.
        base: Duration,
        /// The configured cap.
        cap: Duration,
    },
}

/// How one kind of operation is retried. Plain data; every decision is a pure function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Tries including the first call (resilience4j semantics): 3 means at most 2 retries.
    /// 0 is treated as 1.
    pub max_attempts: u32,
    /// The un-jittered delay schedule.
    pub backoff: Backoff,
    /// Randomisation applied after the cap.
    pub jitter: Jitter,
    /// Time limit for one try. [`retry`](super::retry) passes it to the operation in
    /// [`Attempt::timeout`](super::Attempt::timeout); enforcing it is the caller's job.
    pub per_attempt_timeout: Duration,
    /// Overall limit measured from the start of the first try. A retry whose delay would
    /// end at or after the deadline is refused ([`GiveUpReason::DeadlineWouldPass`]).
    pub deadline: Option<Duration>,
}

impl RetryPolicy {
    /// A policy with the default jitter (±10 %) and no overall deadline.
    #[must_use]
    pub fn new(max_attempts: u32, backoff: Backoff, per_attempt_timeout: Duration) -> Self {
        Self {
            max_attempts,
            backoff,
            jitter: Jitter::default(),
            per_attempt_timeout,
            deadline: None,
        }
    }

    /// The same policy with another jitter.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same policy with another overall deadline.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The same policy with another number of tries (including the first).
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// The same policy with the deadline set to [`RetryPolicy::worst_case_total`].
    #[must_use]
    pub fn with_worst_case_deadline(self) -> Self {
        let deadline = self.worst_case_total();
        self.with_deadline(Some(deadline))
    }

    /// Checks the invariants the presets satisfy. Decisions never panic on an invalid
    /// policy (values are clamped), but the result may not be what was meant.
    ///
    /// # Errors
    ///
    /// The first violated invariant.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.max_attempts == 0 {
            return Err(PolicyError::ZeroAttempts);
        }
        if let Jitter::Proportional(f) = self.jitter
            && !(0.0..=1.0).contains(&f)
        {
            return Err(PolicyError::JitterFactor(f));
        }
        match self.backoff {
            Backoff::Exponential { multiplier: 0, .. } => Err(PolicyError::ZeroMultiplier),
            Backoff::Linear { base, cap } | Backoff::Exponential { base, cap, .. }
                if cap < base =>
            {
                Err(PolicyError::CapBelowBase { base, cap })
            }
            _ => Ok(()),
        }
    }

    /// Database write (one shard primary): 3 tries, exponential 100 ms ×2 (100, 200 ms),
    /// cap 5 s, ±10 % jitter, 5 s per try, deadline = worst case (15.33 s).
    ///
    /// Retry a write only when its error says it did not commit or it is idempotent.
    #[must_use]
    pub fn db_write() -> Self {
        Self::preset(
            3,
            Backoff::Exponential {
                base: Duration::from_millis(100),
                multiplier: 2,
                cap: Duration::from_secs(5),
            },
            Duration::from_secs(5),
        )
    }

    /// Database read: 2 tries, linear 50 ms (50 ms), cap 3 s, ±10 % jitter, 3 s per try,
    /// deadline = worst case (6.055 s).
    #[must_use]
    pub fn db_read() -> Self {
        Self::preset(
            2,
            Backoff::Linear {
                base: Duration::from_millis(50),
                cap: Duration::from_secs(3),
            },
            Duration::from_secs(3),
        )
    }

    /// Cache: 1 try (no retry), no backoff, no jitter, 100 ms per try, deadline 100 ms.
    /// A miss is a success, not an error.
    #[must_use]
    pub fn cache() -> Self {
        Self::preset(1, Backoff::None, Duration::from_millis(100)).with_jitter(Jitter::None)
    }

    /// PMP (prescription-monitoring program) API: 3 tries, exponential 1 s ×2 (1 s, 2 s),
    /// cap 10 s, ±10 % jitter, 10 s per try, deadline = worst case (33.3 s).
    #[must_use]
    pub fn pmp() -> Self {
        Self::preset(
            3,
            Backoff::Exponential {
                base: Duration::from_secs(1),
                multiplier: 2,
                cap: Duration::from_secs(10),
            },
            Duration::from_secs(10),
        )
    }

    /// Insurance claim adjudication: 3 tries, exponential 2 s ×2 (2 s, 4 s), cap 30 s,
    /// ±10 % jitter, 30 s per try, deadline = worst case (96.6 s).
    #[must_use]
    pub fn insurance() -> Self {
        Self::preset(
            3,
            Backoff::Exponential {
                base: Duration::from_secs(2),
                multiplier: 2,
                cap: Duration::from_secs(30),
            },
            Duration::from_secs(30),
        )
    }

    /// Internal service call: 2 tries, linear 100 ms (100 ms), cap 5 s, ±10 % jitter, 5 s
    /// per try, deadline = worst case (10.11 s).
    #[must_use]
    pub fn internal() -> Self {
        Self::preset(
            2,
            Backoff::Linear {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(5),
            },
            Duration::from_secs(5),
        )
    }

    /// The preset for `op`.
    #[must_use]
    pub fn for_operation(op: Operation) -> Self {
        match op {
            Operation::DbWrite => Self::db_write(),
            Operation::DbRead => Self::db_read(),
            Operation::Cache => Self::cache(),
            Operation::Pmp => Self::pmp(),
            Operation::Insurance => Self::insurance(),
            Operation::Internal => Self::internal(),
        }
    }

    fn preset(max_attempts: u32, backoff: Backoff, timeout: Duration) -> Self {
        Self::new(max_attempts, backoff, timeout).with_worst_case_deadline()
    }

    /// Tries, treating 0 as 1.
    fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The un-jittered, capped delay after failed attempt `attempt` (ignores
    /// `max_attempts`).
    #[must_use]
    pub fn base_delay(&self, attempt: u32) -> Duration {
        self.backoff.delay(attempt)
    }

    /// The range `[lo, hi]` the jittered delay after failed attempt `attempt` is drawn
    /// from (ignores `max_attempts`). For [`Jitter::Proportional`] this is
    /// `[d − ⌊d·f⌋, d + ⌊d·f⌋]` with `d = base_delay(attempt)`.
    #[must_use]
    pub fn delay_bounds(&self, attempt: u32) -> (Duration, Duration) {
        let d = nanos(self.base_delay(attempt));
        let (lo, hi) = match self.jitter {
            Jitter::None => (d, d),
            Jitter::Proportional(f) => {
                let delta = proportional_delta(d, f);
                (d - delta, d.saturating_add(delta))
            }
            Jitter::Full => (0, d),
            Jitter::Equal => (d - d / 2, d),
            Jitter::Decorrelated => {
                let cap = nanos(self.backoff.cap());
                (nanos(self.backoff.delay(1)).min(cap), cap)
            }
        };
        (Duration::from_nanos(lo), Duration::from_nanos(hi))
    }

    /// The jittered delay before the next try, after try `attempt` (1-based) failed, or
    /// `None` when the tries are used up. Stateless: for [`Jitter::Decorrelated`] the
    /// previous delay is taken to be the un-jittered one.
    pub fn next_delay(
        &self,
        attempt: u32,
        rng: &mut (impl RngSource + ?Sized),
    ) -> Option<Duration> {
        self.next_delay_after(attempt, None, rng)
    }

    /// Like [`RetryPolicy::next_delay`], with the previous actual delay for
    /// [`Jitter::Decorrelated`] (`None` before the first retry or when unknown).
    pub fn next_delay_after(
        &self,
        attempt: u32,
        prev_delay: Option<Duration>,
        rng: &mut (impl RngSource + ?Sized),
    ) -> Option<Duration> {
        let attempt = attempt.max(1);
        if attempt >= self.attempts() {
            return None;
        }
        let d = nanos(self.base_delay(attempt));
        let jittered = match self.jitter {
            Jitter::None => d,
            Jitter::Proportional(f) => {
                let delta = proportional_delta(d, f);
                let lo = d - delta;
                let hi = d.saturating_add(delta);
                lo + uniform_inclusive(rng, hi - lo)
            }
            Jitter::Full => uniform_inclusive(rng, d),
            Jitter::Equal => {
                let half = d / 2;
                let lo = d - half;
                lo + uniform_inclusive(rng, half)
            }
            Jitter::Decorrelated => {
                let cap = nanos(self.backoff.cap());
                let first = nanos(self.backoff.delay(1));
                let prev = prev_delay.map_or_else(
                    || {
                        if attempt == 1 {
                            first
                        } else {
                            nanos(self.base_delay(attempt - 1))
                        }
                    },
                    nanos,
                );
                let hi = prev.saturating_mul(3).max(first);
                (first + uniform_inclusive(rng, hi - first)).min(cap)
            }
        };
        Some(Duration::from_nanos(jittered))
    }

    /// The retry decision after try `failed_attempt` (1-based) failed with `kind`,
    /// `elapsed` after the first try started. Pure apart from drawing jitter from `rng`;
    /// budgets are applied by [`RetryState`](super::RetryState).
    ///
    /// Order of checks: [`GiveUpReason::NotRetryable`], [`GiveUpReason::Exhausted`], then
    /// the delay (the jittered backoff, raised to a `Retry-After` hint if larger) against
    /// the deadline: a retry is allowed only if `elapsed + delay < deadline`, because a
    /// try that would start at the deadline has no time left to run.
    pub fn decide(
        &self,
        failed_attempt: u32,
        kind: ErrorKind,
        elapsed: Duration,
        prev_delay: Option<Duration>,
        rng: &mut (impl RngSource + ?Sized),
    ) -> Decision {
        let hint = match kind {
            ErrorKind::Permanent => return Decision::GiveUp(GiveUpReason::NotRetryable),
            ErrorKind::Retryable => None,
            ErrorKind::RetryableAfter(d) => Some(d),
        };
        let Some(delay) = self.next_delay_after(failed_attempt, prev_delay, rng) else {
            return Decision::GiveUp(GiveUpReason::Exhausted);
        };
        let delay = hint.map_or(delay, |h| delay.max(h));
        if let Some(deadline) = self.deadline
            && elapsed.saturating_add(delay) >= deadline
        {
            return Decision::GiveUp(GiveUpReason::DeadlineWouldPass);
        }
        Decision::RetryAfter(delay)
    }

    /// The longest the whole operation can take when every try runs to its timeout and
    /// every delay is at its jittered maximum (no `Retry-After` hints):
    /// `max_attempts × per_attempt_timeout + Σ delay_bounds(n).1` for the retries.
    /// Saturates instead of overflowing.
    #[must_use]
    pub fn worst_case_total(&self) -> Duration {
        let retries = self.attempts() - 1;
        let mut total = self.per_attempt_timeout.saturating_mul(self.attempts());
        let mut n = 1;
        while n <= retries {
            let hi = self.delay_bounds(n).1;
            // Delays are non-decreasing up to the cap, so once two neighbours are equal the
            // schedule is constant from here on (decorrelated jitter's bound is the cap).
            let constant = matches!(self.jitter, Jitter::Decorrelated)
                || self.backoff.delay(n) == self.backoff.delay(n + 1);
            if constant {
                total = total.saturating_add(hi.saturating_mul(retries - n + 1));
                break;
            }
            total = total.saturating_add(hi);
            n += 1;
        }
        total
    }
}

/// `⌊d·f⌋` with `f` clamped to `[0, 1]`, never above `d`.
fn proportional_delta(d: u64, f: f64) -> u64 {
    // `as` saturates for floats; the product is finite and non-negative.
    let delta = (d as f64 * Jitter::factor(f)).floor() as u64;
    delta.min(d)
}

/// The operation classes of the design's retry table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// A write to a shard primary.
    DbWrite,
    /// A read from a shard (primary or replica).
    DbRead,
    /// A cache lookup.
    Cache,
    /// A prescription-monitoring-program API call.
    Pmp,
    /// An insurance claim / adjudication call.
    Insurance,
    /// A call to another internal service.
    Internal,
}

impl Operation {
    /// Every operation class, in table order.
    pub const ALL: [Self; 6] = [
        Self::DbWrite,
        Self::DbRead,
        Self::Cache,
        Self::Pmp,
        Self::Insurance,
        Self::Internal,
    ];

    /// This class's preset policy ([`RetryPolicy::for_operation`]).
    #[must_use]
    pub fn policy(self) -> RetryPolicy {
        RetryPolicy::for_operation(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::XorShift;

    #[test]
    fn exponential_saturates_instead_of_overflowing() {
        let b = Backoff::Exponential {
            base: Duration::from_millis(100),
            multiplier: 2,
            cap: Duration::from_secs(5),
        };
        assert_eq!(b.delay(1), Duration::from_millis(100));
        assert_eq!(b.delay(6), Duration::from_millis(3_200));
        assert_eq!(b.delay(7), Duration::from_secs(5));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(5));
        let huge = Backoff::Exponential {
            base: Duration::MAX,
            multiplier: 3,
            cap: Duration::MAX,
        };
        assert_eq!(huge.delay(40), Duration::MAX);
    }

    #[test]
    fn worst_case_total_handles_many_attempts() {
        let p = RetryPolicy::db_write().with_max_attempts(u32::MAX);
        assert!(p.worst_case_total() > Duration::from_secs(5));
        let p = RetryPolicy::new(
            10,
            Backoff::Fixed(Duration::from_millis(10)),
            Duration::from_secs(1),
        )
        .with_jitter(Jitter::None);
        assert_eq!(p.worst_case_total(), Duration::from_millis(10_090));
    }

    #[test]
    fn presets_validate() {
        for op in Operation::ALL {
            assert_eq!(op.policy().validate(), Ok(()), "{op:?}");
        }
        let mut rng = XorShift::new(3);
        assert_eq!(RetryPolicy::cache().next_delay(1, &mut rng), None);
    }
}
