//! Shard-map versions are checked, never wrapped, and a pharmacy has at most one pin.
//!
//! The version fences stale writers at cut-over: a change at `u64::MAX` must fail with a
//! typed error and leave the map as it was (a wrapped version 0 would look older than
//! every map it has to fence, and an unchecked increment panics in debug builds). A second
//! pin of the same pharmacy, by `pin` or in a serialized map, is rejected instead of the
//! last one silently winning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pharm_core::ids::PharmacyId;
use pharm_shard::directory::{DirectoryError, LogicalShard, MovePhase, PhysicalShard, ShardMap};
use pharm_shard::hash::HashScheme;
use pharm_shard::reshard::{PlanError, plan_to_count};
use proptest::prelude::*;

fn ph(n: u32) -> PharmacyId {
    PharmacyId::new(n)
}

fn phys(n: u32) -> Vec<PhysicalShard> {
    (0..n).map(PhysicalShard).collect()
}

/// The default map (16 logical shards on 4 physical) at `version`, with pharmacy 7
/// pinned to physical shard 9 and logical shard 3 being copied to physical shard 4.
fn map_at(version: u64) -> ShardMap {
    let json = format!(
        r#"{{"version":{version},"logical_count":16,
            "assignment":[0,0,0,0,1,1,1,1,2,2,2,2,3,3,3,3],
            "pins":[{{"pharmacy_id":7,"physical":9}}],
            "moves":[{{"logical":3,"source":0,"target":4,"phase":"copying"}}]}}"#
    );
    serde_json::from_str(&json).unwrap()
}

type Change = (
    &'static str,
    fn(&mut ShardMap) -> Result<u64, DirectoryError>,
);

/// Every public change of a map, each valid on [`map_at`] but for the version.
fn changes() -> Vec<Change> {
    vec![
        ("pin", |m| m.pin(ph(8), PhysicalShard(9))),
        ("repin", |m| m.repin(ph(7), PhysicalShard(10))),
        ("unpin", |m| m.unpin(ph(7))),
        ("begin_move", |m| {
            m.begin_move(LogicalShard(5), PhysicalShard(4))
        }),
        ("advance_move", |m| {
            m.advance_move(LogicalShard(3)).map(|_| m.version())
        }),
        ("abort_move", |m| m.abort_move(LogicalShard(3))),
    ]
}

/// The default map at `version`, without pins or moves (as a split needs).
fn plain_at(version: u64) -> ShardMap {
    let mut json = serde_json::to_value(ShardMap::with_defaults(&phys(4)).unwrap()).unwrap();
    json["version"] = serde_json::json!(version);
    serde_json::from_value(json).unwrap()
}

#[test]
fn splits_check_the_version_too() {
    let max = plain_at(u64::MAX);
    let mut map = max.clone();
    assert_eq!(
        map.split_logical(2),
        Err(DirectoryError::VersionExhausted(u64::MAX))
    );
    assert_eq!(map, max);
    let mut map = plain_at(u64::MAX - 1);
    assert_eq!(map.split_logical(2), Ok(u64::MAX));
    assert_eq!(map.logical_count(), 32);
}

#[test]
fn no_change_at_the_last_version_and_nothing_changes() {
    let max = map_at(u64::MAX);
    assert_eq!(max.version(), u64::MAX);
    for (name, change) in changes() {
        let mut map = max.clone();
        assert_eq!(
            change(&mut map),
            Err(DirectoryError::VersionExhausted(u64::MAX)),
            "{name}"
        );
        assert_eq!(map, max, "{name} left the map changed");
        assert_eq!(map.route(ph(7)).physical, PhysicalShard(9), "{name}");
    }
    // Completing a cut-over move is a change too.
    let mut map = map_at(u64::MAX - 2);
    map.advance_move(LogicalShard(3)).unwrap();
    map.advance_move(LogicalShard(3)).unwrap();
    let before = map.clone();
    assert_eq!(
        map.complete_move(LogicalShard(3)),
        Err(DirectoryError::VersionExhausted(u64::MAX))
    );
    assert_eq!(map, before);
    let moving = (0..)
        .map(ph)
        .find(|&id| map.logical_of(id) == LogicalShard(3))
        .unwrap();
    let route = map.route_checked(moving, u64::MAX).unwrap();
    assert_eq!(route.during_move.unwrap().phase, MovePhase::CutOver);
    assert_eq!(route.physical, PhysicalShard(4));
    let message = DirectoryError::VersionExhausted(u64::MAX).to_string();
    assert!(message.contains("18446744073709551615"), "{message}");
}

#[test]
fn the_version_before_the_last_takes_exactly_one_more_change() {
    for (name, change) in changes() {
        let mut map = map_at(u64::MAX - 1);
        assert_eq!(
            change(&mut map).map(|_| map.version()),
            Ok(u64::MAX),
            "{name}"
        );
        let after = map.clone();
        assert_eq!(
            map.pin(ph(1_000), PhysicalShard(11)),
            Err(DirectoryError::VersionExhausted(u64::MAX)),
            "{name}"
        );
        assert_eq!(map, after, "{name}");
    }
}

#[test]
fn reshard_plans_check_the_versions_they_need_first() {
    let at_max =
        ShardMap::from_assignment(HashScheme::Pharm, vec![PhysicalShard(0); 16], u64::MAX - 3)
            .unwrap();
    let plan = plan_to_count(&at_max, 4).unwrap();
    assert_eq!(plan.moves.len(), 12);
    // Twelve moves need twelve versions: none begins.
    let mut map = at_max.clone();
    assert_eq!(
        plan.begin(&mut map),
        Err(PlanError::Directory(DirectoryError::VersionExhausted(
            u64::MAX - 3
        )))
    );
    assert_eq!(map, at_max);
    // An offline apply takes one version.
    let mut map = at_max.clone();
    assert_eq!(plan.apply_offline(&mut map), Ok(u64::MAX - 2));
    // Exactly enough versions.
    let small = plan_to_count(&at_max, 2).unwrap();
    assert_eq!(small.moves.len(), 8);
    let mut map =
        ShardMap::from_assignment(HashScheme::Pharm, vec![PhysicalShard(0); 16], u64::MAX - 8)
            .unwrap();
    let small = plan_to_count(&map, 2).unwrap();
    assert_eq!(small.begin(&mut map), Ok(u64::MAX));
}

#[test]
fn a_pharmacy_is_pinned_once() {
    let mut map = ShardMap::with_defaults(&phys(4)).unwrap();
    let v = map.pin(ph(42), PhysicalShard(7)).unwrap();
    for again in [PhysicalShard(8), PhysicalShard(7)] {
        assert_eq!(
            map.pin(ph(42), again),
            Err(DirectoryError::AlreadyPinned {
                pharmacy_id: ph(42),
                physical: PhysicalShard(7)
            })
        );
        assert_eq!(map.version(), v);
        assert_eq!(map.route(ph(42)).physical, PhysicalShard(7));
    }
    // Moving a pin is explicit, one change.
    assert_eq!(map.repin(ph(42), PhysicalShard(8)), Ok(v + 1));
    assert_eq!(map.route(ph(42)).physical, PhysicalShard(8));
    assert_eq!(
        map.repin(ph(43), PhysicalShard(8)),
        Err(DirectoryError::NotPinned(ph(43)))
    );
    assert_eq!(map.version(), v + 1);
    assert_eq!(map.pins().collect::<Vec<_>>(), [(ph(42), PhysicalShard(8))]);
}

#[test]
fn a_serialized_map_with_a_duplicate_pin_is_rejected() {
    let json = r#"{"version":3,"logical_count":2,"assignment":[0,1],
        "pins":[{"pharmacy_id":42,"physical":7},{"pharmacy_id":43,"physical":7},
                {"pharmacy_id":42,"physical":8}]}"#;
    let err = serde_json::from_str::<ShardMap>(json).unwrap_err();
    assert!(
        err.to_string()
            .contains("pharmacy 42 is already pinned to physical shard 7"),
        "{err}"
    );
    // The same pin twice is a duplicate too.
    let json = r#"{"version":3,"logical_count":2,"assignment":[0,1],
        "pins":[{"pharmacy_id":42,"physical":7},{"pharmacy_id":42,"physical":7}]}"#;
    assert!(serde_json::from_str::<ShardMap>(json).is_err());
    let json = r#"{"version":3,"logical_count":2,"assignment":[0,1],
        "pins":[{"pharmacy_id":42,"physical":7},{"pharmacy_id":4242,"physical":7}]}"#;
    assert_eq!(
        serde_json::from_str::<ShardMap>(json)
            .unwrap()
            .pins()
            .count(),
        2
    );
    // A pharmacy id is never negative: such a pin is refused, not wrapped.
    let json = r#"{"version":3,"logical_count":2,"assignment":[0,1],
        "pins":[{"pharmacy_id":42,"physical":7},{"pharmacy_id":-42,"physical":7}]}"#;
    assert!(serde_json::from_str::<ShardMap>(json).is_err());
}

#[derive(Clone, Debug)]
enum Op {
    Pin(u32, u32),
    Repin(u32, u32),
    Unpin(u32),
    Begin(u32, u32),
    Advance(u32),
    Complete(u32),
    Abort(u32),
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0u32..6;
    let logical = 0u32..17;
    let physical = 0u32..6;
    prop_oneof![
        (id.clone(), physical.clone()).prop_map(|(i, p)| Op::Pin(i, p)),
        (id.clone(), physical.clone()).prop_map(|(i, p)| Op::Repin(i, p)),
        id.prop_map(Op::Unpin),
        (logical.clone(), physical).prop_map(|(l, p)| Op::Begin(l, p)),
        logical.clone().prop_map(Op::Advance),
        logical.clone().prop_map(Op::Complete),
        logical.prop_map(Op::Abort),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Law: a successful change increments the version by exactly one; a failed change
    /// (an invalid request or an exhausted version) leaves the map equal to what it was.
    /// Started a few versions before the end of the range, so exhaustion is reached.
    #[test]
    fn changes_step_the_version_by_one_or_change_nothing(
        start in prop_oneof![Just(1u64), (u64::MAX - 6)..=u64::MAX],
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut map = plain_at(start);
        for op in ops {
            let before = map.clone();
            let result = match op {
                Op::Pin(i, p) => map.pin(ph(i), PhysicalShard(p)),
                Op::Repin(i, p) => map.repin(ph(i), PhysicalShard(p)),
                Op::Unpin(i) => map.unpin(ph(i)),
                Op::Begin(l, p) => map.begin_move(LogicalShard(l), PhysicalShard(p)),
                Op::Advance(l) => map.advance_move(LogicalShard(l)).map(|_| map.version()),
                Op::Complete(l) => map.complete_move(LogicalShard(l)),
                Op::Abort(l) => map.abort_move(LogicalShard(l)),
            };
            match result {
                Ok(v) => {
                    prop_assert_eq!(Some(v), before.version().checked_add(1));
                    prop_assert_eq!(map.version(), v);
                }
                Err(e) => {
                    prop_assert_eq!(&map, &before);
                    if before.version() == u64::MAX {
                        prop_assert_eq!(e, DirectoryError::VersionExhausted(u64::MAX));
                    }
                }
            }
            // At most one pin per pharmacy, and routing follows it.
            for (id, physical) in map.pins() {
                prop_assert_eq!(map.route(id).physical, physical);
            }
        }
    }
}
