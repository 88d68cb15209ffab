//! `ReadRouter`: where a query runs (a shard's primary or one of its replicas), from the
//! replicas' lag samples and the caller's read-your-writes token.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use pharm_shard::lag::LagSample;
use pharm_shard::reads::{ReadRouterConfig, ReplicaKey};
use pharm_shard::{LsnToken, PhysicalShard, QueryKind, ReadRouter as CoreRouter, ReplicaRole};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::parse;
use crate::{errors, json};

/// The longest read-your-writes token accepted (`<shard>:<lsn>` is at most 28 bytes).
const MAX_TOKEN_BYTES: usize = 64;

/// Lag-aware read routing for every replica of every shard (the crate's `ReadRouter`).
/// Feed each replica's lag samples in time order with `observe`; `route` then sends a
/// query to the primary or to its class's replica when that replica is within the lag
/// limit, has a fresh sample and has replayed the caller's write. Times are milliseconds
/// on the caller's clock.
///
/// Replicas are named by role: "Analytics", "Reporting" or "Api"; query classes are
/// "Write", "TransactionalRead", "Analytics", "Reporting" or "ApiRead" (exact case).
#[pyclass(frozen, module = "pharm.shard")]
pub(crate) struct ReadRouter {
    router: Mutex<CoreRouter>,
}

/// The `replica` argument.
fn role(replica: &str) -> PyResult<ReplicaRole> {
    match replica {
        "Analytics" => Ok(ReplicaRole::Analytics),
        "Reporting" => Ok(ReplicaRole::Reporting),
        "Api" => Ok(ReplicaRole::Api),
        other => Err(PyValueError::new_err(format!(
            "replica must be \"Analytics\", \"Reporting\" or \"Api\", not {other:?}"
        ))),
    }
}

/// Replica `replica` (a role name) of physical shard `shard`.
fn key(shard: u32, replica: &str) -> PyResult<ReplicaKey> {
    Ok(ReplicaKey {
        shard: PhysicalShard(shard),
        role: role(replica)?,
    })
}

/// The `query_class` argument.
fn kind(class: &str) -> PyResult<QueryKind> {
    match class {
        "Write" => Ok(QueryKind::Write),
        "TransactionalRead" => Ok(QueryKind::TransactionalRead),
        "Analytics" => Ok(QueryKind::Analytics),
        "Reporting" => Ok(QueryKind::Reporting),
        "ApiRead" => Ok(QueryKind::ApiRead),
        other => Err(PyValueError::new_err(format!(
            "query_class must be Write, TransactionalRead, Analytics, Reporting or ApiRead, not {other:?}"
        ))),
    }
}

impl ReadRouter {
    fn router(&self) -> PyResult<MutexGuard<'_, CoreRouter>> {
        self.router
            .lock()
            .map_err(|_| PyRuntimeError::new_err("the router was left unusable by a panic"))
    }
}

#[pymethods]
impl ReadRouter {
    /// A router with no samples yet (every replica read goes to the primary until the
    /// replica's first good sample). `max_lag_ms`: the highest lag at which a replica
    /// still serves (inclusive); `stale_after_ms`: a replica without a sample for longer
    /// stops serving; `history_capacity`: primary positions remembered per replica,
    /// 1..=65536 (`pharm.ShardError` `shard.lag_history_capacity` otherwise).
    #[new]
    #[pyo3(signature = (max_lag_ms = 5_000, stale_after_ms = 10_000, history_capacity = 1_024))]
    fn new(
        py: Python<'_>,
        max_lag_ms: u64,
        stale_after_ms: u64,
        history_capacity: usize,
    ) -> PyResult<Self> {
        let config = ReadRouterConfig {
            max_lag: Duration::from_millis(max_lag_ms),
            stale_after: Duration::from_millis(stale_after_ms),
            history_capacity,
        };
        let router = CoreRouter::new(config).map_err(|error| errors::domain(py, &error))?;
        Ok(ReadRouter {
            router: Mutex::new(router),
        })
    }

    /// Records one lag sample of `replica` of physical shard `shard` and returns the lag
    /// estimate (dict, the crate's `LagEstimate`: `lag`, `source`, `bytes_behind`...).
    /// `sample` is the crate's `LagSample` (dict or JSON str): `{"primary_lsn":
    /// "0/3000000", "replay_lsn": "0/2000000", "receive_lsn", "replay_paused",
    /// "replay_timestamp_ms", "heartbeat": {"written_at_ms", "observed_at_ms"},
    /// "measured_at_ms"}`; the fields that may be null may be left out.
    fn observe<'py>(
        &self,
        py: Python<'py>,
        shard: u32,
        replica: &str,
        sample: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = key(shard, replica)?;
        let sample: LagSample = parse(sample, "lag sample")?;
        let estimate = self.router()?.observe(key, &sample);
        json::to_py(py, &estimate)
    }

    /// Whether `replica` of physical shard `shard` serves its reads now.
    fn is_serving(&self, shard: u32, replica: &str) -> PyResult<bool> {
        let key = key(shard, replica)?;
        Ok(self.router()?.is_serving(key))
    }

    /// Marks `replica` of physical shard `shard` unreachable at `at_ms`: its reads go to
    /// the primary until its next sample within the lag limit.
    fn replica_down(&self, shard: u32, replica: &str, at_ms: u64) -> PyResult<()> {
        let key = key(shard, replica)?;
        self.router()?.replica_down(key, at_ms);
        Ok(())
    }

    /// Decides where a query of `query_class` for physical shard `shard` runs at `now_ms`
    /// (dict, the crate's `ReadDecision`: `shard`, `target` ("Primary" or
    /// `{"Replica": role}`), `reason`). `token` is the read-your-writes token of the
    /// caller's last write, `"<shard>:<lsn>"` (at most 64 bytes; a malformed one raises
    /// `pharm.ShardError` `shard.lsn_token_*`).
    #[pyo3(signature = (now_ms, shard, query_class, token = None))]
    fn route<'py>(
        &self,
        py: Python<'py>,
        now_ms: u64,
        shard: u32,
        query_class: &str,
        token: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kind = kind(query_class)?;
        let token: Option<LsnToken> = match token {
            Some(text) if text.len() > MAX_TOKEN_BYTES => {
                return Err(PyValueError::new_err(format!(
                    "token: {} bytes, more than {MAX_TOKEN_BYTES}",
                    text.len()
                )));
            }
            Some(text) => Some(text.parse().map_err(|error| errors::domain(py, &error))?),
            None => None,
        };
        let decision = self
            .router()?
            .route(now_ms, PhysicalShard(shard), kind, token.as_ref());
        json::to_py(py, &decision)
    }

    /// Takes the routing events queued since the last call, oldest first (dicts, the
    /// crate's `RoutingEvent`: `{"FellBackToPrimary": {...}}` or `{"ReplicaRestored":
    /// {...}}`).
    fn take_events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let events = self.router()?.take_events();
        let events = events
            .iter()
            .map(|event| json::to_py(py, event))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, events)
    }
}
