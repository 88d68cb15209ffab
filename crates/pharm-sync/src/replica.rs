//! A replica: its inventory state, its outbox (ledger of transactions not yet known to the
//! root), the insurance-claim and PMP-report queues, and the local operations that create
//! transactions.
//!
//! Every operation returns a [`Commit`]: the transaction and the queue rows it adds. A
//! durable store writes a commit in one database transaction, so a transaction and its
//! outbox rows are never separated (see the `sqlite` feature).

use std::collections::BTreeMap;

use pharm_core::fefo::{AllocationPolicy, allocate};
use pharm_core::model::{Expiry, Lot, LotStatus};
use pharm_core::time::Date;
use serde::{Deserialize, Serialize};

use crate::hlc::Hlc;
use crate::ids::{ReplicaId, StoreId, TxnId};
use crate::state::{Applied, InventoryState, VersionVector};
use crate::txn::{
    DiscrepancyId, HoldId, HoldOp, Line, LotInfo, LotKey, Reason, TransferId, Txn, TxnKind,
};

/// Facts of a lot received for the first time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLot {
    /// Dense SKU id.
    pub sku: u32,
    /// Package NDC.
    pub ndc: pharm_core::ids::Ndc,
    /// Lot number.
    pub lot_number: String,
    /// Expiry.
    pub expiry: Date,
    /// Controlled substance.
    pub controlled: bool,
}

/// A row queued with a transaction for later delivery (an insurance claim to adjudicate, a
/// PMP report to send). The payload is opaque to this crate (e.g. the claim as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedItem {
    /// The transaction it belongs to.
    pub txn: TxnId,
    /// Opaque payload.
    pub payload: String,
}

/// Extra rows to commit with a dispense.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attachments {
    /// Insurance claim to adjudicate later (offline sale).
    pub claim: Option<String>,
    /// PMP report to send.
    pub pmp_report: Option<String>,
}

/// One committed local transaction and the queue rows that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The transaction.
    pub txn: Txn,
    /// Insurance claim queued with it.
    pub claim: Option<QueuedItem>,
    /// PMP report queued with it.
    pub pmp_report: Option<QueuedItem>,
    /// Lots whose value went below zero (offline oversell): flagged for reconciliation.
    pub negative: Vec<LotKey>,
}

/// A local operation that cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// Quantity zero or too large.
    #[error("quantity {0} is not a positive quantity that fits in a transaction")]
    Quantity(u64),
    /// The lot is not known here.
    #[error("lot {0:?} is not known at this replica")]
    UnknownLot(LotKey),
    /// The SKU has no lot at all to charge.
    #[error("SKU {0} has no lot at this store")]
    NoLots(u32),
    /// A scanned lot is held (recall, quarantine).
    #[error("lot {0:?} is on hold (recall or quarantine)")]
    Held(LotKey),
    /// The scanned lot belongs to another SKU.
    #[error("lot {lot:?} is SKU {actual}, not SKU {expected}")]
    WrongSku {
        /// Lot scanned.
        lot: LotKey,
        /// SKU asked for.
        expected: u32,
        /// The lot's SKU.
        actual: u32,
    },
    /// The transfer was already received here.
    #[error("transfer {0:?} was already received")]
    AlreadyReceived(TransferId),
    /// The hold does not exist or is already released.
    #[error("hold {0:?} is not active")]
    NoSuchHold(HoldId),
}

/// Everything a durable store persists about a replica, for [`Replica::restore`].
#[derive(Debug, Clone)]
pub struct ReplicaParts {
    /// Replica id.
    pub me: ReplicaId,
    /// Inventory state (rebuilt by replaying the stored transactions and deltas).
    pub state: InventoryState,
    /// Last clock reading.
    pub hlc: Hlc,
    /// Next local lot number.
    pub next_lot_no: u32,
    /// Transactions not yet known to the root.
    pub ledger: Vec<Txn>,
    /// What the root is known to have.
    pub root_vv: VersionVector,
    /// Queued claims.
    pub claims: Vec<QueuedItem>,
    /// Queued PMP reports.
    pub pmp_reports: Vec<QueuedItem>,
}

/// Largest quantity in one line (keeps every total far from overflow).
pub const MAX_LINE_QTY: u64 = 1 << 40;

/// A replica of one store's inventory.
#[derive(Debug, Clone)]
pub struct Replica {
    me: ReplicaId,
    state: InventoryState,
    hlc: Hlc,
    next_lot_no: u32,
    ledger: BTreeMap<TxnId, Txn>,
    root_vv: VersionVector,
    claims: BTreeMap<TxnId, QueuedItem>,
    pmp_reports: BTreeMap<TxnId, QueuedItem>,
}

impl Replica {
    /// A new, empty replica.
    pub fn new(store: StoreId, me: ReplicaId) -> Self {
        Replica {
            me,
            state: InventoryState::new(store),
            hlc: Hlc::default(),
            next_lot_no: 1,
            ledger: BTreeMap::new(),
            root_vv: VersionVector::new(),
            claims: BTreeMap::new(),
            pmp_reports: BTreeMap::new(),
        }
    }

    /// Rebuilds a replica from persisted parts (the durable store's reopen path).
    pub fn restore(parts: ReplicaParts) -> Self {
        Replica {
            me: parts.me,
            state: parts.state,
            hlc: parts.hlc,
            next_lot_no: parts.next_lot_no,
            ledger: parts.ledger.into_iter().map(|t| (t.id, t)).collect(),
            root_vv: parts.root_vv,
            claims: parts.claims.into_iter().map(|q| (q.txn, q)).collect(),
            pmp_reports: parts.pmp_reports.into_iter().map(|q| (q.txn, q)).collect(),
        }
    }

    /// A copy of this replica (a backup) restored as the terminal's next incarnation: the
    /// same state, outbox and queues under a new identity, so its new counter totals are
    /// not swallowed by the old incarnation's.
    pub fn reincarnated(&self) -> Replica {
        Replica {
            me: self.me.next_incarnation(),
            ..self.clone()
        }
    }

    /// This replica's id.
    pub fn id(&self) -> ReplicaId {
        self.me
    }

    /// The store.
    pub fn store(&self) -> StoreId {
        self.state.store()
    }

    /// The inventory state.
    pub fn state(&self) -> &InventoryState {
        &self.state
    }

    /// Mutable state (server-side joins and tests).
    pub fn state_mut(&mut self) -> &mut InventoryState {
        &mut self.state
    }

    /// The hybrid clock's last value.
    pub fn hlc(&self) -> Hlc {
        self.hlc
    }

    /// Next local lot number.
    pub fn next_lot_no(&self) -> u32 {
        self.next_lot_no
    }

    /// What the root (cloud) is known to have.
    pub fn root_vv(&self) -> &VersionVector {
        &self.root_vv
    }

    /// Transactions not yet known to the root (own and relayed), in id order.
    pub fn outbox(&self) -> impl Iterator<Item = &Txn> + '_ {
        self.ledger.values()
    }

    /// Queued insurance claims.
    pub fn pending_claims(&self) -> impl Iterator<Item = &QueuedItem> + '_ {
        self.claims.values()
    }

    /// Queued PMP reports.
    pub fn pending_pmp_reports(&self) -> impl Iterator<Item = &QueuedItem> + '_ {
        self.pmp_reports.values()
    }

    /// Queued claims and PMP reports recorded by an earlier incarnation of this terminal
    /// (after a restore from backup). The lost device may already have sent them, so a POS
    /// should check their status with the payer or PMP before sending them again.
    pub fn queued_by_earlier_incarnation(&self) -> impl Iterator<Item = &QueuedItem> + '_ {
        let me = self.me;
        self.claims
            .values()
            .chain(self.pmp_reports.values())
            .filter(move |q| q.txn.replica.terminal == me.terminal && q.txn.replica != me)
    }

    /// Marks a queued claim as delivered.
    pub fn claim_sent(&mut self, txn: &TxnId) -> bool {
        self.claims.remove(txn).is_some()
    }

    /// Marks a queued PMP report as delivered.
    pub fn pmp_report_sent(&mut self, txn: &TxnId) -> bool {
        self.pmp_reports.remove(txn).is_some()
    }

    /// Records that the root has everything up to `vv`; drops those ledger entries.
    pub fn root_has(&mut self, vv: &VersionVector) {
        use crdts::CvRDT;
        self.root_vv.merge(vv.clone());
        let root = &self.root_vv;
        self.ledger.retain(|id, _| id.seq > root.get(&id.replica));
    }

    /// Keeps a transaction received from another replica (a leader relays it to the root).
    pub fn keep_for_relay(&mut self, txn: Txn) {
        if txn.id.seq > self.root_vv.get(&txn.id.replica) {
            self.ledger.entry(txn.id).or_insert(txn);
        }
    }

    fn next_id(&self) -> TxnId {
        TxnId {
            replica: self.me,
            seq: self.state.vv().get(&self.me) + 1,
        }
    }

    fn txn(&mut self, now_ms: u64, kind: TxnKind, reason: Reason, reference: &str) -> Txn {
        self.hlc = self.hlc.tick(now_ms);
        Txn {
            id: self.next_id(),
            hlc: self.hlc,
            kind,
            reason,
            lines: Vec::new(),
            new_lots: Vec::new(),
            holds: Vec::new(),
            transfer: None,
            meta: Vec::new(),
            compensates: None,
            reference: reference.to_string(),
        }
    }

    /// Applies a locally built transaction and records it in the outbox.
    fn commit(&mut self, txn: Txn, attachments: Attachments) -> Commit {
        let applied = self.state.apply(&txn);
        debug_assert_eq!(applied, Applied::Applied);
        let negative = txn
            .lines
            .iter()
            .filter(|l| l.delta < 0 && self.state.value(&l.lot) < 0)
            .map(|l| l.lot)
            .collect();
        let claim = attachments.claim.map(|payload| QueuedItem {
            txn: txn.id,
            payload,
        });
        let pmp_report = attachments.pmp_report.map(|payload| QueuedItem {
            txn: txn.id,
            payload,
        });
        if let Some(c) = &claim {
            self.claims.insert(txn.id, c.clone());
        }
        if let Some(r) = &pmp_report {
            self.pmp_reports.insert(txn.id, r.clone());
        }
        self.ledger.insert(txn.id, txn.clone());
        Commit {
            txn,
            claim,
            pmp_report,
            negative,
        }
    }

    fn check_qty(qty: u64) -> Result<i64, OpError> {
        if qty == 0 || qty > MAX_LINE_QTY {
            return Err(OpError::Quantity(qty));
        }
        Ok(qty as i64)
    }

    fn known(&self, lot: &LotKey) -> Result<&LotInfo, OpError> {
        self.state.lot(lot).ok_or(OpError::UnknownLot(*lot))
    }

    /// Adds a new lot, created by transaction `t`, with the next local number.
    fn create_lot(&mut self, t: &mut Txn, lot: NewLot) -> LotKey {
        let key = LotKey {
            origin: self.me,
            local_no: self.next_lot_no,
        };
        self.next_lot_no += 1;
        t.new_lots.push(LotInfo {
            key,
            created_seq: t.id.seq,
            sku: lot.sku,
            ndc: lot.ndc,
            lot_number: lot.lot_number,
            expiry: lot.expiry,
            controlled: lot.controlled,
        });
        key
    }

    /// Receives stock of a lot seen for the first time; returns the new lot's key.
    pub fn receive_new(
        &mut self,
        now_ms: u64,
        lot: NewLot,
        qty: u64,
        reference: &str,
    ) -> Result<(LotKey, Commit), OpError> {
        let q = Self::check_qty(qty)?;
        let mut t = self.txn(now_ms, TxnKind::Receive, Reason::None, reference);
        let key = self.create_lot(&mut t, lot);
        t.lines.push(Line { lot: key, delta: q });
        Ok((key, self.commit(t, Attachments::default())))
    }

    /// Receives more stock of a known lot.
    pub fn receive(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        qty: u64,
        reference: &str,
    ) -> Result<Commit, OpError> {
        let q = Self::check_qty(qty)?;
        self.known(&lot)?;
        let mut t = self.txn(now_ms, TxnKind::Receive, Reason::None, reference);
        t.lines.push(Line { lot, delta: q });
        Ok(self.commit(t, Attachments::default()))
    }

    /// Dispenses `qty` units of a SKU: from the scanned lot when one was scanned (it is
    /// authoritative), otherwise by FEFO (pharm-core) over unheld, unexpired lots with stock,
    /// spilling across lots. When no eligible stock covers the quantity, the rest is charged
    /// to the earliest-expiring unheld lot, which goes negative and is flagged.
    #[allow(clippy::too_many_arguments)] // mirrors the POS call: every argument is required
    pub fn dispense(
        &mut self,
        now_ms: u64,
        today: Date,
        sku: u32,
        qty: u64,
        scanned: Option<LotKey>,
        reference: &str,
        attachments: Attachments,
    ) -> Result<Commit, OpError> {
        let q = Self::check_qty(qty)?;
        let lines = match scanned {
            Some(lot) => {
                let info = self.known(&lot)?;
                if info.sku != sku {
                    return Err(OpError::WrongSku {
                        lot,
                        expected: sku,
                        actual: info.sku,
                    });
                }
                if self.state.is_held(&lot) {
                    return Err(OpError::Held(lot));
                }
                vec![Line { lot, delta: -q }]
            }
            None => self.fefo_lines(today, sku, qty)?,
        };
        let mut t = self.txn(now_ms, TxnKind::Dispense, Reason::None, reference);
        t.lines = lines;
        Ok(self.commit(t, attachments))
    }

    fn fefo_lines(&self, today: Date, sku: u32, qty: u64) -> Result<Vec<Line>, OpError> {
        let mut keys: Vec<LotKey> = Vec::new();
        let mut lots: Vec<Lot> = Vec::new();
        for (info, value) in self.state.sku_lots(sku) {
            let held = self.state.is_held(&info.key);
            keys.push(info.key);
            lots.push(Lot {
                ndc: info.ndc,
                lot_number: lots.len().to_string(),
                expiry: Expiry::Day(info.expiry),
                status: if held {
                    LotStatus::OnHold
                } else {
                    LotStatus::Active
                },
                on_hand: value,
                received: None,
            });
        }
        if lots.is_empty() {
            return Err(OpError::NoLots(sku));
        }
        let policy = AllocationPolicy {
            allow_spill: true,
            removal_lead_days: 0,
            days_supply: None,
        };
        let want = u32::try_from(qty).map_err(|_| OpError::Quantity(qty))?;
        if let Ok(a) = allocate(&lots, want, today, &policy) {
            return Ok(a
                .picks
                .iter()
                .filter_map(|p| {
                    p.lot_number.parse::<usize>().ok().map(|i| Line {
                        lot: keys[i],
                        delta: -i64::from(p.quantity),
                    })
                })
                .collect());
        }
        // Not enough eligible stock: take what there is, charge the rest to the
        // earliest-expiring unheld lot (it goes negative and is reconciled later).
        let mut lines = Vec::new();
        let mut left = qty;
        let mut order: Vec<usize> = (0..lots.len())
            .filter(|&i| lots[i].status == LotStatus::Active)
            .collect();
        order.sort_by_key(|&i| (lots[i].expiry.resolved(), keys[i]));
        let Some(&sink) = order
            .iter()
            .find(|&&i| !lots[i].is_expired_on(today))
            .or(order.first())
        else {
            return Err(OpError::NoLots(sku));
        };
        for &i in &order {
            if lots[i].is_expired_on(today) || lots[i].on_hand <= 0 || left == 0 {
                continue;
            }
            let take = left.min(lots[i].on_hand as u64);
            lines.push(Line {
                lot: keys[i],
                delta: -(take as i64),
            });
            left -= take;
        }
        if left > 0 {
            match lines.iter_mut().find(|l| l.lot == keys[sink]) {
                Some(l) => l.delta -= left as i64,
                None => lines.push(Line {
                    lot: keys[sink],
                    delta: -(left as i64),
                }),
            }
        }
        Ok(lines)
    }

    /// Adjusts a lot by a signed quantity with a reason (damage, theft, found, correction).
    pub fn adjust(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        delta: i64,
        reason: Reason,
        reference: &str,
    ) -> Result<Commit, OpError> {
        Self::check_qty(delta.unsigned_abs())?;
        self.known(&lot)?;
        let mut t = self.txn(now_ms, TxnKind::Adjust, reason, reference);
        t.lines.push(Line { lot, delta });
        Ok(self.commit(t, Attachments::default()))
    }

    /// Records a physical count: the difference between `counted` and the value this replica
    /// observes now. Transactions this replica has not seen still apply on top, so the final
    /// value is `counted + Σ unseen transactions`. Counting an already matching lot records
    /// nothing and returns `None`.
    pub fn stock_count(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        counted: u64,
        reference: &str,
    ) -> Result<Option<Commit>, OpError> {
        self.known(&lot)?;
        let observed = self.state.value(&lot);
        let delta = i128::from(counted) - i128::from(observed);
        if delta == 0 {
            return Ok(None);
        }
        let delta = i64::try_from(delta).map_err(|_| OpError::Quantity(counted))?;
        Self::check_qty(delta.unsigned_abs())?;
        let mut t = self.txn(now_ms, TxnKind::StockCount, Reason::Count, reference);
        t.lines.push(Line { lot, delta });
        Ok(Some(self.commit(t, Attachments::default())))
    }

    /// Writes off the observed value of a lot (expired, recalled, destroyed).
    pub fn write_off(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        reason: Reason,
        reference: &str,
    ) -> Result<Option<Commit>, OpError> {
        self.known(&lot)?;
        let observed = self.state.value(&lot);
        if observed <= 0 {
            return Ok(None);
        }
        let mut t = self.txn(now_ms, TxnKind::WriteOff, reason, reference);
        t.lines.push(Line {
            lot,
            delta: -observed,
        });
        Ok(Some(self.commit(t, Attachments::default())))
    }

    /// Sends units to another store; `number` is this store's transfer number.
    pub fn transfer_out(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        qty: u64,
        number: u64,
        reference: &str,
    ) -> Result<(TransferId, Commit), OpError> {
        let q = Self::check_qty(qty)?;
        self.known(&lot)?;
        let id = TransferId {
            from: self.store(),
            number,
        };
        let mut t = self.txn(now_ms, TxnKind::TransferOut, Reason::None, reference);
        t.transfer = Some(id);
        t.lines.push(Line { lot, delta: -q });
        Ok((id, self.commit(t, Attachments::default())))
    }

    /// Receives a transfer from another store into a new lot here. Idempotent by transfer id:
    /// a second receipt here is refused, and concurrent receipts on two terminals count once.
    pub fn transfer_in(
        &mut self,
        now_ms: u64,
        transfer: TransferId,
        lot: NewLot,
        qty: u64,
        reference: &str,
    ) -> Result<(LotKey, Commit), OpError> {
        let q = Self::check_qty(qty)?;
        if self.state.transfer_received(&transfer) {
            return Err(OpError::AlreadyReceived(transfer));
        }
        let mut t = self.txn(now_ms, TxnKind::TransferIn, Reason::None, reference);
        let key = self.create_lot(&mut t, lot);
        t.transfer = Some(transfer);
        // The units are credited through the transfer record (counted once), not a cell.
        t.lines.push(Line { lot: key, delta: q });
        Ok((key, self.commit(t, Attachments::default())))
    }

    /// Places a hold (recall, quarantine) on a lot; the hold's id is the transaction id.
    pub fn hold(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        reference: &str,
    ) -> Result<(HoldId, Commit), OpError> {
        self.known(&lot)?;
        let mut t = self.txn(now_ms, TxnKind::Hold, Reason::None, reference);
        t.holds.push(HoldOp::Place {
            lot,
            reference: reference.to_string(),
        });
        let id = t.id;
        Ok((id, self.commit(t, Attachments::default())))
    }

    /// Releases a hold.
    pub fn release(
        &mut self,
        now_ms: u64,
        hold: HoldId,
        reference: &str,
    ) -> Result<Commit, OpError> {
        if !self.state.active_holds().any(|(id, _, _)| *id == hold) {
            return Err(OpError::NoSuchHold(hold));
        }
        let mut t = self.txn(now_ms, TxnKind::Hold, Reason::None, reference);
        t.holds.push(HoldOp::Release { hold });
        Ok(self.commit(t, Attachments::default()))
    }

    /// Sets a lot's shelf location (last writer wins).
    pub fn set_location(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        location: &str,
    ) -> Result<Commit, OpError> {
        self.known(&lot)?;
        let mut t = self.txn(now_ms, TxnKind::Adjust, Reason::None, "location");
        t.meta.push((lot, location.to_string()));
        Ok(self.commit(t, Attachments::default()))
    }

    /// Records a compensation of a discrepancy (the store server's reconciliation).
    pub fn compensate(
        &mut self,
        now_ms: u64,
        discrepancy: DiscrepancyId,
        lines: Vec<Line>,
        reference: &str,
    ) -> Commit {
        let mut t = self.txn(
            now_ms,
            TxnKind::Compensation,
            Reason::Reconciliation,
            reference,
        );
        t.lines = lines;
        t.compensates = Some(discrepancy);
        self.commit(t, Attachments::default())
    }

    /// Observes a remote clock reading (from a sync message).
    pub fn observe_clock(&mut self, remote: Hlc, now_ms: u64) {
        self.hlc = self.hlc.observe(remote, now_ms);
    }
}
