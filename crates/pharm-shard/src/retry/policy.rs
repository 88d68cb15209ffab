//! Retry policies: backoff, jitter, attempt limits, the overall deadline and the presets.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::classify::ErrorKind;
use super::rng::{RngSource, uniform_inclusive};
use super::state::{Decision, GiveUpReason};
use pharm_core::time::duration_to_nanos as nanos;

/// The jitter factor of the presets: ±10 %, the design doc's "10 % jitter" (resilience4j
/// `randomizationFactor = 0.1`).
pub(crate) const PRESET_JITTER: f64 = 0.1;

/// The un-jittered delay schedule. `n` below is the 1-based number of the attempt that just
/// failed, so the delay before the first retry is `delay(1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// An invalid [`RetryPolicy`], reported by [`RetryPolicy::validate`] and when a policy is
/// deserialized.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// `max_attempts` is 0; the first call always counts as an attempt.
    #[error("max_attempts must be at least 1 (it includes the first call)")]
    ZeroAttempts,
    /// `max_attempts` is above [`RetryPolicy::MAX_ATTEMPTS`].
    #[error(
        "max_attempts must be at most {max}, got {0}",
        max = RetryPolicy::MAX_ATTEMPTS
    )]
    TooManyAttempts(u32),
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
///
/// Deserializing checks the policy ([`RetryPolicy::validate`]): a configuration file with
/// `max_attempts` above [`RetryPolicy::MAX_ATTEMPTS`], a jitter factor outside `[0, 1]`, a
/// zero multiplier or a cap below the base is rejected with its [`PolicyError`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PolicyFields")]
pub struct RetryPolicy {
    /// Tries including the first call (resilience4j semantics): 3 means at most 2 retries.
    /// 0 is treated as 1; more than [`RetryPolicy::MAX_ATTEMPTS`] is invalid
    /// ([`PolicyError::TooManyAttempts`]) and treated as that many.
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

/// The serialized form of a [`RetryPolicy`], checked on the way in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFields {
    max_attempts: u32,
    backoff: Backoff,
    jitter: Jitter,
    per_attempt_timeout: Duration,
    deadline: Option<Duration>,
}

impl TryFrom<PolicyFields> for RetryPolicy {
    type Error = PolicyError;

    fn try_from(f: PolicyFields) -> Result<Self, PolicyError> {
        let policy = Self {
            max_attempts: f.max_attempts,
            backoff: f.backoff,
            jitter: f.jitter,
            per_attempt_timeout: f.per_attempt_timeout,
            deadline: f.deadline,
        };
        policy.validate()?;
        Ok(policy)
    }
}

impl RetryPolicy {
    /// The most tries a policy may make (the first call included): 100, far above the
    /// design's 3 and enough for a retry loop bounded by minutes of backoff. Every retry
    /// multiplies a downstream's load during an outage, so a larger number is a
    /// configuration error rather than a wish.
    pub const MAX_ATTEMPTS: u32 = 100;

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
        if self.max_attempts > Self::MAX_ATTEMPTS {
            return Err(PolicyError::TooManyAttempts(self.max_attempts));
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

    /// Tries, treating 0 as 1 and anything above [`RetryPolicy::MAX_ATTEMPTS`] as that.
    fn attempts(&self) -> u32 {
        self.max_attempts.clamp(1, Self::MAX_ATTEMPTS)
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
    /// `A × per_attempt_timeout + Σₙ delay_bounds(n).1` over the `A − 1` retries, `A` the
    /// number of tries ([`RetryPolicy::MAX_ATTEMPTS`] at most).
    ///
    /// Computed in closed form, without a loop over the attempts: the delays rise
    /// linearly or geometrically to the cap and stay there, so the sum is an arithmetic or
    /// geometric series plus a count of capped delays. For [`Jitter::Proportional`] the
    /// jitter of the rising part is taken on its sum, `⌊f·Σd⌋` instead of `Σ⌊f·d⌋`: the
    /// result is the same whenever no rounding is lost (every preset, any delay in whole
    /// milliseconds with `f` = 0.1, 0.25, 0.5 or 1) and otherwise larger by less than one
    /// nanosecond per retry, so it never cuts a schedule the policy allows short. Saturates
    /// at [`Duration::MAX`] instead of overflowing.
    #[must_use]
    pub fn worst_case_total(&self) -> Duration {
        let tries = self.attempts();
        let retries = u128::from(tries - 1);
        let cap = u128::from(nanos(self.backoff.cap()));
        let delays = match self.jitter {
            // Every delay is drawn from `[first, cap]`.
            Jitter::Decorrelated => retries * cap,
            Jitter::None | Jitter::Full | Jitter::Equal => {
                let (rising, capped) = self.backoff.series(retries, cap);
                rising + capped * cap
            }
            Jitter::Proportional(f) => {
                // A delay's maximum `d + ⌊d·f⌋` saturates at u64::MAX ns like the cap's:
                // delays from `saturated` on count as capped.
                let max = u128::from(u64::MAX);
                let cap_hi = (cap + mul_floor(cap, f)).min(max);
                let saturated = first_saturating_delay(f);
                let (rising, capped) = self.backoff.series(retries, cap.min(saturated));
                rising + mul_floor(rising, f) + capped * cap_hi
            }
        };
        self.per_attempt_timeout
            .saturating_mul(tries)
            .saturating_add(duration_from_nanos(delays))
    }
}

impl Backoff {
    /// The un-jittered delays after failed attempts `1..=retries`, in nanoseconds as
    /// [`RetryPolicy::delay_bounds`] sees them, split at `limit` (at most the cap, in
    /// nanoseconds saturated at `u64::MAX`) in closed form: `(Σ of the delays below
    /// limit, how many are not)`. The ones not below `limit` are at the cap, or rising
    /// delays at or above `limit`.
    fn series(&self, retries: u128, limit: u128) -> (u128, u128) {
        if retries == 0 {
            return (0, 0);
        }
        match *self {
            Self::None | Self::Fixed(_) => (0, retries),
            Self::Linear { base, .. } | Self::Exponential { base, .. } if base.is_zero() => (0, 0),
            Self::Linear { base, .. } => {
                let base = base.as_nanos();
                if base >= limit {
                    return (0, retries);
                }
                // base·n < limit for n ≤ (limit − 1) / base.
                let rising = retries.min((limit - 1) / base);
                // rising ≤ 2³² and base·rising < limit ≤ 2⁶⁴: no overflow.
                (base * (rising * (rising + 1) / 2), retries - rising)
            }
            Self::Exponential {
                base, multiplier, ..
            } => {
                let base = base.as_nanos();
                let q = u128::from(multiplier);
                if q == 0 {
                    // base (at the cap when not below `limit`), then 0 forever.
                    return if base >= limit { (0, 1) } else { (base, 0) };
                }
                if base >= limit {
                    return (0, retries);
                }
                match q {
                    1 => (base * retries, 0),
                    _ => {
                        // base·qᵏ < limit for qᵏ ≤ t: the first ⌊log_q t⌋ + 1 delays.
                        let t = (limit - 1) / base;
                        let rising = retries.min(u128::from(t.ilog(q)) + 1);
                        // q^(rising−1) ≤ t < 2⁶⁴ and q < 2³², so q^rising < 2⁹⁶; the sum
                        // 1 + q + … + q^(rising−1) ≤ 2t and base·2t < 2·limit.
                        let exponent = u32::try_from(rising).unwrap_or(u32::MAX);
                        let geometric = (q.pow(exponent) - 1) / (q - 1);
                        (base * geometric, retries - rising)
                    }
                }
            }
        }
    }
}

/// The smallest delay `d` (nanoseconds) whose proportional maximum `d + ⌊d·f⌋` reaches
/// `u64::MAX` (a binary search over the 64-bit range, independent of any attempt count).
fn first_saturating_delay(f: f64) -> u128 {
    let max = u128::from(u64::MAX);
    let (mut lo, mut hi) = (0, max);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if mid + mul_floor(mid, f) >= max {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// `⌊d·f⌋` exactly, with `f` clamped to `[0, 1]` (NaN counts as 0) and taken at its exact
/// binary value `M·2^−s`: `(d·M) >> s`. Exact for `d < 2⁷⁵` (`M < 2⁵³`).
fn mul_floor(d: u128, f: f64) -> u128 {
    let f = Jitter::factor(f);
    if f == 0.0 {
        return 0;
    }
    let bits = f.to_bits();
    let biased = (bits >> 52) & 0x7ff;
    let fraction = u128::from(bits & ((1 << 52) - 1));
    // Normal: 1.fraction × 2^(biased − 1023); subnormal: 0.fraction × 2^−1022.
    let (mantissa, shift) = if biased == 0 {
        (fraction, 1074)
    } else {
        (fraction | (1 << 52), 1075 - biased)
    };
    // f ≤ 1, so shift ≥ 52.
    if shift >= 128 {
        return 0;
    }
    d.saturating_mul(mantissa) >> shift
}

/// Nanoseconds as a [`Duration`], saturating at [`Duration::MAX`].
fn duration_from_nanos(n: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(n / NANOS_PER_SEC) {
        // The remainder is below 10⁹.
        Ok(secs) => Duration::new(secs, u32::try_from(n % NANOS_PER_SEC).unwrap_or(0)),
        Err(_) => Duration::MAX,
    }
}

/// `⌊d·f⌋` with `f` clamped to `[0, 1]`, never above `d`.
fn proportional_delta(d: u64, f: f64) -> u64 {
    // f ≤ 1, so the result is at most d.
    u64::try_from(mul_floor(u128::from(d), f)).unwrap_or(d)
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
    fn mul_floor_is_exact_at_the_factors_binary_value() {
        assert_eq!(mul_floor(10, 0.1), 1);
        assert_eq!(mul_floor(100_000_000, 0.1), 10_000_000);
        // 0.3 is 0.299999999999999988897769753748… as an f64.
        assert_eq!(mul_floor(10, 0.3), 2);
        assert_eq!(mul_floor(7, 0.5), 3);
        let max = u128::from(u64::MAX);
        assert_eq!(mul_floor(max, 1.0), max);
        assert_eq!(mul_floor(max, 2.0), max, "clamped to 1");
        assert_eq!(mul_floor(max, 0.0), 0);
        assert_eq!(mul_floor(max, f64::NAN), 0);
        assert_eq!(mul_floor(max, -1.0), 0);
        assert_eq!(mul_floor(max, f64::MIN_POSITIVE), 0);
        assert_eq!(mul_floor(max, 5e-324), 0, "subnormal");
        assert_eq!(mul_floor(1 << 74, 2f64.powi(-60)), 1 << 14);
    }

    #[test]
    fn first_saturating_delay_is_the_threshold() {
        let max = u128::from(u64::MAX);
        for f in [0.0, 0.1, 0.3, 0.5, 1.0, 1e-300] {
            let s = first_saturating_delay(f);
            assert!(s + mul_floor(s, f) >= max, "{f}");
            assert!(s == 0 || (s - 1) + mul_floor(s - 1, f) < max, "{f}");
        }
        assert_eq!(first_saturating_delay(0.0), max);
        assert_eq!(first_saturating_delay(1.0), 1 << 63);
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
