//! Where values come from on a miss ([`Origin`]) and where background refreshes run
//! ([`Spawn`]).

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use crate::key::CacheKey;

/// An origin's error, as the origin reports it.
pub type OriginError = Box<dyn std::error::Error + Send + Sync>;

/// The source of truth of one class (the database, a payer's formulary service...).
#[async_trait]
pub trait Origin<V>: Send + Sync {
    /// The value of `key`; `Ok(None)` when there is none ("not found", which the class may
    /// cache negatively).
    async fn load(&self, key: &CacheKey) -> Result<Option<V>, OriginError>;
}

/// An [`Origin`] from an async closure.
pub struct FnOrigin<F>(pub F);

impl<F> std::fmt::Debug for FnOrigin<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnOrigin")
    }
}

#[async_trait]
impl<V, F, Fut> Origin<V> for FnOrigin<F>
where
    F: Fn(CacheKey) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Option<V>, OriginError>> + Send,
{
    async fn load(&self, key: &CacheKey) -> Result<Option<V>, OriginError> {
        (self.0)(key.clone()).await
    }
}

/// A task the cache wants run in the background.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs background tasks (stale-while-revalidate refreshes) on the caller's runtime.
/// Without one, a stale read refreshes inline and serves the stale value only if the
/// origin fails.
pub trait Spawn: Send + Sync {
    /// Starts `task`.
    fn spawn(&self, task: Task);
}

/// [`Spawn`] on a tokio runtime (feature `redis`).
#[cfg(feature = "redis")]
#[derive(Clone, Debug)]
pub struct TokioSpawn(pub tokio::runtime::Handle);

#[cfg(feature = "redis")]
impl Spawn for TokioSpawn {
    fn spawn(&self, task: Task) {
        drop(self.0.spawn(task));
    }
}
