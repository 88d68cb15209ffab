//! The states and the pure state machine (resilience4j `CircuitBreakerStateMachine`).
//!
//! [`Core`] holds no clock and no lock: every operation receives the time through a
//! [`LazyNow`] over the injected clock and pushes events into an [`EventBuf`]; the
//! [`CircuitBreaker`](super::CircuitBreaker) wraps it in a mutex.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::config::CircuitBreakerConfig;
use super::event::{Event, EventBuf};
use super::lazy_now::LazyNow;
use super::window::{Metrics, Outcome, Snapshot, Verdict};
use pharm_core::time::duration_to_nanos;

/// resilience4j `CircuitBreaker.State`; serialized as its resilience4j name (`CLOSED`,
/// `HALF_OPEN`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// Calls flow; outcomes are recorded and checked against the thresholds.
    Closed,
    /// Calls are rejected until the wait has elapsed.
    Open,
    /// A limited number of probe calls decide between CLOSED and OPEN.
    HalfOpen,
    /// Calls flow; nothing is recorded, no events except transitions, no transitions.
    Disabled,
    /// Every call is rejected until the state is changed by hand.
    ForcedOpen,
    /// Calls flow and are recorded; thresholds publish events but never trip.
    MetricsOnly,
}

impl State {
    /// resilience4j `State.allowPublish`: DISABLED and FORCED_OPEN publish only
    /// transitions and resets.
    pub fn allows_publish(self) -> bool {
        !matches!(self, Self::Disabled | Self::ForcedOpen)
    }

    /// Whether `self → to` is in resilience4j's `StateTransition` enum. Every state may
    /// go to itself; CLOSED may not go to HALF_OPEN; METRICS_ONLY may go only to CLOSED,
    /// FORCED_OPEN, DISABLED or itself. Everything else is allowed.
    pub fn can_transition_to(self, to: State) -> bool {
        match (self, to) {
            (a, b) if a == b => true,
            (Self::Closed, Self::HalfOpen) => false,
            (Self::MetricsOnly, Self::Open | Self::HalfOpen) => false,
            _ => true,
        }
    }

    /// The resilience4j name (`CLOSED`, `HALF_OPEN`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "CLOSED",
            Self::Open => "OPEN",
            Self::HalfOpen => "HALF_OPEN",
            Self::Disabled => "DISABLED",
            Self::ForcedOpen => "FORCED_OPEN",
            Self::MetricsOnly => "METRICS_ONLY",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transition resilience4j's `StateTransition` enum does not allow (its
/// `IllegalStateTransitionException`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("CircuitBreaker '{name}' tried an illegal state transition from {from} to {to}")]
pub struct IllegalStateTransition {
    /// The breaker's name.
    pub name: Arc<str>,
    /// The current state.
    pub from: State,
    /// The requested state.
    pub to: State,
}

/// State-specific data.
#[derive(Clone, Copy, Debug)]
enum Phase {
    Closed,
    Open {
        attempts: u32,
        /// Clock nanoseconds; HALF_OPEN is allowed strictly after this instant.
        retry_after: u64,
    },
    HalfOpen {
        attempts: u32,
        permits_left: u32,
        entered_at: u64,
    },
    Disabled,
    ForcedOpen {
        attempts: u32,
    },
    MetricsOnly {
        failure_published: bool,
        slow_published: bool,
    },
}

/// The outcome of a permission request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acquire {
    Granted {
        /// The state object that granted it.
        generation: u64,
        /// Whether it took one of HALF_OPEN's permitted calls.
        slot: bool,
    },
    Rejected {
        state: State,
        retry_after: Option<Duration>,
        attempts: u32,
    },
}

/// How long a new OPEN state waits before it lets a call through to HALF_OPEN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpenWait {
    /// The configured wait for the attempt number (resilience4j `transitionToOpenState`).
    Configured,
    /// This long from now (resilience4j `transitionToOpenStateFor`).
    For(Duration),
    /// Until this clock reading in nanoseconds (resilience4j
    /// `transitionToOpenStateUntil`).
    Until(u64),
}

/// The state machine: the current state, its metrics object and a generation number
/// that changes whenever a new state object is built (resilience4j builds a new state
/// object on every `transitionTo*`, even to the same state).
#[derive(Debug)]
pub(crate) struct Core {
    phase: Phase,
    metrics: Metrics,
    generation: u64,
}

impl Core {
    pub(crate) fn new(config: &CircuitBreakerConfig, now: &mut LazyNow<'_>) -> Self {
        let mut core = Self {
            phase: Phase::Closed,
            metrics: Metrics::for_closed(config, now),
            generation: 0,
        };
        if config.initial_state != State::Closed {
            let mut silent = EventBuf::new(false);
            core.enter(config, config.initial_state, now, &mut silent);
        }
        core
    }

    pub(crate) fn state(&self) -> State {
        match self.phase {
            Phase::Closed => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen { .. } => State::HalfOpen,
            Phase::Disabled => State::Disabled,
            Phase::ForcedOpen { .. } => State::ForcedOpen,
            Phase::MetricsOnly { .. } => State::MetricsOnly,
        }
    }

    /// resilience4j `attempts()`: 0 in CLOSED, DISABLED and METRICS_ONLY.
    pub(crate) fn attempts(&self) -> u32 {
        match self.phase {
            Phase::Open { attempts, .. }
            | Phase::HalfOpen { attempts, .. }
            | Phase::ForcedOpen { attempts } => attempts,
            Phase::Closed | Phase::Disabled | Phase::MetricsOnly { .. } => 0,
        }
    }

    /// Builds a new state object for `to` (resilience4j `transitionTo*`), publishing a
    /// transition event unless `to` is the current state. OPEN waits as configured.
    fn enter(
        &mut self,
        config: &CircuitBreakerConfig,
        to: State,
        now: &mut LazyNow<'_>,
        events: &mut EventBuf,
    ) {
        self.enter_with(config, to, OpenWait::Configured, now, events);
    }

    /// [`enter`](Self::enter) with the OPEN wait given by `wait` (ignored for the other
    /// states).
    fn enter_with(
        &mut self,
        config: &CircuitBreakerConfig,
        to: State,
        wait: OpenWait,
        now: &mut LazyNow<'_>,
        events: &mut EventBuf,
    ) {
        let from = self.state();
        let attempts = self.attempts();
        match to {
            State::Closed => {
                self.metrics = Metrics::for_closed(config, now);
                self.phase = Phase::Closed;
            }
            State::Open => {
                let attempts = attempts.saturating_add(1);
                let retry_after = match wait {
                    OpenWait::Configured => now.get().saturating_add(duration_to_nanos(
                        config.wait_in_open_state.for_attempt(attempts),
                    )),
                    OpenWait::For(d) => now.get().saturating_add(duration_to_nanos(d)),
                    OpenWait::Until(t) => t,
                };
                // OPEN keeps the previous state's metrics object.
                self.phase = Phase::Open {
                    attempts,
                    retry_after,
                };
            }
            State::HalfOpen => {
                self.metrics = Metrics::for_half_open(config);
                self.phase = Phase::HalfOpen {
                    attempts,
                    permits_left: config.permitted_number_of_calls_in_half_open_state,
                    entered_at: now.get(),
                };
            }
            State::Disabled => {
                self.metrics = Metrics::off();
                self.phase = Phase::Disabled;
            }
            State::ForcedOpen => {
                self.metrics = Metrics::off();
                self.phase = Phase::ForcedOpen {
                    attempts: attempts.saturating_add(1),
                };
            }
            State::MetricsOnly => {
                self.metrics = Metrics::for_closed(config, now);
                self.phase = Phase::MetricsOnly {
                    failure_published: false,
                    slow_published: false,
                };
            }
        }
        self.generation = self.generation.wrapping_add(1);
        if from != to {
            events.publish(to, Event::StateTransition { from, to });
        }
    }

    /// Applies the transitions resilience4j runs on a scheduler, at observation time:
    /// HALF_OPEN → `transition_to_state_after_wait_duration` once
    /// `max_wait_duration_in_half_open_state` (non-zero) has elapsed (`>=`), and, with
    /// the automatic transition enabled, OPEN → HALF_OPEN once the wait has elapsed
    /// (`>=`, the scheduler firing at exactly the wait). The new state's timers start at
    /// the observation time.
    pub(crate) fn advance_time(
        &mut self,
        config: &CircuitBreakerConfig,
        now: &mut LazyNow<'_>,
        events: &mut EventBuf,
    ) {
        // Each step starts a timer of at least 1 ms or moves to a state without timers,
        // so a short bounded loop reaches a fixed point (a custom interval function
        // returning zero is the only way to chain more than one step).
        for _ in 0..4 {
            let next = match self.phase {
                Phase::Open { retry_after, .. }
                    if config.automatic_transition_from_open_to_half_open_enabled
                        && now.get() >= retry_after =>
                {
                    State::HalfOpen
                }
                Phase::HalfOpen { entered_at, .. } => {
                    let max_wait = duration_to_nanos(config.max_wait_duration_in_half_open_state);
                    if max_wait > 0 && now.get().saturating_sub(entered_at) >= max_wait {
                        config.transition_to_state_after_wait_duration
                    } else {
                        return;
                    }
                }
                _ => return,
            };
            self.enter(config, next, now, events);
        }
    }

    /// resilience4j `tryAcquirePermission`.
    pub(crate) fn try_acquire(
        &mut self,
        config: &CircuitBreakerConfig,
        now: &mut LazyNow<'_>,
        events: &mut EventBuf,
    ) -> Acquire {
        self.advance_time(config, now, events);
        match self.phase {
            Phase::Closed | Phase::Disabled | Phase::MetricsOnly { .. } => Acquire::Granted {
                generation: self.generation,
                slot: false,
            },
            Phase::Open { retry_after, .. } => {
                let t = now.get();
                // Strictly after: at exactly the wait the breaker is still OPEN.
                if t > retry_after {
                    self.enter(config, State::HalfOpen, now, events);
                    self.acquire_half_open(events)
                } else {
                    self.reject(events, Some(Duration::from_nanos(retry_after - t)))
                }
            }
            Phase::HalfOpen { .. } => self.acquire_half_open(events),
            Phase::ForcedOpen { .. } => self.reject(events, None),
        }
    }

    fn acquire_half_open(&mut self, events: &mut EventBuf) -> Acquire {
        if let Phase::HalfOpen { permits_left, .. } = &mut self.phase
            && *permits_left > 0
        {
            *permits_left -= 1;
            return Acquire::Granted {
                generation: self.generation,
                slot: true,
            };
        }
        self.reject(events, None)
    }

    fn reject(&mut self, events: &mut EventBuf, retry_after: Option<Duration>) -> Acquire {
        self.metrics.not_permitted += 1;
        let state = self.state();
        events.publish(state, Event::NotPermitted);
        Acquire::Rejected {
            state,
            retry_after,
            attempts: self.attempts(),
        }
    }

    /// resilience4j `releasePermission`, limited to the state object that granted the
    /// permit: a HALF_OPEN slot goes back to the HALF_OPEN state that handed it out, never
    /// to a later one, and never above the configured number.
    pub(crate) fn release(&mut self, config: &CircuitBreakerConfig, generation: u64, slot: bool) {
        if !slot || generation != self.generation {
            return;
        }
        if let Phase::HalfOpen { permits_left, .. } = &mut self.phase
            && *permits_left < config.permitted_number_of_calls_in_half_open_state
        {
            *permits_left += 1;
        }
    }

    /// An ignored error: release the permit, publish `Ignored`, record nothing.
    pub(crate) fn on_ignored(
        &mut self,
        config: &CircuitBreakerConfig,
        grant: (u64, bool),
        duration: Duration,
        now: &mut LazyNow<'_>,
        events: &mut EventBuf,
    ) {
        self.advance_time(config, now, events);
        self.release(config, grant.0, grant.1);
        events.publish(self.state(), Event::Ignored { duration });
    }

    /// A recorded outcome (resilience4j `onSuccess` / `onError` after classification).
    /// Like resilience4j, it goes to whatever state is current, whichever state granted
    /// the permit: CLOSED and METRICS_ONLY record and evaluate, OPEN records into the
    /// metrics it kept without transitioning, HALF_OPEN records and decides once its
    /// minimum is reached, DISABLED and FORCED_OPEN record nothing.
    pub(crate) fn on_recorded(
        &mut self,
        config: &CircuitBreakerConfig,
        failed: bool,
        duration: Duration,
        now: &mut LazyNow<'_>,
        events: &mut EventBuf,
    ) {
        self.advance_time(config, now, events);
        let state = self.state();
        events.publish(
            state,
            if failed {
                Event::Error { duration }
            } else {
                Event::Success { duration }
            },
        );
        let outcome = Outcome {
            failed,
            // Strictly longer than the threshold.
            slow: duration > config.slow_call_duration_threshold,
        };
        let nanos = duration_to_nanos(duration);
        match self.phase {
            Phase::Closed => {
                self.metrics.record(outcome, nanos, now);
                if let Verdict::Exceeded {
                    failure_rate,
                    slow_call_rate,
                } = self.metrics.evaluate(config)
                {
                    publish_exceeded(events, state, failure_rate, slow_call_rate);
                    self.enter(config, State::Open, now, events);
                }
            }
            Phase::Open { .. } => {
                self.metrics.record(outcome, nanos, now);
            }
            Phase::HalfOpen { .. } => {
                self.metrics.record(outcome, nanos, now);
                match self.metrics.evaluate(config) {
                    Verdict::Exceeded { .. } => self.enter(config, State::Open, now, events),
                    Verdict::BelowThresholds => self.enter(config, State::Closed, now, events),
                    Verdict::BelowMinimum => {}
                }
            }
            Phase::MetricsOnly {
                failure_published,
                slow_published,
            } => {
                self.metrics.record(outcome, nanos, now);
                if let Verdict::Exceeded {
                    failure_rate,
                    slow_call_rate,
                } = self.metrics.evaluate(config)
                {
                    // Each event at most once per METRICS_ONLY state object.
                    let failure_rate = failure_rate.filter(|_| !failure_published);
                    let slow_call_rate = slow_call_rate.filter(|_| !slow_published);
                    publish_exceeded(events, state, failure_rate, slow_call_rate);
                    self.phase = Phase::MetricsOnly {
                        failure_published: failure_published || failure_rate.is_some(),
                        slow_published: slow_published || slow_call_rate.is_some(),
                    };
                }
            }
            Phase::Disabled | Phase::ForcedOpen { .. } => {}
        }
    }

    /// A manual transition (`transitionTo*`), checked against resilience4j's legal
    /// transitions; `wait` is the OPEN wait when `to` is OPEN. Returns the current state
    /// on refusal.
    pub(crate) fn transition(
        &mut self,
        config: &CircuitBreakerConfig,
        to: State,
        wait: OpenWait,
        now: &mut LazyNow<'_>,
        events: &mut EventBuf,
    ) -> Result<(), State> {
        self.advance_time(config, now, events);
        let from = self.state();
        if !from.can_transition_to(to) {
            return Err(from);
        }
        self.enter_with(config, to, wait, now, events);
        Ok(())
    }

    /// resilience4j `reset()`: a fresh CLOSED state, a transition event if the state was
    /// not CLOSED, then a reset event.
    pub(crate) fn reset(
        &mut self,
        config: &CircuitBreakerConfig,
        now: &mut LazyNow<'_>,
        events: &mut EventBuf,
    ) {
        self.advance_time(config, now, events);
        // `enter` builds a fresh CLOSED state and publishes the transition if needed.
        self.enter(config, State::Closed, now, events);
        events.publish(State::Closed, Event::Reset);
    }

    pub(crate) fn current_state(
        &mut self,
        config: &CircuitBreakerConfig,
        now: &mut LazyNow<'_>,
        events: &mut EventBuf,
    ) -> State {
        self.advance_time(config, now, events);
        self.state()
    }

    pub(crate) fn snapshot(
        &mut self,
        config: &CircuitBreakerConfig,
        now: &mut LazyNow<'_>,
        events: &mut EventBuf,
    ) -> Snapshot {
        self.advance_time(config, now, events);
        let totals = self.metrics.totals(now);
        Snapshot::new(self.state(), &self.metrics, &totals)
    }
}

fn publish_exceeded(
    events: &mut EventBuf,
    state: State,
    failure_rate: Option<f32>,
    slow_call_rate: Option<f32>,
) {
    if let Some(failure_rate) = failure_rate {
        events.publish(state, Event::FailureRateExceeded { failure_rate });
    }
    if let Some(slow_call_rate) = slow_call_rate {
        events.publish(state, Event::SlowCallRateExceeded { slow_call_rate });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [State; 6] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::Disabled,
        State::ForcedOpen,
        State::MetricsOnly,
    ];

    #[test]
    fn legal_transitions_match_resilience4j() {
        // resilience4j CircuitBreaker.StateTransition has 33 entries (36 pairs minus
        // CLOSED→HALF_OPEN, METRICS_ONLY→OPEN and METRICS_ONLY→HALF_OPEN).
        let legal = ALL
            .iter()
            .flat_map(|a| ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_transition_to(*b))
            .count();
        assert_eq!(legal, 33);
        assert!(!State::Closed.can_transition_to(State::HalfOpen));
        assert!(!State::MetricsOnly.can_transition_to(State::Open));
        assert!(!State::MetricsOnly.can_transition_to(State::HalfOpen));
        assert!(State::ForcedOpen.can_transition_to(State::HalfOpen));
    }

    #[test]
    fn display_uses_resilience4j_names() {
        assert_eq!(State::HalfOpen.to_string(), "HALF_OPEN");
        assert_eq!(State::MetricsOnly.to_string(), "METRICS_ONLY");
    }
}
