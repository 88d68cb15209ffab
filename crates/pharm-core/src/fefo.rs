//! FEFO (first-expired, first-out) lot allocation for dispensing and sale.
//!
//! Pure functions over a product's lots (rules LOT-EXP-01, LOT-STATUS-01, LOT-FEFO-01,
//! LOT-REMOVAL-01, LOT-SHORTDATE-01 and LOT-QTY-01; the lot rules of the crate README's rule
//! table):
//!
//! - [`allocate`] picks lots automatically: only eligible lots (status
//!   [`LotStatus::Active`], not expired on `today`, stock on hand, not past the removal
//!   date), earliest expiry first.
//! - [`check_manual_pick`] checks a lot the user scanned: it blocks an unknown, expired,
//!   non-active or too-small lot and warns when the pick is not FEFO, is past its removal
//!   date, or expires before the end of therapy.
//!
//! FEFO order is: earliest resolved expiry, then lowest lot number (byte-wise text
//! order, as a database `ORDER BY lot_number` would sort it), then oldest `received`
//! date (unknown receipt last), then input order.
//!
//! Both functions only look at the lots they are given: pass the lots of one product
//! (or of the interchangeable package NDCs the caller is willing to dispense).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::ids::Ndc;
use crate::model::{Lot, LotStatus, Product};
use crate::rules::RuleId;
use crate::time::Date;

/// How [`allocate`] and [`check_manual_pick`] may pick lots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct AllocationPolicy {
    /// More than one lot may go into the line (the label or record then lists every lot).
    /// Off by default: one lot per prescription fill, so the label and the dispensing record
    /// name a single lot (a recall then reaches every patient who got it).
    pub allow_spill: bool,
    /// Stop picking a lot automatically this many days before its expiry (the product's
    /// [`Product::removal_lead_days`]). `0` means the product has no removal date: a lot is
    /// then usable through its expiry day.
    pub removal_lead_days: u32,
    /// Days supply of the fill; when set, lots expiring before `today + days_supply` are
    /// reported as short-dated (LOT-SHORTDATE-01).
    pub days_supply: Option<u32>,
}

impl AllocationPolicy {
    /// The policy for one product: its removal lead, no spill, no days supply.
    pub fn for_product(product: &Product) -> Self {
        AllocationPolicy {
            removal_lead_days: product.removal_lead_days,
            ..AllocationPolicy::default()
        }
    }

    /// The first day on which a lot expiring on `expiry` is no longer picked
    /// automatically, or `None` when no removal lead is configured.
    pub fn removal_date(&self, expiry: Date) -> Option<Date> {
        (self.removal_lead_days > 0).then(|| expiry.add_days(-i64::from(self.removal_lead_days)))
    }

    /// The date through which a fill must stay in date, when a days supply is set.
    pub fn needed_through(&self, today: Date) -> Option<Date> {
        self.days_supply.map(|d| today.add_days(i64::from(d)))
    }
}

/// One lot chosen for a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pick {
    /// Manufacturer lot number.
    pub lot_number: String,
    /// Package NDC of the lot.
    pub ndc: Ndc,
    /// Units taken from this lot (never zero).
    pub quantity: u32,
    /// Resolved expiry of the lot (last day in date), for the label.
    pub expiry: Date,
}

/// Why a lot was not considered by [`allocate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Expired before `today` (LOT-EXP-01).
    Expired,
    /// Not [`LotStatus::Active`]: recalled, quarantined, on hold, damaged or destroyed
    /// (LOT-STATUS-01).
    Status(LotStatus),
    /// `today` is on or after the removal date (`expiry - removal_lead_days`,
    /// LOT-REMOVAL-01): not picked automatically, though it may still be scanned.
    PastRemovalDate,
    /// No units on hand (zero or negative after an offline oversell).
    NoStock,
}

impl SkipReason {
    /// The rule id behind this reason (`RuleId::LotExp01` ...), or `None` for plain lack of
    /// stock.
    pub const fn rule_id(self) -> Option<RuleId> {
        match self {
            SkipReason::Expired => Some(RuleId::LotExp01),
            SkipReason::Status(_) => Some(RuleId::LotStatus01),
            SkipReason::PastRemovalDate => Some(RuleId::LotRemoval01),
            SkipReason::NoStock => None,
        }
    }
}

/// A lot that [`allocate`] did not consider, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedLot {
    /// Manufacturer lot number.
    pub lot_number: String,
    /// Why it was skipped (the first that applies, in the order status, expiry, removal
    /// date, stock).
    pub reason: SkipReason,
}

/// Something the pharmacist should see about a pick; none of these stops it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AllocationWarning {
    /// The lot expires before the end of therapy (LOT-SHORTDATE-01): choose a later lot
    /// if one exists.
    ShortDated {
        /// The short-dated lot.
        lot_number: String,
        /// Its resolved expiry.
        expiry: Date,
        /// `today + days_supply`: the lot should be in date through this day.
        needed_through: Date,
    },
    /// Without spill, an eligible lot expiring earlier than the one picked was passed over
    /// because it alone could not cover the quantity (a candidate for destruction or
    /// a smaller fill).
    SmallerEarlierLotPassedOver {
        /// The lot passed over.
        lot_number: String,
    },
    /// The scanned lot is not FEFO: another eligible lot expiring earlier could have covered
    /// the quantity (LOT-FEFO-01; a reason is required).
    NotFefo {
        /// The scanned lot.
        chosen: String,
        /// The lot FEFO would have picked.
        fefo_choice: String,
    },
    /// The scanned lot is on or past its removal date (LOT-REMOVAL-01).
    PastRemovalDate {
        /// The scanned lot.
        lot_number: String,
        /// Its removal date (`expiry - removal_lead_days`).
        removal_date: Date,
        /// Its resolved expiry.
        expiry: Date,
    },
}

impl AllocationWarning {
    /// The rule id behind this warning (`RuleId::LotFefo01` ...).
    pub const fn rule_id(&self) -> RuleId {
        match self {
            AllocationWarning::ShortDated { .. } => RuleId::LotShortdate01,
            AllocationWarning::SmallerEarlierLotPassedOver { .. }
            | AllocationWarning::NotFefo { .. } => RuleId::LotFefo01,
            AllocationWarning::PastRemovalDate { .. } => RuleId::LotRemoval01,
        }
    }
}

/// The result of [`allocate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    /// Lots to take from, in FEFO order; their quantities sum to the requested quantity.
    pub picks: Vec<Pick>,
    /// Things to show the pharmacist.
    pub warnings: Vec<AllocationWarning>,
    /// Lots that were not eligible, in input order.
    pub skipped: Vec<SkippedLot>,
}

impl Allocation {
    /// Total units picked.
    pub fn total(&self) -> u64 {
        self.picks.iter().map(|p| u64::from(p.quantity)).sum()
    }
}

/// Why [`allocate`] could not pick lots.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AllocationError {
    /// The requested quantity is zero.
    #[error("quantity 0 requested: nothing to allocate")]
    #[serde(deserialize_with = "crate::serde_strict::no_fields")]
    ZeroQuantity,
    /// All eligible lots together hold less than the requested quantity (LOT-QTY-01,
    /// INV-NEG-01).
    #[error(
        "quantity {requested} requested but eligible lots hold only {available} units in total"
    )]
    Insufficient {
        /// Units requested.
        requested: u32,
        /// Units on hand across all eligible lots.
        available: u64,
    },
    /// Eligible lots together cover the quantity, but spill is not allowed and no single
    /// lot covers it (LOT-QTY-01: one lot per fill). Allow spill or reduce the quantity.
    #[error(
        "quantity {requested} requested but the largest eligible lot holds {largest_lot} units \
         and spill across lots is not allowed ({available} units in all eligible lots)"
    )]
    NoSingleLot {
        /// Units requested.
        requested: u32,
        /// Units on hand in the largest eligible lot.
        largest_lot: u64,
        /// Units on hand across all eligible lots.
        available: u64,
    },
}

/// Why [`check_manual_pick`] refuses a scanned lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PickBlock {
    /// No lot with the scanned number is in the list.
    UnknownLot,
    /// The requested quantity is zero.
    ZeroQuantity,
    /// The lot is not [`LotStatus::Active`] (recalled, quarantined ...; LOT-STATUS-01).
    Status(LotStatus),
    /// The lot expired before today (LOT-EXP-01).
    Expired {
        /// Its resolved expiry.
        expiry: Date,
    },
    /// The lot holds fewer units than requested (LOT-QTY-01, INV-NEG-01).
    Insufficient {
        /// Units on hand in the lot (may be zero or negative).
        on_hand: i64,
        /// Units requested.
        requested: u32,
    },
}

impl PickBlock {
    /// The rule id behind this block, or `None` for an unknown lot or zero quantity.
    pub const fn rule_id(self) -> Option<RuleId> {
        match self {
            PickBlock::UnknownLot | PickBlock::ZeroQuantity => None,
            PickBlock::Status(_) => Some(RuleId::LotStatus01),
            PickBlock::Expired { .. } => Some(RuleId::LotExp01),
            PickBlock::Insufficient { .. } => Some(RuleId::LotQty01),
        }
    }
}

/// The result of [`check_manual_pick`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualPickCheck {
    /// Set when the scanned lot must not be used for this line.
    pub blocked: Option<PickBlock>,
    /// Warnings about the pick (only when not blocked).
    pub warnings: Vec<AllocationWarning>,
    /// The pick to record when not blocked.
    pub pick: Option<Pick>,
}

impl ManualPickCheck {
    /// True when the pick may go ahead (possibly with warnings).
    pub fn is_allowed(&self) -> bool {
        self.blocked.is_none()
    }
}

/// Why a lot is not eligible for automatic picking on `today`, or `None` if it is.
fn ineligibility(lot: &Lot, today: Date, policy: &AllocationPolicy) -> Option<SkipReason> {
    if lot.status != LotStatus::Active {
        return Some(SkipReason::Status(lot.status));
    }
    if lot.is_expired_on(today) {
        return Some(SkipReason::Expired);
    }
    if policy
        .removal_date(lot.expiry.resolved())
        .is_some_and(|removal| today >= removal)
    {
        return Some(SkipReason::PastRemovalDate);
    }
    if lot.on_hand <= 0 {
        return Some(SkipReason::NoStock);
    }
    None
}

/// FEFO order between two lots (input order is the caller's final tie-breaker).
fn fefo_cmp(a: &Lot, b: &Lot) -> Ordering {
    a.expiry
        .resolved()
        .cmp(&b.expiry.resolved())
        .then_with(|| a.lot_number.cmp(&b.lot_number))
        .then_with(|| (a.received.is_none(), a.received).cmp(&(b.received.is_none(), b.received)))
}

/// Eligible lots in FEFO order (stable sort keeps input order on full ties).
fn eligible_in_fefo_order<'a>(
    lots: &'a [Lot],
    today: Date,
    policy: &AllocationPolicy,
) -> Vec<&'a Lot> {
    let mut eligible: Vec<&Lot> = lots
        .iter()
        .filter(|lot| ineligibility(lot, today, policy).is_none())
        .collect();
    eligible.sort_by(|a, b| fefo_cmp(a, b));
    eligible
}

/// Units on hand as an unsigned count (negative counts as zero).
fn stock(lot: &Lot) -> u64 {
    u64::try_from(lot.on_hand).unwrap_or(0)
}

fn pick_from(lot: &Lot, quantity: u32) -> Pick {
    Pick {
        lot_number: lot.lot_number.clone(),
        ndc: Ndc::clone(&lot.ndc),
        quantity,
        expiry: lot.expiry.resolved(),
    }
}

fn short_dated(pick: &Pick, needed_through: Option<Date>) -> Option<AllocationWarning> {
    let needed_through = needed_through?;
    (pick.expiry < needed_through).then(|| AllocationWarning::ShortDated {
        lot_number: pick.lot_number.clone(),
        expiry: pick.expiry,
        needed_through,
    })
}

/// Picks lots for `quantity` units in FEFO order.
///
/// Eligible lots are [`LotStatus::Active`], not expired on `today` (a lot is usable
/// through its expiry day), hold stock, and — when `policy.removal_lead_days > 0` — are
/// before their removal date (`today < expiry - removal_lead_days`). Every other lot is
/// listed in [`Allocation::skipped`].
///
/// Without spill the first eligible lot in FEFO order that alone covers the quantity is
/// picked, and each earlier-expiring lot passed over for being too small is reported as
/// [`AllocationWarning::SmallerEarlierLotPassedOver`]. With spill, lots are drained in FEFO
/// order until the quantity is covered. Short-dated picks are reported when
/// `policy.days_supply` is set.
///
/// # Errors
///
/// [`AllocationError::ZeroQuantity`] for a zero quantity,
/// [`AllocationError::Insufficient`] when eligible stock cannot cover it, and
/// [`AllocationError::NoSingleLot`] when only a spill could cover it but spill is off.
pub fn allocate(
    lots: &[Lot],
    quantity: u32,
    today: Date,
    policy: &AllocationPolicy,
) -> Result<Allocation, AllocationError> {
    if quantity == 0 {
        return Err(AllocationError::ZeroQuantity);
    }
    let skipped: Vec<SkippedLot> = lots
        .iter()
        .filter_map(|lot| {
            ineligibility(lot, today, policy).map(|reason| SkippedLot {
                lot_number: lot.lot_number.clone(),
                reason,
            })
        })
        .collect();
    let eligible = eligible_in_fefo_order(lots, today, policy);
    let available = eligible
        .iter()
        .fold(0u64, |acc, lot| acc.saturating_add(stock(lot)));
    let requested = u64::from(quantity);
    if available < requested {
        return Err(AllocationError::Insufficient {
            requested: quantity,
            available,
        });
    }

    let mut picks = Vec::new();
    let mut warnings = Vec::new();
    if policy.allow_spill {
        let mut remaining = quantity;
        for lot in &eligible {
            if remaining == 0 {
                break;
            }
            let take = u32::try_from(stock(lot)).unwrap_or(u32::MAX).min(remaining);
            remaining -= take;
            picks.push(pick_from(lot, take));
        }
    } else {
        let Some(position) = eligible.iter().position(|lot| stock(lot) >= requested) else {
            let largest_lot = eligible.iter().map(|lot| stock(lot)).max().unwrap_or(0);
            return Err(AllocationError::NoSingleLot {
                requested: quantity,
                largest_lot,
                available,
            });
        };
        let chosen = eligible[position];
        let chosen_expiry = chosen.expiry.resolved();
        warnings.extend(
            eligible[..position]
                .iter()
                .filter(|lot| lot.expiry.resolved() < chosen_expiry)
                .map(|lot| AllocationWarning::SmallerEarlierLotPassedOver {
                    lot_number: lot.lot_number.clone(),
                }),
        );
        picks.push(pick_from(chosen, quantity));
    }

    let needed_through = policy.needed_through(today);
    warnings.extend(picks.iter().filter_map(|p| short_dated(p, needed_through)));
    Ok(Allocation {
        picks,
        warnings,
        skipped,
    })
}

/// Checks a lot the user scanned for `quantity` units of one line.
///
/// The scanned number is matched exactly after trimming surrounding ASCII whitespace; if
/// several lots share it, the first in `lots` is used. The pick is blocked for an unknown
/// lot, a zero quantity, a lot that is not [`LotStatus::Active`], an expired lot, or a
/// lot holding fewer units than requested (one scanned lot always covers its quantity).
/// Otherwise it is allowed, with warnings when it is past its removal date, short-dated
/// against `policy.days_supply`, or not FEFO (another eligible lot expiring earlier could
/// have covered the quantity alone).
pub fn check_manual_pick(
    lots: &[Lot],
    scanned_lot_number: &str,
    quantity: u32,
    today: Date,
    policy: &AllocationPolicy,
) -> ManualPickCheck {
    let blocked = |block: PickBlock| ManualPickCheck {
        blocked: Some(block),
        warnings: Vec::new(),
        pick: None,
    };
    let scanned = scanned_lot_number.trim_matches(|c: char| c.is_ascii_whitespace());
    let Some(lot) = lots.iter().find(|lot| lot.lot_number == scanned) else {
        return blocked(PickBlock::UnknownLot);
    };
    if quantity == 0 {
        return blocked(PickBlock::ZeroQuantity);
    }
    if lot.status != LotStatus::Active {
        return blocked(PickBlock::Status(lot.status));
    }
    let expiry = lot.expiry.resolved();
    if lot.is_expired_on(today) {
        return blocked(PickBlock::Expired { expiry });
    }
    if stock(lot) < u64::from(quantity) {
        return blocked(PickBlock::Insufficient {
            on_hand: lot.on_hand,
            requested: quantity,
        });
    }

    let mut warnings = Vec::new();
    if let Some(removal_date) = policy.removal_date(expiry)
        && today >= removal_date
    {
        warnings.push(AllocationWarning::PastRemovalDate {
            lot_number: lot.lot_number.clone(),
            removal_date,
            expiry,
        });
    }
    let pick = pick_from(lot, quantity);
    warnings.extend(short_dated(&pick, policy.needed_through(today)));
    let fefo_choice = eligible_in_fefo_order(lots, today, policy)
        .into_iter()
        .find(|other| {
            !std::ptr::eq(*other, lot)
                && other.expiry.resolved() < expiry
                && stock(other) >= u64::from(quantity)
        });
    if let Some(other) = fefo_choice {
        warnings.push(AllocationWarning::NotFefo {
            chosen: lot.lot_number.clone(),
            fefo_choice: other.lot_number.clone(),
        });
    }
    ManualPickCheck {
        blocked: None,
        warnings,
        pick: Some(pick),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::Expiry;
    use proptest::prelude::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn ndc() -> Ndc {
        "00071-0155-23".parse().unwrap()
    }

    fn lot(number: &str, expiry: &str, status: LotStatus, on_hand: i64) -> Lot {
        Lot {
            ndc: ndc(),
            lot_number: number.into(),
            expiry: Expiry::Day(d(expiry)),
            status,
            on_hand,
            received: None,
        }
    }

    fn received(mut l: Lot, day: &str) -> Lot {
        l.received = Some(d(day));
        l
    }

    const TODAY: &str = "2026-11-27";

    fn spill() -> AllocationPolicy {
        AllocationPolicy {
            allow_spill: true,
            ..AllocationPolicy::default()
        }
    }

    /// Several lots of every kind; the valid ones are "B1", "B2", "C" (and "A" which ties).
    fn table() -> Vec<Lot> {
        use LotStatus::*;
        vec![
            lot("EXP", "2026-11-26", Active, 100),
            lot("REC", "2026-12-01", Recalled, 100),
            lot("QUA", "2026-12-01", Quarantined, 100),
            lot("HLD", "2026-12-01", OnHold, 100),
            lot("DMG", "2026-12-01", Damaged, 100),
            lot("DST", "2026-12-01", Destroyed, 100),
            lot("ZERO", "2026-12-01", Active, 0),
            lot("NEG", "2026-12-01", Active, -4),
            lot("C", "2027-06-30", Active, 500),
            received(lot("B2", "2027-01-31", Active, 30), "2026-01-01"),
            received(lot("B1", "2027-01-31", Active, 30), "2026-06-01"),
            lot("B1", "2027-01-31", Active, 30),
            received(lot("B1", "2027-01-31", Active, 30), "2026-02-01"),
        ]
    }

    #[test]
    fn table_skips_every_ineligible_lot_with_its_reason() {
        let a = allocate(&table(), 10, d(TODAY), &AllocationPolicy::default()).unwrap();
        let reasons: Vec<(&str, SkipReason)> = a
            .skipped
            .iter()
            .map(|s| (s.lot_number.as_str(), s.reason))
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("EXP", SkipReason::Expired),
                ("REC", SkipReason::Status(LotStatus::Recalled)),
                ("QUA", SkipReason::Status(LotStatus::Quarantined)),
                ("HLD", SkipReason::Status(LotStatus::OnHold)),
                ("DMG", SkipReason::Status(LotStatus::Damaged)),
                ("DST", SkipReason::Status(LotStatus::Destroyed)),
                ("ZERO", SkipReason::NoStock),
                ("NEG", SkipReason::NoStock),
            ]
        );
        // Tie on expiry: lot number B1 < B2, then oldest receipt (2026-02-01), not the
        // unknown receipt.
        assert_eq!(a.picks.len(), 1);
        assert_eq!(a.picks[0].lot_number, "B1");
        assert_eq!(a.picks[0].quantity, 10);
        assert_eq!(a.picks[0].expiry, d("2027-01-31"));
        assert!(a.warnings.is_empty());
        assert_eq!(a.total(), 10);
    }

    #[test]
    fn tie_breaks_expiry_then_lot_number_then_received_then_input_order() {
        let today = d(TODAY);
        let lots = table();
        let order: Vec<(String, Option<Date>)> = eligible_in_fefo_order(&lots, today, &spill())
            .into_iter()
            .map(|l| (l.lot_number.clone(), l.received))
            .collect();
        assert_eq!(
            order,
            vec![
                ("B1".into(), Some(d("2026-02-01"))),
                ("B1".into(), Some(d("2026-06-01"))),
                ("B1".into(), None),
                ("B2".into(), Some(d("2026-01-01"))),
                ("C".into(), None),
            ]
        );
        // Full tie: input order.
        let mut twins = vec![lot("T", "2027-01-01", LotStatus::Active, 5); 2];
        twins[1].on_hand = 7;
        let a = allocate(&twins, 5, today, &AllocationPolicy::default()).unwrap();
        assert_eq!(a.picks[0].quantity, 5);
        let first = eligible_in_fefo_order(&twins, today, &spill())[0];
        assert_eq!(first.on_hand, 5);
    }

    #[test]
    fn expiry_boundary() {
        let today = d(TODAY);
        let on_expiry_day = [lot("A", TODAY, LotStatus::Active, 10)];
        let a = allocate(&on_expiry_day, 10, today, &AllocationPolicy::default()).unwrap();
        assert_eq!(a.picks[0].lot_number, "A");
        assert!(a.skipped.is_empty());

        let expired_yesterday = [lot("A", "2026-11-26", LotStatus::Active, 10)];
        let e = allocate(&expired_yesterday, 10, today, &AllocationPolicy::default());
        assert_eq!(
            e,
            Err(AllocationError::Insufficient {
                requested: 10,
                available: 0
            })
        );

        // Month expiry: usable through the month's last day.
        let month = [Lot {
            expiry: Expiry::month(2026, 11).unwrap(),
            ..lot("M", TODAY, LotStatus::Active, 10)
        }];
        assert!(allocate(&month, 1, d("2026-11-30"), &AllocationPolicy::default()).is_ok());
        assert!(allocate(&month, 1, d("2026-12-01"), &AllocationPolicy::default()).is_err());
    }

    #[test]
    fn removal_date_boundary() {
        let policy = AllocationPolicy {
            removal_lead_days: 30,
            ..AllocationPolicy::default()
        };
        // Expiry 2026-12-27 - 30 days = removal date 2026-11-27 = today: not picked.
        let on_removal_day = [lot("R", "2026-12-27", LotStatus::Active, 10)];
        assert_eq!(
            allocate(&on_removal_day, 1, d(TODAY), &policy),
            Err(AllocationError::Insufficient {
                requested: 1,
                available: 0
            })
        );
        let a = allocate(&on_removal_day, 1, d("2026-11-26"), &policy).unwrap();
        assert_eq!(a.picks[0].lot_number, "R");

        let mixed = [
            lot("R", "2026-12-27", LotStatus::Active, 10),
            lot("S", "2026-12-28", LotStatus::Active, 10),
        ];
        let a = allocate(&mixed, 1, d(TODAY), &policy).unwrap();
        assert_eq!(a.picks[0].lot_number, "S");
        assert_eq!(
            a.skipped,
            vec![SkippedLot {
                lot_number: "R".into(),
                reason: SkipReason::PastRemovalDate
            }]
        );
        assert_eq!(policy.removal_date(d("2026-12-28")), Some(d("2026-11-28")));
        assert_eq!(AllocationPolicy::default().removal_date(d(TODAY)), None);
    }

    #[test]
    fn no_spill_passes_over_smaller_earlier_lot() {
        let lots = [
            lot("SMALL", "2027-01-01", LotStatus::Active, 5),
            lot("SAMEDAY", "2027-03-01", LotStatus::Active, 3),
            lot("BIG", "2027-03-01", LotStatus::Active, 50),
        ];
        let a = allocate(&lots, 20, d(TODAY), &AllocationPolicy::default()).unwrap();
        assert_eq!(a.picks.len(), 1);
        assert_eq!(a.picks[0].lot_number, "BIG");
        // SAMEDAY has the same expiry as BIG: passing it over is not a FEFO concern.
        assert_eq!(
            a.warnings,
            vec![AllocationWarning::SmallerEarlierLotPassedOver {
                lot_number: "SMALL".into()
            }]
        );
    }

    #[test]
    fn spill_across_lots() {
        let lots = [
            lot("L3", "2027-05-01", LotStatus::Active, 100),
            lot("L1", "2027-01-01", LotStatus::Active, 5),
            lot("L2", "2027-02-01", LotStatus::Active, 10),
        ];
        let a = allocate(&lots, 20, d(TODAY), &spill()).unwrap();
        let picks: Vec<(&str, u32)> = a
            .picks
            .iter()
            .map(|p| (p.lot_number.as_str(), p.quantity))
            .collect();
        assert_eq!(picks, vec![("L1", 5), ("L2", 10), ("L3", 5)]);
        assert!(a.warnings.is_empty());
        // Exactly the total.
        let a = allocate(&lots, 115, d(TODAY), &spill()).unwrap();
        assert_eq!(a.total(), 115);
        assert_eq!(
            allocate(&lots, 116, d(TODAY), &spill()),
            Err(AllocationError::Insufficient {
                requested: 116,
                available: 115
            })
        );
        // Without spill the same request has no single lot.
        assert_eq!(
            allocate(&lots, 101, d(TODAY), &AllocationPolicy::default()),
            Err(AllocationError::NoSingleLot {
                requested: 101,
                largest_lot: 100,
                available: 115
            })
        );
    }

    #[test]
    fn insufficient_and_zero() {
        let lots = [lot("A", "2027-01-01", LotStatus::Active, 5)];
        let e = allocate(&lots, 6, d(TODAY), &AllocationPolicy::default()).unwrap_err();
        assert_eq!(
            e,
            AllocationError::Insufficient {
                requested: 6,
                available: 5
            }
        );
        assert!(e.to_string().contains("quantity 6"));
        assert_eq!(
            allocate(&lots, 0, d(TODAY), &AllocationPolicy::default()),
            Err(AllocationError::ZeroQuantity)
        );
        assert_eq!(
            allocate(&[], 1, d(TODAY), &spill()),
            Err(AllocationError::Insufficient {
                requested: 1,
                available: 0
            })
        );
    }

    #[test]
    fn short_dated_against_days_supply() {
        let lots = [lot("A", "2026-12-26", LotStatus::Active, 100)];
        let policy = AllocationPolicy {
            days_supply: Some(30),
            ..AllocationPolicy::default()
        };
        let a = allocate(&lots, 30, d(TODAY), &policy).unwrap();
        assert_eq!(
            a.warnings,
            vec![AllocationWarning::ShortDated {
                lot_number: "A".into(),
                expiry: d("2026-12-26"),
                needed_through: d("2026-12-27"),
            }]
        );
        assert_eq!(a.warnings[0].rule_id(), RuleId::LotShortdate01);
        // Expiring exactly on today + days supply is fine.
        let lots = [lot("A", "2026-12-27", LotStatus::Active, 100)];
        assert!(
            allocate(&lots, 30, d(TODAY), &policy)
                .unwrap()
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn manual_pick_recalled_and_others_blocked() {
        let lots = table();
        let today = d(TODAY);
        let policy = AllocationPolicy::default();
        let check = |n: &str, q: u32| check_manual_pick(&lots, n, q, today, &policy).blocked;
        assert_eq!(
            check("REC", 1),
            Some(PickBlock::Status(LotStatus::Recalled))
        );
        assert_eq!(
            check("QUA", 1),
            Some(PickBlock::Status(LotStatus::Quarantined))
        );
        assert_eq!(
            check("EXP", 1),
            Some(PickBlock::Expired {
                expiry: d("2026-11-26")
            })
        );
        assert_eq!(
            check("ZERO", 1),
            Some(PickBlock::Insufficient {
                on_hand: 0,
                requested: 1
            })
        );
        assert_eq!(
            check("B2", 31),
            Some(PickBlock::Insufficient {
                on_hand: 30,
                requested: 31
            })
        );
        assert_eq!(check("NOPE", 1), Some(PickBlock::UnknownLot));
        assert_eq!(check("B2", 0), Some(PickBlock::ZeroQuantity));
        let r = check_manual_pick(&lots, "REC", 1, today, &policy);
        assert!(!r.is_allowed());
        assert!(r.pick.is_none() && r.warnings.is_empty());
        assert_eq!(
            PickBlock::Status(LotStatus::Recalled).rule_id(),
            Some(RuleId::LotStatus01)
        );
    }

    #[test]
    fn manual_pick_not_fefo_warned() {
        let lots = table();
        let today = d(TODAY);
        let policy = AllocationPolicy::default();
        let r = check_manual_pick(&lots, " C\r\n", 10, today, &policy);
        assert!(r.is_allowed());
        assert_eq!(
            r.warnings,
            vec![AllocationWarning::NotFefo {
                chosen: "C".into(),
                fefo_choice: "B1".into()
            }]
        );
        assert_eq!(r.pick.as_ref().map(|p| p.quantity), Some(10));
        // No earlier lot can cover 100: C is the FEFO choice for that quantity.
        let r = check_manual_pick(&lots, "C", 100, today, &policy);
        assert!(r.is_allowed() && r.warnings.is_empty());
        // The FEFO lot itself: no warning.
        let r = check_manual_pick(&lots, "B1", 10, today, &policy);
        assert!(r.is_allowed() && r.warnings.is_empty());
        // Same expiry as the FEFO lot: not a FEFO violation.
        let r = check_manual_pick(&lots, "B2", 10, today, &policy);
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn manual_pick_past_removal_and_short_dated_warned() {
        let lots = [lot("R", "2026-12-10", LotStatus::Active, 10)];
        let policy = AllocationPolicy {
            removal_lead_days: 30,
            days_supply: Some(30),
            ..AllocationPolicy::default()
        };
        let r = check_manual_pick(&lots, "R", 5, d(TODAY), &policy);
        assert!(r.is_allowed());
        assert_eq!(
            r.warnings,
            vec![
                AllocationWarning::PastRemovalDate {
                    lot_number: "R".into(),
                    removal_date: d("2026-11-10"),
                    expiry: d("2026-12-10"),
                },
                AllocationWarning::ShortDated {
                    lot_number: "R".into(),
                    expiry: d("2026-12-10"),
                    needed_through: d("2026-12-27"),
                },
            ]
        );
    }

    #[test]
    fn rule_ids_are_known() {
        let d0 = d(TODAY);
        let ids = [
            SkipReason::Expired.rule_id(),
            SkipReason::Status(LotStatus::Recalled).rule_id(),
            SkipReason::PastRemovalDate.rule_id(),
            PickBlock::Expired { expiry: d0 }.rule_id(),
            PickBlock::Status(LotStatus::OnHold).rule_id(),
            PickBlock::Insufficient {
                on_hand: 0,
                requested: 1,
            }
            .rule_id(),
        ];
        let warnings = [
            AllocationWarning::ShortDated {
                lot_number: "A".into(),
                expiry: d0,
                needed_through: d0,
            },
            AllocationWarning::SmallerEarlierLotPassedOver {
                lot_number: "A".into(),
            },
            AllocationWarning::NotFefo {
                chosen: "A".into(),
                fefo_choice: "B".into(),
            },
            AllocationWarning::PastRemovalDate {
                lot_number: "A".into(),
                removal_date: d0,
                expiry: d0,
            },
        ];
        let all = ids
            .into_iter()
            .flatten()
            .chain(warnings.iter().map(AllocationWarning::rule_id));
        assert_eq!(all.count(), 10);
        assert_eq!(SkipReason::NoStock.rule_id(), None);
        assert_eq!(PickBlock::UnknownLot.rule_id(), None);
    }

    #[test]
    fn serde_shapes() {
        let a = allocate(&table(), 10, d(TODAY), &AllocationPolicy::default()).unwrap();
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["picks"][0]["expiry"], "2027-01-31");
        assert_eq!(json["skipped"][1]["reason"]["status"], "recalled");
        assert_eq!(json["skipped"][0]["reason"], "expired");
        let back: Allocation = serde_json::from_value(json).unwrap();
        assert_eq!(back, a);
        let w = AllocationWarning::NotFefo {
            chosen: "C".into(),
            fefo_choice: "B1".into(),
        };
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({"kind": "not_fefo", "chosen": "C", "fefo_choice": "B1"})
        );
        let p: AllocationPolicy = serde_json::from_str(r#"{"allow_spill": true}"#).unwrap();
        assert_eq!(p, spill());
    }

    // ---- property tests ----

    fn status() -> impl Strategy<Value = LotStatus> {
        prop_oneof![
            6 => Just(LotStatus::Active),
            1 => Just(LotStatus::Quarantined),
            1 => Just(LotStatus::Recalled),
            1 => Just(LotStatus::OnHold),
            1 => Just(LotStatus::Damaged),
            1 => Just(LotStatus::Destroyed),
        ]
    }

    /// Lots around 2026-11-27 with unique lot numbers (so picks identify their lot).
    fn lots() -> impl Strategy<Value = Vec<Lot>> {
        prop::collection::vec(
            (
                0u8..20,
                -10i64..120,
                status(),
                -5i64..60,
                prop::option::of(-400i64..0),
            ),
            0..10,
        )
        .prop_map(|raw| {
            let today = d(TODAY);
            raw.into_iter()
                .enumerate()
                .map(|(i, (n, exp, status, on_hand, rec))| Lot {
                    ndc: ndc(),
                    lot_number: format!("L{n:02}-{i}"),
                    expiry: Expiry::Day(today.add_days(exp)),
                    status,
                    on_hand,
                    received: rec.map(|r| today.add_days(r)),
                })
                .collect()
        })
    }

    fn policy() -> impl Strategy<Value = AllocationPolicy> {
        (any::<bool>(), 0u32..20, prop::option::of(0u32..120)).prop_map(
            |(allow_spill, removal_lead_days, days_supply)| AllocationPolicy {
                allow_spill,
                removal_lead_days,
                days_supply,
            },
        )
    }

    fn find<'a>(lots: &'a [Lot], pick: &Pick) -> &'a Lot {
        lots.iter()
            .find(|l| l.lot_number == pick.lot_number)
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn allocation_laws(lots in lots(), quantity in 0u32..150, policy in policy()) {
            let today = d(TODAY);
            let eligible_total: u64 = lots
                .iter()
                .filter(|l| ineligibility(l, today, &policy).is_none())
                .map(stock)
                .sum();
            match allocate(&lots, quantity, today, &policy) {
                Ok(a) => {
                    prop_assert_eq!(a.total(), u64::from(quantity));
                    prop_assert!(a.picks.iter().all(|p| p.quantity > 0));
                    for p in &a.picks {
                        let l = find(&lots, p);
                        prop_assert!(ineligibility(l, today, &policy).is_none());
                        prop_assert!(u64::from(p.quantity) <= stock(l));
                        prop_assert_eq!(p.expiry, l.expiry.resolved());
                    }
                    if policy.allow_spill {
                        prop_assert!(a.picks.windows(2).all(|w| w[0].expiry <= w[1].expiry));
                        if let Some((_, init)) = a.picks.split_last() {
                            for p in init {
                                prop_assert_eq!(u64::from(p.quantity), stock(find(&lots, p)));
                            }
                        }
                    } else {
                        prop_assert_eq!(a.picks.len(), 1);
                    }
                    let skipped = lots
                        .iter()
                        .filter(|l| ineligibility(l, today, &policy).is_some())
                        .count();
                    prop_assert_eq!(a.skipped.len(), skipped);
                }
                Err(AllocationError::ZeroQuantity) => prop_assert_eq!(quantity, 0),
                Err(AllocationError::Insufficient { requested, available }) => {
                    prop_assert_eq!(requested, quantity);
                    prop_assert_eq!(available, eligible_total);
                    prop_assert!(available < u64::from(quantity));
                }
                Err(AllocationError::NoSingleLot { available, largest_lot, .. }) => {
                    prop_assert!(!policy.allow_spill);
                    prop_assert!(available >= u64::from(quantity));
                    prop_assert!(largest_lot < u64::from(quantity));
                }
            }
            // Spill succeeds exactly when eligible stock covers a non-zero quantity.
            let spill_policy = AllocationPolicy { allow_spill: true, ..policy };
            prop_assert_eq!(
                allocate(&lots, quantity, today, &spill_policy).is_ok(),
                quantity > 0 && eligible_total >= u64::from(quantity)
            );
        }

        #[test]
        fn manual_pick_of_allocated_lot_is_allowed_without_fefo_warning(
            lots in lots(), quantity in 1u32..60, policy in policy()
        ) {
            let today = d(TODAY);
            let single = AllocationPolicy { allow_spill: false, ..policy };
            if let Ok(a) = allocate(&lots, quantity, today, &single) {
                let r = check_manual_pick(&lots, &a.picks[0].lot_number, quantity, today, &single);
                prop_assert!(r.is_allowed());
                let not_fefo = r
                    .warnings
                    .iter()
                    .any(|w| matches!(w, AllocationWarning::NotFefo { .. }));
                prop_assert!(!not_fefo);
                prop_assert_eq!(r.pick.as_ref(), a.picks.first());
            }
        }

        #[test]
        fn never_panics_on_arbitrary_lots(
            raw in prop::collection::vec(
                (".{0,6}", -4_000_000i64..4_000_000, any::<i64>(), prop::option::of(-4_000_000i64..4_000_000), 0usize..6),
                0..8,
            ),
            quantity in any::<u32>(),
            today_offset in -4_000_000i64..4_000_000,
            allow_spill in any::<bool>(),
            removal_lead_days in any::<u32>(),
            days_supply in prop::option::of(any::<u32>()),
            scanned in ".{0,6}",
        ) {
            let statuses = [
                LotStatus::Active, LotStatus::Quarantined, LotStatus::Recalled,
                LotStatus::OnHold, LotStatus::Damaged, LotStatus::Destroyed,
            ];
            let base = d(TODAY);
            let lots: Vec<Lot> = raw
                .into_iter()
                .map(|(n, exp, on_hand, rec, s)| Lot {
                    ndc: ndc(),
                    lot_number: n,
                    expiry: Expiry::Day(base.add_days(exp)),
                    status: statuses[s],
                    on_hand,
                    received: rec.map(|r| base.add_days(r)),
                })
                .collect();
            let today = base.add_days(today_offset);
            let policy = AllocationPolicy { allow_spill, removal_lead_days, days_supply };
            if let Ok(a) = allocate(&lots, quantity, today, &policy) {
                prop_assert_eq!(a.total(), u64::from(quantity));
            }
            let _ = check_manual_pick(&lots, &scanned, quantity, today, &policy);
            if let Some(first) = lots.first() {
                let _ = check_manual_pick(&lots, &first.lot_number, quantity, today, &policy);
            }
        }
    }
}
