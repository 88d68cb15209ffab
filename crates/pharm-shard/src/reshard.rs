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
//! ([`DEFAULT_PHARMACIES_PER_SHARD`]) and recommends a rebalance (only one that actually
//! takes logical shards off the overloaded shards), how many physical shards (and, past
//! one logical shard per physical shard, which split of logical shards) bring every shard
//! back under the threshold, or, for shards dedicated to pinned pharmacies, moving part of
//! their pins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::directory::{
    DirectoryError, LogicalShard, MAX_LOGICAL_SHARDS, PhysicalShard, ShardMap, StaleMap,
};

/// The design's threshold: reshard when a physical shard holds more pharmacies than this.
pub const DEFAULT_PHARMACIES_PER_SHARD: u64 = 2_500;

/// One logical shard to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
#[non_exhaustive]
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
/// As [`plan`]; `physical_count` above the number of logical shards is
/// [`PlanError::MorePhysicalThanLogical`] before anything is allocated for it.
pub fn plan_to_count(map: &ShardMap, physical_count: u32) -> Result<ReshardPlan, PlanError> {
    if physical_count > map.logical_count() {
        return Err(PlanError::MorePhysicalThanLogical {
            physical: usize::try_from(physical_count).unwrap_or(usize::MAX),
            logical: map.logical_count(),
        });
    }
    let target: Vec<PhysicalShard> = (0..physical_count).map(PhysicalShard).collect();
    plan(map, &target)
}

impl ReshardPlan {
    /// Starts every planned move on `map` ([`ShardMap::begin_move`], phase `Copying`);
    /// each is then advanced and completed as its copy and catch-up finish.
    ///
    /// # Errors
    ///
    /// [`PlanError::Stale`] if `map` is not the version planned from;
    /// [`DirectoryError::VersionExhausted`] (before any move begins) if the map's version
    /// cannot be incremented once per move.
    pub fn begin(&self, map: &mut ShardMap) -> Result<u64, PlanError> {
        map.check_version(self.from_version)?;
        map.check_versions_left(self.moves.len())?;
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
#[serde(deny_unknown_fields)]
pub enum Recommendation {
    /// Every physical shard is within the threshold.
    #[serde(deserialize_with = "pharm_core::serde_strict::no_fields")]
    None,
    /// The assignment is unbalanced and rebalancing moves logical shards off every
    /// physical shard over the threshold, enough to bring it back under (by its own
    /// pharmacies per logical shard); [`plan`] over the same physical shards.
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
        /// The split factor (at least 2; capped so that the logical shards stay within
        /// [`MAX_LOGICAL_SHARDS`], which may leave shards over the threshold).
        factor: u32,
        /// The recommended number of physical shards after the split.
        physical: u32,
    },
    /// Logical shards would have to be split, but the map already has more than
    /// `MAX_LOGICAL_SHARDS / 2` of them, so no split factor of at least 2 is allowed.
    /// Move hot pharmacies to dedicated shards ([`ShardMap::pin`]) instead.
    CannotSplitFurther {
        /// The current number of logical shards.
        logical: u32,
    },
    /// Only physical shards that hold no logical shards (shards dedicated to pinned
    /// pharmacies, [`ShardMap::pin`]) are over the threshold. Moving logical shards cannot
    /// relieve them: move some of their pinned pharmacies (part of the tenant) to another
    /// dedicated physical shard.
    SplitPinnedShards {
        /// The dedicated physical shards over the threshold, ascending.
        shards: Vec<PhysicalShard>,
    },
}

/// The result of [`threshold_trigger`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdReport {
    /// The threshold checked (pharmacies per physical shard).
    pub threshold: u64,
    /// Pharmacies on physical shards that hold logical shards (pinned tenants' dedicated
    /// shards excluded).
    pub hashed_total: u64,
    /// Physical shards above the threshold, with their counts, ascending.
    pub over: Vec<(PhysicalShard, u64)>,
    /// What to do.
    pub recommendation: Recommendation,
}

/// Flags physical shards holding more than `threshold` pharmacies (the design's 2,500:
/// [`DEFAULT_PHARMACIES_PER_SHARD`]) and recommends a reshard.
///
/// `counts` are pharmacies per physical shard (shards absent count 0; a shard listed twice
/// counts the sum). When some shard holding logical shards is over the threshold:
///
/// - [`Recommendation::Rebalance`] when the assignment is unbalanced, the average
///   (`hashed_total / L` per logical shard) fits the current physical shards, and
///   rebalancing takes enough logical shards off **every** shard over the threshold
///   (judged by that shard's own pharmacies per logical shard) — never a rebalance that
///   moves nothing off them, as on an already balanced assignment (quotas differing by at
///   most 1);
/// - otherwise [`Recommendation::AddPhysical`] with the fewest physical shards `P' > P`
///   for which the busiest (`⌈L/P'⌉` logical shards) stays within the threshold, sized from
///   the **densest** physical shard's actual pharmacies per logical shard (the average when
///   the hash spreads evenly, more when a hash range is hot);
/// - if even one logical shard per physical shard does not fit,
///   [`Recommendation::SplitLogical`] with the smallest sufficient factor (capped by
///   [`MAX_LOGICAL_SHARDS`]), or [`Recommendation::CannotSplitFurther`] when no factor of at
///   least 2 is allowed.
///
/// When only shards without logical shards (dedicated to pinned pharmacies) are over:
/// [`Recommendation::SplitPinnedShards`]. When both kinds are, the recommendation is about
/// the hashed shards; the dedicated ones are still listed in [`ThresholdReport::over`].
#[must_use]
pub fn threshold_trigger(
    map: &ShardMap,
    counts: &[(PhysicalShard, u64)],
    threshold: u64,
) -> ThresholdReport {
    let holding = map.logical_counts();
    let mut per_shard: BTreeMap<PhysicalShard, u64> = BTreeMap::new();
    for &(p, c) in counts {
        let entry = per_shard.entry(p).or_insert(0);
        *entry = entry.saturating_add(c);
    }
    let over: Vec<(PhysicalShard, u64)> = per_shard
        .iter()
        .filter(|&(_, &c)| c > threshold)
        .map(|(&p, &c)| (p, c))
        .collect();
    let hashed_total: u64 = per_shard
        .iter()
        .filter(|(p, _)| holding.contains_key(p))
        .fold(0u64, |sum, (_, &c)| sum.saturating_add(c));
    let hashed_over: Vec<PhysicalShard> = per_shard
        .iter()
        .filter(|&(p, &c)| c > threshold && holding.contains_key(p))
        .map(|(p, _)| *p)
        .collect();
    let dedicated_over: Vec<PhysicalShard> = per_shard
        .iter()
        .filter(|&(p, &c)| c > threshold && !holding.contains_key(p))
        .map(|(p, _)| *p)
        .collect();
    let recommendation = if !hashed_over.is_empty() {
        recommend(
            map.logical_count(),
            &holding,
            &per_shard,
            &hashed_over,
            hashed_total,
            threshold,
        )
    } else if !dedicated_over.is_empty() {
        Recommendation::SplitPinnedShards {
            shards: dedicated_over,
        }
    } else {
        Recommendation::None
    };
    ThresholdReport {
        threshold,
        hashed_total,
        over,
        recommendation,
    }
}

/// Pharmacies per logical shard as a fraction `pharmacies / logical`.
#[derive(Clone, Copy, Debug)]
struct Density {
    pharmacies: u64,
    logical: u32,
}

impl Density {
    /// Whether `logical_per_shard` logical shards of this density stay within `threshold`:
    /// `logical_per_shard · pharmacies / logical ≤ threshold`.
    fn fits(self, logical_per_shard: u32, threshold: u64) -> bool {
        u128::from(logical_per_shard) * u128::from(self.pharmacies)
            <= u128::from(threshold) * u128::from(self.logical)
    }

    /// `self > other`.
    fn denser_than(self, other: Density) -> bool {
        u128::from(self.pharmacies) * u128::from(other.logical)
            > u128::from(other.pharmacies) * u128::from(self.logical)
    }
}

/// The smallest `P'` in `from..=l` whose busiest shard (`⌈l/P'⌉` logical shards of
/// `density`) stays within `threshold`.
fn fewest_physical(l: u32, from: u32, density: Density, threshold: u64) -> Option<u32> {
    (from.max(1)..=l).find(|&p| density.fits(l.div_ceil(p), threshold))
}

fn recommend(
    l: u32,
    holding: &BTreeMap<PhysicalShard, u32>,
    counts: &BTreeMap<PhysicalShard, u64>,
    hashed_over: &[PhysicalShard],
    total: u64,
    threshold: u64,
) -> Recommendation {
    // At most `l` ≤ MAX_LOGICAL_SHARDS shards hold logical shards.
    let current = u32::try_from(holding.len()).unwrap_or(u32::MAX);
    let density_of = |p: &PhysicalShard| Density {
        pharmacies: counts.get(p).copied().unwrap_or(0),
        logical: holding.get(p).copied().unwrap_or(1).max(1),
    };

    // Rebalance only if it takes enough off every shard over the threshold.
    let average = Density {
        pharmacies: total,
        logical: l,
    };
    let target: Vec<PhysicalShard> = holding.keys().copied().collect();
    let quotas = quotas(holding, &target, l);
    let rebalance_relieves = |p: &PhysicalShard| {
        let quota = quotas.get(p).copied().unwrap_or(0);
        quota < holding.get(p).copied().unwrap_or(0) && density_of(p).fits(quota, threshold)
    };
    if average.fits(l.div_ceil(current.max(1)), threshold)
        && hashed_over.iter().all(rebalance_relieves)
    {
        return Recommendation::Rebalance { physical: current };
    }

    // Grow, sized from the densest shard.
    let densest = holding
        .keys()
        .map(density_of)
        .fold(average, |max, d| if d.denser_than(max) { d } else { max });
    let from = current.saturating_add(1);
    if let Some(p) = fewest_physical(l, from, densest, threshold) {
        return Recommendation::AddPhysical { physical: p };
    }

    // Split: the smallest factor k with pharmacies / (logical · k) ≤ threshold, i.e. one
    // logical shard of the densest shard's density fits.
    let max_factor = MAX_LOGICAL_SHARDS / l;
    if max_factor < 2 {
        return Recommendation::CannotSplitFurther { logical: l };
    }
    let needed = densest
        .pharmacies
        .div_ceil(threshold.max(1).saturating_mul(u64::from(densest.logical)));
    let factor = u32::try_from(needed)
        .unwrap_or(u32::MAX)
        .clamp(2, max_factor);
    let lk = l * factor;
    let split = Density {
        pharmacies: densest.pharmacies,
        logical: densest.logical * factor,
    };
    let physical = fewest_physical(lk, from, split, threshold).unwrap_or(lk);
    Recommendation::SplitLogical { factor, physical }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::hash::HashScheme;
    use pharm_core::ids::PharmacyId;

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
        map.pin(PharmacyId::new(1), PhysicalShard(9)).unwrap();
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

    /// An already balanced assignment with one hot shard: a rebalance would move nothing,
    /// so grow, sized from the hot shard (650 pharmacies per logical shard: at most 3
    /// logical shards per physical shard, 6 physical).
    #[test]
    fn balanced_assignment_is_never_told_to_rebalance() {
        let map = ShardMap::with_defaults(&p(4)).unwrap();
        let counts = [
            (PhysicalShard(0), 2_600),
            (PhysicalShard(1), 1_000),
            (PhysicalShard(2), 1_000),
            (PhysicalShard(3), 1_000),
        ];
        let r = threshold_trigger(&map, &counts, DEFAULT_PHARMACIES_PER_SHARD);
        assert_eq!(r.over, vec![(PhysicalShard(0), 2_600)]);
        assert_eq!(
            r.recommendation,
            Recommendation::AddPhysical { physical: 6 }
        );
        let plan = plan_to_count(&map, 6).unwrap();
        assert!(plan.moves.iter().any(|m| m.from == PhysicalShard(0)));

        // Unbalanced, but the hot shard is the one that would receive: no rebalance.
        let map = ShardMap::from_assignment(
            HashScheme::Pharm,
            [vec![PhysicalShard(0); 6], vec![PhysicalShard(1); 10]].concat(),
            1,
        )
        .unwrap();
        let counts = [(PhysicalShard(0), 2_700), (PhysicalShard(1), 1_000)];
        let r = threshold_trigger(&map, &counts, DEFAULT_PHARMACIES_PER_SHARD);
        // 450 per logical shard on shard 0: at most 5 per physical shard → 4 physical.
        assert_eq!(
            r.recommendation,
            Recommendation::AddPhysical { physical: 4 }
        );

        // One hot logical shard on its own physical shard, already one per physical
        // shard: split.
        let map = ShardMap::new(HashScheme::Pharm, 2, &p(2)).unwrap();
        let counts = [(PhysicalShard(0), 6_000), (PhysicalShard(1), 100)];
        let r = threshold_trigger(&map, &counts, DEFAULT_PHARMACIES_PER_SHARD);
        assert_eq!(
            r.recommendation,
            Recommendation::SplitLogical {
                factor: 3,
                physical: 6
            }
        );
    }

    /// A shard dedicated to pinned pharmacies over the threshold is not a reshard.
    #[test]
    fn pinned_shard_over_the_threshold() {
        let mut map = ShardMap::with_defaults(&p(4)).unwrap();
        for id in 0..3_000 {
            map.pin(PharmacyId::new(id), PhysicalShard(9)).unwrap();
        }
        let mut counts: Vec<_> = p(4).into_iter().map(|s| (s, 1_000)).collect();
        counts.push((PhysicalShard(9), 3_000));
        let r = threshold_trigger(&map, &counts, DEFAULT_PHARMACIES_PER_SHARD);
        assert_eq!(r.hashed_total, 4_000);
        assert_eq!(r.over, vec![(PhysicalShard(9), 3_000)]);
        assert_eq!(
            r.recommendation,
            Recommendation::SplitPinnedShards {
                shards: vec![PhysicalShard(9)]
            }
        );
        // Hashed shards over as well: the recommendation is about them.
        counts[0].1 = 2_600;
        let r = threshold_trigger(&map, &counts, DEFAULT_PHARMACIES_PER_SHARD);
        assert_eq!(r.over.len(), 2);
        assert_eq!(
            r.recommendation,
            Recommendation::AddPhysical { physical: 6 }
        );
    }

    /// A split factor too large for `u32` is capped, never truncated (to 0); with more
    /// than half the maximum of logical shards no split is possible.
    #[test]
    fn split_factor_is_checked() {
        let map = ShardMap::with_defaults(&p(4)).unwrap();
        // 2^40 pharmacies per logical shard, threshold 1: the factor 2^40 does not fit u32
        // (and `as u32` made it 0).
        let counts: Vec<_> = p(4).into_iter().map(|s| (s, 1u64 << 42)).collect();
        let r = threshold_trigger(&map, &counts, 1);
        let max = MAX_LOGICAL_SHARDS / 16;
        assert_eq!(
            r.recommendation,
            Recommendation::SplitLogical {
                factor: max,
                physical: 16 * max
            }
        );

        let map = ShardMap::new(HashScheme::Pharm, MAX_LOGICAL_SHARDS / 2 + 1, &p(2)).unwrap();
        let counts: Vec<_> = p(2).into_iter().map(|s| (s, 1u64 << 20)).collect();
        let r = threshold_trigger(&map, &counts, 1);
        assert_eq!(
            r.recommendation,
            Recommendation::CannotSplitFurther {
                logical: MAX_LOGICAL_SHARDS / 2 + 1
            }
        );
    }
}
