//! Scaling triggers: a table of thresholds (plain data) evaluated against shard metrics.
//!
//! [`ScalingTable::default`] holds the design's triggers:
//!
//! | metric | fires when | action | provenance |
//! |---|---|---|---|
//! | pharmacies on a physical shard | > 2,500 | [`ScalingActionKind::SplitShard`] | reference §3.6 (2,500 pharmacies per shard) |
//! | replica lag | > 5 s | [`ScalingActionKind::RouteReadsToPrimary`] | reference §3.7 |
//! | replica lag | > 60 s | [`ScalingActionKind::ReplaceReplica`] | reference §3.7, §3.8 |
//! | primary CPU | ≥ 80 % | [`ScalingActionKind::SplitShard`] | placeholder |
//! | replica CPU | ≥ 80 % | [`ScalingActionKind::AddReadReplica`] | placeholder |
//! | connections in use | ≥ 80 % of max | [`ScalingActionKind::AddConnectionCapacity`] | placeholder |
//! | storage used | ≥ 80 % of capacity | [`ScalingActionKind::ExpandStorage`] | placeholder |
//!
//! Rows marked *placeholder* are not given numerically by the reference notes; they are
//! [`Provenance::Placeholder`] so a deployment can tell them apart and replace them (the
//! table is serde data). "Sustained" values (CPU over 15 minutes, say) are the caller's
//! business: [`ShardMetrics`] carries whatever window the caller aggregated.
//!
//! A shard that must split but holds a single logical shard cannot shed logical shards to a
//! new server; its [`ScalingActionKind::SplitShard`] becomes
//! [`ScalingActionKind::SplitLogicalShard`] (a hash-range split, reference §3.6: 16
//! logical shards cap the system at 16 physical shards).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::directory::PhysicalShard;
use crate::reads::ReplicaRole;

/// A measured quantity a rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Metric {
    /// Pharmacies placed on the physical shard.
    PharmaciesPerShard,
    /// The primary's CPU utilisation, percent.
    PrimaryCpuPercent,
    /// A replica's CPU utilisation, percent (evaluated per replica).
    ReplicaCpuPercent,
    /// Connections in use as a percentage of the server's maximum.
    ConnectionsPercent,
    /// Storage used as a percentage of capacity.
    StoragePercent,
    /// A replica's lag, seconds (evaluated per replica).
    ReplicaLagSeconds,
}

/// How an observed value is compared with a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparison {
    /// `observed > threshold`.
    Above,
    /// `observed >= threshold`.
    AtLeast,
}

impl Comparison {
    /// Whether `observed` trips `threshold`.
    #[must_use]
    pub fn fires(self, observed: f64, threshold: f64) -> bool {
        match self {
            Comparison::Above => observed > threshold,
            Comparison::AtLeast => observed >= threshold,
        }
    }
}

/// What to do about a shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ScalingActionKind {
    /// Move some of the shard's logical shards to a new physical shard.
    SplitShard,
    /// The shard holds one logical shard: split its hash range (or re-hash).
    SplitLogicalShard,
    /// Add a read replica.
    AddReadReplica,
    /// Raise the connection limit or add pooler capacity.
    AddConnectionCapacity,
    /// Grow the shard's storage.
    ExpandStorage,
    /// Route the replica's reads to the primary (done automatically by
    /// [`crate::reads::ReadRouter`]; listed for dashboards).
    RouteReadsToPrimary,
    /// Replace or rebuild the replica.
    ReplaceReplica,
}

/// Where a rule's threshold comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Provenance {
    /// Stated in the design or its reference notes.
    Reference,
    /// A working default that the design does not fix.
    Placeholder,
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingRule {
    /// What is measured.
    pub metric: Metric,
    /// How it is compared.
    pub comparison: Comparison,
    /// The threshold, in the metric's unit.
    pub threshold: f64,
    /// What to do when it fires.
    pub action: ScalingActionKind,
    /// Where the threshold comes from.
    pub provenance: Provenance,
}

/// Measurements of one replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaMetrics {
    /// CPU utilisation, percent.
    pub cpu_percent: Option<f64>,
    /// Estimated lag.
    pub lag: Option<Duration>,
}

/// Measurements of one physical shard. `None` (or a missing replica) means "not measured":
/// rules on it do not fire.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardMetrics {
    /// The physical shard.
    pub shard: PhysicalShard,
    /// Logical shards mapped to it.
    pub logical_shards: Option<u32>,
    /// Pharmacies placed on it.
    pub pharmacies: Option<u32>,
    /// Primary CPU utilisation, percent.
    pub primary_cpu_percent: Option<f64>,
    /// Connections in use on the primary.
    pub connections_in_use: Option<u32>,
    /// The primary's connection limit.
    pub connections_max: Option<u32>,
    /// Bytes of storage used.
    pub storage_used_bytes: Option<u64>,
    /// Bytes of storage available in total.
    pub storage_capacity_bytes: Option<u64>,
    /// Per-replica measurements.
    pub replicas: Vec<(ReplicaRole, ReplicaMetrics)>,
}

#[allow(clippy::cast_precision_loss)] // percentages and counts; exactness is not needed
fn percent(used: Option<u64>, total: Option<u64>) -> Option<f64> {
    match (used, total) {
        (Some(used), Some(total)) if total > 0 => Some(used as f64 * 100.0 / total as f64),
        _ => None,
    }
}

impl ShardMetrics {
    /// The observed values of `metric`: one without a replica for shard-level metrics, one
    /// per measured replica for replica metrics.
    #[must_use]
    pub fn values(&self, metric: Metric) -> Vec<(Option<ReplicaRole>, f64)> {
        let shard_level = |value: Option<f64>| value.map(|v| (None, v)).into_iter().collect();
        match metric {
            Metric::PharmaciesPerShard => shard_level(self.pharmacies.map(f64::from)),
            Metric::PrimaryCpuPercent => shard_level(self.primary_cpu_percent),
            Metric::ConnectionsPercent => shard_level(percent(
                self.connections_in_use.map(u64::from),
                self.connections_max.map(u64::from),
            )),
            Metric::StoragePercent => shard_level(percent(
                self.storage_used_bytes,
                self.storage_capacity_bytes,
            )),
            Metric::ReplicaCpuPercent => self
                .replicas
                .iter()
                .filter_map(|(role, m)| m.cpu_percent.map(|v| (Some(*role), v)))
                .collect(),
            Metric::ReplicaLagSeconds => self
                .replicas
                .iter()
                .filter_map(|(role, m)| m.lag.map(|lag| (Some(*role), lag.as_secs_f64())))
                .collect(),
        }
    }
}

/// A rule that fired.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingAction {
    /// The physical shard.
    pub shard: PhysicalShard,
    /// The replica, for per-replica metrics.
    pub replica: Option<ReplicaRole>,
    /// What to do.
    pub kind: ScalingActionKind,
    /// The metric that fired.
    pub metric: Metric,
    /// Its observed value.
    pub observed: f64,
    /// The rule's threshold.
    pub threshold: f64,
    /// Where the threshold comes from.
    pub provenance: Provenance,
}

/// The scaling-trigger table (see the module documentation for the default rows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingTable {
    /// The rules, evaluated in order.
    pub rules: Vec<ScalingRule>,
}

/// Pharmacies per physical shard before it should split (reference §3.6).
pub const PHARMACIES_PER_SHARD: u32 = 2_500;

impl Default for ScalingTable {
    fn default() -> Self {
        let rule = |metric, comparison, threshold, action, provenance| ScalingRule {
            metric,
            comparison,
            threshold,
            action,
            provenance,
        };
        use Comparison::{Above, AtLeast};
        use Metric as M;
        use Provenance::{Placeholder, Reference};
        use ScalingActionKind as A;
        Self {
            rules: vec![
                rule(
                    M::PharmaciesPerShard,
                    Above,
                    f64::from(PHARMACIES_PER_SHARD),
                    A::SplitShard,
                    Reference,
                ),
                rule(
                    M::ReplicaLagSeconds,
                    Above,
                    5.0,
                    A::RouteReadsToPrimary,
                    Reference,
                ),
                rule(
                    M::ReplicaLagSeconds,
                    Above,
                    60.0,
                    A::ReplaceReplica,
                    Reference,
                ),
                rule(
                    M::PrimaryCpuPercent,
                    AtLeast,
                    80.0,
                    A::SplitShard,
                    Placeholder,
                ),
                rule(
                    M::ReplicaCpuPercent,
                    AtLeast,
                    80.0,
                    A::AddReadReplica,
                    Placeholder,
                ),
                rule(
                    M::ConnectionsPercent,
                    AtLeast,
                    80.0,
                    A::AddConnectionCapacity,
                    Placeholder,
                ),
                rule(
                    M::StoragePercent,
                    AtLeast,
                    80.0,
                    A::ExpandStorage,
                    Placeholder,
                ),
            ],
        }
    }
}

impl ScalingTable {
    /// Evaluates every rule against every shard; actions come shard by shard (in the order
    /// given), then rule by rule, then replica by replica.
    #[must_use]
    pub fn evaluate(&self, metrics: &[ShardMetrics]) -> Vec<ScalingAction> {
        let mut actions = Vec::new();
        for shard in metrics {
            for rule in &self.rules {
                for (replica, observed) in shard.values(rule.metric) {
                    if !rule.comparison.fires(observed, rule.threshold) {
                        continue;
                    }
                    let kind = match rule.action {
                        ScalingActionKind::SplitShard
                            if shard.logical_shards.is_some_and(|n| n <= 1) =>
                        {
                            ScalingActionKind::SplitLogicalShard
                        }
                        kind => kind,
                    };
                    actions.push(ScalingAction {
                        shard: shard.shard,
                        replica,
                        kind,
                        metric: rule.metric,
                        observed,
                        threshold: rule.threshold,
                        provenance: rule.provenance,
                    });
                }
            }
        }
        actions
    }
}

/// [`ScalingTable::default`] evaluated against `metrics`.
#[must_use]
pub fn evaluate(metrics: &[ShardMetrics]) -> Vec<ScalingAction> {
    ScalingTable::default().evaluate(metrics)
}
