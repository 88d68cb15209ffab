//! Durable terminal store: the evidence a leader holds (a head's seal, a relayed copy's
//! seal) is what SQLite holds after a reopen, and a message the network delivers twice
//! after the root refused a relay is taken again without an SQLite error.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pharm_core::ids::PharmacyId;
use std::path::Path;

mod common;

use common::node::session;
use common::{
    Rng, TempDir, link_key, member, member_ring, new_lot, origin_key, replay, root, sell, sync,
};
use pharm_sync::auth::Tag;
use pharm_sync::hlc::Hlc;
use pharm_sync::ids::{ReplicaId, TxnId};
use pharm_sync::message::{Acks, Body, Message};
use pharm_sync::protocol::Peer;
use pharm_sync::replica::Op;
use pharm_sync::replica::Superseded;
use pharm_sync::state::VersionVector;
use pharm_sync::store::{StoreOptions, TerminalStore};
use pharm_sync::txn::{LotKey, Txn};

const STORE: PharmacyId = PharmacyId::new(42);
const CLOUD: ReplicaId = ReplicaId::new(u16::MAX, 0);
const T2: ReplicaId = ReplicaId::new(2, 0);
/// The leader's terminal (its store draws its incarnation).
const LEADER: u16 = 1;

/// A message with a valid hop tag: anyone holding the store's link key can make one.
fn seal(from: ReplicaId, body: Body) -> Message {
    Message::seal(STORE, from, body, &link_key(STORE)).unwrap()
}

fn open(path: &Path) -> TerminalStore {
    TerminalStore::open(
        path,
        STORE,
        LEADER,
        member_ring(STORE, LEADER),
        StoreOptions::default(),
    )
    .unwrap()
}

/// Runs a session of the store `client` against `server` until quiet, or its first error.
fn try_session(client: &mut TerminalStore, server: &mut Peer, now: u64) -> Result<(), String> {
    let mut up = vec![client.peer().hello(now).map_err(|e| e.to_string())?];
    for _ in 0..100 {
        let mut down = Vec::new();
        for m in up.drain(..) {
            down.extend(server.handle(now, m).map_err(|e| e.to_string())?);
        }
        for m in down {
            up.extend(client.apply_messages(now, m).map_err(|e| e.to_string())?);
        }
        if up.is_empty() {
            return Ok(());
        }
    }
    Err("sync did not settle".into())
}

/// The cloud with a lot of 100 units, a durable leader at `path` and the member T2, both
/// synced with the cloud.
fn world(path: &Path) -> (Peer, TerminalStore, Peer, LotKey) {
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
    let mut leader = TerminalStore::create(
        path,
        STORE,
        LEADER,
        member_ring(STORE, LEADER),
        &mut Rng(7919 + 17),
        StoreOptions::default(),
    )
    .unwrap();
    let mut t2 = member(STORE, T2);
    session(&mut leader, &mut cloud, 2);
    sync(&mut t2, &mut cloud, 2);
    (cloud, leader, t2, lot)
}

/// T2's own seal on one of its transactions.
fn t2_seal(t: &Txn) -> Tag {
    t.seal(&origin_key(STORE, T2.terminal), STORE)
}

#[test]
fn a_seal_learned_for_a_head_already_held_survives_reopen() {
    let dir = TempDir::new("head-seal");
    let path = dir.path("leader.db");
    let (mut cloud, mut leader, mut t2, lot) = world(&path);
    // T2 sells and syncs with the cloud: its outbox is empty.
    let sale = sell(&mut t2, 3, lot, 2);
    let effects = t2.replica().state().effects_digest(&T2, None);
    let head_seal = sale.head_seal(&origin_key(STORE, T2.terminal), STORE, &effects);
    sync(&mut t2, &mut cloud, 4);
    assert_eq!(t2.replica().outbox().count(), 0);
    // T2 starts a session with the leader, which does not know the sale yet: T2's delta
    // carries its head, sealed. The network holds that delta a moment...
    let replies = leader.apply_messages(5, t2.hello(5).unwrap()).unwrap();
    let held: Vec<Message> = replies
        .into_iter()
        .flat_map(|m| t2.handle(5, m).unwrap())
        .collect();
    assert!(held.iter().any(|m| matches!(m.body, Body::Delta { .. })));
    // ...while the leader learns the sale from the cloud (an unsealed head).
    session(&mut leader, &mut cloud, 6);
    let head = leader.replica().state().sealed_head(&T2).unwrap().clone();
    assert_eq!(head.txn.id, sale.id);
    assert!(head.seal.is_none());
    // The delayed delta arrives: same head, now with its seal.
    for m in held {
        leader.apply_messages(7, m).unwrap();
    }
    let in_memory = leader.replica().state().sealed_head(&T2).unwrap().seal;
    assert_eq!(in_memory, Some(head_seal), "the leader took the seal");
    drop(leader);
    let leader = open(&path);
    let on_disk = leader.replica().state().sealed_head(&T2).unwrap().seal;
    assert_eq!(on_disk, in_memory, "the head's seal was not persisted");
}

/// The seal `leader` would relay with `id` to a root that holds nothing: the upload it
/// answers a Welcome with. Anyone with the link key can send that Welcome; it changes
/// nothing the leader holds.
fn relayed_seal(leader: &mut TerminalStore, now: u64, id: TxnId) -> Option<Tag> {
    let welcome = seal(
        CLOUD,
        Body::Welcome {
            vv: VersionVector::new(),
            acks: Acks::new(),
            hlc: Hlc(0),
            root: true,
        },
    );
    leader
        .apply_messages(now, welcome)
        .unwrap()
        .into_iter()
        .find_map(|m| match m.body {
            Body::Upload { txns } => txns.into_iter().find(|s| s.txn.id == id),
            _ => None,
        })
        .expect("the leader relays the sale")
        .seal
}

#[test]
fn a_relay_keeps_its_first_seal_in_memory_and_in_sqlite() {
    let dir = TempDir::new("relay-seal");
    let path = dir.path("leader.db");
    let (mut cloud, mut leader, mut t2, lot) = world(&path);
    let sale = sell(&mut t2, 3, lot, 2);
    session(&mut t2, &mut leader, 4);
    // A replay of the sale "from T2" with another seal.
    leader
        .apply_messages(5, replay(STORE, &sale, Tag([0x22; 16])))
        .unwrap();
    let good = Some(t2_seal(&sale));
    assert_eq!(relayed_seal(&mut leader, 6, sale.id), good, "in memory");
    drop(leader);
    let mut leader = open(&path);
    assert_eq!(
        relayed_seal(&mut leader, 7, sale.id),
        good,
        "after a reopen"
    );
    // The root takes the relay, and the leader's copy leaves its outbox.
    session(&mut leader, &mut cloud, 8);
    assert_eq!(cloud.replica().state().vv().get(&T2), sale.id.seq);
    assert_eq!(cloud.replica().state().value(&lot), 98);
    assert_eq!(leader.replica().outbox().count(), 0);
}

#[test]
fn a_duplicated_upload_after_the_root_refused_the_relay_is_taken_again() {
    let dir = TempDir::new("refused-dup");
    let path = dir.path("leader.db");
    let (mut cloud, mut leader, mut t2, lot) = world(&path);
    // T2's upload reaches its leader with a broken seal (altered on the way and tagged
    // again by a member).
    let sale = sell(&mut t2, 3, lot, 2);
    let replies = leader.apply_messages(4, t2.hello(4).unwrap()).unwrap();
    let mut upload = None;
    for m in replies {
        for out in t2.handle(4, m).unwrap() {
            if let Body::Upload { mut txns } = out.body {
                txns.last_mut().unwrap().seal = Some(Tag([7; 16]));
                upload = Some(seal(out.from, Body::Upload { txns }));
            }
        }
    }
    let upload = upload.expect("T2 uploads its sale");
    leader.apply_messages(4, upload.clone()).unwrap();
    assert!(leader.replica().outbox().any(|t| t.id == sale.id));
    // The leader relays; the cloud refuses the run with its seal, so the leader knows its
    // state counts a transaction the root does not take: superseded, durably.
    let r = try_session(&mut leader, &mut cloud, 5);
    assert!(r.is_err());
    let took = Some(Superseded::Took { txn: sale.id });
    assert_eq!(leader.replica().superseded(), took);
    assert_eq!(cloud.replica().state().vv().get(&T2), 0);
    drop(leader);
    assert_eq!(open(&path).replica().superseded(), took, "after a reopen");
    // The POS recovers it: a fresh incarnation whose state comes from the cloud.
    let new_path = dir.path("leader-recovered.db");
    let (mut leader, _) = TerminalStore::recover(
        &path,
        &new_path,
        STORE,
        LEADER,
        member_ring(STORE, LEADER),
        &mut Rng(31),
        StoreOptions::default(),
    )
    .unwrap();
    let path = new_path;
    session(&mut leader, &mut cloud, 5);
    assert_eq!(leader.replica().outbox().count(), 0);
    // The network delivers T2's upload once more (a duplicate).
    let again = leader.apply_messages(6, upload);
    assert!(
        again.is_ok(),
        "a duplicated message is not idempotent at the durable store: {again:?}"
    );
    // What the leader holds is what SQLite holds.
    let relay: Vec<TxnId> = leader.replica().outbox().map(|t| t.id).collect();
    drop(leader);
    let mut leader = open(&path);
    assert_eq!(
        leader.replica().outbox().map(|t| t.id).collect::<Vec<_>>(),
        relay
    );
    // T2 still holds its sale and delivers it itself; everything converges.
    assert!(t2.replica().outbox().any(|t| t.id == sale.id));
    sync(&mut t2, &mut cloud, 7);
    session(&mut leader, &mut cloud, 8);
    assert_eq!(t2.replica().outbox().count(), 0);
    assert_eq!(leader.replica().outbox().count(), 0);
    for value in [
        cloud.replica().state().value(&lot),
        t2.replica().state().value(&lot),
        leader.replica().state().value(&lot),
    ] {
        assert_eq!(value, 98);
    }
}
