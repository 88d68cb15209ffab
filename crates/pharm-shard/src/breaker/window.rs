//! Sliding windows and threshold evaluation (resilience4j `FixedSizeSlidingWindowMetrics`,
//! `SlidingTimeWindowMetrics` and `CircuitBreakerMetrics`).

use std::time::Duration;

use super::config::{CircuitBreakerConfig, SlidingWindowType};
use super::lazy_now::LazyNow;
use super::state::State;

/// One recorded outcome (resilience4j `Outcome`: SUCCESS, ERROR, SLOW_SUCCESS, SLOW_ERROR).
/// The call's duration travels beside it (nanoseconds, saturated at `u64::MAX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) failed: bool,
    pub(crate) slow: bool,
}

/// Aggregated counts and durations of a window or a bucket (resilience4j
/// `AbstractAggregation`).
///
/// The duration total is a `u128` of nanoseconds: even 2⁶⁴ calls of the longest duration
/// fit, so adding and subtracting stay exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) calls: u64,
    pub(crate) failed: u64,
    pub(crate) slow: u64,
    pub(crate) slow_failed: u64,
    pub(crate) duration_nanos: u128,
}

impl Totals {
    fn add(&mut self, o: Outcome, nanos: u64) {
        self.duration_nanos += u128::from(nanos);
        self.calls += 1;
        self.failed += u64::from(o.failed);
        self.slow += u64::from(o.slow);
        self.slow_failed += u64::from(o.slow && o.failed);
    }

    fn remove_outcome(&mut self, o: Outcome, nanos: u64) {
        self.duration_nanos -= u128::from(nanos);
        self.calls -= 1;
        self.failed -= u64::from(o.failed);
        self.slow -= u64::from(o.slow);
        self.slow_failed -= u64::from(o.slow && o.failed);
    }

    fn remove(&mut self, other: &Totals) {
        self.calls -= other.calls;
        self.failed -= other.failed;
        self.slow -= other.slow;
        self.slow_failed -= other.slow_failed;
        self.duration_nanos -= other.duration_nanos;
    }
}

/// COUNT_BASED: the last N outcomes in a ring, with a running total that subtracts the
/// outcome being overwritten ("subtract on evict"); O(1) record and snapshot. The
/// durations sit in a parallel ring, so the outcome ring stays at 2 bytes a call and a
/// recording touches less memory than with one 16-byte slot per call.
#[derive(Debug)]
pub(crate) struct CountWindow {
    slots: Box<[Option<Outcome>]>,
    /// The duration of the outcome in the same slot (nanoseconds).
    nanos: Box<[u64]>,
    head: usize,
    totals: Totals,
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> Self {
        let size = usize::try_from(size.max(1)).unwrap_or(usize::MAX);
        Self {
            slots: vec![None; size].into_boxed_slice(),
            nanos: vec![0; size].into_boxed_slice(),
            head: 0,
            totals: Totals::default(),
        }
    }

    fn record(&mut self, o: Outcome, nanos: u64) {
        self.head += 1;
        if self.head >= self.slots.len() {
            self.head = 0;
        }
        if let (Some(slot), Some(slot_nanos)) =
            (self.slots.get_mut(self.head), self.nanos.get_mut(self.head))
        {
            let old_nanos = std::mem::replace(slot_nanos, nanos);
            if let Some(old) = slot.replace(o) {
                self.totals.remove_outcome(old, old_nanos);
            }
            self.totals.add(o, nanos);
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    epoch_second: u64,
    totals: Totals,
}

/// TIME_BASED: N one-second buckets keyed by the clock's whole second. Before every
/// record and snapshot the window moves to the current second, evicting
/// `min(current − head, N)` buckets, so an outcome recorded in second `s` leaves the
/// window when the clock reaches second `s + N`.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    buckets: Box<[Bucket]>,
    head: usize,
    totals: Totals,
}

impl TimeWindow {
    pub(crate) fn new(size: u32, now_second: u64) -> Self {
        let size = usize::try_from(size.max(1)).unwrap_or(usize::MAX);
        let mut buckets = vec![Bucket::default(); size].into_boxed_slice();
        if let Some(head) = buckets.first_mut() {
            head.epoch_second = now_second;
        }
        Self {
            buckets,
            head: 0,
            totals: Totals::default(),
        }
    }

    fn advance(&mut self, now_second: u64) {
        let head_second = self.buckets.get(self.head).map_or(0, |b| b.epoch_second);
        // A clock that went backwards does not move the window (resilience4j would
        // misbehave; the Clock contract forbids it).
        if now_second <= head_second {
            return;
        }
        let len = self.buckets.len();
        let moves = (now_second - head_second).min(u64::try_from(len).unwrap_or(u64::MAX));
        for k in (0..moves).rev() {
            self.head += 1;
            if self.head >= len {
                self.head = 0;
            }
            if let Some(bucket) = self.buckets.get_mut(self.head) {
                self.totals.remove(&bucket.totals);
                *bucket = Bucket {
                    epoch_second: now_second - k,
                    totals: Totals::default(),
                };
            }
        }
    }

    fn record(&mut self, o: Outcome, nanos: u64, now_second: u64) {
        self.advance(now_second);
        if let Some(bucket) = self.buckets.get_mut(self.head) {
            bucket.totals.add(o, nanos);
            self.totals.add(o, nanos);
        }
    }

    fn snapshot(&mut self, now_second: u64) -> Totals {
        self.advance(now_second);
        self.totals
    }
}

#[derive(Debug)]
enum Window {
    Count(CountWindow),
    Time(TimeWindow),
    /// DISABLED and FORCED_OPEN: nothing is recorded.
    Off,
}

/// One state's metrics object (resilience4j `CircuitBreakerMetrics`): a window, the
/// effective minimum number of calls and the not-permitted counter.
#[derive(Debug)]
pub(crate) struct Metrics {
    window: Window,
    minimum_calls: u64,
    pub(crate) not_permitted: u64,
}

/// Result of a threshold check (resilience4j `CircuitBreakerMetrics.Result`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Fewer calls than the effective minimum (or none): no transition.
    BelowMinimum,
    /// Both rates below their thresholds.
    BelowThresholds,
    /// At least one rate `>=` its threshold; the rate of each exceeded threshold.
    Exceeded {
        failure_rate: Option<f32>,
        slow_call_rate: Option<f32>,
    },
}

impl Metrics {
    /// CLOSED and METRICS_ONLY (resilience4j `forClosed` / `forMetricsOnly`).
    pub(crate) fn for_closed(config: &CircuitBreakerConfig, now: &mut LazyNow<'_>) -> Self {
        let window = match config.sliding_window_type {
            SlidingWindowType::CountBased => {
                Window::Count(CountWindow::new(config.sliding_window_size))
            }
            SlidingWindowType::TimeBased => Window::Time(TimeWindow::new(
                config.sliding_window_size,
                now.epoch_second(),
            )),
        };
        Self {
            window,
            minimum_calls: u64::from(config.effective_minimum_number_of_calls()),
            not_permitted: 0,
        }
    }

    /// HALF_OPEN: a fresh COUNT_BASED window of the permitted size.
    pub(crate) fn for_half_open(config: &CircuitBreakerConfig) -> Self {
        Self {
            window: Window::Count(CountWindow::new(
                config.permitted_number_of_calls_in_half_open_state,
            )),
            minimum_calls: u64::from(config.effective_minimum_number_of_calls_in_half_open_state()),
            not_permitted: 0,
        }
    }

    /// DISABLED and FORCED_OPEN: records nothing, counts rejections.
    pub(crate) fn off() -> Self {
        Self {
            window: Window::Off,
            minimum_calls: 1,
            not_permitted: 0,
        }
    }

    /// Records one outcome (moving a TIME_BASED window to the current second first).
    pub(crate) fn record(&mut self, o: Outcome, nanos: u64, now: &mut LazyNow<'_>) {
        match &mut self.window {
            Window::Count(w) => w.record(o, nanos),
            Window::Time(w) => w.record(o, nanos, now.epoch_second()),
            Window::Off => {}
        }
    }

    /// The window's totals as last recorded or moved (read in place: the recording path
    /// evaluates them without copying).
    fn recorded(&self) -> &Totals {
        static NOTHING: Totals = Totals {
            calls: 0,
            failed: 0,
            slow: 0,
            slow_failed: 0,
            duration_nanos: 0,
        };
        match &self.window {
            Window::Count(w) => &w.totals,
            Window::Time(w) => &w.totals,
            Window::Off => &NOTHING,
        }
    }

    /// The window's totals now (moves a TIME_BASED window).
    pub(crate) fn totals(&mut self, now: &mut LazyNow<'_>) -> Totals {
        match &mut self.window {
            Window::Count(w) => w.totals,
            Window::Time(w) => w.snapshot(now.epoch_second()),
            Window::Off => Totals::default(),
        }
    }

    /// `(failure rate, slow-call rate)` in percent, or `None` below the minimum
    /// (resilience4j reports −1 there).
    pub(crate) fn rates(&self, t: &Totals) -> Option<(f32, f32)> {
        if t.calls == 0 || t.calls < self.minimum_calls {
            return None;
        }
        // The same f32 arithmetic as resilience4j's SnapshotImpl
        // (`failed * 100.0f / total`), so boundary results match bit for bit.
        let total = t.calls as f32;
        Some((
            t.failed as f32 * 100.0 / total,
            t.slow as f32 * 100.0 / total,
        ))
    }

    /// resilience4j `checkIfThresholdsExceeded` on the totals after the last
    /// [`record`](Self::record): `>=` on both rates.
    pub(crate) fn evaluate(&self, config: &CircuitBreakerConfig) -> Verdict {
        let Some((failure_rate, slow_call_rate)) = self.rates(self.recorded()) else {
            return Verdict::BelowMinimum;
        };
        let failure = failure_rate >= config.failure_rate_threshold;
        let slow = slow_call_rate >= config.slow_call_rate_threshold;
        if failure || slow {
            Verdict::Exceeded {
                failure_rate: failure.then_some(failure_rate),
                slow_call_rate: slow.then_some(slow_call_rate),
            }
        } else {
            Verdict::BelowThresholds
        }
    }
}

/// A point-in-time view of the breaker's current metrics (resilience4j
/// `CircuitBreaker.Metrics`).
///
/// OPEN shows the metrics of the state it came from (the CLOSED window that tripped it,
/// plus OPEN's rejections); HALF_OPEN shows its own probe window; DISABLED shows nothing;
/// FORCED_OPEN shows only rejections.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The state when the snapshot was taken.
    pub state: State,
    /// Failure rate in percent, `None` while fewer calls than the effective minimum have
    /// been recorded (resilience4j returns −1).
    pub failure_rate: Option<f32>,
    /// Slow-call rate in percent, `None` below the minimum (resilience4j: −1).
    pub slow_call_rate: Option<f32>,
    /// Calls in the window ("buffered calls").
    pub calls: u64,
    /// Failed calls in the window (slow or not).
    pub failed: u64,
    /// Successful calls in the window (slow or not).
    pub successful: u64,
    /// Slow calls in the window (successful or failed).
    pub slow: u64,
    /// Slow failed calls in the window.
    pub slow_failed: u64,
    /// Calls rejected since the current metrics object was created.
    pub not_permitted: u64,
    /// Sum of the durations of the calls in the window, as reported to the permits
    /// (resilience4j `Snapshot.getTotalDuration`, kept here in nanoseconds rather than
    /// milliseconds; saturates at [`Duration::MAX`]).
    pub total_duration: Duration,
    /// `total_duration / calls`, rounded down to the nanosecond, zero without calls
    /// (resilience4j `Snapshot.getAverageDuration`).
    pub average_duration: Duration,
}

impl Snapshot {
    pub(crate) fn new(state: State, metrics: &Metrics, t: &Totals) -> Self {
        let rates = metrics.rates(t);
        let average_nanos = t
            .duration_nanos
            .checked_div(u128::from(t.calls))
            .unwrap_or(0);
        Self {
            state,
            failure_rate: rates.map(|r| r.0),
            slow_call_rate: rates.map(|r| r.1),
            calls: t.calls,
            failed: t.failed,
            successful: t.calls - t.failed,
            slow: t.slow,
            slow_failed: t.slow_failed,
            not_permitted: metrics.not_permitted,
            total_duration: duration_from_nanos(t.duration_nanos),
            average_duration: duration_from_nanos(average_nanos),
        }
    }

    /// Slow successful calls in the window.
    pub fn slow_successful(&self) -> u64 {
        self.slow - self.slow_failed
    }
}

/// Nanoseconds as a [`Duration`], saturating at [`Duration::MAX`].
fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        // The remainder is below 10⁹, so it fits in a u32.
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pharm_core::time::ManualClock;

    /// Outcomes with their durations in nanoseconds.
    const OK: (Outcome, u64) = (
        Outcome {
            failed: false,
            slow: false,
        },
        10,
    );
    const ERR: (Outcome, u64) = (
        Outcome {
            failed: true,
            slow: false,
        },
        200,
    );
    const SLOW_ERR: (Outcome, u64) = (
        Outcome {
            failed: true,
            slow: true,
        },
        3_000,
    );

    #[test]
    fn count_window_subtracts_on_evict() {
        let mut w = CountWindow::new(3);
        let mut record = |(o, nanos)| {
            w.record(o, nanos);
            w.totals
        };
        record(ERR);
        record(SLOW_ERR);
        let t = record(OK);
        assert_eq!((t.calls, t.failed, t.slow, t.slow_failed), (3, 2, 1, 1));
        assert_eq!(t.duration_nanos, 3_210);
        let t = record(OK); // evicts ERR
        assert_eq!((t.calls, t.failed, t.slow, t.slow_failed), (3, 1, 1, 1));
        assert_eq!(t.duration_nanos, 3_020);
        let t = record(OK); // evicts SLOW_ERR
        assert_eq!((t.calls, t.failed, t.slow, t.slow_failed), (3, 0, 0, 0));
        assert_eq!(t.duration_nanos, 30);
    }

    #[test]
    fn count_window_of_one() {
        let mut w = CountWindow::new(1);
        w.record(ERR.0, ERR.1);
        assert_eq!(w.totals.failed, 1);
        w.record(OK.0, OK.1);
        assert_eq!((w.totals.calls, w.totals.failed), (1, 0));
    }

    #[test]
    fn time_window_evicts_at_second_boundaries() {
        let mut w = TimeWindow::new(3, 100);
        w.record(ERR.0, ERR.1, 100);
        w.record(OK.0, OK.1, 101);
        w.record(OK.0, OK.1, 102);
        assert_eq!(w.snapshot(102).calls, 3);
        assert_eq!(w.snapshot(102).duration_nanos, 220);
        // second 103 evicts second 100's bucket
        let t = w.snapshot(103);
        assert_eq!((t.calls, t.failed, t.duration_nanos), (2, 0, 20));
        // a jump longer than the window clears everything
        assert_eq!(w.snapshot(1_000).calls, 0);
        assert_eq!(w.snapshot(1_000).duration_nanos, 0);
        w.record(ERR.0, ERR.1, 1_000);
        assert_eq!(w.totals.calls, 1);
        // backwards time does not move the window
        assert_eq!(w.snapshot(10).calls, 1);
    }

    #[test]
    fn durations_saturate_only_beyond_duration_max() {
        let max = Duration::MAX.as_nanos();
        assert_eq!(duration_from_nanos(max), Duration::MAX);
        assert_eq!(duration_from_nanos(max + 1), Duration::MAX);
        assert_eq!(duration_from_nanos(u128::MAX), Duration::MAX);
        assert_eq!(
            duration_from_nanos(1_500_000_001),
            Duration::new(1, 500_000_001)
        );
        // 10,000 calls of the longest reportable duration still add up exactly.
        let mut w = CountWindow::new(CircuitBreakerConfig::MAX_SLIDING_WINDOW_SIZE);
        let slow = Outcome {
            failed: false,
            slow: true,
        };
        for _ in 0..CircuitBreakerConfig::MAX_SLIDING_WINDOW_SIZE {
            w.record(slow, u64::MAX);
        }
        assert_eq!(w.totals.duration_nanos, 10_000 * u128::from(u64::MAX));
        w.record(OK.0, OK.1);
        assert_eq!(w.totals.duration_nanos, 9_999 * u128::from(u64::MAX) + 10);
    }

    #[test]
    fn half_open_metrics_clamp_minimum() {
        let config = CircuitBreakerConfig::builder()
            .permitted_number_of_calls_in_half_open_state(3)
            .minimum_number_of_calls(2)
            .build()
            .unwrap();
        let clock = ManualClock::starting_at(Duration::from_secs(5));
        let mut now = LazyNow::new(&clock);
        let mut m = Metrics::for_half_open(&config);
        m.record(ERR.0, ERR.1, &mut now);
        assert_eq!(m.evaluate(&config), Verdict::BelowMinimum);
        m.record(OK.0, OK.1, &mut now);
        assert_eq!(
            m.evaluate(&config),
            Verdict::Exceeded {
                failure_rate: Some(50.0),
                slow_call_rate: None
            }
        );
    }
}
