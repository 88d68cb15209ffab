//! Circuit breaker with resilience4j semantics (reference §1; resilience4j `af9e7c9`).
//!
//! A sans-IO state machine: it never sleeps, spawns or reads the system time. Time comes
//! from an injected [`Clock`] (pharm-core's `SystemClock` in production, [`ManualClock`](pharm_core::time::ManualClock)
//! in tests) —
//! or from the caller, who may pass its own reading to
//! [`try_acquire_at`](CircuitBreaker::try_acquire_at) — and the caller reports each call's
//! outcome and duration through the [`Permit`] it was given.
//!
//! ```
//! use std::time::Duration;
//! use pharm_core::time::ManualClock;
//! use pharm_shard::breaker::{CircuitBreaker, CircuitBreakerConfig, State};
//!
//! let clock = ManualClock::new();
//! let breaker = CircuitBreaker::new("pmp-api", CircuitBreakerConfig::pmp_api(), clock.clone());
//! for i in 0..10 {
//!     let permit = breaker.try_acquire().unwrap();
//!     if i % 2 == 0 {
//!         permit.on_failure(Duration::from_millis(20));
//!     } else {
//!         permit.on_success(Duration::from_millis(20));
//!     }
//! }
//! // 5 failures in 10 calls = 50 % >= 50 %: open for 30 s.
//! assert_eq!(breaker.state(), State::Open);
//! assert!(breaker.try_acquire().is_err());
//! clock.advance(Duration::from_secs(30));
//! assert!(breaker.try_acquire().is_err()); // exactly at the wait: still OPEN
//! clock.advance(Duration::from_nanos(1));
//! let probe = breaker.try_acquire().unwrap(); // strictly after: HALF_OPEN
//! assert_eq!(breaker.state(), State::HalfOpen);
//! drop(probe); // no outcome: the probe slot is released
//! ```
//!
//! # Semantics
//!
//! - **Windows.** COUNT_BASED keeps the last N outcomes (ring buffer, subtract on evict);
//!   TIME_BASED keeps N one-second buckets keyed by the clock's whole seconds. Rates are
//!   evaluated once the window holds the effective minimum number of calls:
//!   `min(minimum, size)` for COUNT_BASED, the configured minimum for TIME_BASED,
//!   `min(minimum, permitted)` in HALF_OPEN. Below it the rates are `None`
//!   (resilience4j's −1). A window also sums the reported call durations
//!   ([`Snapshot::total_duration`], [`Snapshot::average_duration`], resilience4j's
//!   `getTotalDuration` / `getAverageDuration`). Windows are allocated up front, so their
//!   sizes are bounded ([`CircuitBreakerConfig::MAX_SLIDING_WINDOW_SIZE`],
//!   [`CircuitBreakerConfig::MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE`]; the builder rejects
//!   more with a [`ConfigError`]).
//! - **Thresholds.** `failed·100/calls` and `slow·100/calls` in `f32`, exactly as
//!   resilience4j computes them; the breaker trips when a rate is `>=` its threshold. A
//!   call is slow when its duration is strictly longer than the slow-call threshold; a
//!   slow failure counts as both.
//! - **CLOSED** grants every call, records and evaluates each outcome; on a trip it
//!   publishes `FailureRateExceeded` / `SlowCallRateExceeded`, then goes OPEN. An idle
//!   breaker never transitions.
//! - **OPEN** keeps the tripping metrics, rejects and counts calls (`not_permitted`)
//!   until the clock is *strictly after* `entered + wait(attempt)`; the first
//!   [`try_acquire`](CircuitBreaker::try_acquire) after that moves to HALF_OPEN and takes
//!   its first permit. `attempt` is 1 after CLOSED and grows by one on each re-opening
//!   (HALF_OPEN → OPEN, FORCED_OPEN → OPEN, …), so an [`IntervalFunction`] can back off;
//!   [`attempts`](CircuitBreaker::attempts) and [`CallNotPermitted::attempts`] show it.
//!   [`transition_to_open_for`](CircuitBreaker::transition_to_open_for) and
//!   [`transition_to_open_until`](CircuitBreaker::transition_to_open_until) (resilience4j
//!   `transitionToOpenStateFor` / `transitionToOpenStateUntil`) open with a given wait
//!   instead of the configured one. Outcomes of calls still in flight are recorded without
//!   transitioning.
//! - **HALF_OPEN** starts a fresh COUNT_BASED window of `permitted` calls, grants that
//!   many permits and rejects (and counts) the rest. Once its minimum is recorded it goes
//!   OPEN if a threshold is reached, CLOSED otherwise. With a non-zero maximum wait it
//!   moves to `transition_to_state_after_wait_duration` (OPEN or CLOSED) once that time
//!   has elapsed (`>=`), whatever the probes did.
//! - **DISABLED** grants everything, records nothing, publishes only transitions and
//!   resets. **FORCED_OPEN** rejects everything (counted, but not published as events)
//!   and never leaves by itself. **METRICS_ONLY** grants everything, records and
//!   evaluates, publishes each rate-exceeded event once, never transitions.
//! - **Transitions** by hand follow resilience4j's legal-transition table (CLOSED ↛
//!   HALF_OPEN, METRICS_ONLY ↛ OPEN/HALF_OPEN) and build a fresh state object each time,
//!   even for a state to itself (which resets its metrics but publishes nothing).
//!   [`reset`](CircuitBreaker::reset) is a fresh CLOSED plus a `Reset` event.
//! - **Classification.** [`Permit::on_error`] runs the configured classifiers:
//!   [`Classification::Ignore`] releases the permit and publishes `Ignored`;
//!   [`Classification::Record`] (the default) records a failure;
//!   [`Classification::Success`] records a success. [`Permit::on_result`] records a
//!   success unless a result predicate marks the value as a failure.
//!
//! # Time-driven transitions without a scheduler
//!
//! resilience4j runs two transitions on a scheduler: HALF_OPEN's maximum wait, and OPEN
//! → HALF_OPEN when `automaticTransitionFromOpenToHalfOpenEnabled` is set. Here they are
//! applied when the breaker is next observed — by any method, including
//! [`state`](CircuitBreaker::state) and [`metrics`](CircuitBreaker::metrics) — as if the
//! scheduler had fired at that moment; the new state's timers start then. A scheduler
//! fires at exactly its delay, so both use `>=`: with the automatic transition, a breaker
//! observed at exactly the wait is already HALF_OPEN, whereas without it only a
//! permission request strictly after the wait moves it (resilience4j's `isAfter`).
//!
//! # Permits cannot leak
//!
//! resilience4j hands out a boolean; a HALF_OPEN permit whose call never reports back
//! (cancelled future, lost task) is gone for good unless the caller remembers
//! `releasePermission()`, and with the default maximum wait of 0 the breaker then stays
//! HALF_OPEN forever. Here [`try_acquire`](CircuitBreaker::try_acquire) returns a
//! [`Permit`] guard: resolving it (`on_success`, `on_error`, …) records the outcome, and
//! dropping it unresolved (or calling [`Permit::release`]) is resilience4j's
//! `releasePermission()`: the HALF_OPEN slot goes back. Unlike resilience4j, a slot only
//! goes back to the HALF_OPEN state object that granted it and never above the
//! configured number, so late releases cannot inflate a later HALF_OPEN's probes.
//! Outcomes, as in resilience4j, are recorded in whatever state is current when they
//! arrive.
//!
//! # Events and threads
//!
//! All methods take `&self`; the state lives behind a `std::sync::Mutex` held only for
//! the state update (a permission request in CLOSED, DISABLED or METRICS_ONLY does not
//! take it: it reads an atomic mirror of the state). Classifiers run before the lock is
//! taken and subscribers after it is released, so a subscriber may call back into the
//! breaker. Events of one operation are delivered in order; events of concurrent
//! operations may interleave. A panicking subscriber panics the caller after the state
//! has been updated.

mod config;
mod event;
mod lazy_now;
mod presets;
mod state;
mod window;

pub(crate) use config::ConfigData;
pub use config::{
    CircuitBreakerConfig, CircuitBreakerConfigBuilder, Classification, ConfigError,
    IntervalFunction, SlidingWindowType, WaitInOpenState,
};
pub use event::{Event, SubscriberId};
pub use state::{IllegalStateTransition, State};
pub use window::Snapshot;

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use event::EventBuf;
use lazy_now::LazyNow;
use pharm_core::error_code::ErrorCode;
use pharm_core::time::{Clock, duration_to_nanos};
use state::{Acquire, Core, OpenWait};

type Subscriber = Arc<dyn Fn(&Event) + Send + Sync>;

/// A call was rejected (resilience4j `CallNotPermittedException`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("CircuitBreaker '{name}' is {state} and does not permit further calls")]
pub struct CallNotPermitted {
    name: Arc<str>,
    state: State,
    retry_after: Option<Duration>,
    attempts: u32,
}

impl CallNotPermitted {
    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The state that rejected the call: OPEN, HALF_OPEN (no permit left) or
    /// FORCED_OPEN.
    pub fn state(&self) -> State {
        self.state
    }

    /// In OPEN, how long until a call can be let through (it is let through strictly
    /// after this); `None` in the other states.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The rejecting state's attempt number (see [`CircuitBreaker::attempts`]): in OPEN,
    /// the number the wait behind [`retry_after`](Self::retry_after) was computed from.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// A circuit breaker; see the [module documentation](self) for the semantics.
pub struct CircuitBreaker {
    name: Arc<str>,
    config: CircuitBreakerConfig,
    clock: Box<dyn Clock>,
    core: Mutex<Core>,
    /// The state, mirrored from `core` under its lock after every operation, so that a
    /// permission request in a state that always grants without a HALF_OPEN slot
    /// (CLOSED, DISABLED, METRICS_ONLY — none has a time-driven transition) needs no
    /// lock. Such a request is linearized at this load, exactly as a locked one would be
    /// before a concurrent transition.
    fast_state: AtomicU8,
    has_subscribers: AtomicBool,
    subscribers: RwLock<Arc<Vec<(SubscriberId, Subscriber)>>>,
    next_subscriber: AtomicU64,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("state", &self.lock().state())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl CircuitBreaker {
    /// A breaker in the configured initial state, reading time from `clock`.
    pub fn new(
        name: impl Into<Arc<str>>,
        config: CircuitBreakerConfig,
        clock: impl Clock + 'static,
    ) -> Self {
        let clock: Box<dyn Clock> = Box::new(clock);
        let core = Core::new(&config, &mut LazyNow::new(clock.as_ref()));
        Self {
            name: name.into(),
            config,
            clock,
            fast_state: AtomicU8::new(state_code(core.state())),
            core: Mutex::new(core),
            has_subscribers: AtomicBool::new(false),
            subscribers: RwLock::new(Arc::new(Vec::new())),
            next_subscriber: AtomicU64::new(0),
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration.
    pub fn config(&self) -> &CircuitBreakerConfig {
        &self.config
    }

    /// The injected clock's current time, for timing calls consistently with the
    /// breaker (`permit.on_success(breaker.now() - start)`).
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    /// Asks to make one call (resilience4j `tryAcquirePermission`).
    ///
    /// # Errors
    /// [`CallNotPermitted`] when OPEN (until strictly after the wait), FORCED_OPEN, or
    /// HALF_OPEN with every permitted call taken; the rejection is counted in
    /// [`Snapshot::not_permitted`].
    pub fn try_acquire(&self) -> Result<Permit<'_>, CallNotPermitted> {
        match self.free_permit() {
            Some(permit) => Ok(permit),
            None => self.acquire_locked(None),
        }
    }

    /// [`try_acquire`](Self::try_acquire) at `now`, a reading the caller took from its own
    /// clock instead of the breaker reading the injected one. `now` is a time since the
    /// injected clock's epoch (the same timeline as [`now`](Self::now)); an earlier reading
    /// than one the breaker has seen is tolerated as for a clock set backwards (a
    /// TIME_BASED window does not move; the OPEN wait is measured against it).
    ///
    /// Only this permission request uses `now`; outcomes reported through the permit are
    /// recorded at the injected clock's time, as before.
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire).
    pub fn try_acquire_at(&self, now: Duration) -> Result<Permit<'_>, CallNotPermitted> {
        match self.free_permit() {
            Some(permit) => Ok(permit),
            None => self.acquire_locked(Some(now)),
        }
    }

    /// The lock-free grant of the states that always grant without a HALF_OPEN slot.
    #[inline]
    fn free_permit(&self) -> Option<Permit<'_>> {
        (self.fast_state.load(Ordering::Acquire) == FREE_STATE).then_some(Permit {
            breaker: self,
            // No slot, so the generation is never used.
            generation: 0,
            slot: false,
            resolved: false,
        })
    }

    /// A permission request under the lock, at the caller's time `at` if given.
    fn acquire_locked(&self, at: Option<Duration>) -> Result<Permit<'_>, CallNotPermitted> {
        let acquired = self.with_core_at(at, |core, config, now, events| {
            core.try_acquire(config, now, events)
        });
        match acquired {
            Acquire::Granted { generation, slot } => Ok(Permit {
                breaker: self,
                generation,
                slot,
                resolved: false,
            }),
            Acquire::Rejected {
                state,
                retry_after,
                attempts,
            } => Err(CallNotPermitted {
                name: Arc::clone(&self.name),
                state,
                retry_after,
                attempts,
            }),
        }
    }

    /// The current state, after applying any time-driven transition that is due.
    pub fn state(&self) -> State {
        self.with_core(|core, config, now, events| core.current_state(config, now, events))
    }

    /// The current metrics (moves a TIME_BASED window to the current second).
    pub fn metrics(&self) -> Snapshot {
        self.with_core(|core, config, now, events| core.snapshot(config, now, events))
    }

    /// The attempt number behind the OPEN wait (resilience4j's `attempts()`, after any
    /// due time-driven transition): 0 in CLOSED, DISABLED and METRICS_ONLY; 1 for the
    /// first OPEN after CLOSED, one more on every re-opening without passing through
    /// CLOSED (HALF_OPEN → OPEN, a manual OPEN or FORCED_OPEN); HALF_OPEN keeps the
    /// number of the OPEN it came from. It is the argument the
    /// [`IntervalFunction`] of a growing wait was (OPEN) or will next be called with
    /// (HALF_OPEN: plus one).
    pub fn attempts(&self) -> u32 {
        self.with_core(|core, config, now, events| {
            core.advance_time(config, now, events);
            core.attempts()
        })
    }

    /// resilience4j `transitionToClosedState`: fresh CLOSED metrics.
    ///
    /// # Errors
    /// [`IllegalStateTransition`] if resilience4j forbids the transition.
    pub fn transition_to_closed(&self) -> Result<(), IllegalStateTransition> {
        self.transition_to(State::Closed)
    }

    /// resilience4j `transitionToOpenState`: OPEN with attempt + 1, keeping the metrics.
    ///
    /// # Errors
    /// [`IllegalStateTransition`] from METRICS_ONLY.
    pub fn transition_to_open(&self) -> Result<(), IllegalStateTransition> {
        self.transition_to(State::Open)
    }

    /// resilience4j `transitionToOpenStateFor(waitDuration)`: as
    /// [`transition_to_open`](Self::transition_to_open) (attempt + 1, metrics kept, a
    /// fresh OPEN even from OPEN), but OPEN lets a call through to HALF_OPEN strictly
    /// after `wait` from now instead of after the configured wait. Later openings wait as
    /// configured again. With the automatic OPEN → HALF_OPEN transition enabled, it
    /// happens once `wait` has elapsed. A `Retry-After` answer maps to this.
    ///
    /// # Errors
    /// [`IllegalStateTransition`] from METRICS_ONLY.
    pub fn transition_to_open_for(&self, wait: Duration) -> Result<(), IllegalStateTransition> {
        self.transition_with(State::Open, OpenWait::For(wait))
    }

    /// resilience4j `transitionToOpenStateUntil(waitUntil)`: as
    /// [`transition_to_open_for`](Self::transition_to_open_for), but OPEN lasts until
    /// `until`, a time since the injected clock's epoch (the timeline of
    /// [`now`](Self::now)): a call is let through strictly after it. An instant already
    /// past lets the next call through.
    ///
    /// # Errors
    /// [`IllegalStateTransition`] from METRICS_ONLY.
    pub fn transition_to_open_until(&self, until: Duration) -> Result<(), IllegalStateTransition> {
        self.transition_with(State::Open, OpenWait::Until(duration_to_nanos(until)))
    }

    /// resilience4j `transitionToHalfOpenState`: fresh probes and window.
    ///
    /// # Errors
    /// [`IllegalStateTransition`] from CLOSED or METRICS_ONLY.
    pub fn transition_to_half_open(&self) -> Result<(), IllegalStateTransition> {
        self.transition_to(State::HalfOpen)
    }

    /// resilience4j `transitionToDisabledState`.
    ///
    /// # Errors
    /// Never in practice (every state may go to DISABLED); kept for uniformity.
    pub fn transition_to_disabled(&self) -> Result<(), IllegalStateTransition> {
        self.transition_to(State::Disabled)
    }

    /// resilience4j `transitionToForcedOpenState`: attempt + 1.
    ///
    /// # Errors
    /// Never in practice (every state may go to FORCED_OPEN); kept for uniformity.
    pub fn transition_to_forced_open(&self) -> Result<(), IllegalStateTransition> {
        self.transition_to(State::ForcedOpen)
    }

    /// resilience4j `transitionToMetricsOnlyState`: fresh CLOSED-style metrics.
    ///
    /// # Errors
    /// Never in practice (every state may go to METRICS_ONLY); kept for uniformity.
    pub fn transition_to_metrics_only(&self) -> Result<(), IllegalStateTransition> {
        self.transition_to(State::MetricsOnly)
    }

    /// Moves to `to` if resilience4j allows `current → to`.
    ///
    /// # Errors
    /// [`IllegalStateTransition`] for CLOSED → HALF_OPEN, METRICS_ONLY → OPEN and
    /// METRICS_ONLY → HALF_OPEN.
    pub fn transition_to(&self, to: State) -> Result<(), IllegalStateTransition> {
        self.transition_with(to, OpenWait::Configured)
    }

    fn transition_with(&self, to: State, wait: OpenWait) -> Result<(), IllegalStateTransition> {
        self.with_core(|core, config, now, events| core.transition(config, to, wait, now, events))
            .map_err(|from| IllegalStateTransition {
                name: Arc::clone(&self.name),
                from,
                to,
            })
    }

    /// resilience4j `reset()`: a fresh CLOSED state; publishes a transition (unless
    /// already CLOSED) and a `Reset` event.
    pub fn reset(&self) {
        self.with_core(|core, config, now, events| core.reset(config, now, events));
    }

    /// Registers `subscriber` for every event published from now on.
    pub fn subscribe(&self, subscriber: impl Fn(&Event) + Send + Sync + 'static) -> SubscriberId {
        let id = SubscriberId(self.next_subscriber.fetch_add(1, Ordering::Relaxed));
        let mut subs = self
            .subscribers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut next = Vec::clone(&subs);
        next.push((id, Arc::new(subscriber)));
        *subs = Arc::new(next);
        self.has_subscribers.store(true, Ordering::Release);
        id
    }

    /// Removes a subscriber; false if it was not registered.
    pub fn unsubscribe(&self, id: SubscriberId) -> bool {
        let mut subs = self
            .subscribers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let before = subs.len();
        let next: Vec<_> = subs.iter().filter(|(i, _)| *i != id).cloned().collect();
        let removed = next.len() != before;
        self.has_subscribers
            .store(!next.is_empty(), Ordering::Release);
        *subs = Arc::new(next);
        removed
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // The state is only mutated by this module's code, which does not panic midway;
        // a poisoned lock (a user interval function that panicked) keeps the last state.
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one state-machine operation under the lock, then delivers its events.
    fn with_core<R>(
        &self,
        op: impl FnOnce(&mut Core, &CircuitBreakerConfig, &mut LazyNow<'_>, &mut EventBuf) -> R,
    ) -> R {
        self.with_core_at(None, op)
    }

    /// [`with_core`](Self::with_core) at the caller's time `at`, if given, instead of the
    /// injected clock's.
    fn with_core_at<R>(
        &self,
        at: Option<Duration>,
        op: impl FnOnce(&mut Core, &CircuitBreakerConfig, &mut LazyNow<'_>, &mut EventBuf) -> R,
    ) -> R {
        let mut events = EventBuf::new(self.has_subscribers.load(Ordering::Acquire));
        let result = {
            let mut core = self.lock();
            let clock = self.clock.as_ref();
            let mut now = at.map_or_else(|| LazyNow::new(clock), |t| LazyNow::at(clock, t));
            let result = op(&mut core, &self.config, &mut now, &mut events);
            let code = state_code(core.state());
            if self.fast_state.load(Ordering::Relaxed) != code {
                self.fast_state.store(code, Ordering::Release);
            }
            result
        };
        self.deliver(events);
        result
    }

    fn deliver(&self, events: EventBuf) {
        let events = events.into_events();
        if events.is_empty() {
            return;
        }
        let subs = Arc::clone(
            &self
                .subscribers
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for event in &events {
            for (_, subscriber) in subs.iter() {
                subscriber(event);
            }
        }
    }

    fn record(&self, failed: bool, duration: Duration) {
        self.with_core(|core, config, now, events| {
            core.on_recorded(config, failed, duration, now, events);
        });
    }

    fn ignore(&self, generation: u64, slot: bool, duration: Duration) {
        self.with_core(|core, config, now, events| {
            core.on_ignored(config, (generation, slot), duration, now, events);
        });
    }

    fn release(&self, generation: u64, slot: bool) {
        // A permit without a HALF_OPEN slot has nothing to give back: no lock.
        if slot {
            self.lock().release(&self.config, generation, slot);
        }
    }
}

/// `fast_state` value of the states whose permission requests take the lock-free path.
const FREE_STATE: u8 = 0;

fn state_code(state: State) -> u8 {
    match state {
        State::Closed | State::Disabled | State::MetricsOnly => FREE_STATE,
        State::Open => 1,
        State::HalfOpen => 2,
        State::ForcedOpen => 3,
    }
}

/// Permission for one call, returned by [`CircuitBreaker::try_acquire`].
///
/// Resolve it with exactly one outcome method (each consumes it). Dropping it
/// unresolved — an early return, a cancelled future, a panic — releases it like
/// [`release`](Self::release): the HALF_OPEN slot it holds, if any, goes back to the
/// HALF_OPEN state that granted it (resilience4j `releasePermission`).
#[must_use = "a permit dropped without an outcome is released and records nothing"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    slot: bool,
    resolved: bool,
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name)
            .field("half_open_slot", &self.slot)
            .finish_non_exhaustive()
    }
}

impl Permit<'_> {
    /// Whether this permit holds one of HALF_OPEN's permitted calls.
    pub fn holds_half_open_slot(&self) -> bool {
        self.slot
    }

    /// The call succeeded (resilience4j `onSuccess`).
    pub fn on_success(mut self, duration: Duration) {
        self.resolved = true;
        self.breaker.record(false, duration);
    }

    /// The call failed, without classification (resilience4j `onError` with an
    /// exception the record predicate matches).
    pub fn on_failure(mut self, duration: Duration) {
        self.resolved = true;
        self.breaker.record(true, duration);
    }

    /// The call failed with `error`, classified by the configuration's classifiers
    /// (before the lock is taken): recorded as a failure, ignored, or recorded as a
    /// success.
    pub fn on_error<E: Any>(self, duration: Duration, error: &E) {
        let classification = self.breaker.config.classify_error_dyn(error);
        self.resolve(duration, classification);
    }

    /// The call failed with an error of `kind` (a string such as an [`ErrorCode::id`]),
    /// classified by the configuration's data-only kinds
    /// ([`CircuitBreakerConfig::classify_kind`]).
    pub fn on_error_kind(self, duration: Duration, kind: &str) {
        let classification = self.breaker.config.classify_kind(kind);
        self.resolve(duration, classification);
    }

    /// The call failed with a coded error: [`on_error_kind`](Self::on_error_kind) with its
    /// stable id.
    pub fn on_coded_error<E: ErrorCode + ?Sized>(self, duration: Duration, error: &E) {
        self.on_error_kind(duration, error.id());
    }

    fn resolve(self, duration: Duration, classification: Classification) {
        match classification {
            Classification::Record => self.on_failure(duration),
            Classification::Success => self.on_success(duration),
            Classification::Ignore => self.on_ignored(duration),
        }
    }

    /// The call's error is ignored: nothing is recorded, the permit is released and an
    /// [`Event::Ignored`] is published.
    pub fn on_ignored(mut self, duration: Duration) {
        self.resolved = true;
        self.breaker.ignore(self.generation, self.slot, duration);
    }

    /// The call returned `value`: a failure if a result predicate says so (resilience4j
    /// `recordResult`), a success otherwise.
    pub fn on_result<T: Any>(self, duration: Duration, value: &T) {
        if self.breaker.config.is_result_failure(value) {
            self.on_failure(duration);
        } else {
            self.on_success(duration);
        }
    }

    /// [`on_result`](Self::on_result) for `Ok`, [`on_error`](Self::on_error) for `Err`.
    pub fn on_outcome<T: Any, E: Any>(self, duration: Duration, outcome: &Result<T, E>) {
        match outcome {
            Ok(value) => self.on_result(duration, value),
            Err(error) => self.on_error(duration, error),
        }
    }

    /// Gives the permit back without an outcome (resilience4j `releasePermission`, e.g.
    /// the call was cancelled before it reached the backend). Same as dropping it.
    pub fn release(self) {
        drop(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.resolved {
            self.breaker.release(self.generation, self.slot);
        }
    }
}
