//! Distributed properties of the CRDT inventory and sync protocol (crdt-inventory.md §5.6),
//! on random schedules of offline operations and sync sessions over a network that loses,
//! duplicates, reorders and truncates messages, with terminals restored from old backups.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use pharm_core::ids::PharmacyId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::{Rng, member, root};
use crdts::{CmRDT, PNCounter};
use num_traits::ToPrimitive;
use pharm_core::time::Date;
use pharm_sync::codec::{self, DecodeLimits};
use pharm_sync::ids::{ReplicaId, TxnId};
use pharm_sync::protocol::{Peer, SyncLimits};
use pharm_sync::reconcile::{discrepancies, reconcile};
use pharm_sync::replica::Op;
use pharm_sync::replica::{Attachments, NewLot, Replica};
use pharm_sync::state::{Applied, InventoryState};
use pharm_sync::txn::{LotKey, Reason, TransferId, Txn, TxnKind};
use proptest::prelude::*;

const STORE: PharmacyId = PharmacyId::new(7);
const SERVER: ReplicaId = ReplicaId::new(0, 0);

fn today() -> Date {
    "2026-03-10".parse().unwrap()
}

fn new_lot(sku: u32, n: u32) -> NewLot {
    NewLot {
        sku,
        ndc: "0093-7146-56".parse().unwrap(),
        lot_number: format!("L{sku}-{n}"),
        expiry: today().add_days(i64::from(30 + n * 40)),
        controlled: sku == 3,
    }
}

/// One step of a random schedule.
#[derive(Debug, Clone)]
enum Step {
    Op {
        terminal: usize,
        op: u8,
        sku: u32,
        qty: u64,
        pick: usize,
    },
    Sync {
        terminal: usize,
        via_leader: bool,
        loss: u8,
        dup: bool,
        reorder: bool,
        rounds: u8,
    },
    Backup {
        terminal: usize,
    },
    Restore {
        terminal: usize,
    },
}

fn step(n: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..n, 0u8..10, 0u32..4, 1u64..30, 0usize..8).prop_map(|(terminal, op, sku, qty, pick)| Step::Op { terminal, op, sku, qty, pick }),
        3 => (0..n, any::<bool>(), 0u8..60, any::<bool>(), any::<bool>(), 1u8..4)
            .prop_map(|(terminal, via_leader, loss, dup, reorder, rounds)| Step::Sync { terminal, via_leader, loss, dup, reorder, rounds }),
        1 => (0..n).prop_map(|terminal| Step::Backup { terminal }),
        1 => (0..n).prop_map(|terminal| Step::Restore { terminal }),
    ]
}

struct World {
    server: Peer,
    terminals: Vec<Peer>,
    backups: Vec<Option<Replica>>,
    rng: u64,
    now: u64,
    server_vv_history: Vec<BTreeMap<ReplicaId, u64>>,
    /// Every transaction ever committed anywhere.
    committed: BTreeMap<TxnId, Txn>,
    /// Replicas whose disk was lost (restored from a backup).
    restored: BTreeSet<ReplicaId>,
}

fn limits() -> SyncLimits {
    SyncLimits {
        max_txns_per_upload: 3,
        max_buffered_per_replica: 64,
        ..SyncLimits::default()
    }
}

impl World {
    fn new(n: usize) -> Self {
        let mut server = root(STORE, SERVER).with_limits(limits());
        let mut committed = BTreeMap::new();
        // Back office seeds two lots per SKU.
        for sku in 0..4 {
            for k in 0..2 {
                let c = server
                    .replica_mut()
                    .apply(
                        1,
                        Op::ReceiveNew {
                            lot: new_lot(sku, k),
                            qty: 50,
                            reference: "seed".into(),
                        },
                    )
                    .unwrap();
                committed.insert(c.txn.id, (*c.txn).clone());
            }
        }
        let terminals = (1..=n as u16)
            .map(|t| member(STORE, ReplicaId::new(t, 0)).with_limits(limits()))
            .collect();
        World {
            server,
            terminals,
            backups: vec![None; n],
            rng: 0x9e37_79b9_7f4a_7c15,
            now: 10,
            server_vv_history: Vec::new(),
            committed,
            restored: BTreeSet::new(),
        }
    }

    fn rand(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn op(&mut self, t: usize, op: u8, sku: u32, qty: u64, pick: usize) {
        self.now += 1;
        let now = self.now;
        let r = self.terminals[t].replica_mut();
        let lots: Vec<LotKey> = r.state().lots().map(|(i, _)| i.key).collect();
        let lot = (!lots.is_empty()).then(|| lots[pick % lots.len()]);
        let commit = match op {
            0..=2 => r
                .apply(
                    now,
                    Op::Dispense {
                        today: today(),
                        sku,
                        qty,
                        scanned: None,
                        reference: "rx".into(),
                        attachments: Attachments {
                            claim: Some("claim".into()),
                            pmp_report: None,
                        },
                    },
                )
                .ok(),
            3 => lot.and_then(|l| {
                let sku = r.state().lot(&l).map_or(0, |i| i.sku);
                r.apply(
                    now,
                    Op::Dispense {
                        today: today(),
                        sku,
                        qty,
                        scanned: Some(l),
                        reference: "rx-scan".into(),
                        attachments: Attachments::default(),
                    },
                )
                .ok()
            }),
            4 => r
                .apply(
                    now,
                    Op::ReceiveNew {
                        lot: new_lot(sku, pick as u32 + 10),
                        qty,
                        reference: "po".into(),
                    },
                )
                .ok(),
            5 => lot.and_then(|l| {
                r.apply(
                    now,
                    Op::Adjust {
                        lot: l,
                        delta: if pick.is_multiple_of(2) {
                            qty as i64
                        } else {
                            -(qty as i64)
                        },
                        reason: Reason::Damage,
                        reference: "adj".into(),
                    },
                )
                .ok()
            }),
            6 => lot.and_then(|l| {
                r.apply(
                    now,
                    Op::StockCount {
                        lot: l,
                        counted: qty,
                        reference: "count".into(),
                    },
                )
                .ok()
            }),
            7 => lot.and_then(|l| {
                r.apply(
                    now,
                    Op::Hold {
                        lot: l,
                        reference: "recall".into(),
                    },
                )
                .ok()
            }),
            8 => {
                // A delivery from another store, possibly recorded on two terminals.
                let transfer = TransferId {
                    from: PharmacyId::new(99),
                    number: (pick % 3) as u64,
                };
                r.apply(
                    now,
                    Op::TransferIn {
                        transfer,
                        lot: new_lot(sku, 20 + pick as u32),
                        qty: 12,
                        reference: "xfer".into(),
                    },
                )
                .ok()
            }
            _ => {
                let hold = r.state().active_holds().next().map(|(h, ..)| *h);
                hold.and_then(|h| {
                    r.apply(
                        now,
                        Op::Release {
                            hold: h,
                            reference: "released".into(),
                        },
                    )
                    .ok()
                })
            }
        };
        if let Some(c) = commit {
            self.committed.insert(c.txn.id, (*c.txn).clone());
        }
    }

    /// One sync session over an unreliable network, with the cloud or (while the cloud is
    /// unreachable) with the store leader, terminal 0, which relays to the cloud later.
    fn sync(&mut self, t: usize, via_leader: bool, loss: u8, dup: bool, reorder: bool, rounds: u8) {
        if via_leader && t != 0 {
            // Swap the leader into the server seat for this session.
            let leader = std::mem::replace(&mut self.terminals[0], member(STORE, SERVER));
            let cloud = std::mem::replace(&mut self.server, leader);
            self.sync(t, false, loss, dup, reorder, rounds);
            let leader = std::mem::replace(&mut self.server, cloud);
            self.terminals[0] = leader;
            return;
        }
        for _ in 0..rounds {
            self.now += 1;
            let now = self.now;
            let hello = codec::encode(&self.terminals[t].hello(now).unwrap()).unwrap();
            let mut to_server = vec![hello];
            let mut to_client: Vec<Vec<u8>> = Vec::new();
            let limits = DecodeLimits::default();
            for _ in 0..8 {
                let deliver = |w: &mut World, mut msgs: Vec<Vec<u8>>| -> Vec<Vec<u8>> {
                    if reorder && msgs.len() > 1 {
                        let k = (w.rand() % msgs.len() as u64) as usize;
                        msgs.swap(0, k);
                    }
                    let mut out = Vec::new();
                    for m in msgs {
                        if (w.rand() % 100) < u64::from(loss) {
                            continue;
                        }
                        out.push(m.clone());
                        if dup && w.rand().is_multiple_of(4) {
                            out.push(m);
                        }
                    }
                    out
                };
                let msgs = deliver(self, std::mem::take(&mut to_server));
                for m in msgs {
                    to_client.extend(self.server.handle_bytes(now, &m, &limits).unwrap());
                }
                if self.server.replica().id() == SERVER {
                    self.server_vv_history
                        .push(self.server.replica().state().vv().iter().collect());
                }
                let msgs = deliver(self, std::mem::take(&mut to_client));
                for m in msgs {
                    to_server.extend(self.terminals[t].handle_bytes(now, &m, &limits).unwrap());
                }
                if to_server.is_empty() {
                    break;
                }
            }
        }
    }

    fn full_sync(&mut self) {
        for _ in 0..3 {
            for t in 0..self.terminals.len() {
                // Enough reliable rounds to drain every outbox in chunks of 3.
                self.sync(t, false, 0, false, false, 40);
            }
        }
    }

    /// A terminal's disk dies; it is restored from its last backup as a new incarnation.
    fn restore(&mut self, t: usize) {
        let Some(backup) = self.backups[t].clone() else {
            return;
        };
        self.restored.insert(self.terminals[t].replica().id());
        let mut peer = member(STORE, backup.id()).with_limits(limits());
        let mut entropy = Rng(self.rand() | 1);
        peer.replace_replica(backup.reincarnated(&mut entropy).unwrap());
        // The restore transaction the new incarnation starts with (its link for the
        // controlled-substance log) is committed too.
        let me = peer.replica().id();
        for txn in peer.replica().outbox().filter(|x| x.id.replica == me) {
            self.committed.insert(txn.id, txn.clone());
        }
        self.terminals[t] = peer;
        self.backups[t] = None;
    }
}

/// Units a ledger of distinct transactions implies per lot (transfers counted once, on the
/// earliest recording).
fn oracle(ledger: &BTreeMap<TxnId, Txn>) -> BTreeMap<LotKey, i64> {
    let mut values: BTreeMap<LotKey, i64> = BTreeMap::new();
    let mut transfers: BTreeMap<TransferId, (TxnId, LotKey, i64)> = BTreeMap::new();
    for t in ledger.values() {
        if t.kind == TxnKind::TransferIn {
            let units: i64 = t.lines.iter().map(|l| l.delta).sum();
            let e = transfers
                .entry(t.transfer.unwrap())
                .or_insert((t.id, t.lines[0].lot, units));
            if t.id < e.0 {
                *e = (t.id, t.lines[0].lot, units);
            }
            continue;
        }
        for l in &t.lines {
            *values.entry(l.lot).or_default() += l.delta;
        }
    }
    for (_, lot, units) in transfers.values() {
        *values.entry(*lot).or_default() += units;
    }
    values.retain(|_, v| *v != 0);
    values
}

/// Replays the ledger into a fresh state in a random order that keeps each replica's order
/// (a transaction naming a lot whose creation has not been replayed yet waits its turn).
fn replay(ledger: &BTreeMap<TxnId, Txn>, seed: u64) -> InventoryState {
    let mut queues: BTreeMap<ReplicaId, Vec<&Txn>> = BTreeMap::new();
    for t in ledger.values() {
        queues.entry(t.id.replica).or_default().push(t);
    }
    for q in queues.values_mut() {
        q.reverse();
    }
    let mut s = InventoryState::new(STORE);
    let mut rng = seed | 1;
    while !queues.is_empty() {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let keys: Vec<ReplicaId> = queues.keys().copied().collect();
        let start = (rng % keys.len() as u64) as usize;
        let applied = (0..keys.len()).any(|k| {
            let r = keys[(start + k) % keys.len()];
            let q = queues.get_mut(&r).unwrap();
            match s.apply(Arc::new(q[q.len() - 1].clone())) {
                Applied::MissingLot { .. } => false,
                outcome => {
                    assert_eq!(outcome, Applied::Applied);
                    q.pop();
                    if q.is_empty() {
                        queues.remove(&r);
                    }
                    true
                }
            }
        });
        assert!(applied, "no replica can make progress");
    }
    s
}

fn check_world(steps: Vec<Step>, n: usize) -> Result<(), TestCaseError> {
    let mut w = World::new(n);
    for s in steps {
        match s {
            Step::Op {
                terminal,
                op,
                sku,
                qty,
                pick,
            } => w.op(terminal, op, sku, qty, pick),
            Step::Sync {
                terminal,
                via_leader,
                loss,
                dup,
                reorder,
                rounds,
            } => w.sync(terminal, via_leader, loss, dup, reorder, rounds),
            Step::Backup { terminal } => {
                w.backups[terminal] = Some(w.terminals[terminal].replica().clone())
            }
            Step::Restore { terminal } => w.restore(terminal),
        }
    }
    // Delta sufficiency before the final sync: t ⊔ delta(s, t.vv) == t ⊔ s.
    if n >= 2 {
        let s = w.terminals[0].replica().state().clone();
        let mut a = w.terminals[1].replica().state().clone();
        let mut b = a.clone();
        a.join(&s.delta_since(b.vv())).unwrap();
        b.merge(&s);
        prop_assert_eq!(a.observable(), b.observable());
        let mut c = w.server.replica().state().clone();
        let d = w.terminals[0].replica().state().delta_since(c.vv());
        let mut e = c.clone();
        c.join(&d).unwrap();
        e.merge(w.terminals[0].replica().state());
        prop_assert_eq!(c.observable(), e.observable());
    }
    w.full_sync();

    // Convergence.
    let server = w.server.replica().state().observable();
    for t in &w.terminals {
        prop_assert_eq!(
            &t.replica().state().observable(),
            &server,
            "terminal {} diverged",
            t.replica().id()
        );
        prop_assert_eq!(
            t.replica().outbox().count(),
            0,
            "outbox drained once the root has everything"
        );
    }
    // Version vectors only grow at the server.
    for pair in w.server_vv_history.windows(2) {
        for (r, s) in &pair[0] {
            prop_assert!(pair[1].get(r).copied().unwrap_or(0) >= *s);
        }
    }
    // No lost, no duplicated units. Every transaction a live terminal committed reached the
    // server; only a restored terminal may lose what it committed after its backup.
    let state = w.server.replica().state();
    let applied: BTreeMap<TxnId, Txn> = w
        .committed
        .iter()
        .filter(|(id, _)| id.seq <= state.vv().get(&id.replica))
        .map(|(id, t)| (*id, t.clone()))
        .collect();
    for id in w.committed.keys() {
        if !applied.contains_key(id) {
            prop_assert!(
                w.restored.contains(&id.replica),
                "{:?} was committed by a live replica and lost",
                id
            );
        }
    }
    let expected = oracle(&applied);
    let actual: BTreeMap<LotKey, i64> = state
        .lots()
        .map(|(i, v)| (i.key, v))
        .filter(|(_, v)| *v != 0)
        .collect();
    prop_assert_eq!(&actual, &expected);
    // Second oracle: crdts PNCounter per (lot) from the same ledger equals the cell totals.
    let mut counters: BTreeMap<LotKey, PNCounter<ReplicaId>> = BTreeMap::new();
    for t in applied.values().filter(|t| t.kind != TxnKind::TransferIn) {
        for l in &t.lines {
            let c = counters.entry(l.lot).or_default();
            let op = if l.delta >= 0 {
                c.inc_many(t.id.replica, l.delta as u64)
            } else {
                c.dec_many(t.id.replica, l.delta.unsigned_abs())
            };
            c.apply(op);
        }
    }
    for (lot, c) in &counters {
        let cells: i64 = state
            .cells(lot)
            .iter()
            .map(|c| c.p as i64 - c.n as i64)
            .sum();
        prop_assert_eq!(c.read().to_i64().unwrap(), cells);
    }
    // Commutativity: any per-replica-order-preserving replay of the ledger gives the same state.
    for seed in [1u64, 99, 12345] {
        let replayed = replay(&applied, seed);
        let values: BTreeMap<LotKey, i64> = replayed
            .lots()
            .map(|(i, v)| (i.key, v))
            .filter(|(_, v)| *v != 0)
            .collect();
        prop_assert_eq!(&values, &expected);
        prop_assert_eq!(replayed.observable().holds, state.observable().holds);
    }
    // Discrepancy ids are the same on every replica; reconciling twice emits nothing new.
    let ids: Vec<_> = discrepancies(w.server.replica().state(), SERVER);
    for t in &w.terminals {
        prop_assert_eq!(&discrepancies(t.replica().state(), SERVER), &ids);
    }
    reconcile(w.server.replica_mut(), w.now + 1, today()).unwrap();
    let (again, second) = reconcile(w.server.replica_mut(), w.now + 2, today()).unwrap();
    prop_assert!(
        second.is_empty() && again.is_empty(),
        "second reconciliation emitted {:?}",
        again
    );
    Ok(())
}

proptest! {
    // 128 cases by default; PROPTEST_CASES=N runs more (a long soak).
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128), ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_without_losing_units(n in 2usize..5, steps in prop::collection::vec(step(4), 1..60)) {
        let steps: Vec<Step> = steps.into_iter().map(|s| match s {
            Step::Op { terminal, op, sku, qty, pick } => Step::Op { terminal: terminal % n, op, sku, qty, pick },
            Step::Sync { terminal, via_leader, loss, dup, reorder, rounds } => Step::Sync { terminal: terminal % n, via_leader, loss, dup, reorder, rounds },
            Step::Backup { terminal } => Step::Backup { terminal: terminal % n },
            Step::Restore { terminal } => Step::Restore { terminal: terminal % n },
        }).collect();
        check_world(steps, n)?;
    }
}

#[test]
fn transfer_receipt_counts_once() {
    let steps = vec![
        Step::Op {
            terminal: 0,
            op: 8,
            sku: 1,
            qty: 1,
            pick: 0,
        },
        Step::Op {
            terminal: 1,
            op: 8,
            sku: 1,
            qty: 1,
            pick: 0,
        },
        Step::Sync {
            terminal: 0,
            via_leader: false,
            loss: 0,
            dup: false,
            reorder: false,
            rounds: 2,
        },
        Step::Sync {
            terminal: 1,
            via_leader: true,
            loss: 0,
            dup: false,
            reorder: false,
            rounds: 2,
        },
    ];
    check_world(steps, 2).unwrap();
    let mut w = World::new(2);
    w.op(0, 8, 1, 1, 0);
    w.op(1, 8, 1, 1, 0);
    w.full_sync();
    let credited: i64 = w
        .server
        .replica()
        .state()
        .lots()
        .filter(|(i, _)| i.lot_number.starts_with("L1-20"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(
        credited, 12,
        "two terminals recorded the same delivery; it counts once"
    );
}
