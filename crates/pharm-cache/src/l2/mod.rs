//! The L2 (distributed) level: the [`L2Store`] trait, an in-memory store, and the Redis
//! adapter (feature `redis`).
//!
//! Every store keeps the generation protocol of [`crate::stored`]: a fill is stored only if
//! the key's generation is still the one observed before the origin was asked, and an
//! invalidation replaces whatever is stored by a tombstone one generation higher. Both
//! are atomic in the store (a Lua script on Redis, a lock in memory).

#[cfg(feature = "redis")]
pub mod local;
mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use memory::MemoryL2;
#[cfg(feature = "redis")]
pub(crate) use redis::redacted;
#[cfg(feature = "redis")]
pub use redis::{MAX_VALUE_BYTES, RedisL2, RedisL2Error};

use std::time::Duration;

use async_trait::async_trait;

/// An L2 operation that failed. The cache never passes it to its caller: it degrades to
/// L1 and the origin, and the L2's breaker counts it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum L2Error {
    /// The store did not answer within the operation's time limit.
    #[error("L2 timed out after {0:?}")]
    Timeout(Duration),
    /// The store cannot be reached or refused the command.
    #[error("L2 unavailable: {0}")]
    Unavailable(String),
}

/// A distributed key-value store with the cache's generation protocol.
///
/// `timeout` is the operation's time limit (the cache row of the design's retry table:
/// 100 ms); the implementation enforces it.
#[async_trait]
pub trait L2Store: Send + Sync {
    /// The bytes stored at `key`, `None` when absent (or expired).
    async fn get(&self, key: &str, timeout: Duration) -> Result<Option<Vec<u8>>, L2Error>;

    /// Stores `bytes` at `key` for `ttl` if the stored generation (absent: 0) is
    /// `observed`; whether it was stored.
    async fn fill(
        &self,
        key: &str,
        observed: u64,
        bytes: &[u8],
        ttl: Duration,
        timeout: Duration,
    ) -> Result<bool, L2Error>;

    /// Replaces whatever is stored at `key` by a tombstone one generation above it, kept
    /// for `ttl`; the tombstone's generation.
    async fn invalidate(&self, key: &str, ttl: Duration, timeout: Duration)
    -> Result<u64, L2Error>;
}
