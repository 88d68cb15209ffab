//! A retry budget shared by all callers of one downstream, so that retries cannot multiply
//! load during an outage.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Internal fixed-point unit: one token is 10⁹ units, so the floor refills by
/// `min_retries_per_sec` units per nanosecond, exactly.
const UNITS_PER_TOKEN: u128 = 1_000_000_000;

/// Parameters of a [`RetryBudget`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryBudgetConfig {
    /// Tokens earned per first attempt (Finagle's `percentCanRetry`, gRPC's `tokenRatio`):
    /// 0.2 allows one retry per five calls. Must be in `[0, 1000]`.
    pub ratio: f64,
    /// Retries per second allowed even without traffic (the floor), refilled continuously,
    /// so that low-volume callers can still retry.
    pub min_retries_per_sec: u32,
    /// The most tokens the budget holds; bounds the retry burst after a quiet healthy
    /// period. Must be at least 1.
    pub max_tokens: u32,
}

impl Default for RetryBudgetConfig {
    /// The design reference's recommendation (Finagle/linkerd defaults): 20 % of calls may
    /// retry, a floor of 10 retries/s, at most 100 tokens (Finagle's 10 s TTL × 10/s).
    fn default() -> Self {
        Self {
            ratio: 0.2,
            min_retries_per_sec: 10,
            max_tokens: 100,
        }
    }
}

/// An invalid [`RetryBudgetConfig`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetConfigError {
    /// `ratio` is negative, above 1000 or not finite.
    #[error("retry budget ratio {0} is outside [0, 1000]")]
    Ratio(f64),
    /// `max_tokens` is 0, so no retry could ever be made.
    #[error("retry budget max_tokens must be at least 1")]
    ZeroCapacity,
}

#[derive(Debug)]
struct Inner {
    /// Balance in units (see [`UNITS_PER_TOKEN`]).
    balance: u128,
    /// The latest time seen; the floor has been credited up to here.
    last: Duration,
}

/// A token bucket limiting retries to a fraction of first attempts plus a per-second
/// floor (Finagle `RetryBudget`, tower `TpsBudget`, gRPC retry throttling).
///
/// * Every first attempt [`deposit`](Self::deposit)s `ratio` tokens.
/// * Every retry must [`try_withdraw`](Self::try_withdraw) one whole token; first attempts
///   are never throttled.
/// * `min_retries_per_sec` tokens per second are credited continuously.
/// * The balance never exceeds `max_tokens`, and starts at **zero**.
///
/// Hence, over any run of `N` first attempts spanning `T` seconds, at most
/// `N·ratio + min_retries_per_sec·T` retries are granted and total attempts are at most
/// `N·(1 + ratio) + min_retries_per_sec·T`, whatever `max_attempts` is.
///
/// Thread-safe (`&self` methods behind a mutex); time is passed in as a [`Clock`]
/// reading, and a reading earlier than one already seen counts as no time passing.
///
/// [`Clock`]: pharm_core::time::Clock
#[derive(Debug)]
pub struct RetryBudget {
    config: RetryBudgetConfig,
    deposit_units: u128,
    capacity_units: u128,
    inner: Mutex<Inner>,
}

impl RetryBudget {
    /// An empty budget whose floor starts accruing at `now`.
    ///
    /// # Errors
    ///
    /// [`BudgetConfigError`] if the ratio is outside `[0, 1000]` or `max_tokens` is 0.
    pub fn new(config: RetryBudgetConfig, now: Duration) -> Result<Self, BudgetConfigError> {
        if !(0.0..=1000.0).contains(&config.ratio) {
            return Err(BudgetConfigError::Ratio(config.ratio));
        }
        if config.max_tokens == 0 {
            return Err(BudgetConfigError::ZeroCapacity);
        }
        // Rounded down so the amplification bound holds exactly. Finite and ≤ 10¹², so
        // the cast is exact enough and cannot saturate.
        let deposit_units = (config.ratio * UNITS_PER_TOKEN as f64).floor() as u128;
        Ok(Self {
            config,
            deposit_units,
            capacity_units: u128::from(config.max_tokens) * UNITS_PER_TOKEN,
            inner: Mutex::new(Inner {
                balance: 0,
                last: now,
            }),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> RetryBudgetConfig {
        self.config
    }

    /// Credits `ratio` tokens for a first attempt made at `now`.
    pub fn deposit(&self, now: Duration) {
        let mut inner = self.lock();
        self.refill(&mut inner, now);
        inner.balance = inner
            .balance
            .saturating_add(self.deposit_units)
            .min(self.capacity_units);
    }

    /// Takes one token for a retry at `now`; `false` (and nothing taken) if less than one
    /// token is available.
    pub fn try_withdraw(&self, now: Duration) -> bool {
        let mut inner = self.lock();
        self.refill(&mut inner, now);
        if inner.balance >= UNITS_PER_TOKEN {
            inner.balance -= UNITS_PER_TOKEN;
            true
        } else {
            false
        }
    }

    /// Tokens available at `now` (fractional; for metrics).
    pub fn available(&self, now: Duration) -> f64 {
        let mut inner = self.lock();
        self.refill(&mut inner, now);
        inner.balance as f64 / UNITS_PER_TOKEN as f64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The critical sections cannot panic half-way, so a poisoned lock is still
        // consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refill(&self, inner: &mut Inner, now: Duration) {
        if now <= inner.last {
            return;
        }
        let elapsed = (now - inner.last).as_nanos();
        inner.last = now;
        let credit = elapsed.saturating_mul(u128::from(self.config.min_retries_per_sec));
        inner.balance = inner
            .balance
            .saturating_add(credit)
            .min(self.capacity_units);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_config() {
        let bad = |ratio, max_tokens| {
            RetryBudget::new(
                RetryBudgetConfig {
                    ratio,
                    min_retries_per_sec: 1,
                    max_tokens,
                },
                Duration::ZERO,
            )
            .err()
        };
        assert_eq!(bad(-0.1, 1), Some(BudgetConfigError::Ratio(-0.1)));
        assert!(matches!(
            bad(f64::NAN, 1),
            Some(BudgetConfigError::Ratio(_))
        ));
        assert_eq!(bad(1000.5, 1), Some(BudgetConfigError::Ratio(1000.5)));
        assert_eq!(bad(0.1, 0), Some(BudgetConfigError::ZeroCapacity));
        assert_eq!(bad(0.1, 1), None);
    }

    #[test]
    fn ten_deposits_of_a_tenth_buy_one_retry() {
        let b = RetryBudget::new(
            RetryBudgetConfig {
                ratio: 0.1,
                min_retries_per_sec: 0,
                max_tokens: 10,
            },
            Duration::ZERO,
        )
        .unwrap();
        for _ in 0..9 {
            b.deposit(Duration::ZERO);
        }
        assert!(!b.try_withdraw(Duration::ZERO));
        b.deposit(Duration::ZERO);
        assert!(b.try_withdraw(Duration::ZERO));
        assert!(!b.try_withdraw(Duration::ZERO));
    }

    #[test]
    fn clock_going_backwards_credits_nothing() {
        let b = RetryBudget::new(
            RetryBudgetConfig {
                ratio: 0.0,
                min_retries_per_sec: 1,
                max_tokens: 5,
            },
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(!b.try_withdraw(Duration::from_secs(5)));
        assert!(b.try_withdraw(Duration::from_secs(11)));
        assert!(!b.try_withdraw(Duration::from_secs(3)));
    }
}
