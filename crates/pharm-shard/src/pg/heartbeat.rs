//! The heartbeat table: installing it and beating on each primary, reading it on replicas.

use super::{PgError, PgShards};
use crate::directory::PhysicalShard;
use crate::lag::Heartbeat;
use crate::reads::Target;
use crate::scatter::ShardTarget;

impl PgShards {
    /// Creates the heartbeat table on `shard`'s primary if it does not exist (replicas get
    /// it through replication).
    ///
    /// # Errors
    ///
    /// [`PgError::Config`] without [`PgShardsConfig::heartbeat_table`](super::PgShardsConfig::heartbeat_table); the primary is
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

    pub(super) fn heartbeat_table(&self) -> Result<&str, PgError> {
        self.config
            .heartbeat_table
            .as_deref()
            .ok_or_else(|| PgError::Config("no heartbeat table configured".to_owned()))
    }

    pub(super) async fn on_primary(&self, shard: PhysicalShard, sql: &str) -> Result<(), PgError> {
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
}

/// The heartbeat row as the replica sees it, with the replica's clock; `None` if the
/// table or row is missing or unreadable (the lag then comes from LSNs alone).
pub(super) async fn read_heartbeat(
    client: &deadpool_postgres::Client,
    table: &str,
) -> Option<Heartbeat> {
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
