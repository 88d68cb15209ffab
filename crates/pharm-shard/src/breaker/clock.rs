//! Injected time: the [`Clock`] trait, a [`ManualClock`] for tests and a [`SystemClock`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A monotonic clock, read as the time elapsed since the clock's epoch.
///
/// The breaker never reads the system time itself: the OPEN wait, the HALF_OPEN maximum
/// wait and the TIME_BASED window all read this clock, so a test drives every
/// time-dependent transition by advancing a [`ManualClock`].
///
/// TIME_BASED windows use one bucket per whole second of this clock
/// (`now().as_secs()`), as resilience4j uses one bucket per epoch second; a clock whose
/// epoch is the Unix epoch (as [`SystemClock`]'s is) therefore aligns buckets with
/// wall-clock seconds.
pub trait Clock: Send + Sync {
    /// Time elapsed since the clock's epoch. Must never go backwards.
    fn now(&self) -> Duration;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// Nanosecond resolution, stored in an `AtomicU64` (about 584 years of range).
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at its epoch (time zero).
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock at `t` after its epoch.
    pub fn starting_at(t: Duration) -> Self {
        let clock = Self::new();
        clock.set(t);
        clock
    }

    /// Moves the clock forward by `d` (saturating).
    pub fn advance(&self, d: Duration) {
        let d = duration_to_nanos(d);
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(d))
            });
    }

    /// Sets the clock to `t` after its epoch. Setting it backwards breaks the [`Clock`]
    /// contract; the breaker tolerates it (a TIME_BASED window then does not move) but
    /// waits are measured against the new value.
    pub fn set(&self, t: Duration) {
        self.nanos.store(duration_to_nanos(t), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// The production clock: [`Instant`] (monotonic) offset by the Unix time read once at
/// construction, so whole seconds line up with wall-clock seconds as resilience4j's
/// epoch-second buckets do, yet the clock never goes backwards if the wall clock is
/// adjusted.
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: Instant,
    origin_since_epoch: Duration,
}

impl SystemClock {
    /// A clock anchored at the current instant.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            origin_since_epoch: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin_since_epoch
            .saturating_add(self.origin.elapsed())
    }
}

/// Saturating conversion of a [`Duration`] to nanoseconds.
pub(crate) fn duration_to_nanos(d: Duration) -> u64 {
    // In u64 arithmetic: cheaper on the recording path than `as_nanos()` (a u128).
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

/// Reads the injected clock at most once per breaker operation, and only if the
/// operation needs the time (a closed COUNT_BASED breaker never reads it).
pub(crate) struct LazyNow<'a> {
    clock: &'a dyn Clock,
    cached: Option<Duration>,
}

impl<'a> LazyNow<'a> {
    pub(crate) fn new(clock: &'a dyn Clock) -> Self {
        Self {
            clock,
            cached: None,
        }
    }

    /// A reading fixed at `now` (a caller that keeps its own time); the clock is not read.
    pub(crate) fn at(clock: &'a dyn Clock, now: Duration) -> Self {
        Self {
            clock,
            cached: Some(now),
        }
    }

    fn read(&mut self) -> Duration {
        match self.cached {
            Some(t) => t,
            None => {
                let t = self.clock.now();
                self.cached = Some(t);
                t
            }
        }
    }

    /// Nanoseconds since the clock's epoch.
    pub(crate) fn get(&mut self) -> u64 {
        duration_to_nanos(self.read())
    }

    /// Whole seconds since the clock's epoch (the TIME_BASED bucket key).
    pub(crate) fn epoch_second(&mut self) -> u64 {
        self.read().as_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_to_nanos_saturates_exactly_at_u64_max() {
        let max = Duration::from_nanos(u64::MAX);
        for d in [
            Duration::ZERO,
            Duration::new(1, 999_999_999),
            max - Duration::from_nanos(1),
            max,
            max + Duration::from_nanos(1),
            Duration::new(u64::MAX / 1_000_000_000, 999_999_999),
            Duration::new(u64::MAX / 1_000_000_000 + 1, 0),
            Duration::MAX,
        ] {
            let reference = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            assert_eq!(duration_to_nanos(d), reference, "{d:?}");
        }
    }
}
