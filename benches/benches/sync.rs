//! Offline-sync benchmarks of `pharm-sync` against `crdts::Map` and Automerge 0.12, on the
//! design's scenario ([`pharm_benches::sync_scenario`]: 45,000 lots seeded with 100 units,
//! 5 terminals × 2,000 offline operations, merge of the 5 states).
//!
//! - `merge5/{pharm_sync,crdts_map,automerge}`: merge the 5 terminal states into a copy of
//!   the seeded state. Copies are made before the clock starts and dropped after it stops
//!   (`iter_custom`, the same as `iter_batched` with one input per batch); after every
//!   timed merge, outside the clock, each lot's merged value is checked against seed + all
//!   deltas. `merge5/pharm_sync_via_delta` is the same merge through the public delta API
//!   (`join(delta_since(vv))`), for comparison. `crdts`' `merge` takes the other state by
//!   value, so its time includes freeing the consumed terminal states (inherent in its API).
//!   Automerge's seed is one commit; each terminal operation is one commit.
//! - `apply5/{pharm_sync,crdts_map,automerge}`: the 5 terminals' 10,000 operations on fresh
//!   copies of the seeded state; one transaction (pharm-sync), one map update (crdts) or
//!   one commit (Automerge) per operation. Each side derives a lot's key from its dense index
//!   (crdts keys by the index itself). pharm-sync's time includes authentication: every
//!   transaction's digest, and each terminal's seal on its outbox (one upload run).
//! - `apply_dispense/pharm_sync`: one `Replica::apply` of an `Op::Dispense` with a scanned
//!   lot on a warm 45,000-lot terminal. `apply_dispense/pharm_sync_fefo`: the same without a
//!   scanned lot (FEFO through pharm-core). Dispensing appends to the outbox; every 2,000 dispenses (a
//!   day) the outbox is drained outside the clock, as a sync acknowledged by the root would,
//!   so the outbox holds 0–2,000 transactions while timed.
//! - `auth/head_seal`: a terminal's head seal after its day (the digest of its 1,956 touched
//!   cells, then one MAC), paid once per delta it sends.
//! - `sync/delta_since`: the server computes what another terminal lacks after one
//!   terminal's day.
//!
//! Before the timed benchmarks it prints the bytes of one sync: the `Upload` messages of a
//! terminal's 2,000-operation day, the `Delta` the server then sends another terminal
//! (bytes per touched lot), and for comparison crdts' ops and Automerge's changes. The
//! scenario's transactions carry no business reference (the empty string).
//!
//! Run with `cargo bench -p pharm-benches --bench sync`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ReadDoc, ScalarValue};
use crdts::CvRDT;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, measurement::WallTime};
use pharm_benches::sync_scenario::{
    self as sc, CrdtsInventory, Op, SyncScenario, apply_crdts_map, crdts_op_leb128_len,
    minimal_delta_len,
};
use pharm_sync::codec;
use pharm_sync::message::{Body, Message};
use pharm_sync::protocol::{Peer, Role};
use pharm_sync::replica::Op as SyncOp;
use pharm_sync::replica::{Attachments, Replica};
use pharm_sync::state::StateDelta;
use pharm_sync::txn::LotKey;

/// Everything built once: the scenario, the seeded states and the terminals' states after
/// their offline day, for each implementation.
struct Fixture {
    s: SyncScenario,
    keys: Vec<LotKey>,
    back_office: Replica,
    ps_terminals: Vec<Replica>,
    map_seed: CrdtsInventory,
    map_terminals: Vec<CrdtsInventory>,
    am_keys: Vec<String>,
    am_seed: AutoCommit,
    am_terminals: Vec<AutoCommit>,
}

fn am_actor(actor: u8) -> ActorId {
    ActorId::from(vec![0xA0, actor])
}

fn am_seed(s: &SyncScenario, keys: &[String]) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(am_actor(0));
    for k in keys {
        doc.put(
            automerge::ROOT,
            k.as_str(),
            ScalarValue::counter(sc::SEED_QTY as i64),
        )
        .unwrap();
    }
    doc.commit();
    assert_eq!(doc.length(automerge::ROOT), s.lot_count());
    doc
}

/// One commit per operation, as a terminal recording each sale as its own change would.
fn am_apply(doc: &mut AutoCommit, keys: &[String], ops: &[Op]) {
    for op in ops {
        doc.increment(
            automerge::ROOT,
            keys[op.lot as usize].as_str(),
            i64::from(op.delta),
        )
        .unwrap();
        doc.commit();
    }
}

fn am_check(s: &SyncScenario, doc: &AutoCommit, keys: &[String]) -> Result<i64, String> {
    s.check_values(keys.iter().map(|k| {
        doc.get(automerge::ROOT, k.as_str())
            .ok()
            .flatten()
            .and_then(|(v, _)| v.as_i64())
            .unwrap_or(0)
    }))
}

fn am_terminal(seed: &AutoCommit, t: usize) -> AutoCommit {
    let mut doc = seed.clone();
    doc.set_actor(am_actor(t as u8 + 1));
    doc
}

impl Fixture {
    fn build() -> Self {
        let t0 = Instant::now();
        let s = SyncScenario::design();
        let (back_office, keys) = s.seed_pharm_sync().unwrap();
        let ps_terminals: Vec<Replica> = (0..s.terminals())
            .map(|t| {
                let mut r = s.pharm_sync_terminal(back_office.state(), t);
                s.apply_pharm_sync(&mut r, &s.ops[t]).unwrap();
                r
            })
            .collect();
        let map_seed = s.seed_crdts_map();
        let map_terminals: Vec<CrdtsInventory> = (0..s.terminals())
            .map(|t| {
                let mut m = map_seed.clone();
                apply_crdts_map(&mut m, t as u8 + 1, &s.ops[t], |_| {});
                m
            })
            .collect();
        let am_keys: Vec<String> = (0..s.lot_count()).map(|i| i.to_string()).collect();
        let am_seed = am_seed(&s, &am_keys);
        let am_terminals: Vec<AutoCommit> = (0..s.terminals())
            .map(|t| {
                let mut d = am_terminal(&am_seed, t);
                am_apply(&mut d, &am_keys, &s.ops[t]);
                d
            })
            .collect();
        eprintln!(
            "sync fixture: {} lots, {} terminals x {} ops, built in {:.1?}",
            s.lot_count(),
            s.terminals(),
            s.ops[0].len(),
            t0.elapsed()
        );
        Fixture {
            s,
            keys,
            back_office,
            ps_terminals,
            map_seed,
            map_terminals,
            am_keys,
            am_seed,
            am_terminals,
        }
    }

    fn merge_pharm_sync(&self) -> (pharm_sync::state::InventoryState, Duration) {
        let mut merged = self.back_office.state().clone();
        let start = Instant::now();
        for t in &self.ps_terminals {
            merged.merge(black_box(t.state()));
        }
        (merged, start.elapsed())
    }

    /// The same merge through the public delta API: `join(other.delta_since(self.vv))`.
    fn merge_pharm_sync_via_delta(&self) -> (pharm_sync::state::InventoryState, Duration) {
        let mut merged = self.back_office.state().clone();
        let start = Instant::now();
        for t in &self.ps_terminals {
            let delta = black_box(t.state()).delta_since(merged.vv());
            merged.join(&delta).unwrap();
        }
        (merged, start.elapsed())
    }

    fn merge_crdts_map(&self) -> (CrdtsInventory, Duration) {
        let mut merged = self.map_seed.clone();
        let others = self.map_terminals.clone();
        let start = Instant::now();
        for m in others {
            merged.merge(black_box(m));
        }
        (merged, start.elapsed())
    }

    fn merge_automerge(&self) -> (AutoCommit, Duration) {
        let mut merged = self.am_seed.clone();
        let mut others = self.am_terminals.clone();
        let start = Instant::now();
        for d in &mut others {
            merged.merge(black_box(d)).unwrap();
        }
        let elapsed = start.elapsed();
        drop(others);
        (merged, elapsed)
    }
}

/// Times `merge` (which reports its own timed section) and checks every result outside the
/// clock.
fn bench_merge<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    merge: impl Fn() -> (T, Duration),
    check: impl Fn(&T) -> Result<i64, String>,
    expected: i64,
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (merged, elapsed) = merge();
                total += elapsed;
                assert_eq!(check(&merged), Ok(expected), "{name}: units lost");
                drop(merged);
            }
            total
        });
    });
}

fn merge5(c: &mut Criterion, f: &Fixture) {
    let expected = f.s.expected_total();
    let mut group = c.benchmark_group("merge5");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    bench_merge(
        &mut group,
        "pharm_sync",
        || f.merge_pharm_sync(),
        |m| f.s.check_pharm_sync(m, &f.keys),
        expected,
    );
    bench_merge(
        &mut group,
        "pharm_sync_via_delta",
        || f.merge_pharm_sync_via_delta(),
        |m| f.s.check_pharm_sync(m, &f.keys),
        expected,
    );
    bench_merge(
        &mut group,
        "crdts_map",
        || f.merge_crdts_map(),
        |m| f.s.check_crdts_map(m),
        expected,
    );
    bench_merge(
        &mut group,
        "automerge",
        || f.merge_automerge(),
        |m| am_check(&f.s, m, &f.am_keys),
        expected,
    );
    group.finish();
}

fn apply5(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("apply5");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let s = &f.s;
    group.bench_function("pharm_sync", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut ts: Vec<Replica> = (0..s.terminals())
                    .map(|t| s.pharm_sync_terminal(f.back_office.state(), t))
                    .collect();
                let start = Instant::now();
                for (t, r) in ts.iter_mut().enumerate() {
                    s.apply_pharm_sync(r, &s.ops[t]).unwrap();
                    // Authentication included: every transaction carries its digest (the
                    // chain), and the upload's run is sealed once at its last one.
                    let key = sc::origin_key(t as u16 + 1);
                    black_box(r.outbox().last().map(|last| last.seal(&key, sc::STORE)));
                }
                total += start.elapsed();
                drop(black_box(ts));
            }
            total
        });
    });
    group.bench_function("crdts_map", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut ms = vec![f.map_seed.clone(); s.terminals()];
                let start = Instant::now();
                for (t, m) in ms.iter_mut().enumerate() {
                    apply_crdts_map(m, t as u8 + 1, &s.ops[t], |_| {});
                }
                total += start.elapsed();
                drop(black_box(ms));
            }
            total
        });
    });
    group.bench_function("automerge", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut ds: Vec<AutoCommit> = (0..s.terminals())
                    .map(|t| am_terminal(&f.am_seed, t))
                    .collect();
                let start = Instant::now();
                for (t, d) in ds.iter_mut().enumerate() {
                    am_apply(d, &f.am_keys, &s.ops[t]);
                }
                total += start.elapsed();
                drop(black_box(ds));
            }
            total
        });
    });
    group.finish();
}

/// One terminal dispensing: `scanned` = with the lot scanned, else FEFO.
fn bench_dispense(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    f: &Fixture,
    scanned: bool,
) {
    const DAY: u64 = 2_000;
    let s = &f.s;
    let dispenses: Vec<Op> = s
        .ops
        .iter()
        .flatten()
        .copied()
        .filter(|o| o.is_dispense())
        .collect();
    let template = s.pharm_sync_terminal(f.back_office.state(), 0);
    let mut terminal = template.clone();
    let today = sc::today();
    let mut next = 0usize;
    let mut now = sc::START_MS + 86_400_000;
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                // A new day on a fresh terminal: the outbox holds at most one day
                // (outside the clock, as a sync acknowledged by the root would drain it).
                terminal = template.clone();
                let chunk = (iters - done).min(DAY);
                let start = Instant::now();
                for _ in 0..chunk {
                    let op = dispenses[next];
                    next = (next + 1) % dispenses.len();
                    now += 1_000;
                    let lot = scanned.then(|| f.keys[op.lot as usize]);
                    let commit = terminal
                        .apply(
                            now,
                            SyncOp::Dispense {
                                today,
                                sku: SyncScenario::sku_of(op.lot),
                                qty: op.qty(),
                                scanned: lot,
                                reference: "RX-6000001".into(),
                                attachments: Attachments::default(),
                            },
                        )
                        .unwrap();
                    black_box(commit);
                }
                total += start.elapsed();
                done += chunk;
            }
            total
        });
    });
}

fn apply_dispense(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("apply_dispense");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    bench_dispense(&mut group, "pharm_sync", f, true);
    bench_dispense(&mut group, "pharm_sync_fefo", f, false);
    group.finish();
}

// ------------------------------------------------------------------------ sync bytes

/// Encoded size of a sync message (`pharm_sync::codec`), checked to decode back to it.
fn encoded_len(m: &Message) -> usize {
    let bytes = codec::encode(m).unwrap();
    let back = codec::decode(&bytes, &codec::DecodeLimits::default()).unwrap();
    assert_eq!(&back, m, "codec round trip");
    bytes.len()
}

const ENCODING: &str = "pharm_sync::codec";

/// The server after terminal 0's upload, and the messages of that exchange.
fn sync_day(f: &Fixture) -> (Peer, Vec<(bool, Message)>) {
    let mut server = Peer::new(f.back_office.clone(), sc::key_ring(0, true), Role::Root);
    let mut terminal = Peer::new(
        f.ps_terminals[0].clone(),
        sc::key_ring(1, false),
        Role::Member,
    );
    let now = sc::START_MS + 86_400_000;
    let mut log = Vec::new();
    // (to_server, message)
    let mut queue: VecDeque<(bool, Message)> =
        VecDeque::from([(true, terminal.hello(now).unwrap())]);
    while let Some((to_server, m)) = queue.pop_front() {
        log.push((to_server, m.clone()));
        let replies = if to_server {
            server.handle(now, m).unwrap()
        } else {
            terminal.handle(now, m).unwrap()
        };
        queue.extend(replies.into_iter().map(|r| (!to_server, r)));
        assert!(log.len() < 100, "sync does not converge");
    }
    assert_eq!(
        terminal.replica().outbox().count(),
        0,
        "the root acknowledged every transaction"
    );
    (server, log)
}

/// A message of the back office, sealed with the store's link key.
fn seal(body: Body) -> Message {
    Message::seal(sc::STORE, sc::replica_id(0), body, &sc::link_key()).unwrap()
}

fn sync_bytes(f: &Fixture) {
    let s = &f.s;
    let touched = s.touched_lots(0);
    let ops = s.ops[0].len();
    println!(
        "\nsync_bytes: terminal T1 after its {ops}-op day ({touched} touched lots), encoding: {ENCODING}"
    );
    let (server, log) = sync_day(f);
    let mut upload = (0usize, 0usize, 0usize);
    for (to_server, m) in &log {
        let n = encoded_len(m);
        let dir = if *to_server { "T1 -> S" } else { "S -> T1" };
        let kind = m.body.kind();
        match &m.body {
            Body::Upload { txns } => {
                upload.0 += 1;
                upload.1 += txns.len();
                upload.2 += n;
                println!("  {dir} {kind:<10} {n:>8} B  ({} txns)", txns.len());
            }
            Body::Delta { delta } => {
                println!("  {dir} {kind:<10} {n:>8} B  ({} cells)", delta.cells.len())
            }
            _ => println!("  {dir} {kind:<10} {n:>8} B"),
        }
    }
    println!(
        "  Upload total: {} messages, {} txns, {} B = {:.1} B/txn (one 16-byte origin seal per run; {} B of hop tag and headers per message)",
        upload.0,
        upload.1,
        upload.2,
        upload.2 as f64 / upload.1.max(1) as f64,
        encoded_len(&seal(Body::Upload { txns: Vec::new() }))
    );

    // Another terminal (still at the seed) syncs: the Delta it receives.
    let mut other = Peer::new(
        s.pharm_sync_terminal(f.back_office.state(), 1),
        sc::key_ring(2, false),
        Role::Member,
    );
    let mut server = server;
    let replies = server
        .handle(
            sc::START_MS + 86_500_000,
            other.hello(sc::START_MS + 86_500_000).unwrap(),
        )
        .unwrap();
    let delta = replies
        .iter()
        .find_map(|m| match &m.body {
            Body::Delta { delta } => Some(delta.clone()),
            _ => None,
        })
        .expect("the server sends a Delta");
    assert_eq!(delta.cells.len(), touched, "one cell per lot T1 touched");
    let full = encoded_len(&seal(Body::Delta {
        delta: delta.clone(),
    }));
    let header = encoded_len(&seal(Body::Delta {
        delta: StateDelta {
            cells: Vec::new(),
            ..delta.clone()
        },
    }));
    println!(
        "  S -> T2 delta      {full:>8} B  ({} cells, {} lots): {header} B without cells (header, version vectors, T1's head transaction, hop tag) + {:.2} B per touched lot",
        delta.cells.len(),
        delta.lots.len(),
        (full - header) as f64 / touched as f64
    );
    for r in replies {
        other.handle(sc::START_MS + 86_500_000, r).unwrap();
    }
    assert_eq!(
        other
            .replica()
            .state()
            .value(&f.keys[s.ops[0][0].lot as usize]),
        f.ps_terminals[0]
            .state()
            .value(&f.keys[s.ops[0][0].lot as usize])
    );

    // References.
    let (min, cells) = minimal_delta_len(&s.ops[0]);
    println!(
        "  reference: design's minimal delta (dense lot ids, LEB128 gap+P+N): {min} B = {:.2} B per touched lot ({cells} lots)",
        min as f64 / cells as f64
    );
    let mut map = f.map_seed.clone();
    let (mut json, mut leb) = (0usize, 0usize);
    apply_crdts_map(&mut map, 1, &s.ops[0], |op| {
        json += serde_json::to_vec(op).unwrap().len();
        leb += crdts_op_leb128_len(op);
    });
    println!(
        "  reference: crdts::Map ops: serde_json {json} B ({:.1} B/op), hand LEB128 {leb} B ({:.1} B/op, {:.1} B per touched lot)",
        json as f64 / ops as f64,
        leb as f64 / ops as f64,
        leb as f64 / touched as f64
    );
    let mut am = f.am_terminals[0].clone();
    let mut seed = f.am_seed.clone();
    let changes = am.get_changes(&seed.get_heads());
    let am_bytes: usize = changes.iter().map(|c| c.raw_bytes().len()).sum();
    println!(
        "  reference: Automerge changes (one per op): {} changes, {am_bytes} B ({:.1} B/op)\n",
        changes.len(),
        am_bytes as f64 / ops as f64
    );
}

/// The cost of authentication: a transaction's digest (its standalone encoding, then
/// SHA-256; every operation and every receiver computes it), its origin seal (HMAC over the
/// digest: one per run of an upload), and at the receiver of a 512-transaction upload the
/// decoding (which recomputes the 512 digests) and the hop tag over its bytes.
fn auth(c: &mut Criterion, f: &Fixture) {
    use pharm_sync::auth::MacKey;
    use pharm_sync::txn::SealedTxn;
    let txns: Vec<_> = f.ps_terminals[0].outbox().take(512).cloned().collect();
    let txn = txns[0].clone();
    let key = sc::origin_key(1);
    let mut group = c.benchmark_group("auth");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut scratch = Vec::new();
    group.bench_function("txn_encode", |b| {
        b.iter(|| codec::txn_signing_bytes(black_box(&txn), &mut scratch).unwrap());
    });
    let mut t = txn.clone();
    group.bench_function("txn_digest", |b| {
        b.iter(|| black_box(&mut t).link(&mut scratch).unwrap());
    });
    group.bench_function("txn_seal", |b| {
        b.iter(|| black_box(&txn).seal(&key, sc::STORE));
    });
    // A head seal: the sealing terminal's effects digest (its 1,956 touched cells after the
    // day) and one MAC.
    let terminal = &f.ps_terminals[0];
    let head = terminal.state().head(&terminal.id()).unwrap().clone();
    group.bench_function("head_seal", |b| {
        b.iter(|| {
            let effects = terminal.state().effects_digest(&terminal.id(), None);
            black_box(&head).head_seal(&key, sc::STORE, &effects)
        });
    });
    let seal_of_run = txns.last().unwrap().seal(&key, sc::STORE);
    let run: Vec<SealedTxn> = txns
        .iter()
        .enumerate()
        .map(|(i, t)| SealedTxn {
            txn: std::sync::Arc::new(t.clone()),
            seal: (i + 1 == txns.len()).then_some(seal_of_run),
        })
        .collect();
    let upload = seal(Body::Upload { txns: run });
    let bytes = codec::encode(&upload).unwrap();
    let link: MacKey = sc::link_key();
    println!(
        "auth: a 512-transaction upload (one run, one seal) is {} B; its hop tag covers all but the last 16",
        bytes.len()
    );
    let limits = codec::DecodeLimits::default();
    group.bench_function("upload512_decode", |b| {
        b.iter(|| codec::decode(black_box(&bytes), &limits).unwrap());
    });
    group.bench_function("upload512_hop_tag", |b| {
        b.iter(|| assert!(black_box(&upload).verify(&link)));
    });
    group.finish();
}

fn delta_since(c: &mut Criterion, f: &Fixture) {
    let (server, _) = sync_day(f);
    let their = f.back_office.state().vv().clone();
    let mut group = c.benchmark_group("sync");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("delta_since", |b| {
        b.iter(|| server.replica().state().delta_since(black_box(&their)));
    });
    group.finish();
}

fn main() {
    let f = Fixture::build();
    let mut c = Criterion::default().configure_from_args();
    sync_bytes(&f);
    merge5(&mut c, &f);
    apply5(&mut c, &f);
    apply_dispense(&mut c, &f);
    auth(&mut c, &f);
    delta_since(&mut c, &f);
    c.final_summary();
}
