//! The breaker configuration as data: serde round trip, validation on load, and
//! classification by error kind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pharm_core::time::ManualClock;
use pharm_shard::breaker::{
    CircuitBreaker, CircuitBreakerConfig, Classification, IntervalFunction, SlidingWindowType,
    State,
};

fn kinds_config() -> CircuitBreakerConfig {
    CircuitBreakerConfig::pmp_api()
        .to_builder()
        .sliding_window(20, 5, SlidingWindowType::TimeBased)
        .record_kinds(["timeout", "shard.pg_unavailable"])
        .ignore_kinds(["bad_request"])
        .max_wait_duration_in_half_open_state(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[test]
fn configuration_round_trips_through_json() {
    for config in [
        CircuitBreakerConfig::default(),
        CircuitBreakerConfig::pmp_api(),
        CircuitBreakerConfig::insurance_api(),
        kinds_config(),
    ] {
        let json = serde_json::to_value(&config).unwrap();
        let back: CircuitBreakerConfig = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        assert_eq!(format!("{back:?}"), format!("{config:?}"));
    }
    let json = serde_json::to_value(kinds_config()).unwrap();
    assert_eq!(json["sliding_window_type"], "time_based");
    assert_eq!(json["initial_state"], "CLOSED");
    assert_eq!(
        json["record_kinds"],
        serde_json::json!(["shard.pg_unavailable", "timeout"])
    );
    assert_eq!(
        json["wait_in_open_state"],
        serde_json::json!({"fixed": {"secs": 30, "nanos": 0}})
    );
}

#[test]
fn loading_fills_defaults_and_validates() {
    let config: CircuitBreakerConfig =
        serde_json::from_str(r#"{"sliding_window_size": 10, "ignore_kinds": ["bad_request"]}"#)
            .unwrap();
    assert_eq!(config.sliding_window_size(), 10);
    assert_eq!(
        config.failure_rate_threshold(),
        CircuitBreakerConfig::DEFAULT_FAILURE_RATE_THRESHOLD
    );
    for bad in [
        r#"{"failure_rate_threshold": 0.0}"#,
        r#"{"sliding_window_size": 0}"#,
        r#"{"transition_to_state_after_wait_duration": "HALF_OPEN"}"#,
        r#"{"no_such_setting": 1}"#,
        r#"{"initial_state": "AJAR"}"#,
    ] {
        assert!(
            serde_json::from_str::<CircuitBreakerConfig>(bad).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn an_interval_function_is_not_data() {
    let config = CircuitBreakerConfig::builder()
        .wait_interval_function_in_open_state(IntervalFunction::fixed(Duration::from_secs(1)))
        .build()
        .unwrap();
    assert!(serde_json::to_string(&config).is_err());
}

#[test]
fn errors_are_classified_by_kind() {
    let config = kinds_config();
    assert_eq!(config.classify_kind("timeout"), Classification::Record);
    assert_eq!(config.classify_kind("bad_request"), Classification::Ignore);
    assert_eq!(config.classify_kind("not_found"), Classification::Success);
    let every = CircuitBreakerConfig::default();
    assert_eq!(every.classify_kind("anything"), Classification::Record);
    let both = CircuitBreakerConfig::builder()
        .record_kinds(["x"])
        .ignore_kinds(["x"])
        .build()
        .unwrap();
    assert_eq!(
        both.classify_kind("x"),
        Classification::Ignore,
        "ignore wins"
    );

    // Through a permit: a recorded kind opens the breaker, an ignored one never does.
    let config = CircuitBreakerConfig::builder()
        .sliding_window(2, 2, SlidingWindowType::CountBased)
        .ignore_kinds(["bad_request"])
        .build()
        .unwrap();
    let breaker = CircuitBreaker::new("kinds", config, ManualClock::new());
    for _ in 0..10 {
        breaker
            .try_acquire()
            .unwrap()
            .on_error_kind(Duration::ZERO, "bad_request");
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.metrics().calls, 0);
    for _ in 0..2 {
        breaker
            .try_acquire()
            .unwrap()
            .on_error_kind(Duration::ZERO, "timeout");
    }
    assert_eq!(breaker.state(), State::Open);
}
