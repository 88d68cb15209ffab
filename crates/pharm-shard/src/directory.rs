//! The shard directory: `pharmacy_id` → logical shard → physical shard.
//!
//! # Pharmacy ids
//!
//! Routing takes the family's [`PharmacyId`] (an unsigned 32-bit store number). The hash
//! input is [`PharmacyId::to_i64`], the `bigint` value the `pharmacy_id` column holds in
//! PostgreSQL, and [`crate::hash`] hashes that `i64` exactly as PostgreSQL's `hashint8`
//! (and `hashint8extended`, for `PARTITION BY HASH`) hashes the column: a pharmacy's
//! logical shard here is the partition the server puts its rows in. Pharmacy `n` therefore
//! routes exactly as the bare `i64` `n` did before the id type existed.
//!
//! # Logical shards
//!
//! A pharmacy's logical shard is fixed by its hash alone ([`crate::hash`]) and the number of
//! logical shards, `logical_count` (default [`DEFAULT_LOGICAL_SHARDS`] = 16, at most
//! [`MAX_LOGICAL_SHARDS`] = 65,536):
//!
//! - [`HashScheme::Pharm`]: `logical = (hash as u128 * logical_count) >> 64`. Logical shard
//!   `i` is the contiguous hash range `[i·2^64/L, (i+1)·2^64/L)`; for a power-of-two count
//!   `L = 2^b` this is exactly the top `b` bits, `hash >> (64 − b)` (16 logical shards:
//!   `hash >> 60`). Raising the count to `k·L` ([`ShardMap::split_logical`]) splits every
//!   range into `k` consecutive children `k·i .. k·i + k − 1`: no key leaves its range, so
//!   a split moves no data and, later, the children can be moved one by one (the Vitess /
//!   Citus key-range model, without the ceiling of a fixed `% 16`).
//! - [`HashScheme::PostgresBigint`]: `logical = hash % logical_count`, the remainder of
//!   the PostgreSQL partition `FOR VALUES WITH (MODULUS L, REMAINDER logical)`. Splitting by
//!   `k` turns remainder `r` into the remainders `r, r + L, …, r + (k−1)·L` of modulus
//!   `k·L` (PostgreSQL allows exactly this: each modulus must divide the next larger one).
//!
//! # Physical shards and versions
//!
//! A [`ShardMap`] assigns every logical shard to a [`PhysicalShard`] through an explicit
//! table (never `logical % N`, which would move 75% of keys going from 4 to 5 servers). It
//! carries a `version`, incremented by every change — checked, never wrapped: a map at
//! `u64::MAX` refuses every change with [`DirectoryError::VersionExhausted`] and stays as
//! it was, since a wrapped version would look older than the maps it must fence — and two
//! overrides:
//!
//! - **pins**: a large tenant pinned to its own physical shard routes there whatever its
//!   hash (as Citus's `isolate_tenant_to_new_shard`). Install the pin once the tenant's rows
//!   are on that shard. A pharmacy has at most one pin: pinning it again (or listing it
//!   twice in a serialized map) is [`DirectoryError::AlreadyPinned`], never "the last one
//!   wins"; [`ShardMap::repin`] moves a pin;
//! - **moves** of logical shards in progress, each in a [`MovePhase`]:
//!   [`Copying`](MovePhase::Copying) (bulk copy to the target) and
//!   [`CatchUp`](MovePhase::CatchUp) (the target replays the source's changes) route reads
//!   and writes to the **source**; [`CutOver`](MovePhase::CutOver) routes them to the
//!   **target**. Advance to `CutOver` only once catch-up has drained. The version bump of
//!   the cut-over is the fence: a client still holding the previous map would route to the
//!   source, and the source rejects its writes by [`ShardMap::check_version`]
//!   ([`StaleMap`]), so the client refreshes its map and retries on the target.
//!   [`ShardMap::complete_move`] then makes the target the assignment.
//!
//! # Routing cost
//!
//! [`ShardMap::route`] does not allocate: one hash, one multiply (or mask/modulo), a probe of
//! a precomputed open-addressing pin index (skipped when there are no pins) and one load from
//! a precomputed per-logical-shard table that already holds the current destination and any
//! move. Both tables are rebuilt on every change, which is rare and off the routing path.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use pharm_core::ids::PharmacyId;
use serde::{Deserialize, Serialize};

use crate::hash::HashScheme;

/// The design's number of logical shards.
pub const DEFAULT_LOGICAL_SHARDS: u32 = 16;

/// The largest supported number of logical shards (Citus allows 64,000).
pub const MAX_LOGICAL_SHARDS: u32 = 65_536;

/// A logical shard: a fixed slice of the hash space, the unit that moves between servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogicalShard(pub u32);

/// A physical shard: one PostgreSQL primary (with its replicas). Serialized as its bare
/// number.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct PhysicalShard(pub u32);

impl fmt::Display for LogicalShard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "logical shard {}", self.0)
    }
}

impl fmt::Display for PhysicalShard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "physical shard {}", self.0)
    }
}

/// The phase of a logical shard's move from one physical shard to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovePhase {
    /// Bulk copy of the logical shard's rows to the target; traffic stays on the source.
    Copying,
    /// The target replays the source's changes since the copy; traffic stays on the source.
    CatchUp,
    /// Traffic switched to the target; the source is fenced by the map version.
    CutOver,
}

/// A move of one logical shard in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardMove {
    /// The logical shard being moved.
    pub logical: LogicalShard,
    /// Where it is assigned now.
    pub source: PhysicalShard,
    /// Where it is going.
    pub target: PhysicalShard,
    /// How far the move has gone.
    pub phase: MovePhase,
}

/// The move a routed pharmacy's logical shard is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRoute {
    /// The move's phase.
    pub phase: MovePhase,
    /// The physical shard the logical shard is leaving.
    pub source: PhysicalShard,
    /// The physical shard the logical shard is going to.
    pub target: PhysicalShard,
}

/// Where a pharmacy's reads and writes go (serialized as
/// `{"logical", "physical", "map_version", "pinned", "during_move"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The pharmacy's logical shard (by hash, also for a pinned pharmacy).
    pub logical: LogicalShard,
    /// The physical shard to send reads and writes to now.
    pub physical: PhysicalShard,
    /// The version of the map that produced this route; present it to the shard
    /// ([`ShardMap::check_version`]) so a stale route is detected.
    pub map_version: u64,
    /// The pharmacy is pinned to `physical`, overriding its hash.
    pub pinned: bool,
    /// The logical shard is being moved (`None` for a pinned pharmacy).
    pub during_move: Option<MoveRoute>,
}

/// A map version that differs from the directory's.
///
/// `have < current`: the caller's map is stale; it must fetch the current map and route
/// again. `have > current`: this copy of the directory is the one behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("stale shard map: presented version {have}, current version {current}")]
pub struct StaleMap {
    /// The version the caller presented.
    pub have: u64,
    /// The directory's version.
    pub current: u64,
}

impl StaleMap {
    /// The caller's map is older than the directory's (the usual case).
    #[must_use]
    pub fn caller_is_stale(&self) -> bool {
        self.have < self.current
    }
}

/// An invalid shard map or an invalid change to one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// `logical_count` must be in `1..=MAX_LOGICAL_SHARDS`.
    #[error("logical shard count {0} is outside 1..={MAX_LOGICAL_SHARDS}")]
    LogicalCount(u64),
    /// The assignment table must have one entry per logical shard.
    #[error("assignment has {got} entries for {logical_count} logical shards")]
    AssignmentLength {
        /// Entries given.
        got: usize,
        /// Logical shards declared.
        logical_count: u32,
    },
    /// At least one physical shard is needed.
    #[error("no physical shards")]
    NoPhysicalShards,
    /// The logical shard does not exist in this map.
    #[error("{0} does not exist")]
    UnknownLogical(LogicalShard),
    /// The logical shard already has a move in progress.
    #[error("{0} is already moving")]
    AlreadyMoving(LogicalShard),
    /// The logical shard has no move in progress.
    #[error("{0} is not moving")]
    NotMoving(LogicalShard),
    /// A move's target is the logical shard's current physical shard.
    #[error("{logical} is already on {physical}")]
    SameShard {
        /// The logical shard.
        logical: LogicalShard,
        /// Its physical shard.
        physical: PhysicalShard,
    },
    /// A move's source is not the logical shard's assigned physical shard.
    #[error("move of {logical} has source {source_shard}, but it is assigned to {assigned}")]
    SourceMismatch {
        /// The logical shard.
        logical: LogicalShard,
        /// The move's source.
        source_shard: PhysicalShard,
        /// The assignment.
        assigned: PhysicalShard,
    },
    /// Completing a move needs the cut-over first.
    #[error("move of {0} has not been cut over")]
    NotCutOver(LogicalShard),
    /// A cut-over move cannot be advanced further or aborted (writes went to the target;
    /// move it back instead).
    #[error("move of {0} is already cut over")]
    AlreadyCutOver(LogicalShard),
    /// The change needs no moves in progress.
    #[error("{0} moves are in progress")]
    MovesInProgress(usize),
    /// A pharmacy that is not pinned was unpinned or re-pinned.
    #[error("pharmacy {0} is not pinned")]
    NotPinned(PharmacyId),
    /// A pharmacy pinned already was pinned again (or listed twice in a serialized map);
    /// [`ShardMap::repin`] moves a pin.
    #[error("pharmacy {pharmacy_id} is already pinned to {physical}")]
    AlreadyPinned {
        /// The pharmacy.
        pharmacy_id: PharmacyId,
        /// Where it is pinned.
        physical: PhysicalShard,
    },
    /// The map's version is `u64::MAX`: no change can get a higher version, and a wrapped
    /// one would defeat stale-map detection. Publish a new map (with a fresh version
    /// sequence) through the deployment instead.
    #[error("shard map version {0} cannot be incremented")]
    VersionExhausted(u64),
    /// A split factor of 0.
    #[error("split factor must be at least 1")]
    ZeroSplitFactor,
}

/// The routing state of one logical shard, precomputed from the assignment and the moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    physical: PhysicalShard,
    during_move: Option<MoveRoute>,
}

/// A versioned map of logical shards to physical shards, with pins and moves in progress.
///
/// Serialized (serde, e.g. JSON) as
/// `{"version", "scheme", "logical_count", "assignment", "pins", "moves"}`, where
/// `assignment[i]` is logical shard `i`'s physical shard, `pins` a list of
/// `{"pharmacy_id", "physical"}` and `moves` a list of [`ShardMove`]s; deserializing checks
/// the map is consistent. Every object refuses unknown fields. A map that is not consistent
/// (a pharmacy pinned twice, ...) is a serde error naming it in text; [`ShardMap::from_json`]
/// keeps it as its [`DirectoryError`], with its stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ShardMapConfig", into = "ShardMapConfig")]
pub struct ShardMap {
    version: u64,
    scheme: HashScheme,
    logical_count: u32,
    /// `logical_count - 1` if it is a power of two (for [`HashScheme::PostgresBigint`]).
    pow2_mask: Option<u64>,
    assignment: Vec<PhysicalShard>,
    pins: BTreeMap<PharmacyId, PhysicalShard>,
    moves: BTreeMap<LogicalShard, ShardMove>,
    slots: Vec<Slot>,
    /// Open-addressing (linear probing) index of `pins`, at most half full; empty when
    /// there are no pins.
    pin_index: Vec<Option<(PharmacyId, PhysicalShard)>>,
    /// `64 − log2(pin_index.len())`.
    pin_shift: u32,
}

/// A pharmacy pinned to a physical shard, as serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pin {
    pharmacy_id: PharmacyId,
    physical: PhysicalShard,
}

/// The serialized form of a [`ShardMap`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShardMapConfig {
    version: u64,
    #[serde(default)]
    scheme: HashScheme,
    logical_count: u32,
    assignment: Vec<PhysicalShard>,
    #[serde(default)]
    pins: Vec<Pin>,
    #[serde(default)]
    moves: Vec<ShardMove>,
}

impl TryFrom<ShardMapConfig> for ShardMap {
    type Error = DirectoryError;

    fn try_from(c: ShardMapConfig) -> Result<Self, Self::Error> {
        let mut map = Self::from_assignment(c.scheme, c.assignment, c.version)?;
        if map.logical_count != c.logical_count {
            return Err(DirectoryError::AssignmentLength {
                got: map.assignment.len(),
                logical_count: c.logical_count,
            });
        }
        for pin in c.pins {
            if let Some(physical) = map.pins.insert(pin.pharmacy_id, pin.physical) {
                return Err(DirectoryError::AlreadyPinned {
                    pharmacy_id: pin.pharmacy_id,
                    physical,
                });
            }
        }
        for mv in c.moves {
            let assigned = map.physical_of(mv.logical)?;
            if assigned != mv.source {
                return Err(DirectoryError::SourceMismatch {
                    logical: mv.logical,
                    source_shard: mv.source,
                    assigned,
                });
            }
            if mv.target == mv.source {
                return Err(DirectoryError::SameShard {
                    logical: mv.logical,
                    physical: mv.source,
                });
            }
            if map.moves.insert(mv.logical, mv).is_some() {
                return Err(DirectoryError::AlreadyMoving(mv.logical));
            }
        }
        map.rebuild();
        Ok(map)
    }
}

impl From<ShardMap> for ShardMapConfig {
    fn from(m: ShardMap) -> Self {
        Self {
            version: m.version,
            scheme: m.scheme,
            logical_count: m.logical_count,
            assignment: m.assignment,
            pins: m
                .pins
                .into_iter()
                .map(|(pharmacy_id, physical)| Pin {
                    pharmacy_id,
                    physical,
                })
                .collect(),
            moves: m.moves.into_values().collect(),
        }
    }
}

impl ShardMap {
    /// A map at version 1 spreading `logical_count` logical shards over `physical` in
    /// contiguous, balanced blocks (logical `i` → `physical[i·P/L]`).
    ///
    /// # Errors
    ///
    /// [`DirectoryError::LogicalCount`] or [`DirectoryError::NoPhysicalShards`].
    pub fn new(
        scheme: HashScheme,
        logical_count: u32,
        physical: &[PhysicalShard],
    ) -> Result<Self, DirectoryError> {
        check_logical_count(u64::from(logical_count))?;
        if physical.is_empty() {
            return Err(DirectoryError::NoPhysicalShards);
        }
        let p = physical.len() as u64;
        let assignment = (0..u64::from(logical_count))
            .map(|i| physical[(i * p / u64::from(logical_count)) as usize])
            .collect();
        Self::from_assignment(scheme, assignment, 1)
    }

    /// The design's default: [`HashScheme::Pharm`], 16 logical shards over `physical`.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::NoPhysicalShards`].
    pub fn with_defaults(physical: &[PhysicalShard]) -> Result<Self, DirectoryError> {
        Self::new(HashScheme::Pharm, DEFAULT_LOGICAL_SHARDS, physical)
    }

    /// A map with an explicit assignment (`assignment[i]` is logical shard `i`'s physical
    /// shard), no pins and no moves.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::LogicalCount`] if the table's length is not a valid count.
    pub fn from_assignment(
        scheme: HashScheme,
        assignment: Vec<PhysicalShard>,
        version: u64,
    ) -> Result<Self, DirectoryError> {
        check_logical_count(assignment.len() as u64)?;
        let logical_count = assignment.len() as u32;
        let mut map = Self {
            version,
            scheme,
            logical_count,
            pow2_mask: logical_count
                .is_power_of_two()
                .then(|| u64::from(logical_count) - 1),
            assignment,
            pins: BTreeMap::new(),
            moves: BTreeMap::new(),
            slots: Vec::new(),
            pin_index: Vec::new(),
            pin_shift: 64,
        };
        map.rebuild();
        Ok(map)
    }

    /// The map's version; every change increments it.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The hash scheme.
    #[must_use]
    pub fn scheme(&self) -> HashScheme {
        self.scheme
    }

    /// The number of logical shards.
    #[must_use]
    pub fn logical_count(&self) -> u32 {
        self.logical_count
    }

    /// The assignment table: entry `i` is logical shard `i`'s physical shard (the source,
    /// for a logical shard being moved).
    #[must_use]
    pub fn assignment(&self) -> &[PhysicalShard] {
        &self.assignment
    }

    /// The physical shard `logical` is assigned to.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::UnknownLogical`].
    pub fn physical_of(&self, logical: LogicalShard) -> Result<PhysicalShard, DirectoryError> {
        self.assignment
            .get(logical.0 as usize)
            .copied()
            .ok_or(DirectoryError::UnknownLogical(logical))
    }

    /// The physical shards holding logical shards and how many each holds.
    #[must_use]
    pub fn logical_counts(&self) -> BTreeMap<PhysicalShard, u32> {
        let mut counts = BTreeMap::new();
        for p in &self.assignment {
            *counts.entry(*p).or_insert(0) += 1;
        }
        counts
    }

    /// The physical shards that hold logical shards or pinned pharmacies.
    #[must_use]
    pub fn physical_shards(&self) -> BTreeSet<PhysicalShard> {
        self.assignment
            .iter()
            .chain(self.pins.values())
            .copied()
            .collect()
    }

    /// The pinned pharmacies and their physical shards.
    pub fn pins(&self) -> impl Iterator<Item = (PharmacyId, PhysicalShard)> + '_ {
        self.pins.iter().map(|(k, v)| (*k, *v))
    }

    /// The moves in progress, by logical shard.
    pub fn moves(&self) -> impl Iterator<Item = &ShardMove> + '_ {
        self.moves.values()
    }

    /// The logical shard of `pharmacy_id` (by hash; pins do not change it).
    #[inline]
    #[must_use]
    pub fn logical_of(&self, pharmacy_id: PharmacyId) -> LogicalShard {
        LogicalShard(self.reduce(self.scheme.hash(pharmacy_id.to_i64())))
    }

    /// A 64-bit hash to its logical shard, see the module documentation.
    #[inline]
    fn reduce(&self, hash: u64) -> u32 {
        match self.scheme {
            HashScheme::Pharm => ((u128::from(hash) * u128::from(self.logical_count)) >> 64) as u32,
            HashScheme::PostgresBigint => match self.pow2_mask {
                Some(mask) => (hash & mask) as u32,
                None => (hash % u64::from(self.logical_count)) as u32,
            },
        }
    }

    /// Where `pharmacy_id`'s reads and writes go under this map. Does not allocate.
    #[inline]
    #[must_use]
    pub fn route(&self, pharmacy_id: PharmacyId) -> Route {
        let hash = self.scheme.hash(pharmacy_id.to_i64());
        let logical = self.reduce(hash);
        if let Some(physical) = self.pinned(pharmacy_id, hash) {
            return Route {
                logical: LogicalShard(logical),
                physical,
                map_version: self.version,
                pinned: true,
                during_move: None,
            };
        }
        let slot = self.slots[logical as usize];
        Route {
            logical: LogicalShard(logical),
            physical: slot.physical,
            map_version: self.version,
            pinned: false,
            during_move: slot.during_move,
        }
    }

    /// The pin of `pharmacy_id` (whose hash is `hash`), from the open-addressing index.
    #[inline]
    fn pinned(&self, pharmacy_id: PharmacyId, hash: u64) -> Option<PhysicalShard> {
        if self.pin_index.is_empty() {
            return None;
        }
        let mask = self.pin_index.len() - 1;
        let mut i = (hash.wrapping_mul(PIN_INDEX_MULTIPLIER) >> self.pin_shift) as usize;
        // At most half full, so an empty bucket ends every probe sequence.
        loop {
            match self.pin_index[i] {
                None => return None,
                Some((id, physical)) if id == pharmacy_id => return Some(physical),
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// [`route`](Self::route) for a caller that presents the map version it routed with.
    ///
    /// # Errors
    ///
    /// [`StaleMap`] if `have` is not this map's version.
    pub fn route_checked(&self, pharmacy_id: PharmacyId, have: u64) -> Result<Route, StaleMap> {
        self.check_version(have)?;
        Ok(self.route(pharmacy_id))
    }

    /// Stale-map detection: `Ok` only if `have` is this map's version. A shard checks the
    /// version a request was routed with before serving it.
    ///
    /// # Errors
    ///
    /// [`StaleMap`] with both versions.
    #[inline]
    pub fn check_version(&self, have: u64) -> Result<(), StaleMap> {
        if have == self.version {
            Ok(())
        } else {
            Err(StaleMap {
                have,
                current: self.version,
            })
        }
    }

    /// Pins `pharmacy_id` to `physical`, overriding its hash (a large tenant on its own
    /// shard). Returns the new version.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::AlreadyPinned`] if the pharmacy is pinned already (use
    /// [`repin`](Self::repin) to move it), [`DirectoryError::VersionExhausted`]. The map is
    /// unchanged on error.
    pub fn pin(
        &mut self,
        pharmacy_id: PharmacyId,
        physical: PhysicalShard,
    ) -> Result<u64, DirectoryError> {
        let version = self.next_version()?;
        if let Some(&pinned) = self.pins.get(&pharmacy_id) {
            return Err(DirectoryError::AlreadyPinned {
                pharmacy_id,
                physical: pinned,
            });
        }
        self.pins.insert(pharmacy_id, physical);
        Ok(self.commit(version))
    }

    /// Moves `pharmacy_id`'s pin to `physical` in one change (the tenant's rows must be on
    /// `physical` by then). Returns the new version.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::NotPinned`], [`DirectoryError::VersionExhausted`]. The map is
    /// unchanged on error.
    pub fn repin(
        &mut self,
        pharmacy_id: PharmacyId,
        physical: PhysicalShard,
    ) -> Result<u64, DirectoryError> {
        let version = self.next_version()?;
        let pin = self
            .pins
            .get_mut(&pharmacy_id)
            .ok_or(DirectoryError::NotPinned(pharmacy_id))?;
        *pin = physical;
        Ok(self.commit(version))
    }

    /// Removes `pharmacy_id`'s pin; it routes by hash again. Returns the new version.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::NotPinned`], [`DirectoryError::VersionExhausted`]. The map is
    /// unchanged on error.
    pub fn unpin(&mut self, pharmacy_id: PharmacyId) -> Result<u64, DirectoryError> {
        let version = self.next_version()?;
        self.pins
            .remove(&pharmacy_id)
            .ok_or(DirectoryError::NotPinned(pharmacy_id))?;
        Ok(self.commit(version))
    }

    /// Starts moving `logical` to `target` ([`MovePhase::Copying`]). Returns the new version.
    ///
    /// # Errors
    ///
    /// Unknown logical shard, a move already in progress, `target` already holding it, or
    /// [`DirectoryError::VersionExhausted`]. The map is unchanged on error.
    pub fn begin_move(
        &mut self,
        logical: LogicalShard,
        target: PhysicalShard,
    ) -> Result<u64, DirectoryError> {
        let version = self.next_version()?;
        let source = self.physical_of(logical)?;
        if self.moves.contains_key(&logical) {
            return Err(DirectoryError::AlreadyMoving(logical));
        }
        if source == target {
            return Err(DirectoryError::SameShard {
                logical,
                physical: source,
            });
        }
        self.moves.insert(
            logical,
            ShardMove {
                logical,
                source,
                target,
                phase: MovePhase::Copying,
            },
        );
        Ok(self.commit(version))
    }

    /// Advances `logical`'s move: `Copying` → `CatchUp` → `CutOver`. Returns the new phase.
    ///
    /// # Errors
    ///
    /// No move in progress, the move already cut over, or
    /// [`DirectoryError::VersionExhausted`]. The map is unchanged on error.
    pub fn advance_move(&mut self, logical: LogicalShard) -> Result<MovePhase, DirectoryError> {
        let version = self.next_version()?;
        let mv = self
            .moves
            .get_mut(&logical)
            .ok_or(DirectoryError::NotMoving(logical))?;
        mv.phase = match mv.phase {
            MovePhase::Copying => MovePhase::CatchUp,
            MovePhase::CatchUp => MovePhase::CutOver,
            MovePhase::CutOver => return Err(DirectoryError::AlreadyCutOver(logical)),
        };
        let phase = mv.phase;
        self.commit(version);
        Ok(phase)
    }

    /// Finishes a cut-over move: the target becomes `logical`'s assignment. Returns the new
    /// version.
    ///
    /// # Errors
    ///
    /// No move in progress, not cut over yet, or [`DirectoryError::VersionExhausted`]. The
    /// map is unchanged on error.
    pub fn complete_move(&mut self, logical: LogicalShard) -> Result<u64, DirectoryError> {
        let version = self.next_version()?;
        let mv = *self
            .moves
            .get(&logical)
            .ok_or(DirectoryError::NotMoving(logical))?;
        if mv.phase != MovePhase::CutOver {
            return Err(DirectoryError::NotCutOver(logical));
        }
        self.moves.remove(&logical);
        self.assignment[logical.0 as usize] = mv.target;
        Ok(self.commit(version))
    }

    /// Abandons a move that has not been cut over; traffic never left the source. Returns
    /// the new version.
    ///
    /// # Errors
    ///
    /// No move in progress, already cut over, or [`DirectoryError::VersionExhausted`]. The
    /// map is unchanged on error.
    pub fn abort_move(&mut self, logical: LogicalShard) -> Result<u64, DirectoryError> {
        let version = self.next_version()?;
        let mv = self
            .moves
            .get(&logical)
            .ok_or(DirectoryError::NotMoving(logical))?;
        if mv.phase == MovePhase::CutOver {
            return Err(DirectoryError::AlreadyCutOver(logical));
        }
        self.moves.remove(&logical);
        Ok(self.commit(version))
    }

    /// Multiplies the number of logical shards by `factor` without moving any key between
    /// physical shards: every logical shard becomes `factor` children on the same physical
    /// shard (see the module documentation for the numbering). Returns the new version.
    ///
    /// # Errors
    ///
    /// Moves in progress, a zero factor, a count above [`MAX_LOGICAL_SHARDS`], or
    /// [`DirectoryError::VersionExhausted`]. The map is unchanged on error.
    pub fn split_logical(&mut self, factor: u32) -> Result<u64, DirectoryError> {
        let version = self.next_version()?;
        if factor == 0 {
            return Err(DirectoryError::ZeroSplitFactor);
        }
        if !self.moves.is_empty() {
            return Err(DirectoryError::MovesInProgress(self.moves.len()));
        }
        let new_count = u64::from(self.logical_count) * u64::from(factor);
        check_logical_count(new_count)?;
        let old = self.logical_count as usize;
        let k = factor as usize;
        let assignment: Vec<PhysicalShard> = (0..new_count as usize)
            .map(|child| match self.scheme {
                HashScheme::Pharm => self.assignment[child / k],
                HashScheme::PostgresBigint => self.assignment[child % old],
            })
            .collect();
        let mut map = Self::from_assignment(self.scheme, assignment, self.version)?;
        map.pins = std::mem::take(&mut self.pins);
        *self = map;
        Ok(self.commit(version))
    }

    /// Replaces assignments wholesale (an offline reshard), atomically: every change is
    /// validated first, and only if all are valid are they applied, with one version bump
    /// (which rebuilds the routing table). On error the map is unchanged.
    pub(crate) fn reassign(
        &mut self,
        changes: impl IntoIterator<Item = (LogicalShard, PhysicalShard)>,
    ) -> Result<u64, DirectoryError> {
        let version = self.next_version()?;
        if !self.moves.is_empty() {
            return Err(DirectoryError::MovesInProgress(self.moves.len()));
        }
        let changes: Vec<(LogicalShard, PhysicalShard)> = changes.into_iter().collect();
        for &(logical, _) in &changes {
            self.physical_of(logical)?;
        }
        for (logical, physical) in changes {
            self.assignment[logical.0 as usize] = physical;
        }
        Ok(self.commit(version))
    }

    /// Checks that `changes` more versions can be issued (`version + changes` does not
    /// overflow), so a sequence of that many changes cannot fail half-way for lack of
    /// versions.
    pub(crate) fn check_versions_left(&self, changes: usize) -> Result<(), DirectoryError> {
        u64::try_from(changes)
            .ok()
            .and_then(|n| self.version.checked_add(n))
            .map(|_| ())
            .ok_or(DirectoryError::VersionExhausted(self.version))
    }

    /// The version the next change gets, checked before the change touches anything.
    fn next_version(&self) -> Result<u64, DirectoryError> {
        self.version
            .checked_add(1)
            .ok_or(DirectoryError::VersionExhausted(self.version))
    }

    /// Completes a change: takes `version` (from [`next_version`](Self::next_version))
    /// and rebuilds the routing tables.
    fn commit(&mut self, version: u64) -> u64 {
        self.version = version;
        self.rebuild();
        version
    }

    fn rebuild(&mut self) {
        self.slots = self
            .assignment
            .iter()
            .map(|&physical| Slot {
                physical,
                during_move: None,
            })
            .collect();
        for mv in self.moves.values() {
            self.slots[mv.logical.0 as usize] = Slot {
                physical: if mv.phase == MovePhase::CutOver {
                    mv.target
                } else {
                    mv.source
                },
                during_move: Some(MoveRoute {
                    phase: mv.phase,
                    source: mv.source,
                    target: mv.target,
                }),
            };
        }
        self.pin_index.clear();
        self.pin_shift = 64;
        if !self.pins.is_empty() {
            let capacity = (self.pins.len() * 2).next_power_of_two();
            self.pin_shift = 64 - capacity.trailing_zeros();
            self.pin_index = vec![None; capacity];
            for (&id, &physical) in &self.pins {
                let hash = self.scheme.hash(id.to_i64());
                let mut i = (hash.wrapping_mul(PIN_INDEX_MULTIPLIER) >> self.pin_shift) as usize;
                while self.pin_index[i].is_some() {
                    i = (i + 1) & (capacity - 1);
                }
                self.pin_index[i] = Some((id, physical));
            }
        }
    }
}

/// Fibonacci hashing multiplier (`⌊2^64/φ⌋`, odd) spreading hashes over the pin index.
const PIN_INDEX_MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

fn check_logical_count(n: u64) -> Result<(), DirectoryError> {
    if (1..=u64::from(MAX_LOGICAL_SHARDS)).contains(&n) {
        Ok(())
    } else {
        Err(DirectoryError::LogicalCount(n))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(n: u32) -> Vec<PhysicalShard> {
        (0..n).map(PhysicalShard).collect()
    }

    fn ph(n: u32) -> PharmacyId {
        PharmacyId::new(n)
    }

    #[test]
    fn default_is_top_four_bits() {
        let map = ShardMap::with_defaults(&p(4)).unwrap();
        for id in (0..1000).chain(u32::MAX - 1000..=u32::MAX) {
            let h = crate::hash::pharm_hash(i64::from(id));
            assert_eq!(map.logical_of(ph(id)).0 as u64, h >> 60);
        }
        assert_eq!(
            map.logical_counts().values().copied().collect::<Vec<_>>(),
            [4; 4]
        );
    }

    #[test]
    fn pg_scheme_is_partition_remainder() {
        for l in [4u32, 5, 16, 64] {
            let map = ShardMap::new(HashScheme::PostgresBigint, l, &p(2)).unwrap();
            for &(id, modulus, rem) in crate::hash::PG_VECTORS {
                // Negative and out-of-range bigints are checked in `hash`; a pharmacy id
                // is the bigint `to_i64` gives.
                let Ok(id) = PharmacyId::from_i64(id) else {
                    continue;
                };
                if modulus == u64::from(l) {
                    assert_eq!(u64::from(map.logical_of(id).0), rem);
                }
            }
        }
    }

    #[test]
    fn split_keeps_physical_placement() {
        for scheme in [HashScheme::Pharm, HashScheme::PostgresBigint] {
            let mut map = ShardMap::new(scheme, 16, &p(5)).unwrap();
            map.pin(ph(7), PhysicalShard(9)).unwrap();
            let before: Vec<Route> = (0..5000).map(|id| map.route(ph(id))).collect();
            let v = map.split_logical(4).unwrap();
            assert_eq!(map.logical_count(), 64);
            assert_eq!(v, map.version());
            for (id, r) in (0..5000).zip(before) {
                let now = map.route(ph(id));
                assert_eq!(now.physical, r.physical);
                let parent = match scheme {
                    HashScheme::Pharm => now.logical.0 / 4,
                    HashScheme::PostgresBigint => now.logical.0 % 16,
                };
                assert_eq!(parent, r.logical.0);
            }
        }
    }

    #[test]
    fn move_lifecycle() {
        let mut map = ShardMap::with_defaults(&p(4)).unwrap();
        let l = LogicalShard(3);
        let src = map.physical_of(l).unwrap();
        let dst = PhysicalShard(4);
        assert_eq!(map.advance_move(l), Err(DirectoryError::NotMoving(l)));
        map.begin_move(l, dst).unwrap();
        assert_eq!(
            map.begin_move(l, dst),
            Err(DirectoryError::AlreadyMoving(l))
        );
        assert_eq!(map.complete_move(l), Err(DirectoryError::NotCutOver(l)));
        assert_eq!(map.advance_move(l), Ok(MovePhase::CatchUp));
        assert_eq!(map.advance_move(l), Ok(MovePhase::CutOver));
        assert_eq!(map.abort_move(l), Err(DirectoryError::AlreadyCutOver(l)));
        assert_eq!(
            map.split_logical(2),
            Err(DirectoryError::MovesInProgress(1))
        );
        map.complete_move(l).unwrap();
        assert_eq!(map.physical_of(l).unwrap(), dst);
        assert_ne!(src, dst);
        assert_eq!(
            map.begin_move(l, dst),
            Err(DirectoryError::SameShard {
                logical: l,
                physical: dst
            })
        );
    }

    #[test]
    fn serde_roundtrip_and_validation() {
        let mut map = ShardMap::with_defaults(&p(4)).unwrap();
        map.pin(ph(u32::MAX), PhysicalShard(10)).unwrap();
        map.begin_move(LogicalShard(0), PhysicalShard(3)).unwrap();
        let json = serde_json::to_string(&map).unwrap();
        let back: ShardMap = serde_json::from_str(&json).unwrap();
        assert_eq!(back, map);
        assert_eq!(back.route(ph(u32::MAX)), map.route(ph(u32::MAX)));

        let bad = r#"{"version":1,"logical_count":3,"assignment":[0,1]}"#;
        assert!(serde_json::from_str::<ShardMap>(bad).is_err());
        let bad_move = r#"{"version":1,"logical_count":2,"assignment":[0,1],
            "moves":[{"logical":0,"source":1,"target":2,"phase":"copying"}]}"#;
        assert!(serde_json::from_str::<ShardMap>(bad_move).is_err());
        let ok = r#"{"version":9,"scheme":"postgres_bigint","logical_count":2,"assignment":[0,1],
            "pins":[{"pharmacy_id":42,"physical":7}]}"#;
        let m: ShardMap = serde_json::from_str(ok).unwrap();
        assert_eq!(m.scheme(), HashScheme::PostgresBigint);
        assert_eq!(m.route(ph(42)).physical, PhysicalShard(7));
        assert_eq!(m.version(), 9);
        // A negative pharmacy id in a serialized pin is refused, not wrapped.
        let negative = r#"{"version":1,"logical_count":2,"assignment":[0,1],
            "pins":[{"pharmacy_id":-5,"physical":7}]}"#;
        assert!(serde_json::from_str::<ShardMap>(negative).is_err());
    }

    #[test]
    fn pin_index_finds_every_pin() {
        for scheme in [HashScheme::Pharm, HashScheme::PostgresBigint] {
            let mut map = ShardMap::new(scheme, 16, &p(4)).unwrap();
            for n in 0..1000u32 {
                map.pin(ph(n * 7 + 2000), PhysicalShard(100 + n % 5))
                    .unwrap();
                let last = ph(n * 7 + 2000);
                assert_eq!(map.route(last).physical, PhysicalShard(100 + n % 5));
            }
            for id in 0..10_000u32 {
                let r = map.route(ph(id));
                let pinned = id >= 2000 && (id - 2000) % 7 == 0 && id <= 8993;
                assert_eq!(r.pinned, pinned, "{id}");
                if !pinned {
                    assert_eq!(r.physical, map.assignment()[r.logical.0 as usize]);
                }
            }
        }
    }

    #[test]
    fn bad_counts() {
        assert_eq!(
            ShardMap::new(HashScheme::Pharm, 0, &p(1)),
            Err(DirectoryError::LogicalCount(0))
        );
        assert_eq!(
            ShardMap::new(HashScheme::Pharm, 4, &[]),
            Err(DirectoryError::NoPhysicalShards)
        );
        let mut m = ShardMap::new(HashScheme::Pharm, MAX_LOGICAL_SHARDS, &p(3)).unwrap();
        assert!(m.split_logical(2).is_err());
        assert_eq!(m.split_logical(0), Err(DirectoryError::ZeroSplitFactor));
    }

    /// An offline reshard with an invalid change anywhere leaves the map untouched.
    #[test]
    fn reassign_validates_every_change_first() {
        let mut map = ShardMap::with_defaults(&p(4)).unwrap();
        let before = map.clone();
        let routes: Vec<Route> = (0..200).map(|id| map.route(ph(id))).collect();
        let plan = crate::reshard::ReshardPlan {
            from_version: map.version(),
            logical_count: 16,
            quotas: vec![],
            moves: vec![
                crate::reshard::PlannedMove {
                    logical: LogicalShard(0),
                    from: PhysicalShard(0),
                    to: PhysicalShard(7),
                },
                crate::reshard::PlannedMove {
                    logical: LogicalShard(16),
                    from: PhysicalShard(3),
                    to: PhysicalShard(7),
                },
            ],
            fraction_moved: 0.125,
        };
        assert_eq!(
            plan.apply_offline(&mut map),
            Err(crate::reshard::PlanError::Directory(
                DirectoryError::UnknownLogical(LogicalShard(16))
            ))
        );
        assert_eq!(map, before);
        assert_eq!(map.physical_of(LogicalShard(0)), Ok(PhysicalShard(0)));
        for (id, route) in (0..200).zip(routes) {
            assert_eq!(map.route(ph(id)), route);
        }

        // Valid changes: applied with one bump, and routing follows.
        let version = map
            .reassign([
                (LogicalShard(0), PhysicalShard(7)),
                (LogicalShard(1), PhysicalShard(7)),
            ])
            .unwrap();
        assert_eq!(version, before.version() + 1);
        let id = (0..)
            .map(ph)
            .find(|id| map.logical_of(*id) == LogicalShard(1))
            .unwrap();
        assert_eq!(map.route(id).physical, PhysicalShard(7));
    }
}
