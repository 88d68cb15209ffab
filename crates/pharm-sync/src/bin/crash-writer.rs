//! Helper for the crash test (`tests/crash.rs`): opens a terminal store and commits
//! receipts, dispenses and adjustments in a loop, printing `ACK <seq> <flags>` on stdout
//! (flushed) only after each commit has returned. The test kills it with `SIGKILL` at random
//! points and checks that every acknowledged commit survived.
//!
//! Usage: `pharm-sync-crash-writer <db-path> <seed> [max-ops]`. `flags` is `-` or a
//! combination of `C` (an insurance claim was queued) and `P` (a PMP report was queued).

use pharm_core::ids::PharmacyId;
use std::error::Error;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use pharm_core::ids::Ndc;
use pharm_core::time::Date;
use pharm_sync::auth::{KeyRing, MacKey, StoreKeys};
use pharm_sync::replica::Op;
use pharm_sync::replica::{Attachments, Commit, NewLot};
use pharm_sync::store::{StoreOptions, TerminalStore};
use pharm_sync::txn::{LotKey, Reason};

/// Store id used by the crash test.
const STORE: PharmacyId = PharmacyId::new(7);
/// Terminal used by the crash test.
const TERMINAL: u16 = 1;

/// The test keys of the crash test (the same derivation as the integration tests'
/// fixtures): link key 0x4c…, origin key 0x6f… with the store and terminal in front.
fn keys() -> Arc<dyn KeyRing> {
    let mut link = [0x4c; 32];
    link[..4].copy_from_slice(&STORE.get().to_le_bytes());
    let mut origin = [0x6f; 32];
    origin[..4].copy_from_slice(&STORE.get().to_le_bytes());
    origin[4..6].copy_from_slice(&TERMINAL.to_le_bytes());
    Arc::new(
        StoreKeys::new(STORE, MacKey::new(link)).with_member(TERMINAL, Some(MacKey::new(origin))),
    )
}

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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn ack(out: &mut impl Write, commit: &Commit) -> std::io::Result<()> {
    let mut flags = String::new();
    if commit.claim.is_some() {
        flags.push('C');
    }
    if commit.pmp_report.is_some() {
        flags.push('P');
    }
    if flags.is_empty() {
        flags.push('-');
    }
    writeln!(out, "ACK {} {}", commit.txn.id.seq, flags)?;
    out.flush()
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: pharm-sync-crash-writer <db-path> <seed> [max-ops]".into());
    }
    let path = &args[1];
    let mut rng = Rng(args[2].parse()?);
    let max_ops: u64 = match args.get(3) {
        Some(v) => v.parse()?,
        None => u64::MAX,
    };
    let today = Date::from_ymd(2025, 6, 1)?;
    let mut store = if Path::new(path).exists() {
        TerminalStore::open(path, STORE, TERMINAL, keys(), StoreOptions::default())?
    } else {
        let mut entropy = Rng(rng.next() | 1);
        let mut draw = move || entropy.next();
        TerminalStore::create(
            path,
            STORE,
            TERMINAL,
            keys(),
            &mut draw,
            StoreOptions::default(),
        )?
    };
    let mut out = std::io::stdout().lock();

    let skus = [(100u32, "0002-7597-01"), (101, "0002-7597-02")];
    let lots: Vec<LotKey> = store.replica().state().lots().map(|(i, _)| i.key).collect();
    let mut lots = lots;
    while lots.len() < 3 {
        let i = lots.len();
        let (sku, ndc) = skus[i % 2];
        let lot = NewLot {
            sku,
            ndc: ndc.parse::<Ndc>()?,
            lot_number: format!("L{i}"),
            expiry: Date::from_ymd(2027, 1 + i as u32, 1)?,
            controlled: false,
        };
        let commit = store.apply(
            now_ms(),
            Op::ReceiveNew {
                lot,
                qty: 50,
                reference: "invoice".into(),
            },
        )?;
        ack(&mut out, &commit)?;
        lots.extend(commit.new_lot());
    }

    for op in 0..max_ops {
        let lot = lots[rng.below(lots.len() as u64) as usize];
        let sku = store.replica().state().lot(&lot).map_or(100, |i| i.sku);
        let roll = rng.below(100);
        let commit = if roll < 70 {
            let attachments = Attachments {
                claim: (rng.below(3) == 0).then(|| format!("{{\"claim\":{op}}}")),
                pmp_report: (rng.below(4) == 0).then(|| format!("{{\"pmp\":{op}}}")),
            };
            let scanned = (roll >= 55).then_some(lot);
            store.apply(
                now_ms(),
                Op::Dispense {
                    today,
                    sku,
                    qty: 1 + rng.below(3),
                    scanned,
                    reference: format!("RX{op}"),
                    attachments,
                },
            )?
        } else if roll < 95 {
            store.apply(
                now_ms(),
                Op::Receive {
                    lot,
                    qty: 1 + rng.below(20),
                    reference: "invoice".into(),
                },
            )?
        } else {
            store.apply(
                now_ms(),
                Op::Adjust {
                    lot,
                    delta: -1,
                    reason: Reason::Damage,
                    reference: "broken".into(),
                },
            )?
        };
        ack(&mut out, &commit)?;
    }
    Ok(())
}
