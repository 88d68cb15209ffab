//! Circuit-breaker configuration: resilience4j defaults, a validating builder, the OPEN
//! wait (fixed or an interval function) and error/result classification.

use std::any::Any;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use pharm_core::error_code::ErrorCode;
use serde::{Deserialize, Serialize};

use super::state::State;

/// How the CLOSED (and METRICS_ONLY) state aggregates outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlidingWindowType {
    /// The last `sliding_window_size` outcomes (a ring buffer with subtract-on-evict).
    #[default]
    CountBased,
    /// The outcomes of the last `sliding_window_size` clock seconds, one bucket per whole
    /// second of the injected clock (resilience4j: one bucket per epoch second).
    TimeBased,
}

/// What an error (or a returned value) means to the breaker.
///
/// resilience4j has two predicates, `ignoreExceptions` (checked first) and
/// `recordExceptions`; an exception matching neither is recorded as a *success*. One
/// classifier returning one of these three values expresses the same thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Classification {
    /// Recorded as a failure (counts towards the failure rate). The default for every
    /// error no classifier claims.
    Record,
    /// Not recorded at all: the permit is released (a HALF_OPEN slot is given back) and
    /// an [`Event::Ignored`](super::Event::Ignored) is published.
    Ignore,
    /// Recorded as a success (resilience4j: an exception that is neither recorded nor
    /// ignored).
    Success,
}

type IntervalFn = dyn Fn(u32) -> Duration + Send + Sync;
type ErrorClassifier = Arc<dyn Fn(&dyn Any) -> Option<Classification> + Send + Sync>;
type ResultPredicate = Arc<dyn Fn(&dyn Any) -> bool + Send + Sync>;

/// resilience4j `IntervalFunction`: the OPEN wait as a function of the attempt number.
///
/// The attempt is 1 for the first opening after CLOSED and grows by one on every
/// re-opening without passing through CLOSED (HALF_OPEN → OPEN, a forced OPEN, …), so a
/// backoff function lengthens successive waits.
#[derive(Clone)]
pub struct IntervalFunction {
    f: Arc<IntervalFn>,
}

impl IntervalFunction {
    /// An arbitrary function of the attempt number (1-based). Its result is used as is
    /// (no 1 ms floor is applied at run time).
    pub fn new(f: impl Fn(u32) -> Duration + Send + Sync + 'static) -> Self {
        Self { f: Arc::new(f) }
    }

    /// The same wait for every attempt (resilience4j `IntervalFunction.of(duration)`).
    pub fn fixed(wait: Duration) -> Self {
        Self::new(move |_| wait)
    }

    /// `initial × multiplier^(attempt − 1)` (resilience4j `ofExponentialBackoff`).
    ///
    /// # Errors
    /// [`ConfigError::IntervalTooShort`] if `initial` < 1 ms, [`ConfigError::Multiplier`]
    /// if `multiplier` is not finite or < 1.
    pub fn exponential(initial: Duration, multiplier: f64) -> Result<Self, ConfigError> {
        Self::exponential_with_max(initial, multiplier, Duration::MAX)
    }

    /// [`exponential`](Self::exponential) capped at `max` (resilience4j
    /// `ofExponentialBackoff(initial, multiplier, maxInterval)`).
    ///
    /// # Errors
    /// As [`exponential`](Self::exponential).
    pub fn exponential_with_max(
        initial: Duration,
        multiplier: f64,
        max: Duration,
    ) -> Result<Self, ConfigError> {
        if initial < Duration::from_millis(1) {
            return Err(ConfigError::IntervalTooShort(initial));
        }
        if !multiplier.is_finite() || multiplier < 1.0 {
            return Err(ConfigError::Multiplier(multiplier));
        }
        Ok(Self::new(move |attempt| {
            let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
            let secs = initial.as_secs_f64() * multiplier.powi(exponent);
            Duration::try_from_secs_f64(secs)
                .unwrap_or(Duration::MAX)
                .min(max)
        }))
    }

    /// The wait for `attempt` (1-based).
    pub fn apply(&self, attempt: u32) -> Duration {
        (self.f)(attempt)
    }
}

impl fmt::Debug for IntervalFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntervalFunction(..)")
    }
}

/// How long OPEN waits before it lets a call through to HALF_OPEN.
///
/// Serialized as `{"fixed": {"secs": 30, "nanos": 0}}`; an interval function is code, not
/// data: serializing a configuration that uses one fails, and it cannot be deserialized.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitInOpenState {
    /// `waitDurationInOpenState`: the same wait after every opening.
    Fixed(Duration),
    /// `waitIntervalFunctionInOpenState`: a function of the attempt number (Rust callers
    /// only).
    #[serde(skip)]
    Function(IntervalFunction),
}

impl WaitInOpenState {
    /// The wait for `attempt` (1-based).
    pub fn for_attempt(&self, attempt: u32) -> Duration {
        match self {
            Self::Fixed(d) => *d,
            Self::Function(f) => f.apply(attempt),
        }
    }
}

/// A rejected configuration (resilience4j throws `IllegalArgumentException` or
/// `IllegalStateException` for the same inputs).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `failureRateThreshold` outside `0 < x ≤ 100` (or NaN).
    #[error("failureRateThreshold must be > 0 and <= 100, got {0}")]
    FailureRateThreshold(f32),
    /// `slowCallRateThreshold` outside `0 < x ≤ 100` (or NaN).
    #[error("slowCallRateThreshold must be > 0 and <= 100, got {0}")]
    SlowCallRateThreshold(f32),
    /// `slowCallDurationThreshold` below 1 ns.
    #[error("slowCallDurationThreshold must be at least 1 ns")]
    SlowCallDurationThreshold,
    /// `waitDurationInOpenState` below 1 ms.
    #[error("waitDurationInOpenState must be at least 1 ms, got {0:?}")]
    WaitDurationInOpenState(Duration),
    /// Both `waitDurationInOpenState` and `waitIntervalFunctionInOpenState` were set.
    #[error("waitDurationInOpenState and waitIntervalFunctionInOpenState are mutually exclusive")]
    ConflictingWaitInOpenState,
    /// `permittedNumberOfCallsInHalfOpenState` of 0.
    #[error("permittedNumberOfCallsInHalfOpenState must be at least 1")]
    PermittedNumberOfCallsInHalfOpenState,
    /// `slidingWindowSize` of 0.
    #[error("slidingWindowSize must be at least 1")]
    SlidingWindowSize,
    /// `slidingWindowSize` above
    /// [`MAX_SLIDING_WINDOW_SIZE`](CircuitBreakerConfig::MAX_SLIDING_WINDOW_SIZE): the
    /// window allocates one slot per call (COUNT_BASED) or per second (TIME_BASED), and a
    /// TIME_BASED window walks its buckets when the clock jumps. (resilience4j has no upper
    /// limit; `Integer.MAX_VALUE` exhausts its heap.)
    #[error(
        "slidingWindowSize must be at most {max}, got {size}",
        max = CircuitBreakerConfig::MAX_SLIDING_WINDOW_SIZE
    )]
    SlidingWindowTooLarge {
        /// The rejected size.
        size: u32,
    },
    /// `permittedNumberOfCallsInHalfOpenState` above
    /// [`MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE`](CircuitBreakerConfig::MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE):
    /// HALF_OPEN allocates a COUNT_BASED window of that many slots.
    #[error(
        "permittedNumberOfCallsInHalfOpenState must be at most {max}, got {permitted}",
        max = CircuitBreakerConfig::MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE
    )]
    TooManyPermittedCallsInHalfOpenState {
        /// The rejected number.
        permitted: u32,
    },
    /// `minimumNumberOfCalls` of 0.
    #[error("minimumNumberOfCalls must be at least 1")]
    MinimumNumberOfCalls,
    /// `maxWaitDurationInHalfOpenState` neither 0 nor at least 1 ms. (resilience4j
    /// silently treats a sub-millisecond value as 0; this port rejects it.)
    #[error(
        "maxWaitDurationInHalfOpenState must be 0 (wait for the permitted calls) or at least 1 ms, got {0:?}"
    )]
    MaxWaitDurationInHalfOpenState(Duration),
    /// `transitionToStateAfterWaitDuration` other than OPEN or CLOSED.
    #[error("transitionToStateAfterWaitDuration must be OPEN or CLOSED, got {0}")]
    TransitionToStateAfterWaitDuration(State),
    /// An interval function's initial interval below 1 ms.
    #[error("interval function: the initial interval must be at least 1 ms, got {0:?}")]
    IntervalTooShort(Duration),
    /// An interval function's multiplier that is not finite or below 1.
    #[error("interval function: the multiplier must be finite and >= 1, got {0}")]
    Multiplier(f64),
}

/// Circuit-breaker settings with resilience4j's names, defaults and validation
/// (`CircuitBreakerConfig` at resilience4j `af9e7c9`).
///
/// | setting | default |
/// |---|---|
/// | failure rate threshold | 50 % |
/// | slow-call rate threshold | 100 % |
/// | slow-call duration threshold | 60 s (a call is slow when strictly longer) |
/// | wait in OPEN | fixed 60 s |
/// | permitted calls in HALF_OPEN | 10 (at most 10,000) |
/// | sliding window | COUNT_BASED, size 100 (at most 10,000) |
/// | minimum number of calls | 100 (COUNT_BASED evaluates from `min(minimum, size)`) |
/// | max wait in HALF_OPEN | 0 (stay until the permitted calls complete) |
/// | state after max wait | OPEN |
/// | automatic OPEN → HALF_OPEN | off |
/// | initial state | CLOSED |
/// | errors | every error is recorded as a failure |
/// | results | no result is a failure |
///
/// Build one with [`builder`](Self::builder) (validated) or take a preset
/// ([`pmp_api`](Self::pmp_api), [`insurance_api`](Self::insurance_api)).
///
/// # Data only: classification by error kind
///
/// The configuration is plain data (serde; JSON field names are the snake_case setting
/// names, missing fields take the defaults, unknown fields are rejected, and
/// deserializing validates as [`build`](CircuitBreakerConfigBuilder::build) does). Errors
/// are classified by their **kind**, a string such as the family's stable error id
/// ([`ErrorCode::id`], e.g. `shard.pg_timeout`) or any name the caller reports through
/// [`Permit::on_error_kind`](super::Permit::on_error_kind): `ignore_kinds` are ignored
/// (checked first, as resilience4j's `ignoreExceptions`), and when `record_kinds` is
/// non-empty only those kinds are failures and every other kind counts as a success
/// (resilience4j's `recordExceptions`); with both empty every error is a failure.
///
/// Closure classifiers ([`classify_errors`](CircuitBreakerConfigBuilder::classify_errors),
/// [`record_result_if`](CircuitBreakerConfigBuilder::record_result_if)) and an
/// [`IntervalFunction`] wait remain available to Rust callers; they are not part of the
/// serialized form.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "ConfigData", into = "ConfigData")]
pub struct CircuitBreakerConfig {
    pub(crate) failure_rate_threshold: f32,
    pub(crate) slow_call_rate_threshold: f32,
    pub(crate) slow_call_duration_threshold: Duration,
    pub(crate) wait_in_open_state: WaitInOpenState,
    pub(crate) permitted_number_of_calls_in_half_open_state: u32,
    pub(crate) sliding_window_type: SlidingWindowType,
    pub(crate) sliding_window_size: u32,
    pub(crate) minimum_number_of_calls: u32,
    pub(crate) max_wait_duration_in_half_open_state: Duration,
    pub(crate) transition_to_state_after_wait_duration: State,
    pub(crate) automatic_transition_from_open_to_half_open_enabled: bool,
    pub(crate) initial_state: State,
    pub(crate) record_kinds: BTreeSet<String>,
    pub(crate) ignore_kinds: BTreeSet<String>,
    pub(crate) error_classifiers: Vec<ErrorClassifier>,
    pub(crate) result_predicates: Vec<ResultPredicate>,
}

impl CircuitBreakerConfig {
    /// resilience4j `DEFAULT_FAILURE_RATE_THRESHOLD` (percent).
    pub const DEFAULT_FAILURE_RATE_THRESHOLD: f32 = 50.0;
    /// resilience4j `DEFAULT_SLOW_CALL_RATE_THRESHOLD` (percent).
    pub const DEFAULT_SLOW_CALL_RATE_THRESHOLD: f32 = 100.0;
    /// resilience4j `DEFAULT_SLOW_CALL_DURATION_THRESHOLD`.
    pub const DEFAULT_SLOW_CALL_DURATION_THRESHOLD: Duration = Duration::from_secs(60);
    /// resilience4j `DEFAULT_WAIT_DURATION_IN_OPEN_STATE`.
    pub const DEFAULT_WAIT_DURATION_IN_OPEN_STATE: Duration = Duration::from_secs(60);
    /// resilience4j `DEFAULT_PERMITTED_CALLS_IN_HALF_OPEN_STATE`.
    pub const DEFAULT_PERMITTED_CALLS_IN_HALF_OPEN_STATE: u32 = 10;
    /// resilience4j `DEFAULT_SLIDING_WINDOW_SIZE`.
    pub const DEFAULT_SLIDING_WINDOW_SIZE: u32 = 100;
    /// resilience4j `DEFAULT_MINIMUM_NUMBER_OF_CALLS`.
    pub const DEFAULT_MINIMUM_NUMBER_OF_CALLS: u32 = 100;
    /// The largest sliding window: 10,000 calls (COUNT_BASED) or seconds (TIME_BASED,
    /// about 2 h 47 min), a hundred times resilience4j's default. The window is allocated
    /// up front (10 bytes per call, 64 bytes per second), so the limit keeps a
    /// breaker under 1 MB; resilience4j itself has no upper limit.
    pub const MAX_SLIDING_WINDOW_SIZE: u32 = 10_000;
    /// The most permitted calls in HALF_OPEN (the size of HALF_OPEN's COUNT_BASED window):
    /// 10,000, as for the sliding window.
    pub const MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE: u32 = 10_000;

    /// A builder starting from the resilience4j defaults.
    pub fn builder() -> CircuitBreakerConfigBuilder {
        CircuitBreakerConfigBuilder::from_config(Self::default())
    }

    /// A builder starting from this configuration (resilience4j
    /// `CircuitBreakerConfig.from(base)`). Setting either OPEN wait on it replaces the
    /// base's wait; setting both is still an error.
    pub fn to_builder(&self) -> CircuitBreakerConfigBuilder {
        CircuitBreakerConfigBuilder::from_config(self.clone())
    }

    /// Failure-rate threshold in percent; the breaker trips when the rate is `>=` it.
    pub fn failure_rate_threshold(&self) -> f32 {
        self.failure_rate_threshold
    }

    /// Slow-call-rate threshold in percent; the breaker trips when the rate is `>=` it.
    pub fn slow_call_rate_threshold(&self) -> f32 {
        self.slow_call_rate_threshold
    }

    /// A call is slow when its duration is strictly longer than this.
    pub fn slow_call_duration_threshold(&self) -> Duration {
        self.slow_call_duration_threshold
    }

    /// The OPEN wait.
    pub fn wait_in_open_state(&self) -> &WaitInOpenState {
        &self.wait_in_open_state
    }

    /// Calls let through in HALF_OPEN (also the size of HALF_OPEN's COUNT_BASED window).
    pub fn permitted_number_of_calls_in_half_open_state(&self) -> u32 {
        self.permitted_number_of_calls_in_half_open_state
    }

    /// COUNT_BASED or TIME_BASED.
    pub fn sliding_window_type(&self) -> SlidingWindowType {
        self.sliding_window_type
    }

    /// Window size: outcomes (COUNT_BASED) or seconds (TIME_BASED).
    pub fn sliding_window_size(&self) -> u32 {
        self.sliding_window_size
    }

    /// The configured minimum number of calls before rates are evaluated.
    pub fn minimum_number_of_calls(&self) -> u32 {
        self.minimum_number_of_calls
    }

    /// The minimum CLOSED actually uses: `min(minimum, window size)` for COUNT_BASED (the
    /// clamp in resilience4j's `CircuitBreakerMetrics`), the configured minimum for
    /// TIME_BASED (no clamp: a 10 s window with the default minimum of 100 never opens
    /// below 100 calls in 10 s).
    pub fn effective_minimum_number_of_calls(&self) -> u32 {
        match self.sliding_window_type {
            SlidingWindowType::CountBased => {
                self.minimum_number_of_calls.min(self.sliding_window_size)
            }
            SlidingWindowType::TimeBased => self.minimum_number_of_calls,
        }
    }

    /// The minimum HALF_OPEN uses: `min(minimum, permitted calls)`.
    pub fn effective_minimum_number_of_calls_in_half_open_state(&self) -> u32 {
        self.minimum_number_of_calls
            .min(self.permitted_number_of_calls_in_half_open_state)
    }

    /// Maximum time in HALF_OPEN before moving to
    /// [`transition_to_state_after_wait_duration`](Self::transition_to_state_after_wait_duration);
    /// zero means no limit.
    pub fn max_wait_duration_in_half_open_state(&self) -> Duration {
        self.max_wait_duration_in_half_open_state
    }

    /// OPEN or CLOSED: where HALF_OPEN goes when its maximum wait runs out.
    pub fn transition_to_state_after_wait_duration(&self) -> State {
        self.transition_to_state_after_wait_duration
    }

    /// Whether OPEN becomes HALF_OPEN by itself once the wait has elapsed (see the module
    /// documentation for how a sans-IO breaker applies it).
    pub fn automatic_transition_from_open_to_half_open_enabled(&self) -> bool {
        self.automatic_transition_from_open_to_half_open_enabled
    }

    /// The state a new breaker starts in.
    pub fn initial_state(&self) -> State {
        self.initial_state
    }

    /// How `error` is classified: the first registered classifier for `E` that returns
    /// a classification decides; errors no classifier claims are
    /// [`Classification::Record`].
    pub fn classify_error<E: Any>(&self, error: &E) -> Classification {
        self.classify_error_dyn(error)
    }

    pub(crate) fn classify_error_dyn(&self, error: &dyn Any) -> Classification {
        self.error_classifiers
            .iter()
            .find_map(|c| c(error))
            .unwrap_or(Classification::Record)
    }

    /// The error kinds recorded as failures (empty: every kind not ignored).
    pub fn record_kinds(&self) -> &BTreeSet<String> {
        &self.record_kinds
    }

    /// The error kinds ignored.
    pub fn ignore_kinds(&self) -> &BTreeSet<String> {
        &self.ignore_kinds
    }

    /// How an error of `kind` is classified (see the type documentation).
    pub fn classify_kind(&self, kind: &str) -> Classification {
        if self.ignore_kinds.contains(kind) {
            Classification::Ignore
        } else if self.record_kinds.is_empty() || self.record_kinds.contains(kind) {
            Classification::Record
        } else {
            Classification::Success
        }
    }

    /// How a coded error is classified: by its stable id ([`ErrorCode::id`]).
    pub fn classify_coded<E: ErrorCode + ?Sized>(&self, error: &E) -> Classification {
        self.classify_kind(error.id())
    }

    /// Whether a returned `value` is recorded as a failure (resilience4j
    /// `recordResult`): true if any registered predicate for `T` says so.
    pub fn is_result_failure<T: Any>(&self, value: &T) -> bool {
        self.result_predicates.iter().any(|p| p(value))
    }

    /// Checks every value (used by the builder; the presets are valid by construction
    /// and checked by a unit test).
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let rate_ok = |x: f32| x > 0.0 && x <= 100.0;
        if !rate_ok(self.failure_rate_threshold) {
            return Err(ConfigError::FailureRateThreshold(
                self.failure_rate_threshold,
            ));
        }
        if !rate_ok(self.slow_call_rate_threshold) {
            return Err(ConfigError::SlowCallRateThreshold(
                self.slow_call_rate_threshold,
            ));
        }
        if self.slow_call_duration_threshold.is_zero() {
            return Err(ConfigError::SlowCallDurationThreshold);
        }
        if let WaitInOpenState::Fixed(d) = self.wait_in_open_state
            && d < Duration::from_millis(1)
        {
            return Err(ConfigError::WaitDurationInOpenState(d));
        }
        let permitted = self.permitted_number_of_calls_in_half_open_state;
        if permitted == 0 {
            return Err(ConfigError::PermittedNumberOfCallsInHalfOpenState);
        }
        if permitted > Self::MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE {
            return Err(ConfigError::TooManyPermittedCallsInHalfOpenState { permitted });
        }
        let size = self.sliding_window_size;
        if size == 0 {
            return Err(ConfigError::SlidingWindowSize);
        }
        if size > Self::MAX_SLIDING_WINDOW_SIZE {
            return Err(ConfigError::SlidingWindowTooLarge { size });
        }
        if self.minimum_number_of_calls == 0 {
            return Err(ConfigError::MinimumNumberOfCalls);
        }
        let max_wait = self.max_wait_duration_in_half_open_state;
        if !max_wait.is_zero() && max_wait < Duration::from_millis(1) {
            return Err(ConfigError::MaxWaitDurationInHalfOpenState(max_wait));
        }
        if !matches!(
            self.transition_to_state_after_wait_duration,
            State::Open | State::Closed
        ) {
            return Err(ConfigError::TransitionToStateAfterWaitDuration(
                self.transition_to_state_after_wait_duration,
            ));
        }
        Ok(())
    }
}

impl Default for CircuitBreakerConfig {
    /// The resilience4j defaults (see the type documentation).
    fn default() -> Self {
        Self {
            failure_rate_threshold: Self::DEFAULT_FAILURE_RATE_THRESHOLD,
            slow_call_rate_threshold: Self::DEFAULT_SLOW_CALL_RATE_THRESHOLD,
            slow_call_duration_threshold: Self::DEFAULT_SLOW_CALL_DURATION_THRESHOLD,
            wait_in_open_state: WaitInOpenState::Fixed(Self::DEFAULT_WAIT_DURATION_IN_OPEN_STATE),
            permitted_number_of_calls_in_half_open_state:
                Self::DEFAULT_PERMITTED_CALLS_IN_HALF_OPEN_STATE,
            sliding_window_type: SlidingWindowType::CountBased,
            sliding_window_size: Self::DEFAULT_SLIDING_WINDOW_SIZE,
            minimum_number_of_calls: Self::DEFAULT_MINIMUM_NUMBER_OF_CALLS,
            max_wait_duration_in_half_open_state: Duration::ZERO,
            transition_to_state_after_wait_duration: State::Open,
            automatic_transition_from_open_to_half_open_enabled: false,
            initial_state: State::Closed,
            record_kinds: BTreeSet::new(),
            ignore_kinds: BTreeSet::new(),
            error_classifiers: Vec::new(),
            result_predicates: Vec::new(),
        }
    }
}

impl fmt::Debug for CircuitBreakerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerConfig")
            .field("failure_rate_threshold", &self.failure_rate_threshold)
            .field("slow_call_rate_threshold", &self.slow_call_rate_threshold)
            .field(
                "slow_call_duration_threshold",
                &self.slow_call_duration_threshold,
            )
            .field("wait_in_open_state", &self.wait_in_open_state)
            .field(
                "permitted_number_of_calls_in_half_open_state",
                &self.permitted_number_of_calls_in_half_open_state,
            )
            .field("sliding_window_type", &self.sliding_window_type)
            .field("sliding_window_size", &self.sliding_window_size)
            .field("minimum_number_of_calls", &self.minimum_number_of_calls)
            .field(
                "max_wait_duration_in_half_open_state",
                &self.max_wait_duration_in_half_open_state,
            )
            .field(
                "transition_to_state_after_wait_duration",
                &self.transition_to_state_after_wait_duration,
            )
            .field(
                "automatic_transition_from_open_to_half_open_enabled",
                &self.automatic_transition_from_open_to_half_open_enabled,
            )
            .field("initial_state", &self.initial_state)
            .field("record_kinds", &self.record_kinds)
            .field("ignore_kinds", &self.ignore_kinds)
            .field("error_classifiers", &self.error_classifiers.len())
            .field("result_predicates", &self.result_predicates.len())
            .finish()
    }
}

/// The serialized form of a [`CircuitBreakerConfig`]: its data, without the closures.
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ConfigData {
    failure_rate_threshold: f32,
    slow_call_rate_threshold: f32,
    slow_call_duration_threshold: Duration,
    wait_in_open_state: WaitInOpenState,
    permitted_number_of_calls_in_half_open_state: u32,
    sliding_window_type: SlidingWindowType,
    sliding_window_size: u32,
    minimum_number_of_calls: u32,
    max_wait_duration_in_half_open_state: Duration,
    transition_to_state_after_wait_duration: State,
    automatic_transition_from_open_to_half_open_enabled: bool,
    initial_state: State,
    record_kinds: BTreeSet<String>,
    ignore_kinds: BTreeSet<String>,
}

impl Default for ConfigData {
    fn default() -> Self {
        CircuitBreakerConfig::default().into()
    }
}

impl From<CircuitBreakerConfig> for ConfigData {
    fn from(c: CircuitBreakerConfig) -> Self {
        Self {
            failure_rate_threshold: c.failure_rate_threshold,
            slow_call_rate_threshold: c.slow_call_rate_threshold,
            slow_call_duration_threshold: c.slow_call_duration_threshold,
            wait_in_open_state: c.wait_in_open_state,
            permitted_number_of_calls_in_half_open_state: c
                .permitted_number_of_calls_in_half_open_state,
            sliding_window_type: c.sliding_window_type,
            sliding_window_size: c.sliding_window_size,
            minimum_number_of_calls: c.minimum_number_of_calls,
            max_wait_duration_in_half_open_state: c.max_wait_duration_in_half_open_state,
            transition_to_state_after_wait_duration: c.transition_to_state_after_wait_duration,
            automatic_transition_from_open_to_half_open_enabled: c
                .automatic_transition_from_open_to_half_open_enabled,
            initial_state: c.initial_state,
            record_kinds: c.record_kinds,
            ignore_kinds: c.ignore_kinds,
        }
    }
}

impl TryFrom<ConfigData> for CircuitBreakerConfig {
    type Error = ConfigError;

    fn try_from(d: ConfigData) -> Result<Self, ConfigError> {
        let config = Self {
            failure_rate_threshold: d.failure_rate_threshold,
            slow_call_rate_threshold: d.slow_call_rate_threshold,
            slow_call_duration_threshold: d.slow_call_duration_threshold,
            wait_in_open_state: d.wait_in_open_state,
            permitted_number_of_calls_in_half_open_state: d
                .permitted_number_of_calls_in_half_open_state,
            sliding_window_type: d.sliding_window_type,
            sliding_window_size: d.sliding_window_size,
            minimum_number_of_calls: d.minimum_number_of_calls,
            max_wait_duration_in_half_open_state: d.max_wait_duration_in_half_open_state,
            transition_to_state_after_wait_duration: d.transition_to_state_after_wait_duration,
            automatic_transition_from_open_to_half_open_enabled: d
                .automatic_transition_from_open_to_half_open_enabled,
            initial_state: d.initial_state,
            record_kinds: d.record_kinds,
            ignore_kinds: d.ignore_kinds,
            error_classifiers: Vec::new(),
            result_predicates: Vec::new(),
        };
        config.validate()?;
        Ok(config)
    }
}

/// Builder for [`CircuitBreakerConfig`]; [`build`](Self::build) validates.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CircuitBreakerConfigBuilder {
    config: CircuitBreakerConfig,
    wait_duration: Option<Duration>,
    wait_function: Option<IntervalFunction>,
}

impl CircuitBreakerConfigBuilder {
    fn from_config(config: CircuitBreakerConfig) -> Self {
        Self {
            config,
            wait_duration: None,
            wait_function: None,
        }
    }

    /// Percent, `0 < x ≤ 100`.
    pub fn failure_rate_threshold(mut self, percent: f32) -> Self {
        self.config.failure_rate_threshold = percent;
        self
    }

    /// Percent, `0 < x ≤ 100`.
    pub fn slow_call_rate_threshold(mut self, percent: f32) -> Self {
        self.config.slow_call_rate_threshold = percent;
        self
    }

    /// At least 1 ns; a call is slow when strictly longer.
    pub fn slow_call_duration_threshold(mut self, threshold: Duration) -> Self {
        self.config.slow_call_duration_threshold = threshold;
        self
    }

    /// A fixed OPEN wait, at least 1 ms. Exclusive with
    /// [`wait_interval_function_in_open_state`](Self::wait_interval_function_in_open_state).
    pub fn wait_duration_in_open_state(mut self, wait: Duration) -> Self {
        self.wait_duration = Some(wait);
        self
    }

    /// The OPEN wait as a function of the attempt number. Exclusive with
    /// [`wait_duration_in_open_state`](Self::wait_duration_in_open_state).
    pub fn wait_interval_function_in_open_state(mut self, f: IntervalFunction) -> Self {
        self.wait_function = Some(f);
        self
    }

    /// At least 1, at most
    /// [`MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE`](CircuitBreakerConfig::MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE).
    pub fn permitted_number_of_calls_in_half_open_state(mut self, permitted: u32) -> Self {
        self.config.permitted_number_of_calls_in_half_open_state = permitted;
        self
    }

    /// COUNT_BASED or TIME_BASED.
    pub fn sliding_window_type(mut self, kind: SlidingWindowType) -> Self {
        self.config.sliding_window_type = kind;
        self
    }

    /// Outcomes (COUNT_BASED) or seconds (TIME_BASED), at least 1, at most
    /// [`MAX_SLIDING_WINDOW_SIZE`](CircuitBreakerConfig::MAX_SLIDING_WINDOW_SIZE).
    pub fn sliding_window_size(mut self, size: u32) -> Self {
        self.config.sliding_window_size = size;
        self
    }

    /// At least 1. Not clamped here; COUNT_BASED metrics clamp to the window size.
    pub fn minimum_number_of_calls(mut self, minimum: u32) -> Self {
        self.config.minimum_number_of_calls = minimum;
        self
    }

    /// resilience4j `slidingWindow(size, minimum, type)`: sets all three, clamping the
    /// minimum to the size for COUNT_BASED.
    pub fn sliding_window(self, size: u32, minimum: u32, kind: SlidingWindowType) -> Self {
        let minimum = match kind {
            SlidingWindowType::CountBased => minimum.min(size),
            SlidingWindowType::TimeBased => minimum,
        };
        self.sliding_window_size(size)
            .minimum_number_of_calls(minimum)
            .sliding_window_type(kind)
    }

    /// Zero (no limit) or at least 1 ms.
    pub fn max_wait_duration_in_half_open_state(mut self, wait: Duration) -> Self {
        self.config.max_wait_duration_in_half_open_state = wait;
        self
    }

    /// OPEN (default) or CLOSED.
    pub fn transition_to_state_after_wait_duration(mut self, state: State) -> Self {
        self.config.transition_to_state_after_wait_duration = state;
        self
    }

    /// See [`CircuitBreakerConfig::automatic_transition_from_open_to_half_open_enabled`].
    pub fn automatic_transition_from_open_to_half_open_enabled(mut self, enabled: bool) -> Self {
        self.config
            .automatic_transition_from_open_to_half_open_enabled = enabled;
        self
    }

    /// The state a new breaker starts in (any state).
    pub fn initial_state(mut self, state: State) -> Self {
        self.config.initial_state = state;
        self
    }

    /// Adds a classifier for errors of type `E`. Classifiers are tried in the order they
    /// were added; the first one whose type matches decides.
    pub fn classify_errors<E: Any>(
        mut self,
        classify: impl Fn(&E) -> Classification + Send + Sync + 'static,
    ) -> Self {
        self.config
            .error_classifiers
            .push(Arc::new(move |e: &dyn Any| {
                e.downcast_ref::<E>().map(&classify)
            }));
        self
    }

    /// Records errors of these kinds as failures, and other kinds (not ignored) as
    /// successes (resilience4j `recordExceptions`). Adds to the kinds already set.
    pub fn record_kinds<S: Into<String>>(mut self, kinds: impl IntoIterator<Item = S>) -> Self {
        self.config
            .record_kinds
            .extend(kinds.into_iter().map(Into::into));
        self
    }

    /// Ignores errors of these kinds (resilience4j `ignoreExceptions`). Adds to the kinds
    /// already set.
    pub fn ignore_kinds<S: Into<String>>(mut self, kinds: impl IntoIterator<Item = S>) -> Self {
        self.config
            .ignore_kinds
            .extend(kinds.into_iter().map(Into::into));
        self
    }

    /// Ignores every error of type `E` (resilience4j `ignoreExceptions(E.class)`).
    pub fn ignore_errors<E: Any>(self) -> Self {
        self.classify_errors::<E>(|_| Classification::Ignore)
    }

    /// Records a returned value of type `T` as a failure when `is_failure` says so
    /// (resilience4j `recordResult`).
    pub fn record_result_if<T: Any>(
        mut self,
        is_failure: impl Fn(&T) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.config
            .result_predicates
            .push(Arc::new(move |v: &dyn Any| {
                v.downcast_ref::<T>().is_some_and(&is_failure)
            }));
        self
    }

    /// Validates and returns the configuration.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first invalid setting.
    pub fn build(self) -> Result<CircuitBreakerConfig, ConfigError> {
        let mut config = self.config;
        match (self.wait_duration, self.wait_function) {
            (Some(_), Some(_)) => return Err(ConfigError::ConflictingWaitInOpenState),
            (Some(d), None) => config.wait_in_open_state = WaitInOpenState::Fixed(d),
            (None, Some(f)) => config.wait_in_open_state = WaitInOpenState::Function(f),
            (None, None) => {}
        }
        config.validate()?;
        Ok(config)
    }
}
