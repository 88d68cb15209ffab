//! Replica lag: sampling a replica against its primary, feeding the read router, and the
//! periodic monitor.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio_postgres::types::PgLsn;

use super::heartbeat::read_heartbeat;
use super::{Node, PgError, PgShards};
use crate::lag::{LagEstimate, LagSample, Lsn};
use crate::reads::{ReplicaKey, Target};
use crate::scatter::ShardTarget;

impl PgShards {
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
}

/// `pg_current_wal_lsn()` (the write position) on a primary, for lag samples.
pub(super) async fn current_wal_lsn(
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

pub(super) fn lsn(value: PgLsn) -> Lsn {
    Lsn(u64::from(value))
}
