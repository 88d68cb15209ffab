//! The adapter's settings: pools, timeouts, heartbeat table and the nodes of each shard.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::reads::{ReadRouterConfig, ReplicaRole};

/// Settings of every node's connection pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections per node, 1 to [`PoolSettings::MAX_SIZE`]. Default 8.
    pub max_size: usize,
    /// Connecting (TCP + startup) gives up after this, unless the connection string sets
    /// `connect_timeout`. Default 5 s.
    pub connect_timeout: Duration,
    /// Waiting for a free pooled connection gives up after this. Default 5 s.
    pub wait_timeout: Duration,
    /// Checking an idle connection before reuse gives up after this. Default 5 s.
    pub recycle_timeout: Duration,
    /// TCP keepalive idle time, so that a dead peer is noticed. Default 30 s.
    pub keepalives_idle: Duration,
    /// `application_name` reported to the server, unless the connection string sets one.
    /// Default `pharm-shard`.
    pub application_name: String,
}

impl PoolSettings {
    /// The largest pool per node: 1,000 connections, ten times PostgreSQL's default
    /// `max_connections`. The pool allocates a slot per connection and a semaphore
    /// permit up front, so an unbounded size could exhaust memory (or panic) before a
    /// single connection is made.
    pub const MAX_SIZE: usize = 1_000;
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 8,
            connect_timeout: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(5),
            recycle_timeout: Duration::from_secs(5),
            keepalives_idle: Duration::from_secs(30),
            application_name: "pharm-shard".to_owned(),
        }
    }
}

/// Settings of a [`PgShards`](super::PgShards).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgShardsConfig {
    /// Connection pool settings, the same for every node.
    pub pool: PoolSettings,
    /// Settings of the [`ReadRouter`](crate::reads::ReadRouter) (the 5 s lag limit).
    pub router: ReadRouterConfig,
    /// Client-side limit of one routed read or write, lag measurement or heartbeat
    /// (checkout included). Default 30 s.
    pub query_timeout: Duration,
    /// A heartbeat table (`[schema.]name`) whose row `id = 1` the primary's `ts` is written
    /// to by [`PgShards::beat`](super::PgShards::beat) and read back on replicas by [`PgShards::measure_lag`](super::PgShards::measure_lag).
    /// Default `None` (lag from LSNs and the router's clock only).
    pub heartbeat_table: Option<String>,
}

impl Default for PgShardsConfig {
    fn default() -> Self {
        Self {
            pool: PoolSettings::default(),
            router: ReadRouterConfig::default(),
            query_timeout: Duration::from_secs(30),
            heartbeat_table: None,
        }
    }
}

/// The connection strings of one physical shard's nodes (libpq key/value form, e.g.
/// `host=10.0.0.5 port=5432 user=app dbname=pharm`, or a `postgresql://` URL).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardNodes {
    /// The primary.
    pub primary: String,
    /// The replicas, by the role they serve.
    pub replicas: BTreeMap<ReplicaRole, String>,
}

impl ShardNodes {
    /// A shard with a primary only.
    #[must_use]
    pub fn primary(conn: impl Into<String>) -> Self {
        Self {
            primary: conn.into(),
            replicas: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) the replica serving `role`.
    #[must_use]
    pub fn with_replica(mut self, role: ReplicaRole, conn: impl Into<String>) -> Self {
        self.replicas.insert(role, conn.into());
        self
    }
}

/// `name` or `schema.name`, each an unquoted SQL identifier.
pub(super) fn is_qualified_identifier(name: &str) -> bool {
    let part = |p: &str| {
        let mut chars = p.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut parts = name.split('.');
    let ok = parts.next().is_some_and(part);
    match (parts.next(), parts.next()) {
        (None, _) => ok,
        (Some(second), None) => ok && part(second),
        (Some(_), Some(_)) => false,
    }
}
