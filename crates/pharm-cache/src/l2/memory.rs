//! [`MemoryL2`]: the L2 protocol in one process, for tests, the load test's embedded
//! backend and single-node deployments.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use pharm_core::time::Clock;

use super::{L2Error, L2Store};
use crate::stored::Stored;

/// Lock shards (by key hash), so that concurrent callers rarely wait on each other.
const SHARDS: usize = 16;

/// An in-memory L2 with expiry on an injected clock, a byte budget (split evenly over its
/// lock shards), and a switch that makes it unavailable (an outage, for tests).
pub struct MemoryL2 {
    clock: Arc<dyn Clock>,
    budget_bytes: usize,
    down: AtomicBool,
    shards: Box<[Mutex<State>]>,
    hasher: foldhash::fast::FixedState,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, (Vec<u8>, Duration)>,
    bytes: usize,
}

impl std::fmt::Debug for MemoryL2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryL2")
            .field("budget_bytes", &self.budget_bytes)
            .field("down", &self.down)
            .finish_non_exhaustive()
    }
}

impl MemoryL2 {
    /// An empty store holding at most `budget_bytes` (keys and values); fills beyond it
    /// are refused.
    pub fn new(clock: Arc<dyn Clock>, budget_bytes: usize) -> Self {
        Self {
            clock,
            budget_bytes,
            down: AtomicBool::new(false),
            shards: (0..SHARDS).map(|_| Mutex::new(State::default())).collect(),
            hasher: foldhash::fast::FixedState::with_seed(0x4c32),
        }
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, State> {
        use std::hash::BuildHasher;
        let index = usize::try_from(self.hasher.hash_one(key)).unwrap_or(0) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes every operation fail with [`L2Error::Unavailable`] (`true`) or work again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        self.shards
            .iter()
            .map(|shard| {
                let state = shard.lock().unwrap_or_else(PoisonError::into_inner);
                state.entries.values().filter(|(_, exp)| *exp > now).count()
            })
            .sum()
    }

    /// Whether no entry is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Overwrites the raw bytes at `key` (tests: a damaged entry).
    pub fn put_raw(&self, key: &str, bytes: Vec<u8>, ttl: Duration) {
        let expires = self.clock.now().saturating_add(ttl);
        self.shard(key).put(key, bytes, expires);
    }

    fn check(&self) -> Result<(), L2Error> {
        if self.down.load(Ordering::SeqCst) {
            return Err(L2Error::Unavailable("memory L2 is down".into()));
        }
        Ok(())
    }

    fn generation(state: &State, key: &str, now: Duration) -> u64 {
        match state.entries.get(key) {
            Some((bytes, expires)) if *expires > now => {
                Stored::parse(bytes).map_or(0, |stored| stored.generation())
            }
            _ => 0,
        }
    }
}

impl State {
    fn put(&mut self, key: &str, bytes: Vec<u8>, expires: Duration) {
        let added = key.len() + bytes.len();
        if let Some((old, _)) = self.entries.insert(key.to_owned(), (bytes, expires)) {
            self.bytes -= key.len() + old.len();
        }
        self.bytes += added;
    }

    fn sweep(&mut self, now: Duration) {
        let mut freed = 0;
        self.entries.retain(|key, (bytes, expires)| {
            let live = *expires > now;
            if !live {
                freed += key.len() + bytes.len();
            }
            live
        });
        self.bytes -= freed;
    }
}

#[async_trait]
impl L2Store for MemoryL2 {
    async fn get(&self, key: &str, _timeout: Duration) -> Result<Option<Vec<u8>>, L2Error> {
        self.check()?;
        let now = self.clock.now();
        let state = self.shard(key);
        Ok(state
            .entries
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(bytes, _)| bytes.clone()))
    }

    async fn fill(
        &self,
        key: &str,
        observed: u64,
        bytes: &[u8],
        ttl: Duration,
        _timeout: Duration,
    ) -> Result<bool, L2Error> {
        self.check()?;
        let now = self.clock.now();
        let budget = self.budget_bytes / SHARDS;
        let mut state = self.shard(key);
        if Self::generation(&state, key, now) != observed {
            return Ok(false);
        }
        if state.bytes + key.len() + bytes.len() > budget {
            state.sweep(now);
            if state.bytes + key.len() + bytes.len() > budget {
                return Ok(false);
            }
        }
        state.put(key, bytes.to_vec(), now.saturating_add(ttl));
        Ok(true)
    }

    async fn invalidate(
        &self,
        key: &str,
        ttl: Duration,
        _timeout: Duration,
    ) -> Result<u64, L2Error> {
        self.check()?;
        let now = self.clock.now();
        let mut state = self.shard(key);
        let generation = Self::generation(&state, key, now).saturating_add(1);
        let tombstone = Stored::Tombstone { generation }.render();
        state.put(key, tombstone, now.saturating_add(ttl));
        Ok(generation)
    }
}
