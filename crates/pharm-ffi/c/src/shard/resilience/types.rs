//! The enumerations and structs of the resilience calls, the values callers pass in, and
//! their conversions from and to the crate's.

use std::time::Duration;

use pharm_core::time::duration_to_nanos;
use pharm_shard::resilience::StopReason;
use pharm_shard::retry::GiveUpReason;
use pharm_shard::{ErrorKind, Next, Outcome, State};

use crate::error::Failure;

/// `outcome` of `pharm_resilience_after_call()`: the try succeeded.
pub const PHARM_OUTCOME_SUCCESS: u32 = 0;
/// `outcome`: the try failed in a way that says the downstream is unhealthy (a timeout, a
/// 5xx, a reset): recorded by the breaker, then retried if `error_kind` allows.
pub const PHARM_OUTCOME_FAILURE: u32 = 1;
/// `outcome`: the try failed in a way that says nothing about the downstream's health (a
/// validation error, a 4xx): ignored by the breaker, then retried if `error_kind` allows.
pub const PHARM_OUTCOME_NOT_COUNTED: u32 = 2;

/// `error_kind` of a failed try: transient, retry after the policy's backoff.
pub const PHARM_ERROR_KIND_RETRYABLE: u32 = 0;
/// `error_kind`: transient, and the server said when to come back (`Retry-After`, in
/// `retry_after_ns`): the wait is at least that long, and a hint past the policy's
/// deadline ends the retries.
pub const PHARM_ERROR_KIND_RETRYABLE_AFTER: u32 = 1;
/// `error_kind`: retrying cannot help or is not safe (a rejection, a non-idempotent write
/// that may have committed).
pub const PHARM_ERROR_KIND_PERMANENT: u32 = 2;

/// A circuit breaker state (resilience4j's names).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pharm_breaker_state {
    /// Calls flow; outcomes are recorded.
    Closed = 0,
    /// Calls are rejected until the wait has elapsed.
    Open = 1,
    /// A few probe calls decide between CLOSED and OPEN.
    HalfOpen = 2,
    /// Calls flow; nothing is recorded.
    Disabled = 3,
    /// Every call is rejected until the state is changed by hand.
    ForcedOpen = 4,
    /// Calls flow and are recorded; the thresholds never trip.
    MetricsOnly = 5,
}

impl From<State> for pharm_breaker_state {
    fn from(state: State) -> pharm_breaker_state {
        match state {
            State::Closed => pharm_breaker_state::Closed,
            State::Open => pharm_breaker_state::Open,
            State::HalfOpen => pharm_breaker_state::HalfOpen,
            State::Disabled => pharm_breaker_state::Disabled,
            State::ForcedOpen => pharm_breaker_state::ForcedOpen,
            State::MetricsOnly => pharm_breaker_state::MetricsOnly,
        }
    }
}

/// What to do after a try (the crate's `Next`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pharm_next_action {
    /// The try succeeded: use its result. The operation has ended.
    Return = 0,
    /// Wait `wait_ns`, then call `pharm_resilience_before_call()` again.
    RetryAfter = 1,
    /// Stop and degrade; `give_up` says why. The operation has ended.
    GiveUp = 2,
}

/// Why an operation gave up (the crate's `StopReason` and `GiveUpReason`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pharm_give_up_reason {
    /// Not giving up.
    None = 0,
    /// The failure opened the breaker (or it is forced open): no retry, no budget spent.
    BreakerOpen = 1,
    /// The policy's tries were used up.
    Exhausted = 2,
    /// The error was `PHARM_ERROR_KIND_PERMANENT`.
    NotRetryable = 3,
    /// Waiting for the next try would reach or pass the policy's deadline.
    DeadlineWouldPass = 4,
    /// The downstream's retry budget had no token for another retry.
    BudgetExhausted = 5,
}

/// The answer to "may I call now?" (`pharm_resilience_before_call()`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct pharm_resilience_permit {
    /// Make the try now. When false the breaker rejected it: nothing was tried, and the
    /// operation may ask again later or be given up.
    pub permitted: bool,
    /// Permitted: the try's number (1 is the first call); else 0.
    pub attempt: u32,
    /// Permitted: the time the try may take in nanoseconds (the policy's per-try timeout,
    /// shortened to what is left before its deadline), which the caller enforces; else 0.
    pub timeout_ns: u64,
    /// The breaker's state: when rejected, the rejecting state (OPEN, HALF_OPEN with every
    /// probe taken, or FORCED_OPEN).
    pub state: pharm_breaker_state,
    /// Rejected while OPEN: nanoseconds until the breaker lets a probe through (strictly
    /// after that); else 0.
    pub retry_after_ns: u64,
}

/// The answer after a try (`pharm_resilience_after_call()`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct pharm_resilience_next {
    /// Return, retry after `wait_ns`, or give up.
    pub action: pharm_next_action,
    /// `PHARM_NEXT_ACTION_GIVE_UP`: why; else `PHARM_GIVE_UP_REASON_NONE`.
    pub give_up: pharm_give_up_reason,
    /// `PHARM_NEXT_ACTION_RETRY_AFTER`: nanoseconds to wait before the next try; else 0.
    pub wait_ns: u64,
}

impl From<Next> for pharm_resilience_next {
    fn from(next: Next) -> pharm_resilience_next {
        let give_up = |give_up| pharm_resilience_next {
            action: pharm_next_action::GiveUp,
            give_up,
            wait_ns: 0,
        };
        match next {
            Next::Return => pharm_resilience_next {
                action: pharm_next_action::Return,
                give_up: pharm_give_up_reason::None,
                wait_ns: 0,
            },
            Next::RetryAfter(wait) => pharm_resilience_next {
                action: pharm_next_action::RetryAfter,
                give_up: pharm_give_up_reason::None,
                wait_ns: duration_to_nanos(wait),
            },
            Next::GiveUp(StopReason::BreakerOpen) => give_up(pharm_give_up_reason::BreakerOpen),
            Next::GiveUp(StopReason::Retry(reason)) => give_up(match reason {
                GiveUpReason::Exhausted => pharm_give_up_reason::Exhausted,
                GiveUpReason::NotRetryable => pharm_give_up_reason::NotRetryable,
                GiveUpReason::DeadlineWouldPass => pharm_give_up_reason::DeadlineWouldPass,
                GiveUpReason::BudgetExhausted => pharm_give_up_reason::BudgetExhausted,
            }),
        }
    }
}

pub(super) fn outcome(
    outcome: u32,
    error_kind: u32,
    retry_after_ns: u64,
) -> Result<Outcome, Failure> {
    let kind = || match error_kind {
        PHARM_ERROR_KIND_RETRYABLE => Ok(ErrorKind::Retryable),
        PHARM_ERROR_KIND_RETRYABLE_AFTER => Ok(ErrorKind::RetryableAfter(Duration::from_nanos(
            retry_after_ns,
        ))),
        PHARM_ERROR_KIND_PERMANENT => Ok(ErrorKind::Permanent),
        other => Err(Failure::invalid(
            "error_kind",
            format!("{other} is not an error kind (PHARM_ERROR_KIND_*: 0..=2)"),
        )),
    };
    match outcome {
        PHARM_OUTCOME_SUCCESS => Ok(Outcome::Success),
        PHARM_OUTCOME_FAILURE => Ok(Outcome::Failure(kind()?)),
        PHARM_OUTCOME_NOT_COUNTED => Ok(Outcome::NotCounted(kind()?)),
        other => Err(Failure::invalid(
            "outcome",
            format!("{other} is not an outcome (PHARM_OUTCOME_*: 0..=2)"),
        )),
    }
}
