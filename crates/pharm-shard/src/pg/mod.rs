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
//! [`LsnToken`](crate::reads::LsnToken). A later [`PgShards::query_read`] that carries the token runs on a replica
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
//! [`PgShards::query_read`] asks the [`ReadRouter`] where a query of its [`QueryKind`](crate::reads::QueryKind)
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
//! [`PgShards::beat`]). See [`crate::lag`] for how a [`LagSample`](crate::lag::LagSample) becomes a lag estimate
//! without the idle-primary pitfall. [`PgShards::spawn_lag_monitor`] samples every replica
//! (and writes the heartbeats) periodically, more often than the lag limit.
//!
//! # Scatter-gather
//!
//! [`PgShards`] implements [`ShardExecutor`](crate::scatter::ShardExecutor). A leg's statement
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
//! # Values, not driver types
//!
//! Statements take their parameters as [`ParamValue`](crate::scatter::ParamValue)s and
//! return rows as `Vec<ParamValue>` ([`PgShards::query_on`] lists the column types); the
//! pools, connections and the driver's types stay inside the adapter.
//!
//! TLS is not supported: the pools connect with `NoTls` (shards on a private network).
//!
//! # Local clusters
//!
//! [`local`] starts throw-away PostgreSQL clusters (and streaming replicas) from the
//! server binaries, for tests and for tools run without a deployment.

mod config;
mod error;
mod executor;
mod heartbeat;
mod lag;
pub mod local;
mod params;
mod pools;
mod rw;
mod scatter;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

pub use config::{PgShardsConfig, PoolSettings, ShardNodes};
pub use error::{Node, PgError};
pub use executor::TokioSleep;
pub use rw::{ReadOutcome, WriteOutcome};

use config::is_qualified_identifier;
use pools::{ShardPools, build_pool, check_covered};

use crate::directory::{PhysicalShard, Route, ShardMap};
use crate::reads::{ReadRouter, ReplicaKey, RoutingEvent, Target};
use crate::scatter::ShardTarget;
use pharm_core::ids::PharmacyId;
use pharm_core::time::Clock;

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
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pharm_core::time::ManualClock;

    use super::rw::token_from_insert;
    use super::*;
    use crate::hash::HashScheme;
    use crate::lag::Lsn;
    use crate::reads::{QueryKind, ReplicaRole};
    use crate::scatter::ScatterOptions;

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
