//! Focused semantics: stock counts, restore and incarnations, FEFO dispensing, oversell and
//! reconciliation, tenant isolation, idempotent upload, transfers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Rng, member, new_lot as lot, root, sync, try_sync};
use pharm_core::ids::PharmacyId;
use pharm_core::time::Date;
use pharm_sync::ids::ReplicaId;
use pharm_sync::message::{Body, Message};
use pharm_sync::protocol::{Peer, ProtocolError};
use pharm_sync::reconcile::{Action, reconcile};
use pharm_sync::replica::Op;
use pharm_sync::replica::{Attachments, OpError, Superseded};
use pharm_sync::txn::{LotKey, TransferId};

const STORE: PharmacyId = PharmacyId::new(1);
const SERVER: ReplicaId = ReplicaId::new(0, 0);

fn today() -> Date {
    "2026-03-10".parse().unwrap()
}

fn store_with_terminals(n: u16) -> (Peer, Vec<Peer>, Vec<LotKey>) {
    let mut server = root(STORE, SERVER);
    let mut keys = Vec::new();
    for (i, (number, expiry)) in [
        ("A", "2026-06-30"),
        ("B", "2026-09-30"),
        ("C", "2026-03-01"),
    ]
    .iter()
    .enumerate()
    {
        let commit = server
            .replica_mut()
            .apply(
                1,
                Op::ReceiveNew {
                    lot: lot(1, number, expiry, false),
                    qty: 10 * (i as u64 + 1),
                    reference: "po".into(),
                },
            )
            .unwrap();
        let k = commit.new_lot().unwrap();
        keys.push(k);
    }
    let mut terminals: Vec<Peer> = (1..=n)
        .map(|t| member(STORE, ReplicaId::new(t, 0)))
        .collect();
    for t in &mut terminals {
        sync(t, &mut server, 2);
    }
    (server, terminals, keys)
}

/// An upload sealed by `from` (a member of `STORE`).
fn upload(from: &Peer, txns: Vec<pharm_sync::txn::Txn>) -> Message {
    Message::seal(
        STORE,
        from.replica().id(),
        Body::Upload {
            txns: common::sealed_all(STORE, txns),
        },
        &common::link_key(STORE),
    )
    .unwrap()
}

#[test]
fn fefo_dispense_skips_expired_and_held_lots_and_spills() {
    let (_, mut ts, keys) = store_with_terminals(1);
    let t = ts[0].replica_mut();
    // C expired on 2026-03-01; A (10 units, June) goes first, then B.
    let c = t
        .apply(
            10,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 14,
                scanned: None,
                reference: "rx-1".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    let lines: Vec<(LotKey, i64)> = c.txn.lines.iter().map(|l| (l.lot, l.delta)).collect();
    assert_eq!(lines, vec![(keys[0], -10), (keys[1], -4)]);
    let commit = t
        .apply(
            11,
            Op::Hold {
                lot: keys[1],
                reference: "recall 2026-17".into(),
            },
        )
        .unwrap();
    let hold = commit.hold().unwrap();
    assert_eq!(
        t.apply(
            12,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 1,
                scanned: Some(keys[1]),
                reference: "rx-2".into(),
                attachments: Attachments::default()
            }
        ),
        Err(OpError::Held(keys[1]))
    );
    // With B held and A empty, an oversell charges the earliest unexpired unheld lot... none:
    // only the expired C remains, which is then charged and goes negative (flagged).
    let c = t
        .apply(
            13,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 2,
                scanned: None,
                reference: "rx-3".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    assert_eq!(c.negative.len(), 1);
    t.apply(
        14,
        Op::Release {
            hold,
            reference: "recall closed".into(),
        },
    )
    .unwrap();
    assert!(!t.state().is_held(&keys[1]));
}

#[test]
fn stock_count_applies_on_top_of_unseen_dispenses() {
    let (mut server, mut ts, keys) = store_with_terminals(2);
    // Terminal 2 dispenses 3 units of A offline; terminal 1 counts A at 8 without seeing it.
    ts[1]
        .replica_mut()
        .apply(
            10,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 3,
                scanned: Some(keys[0]),
                reference: "rx".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    ts[0]
        .replica_mut()
        .apply(
            11,
            Op::StockCount {
                lot: keys[0],
                counted: 8,
                reference: "count sheet 7".into(),
            },
        )
        .unwrap();
    for t in ts.iter_mut() {
        sync(t, &mut server, 20);
    }
    for t in ts.iter_mut() {
        sync(t, &mut server, 21);
    }
    // Final value = counted + Σ transactions the count did not observe = 8 − 3.
    assert_eq!(server.replica().state().value(&keys[0]), 5);
    assert_eq!(ts[0].replica().state().value(&keys[0]), 5);
    // Counting a matching value records nothing.
    assert!(
        ts[0]
            .replica_mut()
            .apply(
                30,
                Op::StockCount {
                    lot: keys[0],
                    counted: 5,
                    reference: "recount".into()
                }
            )
            .is_err_and(|e| e == OpError::NothingToRecord)
    );
}

#[test]
fn restored_terminal_needs_a_new_incarnation() {
    let (mut server, mut ts, keys) = store_with_terminals(1);
    let backup = ts[0].replica().clone();
    // After the backup the terminal receives 5 units and syncs them.
    ts[0]
        .replica_mut()
        .apply(
            10,
            Op::Receive {
                lot: keys[0],
                qty: 5,
                reference: "po".into(),
            },
        )
        .unwrap();
    sync(&mut ts[0], &mut server, 11);
    assert_eq!(server.replica().state().value(&keys[0]), 15);

    // Wrong: restore under the old identity. Its new receipt reuses seq 1 with other
    // contents: the server refuses it as another history (the units are not swallowed
    // silently as a duplicate) and the copy learns that it is superseded.
    let mut same = member(STORE, backup.id());
    same.replace_replica(backup.clone());
    same.replica_mut()
        .apply(
            20,
            Op::Receive {
                lot: keys[0],
                qty: 7,
                reference: "po".into(),
            },
        )
        .unwrap();
    let err = try_sync(&mut same, &mut server, 21).unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::Superseded(Superseded::Behind { .. } | Superseded::Forked { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        server.replica().state().value(&keys[0]),
        15,
        "nothing of the fork applied"
    );

    // Right: a new incarnation keeps every unit.
    let mut fresh = member(STORE, backup.id());
    fresh.replace_replica(backup.reincarnated(&mut Rng(7)).unwrap());
    assert_eq!(fresh.replica().queued_by_earlier_incarnation().count(), 0);
    fresh
        .replica_mut()
        .apply(
            20,
            Op::Receive {
                lot: keys[0],
                qty: 7,
                reference: "po".into(),
            },
        )
        .unwrap();
    sync(&mut fresh, &mut server, 21);
    assert_eq!(server.replica().state().value(&keys[0]), 22);
    assert_eq!(fresh.replica().state().value(&keys[0]), 22);
}

#[test]
fn oversell_is_flagged_and_reconciled_by_the_server_only_once() {
    let (mut server, mut ts, keys) = store_with_terminals(2);
    // Both terminals sell lot A's 10 units offline: A goes to −10 after the merge.
    for (i, t) in ts.iter_mut().enumerate() {
        let c = t
            .replica_mut()
            .apply(
                10 + i as u64,
                Op::Dispense {
                    today: today(),
                    sku: 1,
                    qty: 10,
                    scanned: Some(keys[0]),
                    reference: "rx".into(),
                    attachments: Attachments::default(),
                },
            )
            .unwrap();
        assert!(c.negative.is_empty(), "locally each sale looked fine");
    }
    for t in ts.iter_mut() {
        sync(t, &mut server, 20);
    }
    assert_eq!(server.replica().state().value(&keys[0]), -10);
    let (found, commits) = reconcile(server.replica_mut(), 30, today()).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].actions,
        vec![Action::MoveFrom {
            lot: keys[1],
            units: 10
        }]
    );
    assert_eq!(commits.len(), 1);
    assert_eq!(server.replica().state().value(&keys[0]), 0);
    assert_eq!(server.replica().state().value(&keys[1]), 10);
    let (again, more) = reconcile(server.replica_mut(), 31, today()).unwrap();
    assert!(again.is_empty() && more.is_empty());
    // The compensation reaches the terminals like any other transaction.
    for t in ts.iter_mut() {
        sync(t, &mut server, 40);
        assert_eq!(t.replica().state().value(&keys[0]), 0);
    }
}

#[test]
fn controlled_discrepancies_become_pharmacist_tasks() {
    let mut server = root(STORE, SERVER);
    let commit = server
        .replica_mut()
        .apply(
            1,
            Op::ReceiveNew {
                lot: lot(9, "OXY1", "2027-01-31", true),
                qty: 5,
                reference: "po".into(),
            },
        )
        .unwrap();
    let cii = commit.new_lot().unwrap();
    server
        .replica_mut()
        .apply(
            1,
            Op::ReceiveNew {
                lot: lot(9, "OXY2", "2027-06-30", true),
                qty: 50,
                reference: "po".into(),
            },
        )
        .unwrap();
    let mut t = member(STORE, ReplicaId::new(1, 0));
    sync(&mut t, &mut server, 2);
    t.replica_mut()
        .apply(
            3,
            Op::Dispense {
                today: today(),
                sku: 9,
                qty: 8,
                scanned: Some(cii),
                reference: "rx-cii".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    sync(&mut t, &mut server, 4);
    let (found, _) = reconcile(server.replica_mut(), 5, today()).unwrap();
    assert_eq!(found[0].actions, vec![Action::PharmacistTask]);
    assert_eq!(
        server.replica().state().value(&cii),
        -3,
        "never corrected automatically"
    );
    assert!(
        reconcile(server.replica_mut(), 6, today())
            .unwrap()
            .0
            .is_empty()
    );
}

#[test]
fn messages_for_another_pharmacy_are_rejected() {
    let mut server = root(STORE, SERVER);
    let other = member(PharmacyId::new(2), ReplicaId::new(1, 0));
    let hello = other.hello(1).unwrap();
    assert_eq!(
        server.handle(1, hello),
        Err(ProtocolError::WrongStore {
            expected: STORE,
            got: PharmacyId::new(2)
        })
    );
}

#[test]
fn uploading_the_same_transactions_repeatedly_changes_nothing() {
    let (mut server, mut ts, keys) = store_with_terminals(1);
    for i in 0..5 {
        ts[0]
            .replica_mut()
            .apply(
                10 + i,
                Op::Dispense {
                    today: today(),
                    sku: 1,
                    qty: 1,
                    scanned: Some(keys[1]),
                    reference: "rx".into(),
                    attachments: Attachments::default(),
                },
            )
            .unwrap();
    }
    let txns: Vec<_> = ts[0].replica().outbox().cloned().collect();
    let all = upload(&ts[0], txns.clone());
    server.handle(20, all.clone()).unwrap();
    let once = server.replica().state().observable();
    for _ in 0..3 {
        server.handle(21, all.clone()).unwrap();
        // Any chunking and order of delivery.
        for t in txns.iter().rev() {
            server.handle(22, upload(&ts[0], vec![t.clone()])).unwrap();
        }
    }
    assert_eq!(server.replica().state().observable(), once);
    assert_eq!(server.replica().state().value(&keys[1]), 15);
}

#[test]
fn transfers_out_and_in() {
    let (_, mut ts, keys) = store_with_terminals(2);
    let commit = ts[0]
        .replica_mut()
        .apply(
            10,
            Op::TransferOut {
                lot: keys[1],
                qty: 5,
                number: 42,
                reference: "to store 2".into(),
            },
        )
        .unwrap();
    let id = commit.transfer().unwrap();
    assert_eq!(
        id,
        TransferId {
            from: STORE,
            number: 42
        }
    );
    assert_eq!(ts[0].replica().state().value(&keys[1]), 15);
    // At the receiving store two terminals scan the same delivery.
    let mut dest_server = root(PharmacyId::new(2), SERVER);
    let mut a = member(PharmacyId::new(2), ReplicaId::new(1, 0));
    let mut b = member(PharmacyId::new(2), ReplicaId::new(2, 0));
    a.replica_mut()
        .apply(
            11,
            Op::TransferIn {
                transfer: id,
                lot: lot(1, "B", "2026-09-30", false),
                qty: 5,
                reference: "from store 1".into(),
            },
        )
        .unwrap();
    b.replica_mut()
        .apply(
            12,
            Op::TransferIn {
                transfer: id,
                lot: lot(1, "B", "2026-09-30", false),
                qty: 5,
                reference: "from store 1".into(),
            },
        )
        .unwrap();
    assert_eq!(
        a.replica_mut().apply(
            13,
            Op::TransferIn {
                transfer: id,
                lot: lot(1, "B", "2026-09-30", false),
                qty: 5,
                reference: "again".into()
            }
        ),
        Err(OpError::AlreadyReceived(id))
    );
    sync(&mut a, &mut dest_server, 14);
    sync(&mut b, &mut dest_server, 15);
    sync(&mut a, &mut dest_server, 16);
    let total: i64 = dest_server.replica().state().lots().map(|(_, v)| v).sum();
    assert_eq!(total, 5, "the delivery counts once");
    assert_eq!(
        a.replica().state().observable(),
        dest_server.replica().state().observable()
    );
}

#[test]
fn messages_have_a_json_form() {
    let (_, ts, _) = store_with_terminals(1);
    let hello = ts[0].hello(5).unwrap();
    let text = serde_json::to_string(&hello).unwrap();
    let back: Message = serde_json::from_str(&text).unwrap();
    assert_eq!(back, hello);
}

#[test]
fn a_new_leader_that_missed_earlier_syncs_still_gets_everything() {
    let (mut cloud, mut ts, keys) = store_with_terminals(1);
    ts[0]
        .replica_mut()
        .apply(
            10,
            Op::Receive {
                lot: keys[1],
                qty: 100,
                reference: "po".into(),
            },
        )
        .unwrap();
    sync(&mut ts[0], &mut cloud, 11);
    assert_eq!(ts[0].replica().outbox().count(), 0, "the root has it");
    // The cloud goes down; a leader that never synced takes over.
    let mut leader = member(STORE, ReplicaId::new(6, 0));
    ts[0]
        .replica_mut()
        .apply(
            12,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 10,
                scanned: Some(keys[1]),
                reference: "rx".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    sync(&mut ts[0], &mut leader, 13); // settles (panics after 64 rounds otherwise)
    assert_eq!(
        leader.replica().state().value(&keys[1]),
        110,
        "20 seeded + 100 received − 10 sold"
    );
    assert_eq!(
        leader.replica().state().value(&keys[1]),
        ts[0].replica().state().value(&keys[1])
    );
    assert_eq!(leader.buffered(), 0);
}

#[test]
fn a_delta_computed_for_another_replica_is_not_joined() {
    let (mut cloud, mut ts, keys) = store_with_terminals(1);
    // A delta computed against the terminal's version, delivered to a replica that has less.
    ts[0]
        .replica_mut()
        .apply(
            10,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 3,
                scanned: Some(keys[1]),
                reference: "rx".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    sync(&mut ts[0], &mut cloud, 11);
    let for_terminal = cloud
        .replica()
        .state()
        .delta_since(ts[0].replica().state().vv());
    let mut stranger = member(STORE, ReplicaId::new(5, 0));
    let before = stranger.replica().state().observable();
    let mut state = stranger.replica().state().clone();
    assert_eq!(state.join(&for_terminal), Ok(false));
    assert_eq!(state.observable(), before);
    assert_eq!(stranger.replica().state().observable(), before);
    // Its own session brings everything.
    sync(&mut stranger, &mut cloud, 12);
    assert_eq!(
        stranger.replica().state().observable(),
        cloud.replica().state().observable()
    );
}

#[test]
fn impossible_transactions_are_rejected_before_anything_is_applied() {
    let mut server = root(STORE, SERVER);
    let mut t = member(STORE, ReplicaId::new(1, 0));
    let c = t
        .replica_mut()
        .apply(
            1,
            Op::ReceiveNew {
                lot: lot(1, "A", "2027-01-31", false),
                qty: 5,
                reference: "po".into(),
            },
        )
        .unwrap();
    let lot = c.new_lot().unwrap();
    let mut bad = (*c.txn).clone();
    bad.lines[0].delta = i64::MAX;
    assert!(matches!(
        server.handle(2, upload(&t, vec![bad])),
        Err(ProtocolError::Invalid(_))
    ));
    assert_eq!(server.replica().state().value(&lot), 0);
}

#[test]
fn a_lot_that_goes_negative_again_is_reconciled_again() {
    let (mut server, mut ts, keys) = store_with_terminals(1);
    ts[0]
        .replica_mut()
        .apply(
            10,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 15,
                scanned: Some(keys[0]),
                reference: "rx".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    sync(&mut ts[0], &mut server, 11);
    assert_eq!(server.replica().state().value(&keys[0]), -5);
    let (first, _) = reconcile(server.replica_mut(), 12, today()).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(server.replica().state().value(&keys[0]), 0);
    // The back office then sells 7 more from the same lot: a new discrepancy, a new id.
    server
        .replica_mut()
        .apply(
            13,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 7,
                scanned: Some(keys[0]),
                reference: "back office".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    let (second, _) = reconcile(server.replica_mut(), 14, today()).unwrap();
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].id, first[0].id);
    assert_eq!(server.replica().state().value(&keys[0]), 0);
    assert!(
        reconcile(server.replica_mut(), 15, today())
            .unwrap()
            .0
            .is_empty()
    );
}

#[test]
fn claims_queued_before_a_restore_are_flagged_for_verification() {
    let (_, mut ts, keys) = store_with_terminals(1);
    let attach = Attachments {
        claim: Some("{\"bin\":\"610014\"}".into()),
        pmp_report: None,
    };
    ts[0]
        .replica_mut()
        .apply(
            10,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 1,
                scanned: Some(keys[1]),
                reference: "rx".into(),
                attachments: attach,
            },
        )
        .unwrap();
    let backup = ts[0].replica().clone();
    let restored = backup.reincarnated(&mut Rng(11)).unwrap();
    assert_eq!(restored.queued_by_earlier_incarnation().count(), 1);
    assert_eq!(backup.queued_by_earlier_incarnation().count(), 0);
}

#[test]
fn a_delta_without_the_senders_own_effects_still_carries_a_release_both_made() {
    // T1 holds a lot; T1 and T2 both release that hold. T1's release is the one the state
    // records (the lower id). A delta from T1 that leaves T1's own effects out (they travel
    // as its upload) must still carry the release, or T2's head arrives without it.
    let (mut server, mut t, keys) = store_with_terminals(2);
    let commit = t[0]
        .replica_mut()
        .apply(
            10,
            Op::Hold {
                lot: keys[0],
                reference: "recall".into(),
            },
        )
        .unwrap();
    let hold = commit.hold().unwrap();
    let (a, b) = t.split_at_mut(1);
    sync(&mut b[0], &mut a[0], 11);
    t[1].replica_mut()
        .apply(
            12,
            Op::Release {
                hold,
                reference: "done".into(),
            },
        )
        .unwrap();
    t[0].replica_mut()
        .apply(
            13,
            Op::Release {
                hold,
                reference: "done".into(),
            },
        )
        .unwrap();
    let (a, b) = t.split_at_mut(1);
    sync(&mut b[0], &mut a[0], 14);
    let t1 = t[0].replica().id();
    let t2 = t[1].replica().id();
    let cloud = server.replica().state().clone();
    let delta = t[0].replica().state().delta_skipping(cloud.vv(), &[t1]);
    assert!(delta.heads.iter().any(|h| h.txn.id.replica == t2));
    let mut joined = cloud.clone();
    assert!(joined.join(&delta).unwrap(), "the delta is complete");
    assert!(joined.active_holds().all(|(id, _, _)| *id != hold));
    sync(&mut t[0], &mut server, 15);
    sync(&mut t[1], &mut server, 16);
    assert_eq!(
        server.replica().state().observable(),
        t[0].replica().state().observable()
    );
}

/// Two lots of one SKU with the same lot number and expiry (received on two terminals, so
/// two lot keys): FEFO takes them in receipt order and charges each by its own key, never
/// more than it holds.
#[test]
fn fefo_keeps_lots_with_the_same_number_apart() {
    let (mut server, _, _) = store_with_terminals(0);
    let mut same = Vec::new();
    for qty in [4, 6] {
        let commit = server
            .replica_mut()
            .apply(
                3,
                Op::ReceiveNew {
                    lot: lot(2, "TWIN", "2026-12-31", false),
                    qty,
                    reference: "po".into(),
                },
            )
            .unwrap();
        same.push(commit.new_lot().unwrap());
    }
    let sale = Op::Dispense {
        today: today(),
        sku: 2,
        qty: 7,
        scanned: None,
        reference: "rx".into(),
        attachments: Attachments::default(),
    };
    let commit = server.replica_mut().apply(4, sale).unwrap();
    let lines: Vec<(LotKey, i64)> = commit.txn.lines.iter().map(|l| (l.lot, l.delta)).collect();
    assert_eq!(lines, vec![(same[0], -4), (same[1], -3)]);
    assert!(commit.negative.is_empty());
    let state = server.replica().state();
    assert_eq!((state.value(&same[0]), state.value(&same[1])), (0, 3));
}
