//! Test support over `pharm_shard::pg::local`: the same throw-away clusters, with setup
//! failures as panics, plus a plain client and a polling helper.

use std::ops::Deref;
use std::time::{Duration, Instant};

use pharm_shard::pg::local;
use tokio_postgres::{Client, NoTls};

pub(crate) use pharm_shard::pg::local::PgEnv;

/// The environment, or `None` (after a loud message) when PostgreSQL is not installed.
///
/// # Panics
/// When the binaries are missing and `PHARM_REQUIRE_PG=1`.
pub(crate) fn pg_env() -> Option<PgEnv> {
    PgEnv::for_tests()
}

/// A [`local::Cluster`] whose setup failures panic the test.
#[derive(Debug)]
pub(crate) struct Cluster(local::Cluster);

impl Deref for Cluster {
    type Target = local::Cluster;

    fn deref(&self) -> &local::Cluster {
        &self.0
    }
}

impl Cluster {
    /// A fresh primary, started.
    pub(crate) fn primary(env: &PgEnv, name: &str) -> Self {
        Cluster(local::Cluster::primary(env, name).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Independent primaries, one per name, started.
    pub(crate) fn primaries(env: &PgEnv, names: &[&str]) -> Vec<Self> {
        local::Cluster::primaries(env, names)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(Cluster)
            .collect()
    }

    /// A streaming replica of `primary`, started and connected.
    pub(crate) fn replica_of(primary: &Cluster, name: &str) -> Self {
        Cluster(local::Cluster::replica_of(primary, name).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Starts the server again on the same port.
    pub(crate) fn start(&mut self) {
        self.0.start().unwrap_or_else(|e| panic!("{e}"));
    }

    /// `pg_ctl stop -m immediate` (a crash, as far as clients can tell).
    pub(crate) fn stop(&mut self) {
        self.0.stop().unwrap_or_else(|e| panic!("{e}"));
    }

    /// A plain client (its connection task is spawned on the current tokio runtime).
    pub(crate) async fn client(&self) -> Client {
        let (client, conn) = tokio_postgres::connect(&self.conn_string(), NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.name()));
        drop(tokio::spawn(async move {
            let _ = conn.await;
        }));
        client
    }
}

/// Polls `probe` every 50 ms until it returns true or `timeout` passes.
pub(crate) async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !probe().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
