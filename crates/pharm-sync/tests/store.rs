//! Durable terminal store: exact reopen, atomicity of failed commits, caches, schema
//! versioning, identity checks, relaying through a leader, restore from backup.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

mod common;

use common::node::session;
use common::{Rng, TempDir, member, member_ring, root};
use pharm_core::ids::Ndc;
use pharm_core::time::Date;
use pharm_sync::hlc::Hlc;
use pharm_sync::ids::ReplicaId;
use pharm_sync::message::{Acks, Body, Message};
use pharm_sync::protocol::{Peer, ProtocolError};
use pharm_sync::replica::{Attachments, NewLot, QueuedItem, Replica};
use pharm_sync::replica::{Op, OpError};
use pharm_sync::state::{Cell, Observable, StateDelta, VersionVector};
use pharm_sync::store::{CacheTable, SCHEMA_VERSION, StoreError, StoreOptions, TerminalStore};
use pharm_sync::txn::{DiscrepancyId, Line, LotKey, Reason, TransferId, Txn, TxnKind};
use rusqlite::Connection;

const STORE: PharmacyId = PharmacyId::new(42);
const T1: u16 = 1;
const T2: u16 = 2;
const CLOUD: ReplicaId = ReplicaId::new(u16::MAX, 0);

fn create_with(path: &Path, terminal: u16, options: StoreOptions) -> TerminalStore {
    let mut entropy = Rng(u64::from(terminal) * 7919 + 17);
    TerminalStore::create(
        path,
        STORE,
        terminal,
        member_ring(STORE, terminal),
        &mut entropy,
        options,
    )
    .unwrap()
}

fn create(path: &Path, terminal: u16) -> TerminalStore {
    create_with(path, terminal, StoreOptions::default())
}

fn open_with(
    path: &Path,
    terminal: u16,
    options: StoreOptions,
) -> Result<TerminalStore, StoreError> {
    TerminalStore::open(path, STORE, terminal, member_ring(STORE, terminal), options)
}

fn open(path: &Path, terminal: u16) -> Result<TerminalStore, StoreError> {
    open_with(path, terminal, StoreOptions::default())
}

fn date(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd(y, m, d).unwrap()
}

fn today() -> Date {
    date(2025, 6, 1)
}

fn new_lot(sku: u32, ndc: &str, lot: &str, expiry: Date) -> NewLot {
    NewLot {
        sku,
        ndc: ndc.parse::<Ndc>().unwrap(),
        lot_number: lot.to_string(),
        expiry,
        controlled: false,
    }
}

fn shared() -> StoreOptions {
    StoreOptions {
        exclusive: false,
        ..StoreOptions::default()
    }
}

/// Everything that must survive a reopen.
#[derive(Debug, PartialEq)]
struct Snapshot {
    me: ReplicaId,
    observable: Observable,
    cells: BTreeMap<LotKey, Vec<Cell>>,
    full_delta: StateDelta,
    outbox: Vec<Txn>,
    claims: Vec<QueuedItem>,
    reports: Vec<QueuedItem>,
    hlc: Hlc,
    next_lot_no: u32,
    acks: Acks,
    lot_order: BTreeMap<u32, Vec<LotKey>>,
}

fn snapshot(r: &Replica) -> Snapshot {
    let observable = r.state().observable();
    let mut keys: Vec<LotKey> = observable.lots.keys().copied().collect();
    keys.extend(observable.cells.keys().map(|(l, _)| *l));
    let cells = keys
        .into_iter()
        .map(|k| {
            let mut c = r.state().cells(&k).to_vec();
            c.sort_by_key(|c| c.replica);
            (k, c)
        })
        .collect();
    let mut lot_order = BTreeMap::new();
    for sku in [100u32, 101, 102] {
        lot_order.insert(sku, r.state().sku_lots(sku).map(|(i, _)| i.key).collect());
    }
    Snapshot {
        me: r.id(),
        full_delta: r.state().delta_since(&VersionVector::new()),
        observable,
        cells,
        outbox: r.outbox().cloned().collect(),
        claims: r.pending_claims().cloned().collect(),
        reports: r.pending_pmp_reports().cloned().collect(),
        hlc: r.hlc(),
        next_lot_no: r.next_lot_no(),
        acks: r.acks().clone(),
        lot_order,
    }
}

fn cloud() -> Peer {
    root(STORE, CLOUD)
}

/// A terminal store with a bit of everything in it.
fn busy_terminal(store: &mut TerminalStore, cloud: &mut Peer) -> (LotKey, LotKey, LotKey) {
    let mut t = 1_000_000;
    let mut now = || {
        t += 1000;
        t
    };
    // Another terminal's work reaches this one through the cloud (joined deltas).
    let mut t2 = member(STORE, ReplicaId::new(T2, 0));
    let commit = t2
        .replica_mut()
        .apply(
            now(),
            Op::ReceiveNew {
                lot: new_lot(102, "0002-7597-03", "X1", date(2026, 3, 31)),
                qty: 30,
                reference: "inv-t2".into(),
            },
        )
        .unwrap();
    let x = commit.new_lot().unwrap();
    t2.replica_mut()
        .apply(
            now(),
            Op::SetLocation {
                lot: x,
                location: "B-2".into(),
            },
        )
        .unwrap();
    let commit = t2
        .replica_mut()
        .apply(
            now(),
            Op::Hold {
                lot: x,
                reference: "quarantine".into(),
            },
        )
        .unwrap();
    let h2 = commit.hold().unwrap();
    t2.replica_mut()
        .apply(
            now(),
            Op::Release {
                hold: h2,
                reference: "cleared".into(),
            },
        )
        .unwrap();
    t2.replica_mut()
        .apply(
            now(),
            Op::TransferIn {
                transfer: TransferId {
                    from: PharmacyId::new(9),
                    number: 5,
                },
                lot: new_lot(102, "0002-7597-03", "X9", date(2026, 4, 30)),
                qty: 4,
                reference: "xfer".into(),
            },
        )
        .unwrap();
    session(&mut t2, cloud, now());

    // Two lots of SKU 100 with the same expiry: FEFO breaks the tie by the order the lots
    // became known, which must survive a reopen.
    let commit = store
        .apply(
            now(),
            Op::ReceiveNew {
                lot: new_lot(100, "0002-7597-01", "A", date(2026, 1, 31)),
                qty: 10,
                reference: "inv-1".into(),
            },
        )
        .unwrap();
    let a = commit.new_lot().unwrap();
    let commit = store
        .apply(
            now(),
            Op::ReceiveNew {
                lot: new_lot(100, "0002-7597-01", "B", date(2026, 1, 31)),
                qty: 10,
                reference: "inv-1".into(),
            },
        )
        .unwrap();
    let b = commit.new_lot().unwrap();
    let commit = store
        .apply(
            now(),
            Op::ReceiveNew {
                lot: new_lot(101, "0002-7597-02", "C", date(2027, 1, 31)),
                qty: 5,
                reference: "inv-2".into(),
            },
        )
        .unwrap();
    let c = commit.new_lot().unwrap();
    store
        .apply(
            now(),
            Op::Receive {
                lot: a,
                qty: 3,
                reference: "inv-3".into(),
            },
        )
        .unwrap();
    let claim = Attachments {
        claim: Some(r#"{"rx":1}"#.into()),
        pmp_report: Some(r#"{"pmp":1}"#.into()),
    };
    store
        .apply(
            now(),
            Op::Dispense {
                today: today(),
                sku: 100,
                qty: 4,
                scanned: None,
                reference: "RX1".into(),
                attachments: claim,
            },
        )
        .unwrap();
    store
        .apply(
            now(),
            Op::Dispense {
                today: today(),
                sku: 101,
                qty: 2,
                scanned: Some(c),
                reference: "RX2".into(),
                attachments: Attachments {
                    claim: Some("{}".into()),
                    pmp_report: None,
                },
            },
        )
        .unwrap();
    session(store, cloud, now());
    store
        .apply(
            now(),
            Op::Adjust {
                lot: b,
                delta: -1,
                reason: Reason::Damage,
                reference: "dropped".into(),
            },
        )
        .unwrap();
    assert!(
        store
            .apply(
                now(),
                Op::StockCount {
                    lot: a,
                    counted: 7,
                    reference: "count-1".into()
                }
            )
            .is_ok()
    );
    assert!(
        store
            .apply(
                now(),
                Op::StockCount {
                    lot: a,
                    counted: 7,
                    reference: "count-2".into()
                }
            )
            .is_err_and(|e| matches!(e, StoreError::Op(OpError::NothingToRecord)))
    );
    store
        .apply(
            now(),
            Op::TransferOut {
                lot: b,
                qty: 2,
                number: 77,
                reference: "to store 9".into(),
            },
        )
        .unwrap();
    store
        .apply(
            now(),
            Op::TransferIn {
                transfer: TransferId {
                    from: PharmacyId::new(8),
                    number: 1,
                },
                lot: new_lot(101, "0002-7597-02", "T", date(2027, 2, 28)),
                qty: 6,
                reference: "from 8".into(),
            },
        )
        .unwrap();
    let commit = store
        .apply(
            now(),
            Op::Hold {
                lot: c,
                reference: "recall R-1".into(),
            },
        )
        .unwrap();
    let hold = commit.hold().unwrap();
    store
        .apply(
            now(),
            Op::Release {
                hold,
                reference: "recall R-1 closed".into(),
            },
        )
        .unwrap();
    store
        .apply(
            now(),
            Op::Hold {
                lot: c,
                reference: "quarantine Q-2".into(),
            },
        )
        .unwrap();
    store
        .apply(
            now(),
            Op::SetLocation {
                lot: a,
                location: "A-1".into(),
            },
        )
        .unwrap();
    store
        .apply(
            now(),
            Op::SetLocation {
                lot: a,
                location: "A-3".into(),
            },
        )
        .unwrap();
    store
        .apply(
            now(),
            Op::Compensate {
                discrepancy: DiscrepancyId {
                    lot: b,
                    version: 99,
                },
                lines: vec![Line { lot: b, delta: 1 }],
                reference: "recon".into(),
            },
        )
        .unwrap();
    // Oversell: recorded stock goes negative.
    let sold = store
        .apply(
            now(),
            Op::Dispense {
                today: today(),
                sku: 100,
                qty: 40,
                scanned: None,
                reference: "RX3".into(),
                attachments: Attachments {
                    claim: None,
                    pmp_report: Some(r#"{"pmp":3}"#.into()),
                },
            },
        )
        .unwrap();
    assert!(!sold.negative.is_empty());
    assert!(
        store
            .apply(
                now(),
                Op::WriteOff {
                    lot: x,
                    reason: Reason::Expired,
                    reference: "expired".into()
                }
            )
            .is_ok()
    );
    (a, b, c)
}

#[test]
fn reopen_restores_exactly() {
    let dir = TempDir::new("reopen");
    let path = dir.path("t1.db");
    let mut cloud = cloud();
    let mut store = create(&path, T1);
    let (a, _, _) = busy_terminal(&mut store, &mut cloud);
    let first_claim = store.replica().pending_claims().next().unwrap().txn;
    assert!(store.mark_claim_sent(first_claim, 5).unwrap());
    assert!(!store.mark_claim_sent(first_claim, 6).unwrap());
    let first_report = store.replica().pending_pmp_reports().next().unwrap().txn;
    assert!(store.mark_pmp_report_sent(first_report, 5).unwrap());
    store.set_last_sync(123_456).unwrap();

    let before = snapshot(store.replica());
    assert!(!before.outbox.is_empty() && !before.claims.is_empty() && !before.reports.is_empty());
    assert!(
        before.observable.values.values().any(|v| *v < 0),
        "an oversold lot"
    );
    assert!(!before.observable.holds.is_empty() && !before.observable.releases.is_empty());
    assert!(!before.observable.transfers.is_empty() && !before.observable.compensations.is_empty());
    assert!(
        before.observable.vv.len() >= 2,
        "joined another replica's changes"
    );
    // What FEFO would pick next (ties by the order lots became known).
    let fefo = |r: &Replica| {
        r.clone()
            .apply(
                9_999_999,
                Op::Dispense {
                    today: today(),
                    sku: 100,
                    qty: 1,
                    scanned: None,
                    reference: "probe".into(),
                    attachments: Attachments::default(),
                },
            )
            .unwrap()
            .txn
            .lines
            .clone()
    };
    let fefo_before = fefo(store.replica());
    drop(store);

    let store = open(&path, T1).unwrap();
    assert_eq!(snapshot(store.replica()), before);
    assert_eq!(fefo(store.replica()), fefo_before);
    assert_eq!(store.last_sync_ms(), Some(123_456));
    assert_eq!(store.replica().state().meta(&a).unwrap().value, "A-3");

    // The stored history is every own transaction, acknowledged ones included.
    let stored = store.stored_transactions().unwrap();
    let own_seq = store.replica().state().vv().get(&store.replica().id());
    assert_eq!(stored.iter().filter(|s| s.own).count() as u64, own_seq);
    assert!(stored.iter().any(|s| s.acked_by_root) && stored.iter().any(|s| !s.acked_by_root));
    let outbox: Vec<Txn> = stored
        .iter()
        .filter(|s| !s.acked_by_root)
        .map(|s| s.txn.clone())
        .collect();
    assert_eq!(outbox, before.outbox);

    // After a reopen the store keeps working and converges with the cloud.
    let mut store = store;
    store
        .apply(
            20_000_000,
            Op::Receive {
                lot: a,
                qty: 1,
                reference: "after reopen".into(),
            },
        )
        .unwrap();
    session(&mut store, &mut cloud, 20_000_001);
    assert_eq!(store.replica().outbox().count(), 0);
    assert_eq!(
        store.replica().state().observable(),
        cloud.replica().state().observable()
    );
    let after_sync = snapshot(store.replica());
    drop(store);
    let store = open(&path, T1).unwrap();
    assert_eq!(snapshot(store.replica()), after_sync);
    assert!(
        store
            .stored_transactions()
            .unwrap()
            .iter()
            .all(|s| s.acked_by_root)
    );
}

fn table_dump(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut out = Vec::new();
    for table in [
        "store_meta",
        "vv",
        "acks",
        "heads",
        "transactions",
        "lots",
        "cells",
        "holds",
        "releases",
        "transfers",
        "compensations",
        "lot_meta",
        "claims",
        "pmp_reports",
    ] {
        let sql = format!("SELECT * FROM {table}");
        let mut stmt = conn.prepare(&sql).unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut s = String::from(table);
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    s.push_str(&format!(" {v:?}"));
                }
                Ok(s)
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

#[test]
fn failed_commit_leaves_nothing_behind() {
    let dir = TempDir::new("atomic");
    let path = dir.path("t1.db");
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(50),
        ..shared()
    };
    let mut store = create_with(&path, T1, options);
    let me = store.replica().id();
    let commit = store
        .apply(
            1000,
            Op::ReceiveNew {
                lot: new_lot(100, "0002-7597-01", "A", date(2026, 1, 31)),
                qty: 10,
                reference: "inv".into(),
            },
        )
        .unwrap();
    let a = commit.new_lot().unwrap();
    store
        .apply(
            2000,
            Op::Dispense {
                today: today(),
                sku: 100,
                qty: 1,
                scanned: None,
                reference: "RX0".into(),
                attachments: Attachments {
                    claim: Some("{}".into()),
                    pmp_report: Some("{}".into()),
                },
            },
        )
        .unwrap();
    let before = snapshot(store.replica());
    let rows_before = table_dump(&path);

    // Fail the last write of a commit (the PMP report row), after the transaction row, the
    // cells, the version vector and the claim row were written in the same transaction.
    let other = Connection::open(&path).unwrap();
    other.execute_batch("CREATE TRIGGER fail_pmp BEFORE INSERT ON pmp_reports BEGIN SELECT RAISE(ABORT, 'injected failure'); END;").unwrap();
    let attachments = Attachments {
        claim: Some(r#"{"rx":2}"#.into()),
        pmp_report: Some(r#"{"pmp":2}"#.into()),
    };
    let err = store
        .apply(
            3000,
            Op::Dispense {
                today: today(),
                sku: 100,
                qty: 2,
                scanned: Some(a),
                reference: "RX1".into(),
                attachments: attachments.clone(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite(_)), "{err}");
    assert_eq!(
        snapshot(store.replica()),
        before,
        "in-memory replica unchanged"
    );
    assert_eq!(
        table_dump(&path),
        rows_before,
        "no row of the failed commit"
    );

    // A failure at COMMIT itself (here a deferred foreign key): the store reloads from the
    // file, which is the truth either way.
    other
        .execute_batch(
            "CREATE TABLE p (y INTEGER PRIMARY KEY); \
             CREATE TABLE c (x INTEGER REFERENCES p (y) DEFERRABLE INITIALLY DEFERRED); \
             CREATE TRIGGER fail_at_commit AFTER INSERT ON transactions BEGIN INSERT INTO c VALUES (1); END;",
        )
        .unwrap();
    let err = store
        .apply(
            3050,
            Op::Receive {
                lot: a,
                qty: 1,
                reference: "inv".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Sqlite(_)), "{err}");
    assert_eq!(snapshot(store.replica()), before);
    assert_eq!(table_dump(&path), rows_before);
    other.execute_batch("DROP TRIGGER fail_at_commit").unwrap();

    // A transaction the wire format cannot carry is refused before anything is written.
    let long = "x".repeat(300);
    assert!(matches!(
        store.apply(
            3100,
            Op::Receive {
                lot: a,
                qty: 1,
                reference: long.to_string()
            }
        ),
        Err(StoreError::Op(pharm_sync::replica::OpError::Unencodable(_)))
    ));
    assert_eq!(snapshot(store.replica()), before);
    assert_eq!(table_dump(&path), rows_before);

    // A failed sync message changes nothing either.
    let mut t2 = member(STORE, ReplicaId::new(T2, 0));
    t2.replica_mut()
        .apply(
            500,
            Op::ReceiveNew {
                lot: new_lot(101, "0002-7597-02", "Z", date(2027, 1, 31)),
                qty: 3,
                reference: "inv".into(),
            },
        )
        .unwrap();
    let delta = Message::seal(
        STORE,
        t2.replica().id(),
        Body::Delta {
            delta: t2.replica().state().delta_since(&VersionVector::new()),
        },
        &common::link_key(STORE),
    )
    .unwrap();
    other.execute_batch("CREATE TRIGGER fail_lots BEFORE INSERT ON lots BEGIN SELECT RAISE(ABORT, 'injected failure'); END;").unwrap();
    assert!(matches!(
        store.apply_messages(3500, delta.clone()),
        Err(StoreError::Sqlite(_))
    ));
    assert_eq!(snapshot(store.replica()), before);
    assert_eq!(table_dump(&path), rows_before);

    // A lock held by another connection: the commit times out, nothing changes.
    other
        .execute_batch("DROP TRIGGER fail_pmp; DROP TRIGGER fail_lots;")
        .unwrap();
    let rows_before = table_dump(&path);
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert!(matches!(
        store.apply(
            3600,
            Op::Receive {
                lot: a,
                qty: 1,
                reference: "inv".into()
            }
        ),
        Err(StoreError::Sqlite(_))
    ));
    assert_eq!(snapshot(store.replica()), before);
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(table_dump(&path), rows_before);

    // Once the cause is gone the same operation commits, with the sequence number the
    // failed attempts would have used.
    let commit = store
        .apply(
            4000,
            Op::Dispense {
                today: today(),
                sku: 100,
                qty: 2,
                scanned: Some(a),
                reference: "RX1".into(),
                attachments,
            },
        )
        .unwrap();
    assert_eq!(commit.txn.id.seq, before.observable.vv[&me] + 1);
    store.apply_messages(4100, delta).unwrap();
    let after = snapshot(store.replica());
    other
        .execute_batch("DROP TRIGGER IF EXISTS fail_at_commit; DROP TABLE c; DROP TABLE p;")
        .unwrap();
    drop((store, other));
    assert_eq!(snapshot(open(&path, T1).unwrap().replica()), after);
}

#[test]
fn caches_are_opaque_json_by_id() {
    let dir = TempDir::new("cache");
    let path = dir.path("t1.db");
    let mut store = create(&path, T1);
    store
        .cache_put(
            CacheTable::Patients,
            "p1",
            r#"{"name":"Ada","allergies":["penicillin"]}"#,
        )
        .unwrap();
    store
        .cache_put(CacheTable::Patients, "p2", r#"{"name":"Bob"}"#)
        .unwrap();
    store
        .cache_put(CacheTable::DrugCatalog, "100", r#"{"ndc":"0002-7597-01"}"#)
        .unwrap();
    store
        .cache_put(CacheTable::Prescriptions, "rx-9", "[1,2,3]")
        .unwrap();
    store
        .cache_put(
            CacheTable::Patients,
            "p2",
            r#"{"name":"Bob","dob":"1970-01-01"}"#,
        )
        .unwrap();
    assert!(matches!(
        store.cache_put(CacheTable::Patients, "p3", "{not json"),
        Err(StoreError::InvalidJson {
            table: "patients",
            ..
        })
    ));
    assert!(store.cache_remove(CacheTable::Patients, "p1").unwrap());
    assert!(!store.cache_remove(CacheTable::Patients, "p1").unwrap());
    drop(store);

    let store = open(&path, T1).unwrap();
    assert_eq!(
        store.cache_ids(CacheTable::Patients).unwrap(),
        vec!["p2".to_string()]
    );
    assert_eq!(
        store
            .cache_get(CacheTable::Patients, "p2")
            .unwrap()
            .as_deref(),
        Some(r#"{"name":"Bob","dob":"1970-01-01"}"#)
    );
    assert_eq!(store.cache_get(CacheTable::Patients, "p1").unwrap(), None);
    assert_eq!(
        store.cache_get(CacheTable::Patients, "100").unwrap(),
        None,
        "tables are separate"
    );
    assert_eq!(
        store
            .cache_get(CacheTable::DrugCatalog, "100")
            .unwrap()
            .as_deref(),
        Some(r#"{"ndc":"0002-7597-01"}"#)
    );
    assert_eq!(
        store
            .cache_get(CacheTable::Prescriptions, "rx-9")
            .unwrap()
            .as_deref(),
        Some("[1,2,3]")
    );
}

#[test]
fn schema_version_is_checked() {
    let dir = TempDir::new("schema");
    let path = dir.path("t1.db");
    let store = create(&path, T1);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    {
        let conn = Connection::open(&path).unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    match open(&path, T1) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION))
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    // A store of the first schema (before authentication) is refused, not migrated.
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 1)
        .unwrap();
    assert!(matches!(
        open(&path, T1),
        Err(StoreError::SchemaTooOld {
            found: 1,
            supported: SCHEMA_VERSION
        })
    ));

    // Another application's database is not touched.
    let foreign = dir.path("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
        .unwrap();
    assert!(matches!(open(&foreign, T1), Err(StoreError::NotAStore)));
    let n: i64 = Connection::open(&foreign)
        .unwrap()
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(TerminalStore::identity(&foreign).unwrap(), None);
}

#[test]
fn wrong_store_or_terminal_is_refused() {
    let dir = TempDir::new("identity");
    let path = dir.path("t1.db");
    assert_eq!(TerminalStore::identity(&path).unwrap(), None);
    let me = create(&path, T1).replica().id();
    assert_eq!(TerminalStore::identity(&path).unwrap(), Some((STORE, me)));
    let other_store = TerminalStore::open(
        &path,
        PharmacyId::new(43),
        T1,
        member_ring(PharmacyId::new(43), T1),
        StoreOptions::default(),
    );
    match other_store {
        Err(StoreError::WrongStore {
            expected_store,
            found_store,
            found_replica,
            ..
        }) => {
            assert_eq!(
                (expected_store, found_store, found_replica),
                (PharmacyId::new(43), STORE, me)
            );
        }
        other => panic!("expected WrongStore, got {other:?}"),
    }
    assert!(matches!(
        open(&path, T2),
        Err(StoreError::WrongStore { .. })
    ));
    // Creating over an existing store is refused; opening a missing one too.
    assert!(matches!(
        TerminalStore::create(
            &path,
            STORE,
            T1,
            member_ring(STORE, T1),
            &mut Rng(5),
            StoreOptions::default()
        ),
        Err(StoreError::TargetExists(_))
    ));
    assert!(matches!(
        open(&dir.path("missing.db"), T1),
        Err(StoreError::NotFound(_))
    ));
    open(&path, T1).unwrap();
}

#[test]
fn exclusive_store_cannot_be_opened_twice() {
    let dir = TempDir::new("exclusive");
    let path = dir.path("t1.db");
    let mut first = create(&path, T1);
    let me = first.replica().id();
    first
        .apply(
            1000,
            Op::ReceiveNew {
                lot: new_lot(100, "0002-7597-01", "A", date(2026, 1, 31)),
                qty: 10,
                reference: "inv".into(),
            },
        )
        .unwrap();
    let quick = StoreOptions {
        busy_timeout: Duration::from_millis(20),
        ..StoreOptions::default()
    };
    assert!(matches!(
        open_with(&path, T1, quick),
        Err(StoreError::Sqlite(_))
    ));
    drop(first);
    assert_eq!(open(&path, T1).unwrap().replica().state().vv().get(&me), 1);
}

#[test]
fn leader_relays_durably() {
    let dir = TempDir::new("leader");
    let (t_path, l_path) = (dir.path("t1.db"), dir.path("leader.db"));
    let mut cloud = cloud();
    let mut terminal = create(&t_path, T1);
    let mut leader = create(&l_path, T2);
    let commit = terminal
        .apply(
            1000,
            Op::ReceiveNew {
                lot: new_lot(100, "0002-7597-01", "A", date(2026, 1, 31)),
                qty: 10,
                reference: "inv".into(),
            },
        )
        .unwrap();
    let a = commit.new_lot().unwrap();
    terminal
        .apply(
            2000,
            Op::Dispense {
                today: today(),
                sku: 100,
                qty: 3,
                scanned: None,
                reference: "RX1".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    leader
        .apply(
            3000,
            Op::Receive {
                lot: a,
                qty: 1,
                reference: "inv".into(),
            },
        )
        .unwrap_err(); // the leader does not know the lot yet
    session(&mut terminal, &mut leader, 4000); // cloud unreachable: sync through the leader
    assert_eq!(leader.replica().state().value(&a), 7);
    assert_eq!(
        terminal.replica().outbox().count(),
        2,
        "only the root's acknowledgement empties an outbox"
    );
    let relayed = snapshot(leader.replica());
    assert_eq!(relayed.outbox.len(), 2);
    drop(leader);

    let mut leader = open(&l_path, T2).unwrap();
    assert_eq!(snapshot(leader.replica()), relayed);
    assert!(
        leader
            .stored_transactions()
            .unwrap()
            .iter()
            .all(|s| !s.own && !s.acked_by_root)
    );
    leader
        .apply(
            5000,
            Op::Receive {
                lot: a,
                qty: 5,
                reference: "inv".into(),
            },
        )
        .unwrap();
    session(&mut leader, &mut cloud, 6000);
    assert_eq!(leader.replica().outbox().count(), 0);
    assert_eq!(cloud.replica().state().value(&a), 12);
    session(&mut terminal, &mut leader, 7000);
    assert_eq!(
        terminal.replica().outbox().count(),
        0,
        "the leader passed on the root's acknowledgement"
    );
    assert_eq!(
        terminal.replica().state().observable(),
        cloud.replica().state().observable()
    );
    let (t_snap, l_snap) = (snapshot(terminal.replica()), snapshot(leader.replica()));
    drop((terminal, leader));
    let terminal = open(&t_path, T1).unwrap();
    let leader = open(&l_path, T2).unwrap();
    assert_eq!(snapshot(terminal.replica()), t_snap);
    assert_eq!(snapshot(leader.replica()), l_snap);
    assert!(
        leader
            .stored_transactions()
            .unwrap()
            .iter()
            .all(|s| s.acked_by_root)
    );
}

fn restore(backup: &Path, to: &Path, seed: u64) -> Result<TerminalStore, StoreError> {
    TerminalStore::restore_from_backup(
        backup,
        to,
        STORE,
        member_ring(STORE, T1),
        &mut Rng(seed),
        StoreOptions::default(),
    )
}

#[test]
fn restore_from_backup_takes_a_new_incarnation() {
    let dir = TempDir::new("restore");
    let path = dir.path("t1.db");
    let backup = dir.path("backup.db");
    let mut cloud = cloud();
    let mut store = create(&path, T1);
    let original = store.replica().id();
    let commit = store
        .apply(
            1000,
            Op::ReceiveNew {
                lot: new_lot(100, "0002-7597-01", "A", date(2026, 1, 31)),
                qty: 10,
                reference: "inv".into(),
            },
        )
        .unwrap();
    let a = commit.new_lot().unwrap();
    session(&mut store, &mut cloud, 1500);
    store
        .apply(
            2000,
            Op::Dispense {
                today: today(),
                sku: 100,
                qty: 1,
                scanned: None,
                reference: "RX1".into(),
                attachments: Attachments {
                    claim: Some("{}".into()),
                    pmp_report: None,
                },
            },
        )
        .unwrap();
    store.backup_to(&backup).unwrap();
    assert!(matches!(
        store.backup_to(&backup),
        Err(StoreError::TargetExists(_))
    ));
    // After the backup the device keeps working and syncs, then it is lost.
    store
        .apply(
            3000,
            Op::Receive {
                lot: a,
                qty: 20,
                reference: "inv".into(),
            },
        )
        .unwrap();
    store
        .apply(
            3500,
            Op::Dispense {
                today: today(),
                sku: 100,
                qty: 2,
                scanned: None,
                reference: "RX2".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    session(&mut store, &mut cloud, 4000);
    drop(store);
    assert_eq!(cloud.replica().state().value(&a), 27);

    let restored_path = dir.path("restored.db");
    let mut restored = restore(&backup, &restored_path, 3).unwrap();
    let me = restored.replica().id();
    assert_eq!(me.terminal, 1);
    assert_ne!(me, original);
    assert_eq!(
        restored.replica().pending_claims().count(),
        1,
        "queued rows of the backup are kept"
    );
    let outbox: Vec<TxnKind> = restored.replica().outbox().map(|t| t.kind).collect();
    assert!(
        outbox.len() == 2
            && outbox.contains(&TxnKind::Dispense)
            && outbox.contains(&TxnKind::Restore),
        "the backup's unsynced dispense is still to upload, and the restore record: {outbox:?}"
    );
    restored
        .apply(
            5000,
            Op::Receive {
                lot: a,
                qty: 10,
                reference: "inv".into(),
            },
        )
        .unwrap();
    session(&mut restored, &mut cloud, 6000);
    assert_eq!(
        cloud.replica().state().value(&a),
        37,
        "no unit lost, none counted twice"
    );
    assert_eq!(restored.replica().state().value(&a), 37);
    drop(restored);
    let restored = open(&restored_path, T1).unwrap();
    assert_eq!(restored.replica().id(), me);
    assert_eq!(restored.replica().state().value(&a), 37);
    assert!(matches!(
        restore(&backup, &restored_path, 4),
        Err(StoreError::TargetExists(_))
    ));
    assert!(matches!(
        TerminalStore::restore_from_backup(
            &backup,
            dir.path("x.db"),
            PharmacyId::new(1),
            member_ring(PharmacyId::new(1), T1),
            &mut Rng(5),
            StoreOptions::default()
        ),
        Err(StoreError::WrongStore { .. })
    ));
    assert!(
        !dir.path("x.db").exists(),
        "a failed restore leaves no file"
    );
    // The same backup restored again (even with the same randomness) is another replica:
    // an incarnation the backup knows is never drawn again.
    let twice = restore(&backup, &dir.path("twice.db"), 3).unwrap();
    assert_ne!(twice.replica().id(), original);
    drop(restored);
    let again = restore(&restored_path, &dir.path("again.db"), 3).unwrap();
    assert!(![original, me].contains(&again.replica().id()));

    // Why: a raw copy of the backup continuing under the old incarnation issues a
    // different transaction under a sequence number the cloud already holds. It is not
    // swallowed: the sync refuses it and the copy learns it is superseded.
    let reused_path = dir.path("reused.db");
    std::fs::copy(&backup, &reused_path).unwrap();
    let mut reused = open(&reused_path, T1).unwrap();
    reused
        .apply(
            7000,
            Op::Receive {
                lot: a,
                qty: 10,
                reference: "inv".into(),
            },
        )
        .unwrap();
    let mut up = vec![reused.peer().hello(8000).unwrap()];
    let mut refused = None;
    for _ in 0..10 {
        let down: Vec<Message> = up
            .drain(..)
            .flat_map(|m| cloud.handle(8000, m).unwrap())
            .collect();
        for m in down {
            match reused.apply_messages(8000, m) {
                Ok(more) => up.extend(more),
                Err(e) => refused = Some(e),
            }
        }
    }
    assert!(
        matches!(
            refused,
            Some(StoreError::Protocol(ProtocolError::Superseded(_)))
        ),
        "{refused:?}"
    );
    assert_eq!(
        cloud.replica().state().value(&a),
        37,
        "nothing of the copy was applied"
    );
    assert!(reused.replica().superseded().is_some());
    assert!(matches!(
        reused.apply(
            9000,
            Op::Receive {
                lot: a,
                qty: 1,
                reference: "inv".into()
            }
        ),
        Err(StoreError::Op(pharm_sync::replica::OpError::Superseded(_)))
    ));
    drop(reused);
    // The mark survives a reopen: the copy stays refused until it is recovered.
    assert!(
        open(&reused_path, T1)
            .unwrap()
            .replica()
            .superseded()
            .is_some()
    );
}

#[test]
fn election_state_survives_reopen() {
    use pharm_sync::leader::PersistentState;
    let dir = TempDir::new("election");
    let path = dir.path("e.db");
    {
        let mut store = create(&path, T1);
        assert_eq!(store.election_state().unwrap(), None);
        let state = PersistentState {
            term: 7,
            voted_for: Some(ReplicaId::new(T2, 9)),
        };
        store.save_election_state(&state).unwrap();
    }
    let store = open(&path, T1).unwrap();
    assert_eq!(
        store.election_state().unwrap(),
        Some(PersistentState {
            term: 7,
            voted_for: Some(ReplicaId::new(T2, 9))
        })
    );
}
