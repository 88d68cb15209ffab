//! `evaluate`: runs every applicable rule for a request.

use crate::model::Schedule;
use crate::rules::lots::PickContext;
use crate::rules::sink::Sink;
use crate::rules::{
    Context, Decision, FillRequest, OtcSaleRequest, Request, RuleId, compliance, controlled,
    general, integrity, lots, prescriber, pse, schedule2, schedule3_5,
};

/// Evaluates one request. Pure: the same request and context always give the same decision.
///
/// The decision's outcome is the most severe effective finding (Block > RequireOverride >
/// Warn > Allow); see [`Decision`] for the JSON form.
pub fn evaluate(request: &Request, ctx: &Context) -> Decision {
    let mut s = Sink::new(ctx);
    match request {
        Request::Intake(r) => {
            integrity::prescription(&mut s, &r.prescription);
            prescriber::validity(&mut s, &r.prescription, r.product.schedule);
            if matches!(r.product.schedule, Some(Schedule::C3 | Schedule::C4))
                && r.prescription.refills_authorized > schedule3_5::C34_MAX_REFILLS
            {
                s.warn(
                    RuleId::Cs34Refills01,
                    format!(
                        "{} refills authorized; federal law caps Schedule III/IV at 5",
                        r.prescription.refills_authorized
                    ),
                );
            }
            general::refill_figures(&mut s, &r.prescription, r.product.schedule);
            s.finish(&[])
        }
        Request::Fill(r) => {
            fill(&mut s, r);
            s.finish(&r.overrides)
        }
        Request::HandOff(r) => {
            integrity::prescription(&mut s, &r.prescription);
            controlled::hand_off(&mut s, r);
            s.finish(&[])
        }
        Request::Transfer(r) => {
            integrity::prescription(&mut s, &r.prescription);
            if r.prescription.void {
                s.block(
                    RuleId::RxRefills01,
                    format!(
                        "prescription {} is void and cannot be transferred",
                        r.prescription.rx_number
                    ),
                );
            }
            match r.product.schedule {
                Some(Schedule::C2) => schedule2::transfer(&mut s, &r.prescription),
                Some(_) => schedule3_5::transfer(&mut s, &r.prescription, r.to_pharmacy),
                None => {}
            }
            s.finish(&[])
        }
        Request::OtcSale(r) => {
            otc_sale(&mut s, r);
            s.finish(&r.overrides)
        }
        Request::StockMove(r) => {
            lots::stock_move(&mut s, r);
            s.finish(&[])
        }
        Request::EndOfDay(r) => {
            if r.date > s.ctx.latest_record_time().date() {
                s.block(
                    RuleId::DataFuture01,
                    format!("cannot close {}: today is {}", r.date, s.ctx.today()),
                );
            }
            controlled::end_of_day(&mut s, r);
            s.finish(&[])
        }
        Request::Compliance(r) => {
            compliance::request(&mut s, r);
            s.finish(&[])
        }
    }
}

/// The more restrictive of two schedules (CII is the strictest); a controlled record wins
/// over an uncontrolled one.
fn strictest(a: Option<Schedule>, b: Option<Schedule>) -> Option<Schedule> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn fill(s: &mut Sink<'_>, r: &FillRequest) {
    let rx = &r.prescription;
    let schedule = strictest(r.prescribed.schedule, r.dispensed.schedule);
    integrity::prescription(s, rx);
    integrity::dispense_days_supply(s, r.days_supply);
    prescriber::validity(s, rx, schedule);
    if rx.void {
        s.block(
            RuleId::RxRefills01,
            format!(
                "prescription {} is void (transferred out or cancelled)",
                rx.rx_number
            ),
        );
    }
    if r.quantity == 0 {
        s.block(
            RuleId::RxQty01,
            "quantity to dispense must be at least 1".into(),
        );
    }
    match schedule {
        Some(Schedule::C2) => schedule2::fill(s, r),
        Some(sc @ (Schedule::C3 | Schedule::C4)) => schedule3_5::fill(s, r, sc),
        Some(Schedule::C5) => {
            schedule3_5::fill(s, r, Schedule::C5);
            general::expiry(s, r);
        }
        None => general::expiry(s, r),
    }
    if schedule != Some(Schedule::C2) {
        general::quantity(s, r, schedule);
    }
    general::refill_figures(s, rx, schedule);
    general::supply(s, r, schedule.is_some());
    general::dur(s, r);
    general::substitution(s, r);
    controlled::pmp_query(s, rx, &r.dispensed, &r.pmp);
    if let Some(sc) = schedule {
        controlled::offline(s, rx, sc);
    }
    let earliest = lots::picks(
        s,
        &PickContext {
            product: &r.dispensed,
            quantity: r.quantity,
            days_supply: Some(r.days_supply),
            picks: &r.picks,
            lots: &r.lots,
            prescription: true,
        },
    );
    lots::dscsa(s, r.dscsa.as_ref(), &r.picks);
    let bud = general::beyond_use_date(s, &r.dispensed, earliest);
    s.decision_mut().beyond_use_date = Some(bud);
}

fn otc_sale(s: &mut Sink<'_>, r: &OtcSaleRequest) {
    let p = &r.product;
    integrity::purchases(s, &r.purchaser_history);
    if r.quantity == 0 {
        s.block(RuleId::RxQty01, "quantity sold must be at least 1".into());
    }
    match (p.schedule, p.cv_otc_class) {
        _ if p.rx_only => s.block(
            RuleId::OtcRx01,
            format!("{} is a prescription-only drug", p.name),
        ),
        (Some(Schedule::C5), Some(class)) => schedule3_5::cv_otc(s, r, class),
        (Some(sc), _) => s.block(
            RuleId::OtcRx01,
            format!("{} products need a prescription", sc.label()),
        ),
        (None, _) => {}
    }
    if let Some(lc) = p.listed_chemical {
        pse::sale(s, r, lc);
    }
    lots::picks(
        s,
        &PickContext {
            product: p,
            quantity: r.quantity,
            days_supply: None,
            picks: &r.picks,
            lots: &r.lots,
            prescription: false,
        },
    );
}
