//! The L2 behind its breaker and the cache row of the retry table (1 try, no backoff,
//! 100 ms: so one breaker permit and the time limit, no retry loop or budget), with the
//! invalidations it could not take kept until it can.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pharm_core::time::Clock;
use pharm_shard::breaker::{CircuitBreaker, CircuitBreakerConfig, ConfigError, SlidingWindowType};
use pharm_shard::retry::RetryPolicy;

use crate::l2::{L2Error, L2Store};

/// The most invalidations kept while the L2 is unreachable. Past it the L2 is fenced: no
/// read or fill uses it until [`crate::Caches::clear_l2_fence`] (after the L2 was flushed).
pub const MAX_PENDING_INVALIDATIONS: usize = 100_000;

/// Why an L2 operation did not happen or did not succeed.
#[derive(Debug)]
pub(crate) enum Skipped {
    /// The breaker is open, the key has an invalidation pending, or the L2 is fenced.
    NotTried,
    /// It was tried and failed.
    Failed,
}

pub(crate) struct L2Tier {
    store: Arc<dyn L2Store>,
    breaker: CircuitBreaker,
    /// The cache row's time limit per try.
    limit: Duration,
    clock: Arc<dyn Clock>,
    pending: Mutex<HashMap<Arc<str>, Duration>>,
    /// `pending`'s length, written under its lock: every L2 operation asks whether its
    /// key is pending, and while nothing is (the normal case) it takes no lock.
    pending_len: AtomicUsize,
    fenced: AtomicBool,
}

impl std::fmt::Debug for L2Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2Tier").finish_non_exhaustive()
    }
}

/// The L2's breaker: not in the design's table (which names only the partner APIs), so
/// this crate's default: a 20-call window, open at 50 % failures or slow calls (over the
/// 100 ms limit), 5 s open, 3 probes.
pub fn l2_breaker() -> CircuitBreakerConfig {
    let built = CircuitBreakerConfig::builder()
        .sliding_window(20, 10, SlidingWindowType::CountBased)
        .failure_rate_threshold(50.0)
        .slow_call_rate_threshold(50.0)
        .slow_call_duration_threshold(Duration::from_millis(100))
        .wait_duration_in_open_state(Duration::from_secs(5))
        .permitted_number_of_calls_in_half_open_state(3)
        .build();
    built.unwrap_or_default()
}

impl L2Tier {
    pub(crate) fn new(
        store: Arc<dyn L2Store>,
        breaker: CircuitBreakerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let breaker = CircuitBreaker::new(
            "cache-l2",
            breaker.to_builder().build()?,
            Arc::clone(&clock),
        );
        let row = RetryPolicy::cache();
        Ok(Self {
            store,
            breaker,
            limit: row.per_attempt_timeout,
            clock,
            pending: Mutex::new(HashMap::new()),
            pending_len: AtomicUsize::new(0),
            fenced: AtomicBool::new(false),
        })
    }

    pub(crate) fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    pub(crate) fn fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }

    pub(crate) fn clear_fence(&self) {
        self.fenced.store(false, Ordering::SeqCst);
    }

    pub(crate) fn pending_len(&self) -> usize {
        self.pending_len.load(Ordering::SeqCst)
    }

    fn is_pending(&self, key: &str) -> bool {
        self.pending_len() > 0
            && self
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains_key(key)
    }

    /// One try of `op` through the breaker with the cache row's time limit.
    async fn guarded<T, F, Fut>(&self, op: F) -> Result<T, Skipped>
    where
        F: FnOnce(Arc<dyn L2Store>, Duration) -> Fut,
        Fut: Future<Output = Result<T, L2Error>>,
    {
        let started = self.clock.now();
        let Ok(permit) = self.breaker.try_acquire_at(started) else {
            return Err(Skipped::NotTried);
        };
        let result = op(Arc::clone(&self.store), self.limit).await;
        let took = self.clock.now().saturating_sub(started);
        match result {
            Ok(value) => {
                permit.on_success(took);
                Ok(value)
            }
            Err(_) => {
                permit.on_failure(took);
                Err(Skipped::Failed)
            }
        }
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Skipped> {
        if self.fenced() || self.is_pending(key) {
            return Err(Skipped::NotTried);
        }
        self.guarded(|store, limit| async move { store.get(key, limit).await })
            .await
    }

    pub(crate) async fn fill(
        &self,
        key: &str,
        observed: u64,
        bytes: &[u8],
        ttl: Duration,
    ) -> Result<bool, Skipped> {
        if self.fenced() || self.is_pending(key) {
            return Err(Skipped::NotTried);
        }
        self.guarded(
            |store, limit| async move { store.fill(key, observed, bytes, ttl, limit).await },
        )
        .await
    }

    /// Tombstones `key`; when the L2 cannot take it, the key is kept pending (and not
    /// read from L2) until [`Self::retry_pending`] delivers it. `true` if delivered now.
    pub(crate) async fn invalidate(&self, key: Arc<str>, ttl: Duration) -> bool {
        let delivered = self.deliver(&key, ttl).await;
        if !delivered {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.len() >= MAX_PENDING_INVALIDATIONS && !pending.contains_key(&key) {
                self.fenced.store(true, Ordering::SeqCst);
            } else {
                let entry = pending.entry(key).or_insert(ttl);
                *entry = (*entry).max(ttl);
                self.pending_len.store(pending.len(), Ordering::SeqCst);
            }
        }
        delivered
    }

    /// One tombstone through the breaker; whether the L2 took it.
    async fn deliver(&self, key: &Arc<str>, ttl: Duration) -> bool {
        self.guarded(|store, limit| {
            let key = Arc::clone(key);
            async move { store.invalidate(&key, ttl, limit).await }
        })
        .await
        .is_ok()
    }

    /// Delivers pending invalidations while the L2 takes them; how many remain.
    pub(crate) async fn retry_pending(&self) -> usize {
        let keys: Vec<(Arc<str>, Duration)> = {
            let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.iter().map(|(k, t)| (Arc::clone(k), *t)).collect()
        };
        for (key, ttl) in keys {
            if !self.deliver(&key, ttl).await {
                break;
            }
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.remove(&key);
            self.pending_len.store(pending.len(), Ordering::SeqCst);
        }
        self.pending_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_l2_breaker_is_the_documented_one() {
        let breaker = l2_breaker();
        assert_eq!(breaker.sliding_window_size(), 20);
        assert_eq!(breaker.minimum_number_of_calls(), 10);
        assert_eq!(breaker.permitted_number_of_calls_in_half_open_state(), 3);
        assert_eq!(
            breaker.slow_call_duration_threshold(),
            Duration::from_millis(100)
        );
    }
}
