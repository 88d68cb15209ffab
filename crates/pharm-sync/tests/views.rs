//! The JSON forms of operations, commits and inventory views: round trips, and golden vectors in
//! `testdata/golden/sync/` (`commit.json`, `inventory_view.json`, `ops.json`; re-bless with
//! `PHARM_BLESS=1 cargo test -p pharm-sync --test views`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use pharm_core::contract::strictness::{object_pointers, unknown_fields_refused};
use pharm_core::ids::PharmacyId;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::PathBuf;

use common::{date, new_lot, root};
use pharm_sync::ids::ReplicaId;
use pharm_sync::protocol::Peer;
use pharm_sync::replica::{Attachments, Commit, Op};
use pharm_sync::state::InventoryView;
use pharm_sync::txn::Reason;

const STORE: PharmacyId = PharmacyId::new(42);

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golden/sync")
}

/// A store server that received two lots, holds one, shelves the other and sells from it
/// past its stock (an offline oversell), with a claim and a PMP report queued.
fn scenario() -> (Peer, Vec<Commit>) {
    let mut p = root(STORE, ReplicaId::new(0, 0x5eed));
    let mut commits = Vec::new();
    let mut apply = |p: &mut Peer, now: u64, op: Op| {
        let c = p.replica_mut().apply(now, op).unwrap();
        commits.push(c.clone());
        c
    };
    let a = apply(
        &mut p,
        1_000,
        Op::ReceiveNew {
            lot: new_lot(7, "A123", "2027-05-31", false),
            qty: 3,
            reference: "PO-1".into(),
        },
    )
    .new_lot()
    .unwrap();
    let b = apply(
        &mut p,
        2_000,
        Op::ReceiveNew {
            lot: new_lot(9, "OXY-9", "2026-11-30", true),
            qty: 20,
            reference: "PO-2".into(),
        },
    )
    .new_lot()
    .unwrap();
    apply(
        &mut p,
        3_000,
        Op::Hold {
            lot: b,
            reference: "recall R-7".into(),
        },
    );
    apply(
        &mut p,
        4_000,
        Op::SetLocation {
            lot: a,
            location: "A-3".into(),
        },
    );
    apply(
        &mut p,
        5_000,
        Op::Adjust {
            lot: a,
            delta: -1,
            reason: Reason::Damage,
            reference: "dropped".into(),
        },
    );
    apply(
        &mut p,
        6_000,
        Op::Dispense {
            today: date("2026-03-10"),
            sku: 7,
            qty: 4,
            scanned: Some(a),
            reference: "RX-1".into(),
            attachments: Attachments {
                claim: Some(r#"{"bin":"610014"}"#.into()),
                pmp_report: Some("PMP-1".into()),
            },
        },
    );
    (p, commits)
}

/// Compares `value`'s pretty JSON with the golden file `name` (writes it under
/// `PHARM_BLESS`), and checks that the stored JSON reads back to `value`.
fn golden<T>(name: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let path = golden_dir().join(name);
    let json = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var_os("PHARM_BLESS").is_some() {
        std::fs::write(&path, &json).unwrap();
    }
    let stored = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with PHARM_BLESS=1)", path.display()));
    assert_eq!(stored, json, "{name} differs from the built value");
    let read: T = serde_json::from_str(&stored).unwrap();
    assert_eq!(&read, value, "{name} does not read back");
}

#[test]
fn commit_json_is_golden_and_round_trips() {
    let (_, commits) = scenario();
    let sale = commits.last().unwrap();
    assert_eq!(sale.negative.len(), 1, "the sale oversells its lot");
    assert!(sale.claim.is_some() && sale.pmp_report.is_some());
    golden("commit.json", sale);
    for c in &commits {
        let json = serde_json::to_string(c).unwrap();
        assert_eq!(&serde_json::from_str::<Commit>(&json).unwrap(), c);
    }
}

#[test]
fn inventory_view_json_is_golden_and_round_trips() {
    let (p, _) = scenario();
    let view = p.replica().state().view();
    assert_eq!(view.lots.len(), 2);
    assert_eq!(view.lots[0].value, -2);
    assert_eq!(view.lots[0].location.as_deref(), Some("A-3"));
    assert_eq!(view.lots[1].holds.len(), 1);
    golden("inventory_view.json", &view);
}

#[test]
fn a_view_with_an_unknown_field_or_a_bad_version_vector_is_refused() {
    let (p, _) = scenario();
    let mut json: serde_json::Value = serde_json::to_value(p.replica().state().view()).unwrap();
    json["extra"] = serde_json::Value::Bool(true);
    assert!(serde_json::from_value::<InventoryView>(json.clone()).is_err());
    json.as_object_mut().unwrap().remove("extra");
    assert!(serde_json::from_value::<InventoryView>(json.clone()).is_ok());
    let vv = json["vv"].as_array_mut().unwrap();
    let first = vv[0].clone();
    vv.push(first); // a repeated replica
    assert!(serde_json::from_value::<InventoryView>(json).is_err());
}

/// One operation of every kind.
fn every_op() -> Vec<Op> {
    let r = ReplicaId::new(1, 2);
    let lot = pharm_sync::txn::LotKey {
        origin: r,
        local_no: 1,
    };
    let hold = pharm_sync::ids::TxnId { replica: r, seq: 3 };
    let transfer = pharm_sync::txn::TransferId {
        from: STORE,
        number: 9,
    };
    let ops = [
        Op::ReceiveNew {
            lot: new_lot(7, "A1", "2027-01-31", false),
            qty: 5,
            reference: "PO".into(),
        },
        Op::Receive {
            lot,
            qty: 5,
            reference: "PO".into(),
        },
        Op::Dispense {
            today: date("2026-03-10"),
            sku: 7,
            qty: 2,
            scanned: Some(lot),
            reference: "RX".into(),
            attachments: Attachments::default(),
        },
        Op::Adjust {
            lot,
            delta: -1,
            reason: Reason::Damage,
            reference: "drop".into(),
        },
        Op::StockCount {
            lot,
            counted: 4,
            reference: "count".into(),
        },
        Op::WriteOff {
            lot,
            reason: Reason::Expired,
            reference: "wo".into(),
        },
        Op::TransferOut {
            lot,
            qty: 1,
            number: 9,
            reference: "out".into(),
        },
        Op::TransferIn {
            transfer,
            lot: new_lot(7, "A1", "2027-01-31", false),
            qty: 1,
            reference: "in".into(),
        },
        Op::Hold {
            lot,
            reference: "recall".into(),
        },
        Op::Release {
            hold,
            reference: "closed".into(),
        },
        Op::SetLocation {
            lot,
            location: "A-1".into(),
        },
        Op::Compensate {
            discrepancy: pharm_sync::txn::DiscrepancyId { lot, version: 7 },
            lines: vec![pharm_sync::txn::Line { lot, delta: 1 }],
            reference: "rec".into(),
        },
    ];
    ops.into()
}

#[test]
fn every_operation_round_trips_through_json() {
    let ops = every_op();
    for op in &ops {
        let json = serde_json::to_value(op).unwrap();
        assert!(json["op"].is_string(), "{json}");
        assert_eq!(&serde_json::from_value::<Op>(json).unwrap(), op);
        let text = serde_json::to_string(op).unwrap();
        assert_eq!(&Op::from_json(&text).unwrap(), op);
    }
    assert!(serde_json::from_str::<Op>(r#"{"op":"teleport"}"#).is_err());
    golden("ops.json", &ops);
}

#[test]
fn an_operation_with_an_unknown_field_anywhere_is_refused() {
    for op in every_op() {
        let json = serde_json::to_value(&op).unwrap();
        let objects = object_pointers(&json);
        assert!(objects.len() >= 2, "{json}");
        for at in objects {
            let mut bad = json.clone();
            bad.pointer_mut(&at)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert("extra".into(), serde_json::Value::Bool(true));
            let err = Op::from_json(bad.to_string()).unwrap_err();
            assert!(
                err.to_string().contains("unknown field `extra`"),
                "{at} of {json}: {err}"
            );
        }
    }
}

/// `pharm_core::contract::strictness::unknown_fields_refused`, panicking with its report.
fn refuses_an_unknown_field_everywhere<T: DeserializeOwned>(value: &Value) -> usize {
    unknown_fields_refused::<T>(value).unwrap_or_else(|report| panic!("{report}"))
}

/// As [`refuses_an_unknown_field_everywhere`], for a value the crate writes.
fn strict<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> usize {
    refuses_an_unknown_field_everywhere::<T>(&serde_json::to_value(value).unwrap())
}

#[test]
fn every_object_of_the_golden_json_refuses_an_unknown_field() {
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(golden_dir().join(name)).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    // Operations, commits and views.
    assert!(refuses_an_unknown_field_everywhere::<Vec<Op>>(&read("ops.json")) > 24);
    assert!(refuses_an_unknown_field_everywhere::<Commit>(&read("commit.json")) > 5);
    assert!(refuses_an_unknown_field_everywhere::<InventoryView>(&read("inventory_view.json")) > 4);
    // Every message (transactions, lots, holds, seals, acknowledgements, deltas).
    let mut messages = 0;
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        if !golden_dir().join(format!("{stem}.hex")).exists() {
            continue;
        }
        let message = read(&name);
        assert!(
            refuses_an_unknown_field_everywhere::<pharm_sync::message::Message>(&message) > 2,
            "{name}"
        );
        messages += 1;
    }
    assert_eq!(messages, 7);
}

#[test]
fn other_documents_refuse_an_unknown_field() {
    use pharm_sync::leader::{ElectionConfig, ElectionMessage, PersistentState};
    use pharm_sync::protocol::SyncLimits;
    use pharm_sync::replica::Superseded;

    let r = ReplicaId::new(1, 2);
    strict(&SyncLimits::default());
    strict(&ElectionConfig::default());
    strict(&PersistentState {
        term: 3,
        voted_for: Some(r),
    });
    strict(&ElectionMessage::RequestVote {
        term: 3,
        candidate: r,
        pre_vote: true,
    });
    for superseded in [
        Superseded::Behind { have: 1, seen: 2 },
        Superseded::Forked { seq: 3 },
        Superseded::Took {
            txn: pharm_sync::ids::TxnId { replica: r, seq: 4 },
        },
    ] {
        assert!(strict(&superseded) >= 1);
    }
    // Every commit of the scenario, and each view's lots and holds.
    let (p, commits) = scenario();
    for commit in &commits {
        strict(commit);
    }
    strict(&p.replica().state().view());
}
