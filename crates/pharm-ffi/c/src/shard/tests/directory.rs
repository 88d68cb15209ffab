//! `pharm_directory`: routing through the C ABI equals the crate's, and bad input fails.

use std::ptr::{null, null_mut};

use pharm_core::ids::PharmacyId;
use pharm_shard::directory::MovePhase;
use pharm_shard::{HashScheme, LogicalShard, PhysicalShard, ShardMap};

use super::{assert_failed, oversized_json};
use crate::result::pharm_result;
use crate::*;

const IDS: [u32; 8] = [
    0,
    1,
    42,
    4_242,
    31_337,
    2_147_483_648,
    4_294_967_294,
    u32::MAX,
];

fn new_directory(logical: u32, physical: u32, scheme: u32) -> *mut pharm_directory {
    let mut directory = null_mut();
    // SAFETY: `directory` is a writable pointer.
    let result = unsafe { pharm_directory_new(logical, physical, scheme, &mut directory) };
    assert_eq!(result, pharm_result::Ok);
    directory
}

fn from_json(json: &str) -> (pharm_result, *mut pharm_directory) {
    let mut directory = null_mut();
    // SAFETY: the text and a writable pointer.
    let result = unsafe { pharm_directory_from_json(json.as_ptr(), json.len(), &mut directory) };
    (result, directory)
}

/// Routes `id` both ways through `directory` and checks them against `map`.
fn check_routes(directory: *const pharm_directory, map: &ShardMap) {
    for id in IDS.into_iter().chain(0..500) {
        let expected = map.route(PharmacyId::new(id));
        let mut physical = u32::MAX;
        let mut detail = pharm_route {
            physical: 0,
            logical: 0,
            map_version: 0,
            pinned: false,
            move_phase: pharm_move_phase::None,
            move_source: 0,
            move_target: 0,
        };
        // SAFETY: a live directory and writable outputs.
        unsafe {
            assert_eq!(
                pharm_directory_route(directory, id, &mut physical),
                pharm_result::Ok
            );
            assert_eq!(
                pharm_directory_route_detail(directory, id, &mut detail),
                pharm_result::Ok
            );
        }
        assert_eq!(physical, expected.physical.0, "pharmacy {id}");
        assert_eq!(detail, pharm_route::from(expected), "pharmacy {id}");
    }
}

#[test]
fn the_default_layout_routes_as_the_crate() {
    let physical: Vec<PhysicalShard> = (0..4).map(PhysicalShard).collect();
    let directory = new_directory(16, 4, PHARM_HASH_SCHEME_PHARM);
    check_routes(directory, &ShardMap::with_defaults(&physical).unwrap());
    // SAFETY: a live directory, freed once.
    unsafe { pharm_directory_free(directory) };

    let directory = new_directory(64, 5, PHARM_HASH_SCHEME_POSTGRES_BIGINT);
    check_routes(
        directory,
        &ShardMap::new(
            HashScheme::PostgresBigint,
            64,
            &(0..5).map(PhysicalShard).collect::<Vec<_>>(),
        )
        .unwrap(),
    );
    // SAFETY: a live directory, freed once.
    unsafe { pharm_directory_free(directory) };
}

#[test]
fn pins_and_moves_from_json_route_as_the_crate() {
    let mut map = ShardMap::with_defaults(&(0..4).map(PhysicalShard).collect::<Vec<_>>()).unwrap();
    map.pin(PharmacyId::new(4_242), PhysicalShard(100)).unwrap();
    map.begin_move(LogicalShard(3), PhysicalShard(7)).unwrap();
    map.begin_move(LogicalShard(9), PhysicalShard(8)).unwrap();
    assert_eq!(map.advance_move(LogicalShard(9)), Ok(MovePhase::CatchUp));
    assert_eq!(map.advance_move(LogicalShard(9)), Ok(MovePhase::CutOver));
    let (result, directory) = from_json(&serde_json::to_string(&map).unwrap());
    assert_eq!(result, pharm_result::Ok);
    check_routes(directory, &map);

    // A pharmacy of the cut-over logical shard goes to the target; the pin wins its hash.
    let moved = (0..)
        .find(|id| map.logical_of(PharmacyId::new(*id)) == LogicalShard(9))
        .unwrap();
    let mut route = pharm_route::from(map.route(PharmacyId::new(0)));
    // SAFETY: a live directory and a writable output.
    unsafe {
        assert_eq!(
            pharm_directory_route_detail(directory, moved, &mut route),
            pharm_result::Ok
        );
        assert_eq!(route.physical, 8);
        assert_eq!(route.move_phase, pharm_move_phase::CutOver);
        assert_eq!((route.move_source, route.move_target), (2, 8));
        assert_eq!(
            pharm_directory_route_detail(directory, 4_242, &mut route),
            pharm_result::Ok
        );
        assert!(route.pinned);
        assert_eq!(route.physical, 100);
        assert_eq!(route.map_version, map.version());
        pharm_directory_free(directory);
    }
}

#[test]
fn bad_counts_and_schemes_are_refused() {
    let mut directory = null_mut();
    // SAFETY: writable output, or NULL where the test says so.
    unsafe {
        assert_failed(
            pharm_directory_new(0, 4, PHARM_HASH_SCHEME_PHARM, &mut directory),
            pharm_result::ShardError,
            "shard.directory_logical_count",
        );
        assert_failed(
            pharm_directory_new(65_537, 4, PHARM_HASH_SCHEME_PHARM, &mut directory),
            pharm_result::ShardError,
            "shard.directory_logical_count",
        );
        assert_failed(
            pharm_directory_new(16, 0, PHARM_HASH_SCHEME_PHARM, &mut directory),
            pharm_result::ShardError,
            "shard.directory_no_physical_shards",
        );
        assert_failed(
            pharm_directory_new(16, 65_537, PHARM_HASH_SCHEME_PHARM, &mut directory),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        assert_failed(
            pharm_directory_new(16, 4, 2, &mut directory),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        assert_failed(
            pharm_directory_new(16, 4, PHARM_HASH_SCHEME_PHARM, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
    }
    assert!(directory.is_null(), "outputs are written only on success");
    // The largest layout is accepted.
    let directory = new_directory(65_536, 65_536, PHARM_HASH_SCHEME_PHARM);
    // SAFETY: a live directory, freed once.
    unsafe { pharm_directory_free(directory) };
}

#[test]
fn bad_json_is_refused_with_the_shard_codes() {
    let good = r#"{"version":1,"logical_count":2,"assignment":[0,1]}"#;
    let cases: [(&str, pharm_result, &str); 10] = [
        ("", pharm_result::ShardError, "shard.json_syntax"),
        (
            "{\"version\":1,",
            pharm_result::ShardError,
            "shard.json_syntax",
        ),
        ("[1, 2", pharm_result::ShardError, "shard.json_syntax"),
        (
            r#"{"version":1,"logical_count":2,"assignment":[0,1],"shards":4}"#,
            pharm_result::ShardError,
            "shard.json_invalid",
        ),
        // An unknown field inside a pin.
        (
            r#"{"version":1,"logical_count":2,"assignment":[0,1],"pins":[{"pharmacy_id":7,"physical":3,"note":"x"}]}"#,
            pharm_result::ShardError,
            "shard.json_invalid",
        ),
        // A map that is not consistent keeps its own code.
        (
            r#"{"version":1,"logical_count":2,"assignment":[0,1],"pins":[{"pharmacy_id":7,"physical":3},{"pharmacy_id":7,"physical":4}]}"#,
            pharm_result::ShardError,
            "shard.directory_already_pinned",
        ),
        (
            r#"{"version":1,"logical_count":3,"assignment":[0,1]}"#,
            pharm_result::ShardError,
            "shard.directory_assignment_length",
        ),
        (
            r#"{"version":1,"logical_count":2,"assignment":[0,1],"moves":[{"logical":0,"source":1,"target":0,"phase":"copying"}]}"#,
            pharm_result::ShardError,
            "shard.directory_source_mismatch",
        ),
        (
            r#"{"version":1,"logical_count":2,"assignment":[0,1],"pins":[{"pharmacy_id":-5,"physical":7}]}"#,
            pharm_result::ShardError,
            "shard.json_invalid",
        ),
        (good, pharm_result::Ok, ""),
    ];
    for (json, expected, id) in cases {
        let (result, directory) = from_json(json);
        if expected == pharm_result::Ok {
            assert_eq!(result, pharm_result::Ok);
            // SAFETY: a live directory, freed once.
            unsafe { pharm_directory_free(directory) };
        } else {
            assert_failed(result, expected, id);
            assert!(directory.is_null());
        }
    }
    let (_, _) = from_json(
        r#"{"version":1,"logical_count":2,"assignment":[0,1],"pins":[{"pharmacy_id":7,"physical":3},{"pharmacy_id":7,"physical":4}]}"#,
    );
    assert!(
        super::last_message().contains("already pinned"),
        "{}",
        super::last_message()
    );
    assert_eq!(crate::error::pharm_error_code(), 4013);

    let big = oversized_json();
    let bad_utf8 = b"{\"version\":1,\xff}";
    let mut directory = null_mut();
    // SAFETY: readable inputs of the given lengths (or NULL), writable outputs (or NULL).
    unsafe {
        assert_failed(
            pharm_directory_from_json(big.as_ptr(), big.len(), &mut directory),
            pharm_result::InputTooLarge,
            "ffi.input_too_large",
        );
        assert_failed(
            pharm_directory_from_json(bad_utf8.as_ptr(), bad_utf8.len(), &mut directory),
            pharm_result::InvalidUtf8,
            "ffi.invalid_utf8",
        );
        assert_failed(
            pharm_directory_from_json(null(), 4, &mut directory),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            pharm_directory_from_json(good.as_ptr(), good.len(), null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
    }
    assert!(directory.is_null());
}

#[test]
fn null_handles_and_outputs_are_reported() {
    let directory = new_directory(16, 4, PHARM_HASH_SCHEME_PHARM);
    let mut physical = 0;
    let mut route = pharm_route::from(
        ShardMap::with_defaults(&[PhysicalShard(0)])
            .unwrap()
            .route(PharmacyId::new(1)),
    );
    // SAFETY: NULL where the test says so, else live and writable.
    unsafe {
        assert_failed(
            pharm_directory_route(null(), 1, &mut physical),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            pharm_directory_route(directory, 1, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            pharm_directory_route_detail(null(), 1, &mut route),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            pharm_directory_route_detail(directory, 1, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        pharm_directory_free(directory);
        pharm_directory_free(null_mut());
    }
}

#[test]
fn a_directory_is_shared_by_threads() {
    let directory = new_directory(16, 4, PHARM_HASH_SCHEME_PHARM) as usize;
    let map = ShardMap::with_defaults(&(0..4).map(PhysicalShard).collect::<Vec<_>>()).unwrap();
    std::thread::scope(|scope| {
        for t in 0..4u32 {
            let map = &map;
            scope.spawn(move || {
                for id in (t * 1000)..(t * 1000 + 1000) {
                    let mut physical = u32::MAX;
                    // SAFETY: a live directory (freed after the scope) and a writable output.
                    let result = unsafe {
                        pharm_directory_route(
                            directory as *const pharm_directory,
                            id,
                            &mut physical,
                        )
                    };
                    assert_eq!(result, pharm_result::Ok);
                    assert_eq!(physical, map.route(PharmacyId::new(id)).physical.0);
                }
            });
        }
    });
    // SAFETY: a live directory, no longer used by any thread.
    unsafe { pharm_directory_free(directory as *mut pharm_directory) };
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_panic_poisons_the_directory() {
    let directory = new_directory(16, 4, PHARM_HASH_SCHEME_PHARM);
    let other = new_directory(16, 4, PHARM_HASH_SCHEME_PHARM);
    let mut physical = u32::MAX;
    // SAFETY: live directories and a writable output.
    unsafe {
        pharm_test_panic_next_call();
        assert_failed(
            pharm_directory_route(directory, 1, &mut physical),
            pharm_result::Panic,
            "ffi.panic",
        );
        assert_eq!(physical, u32::MAX);
        assert_failed(
            pharm_directory_route(directory, 1, &mut physical),
            pharm_result::Poisoned,
            "ffi.poisoned",
        );
        assert_eq!(
            pharm_directory_route(other, 1, &mut physical),
            pharm_result::Ok
        );
        pharm_directory_free(directory);
        pharm_directory_free(other);
    }
}
