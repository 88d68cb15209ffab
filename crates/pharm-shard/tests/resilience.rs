//! The `Resilience` policy driven by hand on a manual timeline (failure, retries, breaker
//! open, rejection, recovery, shared budget exhausted) and through the async helper.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use pharm_core::time::{Clock, ManualClock};
use pharm_shard::Sleep;
use pharm_shard::breaker::State;
use pharm_shard::resilience::{
    Call, Next, Outcome, Resilience, ResilienceConfig, ResilienceError, StopReason, call,
};
use pharm_shard::retry::{ErrorKind, GiveUpReason, Jitter, RetryBudgetConfig, RetryPolicy};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The `pmp-api` preset without jitter (exact waits) and with a small budget: each
/// operation earns 2 retry tokens, at most 2 are held, no per-second floor.
fn pmp_policy() -> Resilience {
    let mut config = ResilienceConfig::pmp_api();
    config.retry = RetryPolicy::pmp().with_jitter(Jitter::None);
    config.budget = RetryBudgetConfig {
        ratio: 2.0,
        min_retries_per_sec: 0,
        max_tokens: 2,
    };
    Resilience::new("pmp-api", config, Duration::ZERO).unwrap()
}

/// One try of `call` from `start` to `end` ms with `outcome`; returns what comes next.
fn attempt(call: &mut Call<'_>, start: u64, end: u64, outcome: Outcome) -> Next {
    let permit = call
        .before_call(ms(start))
        .expect("the breaker permits the try");
    call.after_call(permit, outcome, ms(end))
}

const FAIL: Outcome = Outcome::Failure(ErrorKind::Retryable);

/// Three tries failing, with the design's PMP waits (1 s, 2 s) between them, starting at
/// `t` ms; returns how the operation ended.
fn failing_operation(policy: &Resilience, t: u64) -> Next {
    let mut op = policy.begin(ms(t));
    assert_eq!(
        attempt(&mut op, t, t + 100, FAIL),
        Next::RetryAfter(ms(1_000))
    );
    assert_eq!(
        attempt(&mut op, t + 1_100, t + 1_200, FAIL),
        Next::RetryAfter(ms(2_000))
    );
    attempt(&mut op, t + 3_200, t + 3_300, FAIL)
}

#[test]
fn failure_retries_open_rejection_recovery_and_budget() {
    let policy = pmp_policy();
    let breaker = policy.breaker();

    // Failure, then retries until the tries are used up (3 calls, 3 failures).
    let mut op = policy.begin(ms(0));
    let permit = op.before_call(ms(0)).unwrap();
    assert_eq!(permit.attempt().number, 1);
    assert_eq!(permit.attempt().timeout, Duration::from_secs(10));
    assert_eq!(
        op.after_call(permit, FAIL, ms(100)),
        Next::RetryAfter(ms(1_000))
    );
    let permit = op.before_call(ms(1_100)).unwrap();
    assert_eq!(permit.attempt().number, 2);
    assert_eq!(
        op.after_call(permit, FAIL, ms(1_200)),
        Next::RetryAfter(ms(2_000))
    );
    assert_eq!(
        attempt(&mut op, 3_200, 3_300, FAIL),
        Next::GiveUp(StopReason::Retry(GiveUpReason::Exhausted))
    );
    assert_eq!(breaker.state(), State::Closed);

    // A success (4 calls), another failing operation (7 calls, 6 failures).
    let mut op = policy.begin(ms(4_000));
    assert_eq!(
        attempt(&mut op, 4_000, 4_100, Outcome::Success),
        Next::Return
    );
    assert_eq!(
        failing_operation(&policy, 5_000),
        Next::GiveUp(StopReason::Retry(GiveUpReason::Exhausted))
    );
    assert_eq!(breaker.metrics().calls, 7);

    // The 10th call (9 failures of 10 ≥ 50 %) opens the breaker: that operation gives up
    // on the breaker's word, not the retry policy's.
    assert_eq!(
        failing_operation(&policy, 9_000),
        Next::GiveUp(StopReason::BreakerOpen)
    );
    assert_eq!(breaker.state(), State::Open);

    // While OPEN, a new operation is rejected before any try, told when to come back.
    let mut op = policy.begin(ms(13_000));
    let rejected = op.before_call(ms(13_000)).unwrap_err();
    assert_eq!(rejected.not_permitted.state(), State::Open);
    assert_eq!(rejected.not_permitted.retry_after(), Some(ms(29_300)));
    assert!(
        op.before_call(ms(42_300)).is_err(),
        "exactly at the wait: still OPEN"
    );

    // Recovery: strictly after the 30 s wait, 3 successful probes close the breaker.
    for t in [42_301, 42_400, 42_500] {
        let mut probe = policy.begin(ms(t));
        assert_eq!(
            attempt(&mut probe, t, t + 50, Outcome::Success),
            Next::Return
        );
    }
    assert_eq!(breaker.state(), State::Closed);

    // Budget: two operations at once share the 2 tokens; the third retry is refused
    // although the retry policy allows it.
    let mut a = policy.begin(ms(50_000));
    let mut b = policy.begin(ms(50_000));
    assert_eq!(
        attempt(&mut a, 50_000, 50_100, FAIL),
        Next::RetryAfter(ms(1_000))
    );
    assert_eq!(
        attempt(&mut b, 50_000, 50_100, FAIL),
        Next::RetryAfter(ms(1_000))
    );
    assert_eq!(
        attempt(&mut a, 51_100, 51_200, FAIL),
        Next::GiveUp(StopReason::Retry(GiveUpReason::BudgetExhausted))
    );
    assert!(policy.budget().available(ms(51_200)) < 1.0);
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn errors_that_say_nothing_about_the_downstream_are_not_counted() {
    let policy = pmp_policy();
    for t in 0..20u64 {
        let mut op = policy.begin(ms(t * 1_000));
        assert_eq!(
            attempt(
                &mut op,
                t * 1_000,
                t * 1_000 + 10,
                Outcome::NotCounted(ErrorKind::Permanent)
            ),
            Next::GiveUp(StopReason::Retry(GiveUpReason::NotRetryable))
        );
    }
    let metrics = policy.breaker().metrics();
    assert_eq!((metrics.calls, metrics.failed), (0, 0));
    assert_eq!(policy.breaker().state(), State::Closed);
}

#[test]
fn a_dropped_permit_records_nothing() {
    let policy = pmp_policy();
    let mut op = policy.begin(ms(0));
    drop(op.before_call(ms(0)).unwrap());
    assert_eq!(policy.breaker().metrics().calls, 0);
    assert_eq!(op.failures(), 0);
}

/// Sleeping advances the manual clock and records the wait.
struct ManualSleep {
    clock: ManualClock,
    slept: Mutex<Vec<Duration>>,
}

#[async_trait]
impl Sleep for ManualSleep {
    async fn sleep(&self, duration: Duration) {
        self.clock.advance(duration);
        self.slept.lock().unwrap().push(duration);
    }
}

#[derive(Debug, Clone, PartialEq)]
struct PartnerError(ErrorKind);

impl pharm_shard::retry::Classify for PartnerError {
    fn classify(&self) -> ErrorKind {
        self.0
    }
}

#[tokio::test]
async fn the_async_helper_retries_with_jitter_and_reports_give_ups() {
    let clock = ManualClock::new();
    let sleep = ManualSleep {
        clock: clock.clone(),
        slept: Mutex::new(Vec::new()),
    };
    let policy = Resilience::preset("insurance-api", clock.now()).unwrap();

    // Two failures, then an answer: the waits are the insurance row's 2 s and 4 s ± 10 %.
    // Each try takes 500 ms, in which the budget's floor (10 retries/s) earns its tokens.
    let mut tries = 0;
    let answer = call(&policy, &clock, &sleep, |attempt| {
        tries += 1;
        clock.advance(ms(500));
        assert_eq!(attempt.number, tries);
        assert_eq!(attempt.timeout, Duration::from_secs(30));
        let result = if tries < 3 {
            Err(PartnerError(ErrorKind::Retryable))
        } else {
            Ok("approved")
        };
        async move { result }
    })
    .await;
    assert_eq!(answer, Ok("approved"));
    let slept = sleep.slept.lock().unwrap().clone();
    assert_eq!(slept.len(), 2);
    assert!((ms(1_800)..=ms(2_200)).contains(&slept[0]), "{slept:?}");
    assert!((ms(3_600)..=ms(4_400)).contains(&slept[1]), "{slept:?}");

    // A permanent error: one try, no wait, not counted by the breaker.
    let before = policy.breaker().metrics();
    let rejected = call(&policy, &clock, &sleep, |_| async {
        Err::<(), _>(PartnerError(ErrorKind::Permanent))
    })
    .await;
    assert_eq!(
        rejected,
        Err(ResilienceError::GaveUp {
            last: PartnerError(ErrorKind::Permanent),
            attempts: 1,
            reason: StopReason::Retry(GiveUpReason::NotRetryable),
        })
    );
    assert_eq!(policy.breaker().metrics().calls, before.calls);

    // A forced-open breaker rejects before the first try.
    policy.breaker().transition_to_forced_open().unwrap();
    let result = call(&policy, &clock, &sleep, |_| async {
        Ok::<_, PartnerError>(())
    })
    .await;
    assert!(matches!(
        result,
        Err(ResilienceError::Rejected {
            attempts: 0,
            last: None,
            ..
        })
    ));
}
