//! Grouping pharmacies by the physical shard that holds them.

use std::collections::BTreeMap;
use std::convert::Infallible;

use pharm_core::ids::PharmacyId;

use super::executor::{ParamValue, ShardTarget};
use crate::directory::PhysicalShard;
use crate::reads::Target;

/// Groups `pharmacy_ids` by physical shard with `route` (for example
/// `|id| shard_map.route(id).physical`). Each shard's list is ascending and free of
/// duplicates; shards come in ascending order.
pub fn group_by_shard<I, F>(
    pharmacy_ids: I,
    mut route: F,
) -> BTreeMap<PhysicalShard, Vec<PharmacyId>>
where
    I: IntoIterator<Item = PharmacyId>,
    F: FnMut(PharmacyId) -> PhysicalShard,
{
    match try_group_by_shard(pharmacy_ids, |id| Ok::<_, Infallible>(route(id))) {
        Ok(groups) => groups,
        Err(never) => match never {},
    }
}

/// Like [`group_by_shard`] with a routing function that can fail (an unknown pharmacy):
/// the first error is returned.
///
/// # Errors
/// The first error of `route`.
pub fn try_group_by_shard<I, F, E>(
    pharmacy_ids: I,
    mut route: F,
) -> Result<BTreeMap<PhysicalShard, Vec<PharmacyId>>, E>
where
    I: IntoIterator<Item = PharmacyId>,
    F: FnMut(PharmacyId) -> Result<PhysicalShard, E>,
{
    let mut groups: BTreeMap<PhysicalShard, Vec<PharmacyId>> = BTreeMap::new();
    for id in pharmacy_ids {
        groups.entry(route(id)?).or_default().push(id);
    }
    for ids in groups.values_mut() {
        ids.sort_unstable();
        ids.dedup();
    }
    Ok(groups)
}

/// One shard's part of a scatter-gather.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShardLeg {
    /// Where it runs.
    pub target: ShardTarget,
    /// The pharmacies it covers; a pharmacy may appear in only one leg, once
    /// ([`ScatterError::DuplicatePharmacy`](super::ScatterError::DuplicatePharmacy)).
    pub pharmacy_ids: Vec<PharmacyId>,
}

/// A query to run on several shards and merge.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScatterRequest {
    /// The statement (or prepared-query name) every shard runs.
    pub statement: String,
    /// Its parameters, shared by every shard.
    pub params: Vec<ParamValue>,
    /// One leg per physical shard (a shard may appear only once, and a pharmacy in only one
    /// leg).
    pub legs: Vec<ShardLeg>,
}

impl ScatterRequest {
    /// A request over `pharmacy_ids`: grouped by shard with `route`, each shard's leg run
    /// on the node `node` picks (usually `|_| Target::Replica(ReplicaRole::Analytics)`, or
    /// a choice made with [`crate::reads::ReadRouter`]).
    pub fn for_pharmacies<I, R, N>(
        statement: impl Into<String>,
        params: Vec<ParamValue>,
        pharmacy_ids: I,
        route: R,
        mut node: N,
    ) -> Self
    where
        I: IntoIterator<Item = PharmacyId>,
        R: FnMut(PharmacyId) -> PhysicalShard,
        N: FnMut(PhysicalShard) -> Target,
    {
        let legs = group_by_shard(pharmacy_ids, route)
            .into_iter()
            .map(|(shard, pharmacy_ids)| ShardLeg {
                target: ShardTarget {
                    shard,
                    node: node(shard),
                },
                pharmacy_ids,
            })
            .collect();
        Self {
            statement: statement.into(),
            params,
            legs,
        }
    }
}
