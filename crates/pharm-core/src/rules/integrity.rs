//! Data-integrity rules: records that cannot be true block the request, each with its own
//! rule id, before any dispensing rule trusts them.
//!
//! - DATA-FUTURE-01: a fill, transfer, follow-up or purchase dated after `now` (beyond
//!   [`StorePolicy::clock_skew_tolerance_seconds`](crate::rules::StorePolicy)).
//! - DATA-ZERO-01: a dispense or recorded fill with zero units or zero days supply.
//! - DATA-HISTORY-01: recorded fill numbers that decrease in time, a fill or follow-up
//!   before the prescription was written, an issue time on another day than the issue date.
//!
//! Messages name records by their content (time, units), never by their position, so the
//! order of a history never changes a decision.

use std::cmp::Ordering;

use crate::model::{Fill, Prescription, PurchaseRecord};
use crate::rules::RuleId;
use crate::rules::sink::Sink;
use crate::time::DateTime;

/// `"1 recorded fill"` / `"3 recorded fills"`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Every DATA rule on a prescription's own records. One pass over the fills in the order
/// given, keeping only order-independent facts (counts, earliest by time); the history is
/// sorted only when fill numbers are recorded.
pub(crate) fn prescription(s: &mut Sink<'_>, rx: &Prescription) {
    let latest = s.ctx.latest_record_time();
    let earlier = |a: Option<&'_ Fill>, f: &'_ Fill| -> bool {
        a.is_none_or(|a| f.chronological_cmp(a) == Ordering::Less)
    };
    let (mut future, mut first_future, mut zero, mut first, mut numbered) =
        (0usize, None, None, None, false);
    for f in &rx.fills {
        if f.at > latest {
            future += 1;
            if earlier(first_future, f) {
                first_future = Some(f);
            }
        }
        if (f.quantity == 0 || f.days_supply == 0) && earlier(zero, f) {
            zero = Some(f);
        }
        if earlier(first, f) {
            first = Some(f);
        }
        numbered |= f.fill_number.is_some();
    }
    if let Some(f) = first_future {
        s.block(
            RuleId::DataFuture01,
            format!(
                "{} of prescription {} dated after now ({}), the first at {}: correct the record before dispensing",
                count(future, "recorded fill"),
                rx.rx_number,
                s.ctx.now,
                f.at
            ),
        );
    }
    if let Some(zero) = zero {
        s.block(
            RuleId::DataZero01,
            format!(
                "recorded fill of {} has {} units for {} days: every fill has a quantity and a days supply",
                zero.at, zero.quantity, zero.days_supply
            ),
        );
    }
    if let Some(early) = first.filter(|f| f.at.date() < rx.issue_date) {
        s.block(
            RuleId::DataHistory01,
            format!(
                "a fill is recorded at {}, before the prescription was written on {}",
                early.at, rx.issue_date
            ),
        );
    }
    if numbered {
        fill_numbers(s, rx.history().iter());
    }
    if let Some(t) = rx.issued_at.filter(|t| t.date() != rx.issue_date) {
        s.block(
            RuleId::DataHistory01,
            format!("issue time {t} is not on the issue date {}", rx.issue_date),
        );
    }
    let latest_day = latest.date();
    let future_transfers = rx.transfers.iter().filter(|t| t.date > latest_day);
    if let Some(first) = future_transfers.clone().map(|t| t.date).min() {
        s.block(
            RuleId::DataFuture01,
            format!(
                "{} dated after today ({}), the first on {first}",
                count(future_transfers.count(), "recorded transfer"),
                s.ctx.today()
            ),
        );
    }
    if let Some(f) = &rx.emergency_followup {
        if f.received > latest_day {
            s.block(
                RuleId::DataFuture01,
                format!(
                    "emergency follow-up {} is recorded as received {}, after today ({})",
                    f.reference,
                    f.received,
                    s.ctx.today()
                ),
            );
        } else if f.received < rx.issue_date {
            s.block(
                RuleId::DataHistory01,
                format!(
                    "emergency follow-up {} is recorded as received {}, before the oral order of {}",
                    f.reference, f.received, rx.issue_date
                ),
            );
        }
    }
}

/// Recorded fill numbers may not decrease in time order.
fn fill_numbers<'a>(s: &mut Sink<'_>, fills: impl Iterator<Item = &'a Fill>) {
    let mut highest: Option<(u32, DateTime)> = None;
    for f in fills {
        let Some(n) = f.fill_number else {
            continue;
        };
        match highest {
            Some((h, when)) if n < h => {
                s.block(
                    RuleId::DataHistory01,
                    format!(
                        "fill number {n} is recorded at {}, after fill number {h} at {when}: the refill records are out of order",
                        f.at
                    ),
                );
                return;
            }
            Some((h, _)) if n == h => {}
            _ => highest = Some((n, f.at)),
        }
    }
}

/// DATA-ZERO-01 for the dispense being made.
pub(crate) fn dispense_days_supply(s: &mut Sink<'_>, days_supply: u32) {
    if days_supply == 0 {
        s.block(
            RuleId::DataZero01,
            "days supply of this fill must be at least 1".into(),
        );
    }
}

/// DATA-FUTURE-01 for a purchaser's history: such records are left out of every limit.
pub(crate) fn purchases(s: &mut Sink<'_>, history: &[PurchaseRecord]) {
    let latest = s.ctx.latest_record_time();
    let future = history.iter().filter(|h| h.at > latest);
    if let Some(first) = future.clone().map(|h| h.at).min() {
        s.block(
            RuleId::DataFuture01,
            format!(
                "{} dated after now ({}), the first at {first}: correct the purchase history",
                count(future.count(), "purchase record"),
                s.ctx.now
            ),
        );
    }
}
