//! Crash test: a child process (`pharm-sync-crash-writer`) commits transactions in a loop
//! and prints `ACK <seq> <flags>` only after each commit returned; the parent kills it with
//! SIGKILL at random points (seeded), reopens the store and checks that every acknowledged
//! commit is there exactly once with its queue rows, that every lot's value equals the sum
//! of its committed lines, and that the next run continues with contiguous sequence numbers.
#![cfg(all(feature = "sqlite", unix))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pharm_core::ids::PharmacyId;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

use std::sync::Arc;

use pharm_sync::ids::{ReplicaId, TxnId};
use pharm_sync::state::{Applied, InventoryState};
use pharm_sync::store::{StoreOptions, TerminalStore};
use pharm_sync::txn::LotKey;
use rusqlite::Connection;

const STORE: PharmacyId = PharmacyId::new(7);
const TERMINAL: u16 = 1;
const KILLS: usize = 40;
const MIN_KILLS: usize = 20;
const BUDGET: Duration = Duration::from_secs(40);

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse_ack(line: &str) -> (u64, String) {
    let mut parts = line.split_whitespace();
    assert_eq!(parts.next(), Some("ACK"), "unexpected output {line:?}");
    let seq = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad line {line:?}"));
    (seq, parts.next().unwrap_or("-").to_string())
}

/// Reopens the store and checks it against everything acknowledged so far; returns the
/// highest durable sequence number.
/// The replica id as the store writes it in its tables (10 bytes, big-endian).
fn blob(r: ReplicaId) -> Vec<u8> {
    let mut b = r.terminal.to_be_bytes().to_vec();
    b.extend_from_slice(&r.incarnation.to_be_bytes());
    b
}

fn verify(db: &Path, acked: &BTreeMap<u64, String>) -> u64 {
    if !db.exists() {
        // Killed while creating: nothing was acknowledged, and no half-made store is left.
        assert!(
            acked.is_empty(),
            "the store vanished after acknowledgements"
        );
        return 0;
    }
    let store = TerminalStore::open(
        db,
        STORE,
        TERMINAL,
        common::member_ring(STORE, TERMINAL),
        StoreOptions::default(),
    )
    .unwrap();
    let replica = store.replica();
    let me = replica.id();
    let state = replica.state();
    let durable = state.vv().get(&me);
    let stored = store.stored_transactions().unwrap();

    // Stored transactions are exactly 1..=durable, all own, all in the outbox (no sync here).
    let seqs: Vec<u64> = stored.iter().map(|s| s.txn.id.seq).collect();
    assert_eq!(
        seqs,
        (1..=durable).collect::<Vec<_>>(),
        "contiguous stored sequence numbers"
    );
    assert!(
        stored
            .iter()
            .all(|s| s.own && !s.acked_by_root && s.txn.id.replica == me)
    );
    assert_eq!(
        replica.outbox().cloned().collect::<Vec<_>>(),
        stored.iter().map(|s| s.txn.clone()).collect::<Vec<_>>()
    );

    // Every acknowledged commit is durable, with its queue rows.
    let claims: Vec<TxnId> = replica.pending_claims().map(|q| q.txn).collect();
    let reports: Vec<TxnId> = replica.pending_pmp_reports().map(|q| q.txn).collect();
    for (&seq, flags) in acked {
        assert!(
            seq <= durable,
            "acknowledged seq {seq} lost (durable up to {durable})"
        );
        let id = TxnId { replica: me, seq };
        assert_eq!(
            claims.contains(&id),
            flags.contains('C'),
            "claim row of seq {seq}"
        );
        assert_eq!(
            reports.contains(&id),
            flags.contains('P'),
            "PMP report row of seq {seq}"
        );
    }
    assert!(claims.iter().chain(&reports).all(|q| q.seq <= durable));

    // Every lot's value is the sum of its committed lines.
    let mut sums: BTreeMap<LotKey, i64> = BTreeMap::new();
    for s in &stored {
        for l in &s.txn.lines {
            *sums.entry(l.lot).or_default() += l.delta;
        }
    }
    let values: BTreeMap<LotKey, i64> = state.lots().map(|(i, v)| (i.key, v)).collect();
    assert_eq!(
        values.keys().collect::<Vec<_>>(),
        sums.keys().collect::<Vec<_>>()
    );
    for (lot, v) in &values {
        assert_eq!(*v, sums[lot], "value of {lot:?}");
    }

    // The restored state is what replaying the stored transactions gives.
    let mut oracle = InventoryState::new(STORE);
    for s in &stored {
        assert_eq!(oracle.apply(Arc::new(s.txn.clone())), Applied::Applied);
    }
    assert_eq!(oracle.observable(), state.observable());
    drop(store);

    // At the SQL level: each acknowledged seq is one row; the file is sound.
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT count(*) FROM transactions WHERE replica = ?1 AND seq = ?2")
        .unwrap();
    for &seq in acked.keys() {
        let n: i64 = stmt
            .query_row((blob(me), seq as i64), |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "rows for seq {seq}");
    }
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    durable
}

#[test]
fn acknowledged_commits_survive_sigkill() {
    let started = Instant::now();
    let dir =
        TempDir(std::env::temp_dir().join(format!("pharm-sync-crash-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = dir.0.join("terminal.db");
    let mut rng = Rng(0x00C0_FFEE);
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut next_seq = 1u64;
    let (mut kills, mut checks, mut unacked_durable) = (0usize, 0usize, 0u64);

    for round in 0..KILLS {
        if round >= MIN_KILLS && started.elapsed() > BUDGET {
            break;
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_pharm-sync-crash-writer"))
            .arg(&db)
            .arg(rng.next().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });

        let mut lines = Vec::new();
        if rng.below(4) == 0 {
            // Kill after a random delay: often during open, migration or the first commits.
            std::thread::sleep(Duration::from_millis(rng.below(60)));
        } else {
            // Kill after a random number of acknowledgements (the child is then usually in
            // the middle of its next commit), plus a random sub-millisecond delay.
            let want = 1 + rng.below(30) as usize;
            while lines.len() < want {
                match rx.recv_timeout(Duration::from_secs(20)) {
                    Ok(l) => lines.push(l),
                    Err(e) => panic!("writer stalled or died after {} lines: {e}", lines.len()),
                }
            }
            std::thread::sleep(Duration::from_micros(rng.below(1500)));
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "the writer must die by SIGKILL, not exit: {status:?}"
        );
        kills += 1;
        reader.join().unwrap();
        lines.extend(rx.try_iter());

        // Everything printed was acknowledged; a run continues where the durable log ends.
        for (expect, line) in (next_seq..).zip(&lines) {
            let (seq, flags) = parse_ack(line);
            assert_eq!(
                seq, expect,
                "round {round}: contiguous sequence numbers across runs"
            );
            assert!(acked.insert(seq, flags).is_none());
        }
        let durable = verify(&db, &acked);
        checks += acked.len();
        let last_acked = acked.keys().next_back().copied().unwrap_or(0);
        assert!(durable >= last_acked);
        assert!(
            durable <= last_acked + 1,
            "at most the one commit in flight at the kill is durable unacknowledged"
        );
        unacked_durable += durable - last_acked.max(next_seq - 1);
        next_seq = durable + 1;
        // Unacknowledged but durable commits are simply part of the history from now on.
        for seq in last_acked + 1..=durable {
            acked.insert(seq, flags_of(&db, replica_of(&db), seq));
        }
    }
    println!(
        "crash test: {kills} SIGKILLs, {} acknowledged commits (+{unacked_durable} durable unacknowledged), {checks} ack checks, {:.1}s",
        acked.len() as u64 - unacked_durable,
        started.elapsed().as_secs_f64()
    );
    assert!(kills >= MIN_KILLS);
}

/// The replica the store at `db` belongs to.
fn replica_of(db: &Path) -> ReplicaId {
    TerminalStore::identity(db).unwrap().unwrap().1
}

/// Queue flags of a durable but unacknowledged commit, read from the file.
fn flags_of(db: &Path, me: ReplicaId, seq: u64) -> String {
    let conn = Connection::open(db).unwrap();
    let has = |table: &str| -> bool {
        let sql = format!("SELECT count(*) FROM {table} WHERE txn_replica = ?1 AND txn_seq = ?2");
        let n: i64 = conn
            .query_row(&sql, (blob(me), seq as i64), |r| r.get(0))
            .unwrap();
        n > 0
    };
    let mut f = String::new();
    if has("claims") {
        f.push('C');
    }
    if has("pmp_reports") {
        f.push('P');
    }
    if f.is_empty() { "-".into() } else { f }
}
