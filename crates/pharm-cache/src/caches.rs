//! [`Caches`]: the policy, the levels and the namespaces every class cache of a process
//! shares; it builds the typed class caches and applies invalidation events to all.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use pharm_core::time::Clock;
use pharm_shard::breaker::{CircuitBreakerConfig, State};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::Cache;
use crate::class::DataClass;
use crate::key::{CacheKey, KeyError, Namespace, Scope};
use crate::l2::L2Store;
use crate::metrics::ClassStats;
use crate::namespace::Namespaces;
use crate::origin::{Origin, Spawn};
use crate::policy::{CachePolicy, ClassPolicy, Deployment};
use crate::tier::{self, L2Tier};
use crate::warm::WarmCounts;

/// A class cache could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The policy has no row for the class.
    #[error("the cache policy has no row for {0}")]
    NotInPolicy(DataClass),
    /// The class's row puts it in L2, and no L2 was configured.
    #[error("{0} is an L2 class and no L2 store is configured")]
    NoL2(DataClass),
    /// A cache of the class is alive already.
    #[error("a cache of {0} is already built")]
    AlreadyBuilt(DataClass),
    /// L1 could not be made with the class's bounds.
    #[error("L1 of {class}: {reason}")]
    L1 {
        /// The class.
        class: DataClass,
        /// Why.
        reason: String,
    },
    /// The L2's breaker configuration is invalid.
    #[error("L2 breaker: {0}")]
    Breaker(String),
}

/// What every class cache of a process shares (see the crate documentation).
#[derive(Clone)]
pub struct Caches {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) policy: CachePolicy,
    pub(crate) deployment: Deployment,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) namespaces: Namespaces,
    pub(crate) l2: Option<L2Tier>,
    pub(crate) spawner: Option<Arc<dyn Spawn>>,
    pub(crate) classes: RwLock<BTreeMap<DataClass, Weak<dyn ClassHandle>>>,
    /// L1 is neither read nor filled ([`Caches::suspend_l1`]).
    pub(crate) l1_suspended: AtomicBool,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches")
            .field("policy", &self.shared.policy)
            .field("deployment", &self.shared.deployment)
            .finish_non_exhaustive()
    }
}

/// The type-erased side of a class cache that [`Caches`] drives.
#[async_trait]
pub(crate) trait ClassHandle: Send + Sync {
    /// Moves `key`'s generation, drops it from L1 and detaches its running load.
    fn forget(&self, key: &str);
    /// [`Self::forget`] for every key of the class.
    fn forget_all(&self);
    /// Loads `keys` that are not cached yet.
    async fn warm(&self, keys: Vec<CacheKey>) -> WarmCounts;
    /// The class's counters.
    fn stats(&self) -> ClassStats;
    /// Counts invalidated keys.
    fn count_invalidation(&self);
}

/// Builds [`Caches`].
pub struct CachesBuilder {
    policy: CachePolicy,
    clock: Arc<dyn Clock>,
    deployment: Deployment,
    l2: Option<(Arc<dyn L2Store>, CircuitBreakerConfig)>,
    spawner: Option<Arc<dyn Spawn>>,
}

impl std::fmt::Debug for CachesBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachesBuilder").finish_non_exhaustive()
    }
}

impl CachesBuilder {
    /// Sizes the L1 budgets for `deployment` (default: one pharmacy, one payer, one
    /// session).
    #[must_use]
    pub fn deployment(mut self, deployment: Deployment) -> Self {
        self.deployment = deployment;
        self
    }

    /// The L2 store, behind [`tier::l2_breaker`].
    #[must_use]
    pub fn l2(self, store: Arc<dyn L2Store>) -> Self {
        self.l2_with_breaker(store, tier::l2_breaker())
    }

    /// The L2 store behind `breaker`.
    #[must_use]
    pub fn l2_with_breaker(
        mut self,
        store: Arc<dyn L2Store>,
        breaker: CircuitBreakerConfig,
    ) -> Self {
        self.l2 = Some((store, breaker));
        self
    }

    /// Where stale-while-revalidate refreshes run.
    #[must_use]
    pub fn spawner(mut self, spawner: Arc<dyn Spawn>) -> Self {
        self.spawner = Some(spawner);
        self
    }

    /// The caches.
    ///
    /// # Errors
    ///
    /// [`BuildError::Breaker`] when the breaker configuration is invalid.
    pub fn build(self) -> Result<Caches, BuildError> {
        let l2 = match self.l2 {
            Some((store, breaker)) => Some(
                L2Tier::new(store, breaker, Arc::clone(&self.clock))
                    .map_err(|e| BuildError::Breaker(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Caches {
            shared: Arc::new(Shared {
                policy: self.policy,
                deployment: self.deployment,
                clock: self.clock,
                namespaces: Namespaces::default(),
                l2,
                spawner: self.spawner,
                classes: RwLock::new(BTreeMap::new()),
                l1_suspended: AtomicBool::new(false),
            }),
        })
    }
}

impl Caches {
    /// A builder with `policy`, reading time from `clock` (in production the Unix-epoch
    /// `pharm_core::time::SystemClock`: L2 entries carry times that other processes
    /// read).
    pub fn builder(policy: CachePolicy, clock: Arc<dyn Clock>) -> CachesBuilder {
        CachesBuilder {
            policy,
            clock,
            deployment: Deployment {
                pharmacies: 1,
                payers: 1,
                sessions: 1,
            },
            l2: None,
            spawner: None,
        }
    }

    /// The cache of `class`, loading misses from `origin`.
    ///
    /// # Errors
    ///
    /// [`BuildError`]: the policy has no row for it, it needs an L2 and there is none, or
    /// a cache of the class is alive already.
    pub fn cache<V>(
        &self,
        class: DataClass,
        origin: Arc<dyn Origin<V>>,
    ) -> Result<Cache<V>, BuildError>
    where
        V: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let row = *self
            .shared
            .policy
            .class(class)
            .ok_or(BuildError::NotInPolicy(class))?;
        if row.levels.l2 && self.shared.l2.is_none() {
            return Err(BuildError::NoL2(class));
        }
        let mut classes = self
            .shared
            .classes
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if classes.get(&class).is_some_and(|c| c.strong_count() > 0) {
            return Err(BuildError::AlreadyBuilt(class));
        }
        let cache = Cache::new(class, row, Arc::clone(&self.shared), origin)?;
        classes.insert(class, cache.handle());
        Ok(cache)
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &CachePolicy {
        &self.shared.policy
    }

    /// The current version of `namespace` (0 until an event moves it).
    #[must_use]
    pub fn version(&self, namespace: Namespace) -> u64 {
        self.shared.namespaces.current(namespace)
    }

    /// The key of `id` in `class` and `scope` at the namespace's current version.
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the scope is not the class's or the id is invalid.
    pub fn key(&self, class: DataClass, scope: Scope, id: &str) -> Result<CacheKey, KeyError> {
        let namespace = Namespace { class, scope };
        CacheKey::new(namespace, self.version(namespace), id)
    }

    /// Counters of every class built, in class order.
    #[must_use]
    pub fn stats(&self) -> Vec<(DataClass, ClassStats)> {
        self.live_classes()
            .into_iter()
            .map(|(class, handle)| (class, handle.stats()))
            .collect()
    }

    /// The L2 breaker's state (`None` without an L2).
    #[must_use]
    pub fn l2_state(&self) -> Option<State> {
        self.shared.l2.as_ref().map(|l2| l2.breaker().state())
    }

    /// Invalidations the L2 has not taken yet (it was unreachable); their keys are not
    /// read from L2 until it has.
    #[must_use]
    pub fn pending_invalidations(&self) -> usize {
        self.shared.l2.as_ref().map_or(0, L2Tier::pending_len)
    }

    /// Delivers pending invalidations; how many remain.
    pub async fn retry_pending_invalidations(&self) -> usize {
        match &self.shared.l2 {
            Some(l2) => l2.retry_pending().await,
            None => 0,
        }
    }

    /// Whether the L2 is fenced: more than [`tier::MAX_PENDING_INVALIDATIONS`]
    /// invalidations could not be delivered, so the L2 may hold values that were
    /// invalidated and is not used at all.
    #[must_use]
    pub fn l2_fenced(&self) -> bool {
        self.shared.l2.as_ref().is_some_and(L2Tier::fenced)
    }

    /// Uses the L2 again after an operator flushed it (lifts [`Self::l2_fenced`]).
    pub fn clear_l2_fence(&self) {
        if let Some(l2) = &self.shared.l2 {
            l2.clear_fence();
        }
    }

    /// Forgets everything this process holds in L1, for every class: every key's
    /// generation moves, every entry goes and no running load may fill L1 afterwards, as
    /// if each key had had its invalidation event. For when events may have been missed
    /// (an event bus that was disconnected); the L2, which takes its tombstones from
    /// whichever process applied an event, is left as it is.
    pub fn forget_l1(&self) {
        for (_, class) in self.live_classes() {
            class.forget_all();
        }
    }

    /// Stops using L1 (reads skip it, loads do not fill it) and forgets it: for while this
    /// process cannot learn of events (its event bus is down), when anything it put in L1
    /// could go stale unnoticed. Reads go to L2 and the origin meanwhile.
    pub fn suspend_l1(&self) {
        self.shared.l1_suspended.store(true, Ordering::SeqCst);
        self.forget_l1();
    }

    /// Uses L1 again after [`Self::suspend_l1`], once events reach this process again. It
    /// forgets L1 first, so no load that began while suspended (and may have read a value
    /// whose event was missed) fills it.
    pub fn resume_l1(&self) {
        self.forget_l1();
        self.shared.l1_suspended.store(false, Ordering::SeqCst);
    }

    /// Whether L1 is suspended.
    #[must_use]
    pub fn l1_suspended(&self) -> bool {
        self.shared.l1_suspended.load(Ordering::SeqCst)
    }

    pub(crate) fn live_classes(&self) -> Vec<(DataClass, Arc<dyn ClassHandle>)> {
        let classes = self
            .shared
            .classes
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        classes
            .iter()
            .filter_map(|(class, weak)| Some((*class, weak.upgrade()?)))
            .collect()
    }

    pub(crate) fn handle(&self, class: DataClass) -> Option<Arc<dyn ClassHandle>> {
        let classes = self
            .shared
            .classes
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        classes.get(&class).and_then(Weak::upgrade)
    }

    pub(crate) fn row(&self, class: DataClass) -> Option<ClassPolicy> {
        self.shared.policy.class(class).copied()
    }
}

/// How long an L2 tombstone of a class lives: as long as any value of it could (TTL plus
/// the stale bound), so a load that began before the invalidation cannot outlive it.
pub(crate) fn tombstone_ttl(row: &ClassPolicy) -> Duration {
    row.ttl().saturating_add(row.stale())
}
