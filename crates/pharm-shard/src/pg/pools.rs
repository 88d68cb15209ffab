//! One deadpool pool per node: building them, checking the map is covered, handing out
//! connections.

use std::collections::BTreeMap;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::{Node, PgError, PgShards, PoolSettings};
use crate::directory::{PhysicalShard, ShardMap};
use crate::reads::{ReplicaRole, Target};
use crate::scatter::ShardTarget;

/// The pools of one physical shard.
#[derive(Debug)]
pub(super) struct ShardPools {
    pub(super) primary: Pool,
    pub(super) replicas: BTreeMap<ReplicaRole, Pool>,
}

impl PgShards {
    /// The pool of one node.
    ///
    /// # Errors
    ///
    /// [`PgError::NoSuchNode`].
    pub(crate) fn pool(&self, node: ShardTarget) -> Result<&Pool, PgError> {
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
    pub(crate) async fn client(
        &self,
        node: ShardTarget,
    ) -> Result<deadpool_postgres::Client, PgError> {
        self.pool(node)?
            .get()
            .await
            .map_err(|error| PgError::from_pool(node, error))
    }
}

pub(super) fn build_pool(
    conn: &str,
    settings: &PoolSettings,
    node: ShardTarget,
) -> Result<Pool, PgError> {
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
pub(super) fn check_covered(
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
