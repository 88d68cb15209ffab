//! The offline-sync scenario of the CRDT inventory design (`crdt-inventory.md` §4), shared
//! by the criterion benchmark `benches/sync.rs`:
//!
//! 15,000 SKUs × 3 lots = 45,000 lots seeded with 100 units each by a back-office replica
//! (actor 0); 5 terminals (actors 1–5) each apply 2,000 random operations offline (80 %
//! dispense of 1–3 units, 20 % receipt of 1–24 units, on a random SKU and lot, fixed
//! seeds); then the 5 terminal states are merged into one.
//!
//! The operations are generated once ([`SyncScenario::ops`]) and replayed on each
//! implementation:
//!
//! - **pharm-sync**: a back-office [`Replica`] receives every lot ([`SyncScenario::seed_pharm_sync`]),
//!   its [`InventoryState`] is cloned into 5 terminal replicas
//!   ([`SyncScenario::pharm_sync_terminal`]), which dispense with a scanned lot or receive
//!   ([`SyncScenario::apply_pharm_sync`]).
//! - **crdts**: a `crdts::Map<u64, PNCounter<u8>, u8>` ([`CrdtsInventory`]) keyed by the
//!   dense lot index, one map update per operation ([`apply_crdts_map`]).
//! - Automerge (a dev-dependency) lives in the benchmark itself.
//!
//! Every implementation is checked against [`SyncScenario::expected_values`]: seed plus the
//! sum of every terminal's deltas, per lot (no lost or duplicated units).
//!
//! ```
//! use pharm_benches::sync_scenario::SyncScenario;
//!
//! let s = SyncScenario::new(20, 3, 50);
//! let (back_office, keys) = s.seed_pharm_sync().unwrap();
//! let mut merged = back_office.state().clone();
//! for t in 0..s.terminals() {
//!     let mut terminal = s.pharm_sync_terminal(back_office.state(), t);
//!     s.apply_pharm_sync(&mut terminal, &s.ops[t]).unwrap();
//!     merged.merge(terminal.state());
//! }
//! assert_eq!(s.check_pharm_sync(&merged, &keys), Ok(s.expected_total()));
//! ```

use pharm_core::ids::PharmacyId;
use std::sync::Arc;

use crdts::{CmRDT, PNCounter};
use pharm_core::ids::{Ndc, NdcLayout};
use pharm_core::time::Date;
use pharm_sync::auth::{KeyRing, MacKey, StoreKeys};
use pharm_sync::ids::ReplicaId;
use pharm_sync::replica::Op as SyncOp;
use pharm_sync::replica::{Attachments, NewLot, OpError, Replica};
use pharm_sync::state::InventoryState;
use pharm_sync::txn::LotKey;

use crate::rng::XorShift64;

/// SKUs in the design's scenario.
pub const SKUS: u32 = 15_000;
/// Lots per SKU.
pub const LOTS_PER_SKU: u32 = 3;
/// Units each lot is seeded with.
pub const SEED_QTY: u64 = 100;
/// Terminal replicas.
pub const TERMINALS: usize = 5;
/// Offline operations per terminal.
pub const OPS_PER_TERMINAL: usize = 2_000;
/// Base seed of the terminals' operation streams (terminal `t` uses `OPS_SEED + t`).
pub const OPS_SEED: u64 = 0x5EED_0000_0042;
/// The store every replica belongs to.
pub const STORE: PharmacyId = PharmacyId::new(7);
/// Wall clock at the start of the scenario (2026-04-15 08:00 UTC, in ms).
pub const START_MS: u64 = 1_776_240_000_000;

/// Actor of the back office (0) or of terminal `t` (`t + 1`), as a pharm-sync replica id.
pub const fn replica_id(actor: u16) -> ReplicaId {
    ReplicaId::new(actor, 1)
}

/// The origin key of an actor (fixed test keys: the benchmark is not about secrecy).
pub fn origin_key(actor: u16) -> MacKey {
    let mut k = [0x6f; 32];
    k[..2].copy_from_slice(&actor.to_le_bytes());
    MacKey::new(k)
}

/// The store's link key.
pub fn link_key() -> MacKey {
    MacKey::new([0x4c; 32])
}

/// The store's key ring: its link key and every actor as a member, with every origin key
/// when `root` (the back office verifies them all), else only `me`'s.
pub fn key_ring(me: u16, root: bool) -> Arc<dyn KeyRing> {
    let mut ring = StoreKeys::new(STORE, link_key());
    for actor in 0..=TERMINALS as u16 {
        ring = ring.with_member(actor, (root || actor == me).then(|| origin_key(actor)));
    }
    Arc::new(ring)
}

/// The business day of the scenario (2026-04-15).
pub fn today() -> Date {
    // A constant, valid date: cannot fail.
    Date::from_ymd(2026, 4, 15).expect("2026-04-15 is a date")
}

/// One offline operation on a lot: a dispense (`delta < 0`) or a receipt (`delta > 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// Dense lot index (`sku * LOTS_PER_SKU + k`).
    pub lot: u32,
    /// Signed quantity.
    pub delta: i32,
}

impl Op {
    /// Units moved (always positive).
    pub fn qty(self) -> u64 {
        u64::from(self.delta.unsigned_abs())
    }

    /// Whether this is a dispense.
    pub fn is_dispense(self) -> bool {
        self.delta < 0
    }
}

/// The scenario: catalog size and the terminals' operation streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncScenario {
    /// Number of SKUs (each has [`LOTS_PER_SKU`] lots).
    pub skus: u32,
    /// Operations of each terminal, in the order it applies them.
    pub ops: Vec<Vec<Op>>,
}

impl SyncScenario {
    /// The design's scenario: 15,000 SKUs × 3 lots, 5 terminals × 2,000 operations.
    pub fn design() -> Self {
        Self::new(SKUS, TERMINALS, OPS_PER_TERMINAL)
    }

    /// A scenario of `skus` SKUs and `terminals` terminals with `ops_per_terminal`
    /// operations each (80 % dispenses of 1–3 units, 20 % receipts of 1–24 units, on a
    /// uniformly random SKU and lot).
    pub fn new(skus: u32, terminals: usize, ops_per_terminal: usize) -> Self {
        let ops = (0..terminals)
            .map(|t| {
                let mut rng = XorShift64::new(OPS_SEED + t as u64);
                (0..ops_per_terminal)
                    .map(|_| {
                        let lot = rng.below(skus) * LOTS_PER_SKU + rng.below(LOTS_PER_SKU);
                        let delta = if rng.chance(80) {
                            -(rng.range(1, 3) as i32)
                        } else {
                            rng.range(1, 24) as i32
                        };
                        Op { lot, delta }
                    })
                    .collect()
            })
            .collect();
        SyncScenario { skus, ops }
    }

    /// Number of lots.
    pub fn lot_count(&self) -> usize {
        (self.skus * LOTS_PER_SKU) as usize
    }

    /// Number of terminals.
    pub fn terminals(&self) -> usize {
        self.ops.len()
    }

    /// The SKU of a dense lot index.
    pub fn sku_of(lot: u32) -> u32 {
        lot / LOTS_PER_SKU
    }

    /// Distinct lots terminal `t` touches.
    pub fn touched_lots(&self, t: usize) -> usize {
        let mut seen = vec![false; self.lot_count()];
        self.ops[t]
            .iter()
            .filter(|op| !std::mem::replace(&mut seen[op.lot as usize], true))
            .count()
    }

    /// Value of every lot after all terminals' operations are merged: seed plus every delta.
    pub fn expected_values(&self) -> Vec<i64> {
        let mut v = vec![SEED_QTY as i64; self.lot_count()];
        for op in self.ops.iter().flatten() {
            v[op.lot as usize] += i64::from(op.delta);
        }
        v
    }

    /// Sum of [`SyncScenario::expected_values`].
    pub fn expected_total(&self) -> i64 {
        self.expected_values().iter().sum()
    }

    /// Compares per-lot values with [`SyncScenario::expected_values`]; returns the total, or
    /// the first mismatch.
    pub fn check_values(&self, actual: impl IntoIterator<Item = i64>) -> Result<i64, String> {
        let expected = self.expected_values();
        let mut total = 0;
        let mut n = 0;
        for (lot, (a, e)) in actual.into_iter().zip(&expected).enumerate() {
            if a != *e {
                return Err(format!("lot {lot}: merged value {a}, expected {e}"));
            }
            total += a;
            n += 1;
        }
        if n != expected.len() {
            return Err(format!("{n} lots read, expected {}", expected.len()));
        }
        Ok(total)
    }

    // ---------------------------------------------------------------- pharm-sync

    /// The back-office replica (actor 0) after receiving every lot with [`SEED_QTY`] units,
    /// and the lots' keys by dense index (lot `i` is the back office's lot number `i + 1`,
    /// [`SyncScenario::lot_key`]).
    pub fn seed_pharm_sync(&self) -> Result<(Replica, Vec<LotKey>), OpError> {
        let mut back_office = Replica::new(STORE, replica_id(0), origin_key(0));
        let today = today();
        let mut keys = Vec::with_capacity(self.lot_count());
        for lot in 0..self.skus * LOTS_PER_SKU {
            let sku = Self::sku_of(lot);
            let k = lot % LOTS_PER_SKU;
            let new = NewLot {
                sku,
                ndc: ndc_of(sku),
                lot_number: format!("L{sku:05}{}", char::from(b'A' + k as u8)),
                expiry: today.add_days(120 + 180 * i64::from(k) + i64::from(sku % 97)),
                controlled: sku % 50 == 0,
            };
            let commit = back_office.apply(
                START_MS + u64::from(lot),
                SyncOp::ReceiveNew {
                    lot: new,
                    qty: SEED_QTY,
                    reference: String::new(),
                },
            )?;
            let key = Self::lot_key(lot);
            assert_eq!(
                commit.new_lot(),
                Some(key),
                "the seed numbers lots in order"
            );
            keys.push(key);
        }
        Ok((back_office, keys))
    }

    /// Terminal `t` (actor `t + 1`) starting from the back office's state, with an empty
    /// outbox.
    pub fn pharm_sync_terminal(&self, seed: &InventoryState, t: usize) -> Replica {
        let actor = t as u16 + 1;
        Replica::with_state(replica_id(actor), origin_key(actor), seed.clone())
    }

    /// The key of a seeded lot from its dense index: the back office received lot `i` as
    /// its lot number `i + 1` (as `crdts` keys a lot by its index, pharm-sync's key is
    /// computed, not looked up).
    pub fn lot_key(lot: u32) -> LotKey {
        LotKey {
            origin: replica_id(0),
            local_no: lot + 1,
        }
    }

    /// Applies operations on a replica: dispenses with the lot scanned, receipts of known
    /// lots. Every operation is one committed transaction.
    pub fn apply_pharm_sync(&self, replica: &mut Replica, ops: &[Op]) -> Result<(), OpError> {
        let today = today();
        for (i, op) in ops.iter().enumerate() {
            let now = START_MS + 3_600_000 + 1_000 * i as u64;
            let key = Self::lot_key(op.lot);
            if op.is_dispense() {
                replica.apply(
                    now,
                    SyncOp::Dispense {
                        today,
                        sku: Self::sku_of(op.lot),
                        qty: op.qty(),
                        scanned: Some(key),
                        reference: String::new(),
                        attachments: Attachments::default(),
                    },
                )?;
            } else {
                replica.apply(
                    now,
                    SyncOp::Receive {
                        lot: key,
                        qty: op.qty(),
                        reference: String::new(),
                    },
                )?;
            }
        }
        Ok(())
    }

    /// Checks a merged pharm-sync state lot by lot; returns the total.
    pub fn check_pharm_sync(&self, state: &InventoryState, keys: &[LotKey]) -> Result<i64, String> {
        self.check_values(keys.iter().map(|k| state.value(k)))
    }

    // ---------------------------------------------------------------- crdts

    /// The back office's `crdts::Map` after seeding every lot with [`SEED_QTY`] units.
    pub fn seed_crdts_map(&self) -> CrdtsInventory {
        let mut map = CrdtsInventory::new();
        for lot in 0..self.skus * LOTS_PER_SKU {
            let ctx = map.read_ctx().derive_add_ctx(0);
            let op = map.update(u64::from(lot), ctx, |c, _| c.inc_many(0, SEED_QTY));
            map.apply(op);
        }
        map
    }

    /// Checks a merged `crdts::Map` lot by lot; returns the total.
    pub fn check_crdts_map(&self, map: &CrdtsInventory) -> Result<i64, String> {
        self.check_values((0..self.skus * LOTS_PER_SKU).map(|lot| crdts_value(map, lot)))
    }
}

/// The crdts variant of the inventory: one PN-counter per dense lot index, actors are `u8`.
pub type CrdtsInventory = crdts::Map<u64, PNCounter<u8>, u8>;

/// An operation of [`CrdtsInventory`].
pub type CrdtsOp = crdts::map::Op<u64, PNCounter<u8>, u8>;

/// Applies operations on a `crdts::Map` as `actor`, one map update per operation; `sink`
/// sees each op (to measure what would be shipped).
pub fn apply_crdts_map(
    map: &mut CrdtsInventory,
    actor: u8,
    ops: &[Op],
    mut sink: impl FnMut(&CrdtsOp),
) {
    for op in ops {
        let ctx = map.read_ctx().derive_add_ctx(actor);
        let qty = op.qty();
        let m = if op.is_dispense() {
            map.update(u64::from(op.lot), ctx, |c, _| c.dec_many(actor, qty))
        } else {
            map.update(u64::from(op.lot), ctx, |c, _| c.inc_many(actor, qty))
        };
        sink(&m);
        map.apply(m);
    }
}

/// Value of a lot in a [`CrdtsInventory`] (0 when absent or out of `i64` range).
pub fn crdts_value(map: &CrdtsInventory, lot: u32) -> i64 {
    map.get(&u64::from(lot))
        .val
        .and_then(|c| i64::try_from(&c.read()).ok())
        .unwrap_or(0)
}

/// A compact LEB128 encoding of a crdts `Map` update op (map dot actor + counter, key,
/// counter dot actor + total, direction): a lower bound for any serde format of it.
pub fn crdts_op_leb128_len(op: &CrdtsOp) -> usize {
    match op {
        crdts::map::Op::Up { dot, key, op } => {
            1 + leb128_len(dot.counter) + leb128_len(*key) + 1 + leb128_len(op.dot.counter) + 1
        }
        crdts::map::Op::Rm { clock, keyset } => {
            clock
                .dots
                .values()
                .map(|c| 1 + leb128_len(*c))
                .sum::<usize>()
                + keyset.iter().map(|k| leb128_len(*k)).sum::<usize>()
        }
    }
}

/// Bytes of `v` as unsigned LEB128.
pub fn leb128_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// The design's minimal delta (§4): for each lot a terminal touched, ascending, the
/// LEB128 of the gap to the previous lot index, of its P total and of its N total. This is
/// the 3.0 B/lot reference the design measured with dense lot ids.
pub fn minimal_delta_len(ops: &[Op]) -> (usize, usize) {
    let mut cells: std::collections::BTreeMap<u32, (u64, u64)> = std::collections::BTreeMap::new();
    for op in ops {
        let c = cells.entry(op.lot).or_default();
        if op.is_dispense() {
            c.1 += op.qty();
        } else {
            c.0 += op.qty();
        }
    }
    let mut prev = 0u32;
    let mut bytes = 0;
    for (&lot, &(p, n)) in &cells {
        bytes += leb128_len(u64::from(lot - prev)) + leb128_len(p) + leb128_len(n);
        prev = lot;
    }
    (bytes, cells.len())
}

fn ndc_of(sku: u32) -> Ndc {
    // Labeler 50000–50001, product 0–9999, package 1: always within the 5-4-2 layout.
    Ndc::new(
        50_000 + sku / 10_000,
        (sku % 10_000) as u16,
        1,
        NdcLayout::L542,
    )
    .expect("5-4-2 NDC in range")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crdts::CvRDT;

    #[test]
    fn scenario_is_deterministic_and_mixed() {
        let s = SyncScenario::design();
        assert_eq!(s, SyncScenario::design());
        assert_eq!(s.lot_count(), 45_000);
        assert_eq!(s.ops.len(), TERMINALS);
        let ops: Vec<Op> = s.ops.iter().flatten().copied().collect();
        assert_eq!(ops.len(), 10_000);
        let dispenses = ops.iter().filter(|o| o.is_dispense()).count();
        assert!((7_600..8_400).contains(&dispenses), "{dispenses}");
        assert!(ops.iter().all(|o| (o.lot as usize) < s.lot_count()));
        assert!(
            ops.iter()
                .all(|o| (-3..=24).contains(&o.delta) && o.delta != 0)
        );
        assert_ne!(s.ops[0], s.ops[1]);
        assert!(s.touched_lots(0) > 1_900);
    }

    #[test]
    fn pharm_sync_and_crdts_agree_with_the_oracle() {
        let s = SyncScenario::new(40, 3, 200);
        let (back_office, keys) = s.seed_pharm_sync().unwrap();
        let seed_map = s.seed_crdts_map();
        let mut merged = back_office.state().clone();
        let mut merged_map = seed_map.clone();
        for t in 0..s.terminals() {
            let mut r = s.pharm_sync_terminal(back_office.state(), t);
            s.apply_pharm_sync(&mut r, &s.ops[t]).unwrap();
            merged.merge(r.state());
            let mut m = seed_map.clone();
            apply_crdts_map(&mut m, t as u8 + 1, &s.ops[t], |_| {});
            merged_map.merge(m);
        }
        let total = s.expected_total();
        assert_eq!(s.check_pharm_sync(&merged, &keys), Ok(total));
        assert_eq!(s.check_crdts_map(&merged_map), Ok(total));
        // Merging the seed alone loses every terminal's units: the check notices.
        assert!(s.check_pharm_sync(back_office.state(), &keys).is_err());
    }

    #[test]
    fn encodings_sizes() {
        assert_eq!(leb128_len(0), 1);
        assert_eq!(leb128_len(127), 1);
        assert_eq!(leb128_len(128), 2);
        let ops = [
            Op { lot: 5, delta: -2 },
            Op { lot: 5, delta: 10 },
            Op {
                lot: 200,
                delta: -1,
            },
        ];
        // lot 5: gap 5, p 10, n 2; lot 200: gap 195 (2 B), p 0, n 1.
        assert_eq!(minimal_delta_len(&ops), (3 + 4, 2));
    }
}
