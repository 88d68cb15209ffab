//! One pharmacy: its terminals as in-memory pharm-sync replicas, all starting from the
//! back office's receipt of every lot, and the units each terminal dispensed per lot (the
//! ledger the conservation check reads).

use pharm_core::ids::{Ndc, NdcLayout};
use pharm_core::time::Date;
use pharm_sync::auth::MacKey;
use pharm_sync::ids::ReplicaId;
use pharm_sync::replica::{Attachments, Commit, NewLot, Op, OpError, Replica};
use pharm_sync::txn::LotKey;

use crate::products::{ALPRAZOLAM, PRODUCTS};
use crate::requests::{Dispense, business_day, pharmacy_id};

/// Wall clock (ms since the Unix epoch) the replicas' hybrid clocks start from: the
/// business day at 08:00 UTC. Simulated, so every run stamps the same times.
pub const START_MS: u64 = 1_776_240_000_000;

/// Why a pharmacy could not be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedError {
    /// An SKU beyond the NDC range the generator numbers (labeler 50000, 5-4-2 layout).
    Ndc(u32),
    /// The back office refused a receipt.
    Op(OpError),
}

impl std::fmt::Display for SeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SeedError::Ndc(sku) => write!(f, "SKU {sku} has no NDC in the generated range"),
            SeedError::Op(e) => write!(f, "seeding a lot: {e}"),
        }
    }
}

impl std::error::Error for SeedError {}

/// Why a terminal did not record a dispense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispenseError {
    /// The pharmacy has no such terminal.
    NoTerminal(u16),
    /// The replica refused the operation.
    Op(OpError),
}

impl std::fmt::Display for DispenseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DispenseError::NoTerminal(t) => write!(f, "no terminal {t}"),
            DispenseError::Op(e) => write!(f, "dispense refused: {e}"),
        }
    }
}

impl std::error::Error for DispenseError {}

/// A pharmacy's terminals and what each dispensed.
#[derive(Debug, Clone)]
pub struct Pharmacy {
    /// Pharmacy index (`0..pharmacies`).
    pub index: u32,
    /// Lots per SKU.
    lots_per_sku: u32,
    /// Units each lot was received with.
    seed_units: u64,
    /// Terminal replicas (actors `1..=terminals`).
    terminals: Vec<Replica>,
    /// Units dispensed per terminal, per dense lot index.
    dispensed: Vec<Vec<u64>>,
}

/// The replica id of actor `actor` (the back office is 0, terminal `t` is `t + 1`).
pub fn replica_id(actor: u16) -> ReplicaId {
    ReplicaId::new(actor, 1)
}

/// The origin key of an actor in pharmacy `p` (fixed, distinct per actor and store: the
/// load test is not about secrecy).
pub fn origin_key(p: u32, actor: u16) -> MacKey {
    let mut k = [0x6f; 32];
    k[..4].copy_from_slice(&p.to_le_bytes());
    k[4..6].copy_from_slice(&actor.to_le_bytes());
    MacKey::new(k)
}

/// The NDC of a generated SKU (labeler 50000 + `sku / 10000`, 5-4-2 layout).
fn ndc_of(sku: u32) -> Result<Ndc, SeedError> {
    let product = u16::try_from(sku % 10_000).map_err(|_| SeedError::Ndc(sku))?;
    Ndc::new(50_000 + sku / 10_000, product, 1, NdcLayout::L542).map_err(|_| SeedError::Ndc(sku))
}

impl Pharmacy {
    /// Pharmacy `index` with `terminals` terminals, after its back office received `lots`
    /// lots of each of `skus` SKUs with `seed_units` units each (lot `i` is the back
    /// office's lot number `i + 1`).
    pub fn seed(
        index: u32,
        terminals: u16,
        skus: u32,
        lots: u32,
        seed_units: u64,
    ) -> Result<Pharmacy, SeedError> {
        let mut back_office = Replica::new(pharmacy_id(index), replica_id(0), origin_key(index, 0));
        let today = business_day();
        for dense in 0..skus * lots {
            let (sku, k) = (dense / lots, dense % lots);
            let lot = NewLot {
                sku,
                ndc: ndc_of(sku)?,
                lot_number: format!("L{sku:05}-{k}"),
                expiry: expiry(today, sku, k),
                controlled: sku % PRODUCTS as u32 >= ALPRAZOLAM as u32,
            };
            let op = Op::ReceiveNew {
                lot,
                qty: seed_units,
                reference: String::new(),
            };
            back_office
                .apply(START_MS - 3_600_000 + u64::from(dense), op)
                .map_err(SeedError::Op)?;
        }
        let replicas = (1..=terminals)
            .map(|actor| {
                Replica::with_state(
                    replica_id(actor),
                    origin_key(index, actor),
                    back_office.state().clone(),
                )
            })
            .collect();
        Ok(Pharmacy {
            index,
            lots_per_sku: lots,
            seed_units,
            terminals: replicas,
            dispensed: vec![vec![0; (skus * lots) as usize]; terminals as usize],
        })
    }

    /// The key of dense lot `i` (the back office's lot number `i + 1`).
    pub fn lot_key(dense: u32) -> LotKey {
        LotKey {
            origin: replica_id(0),
            local_no: dense + 1,
        }
    }

    /// Number of lots.
    pub fn lot_count(&self) -> usize {
        self.dispensed.first().map_or(0, Vec::len)
    }

    /// Lots per SKU.
    pub fn lots_per_sku(&self) -> u32 {
        self.lots_per_sku
    }

    /// The terminal replicas.
    pub fn terminals(&self) -> &[Replica] {
        &self.terminals
    }

    /// Records a dispense on `terminal` at simulated `now_ms` (FEFO over the SKU's lots)
    /// and adds its lines to that terminal's ledger.
    pub fn dispense(
        &mut self,
        terminal: u16,
        now_ms: u64,
        d: &Dispense,
    ) -> Result<Commit, DispenseError> {
        let t = terminal as usize;
        let (Some(replica), Some(ledger)) = (self.terminals.get_mut(t), self.dispensed.get_mut(t))
        else {
            return Err(DispenseError::NoTerminal(terminal));
        };
        let commit = replica
            .apply(
                now_ms,
                Op::Dispense {
                    today: business_day(),
                    sku: d.sku,
                    qty: d.qty,
                    scanned: None,
                    reference: d.reference.clone(),
                    attachments: Attachments::default(),
                },
            )
            .map_err(DispenseError::Op)?;
        for line in &commit.txn.lines {
            let dense = line.lot.local_no.wrapping_sub(1) as usize;
            if line.lot.origin == replica_id(0)
                && let Some(slot) = ledger.get_mut(dense)
            {
                *slot += line.delta.unsigned_abs();
            }
        }
        Ok(commit)
    }

    /// Checks every terminal's lots: units received − value now = units it dispensed.
    pub fn check_conservation(&self) -> Result<u64, String> {
        let mut total = 0;
        for (t, (replica, ledger)) in self.terminals.iter().zip(&self.dispensed).enumerate() {
            for (dense, out) in ledger.iter().enumerate() {
                let key = Self::lot_key(dense as u32);
                let value = replica.state().value(&key);
                let gone = i128::from(self.seed_units) - i128::from(value);
                if gone != i128::from(*out) {
                    return Err(format!(
                        "pharmacy {} terminal {t} lot {dense}: {} received, {value} on hand, \
                         {out} dispensed",
                        self.index, self.seed_units
                    ));
                }
                total += out;
            }
        }
        Ok(total)
    }
}

/// Expiry of lot `k` of `sku`: four months out, then six months apart, spread by SKU.
fn expiry(today: Date, sku: u32, k: u32) -> Date {
    today.add_days(120 + 180 * i64::from(k) + i64::from(sku % 97))
}
