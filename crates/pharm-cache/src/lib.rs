//! # pharm-cache
//!
//! The design's multi-level cache for the cloud side of pharm: L1 in-process
//! (`quick_cache`, size-weighted), L2 distributed (Redis, feature `redis`; [`MemoryL2`]
//! otherwise), then the origin. Each data class has its row of policy as data
//! ([`CachePolicy::design`]: levels, size, TTL, invalidation trigger); consistent reads
//! (controlled-substance balances and logs, transaction status) have no class and are
//! refused by name ([`NeverCached`]).
//!
//! - Read-through ([`Cache::get`]): L1, then L2 through a breaker and the cache row of the
//!   retry table (1 try, 100 ms): an L2 outage degrades to L1 + origin, never to an
//!   error. One origin load per key at a time (single-flight); "not found" cached for a
//!   bounded time and number of keys; stale-while-revalidate within a bound for the class
//!   the degradation table allows (analytics: "last cached aggregate").
//! - Invalidation ([`Caches::apply`]): the design's triggers as [`Event`]s. Key events
//!   move a generation in L1 and leave a tombstone in L2 that refuses any fill begun
//!   before it; namespace events (the weekly Orange Book release, a payer's formulary)
//!   move the namespace's version, so readers see one release or the other, never a mix.
//! - Warming ([`WarmPlan::design`]): catalog, inventory, active prescriptions, top-5
//!   payer formularies, TE codes, with progress; hit rates per class feed the design's
//!   scaling trigger ([`grow_cache_signals`], below 90 %).
//!
//! - Events between processes (feature `redis`): [`bus::RedisBus`] publishes them on Redis
//!   pub/sub, records namespace versions for processes that start later, and suspends L1
//!   while a process is not subscribed (a missed event is never served from L1).
//!
//! Time is injected ([`pharm_core::time::Clock`]); background refreshes run on an
//! injected [`Spawn`]er; the only I/O is the Redis adapters' (L2 and bus).
//!
//! ## Example
//!
//! ```
//! use std::sync::Arc;
//! use pharm_cache::{Caches, CachePolicy, DataClass, Event, FnOrigin, MemoryL2, Scope, Source};
//! use pharm_core::time::{Clock, ManualClock};
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let clock: Arc<dyn Clock> = Arc::new(ManualClock::new());
//! let l2 = Arc::new(MemoryL2::new(Arc::clone(&clock), 1 << 20));
//! let caches = Caches::builder(CachePolicy::design(), clock).l2(l2).build()?;
//! // The drug catalog, loaded from its origin on a miss.
//! let catalog = caches.cache::<String>(
//!     DataClass::DrugCatalog,
//!     Arc::new(FnOrigin(|key: pharm_cache::CacheKey| async move {
//!         Ok(Some(format!("drug {}", key.id())))
//!     })),
//! )?;
//! let key = catalog.key(Scope::Global, "0002-1433-80")?;
//! assert_eq!(catalog.get(&key).await?.source, Source::Origin);
//! assert_eq!(catalog.get(&key).await?.source, Source::L2);
//! caches.apply(&Event::DrugUpdated { drug: "0002-1433-80".into() }).await?;
//! assert_eq!(catalog.get(&key).await?.source, Source::Origin);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "redis")]
pub mod bus;
mod cache;
mod caches;
pub mod class;
mod flight;
mod generations;
pub mod invalidate;
pub mod key;
mod l1;
pub mod l2;
pub mod metrics;
mod namespace;
mod origin;
pub mod policy;
pub mod stored;
mod tier;
pub mod warm;

pub use cache::{Cache, CacheError, Fetched, Source};
pub use caches::{BuildError, Caches, CachesBuilder};
pub use class::{ClassError, DataClass, NeverCached, ScopeKind};
pub use invalidate::{Applied, Event, InvalidationError};
pub use key::{CacheKey, KeyError, Namespace, Scope};
pub use l2::{L2Error, L2Store, MemoryL2};
pub use metrics::{ClassStats, GrowCache, HIT_RATE_THRESHOLD, grow_cache_signals};
#[cfg(feature = "redis")]
pub use origin::TokioSpawn;
pub use origin::{FnOrigin, Origin, OriginError, Spawn, Task};
pub use policy::{CachePolicy, ClassPolicy, Deployment, Levels, PolicyError, Trigger};
pub use tier::{MAX_PENDING_INVALIDATIONS, l2_breaker};
pub use warm::{WarmPlan, WarmProgress, WarmSource, WarmStep};
