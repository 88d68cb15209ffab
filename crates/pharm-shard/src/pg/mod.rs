//! PostgreSQL adapter (feature `postgres`): routed writes and reads, replica lag
//! measurement and scatter-gather against real shards, over tokio-postgres with one
//! deadpool pool per node.
//!
//! [`PgShards`] owns
//!
//! - the [`ShardMap`] (replaceable with [`PgShards::set_map`]) that sends a pharmacy to its
//!   physical shard;
//! - one connection pool per node: each physical shard's primary and its replicas
//!   ([`ShardNodes`]), built lazily (no connection is opened before the first use) with
//!   bounded size, connect / wait / recycle timeouts, TCP keepalives and an
//!   `application_name`;
//! - a [`ReadRouter`] fed by [`PgShards::refresh_lag`], which decides whether a read runs
//!   on a replica or falls back to the primary;
//! - an injected [`Clock`] (milliseconds since the Unix epoch in production, see
//!   [`SystemClock`](pharm_core::time::SystemClock), which this feature enables; a
//!   [`ManualClock`](pharm_core::time::ManualClock) in tests).
//!
//! # Writes and read-your-writes
//!
//! [`PgShards::execute_write`] runs the statement on the pharmacy's primary (autocommit),
//! then reads `pg_current_wal_insert_lsn()` on the same connection and returns it as an
//! [`LsnToken`]. A later [`PgShards::query_read`] that carries the token runs on a replica
//! only if the replica's last measured replay LSN is at or past it.
//!
//! The token is the **insert** position, not `pg_current_wal_lsn()`: that one is the
//! *write* position, how far WAL has been written out of the server's buffers, and with
//! `synchronous_commit = off` (per session, role or database) a commit returns before its
//! commit record is written. The write position read right after such a commit can lie
//! before the commit record, so a replica that has replayed up to it would pass for having
//! the write while it does not show it. The insert position is past every record
//! inserted so far, the commit record included, whatever the commit mode. (It may also
//! cover other sessions' later WAL; that only keeps the read on the primary a little
//! longer.) One adjustment: when the insert position is right behind a WAL page header
//! (nothing inserted on that page yet, for example just after a WAL segment switch), the
//! token is the page's start, where the last record ended; otherwise an idle primary's
//! replicas would never reach the token.
//!
//! Lag samples keep reading `pg_current_wal_lsn()` (see below): a replica can only have
//! what was written, and a caught-up replica must be able to reach the primary's
//! position.
//!
//! # Reads
//!
//! [`PgShards::query_read`] asks the [`ReadRouter`] where a query of its [`QueryKind`]
//! runs and reports the node that served it ([`ReadOutcome::served_by`]). A replica that
//! turns out to be unreachable is marked down in the router
//! ([`ReadRouter::replica_down`]) and the read is retried once on the primary.
//!
//! # Lag
//!
//! [`PgShards::measure_lag`] reads `pg_current_wal_lsn()` on the primary **first**, then
//! `pg_last_wal_replay_lsn()`, `pg_last_wal_receive_lsn()`, `pg_is_wal_replay_paused()`
//! and `pg_last_xact_replay_timestamp()` on the replica, and the heartbeat row when
//! [`PgShardsConfig::heartbeat_table`] is set ([`PgShards::install_heartbeat`],
//! [`PgShards::beat`]). See [`crate::lag`] for how a [`LagSample`] becomes a lag estimate
//! without the idle-primary pitfall. [`PgShards::spawn_lag_monitor`] samples every replica
//! (and writes the heartbeats) periodically, more often than the lag limit.
//!
//! # Scatter-gather
//!
//! [`PgShards`] implements [`ShardExecutor`]. A leg's statement
//! ([`ShardQuery::statement`](crate::scatter::ShardQuery::statement)) is a `SELECT`
//! producing the rows to aggregate: first column the value (an integer in base units),
//! optional second column a key to count distinct values of. Its parameters are the
//! request's ([`ShardQuery::params`](crate::scatter::ShardQuery::params)) followed by the
//! leg's pharmacy ids as a `bigint[]`, which the statement must use to restrict its rows:
//!
//! ```sql
//! SELECT amount_cents, pharmacy_id FROM sales WHERE sold_on >= $1::text::date
//!    AND pharmacy_id = ANY($2)
//! ```
//!
//! The executor wraps it so that the shard computes the mergeable partial aggregate
//! itself (`count`, exact `sum`, `min`, `max`, `array_agg(DISTINCT key)`), inside a
//! read-only transaction with `SET LOCAL statement_timeout` set to the leg's timeout.
//! [`PgShards::scatter_request`] builds the legs from the map and the router, and
//! [`PgShards::scatter_gather`] runs them with a tokio timer ([`TokioSleep`]).
//!
//! TLS is not supported: the pools connect with `NoTls` (shards on a private network).

mod error;
mod executor;
mod params;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::{PgLsn, ToSql};
use tokio_postgres::{NoTls, Row};

pub use deadpool_postgres;
pub use error::{Node, PgError};
pub use executor::TokioSleep;
pub use tokio_postgres;

use crate::directory::{PhysicalShard, Route, ShardMap};
use crate::lag::{Heartbeat, LagEstimate, LagSample, Lsn};
use crate::reads::{
    DecisionReason, FallbackReason, LsnToken, QueryKind, ReadDecision, ReadRouter,
    ReadRouterConfig, ReplicaKey, ReplicaRole, RoutingEvent, Target,
};
use crate::scatter::{
    GatherResult, ParamValue, ScatterError, ScatterOptions, ScatterRequest, ShardExecutor,
    ShardTarget,
};
use pharm_core::ids::PharmacyId;
use pharm_core::time::Clock;

/// Positional statement parameters, as tokio-postgres takes them.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

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

/// Settings of a [`PgShards`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgShardsConfig {
    /// Connection pool settings, the same for every node.
    pub pool: PoolSettings,
    /// Settings of the [`ReadRouter`] (the 5 s lag limit).
    pub router: ReadRouterConfig,
    /// Client-side limit of one routed read or write, lag measurement or heartbeat
    /// (checkout included). Default 30 s.
    pub query_timeout: Duration,
    /// A heartbeat table (`[schema.]name`) whose row `id = 1` the primary's `ts` is written
    /// to by [`PgShards::beat`] and read back on replicas by [`PgShards::measure_lag`].
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

/// The outcome of [`PgShards::execute_write`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Rows the statement affected.
    pub rows_affected: u64,
    /// `pg_current_wal_insert_lsn()` on the primary after the commit (see the module
    /// documentation): present it to later reads for read-your-writes.
    pub token: LsnToken,
    /// The node that ran the write (always a primary).
    pub served_by: ShardTarget,
    /// The route the write took.
    pub route: Route,
}

/// The outcome of [`PgShards::query_read`].
#[derive(Debug)]
pub struct ReadOutcome {
    /// The rows.
    pub rows: Vec<Row>,
    /// The node that served the read.
    pub served_by: ShardTarget,
    /// Why that node: the router's decision, or
    /// [`FallbackReason::Unreachable`] when the chosen replica failed and the primary
    /// served the retry.
    pub decision: ReadDecision,
}

/// The pools of one physical shard.
#[derive(Debug)]
struct ShardPools {
    primary: Pool,
    replicas: BTreeMap<ReplicaRole, Pool>,
}

/// Routed access to a sharded PostgreSQL deployment (see the module documentation).
pub struct PgShards {
    map: RwLock<ShardMap>,
    shards: BTreeMap<PhysicalShard, ShardPools>,
    router: Mutex<ReadRouter>,
    clock: Arc<dyn Clock>,
    config: PgShardsConfig,
}

impl std::fmt::Debug for PgShards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgShards")
            .field("map", &self.map)
            .field("shards", &self.shards)
            .field("router", &self.router)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PgShards {
    /// Builds the pools (no connection is opened yet) for `nodes`, which must cover every
    /// physical shard `map` can route to.
    ///
    /// # Errors
    ///
    /// [`PgError::Config`]: a bad connection string or heartbeat table name, a physical
    /// shard of the map without nodes, a pool size outside `1..=PoolSettings::MAX_SIZE`, or
    /// a read-router history capacity outside its limits.
    pub fn new(
        map: ShardMap,
        nodes: impl IntoIterator<Item = (PhysicalShard, ShardNodes)>,
        config: PgShardsConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PgError> {
        if !(1..=PoolSettings::MAX_SIZE).contains(&config.pool.max_size) {
            return Err(PgError::Config(format!(
                "pool max_size must be in 1..={}, got {}",
                PoolSettings::MAX_SIZE,
                config.pool.max_size
            )));
        }
        let router = ReadRouter::new(config.router)
            .map_err(|error| PgError::Config(format!("read router: {error}")))?;
        if let Some(table) = &config.heartbeat_table
            && !is_qualified_identifier(table)
        {
            return Err(PgError::Config(format!(
                "heartbeat table {table:?} is not a plain [schema.]name"
            )));
        }
        let mut shards = BTreeMap::new();
        for (physical, nodes) in nodes {
            let shard = physical;
            let primary = build_pool(
                &nodes.primary,
                &config.pool,
                ShardTarget {
                    shard,
                    node: Target::Primary,
                },
            )?;
            let mut replicas = BTreeMap::new();
            for (role, conn) in &nodes.replicas {
                let target = ShardTarget {
                    shard,
                    node: Target::Replica(*role),
                };
                replicas.insert(*role, build_pool(conn, &config.pool, target)?);
            }
            shards.insert(shard, ShardPools { primary, replicas });
        }
        check_covered(&map, &shards)?;
        Ok(Self {
            map: RwLock::new(map),
            shards,
            router: Mutex::new(router),
            clock,
            config,
        })
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &PgShardsConfig {
        &self.config
    }

    /// A copy of the current shard map.
    #[must_use]
    pub fn map(&self) -> ShardMap {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the shard map (after a move or a pin), if every physical shard it routes
    /// to has nodes.
    ///
    /// # Errors
    ///
    /// [`PgError::Config`] naming a physical shard without nodes.
    pub fn set_map(&self, map: ShardMap) -> Result<(), PgError> {
        check_covered(&map, &self.shards)?;
        *self.map.write().unwrap_or_else(PoisonError::into_inner) = map;
        Ok(())
    }

    /// Where `pharmacy_id` goes under the current map.
    #[must_use]
    pub fn route(&self, pharmacy_id: PharmacyId) -> Route {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .route(pharmacy_id)
    }

    /// Every configured replica.
    #[must_use]
    pub fn replicas(&self) -> Vec<ReplicaKey> {
        self.shards
            .iter()
            .flat_map(|(shard, pools)| {
                pools.replicas.keys().map(|role| ReplicaKey {
                    shard: *shard,
                    role: *role,
                })
            })
            .collect()
    }

    /// The pool of one node.
    ///
    /// # Errors
    ///
    /// [`PgError::NoSuchNode`].
    pub fn pool(&self, node: ShardTarget) -> Result<&Pool, PgError> {
        let shard = self
            .shards
            .get(&node.shard)
            .ok_or(PgError::NoSuchNode(Node(node)))?;
        match node.node {
            Target::Primary => Ok(&shard.primary),
            Target::Replica(role) => shard
                .replicas
                .get(&role)
                .ok_or(PgError::NoSuchNode(Node(node))),
        }
    }

    /// A pooled connection to one node (for statements the adapter has no method for).
    ///
    /// # Errors
    ///
    /// [`PgError::NoSuchNode`], or the node is unavailable.
    pub async fn client(&self, node: ShardTarget) -> Result<deadpool_postgres::Client, PgError> {
        self.pool(node)?
            .get()
            .await
            .map_err(|error| PgError::from_pool(node, error))
    }

    /// The injected clock, in milliseconds.
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.now().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs `f` with the read router (to inspect or feed it).
    pub fn with_router<R>(&self, f: impl FnOnce(&mut ReadRouter) -> R) -> R {
        f(&mut self.router())
    }

    /// Takes the router's queued [`RoutingEvent`]s, oldest first.
    pub fn take_events(&self) -> Vec<RoutingEvent> {
        self.router().take_events()
    }

    fn router(&self) -> MutexGuard<'_, ReadRouter> {
        self.router.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` against `node` within [`PgShardsConfig::query_timeout`].
    async fn timed<T>(
        &self,
        node: ShardTarget,
        work: impl Future<Output = Result<T, PgError>>,
    ) -> Result<T, PgError> {
        let limit = self.config.query_timeout;
        tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(PgError::Timeout {
                node: Node(node),
                message: format!("no answer within {limit:?}"),
            })
        })
    }

    /// Runs one statement on the primary of `pharmacy_id`'s shard (autocommit) and returns
    /// the primary's WAL insert position after the commit as a read-your-writes token
    /// (see the module documentation).
    ///
    /// # Errors
    ///
    /// The primary is unavailable or timed out, or the statement failed.
    pub async fn execute_write(
        &self,
        pharmacy_id: PharmacyId,
        sql: &str,
        params: Params<'_>,
    ) -> Result<WriteOutcome, PgError> {
        let route = self.route(pharmacy_id);
        let node = ShardTarget {
            shard: route.physical,
            node: Target::Primary,
        };
        let db = |error| PgError::from_db(node, error);
        self.timed(node, async {
            let client = self.client(node).await?;
            let statement = client.prepare_cached(sql).await.map_err(db)?;
            let rows_affected = client.execute(&statement, params).await.map_err(db)?;
            let lsn = token_lsn(&client, node).await?;
            Ok(WriteOutcome {
                rows_affected,
                token: LsnToken {
                    shard: node.shard,
                    lsn,
                },
                served_by: node,
                route,
            })
        })
        .await
    }

    /// Runs a read of `kind` for `pharmacy_id` where the [`ReadRouter`] sends it: the
    /// primary for [`QueryKind::Write`] and [`QueryKind::TransactionalRead`], else the
    /// kind's replica if its lag is within the limit and it has replayed `token`, else
    /// the primary. A replica that fails as unreachable is marked down and the read is
    /// retried once on the primary.
    ///
    /// # Errors
    ///
    /// The serving node is unavailable or timed out, or the statement failed.
    pub async fn query_read(
        &self,
        kind: QueryKind,
        pharmacy_id: PharmacyId,
        token: Option<&LsnToken>,
        sql: &str,
        params: Params<'_>,
    ) -> Result<ReadOutcome, PgError> {
        let shard = self.route(pharmacy_id).physical;
        let now = self.now_ms();
        let decision = self.router().route(now, shard, kind, token);
        let node = ShardTarget {
            shard,
            node: decision.target,
        };
        let Target::Replica(role) = node.node else {
            let rows = self.query_on(node, sql, params).await?;
            return Ok(ReadOutcome {
                rows,
                served_by: node,
                decision,
            });
        };
        if self.pool(node).is_ok() {
            match self.query_on(node, sql, params).await {
                Ok(rows) => {
                    return Ok(ReadOutcome {
                        rows,
                        served_by: node,
                        decision,
                    });
                }
                Err(error) if error.is_node_down() => {
                    self.router()
                        .replica_down(ReplicaKey { shard, role }, self.now_ms());
                }
                Err(error) => return Err(error),
            }
        }
        let primary = ShardTarget {
            shard,
            node: Target::Primary,
        };
        let rows = self.query_on(primary, sql, params).await?;
        Ok(ReadOutcome {
            rows,
            served_by: primary,
            decision: ReadDecision {
                shard,
                target: Target::Primary,
                reason: DecisionReason::ReplicaFallback(FallbackReason::Unreachable),
            },
        })
    }

    /// Runs a query on one given node (no routing).
    ///
    /// # Errors
    ///
    /// The node is unknown, unavailable or timed out, or the statement failed.
    pub async fn query_on(
        &self,
        node: ShardTarget,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, PgError> {
        let db = |error| PgError::from_db(node, error);
        self.timed(node, async {
            let client = self.client(node).await?;
            let statement = client.prepare_cached(sql).await.map_err(db)?;
            client.query(&statement, params).await.map_err(db)
        })
        .await
    }

    /// Measures `replica` against its primary (primary first, see [`LagSample`]), stamped
    /// with the injected clock at the moment the primary answered.
    ///
    /// # Errors
    ///
    /// Either node is unknown, unavailable or timed out, or the replica is not in
    /// recovery (it has no replay position).
    pub async fn measure_lag(&self, replica: ReplicaKey) -> Result<LagSample, PgError> {
        let primary = ShardTarget {
            shard: replica.shard,
            node: Target::Primary,
        };
        let node = ShardTarget {
            shard: replica.shard,
            node: Target::Replica(replica.role),
        };
        self.pool(node)?;
        let primary_lsn = self
            .timed(primary, async {
                let client = self.client(primary).await?;
                current_wal_lsn(&client, primary).await
            })
            .await?;
        let measured_at_ms = self.now_ms();
        let db = |error| PgError::from_db(node, error);
        self.timed(node, async {
            let client = self.client(node).await?;
            let row = client
                .query_one(
                    "SELECT pg_last_wal_replay_lsn(), pg_last_wal_receive_lsn(), \
                     pg_is_wal_replay_paused(), \
                     (extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000)::int8",
                    &[],
                )
                .await
                .map_err(db)?;
            let replay: Option<PgLsn> = row.try_get(0).map_err(db)?;
            let Some(replay) = replay else {
                return Err(PgError::BadResult {
                    node: Node(node),
                    message: "not a standby: pg_last_wal_replay_lsn() is NULL".to_owned(),
                });
            };
            let receive: Option<PgLsn> = row.try_get(1).map_err(db)?;
            let replay_paused: bool = row.try_get(2).map_err(db)?;
            let replay_timestamp: Option<i64> = row.try_get(3).map_err(db)?;
            let heartbeat = match &self.config.heartbeat_table {
                Some(table) => read_heartbeat(&client, table).await,
                None => None,
            };
            Ok(LagSample {
                primary_lsn,
                replay_lsn: lsn(replay),
                receive_lsn: receive.map(lsn),
                replay_paused,
                replay_timestamp_ms: replay_timestamp.and_then(|ms| u64::try_from(ms).ok()),
                heartbeat,
                measured_at_ms,
            })
        })
        .await
    }

    /// Measures `replica` and feeds the sample to the router; if the replica itself is
    /// unreachable, marks it down in the router. Returns the router's estimate.
    ///
    /// # Errors
    ///
    /// As [`PgShards::measure_lag`].
    pub async fn refresh_lag(&self, replica: ReplicaKey) -> Result<LagEstimate, PgError> {
        match self.measure_lag(replica).await {
            Ok(sample) => Ok(self.router().observe(replica, &sample)),
            Err(error) => {
                if error.is_replica_down(replica) {
                    self.router().replica_down(replica, self.now_ms());
                }
                Err(error)
            }
        }
    }

    /// [`PgShards::refresh_lag`] for every configured replica, one after the other.
    pub async fn refresh_all_lag(&self) -> Vec<(ReplicaKey, Result<LagEstimate, PgError>)> {
        let mut out = Vec::new();
        for replica in self.replicas() {
            let estimate = self.refresh_lag(replica).await;
            out.push((replica, estimate));
        }
        out
    }

    /// Creates the heartbeat table on `shard`'s primary if it does not exist (replicas get
    /// it through replication).
    ///
    /// # Errors
    ///
    /// [`PgError::Config`] without [`PgShardsConfig::heartbeat_table`]; the primary is
    /// unavailable, or the statement failed.
    pub async fn install_heartbeat(&self, shard: PhysicalShard) -> Result<(), PgError> {
        let table = self.heartbeat_table()?;
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {table} (id int PRIMARY KEY, ts timestamptz NOT NULL)"
        );
        self.on_primary(shard, &sql).await
    }

    /// Writes the primary's clock into `shard`'s heartbeat row.
    ///
    /// # Errors
    ///
    /// As [`PgShards::install_heartbeat`].
    pub async fn beat(&self, shard: PhysicalShard) -> Result<(), PgError> {
        let table = self.heartbeat_table()?;
        let sql = format!(
            "INSERT INTO {table} (id, ts) VALUES (1, clock_timestamp()) \
             ON CONFLICT (id) DO UPDATE SET ts = excluded.ts"
        );
        self.on_primary(shard, &sql).await
    }

    fn heartbeat_table(&self) -> Result<&str, PgError> {
        self.config
            .heartbeat_table
            .as_deref()
            .ok_or_else(|| PgError::Config("no heartbeat table configured".to_owned()))
    }

    async fn on_primary(&self, shard: PhysicalShard, sql: &str) -> Result<(), PgError> {
        let node = ShardTarget {
            shard,
            node: Target::Primary,
        };
        self.timed(node, async {
            let client = self.client(node).await?;
            client
                .batch_execute(sql)
                .await
                .map_err(|error| PgError::from_db(node, error))
        })
        .await
    }

    /// Spawns a task that, every `every`, writes each primary's heartbeat (when a table is
    /// configured) and refreshes every replica's lag. The task stops when the last `Arc`
    /// of `self` is dropped, or when the handle is aborted.
    ///
    /// `every` must be shorter than the router's
    /// [`max_lag`](crate::reads::ReadRouterConfig::max_lag): the lag estimate from LSN
    /// history is only accurate to about the sampling interval (see [`crate::lag`]), so
    /// sampling every `max_lag` or less often could not tell a replica within the limit
    /// from one beyond it. Well below it is better (the default 5 s limit with a 1 s
    /// interval errs by at most 1 s).
    ///
    /// # Errors
    ///
    /// [`PgError::Config`] when `every` is zero or at least `max_lag` (nothing is spawned).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (as [`tokio::spawn`]).
    pub fn spawn_lag_monitor(
        self: &Arc<Self>,
        every: Duration,
    ) -> Result<tokio::task::JoinHandle<()>, PgError> {
        let max_lag = self.config.router.max_lag;
        if every.is_zero() || every >= max_lag {
            return Err(PgError::Config(format!(
                "lag monitor interval {every:?} must be above zero and below the maximum \
                 replica lag {max_lag:?}"
            )));
        }
        let weak: Weak<Self> = Arc::downgrade(self);
        Ok(tokio::spawn(async move {
            loop {
                let Some(this) = weak.upgrade() else { return };
                if this.config.heartbeat_table.is_some() {
                    for shard in this.shards.keys() {
                        // A primary that is down shows up as lag; nothing else to do here.
                        let _ = this.beat(*shard).await;
                    }
                }
                let _ = this.refresh_all_lag().await;
                drop(this);
                tokio::time::sleep(every).await;
            }
        }))
    }

    /// A scatter-gather request over `pharmacy_ids`: grouped by physical shard with the
    /// map, each leg on the node the router picks for `kind` now (the replica of the
    /// kind's role when it is serving, else the primary; no read-your-writes token).
    pub fn scatter_request(
        &self,
        statement: impl Into<String>,
        params: Vec<ParamValue>,
        pharmacy_ids: impl IntoIterator<Item = PharmacyId>,
        kind: QueryKind,
    ) -> ScatterRequest {
        let now = self.now_ms();
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let mut router = self.router();
        ScatterRequest::for_pharmacies(
            statement,
            params,
            pharmacy_ids,
            |id| map.route(id).physical,
            |shard| {
                let target = router.route(now, shard, kind, None).target;
                let configured = self
                    .pool(ShardTarget {
                        shard,
                        node: target,
                    })
                    .is_ok();
                if configured { target } else { Target::Primary }
            },
        )
    }

    /// Runs `request` through [`crate::scatter::scatter_gather`] with this adapter as the
    /// executor and a tokio timer.
    ///
    /// # Errors
    ///
    /// As [`crate::scatter::scatter_gather`].
    pub async fn scatter_gather(
        &self,
        request: &ScatterRequest,
        options: &ScatterOptions,
    ) -> Result<GatherResult, ScatterError> {
        crate::scatter::scatter_gather(self as &dyn ShardExecutor, &TokioSleep, request, options)
            .await
    }
}

/// A read-your-writes token's LSN on a primary: `pg_current_wal_insert_lsn()`, moved
/// back to the page start when only a page header follows it ([`token_from_insert`]).
async fn token_lsn(client: &deadpool_postgres::Client, node: ShardTarget) -> Result<Lsn, PgError> {
    let db = |error| PgError::from_db(node, error);
    let row = client
        .query_one(
            "SELECT pg_current_wal_insert_lsn(), \
             current_setting('wal_block_size')::int8, \
             pg_size_bytes(current_setting('wal_segment_size'))",
            &[],
        )
        .await
        .map_err(db)?;
    let insert: PgLsn = row.try_get(0).map_err(db)?;
    let block: i64 = row.try_get(1).map_err(db)?;
    let segment: i64 = row.try_get(2).map_err(db)?;
    Ok(token_from_insert(
        lsn(insert),
        u64::try_from(block).unwrap_or(0),
        u64::try_from(segment).unwrap_or(0),
    ))
}

/// `SizeOfXLogShortPHD`: the header of a WAL page (MAXALIGN-ed, 64-bit builds).
const SHORT_PAGE_HEADER: u64 = 24;
/// `SizeOfXLogLongPHD`: the header of the first page of a WAL segment.
const LONG_PAGE_HEADER: u64 = 40;

/// The token for insert position `insert` with WAL pages of `block` bytes and segments of
/// `segment` bytes.
///
/// PostgreSQL reports an insert position at a page boundary as the address right after
/// that page's header (`XLogBytePosToRecPtr`), while the last record, and so a replica's
/// replay position, ends at the boundary itself. No record ends inside a header, so an
/// insert position exactly at the end of a header means the WAL ends at the page start.
/// Unknown sizes (zero) leave the position as it is.
fn token_from_insert(insert: Lsn, block: u64, segment: u64) -> Lsn {
    if block == 0 || segment == 0 {
        return insert;
    }
    let in_page = insert.0 % block;
    let header = if insert.0 % segment < block {
        LONG_PAGE_HEADER
    } else {
        SHORT_PAGE_HEADER
    };
    if in_page == header {
        Lsn(insert.0 - in_page)
    } else {
        insert
    }
}

/// `pg_current_wal_lsn()` (the write position) on a primary, for lag samples.
async fn current_wal_lsn(
    client: &deadpool_postgres::Client,
    node: ShardTarget,
) -> Result<Lsn, PgError> {
    let db = |error| PgError::from_db(node, error);
    let row = client
        .query_one("SELECT pg_current_wal_lsn()", &[])
        .await
        .map_err(db)?;
    let value: PgLsn = row.try_get(0).map_err(db)?;
    Ok(lsn(value))
}

fn lsn(value: PgLsn) -> Lsn {
    Lsn(u64::from(value))
}

/// The heartbeat row as the replica sees it, with the replica's clock; `None` if the
/// table or row is missing or unreadable (the lag then comes from LSNs alone).
async fn read_heartbeat(client: &deadpool_postgres::Client, table: &str) -> Option<Heartbeat> {
    let sql = format!(
        "SELECT (extract(epoch FROM ts) * 1000)::int8, \
         (extract(epoch FROM clock_timestamp()) * 1000)::int8 FROM {table} WHERE id = 1"
    );
    let row = client.query_opt(&sql, &[]).await.ok()??;
    let written: i64 = row.try_get(0).ok()?;
    let observed: i64 = row.try_get(1).ok()?;
    Some(Heartbeat {
        written_at_ms: u64::try_from(written).ok()?,
        observed_at_ms: u64::try_from(observed).ok()?,
    })
}

fn build_pool(conn: &str, settings: &PoolSettings, node: ShardTarget) -> Result<Pool, PgError> {
    let mut pg: tokio_postgres::Config = conn.parse().map_err(|error| {
        PgError::Config(format!("{}: bad connection string: {error}", Node(node)))
    })?;
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(settings.connect_timeout);
    }
    if pg.get_application_name().is_none() {
        pg.application_name(settings.application_name.clone());
    }
    pg.keepalives(true)
        .keepalives_idle(settings.keepalives_idle);
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(settings.max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(settings.wait_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(settings.recycle_timeout))
        .build()
        .map_err(|error| PgError::Config(format!("{}: cannot build pool: {error}", Node(node))))
}

/// Every physical shard `map` can send traffic to has nodes.
fn check_covered(
    map: &ShardMap,
    shards: &BTreeMap<PhysicalShard, ShardPools>,
) -> Result<(), PgError> {
    let needed = map
        .physical_shards()
        .into_iter()
        .chain(map.moves().map(|mv| mv.target));
    for physical in needed {
        if !shards.contains_key(&physical) {
            return Err(PgError::Config(format!(
                "{physical} has no nodes configured"
            )));
        }
    }
    Ok(())
}

/// `name` or `schema.name`, each an unquoted SQL identifier.
fn is_qualified_identifier(name: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::HashScheme;
    use pharm_core::time::ManualClock;

    fn shards(config: PgShardsConfig, nodes: &[u32]) -> Result<PgShards, PgError> {
        let map = ShardMap::new(
            HashScheme::PostgresBigint,
            16,
            &[PhysicalShard(0), PhysicalShard(1)],
        )
        .map_err(|e| PgError::Config(e.to_string()))?;
        let nodes = nodes.iter().map(|n| {
            (
                PhysicalShard(*n),
                ShardNodes::primary(format!("host=127.0.0.1 port={} user=x", 1 + n))
                    .with_replica(ReplicaRole::Analytics, "host=127.0.0.1 port=3 user=x"),
            )
        });
        PgShards::new(map, nodes, config, Arc::new(ManualClock::new()))
    }

    #[test]
    fn configuration_is_checked() {
        assert!(shards(PgShardsConfig::default(), &[0, 1]).is_ok());
        let missing = shards(PgShardsConfig::default(), &[0]);
        assert!(
            matches!(&missing, Err(PgError::Config(m)) if m.contains("physical shard 1")),
            "{missing:?}"
        );
        let bad_table = PgShardsConfig {
            heartbeat_table: Some("hb; DROP TABLE sales".to_owned()),
            ..PgShardsConfig::default()
        };
        assert!(matches!(
            shards(bad_table, &[0, 1]),
            Err(PgError::Config(_))
        ));
        let map = ShardMap::new(HashScheme::Pharm, 4, &[PhysicalShard(0)])
            .map_err(|e| PgError::Config(e.to_string()));
        let bad_conn = map.and_then(|map| {
            PgShards::new(
                map,
                [(PhysicalShard(0), ShardNodes::primary("port=notanumber"))],
                PgShardsConfig::default(),
                Arc::new(ManualClock::new()),
            )
        });
        assert!(matches!(bad_conn, Err(PgError::Config(_))), "{bad_conn:?}");
    }

    #[test]
    fn nodes_and_replicas() -> Result<(), PgError> {
        let shards = shards(PgShardsConfig::default(), &[0, 1])?;
        assert_eq!(shards.replicas().len(), 2);
        let unknown = ShardTarget {
            shard: PhysicalShard(9),
            node: Target::Primary,
        };
        assert!(matches!(shards.pool(unknown), Err(PgError::NoSuchNode(_))));
        let reporting = ShardTarget {
            shard: PhysicalShard(0),
            node: Target::Replica(ReplicaRole::Reporting),
        };
        assert!(matches!(
            shards.pool(reporting),
            Err(PgError::NoSuchNode(_))
        ));
        let too_small = ShardMap::new(HashScheme::Pharm, 4, &[PhysicalShard(7)])
            .map_err(|e| PgError::Config(e.to_string()))?;
        assert!(shards.set_map(too_small).is_err());
        Ok(())
    }

    /// The adapter's futures can be spawned on a multi-threaded runtime.
    #[test]
    fn futures_are_send() -> Result<(), PgError> {
        fn send<T: Send>(_: &T) {}
        let shards = shards(PgShardsConfig::default(), &[0, 1])?;
        let replica = ReplicaKey {
            shard: PhysicalShard(0),
            role: ReplicaRole::Analytics,
        };
        send(&shards.execute_write(PharmacyId::new(1), "", &[]));
        send(&shards.query_read(QueryKind::Analytics, PharmacyId::new(1), None, "", &[]));
        send(&shards.measure_lag(replica));
        send(&shards.refresh_lag(replica));
        send(&shards.refresh_all_lag());
        send(&shards.beat(PhysicalShard(0)));
        let request = shards.scatter_request(
            "",
            vec![],
            [1, 2, 3].map(PharmacyId::new),
            QueryKind::Analytics,
        );
        send(&shards.scatter_gather(&request, &ScatterOptions::default()));
        Ok(())
    }

    #[test]
    fn identifiers() {
        for good in ["hb", "_hb", "pharm.heartbeat_1"] {
            assert!(is_qualified_identifier(good), "{good}");
        }
        for bad in ["", "1hb", "a.b.c", "hb; drop table x", "a.", ".a", "\"hb\""] {
            assert!(!is_qualified_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn token_from_insert_position() {
        const BLOCK: u64 = 8_192;
        const SEGMENT: u64 = 16 * 1024 * 1024;
        let segment_start = 5 * SEGMENT;
        // Right after a segment switch: only the long header on the new segment.
        assert_eq!(
            token_from_insert(Lsn(segment_start + 40), BLOCK, SEGMENT),
            Lsn(segment_start)
        );
        // Right after a short page header.
        let page = segment_start + 3 * BLOCK;
        assert_eq!(token_from_insert(Lsn(page + 24), BLOCK, SEGMENT), Lsn(page));
        // Records already on the page: unchanged.
        for insert in [page + 32, page + 48, segment_start + 64, segment_start + 24] {
            assert_eq!(token_from_insert(Lsn(insert), BLOCK, SEGMENT), Lsn(insert));
        }
        // Unknown sizes: unchanged.
        assert_eq!(token_from_insert(Lsn(page + 24), 0, 0), Lsn(page + 24));
    }

    #[test]
    fn lag_monitor_interval_must_be_below_max_lag() -> Result<(), PgError> {
        let shards = Arc::new(shards(PgShardsConfig::default(), &[0, 1])?);
        for every in [
            Duration::ZERO,
            Duration::from_secs(5),
            Duration::from_secs(6),
        ] {
            assert!(
                matches!(shards.spawn_lag_monitor(every), Err(PgError::Config(_))),
                "{every:?}"
            );
        }
        Ok(())
    }
}
