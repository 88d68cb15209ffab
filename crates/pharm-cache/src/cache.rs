//! [`Cache`]: one class's read-through cache over L1, L2 and its origin.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::caches::{BuildError, ClassHandle, Shared, tombstone_ttl};
use crate::class::DataClass;
use crate::flight::Flights;
use crate::generations::Generations;
use crate::key::{CacheKey, KeyError, Namespace, Scope};
use crate::l1::{L1, Slot};
use crate::metrics::{ClassCounters, ClassStats};
use crate::origin::{Origin, OriginError};
use crate::policy::ClassPolicy;
use crate::stored::Stored;
use crate::warm::WarmCounts;

/// Where a read's answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// L1, fresh.
    L1,
    /// L2, fresh.
    L2,
    /// The origin (this read, or a concurrent read of the same key it waited for).
    Origin,
    /// A stale value within the class's stale bound: a refresh is under way, or the
    /// origin failed (the degradation table's "last cached aggregate").
    Stale,
}

/// A read's answer.
#[derive(Debug)]
pub struct Fetched<V> {
    /// The value; `None`: the origin has none ("not found", possibly cached).
    pub value: Option<Arc<V>>,
    /// Where it came from.
    pub source: Source,
}

impl<V> Clone for Fetched<V> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            source: self.source,
        }
    }
}

/// A read that could not be answered.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CacheError {
    /// The key is of another class.
    #[error("key {key} is of class {given}, this cache holds {expected}")]
    WrongClass {
        /// This cache's class.
        expected: DataClass,
        /// The key's class.
        given: DataClass,
        /// The key.
        key: String,
    },
    /// Nothing cached, and the origin failed.
    #[error("origin of {class} failed for {key}: {source}")]
    Origin {
        /// The class.
        class: DataClass,
        /// The key.
        key: String,
        /// The origin's error.
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
}

/// One class's cache (cheap to clone; clones share everything).
pub struct Cache<V> {
    inner: Arc<Inner<V>>,
}

impl<V> Clone for Cache<V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<V> std::fmt::Debug for Cache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("class", &self.inner.class)
            .finish_non_exhaustive()
    }
}

struct Inner<V> {
    class: DataClass,
    row: ClassPolicy,
    shared: Arc<Shared>,
    origin: Arc<dyn Origin<V>>,
    l1: Option<L1<V>>,
    negatives: Option<L1<V>>,
    flights: Flights<Result<Fetched<V>, CacheError>>,
    /// The class's own invalidation generations (another class's churn never costs it
    /// a hit).
    generations: Generations,
    counters: ClassCounters,
}

/// Bookkeeping bytes counted per L1 entry besides its key and value.
const SLOT_OVERHEAD: usize = 64;

/// The most an entry weighs in L1 beyond its value: the longest key (its id, and at most
/// 64 bytes of class, scope and version) and the bookkeeping.
const MAX_KEY_AND_OVERHEAD: u64 = (crate::key::MAX_ID_BYTES + 64 + SLOT_OVERHEAD) as u64;

impl<V> Cache<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    pub(crate) fn new(
        class: DataClass,
        row: ClassPolicy,
        shared: Arc<Shared>,
        origin: Arc<dyn Origin<V>>,
    ) -> Result<Self, BuildError> {
        let l1_error = |reason| BuildError::L1 { class, reason };
        let l1 = row
            .levels
            .l1
            .then(|| {
                let largest = row.max_entry_bytes.saturating_add(MAX_KEY_AND_OVERHEAD);
                L1::bytes(row.budget_bytes(&shared.deployment), largest)
            })
            .transpose()
            .map_err(l1_error)?;
        let negatives = row
            .levels
            .l1
            .then_some(row.negative)
            .flatten()
            .map(|n| L1::entries(n.max_entries))
            .transpose()
            .map_err(l1_error)?;
        Ok(Self {
            inner: Arc::new(Inner {
                class,
                row,
                shared,
                origin,
                l1,
                negatives,
                flights: Flights::new(),
                generations: Generations::new(),
                counters: ClassCounters::default(),
            }),
        })
    }

    pub(crate) fn handle(&self) -> Weak<dyn ClassHandle> {
        let strong: Arc<dyn ClassHandle> = Arc::clone(&self.inner) as Arc<dyn ClassHandle>;
        Arc::downgrade(&strong)
    }

    /// Its class.
    #[must_use]
    pub fn class(&self) -> DataClass {
        self.inner.class
    }

    /// Its policy row.
    #[must_use]
    pub fn policy(&self) -> &ClassPolicy {
        &self.inner.row
    }

    /// The key of `id` in `scope` at the namespace's current version. Build the keys of
    /// one request with [`Self::key_at`] and one [`Self::version`] to read a single
    /// namespace version (one Orange Book release, never a mix).
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the scope is not the class's or the id is invalid.
    pub fn key(&self, scope: Scope, id: &str) -> Result<CacheKey, KeyError> {
        self.key_at(scope, self.version(scope), id)
    }

    /// The key of `id` in `scope` at namespace `version`.
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the scope is not the class's or the id is invalid.
    pub fn key_at(&self, scope: Scope, version: u64, id: &str) -> Result<CacheKey, KeyError> {
        CacheKey::new(
            Namespace {
                class: self.inner.class,
                scope,
            },
            version,
            id,
        )
    }

    /// The current version of the namespace of `scope`.
    #[must_use]
    pub fn version(&self, scope: Scope) -> u64 {
        self.inner.shared.namespaces.current(Namespace {
            class: self.inner.class,
            scope,
        })
    }

    /// The class's counters.
    #[must_use]
    pub fn stats(&self) -> ClassStats {
        self.inner.counters.snapshot()
    }

    /// Entries in L1: values and negative entries.
    #[must_use]
    pub fn l1_len(&self) -> (u64, u64) {
        let count = |map: &Option<L1<V>>| map.as_ref().map_or(0, L1::len);
        (count(&self.inner.l1), count(&self.inner.negatives))
    }

    /// The fresh L1 entry of `key`, without loading anything or counting a read (the
    /// synchronous fast path [`Self::get`] starts with).
    #[must_use]
    pub fn get_cached(&self, key: &CacheKey) -> Option<Fetched<V>> {
        let now = self.inner.shared.clock.now();
        match self.inner.l1_lookup(key.as_str(), now)? {
            L1Hit::Fresh(slot) => Some(Fetched {
                value: slot.value.clone(),
                source: Source::L1,
            }),
            L1Hit::Stale(_) => None,
        }
    }

    /// Reads `key`: L1, then L2, then the origin (one load per key at a time), filling
    /// the levels on the way back.
    ///
    /// An L2 that fails, times out or whose breaker is open is skipped (L1 and the origin
    /// answer); a stale value within the class's stale bound is served while a refresh runs
    /// (on the [`crate::Spawn`]er, else inline) and when the origin fails.
    ///
    /// # Errors
    ///
    /// [`CacheError::WrongClass`] for another class's key; [`CacheError::Origin`] when
    /// the origin failed and nothing servable is cached.
    pub async fn get(&self, key: &CacheKey) -> Result<Fetched<V>, CacheError> {
        let inner = &self.inner;
        if key.class() != inner.class {
            return Err(CacheError::WrongClass {
                expected: inner.class,
                given: key.class(),
                key: key.as_str().to_owned(),
            });
        }
        let now = inner.shared.clock.now();
        let stale = match inner.l1_lookup(key.as_str(), now) {
            Some(L1Hit::Fresh(slot)) => {
                ClassCounters::add(&inner.counters.l1_hits);
                return Ok(Fetched {
                    value: slot.value.clone(),
                    source: Source::L1,
                });
            }
            Some(L1Hit::Stale(slot)) => Some(slot),
            None => None,
        };
        // Reads answered fresh by L1 are added to `lookups` when counters are read.
        ClassCounters::add(&inner.counters.lookups);
        if let (Some(slot), Some(spawner)) = (&stale, &inner.shared.spawner) {
            ClassCounters::add(&inner.counters.stale_served);
            let this = self.clone();
            let refresh_key = key.clone();
            spawner.spawn(Box::pin(async move {
                drop(this.load(&refresh_key, None).await);
            }));
            return Ok(Fetched {
                value: slot.value.clone(),
                source: Source::Stale,
            });
        }
        // Boxed: the miss path's state (L2 read, flight, origin, fill) is a kilobyte, which
        // every caller's future would otherwise carry, and move, on every L1 hit.
        let fetched = Box::pin(self.load(key, stale)).await;
        if let Ok(Fetched {
            source: Source::Stale,
            ..
        }) = &fetched
        {
            ClassCounters::add(&inner.counters.stale_served);
        } else if let Ok(Fetched {
            source: Source::L2, ..
        }) = &fetched
        {
            ClassCounters::add(&inner.counters.l2_hits);
        }
        fetched
    }

    /// The single-flight load of `key`.
    async fn load(
        &self,
        key: &CacheKey,
        stale: Option<Arc<Slot<V>>>,
    ) -> Result<Fetched<V>, CacheError> {
        let inner = &self.inner;
        // An L2 hit needs no flight: only loads from the origin are serialized (the
        // flight's load reads L2 again, for a fill that landed meanwhile).
        let generation = inner.generations.current(key.as_str());
        let started = inner.shared.clock.now();
        if let FromL2::Fresh(value, fresh_until, size) = inner.read_l2(key, started).await {
            return Ok(inner.l2_hit(key, generation, started, value, fresh_until, size));
        }
        let text = key.shared();
        let (fetched, ran) = inner.flights.run(&text, || inner.fill(key, stale)).await;
        if !ran {
            ClassCounters::add(&self.inner.counters.coalesced);
        }
        fetched
    }
}

enum L1Hit<V> {
    Fresh(Arc<Slot<V>>),
    Stale(Arc<Slot<V>>),
}

/// What the L2 said about a key.
enum FromL2<V> {
    /// A fresh answer.
    Fresh(Option<Arc<V>>, Duration, usize),
    /// Not fresh; the generation seen (fill against it), maybe a stale value.
    Miss(u64, Option<Arc<Slot<V>>>),
    /// Not usable now (skipped or failed): do not write to it either.
    Unusable,
}

/// Where [`Inner::through`] found a value.
enum Through<V> {
    /// A fresh L2 entry (now in L1 as well).
    L2(Option<Arc<V>>),
    /// The origin (now stored at the class's levels).
    Origin(Option<Arc<V>>),
    /// The origin failed; the stale value L1 or L2 still held, if any.
    Failed(OriginError, Option<Arc<Slot<V>>>),
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl<V> Inner<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn l1_lookup(&self, key: &str, now: Duration) -> Option<L1Hit<V>> {
        if self.shared.l1_suspended.load(Ordering::Relaxed) {
            return None;
        }
        let generation = self.generations.current(key);
        // A value and a "not found" of one key can both be held (one from before an
        // invalidation): the one loaded at the current generation counts.
        let current = |map: &Option<L1<V>>| {
            map.as_ref()
                .and_then(|m| m.get(key))
                .filter(|slot| slot.generation == generation)
        };
        let found = current(&self.l1).or_else(|| current(&self.negatives))?;
        if now < found.fresh_until {
            Some(L1Hit::Fresh(found))
        } else if now < found.stale_until {
            Some(L1Hit::Stale(found))
        } else {
            None
        }
    }

    async fn read_l2(&self, key: &CacheKey, now: Duration) -> FromL2<V> {
        let Some(tier) = self.shared.l2.as_ref().filter(|_| self.row.levels.l2) else {
            return FromL2::Unusable;
        };
        let bytes = match tier.get(key.as_str()).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return FromL2::Miss(0, None),
            Err(skipped) => {
                self.count_skip(&skipped);
                return FromL2::Unusable;
            }
        };
        let stored = match Stored::parse(&bytes) {
            Ok(stored) => stored,
            Err(_) => {
                ClassCounters::add(&self.counters.l2_damaged);
                // Replace it: a fill against its generation (or 0 if unreadable).
                return FromL2::Miss(damaged_generation(&bytes), None);
            }
        };
        let Stored::Entry {
            generation,
            fresh_until_ms,
            stale_until_ms,
            payload,
        } = stored
        else {
            return FromL2::Miss(stored.generation(), None);
        };
        if bytes.len() > self.l2_limit() {
            ClassCounters::add(&self.counters.l2_damaged);
            return FromL2::Miss(generation, None);
        }
        let value = match payload.map(serde_json::from_slice::<V>).transpose() {
            Ok(value) => value.map(Arc::new),
            Err(_) => {
                ClassCounters::add(&self.counters.l2_damaged);
                return FromL2::Miss(generation, None);
            }
        };
        let now_ms = ms(now);
        if now_ms < fresh_until_ms {
            return FromL2::Fresh(
                value,
                Duration::from_millis(fresh_until_ms),
                payload.map_or(0, <[u8]>::len),
            );
        }
        let stale = (now_ms < stale_until_ms && value.is_some()).then(|| {
            Arc::new(Slot {
                value,
                generation: 0,
                fresh_until: Duration::from_millis(fresh_until_ms),
                stale_until: Duration::from_millis(stale_until_ms),
                weight: 0,
            })
        });
        FromL2::Miss(generation, stale)
    }

    fn l2_limit(&self) -> usize {
        usize::try_from(self.row.max_entry_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(64)
    }

    fn count_skip(&self, skipped: &crate::tier::Skipped) {
        match skipped {
            crate::tier::Skipped::NotTried => ClassCounters::add(&self.counters.l2_skipped),
            crate::tier::Skipped::Failed => ClassCounters::add(&self.counters.l2_errors),
        }
    }

    /// Puts a slot in L1 (the right map for values or "not found").
    fn put_l1(&self, key: &CacheKey, mut slot: Slot<V>, size: usize) {
        let map = if slot.value.is_some() {
            &self.l1
        } else {
            &self.negatives
        };
        // A slot whose key was invalidated since its load began could never be served:
        // not kept (reads check the generation again, for an invalidation landing now).
        if let Some(map) = map
            && !self.shared.l1_suspended.load(Ordering::Relaxed)
            && size <= usize::try_from(self.row.max_entry_bytes).unwrap_or(usize::MAX)
            && self.generations.current(key.as_str()) == slot.generation
        {
            slot.weight = u32::try_from(size.saturating_add(SLOT_OVERHEAD)).unwrap_or(u32::MAX);
            map.insert(key.shared(), slot);
        }
    }

    /// A fresh L2 answer, kept in L1 (when the class has it) until the earlier of the L2
    /// entry's freshness and the class TTL from `started`.
    fn l2_hit(
        &self,
        key: &CacheKey,
        generation: u64,
        started: Duration,
        value: Option<Arc<V>>,
        fresh_until: Duration,
        size: usize,
    ) -> Fetched<V> {
        let slot = Slot {
            value: value.clone(),
            generation,
            fresh_until: fresh_until.min(started.saturating_add(self.row.ttl())),
            stale_until: fresh_until.saturating_add(self.row.stale()),
            weight: 0,
        };
        self.put_l1(key, slot, size);
        Fetched {
            value,
            source: Source::L2,
        }
    }

    /// L2 then the origin, for a key L1 could not answer fresh.
    async fn fill(
        &self,
        key: &CacheKey,
        stale: Option<Arc<Slot<V>>>,
    ) -> Result<Fetched<V>, CacheError> {
        match self
            .through(key, stale, Some(&self.counters.origin_loads))
            .await
        {
            Through::L2(value) => Ok(Fetched {
                value,
                source: Source::L2,
            }),
            Through::Origin(value) => Ok(Fetched {
                value,
                source: Source::Origin,
            }),
            Through::Failed(error, stale) => match stale {
                Some(slot) => Ok(Fetched {
                    value: slot.value.clone(),
                    source: Source::Stale,
                }),
                None => Err(origin_error(self.class, key, error)),
            },
        }
    }

    /// The way through the levels below L1: a fresh L2 answer (kept in L1), else the
    /// origin's, stored at both levels against the generations seen before loading;
    /// `asking` is counted just before the origin is asked.
    async fn through(
        &self,
        key: &CacheKey,
        stale: Option<Arc<Slot<V>>>,
        asking: Option<&AtomicU64>,
    ) -> Through<V> {
        let started = self.shared.clock.now();
        let generation = self.generations.current(key.as_str());
        let (observed, stale) = match self.read_l2(key, started).await {
            FromL2::Fresh(value, fresh_until, size) => {
                let hit = self.l2_hit(key, generation, started, value, fresh_until, size);
                return Through::L2(hit.value);
            }
            FromL2::Miss(observed, l2_stale) => (Some(observed), stale.or(l2_stale)),
            FromL2::Unusable => (None, stale),
        };
        if let Some(counter) = asking {
            ClassCounters::add(counter);
        }
        match self.origin.load(key).await {
            Ok(value) => {
                let value = value.map(Arc::new);
                self.store(key, &value, generation, observed, started).await;
                Through::Origin(value)
            }
            Err(error) => {
                ClassCounters::add(&self.counters.origin_errors);
                Through::Failed(error, stale)
            }
        }
    }

    /// Writes a loaded value (or "not found") to the levels that hold the class.
    async fn store(
        &self,
        key: &CacheKey,
        value: &Option<Arc<V>>,
        generation: u64,
        observed: Option<u64>,
        started: Duration,
    ) {
        let ttl = match (value, self.row.negative) {
            (Some(_), _) => self.row.ttl(),
            (None, Some(negative)) => Duration::from_secs(negative.ttl_s),
            (None, None) => return,
        };
        if value.is_none() {
            ClassCounters::add(&self.counters.negative_stored);
        }
        let payload = match value {
            Some(v) => match serde_json::to_vec(&**v) {
                Ok(bytes) => Some(bytes),
                Err(_) => return,
            },
            None => None,
        };
        let size = payload.as_ref().map_or(0, Vec::len);
        if size > usize::try_from(self.row.max_entry_bytes).unwrap_or(usize::MAX) {
            ClassCounters::add(&self.counters.oversize);
            return;
        }
        let stale = if value.is_some() {
            self.row.stale()
        } else {
            Duration::ZERO
        };
        let fresh_until = started.saturating_add(ttl);
        let stale_until = fresh_until.saturating_add(stale);
        if let (Some(observed), Some(tier)) = (observed, self.shared.l2.as_ref()) {
            let elapsed = self.shared.clock.now().saturating_sub(started);
            let tombstones_live = tombstone_ttl(&self.row);
            // A load that took longer than a tombstone lives could overwrite an
            // invalidation that has expired: not stored.
            if elapsed < tombstones_live {
                let bytes = Stored::Entry {
                    generation: observed,
                    fresh_until_ms: ms(fresh_until),
                    stale_until_ms: ms(stale_until),
                    payload: payload.as_deref(),
                }
                .render();
                match tier
                    .fill(key.as_str(), observed, &bytes, ttl.saturating_add(stale))
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => ClassCounters::add(&self.counters.fills_refused),
                    Err(skipped) => self.count_skip(&skipped),
                }
            }
        }
        let slot = Slot {
            value: value.clone(),
            generation,
            fresh_until,
            stale_until,
            weight: 0,
        };
        self.put_l1(key, slot, size);
    }

    async fn warm_key(&self, key: CacheKey, counts: &mut WarmCounts) {
        let now = self.shared.clock.now();
        if matches!(self.l1_lookup(key.as_str(), now), Some(L1Hit::Fresh(_))) {
            counts.cached += 1;
            return;
        }
        match self.through(&key, None, None).await {
            Through::L2(_) => counts.cached += 1,
            Through::Origin(_) => {
                ClassCounters::add(&self.counters.warmed);
                counts.loaded += 1;
            }
            Through::Failed(..) => counts.failed += 1,
        }
    }
}

/// The generation of damaged bytes if its tag and number can still be read, else 0.
fn damaged_generation(bytes: &[u8]) -> u64 {
    let digits: Vec<u8> = bytes
        .iter()
        .skip(1)
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn origin_error(class: DataClass, key: &CacheKey, error: OriginError) -> CacheError {
    CacheError::Origin {
        class,
        key: key.as_str().to_owned(),
        source: Arc::from(error),
    }
}

#[async_trait]
impl<V> ClassHandle for Inner<V>
where
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn forget(&self, key: &str) {
        // First the generation, so no load that began before is accepted; then the entry.
        self.generations.bump(key);
        for map in [&self.l1, &self.negatives].into_iter().flatten() {
            map.remove(key);
        }
        self.flights.detach(key);
    }

    fn forget_all(&self) {
        self.generations.bump_all();
        for map in [&self.l1, &self.negatives].into_iter().flatten() {
            map.clear();
        }
        self.flights.detach_all();
    }

    async fn warm(&self, keys: Vec<CacheKey>) -> WarmCounts {
        let mut counts = WarmCounts::default();
        for key in keys {
            self.warm_key(key, &mut counts).await;
        }
        counts
    }

    fn stats(&self) -> ClassStats {
        self.counters.snapshot()
    }

    fn count_invalidation(&self) {
        ClassCounters::add(&self.counters.invalidations);
    }
}
