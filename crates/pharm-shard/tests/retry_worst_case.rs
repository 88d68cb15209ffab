//! `RetryPolicy::worst_case_total` in closed form: it equals the iterative definition
//! (every try at its timeout plus every delay at its jittered maximum, summed retry by
//! retry) on ordinary values, never falls below it, and answers at once for any
//! attempt count or duration, saturating instead of overflowing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use pharm_shard::retry::{Backoff, Jitter, Operation, RetryPolicy};
use proptest::prelude::*;

/// The definition, one retry at a time: `A × timeout + Σₙ delay_bounds(n).1` for the
/// `A − 1` retries, `A` the tries the decisions allow.
fn iterative(p: &RetryPolicy) -> Duration {
    let tries = p.max_attempts.clamp(1, RetryPolicy::MAX_ATTEMPTS);
    (1..tries).fold(p.per_attempt_timeout.saturating_mul(tries), |total, n| {
        total.saturating_add(p.delay_bounds(n).1)
    })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn presets_match_the_iterative_definition_and_the_table() {
    let table = [
        (Operation::DbWrite, ms(15_330)),
        (Operation::DbRead, ms(6_055)),
        (Operation::Cache, ms(100)),
        (Operation::Pmp, ms(33_300)),
        (Operation::Insurance, ms(96_600)),
        (Operation::Internal, ms(10_110)),
    ];
    for (op, expected) in table {
        let p = op.policy();
        assert_eq!(p.worst_case_total(), expected, "{op:?}");
        assert_eq!(p.worst_case_total(), iterative(&p), "{op:?}");
        // More tries than the table's, up to the limit, reaching the cap.
        for tries in [4, 10, 50, RetryPolicy::MAX_ATTEMPTS] {
            let p = p.clone().with_max_attempts(tries);
            assert_eq!(p.worst_case_total(), iterative(&p), "{op:?} × {tries}");
        }
    }
}

#[test]
fn huge_attempt_counts_and_durations_answer_at_once() {
    // A linear schedule that never reaches its cap: a sum retry by retry over
    // u32::MAX − 1 retries would take most of an hour. Decisions never allow more than
    // MAX_ATTEMPTS tries, and neither does the worst case.
    let p = RetryPolicy::new(
        u32::MAX,
        Backoff::Linear {
            base: Duration::from_nanos(1),
            cap: Duration::MAX,
        },
        Duration::from_secs(1),
    )
    .with_jitter(Jitter::None);
    // 100 tries of 1 s, and 1 + 2 + … + 99 ns of delays.
    assert_eq!(
        p.worst_case_total(),
        Duration::from_secs(100) + Duration::from_nanos(4_950)
    );
    // The longest durations saturate instead of overflowing.
    for backoff in [
        Backoff::Fixed(Duration::MAX),
        Backoff::Linear {
            base: Duration::MAX,
            cap: Duration::MAX,
        },
        Backoff::Exponential {
            base: Duration::from_nanos(1),
            multiplier: u32::MAX,
            cap: Duration::MAX,
        },
    ] {
        for jitter in [
            Jitter::None,
            Jitter::Proportional(1.0),
            Jitter::Full,
            Jitter::Equal,
            Jitter::Decorrelated,
        ] {
            let p = RetryPolicy::new(u32::MAX, backoff, Duration::MAX).with_jitter(jitter);
            assert_eq!(
                p.worst_case_total(),
                Duration::MAX,
                "{backoff:?} {jitter:?}"
            );
            let p = p.with_max_attempts(RetryPolicy::MAX_ATTEMPTS);
            let p = RetryPolicy {
                per_attempt_timeout: Duration::ZERO,
                ..p
            };
            assert_eq!(
                p.worst_case_total(),
                iterative(&p),
                "{backoff:?} {jitter:?}"
            );
        }
    }
}

#[test]
fn degenerate_schedules() {
    let zero = Duration::ZERO;
    for backoff in [
        Backoff::None,
        Backoff::Fixed(zero),
        Backoff::Linear {
            base: zero,
            cap: ms(5),
        },
        Backoff::Linear {
            base: ms(5),
            cap: zero,
        },
        Backoff::Exponential {
            base: zero,
            multiplier: 2,
            cap: ms(5),
        },
        Backoff::Exponential {
            base: ms(1),
            multiplier: 0,
            cap: ms(5),
        },
        // Multiplier 0 with the base above the cap: one capped delay, then zeros (the
        // closed form once counted every retry at the cap).
        Backoff::Exponential {
            base: ms(932),
            multiplier: 0,
            cap: ms(1),
        },
        Backoff::Exponential {
            base: ms(1),
            multiplier: 1,
            cap: ms(5),
        },
        Backoff::Exponential {
            base: ms(9),
            multiplier: 3,
            cap: ms(5),
        },
    ] {
        for tries in [0, 1, 2, 7, RetryPolicy::MAX_ATTEMPTS, u32::MAX] {
            let p = RetryPolicy::new(tries, backoff, ms(1)).with_jitter(Jitter::Proportional(0.5));
            assert_eq!(p.worst_case_total(), iterative(&p), "{backoff:?} × {tries}");
        }
    }
}

fn backoff_in_ms() -> impl Strategy<Value = Backoff> {
    prop_oneof![
        Just(Backoff::None),
        (0u64..10_000).prop_map(|d| Backoff::Fixed(ms(d))),
        (0u64..10_000, 0u64..100_000).prop_map(|(b, c)| Backoff::Linear {
            base: ms(b),
            cap: ms(c),
        }),
        (0u64..10_000, 0u32..6, 0u64..10_000_000).prop_map(|(b, m, c)| Backoff::Exponential {
            base: ms(b),
            multiplier: m,
            cap: ms(c),
        }),
    ]
}

fn any_backoff() -> impl Strategy<Value = Backoff> {
    let d = || (0u64..=u64::MAX).prop_map(Duration::from_nanos);
    prop_oneof![
        Just(Backoff::None),
        d().prop_map(Backoff::Fixed),
        (d(), d()).prop_map(|(base, cap)| Backoff::Linear { base, cap }),
        (d(), any::<u32>(), d()).prop_map(|(base, multiplier, cap)| Backoff::Exponential {
            base,
            multiplier,
            cap,
        }),
    ]
}

fn jitter(factors: &'static [f64]) -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        proptest::sample::select(factors).prop_map(Jitter::Proportional),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    /// Delays in whole milliseconds with the factors people write: exactly the
    /// iterative sum.
    #[test]
    fn equals_the_iterative_sum_on_millisecond_schedules(
        backoff in backoff_in_ms(),
        jitter in jitter(&[0.0, 0.1, 0.25, 0.5, 1.0]),
        tries in 0u32..=120,
        timeout in 0u64..60_000,
    ) {
        let p = RetryPolicy::new(tries, backoff, ms(timeout)).with_jitter(jitter);
        prop_assert_eq!(p.worst_case_total(), iterative(&p));
    }

    /// Any durations and factors: never below the iterative sum (so a deadline set to it
    /// never cuts a schedule short), above it by less than 1 ns per retry.
    #[test]
    fn bounds_the_iterative_sum_tightly(
        backoff in any_backoff(),
        jitter in jitter(&[0.0, 0.01, 0.1, 0.3, 0.333, 0.7, 0.999, 1.0]),
        tries in 0u32..=120,
        timeout in 0u64..=u64::MAX,
    ) {
        let p = RetryPolicy::new(tries, backoff, Duration::from_nanos(timeout))
            .with_jitter(jitter);
        let closed = p.worst_case_total();
        let reference = iterative(&p);
        prop_assert!(closed >= reference, "{closed:?} < {reference:?}");
        let retries = tries.clamp(1, RetryPolicy::MAX_ATTEMPTS) - 1;
        prop_assert!(
            closed - reference <= Duration::from_nanos(u64::from(retries)),
            "{closed:?} − {reference:?} > {retries} ns"
        );
    }
}
