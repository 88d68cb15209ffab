//! One [`Resilience`] policy per downstream: its circuit breaker, its retry policy and its
//! retry budget, composed.
//!
//! Every caller of a partner API needs the three together: the breaker stops calling a
//! partner that is down, the retry policy retries what is worth retrying, and the budget
//! keeps retries from multiplying load during an outage. The policy is **sans-IO and
//! caller-driven**: the caller reads its clock and passes `now` in, makes the call itself,
//! and reports the outcome; the policy answers what to do next.
//!
//! ```text
//! let mut call = policy.begin(now);           // one logical operation
//! loop {
//!     let permit = call.before_call(now)?;    // Permit, or Rejected (breaker OPEN)
//!     let outcome = do_the_call(permit.attempt().timeout);
//!     match call.after_call(permit, outcome, now) {
//!         Next::Return => break,              // success
//!         Next::RetryAfter(wait) => sleep(wait),
//!         Next::GiveUp(reason) => break,      // degrade (design §5)
//!     }
//! }
//! ```
//!
//! [`call`] is that loop as one async helper, on an injected [`Clock`] and [`Sleep`].
//!
//! # Order of the checks after a failed try
//!
//! 1. The failure is recorded by the breaker (at `now`, with the try's duration).
//! 2. If that opened the breaker (or it is forced open), the operation gives up
//!    ([`StopReason::BreakerOpen`]): the next try would be rejected anyway, and no budget
//!    token is spent on it.
//! 3. Otherwise the retry policy decides ([`RetryState::on_failure`]): not retryable,
//!    tries used up, deadline, and only then one token from the shared budget.
//!
//! # Presets
//!
//! [`ResilienceConfig::pmp_api`] and [`ResilienceConfig::insurance_api`] join the design's
//! named breakers ([`CircuitBreakerConfig::pmp_api`], [`CircuitBreakerConfig::insurance_api`])
//! to their rows of the design's retry table ([`Operation::Pmp`]: 3 tries, exponential
//! from 1 s, 10 s per try; [`Operation::Insurance`]: 3 tries, exponential from 2 s, 30 s
//! per try) and to one [`RetryBudget`] per downstream with the design reference's
//! recommendation (20 % of calls may retry, a floor of 10 retries/s). The budget starts
//! empty, so a new policy's first retries are paid by the floor as time passes.
//!
//! # Time
//!
//! The breaker inside a [`Resilience`] reads the caller's readings: each `before_call` /
//! `after_call` moves the policy's time to its `now` (never backwards), so the whole policy
//! runs on the caller's timeline; concurrent callers on one policy should read one clock.
//!
//! [`Clock`]: pharm_core::time::Clock
//! [`Sleep`]: crate::Sleep

mod driver;

pub use driver::{ResilienceError, call};

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pharm_core::time::{Clock, ManualClock};
use serde::{Deserialize, Serialize};

use crate::breaker::{
    self, CallNotPermitted, CircuitBreaker, CircuitBreakerConfig, ConfigError, State,
};
use crate::json::{self, ResilienceJsonError};
use crate::retry::{
    Attempt, BudgetConfigError, Decision, ErrorKind, GiveUpReason, Operation, PolicyError,
    RetryBudget, RetryBudgetConfig, RetryPolicy, RetryState, XorShift,
};

/// The parts of a [`Resilience`] policy; plain data (serde) when the breaker's is.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResilienceConfig {
    /// The circuit breaker.
    pub breaker: CircuitBreakerConfig,
    /// The per-call retry policy.
    pub retry: RetryPolicy,
    /// The retry budget shared by every call through the policy.
    pub budget: RetryBudgetConfig,
    /// Seed of the jitter generator (fixed for reproducible traces).
    pub jitter_seed: u64,
}

impl ResilienceConfig {
    /// Name of the [`pmp_api`](Self::pmp_api) preset.
    pub const PMP_API: &'static str = CircuitBreakerConfig::PMP_API;
    /// Name of the [`insurance_api`](Self::insurance_api) preset.
    pub const INSURANCE_API: &'static str = CircuitBreakerConfig::INSURANCE_API;

    /// The `pmp-api` downstream: the design's `pmp-api` breaker, the retry table's PMP row
    /// ([`RetryPolicy::pmp`]) and the default [`RetryBudgetConfig`].
    #[must_use]
    pub fn pmp_api() -> Self {
        Self::for_downstream(CircuitBreakerConfig::pmp_api(), Operation::Pmp)
    }

    /// The `insurance-api` downstream: the design's `insurance-api` breaker, the retry
    /// table's insurance-claim row ([`RetryPolicy::insurance`]) and the default
    /// [`RetryBudgetConfig`].
    #[must_use]
    pub fn insurance_api() -> Self {
        Self::for_downstream(CircuitBreakerConfig::insurance_api(), Operation::Insurance)
    }

    /// A preset by name: [`PMP_API`](Self::PMP_API) or [`INSURANCE_API`](Self::INSURANCE_API).
    #[must_use]
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            Self::PMP_API => Some(Self::pmp_api()),
            Self::INSURANCE_API => Some(Self::insurance_api()),
            _ => None,
        }
    }

    fn for_downstream(breaker: CircuitBreakerConfig, operation: Operation) -> Self {
        Self {
            breaker,
            retry: RetryPolicy::for_operation(operation),
            budget: RetryBudgetConfig::default(),
            jitter_seed: 0x5EED,
        }
    }
}

/// The serialized form of a [`ResilienceConfig`], its parts not yet checked (for
/// [`ResilienceConfig::from_json`], which keeps their errors).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFields {
    breaker: breaker::ConfigData,
    retry: crate::retry::PolicyFields,
    budget: RetryBudgetConfig,
    jitter_seed: u64,
}

impl ResilienceConfig {
    /// Reads a configuration from its JSON form (the serde form of [`ResilienceConfig`]),
    /// refusing unknown fields at any depth, and checks every part as [`Resilience::new`]
    /// does, keeping the error of an invalid part as its [`ResilienceConfigError`] (and
    /// code) rather than a text inside a serde error.
    ///
    /// # Errors
    ///
    /// [`ResilienceJsonError::Json`] for a document that is not a configuration's JSON
    /// form, [`ResilienceJsonError::Config`] for an invalid breaker, retry policy or
    /// budget.
    pub fn from_json(json: impl AsRef<[u8]>) -> Result<Self, ResilienceJsonError> {
        let fields: ConfigFields = json::from_json("resilience configuration", json)?;
        let breaker =
            CircuitBreakerConfig::try_from(fields.breaker).map_err(ResilienceConfigError::from)?;
        let retry = RetryPolicy::try_from(fields.retry).map_err(ResilienceConfigError::from)?;
        RetryBudget::new(fields.budget, Duration::ZERO).map_err(ResilienceConfigError::from)?;
        Ok(Self {
            breaker,
            retry,
            budget: fields.budget,
            jitter_seed: fields.jitter_seed,
        })
    }
}

/// An invalid [`ResilienceConfig`]; the inner error says which part and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ResilienceConfigError {
    /// The breaker configuration is invalid.
    #[error("circuit breaker: {0}")]
    Breaker(#[from] ConfigError),
    /// The retry policy is invalid.
    #[error("retry policy: {0}")]
    Retry(#[from] PolicyError),
    /// The budget configuration is invalid.
    #[error("retry budget: {0}")]
    Budget(#[from] BudgetConfigError),
}

/// A downstream's breaker, retry policy and retry budget (see the module documentation).
pub struct Resilience {
    breaker: CircuitBreaker,
    retry: RetryPolicy,
    budget: RetryBudget,
    time: ManualClock,
    rng: Mutex<XorShift>,
}

impl fmt::Debug for Resilience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resilience")
            .field("breaker", &self.breaker)
            .field("retry", &self.retry)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Resilience {
    /// A policy named `name` (the breaker's name), whose time starts at `now`.
    ///
    /// # Errors
    ///
    /// [`ResilienceConfigError`] naming the invalid part.
    pub fn new(
        name: impl Into<Arc<str>>,
        config: ResilienceConfig,
        now: Duration,
    ) -> Result<Self, ResilienceConfigError> {
        let breaker_config = config.breaker.to_builder().build()?;
        config.retry.validate()?;
        let budget = RetryBudget::new(config.budget, now)?;
        let time = ManualClock::starting_at(now);
        Ok(Self {
            breaker: CircuitBreaker::new(name, breaker_config, time.clone()),
            retry: config.retry,
            budget,
            time,
            rng: Mutex::new(XorShift::new(config.jitter_seed)),
        })
    }

    /// The named preset ([`ResilienceConfig::preset`]) under its own name; `None` for an
    /// unknown name.
    #[must_use]
    pub fn preset(name: &str, now: Duration) -> Option<Self> {
        let config = ResilienceConfig::preset(name)?;
        Self::new(name, config, now).ok()
    }

    /// The breaker (for its state, metrics and events).
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The shared retry budget.
    pub fn budget(&self) -> &RetryBudget {
        &self.budget
    }

    /// Starts one logical operation at `now`: its first try earns the budget its deposit.
    pub fn begin(&self, now: Duration) -> Call<'_> {
        self.observe(now);
        self.budget.deposit(now);
        Call {
            policy: self,
            state: RetryState::new(now),
        }
    }

    /// Moves the policy's time to `now`, never backwards.
    fn observe(&self, now: Duration) {
        if now > self.time.now() {
            self.time.set(now);
        }
    }
}

/// One logical operation through a [`Resilience`] policy, across its tries.
#[derive(Debug)]
pub struct Call<'a> {
    policy: &'a Resilience,
    state: RetryState,
}

impl<'a> Call<'a> {
    /// Asks for the next try at `now`.
    ///
    /// # Errors
    ///
    /// [`Rejected`] when the breaker does not permit the call (OPEN, FORCED_OPEN, or
    /// HALF_OPEN with every probe taken); nothing was tried and the budget is untouched.
    pub fn before_call(&mut self, now: Duration) -> Result<Permit<'a>, Rejected> {
        let policy = self.policy;
        policy.observe(now);
        match policy.breaker.try_acquire_at(now) {
            Ok(breaker) => Ok(Permit {
                breaker,
                attempt: self.state.next_attempt(&policy.retry, now),
                started: now,
            }),
            Err(not_permitted) => Err(Rejected { not_permitted }),
        }
    }

    /// Reports the try `permit` was given for, ended at `now` with `outcome`, and says
    /// what to do next (see the module documentation for the order of the checks).
    pub fn after_call(&mut self, permit: Permit<'a>, outcome: Outcome, now: Duration) -> Next {
        let result = match outcome {
            Outcome::Success => {
                self.succeeded(permit, now);
                return Next::Return;
            }
            Outcome::Failure(kind) => self.failed(permit, kind, true, now),
            Outcome::NotCounted(kind) => self.failed(permit, kind, false, now),
        };
        result.map_or_else(Next::GiveUp, Next::RetryAfter)
    }

    /// The try succeeded at `now`.
    pub(super) fn succeeded(&mut self, permit: Permit<'a>, now: Duration) {
        self.policy.observe(now);
        permit
            .breaker
            .on_success(now.saturating_sub(permit.started));
    }

    /// The try failed at `now` with `kind`, recorded by the breaker if `counted`: the
    /// wait before the next try, or why there is none.
    pub(super) fn failed(
        &mut self,
        permit: Permit<'a>,
        kind: ErrorKind,
        counted: bool,
        now: Duration,
    ) -> Result<Duration, StopReason> {
        let policy = self.policy;
        policy.observe(now);
        let duration = now.saturating_sub(permit.started);
        if counted {
            permit.breaker.on_failure(duration);
        } else {
            permit.breaker.on_ignored(duration);
        }
        if matches!(policy.breaker.state(), State::Open | State::ForcedOpen) {
            return Err(StopReason::BreakerOpen);
        }
        let mut rng = policy.rng.lock().unwrap_or_else(PoisonError::into_inner);
        match self
            .state
            .on_failure(&policy.retry, kind, now, Some(&policy.budget), &mut *rng)
        {
            Decision::RetryAfter(wait) => Ok(wait),
            Decision::GiveUp(reason) => Err(StopReason::Retry(reason)),
        }
    }

    /// Tries that have failed so far.
    #[must_use]
    pub fn failures(&self) -> u32 {
        self.state.failures()
    }
}

/// Permission for one try, from [`Call::before_call`]. Dropping it without
/// [`Call::after_call`] releases the breaker's permit and records nothing.
#[derive(Debug)]
#[must_use = "report the try's outcome with Call::after_call"]
pub struct Permit<'a> {
    breaker: breaker::Permit<'a>,
    attempt: Attempt,
    started: Duration,
}

impl Permit<'_> {
    /// The try's number (1 is the first call) and its time limit, which the caller
    /// enforces.
    pub fn attempt(&self) -> Attempt {
        self.attempt
    }
}

/// The breaker refused the try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The breaker's rejection (its state and, when OPEN, how long until it lets a probe
    /// through).
    pub not_permitted: CallNotPermitted,
}

/// How a try ended, as the caller classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It succeeded.
    Success,
    /// It failed in a way that says the downstream is unhealthy (a timeout, a 5xx, a reset):
    /// recorded by the breaker, then retried if `kind` allows.
    Failure(ErrorKind),
    /// It failed in a way that says nothing about the downstream's health (a validation
    /// error, a 4xx): ignored by the breaker, then retried if `kind` allows.
    NotCounted(ErrorKind),
}

/// Why an operation stopped without success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The failure opened the breaker (or it is forced open): no retry is attempted.
    BreakerOpen,
    /// The retry policy or the budget said stop.
    Retry(GiveUpReason),
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BreakerOpen => f.write_str("circuit breaker open"),
            Self::Retry(reason) => reason.fmt(f),
        }
    }
}

/// What the caller does after a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Next {
    /// The try succeeded: return its result.
    Return,
    /// Wait this long, then call [`Call::before_call`] again.
    RetryAfter(Duration),
    /// Stop and degrade.
    GiveUp(StopReason),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn presets_join_the_named_breakers_to_their_retry_rows() {
        let pmp = ResilienceConfig::preset(ResilienceConfig::PMP_API).unwrap();
        assert_eq!(pmp.retry, RetryPolicy::pmp());
        assert_eq!(pmp.breaker.sliding_window_size(), 10);
        let insurance = ResilienceConfig::preset(ResilienceConfig::INSURANCE_API).unwrap();
        assert_eq!(insurance.retry, RetryPolicy::insurance());
        assert_eq!(insurance.breaker.sliding_window_size(), 20);
        assert!(ResilienceConfig::preset("nope").is_none());
        let policy = Resilience::preset("pmp-api", Duration::ZERO).unwrap();
        assert_eq!(policy.breaker().name(), "pmp-api");
        assert_eq!(policy.budget().config(), RetryBudgetConfig::default());
    }

    #[test]
    fn config_round_trips_through_json() {
        let config = ResilienceConfig::insurance_api();
        let json = serde_json::to_value(&config).unwrap();
        let back: ResilienceConfig = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        assert_eq!(back.retry, config.retry);
    }

    #[test]
    fn invalid_parts_are_named() {
        let mut config = ResilienceConfig::pmp_api();
        config.budget.max_tokens = 0;
        assert_eq!(
            Resilience::new("x", config, Duration::ZERO).unwrap_err(),
            ResilienceConfigError::Budget(BudgetConfigError::ZeroCapacity)
        );
        let mut config = ResilienceConfig::pmp_api();
        config.retry.max_attempts = 0;
        assert!(matches!(
            Resilience::new("x", config, Duration::ZERO),
            Err(ResilienceConfigError::Retry(_))
        ));
    }

    #[test]
    fn time_never_goes_backwards() {
        let policy = Resilience::preset("pmp-api", Duration::from_secs(5)).unwrap();
        policy.observe(Duration::from_secs(3));
        assert_eq!(policy.breaker().now(), Duration::from_secs(5));
        policy.observe(Duration::from_secs(7));
        assert_eq!(policy.breaker().now(), Duration::from_secs(7));
    }
}
