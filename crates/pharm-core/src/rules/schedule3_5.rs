//! Rule table §9.3: Schedules III-V, including CV sold without a prescription.

use crate::ids::PharmacyId;
use crate::model::{CvOtcClass, DosageUnit, Prescription, Schedule};
use crate::rules::sink::Sink;
use crate::rules::{CvOtcFigures, FillRequest, OtcSaleRequest, RuleId};

/// Federal cap on CIII/IV refills (1306.22(a)).
pub(crate) const C34_MAX_REFILLS: u32 = 5;

/// CS34-6MO-01, CS34-REFILLS-01, CS345-PARTIAL-01, CS5-REFILL-01.
pub(crate) fn fill(s: &mut Sink<'_>, r: &FillRequest, schedule: Schedule) {
    let rx = &r.prescription;
    let today = s.ctx.today();
    let months = s.ctx.profile.c3_5_valid_months;
    let six_months = rx.issue_date.add_months(months as i32);
    let fill_number = rx.next_fill_number();
    let continuing = rx.open_partial_remainder() > 0;
    let leaves_remainder = r.quantity > 0 && {
        let owed = if continuing {
            rx.open_partial_remainder()
        } else {
            u64::from(rx.quantity)
        };
        u64::from(r.quantity) < owed
    };

    match schedule {
        Schedule::C3 | Schedule::C4 => {
            if today > six_months {
                s.block(
                    RuleId::Cs346mo01,
                    format!("{} prescription issued {} may not be filled after {six_months} ({months} months)", schedule.label(), rx.issue_date),
                );
            }
            let allowed = rx.refills_authorized.min(C34_MAX_REFILLS);
            if fill_number > u64::from(allowed) {
                s.block(
                    RuleId::Cs34Refills01,
                    format!("this would be refill {fill_number}; {allowed} allowed (authorized {}, federal cap 5)", rx.refills_authorized),
                );
            }
        }
        Schedule::C5 => {
            let profile = &s.ctx.profile;
            let allowed = profile
                .c5_max_refills
                .map_or(rx.refills_authorized, |m| m.min(rx.refills_authorized));
            if fill_number > u64::from(allowed) {
                s.block(
                    RuleId::Cs5Refill01,
                    format!("this would be refill {fill_number}; {allowed} allowed for this Schedule V prescription"),
                );
            }
            if let Some(days) = profile.c5_valid_days {
                let last = rx.issue_date.add_days(i64::from(days));
                if today > last {
                    s.block(
                        RuleId::Cs5Refill01,
                        format!("{} allows Schedule V fills until {days} days after issue (last day {last})", profile.state),
                    );
                }
            }
        }
        Schedule::C2 => return,
    }

    if continuing || leaves_remainder {
        let cap = (schedule != Schedule::C5).then_some(C34_MAX_REFILLS);
        let total = rx.authorized_total(cap);
        let after = rx.dispensed_total() + u64::from(r.quantity);
        if after > total {
            s.block(
                RuleId::Cs345Partial01,
                format!(
                    "partial fills would total {after} units, more than the {total} prescribed"
                ),
            );
        }
        if schedule == Schedule::C5 && today > six_months {
            s.block(
                RuleId::Cs345Partial01,
                format!("no partial filling of a Schedule V prescription after {six_months} (6 months after issue)"),
            );
        }
    }
}

/// CS345-XFER-01: refill transfers once, unless the pharmacies share a real-time database.
pub(crate) fn transfer(s: &mut Sink<'_>, rx: &Prescription, to_pharmacy: PharmacyId) {
    let earlier = rx.transfers.iter().filter(|t| !t.initial_fill).count();
    let shares = &s.ctx.pharmacy.shares_realtime_db_with;
    if earlier >= 1 && !shares.contains(&to_pharmacy) {
        s.block(
            RuleId::Cs345Xfer01,
            format!(
                "prescription {} was already transferred; CIII-V refills transfer one time only unless the pharmacies share a real-time database",
                rx.rx_number
            ),
        );
    }
}

/// Units older than this are outside the 1306.26 window.
const CV_OTC_WINDOW_HOURS: i64 = 48;

/// CS5-OTC-01: Schedule V without a prescription (21 CFR 1306.26).
pub(crate) fn cv_otc(s: &mut Sink<'_>, r: &OtcSaleRequest, class: CvOtcClass) {
    let profile = &s.ctx.profile;
    if !profile.cv_otc_allowed {
        s.block(
            RuleId::Cs5Otc01,
            format!(
                "{} does not allow Schedule V sales without a prescription",
                profile.state
            ),
        );
    }
    if !r.seller_is_pharmacist {
        s.block(
            RuleId::Cs5Otc01,
            "a Schedule V sale without a prescription must be made by a pharmacist".into(),
        );
    }
    let Some(p) = r.purchaser.as_ref() else {
        s.block(
            RuleId::Cs5Otc01,
            "purchaser details are required for a Schedule V sale".into(),
        );
        return;
    };
    let today = s.ctx.today();
    match p.birth_date {
        Some(b) if b.add_months(18 * 12) <= today => {}
        Some(b) => s.block(RuleId::Cs5Otc01, format!("purchaser born {b} is under 18")),
        None => s.block(
            RuleId::Cs5Otc01,
            "purchaser age (18 or older) not verified".into(),
        ),
    }
    if p.photo_id.is_none() && !p.known_to_pharmacist {
        s.block(
            RuleId::Cs5Otc01,
            "identification required for a purchaser not known to the pharmacist".into(),
        );
    }
    if !r.logbook.as_ref().is_some_and(|l| l.is_complete()) {
        s.block(
            RuleId::Cs5Otc01,
            "the bound record book entry is incomplete".into(),
        );
    }
    let opium = class == CvOtcClass::OpiumContaining;
    let (limit_units, limit_ml) = if opium { (48u64, 240u64) } else { (24, 120) };
    let since = s.ctx.now.add_hours(-CV_OTC_WINDOW_HOURS);
    let recent = r
        .purchaser_history
        .iter()
        // Records after `now` (beyond the clock-skew tolerance) are DATA-FUTURE-01.
        .filter(|h| h.at > since && h.at <= s.ctx.latest_record_time() && h.cv_opium == opium);
    let (mut units, mut ml) = (0u64, 0u64);
    for h in recent {
        units += u64::from(h.cv_units);
        ml += u64::from(h.cv_ml);
    }
    let (total, limit, unit, counted) = match r.product.package.unit {
        DosageUnit::Milliliter => (
            ml + u64::from(r.quantity),
            limit_ml,
            "mL",
            DosageUnit::Milliliter,
        ),
        _ => (
            units + u64::from(r.quantity),
            limit_units,
            "dosage units",
            DosageUnit::Each,
        ),
    };
    s.decision_mut().figures.cv_otc = Some(Box::new(CvOtcFigures {
        hours: CV_OTC_WINDOW_HOURS as u32,
        total,
        limit,
        unit: counted,
    }));
    if total > limit {
        s.block(
            RuleId::Cs5Otc01,
            format!(
                "{total} {unit} to this purchaser within 48 hours exceeds the {limit} {unit} limit"
            ),
        );
    } else if s.offline() {
        s.require_override(
            RuleId::Cs5Otc01,
            "offline: only this terminal's history was checked; the pharmacist must confirm the record book".into(),
        );
    }
}
