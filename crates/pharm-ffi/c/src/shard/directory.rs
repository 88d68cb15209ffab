//! `pharm_directory`: a shard map routing pharmacy ids to physical shards.

use pharm_core::ids::PharmacyId;
use pharm_shard::directory::{MAX_LOGICAL_SHARDS, MovePhase};
use pharm_shard::{HashScheme, PhysicalShard, Route, ShardMap};

use super::fixed::Fixed;
use super::json::PHARM_SHARD_MAX_JSON_BYTES;
use crate::boundary::{self, Handle, Poison};
use crate::error::Failure;
use crate::input;
use crate::output::Out;
use crate::result::pharm_result;

/// `scheme` of `pharm_directory_new()`: the crate's own hash of the pharmacy id (the
/// design's default; 16 logical shards are the top 4 bits of the hash).
pub const PHARM_HASH_SCHEME_PHARM: u32 = 0;
/// `scheme` of `pharm_directory_new()`: exactly PostgreSQL's `PARTITION BY HASH` on the
/// `bigint` pharmacy id (logical shard = partition remainder).
pub const PHARM_HASH_SCHEME_POSTGRES_BIGINT: u32 = 1;

/// A shard directory: which logical shard a pharmacy id hashes to, which physical shard
/// (PostgreSQL primary) serves it, pinned tenants and moves in progress. Made by
/// `pharm_directory_new()` or `pharm_directory_from_json()`, freed with
/// `pharm_directory_free()`.
///
/// Thread safety: immutable once made. It may be shared by threads: every call taking a
/// `const pharm_directory *` is safe concurrently.
pub struct pharm_directory {
    poison: Poison,
    map: ShardMap,
}

impl Handle for pharm_directory {
    fn poison(&self) -> &Poison {
        &self.poison
    }
}

/// The phase of a move of the routed pharmacy's logical shard (`pharm_route.move_phase`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pharm_move_phase {
    /// The logical shard is not moving (or the pharmacy is pinned).
    None = 0,
    /// Bulk copy to the target; traffic stays on the source.
    Copying = 1,
    /// The target replays the source's changes; traffic stays on the source.
    CatchUp = 2,
    /// Traffic switched to the target.
    CutOver = 3,
}

/// Where a pharmacy's reads and writes go (the crate's `Route`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct pharm_route {
    /// The physical shard to send reads and writes to now.
    pub physical: u32,
    /// The pharmacy's logical shard (by hash, also for a pinned pharmacy).
    pub logical: u32,
    /// The version of the map that made this route; a shard uses it to detect a stale map.
    pub map_version: u64,
    /// The pharmacy is pinned to `physical`, overriding its hash.
    pub pinned: bool,
    /// `PHARM_MOVE_PHASE_NONE` unless the logical shard is being moved.
    pub move_phase: pharm_move_phase,
    /// While moving: the physical shard the logical shard is leaving (else 0).
    pub move_source: u32,
    /// While moving: the physical shard the logical shard is going to (else 0).
    pub move_target: u32,
}

impl From<Route> for pharm_route {
    fn from(route: Route) -> pharm_route {
        let (move_phase, move_source, move_target) = match route.during_move {
            None => (pharm_move_phase::None, 0, 0),
            Some(mv) => (
                match mv.phase {
                    MovePhase::Copying => pharm_move_phase::Copying,
                    MovePhase::CatchUp => pharm_move_phase::CatchUp,
                    MovePhase::CutOver => pharm_move_phase::CutOver,
                },
                mv.source.0,
                mv.target.0,
            ),
        };
        pharm_route {
            physical: route.physical.0,
            logical: route.logical.0,
            map_version: route.map_version,
            pinned: route.pinned,
            move_phase,
            move_source,
            move_target,
        }
    }
}

fn scheme(value: u32) -> Result<HashScheme, Failure> {
    match value {
        PHARM_HASH_SCHEME_PHARM => Ok(HashScheme::Pharm),
        PHARM_HASH_SCHEME_POSTGRES_BIGINT => Ok(HashScheme::PostgresBigint),
        other => Err(Failure::invalid(
            "scheme",
            format!(
                "{other} is not a hash scheme (PHARM_HASH_SCHEME_PHARM = 0, PHARM_HASH_SCHEME_POSTGRES_BIGINT = 1)"
            ),
        )),
    }
}

/// Makes a directory at version 1 spreading `logical_count` logical shards over the
/// physical shards `0 .. physical_count - 1` in contiguous, balanced blocks, with no pins
/// and no moves. The design's default layout is `logical_count` 16 with
/// `PHARM_HASH_SCHEME_PHARM`.
///
/// `logical_count` must be in 1..=65536 (`shard.directory_logical_count`) and
/// `physical_count` at least 1 (`shard.directory_no_physical_shards`) and at most 65536
/// (`PHARM_RESULT_INVALID_ARGUMENT`: more servers than the most logical shards could hold
/// nothing). `scheme` is `PHARM_HASH_SCHEME_PHARM` or `PHARM_HASH_SCHEME_POSTGRES_BIGINT`.
///
/// On success `*out` receives a new directory the caller frees with
/// `pharm_directory_free()`; on failure `*out` is not written.
///
/// # Safety
/// `out` must be NULL or point to a writable `pharm_directory *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_directory_new(
    logical_count: u32,
    physical_count: u32,
    scheme: u32,
    out: *mut *mut pharm_directory,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        let scheme = self::scheme(scheme)?;
        if physical_count > MAX_LOGICAL_SHARDS {
            return Err(Failure::invalid(
                "physical_count",
                format!("{physical_count} is above {MAX_LOGICAL_SHARDS}"),
            ));
        }
        let physical: Vec<PhysicalShard> = (0..physical_count).map(PhysicalShard).collect();
        let map = ShardMap::new(scheme, logical_count, &physical)?;
        out.set(pharm_directory {
            poison: Poison::default(),
            map,
        });
        Ok(())
    })
}

/// Makes a directory from a shard map in the crate's JSON form: `{"version", "scheme"
/// ("pharm" or "postgres_bigint", default "pharm"), "logical_count", "assignment" (the
/// physical shard of each logical shard), "pins" ([{"pharmacy_id", "physical"}]), "moves"
/// ([{"logical", "source", "target", "phase"}])}`, as in
/// `testdata/golden/shard/routes.json`. Pinned tenants route to their pin.
///
/// `json` is UTF-8, at most `PHARM_SHARD_MAX_JSON_BYTES`. Malformed JSON is
/// `shard.json_syntax`; JSON that is not a shard map's form (an unknown field in any
/// object, a missing field, a wrong type) is `shard.json_invalid`, with the reason in the
/// message. A map that is not consistent has the code of its error, as when built by
/// calls: a pharmacy pinned twice is `shard.directory_already_pinned`, a move whose source
/// is not the assignment `shard.directory_source_mismatch`, an assignment of the wrong
/// length `shard.directory_assignment_length`...
///
/// On success `*out` receives a new directory the caller frees with
/// `pharm_directory_free()`; on failure `*out` is not written.
///
/// # Safety
/// `json` must point to `len` readable bytes (or be NULL with `len` 0); `out` must be NULL
/// or point to a writable `pharm_directory *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_directory_from_json(
    json: *const u8,
    len: usize,
    out: *mut *mut pharm_directory,
) -> pharm_result {
    boundary::call(|| {
        let out = Out::new(out, "out")?;
        // SAFETY: the caller's contract is this function's.
        let text = unsafe { input::text(json, len, "json", PHARM_SHARD_MAX_JSON_BYTES) }?;
        let map = ShardMap::from_json(text)?;
        out.set(pharm_directory {
            poison: Poison::default(),
            map,
        });
        Ok(())
    })
}

/// Writes the physical shard serving `pharmacy_id` (a pin if it has one, else its logical
/// shard's current physical shard, the target once a move is cut over) to
/// `*physical_shard`. Does not allocate.
///
/// # Safety
/// `directory` must be NULL or a live `pharm_directory`; `physical_shard` must be NULL or
/// point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_directory_route(
    directory: *const pharm_directory,
    pharmacy_id: u32,
    physical_shard: *mut u32,
) -> pharm_result {
    let body = |directory: &pharm_directory| -> Result<(), Failure> {
        let out = Fixed::new(physical_shard, "physical_shard")?;
        out.set(directory.map.route(PharmacyId::new(pharmacy_id)).physical.0);
        Ok(())
    };
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::call_with(directory, "directory", body) }
}

/// Writes the whole route of `pharmacy_id` to `*out`: physical and logical shard, the
/// map version, whether it is pinned, and the move its logical shard is part of, if any.
///
/// # Safety
/// `directory` must be NULL or a live `pharm_directory`; `out` must be NULL or point to a
/// writable `pharm_route`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_directory_route_detail(
    directory: *const pharm_directory,
    pharmacy_id: u32,
    out: *mut pharm_route,
) -> pharm_result {
    let body = |directory: &pharm_directory| -> Result<(), Failure> {
        let out = Fixed::new(out, "out")?;
        out.set(directory.map.route(PharmacyId::new(pharmacy_id)).into());
        Ok(())
    };
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::call_with(directory, "directory", body) }
}

/// Frees a directory. `pharm_directory_free(NULL)` does nothing; works on a poisoned
/// directory; using the directory afterwards is undefined.
///
/// # Safety
/// `directory` must be NULL or a `pharm_directory` from this library, not yet freed and
/// not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_directory_free(directory: *mut pharm_directory) {
    // SAFETY: the caller's contract is this function's.
    unsafe { boundary::free(directory) }
}
