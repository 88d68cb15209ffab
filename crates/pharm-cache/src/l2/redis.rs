//! [`RedisL2`]: the L2 on a Redis server (the `redis` crate's auto-reconnecting
//! connection manager on tokio), the generation protocol as two Lua scripts.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{L2Error, L2Store};

/// The largest value read back, bytes: anything larger is reported as an error, never
/// buffered further into the cache.
pub const MAX_VALUE_BYTES: usize = 64 * 1024 * 1024;

/// Stores `ARGV[2]` for `ARGV[3]` ms if the key's generation (absent: 0) is `ARGV[1]`.
const FILL: &str = r"
local cur = redis.call('GET', KEYS[1])
local g = 0
if cur then g = tonumber(string.match(cur, '^[VNT](%d+)')) or -1 end
if g ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// Replaces the key by a tombstone one generation up, kept for `ARGV[1]` ms.
const INVALIDATE: &str = r"
local cur = redis.call('GET', KEYS[1])
local g = 0
if cur then g = tonumber(string.match(cur, '^[VNT](%d+)')) or 0 end
g = g + 1
redis.call('SET', KEYS[1], string.format('T%d', g), 'PX', ARGV[1])
return g
";

/// Connecting to Redis failed.
#[derive(Debug, thiserror::Error)]
#[error("redis L2 at {url}: {source}")]
pub struct RedisL2Error {
    /// The URL (without its password).
    pub url: String,
    /// The client's error.
    #[source]
    pub source: redis::RedisError,
}

/// The L2 on Redis. Keys are `prefix` + the cache key. Cheap to clone.
#[derive(Clone)]
pub struct RedisL2 {
    connection: ConnectionManager,
    prefix: String,
    fill: redis::Script,
    invalidate: redis::Script,
}

impl std::fmt::Debug for RedisL2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisL2")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// `url` without its password.
pub(crate) fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

impl RedisL2 {
    /// Connects to `url` (`redis://host:port/db`); keys are prefixed with `prefix`
    /// (e.g. `pharm:`). The connection reconnects by itself; each operation's time limit
    /// is the cache's (100 ms).
    ///
    /// # Errors
    ///
    /// [`RedisL2Error`] when the URL is invalid or the first connection fails.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, RedisL2Error> {
        let fail = |source| RedisL2Error {
            url: redacted(url),
            source,
        };
        let client = redis::Client::open(url).map_err(fail)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(fail)?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            fill: redis::Script::new(FILL),
            invalidate: redis::Script::new(INVALIDATE),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

async fn limited<T>(
    limit: Duration,
    op: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, L2Error> {
    match tokio::time::timeout(limit, op).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(L2Error::Unavailable(error.to_string())),
        Err(_) => Err(L2Error::Timeout(limit)),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl L2Store for RedisL2 {
    async fn get(&self, key: &str, timeout: Duration) -> Result<Option<Vec<u8>>, L2Error> {
        let mut connection = self.connection.clone();
        let key = self.key(key);
        let bytes: Option<Vec<u8>> = limited(
            timeout,
            redis::cmd("GET").arg(&key).query_async(&mut connection),
        )
        .await?;
        if bytes.as_ref().is_some_and(|b| b.len() > MAX_VALUE_BYTES) {
            return Err(L2Error::Unavailable(format!(
                "value of {key} is over {MAX_VALUE_BYTES} bytes"
            )));
        }
        Ok(bytes)
    }

    async fn fill(
        &self,
        key: &str,
        observed: u64,
        bytes: &[u8],
        ttl: Duration,
        timeout: Duration,
    ) -> Result<bool, L2Error> {
        let mut connection = self.connection.clone();
        let mut invocation = self.fill.key(self.key(key));
        invocation.arg(observed).arg(bytes).arg(millis(ttl));
        let stored: i64 = limited(timeout, invocation.invoke_async(&mut connection)).await?;
        Ok(stored == 1)
    }

    async fn invalidate(
        &self,
        key: &str,
        ttl: Duration,
        timeout: Duration,
    ) -> Result<u64, L2Error> {
        let mut connection = self.connection.clone();
        let mut invocation = self.invalidate.key(self.key(key));
        invocation.arg(millis(ttl));
        let generation: i64 = limited(timeout, invocation.invoke_async(&mut connection)).await?;
        u64::try_from(generation).map_err(|_| L2Error::Unavailable("negative generation".into()))
    }
}
