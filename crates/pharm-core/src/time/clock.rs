//! Monotonic time for the parts of the family that measure intervals (breaker waits, retry
//! back-off, replica lag, deadlines): one [`Clock`] trait, read as the time elapsed since the
//! clock's epoch, a [`ManualClock`] that tests and simulations drive, and, behind the
//! `system-clock` feature, the production [`SystemClock`].
//!
//! Calendar time stays [`Date`](super::Date) / [`DateTime`](super::DateTime), passed in by
//! the caller. Nothing else in the family reads a system clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A monotonic clock, read as the time elapsed since the clock's epoch.
///
/// Only differences between two readings are meaningful, except that a clock whose epoch is
/// the Unix epoch (as [`SystemClock`]'s is) also gives wall-clock seconds, which the
/// breaker's TIME_BASED buckets align to. Implementations must never go backwards; callers
/// treat a reading earlier than a previous one as "no time passed".
pub trait Clock: Send + Sync {
    /// Time elapsed since the clock's epoch.
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

impl<C: Clock + ?Sized> Clock for &C {
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
    /// contract; readers tolerate it (treating it as no time passed).
    pub fn set(&self, t: Duration) {
        self.nanos.store(duration_to_nanos(t), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// The production clock: [`std::time::Instant`] (monotonic) offset by the Unix time read
/// once at construction, so whole seconds line up with wall-clock seconds, yet the clock
/// never goes backwards if the wall clock is adjusted. Behind the `system-clock` feature:
/// the domain crates never read it themselves.
#[cfg(feature = "system-clock")]
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: std::time::Instant,
    origin_since_epoch: Duration,
}

#[cfg(feature = "system-clock")]
impl SystemClock {
    /// A clock anchored at the current instant.
    pub fn new() -> Self {
        Self {
            origin: std::time::Instant::now(),
            origin_since_epoch: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
        }
    }
}

#[cfg(feature = "system-clock")]
impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "system-clock")]
impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin_since_epoch
            .saturating_add(self.origin.elapsed())
    }
}

/// A duration as whole nanoseconds, saturating at `u64::MAX` (about 584 years); in `u64`
/// arithmetic, cheaper on hot paths than `as_nanos()` (a `u128`).
pub fn duration_to_nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
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

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::starting_at(Duration::from_secs(5));
        let other = clock.clone();
        assert_eq!(other.now(), Duration::from_secs(5));
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(other.now(), Duration::from_millis(6_500));
        clock.advance(Duration::MAX);
        assert_eq!(other.now(), Duration::from_nanos(u64::MAX));
        let shared: Arc<dyn Clock> = Arc::new(other);
        assert_eq!(shared.now(), Duration::from_nanos(u64::MAX));
    }
}
