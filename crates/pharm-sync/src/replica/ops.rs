//! Local operations ([`Op`]): each builds one transaction, checks it completely, then
//! commits it.

use pharm_core::fefo::{AllocationPolicy, Pick, allocate};
use pharm_core::model::{Expiry, Lot, LotStatus};
use pharm_core::time::Date;

use super::{Attachments, Commit, MAX_LINE_QTY, NewLot, Op, OpError, Replica};
use crate::txn::{
    DiscrepancyId, HoldId, HoldOp, Line, LotInfo, LotKey, Reason, TransferId, Txn, TxnKind,
};

impl Replica {
    /// Applies one local operation: builds its transaction, checks it completely, applies
    /// it to the state and records it in the outbox. A failed operation changes nothing.
    ///
    /// # Errors
    ///
    /// [`OpError`]: a bad quantity, an unknown or held lot, a superseded replica, a
    /// transaction that cannot be encoded, or [`OpError::NothingToRecord`] for a count that
    /// matches or a write-off of a lot with nothing on hand.
    pub fn apply(&mut self, now_ms: u64, op: Op) -> Result<Commit, OpError> {
        match op {
            Op::ReceiveNew {
                lot,
                qty,
                reference,
            } => self.receive_new(now_ms, lot, qty, reference),
            Op::Receive {
                lot,
                qty,
                reference,
            } => self.receive(now_ms, lot, qty, reference),
            Op::Dispense {
                today,
                sku,
                qty,
                scanned,
                reference,
                attachments,
            } => self.dispense(now_ms, today, sku, qty, scanned, reference, attachments),
            Op::Adjust {
                lot,
                delta,
                reason,
                reference,
            } => self.adjust(now_ms, lot, delta, reason, reference),
            Op::StockCount {
                lot,
                counted,
                reference,
            } => self.stock_count(now_ms, lot, counted, reference),
            Op::WriteOff {
                lot,
                reason,
                reference,
            } => self.write_off(now_ms, lot, reason, reference),
            Op::TransferOut {
                lot,
                qty,
                number,
                reference,
            } => self.transfer_out(now_ms, lot, qty, number, reference),
            Op::TransferIn {
                transfer,
                lot,
                qty,
                reference,
            } => self.transfer_in(now_ms, transfer, lot, qty, reference),
            Op::Hold { lot, reference } => self.hold(now_ms, lot, reference),
            Op::Release { hold, reference } => self.release(now_ms, hold, reference),
            Op::SetLocation { lot, location } => self.set_location(now_ms, lot, location),
            Op::Compensate {
                discrepancy,
                lines,
                reference,
            } => self.compensate(now_ms, discrepancy, lines, reference),
        }
    }

    fn check_qty(qty: u64) -> Result<i64, OpError> {
        if qty == 0 || qty > MAX_LINE_QTY {
            return Err(OpError::Quantity(qty));
        }
        Ok(qty as i64)
    }

    /// The SKU of a lot known here.
    fn known(&self, lot: &LotKey) -> Result<u32, OpError> {
        self.state.sku_of(lot).ok_or(OpError::UnknownLot(*lot))
    }

    /// Adds a new lot, created by transaction `t`, with the next local number (the counter
    /// itself advances when the transaction commits).
    fn create_lot(&self, t: &mut Txn, lot: NewLot) -> Result<LotKey, OpError> {
        let local_no = u32::try_from(t.new_lots.len())
            .ok()
            .and_then(|n| self.next_lot_no.checked_add(n))
            .filter(|n| *n < u32::MAX)
            .ok_or(OpError::LotNumbersExhausted)?;
        let key = LotKey {
            origin: self.me,
            local_no,
        };
        t.new_lots.push(LotInfo {
            key,
            created_seq: t.id.seq,
            sku: lot.sku,
            ndc: lot.ndc,
            lot_number: lot.lot_number,
            expiry: lot.expiry,
            controlled: lot.controlled,
        });
        Ok(key)
    }

    /// Receives stock of a lot seen for the first time; returns the new lot's key.
    fn receive_new(
        &mut self,
        now_ms: u64,
        lot: NewLot,
        qty: u64,
        reference: String,
    ) -> Result<Commit, OpError> {
        let q = Self::check_qty(qty)?;
        let mut t = self.txn(now_ms, TxnKind::Receive, Reason::None, reference)?;
        let lot = self.create_lot(&mut t, lot)?;
        t.lines.push(Line { lot, delta: q });
        self.commit(t, Attachments::default())
    }

    /// Receives more stock of a known lot.
    fn receive(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        qty: u64,
        reference: String,
    ) -> Result<Commit, OpError> {
        let q = Self::check_qty(qty)?;
        self.known(&lot)?;
        let mut t = self.txn(now_ms, TxnKind::Receive, Reason::None, reference)?;
        t.lines.push(Line { lot, delta: q });
        self.commit(t, Attachments::default())
    }

    /// Dispenses `qty` units of a SKU: from the scanned lot when one was scanned (it is
    /// authoritative), otherwise by FEFO (pharm-core) over unheld, unexpired lots with stock,
    /// spilling across lots. When no eligible stock covers the quantity, the rest is charged
    /// to the earliest-expiring unheld lot, which goes negative and is flagged.
    #[allow(clippy::too_many_arguments)] // mirrors the POS call: every argument is required
    fn dispense(
        &mut self,
        now_ms: u64,
        today: Date,
        sku: u32,
        qty: u64,
        scanned: Option<LotKey>,
        reference: String,
        attachments: Attachments,
    ) -> Result<Commit, OpError> {
        let q = Self::check_qty(qty)?;
        let lines = match scanned {
            Some(lot) => {
                let actual = self.known(&lot)?;
                if actual != sku {
                    return Err(OpError::WrongSku {
                        lot,
                        expected: sku,
                        actual,
                    });
                }
                if self.state.is_held(&lot) {
                    return Err(OpError::Held(lot));
                }
                vec![Line { lot, delta: -q }]
            }
            None => self.fefo_lines(today, sku, qty)?,
        };
        let mut t = self.txn(now_ms, TxnKind::Dispense, Reason::None, reference)?;
        t.lines = lines;
        self.commit(t, attachments)
    }

    /// The lines of a dispense without a scanned lot: FEFO (pharm-core) over the SKU's
    /// lots, or, when eligible stock falls short, what there is plus the rest charged to the
    /// earliest-expiring unheld lot.
    fn fefo_lines(&self, today: Date, sku: u32, qty: u64) -> Result<Vec<Line>, OpError> {
        let mut keys: Vec<LotKey> = Vec::new();
        let mut lots: Vec<Lot> = Vec::new();
        for (info, value) in self.state.sku_lots(sku) {
            let held = self.state.is_held(&info.key);
            keys.push(info.key);
            lots.push(Lot {
                ndc: info.ndc,
                lot_number: info.lot_number.clone(),
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
        if let Some(lines) = allocate(&lots, want, today, &policy)
            .ok()
            .and_then(|a| picked_lines(&lots, &keys, &a.picks, today))
        {
            return Ok(lines);
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
    fn adjust(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        delta: i64,
        reason: Reason,
        reference: String,
    ) -> Result<Commit, OpError> {
        Self::check_qty(delta.unsigned_abs())?;
        self.known(&lot)?;
        let mut t = self.txn(now_ms, TxnKind::Adjust, reason, reference)?;
        t.lines.push(Line { lot, delta });
        self.commit(t, Attachments::default())
    }

    /// Records a physical count: the difference between `counted` and the value this replica
    /// observes now. Transactions this replica has not seen still apply on top, so the final
    /// value is `counted + Σ unseen transactions`. Counting an already matching lot records
    /// nothing and returns `None`.
    fn stock_count(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        counted: u64,
        reference: String,
    ) -> Result<Commit, OpError> {
        self.known(&lot)?;
        let observed = self.state.value(&lot);
        let delta = i128::from(counted) - i128::from(observed);
        if delta == 0 {
            return Err(OpError::NothingToRecord);
        }
        let delta = i64::try_from(delta).map_err(|_| OpError::Quantity(counted))?;
        Self::check_qty(delta.unsigned_abs())?;
        let mut t = self.txn(now_ms, TxnKind::StockCount, Reason::Count, reference)?;
        t.lines.push(Line { lot, delta });
        self.commit(t, Attachments::default())
    }

    /// Writes off the observed value of a lot (expired, recalled, destroyed).
    fn write_off(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        reason: Reason,
        reference: String,
    ) -> Result<Commit, OpError> {
        self.known(&lot)?;
        let observed = self.state.value(&lot);
        if observed <= 0 {
            return Err(OpError::NothingToRecord);
        }
        let mut t = self.txn(now_ms, TxnKind::WriteOff, reason, reference)?;
        // A line carries at most MAX_LINE_QTY units (what every receiver accepts): a larger
        // value is written off over several lines of the lot.
        let mut left = observed.unsigned_abs();
        while left > 0 {
            let q = left.min(MAX_LINE_QTY);
            t.lines.push(Line {
                lot,
                delta: -(q as i64),
            });
            left -= q;
        }
        if t.lines.len() > crate::codec::MAX_TXN_ITEMS {
            return Err(OpError::Quantity(observed.unsigned_abs()));
        }
        self.commit(t, Attachments::default())
    }

    /// Sends units to another store; `number` is this store's transfer number.
    fn transfer_out(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        qty: u64,
        number: u64,
        reference: String,
    ) -> Result<Commit, OpError> {
        let q = Self::check_qty(qty)?;
        self.known(&lot)?;
        let id = TransferId {
            from: self.store(),
            number,
        };
        let mut t = self.txn(now_ms, TxnKind::TransferOut, Reason::None, reference)?;
        t.transfer = Some(id);
        t.lines.push(Line { lot, delta: -q });
        self.commit(t, Attachments::default())
    }

    /// Receives a transfer from another store into a new lot here. Idempotent by transfer id:
    /// a second receipt here is refused, and concurrent receipts on two terminals count once.
    fn transfer_in(
        &mut self,
        now_ms: u64,
        transfer: TransferId,
        lot: NewLot,
        qty: u64,
        reference: String,
    ) -> Result<Commit, OpError> {
        let q = Self::check_qty(qty)?;
        if self.state.transfer_received(&transfer) {
            return Err(OpError::AlreadyReceived(transfer));
        }
        let mut t = self.txn(now_ms, TxnKind::TransferIn, Reason::None, reference)?;
        let lot = self.create_lot(&mut t, lot)?;
        t.transfer = Some(transfer);
        // The units are credited through the transfer record (counted once), not a cell.
        t.lines.push(Line { lot, delta: q });
        self.commit(t, Attachments::default())
    }

    /// Places a hold (recall, quarantine) on a lot; the hold's id is the transaction id.
    fn hold(&mut self, now_ms: u64, lot: LotKey, reference: String) -> Result<Commit, OpError> {
        self.known(&lot)?;
        let mut t = self.txn(now_ms, TxnKind::Hold, Reason::None, reference.clone())?;
        t.holds.push(HoldOp::Place { lot, reference });
        self.commit(t, Attachments::default())
    }

    /// Releases a hold.
    fn release(&mut self, now_ms: u64, hold: HoldId, reference: String) -> Result<Commit, OpError> {
        if !self.state.active_holds().any(|(id, _, _)| *id == hold) {
            return Err(OpError::NoSuchHold(hold));
        }
        let mut t = self.txn(now_ms, TxnKind::Hold, Reason::None, reference)?;
        t.holds.push(HoldOp::Release { hold });
        self.commit(t, Attachments::default())
    }

    /// Sets a lot's shelf location (last writer wins).
    fn set_location(
        &mut self,
        now_ms: u64,
        lot: LotKey,
        location: String,
    ) -> Result<Commit, OpError> {
        self.known(&lot)?;
        let mut t = self.txn(now_ms, TxnKind::Adjust, Reason::None, "location".into())?;
        t.meta.push((lot, location));
        self.commit(t, Attachments::default())
    }

    /// Records a compensation of a discrepancy (the store server's reconciliation).
    fn compensate(
        &mut self,
        now_ms: u64,
        discrepancy: DiscrepancyId,
        lines: Vec<Line>,
        reference: String,
    ) -> Result<Commit, OpError> {
        for l in &lines {
            Self::check_qty(l.delta.unsigned_abs())?;
            self.known(&l.lot)?;
        }
        let mut t = self.txn(
            now_ms,
            TxnKind::Compensation,
            Reason::Reconciliation,
            reference,
        )?;
        t.lines = lines;
        t.compensates = Some(discrepancy);
        self.commit(t, Attachments::default())
    }
}

/// Maps FEFO picks back to the lots they came from. Picks come in FEFO order and lots that
/// tie on everything FEFO compares (expiry, lot number) keep their input order, so each
/// pick is the first lot not yet picked, in input order, that is eligible and has the
/// pick's lot number, NDC and expiry. `None` if a pick matches no lot (never expected:
/// the caller then charges the lots itself).
fn picked_lines(lots: &[Lot], keys: &[LotKey], picks: &[Pick], today: Date) -> Option<Vec<Line>> {
    let mut lines: Vec<Line> = Vec::with_capacity(picks.len());
    for p in picks {
        let found = lots.iter().enumerate().position(|(i, l)| {
            !lines.iter().any(|taken| taken.lot == keys[i])
                && l.status == LotStatus::Active
                && l.on_hand > 0
                && !l.is_expired_on(today)
                && l.lot_number == p.lot_number
                && l.ndc == p.ndc
                && l.expiry.resolved() == p.expiry
        });
        let i = found?;
        lines.push(Line {
            lot: *keys.get(i)?,
            delta: -i64::from(p.quantity),
        });
    }
    Some(lines)
}
