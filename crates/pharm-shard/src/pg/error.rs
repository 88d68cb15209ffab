//! Errors of the PostgreSQL adapter and their classification.

use std::fmt;

use deadpool_postgres::{PoolError, TimeoutType};
use tokio_postgres::error::SqlState;

use crate::reads::{ReplicaKey, Target};
use crate::scatter::{ShardError, ShardTarget};

/// A node of a shard, printable (`shard 1 primary`, `shard 0 Analytics replica`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node(pub ShardTarget);

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.node {
            Target::Primary => write!(f, "shard {} primary", self.0.shard.0),
            Target::Replica(role) => write!(f, "shard {} {role:?} replica", self.0.shard.0),
        }
    }
}

/// An error of [`PgShards`](super::PgShards).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The configuration is unusable (a bad connection string, a physical shard of the map
    /// without nodes, a bad heartbeat table name).
    #[error("PostgreSQL adapter configuration: {0}")]
    Config(String),
    /// No node is configured for this target (an unknown shard, or a replica role the
    /// shard does not have).
    #[error("no node configured for {0}")]
    NoSuchNode(Node),
    /// The node could not be reached: connection refused or reset, the server shutting
    /// down, the pool exhausted for its wait timeout.
    #[error("{node} unavailable: {message}")]
    Unavailable {
        /// The node.
        node: Node,
        /// What happened.
        message: String,
    },
    /// The node did not answer in time (client-side timeout, or the server cancelled the
    /// statement on `statement_timeout`).
    #[error("{node} timed out: {message}")]
    Timeout {
        /// The node.
        node: Node,
        /// What timed out.
        message: String,
    },
    /// The statement failed on the server (SQL error, constraint, permission) or could not
    /// be encoded or decoded.
    #[error("{node}: query failed: {message}")]
    Query {
        /// The node.
        node: Node,
        /// The server's SQLSTATE (five characters, such as `23505` for a unique
        /// violation), when the server sent one.
        sqlstate: Option<String>,
        /// The driver's description of the failure.
        message: String,
    },
    /// The statement does not have the shape the call needs (a scatter-gather leg's
    /// columns or parameters).
    #[error("{node}: unusable statement: {message}")]
    BadStatement {
        /// The node that prepared it.
        node: Node,
        /// What is wrong.
        message: String,
    },
    /// The server answered with something the adapter cannot use.
    #[error("{node}: unusable result: {message}")]
    BadResult {
        /// The node.
        node: Node,
        /// What was wrong.
        message: String,
    },
}

impl PgError {
    /// The node the error is about, if any.
    #[must_use]
    pub fn node(&self) -> Option<ShardTarget> {
        match self {
            PgError::Config(_) => None,
            PgError::NoSuchNode(node)
            | PgError::Unavailable { node, .. }
            | PgError::Timeout { node, .. }
            | PgError::Query { node, .. }
            | PgError::BadStatement { node, .. }
            | PgError::BadResult { node, .. } => Some(node.0),
        }
    }

    /// Whether the node is down or unresponsive ([`PgError::Unavailable`] or
    /// [`PgError::Timeout`]) rather than the statement being wrong.
    #[must_use]
    pub fn is_node_down(&self) -> bool {
        matches!(self, PgError::Unavailable { .. } | PgError::Timeout { .. })
    }

    /// Whether the error says that `replica` is down.
    pub(crate) fn is_replica_down(&self, replica: ReplicaKey) -> bool {
        self.is_node_down()
            && self.node()
                == Some(ShardTarget {
                    shard: replica.shard,
                    node: Target::Replica(replica.role),
                })
    }

    /// Classifies a driver error of `node`.
    pub(crate) fn from_db(node: ShardTarget, error: tokio_postgres::Error) -> PgError {
        let node = Node(node);
        if error.is_closed() {
            return PgError::Unavailable {
                node,
                message: format!("connection closed: {error}"),
            };
        }
        match error.code() {
            Some(code) if *code == SqlState::QUERY_CANCELED => PgError::Timeout {
                node,
                message: error.to_string(),
            },
            Some(code) if is_unavailable_state(code) => PgError::Unavailable {
                node,
                message: error.to_string(),
            },
            Some(code) => PgError::Query {
                node,
                sqlstate: Some(code.code().to_owned()),
                message: error.to_string(),
            },
            None if has_io_source(&error) => PgError::Unavailable {
                node,
                message: error.to_string(),
            },
            None => PgError::Query {
                node,
                sqlstate: None,
                message: error.to_string(),
            },
        }
    }

    /// Classifies a pool checkout error of `node`.
    pub(crate) fn from_pool(node: ShardTarget, error: PoolError) -> PgError {
        match error {
            PoolError::Backend(error) => PgError::from_db(node, error),
            PoolError::Timeout(kind) => PgError::Unavailable {
                node: Node(node),
                message: match kind {
                    TimeoutType::Wait => "no pooled connection free within the wait timeout",
                    TimeoutType::Create => "connecting timed out",
                    TimeoutType::Recycle => "checking a pooled connection timed out",
                }
                .to_owned(),
            },
            PoolError::Closed => PgError::Unavailable {
                node: Node(node),
                message: "the pool is closed".to_owned(),
            },
            PoolError::NoRuntimeSpecified => {
                PgError::Config("the pool has no runtime for its timeouts".to_owned())
            }
            PoolError::PostCreateHook(error) => PgError::Unavailable {
                node: Node(node),
                message: format!("post-create hook: {error}"),
            },
        }
    }
}

/// Connection exceptions (class 08), the server shutting down or starting, and too many
/// connections: the node, not the statement, is the problem.
fn is_unavailable_state(code: &SqlState) -> bool {
    code.code().starts_with("08")
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
        || *code == SqlState::TOO_MANY_CONNECTIONS
}

/// Whether an I/O error (refused, reset, timed out) is among the error's causes.
fn has_io_source(error: &tokio_postgres::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(error) = cause {
        if error.is::<std::io::Error>() {
            return true;
        }
        cause = error.source();
    }
    false
}

impl From<PgError> for ShardError {
    fn from(error: PgError) -> Self {
        match error {
            PgError::Unavailable { .. } | PgError::NoSuchNode(_) | PgError::Config(_) => {
                ShardError::Unavailable(error.to_string())
            }
            PgError::Timeout { .. } => ShardError::Timeout(error.to_string()),
            PgError::Query { .. } | PgError::BadStatement { .. } => {
                ShardError::Query(error.to_string())
            }
            PgError::BadResult { .. } => ShardError::BadResult(error.to_string()),
        }
    }
}
