//! Storage faults: an empty file, a truncated file, random bit flips, a damaged write-ahead
//! log, a file copied back from another day, the same backup restored twice, exhausted
//! incarnations. Every trial ends in a typed error or in a state exactly equal to what was
//! committed; none opens silently with a wrong state, and none starts a fresh store.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Rng, TempDir, member_ring, new_lot, root};
use pharm_core::time::Date;
use pharm_sync::ids::{IdError, ReplicaId, TxnId};
use pharm_sync::message::Message;
use pharm_sync::protocol::Peer;
use pharm_sync::replica::Op;
use pharm_sync::replica::{Attachments, Replica};
use pharm_sync::state::Observable;
use pharm_sync::store::{CacheTable, StoreError, StoreOptions, TerminalStore};
use pharm_sync::txn::{LotKey, TransferId};
use rusqlite::Connection;

const STORE: PharmacyId = PharmacyId::new(42);
const T1: u16 = 1;
const CLOUD: ReplicaId = ReplicaId::new(u16::MAX, 0);

fn today() -> Date {
    "2026-03-10".parse().unwrap()
}

fn create(path: &Path, seed: u64) -> TerminalStore {
    TerminalStore::create(
        path,
        STORE,
        T1,
        member_ring(STORE, T1),
        &mut Rng(seed),
        StoreOptions::default(),
    )
    .unwrap()
}

fn open(path: &Path) -> Result<TerminalStore, StoreError> {
    common::open_member(path, STORE, T1)
}

fn sync(store: &mut TerminalStore, cloud: &mut Peer, now: u64) -> Result<(), StoreError> {
    let mut up = vec![store.peer().hello(now)?];
    for _ in 0..50 {
        let down: Vec<Message> = up
            .drain(..)
            .map(|m| cloud.handle(now, m).unwrap())
            .collect::<Vec<_>>()
            .concat();
        if down.is_empty() {
            return Ok(());
        }
        for m in down {
            up.extend(store.apply_messages(now, m)?);
        }
        if up.is_empty() {
            return Ok(());
        }
    }
    panic!("sync did not settle")
}

/// Everything a store must bring back exactly.
#[derive(Debug, PartialEq)]
struct Snapshot {
    me: ReplicaId,
    observable: Observable,
    outbox: Vec<(TxnId, pharm_sync::auth::Digest)>,
    claims: Vec<TxnId>,
    reports: Vec<TxnId>,
    acks: pharm_sync::message::Acks,
    hlc: pharm_sync::hlc::Hlc,
    next_lot_no: u32,
    patients: Vec<(String, Option<String>)>,
    election: Option<pharm_sync::leader::PersistentState>,
    history: usize,
}

fn snapshot(s: &TerminalStore) -> Snapshot {
    let r: &Replica = s.replica();
    Snapshot {
        me: r.id(),
        observable: r.state().observable(),
        outbox: r.outbox().map(|t| (t.id, t.digest)).collect(),
        claims: r.pending_claims().map(|q| q.txn).collect(),
        reports: r.pending_pmp_reports().map(|q| q.txn).collect(),
        acks: r.acks().clone(),
        hlc: r.hlc(),
        next_lot_no: r.next_lot_no(),
        patients: s
            .cache_ids(CacheTable::Patients)
            .unwrap()
            .into_iter()
            .map(|id| {
                let body = s.cache_get(CacheTable::Patients, &id).unwrap();
                (id, body)
            })
            .collect(),
        election: s.election_state().unwrap(),
        history: s.stored_transactions().unwrap().len(),
    }
}

/// A store with a bit of everything: synced history, another terminal's state, an unsynced
/// outbox with queued claims and PMP reports, holds, a transfer, caches, election state.
fn busy(path: &Path) -> (TerminalStore, Peer, LotKey) {
    let mut cloud = root(STORE, CLOUD);
    let commit = cloud
        .replica_mut()
        .apply(
            1,
            Op::ReceiveNew {
                lot: new_lot(1, "C1", "2027-01-31", false),
                qty: 500,
                reference: "po".into(),
            },
        )
        .unwrap();
    let lot = commit.new_lot().unwrap();
    let mut s = create(path, 11);
    sync(&mut s, &mut cloud, 2).unwrap();
    let commit = s
        .apply(
            10,
            Op::ReceiveNew {
                lot: new_lot(1, "A", "2026-12-31", false),
                qty: 40,
                reference: "inv".into(),
            },
        )
        .unwrap();
    let a = commit.new_lot().unwrap();
    for i in 0..12u64 {
        let attach = Attachments {
            claim: (i % 3 == 0).then(|| format!("{{\"claim\":{i}}}")),
            pmp_report: (i % 4 == 0).then(|| format!("{{\"pmp\":{i}}}")),
        };
        s.apply(
            20 + i,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 1 + i % 3,
                scanned: None,
                reference: format!("RX{i}").to_string(),
                attachments: attach,
            },
        )
        .unwrap();
    }
    sync(&mut s, &mut cloud, 50).unwrap();
    let commit = s
        .apply(
            60,
            Op::Hold {
                lot,
                reference: "recall R-1".into(),
            },
        )
        .unwrap();
    let hold = commit.hold().unwrap();
    s.apply(
        61,
        Op::Release {
            hold,
            reference: "closed".into(),
        },
    )
    .unwrap();
    s.apply(
        62,
        Op::TransferOut {
            lot: a,
            qty: 2,
            number: 7,
            reference: "to 9".into(),
        },
    )
    .unwrap();
    s.apply(
        63,
        Op::TransferIn {
            transfer: TransferId {
                from: PharmacyId::new(8),
                number: 1,
            },
            lot: new_lot(2, "T", "2027-02-28", false),
            qty: 6,
            reference: "from 8".into(),
        },
    )
    .unwrap();
    s.apply(
        64,
        Op::SetLocation {
            lot: a,
            location: "A-1".into(),
        },
    )
    .unwrap();
    for i in 0..5u64 {
        s.apply(
            70 + i,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 2,
                scanned: Some(lot),
                reference: format!("RX-late-{i}").to_string(),
                attachments: Attachments {
                    claim: Some("{}".into()),
                    pmp_report: None,
                },
            },
        )
        .unwrap();
    }
    s.cache_put(CacheTable::Patients, "p1", r#"{"name":"Ada"}"#)
        .unwrap();
    s.save_election_state(&pharm_sync::leader::PersistentState {
        term: 3,
        voted_for: Some(ReplicaId::new(2, 5)),
    })
    .unwrap();
    (s, cloud, lot)
}

#[test]
fn an_empty_file_is_refused_never_started_fresh() {
    let dir = TempDir::new("empty");
    let path = dir.path("t.db");
    let (s, mut cloud, lot) = busy(&path);
    let old = s.replica().id();
    let sold_before = cloud.replica().state().value(&lot);
    drop(s);
    std::fs::write(&path, b"").unwrap();
    let _ = std::fs::remove_file(dir.path("t.db-wal"));
    assert!(matches!(open(&path), Err(StoreError::NotAStore)));
    // Creating over it is refused too: a fresh store is never made silently.
    assert!(matches!(
        TerminalStore::create(
            &path,
            STORE,
            T1,
            member_ring(STORE, T1),
            &mut Rng(1),
            StoreOptions::default()
        ),
        Err(StoreError::TargetExists(_))
    ));
    // The explicit recovery: a fresh incarnation whose state comes from the cloud.
    let (mut fresh, report) = TerminalStore::recover(
        &path,
        dir.path("recovered.db"),
        STORE,
        T1,
        member_ring(STORE, T1),
        &mut Rng(2),
        StoreOptions::default(),
    )
    .unwrap();
    assert_eq!(report.salvaged, 0);
    assert_ne!(fresh.replica().id(), old);
    sync(&mut fresh, &mut cloud, 100).unwrap();
    fresh
        .apply(
            101,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 3,
                scanned: Some(lot),
                reference: "RX".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    sync(&mut fresh, &mut cloud, 102).unwrap();
    assert_eq!(
        cloud.replica().state().value(&lot),
        sold_before - 3,
        "the new sale counts: no sequence number collided"
    );
    assert_eq!(
        fresh.replica().state().observable(),
        cloud.replica().state().observable()
    );
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_as_not_a_store() {
    let dir = TempDir::new("garbage");
    let path = dir.path("t.db");
    drop(busy(&path).0);
    let _ = std::fs::remove_file(dir.path("t.db-wal"));
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    assert!(matches!(open(&path), Err(StoreError::NotAStore)));
}

#[test]
fn a_store_without_its_identity_row_is_refused() {
    let dir = TempDir::new("identity");
    let path = dir.path("t.db");
    drop(busy(&path).0);
    Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM store_meta", [])
        .unwrap();
    assert!(matches!(open(&path), Err(StoreError::NotAStore)));
}

#[test]
fn a_truncated_file_is_a_typed_error() {
    let dir = TempDir::new("truncated");
    let path = dir.path("t.db");
    drop(busy(&path).0);
    let expected = snapshot(&open(&path).unwrap());
    let full = std::fs::read(&path).unwrap();
    let mut refused = 0;
    for keep in [
        10,
        100,
        4096,
        full.len() / 2,
        full.len() - 4096,
        full.len() - 1,
    ] {
        let trial = dir.path(&format!("cut-{keep}.db"));
        std::fs::write(&trial, &full[..keep]).unwrap();
        match open(&trial) {
            Err(_) => refused += 1,
            // SQLite may read a page cut short by a few bytes of its unused end: then the
            // state must be exactly the stored one.
            Ok(s) => assert_eq!(
                snapshot(&s),
                expected,
                "cut to {keep} of {} bytes",
                full.len()
            ),
        }
    }
    assert!(refused >= 5, "{refused} of 6 cuts refused");
}

#[test]
fn random_bit_flips_end_in_a_typed_error_or_the_exact_state() {
    const TRIALS: usize = 300;
    let dir = TempDir::new("flips");
    let path = dir.path("t.db");
    let (s, _, _) = busy(&path);
    let expected = snapshot(&s);
    drop(s);
    let good = std::fs::read(&path).unwrap();
    assert!(
        !dir.path("t.db-wal").exists()
            || std::fs::metadata(dir.path("t.db-wal")).unwrap().len() == 0
    );
    let mut rng = Rng(0xF11F);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    // Half the trials anywhere in the file (most of a small store is free space), half in a
    // byte that holds something (non-zero), where a flip changes what was written.
    let used: Vec<usize> = (0..good.len()).filter(|&i| good[i] != 0).collect();
    for trial in 0..TRIALS {
        let bit = if trial % 2 == 0 {
            rng.below(good.len() as u64 * 8)
        } else {
            used[rng.below(used.len() as u64) as usize] as u64 * 8 + rng.below(8)
        };
        let mut bytes = good.clone();
        bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
        let p = dir.path(&format!("flip-{trial}.db"));
        std::fs::write(&p, &bytes).unwrap();
        let kind = match open(&p) {
            Ok(s) => {
                assert_eq!(
                    snapshot(&s),
                    expected,
                    "bit {bit} opened with another state"
                );
                "same state".to_string()
            }
            Err(e) => format!("{e}").split(':').next().unwrap_or("").to_string(),
        };
        *outcomes.entry(kind).or_default() += 1;
        let _ = std::fs::remove_file(&p);
        let _ = std::fs::remove_file(dir.path(&format!("flip-{trial}.db-wal")));
        let _ = std::fs::remove_file(dir.path(&format!("flip-{trial}.db-witness")));
    }
    println!(
        "{TRIALS} bit flips in a {} B store: {outcomes:?}",
        good.len()
    );
    assert_eq!(outcomes.values().sum::<usize>(), TRIALS);
}

/// Copies a store's files (database, log, witness) as a crash would leave them.
fn crash_copy(from: &Path, to: &Path) {
    for s in ["", "-wal", "-witness"] {
        let f = PathBuf::from(format!("{}{s}", from.display()));
        if f.exists() {
            std::fs::copy(&f, format!("{}{s}", to.display())).unwrap();
        }
    }
}

/// Offsets of the commit frames in a write-ahead log.
fn commit_frames(wal: &[u8]) -> (usize, Vec<usize>) {
    let page = u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize;
    let frame = 24 + page;
    let commits = (32..wal.len())
        .step_by(frame)
        .filter(|&at| at + frame <= wal.len() && wal[at + 4..at + 8] != [0; 4])
        .collect();
    (frame, commits)
}

#[test]
fn a_damaged_write_ahead_log_is_detected() {
    let dir = TempDir::new("wal");
    let path = dir.path("t.db");
    let mut s = create(&path, 5);
    let commit = s
        .apply(
            1,
            Op::ReceiveNew {
                lot: new_lot(1, "A", "2027-01-31", false),
                qty: 100,
                reference: "inv".into(),
            },
        )
        .unwrap();
    let a = commit.new_lot().unwrap();
    for i in 0..6u64 {
        s.apply(
            10 + i,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 1,
                scanned: Some(a),
                reference: "RX".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    }
    let expected = snapshot(&s);
    // A crash now: the committed transactions are in the log, not yet in the database.
    let crashed = dir.path("crashed.db");
    crash_copy(&path, &crashed);
    drop(s);
    let wal = std::fs::read(dir.path("crashed.db-wal")).unwrap();
    let (frame, commits) = commit_frames(&wal);
    assert!(
        commits.len() >= 5,
        "{} committed transactions in the log",
        commits.len()
    );

    // Control: the crashed copy opens with every acknowledged transaction.
    let control = dir.path("control.db");
    crash_copy(&crashed, &control);
    assert_eq!(snapshot(&open(&control).unwrap()), expected);

    let damaged = |name: &str, at: usize| {
        let p = dir.path(name);
        crash_copy(&crashed, &p);
        let mut w = wal.clone();
        w[at] ^= 0x10;
        std::fs::write(format!("{}-wal", p.display()), w).unwrap();
        open(&p)
    };
    // A flipped byte in the page of an early transaction: later ones would be dropped.
    let early = commits[1] + 24 + 100;
    assert!(matches!(
        damaged("early.db", early),
        Err(StoreError::WalDamaged { .. })
    ));
    // In the log header: its checksum (every frame is then ignored by SQLite)...
    assert!(matches!(
        damaged("header.db", 24),
        Err(StoreError::WalDamaged { frame: 0 })
    ));
    // ...or its salt (no frame belongs to the log any more): the witness knows better.
    assert!(matches!(
        damaged("salt.db", 20),
        Err(StoreError::RolledBack { .. })
    ));
    // In the last transaction: indistinguishable from a torn write for SQLite, but the
    // commit witness knows it was committed.
    let last = *commits.last().unwrap() + 24 + 100;
    assert!(matches!(
        damaged("last.db", last),
        Err(StoreError::RolledBack { missing: 1 })
    ));
    // A torn write (the last frames never reached the disk) of a transaction that was never
    // acknowledged opens as the state before it.
    let torn = dir.path("torn.db");
    crash_copy(&crashed, &torn);
    let mut w = wal.clone();
    w.truncate(*commits.last().unwrap());
    std::fs::write(format!("{}-wal", torn.display()), w).unwrap();
    // (no witness of that transaction: the crash came before its commit returned)
    std::fs::remove_file(format!("{}-witness", torn.display())).unwrap();
    let opened = open(&torn).unwrap();
    assert_eq!(
        opened.replica().state().vv().get(&opened.replica().id()),
        expected.observable.vv[&expected.me] - 1
    );
    assert!(frame > 24);
}

#[test]
fn a_file_copied_back_from_another_day_is_refused() {
    let dir = TempDir::new("rollback");
    let path = dir.path("t.db");
    let (mut s, mut cloud, lot) = busy(&path);
    s.backup_to(dir.path("yesterday.db")).unwrap();
    s.apply(
        500,
        Op::Dispense {
            today: today(),
            sku: 1,
            qty: 1,
            scanned: Some(lot),
            reference: "RX".into(),
            attachments: Attachments::default(),
        },
    )
    .unwrap();
    sync(&mut s, &mut cloud, 501).unwrap();
    drop(s);
    std::fs::copy(dir.path("yesterday.db"), &path).unwrap();
    let _ = std::fs::remove_file(dir.path("t.db-wal"));
    assert!(matches!(open(&path), Err(StoreError::RolledBack { .. })));
}

#[test]
fn the_same_backup_restored_twice_while_offline_gives_two_replicas() {
    let dir = TempDir::new("twice");
    let path = dir.path("t.db");
    let (mut s, mut cloud, lot) = busy(&path);
    sync(&mut s, &mut cloud, 200).unwrap();
    s.backup_to(dir.path("backup.db")).unwrap();
    let before = cloud.replica().state().value(&lot);
    drop(s);
    let restore = |to: &str, seed: u64| {
        TerminalStore::restore_from_backup(
            dir.path("backup.db"),
            dir.path(to),
            STORE,
            member_ring(STORE, T1),
            &mut Rng(seed),
            StoreOptions::default(),
        )
        .unwrap()
    };
    // Two devices restore the same backup without reaching anybody (different randomness).
    let mut a = restore("a.db", 21);
    let mut b = restore("b.db", 22);
    assert_ne!(a.replica().id(), b.replica().id());
    for (i, d) in [&mut a, &mut b].into_iter().enumerate() {
        d.apply(
            300 + i as u64,
            Op::Dispense {
                today: today(),
                sku: 1,
                qty: 4,
                scanned: Some(lot),
                reference: "RX".into(),
                attachments: Attachments::default(),
            },
        )
        .unwrap();
    }
    sync(&mut a, &mut cloud, 310).unwrap();
    sync(&mut b, &mut cloud, 311).unwrap();
    assert_eq!(
        cloud.replica().state().value(&lot),
        before - 8,
        "both devices' units count"
    );
}

#[test]
fn exhausted_incarnations_are_an_error_and_leave_no_file() {
    let dir = TempDir::new("exhausted");
    let mut zeros = || 0u64;
    let r = TerminalStore::create(
        dir.path("z.db"),
        STORE,
        T1,
        member_ring(STORE, T1),
        &mut zeros,
        StoreOptions::default(),
    );
    assert!(matches!(
        r,
        Err(StoreError::Id(IdError::IncarnationsExhausted {
            terminal: 1,
            ..
        }))
    ));
    assert!(!dir.path("z.db").exists());
    let s = create(&dir.path("t.db"), 9);
    let me = s.replica().id();
    s.backup_to(dir.path("backup.db")).unwrap();
    drop(s);
    // A source that only repeats the backup's own incarnation.
    let mut same = move || me.incarnation;
    let r = TerminalStore::restore_from_backup(
        dir.path("backup.db"),
        dir.path("r.db"),
        STORE,
        member_ring(STORE, T1),
        &mut same,
        StoreOptions::default(),
    );
    assert!(matches!(
        r,
        Err(StoreError::Id(IdError::IncarnationsExhausted { .. }))
    ));
    assert!(!dir.path("r.db").exists());
}

#[test]
fn a_damaged_store_is_recovered_with_every_authentic_transaction() {
    let dir = TempDir::new("salvage");
    let path = dir.path("t.db");
    let (s, mut cloud, lot) = busy(&path);
    let unsynced: Vec<TxnId> = s.replica().outbox().map(|t| t.id).collect();
    assert!(!unsynced.is_empty());
    let cloud_before = cloud.replica().state().value(&lot);
    let sold_offline: i64 = s
        .replica()
        .outbox()
        .flat_map(|t| t.lines.iter())
        .filter(|l| l.lot == lot)
        .map(|l| l.delta)
        .sum();
    drop(s);
    // A flipped bit in a state row: the store refuses to open.
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE cells SET p = p + 1 WHERE rowid IN (SELECT rowid FROM cells LIMIT 1)",
        [],
    )
    .ok();
    conn.execute_batch("UPDATE vv SET seq = seq + 1").unwrap();
    drop(conn);
    assert!(matches!(open(&path), Err(StoreError::Corrupt { .. })));
    let (mut fresh, report) = TerminalStore::recover(
        &path,
        dir.path("recovered.db"),
        STORE,
        T1,
        member_ring(STORE, T1),
        &mut Rng(77),
        StoreOptions::default(),
    )
    .unwrap();
    assert_eq!(report.salvaged, unsynced.len(), "{report:?}");
    assert!(
        fresh.replica().pending_claims().count() > 0,
        "queued claims carried over"
    );
    for now in 600..603 {
        sync(&mut fresh, &mut cloud, now).unwrap();
    }
    assert_eq!(fresh.replica().salvage().count(), 0);
    assert_eq!(
        cloud.replica().state().value(&lot),
        cloud_before + sold_offline,
        "the unsynced sales reached the cloud once"
    );
}
