//! Retry policies, jitter bounds, deadlines, classification, budgets and the async helper.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use pharm_core::time::{Clock, ManualClock};
use pharm_shard::Sleep;
use pharm_shard::retry::{
    Attempt, Backoff, Classify, Decision, ErrorKind, GiveUpReason, Jitter, Operation, RetryBudget,
    RetryBudgetConfig, RetryError, RetryPolicy, RetryState, RngSource, XorShift, retry,
    retry_notify,
};
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---------------------------------------------------------------------------------------
// Presets: the design table, exactly.
// ---------------------------------------------------------------------------------------

/// (operation, tries, backoff, per-attempt timeout, jitter, exact delays before retry 1..,
/// deadline)
type Row = (
    Operation,
    u32,
    Backoff,
    Duration,
    Jitter,
    Vec<Duration>,
    Duration,
);

fn table() -> Vec<Row> {
    let p10 = Jitter::Proportional(0.1);
    vec![
        (
            Operation::DbWrite,
            3,
            Backoff::Exponential {
                base: ms(100),
                multiplier: 2,
                cap: secs(5),
            },
            secs(5),
            p10,
            vec![ms(100), ms(200)],
            ms(15_330),
        ),
        (
            Operation::DbRead,
            2,
            Backoff::Linear {
                base: ms(50),
                cap: secs(3),
            },
            secs(3),
            p10,
            vec![ms(50)],
            ms(6_055),
        ),
        (
            Operation::Cache,
            1,
            Backoff::None,
            ms(100),
            Jitter::None,
            vec![],
            ms(100),
        ),
        (
            Operation::Pmp,
            3,
            Backoff::Exponential {
                base: secs(1),
                multiplier: 2,
                cap: secs(10),
            },
            secs(10),
            p10,
            vec![secs(1), secs(2)],
            ms(33_300),
        ),
        (
            Operation::Insurance,
            3,
            Backoff::Exponential {
                base: secs(2),
                multiplier: 2,
                cap: secs(30),
            },
            secs(30),
            p10,
            vec![secs(2), secs(4)],
            ms(96_600),
        ),
        (
            Operation::Internal,
            2,
            Backoff::Linear {
                base: ms(100),
                cap: secs(5),
            },
            secs(5),
            p10,
            vec![ms(100)],
            ms(10_110),
        ),
    ]
}

#[test]
fn presets_match_the_design_table() {
    for (op, tries, backoff, timeout, jitter, delays, deadline) in table() {
        let p = op.policy();
        assert_eq!(p, RetryPolicy::for_operation(op));
        assert_eq!(p.max_attempts, tries, "{op:?}");
        assert_eq!(p.backoff, backoff, "{op:?}");
        assert_eq!(p.per_attempt_timeout, timeout, "{op:?}");
        assert_eq!(p.jitter, jitter, "{op:?}");
        assert_eq!(p.deadline, Some(deadline), "{op:?}");
        assert_eq!(p.worst_case_total(), deadline, "{op:?}");
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(delays.len() as u32, tries - 1, "{op:?}");
    }
    assert_eq!(RetryPolicy::db_write(), Operation::DbWrite.policy());
    assert_eq!(RetryPolicy::db_read(), Operation::DbRead.policy());
    assert_eq!(RetryPolicy::cache(), Operation::Cache.policy());
    assert_eq!(RetryPolicy::pmp(), Operation::Pmp.policy());
    assert_eq!(RetryPolicy::insurance(), Operation::Insurance.policy());
    assert_eq!(RetryPolicy::internal(), Operation::Internal.policy());
}

#[test]
fn exact_delays_without_jitter() {
    let mut rng = XorShift::new(1);
    for (op, tries, _, _, _, delays, _) in table() {
        let p = op.policy().with_jitter(Jitter::None);
        for (i, want) in delays.iter().enumerate() {
            let attempt = i as u32 + 1;
            assert_eq!(
                p.next_delay(attempt, &mut rng),
                Some(*want),
                "{op:?} #{attempt}"
            );
            assert_eq!(p.base_delay(attempt), *want);
        }
        assert_eq!(p.next_delay(tries, &mut rng), None, "{op:?} is exhausted");
        assert_eq!(p.next_delay(tries + 5, &mut rng), None);
    }
}

#[test]
fn cache_never_retries() {
    let p = RetryPolicy::cache();
    let mut rng = XorShift::new(9);
    assert_eq!(p.next_delay(1, &mut rng), None);
    assert_eq!(
        p.decide(1, ErrorKind::Retryable, Duration::ZERO, None, &mut rng),
        Decision::GiveUp(GiveUpReason::Exhausted)
    );
}

#[test]
fn preset_jitter_ranges_are_plus_minus_ten_percent() {
    // The reference's worked schedule: [90,110], [180,220] ms etc.
    let expect = [
        (
            Operation::DbWrite,
            vec![(ms(90), ms(110)), (ms(180), ms(220))],
        ),
        (Operation::DbRead, vec![(ms(45), ms(55))]),
        (
            Operation::Pmp,
            vec![(ms(900), ms(1_100)), (ms(1_800), ms(2_200))],
        ),
        (
            Operation::Insurance,
            vec![(ms(1_800), ms(2_200)), (ms(3_600), ms(4_400))],
        ),
        (Operation::Internal, vec![(ms(90), ms(110))]),
    ];
    let mut rng = XorShift::new(42);
    for (op, ranges) in expect {
        let p = op.policy();
        for (i, (lo, hi)) in ranges.into_iter().enumerate() {
            let n = i as u32 + 1;
            assert_eq!(p.delay_bounds(n), (lo, hi), "{op:?} #{n}");
            let mut seen_lo = Duration::MAX;
            let mut seen_hi = Duration::ZERO;
            for _ in 0..2_000 {
                let d = p.next_delay(n, &mut rng).unwrap();
                assert!(d >= lo && d <= hi, "{op:?} #{n}: {d:?}");
                seen_lo = seen_lo.min(d);
                seen_hi = seen_hi.max(d);
            }
            // The jitter actually spreads over (most of) the range.
            let spread = (hi - lo).mul_f64(0.9);
            assert!(seen_hi - seen_lo >= spread, "{op:?} #{n} spread too small");
        }
    }
}

#[test]
fn exponential_grows_to_the_cap_and_jitter_survives_at_the_cap() {
    let p = RetryPolicy::db_write()
        .with_max_attempts(10)
        .with_jitter(Jitter::None);
    let mut rng = XorShift::new(5);
    let got: Vec<_> = (1..10)
        .map(|n| p.next_delay(n, &mut rng).unwrap())
        .collect();
    let want: Vec<_> = [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000]
        .into_iter()
        .map(ms)
        .collect();
    assert_eq!(got, want);

    // With jitter, delays at the cap are still spread over [0.9·cap, 1.1·cap]: the cap is
    // applied before the jitter, so clients do not re-synchronise there.
    let p = p.with_jitter(Jitter::Proportional(0.1));
    let draws: Vec<_> = (0..500)
        .map(|_| p.next_delay(9, &mut rng).unwrap())
        .collect();
    assert!(draws.iter().all(|d| *d >= ms(4_500) && *d <= ms(5_500)));
    assert!(draws.iter().any(|d| *d < ms(4_800)));
    assert!(draws.iter().any(|d| *d > ms(5_200)));
}

#[test]
fn other_jitter_shapes() {
    let backoff = Backoff::Exponential {
        base: ms(100),
        multiplier: 2,
        cap: secs(2),
    };
    let base = RetryPolicy::new(20, backoff, secs(1));
    let mut rng = XorShift::new(77);
    for n in 1..20 {
        let d = base.base_delay(n);
        let full = base.clone().with_jitter(Jitter::Full);
        let equal = base.clone().with_jitter(Jitter::Equal);
        let decor = base.clone().with_jitter(Jitter::Decorrelated);
        for _ in 0..200 {
            assert!(full.next_delay(n, &mut rng).unwrap() <= d);
            let e = equal.next_delay(n, &mut rng).unwrap();
            assert!(e >= d / 2 && e <= d, "{e:?} vs {d:?}");
            let c = decor.next_delay(n, &mut rng).unwrap();
            assert!(c >= ms(100) && c <= secs(2), "{c:?}");
        }
    }
    // Decorrelated with the real previous delay: uniform(base, prev·3), capped.
    let decor = base.with_jitter(Jitter::Decorrelated);
    for _ in 0..200 {
        let c = decor.next_delay_after(3, Some(ms(150)), &mut rng).unwrap();
        assert!(c >= ms(100) && c <= ms(450), "{c:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Property: delays stay within [base, cap] × (1 ± jitter).
// ---------------------------------------------------------------------------------------

/// Reference schedule, computed independently in u128 nanoseconds.
fn reference_delay(backoff: Backoff, n: u32) -> u128 {
    match backoff {
        Backoff::None => 0,
        Backoff::Fixed(d) => d.as_nanos(),
        Backoff::Linear { base, cap } => (base.as_nanos() * u128::from(n)).min(cap.as_nanos()),
        Backoff::Exponential {
            base,
            multiplier,
            cap,
        } => {
            let mut d = base.as_nanos();
            for _ in 1..n {
                d = (d * u128::from(multiplier)).min(cap.as_nanos() * 2);
            }
            d.min(cap.as_nanos())
        }
    }
}

fn backoff_strategy() -> impl Strategy<Value = Backoff> {
    (1u64..=10_000, 1u64..=100, 1u32..=4, any::<bool>()).prop_map(|(base, k, mult, exp)| {
        let base = ms(base);
        let cap = base * k as u32;
        if exp {
            Backoff::Exponential {
                base,
                multiplier: mult,
                cap,
            }
        } else {
            Backoff::Linear { base, cap }
        }
    })
}

fn parts(b: Backoff) -> (Duration, Duration) {
    match b {
        Backoff::Linear { base, cap } | Backoff::Exponential { base, cap, .. } => (base, cap),
        Backoff::None => (Duration::ZERO, Duration::ZERO),
        Backoff::Fixed(d) => (d, d),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn jittered_delay_within_capped_base_times_one_plus_minus_jitter(
        backoff in backoff_strategy(),
        f in 0.0f64..=1.0,
        attempt in 1u32..=40,
        seed in any::<u64>(),
    ) {
        let policy = RetryPolicy::new(64, backoff, secs(1)).with_jitter(Jitter::Proportional(f));
        let mut rng = XorShift::new(seed);
        let d = policy.next_delay(attempt, &mut rng).unwrap();
        let (base, cap) = parts(backoff);

        // Per attempt: [min(base_k, cap)·(1−f), min(base_k, cap)·(1+f)].
        let capped = reference_delay(backoff, attempt) as f64;
        prop_assert_eq!(policy.base_delay(attempt).as_nanos() as f64, capped);
        let got = d.as_nanos() as f64;
        // One nanosecond of slack for float rounding of d·f.
        prop_assert!(got >= capped * (1.0 - f) - 1.0, "{} < {}", got, capped * (1.0 - f));
        prop_assert!(got <= capped * (1.0 + f) + 1.0, "{} > {}", got, capped * (1.0 + f));

        // Overall: [base, cap] × (1 ± f).
        prop_assert!(got >= base.as_nanos() as f64 * (1.0 - f) - 1.0);
        prop_assert!(got <= cap.as_nanos() as f64 * (1.0 + f) + 1.0);

        // And the advertised bounds agree.
        let (lo, hi) = policy.delay_bounds(attempt);
        prop_assert!(lo <= d && d <= hi);
    }

    #[test]
    fn preset_delays_stay_in_their_envelope(seed in any::<u64>(), op_idx in 0usize..6, attempt in 1u32..=2) {
        let op = Operation::ALL[op_idx];
        let policy = op.policy();
        let mut rng = XorShift::new(seed);
        match policy.next_delay(attempt, &mut rng) {
            None => prop_assert!(attempt >= policy.max_attempts),
            Some(d) => {
                let (base, cap) = parts(policy.backoff);
                let d = d.as_secs_f64();
                prop_assert!(d >= base.as_secs_f64() * 0.9 - 1e-9);
                prop_assert!(d <= cap.as_secs_f64() * 1.1 + 1e-9);
                let k = policy.base_delay(attempt).as_secs_f64();
                prop_assert!(d >= k * 0.9 - 1e-9 && d <= k * 1.1 + 1e-9);
            }
        }
    }

    #[test]
    fn deadline_is_never_overshot_by_a_granted_delay(
        seed in any::<u64>(),
        elapsed_ms in 0u64..20_000,
        hint_ms in proptest::option::of(0u64..30_000),
    ) {
        let policy = RetryPolicy::db_write();
        let deadline = policy.deadline.unwrap();
        let kind = hint_ms.map_or(ErrorKind::Retryable, |h| ErrorKind::RetryableAfter(ms(h)));
        let mut rng = XorShift::new(seed);
        match policy.decide(1, kind, ms(elapsed_ms), None, &mut rng) {
            Decision::RetryAfter(d) => {
                prop_assert!(ms(elapsed_ms) + d < deadline);
                if let Some(h) = hint_ms {
                    prop_assert!(d >= ms(h));
                }
            }
            Decision::GiveUp(r) => prop_assert_eq!(r, GiveUpReason::DeadlineWouldPass),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Deadline and classification.
// ---------------------------------------------------------------------------------------

fn fixed_100ms_deadline_1s() -> RetryPolicy {
    RetryPolicy::new(10, Backoff::Fixed(ms(100)), secs(1))
        .with_jitter(Jitter::None)
        .with_deadline(Some(secs(1)))
}

#[test]
fn deadline_refuses_a_retry_that_would_reach_it() {
    let p = fixed_100ms_deadline_1s();
    let mut rng = XorShift::new(1);
    let decide = |elapsed: Duration, rng: &mut XorShift| {
        p.decide(1, ErrorKind::Retryable, elapsed, None, rng)
    };
    // 899.999999999 ms + 100 ms < 1 s: allowed.
    assert_eq!(
        decide(ms(900) - Duration::from_nanos(1), &mut rng),
        Decision::RetryAfter(ms(100))
    );
    // Exactly at the deadline: refused (the next try would have no time to run).
    assert_eq!(
        decide(ms(900), &mut rng),
        Decision::GiveUp(GiveUpReason::DeadlineWouldPass)
    );
    assert_eq!(
        decide(ms(950), &mut rng),
        Decision::GiveUp(GiveUpReason::DeadlineWouldPass)
    );
    // Already past the deadline.
    assert_eq!(
        decide(secs(2), &mut rng),
        Decision::GiveUp(GiveUpReason::DeadlineWouldPass)
    );
    // Without a deadline the same elapsed time is fine.
    let no_deadline = p.clone().with_deadline(None);
    assert_eq!(
        no_deadline.decide(1, ErrorKind::Retryable, secs(2), None, &mut rng),
        Decision::RetryAfter(ms(100))
    );
}

#[test]
fn permanent_errors_are_not_retried_and_cost_no_budget() {
    let budget = one_token_budget();
    let mut rng = XorShift::new(1);
    let mut state = RetryState::new(Duration::ZERO);
    let d = state.on_failure(
        &RetryPolicy::db_write(),
        ErrorKind::Permanent,
        ms(5),
        Some(&budget),
        &mut rng,
    );
    assert_eq!(d, Decision::GiveUp(GiveUpReason::NotRetryable));
    assert!(budget.try_withdraw(ms(5)), "the token is still there");
}

#[test]
fn retry_after_is_honoured_as_a_minimum_and_bounded_by_the_deadline() {
    let p = RetryPolicy::db_write(); // deadline 15.33 s, cap 5 s
    let mut rng = XorShift::new(3);
    // A hint above the backoff (and above the cap) is used as is.
    assert_eq!(
        p.decide(
            1,
            ErrorKind::RetryableAfter(secs(7)),
            secs(1),
            None,
            &mut rng
        ),
        Decision::RetryAfter(secs(7))
    );
    // A hint below the backoff does not shorten it.
    match p.decide(1, ErrorKind::RetryableAfter(ms(1)), secs(1), None, &mut rng) {
        Decision::RetryAfter(d) => assert!(d >= ms(90) && d <= ms(110), "{d:?}"),
        other => panic!("{other:?}"),
    }
    // A hint that would pass the deadline ends the retries.
    assert_eq!(
        p.decide(
            1,
            ErrorKind::RetryableAfter(secs(15)),
            secs(1),
            None,
            &mut rng
        ),
        Decision::GiveUp(GiveUpReason::DeadlineWouldPass)
    );
    // Still limited by max_attempts.
    assert_eq!(
        p.decide(3, ErrorKind::RetryableAfter(ms(1)), secs(1), None, &mut rng),
        Decision::GiveUp(GiveUpReason::Exhausted)
    );
}

#[test]
fn state_counts_attempts_and_shortens_the_last_timeout() {
    let p = RetryPolicy::new(
        3,
        Backoff::Exponential {
            base: ms(100),
            multiplier: 2,
            cap: secs(5),
        },
        secs(5),
    )
    .with_jitter(Jitter::None)
    .with_deadline(Some(secs(12)));
    let mut rng = XorShift::new(1);
    let mut s = RetryState::new(secs(100));
    assert_eq!(
        s.next_attempt(&p, secs(100)),
        Attempt {
            number: 1,
            timeout: secs(5)
        }
    );
    let t = secs(100) + ms(4_900);
    assert_eq!(
        s.on_failure(&p, ErrorKind::Retryable, t, None, &mut rng),
        Decision::RetryAfter(ms(100))
    );
    assert_eq!(s.failures(), 1);
    assert_eq!(s.last_delay(), Some(ms(100)));
    let t = t + ms(100);
    assert_eq!(s.next_attempt(&p, t).number, 2);
    assert_eq!(s.next_attempt(&p, t).timeout, secs(5));
    let t = t + ms(4_900);
    assert_eq!(
        s.on_failure(&p, ErrorKind::Retryable, t, None, &mut rng),
        Decision::RetryAfter(ms(200))
    );
    let t = t + ms(200); // 10.1 s after the start: 1.9 s left
    assert_eq!(
        s.next_attempt(&p, t),
        Attempt {
            number: 3,
            timeout: ms(1_900)
        }
    );
    assert_eq!(
        s.on_failure(&p, ErrorKind::Retryable, t + ms(1), None, &mut rng),
        Decision::GiveUp(GiveUpReason::Exhausted)
    );
}

#[test]
fn validate_rejects_nonsense() {
    use pharm_shard::retry::PolicyError;
    let ok = RetryPolicy::db_write();
    assert_eq!(
        ok.clone().with_max_attempts(0).validate(),
        Err(PolicyError::ZeroAttempts)
    );
    assert_eq!(
        ok.clone().with_jitter(Jitter::Proportional(1.5)).validate(),
        Err(PolicyError::JitterFactor(1.5))
    );
    let mut p = ok.clone();
    p.backoff = Backoff::Exponential {
        base: ms(100),
        multiplier: 0,
        cap: secs(1),
    };
    assert_eq!(p.validate(), Err(PolicyError::ZeroMultiplier));
    p.backoff = Backoff::Linear {
        base: secs(2),
        cap: secs(1),
    };
    assert!(matches!(
        p.validate(),
        Err(PolicyError::CapBelowBase { .. })
    ));
    // Invalid values are clamped rather than panicking.
    let mut rng = XorShift::new(1);
    let wild = ok.with_jitter(Jitter::Proportional(f64::NAN));
    assert_eq!(wild.next_delay(1, &mut rng), Some(ms(100)));
    let zero = RetryPolicy::db_write().with_max_attempts(0);
    assert_eq!(zero.next_delay(1, &mut rng), None);
}

#[test]
fn policy_round_trips_through_serde() {
    for op in Operation::ALL {
        let p = op.policy();
        let json = serde_json::to_string(&p).unwrap();
        let back: RetryPolicy = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
    assert_eq!(
        serde_json::to_string(&Operation::DbWrite).unwrap(),
        "\"db_write\""
    );
}

// ---------------------------------------------------------------------------------------
// Retry budget.
// ---------------------------------------------------------------------------------------

fn one_token_budget() -> RetryBudget {
    let b = RetryBudget::new(
        RetryBudgetConfig {
            ratio: 1.0,
            min_retries_per_sec: 0,
            max_tokens: 10,
        },
        Duration::ZERO,
    )
    .unwrap();
    b.deposit(Duration::ZERO);
    b
}

/// Full outage: every try fails. `requests` first attempts, one every `gap`, each with up
/// to `max_attempts` tries and no backoff. Returns total tries.
fn outage_attempts(
    budget: Option<&RetryBudget>,
    requests: u64,
    gap: Duration,
    max_attempts: u32,
) -> u64 {
    let policy = RetryPolicy::new(max_attempts, Backoff::None, secs(1)).with_jitter(Jitter::None);
    let mut rng = XorShift::new(11);
    let mut total = 0;
    for i in 0..requests {
        let now = gap * i as u32;
        let mut state = RetryState::new(now);
        if let Some(b) = budget {
            b.deposit(now);
        }
        loop {
            total += 1;
            match state.on_failure(&policy, ErrorKind::Retryable, now, budget, &mut rng) {
                Decision::RetryAfter(_) => continue,
                Decision::GiveUp(_) => break,
            }
        }
    }
    total
}

#[test]
fn budget_bounds_amplification_during_an_outage() {
    let requests = 1_000u64;
    let gap = ms(50); // 1 000 requests over 50 s
    let seconds = 50.0;
    let max_attempts = 10;
    let (ratio, floor) = (0.1, 2u32);

    let unbudgeted = outage_attempts(None, requests, gap, max_attempts);
    assert_eq!(unbudgeted, requests * u64::from(max_attempts));

    let budget = RetryBudget::new(
        RetryBudgetConfig {
            ratio,
            min_retries_per_sec: floor,
            max_tokens: 1_000,
        },
        Duration::ZERO,
    )
    .unwrap();
    let budgeted = outage_attempts(Some(&budget), requests, gap, max_attempts);
    let bound = requests as f64 * (1.0 + ratio) + f64::from(floor) * seconds;
    assert!(
        budgeted as f64 <= bound,
        "{budgeted} attempts > bound {bound}"
    );
    // The budget is actually used (and the floor contributes), not just refusing
    // everything.
    assert!(budgeted as f64 >= requests as f64 * (1.0 + ratio) + f64::from(floor) * 45.0);
    assert!(budgeted < unbudgeted / 5);
}

#[test]
fn budget_floor_lets_low_volume_callers_retry_and_caps_bursts() {
    let b = RetryBudget::new(
        RetryBudgetConfig {
            ratio: 0.0,
            min_retries_per_sec: 10,
            max_tokens: 5,
        },
        Duration::ZERO,
    )
    .unwrap();
    assert!(!b.try_withdraw(Duration::ZERO), "starts empty");
    assert!(
        b.try_withdraw(ms(100)),
        "10/s floor: one token after 100 ms"
    );
    assert!(!b.try_withdraw(ms(100)));
    // After a long quiet period only max_tokens are available.
    let later = secs(3_600);
    let granted = (0..100).filter(|_| b.try_withdraw(later)).count();
    assert_eq!(granted, 5);
    assert!((b.available(later) - 0.0).abs() < 1e-9);
    assert_eq!(RetryBudgetConfig::default().ratio, 0.2);
}

#[test]
fn budget_is_thread_safe() {
    let b = Arc::new(
        RetryBudget::new(
            RetryBudgetConfig {
                ratio: 1.0,
                min_retries_per_sec: 0,
                max_tokens: 1_000,
            },
            Duration::ZERO,
        )
        .unwrap(),
    );
    for _ in 0..300 {
        b.deposit(Duration::ZERO);
    }
    let granted = Arc::new(AtomicU32::new(0));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let b = Arc::clone(&b);
            let granted = Arc::clone(&granted);
            std::thread::spawn(move || {
                for _ in 0..100 {
                    if b.try_withdraw(Duration::ZERO) {
                        granted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(granted.load(Ordering::Relaxed), 300);
}

// ---------------------------------------------------------------------------------------
// The async helper with a fake clock and sleeper.
// ---------------------------------------------------------------------------------------

/// Sleeping advances the fake clock and records the sleep.
struct FakeSleeper {
    clock: ManualClock,
    slept: Mutex<Vec<Duration>>,
}

impl FakeSleeper {
    fn new(clock: &ManualClock) -> Self {
        Self {
            clock: clock.clone(),
            slept: Mutex::new(Vec::new()),
        }
    }

    fn sleeps(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }

    fn total(&self) -> Duration {
        self.sleeps().iter().sum()
    }
}

#[async_trait]
impl Sleep for FakeSleeper {
    async fn sleep(&self, d: Duration) {
        self.clock.advance(d);
        self.slept.lock().unwrap().push(d);
    }
}

#[derive(Debug, Clone, PartialEq)]
struct TestError(ErrorKind);

impl Classify for TestError {
    fn classify(&self) -> ErrorKind {
        self.0
    }
}

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "test error {:?}", self.0)
    }
}

impl std::error::Error for TestError {}

#[tokio::test(flavor = "current_thread")]
async fn helper_succeeds_on_the_third_try() {
    let clock = ManualClock::default();
    let sleeper = FakeSleeper::new(&clock);
    let mut rng = XorShift::new(1);
    let policy = RetryPolicy::db_write().with_jitter(Jitter::None);
    let mut seen = Vec::new();
    let out = retry(&policy, None, &clock, &sleeper, &mut rng, |a| {
        seen.push(a);
        let c = clock.clone();
        async move {
            c.advance(ms(10));
            if a.number < 3 {
                Err(TestError(ErrorKind::Retryable))
            } else {
                Ok(a.number * 10)
            }
        }
    })
    .await;
    assert_eq!(out, Ok(30));
    assert_eq!(seen.iter().map(|a| a.number).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(seen.iter().all(|a| a.timeout == secs(5)));
    assert_eq!(sleeper.sleeps(), [ms(100), ms(200)]);
    assert_eq!(clock.now(), ms(330));
}

#[tokio::test(flavor = "current_thread")]
async fn helper_gives_up_after_max_attempts() {
    let clock = ManualClock::default();
    let sleeper = FakeSleeper::new(&clock);
    let mut rng = XorShift::new(2);
    let policy = RetryPolicy::insurance();
    let calls = AtomicU32::new(0);
    let out: Result<(), _> = retry(&policy, None, &clock, &sleeper, &mut rng, |_| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Err(TestError(ErrorKind::Retryable)) }
    })
    .await;
    let err = out.unwrap_err();
    assert_eq!(err.attempts, 3);
    assert_eq!(err.reason, GiveUpReason::Exhausted);
    assert_eq!(err.last, TestError(ErrorKind::Retryable));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // Jittered 2 s and 4 s, ±10 %.
    let s = sleeper.sleeps();
    assert_eq!(s.len(), 2);
    assert!(s[0] >= ms(1_800) && s[0] <= ms(2_200), "{s:?}");
    assert!(s[1] >= ms(3_600) && s[1] <= ms(4_400), "{s:?}");
    assert!(sleeper.total() >= ms(5_400) && sleeper.total() <= ms(6_600));
    assert!(err.to_string().contains("gave up after 3 attempt(s)"));
    assert!(std::error::Error::source(&err).is_some());
}

/// The attempt count behind each growing wait is observable: `retry_notify` reports the
/// failed try's number, the wait it earned (100 ms, 200 ms, 400 ms: doubling) and the
/// error, before sleeping; nothing when it gives up.
#[tokio::test(flavor = "current_thread")]
async fn helper_reports_the_attempt_behind_each_wait() {
    let clock = ManualClock::default();
    let sleeper = FakeSleeper::new(&clock);
    let mut rng = XorShift::new(3);
    let policy = RetryPolicy::db_write()
        .with_jitter(Jitter::None)
        .with_max_attempts(4)
        .with_deadline(None);
    let mut events = Vec::new();
    let out: Result<(), _> = retry_notify(
        &policy,
        None,
        &clock,
        &sleeper,
        &mut rng,
        |a| async move {
            Err(TestError(ErrorKind::RetryableAfter(ms(u64::from(
                a.number,
            )))))
        },
        |e| events.push((e.attempt, e.delay, e.error.clone())),
    )
    .await;
    let err = out.unwrap_err();
    assert_eq!((err.attempts, err.reason), (4, GiveUpReason::Exhausted));
    let hint = |n| TestError(ErrorKind::RetryableAfter(ms(n)));
    assert_eq!(
        events,
        [
            (1, ms(100), hint(1)),
            (2, ms(200), hint(2)),
            (3, ms(400), hint(3)),
        ]
    );
    assert_eq!(sleeper.sleeps(), [ms(100), ms(200), ms(400)]);
    // A Retry-After hint above the backoff is the wait reported.
    let mut events = Vec::new();
    let _: Result<(), _> = retry_notify(
        &policy.clone().with_max_attempts(2),
        None,
        &clock,
        &sleeper,
        &mut rng,
        |_| async { Err(TestError(ErrorKind::RetryableAfter(secs(3)))) },
        |e| events.push((e.attempt, e.delay)),
    )
    .await;
    assert_eq!(events, [(1, secs(3))]);
}

#[tokio::test(flavor = "current_thread")]
async fn helper_does_not_retry_permanent_errors_or_cache() {
    let clock = ManualClock::default();
    let sleeper = FakeSleeper::new(&clock);
    let mut rng = XorShift::new(3);
    let calls = AtomicU32::new(0);
    let out: Result<(), RetryError<TestError>> = retry(
        &RetryPolicy::pmp(),
        None,
        &clock,
        &sleeper,
        &mut rng,
        |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(TestError(ErrorKind::Permanent)) }
        },
    )
    .await;
    assert_eq!(out.unwrap_err().reason, GiveUpReason::NotRetryable);

    let out: Result<(), RetryError<TestError>> = retry(
        &RetryPolicy::cache(),
        None,
        &clock,
        &sleeper,
        &mut rng,
        |a| {
            assert_eq!(a.timeout, ms(100));
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(TestError(ErrorKind::Retryable)) }
        },
    )
    .await;
    let err = out.unwrap_err();
    assert_eq!((err.attempts, err.reason), (1, GiveUpReason::Exhausted));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(sleeper.sleeps().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn helper_honours_retry_after_and_stops_at_the_deadline() {
    let clock = ManualClock::default();
    let sleeper = FakeSleeper::new(&clock);
    let mut rng = XorShift::new(4);
    // PMP: deadline 33.3 s. Each try takes 10 s (its full timeout) and asks for 12 s.
    let policy = RetryPolicy::pmp();
    let mut timeouts = Vec::new();
    let out: Result<(), _> = retry(&policy, None, &clock, &sleeper, &mut rng, |a| {
        timeouts.push(a.timeout);
        let c = clock.clone();
        async move {
            c.advance(secs(10));
            Err(TestError(ErrorKind::RetryableAfter(secs(12))))
        }
    })
    .await;
    let err = out.unwrap_err();
    // t=10 fail, sleep 12 → t=22, try 2 (11.3 s left, timeout 10 s), t=32 fail, 32+12 ≥ 33.3.
    assert_eq!(err.attempts, 2);
    assert_eq!(err.reason, GiveUpReason::DeadlineWouldPass);
    assert_eq!(sleeper.sleeps(), [secs(12)]);
    assert_eq!(timeouts, [secs(10), secs(10)]);
}

#[tokio::test(flavor = "current_thread")]
async fn helper_passes_the_shortened_timeout_near_the_deadline() {
    let clock = ManualClock::default();
    let sleeper = FakeSleeper::new(&clock);
    let mut rng = XorShift::new(5);
    let policy = RetryPolicy::db_write()
        .with_jitter(Jitter::None)
        .with_deadline(Some(secs(12)));
    let mut timeouts = Vec::new();
    let out: Result<(), _> = retry(&policy, None, &clock, &sleeper, &mut rng, |a| {
        timeouts.push(a.timeout);
        let c = clock.clone();
        async move {
            c.advance(ms(4_900));
            Err(TestError(ErrorKind::Retryable))
        }
    })
    .await;
    assert_eq!(out.unwrap_err().attempts, 3);
    assert_eq!(timeouts, [secs(5), secs(5), ms(1_900)]);
}

#[tokio::test(flavor = "current_thread")]
async fn helper_with_budget_bounds_total_attempts_in_an_outage() {
    let clock = ManualClock::default();
    let sleeper = FakeSleeper::new(&clock);
    let mut rng = XorShift::new(6);
    let (ratio, floor) = (0.1, 1u32);
    let budget = RetryBudget::new(
        RetryBudgetConfig {
            ratio,
            min_retries_per_sec: floor,
            max_tokens: 100,
        },
        clock.now(),
    )
    .unwrap();
    let policy = RetryPolicy::db_write();
    let calls = AtomicU32::new(0);
    let requests = 500u32;
    let mut budget_refusals = 0;
    for _ in 0..requests {
        let out: Result<(), _> = retry(&policy, Some(&budget), &clock, &sleeper, &mut rng, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            let c = clock.clone();
            async move {
                c.advance(ms(5));
                Err(TestError(ErrorKind::Retryable))
            }
        })
        .await;
        if out.unwrap_err().reason == GiveUpReason::BudgetExhausted {
            budget_refusals += 1;
        }
    }
    let seconds = clock.now().as_secs_f64();
    let total = f64::from(calls.load(Ordering::SeqCst));
    let bound = f64::from(requests) * (1.0 + ratio) + f64::from(floor) * seconds;
    assert!(total <= bound, "{total} > {bound} over {seconds} s");
    assert!(total < f64::from(requests * policy.max_attempts) / 2.0);
    assert!(budget_refusals > requests / 2);
}

#[test]
fn helper_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let clock = ManualClock::default();
    let sleeper = FakeSleeper::new(&clock);
    let mut rng = XorShift::new(1);
    let policy = RetryPolicy::internal();
    let fut = retry(&policy, None, &clock, &sleeper, &mut rng, |_| async {
        Ok::<_, TestError>(())
    });
    assert_send(&fut);
}

#[test]
fn rng_source_is_object_safe_and_deterministic() {
    let mut a = XorShift::new(99);
    let mut b = XorShift::new(99);
    let dyn_a: &mut dyn RngSource = &mut a;
    let p = RetryPolicy::pmp();
    let x = p.next_delay(1, dyn_a);
    let y = p.next_delay(1, &mut b);
    assert_eq!(x, y);
}
