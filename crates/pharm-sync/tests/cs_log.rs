//! The controlled-substance log end to end: two terminals and a store leader record
//! controlled dispenses, receipts, transfers, adjustments and a compensation; one terminal
//! is restored from an old backup as a new incarnation; the root's and the leader's logs
//! verify, agree on every terminal's chain and link the restored segment; any tampering
//! with an export is detected and named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::{Rng, member, new_lot, root, sync};
use pharm_core::ids::PharmacyId;
use pharm_sync::cs_log::{CsEntry, CsExport, CsHead, CsKind, CsLogError, verify};
use pharm_sync::ids::ReplicaId;
use pharm_sync::protocol::Peer;
use pharm_sync::replica::Op;
use pharm_sync::txn::{DiscrepancyId, Line, LotKey, Reason, TransferId};
use proptest::prelude::*;

const STORE: PharmacyId = PharmacyId::new(77);

fn dispense(p: &mut Peer, now: u64, (sku, lot): (u32, LotKey), qty: u64, rx: &str) {
    common::sell_sku_as(p, now, sku, lot, qty, rx);
}

fn apply(p: &mut Peer, now: u64, op: Op) {
    p.replica_mut().apply(now, op).unwrap();
}

/// Every terminal syncs with the leader, then the leader with the root, twice.
fn round(leader: &mut Peer, terminals: &mut [&mut Peer], cloud: &mut Peer, now: u64) {
    for i in 0..2 {
        for t in terminals.iter_mut() {
            sync(t, leader, now + i);
        }
        sync(leader, cloud, now + i);
    }
}

struct Scenario {
    cloud: Peer,
    leader: Peer,
    old_t2: ReplicaId,
    new_t2: ReplicaId,
    backup_seq: u64,
}

fn scenario() -> Scenario {
    let mut cloud = root(STORE, ReplicaId::new(u16::MAX, 0));
    let mut leader = member(STORE, ReplicaId::new(1, 11));
    let mut t2 = member(STORE, ReplicaId::new(2, 22));
    let mut t3 = member(STORE, ReplicaId::new(3, 33));
    // The cloud receives a controlled lot (SKU 1) and an ordinary one (SKU 2).
    let c = cloud
        .replica_mut()
        .apply(
            1,
            Op::ReceiveNew {
                lot: new_lot(1, "CII-1", "2027-01-31", true),
                qty: 100,
                reference: "DEA222-1".into(),
            },
        )
        .unwrap()
        .new_lot()
        .unwrap();
    let plain = cloud
        .replica_mut()
        .apply(
            2,
            Op::ReceiveNew {
                lot: new_lot(2, "OTC-1", "2027-01-31", false),
                qty: 100,
                reference: "PO-1".into(),
            },
        )
        .unwrap()
        .new_lot()
        .unwrap();
    round(&mut leader, &mut [&mut t2, &mut t3], &mut cloud, 10);

    dispense(&mut t2, 20, (1, c), 5, "RX-1");
    dispense(&mut t2, 21, (2, plain), 1, "RX-2"); // not controlled: no entry
    apply(
        &mut t3,
        22,
        Op::Receive {
            lot: c,
            qty: 10,
            reference: "DEA222-2".into(),
        },
    );
    apply(
        &mut leader,
        23,
        Op::Adjust {
            lot: c,
            delta: -1,
            reason: Reason::Damage,
            reference: "broken vial".into(),
        },
    );
    round(&mut leader, &mut [&mut t2, &mut t3], &mut cloud, 30);

    // T2's backup, taken now; T2 goes on recording, then its device dies.
    let backup = t2.replica().clone();
    let old_t2 = backup.id();
    let backup_seq = backup.state().vv().get(&old_t2);
    apply(
        &mut t2,
        40,
        Op::TransferOut {
            lot: c,
            qty: 3,
            number: 7,
            reference: "transfer 7".into(),
        },
    );
    dispense(&mut t2, 41, (1, c), 2, "RX-3");
    apply(
        &mut t3,
        42,
        Op::StockCount {
            lot: c,
            counted: 90,
            reference: "count sheet 1".into(),
        },
    );
    apply(
        &mut t3,
        43,
        Op::TransferIn {
            transfer: TransferId {
                from: PharmacyId::new(78),
                number: 5,
            },
            lot: new_lot(1, "CII-9", "2027-02-28", true),
            qty: 4,
            reference: "transfer in 5".into(),
        },
    );
    apply(
        &mut leader,
        44,
        Op::Compensate {
            discrepancy: DiscrepancyId { lot: c, version: 1 },
            lines: vec![Line { lot: c, delta: 1 }],
            reference: "reconciliation".into(),
        },
    );
    round(&mut leader, &mut [&mut t2, &mut t3], &mut cloud, 50);

    // Restored from the backup as a new incarnation, which records more.
    t2.replace_replica(backup.reincarnated(&mut Rng(5)).unwrap());
    let new_t2 = t2.replica().id();
    dispense(&mut t2, 60, (1, c), 1, "RX-4");
    apply(
        &mut t2,
        61,
        Op::WriteOff {
            lot: c,
            reason: Reason::Expired,
            reference: "DEA41".into(),
        },
    );
    round(&mut leader, &mut [&mut t2, &mut t3], &mut cloud, 70);
    Scenario {
        cloud,
        leader,
        old_t2,
        new_t2,
        backup_seq,
    }
}

fn shared() -> &'static (Scenario, Vec<CsEntry>, CsHead) {
    static S: OnceLock<(Scenario, Vec<CsEntry>, CsHead)> = OnceLock::new();
    S.get_or_init(|| {
        let s = scenario();
        let export = s.cloud.cs_log().export();
        let head = s.cloud.cs_log().head();
        (s, export, head)
    })
}

#[test]
fn root_and_leader_logs_verify_agree_and_link_the_restored_segment() {
    let (s, export, head) = shared();
    assert_eq!(verify(STORE, export), Ok(head.clone()));
    let leader_export = s.leader.cs_log().export();
    assert_eq!(verify(STORE, &leader_export), Ok(s.leader.cs_log().head()));
    // The same chain of every terminal (the leader holds the cloud's own transactions only
    // as state, so the cloud's segment is the root's alone).
    let terminals = |e: &Vec<CsEntry>| -> Vec<CsEntry> {
        e.iter()
            .filter(|x| x.txn.replica.terminal != u16::MAX)
            .cloned()
            .collect()
    };
    assert_eq!(terminals(export), terminals(&leader_export));
    assert_eq!(s.cloud.cs_log().waiting().count(), 0);
    assert!(s.cloud.cs_log().conflicts().is_empty());

    let kinds: Vec<CsKind> = export.iter().map(|e| e.kind).collect();
    for k in [
        CsKind::Dispense,
        CsKind::Receipt,
        CsKind::TransferOut,
        CsKind::TransferIn,
        CsKind::Adjustment,
        CsKind::Reconciliation,
        CsKind::SegmentStart,
    ] {
        assert!(kinds.contains(&k), "{k:?} missing from {kinds:?}");
    }
    assert!(export.iter().all(|e| e.reference != "RX-2"), "uncontrolled");

    // The restored segment starts with a link to the old one at the backup's head.
    let old = s.cloud.cs_log().segment(&s.old_t2);
    let new = s.cloud.cs_log().segment(&s.new_t2);
    let start = &new[0];
    assert_eq!(start.kind, CsKind::SegmentStart);
    let link = start.link.unwrap();
    assert_eq!((link.from, link.seq), (s.old_t2, s.backup_seq));
    let target = old
        .iter()
        .rev()
        .find(|e| e.txn.seq <= s.backup_seq)
        .unwrap();
    assert_eq!(start.prev, target.digest);
    assert!(
        old.iter().any(|e| e.txn.seq > s.backup_seq),
        "the old incarnation went on after the backup"
    );
    assert!(new.len() >= 3);

    // The JSON export reads back and verifies.
    let doc = CsExport {
        store: STORE,
        entries: export.clone(),
    };
    let back = CsExport::from_json(doc.to_json()).unwrap();
    assert_eq!(back.verify(), Ok(head.clone()));
}

fn index_of(export: &[CsEntry], f: impl Fn(&CsEntry) -> bool) -> usize {
    export.iter().position(f).unwrap()
}

#[test]
fn tampering_is_detected_and_named() {
    let (s, export, head) = shared();

    // An edited quantity.
    let i = index_of(export, |e| e.reference == "RX-1");
    let mut edited = export.clone();
    edited[i].lines[0].delta -= 1;
    assert_eq!(
        verify(STORE, &edited),
        Err(CsLogError::Edited {
            index: i,
            txn: export[i].txn
        })
    );

    // Two entries of one chain swapped.
    let old = s.old_t2;
    let i = index_of(export, |e| e.txn.replica == old);
    let mut swapped = export.clone();
    swapped.swap(i, i + 1);
    assert_eq!(
        verify(STORE, &swapped),
        Err(CsLogError::Reordered {
            index: i,
            txn: export[i + 1].txn
        })
    );

    // An entry deleted.
    let mut deleted = export.clone();
    deleted.remove(i);
    assert_eq!(
        verify(STORE, &deleted),
        Err(CsLogError::Missing {
            index: i,
            txn: export[i + 1].txn
        })
    );

    // The segment link broken (and the entry's digest recomputed to hide it).
    let j = index_of(export, |e| e.kind == CsKind::SegmentStart);
    let mut broken = export.clone();
    let link = broken[j].link.as_mut().unwrap();
    link.seq -= 1;
    broken[j].digest = broken[j].computed_digest(STORE);
    assert_eq!(
        verify(STORE, &broken),
        Err(CsLogError::BrokenLink {
            index: j,
            txn: export[j].txn,
            predecessor: old
        })
    );

    // The last entry deleted: every link holds, the head tells.
    let mut truncated = export.clone();
    truncated.pop();
    assert_ne!(verify(STORE, &truncated), Ok(head.clone()));
}

#[derive(Debug, Clone)]
enum Tamper {
    Edit(usize),
    Swap(usize, usize),
    Delete(usize),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        any::<usize>().prop_map(Tamper::Edit),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Tamper::Swap(a, b)),
        any::<usize>().prop_map(Tamper::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_single_edit_swap_or_deletion_is_detected(t in tamper()) {
        let (_, export, head) = shared();
        let n = export.len();
        let mut log = export.clone();
        match t {
            Tamper::Edit(i) => {
                let e = &mut log[i % n];
                match e.lines.first_mut() {
                    Some(l) => l.delta += 1,
                    None => e.reference.push('!'),
                }
            }
            Tamper::Swap(a, b) => {
                let (a, b) = (a % n, b % n);
                prop_assume!(a != b);
                log.swap(a, b);
            }
            Tamper::Delete(i) => {
                log.remove(i % n);
            }
        }
        prop_assert_ne!(verify(STORE, &log), Ok(head.clone()));
    }
}
