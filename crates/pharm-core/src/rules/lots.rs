//! Rule table §9.6: lots and inventory.

use crate::fefo::{AllocationPolicy, AllocationWarning, PickBlock, check_manual_pick};
use crate::model::{Lot, LotStatus, Product};
use crate::rules::sink::Sink;
use crate::rules::{DscsaCheck, FollowUp, LotPick, RuleId, StockMoveKind, StockMoveRequest};
use crate::time::Date;

/// What is being picked for.
pub(crate) struct PickContext<'a> {
    pub(crate) product: &'a Product,
    pub(crate) quantity: u32,
    pub(crate) days_supply: Option<u32>,
    pub(crate) picks: &'a [LotPick],
    pub(crate) lots: &'a [Lot],
    pub(crate) prescription: bool,
}

/// LOT-EXP-01, LOT-STATUS-01, LOT-FEFO-01, LOT-REMOVAL-01, LOT-SHORTDATE-01, LOT-QTY-01,
/// INV-NEG-01 for a patient dispense or sale. Returns the earliest expiry among the picks.
pub(crate) fn picks(s: &mut Sink<'_>, p: &PickContext<'_>) -> Option<Date> {
    if p.picks.is_empty() {
        // A lot-tracked product (the store holds lots of it) must be dispensed from a lot.
        if !p.lots.is_empty() && p.quantity > 0 {
            s.block(
                RuleId::LotQty01,
                format!(
                    "{} is lot-tracked: scan or allocate the lot(s) being dispensed",
                    p.product.ndc
                ),
            );
        }
        return None;
    }
    recall_feed(s);
    let picked: u64 = p.picks.iter().map(|k| u64::from(k.quantity)).sum();
    if picked != u64::from(p.quantity) {
        s.block(
            RuleId::LotQty01,
            format!(
                "lots picked hold {picked} units but {} are being dispensed",
                p.quantity
            ),
        );
    }
    if p.prescription && p.picks.len() > 1 && !s.ctx.policy.allow_multi_lot_rx {
        s.block(
            RuleId::LotQty01,
            format!("{} lots picked; store policy allows one lot per prescription fill: pick a lot that covers the quantity", p.picks.len()),
        );
    }
    let policy = AllocationPolicy {
        allow_spill: p.picks.len() > 1,
        removal_lead_days: p.product.removal_lead_days,
        days_supply: p.days_supply,
    };
    let today = s.ctx.today();
    let mut earliest: Option<Date> = None;
    for (n, pick) in p.picks.iter().enumerate() {
        let lot = pick.lot_number.trim();
        if p.picks[..n].iter().any(|q| q.lot_number.trim() == lot) {
            s.block(
                RuleId::LotQty01,
                format!("lot {lot} picked more than once: pick each lot once with its total"),
            );
            continue;
        }
        if let Some(other) = p
            .lots
            .iter()
            .find(|l| l.lot_number.trim() == lot && l.ndc != p.product.ndc)
        {
            s.block(
                RuleId::LotQty01,
                format!(
                    "lot {lot} is recorded under NDC {}, not the dispensed {}",
                    other.ndc, p.product.ndc
                ),
            );
            continue;
        }
        let check = check_manual_pick(p.lots, lot, pick.quantity, today, &policy);
        if let Some(block) = check.blocked {
            match block {
                PickBlock::UnknownLot => s.block(
                    RuleId::LotQty01,
                    format!("lot {lot:?} of {} is not in this store's stock records", p.product.ndc),
                ),
                PickBlock::ZeroQuantity => s.block(RuleId::LotQty01, format!("lot {lot:?} picked with zero units")),
                PickBlock::Expired { expiry } => s.block(
                    RuleId::LotExp01,
                    format!("lot {lot} expired {expiry}; expired stock may only be destroyed or returned"),
                ),
                PickBlock::Status(status) => s.block(RuleId::LotStatus01, format!("lot {lot} is {}", status_text(status))),
                PickBlock::Insufficient { on_hand, requested } => s.block(
                    RuleId::InvNeg01,
                    format!("lot {lot} has {on_hand} on hand; taking {requested} would make stock negative"),
                ),
            }
        }
        for w in check.warnings {
            match w {
                AllocationWarning::NotFefo { chosen, fefo_choice } => s.warn_reason_required(
                    RuleId::LotFefo01,
                    format!("lot {chosen} chosen but lot {fefo_choice} expires first (FEFO): record the reason (override LOT-FEFO-01 with a reason code)"),
                ),
                AllocationWarning::ShortDated { lot_number, expiry, needed_through } => s.warn(
                    RuleId::LotShortdate01,
                    format!("lot {lot_number} expires {expiry}, before the end of therapy {needed_through}: choose a later lot"),
                ),
                AllocationWarning::PastRemovalDate { lot_number, expiry, .. } => s.warn(
                    RuleId::LotRemoval01,
                    format!("lot {lot_number} (expires {expiry}) is within its removal lead time"),
                ),
                AllocationWarning::SmallerEarlierLotPassedOver { .. } => {}
            }
        }
        if let Some(e) = p
            .lots
            .iter()
            .find(|l| l.lot_number.trim() == lot)
            .map(|l| l.expiry.resolved())
        {
            earliest = Some(earliest.map_or(e, |x| x.min(e)));
        }
    }
    earliest
}

fn status_text(status: LotStatus) -> &'static str {
    match status {
        LotStatus::Active => "active",
        LotStatus::Quarantined => "quarantined",
        LotStatus::Recalled => "recalled",
        LotStatus::OnHold => "on hold",
        LotStatus::Damaged => "damaged",
        LotStatus::Destroyed => "destroyed",
    }
}

/// A stale recall feed turns lot-status checks into a warning.
fn recall_feed(s: &mut Sink<'_>) {
    let max = i64::from(s.ctx.policy.recall_feed_max_age_hours);
    match s.ctx.recall_feed_as_of {
        Some(at) if at > s.ctx.latest_record_time() => s.warn(
            RuleId::LotStatus01,
            format!("recall feed is dated {at}, after now: lot status may be out of date"),
        ),
        Some(at) if !s.ctx.now.more_than_hours_after(at, max) => {}
        Some(at) => s.warn(
            RuleId::LotStatus01,
            format!(
                "recall feed last refreshed {at} (over {max} h ago): lot status may be out of date"
            ),
        ),
        None => s.warn(
            RuleId::LotStatus01,
            "recall feed never loaded: lot status may be out of date".into(),
        ),
    }
}

/// LOT-DSCSA-01.
pub(crate) fn dscsa(s: &mut Sink<'_>, check: Option<&DscsaCheck>, picks: &[LotPick]) {
    let (message, reason) = match check {
        None | Some(DscsaCheck::Verified) => return,
        Some(DscsaCheck::Mismatch { detail }) => (
            format!("product identifier does not match a transaction record: {detail}"),
            "DSCSA mismatch",
        ),
        Some(DscsaCheck::Suspect { detail }) => (
            format!("product flagged suspect: {detail}"),
            "DSCSA suspect product",
        ),
        Some(DscsaCheck::Unavailable) => (
            "DSCSA verification unavailable: hold the unit in quarantine until verified"
                .to_string(),
            "DSCSA verification pending",
        ),
    };
    s.block(RuleId::LotDscsa01, message);
    let lot_number = picks
        .first()
        .map(|p| p.lot_number.clone())
        .unwrap_or_default();
    s.follow(FollowUp::QuarantineUnit {
        lot_number,
        reason: reason.into(),
    });
}

fn move_text(kind: StockMoveKind) -> &'static str {
    match kind {
        StockMoveKind::Destroy => "destruction",
        StockMoveKind::Return => "return",
        StockMoveKind::WriteOff => "write-off",
        StockMoveKind::TransferOut => "transfer out",
    }
}

/// Stock leaving without a patient: expired and held stock may be destroyed, returned or
/// written off, but not transferred to another store; on-hand may not go negative.
pub(crate) fn stock_move(s: &mut Sink<'_>, r: &StockMoveRequest) {
    let today = s.ctx.today();
    let lot = &r.lot;
    let transfer = r.kind == StockMoveKind::TransferOut;
    if lot.is_expired_on(today) {
        if transfer {
            s.block(
                RuleId::LotExp01,
                format!(
                    "lot {} expired {}: it may be destroyed or returned, not transferred",
                    lot.lot_number, lot.expiry
                ),
            );
        } else {
            s.add(
                RuleId::LotExp01,
                crate::rules::Outcome::Allow,
                format!(
                    "lot {} expired {}: allowed for {}",
                    lot.lot_number,
                    lot.expiry,
                    move_text(r.kind)
                ),
            );
        }
    }
    if transfer && lot.status != LotStatus::Active {
        s.block(
            RuleId::LotStatus01,
            format!(
                "lot {} is {}: it may not be transferred to another store",
                lot.lot_number,
                status_text(lot.status)
            ),
        );
    }
    if i64::from(r.quantity) > lot.on_hand {
        s.block(
            RuleId::InvNeg01,
            format!(
                "lot {} has {} on hand; moving {} would make stock negative",
                lot.lot_number, lot.on_hand, r.quantity
            ),
        );
    }
}
