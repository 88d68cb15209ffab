//! The shard stores' transaction tables on real PostgreSQL (feature `postgres`), through
//! pharm-shard's adapter: [`LOGICAL_SHARDS`] logical shards on one physical shard per
//! cluster, one `loadtest_txn` table per cluster.
//!
//! - A write is one multi-row `INSERT … ON CONFLICT DO NOTHING` on the pharmacies'
//!   primary ([`PgShards::execute_write`]). When it did not insert every row, one more
//!   `SELECT` on that primary reads the digests held under the batch's keys: a row whose
//!   digest matches is an idempotent repeat, another digest a conflict. (Rows are never
//!   updated or deleted, so a held digest read after the insert is the one it met.)
//! - A read goes through the adapter's lag-aware read path ([`PgShards::query_read`],
//!   [`QueryKind::Analytics`]): the shard's replica when its measured lag is within the
//!   limit and it has replayed the pharmacy's last write (its read-your-writes token),
//!   else the primary. A lag monitor samples every replica each second.
//! - [`TxnTables`] is synchronous (driver threads are plain threads): [`PgTables`] owns a
//!   two-worker tokio runtime and blocks on it. Calling it from inside a tokio runtime
//!   panics, as does dropping it there.
//!
//! [`PgTables::start_local`] starts throw-away clusters (`pharm_shard::pg::local`) that
//! live as long as the tables; [`PgTables::connect`] uses running ones.

mod codec;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pharm_core::time::SystemClock;
use pharm_shard::directory::{DirectoryError, LogicalShard, PhysicalShard, ShardMap};
use pharm_shard::hash::HashScheme;
use pharm_shard::pg::local::{Cluster, LocalError, PgEnv};
use pharm_shard::pg::{PgError, PgShards, PgShardsConfig, PoolSettings, ShardNodes};
use pharm_shard::reads::{LsnToken, QueryKind, ReplicaRole, Target};
use pharm_shard::scatter::{ParamValue, ShardTarget};

use crate::cloud::table::{PendingWrite, TableError, TxnRow, TxnTables, Written};
use crate::requests::pharmacy_id;

/// Logical shards the pharmacies hash to.
pub const LOGICAL_SHARDS: u32 = 16;

/// How often the lag monitor samples the replicas (below the router's 5 s lag limit).
const LAG_SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// Setting up [`PgTables`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgTablesError {
    /// Local clusters could not be started.
    #[error("local PostgreSQL clusters: {0}")]
    Local(#[from] LocalError),
    /// The adapter could not be built or the table could not be created.
    #[error(transparent)]
    Pg(#[from] PgError),
    /// The shard map could not be built.
    #[error("shard map: {0}")]
    Map(#[from] DirectoryError),
    /// The tokio runtime could not be built.
    #[error("tokio runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// No physical shard was given.
    #[error("no PostgreSQL cluster given (one URL per physical shard)")]
    NoShards,
}

/// The transaction tables on PostgreSQL (see the module documentation).
pub struct PgTables {
    shards: Arc<PgShards>,
    nodes: BTreeMap<PhysicalShard, ShardNodes>,
    /// Each pharmacy's last write, for read-your-writes.
    tokens: Arc<Mutex<HashMap<u32, LsnToken>>>,
    replica_reads: AtomicU64,
    /// Dropped after the pools, before the clusters.
    runtime: tokio::runtime::Runtime,
    /// Throw-away clusters (primaries and replicas) owned by these tables.
    clusters: Vec<Cluster>,
}

impl std::fmt::Debug for PgTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTables")
            .field("nodes", &self.nodes)
            .field("clusters", &self.clusters)
            .finish_non_exhaustive()
    }
}

impl PgTables {
    /// Starts `physical` throw-away primaries (and, with `with_replica`, a streaming
    /// replica of each, serving the reads), then sets up the tables on them. The clusters
    /// are stopped and removed when the tables are dropped.
    ///
    /// # Errors
    ///
    /// The server binaries are missing, a cluster did not start, or the setup failed.
    pub fn start_local(physical: u32, with_replica: bool) -> Result<Self, PgTablesError> {
        let env = PgEnv::get()?;
        let names: Vec<String> = (0..physical).map(|i| format!("shard{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let primaries = Cluster::primaries(&env, &refs)?;
        let mut nodes = Vec::new();
        let mut replicas = Vec::new();
        for (primary, name) in primaries.iter().zip(&names) {
            let mut shard = ShardNodes::primary(primary.conn_string());
            if with_replica {
                let replica = Cluster::replica_of(primary, &format!("{name}_replica"))?;
                shard = shard.with_replica(ReplicaRole::Analytics, replica.conn_string());
                replicas.push(replica);
            }
            nodes.push(shard);
        }
        let mut clusters = primaries;
        clusters.extend(replicas);
        Self::new(nodes, clusters)
    }

    /// Uses running clusters: one connection string (libpq key/value or `postgresql://`
    /// URL) per physical shard's primary, in shard order.
    ///
    /// # Errors
    ///
    /// No URL, a bad URL, or a primary that cannot be reached to create the table.
    pub fn connect(urls: &[String]) -> Result<Self, PgTablesError> {
        Self::new(urls.iter().map(ShardNodes::primary).collect(), Vec::new())
    }

    fn new(nodes: Vec<ShardNodes>, clusters: Vec<Cluster>) -> Result<Self, PgTablesError> {
        if nodes.is_empty() {
            return Err(PgTablesError::NoShards);
        }
        let nodes: BTreeMap<PhysicalShard, ShardNodes> =
            (0u32..).map(PhysicalShard).zip(nodes).collect();
        let physical: Vec<PhysicalShard> = nodes.keys().copied().collect();
        let map = ShardMap::new(HashScheme::Pharm, LOGICAL_SHARDS, &physical)?;
        let config = PgShardsConfig {
            pool: PoolSettings {
                application_name: "pharm-loadtest".to_owned(),
                ..PoolSettings::default()
            },
            ..PgShardsConfig::default()
        };
        let shards = Arc::new(PgShards::new(
            map,
            nodes.clone(),
            config,
            Arc::new(SystemClock::new()),
        )?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pg-tables")
            .enable_all()
            .build()
            .map_err(PgTablesError::Runtime)?;
        runtime.block_on(async {
            for shard in &physical {
                let primary = ShardTarget {
                    shard: *shard,
                    node: Target::Primary,
                };
                shards.query_on(primary, codec::CREATE, &[]).await?;
            }
            Ok::<_, PgError>(())
        })?;
        if !shards.replicas().is_empty() {
            let _guard = runtime.enter();
            // The task stops with the last `Arc` of the adapter or with the runtime.
            drop(shards.spawn_lag_monitor(LAG_SAMPLE_EVERY)?);
        }
        Ok(PgTables {
            shards,
            nodes,
            tokens: Arc::new(Mutex::new(HashMap::new())),
            replica_reads: AtomicU64::new(0),
            runtime,
            clusters,
        })
    }

    /// The connection strings of every physical shard's nodes.
    #[must_use]
    pub fn nodes(&self) -> &BTreeMap<PhysicalShard, ShardNodes> {
        &self.nodes
    }

    /// The shard map the tables route by ([`LOGICAL_SHARDS`] logical shards).
    #[must_use]
    pub fn map(&self) -> ShardMap {
        self.shards.map()
    }

    /// How many [`TxnTables::rows`] reads a replica served (the rest went to primaries).
    #[must_use]
    pub fn replica_reads(&self) -> u64 {
        self.replica_reads.load(Ordering::Relaxed)
    }

    /// Every row's pharmacy belongs to logical `shard`.
    fn check_routes(&self, shard: LogicalShard, rows: &[TxnRow]) -> Result<(), TableError> {
        for row in rows {
            self.physical(shard, row.pharmacy)?;
        }
        Ok(())
    }

    /// The physical shard of `pharmacy`, if it belongs to logical `shard`.
    fn physical(&self, shard: LogicalShard, pharmacy: u32) -> Result<PhysicalShard, TableError> {
        let route = self.shards.route(pharmacy_id(pharmacy));
        if route.logical == shard {
            Ok(route.physical)
        } else {
            Err(TableError {
                shard: shard.0,
                reason: format!("pharmacy {pharmacy} belongs to {}", route.logical),
            })
        }
    }
}

/// Records each written pharmacy's latest write position, for read-your-writes.
fn remember(tokens: &Mutex<HashMap<u32, LsnToken>>, rows: &[TxnRow], token: LsnToken) {
    let mut tokens = tokens.lock().unwrap_or_else(PoisonError::into_inner);
    for row in rows {
        let held = tokens.entry(row.pharmacy).or_insert(token);
        if held.lsn < token.lsn {
            *held = token;
        }
    }
}

fn failed(shard: LogicalShard) -> impl Fn(String) -> TableError {
    move |reason| TableError {
        shard: shard.0,
        reason,
    }
}

impl TxnTables for PgTables {
    fn write(&self, shard: LogicalShard, rows: &[TxnRow]) -> Result<Written, TableError> {
        self.check_routes(shard, rows)?;
        self.runtime.block_on(write_rows(
            Arc::clone(&self.shards),
            Arc::clone(&self.tokens),
            shard,
            rows.to_vec(),
        ))
    }

    fn start_write(&self, shard: LogicalShard, rows: Vec<TxnRow>) -> PendingWrite {
        if let Err(e) = self.check_routes(shard, &rows) {
            return PendingWrite::done(Err(e));
        }
        let task = self.runtime.spawn(write_rows(
            Arc::clone(&self.shards),
            Arc::clone(&self.tokens),
            shard,
            rows,
        ));
        let handle = self.runtime.handle().clone();
        PendingWrite::later(move || {
            handle
                .block_on(task)
                .map_err(|e| failed(shard)(format!("write task: {e}")))?
        })
    }

    fn rows(&self, shard: LogicalShard, pharmacy: u32) -> Result<Vec<TxnRow>, TableError> {
        let fail = failed(shard);
        self.physical(shard, pharmacy)?;
        let token = self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&pharmacy)
            .copied();
        let read = self
            .runtime
            .block_on(self.shards.query_read(
                QueryKind::Analytics,
                pharmacy_id(pharmacy),
                token.as_ref(),
                codec::PHARMACY_ROWS,
                &[ParamValue::Int(pharmacy.into())],
            ))
            .map_err(|e| fail(e.to_string()))?;
        if matches!(read.served_by.node, Target::Replica(_)) {
            self.replica_reads.fetch_add(1, Ordering::Relaxed);
        }
        let mut rows = read
            .rows
            .iter()
            .map(|row| codec::txn_row(row))
            .collect::<Result<Vec<_>, _>>()
            .map_err(&fail)?;
        // Key order is unsigned; the columns are signed, so sort here rather than in SQL.
        rows.sort_unstable_by_key(TxnRow::key);
        Ok(rows)
    }
}

/// Writes `rows` of `shard`: one insert of each key's first row, then (when not every row
/// was new) one read of the digests held for the others.
async fn write_rows(
    shards: Arc<PgShards>,
    tokens: Arc<Mutex<HashMap<u32, LsnToken>>>,
    shard: LogicalShard,
    rows: Vec<TxnRow>,
) -> Result<Written, TableError> {
    let Some(first) = rows.first() else {
        return Ok(Written::default());
    };
    let fail = failed(shard);
    // One insert of each key's first row; later rows of the same key are repeats or
    // conflicts of whatever the table holds afterwards.
    let mut seen = HashSet::new();
    let unique: Vec<&TxnRow> = rows.iter().filter(|r| seen.insert(r.key())).collect();
    let outcome = shards
        .execute_write(
            pharmacy_id(first.pharmacy),
            codec::INSERT,
            &codec::columns(&unique),
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
    remember(&tokens, &rows, outcome.token);
    let total = rows.len() as u64;
    let inserted = outcome.rows_affected;
    if inserted == total {
        return Ok(Written {
            inserted,
            ..Written::default()
        });
    }
    let [p, t, i, s, _, _] = codec::columns(&unique);
    let held = shards
        .query_on(outcome.served_by, codec::HELD, &[p, t, i, s])
        .await
        .map_err(|e| fail(e.to_string()))?;
    let held = held
        .iter()
        .map(|row| Ok((codec::key(row)?, codec::held_digest(row)?.to_owned())))
        .collect::<Result<HashMap<_, _>, String>>()
        .map_err(&fail)?;
    let conflicting = rows
        .iter()
        .filter(|r| held.get(&r.key()) != Some(&codec::hex(&r.digest)))
        .count() as u64;
    let repeated = total
        .checked_sub(inserted + conflicting)
        .ok_or_else(|| fail(format!("{inserted} rows inserted but {conflicting} differ")))?;
    Ok(Written {
        inserted,
        repeated,
        conflicting,
    })
}
