//! Reshard planning: which logical shards move when the set of physical shards changes,
//! and when to reshard.
//!
//! # Minimal moves
//!
//! Going to `P'` physical shards with `L` logical shards, a balanced result gives every
//! target `⌊L/P'⌋` or `⌈L/P'⌉` logical shards (`L mod P'` of them get the larger quota). A
//! physical shard can keep at most `min(current, quota)` of its logical shards, so at least
//! `L − Σ min(current_i, quota_i)` = `Σ max(0, current_i − quota_i)` logical shards must move
//! (a shard leaving the set has quota 0). That sum is smallest when the larger quotas go to
//! the shards that currently hold the most, and [`plan`] does exactly that, then moves only
//! the excess of each over-quota shard to the under-quota ones. The plan therefore moves the
//! theoretical minimum ([`minimum_moves`]), and every shard not over its quota keeps all of
//! its logical shards.
//!
//! With 16 logical shards: 4 → 5 physical moves 3 logical shards (18.75% of keys, against
//! 80% for `hash % N` and the ideal 20% of a perfectly divisible scheme); 4 → 16 moves 12
//! (75%); 5 → 16 moves 11 (68.75%).
//!
//! # Trigger
//!
//! [`threshold_trigger`] flags physical shards above the design's 2,500 pharmacies
//! ([`DEFAULT_PHARMACIES_PER_SHARD`]) and recommends how many physical shards (and, past
//! one logical shard per physical shard, which split of logical shards) bring every shard
//! back under the threshold.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::directory::{
    DirectoryError, LogicalShard, MAX_LOGICAL_SHARDS, PhysicalShard, ShardMap, StaleMap,
};

/// The design's threshold: reshard when a physical shard holds more pharmacies than this.
pub const DEFAULT_PHARMACIES_PER_SHARD: u64 = 2_500;

/// One logical shard to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlannedMove {
    /// The logical shard.
    pub logical: LogicalShard,
    /// Its physical shard now.
    pub from: PhysicalShard,
    /// Its physical shard after the reshard.
    pub to: PhysicalShard,
}

/// The moves that take a [`ShardMap`] to a balanced assignment over new physical shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReshardPlan {
    /// The version of the map planned from; applying the plan to another version fails.
    pub from_version: u64,
    /// The number of logical shards.
    pub logical_count: u32,
    /// The physical shards after the reshard, with their quota of logical shards.
    pub quotas: Vec<(PhysicalShard, u32)>,
    /// The logical shards to move, in logical-shard order.
    pub moves: Vec<PlannedMove>,
    /// `moves.len() / logical_count`: the expected fraction of pharmacies (keys) that move,
    /// not counting pinned pharmacies.
    pub fraction_moved: f64,
}

/// Why a plan cannot be made or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// No target physical shards.
    #[error("no target physical shards")]
    NoTargets,
    /// A physical shard listed twice.
    #[error("{0} listed twice")]
    DuplicateTarget(PhysicalShard),
    /// More physical shards than logical shards; split the logical shards first
    /// ([`ShardMap::split_logical`]).
    #[error("{physical} physical shards for {logical} logical shards; split logical shards first")]
    MorePhysicalThanLogical {
        /// Target physical shards.
        physical: usize,
        /// Logical shards.
        logical: u32,
    },
    /// The map has moves in progress.
    #[error("{0} moves are in progress")]
    MovesInProgress(usize),
    /// The plan was made from another version of the map.
    #[error(transparent)]
    Stale(#[from] StaleMap),
    /// The map rejected a change.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// The fewest logical shards that must move so that `current` (logical shards per
/// physical shard) becomes balanced over `target` with `logical_count` logical shards in
/// total: `Σ max(0, current_i − quota_i)` with the larger quotas given to the targets that
/// hold the most now (shards not in `target` have quota 0).
#[must_use]
pub fn minimum_moves(
    current: &BTreeMap<PhysicalShard, u32>,
    target: &[PhysicalShard],
    logical_count: u32,
) -> u32 {
    let quotas = quotas(current, target, logical_count);
    current
        .iter()
        .map(|(p, &c)| c.saturating_sub(quotas.get(p).copied().unwrap_or(0)))
        .sum()
}

/// Quotas of a balanced assignment over `target` that maximize what stays in place: the
/// `L mod P'` targets holding the most now (ties: earlier in `target`) get `⌈L/P'⌉`, the
/// others `⌊L/P'⌋`.
fn quotas(
    current: &BTreeMap<PhysicalShard, u32>,
    target: &[PhysicalShard],
    logical_count: u32,
) -> BTreeMap<PhysicalShard, u32> {
    let n = target.len() as u32;
    if n == 0 {
        return BTreeMap::new();
    }
    let base = logical_count / n;
    let extra = (logical_count % n) as usize;
    let mut order: Vec<(usize, PhysicalShard)> = target.iter().copied().enumerate().collect();
    order.sort_by_key(|&(i, p)| (std::cmp::Reverse(current.get(&p).copied().unwrap_or(0)), i));
    order
        .iter()
        .enumerate()
        .map(|(rank, &(_, p))| (p, base + u32::from(rank < extra)))
        .collect()
}

/// Plans the minimal reshard of `map` onto `target` (existing and new physical shards;
/// a physical shard of `map` left out is drained).
///
/// # Errors
///
/// Empty or duplicate targets, more targets than logical shards, or moves in progress.
pub fn plan(map: &ShardMap, target: &[PhysicalShard]) -> Result<ReshardPlan, PlanError> {
    if target.is_empty() {
        return Err(PlanError::NoTargets);
    }
    let mut seen = std::collections::BTreeSet::new();
    for &p in target {
        if !seen.insert(p) {
            return Err(PlanError::DuplicateTarget(p));
        }
    }
    let l = map.logical_count();
    if target.len() > l as usize {
        return Err(PlanError::MorePhysicalThanLogical {
            physical: target.len(),
            logical: l,
        });
    }
    let in_progress = map.moves().count();
    if in_progress > 0 {
        return Err(PlanError::MovesInProgress(in_progress));
    }
    let current = map.logical_counts();
    let quotas = quotas(&current, target, l);

    // Donors give up their highest-numbered logical shards beyond their quota.
    let assignment = map.assignment();
    let mut given: BTreeMap<PhysicalShard, u32> = BTreeMap::new();
    let mut moving = vec![false; assignment.len()];
    for (i, &p) in assignment.iter().enumerate().rev() {
        let excess = current[&p].saturating_sub(quotas.get(&p).copied().unwrap_or(0));
        let g = given.entry(p).or_insert(0);
        if *g < excess {
            *g += 1;
            moving[i] = true;
        }
    }
    let to_move: Vec<(LogicalShard, PhysicalShard)> = assignment
        .iter()
        .enumerate()
        .filter(|&(i, _)| moving[i])
        .map(|(i, &p)| (LogicalShard(i as u32), p))
        .collect();

    // Receivers, in target order, fill up to their quota.
    let mut deficits: Vec<(PhysicalShard, u32)> = target
        .iter()
        .map(|p| {
            let q = quotas.get(p).copied().unwrap_or(0);
            let c = current.get(p).copied().unwrap_or(0);
            (*p, q.saturating_sub(c))
        })
        .filter(|&(_, d)| d > 0)
        .collect();
    let mut moves = Vec::with_capacity(to_move.len());
    let mut r = 0;
    for (logical, from) in to_move {
        while deficits[r].1 == 0 {
            r += 1;
        }
        deficits[r].1 -= 1;
        moves.push(PlannedMove {
            logical,
            from,
            to: deficits[r].0,
        });
    }

    Ok(ReshardPlan {
        from_version: map.version(),
        logical_count: l,
        quotas: target.iter().map(|p| (*p, quotas[p])).collect(),
        fraction_moved: f64::from(moves.len() as u32) / f64::from(l),
        moves,
    })
}

/// [`plan`] onto physical shards `0..physical_count`.
///
/// # Errors
///
/// As [`plan`].
pub fn plan_to_count(map: &ShardMap, physical_count: u32) -> Result<ReshardPlan, PlanError> {
    let target: Vec<PhysicalShard> = (0..physical_count).map(PhysicalShard).collect();
    plan(map, &target)
}

impl ReshardPlan {
    /// Starts every planned move on `map` ([`ShardMap::begin_move`], phase `Copying`);
    /// each is then advanced and completed as its copy and catch-up finish.
    ///
    /// # Errors
    ///
    /// [`PlanError::Stale`] if `map` is not the version planned from.
    pub fn begin(&self, map: &mut ShardMap) -> Result<u64, PlanError> {
        map.check_version(self.from_version)?;
        for mv in &self.moves {
            map.begin_move(mv.logical, mv.to)?;
        }
        Ok(map.version())
    }

    /// Applies the plan at once, with one version bump: for an offline reshard or a
    /// simulation.
    ///
    /// # Errors
    ///
    /// [`PlanError::Stale`] if `map` is not the version planned from.
    pub fn apply_offline(&self, map: &mut ShardMap) -> Result<u64, PlanError> {
        map.check_version(self.from_version)?;
        Ok(map.reassign(self.moves.iter().map(|m| (m.logical, m.to)))?)
    }
}

/// What to do about physical shards over the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Recommendation {
    /// Every physical shard is within the threshold.
    None,
    /// The assignment is unbalanced; [`plan`] over the same physical shards.
    Rebalance {
        /// Physical shards to plan over (the current ones).
        physical: u32,
    },
    /// Grow to this many physical shards ([`plan`]).
    AddPhysical {
        /// The recommended number of physical shards.
        physical: u32,
    },
    /// Even one logical shard per physical shard exceeds the threshold: split the logical
    /// shards ([`ShardMap::split_logical`]) by `factor`, then grow to `physical`.
    SplitLogical {
        /// The split factor.
        factor: u32,
        /// The recommended number of physical shards after the split.
        physical: u32,
    },
}

/// The result of [`threshold_trigger`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdReport {
    /// The threshold checked (pharmacies per physical shard).
    pub threshold: u64,
    /// Pharmacies on physical shards that hold logical shards (pinned tenants' dedicated
    /// shards excluded).
    pub hashed_total: u64,
    /// Physical shards above the threshold, with their counts.
    pub over: Vec<(PhysicalShard, u64)>,
    /// What to do.
    pub recommendation: Recommendation,
}

/// Flags physical shards holding more than `threshold` pharmacies (the design's 2,500:
/// [`DEFAULT_PHARMACIES_PER_SHARD`]) and recommends a reshard.
///
/// `counts` are pharmacies per physical shard (shards absent count 0). The recommendation
/// assumes the hash spreads pharmacies evenly over logical shards, so a logical shard holds
/// `hashed_total / L`, and picks the fewest physical shards `P' ≥ P` for which the busiest
/// (`⌈L/P'⌉` logical shards) stays within the threshold; if even `P' = L` does not, the
/// smallest split factor of the logical shards that makes it possible.
#[must_use]
pub fn threshold_trigger(
    map: &ShardMap,
    counts: &[(PhysicalShard, u64)],
    threshold: u64,
) -> ThresholdReport {
    let holding = map.logical_counts();
    let over: Vec<(PhysicalShard, u64)> = counts
        .iter()
        .copied()
        .filter(|&(_, c)| c > threshold)
        .collect();
    let hashed_total: u64 = counts
        .iter()
        .filter(|(p, _)| holding.contains_key(p))
        .map(|&(_, c)| c)
        .sum();
    let recommendation = if over.is_empty() {
        Recommendation::None
    } else {
        recommend(
            map.logical_count(),
            holding.len() as u32,
            hashed_total,
            threshold,
        )
    };
    ThresholdReport {
        threshold,
        hashed_total,
        over,
        recommendation,
    }
}

/// The smallest `P' ≥ current` (≤ L) with `⌈L/P'⌉ · total ≤ threshold · L`.
fn fewest_physical(l: u32, current: u32, total: u64, threshold: u64) -> Option<u32> {
    let fits = |p: u32| u64::from(l.div_ceil(p)) * total <= threshold * u64::from(l);
    (current.max(1)..=l).find(|&p| fits(p))
}

fn recommend(l: u32, current: u32, total: u64, threshold: u64) -> Recommendation {
    match fewest_physical(l, current, total, threshold) {
        Some(p) if p == current => Recommendation::Rebalance { physical: p },
        Some(p) => Recommendation::AddPhysical { physical: p },
        None => {
            // Smallest factor k with total / (k·L) ≤ threshold.
            let per_logical = total.div_ceil(u64::from(l));
            let mut factor = per_logical.div_ceil(threshold.max(1)).max(2) as u32;
            let max_factor = MAX_LOGICAL_SHARDS / l;
            factor = factor.min(max_factor.max(1));
            let lk = l * factor;
            let physical = fewest_physical(lk, current, total, threshold).unwrap_or(lk);
            Recommendation::SplitLogical { factor, physical }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::hash::HashScheme;

    fn p(n: u32) -> Vec<PhysicalShard> {
        (0..n).map(PhysicalShard).collect()
    }

    #[test]
    fn four_to_five_moves_three() {
        let map = ShardMap::with_defaults(&p(4)).unwrap();
        let plan = plan_to_count(&map, 5).unwrap();
        assert_eq!(plan.moves.len(), 3);
        assert!((plan.fraction_moved - 0.1875).abs() < 1e-12);
        assert!(plan.moves.iter().all(|m| m.to == PhysicalShard(4)));
        let froms: std::collections::BTreeSet<_> = plan.moves.iter().map(|m| m.from).collect();
        assert_eq!(froms.len(), 3, "each old shard gives at most one");
    }

    #[test]
    fn four_to_sixteen_moves_twelve() {
        let map = ShardMap::with_defaults(&p(4)).unwrap();
        let plan = plan_to_count(&map, 16).unwrap();
        assert_eq!(plan.moves.len(), 12);
        assert!((plan.fraction_moved - 0.75).abs() < 1e-12);
    }

    #[test]
    fn five_to_sixteen_moves_eleven() {
        let mut map = ShardMap::with_defaults(&p(4)).unwrap();
        plan_to_count(&map, 5)
            .unwrap()
            .apply_offline(&mut map)
            .unwrap();
        let plan = plan_to_count(&map, 16).unwrap();
        assert_eq!(plan.moves.len(), 11);
    }

    #[test]
    fn stale_plan_rejected() {
        let mut map = ShardMap::with_defaults(&p(4)).unwrap();
        let plan = plan_to_count(&map, 5).unwrap();
        map.pin(1, PhysicalShard(9));
        assert!(matches!(plan.begin(&mut map), Err(PlanError::Stale(_))));
    }

    #[test]
    fn errors() {
        let map = ShardMap::new(HashScheme::Pharm, 4, &p(2)).unwrap();
        assert_eq!(plan(&map, &[]), Err(PlanError::NoTargets));
        assert_eq!(
            plan(&map, &[PhysicalShard(1), PhysicalShard(1)]),
            Err(PlanError::DuplicateTarget(PhysicalShard(1)))
        );
        assert!(matches!(
            plan_to_count(&map, 5),
            Err(PlanError::MorePhysicalThanLogical { .. })
        ));
    }

    #[test]
    fn trigger() {
        let map = ShardMap::with_defaults(&p(4)).unwrap();
        let ok = threshold_trigger(
            &map,
            &[(PhysicalShard(0), 2400), (PhysicalShard(1), 2500)],
            DEFAULT_PHARMACIES_PER_SHARD,
        );
        assert!(ok.over.is_empty());
        assert_eq!(ok.recommendation, Recommendation::None);

        // 10,400 pharmacies on 4 shards: 650 per logical shard; 5 physical would put 4
        // logical (2,600) on one; 6 physical puts at most 3 (1,950).
        let counts: Vec<_> = p(4).into_iter().map(|s| (s, 2600)).collect();
        let r = threshold_trigger(&map, &counts, DEFAULT_PHARMACIES_PER_SHARD);
        assert_eq!(r.over.len(), 4);
        assert_eq!(
            r.recommendation,
            Recommendation::AddPhysical { physical: 6 }
        );

        // 50,000 pharmacies: 3,125 per logical shard of 16; split by 2 → 1,562.5 per
        // logical, 32 logical on 32 physical.
        let counts: Vec<_> = p(4).into_iter().map(|s| (s, 12_500)).collect();
        let r = threshold_trigger(&map, &counts, DEFAULT_PHARMACIES_PER_SHARD);
        assert_eq!(
            r.recommendation,
            Recommendation::SplitLogical {
                factor: 2,
                physical: 32
            }
        );

        // Unbalanced assignment within capacity: rebalance.
        let map = ShardMap::from_assignment(
            HashScheme::Pharm,
            [vec![PhysicalShard(0); 10], vec![PhysicalShard(1); 6]].concat(),
            1,
        )
        .unwrap();
        let r = threshold_trigger(
            &map,
            &[(PhysicalShard(0), 2600), (PhysicalShard(1), 1500)],
            DEFAULT_PHARMACIES_PER_SHARD,
        );
        assert_eq!(r.recommendation, Recommendation::Rebalance { physical: 2 });
    }
}
