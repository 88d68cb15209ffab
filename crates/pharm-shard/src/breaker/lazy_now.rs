//! [`LazyNow`]: the breaker reads the injected [`Clock`] at most once per operation.

use std::time::Duration;

use pharm_core::time::{Clock, duration_to_nanos};

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
