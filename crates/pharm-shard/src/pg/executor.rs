//! [`ShardExecutor`] for [`PgShards`]: one scatter-gather leg as a partial aggregate
//! computed by the shard itself.

use std::time::Duration;

use async_trait::async_trait;
use tokio_postgres::types::Type;
use tokio_postgres::{Row, Statement};

use super::PgShards;
use super::error::{Node, PgError};
use super::params::{as_sql, sql_params};
use crate::Sleep;
use crate::reads::{ReplicaKey, Target};
use crate::scatter::{
    DistinctSet, PartialAggregate, ShardError, ShardExecutor, ShardQuery, ShardTarget,
};

/// [`Sleep`] on the tokio runtime (`tokio::time::sleep`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioSleep;

#[async_trait]
impl Sleep for TokioSleep {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

#[async_trait]
impl ShardExecutor for PgShards {
    /// Runs the leg on `shard` (see the module documentation for the statement's shape).
    /// A replica found down is marked down in the read router.
    async fn run(
        &self,
        shard: ShardTarget,
        query: &ShardQuery,
    ) -> Result<PartialAggregate, ShardError> {
        let result = self.run_leg(shard, query).await;
        if let (Err(error), Target::Replica(role)) = (&result, shard.node) {
            let replica = ReplicaKey {
                shard: shard.shard,
                role,
            };
            if error.is_replica_down(replica) {
                self.with_router(|router| router.replica_down(replica, self.now_ms()));
            }
        }
        result.map_err(ShardError::from)
    }
}

impl PgShards {
    /// One leg: the partial aggregate of `query` on `node`, within `query.timeout` both
    /// client-side and as the server's `statement_timeout`.
    async fn run_leg(
        &self,
        node: ShardTarget,
        query: &ShardQuery,
    ) -> Result<PartialAggregate, PgError> {
        let db = |error| PgError::from_db(node, error);
        let work = async {
            let mut client = self.client(node).await?;
            let inner_sql = query.statement.trim().trim_end_matches(';').trim_end();
            let inner = client.prepare_cached(inner_sql).await.map_err(db)?;
            let (wrapper_sql, with_distinct) = wrap(node, &inner, inner_sql, query.params.len())?;
            let wrapper = client.prepare_cached(&wrapper_sql).await.map_err(db)?;

            let values = sql_params(&query.params);
            let mut params = as_sql(&values);
            // The column is a bigint: each id as the i64 the directory hashes.
            let pharmacy_ids: Vec<i64> = query.pharmacy_ids.iter().map(|id| id.to_i64()).collect();
            params.push(&pharmacy_ids);

            let timeout_ms = query.timeout.as_millis().clamp(1, i32::MAX as u128);
            let transaction = client
                .build_transaction()
                .read_only(true)
                .start()
                .await
                .map_err(db)?;
            transaction
                .batch_execute(&format!("SET LOCAL statement_timeout = {timeout_ms}"))
                .await
                .map_err(db)?;
            let row = transaction.query_one(&wrapper, &params).await.map_err(db)?;
            transaction.commit().await.map_err(db)?;
            partial_aggregate(node, &row, with_distinct)
        };
        tokio::time::timeout(query.timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(PgError::Timeout {
                    node: Node(node),
                    message: format!(
                        "scatter-gather leg gave no answer within {:?}",
                        query.timeout
                    ),
                })
            })
    }
}

/// The aggregate wrapped around a leg's statement, and whether it collects distinct keys.
///
/// The statement must take `params` parameters plus the pharmacy id array
/// (`bigint[]`) last, and return an integer value column and optionally an integer key
/// column.
fn wrap(
    node: ShardTarget,
    inner: &Statement,
    inner_sql: &str,
    params: usize,
) -> Result<(String, bool), PgError> {
    let bad = |message: String| PgError::BadStatement {
        node: Node(node),
        message,
    };
    let integer = |ty: &Type| matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8);
    if inner.params().len() != params + 1 || inner.params().last() != Some(&Type::INT8_ARRAY) {
        return Err(bad(format!(
            "a leg's statement takes its {params} parameter(s) and then the pharmacy ids as \
             a bigint[] (${}), e.g. `... WHERE pharmacy_id = ANY(${})`; this one takes {:?}",
            params + 1,
            params + 1,
            inner.params().iter().map(Type::name).collect::<Vec<_>>()
        )));
    }
    let columns = inner.columns();
    let shape_ok = match columns {
        [value] => integer(value.type_()),
        [value, key] => integer(value.type_()) && integer(key.type_()),
        _ => false,
    };
    if !shape_ok {
        return Err(bad(format!(
            "a leg's statement returns an integer value column and optionally an integer \
             distinct-key column; this one returns {:?}",
            columns
                .iter()
                .map(|c| format!("{} {}", c.name(), c.type_()))
                .collect::<Vec<_>>()
        )));
    }
    let with_distinct = columns.len() == 2;
    let sql = if with_distinct {
        format!(
            "SELECT count(pharm_value)::int8, sum(pharm_value)::text, min(pharm_value)::int8, \
             max(pharm_value)::int8, \
             array_agg(DISTINCT pharm_key::int8) FILTER (WHERE pharm_key IS NOT NULL) \
             FROM ({inner_sql}) AS pharm_leg (pharm_value, pharm_key)"
        )
    } else {
        format!(
            "SELECT count(pharm_value)::int8, sum(pharm_value)::text, min(pharm_value)::int8, \
             max(pharm_value)::int8 FROM ({inner_sql}) AS pharm_leg (pharm_value)"
        )
    };
    Ok((sql, with_distinct))
}

/// The wrapper's row as a [`PartialAggregate`].
fn partial_aggregate(
    node: ShardTarget,
    row: &Row,
    with_distinct: bool,
) -> Result<PartialAggregate, PgError> {
    let bad = |message: String| PgError::BadResult {
        node: Node(node),
        message,
    };
    let db = |error| PgError::from_db(node, error);
    let count: i64 = row.try_get(0).map_err(db)?;
    let sum: Option<String> = row.try_get(1).map_err(db)?;
    let min: Option<i64> = row.try_get(2).map_err(db)?;
    let max: Option<i64> = row.try_get(3).map_err(db)?;
    let distinct: Option<Vec<i64>> = if with_distinct {
        row.try_get(4).map_err(db)?
    } else {
        None
    };
    let sum = match sum {
        Some(text) => text
            .parse::<i128>()
            .map_err(|error| bad(format!("sum {text:?}: {error}")))?,
        None => 0,
    };
    Ok(PartialAggregate {
        count: u64::try_from(count).map_err(|_| bad(format!("negative count {count}")))?,
        sum,
        min,
        max,
        distinct: distinct.into_iter().flatten().collect::<DistinctSet>(),
    })
}
