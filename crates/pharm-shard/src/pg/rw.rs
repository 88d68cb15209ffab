//! Routed writes (with their read-your-writes token) and reads.

use pharm_core::ids::PharmacyId;
use tokio_postgres::types::PgLsn;

use super::lag::lsn;
use super::params::{as_sql, decode_row, sql_params};
use super::{PgError, PgShards};
use crate::directory::Route;
use crate::lag::Lsn;
use crate::reads::{
    DecisionReason, FallbackReason, LsnToken, QueryKind, ReadDecision, ReplicaKey, Target,
};
use crate::scatter::{ParamValue, ShardTarget};

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
    /// The rows, each as values (see [`PgShards::query_on`] for the column types).
    pub rows: Vec<Vec<ParamValue>>,
    /// The node that served the read.
    pub served_by: ShardTarget,
    /// Why that node: the router's decision, or
    /// [`FallbackReason::Unreachable`] when the chosen replica failed and the primary
    /// served the retry.
    pub decision: ReadDecision,
}

impl PgShards {
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
        params: &[ParamValue],
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
            let values = sql_params(params);
            let rows_affected = client
                .execute(&statement, &as_sql(&values))
                .await
                .map_err(db)?;
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

    /// Runs a read of `kind` for `pharmacy_id` where the [`ReadRouter`](crate::reads::ReadRouter) sends it: the
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
        params: &[ParamValue],
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

    /// Runs a query on one given node (no routing). Parameters bind as described for
    /// [`ParamValue`] (cast in SQL for other types: `$1::text::date`); each row comes back
    /// as values: `bigint`/`integer`/`smallint` as [`ParamValue::Int`], text-like columns
    /// as [`ParamValue::Text`], `boolean` as [`ParamValue::Bool`], `NULL` as
    /// [`ParamValue::Null`].
    ///
    /// # Errors
    ///
    /// The node is unknown, unavailable or timed out, or the statement failed;
    /// [`PgError::BadResult`] for a column of another type (cast it in SQL).
    pub async fn query_on(
        &self,
        node: ShardTarget,
        sql: &str,
        params: &[ParamValue],
    ) -> Result<Vec<Vec<ParamValue>>, PgError> {
        let db = |error| PgError::from_db(node, error);
        self.timed(node, async {
            let client = self.client(node).await?;
            let statement = client.prepare_cached(sql).await.map_err(db)?;
            let values = sql_params(params);
            let rows = client
                .query(&statement, &as_sql(&values))
                .await
                .map_err(db)?;
            rows.iter().map(|row| decode_row(node, row)).collect()
        })
        .await
    }
}

/// A read-your-writes token's LSN on a primary: `pg_current_wal_insert_lsn()`, moved
/// back to the page start when only a page header follows it ([`token_from_insert`]).
pub(super) async fn token_lsn(
    client: &deadpool_postgres::Client,
    node: ShardTarget,
) -> Result<Lsn, PgError> {
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
pub(super) const SHORT_PAGE_HEADER: u64 = 24;
/// `SizeOfXLogLongPHD`: the header of the first page of a WAL segment.
pub(super) const LONG_PAGE_HEADER: u64 = 40;

/// The token for insert position `insert` with WAL pages of `block` bytes and segments of
/// `segment` bytes.
///
/// PostgreSQL reports an insert position at a page boundary as the address right after
/// that page's header (`XLogBytePosToRecPtr`), while the last record, and so a replica's
/// replay position, ends at the boundary itself. No record ends inside a header, so an
/// insert position exactly at the end of a header means the WAL ends at the page start.
/// Unknown sizes (zero) leave the position as it is.
pub(super) fn token_from_insert(insert: Lsn, block: u64, segment: u64) -> Lsn {
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
