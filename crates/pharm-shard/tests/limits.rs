//! Every configuration value that sizes memory or a loop has an upper bound, rejected
//! with a typed error: each limit is checked just under it, at it and just over it (and
//! at the type's maximum, where an unchecked value would abort the process, loop for an
//! hour or allocate gigabytes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pharm_core::time::ManualClock;
use pharm_shard::breaker::{CircuitBreaker, CircuitBreakerConfig, ConfigError, SlidingWindowType};
use pharm_shard::directory::{PhysicalShard, ShardMap};
use pharm_shard::lag::{HistoryCapacityError, LagTracker, MAX_HISTORY_CAPACITY};
use pharm_shard::reads::{ReadRouter, ReadRouterConfig};
use pharm_shard::reshard::{PlanError, plan_to_count};
use pharm_shard::retry::{
    Backoff, Decision, ErrorKind, GiveUpReason, Jitter, PolicyError, RetryPolicy, RetryState,
    XorShift,
};

const WINDOW_MAX: u32 = CircuitBreakerConfig::MAX_SLIDING_WINDOW_SIZE;
const PERMITTED_MAX: u32 = CircuitBreakerConfig::MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE;

#[test]
fn breaker_window_and_half_open_sizes_are_bounded() {
    assert_eq!(WINDOW_MAX, 10_000);
    assert_eq!(PERMITTED_MAX, 10_000);
    let window = |kind, size| {
        CircuitBreakerConfig::builder()
            .sliding_window_type(kind)
            .sliding_window_size(size)
            .build()
    };
    let permitted = |n| {
        CircuitBreakerConfig::builder()
            .permitted_number_of_calls_in_half_open_state(n)
            .build()
    };
    for kind in [SlidingWindowType::CountBased, SlidingWindowType::TimeBased] {
        for (size, expected) in [
            (WINDOW_MAX - 1, None),
            (WINDOW_MAX, None),
            (WINDOW_MAX + 1, Some(WINDOW_MAX + 1)),
            (u32::MAX, Some(u32::MAX)),
        ] {
            assert_eq!(
                window(kind, size).err(),
                expected.map(|size| ConfigError::SlidingWindowTooLarge { size }),
                "{kind:?} {size}"
            );
        }
    }
    for (n, expected) in [
        (PERMITTED_MAX - 1, None),
        (PERMITTED_MAX, None),
        (PERMITTED_MAX + 1, Some(PERMITTED_MAX + 1)),
        (u32::MAX, Some(u32::MAX)),
    ] {
        assert_eq!(
            permitted(n).err(),
            expected
                .map(|permitted| ConfigError::TooManyPermittedCallsInHalfOpenState { permitted }),
            "{n}"
        );
    }
    // The error names the setting, the value and the limit.
    let message = window(SlidingWindowType::TimeBased, u32::MAX)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("slidingWindowSize")
            && message.contains("4294967295")
            && message.contains("10000"),
        "{message}"
    );
}

#[test]
fn breakers_at_the_limits_work() {
    for kind in [SlidingWindowType::CountBased, SlidingWindowType::TimeBased] {
        let config = CircuitBreakerConfig::builder()
            .sliding_window(WINDOW_MAX, 2, kind)
            .permitted_number_of_calls_in_half_open_state(PERMITTED_MAX)
            .build()
            .unwrap();
        let clock = ManualClock::new();
        let cb = CircuitBreaker::new("limits", config, clock.clone());
        cb.try_acquire().unwrap().on_failure(Duration::ZERO);
        // A clock jump far beyond the window walks at most WINDOW_MAX buckets.
        clock.advance(Duration::from_secs(u64::from(u32::MAX)));
        let failed_after_jump = match kind {
            SlidingWindowType::CountBased => 1,
            SlidingWindowType::TimeBased => 0,
        };
        assert_eq!(cb.metrics().failed, failed_after_jump, "{kind:?}");
        cb.transition_to_open().unwrap();
        cb.transition_to_half_open().unwrap();
        let probes: Vec<_> = (0..PERMITTED_MAX)
            .map(|_| cb.try_acquire().unwrap())
            .collect();
        assert!(cb.try_acquire().is_err());
        drop(probes);
    }
}

#[test]
fn retry_attempts_are_bounded() {
    const MAX: u32 = RetryPolicy::MAX_ATTEMPTS;
    assert_eq!(MAX, 100);
    for (tries, expected) in [
        (MAX - 1, Ok(())),
        (MAX, Ok(())),
        (MAX + 1, Err(PolicyError::TooManyAttempts(MAX + 1))),
        (u32::MAX, Err(PolicyError::TooManyAttempts(u32::MAX))),
    ] {
        let policy = RetryPolicy::db_write().with_max_attempts(tries);
        assert_eq!(policy.validate(), expected, "{tries}");
        // A configuration file is checked on the way in.
        let json = serde_json::to_string(&policy).unwrap();
        let parsed = serde_json::from_str::<RetryPolicy>(&json);
        match expected {
            Ok(()) => assert_eq!(parsed.unwrap(), policy),
            Err(e) => {
                let message = parsed.unwrap_err().to_string();
                assert!(message.contains(&e.to_string()), "{message}");
            }
        }
    }
    assert!(
        RetryPolicy::db_write()
            .with_max_attempts(101)
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_attempts must be at most 100, got 101")
    );
}

#[test]
fn deserialized_policies_are_validated() {
    let mut json = serde_json::to_value(RetryPolicy::db_write()).unwrap();
    json["jitter"] = serde_json::json!({ "Proportional": 1.5 });
    let err = serde_json::from_value::<RetryPolicy>(json).unwrap_err();
    assert!(err.to_string().contains("jitter factor 1.5"), "{err}");
    let mut json = serde_json::to_value(RetryPolicy::db_write()).unwrap();
    json["max_attempts"] = serde_json::json!(0);
    assert!(serde_json::from_value::<RetryPolicy>(json).is_err());
}

/// An unvalidated policy asking for more tries gets at most `MAX_ATTEMPTS` from the
/// decisions (the documented clamping of invalid values), never u32::MAX.
#[test]
fn decisions_stop_at_the_attempt_limit() {
    let policy =
        RetryPolicy::new(u32::MAX, Backoff::None, Duration::from_secs(1)).with_jitter(Jitter::None);
    let mut rng = XorShift::new(1);
    assert_eq!(policy.next_delay(99, &mut rng), Some(Duration::ZERO));
    assert_eq!(policy.next_delay(100, &mut rng), None);
    let mut state = RetryState::new(Duration::ZERO);
    let mut tries = 1;
    while let Decision::RetryAfter(_) = state.on_failure(
        &policy,
        ErrorKind::Retryable,
        Duration::ZERO,
        None,
        &mut rng,
    ) {
        tries += 1;
    }
    assert_eq!(tries, RetryPolicy::MAX_ATTEMPTS);
    assert_eq!(
        state.on_failure(
            &policy,
            ErrorKind::Retryable,
            Duration::ZERO,
            None,
            &mut rng
        ),
        Decision::GiveUp(GiveUpReason::Exhausted)
    );
}

/// `plan_to_count` checks the count before building its target list (`u32::MAX`
/// physical shards would take 16 GiB).
#[test]
fn reshard_target_count_is_bounded_by_the_logical_shards() {
    let map = ShardMap::with_defaults(&[PhysicalShard(0)]).unwrap();
    for (count, ok) in [(15, true), (16, true), (17, false), (u32::MAX, false)] {
        let planned = plan_to_count(&map, count);
        if ok {
            assert_eq!(planned.unwrap().quotas.len(), count as usize);
        } else {
            assert_eq!(
                planned,
                Err(PlanError::MorePhysicalThanLogical {
                    physical: count as usize,
                    logical: 16
                })
            );
        }
    }
}

#[test]
fn lag_history_capacity_is_bounded() {
    assert_eq!(MAX_HISTORY_CAPACITY, 65_536);
    for (capacity, ok) in [
        (0, false),
        (1, true),
        (MAX_HISTORY_CAPACITY - 1, true),
        (MAX_HISTORY_CAPACITY, true),
        (MAX_HISTORY_CAPACITY + 1, false),
        (usize::MAX, false),
    ] {
        let expected = if ok {
            Ok(())
        } else {
            Err(HistoryCapacityError(capacity))
        };
        assert_eq!(
            LagTracker::new(capacity).map(|_| ()),
            expected,
            "{capacity}"
        );
        let config = ReadRouterConfig {
            history_capacity: capacity,
            ..ReadRouterConfig::default()
        };
        assert_eq!(ReadRouter::new(config).map(|_| ()), expected, "{capacity}");
    }
    assert!(
        HistoryCapacityError(usize::MAX)
            .to_string()
            .contains("1..=65536")
    );
}

/// deadpool allocates a slot per connection and a semaphore of `max_size` permits when the
/// pool is built: `usize::MAX` would panic (capacity overflow) before any connection.
#[cfg(feature = "postgres")]
#[test]
fn pool_size_is_bounded() {
    use std::sync::Arc;

    use pharm_shard::pg::{PgError, PgShards, PgShardsConfig, PoolSettings, ShardNodes};

    assert_eq!(PoolSettings::MAX_SIZE, 1_000);
    let build = |max_size: usize, history_capacity: usize| {
        let map = ShardMap::with_defaults(&[PhysicalShard(0)]).unwrap();
        let config = PgShardsConfig {
            pool: PoolSettings {
                max_size,
                ..PoolSettings::default()
            },
            router: ReadRouterConfig {
                history_capacity,
                ..ReadRouterConfig::default()
            },
            ..PgShardsConfig::default()
        };
        // No connection is opened: the address is never dialled.
        let nodes = [(
            PhysicalShard(0),
            ShardNodes::primary("host=127.0.0.1 port=9 dbname=none"),
        )];
        PgShards::new(map, nodes, config, Arc::new(ManualClock::new()))
    };
    for (max_size, ok) in [
        (0, false),
        (1, true),
        (PoolSettings::MAX_SIZE, true),
        (PoolSettings::MAX_SIZE + 1, false),
        (usize::MAX, false),
    ] {
        match build(max_size, 1) {
            Ok(_) => assert!(ok, "{max_size}"),
            Err(PgError::Config(message)) => {
                assert!(!ok, "{max_size}: {message}");
                assert!(
                    message.contains("max_size") && message.contains(&max_size.to_string()),
                    "{message}"
                );
            }
            Err(other) => panic!("{max_size}: {other}"),
        }
    }
    match build(8, MAX_HISTORY_CAPACITY + 1) {
        Err(PgError::Config(message)) => assert!(message.contains("65537"), "{message}"),
        other => panic!("{other:?}"),
    }
}
