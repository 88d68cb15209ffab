//! Breaker events (resilience4j `CircuitBreakerEvent` types).

use std::time::Duration;

use super::state::State;

/// Something the breaker did, delivered to its subscribers
/// ([`subscribe`](super::CircuitBreaker::subscribe)).
///
/// As in resilience4j, DISABLED and FORCED_OPEN publish only [`StateTransition`] and
/// [`Reset`] (their `allowPublish` is false; those two event types are force-published),
/// and a transition from a state to itself publishes nothing.
///
/// [`StateTransition`]: Event::StateTransition
/// [`Reset`]: Event::Reset
///
/// Serialized with a `type` tag in snake_case (`{"type": "state_transition", "from":
/// "CLOSED", "to": "OPEN"}`), as the breaker traces of the golden vectors record them.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
#[serde(deny_unknown_fields)]
pub enum Event {
    /// The state changed.
    StateTransition {
        /// The state left.
        from: State,
        /// The state entered.
        to: State,
    },
    /// A call was recorded as a success (including an error classified
    /// [`Success`](super::Classification::Success)).
    Success {
        /// The call's duration as reported.
        duration: Duration,
    },
    /// A call was recorded as a failure (an error classified
    /// [`Record`](super::Classification::Record), a forced failure, or a result the
    /// result predicate marks as a failure).
    Error {
        /// The call's duration as reported.
        duration: Duration,
    },
    /// A call's error was ignored: nothing recorded, the permit released.
    Ignored {
        /// The call's duration as reported.
        duration: Duration,
    },
    /// A call was rejected (OPEN, or HALF_OPEN with no permit left).
    #[serde(deserialize_with = "pharm_core::serde_strict::no_fields")]
    NotPermitted,
    /// The failure rate reached its threshold (published before the CLOSED → OPEN
    /// transition, or once per METRICS_ONLY state).
    FailureRateExceeded {
        /// The failure rate in percent.
        failure_rate: f32,
    },
    /// The slow-call rate reached its threshold (as for
    /// [`FailureRateExceeded`](Event::FailureRateExceeded)).
    SlowCallRateExceeded {
        /// The slow-call rate in percent.
        slow_call_rate: f32,
    },
    /// [`reset`](super::CircuitBreaker::reset) was called.
    #[serde(deserialize_with = "pharm_core::serde_strict::no_fields")]
    Reset,
}

impl Event {
    /// resilience4j `Type.forcePublish`: published even in DISABLED and FORCED_OPEN.
    pub(crate) fn force_publish(&self) -> bool {
        matches!(self, Self::StateTransition { .. } | Self::Reset)
    }
}

/// Identifies a subscription, for [`unsubscribe`](super::CircuitBreaker::unsubscribe).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriberId(pub(crate) u64);

/// Events produced by one operation, collected under the lock and delivered after it is
/// released. Collects nothing (and allocates nothing) when there are no subscribers.
#[derive(Debug)]
pub(crate) struct EventBuf {
    enabled: bool,
    events: Vec<Event>,
}

impl EventBuf {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            events: Vec::new(),
        }
    }

    /// Adds `event` if subscribers exist and the current state allows publishing it.
    pub(crate) fn publish(&mut self, current: State, event: Event) {
        if self.enabled && (event.force_publish() || current.allows_publish()) {
            self.events.push(event);
        }
    }

    pub(crate) fn into_events(self) -> Vec<Event> {
        self.events
    }
}
