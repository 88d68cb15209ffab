//! Regression tests: forged or missing evidence (acknowledgements, refusals, claims, seals)
//! never costs a unit.
//!
//! Each test plays one way a member holding the store's link key (any terminal of the
//! store), or a lossy network, could try to make a terminal drop, forget or stop issuing
//! units, and checks the property that must hold: nothing is dropped without the root's
//! sealed word, nobody is superseded by a claim without evidence, and after honest syncs
//! every replica holds what the ledger of business events says.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pharm_core::ids::PharmacyId;
use std::sync::Arc;

use common::{
    Rng, deliver, link_key, member, new_lot, origin_key, replay, root, sell, sell_sku, sync,
    try_sync,
};
use pharm_core::time::Date;
use pharm_sync::auth::{Digest, Tag};
use pharm_sync::codec::{self, DecodeLimits};
use pharm_sync::hlc::Hlc;
use pharm_sync::ids::{ReplicaId, TxnId};
use pharm_sync::message::{Ack, Acks, Body, Message, Refusal};
use pharm_sync::protocol::{Peer, ProtocolError};
use pharm_sync::replica::Op;
use pharm_sync::replica::{Attachments, MAX_LINE_QTY, Superseded};
use pharm_sync::state::VersionVector;
use pharm_sync::txn::{Line, LotInfo, LotKey, Reason, SealedTxn, Txn, TxnKind};

const STORE: PharmacyId = PharmacyId::new(42);
const CLOUD: ReplicaId = ReplicaId::new(u16::MAX, 0);
const T1: ReplicaId = ReplicaId::new(1, 0);
const T2: ReplicaId = ReplicaId::new(2, 0);
const T3: ReplicaId = ReplicaId::new(3, 0);

fn today() -> Date {
    "2026-03-10".parse().unwrap()
}

/// A message with a valid hop tag: anyone holding the store's link key can make one.
fn seal(from: ReplicaId, body: Body) -> Message {
    Message::seal(STORE, from, body, &link_key(STORE)).unwrap()
}

/// The cloud with a lot of 100 units; `terminals` synced with it.
fn world(terminals: &[ReplicaId]) -> (Peer, Vec<Peer>, LotKey) {
    let mut cloud = root(STORE, CLOUD);
    let commit = cloud
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
    let lot = commit.new_lot().unwrap();
    let mut peers: Vec<Peer> = terminals.iter().map(|&id| member(STORE, id)).collect();
    for p in &mut peers {
        sync(p, &mut cloud, 2);
    }
    (cloud, peers, lot)
}

/// Sells `qty` units of the scanned `lot` of SKU 1.
/// A transaction of `replica` made up by someone else, chained onto `prev`.
fn made_up(replica: ReplicaId, seq: u64, prev: Digest, lines: Vec<Line>) -> Txn {
    let mut t = Txn {
        id: TxnId { replica, seq },
        hlc: Hlc(1 << 20),
        kind: TxnKind::Dispense,
        reason: Reason::None,
        lines,
        new_lots: vec![],
        holds: vec![],
        transfer: None,
        meta: vec![],
        compensates: None,
        reference: "forged".into(),
        prev,
        digest: Digest::default(),
    };
    t.link(&mut Vec::new()).unwrap();
    t
}

// --- write_off of a lot above MAX_LINE_QTY ------------------------------------------------

#[test]
fn a_write_off_of_a_lot_above_max_line_qty_flows_through_sync() {
    let (mut cloud, mut peers, _) = world(&[T1]);
    let t1 = &mut peers[0];
    let commit = t1
        .replica_mut()
        .apply(
            10,
            Op::ReceiveNew {
                lot: new_lot(2, "B", "2027-01-31", false),
                qty: MAX_LINE_QTY,
                reference: "po".into(),
            },
        )
        .unwrap();
    let lot = commit.new_lot().unwrap();
    t1.replica_mut()
        .apply(
            11,
            Op::Receive {
                lot,
                qty: MAX_LINE_QTY,
                reference: "po".into(),
            },
        )
        .unwrap();
    let w = t1
        .replica_mut()
        .apply(
            12,
            Op::WriteOff {
                lot,
                reason: Reason::Expired,
                reference: "wo".into(),
            },
        )
        .unwrap();
    // Every line is one every receiver accepts, and together they write off the whole lot.
    assert!(
        w.txn
            .lines
            .iter()
            .all(|l| l.lot == lot && l.delta < 0 && l.delta.unsigned_abs() <= MAX_LINE_QTY),
        "{:?}",
        w.txn.lines
    );
    assert_eq!(
        w.txn.lines.iter().map(|l| l.delta).sum::<i64>(),
        -2 * MAX_LINE_QTY as i64
    );
    assert_eq!(t1.replica().state().value(&lot), 0);
    // An ordinary receipt after it.
    t1.replica_mut()
        .apply(
            13,
            Op::Receive {
                lot,
                qty: 1,
                reference: "po".into(),
            },
        )
        .unwrap();
    let r = try_sync(t1, &mut cloud, 14);
    assert!(r.is_ok(), "the upload was refused: {r:?}");
    assert_eq!(t1.replica().outbox().count(), 0, "the outbox drains");
    assert_eq!(cloud.replica().state().value(&lot), 1);
    assert_eq!(
        cloud.replica().state().observable(),
        t1.replica().state().observable()
    );
}

// --- acknowledgements are the root's, sealed ----------------------------------------------

#[test]
fn a_forged_ack_never_drops_an_unsynced_sale() {
    let (mut cloud, mut peers, lot) = world(&[T1, T3]);
    let (t1, rest) = peers.split_at_mut(1);
    let (t1, leader) = (&mut t1[0], &mut rest[0]);
    // T1 sells while the cloud is unreachable and syncs through T3, its store leader.
    let sale = sell(t1, 10, lot, 5);
    sync(t1, leader, 11);
    assert_eq!(
        t1.replica().outbox().count(),
        1,
        "only the root's ack empties it"
    );
    // T3 (compromised) never relays the sale; it knows the sale's digest (anyone holding a
    // transaction can compute it) and answers T1 with forged acks: with no valid seal, and
    // sealed under T3's own origin key (the only origin key it holds).
    let head = leader.replica().state().head(&T1).unwrap().clone();
    assert_eq!(head.digest, sale.digest);
    let junk = Ack {
        from: 1,
        seq: head.id.seq,
        digest: head.digest,
        seal: Tag([0xA5; 16]),
    };
    let wrong_key = Ack::sealed(1, head.id.seq, head.digest, &origin_key(STORE, 3), STORE);
    for (now, ack) in [(12, junk), (13, wrong_key)] {
        let acks = Acks::from([(T1, ack)]);
        let welcome = seal(
            T3,
            Body::Welcome {
                vv: VersionVector::new(),
                acks: acks.clone(),
                hlc: Hlc(0),
                root: true,
            },
        );
        let upload_ack = seal(
            T3,
            Body::UploadAck {
                vv: VersionVector::new(),
                acks,
                refused: vec![],
            },
        );
        for forged in [welcome, upload_ack] {
            let kind = forged.body.kind();
            t1.handle(now, forged).unwrap();
            assert_eq!(
                t1.replica().outbox().count(),
                1,
                "a forged ack in a {kind} dropped the unrelayed sale"
            );
            assert!(t1.replica().superseded().is_none());
        }
    }
    // T1 goes on selling and now syncs with the cloud directly, twice.
    sell(t1, 14, lot, 1);
    sync(t1, &mut cloud, 15);
    sync(t1, &mut cloud, 16);
    // The cloud holds both of T1's sales, and acknowledges them with its seal.
    let welcome = cloud.handle(17, t1.hello(17).unwrap()).unwrap();
    let ack = welcome
        .iter()
        .find_map(|m| match &m.body {
            Body::Welcome { acks, .. } => acks.get(&T1).copied(),
            _ => None,
        })
        .expect("the cloud acknowledges T1");
    assert_eq!((ack.from, ack.seq), (1, 2));
    assert!(ack.is_sealed_by(&origin_key(STORE, 1), STORE));
    assert_eq!(t1.replica().outbox().count(), 0, "T1's outbox drains");
    assert_eq!(cloud.replica().state().value(&lot), 94);
    assert_eq!(t1.replica().state().value(&lot), 94);
}

// --- refusals are the root's, sealed ------------------------------------------------------

#[test]
fn a_refusal_without_the_roots_seal_never_supersedes_or_drops_a_sale() {
    let (mut cloud, mut peers, lot) = world(&[T1]);
    let t1 = &mut peers[0];
    let sale = sell(t1, 10, lot, 3);
    // A member refuses T1's own sale "as forked": without a seal, and with a junk one.
    for (now, seal_of_refusal) in [(11, None), (12, Some(Tag([0x5A; 16])))] {
        let forged = seal(
            T3,
            Body::UploadAck {
                vv: VersionVector::new(),
                acks: Acks::new(),
                refused: vec![Refusal {
                    id: sale.id,
                    seal: seal_of_refusal,
                }],
            },
        );
        t1.handle(now, forged).unwrap();
        assert!(t1.replica().superseded().is_none(), "{seal_of_refusal:?}");
        assert!(t1.replica().outbox().any(|t| t.id == sale.id));
        assert_eq!(t1.replica().forked().count(), 0);
    }
    sync(t1, &mut cloud, 13);
    assert_eq!(t1.replica().outbox().count(), 0);
    assert_eq!(cloud.replica().state().value(&lot), 97);
}

// --- a claim is not evidence -------------------------------------------------------------

#[test]
fn a_claim_without_evidence_never_supersedes_an_honest_terminal() {
    let (mut cloud, mut peers, lot) = world(&[T1]);
    let t1 = &mut peers[0];
    sell(t1, 10, lot, 1);
    let mut vv = VersionVector::new();
    vv.raise(T1, 1_000);
    let claims = [
        Body::Hello {
            vv: vv.clone(),
            hlc: Hlc(0),
        },
        Body::Welcome {
            vv: vv.clone(),
            acks: Acks::new(),
            hlc: Hlc(0),
            root: true,
        },
        Body::UploadAck {
            vv,
            acks: Acks::new(),
            refused: vec![],
        },
    ];
    for (now, body) in (11..).zip(claims) {
        let kind = body.kind();
        let r = t1.handle(now, seal(T3, body));
        assert!(r.is_ok(), "a {kind} claim was an error: {r:?}");
        assert!(
            t1.replica().superseded().is_none(),
            "an unproven claim in a {kind} stopped the terminal"
        );
        let later = t1.replica_mut().apply(
            now,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 1,
                scanned: Some(lot),
                reference: "rx".into(),
                attachments: Attachments::default(),
            },
        );
        assert!(later.is_ok(), "after a {kind} claim: {later:?}");
    }
    // Its four sales all reach the cloud.
    sync(t1, &mut cloud, 20);
    assert_eq!(t1.replica().outbox().count(), 0);
    assert_eq!(cloud.replica().state().vv().get(&T1), 4);
    assert_eq!(cloud.replica().state().value(&lot), 96);
}

// --- a relay impersonating another terminal ----------------------------------------------

/// A session of `client` with `server` that ends: `Err` when it fails or never settles
/// (the same upload and answer going back and forth).
fn session(client: &mut Peer, server: &mut Peer, now: u64) -> Result<(), String> {
    let run = std::panic::AssertUnwindSafe(|| try_sync(client, server, now));
    match std::panic::catch_unwind(run) {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("the session never settles".into()),
    }
}

/// Members share the link key, so a hostile one can pass a made-up transaction off as a
/// relay of T2's to a leader, which cannot check origin seals (the design's limit): the
/// leader (T1) is handed a sale of 60 units "by T2", T2 never having sold anything.
/// Returns the cloud, the leader and T2.
fn leader_took_a_forged_relay() -> (Peer, Peer, Peer, LotKey) {
    let (cloud, mut peers, lot) = world(&[T1, T2]);
    let t2 = peers.pop().unwrap();
    let mut leader = peers.pop().unwrap();
    assert_eq!(leader.replica().state().vv().get(&T2), 0);
    let forged = made_up(T2, 1, Digest::default(), vec![Line { lot, delta: -60 }]);
    let upload = seal(
        T2,
        Body::Upload {
            txns: vec![SealedTxn {
                txn: Arc::new(forged),
                seal: Some(Tag([0xEE; 16])),
            }],
        },
    );
    // The leader cannot tell (today it takes the sale); what follows must hold either way.
    let _taken = leader.handle(10, upload);
    (cloud, leader, t2, lot)
}

/// What must hold despite the design's limit: the impersonated terminal is never
/// superseded nor loses a unit; the leader, which took the forgery, learns from the root's
/// sealed refusal of its relay that its state may count a transaction that does not exist:
/// it is superseded ([`Superseded::Took`]) until the POS recovers it, and the recovered
/// leader converges with everyone.
#[test]
fn a_relay_impersonating_a_terminal_fails_loud_at_the_leader_and_never_costs_a_unit() {
    let (mut cloud, mut leader, mut t2, lot) = leader_took_a_forged_relay();
    sell(&mut t2, 11, lot, 1);
    sync(&mut t2, &mut cloud, 12);
    let r = session(&mut leader, &mut cloud, 13);
    assert!(r.is_err(), "{r:?}");
    assert_eq!(
        leader.replica().superseded(),
        Some(Superseded::Took {
            txn: TxnId {
                replica: T2,
                seq: 1
            }
        })
    );
    assert_eq!(
        cloud.replica().state().value(&lot),
        99,
        "the cloud is right"
    );
    // T2 syncs through the leader: refused (the leader's T2 is another history), never
    // superseded, its sale kept until the cloud holds it (it does).
    let _ = session(&mut t2, &mut leader, 14);
    assert!(t2.replica().superseded().is_none());
    assert_eq!(t2.replica().outbox().count(), 0);
    // The POS recovers the leader: a fresh incarnation that takes the store's state from
    // the cloud. Then a sale through it reaches everyone once.
    let fresh = leader.replica().recover(&mut Rng(5)).unwrap();
    leader.replace_replica(fresh);
    sync(&mut leader, &mut cloud, 15);
    sell(&mut t2, 16, lot, 1);
    sync(&mut t2, &mut leader, 17);
    sync(&mut leader, &mut cloud, 18);
    sync(&mut t2, &mut cloud, 19);
    for (who, p) in [("leader", &leader), ("cloud", &cloud), ("T2", &t2)] {
        assert_eq!(
            p.replica().state().value(&lot),
            98,
            "{who}: the ledger says 98"
        );
    }
    assert!(t2.replica().superseded().is_none());
    assert_eq!(t2.replica().outbox().count(), 0);
}

/// The same forged relay, and a leader whose messages reach the cloud out of order (its
/// state delta before its upload): the root must not take the forged units either way.
#[test]
fn a_forged_relay_never_costs_the_root_a_unit_whatever_order_the_leaders_messages_arrive_in() {
    let (mut cloud, mut leader, mut t2, lot) = leader_took_a_forged_relay();
    // T2 sells twice and syncs with the cloud; the leader, holding the forgery, refuses
    // the cloud's state of T2.
    sell(&mut t2, 11, lot, 1);
    sell(&mut t2, 12, lot, 1);
    sync(&mut t2, &mut cloud, 13);
    assert!(session(&mut leader, &mut cloud, 14).is_err());
    // T2's third sale goes to the leader (which refuses it: another history of T2).
    sell(&mut t2, 15, lot, 1);
    let _ = session(&mut t2, &mut leader, 16);
    let welcome = cloud.handle(17, leader.hello(17).unwrap()).unwrap();
    let mut out = deliver(&mut leader, 17, welcome).unwrap_or_default();
    out.sort_by_key(|m| !matches!(m.body, Body::Delta { .. }));
    for m in out {
        // The root may refuse a message; what it takes is what counts.
        if let Ok(replies) = cloud.handle(17, m) {
            let _ = deliver(&mut leader, 17, replies);
        }
    }
    sync(&mut t2, &mut cloud, 18);
    assert_eq!(
        cloud.replica().state().value(&lot),
        97,
        "the ledger says 97"
    );
    assert_eq!(t2.replica().state().value(&lot), 97);
    assert_eq!(t2.replica().outbox().count(), 0);
}

// --- a refusal without the root's seal ends the session ------------------------------------

/// A terminal restored from an older copy syncs through a leader that relayed the
/// original's sale but holds no acknowledgement of it yet: the leader refuses the copy's
/// upload as another history, without a seal (it cannot seal). The copy keeps its sales
/// (only the root judges them) and the session ends.
#[test]
fn a_refusal_without_the_roots_seal_ends_a_session_with_a_leader() {
    let (_cloud, mut peers, lot) = world(&[T1, T2]);
    let mut t2 = peers.pop().unwrap();
    let mut leader = peers.pop().unwrap();
    let mut copy = t2.clone();
    sell(&mut t2, 10, lot, 1);
    sync(&mut t2, &mut leader, 11);
    sell(&mut copy, 12, lot, 5);
    sell(&mut copy, 13, lot, 2);
    // The leader refuses the copy's run (without a seal): the session ends.
    let r = session(&mut copy, &mut leader, 14);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(
        copy.replica().outbox().count(),
        2,
        "the copy keeps its sales"
    );
    assert_eq!(leader.replica().state().value(&lot), 99);
}

// --- a replayed relay keeps its first seal ------------------------------------------------

#[test]
fn a_replayed_relay_with_a_junk_seal_never_replaces_the_good_seal() {
    let (mut cloud, mut peers, lot) = world(&[T1, T2]);
    let (l, rest) = peers.split_at_mut(1);
    let (leader, t2) = (&mut l[0], &mut rest[0]);
    // T2 sells and syncs through its leader: the leader holds the sale with T2's good seal.
    let sale = sell(t2, 10, lot, 4);
    sync(t2, leader, 11);
    assert!(leader.replica().outbox().any(|t| t.id == sale.id));
    // Anyone with the link key replays the same transaction "from T2" with a junk seal.
    leader
        .handle(12, replay(STORE, &sale, Tag([0x11; 16])))
        .unwrap();
    // The leader relays to the cloud with the good seal, and the cloud takes it.
    sync(leader, &mut cloud, 13);
    assert_eq!(
        cloud.replica().state().vv().get(&T2),
        sale.id.seq,
        "the cloud refused the relay (leader outbox still holds it: {})",
        leader.replica().outbox().any(|t| t.id == sale.id)
    );
    assert!(!leader.replica().outbox().any(|t| t.id == sale.id));
    assert_eq!(cloud.replica().state().value(&lot), 96);
    // The leader passes the root's acknowledgement on: T2's outbox drains.
    sync(t2, leader, 14);
    assert_eq!(t2.replica().outbox().count(), 0);
}

// --- a forked salvage is judged by the root, whatever the network loses -------------------

/// A file copied to a second device: both run as T1. The copy sells 7 units under a
/// sequence number the cloud already holds the original's history of, is caught, recovered
/// and syncs (its first upload of the salvage lost when `lose_first_upload`); returns the
/// cloud and the copy.
fn forked_copy_recovers(lose_first_upload: bool) -> (Peer, Peer, LotKey) {
    let (mut cloud, mut peers, lot) = world(&[T1]);
    let a = &mut peers[0];
    let mut b = a.clone();
    sell(a, 10, lot, 1);
    sell(a, 11, lot, 1);
    let forked = sell(&mut b, 12, lot, 7);
    assert_eq!(forked.id.seq, 1);
    sync(a, &mut cloud, 13); // the cloud holds A's history: T1 seq 1 and 2
    let err = try_sync(&mut b, &mut cloud, 14).unwrap_err();
    assert!(matches!(err, ProtocolError::Superseded(_)), "{err:?}");
    let recovered = b.replica().recover(&mut Rng(8)).unwrap();
    b.replace_replica(recovered);
    assert_eq!(b.replica().salvage().count(), 1);
    if lose_first_upload {
        // The copy's upload of the salvage is lost on the network; it still gets the
        // Welcome (with the cloud's sealed acks of A's history) and the delta.
        let replies = cloud.handle(15, b.hello(15).unwrap()).unwrap();
        let _lost = deliver(&mut b, 15, replies).unwrap();
    }
    for now in [16, 17, 18] {
        sync(&mut b, &mut cloud, now);
    }
    (cloud, b, lot)
}

#[test]
fn a_forked_copys_units_are_issued_again_when_no_message_is_lost() {
    let (cloud, b, lot) = forked_copy_recovers(false);
    assert_eq!(cloud.replica().state().value(&lot), 91);
    assert_eq!(b.replica().state().value(&lot), 91);
    assert_eq!(b.replica().salvage().count(), 0);
    assert_eq!(b.replica().forked().count(), 0);
    assert_eq!(b.replica().outbox().count(), 0);
}

#[test]
fn a_lost_upload_and_an_ack_never_prune_a_forked_salvage() {
    let (cloud, b, lot) = forked_copy_recovers(true);
    assert_eq!(
        cloud.replica().state().value(&lot),
        91,
        "not 100 - 1 - 1 - 7: the copy's salvage holds {}, its forked list {}, its outbox {}",
        b.replica().salvage().count(),
        b.replica().forked().count(),
        b.replica().outbox().count()
    );
    assert_eq!(b.replica().state().value(&lot), 91);
    assert_eq!(b.replica().salvage().count(), 0);
    assert_eq!(b.replica().forked().count(), 0);
    assert_eq!(b.replica().outbox().count(), 0);
}

// --- lot numbers far apart ----------------------------------------------------------------

/// Lots numbered 4096, 8193, 12290, ...: each one just within the lot index's slack of the
/// end of its origin's vector, which once made every one of them grow the vector by 4,097
/// entries (half a gigabyte for this upload). The bound itself is asserted on the index
/// (`state::index` unit tests); here the root must take such an upload from a member, keep
/// every lot findable with its facts, and go on counting them.
#[test]
fn lots_numbered_far_apart_are_all_taken_and_counted_by_the_root() {
    const STEP: u32 = 4097;
    const PER_TXN: u32 = 1024;
    let mut cloud = root(STORE, CLOUD);
    let lot_key = |i: u32| LotKey {
        origin: T3,
        local_no: 4096 + i * STEP,
    };
    let mut txns = Vec::new();
    let mut prev = Digest::default();
    for seq in 1..=4u64 {
        let first = (seq as u32 - 1) * PER_TXN;
        let mut t = made_up(T3, seq, prev, vec![]);
        t.kind = TxnKind::Receive;
        t.new_lots = (first..first + PER_TXN)
            .map(|i| LotInfo {
                key: lot_key(i),
                created_seq: seq,
                sku: 9,
                ndc: "0093-7146-56".parse().unwrap(),
                lot_number: String::new(),
                expiry: today(),
                controlled: false,
            })
            .collect();
        // Each receipt puts units on its first lot.
        t.lines = vec![Line {
            lot: lot_key(first),
            delta: i64::from(first) + 1,
        }];
        t.link(&mut Vec::new()).unwrap();
        prev = t.digest;
        txns.push(t);
    }
    let mut sealed: Vec<SealedTxn> = txns
        .into_iter()
        .map(|t| SealedTxn::unsealed(Arc::new(t)))
        .collect();
    let last = sealed.last_mut().unwrap();
    last.seal = Some(last.txn.seal(&origin_key(STORE, 3), STORE));
    let bytes = codec::encode(&seal(T3, Body::Upload { txns: sealed })).unwrap();
    cloud
        .handle_bytes(10, &bytes, &DecodeLimits::default())
        .unwrap();
    let state = cloud.replica().state();
    assert_eq!(state.lot_count(), 4 * PER_TXN as usize);
    assert_eq!(state.vv().get(&T3), 4);
    for i in 0..4 * PER_TXN {
        assert_eq!(state.sku_of(&lot_key(i)), Some(9), "lot {i}");
    }
    assert!(!state.knows_lot(&LotKey {
        origin: T3,
        local_no: 4097,
    }));
    for seq in 0..4 {
        let first = seq * PER_TXN;
        assert_eq!(state.value(&lot_key(first)), i64::from(first) + 1);
    }
    assert_eq!(
        state.sku_lots(9).map(|(_, v)| v).sum::<i64>(),
        1 + 1025 + 2049 + 3073
    );
    // A terminal learns them all from the cloud and sells from the last one.
    let mut t1 = member(STORE, T1);
    sync(&mut t1, &mut cloud, 11);
    let last = lot_key(3 * PER_TXN);
    assert_eq!(t1.replica().state().lot_count(), 4 * PER_TXN as usize);
    sell_sku(&mut t1, 12, 9, last, 73);
    sync(&mut t1, &mut cloud, 13);
    assert_eq!(cloud.replica().state().value(&last), 3000);
    assert_eq!(
        t1.replica().state().observable(),
        cloud.replica().state().observable()
    );
}
