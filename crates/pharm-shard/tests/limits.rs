//! Every configuration value that sizes memory or a loop has an upper bound, rejected
//! with a typed error: each limit is checked just under it, at it and just over it (and
//! at the type's maximum, which used to abort the process, run for an hour or allocate
//! gigabytes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pharm_shard::breaker::{
    CircuitBreaker, CircuitBreakerConfig, ConfigError, ManualClock, SlidingWindowType,
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
        cb.try_acquire()
            .unwrap()
            .on_failure(std::time::Duration::ZERO);
        // A clock jump far beyond the window walks at most WINDOW_MAX buckets.
        clock.advance(std::time::Duration::from_secs(u64::from(u32::MAX)));
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
