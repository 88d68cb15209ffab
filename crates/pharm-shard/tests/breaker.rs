//! Circuit-breaker behaviour pinned by a scenario table driven by a `ManualClock`
//! (resilience4j semantics, reference §1), plus config validation, presets and
//! concurrency.
//!
//! Every scenario also checks, after every step, that the chain of `StateTransition`
//! events leads exactly to the breaker's current state: no transition happens without
//! an event, and every event's `from` is the state the previous one entered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use pharm_core::time::ManualClock;
use pharm_shard::breaker::{
    CallNotPermitted, CircuitBreaker, CircuitBreakerConfig, CircuitBreakerConfigBuilder,
    Classification, ConfigError, Event, IntervalFunction, Permit, SlidingWindowType, State,
    WaitInOpenState,
};

const NS: Duration = Duration::from_nanos(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Recorded as a failure (no classifier claims it).
#[derive(Clone, Copy, Debug)]
struct Timeout;
/// Classified `Ignore`.
#[derive(Clone, Copy, Debug)]
struct NotFound;
/// Classified `Success` (resilience4j: neither recorded nor ignored).
#[derive(Clone, Copy, Debug)]
struct Business;

#[derive(Clone, Copy, Debug)]
enum Err {
    Timeout,
    NotFound,
    Business,
}

/// How a held or fresh permit is resolved.
#[derive(Clone, Copy, Debug)]
enum Out {
    Success,
    Failure,
    Error(Err),
    Ignored,
    /// `on_result` with an HTTP-like status; >= 500 is a failure in `classified()`.
    Result(u16),
}

#[derive(Clone, Debug)]
enum Step {
    /// `n` calls; each must be permitted and is resolved with the outcome and duration.
    Calls(u32, Out, Duration),
    /// `n` permission requests that must be rejected.
    Reject(u32),
    /// Acquire `n` permits (must succeed) and keep them.
    Hold(u32),
    /// Resolve the oldest held permit.
    Resolve(Out, Duration),
    /// Drop the oldest `n` held permits without an outcome.
    DropHeld(u32),
    Advance(Duration),
    Expect(State),
    /// `(failure_rate, slow_call_rate)`; `None` below the minimum.
    Rates(Option<f32>, Option<f32>),
    /// `calls, failed, slow, not_permitted` of the current metrics.
    Counts(u64, u64, u64, u64),
    /// A manual transition that must succeed.
    To(State),
    /// A manual transition that must be refused.
    Illegal(State),
    Reset,
    /// Exactly these events since the previous `Events` step.
    Events(Vec<Event>),
}

use Step::*;

fn ok(n: u32) -> Step {
    Calls(n, Out::Success, ms(1))
}

fn fail(n: u32) -> Step {
    Calls(n, Out::Failure, ms(1))
}

fn tr(from: State, to: State) -> Event {
    Event::StateTransition { from, to }
}

fn success() -> Event {
    Event::Success { duration: ms(1) }
}

fn error() -> Event {
    Event::Error { duration: ms(1) }
}

fn times(n: usize, e: Event) -> Vec<Event> {
    vec![e; n]
}

/// COUNT_BASED window `size`, minimum `min`, failure threshold `threshold`, 10 s in
/// OPEN, 2 permitted calls in HALF_OPEN.
fn count(size: u32, min: u32, threshold: f32) -> CircuitBreakerConfigBuilder {
    CircuitBreakerConfig::builder()
        .sliding_window_size(size)
        .minimum_number_of_calls(min)
        .failure_rate_threshold(threshold)
        .wait_duration_in_open_state(secs(10))
        .permitted_number_of_calls_in_half_open_state(2)
}

/// `small()` with an exponential OPEN wait of 1 s, 2 s, 4 s, … instead of the fixed 10 s
/// (setting both is a configuration error).
fn backoff() -> CircuitBreakerConfigBuilder {
    CircuitBreakerConfig::builder()
        .sliding_window_size(2)
        .minimum_number_of_calls(2)
        .permitted_number_of_calls_in_half_open_state(2)
        .wait_interval_function_in_open_state(IntervalFunction::exponential(secs(1), 2.0).unwrap())
}

/// Window 2, minimum 2, 50 %: two failures open it.
fn small() -> CircuitBreakerConfigBuilder {
    count(2, 2, 50.0)
}

/// Classifiers: `NotFound` ignored, `Business` a success, `Timeout` recorded (default);
/// results: status >= 500 is a failure.
fn classified(b: CircuitBreakerConfigBuilder) -> CircuitBreakerConfigBuilder {
    b.ignore_errors::<NotFound>()
        .classify_errors::<Business>(|_| Classification::Success)
        .record_result_if::<u16>(|status| *status >= 500)
}

/// Trips `small()` at the current time: 2 failures.
fn trip() -> Vec<Step> {
    vec![
        fail(2),
        Expect(State::Open),
        Events(vec![
            error(),
            error(),
            Event::FailureRateExceeded {
                failure_rate: 100.0,
            },
            tr(State::Closed, State::Open),
        ]),
    ]
}

/// Trips `small()` and moves to HALF_OPEN holding one probe.
fn to_half_open() -> Vec<Step> {
    let mut steps = trip();
    steps.extend([
        Advance(secs(10) + NS),
        Hold(1),
        Expect(State::HalfOpen),
        Events(vec![tr(State::Open, State::HalfOpen)]),
    ]);
    steps
}

fn then<T>(mut a: Vec<T>, b: Vec<T>) -> Vec<T> {
    a.extend(b);
    a
}

struct Case {
    name: &'static str,
    config: CircuitBreakerConfig,
    steps: Vec<Step>,
}

fn case(name: &'static str, config: CircuitBreakerConfigBuilder, steps: Vec<Step>) -> Case {
    Case {
        name,
        config: config.build().unwrap(),
        steps,
    }
}

fn cases() -> Vec<Case> {
    vec![
        // ---- CLOSED → OPEN: failure-rate threshold, exactly at the boundary ----
        case(
            "50% of 10: the 5th failure trips (rate == threshold)",
            count(10, 10, 50.0),
            vec![
                ok(5),
                fail(4),
                Expect(State::Closed),
                Rates(None, None),
                Events(then(times(5, success()), times(4, error()))),
                fail(1),
                Expect(State::Open),
                Events(vec![
                    error(),
                    Event::FailureRateExceeded { failure_rate: 50.0 },
                    tr(State::Closed, State::Open),
                ]),
                Rates(Some(50.0), Some(0.0)),
                Counts(10, 5, 0, 0),
            ],
        ),
        case(
            "50% of 10: 4 failures do not trip",
            count(10, 10, 50.0),
            vec![
                fail(4),
                ok(6),
                Expect(State::Closed),
                Rates(Some(40.0), Some(0.0)),
                // the window slides: 4 more successes evict the 4 failures
                ok(4),
                Rates(Some(0.0), Some(0.0)),
                Counts(10, 0, 0, 0),
            ],
        ),
        case(
            "60% threshold: 6 of 10 trips, 5 of 10 does not (the window slides)",
            count(10, 10, 60.0),
            vec![
                fail(5),
                ok(5),
                Expect(State::Closed),
                Rates(Some(50.0), Some(0.0)),
                fail(5), // evicts the 5 failures: still 5 of 10
                Expect(State::Closed),
                Rates(Some(50.0), Some(0.0)),
                fail(1), // evicts a success: 6 of 10
                Expect(State::Open),
                Counts(10, 6, 0, 0),
            ],
        ),
        // ---- minimum number of calls ----
        case(
            "minimum not reached: 4 failures of minimum 5 do not trip",
            count(10, 5, 50.0),
            vec![
                fail(4),
                Expect(State::Closed),
                Rates(None, None),
                Counts(4, 4, 0, 0),
                fail(1),
                Expect(State::Open),
            ],
        ),
        case(
            "evaluation starts at the minimum, not at a full window (#1553)",
            count(10, 6, 50.0),
            vec![
                ok(1),
                fail(4),
                Expect(State::Closed),
                fail(1),
                Expect(State::Open),
            ],
        ),
        case(
            "COUNT_BASED clamps: window 5, minimum 10 opens after 5 failures (#1349)",
            count(5, 10, 50.0),
            vec![
                fail(4),
                Expect(State::Closed),
                Rates(None, None),
                fail(1),
                Expect(State::Open),
            ],
        ),
        case(
            "TIME_BASED does not clamp: 5 s window, minimum 10 needs 10 calls",
            count(5, 10, 50.0).sliding_window_type(SlidingWindowType::TimeBased),
            vec![
                fail(5),
                Expect(State::Closed),
                Rates(None, None),
                fail(4),
                Expect(State::Closed),
                fail(1),
                Expect(State::Open),
            ],
        ),
        // ---- slow calls ----
        case(
            "slow is strictly longer: exactly at the threshold is not slow, +1 ns is",
            count(4, 4, 100.0)
                .slow_call_duration_threshold(ms(100))
                .slow_call_rate_threshold(50.0),
            vec![
                Calls(4, Out::Success, ms(100)),
                Expect(State::Closed),
                Rates(Some(0.0), Some(0.0)),
                Calls(1, Out::Success, ms(100) + NS),
                Expect(State::Closed),
                Rates(Some(0.0), Some(25.0)),
                Events(then(
                    times(4, Event::Success { duration: ms(100) }),
                    vec![Event::Success {
                        duration: ms(100) + NS,
                    }],
                )),
                Calls(1, Out::Success, ms(100) + NS),
                Expect(State::Open),
                Events(vec![
                    Event::Success {
                        duration: ms(100) + NS,
                    },
                    Event::SlowCallRateExceeded {
                        slow_call_rate: 50.0,
                    },
                    tr(State::Closed, State::Open),
                ]),
                Counts(4, 0, 2, 0),
            ],
        ),
        case(
            "a slow failure counts as failed and slow; both events, failure first",
            count(2, 2, 50.0)
                .slow_call_duration_threshold(ms(100))
                .slow_call_rate_threshold(50.0),
            vec![
                Calls(1, Out::Success, ms(1)),
                Calls(1, Out::Failure, ms(101)),
                Expect(State::Open),
                Events(vec![
                    success(),
                    Event::Error { duration: ms(101) },
                    Event::FailureRateExceeded { failure_rate: 50.0 },
                    Event::SlowCallRateExceeded {
                        slow_call_rate: 50.0,
                    },
                    tr(State::Closed, State::Open),
                ]),
                Counts(2, 1, 1, 0),
            ],
        ),
        case(
            "slow-rate trip alone (failure rate below its threshold), exactly at 75 %",
            count(4, 4, 100.0)
                .slow_call_duration_threshold(ms(10))
                .slow_call_rate_threshold(75.0),
            vec![
                Calls(2, Out::Success, ms(11)),
                Calls(1, Out::Failure, ms(11)),
                Expect(State::Closed),
                Rates(None, None),
                ok(1),
                Expect(State::Open),
                Rates(Some(25.0), Some(75.0)),
                Events(vec![
                    Event::Success { duration: ms(11) },
                    Event::Success { duration: ms(11) },
                    Event::Error { duration: ms(11) },
                    success(),
                    Event::SlowCallRateExceeded {
                        slow_call_rate: 75.0,
                    },
                    tr(State::Closed, State::Open),
                ]),
            ],
        ),
        // ---- OPEN ----
        case(
            "OPEN rejects, counts not-permitted, keeps the CLOSED metrics",
            small(),
            then(
                trip(),
                vec![
                    Reject(3),
                    Counts(2, 2, 0, 3),
                    Rates(Some(100.0), Some(0.0)),
                    Events(times(3, Event::NotPermitted)),
                ],
            ),
        ),
        case(
            "HALF_OPEN only strictly after the wait",
            small(),
            then(
                trip(),
                vec![
                    Advance(secs(10) - NS),
                    Reject(1),
                    Advance(NS), // exactly the wait
                    Reject(1),
                    Expect(State::Open),
                    Advance(NS), // strictly after: state() alone does not move it
                    Expect(State::Open),
                    Events(times(2, Event::NotPermitted)),
                    Hold(1),
                    Expect(State::HalfOpen),
                    Events(vec![tr(State::Open, State::HalfOpen)]),
                    // HALF_OPEN starts fresh metrics
                    Counts(0, 0, 0, 0),
                ],
            ),
        ),
        case(
            "an outcome in flight when the breaker opened is recorded without a transition",
            count(3, 2, 50.0),
            vec![
                Hold(1),
                fail(2),
                Expect(State::Open),
                Resolve(Out::Success, ms(1)),
                Expect(State::Open),
                Counts(3, 2, 0, 0),
                Rates(Some(200.0 / 3.0), Some(0.0)),
            ],
        ),
        // ---- HALF_OPEN ----
        case(
            "HALF_OPEN: permitted successes close",
            small(),
            then(
                to_half_open(),
                vec![
                    Resolve(Out::Success, ms(1)),
                    Expect(State::HalfOpen), // 1 of 2 outcomes
                    Hold(1),
                    Resolve(Out::Success, ms(1)),
                    Expect(State::Closed),
                    Events(vec![
                        success(),
                        success(),
                        tr(State::HalfOpen, State::Closed),
                    ]),
                    Counts(0, 0, 0, 0),
                ],
            ),
        ),
        case(
            "HALF_OPEN: a failure among the permitted calls reopens (50% >= 50%)",
            small(),
            then(
                to_half_open(),
                vec![
                    Hold(1),
                    Resolve(Out::Success, ms(1)),
                    Resolve(Out::Failure, ms(1)),
                    Expect(State::Open),
                    // no rate-exceeded events from HALF_OPEN (resilience4j)
                    Events(vec![success(), error(), tr(State::HalfOpen, State::Open)]),
                    // OPEN keeps the HALF_OPEN metrics
                    Counts(2, 1, 0, 0),
                ],
            ),
        ),
        case(
            "HALF_OPEN threshold evaluation: 1 of 4 failing closes, 2 of 4 reopen",
            count(2, 100, 50.0).permitted_number_of_calls_in_half_open_state(4),
            then(
                to_half_open(),
                vec![
                    Resolve(Out::Failure, ms(1)),
                    ok(3),
                    Expect(State::Closed),
                    fail(2),
                    Expect(State::Open),
                    Advance(secs(10) + NS),
                    fail(2),
                    Expect(State::HalfOpen),
                    ok(2),
                    Expect(State::Open),
                ],
            ),
        ),
        case(
            "HALF_OPEN decides at min(minimum, permitted) when the minimum is smaller",
            count(2, 2, 50.0).permitted_number_of_calls_in_half_open_state(5),
            then(
                to_half_open(),
                vec![Resolve(Out::Success, ms(1)), ok(1), Expect(State::Closed)],
            ),
        ),
        case(
            "HALF_OPEN rejects calls beyond the permitted number and counts them",
            small(),
            then(
                to_half_open(),
                vec![
                    Hold(1),
                    Reject(2),
                    Expect(State::HalfOpen),
                    Counts(0, 0, 0, 2),
                    Events(times(2, Event::NotPermitted)),
                ],
            ),
        ),
        case(
            "max wait in HALF_OPEN → OPEN (default), then the next wait",
            small().max_wait_duration_in_half_open_state(secs(5)),
            then(
                to_half_open(),
                vec![
                    Advance(secs(5) - NS),
                    Expect(State::HalfOpen),
                    Advance(NS),
                    Expect(State::Open),
                    Events(vec![tr(State::HalfOpen, State::Open)]),
                    // the held probe's late outcome is recorded, no transition
                    Resolve(Out::Success, ms(1)),
                    Expect(State::Open),
                    Advance(secs(10)),
                    Reject(1),
                    Advance(NS),
                    Hold(1),
                    Expect(State::HalfOpen),
                ],
            ),
        ),
        case(
            "max wait in HALF_OPEN → CLOSED when configured",
            small()
                .max_wait_duration_in_half_open_state(secs(5))
                .transition_to_state_after_wait_duration(State::Closed),
            then(
                to_half_open(),
                vec![
                    Advance(secs(5)),
                    Expect(State::Closed),
                    Events(vec![tr(State::HalfOpen, State::Closed)]),
                    Counts(0, 0, 0, 0),
                ],
            ),
        ),
        case(
            "max wait in HALF_OPEN is applied by a permission request too",
            small().max_wait_duration_in_half_open_state(secs(5)),
            then(
                to_half_open(),
                vec![
                    Advance(secs(5)),
                    Reject(1),
                    Events(vec![tr(State::HalfOpen, State::Open), Event::NotPermitted]),
                ],
            ),
        ),
        case(
            "automatic OPEN → HALF_OPEN at exactly the wait, observed through state()",
            small().automatic_transition_from_open_to_half_open_enabled(true),
            then(
                trip(),
                vec![
                    Advance(secs(10) - NS),
                    Expect(State::Open),
                    Advance(NS),
                    Expect(State::HalfOpen),
                    Events(vec![tr(State::Open, State::HalfOpen)]),
                    Hold(2),
                    Reject(1),
                ],
            ),
        ),
        case(
            "backoff interval function: 1 s, 2 s, 4 s, then 1 s again after CLOSED",
            backoff(),
            vec![
                fail(2),
                Expect(State::Open),
                Advance(secs(1)),
                Reject(1),
                Advance(NS),
                fail(2), // HALF_OPEN, both probes fail: attempt 2
                Expect(State::Open),
                Advance(secs(2)),
                Reject(1),
                Advance(NS),
                fail(2), // attempt 3
                Expect(State::Open),
                Advance(secs(4)),
                Reject(1),
                Advance(NS),
                ok(2), // closes; attempts back to 0
                Expect(State::Closed),
                fail(2), // attempt 1
                Advance(secs(1)),
                Reject(1),
                Advance(NS),
                Hold(1),
                Expect(State::HalfOpen),
            ],
        ),
        // ---- classification ----
        case(
            "ignored errors are not recorded; neither-recorded-nor-ignored is a success",
            classified(count(4, 4, 50.0)),
            vec![
                Calls(10, Out::Error(Err::NotFound), ms(1)),
                Calls(1, Out::Ignored, ms(1)),
                Counts(0, 0, 0, 0),
                Expect(State::Closed),
                Events(times(11, Event::Ignored { duration: ms(1) })),
                Calls(3, Out::Error(Err::Business), ms(1)),
                Calls(1, Out::Error(Err::Timeout), ms(1)),
                Expect(State::Closed),
                Rates(Some(25.0), Some(0.0)),
                Events(then(times(3, success()), vec![error()])),
                Calls(1, Out::Error(Err::Timeout), ms(1)), // evicts a success: 2 of 4
                Expect(State::Open),
                Counts(4, 2, 0, 0),
            ],
        ),
        case(
            "an ignored error in HALF_OPEN gives the probe back",
            classified(count(2, 2, 50.0)).permitted_number_of_calls_in_half_open_state(1),
            then(
                to_half_open(),
                vec![
                    Reject(1),
                    Resolve(Out::Error(Err::NotFound), ms(1)),
                    Hold(1),
                    Reject(1),
                    Counts(0, 0, 0, 2),
                ],
            ),
        ),
        case(
            "the result predicate records results as failures",
            classified(count(10, 10, 50.0)),
            vec![
                Calls(5, Out::Result(200), ms(1)),
                Calls(4, Out::Result(503), ms(1)),
                Expect(State::Closed),
                Events(then(times(5, success()), times(4, error()))),
                Calls(1, Out::Result(500), ms(1)),
                Expect(State::Open),
                Counts(10, 5, 0, 0),
            ],
        ),
        // ---- DISABLED, FORCED_OPEN, METRICS_ONLY ----
        case(
            "DISABLED permits everything, records nothing, publishes only transitions",
            small(),
            vec![
                To(State::Disabled),
                fail(100),
                Calls(5, Out::Ignored, ms(1)),
                Expect(State::Disabled),
                Counts(0, 0, 0, 0),
                Rates(None, None),
                Advance(secs(3600)),
                Expect(State::Disabled),
                Events(vec![tr(State::Closed, State::Disabled)]),
                To(State::Closed),
                Events(vec![tr(State::Disabled, State::Closed)]),
            ],
        ),
        case(
            "FORCED_OPEN rejects everything, counts it, never leaves by itself",
            small(),
            vec![
                To(State::ForcedOpen),
                Reject(5),
                Counts(0, 0, 0, 5),
                Advance(secs(3600)),
                Reject(1),
                Expect(State::ForcedOpen),
                // rejections are not published in FORCED_OPEN (allowPublish = false)
                Events(vec![tr(State::Closed, State::ForcedOpen)]),
                To(State::HalfOpen),
                Hold(2),
                Reject(1),
            ],
        ),
        case(
            "FORCED_OPEN → OPEN counts as a further attempt for the backoff",
            backoff(),
            vec![
                To(State::ForcedOpen), // attempt 1
                To(State::Open),       // attempt 2: 2 s
                Advance(secs(2)),
                Reject(1),
                Advance(NS),
                Hold(1),
            ],
        ),
        case(
            "METRICS_ONLY records, never trips, publishes each rate event once",
            count(10, 10, 50.0)
                .slow_call_duration_threshold(ms(10))
                .slow_call_rate_threshold(50.0),
            vec![
                To(State::MetricsOnly),
                Events(vec![tr(State::Closed, State::MetricsOnly)]),
                fail(9),
                Events(times(9, error())),
                fail(1),
                Expect(State::MetricsOnly),
                Events(vec![
                    error(),
                    Event::FailureRateExceeded {
                        failure_rate: 100.0,
                    },
                ]),
                fail(5),
                Events(times(5, error())),
                Calls(5, Out::Success, ms(11)),
                Events(then(
                    times(4, Event::Success { duration: ms(11) }),
                    vec![
                        Event::Success { duration: ms(11) },
                        Event::SlowCallRateExceeded {
                            slow_call_rate: 50.0,
                        },
                    ],
                )),
                Calls(5, Out::Success, ms(11)),
                Expect(State::MetricsOnly),
                Counts(10, 0, 10, 0),
                Illegal(State::Open),
                Illegal(State::HalfOpen),
                // a fresh METRICS_ONLY state resets the metrics and the once-flags
                To(State::MetricsOnly),
                Counts(0, 0, 0, 0),
                Events(times(5, Event::Success { duration: ms(11) })),
                fail(10),
                Events(then(
                    times(10, error()),
                    vec![Event::FailureRateExceeded {
                        failure_rate: 100.0,
                    }],
                )),
            ],
        ),
        // ---- TIME_BASED window ----
        case(
            "TIME_BASED buckets align to clock seconds: evicted at second s + N",
            count(2, 2, 50.0).sliding_window_type(SlidingWindowType::TimeBased),
            vec![
                Advance(secs(100) + ms(500)), // t = 100.5 s
                fail(1),
                Advance(ms(1500) - NS), // t = 101.999999999 s
                Counts(1, 1, 0, 0),
                Advance(NS), // t = 102 s: second 100's bucket leaves, 1.5 s after the call
                Counts(0, 0, 0, 0),
                fail(1),
                Expect(State::Closed), // 1 call < minimum 2
                Advance(secs(1)),      // t = 103 s: second 102 still in the window
                fail(1),
                Expect(State::Open),
                Counts(2, 2, 0, 0),
            ],
        ),
        case(
            "TIME_BASED: calls in one second aggregate; a long idle gap empties the window",
            count(3, 3, 50.0).sliding_window_type(SlidingWindowType::TimeBased),
            vec![
                ok(2),
                fail(1),
                Expect(State::Closed),
                Rates(Some(100.0 / 3.0), Some(0.0)),
                Advance(secs(1)),
                fail(1), // 2 of 4 across two seconds
                Expect(State::Open),
                Counts(4, 2, 0, 0),
                Advance(secs(3600)),
                Counts(0, 0, 0, 0), // OPEN's (kept) window moved on too
                Expect(State::Open),
            ],
        ),
        // ---- permits ----
        case(
            "a dropped permit releases the HALF_OPEN slot",
            small().permitted_number_of_calls_in_half_open_state(1),
            then(
                to_half_open(),
                vec![
                    Reject(1),
                    DropHeld(1),
                    Expect(State::HalfOpen),
                    Hold(1),
                    Reject(1),
                    Resolve(Out::Success, ms(1)),
                    Expect(State::Closed),
                ],
            ),
        ),
        case(
            "a stale permit does not add a slot to a later HALF_OPEN",
            small().permitted_number_of_calls_in_half_open_state(1),
            then(
                to_half_open(),
                vec![
                    To(State::HalfOpen), // a fresh HALF_OPEN object, 1 permit
                    Hold(1),             // takes it
                    Reject(1),
                    DropHeld(1), // the old probe: not this state's slot to give back
                    Reject(1),
                    Counts(0, 0, 0, 2),
                ],
            ),
        ),
        case(
            "dropping a CLOSED permit records nothing",
            small(),
            vec![Hold(3), DropHeld(3), Counts(0, 0, 0, 0), Events(vec![])],
        ),
        // ---- manual transitions and reset ----
        case(
            "reset from OPEN: transition + reset events, fresh CLOSED",
            small(),
            then(
                trip(),
                vec![
                    Reject(1),
                    Reset,
                    Expect(State::Closed),
                    Counts(0, 0, 0, 0),
                    Events(vec![
                        Event::NotPermitted,
                        tr(State::Open, State::Closed),
                        Event::Reset,
                    ]),
                    Reset,
                    Events(vec![Event::Reset]),
                ],
            ),
        ),
        case(
            "illegal transitions are refused; a self-transition resets without an event",
            small(),
            vec![
                Illegal(State::HalfOpen),
                fail(1),
                Counts(1, 1, 0, 0),
                To(State::Closed),
                Counts(0, 0, 0, 0),
                Events(vec![error()]),
                To(State::Open),
                To(State::Open), // OPEN → OPEN: new wait, attempt + 1, no event
                To(State::HalfOpen),
                To(State::Closed),
                Events(vec![
                    tr(State::Closed, State::Open),
                    tr(State::Open, State::HalfOpen),
                    tr(State::HalfOpen, State::Closed),
                ]),
            ],
        ),
        case(
            "initial state OPEN waits from creation",
            small().initial_state(State::Open),
            vec![
                Expect(State::Open),
                Advance(secs(10)),
                Reject(1),
                Advance(NS),
                Hold(1),
                Expect(State::HalfOpen),
            ],
        ),
        // ---- the design's presets ----
        case(
            "pmp-api: 5 of 10 opens for 30 s, 3 probes",
            CircuitBreakerConfig::pmp_api().to_builder(),
            vec![
                ok(5),
                fail(4),
                Expect(State::Closed),
                fail(1),
                Expect(State::Open),
                Advance(secs(30)),
                Reject(1),
                Advance(NS),
                Hold(3),
                Reject(1),
                Resolve(Out::Success, ms(1)),
                Resolve(Out::Success, ms(1)),
                Resolve(Out::Failure, ms(1)), // 33 % < 50 %
                Expect(State::Closed),
            ],
        ),
        case(
            "insurance-api: 12 of 20 opens (60 %), 11 does not; 60 s wait",
            CircuitBreakerConfig::insurance_api().to_builder(),
            vec![
                ok(9),
                fail(11),
                Expect(State::Closed),
                Rates(Some(55.0), Some(0.0)),
                fail(1), // evicts a success: 12 of 20
                Expect(State::Open),
                Rates(Some(60.0), Some(0.0)),
                Advance(secs(60)),
                Reject(1),
                Advance(NS),
                Hold(3),
                Reject(1),
            ],
        ),
    ]
}

fn resolve(permit: Permit<'_>, out: Out, d: Duration) {
    match out {
        Out::Success => permit.on_success(d),
        Out::Failure => permit.on_failure(d),
        Out::Error(Err::Timeout) => permit.on_error(d, &Timeout),
        Out::Error(Err::NotFound) => permit.on_error(d, &NotFound),
        Out::Error(Err::Business) => permit.on_error(d, &Business),
        Out::Ignored => permit.on_ignored(d),
        Out::Result(status) => permit.on_result(d, &status),
    }
}

fn run(case: &Case) {
    let clock = ManualClock::new();
    let cb = CircuitBreaker::new(case.name, case.config.clone(), clock.clone());
    let log: Arc<Mutex<Vec<Event>>> = Arc::default();
    {
        let log = Arc::clone(&log);
        cb.subscribe(move |e| log.lock().unwrap().push(*e));
    }
    let mut held: VecDeque<Permit<'_>> = VecDeque::new();
    let mut checked = 0;
    let mut seen = 0;
    let mut tracked = cb.state();
    for (i, step) in case.steps.iter().enumerate() {
        let ctx = format!("case '{}', step {i} {step:?}", case.name);
        match step {
            Calls(n, out, d) => {
                for k in 0..*n {
                    let permit = cb
                        .try_acquire()
                        .unwrap_or_else(|e| panic!("{ctx}: call {k} rejected: {e}"));
                    resolve(permit, *out, *d);
                }
            }
            Reject(n) => {
                for k in 0..*n {
                    if let Ok(p) = cb.try_acquire() {
                        panic!("{ctx}: call {k} permitted: {p:?}");
                    }
                }
            }
            Hold(n) => {
                for k in 0..*n {
                    let permit = cb
                        .try_acquire()
                        .unwrap_or_else(|e| panic!("{ctx}: hold {k} rejected: {e}"));
                    held.push_back(permit);
                }
            }
            Resolve(out, d) => {
                let permit = held
                    .pop_front()
                    .unwrap_or_else(|| panic!("{ctx}: none held"));
                resolve(permit, *out, *d);
            }
            DropHeld(n) => {
                for _ in 0..*n {
                    drop(
                        held.pop_front()
                            .unwrap_or_else(|| panic!("{ctx}: none held")),
                    );
                }
            }
            Advance(d) => clock.advance(*d),
            Expect(state) => assert_eq!(cb.state(), *state, "{ctx}"),
            Rates(failure, slow) => {
                let m = cb.metrics();
                assert_eq!(
                    (m.failure_rate, m.slow_call_rate),
                    (*failure, *slow),
                    "{ctx}"
                );
            }
            Counts(calls, failed, slow, not_permitted) => {
                let m = cb.metrics();
                assert_eq!(
                    (m.calls, m.failed, m.slow, m.not_permitted),
                    (*calls, *failed, *slow, *not_permitted),
                    "{ctx}: {m:?}"
                );
                assert_eq!(m.successful, m.calls - m.failed, "{ctx}");
            }
            To(state) => cb
                .transition_to(*state)
                .unwrap_or_else(|e| panic!("{ctx}: {e}")),
            Illegal(state) => {
                let from = cb.state();
                let err = cb.transition_to(*state).expect_err(&ctx);
                assert_eq!((err.from, err.to), (from, *state), "{ctx}");
                assert_eq!(cb.state(), from, "{ctx}");
            }
            Reset => cb.reset(),
            Events(expected) => {
                let log = log.lock().unwrap();
                assert_eq!(&log[checked..], expected.as_slice(), "{ctx}");
                checked = log.len();
            }
        }
        // Every transition publishes an event, and the events chain. (Not after
        // `Advance`: moving the clock alone changes nothing until the breaker is observed,
        // and the next step is that observation.)
        if matches!(step, Advance(_)) {
            continue;
        }
        let state = cb.state();
        let log = log.lock().unwrap();
        for e in &log[seen..] {
            if let Event::StateTransition { from, to } = e {
                assert_eq!(*from, tracked, "{ctx}: event chain broken by {e:?}");
                assert_ne!(from, to, "{ctx}: self-transition published");
                tracked = *to;
            }
        }
        seen = log.len();
        assert_eq!(tracked, state, "{ctx}: state changed without an event");
    }
}

#[test]
fn scenario_table() {
    let cases = cases();
    assert!(cases.len() >= 30);
    for case in &cases {
        run(case);
    }
}

#[test]
fn table_covers_every_state_and_transition_kind() {
    // Every (from, to) pair the scenarios publish, to keep the table honest.
    let mut pairs = std::collections::BTreeSet::new();
    for case in cases() {
        let clock = ManualClock::new();
        let cb = CircuitBreaker::new(case.name, case.config.clone(), clock.clone());
        let log: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        {
            let log = Arc::clone(&log);
            cb.subscribe(move |e| {
                if let Event::StateTransition { from, to } = e {
                    log.lock().unwrap().push((from.to_string(), to.to_string()));
                }
            });
        }
        let mut held = VecDeque::new();
        for step in &case.steps {
            match step {
                Calls(n, out, d) => {
                    for _ in 0..*n {
                        if let Ok(p) = cb.try_acquire() {
                            resolve(p, *out, *d);
                        }
                    }
                }
                Reject(n) => {
                    for _ in 0..*n {
                        let _ = cb.try_acquire();
                    }
                }
                Hold(n) => {
                    for _ in 0..*n {
                        if let Ok(p) = cb.try_acquire() {
                            held.push_back(p);
                        }
                    }
                }
                Resolve(out, d) => {
                    if let Some(p) = held.pop_front() {
                        resolve(p, *out, *d);
                    }
                }
                DropHeld(n) => {
                    for _ in 0..*n {
                        held.pop_front();
                    }
                }
                Advance(d) => clock.advance(*d),
                To(s) => {
                    let _ = cb.transition_to(*s);
                }
                Reset => cb.reset(),
                _ => {
                    let _ = cb.state();
                }
            }
        }
        drop(held);
        pairs.extend(log.lock().unwrap().iter().cloned());
    }
    for (from, to) in [
        ("CLOSED", "OPEN"),
        ("OPEN", "HALF_OPEN"),
        ("HALF_OPEN", "CLOSED"),
        ("HALF_OPEN", "OPEN"),
        ("CLOSED", "DISABLED"),
        ("DISABLED", "CLOSED"),
        ("CLOSED", "FORCED_OPEN"),
        ("FORCED_OPEN", "HALF_OPEN"),
        ("FORCED_OPEN", "OPEN"),
        ("CLOSED", "METRICS_ONLY"),
        ("OPEN", "CLOSED"),
    ] {
        assert!(
            pairs.contains(&(from.to_string(), to.to_string())),
            "no scenario publishes {from} → {to}: {pairs:?}"
        );
    }
}

#[test]
fn call_not_permitted_reports_state_and_remaining_wait() {
    let clock = ManualClock::new();
    let cb = CircuitBreaker::new("pmp-api", CircuitBreakerConfig::pmp_api(), clock.clone());
    cb.transition_to_open().unwrap();
    clock.advance(secs(10));
    let err: CallNotPermitted = cb.try_acquire().unwrap_err();
    assert_eq!(err.state(), State::Open);
    assert_eq!(err.name(), "pmp-api");
    assert_eq!(err.retry_after(), Some(secs(20)));
    assert_eq!(
        err.to_string(),
        "CircuitBreaker 'pmp-api' is OPEN and does not permit further calls"
    );
    cb.transition_to_forced_open().unwrap();
    let err = cb.try_acquire().unwrap_err();
    assert_eq!((err.state(), err.retry_after()), (State::ForcedOpen, None));
    let illegal = {
        cb.transition_to_closed().unwrap();
        cb.transition_to_half_open().unwrap_err()
    };
    assert_eq!(
        illegal.to_string(),
        "CircuitBreaker 'pmp-api' tried an illegal state transition from CLOSED to HALF_OPEN"
    );
}

#[test]
fn config_validation() {
    let b = CircuitBreakerConfig::builder;
    let cases: Vec<(CircuitBreakerConfigBuilder, ConfigError)> = vec![
        (
            b().failure_rate_threshold(0.0),
            ConfigError::FailureRateThreshold(0.0),
        ),
        (
            b().failure_rate_threshold(100.5),
            ConfigError::FailureRateThreshold(100.5),
        ),
        (
            b().slow_call_rate_threshold(-1.0),
            ConfigError::SlowCallRateThreshold(-1.0),
        ),
        (
            b().slow_call_duration_threshold(Duration::ZERO),
            ConfigError::SlowCallDurationThreshold,
        ),
        (
            b().wait_duration_in_open_state(ms(1) - NS),
            ConfigError::WaitDurationInOpenState(ms(1) - NS),
        ),
        (
            b().wait_duration_in_open_state(secs(1))
                .wait_interval_function_in_open_state(IntervalFunction::fixed(secs(1))),
            ConfigError::ConflictingWaitInOpenState,
        ),
        (
            b().permitted_number_of_calls_in_half_open_state(0),
            ConfigError::PermittedNumberOfCallsInHalfOpenState,
        ),
        (b().sliding_window_size(0), ConfigError::SlidingWindowSize),
        (
            b().minimum_number_of_calls(0),
            ConfigError::MinimumNumberOfCalls,
        ),
        (
            b().max_wait_duration_in_half_open_state(ms(1) - NS),
            ConfigError::MaxWaitDurationInHalfOpenState(ms(1) - NS),
        ),
        (
            b().transition_to_state_after_wait_duration(State::HalfOpen),
            ConfigError::TransitionToStateAfterWaitDuration(State::HalfOpen),
        ),
    ];
    for (builder, expected) in cases {
        assert_eq!(builder.build().unwrap_err(), expected);
    }
    assert!(b().failure_rate_threshold(f32::NAN).build().is_err());
    // boundaries that are valid
    let ok = b()
        .failure_rate_threshold(100.0)
        .slow_call_rate_threshold(100.0)
        .slow_call_duration_threshold(NS)
        .wait_duration_in_open_state(ms(1))
        .max_wait_duration_in_half_open_state(ms(1))
        .transition_to_state_after_wait_duration(State::Closed)
        .sliding_window_size(1)
        .minimum_number_of_calls(1)
        .permitted_number_of_calls_in_half_open_state(1)
        .build();
    assert!(ok.is_ok());
    assert_eq!(
        IntervalFunction::exponential(ms(1) - NS, 2.0).unwrap_err(),
        ConfigError::IntervalTooShort(ms(1) - NS)
    );
    assert_eq!(
        IntervalFunction::exponential(ms(1), 0.5).unwrap_err(),
        ConfigError::Multiplier(0.5)
    );
}

#[test]
fn defaults_and_interval_functions() {
    let d = CircuitBreakerConfig::default();
    assert_eq!(d.failure_rate_threshold(), 50.0);
    assert_eq!(d.slow_call_rate_threshold(), 100.0);
    assert_eq!(d.slow_call_duration_threshold(), secs(60));
    assert!(matches!(d.wait_in_open_state(), WaitInOpenState::Fixed(w) if *w == secs(60)));
    assert_eq!(d.permitted_number_of_calls_in_half_open_state(), 10);
    assert_eq!(d.sliding_window_size(), 100);
    assert_eq!(d.minimum_number_of_calls(), 100);
    assert_eq!(d.sliding_window_type(), SlidingWindowType::CountBased);
    assert_eq!(d.max_wait_duration_in_half_open_state(), Duration::ZERO);
    assert_eq!(d.transition_to_state_after_wait_duration(), State::Open);
    assert!(!d.automatic_transition_from_open_to_half_open_enabled());
    assert_eq!(d.initial_state(), State::Closed);
    assert_eq!(d.classify_error(&Timeout), Classification::Record);
    assert!(!d.is_result_failure(&500u16));

    let f = IntervalFunction::exponential_with_max(ms(500), 1.5, secs(1)).unwrap();
    assert_eq!(f.apply(1), ms(500));
    assert_eq!(f.apply(2), ms(750));
    assert_eq!(f.apply(3), secs(1));
    assert_eq!(f.apply(u32::MAX), secs(1));
    // sliding_window() clamps like resilience4j's builder
    let c = CircuitBreakerConfig::builder()
        .sliding_window(5, 10, SlidingWindowType::CountBased)
        .build()
        .unwrap();
    assert_eq!(c.minimum_number_of_calls(), 5);
    let c = CircuitBreakerConfig::builder()
        .sliding_window(5, 10, SlidingWindowType::TimeBased)
        .build()
        .unwrap();
    assert_eq!(c.minimum_number_of_calls(), 10);
    assert_eq!(c.effective_minimum_number_of_calls(), 10);
}

#[test]
fn on_outcome_classifies_ok_and_err() {
    let clock = ManualClock::new();
    let config = classified(count(4, 4, 50.0)).build().unwrap();
    let cb = CircuitBreaker::new("x", config, clock);
    let results: [Result<u16, Timeout>; 4] = [Ok(200), Ok(503), Err(Timeout), Ok(204)];
    for r in &results {
        cb.try_acquire().unwrap().on_outcome(ms(1), r);
    }
    let m = cb.metrics();
    assert_eq!((m.calls, m.failed), (4, 2));
    assert_eq!(cb.state(), State::Open);
    let nf: Result<u16, NotFound> = Err(NotFound);
    cb.reset();
    cb.try_acquire().unwrap().on_outcome(ms(1), &nf);
    assert_eq!(cb.metrics().calls, 0);
}

#[test]
fn subscribers_may_call_back_and_unsubscribe() {
    let cb = Arc::new(CircuitBreaker::new(
        "x",
        small().build().unwrap(),
        ManualClock::new(),
    ));
    let seen: Arc<Mutex<Vec<State>>> = Arc::default();
    let id = {
        let weak = Arc::downgrade(&cb);
        let seen = Arc::clone(&seen);
        cb.subscribe(move |e| {
            if let (Event::StateTransition { .. }, Some(cb)) = (e, weak.upgrade()) {
                // re-entrant: the lock is released before delivery
                seen.lock().unwrap().push(cb.state());
                let _ = cb.metrics();
            }
        })
    };
    cb.try_acquire().unwrap().on_failure(ms(1));
    cb.try_acquire().unwrap().on_failure(ms(1));
    assert_eq!(*seen.lock().unwrap(), vec![State::Open]);
    assert!(cb.unsubscribe(id));
    assert!(!cb.unsubscribe(id));
    cb.reset();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn concurrent_use_neither_panics_nor_leaks_half_open_slots() {
    const THREADS: usize = 8;
    const OPS: usize = 5_000;
    let clock = ManualClock::new();
    let config = count(20, 10, 50.0)
        .permitted_number_of_calls_in_half_open_state(4)
        .wait_duration_in_open_state(ms(1))
        .build()
        .unwrap();
    let cb = Arc::new(CircuitBreaker::new("concurrent", config, clock.clone()));
    let transitions = Arc::new(AtomicU64::new(0));
    {
        let t = Arc::clone(&transitions);
        cb.subscribe(move |e| {
            if matches!(e, Event::StateTransition { .. }) {
                t.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let clock = clock.clone();
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                clock.advance(Duration::from_micros(50));
                thread::yield_now();
            }
        })
    };
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let cb = Arc::clone(&cb);
            thread::spawn(move || {
                let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ (t as u64);
                let mut granted = 0u64;
                for _ in 0..OPS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if let Ok(p) = cb.try_acquire() {
                        granted += 1;
                        match x % 5 {
                            0 => p.on_success(ms(1)),
                            1 => p.on_failure(ms(1)),
                            2 => drop(p),
                            3 => p.on_ignored(ms(1)),
                            _ => p.on_error(ms(1), &Timeout),
                        }
                    }
                    if x.is_multiple_of(97) {
                        let _ = cb.metrics();
                    }
                }
                granted
            })
        })
        .collect();
    let granted: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    stop.store(true, Ordering::Relaxed);
    ticker.join().unwrap();
    assert!(granted > 0);
    assert!(
        transitions.load(Ordering::Relaxed) > 0,
        "the mix should trip it"
    );
    let m = cb.metrics();
    assert!(m.calls <= 20 && m.failed <= m.calls, "{m:?}");

    // Half-open slots: 8 threads take and drop/ignore probes concurrently; afterwards
    // exactly the 4 permitted probes are available again.
    let cb = Arc::new(CircuitBreaker::new(
        "slots",
        count(2, 2, 50.0)
            .permitted_number_of_calls_in_half_open_state(4)
            .build()
            .unwrap(),
        ManualClock::new(),
    ));
    cb.transition_to_open().unwrap();
    cb.transition_to_half_open().unwrap();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let cb = Arc::clone(&cb);
            thread::spawn(move || {
                for i in 0..OPS {
                    if let Ok(p) = cb.try_acquire() {
                        assert!(p.holds_half_open_slot());
                        if (i + t).is_multiple_of(2) {
                            drop(p);
                        } else {
                            p.on_ignored(ms(1));
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(cb.state(), State::HalfOpen);
    let probes: Vec<_> = (0..4).map(|_| cb.try_acquire().unwrap()).collect();
    assert!(cb.try_acquire().is_err());
    drop(probes);
    assert_eq!(cb.metrics().calls, 0);
}

#[test]
fn breaker_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CircuitBreaker>();
    assert_send_sync::<CircuitBreakerConfig>();
    assert_send_sync::<ManualClock>();
}
