//! Crash points (feature `crash-points`): a write transaction killed after each of its
//! statements, before COMMIT, leaves a file that reopens with exactly the state of the
//! last successful commit; the reopened store then does what an uncrashed one would.
#![cfg(feature = "crash-points")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

mod common;

use common::node::session;
use common::{Rng, TempDir, member_ring, new_lot, root};
use pharm_core::ids::PharmacyId;
use pharm_sync::ids::ReplicaId;
use pharm_sync::message::Message;
use pharm_sync::protocol::Peer;
use pharm_sync::replica::{Attachments, Op};
use pharm_sync::store::{StoreError, StoreOptions, TerminalStore};
use pharm_sync::txn::LotKey;

const STORE: PharmacyId = PharmacyId::new(42);
const T1: u16 = 1;
const CLOUD: ReplicaId = ReplicaId::new(0, 77);
const NOW: u64 = 1_776_240_000_000;
/// More write statements than any one transaction here runs.
const MOST: u32 = 400;

fn open(path: &Path) -> Result<TerminalStore, StoreError> {
    common::open_member(path, STORE, T1)
}

fn receive(root: &mut Peer, sku: u32, number: &str, at: u64) -> LotKey {
    root.replica_mut()
        .apply(
            at,
            Op::ReceiveNew {
                lot: new_lot(sku, number, "2027-01-31", false),
                qty: 100,
                reference: format!("inv-{number}"),
            },
        )
        .unwrap()
        .new_lot()
        .unwrap()
}

fn dispense(lot: LotKey, qty: u64) -> Op {
    Op::Dispense {
        today: common::date("2026-03-10"),
        sku: 1,
        qty,
        scanned: Some(lot),
        reference: "rx".into(),
        attachments: Attachments::default(),
    }
}

/// The same world every time: a terminal store that took one lot from the cloud and
/// dispensed from it once.
fn world(dir: &TempDir, name: &str) -> (TerminalStore, Peer, LotKey) {
    let path = dir.path(name);
    let mut entropy = Rng(9_001);
    let mut store = TerminalStore::create(
        &path,
        STORE,
        T1,
        member_ring(STORE, T1),
        &mut entropy,
        StoreOptions::default(),
    )
    .unwrap();
    let mut cloud = root(STORE, CLOUD);
    let lot = receive(&mut cloud, 1, "L1", NOW);
    session(&mut store, &mut cloud, NOW + 1_000);
    store.apply(NOW + 2_000, dispense(lot, 3)).unwrap();
    (store, cloud, lot)
}

/// What the file holds, as a comparable text: the version vector, every lot's value, the
/// stored transactions and the queues.
fn snapshot(store: &TerminalStore) -> String {
    let r = store.replica();
    let lots: Vec<(LotKey, i64)> = r.state().lots().map(|(i, v)| (i.key, v)).collect();
    format!(
        "{:?} {:?} {:?} {} {}",
        r.state().vv(),
        lots,
        store.stored_transactions().unwrap(),
        r.pending_claims().count(),
        r.pending_pmp_reports().count()
    )
}

fn crashed(result: Result<impl std::fmt::Debug, StoreError>) -> u32 {
    match result {
        Err(StoreError::Crashed { writes }) => writes,
        other => panic!("expected a crash, got {other:?}"),
    }
}

#[test]
fn a_dispense_killed_after_any_statement_reopens_at_the_last_commit() {
    let dir = TempDir::new("crash-dispense");
    let (mut oracle, _, lot) = world(&dir, "oracle.db");
    let before = snapshot(&oracle);
    oracle.apply(NOW + 3_000, dispense(lot, 5)).unwrap();
    let after = snapshot(&oracle);
    assert_ne!(before, after);
    let mut points = 0;
    for k in 0..MOST {
        let name = format!("t{k}.db");
        let (mut store, _, _) = world(&dir, &name);
        store.crash_at(k);
        let writes = crashed(store.apply(NOW + 3_000, dispense(lot, 5)));
        assert!(writes <= k);
        // Dead: it refuses further use until reopened.
        assert!(matches!(
            store.apply(NOW + 3_100, dispense(lot, 1)),
            Err(StoreError::Poisoned)
        ));
        drop(store);
        let mut reopened = open(&dir.path(&name)).unwrap();
        assert_eq!(snapshot(&reopened), before, "crash after {k} statements");
        reopened.apply(NOW + 3_000, dispense(lot, 5)).unwrap();
        assert_eq!(snapshot(&reopened), after, "crash after {k} statements");
        drop(reopened);
        assert_eq!(snapshot(&open(&dir.path(&name)).unwrap()), after);
        points += 1;
        if writes < k {
            // It ran every statement and crashed just before COMMIT.
            break;
        }
    }
    assert!(
        points > 3,
        "a dispense writes several statements ({points})"
    );
}

#[test]
fn a_sync_message_killed_after_any_statement_reopens_at_the_last_commit() {
    let dir = TempDir::new("crash-sync");
    let (mut oracle, mut oracle_cloud, _) = world(&dir, "oracle.db");
    let before = snapshot(&oracle);
    receive(&mut oracle_cloud, 2, "L2", NOW + 2_500);
    session(&mut oracle, &mut oracle_cloud, NOW + 3_000);
    let after = snapshot(&oracle);
    assert_ne!(before, after);
    let mut points = 0;
    for k in 0..MOST {
        let name = format!("s{k}.db");
        let (mut store, mut cloud, _) = world(&dir, &name);
        receive(&mut cloud, 2, "L2", NOW + 2_500);
        store.crash_at(k);
        // The crash point waits for the first message that writes something.
        let mut up: Vec<Message> = vec![store.peer().hello(NOW + 3_000).unwrap()];
        let writes = 'session: loop {
            assert!(!up.is_empty(), "the session ended without a write");
            let down: Vec<Message> = up
                .drain(..)
                .flat_map(|m| cloud.handle(NOW + 3_000, m).unwrap())
                .collect();
            for m in down {
                match store.apply_messages(NOW + 3_000, m) {
                    Ok(replies) => up.extend(replies),
                    Err(e) => break 'session crashed(Err::<(), _>(e)),
                }
            }
        };
        assert!(writes <= k);
        drop(store);
        let mut reopened = open(&dir.path(&name)).unwrap();
        assert_eq!(snapshot(&reopened), before, "crash after {k} statements");
        // The restarted terminal syncs again with the same cloud and ends where the
        // uncrashed one did.
        session(&mut reopened, &mut cloud, NOW + 4_000);
        assert_eq!(snapshot(&reopened), after, "crash after {k} statements");
        points += 1;
        if writes < k {
            break;
        }
    }
    assert!(
        points > 3,
        "a download writes several statements ({points})"
    );
}

#[test]
fn a_killed_store_lets_go_of_its_file() {
    let dir = TempDir::new("crash-kill");
    let (mut store, _, lot) = world(&dir, "k.db");
    let before = snapshot(&store);
    // Exclusive locking: a second open fails while the store lives.
    assert!(open(&dir.path("k.db")).is_err());
    store.kill();
    assert!(matches!(
        store.apply(NOW + 3_000, dispense(lot, 1)),
        Err(StoreError::Poisoned)
    ));
    assert_eq!(snapshot(&open(&dir.path("k.db")).unwrap()), before);
}
