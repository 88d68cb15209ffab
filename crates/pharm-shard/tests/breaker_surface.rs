//! The resilience4j 2.x surface of the circuit breaker beyond the state machine of
//! `tests/breaker.rs`: opening for a duration or until an instant
//! (`transitionToOpenStateFor` / `transitionToOpenStateUntil`), call durations in the
//! window metrics (`getTotalDuration` / `getAverageDuration`), the attempt number behind a
//! growing OPEN wait, and a permission request at the caller's time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pharm_core::time::{Clock, ManualClock};
use pharm_shard::breaker::{
    CircuitBreaker, CircuitBreakerConfig, CircuitBreakerConfigBuilder, Event, IntervalFunction,
    SlidingWindowType, State,
};
use proptest::prelude::*;

const NS: Duration = Duration::from_nanos(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// COUNT_BASED window of 4, minimum 4, 50 %, 2 probes.
fn base() -> CircuitBreakerConfigBuilder {
    CircuitBreakerConfig::builder()
        .sliding_window(4, 4, SlidingWindowType::CountBased)
        .failure_rate_threshold(50.0)
        .permitted_number_of_calls_in_half_open_state(2)
}

/// [`base`] with 60 s in OPEN.
fn config() -> CircuitBreakerConfigBuilder {
    base().wait_duration_in_open_state(secs(60))
}

fn breaker(b: CircuitBreakerConfigBuilder) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::starting_at(secs(1_000));
    (
        CircuitBreaker::new("t", b.build().unwrap(), clock.clone()),
        clock,
    )
}

fn transitions(cb: &CircuitBreaker) -> Arc<Mutex<Vec<(State, State)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    cb.subscribe(move |e| {
        if let Event::StateTransition { from, to } = e {
            sink.lock().unwrap().push((*from, *to));
        }
    });
    seen
}

fn fail(cb: &CircuitBreaker, n: u32) {
    for _ in 0..n {
        cb.try_acquire().unwrap().on_failure(ms(5));
    }
}

// ---------------------------------------------------------------------------------------
// transition_to_open_for / transition_to_open_until
// ---------------------------------------------------------------------------------------

#[test]
fn open_for_waits_the_given_duration_not_the_configured_one() {
    let (cb, clock) = breaker(config());
    let seen = transitions(&cb);
    cb.try_acquire().unwrap().on_failure(ms(5));
    cb.transition_to_open_for(secs(5)).unwrap();
    assert_eq!(cb.state(), State::Open);
    assert_eq!(cb.attempts(), 1);
    // The CLOSED metrics are kept, as for transition_to_open.
    assert_eq!(cb.metrics().failed, 1);
    let rejected = cb.try_acquire().unwrap_err();
    assert_eq!(rejected.retry_after(), Some(secs(5)));
    clock.advance(secs(5));
    assert!(cb.try_acquire().is_err(), "exactly at the wait: still OPEN");
    clock.advance(NS);
    let probe = cb.try_acquire().unwrap();
    assert!(probe.holds_half_open_slot());
    assert_eq!(cb.state(), State::HalfOpen);
    assert_eq!(
        *seen.lock().unwrap(),
        [(State::Closed, State::Open), (State::Open, State::HalfOpen)]
    );
}

#[test]
fn the_next_opening_waits_as_configured_again() {
    let (cb, clock) = breaker(config());
    cb.transition_to_open_for(secs(1)).unwrap();
    clock.advance(secs(1) + NS);
    let probes = [cb.try_acquire().unwrap(), cb.try_acquire().unwrap()];
    for p in probes {
        p.on_failure(ms(5));
    }
    assert_eq!(cb.state(), State::Open);
    assert_eq!(cb.attempts(), 2);
    assert_eq!(cb.try_acquire().unwrap_err().retry_after(), Some(secs(60)));
}

#[test]
fn open_for_from_open_is_a_fresh_open_without_an_event() {
    let (cb, clock) = breaker(config());
    cb.transition_to_open().unwrap();
    let seen = transitions(&cb);
    clock.advance(secs(10));
    cb.transition_to_open_for(secs(120)).unwrap();
    assert_eq!(cb.attempts(), 2);
    assert_eq!(cb.try_acquire().unwrap_err().retry_after(), Some(secs(120)));
    assert!(seen.lock().unwrap().is_empty());
    // Zero: a call strictly after now goes through.
    cb.transition_to_open_for(Duration::ZERO).unwrap();
    assert!(cb.try_acquire().is_err());
    clock.advance(NS);
    assert!(cb.try_acquire().is_ok());
}

#[test]
fn open_until_an_instant() {
    let (cb, clock) = breaker(config());
    let until = clock.now() + secs(7);
    cb.transition_to_open_until(until).unwrap();
    assert_eq!(cb.state(), State::Open);
    assert_eq!(cb.attempts(), 1);
    assert_eq!(cb.try_acquire().unwrap_err().retry_after(), Some(secs(7)));
    clock.set(until);
    assert!(cb.try_acquire().is_err());
    clock.set(until + NS);
    assert!(cb.try_acquire().is_ok());
    assert_eq!(cb.state(), State::HalfOpen);
}

#[test]
fn open_until_a_past_instant_lets_the_next_call_through() {
    let (cb, clock) = breaker(config());
    cb.transition_to_open_until(clock.now() - secs(1)).unwrap();
    assert_eq!(cb.state(), State::Open);
    assert!(cb.try_acquire().is_ok());
    assert_eq!(cb.state(), State::HalfOpen);
    // Saturating far future: never lets a call through by itself.
    cb.transition_to_open_until(Duration::MAX).unwrap();
    clock.set(Duration::from_nanos(u64::MAX));
    assert!(cb.try_acquire().is_err());
}

#[test]
fn automatic_half_open_follows_the_given_wait() {
    let (cb, clock) = breaker(config().automatic_transition_from_open_to_half_open_enabled(true));
    cb.transition_to_open_for(secs(3)).unwrap();
    clock.advance(secs(3) - NS);
    assert_eq!(cb.state(), State::Open);
    clock.advance(NS);
    assert_eq!(cb.state(), State::HalfOpen);
}

#[test]
fn open_for_and_until_follow_the_legal_transitions() {
    let (cb, _clock) = breaker(config().initial_state(State::MetricsOnly));
    let err = cb.transition_to_open_for(secs(1)).unwrap_err();
    assert_eq!((err.from, err.to), (State::MetricsOnly, State::Open));
    assert!(cb.transition_to_open_until(secs(1)).is_err());
    assert_eq!(cb.state(), State::MetricsOnly);
    for from in [State::HalfOpen, State::Disabled, State::ForcedOpen] {
        let (cb, _clock) = breaker(config());
        cb.transition_to_open().unwrap();
        cb.transition_to(from).unwrap();
        cb.transition_to_open_for(secs(2)).unwrap();
        assert_eq!(cb.state(), State::Open, "from {from}");
    }
}

// ---------------------------------------------------------------------------------------
// Durations in the window metrics
// ---------------------------------------------------------------------------------------

#[test]
fn window_metrics_carry_total_and_average_duration() {
    let (cb, _clock) = breaker(config().failure_rate_threshold(100.0));
    let m = cb.metrics();
    assert_eq!(
        (m.total_duration, m.average_duration),
        (Duration::ZERO, Duration::ZERO)
    );
    cb.try_acquire().unwrap().on_success(ms(10));
    cb.try_acquire().unwrap().on_failure(ms(20));
    cb.try_acquire().unwrap().on_success(ms(31));
    let m = cb.metrics();
    assert_eq!(m.total_duration, ms(61));
    assert_eq!(m.average_duration, Duration::from_nanos(20_333_333));
    // Ignored calls and released permits are not in the window.
    cb.try_acquire().unwrap().on_ignored(secs(100));
    drop(cb.try_acquire().unwrap());
    assert_eq!(cb.metrics().total_duration, ms(61));
    // The window of 4 evicts the oldest call's duration.
    cb.try_acquire().unwrap().on_success(ms(1));
    cb.try_acquire().unwrap().on_success(ms(2));
    let m = cb.metrics();
    assert_eq!((m.calls, m.total_duration), (4, ms(54)));
    assert_eq!(m.average_duration, Duration::from_nanos(13_500_000));
}

#[test]
fn open_keeps_and_half_open_resets_the_durations() {
    let (cb, clock) = breaker(config());
    for d in [1, 2, 3, 4] {
        cb.try_acquire().unwrap().on_failure(ms(d));
    }
    assert_eq!(cb.state(), State::Open);
    assert_eq!(cb.metrics().total_duration, ms(10));
    clock.advance(secs(60) + NS);
    let probe = cb.try_acquire().unwrap();
    assert_eq!(cb.metrics().total_duration, Duration::ZERO);
    probe.on_success(ms(7));
    assert_eq!(cb.metrics().total_duration, ms(7));
}

#[test]
fn time_based_window_drops_durations_with_their_second() {
    let (cb, clock) = breaker(
        config()
            .sliding_window(3, 100, SlidingWindowType::TimeBased)
            .failure_rate_threshold(100.0),
    );
    cb.try_acquire().unwrap().on_success(ms(100));
    clock.advance(secs(1));
    cb.try_acquire().unwrap().on_success(ms(200));
    clock.advance(secs(1));
    assert_eq!(cb.metrics().total_duration, ms(300));
    clock.advance(secs(1));
    let m = cb.metrics();
    assert_eq!(
        (m.calls, m.total_duration, m.average_duration),
        (1, ms(200), ms(200))
    );
    clock.advance(secs(10));
    assert_eq!(cb.metrics().total_duration, Duration::ZERO);
}

#[test]
fn durations_beyond_u64_nanoseconds_saturate_per_call() {
    let (cb, _clock) = breaker(config().failure_rate_threshold(100.0));
    cb.try_acquire().unwrap().on_success(Duration::MAX);
    cb.try_acquire().unwrap().on_success(Duration::MAX);
    let m = cb.metrics();
    let per_call = Duration::from_nanos(u64::MAX);
    assert_eq!(m.total_duration, per_call * 2);
    assert_eq!(m.average_duration, per_call);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The window's duration total is the sum of the last `size` recorded durations and
    /// the average is that sum over the calls, whatever the mix of outcomes.
    #[test]
    fn count_window_durations_are_the_sum_of_the_last_n(
        size in 1u32..=8,
        calls in proptest::collection::vec((any::<bool>(), 0u64..5_000_000), 0..40),
    ) {
        let clock = ManualClock::new();
        let config = CircuitBreakerConfig::builder()
            .sliding_window(size, size, SlidingWindowType::CountBased)
            .failure_rate_threshold(100.0)
            .slow_call_rate_threshold(100.0)
            .build()
            .unwrap();
        let cb = CircuitBreaker::new("p", config, clock);
        let mut recorded = Vec::new();
        for (failed, nanos) in calls {
            let Ok(permit) = cb.try_acquire() else { break };
            if cb.state() != State::Closed {
                break;
            }
            let d = Duration::from_nanos(nanos);
            if failed { permit.on_failure(d) } else { permit.on_success(d) }
            recorded.push(d);
            if cb.state() != State::Closed {
                break;
            }
            let last: Vec<Duration> =
                recorded.iter().rev().take(size as usize).copied().collect();
            let total: Duration = last.iter().sum();
            let m = cb.metrics();
            prop_assert_eq!(m.calls, last.len() as u64);
            prop_assert_eq!(m.total_duration, total);
            prop_assert_eq!(m.average_duration, total / last.len() as u32);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The attempt number behind a growing OPEN wait
// ---------------------------------------------------------------------------------------

#[test]
fn attempts_drive_and_expose_a_growing_wait() {
    let (cb, clock) = breaker(base().wait_interval_function_in_open_state(
        IntervalFunction::exponential(secs(10), 2.0).unwrap(),
    ));
    assert_eq!(cb.attempts(), 0);
    fail(&cb, 4);
    assert_eq!(cb.state(), State::Open);
    assert_eq!(cb.attempts(), 1);
    let rejected = cb.try_acquire().unwrap_err();
    assert_eq!(
        (rejected.attempts(), rejected.retry_after()),
        (1, Some(secs(10)))
    );
    for (attempt, wait) in [(2, secs(20)), (3, secs(40)), (4, secs(80))] {
        clock.advance(cb.try_acquire().unwrap_err().retry_after().unwrap() + NS);
        let probes = [cb.try_acquire().unwrap(), cb.try_acquire().unwrap()];
        assert_eq!(
            cb.attempts(),
            attempt - 1,
            "HALF_OPEN keeps the OPEN's number"
        );
        for probe in probes {
            probe.on_failure(ms(1));
        }
        assert_eq!(cb.state(), State::Open);
        let rejected = cb.try_acquire().unwrap_err();
        assert_eq!(
            (cb.attempts(), rejected.attempts(), rejected.retry_after()),
            (attempt, attempt, Some(wait))
        );
    }
    // Back through CLOSED: the count starts over.
    clock.advance(secs(80) + NS);
    cb.try_acquire().unwrap().on_success(ms(1));
    cb.try_acquire().unwrap().on_success(ms(1));
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(cb.attempts(), 0);
    fail(&cb, 4);
    assert_eq!(cb.try_acquire().unwrap_err().retry_after(), Some(secs(10)));
}

#[test]
fn attempts_in_every_state() {
    let (cb, _clock) = breaker(config());
    let expect = |to: State, attempts: u32| {
        cb.transition_to(to).unwrap();
        assert_eq!(cb.attempts(), attempts, "{to}");
    };
    expect(State::Open, 1);
    expect(State::ForcedOpen, 2);
    expect(State::HalfOpen, 2);
    expect(State::Open, 3);
    expect(State::Disabled, 0);
    expect(State::Open, 1);
    expect(State::MetricsOnly, 0);
    expect(State::Closed, 0);
    let rejected = {
        cb.transition_to_forced_open().unwrap();
        cb.try_acquire().unwrap_err()
    };
    assert_eq!(
        (rejected.state(), rejected.attempts()),
        (State::ForcedOpen, 1)
    );
    cb.reset();
    assert_eq!(cb.attempts(), 0);
}

// ---------------------------------------------------------------------------------------
// try_acquire_at: the caller's time
// ---------------------------------------------------------------------------------------

#[test]
fn try_acquire_at_uses_the_callers_time_not_the_clock() {
    // The injected clock never moves; only the caller's readings do.
    let (cb, _clock) = breaker(config());
    let start = secs(1_000);
    fail(&cb, 4);
    assert_eq!(cb.state(), State::Open);
    let rejected = cb.try_acquire_at(start + secs(20)).unwrap_err();
    assert_eq!(rejected.retry_after(), Some(secs(40)));
    assert!(cb.try_acquire_at(start + secs(60)).is_err());
    let probe = cb.try_acquire_at(start + secs(60) + NS).unwrap();
    assert!(probe.holds_half_open_slot());
    drop(probe);
    assert_eq!(cb.state(), State::HalfOpen);
}

#[test]
fn try_acquire_at_in_the_free_states_and_half_open() {
    let (cb, _clock) = breaker(config());
    let p = cb.try_acquire_at(Duration::ZERO).unwrap();
    assert!(!p.holds_half_open_slot());
    p.on_success(ms(1));
    cb.transition_to_open().unwrap();
    cb.transition_to_half_open().unwrap();
    let held = [
        cb.try_acquire_at(secs(1)).unwrap(),
        cb.try_acquire_at(secs(1)).unwrap(),
    ];
    let rejected = cb.try_acquire_at(secs(1)).unwrap_err();
    assert_eq!(rejected.state(), State::HalfOpen);
    drop(held);
    assert!(cb.try_acquire_at(secs(1)).is_ok());
}

#[test]
fn try_acquire_at_applies_the_half_open_maximum_wait_at_the_callers_time() {
    let (cb, _clock) = breaker(config().max_wait_duration_in_half_open_state(secs(5)));
    cb.transition_to_open().unwrap();
    cb.transition_to_half_open().unwrap();
    // HALF_OPEN was entered at the clock's 1,000 s; the caller is 5 s later.
    let rejected = cb.try_acquire_at(secs(1_005)).unwrap_err();
    assert_eq!(rejected.state(), State::Open);
}
