//! Hostile peers: one test per attack the trust boundaries stop (forged, replayed,
//! relabelled, truncated or out-of-tenant input; a copy of a terminal that goes back in
//! time), each checking the typed rejection, that the receiver did not change, and — against
//! a ledger of every business event — that no unit is lost, created or counted twice and
//! that the honest replicas still converge.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;
use std::sync::Arc;

use common::{Rng, link_key, member, new_lot, origin_key, root, sync, try_sync};
use pharm_core::time::Date;
use pharm_sync::auth::{Digest, MacKey, StoreKeys};
use pharm_sync::codec::{self, DecodeLimits, MAX_STRING_BYTES};
use pharm_sync::ids::{ReplicaId, TxnId};
use pharm_sync::message::{Body, Message};
use pharm_sync::protocol::{Peer, ProtocolError, Role, SyncLimits};
use pharm_sync::replica::Op;
use pharm_sync::replica::{Attachments, OpError, Superseded};
use pharm_sync::state::{DeltaError, StateDelta, VersionVector};
use pharm_sync::txn::{Line, LotKey, SealedTxn, Txn, TxnKind};

const STORE: PharmacyId = PharmacyId::new(42);
const CLOUD: ReplicaId = ReplicaId::new(u16::MAX, 0);

fn today() -> Date {
    "2026-03-10".parse().unwrap()
}

/// Every business event committed anywhere, by SKU: the units each SKU must hold once all
/// honest replicas have synced (by SKU, since a transaction issued again after a fork
/// creates its lots under new keys).
#[derive(Default)]
struct Ledger(BTreeMap<u32, i64>);

impl Ledger {
    fn record(&mut self, t: &Txn) {
        for l in &t.lines {
            let sku = t
                .new_lots
                .iter()
                .find(|n| n.key == l.lot)
                .map_or(1, |n| n.sku);
            *self.0.entry(sku).or_default() += l.delta;
        }
    }

    fn check(&self, p: &Peer) {
        let state = p.replica().state();
        for (sku, units) in &self.0 {
            let held: i64 = state.sku_lots(*sku).map(|(_, v)| v).sum();
            assert_eq!(held, *units, "{}: SKU {sku}", p.replica().id());
        }
        let total: i64 = state.lots().map(|(_, v)| v).sum();
        assert_eq!(
            total,
            self.0.values().sum::<i64>(),
            "{}: units created",
            p.replica().id()
        );
    }
}

/// The cloud, two terminals and a lot of 100 units, all synced.
struct World {
    cloud: Peer,
    t1: Peer,
    t2: Peer,
    lot: LotKey,
    ledger: Ledger,
    now: u64,
}

impl World {
    fn new() -> Self {
        let mut cloud = root(STORE, CLOUD);
        let mut ledger = Ledger::default();
        let c = cloud
            .replica_mut()
            .apply(
                1,
                Op::ReceiveNew {
                    lot: new_lot(1, "A", "2027-01-31", false),
                    qty: 100,
                    reference: "po".into(),
                },
            )
            .unwrap();
        let lot = c.new_lot().unwrap();
        ledger.record(&c.txn);
        let mut t1 = member(STORE, ReplicaId::new(1, 0));
        let mut t2 = member(STORE, ReplicaId::new(2, 0));
        sync(&mut t1, &mut cloud, 2);
        sync(&mut t2, &mut cloud, 2);
        World {
            cloud,
            t1,
            t2,
            lot,
            ledger,
            now: 10,
        }
    }

    fn tick(&mut self) -> u64 {
        self.now += 1;
        self.now
    }

    fn sell(&mut self, which: u8, qty: u64) -> Arc<Txn> {
        let now = self.tick();
        let lot = self.lot;
        let p = if which == 1 {
            &mut self.t1
        } else {
            &mut self.t2
        };
        let c = p
            .replica_mut()
            .apply(
                now,
                Op::Dispense {
                    today: today(),
                    sku: 1,
                    qty,
                    scanned: Some(lot),
                    reference: "rx".into(),
                    attachments: Attachments::default(),
                },
            )
            .unwrap();
        self.ledger.record(&c.txn);
        c.txn
    }

    /// Everybody syncs until quiet, then every honest replica holds the ledger and the
    /// terminals' outboxes are empty.
    fn settle(&mut self) {
        for _ in 0..3 {
            let now = self.tick();
            sync(&mut self.t1, &mut self.cloud, now);
            sync(&mut self.t2, &mut self.cloud, now);
        }
        for p in [&self.cloud, &self.t1, &self.t2] {
            self.ledger.check(p);
        }
        assert_eq!(
            self.t1.replica().state().observable(),
            self.cloud.replica().state().observable()
        );
        assert_eq!(
            self.t2.replica().state().observable(),
            self.cloud.replica().state().observable()
        );
        assert_eq!(self.t1.replica().outbox().count(), 0);
        assert_eq!(self.t2.replica().outbox().count(), 0);
    }
}

fn seal(store: PharmacyId, from: ReplicaId, body: Body) -> Message {
    Message::seal(store, from, body, &link_key(store)).unwrap()
}

/// `peer` takes `m` without an error and without any change (a message it cannot use).
fn left_alone(peer: &mut Peer, m: Message) {
    let before = peer.replica().state().observable();
    let outbox = peer.replica().outbox().count();
    peer.handle(100, m).unwrap();
    assert_eq!(peer.replica().state().observable(), before, "state changed");
    assert_eq!(peer.replica().outbox().count(), outbox);
}

/// `peer` takes `m` without an error and joins it.
fn taken(peer: &mut Peer, m: Message) {
    let before = peer.replica().state().observable();
    peer.handle(100, m).unwrap();
    assert_ne!(peer.replica().state().observable(), before, "nothing taken");
}

/// `f` fails with the expected error and leaves `peer`'s state as it was.
fn refused(peer: &mut Peer, m: Message, expect: impl Fn(&ProtocolError) -> bool) {
    let before = peer.replica().state().observable();
    let outbox = peer.replica().outbox().count();
    let err = peer.handle(100, m).unwrap_err();
    assert!(expect(&err), "unexpected error {err:?}");
    assert_eq!(peer.replica().state().observable(), before, "state changed");
    assert_eq!(peer.replica().outbox().count(), outbox);
}

// --- Why 1: a store that reopens as a brand-new one -------------------------------------
// (the durable store refuses empty files; see `store_faults.rs`). In memory: a terminal
// re-created under its old identity is superseded before it can lose a unit.

#[test]
fn attack_1_a_terminal_recreated_under_its_old_id_is_caught_and_loses_nothing() {
    let mut w = World::new();
    w.sell(1, 5);
    w.settle();
    // The terminal's disk is lost; a fresh replica under the same id receives goods offline.
    let lost = w.t1.replica().id();
    let mut fresh = member(STORE, lost);
    let c = fresh
        .replica_mut()
        .apply(
            w.tick(),
            Op::ReceiveNew {
                lot: new_lot(2, "B", "2027-03-31", false),
                qty: 12,
                reference: "po".into(),
            },
        )
        .unwrap();
    assert_eq!(
        c.txn.id,
        TxnId {
            replica: lost,
            seq: 1
        },
        "a sequence number the cloud has"
    );
    w.ledger.record(&c.txn);
    // The next sync shows the cloud holds another history of this replica: superseded,
    // and nothing of the copy is applied.
    let err = {
        let now = w.tick();
        try_sync(&mut fresh, &mut w.cloud, now)
    }
    .unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::Superseded(Superseded::Forked { seq: 1 })
        ),
        "{err:?}"
    );
    assert!(matches!(
        fresh.replica_mut().apply(
            w.tick(),
            Op::ReceiveNew {
                lot: new_lot(2, "C", "2027-03-31", false),
                qty: 1,
                reference: "po".into()
            }
        ),
        Err(OpError::Superseded(_))
    ));
    // Recovery: a fresh incarnation; the receipt goes to the root, is refused there as
    // another history and is issued again under the new id: the 12 units count once.
    let recovered = fresh.replica().recover(&mut Rng(99)).unwrap();
    assert_ne!(recovered.id(), lost);
    assert_eq!(recovered.salvage().count(), 1);
    w.t1.replace_replica(recovered);
    w.settle();
    assert_eq!(w.t1.replica().forked().count(), 0, "re-issued");
    assert_eq!(w.t1.replica().salvage().count(), 0);
}

// --- Why 2: a delta claiming another replica's sequence numbers ------------------------

#[test]
fn attack_2_a_version_vector_claim_without_evidence_is_refused() {
    let mut w = World::new();
    let t2 = w.t2.replica().id();
    // 22 bytes of claim: T2 is at 1,000 — without T2's transaction at 1,000.
    let mut vv = VersionVector::new();
    vv.raise(t2, 1000);
    let forged = StateDelta {
        vv,
        ..StateDelta::default()
    };
    let m = seal(
        STORE,
        w.t1.replica().id(),
        Body::Delta {
            delta: forged.clone(),
        },
    );
    refused(&mut w.cloud, m.clone(), |e| {
        matches!(
            e,
            ProtocolError::Delta(DeltaError::MissingHead { seq: 1000, .. })
        )
    });
    let m1 = seal(STORE, w.t2.replica().id(), Body::Delta { delta: forged });
    refused(&mut w.t1, m1, |e| {
        matches!(e, ProtocolError::Delta(DeltaError::MissingHead { .. }))
    });
    // T2's real transactions are applied, acknowledged only once the cloud holds them, and
    // no unit is lost.
    for _ in 0..3 {
        w.sell(2, 2);
    }
    w.settle();
    assert_eq!(w.cloud.replica().state().vv().get(&t2), 3);
}

#[test]
fn attack_2b_a_head_with_a_forged_seal_or_missing_effects_is_refused() {
    let mut w = World::new();
    let real = w.sell(2, 4);
    let t2 = w.t2.replica().id();
    let effects = w.t2.replica().state().effects_digest(&t2, None);
    let real_seal = real.head_seal(&origin_key(STORE, 2), STORE, &effects);
    let mut delta =
        w.t2.replica()
            .state()
            .delta_since(w.cloud.replica().state().vv());
    assert_eq!(delta.heads.len(), 1);
    delta.heads[0].seal = Some(real_seal);
    // A member cannot forge another terminal's head: the cloud checks its origin's head
    // seal, which covers the head's digest and its replica's totals. The sender may only be passing on what it was given,
    // so the cloud leaves such a delta alone; from the head's own terminal it is an error.
    let mut forged = delta.clone();
    let mut head = (*real).clone();
    head.lines[0].delta = -40;
    head.link(&mut Vec::new()).unwrap();
    forged.heads[0].txn = Arc::new(head);
    forged.cells.iter_mut().for_each(|c| c.3 = 40);
    let m = |from: ReplicaId, delta: &StateDelta| {
        seal(
            STORE,
            from,
            Body::Delta {
                delta: delta.clone(),
            },
        )
    };
    left_alone(&mut w.cloud, m(w.t1.replica().id(), &forged));
    refused(
        &mut w.cloud,
        m(w.t2.replica().id(), &forged),
        |e| matches!(e, ProtocolError::BadSeal(id) if *id == real.id),
    );
    // Without a seal the cloud takes no head it does not hold.
    forged.heads[0].seal = None;
    left_alone(&mut w.cloud, m(w.t1.replica().id(), &forged));
    refused(
        &mut w.cloud,
        m(w.t2.replica().id(), &forged),
        |e| matches!(e, ProtocolError::Unsealed(id) if *id == real.id),
    );
    // Nor raise the version with the genuine head and seal but other totals: more units
    // sold (or fewer) than the head's replica sealed, or the head's effects left out.
    for cells in [
        delta
            .cells
            .iter()
            .map(|c| (c.0, c.1, c.2, c.3 + 58))
            .collect(),
        Vec::new(),
    ] {
        let changed = StateDelta {
            cells,
            ..delta.clone()
        };
        left_alone(&mut w.cloud, m(w.t1.replica().id(), &changed));
        refused(
            &mut w.cloud,
            m(t2, &changed),
            |e| matches!(e, ProtocolError::BadSeal(id) if *id == real.id),
        );
    }
    // The genuine delta is taken, from anyone.
    taken(&mut w.cloud, m(w.t1.replica().id(), &delta));
    assert_eq!(w.cloud.replica().state().vv().get(&t2), real.id.seq);
    // Nor inflate a replica the receiver already has.
    let mut inflated = w.cloud.replica().state().delta_since(&VersionVector::new());
    for c in &mut inflated.cells {
        c.2 += 1_000;
    }
    inflated.base = w.cloud.replica().state().vv().clone();
    let t1 = w.t1.replica().id();
    let m = seal(STORE, t1, Body::Delta { delta: inflated });
    refused(&mut w.t2, m, |e| {
        matches!(e, ProtocolError::Delta(DeltaError::Inflated { .. }))
    });
    w.settle();
}

// --- Why 3: transactions under someone else's replica id --------------------------------

#[test]
fn attack_3_a_transaction_claiming_another_origin_is_refused_and_relays_still_work() {
    let mut w = World::new();
    let t2 = w.t2.replica().id();
    let genuine = w.sell(2, 3);
    // T1 builds a transaction under T2's id, sealed with T1's own key (it does not have
    // T2's).
    let mut fake = (*genuine).clone();
    fake.id.seq = 2;
    fake.prev = genuine.digest;
    fake.lines[0].delta = -50;
    fake.link(&mut Vec::new()).unwrap();
    let fake = SealedTxn {
        seal: Some(fake.seal(&origin_key(STORE, 1), STORE)),
        txn: Arc::new(fake),
    };
    let up = |txns| seal(STORE, w.t1.replica().id(), Body::Upload { txns });
    // To the cloud it is a relayed run with a wrong seal: refused (the relay may not be at
    // fault, so the rest of an upload would still be taken), and nothing changes.
    let before = w.cloud.replica().state().observable();
    let replies = w.cloud.handle(100, up(vec![fake.clone()])).unwrap();
    assert!(matches!(
        &replies[0].body,
        Body::UploadAck { refused, .. } if refused.len() == 1 && refused[0].id == fake.txn.id
    ));
    assert_eq!(w.cloud.replica().state().observable(), before);
    // Claimed as T1's own upload (T1 as its origin), the same seal is an error.
    let mut own = (*fake.txn).clone();
    own.id.replica = w.t1.replica().id();
    own.lines[0].delta = -50;
    own.link(&mut Vec::new()).unwrap();
    let own = SealedTxn {
        seal: Some(own.seal(&origin_key(STORE, 2), STORE)),
        txn: Arc::new(own),
    };
    refused(
        &mut w.cloud,
        up(vec![own]),
        |e| matches!(e, ProtocolError::BadSeal(id) if id.replica.terminal == 1),
    );
    // A leader (a member) cannot check T2's seal, so it takes only the sender's own.
    refused(&mut w.t2.clone(), up(vec![fake]), |e| {
        matches!(e, ProtocolError::RelayRefused { .. })
    });
    // The relay path: T1 leads while the cloud is down, T2 syncs through it, T1 relays
    // T2's transaction to the cloud with T2's seal, which the cloud verifies.
    let now = w.tick();
    sync(&mut w.t2, &mut w.t1, now);
    assert!(w.t1.replica().outbox().any(|t| t.id == genuine.id));
    let now = w.tick();
    sync(&mut w.t1, &mut w.cloud, now);
    assert_eq!(w.cloud.replica().state().vv().get(&t2), 1);
    w.settle();
}

// --- Deliverable 1: runs end sealed; a bad relayed run does not stall the relay -----------

#[test]
fn a_run_that_ends_without_a_seal_is_refused_everywhere() {
    let mut w = World::new();
    let a = w.sell(2, 1);
    let b = w.sell(2, 2);
    let t2 = w.t2.replica().id();
    // One run (seq 1 and 2 chained), sealed only at the first.
    let txns = vec![
        SealedTxn {
            seal: Some(a.seal(&origin_key(STORE, 2), STORE)),
            txn: Arc::clone(&a),
        },
        SealedTxn::unsealed(Arc::clone(&b)),
    ];
    let m = seal(STORE, t2, Body::Upload { txns });
    refused(
        &mut w.cloud,
        m.clone(),
        |e| matches!(e, ProtocolError::Unsealed(id) if *id == b.id),
    );
    refused(
        &mut w.t1,
        m,
        |e| matches!(e, ProtocolError::Unsealed(id) if *id == b.id),
    );
    // A transaction that does not chain onto its list neighbour starts a run of its own,
    // so the one before it must be sealed too.
    let mut c = (*b).clone();
    c.id.seq = 3;
    c.prev = a.digest;
    c.link(&mut Vec::new()).unwrap();
    let txns = common::sealed_all(STORE, [(*b).clone()])
        .into_iter()
        .chain([SealedTxn::unsealed(Arc::new(c.clone()))])
        .collect();
    refused(
        &mut w.cloud,
        seal(STORE, t2, Body::Upload { txns }),
        |e| matches!(e, ProtocolError::Unsealed(id) if *id == c.id),
    );
    w.settle();
}

#[test]
fn a_relayed_run_with_a_bad_seal_is_refused_alone_and_nothing_is_lost() {
    let mut w = World::new();
    // T2 sells offline and syncs only with T1, its leader while the cloud is down; its
    // upload reaches T1 with a seal T1 cannot check, and this one is garbage (a broken or
    // hostile T2).
    let bad = w.sell(2, 5);
    let t2 = w.t2.replica().id();
    let now = w.tick();
    let hello = w.t2.hello(now).unwrap();
    let replies = w.t1.handle(now, hello).unwrap();
    let mut out = common::deliver(&mut w.t2, now, replies).unwrap();
    for m in &mut out {
        if let Body::Upload { txns } = &mut m.body {
            txns.last_mut().unwrap().seal = Some(pharm_sync::auth::Tag([7; 16]));
            *m = seal(STORE, t2, m.body.clone());
        }
    }
    // T2's state delta (its head sealed with its effects) is lost on the way: only the run
    // reaches T1.
    for m in out
        .into_iter()
        .filter(|m| matches!(m.body, Body::Upload { .. }))
    {
        w.t1.handle(now, m).unwrap();
    }
    assert!(w.t1.replica().outbox().any(|t| t.id == bad.id));
    // T1 sells too and syncs with the cloud: its own run is taken, T2's is refused.
    let own = w.sell(1, 3);
    let now = w.tick();
    let err = common::try_sync(&mut w.t1, &mut w.cloud, now).unwrap_err();
    assert_eq!(
        w.cloud.replica().state().vv().get(&own.id.replica),
        own.id.seq
    );
    assert_eq!(w.cloud.replica().state().vv().get(&t2), 0);
    assert!(
        !w.t1.replica().outbox().any(|t| t.id == bad.id),
        "the relay drops the refused copy"
    );
    // T1 took the copy into its state, and the root's seal on the refusal tells it so:
    // its state may count a sale that does not exist, so it is superseded until the POS
    // recovers it from upstream.
    let took = Superseded::Took { txn: bad.id };
    assert_eq!(err, ProtocolError::Superseded(took));
    let fresh = w.t1.replica().recover(&mut Rng(12)).unwrap();
    w.t1.replace_replica(fresh);
    // T2 still holds its sale and delivers it itself: nothing lost, nothing twice.
    w.settle();
}

// --- Why 4: the same backup restored twice ------------------------------------------------

#[test]
fn attack_4_two_restores_of_one_backup_never_share_an_incarnation() {
    let mut w = World::new();
    w.sell(1, 1);
    w.settle();
    let backup = w.t1.replica().clone();
    let a = backup.reincarnated(&mut Rng(1)).unwrap();
    let b = backup.reincarnated(&mut Rng(2)).unwrap();
    assert_ne!(a.id(), b.id());
    assert_ne!(a.id(), backup.id());
    let mut pa = member(STORE, a.id());
    pa.replace_replica(a);
    let mut pb = member(STORE, b.id());
    pb.replace_replica(b);
    // Both sell offline, then sync: every unit counts once.
    for p in [&mut pa, &mut pb] {
        let c = p
            .replica_mut()
            .apply(
                50,
                Op::Dispense {
                    today: today(),
                    sku: 1,
                    qty: 3,
                    scanned: Some(w.lot),
                    reference: "rx".into(),
                    attachments: Attachments::default(),
                },
            )
            .unwrap();
        w.ledger.record(&c.txn);
    }
    sync(&mut pa, &mut w.cloud, 60);
    sync(&mut pb, &mut w.cloud, 61);
    sync(&mut pa, &mut w.cloud, 62);
    w.ledger.check(&w.cloud);
    w.ledger.check(&pa);
    // Even a randomness source that repeats itself cannot make two copies collide
    // silently: the second copy draws the first's incarnation only if it does not know it,
    // and then the chained tags expose the fork (see attack 1); a source that keeps
    // repeating is an error, never a wrap-around.
    let mut stuck = || 7u64;
    let first = backup.reincarnated(&mut stuck).unwrap();
    assert!(first.reincarnated(&mut stuck).is_err());
}

// --- Why 5: tenancy rests on more than the header ----------------------------------------

#[test]
fn attack_5_another_stores_messages_and_unknown_senders_are_refused() {
    let mut w = World::new();
    let other = PharmacyId::new(43);
    // A store-43 terminal's hello relabelled with store 42: the tag is under 43's key.
    let t9 = member(other, ReplicaId::new(1, 0));
    let hello = t9.hello(1).unwrap();
    let relabelled = Message {
        store: STORE,
        ..hello.clone()
    };
    refused(&mut w.cloud, relabelled, |e| {
        matches!(e, ProtocolError::BadTag(_))
    });
    refused(&mut w.cloud, hello, |e| {
        matches!(e, ProtocolError::WrongStore { .. })
    });
    // A store-42 delta relabelled as store 43's, delivered to store 43.
    let mut cloud43 = root(other, CLOUD);
    let delta = w.cloud.replica().state().delta_since(&VersionVector::new());
    let m = seal(STORE, ReplicaId::new(1, 0), Body::Delta { delta });
    refused(&mut cloud43, Message { store: other, ..m }, |e| {
        matches!(e, ProtocolError::BadTag(_))
    });
    assert_eq!(cloud43.replica().state().lots().count(), 0);
    // A hello from a terminal that is not a member gets nothing, even with the link key.
    let stranger = ReplicaId::new(77, 0);
    let m = seal(
        STORE,
        stranger,
        Body::Hello {
            vv: VersionVector::new(),
            hlc: Default::default(),
        },
    );
    assert_eq!(
        w.cloud.handle(1, m),
        Err(ProtocolError::UnknownSender(stranger))
    );
    // A message sealed with a wrong key.
    let wrong = Message::seal(
        STORE,
        w.t1.replica().id(),
        Body::Hello {
            vv: VersionVector::new(),
            hlc: Default::default(),
        },
        &MacKey::new([1; 32]),
    )
    .unwrap();
    refused(&mut w.cloud, wrong, |e| {
        matches!(e, ProtocolError::BadTag(_))
    });
    // A replayed message changes nothing a second time.
    w.sell(1, 2);
    let hello = w.t1.hello(w.now).unwrap();
    let replies = w.cloud.handle(w.now, hello).unwrap();
    let upload = w.t1.handle(w.now, replies[0].clone()).unwrap();
    w.cloud.handle(w.now, upload[0].clone()).unwrap();
    let once = w.cloud.replica().state().observable();
    w.cloud.handle(w.now, upload[0].clone()).unwrap();
    assert_eq!(w.cloud.replica().state().observable(), once);
    w.settle();
}

// --- Why 6: memory bounded in total ---------------------------------------------------------

#[test]
fn attack_6_buffers_and_replicas_are_bounded_in_total() {
    let limits = SyncLimits {
        max_txns_per_upload: 64,
        max_buffered_per_replica: 16,
        max_buffered_total: 24,
        max_replicas: 12,
    };
    let mut w = World::new();
    w.cloud = {
        let mut c = root(STORE, CLOUD).with_limits(limits);
        c.replace_replica(w.cloud.replica().clone());
        c
    };
    // Unknown terminals' transactions are refused outright.
    let t1 = w.t1.replica().id();
    let mut chain = Digest::default();
    let mut txn = |r: ReplicaId, seq: u64, key: &MacKey| {
        let mut t = Txn {
            id: TxnId { replica: r, seq },
            hlc: pharm_sync::hlc::Hlc::new(5, seq as u16),
            kind: TxnKind::Dispense,
            reason: pharm_sync::txn::Reason::None,
            lines: vec![Line {
                lot: w.lot,
                delta: -1,
            }],
            new_lots: Vec::new(),
            holds: Vec::new(),
            transfer: None,
            meta: Vec::new(),
            compensates: None,
            reference: String::new(),
            prev: chain,
            digest: Digest::default(),
        };
        t.link(&mut Vec::new()).unwrap();
        chain = t.digest;
        SealedTxn {
            seal: Some(t.seal(key, STORE)),
            txn: Arc::new(t),
        }
    };
    let stranger = txn(ReplicaId::new(300, 0), 1, &MacKey::new([3; 32]));
    refused(
        &mut w.cloud,
        seal(
            STORE,
            t1,
            Body::Upload {
                txns: vec![stranger],
            },
        ),
        |e| matches!(e, ProtocolError::UnknownOrigin(_)),
    );
    // A member uploading out-of-order transactions under many fresh incarnations of its
    // own terminal: gaps are buffered up to the total, then refused.
    let key = origin_key(STORE, 1);
    let mut refusals = 0;
    for inc in 1..=40u64 {
        let r = ReplicaId::new(1, 1000 + inc);
        let txns: Vec<SealedTxn> = (2..=3).map(|s| txn(r, s, &key)).collect();
        match w.cloud.handle(1, seal(STORE, t1, Body::Upload { txns })) {
            Ok(_) => {}
            Err(ProtocolError::BufferFull { .. } | ProtocolError::TooManyReplicas { .. }) => {
                refusals += 1
            }
            Err(e) => panic!("{e:?}"),
        }
        assert!(w.cloud.buffered() <= limits.max_buffered_total);
    }
    assert!(refusals > 0);
    // Nothing of it was applied.
    w.settle();
}

// --- Why 7: an operation the codec cannot carry ---------------------------------------------

#[test]
fn attack_7_an_unencodable_operation_is_refused_at_once_and_the_outbox_keeps_flowing() {
    let mut w = World::new();
    let long = "R".repeat(MAX_STRING_BYTES + 1);
    let lot = w.lot;
    let before = w.t1.replica().state().observable();
    assert!(matches!(
        w.t1.replica_mut().apply(
            20,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 1,
                scanned: Some(lot),
                reference: long.to_string(),
                attachments: Attachments::default()
            }
        ),
        Err(OpError::Unencodable(_))
    ));
    assert!(matches!(
        w.t1.replica_mut().apply(
            21,
            Op::SetLocation {
                lot,
                location: long.to_string()
            }
        ),
        Err(OpError::Unencodable(_))
    ));
    assert_eq!(
        w.t1.replica().state().observable(),
        before,
        "nothing recorded"
    );
    w.sell(1, 2);
    w.settle();
}

// --- Why 8: lines on a lot nobody created --------------------------------------------------

#[test]
fn attack_8_lines_on_an_unknown_lot_are_never_counted() {
    let mut w = World::new();
    let t2 = w.t2.replica().id();
    let ghost = LotKey {
        origin: t2,
        local_no: 99,
    };
    // T2 (a member, with its own key) uploads a dispense on a lot no transaction created,
    // as its next transaction.
    let mut t = (*w.sell(2, 1)).clone();
    w.settle();
    let head = w.t2.replica().state().head(&t2).unwrap().clone();
    t.id.seq = head.id.seq + 1;
    t.prev = head.digest;
    t.lines = vec![Line {
        lot: ghost,
        delta: -30,
    }];
    t.link(&mut Vec::new()).unwrap();
    let t = SealedTxn {
        seal: Some(t.seal(&origin_key(STORE, 2), STORE)),
        txn: Arc::new(t),
    };
    let before = w.cloud.replica().state().observable();
    w.cloud
        .handle(1, seal(STORE, t2, Body::Upload { txns: vec![t] }))
        .unwrap();
    // Deferred until the lot exists, never counted: the lot list and every value are
    // unchanged, and the version does not move.
    assert_eq!(w.cloud.buffered(), 1);
    assert_eq!(w.cloud.replica().state().observable(), before);
    assert_eq!(w.cloud.replica().state().value(&ghost), 0);
    // A delta with cells on an unknown lot is not joined either.
    let mut delta = w.cloud.replica().state().delta_since(&VersionVector::new());
    delta.cells.push((ghost, CLOUD, 0, 30));
    let mut probe = member(STORE, ReplicaId::new(5, 0));
    let m = seal(STORE, CLOUD, Body::Delta { delta });
    probe.handle(1, m).unwrap();
    assert_eq!(probe.replica().state().lots().count(), 0);
    // T2's real next transaction takes that sequence number; the deferred one is dropped.
    w.sell(2, 2);
    w.settle();
    assert_eq!(w.cloud.buffered(), 0);
}

// --- Why 9: non-canonical frames ------------------------------------------------------------

/// Seals raw message bytes (everything but the tag) as a member holding the link key could:
/// HMAC-SHA-256 over the label, the store and the bytes, truncated to 16 bytes.
fn raw_seal(store: PharmacyId, mut bytes: Vec<u8>) -> Vec<u8> {
    use hmac::{Hmac, KeyInit, Mac};
    let mut key = [0x4c; 64];
    key[32..].fill(0);
    key[..4].copy_from_slice(&store.get().to_le_bytes());
    let mut m = Hmac::<sha2::Sha256>::new(&key.into());
    m.update(b"M\x02");
    m.update(&store.get().to_le_bytes());
    m.update(&bytes);
    bytes.extend_from_slice(&m.finalize().into_bytes()[..16]);
    bytes
}

#[test]
fn attack_9_a_frame_the_encoder_would_not_write_is_refused() {
    let mut w = World::new();
    let (o, r) = (ReplicaId::new(0, 0), ReplicaId::new(2, 0));
    let mut vv = VersionVector::new();
    vv.raise(r, 4);
    let key = |n| LotKey {
        origin: o,
        local_no: n,
    };
    let m = seal(
        STORE,
        w.t1.replica().id(),
        Body::Delta {
            delta: StateDelta {
                vv,
                cells: vec![(key(3), r, 5, 0), (key(9), r, 1, 1)],
                ..StateDelta::default()
            },
        },
    );
    let bytes = codec::encode(&m).unwrap();
    // The sealing above is what the link key gives: re-sealing the canonical bytes by hand
    // reproduces the tag.
    assert_eq!(raw_seal(STORE, bytes[..bytes.len() - 16].to_vec()), bytes);
    // One group of one run of two cells...
    let group = [
        0x01, 0x01, 0x01, 0x00, 0x02, 0x03, 0x05, 0x00, 0x05, 0x01, 0x01,
    ];
    let at = bytes.windows(group.len()).position(|w| w == group).unwrap();
    // ...written as two groups of the same replica: the same cells, another encoding.
    let mut split = bytes[..at].to_vec();
    split.extend_from_slice(&[0x02, 0x01, 0x01, 0x00, 0x01, 0x03, 0x05, 0x00]);
    split.extend_from_slice(&[0x01, 0x01, 0x00, 0x01, 0x09, 0x01, 0x01]);
    split.extend_from_slice(&bytes[at + group.len()..bytes.len() - 16]);
    let frame = raw_seal(STORE, split);
    let before = w.t2.replica().state().observable();
    let err =
        w.t2.handle_bytes(1, &frame, &DecodeLimits::default())
            .unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::Decode(codec::DecodeError::InvalidValue {
                field: "cell_group.replica",
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(w.t2.replica().state().observable(), before);
    w.settle();
}

// --- Deliverable 2: nothing acknowledged that is not stored -------------------------------

#[test]
fn the_root_acknowledges_only_transactions_it_holds() {
    let mut w = World::new();
    let t2 = w.t2.replica().id();
    w.sell(2, 4);
    w.sell(2, 1);
    // T2's effects reach the cloud as state (through T1, which took T2's state, with T2's
    // sealed head, from T2 serving as its leader, then synced with the cloud), not as
    // uploaded transactions.
    let now = w.tick();
    sync(&mut w.t1, &mut w.t2, now);
    assert!(w.t1.replica().outbox().all(|t| t.id.replica != t2));
    let hello = w.t1.hello(now).unwrap();
    let replies = w.cloud.handle(now, hello).unwrap();
    // Deliver only T1's upward delta (not its upload of the relayed copies).
    let out = common::deliver(&mut w.t1, now, replies).unwrap();
    for m in out {
        if let Body::Delta { .. } = m.body {
            w.cloud.handle(now, m).unwrap();
        }
    }
    assert_eq!(
        w.cloud.replica().state().vv().get(&t2),
        2,
        "the cloud knows the state"
    );
    let hello = w.t2.hello(now).unwrap();
    let welcome = w.cloud.handle(now, hello).unwrap();
    let Body::Welcome { acks, .. } = &welcome[0].body else {
        unreachable!()
    };
    // It holds the sealed head it verified (T2's second sale, in full) and acknowledges
    // that one alone: the first sale it knows only as state.
    let ack = acks.get(&t2).expect("the verified head is held");
    assert_eq!((ack.from, ack.seq), (2, 2));
    common::deliver(&mut w.t2, now, welcome).unwrap();
    let left: Vec<u64> = w.t2.replica().outbox().map(|t| t.id.seq).collect();
    assert_eq!(
        left,
        vec![1],
        "the first sale stays queued until the cloud holds it"
    );
    // So T2 uploads it, the cloud logs it, and only then T2's outbox drains.
    w.settle();
    assert_eq!(w.t2.replica().outbox().count(), 0);
}

// --- Deliverable 3: a rolled-back terminal detects it before issuing another number -------

#[test]
fn a_rolled_back_terminal_is_superseded_and_recovers_without_loss() {
    let mut w = World::new();
    let old_copy = w.t1.clone();
    for _ in 0..3 {
        w.sell(1, 1);
    }
    w.settle();
    // The disk goes back to before the three sales (a WAL rollback, a file from yesterday).
    let mut rolled = old_copy;
    let err = {
        let now = w.tick();
        try_sync(&mut rolled, &mut w.cloud, now)
    }
    .unwrap_err();
    assert!(matches!(
        err,
        ProtocolError::Superseded(Superseded::Behind { have: 0, seen: 3 })
    ));
    assert!(matches!(
        rolled.replica_mut().apply(
            w.now,
            Op::Receive {
                lot: w.lot,
                qty: 1,
                reference: "po".into()
            }
        ),
        Err(OpError::Superseded(_))
    ));
    // Recovered, it carries on under a new incarnation with the store's state.
    let fresh = rolled.replica().recover(&mut Rng(3)).unwrap();
    rolled.replace_replica(fresh);
    {
        let now = w.tick();
        sync(&mut rolled, &mut w.cloud, now);
    }
    w.t1 = rolled;
    w.sell(1, 2);
    w.settle();
}

#[test]
fn a_copy_that_issued_a_different_history_is_caught_and_its_units_are_issued_again() {
    let mut w = World::new();
    w.sell(1, 1);
    w.settle();
    let mut copy = w.t1.clone();
    // The original and the copy both sell offline under the same id and sequence numbers.
    let original = w.sell(1, 2);
    let forked = copy
        .replica_mut()
        .apply(
            w.tick(),
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 5,
                scanned: Some(w.lot),
                reference: "rx-copy".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    assert_eq!(original.id, forked.txn.id);
    w.settle(); // the original's sale reaches the cloud first
    w.ledger.record(&forked.txn);
    let err = {
        let now = w.tick();
        try_sync(&mut copy, &mut w.cloud, now)
    }
    .unwrap_err();
    assert!(matches!(err, ProtocolError::Superseded(_)), "{err:?}");
    let recovered = copy.replica().recover(&mut Rng(8)).unwrap();
    copy.replace_replica(recovered);
    // At the next syncs the root refuses the copy's sale as forked and it is issued again
    // under the new incarnation: the 5 units count once.
    for _ in 0..3 {
        {
            let now = w.tick();
            sync(&mut copy, &mut w.cloud, now);
        }
    }
    assert_eq!(copy.replica().salvage().count(), 0);
    assert_eq!(copy.replica().forked().count(), 0);
    w.ledger.check(&w.cloud);
    w.ledger.check(&copy);
    w.settle();
}

#[test]
fn a_key_ring_for_one_store_does_not_open_another() {
    let ring = StoreKeys::new(STORE, link_key(STORE)).with_member(1, None);
    use pharm_sync::auth::KeyRing;
    assert!(ring.link_key(PharmacyId::new(43)).is_none());
    assert!(!ring.is_member(PharmacyId::new(43), 1));
    let peer = Peer::new(
        common::replica(PharmacyId::new(43), ReplicaId::new(1, 0)),
        Arc::new(ring),
        Role::Member,
    );
    assert!(matches!(peer.hello(1), Err(ProtocolError::MissingKey(_))));
}
