//! Rule table §9.5: rules for every prescription (non-controlled and controlled alike).

use crate::model::Prescription;
use crate::model::{Product, Schedule};
use crate::rules::schedule3_5::C34_MAX_REFILLS;
use crate::rules::sink::Sink;
use crate::rules::{
    DurSeverity, FillRequest, FollowUp, Outcome, Payment, RefillFigures, RefillTiming, RuleId,
    StateProfile,
};
use crate::time::Date;

/// `ceil(days × percent / 100)`, the refill-too-soon offset in days.
pub(crate) fn rts_offset_days(days_supply: u32, percent: u32) -> i64 {
    (i64::from(days_supply).saturating_mul(i64::from(percent.min(100))) + 99) / 100
}

/// Refills that may be dispensed after the legal caps: CII none (1306.12(a)), CIII/IV at
/// most 5 (1306.22(a)), CV the state cap, others as authorized.
fn allowed_refills(authorized: u32, schedule: Option<Schedule>, profile: &StateProfile) -> u32 {
    match schedule {
        Some(Schedule::C2) => 0,
        Some(Schedule::C3 | Schedule::C4) => authorized.min(C34_MAX_REFILLS),
        Some(Schedule::C5) => profile
            .c5_max_refills
            .map_or(authorized, |m| m.min(authorized)),
        None => authorized,
    }
}

/// The refill figures of a prescription of the given schedule.
pub(crate) fn refill_figures(s: &mut Sink<'_>, rx: &Prescription, schedule: Option<Schedule>) {
    let allowed = allowed_refills(rx.refills_authorized, schedule, &s.ctx.profile);
    s.decision_mut().figures.refills = Some(RefillFigures {
        authorized: rx.refills_authorized,
        allowed,
        fill_number: rx.next_fill_number(),
        units_dispensed: rx.dispensed_total(),
        units_allowed: u64::from(rx.quantity) * (1 + u64::from(allowed)),
    });
}

/// RX-EXP-01 for non-controlled and CV prescriptions.
pub(crate) fn expiry(s: &mut Sink<'_>, r: &FillRequest) {
    let rx = &r.prescription;
    let days = s.ctx.profile.noncontrolled_valid_days;
    let last = rx.issue_date.add_days(i64::from(days));
    if s.ctx.today() > last {
        s.block(
            RuleId::RxExp01,
            format!("prescription written {} expired after {last} ({days} days); request a new prescription", rx.issue_date),
        );
    }
}

/// RX-REFILLS-01 and RX-QTY-01 (every schedule except CII, whose totals are CS2 rules).
pub(crate) fn quantity(s: &mut Sink<'_>, r: &FillRequest, schedule: Option<Schedule>) {
    let rx = &r.prescription;
    let cap = matches!(schedule, Some(Schedule::C3 | Schedule::C4)).then_some(C34_MAX_REFILLS);
    let remaining = rx
        .authorized_total(cap)
        .saturating_sub(rx.dispensed_total());
    let wanted = u64::from(r.quantity);
    if remaining == 0 {
        s.block(
            RuleId::RxRefills01,
            "no refills remaining: request a renewal from the prescriber".into(),
        );
    } else if wanted > remaining {
        s.block(
            RuleId::RxRefills01,
            format!("{wanted} units requested but only {remaining} remain on the prescription"),
        );
    }
    let open = rx.open_partial_remainder();
    let per_fill = if open > 0 {
        open
    } else {
        u64::from(rx.quantity)
    };
    if wanted > per_fill {
        // "May fill up to N days": both the days supply and the quantity scale to N days.
        let converted = schedule.is_none()
            && s.ctx.profile.allow_90_day_conversion
            && rx.days_supply > 0
            && rx.may_fill_up_to_days.is_some_and(|d| {
                r.days_supply <= d
                    && wanted <= u64::from(rx.quantity) * u64::from(d) / u64::from(rx.days_supply)
            });
        if !converted {
            s.block(
                RuleId::RxQty01,
                format!("{wanted} units exceed the {per_fill} allowed for this fill"),
            );
        }
    }
}

/// RX-RTS-01, RX-DS-01, RX-DS-02 and the offline insurance queue.
pub(crate) fn supply(s: &mut Sink<'_>, r: &FillRequest, controlled: bool) {
    let rx = &r.prescription;
    let today = s.ctx.today();
    let policy = &s.ctx.policy;
    let percent = match &r.payment {
        Payment::Insurance { rts_percent, .. } => *rts_percent,
        Payment::Cash if controlled => policy.controlled_rts_percent,
        Payment::Cash => policy.cash_rts_percent,
    };
    let claim = matches!(r.payment, Payment::Insurance { .. });
    let online_claim = claim && !s.offline();

    if rx.open_partial_remainder() == 0
        && let Some((started, days)) = rx.last_completed_fill()
    {
        let eligible = started.date().add_days(rts_offset_days(days, percent));
        s.decision_mut().figures.refill_timing = Some(RefillTiming {
            last_fill: started.date(),
            days_supply: days,
            percent: percent.min(100),
            eligible,
            days_remaining: u32::try_from(today.days_until(eligible).max(0)).unwrap_or(0),
        });
        if today < eligible {
            let msg = format!(
                "refill too soon: last filled {} for {days} days; {percent}% used on {eligible}",
                started.date()
            );
            if online_claim {
                s.require_override(
                    RuleId::RxRts01,
                    format!(
                        "{msg} (payer reject 79: override with a submission clarification code)"
                    ),
                );
            } else {
                s.warn(RuleId::RxRts01, msg);
            }
        }
    }
    s.decision_mut().next_refill_date =
        Some(today.add_days(rts_offset_days(r.days_supply, percent)));

    if let Some(max_daily) = rx.max_daily_units.filter(|m| *m > 0) {
        let expected = r.quantity / max_daily;
        let tolerance = policy.days_supply_tolerance;
        if r.days_supply.abs_diff(expected) > tolerance {
            s.warn(
                RuleId::RxDs01,
                format!(
                    "days supply {} does not match {} units at up to {max_daily}/day ({expected} days, tolerance {tolerance})",
                    r.days_supply, r.quantity
                ),
            );
        }
    }
    let max = match &r.payment {
        Payment::Insurance {
            max_days_supply, ..
        } => *max_days_supply,
        Payment::Cash => policy.cash_max_days_supply,
    };
    if r.days_supply > max {
        let msg = format!("days supply {} exceeds the maximum of {max}", r.days_supply);
        if online_claim {
            s.require_override(RuleId::RxDs02, format!("{msg} (payer reject 76)"));
        } else {
            s.warn(RuleId::RxDs02, msg);
        }
    }
    if claim && s.offline() {
        s.follow(FollowUp::QueueInsuranceClaim {
            rx_number: rx.rx_number.clone(),
        });
    }
}

/// RX-DUR-01: severity map major → override (with DUR/PPS codes), moderate → warn, minor → log.
pub(crate) fn dur(s: &mut Sink<'_>, r: &FillRequest) {
    for a in &r.dur_alerts {
        let outcome = match a.severity {
            DurSeverity::Major => Outcome::RequireOverride,
            DurSeverity::Moderate => Outcome::Warn,
            DurSeverity::Minor => Outcome::Allow,
        };
        s.add(
            RuleId::RxDur01,
            outcome,
            format!("DUR {}: {}", a.reason, a.message),
        );
    }
}

fn schedule_text(s: Option<Schedule>) -> &'static str {
    s.map_or("none", Schedule::label)
}

fn product_code(p: &Product) -> String {
    let (labeler, product) = p.ndc.product_ndc();
    format!("{labeler:05}-{product:04}")
}

/// RX-DAW-01, RX-DAW-02, RX-SUBST-01.
pub(crate) fn substitution(s: &mut Sink<'_>, r: &FillRequest) {
    let rx = &r.prescription;
    let written = rx.prescribed_ndc.product_ndc();
    if r.prescribed.ndc.product_ndc() != written {
        s.block(
            RuleId::RxSubst01,
            format!(
                "product record {} does not match the prescription's NDC {}",
                r.prescribed.ndc, rx.prescribed_ndc
            ),
        );
    }
    if r.prescribed.schedule != r.dispensed.schedule {
        s.block(
            RuleId::RxSubst01,
            format!(
                "dispensed product schedule {} differs from the prescribed product's {}",
                schedule_text(r.dispensed.schedule),
                schedule_text(r.prescribed.schedule)
            ),
        );
    }
    let substituted = r.dispensed.ndc.product_ndc() != written;
    if substituted && rx.daw.forbids_substitution() {
        s.block(
            RuleId::RxDaw01,
            format!(
                "DAW {} forbids substitution: dispense {} as written, not {}",
                rx.daw.code(),
                rx.prescribed_ndc,
                r.dispensed.ndc
            ),
        );
    }
    if rx.daw.code() == 0 && r.dispensed.brand && r.dispensed.multi_source {
        s.warn(
            RuleId::RxDaw02,
            "DAW 0 with a multi-source brand dispensed: use DAW 2/3/4/5/8/9 as applicable".into(),
        );
    }
    if !substituted {
        return;
    }
    let profile = &s.ctx.profile;
    let mut why = Vec::new();
    if r.prescribed.nti && profile.nti_substitution_forbidden {
        why.push(format!(
            "{} forbids substituting narrow-therapeutic-index drugs",
            profile.state
        ));
    }
    let code = product_code(&r.prescribed);
    if profile.no_substitution_products.contains(&code) {
        why.push(format!(
            "{code} is on the {} negative formulary",
            profile.state
        ));
    }
    if r.prescribed.non_interchangeable_biologic || r.dispensed.non_interchangeable_biologic {
        why.push("biological product without an interchangeability designation".into());
    }
    if !why.is_empty() {
        s.block(
            RuleId::RxSubst01,
            format!("substitution not permitted: {}", why.join("; ")),
        );
    }
}

/// Beyond-use date: min(lot expiry, today + state default, today + product BUD).
pub(crate) fn beyond_use_date(
    s: &Sink<'_>,
    product: &Product,
    earliest_lot_expiry: Option<Date>,
) -> Date {
    let today = s.ctx.today();
    let mut bud = today.add_days(i64::from(s.ctx.profile.default_bud_days));
    if let Some(days) = product.bud_days {
        bud = bud.min(today.add_days(i64::from(days)));
    }
    if let Some(e) = earliest_lot_expiry {
        bud = bud.min(e);
    }
    bud
}
