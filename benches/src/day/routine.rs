//! The day's routine requests, drawn from the seeded generator: refills on time and too
//! soon, DUR alerts, new prescriptions, hand-offs, OTC and pseudoephedrine sales, CIV
//! refills and new CII fills.

use pharm_core::model::Product;
use pharm_core::rules::{
    DurAlert, DurPps, DurSeverity, FillRequest, NplexResult, Payment, PmpStatus, Request, RuleId,
};
use pharm_core::time::DateTime;

use crate::catalog::*;

use super::{Day, filled_today, hand_off, insured, maintenance_rx, offline_overrides, pse_sale};

const DUR_ALERTS: [(&str, &str); 4] = [
    ("DD", "drug-drug interaction with warfarin on profile"),
    (
        "TD",
        "therapeutic duplication with a fill from another pharmacy",
    ),
    ("ER", "overuse: early refill pattern in the last 90 days"),
    ("HD", "high dose for patient age"),
];

pub(super) fn routine(d: &mut Day, t: DateTime) {
    let offline = store_context(t).connectivity.is_offline();
    match d.rng.below(100) {
        0..38 => routine_refill(d, t, RefillKind::OnTime),
        38..46 => routine_refill(d, t, RefillKind::TooSoon),
        46..53 => routine_refill(d, t, RefillKind::Dur),
        53..58 => routine_new_rx(d, t),
        58..70 => routine_hand_off(d, t, false),
        70..75 => routine_hand_off(d, t, true),
        75..85 => routine_otc(d, t),
        85..92 => routine_civ(d, t, offline),
        92..95 => {
            let nplex = if offline {
                NplexResult::Unreachable
            } else {
                NplexResult::Approved
            };
            let quantity = 24 * d.rng.range(1, 2);
            let (_, r) = pse_sale(d, quantity, t, nplex);
            d.store(format!("PSE {quantity} ct"), Request::OtcSale(r), t);
        }
        _ => routine_cii(d, t, offline),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RefillKind {
    OnTime,
    TooSoon,
    Dur,
}

fn routine_refill(d: &mut Day, t: DateTime, kind: RefillKind) {
    let drugs = maintenance_drugs();
    let (product, per_day) = drugs[d.rng.index(drugs.len())].clone();
    let days = if d.rng.chance(30) { 90 } else { 30 };
    let payment = match d.rng.below(10) {
        0..4 => commercial_plan(),
        4..7 => part_d_plan(),
        _ => Payment::Cash,
    };
    let percent = match &payment {
        Payment::Insurance { rts_percent, .. } => *rts_percent,
        Payment::Cash => 75,
    };
    let threshold = (days * percent).div_ceil(100);
    let days_ago = match kind {
        RefillKind::TooSoon => d.rng.range(days / 3, threshold - 1),
        _ => threshold + d.rng.range(0, 5),
    };
    let rx = maintenance_rx(d, &product, per_day, days, t, days_ago);
    let mut r = fill_request(rx, &product);
    r.payment = payment;
    if d.rng.chance(50) {
        r = with_fefo(r, t.date());
    }
    let short = short_name(&product, "drug");
    let pay = if matches!(r.payment, Payment::Cash) {
        "cash"
    } else {
        "ins"
    };
    let mut label = format!("refill {short} {days}d {pay}");
    match kind {
        RefillKind::OnTime => {}
        RefillKind::TooSoon => {
            label.push_str(", too soon");
            if pay == "ins" && d.rng.chance(30) {
                r.overrides
                    .push(override_of(RuleId::RxRts01, "SCC-03", "vacation supply"));
                label.push_str(" (SCC 03)");
            }
        }
        RefillKind::Dur => {
            let (reason, message) = DUR_ALERTS[d.rng.index(DUR_ALERTS.len())];
            let roll = d.rng.below(10);
            let severity = if roll < 5 {
                DurSeverity::Moderate
            } else {
                DurSeverity::Major
            };
            r.dur_alerts.push(DurAlert {
                reason: reason.into(),
                severity,
                message: message.into(),
            });
            let sev = if severity == DurSeverity::Major {
                "major"
            } else {
                "moderate"
            };
            label.push_str(&format!(", DUR {reason} {sev}"));
            if roll >= 8 {
                let mut o = override_of(RuleId::RxDur01, "M0-1A", "prescriber consulted");
                o.dur = Some(DurPps {
                    reason: reason.into(),
                    service: "M0".into(),
                    result: "1A".into(),
                });
                r.overrides.push(o);
                label.push_str(" (PPS)");
            }
        }
    }
    d.store(label, Request::Fill(r), t);
}

fn routine_new_rx(d: &mut Day, t: DateTime) {
    let drugs = maintenance_drugs();
    let (product, per_day) = drugs[d.rng.index(drugs.len())].clone();
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let issued = t.date().add_days(-i64::from(d.rng.range(0, 4)));
    let prescriber_ix = d.rng.index(4);
    let rx = prescription(&n, pt, prescriber_ix, &product, 30 * per_day, 30, 5, issued);
    let mut r = with_fefo(fill_request(rx, &product), t.date());
    if d.rng.chance(70) {
        r.payment = part_d_plan();
    }
    let short = short_name(&product, "drug");
    d.store(format!("new Rx {short}"), Request::Fill(r), t);
}

fn routine_hand_off(d: &mut Day, t: DateTime, controlled: bool) {
    let product = if controlled {
        if d.rng.chance(50) {
            alprazolam()
        } else {
            zolpidem()
        }
    } else {
        let drugs = maintenance_drugs();
        drugs[d.rng.index(drugs.len())].0.clone()
    };
    let rx = filled_today(d, &product, 30, 30, t);
    if controlled {
        d.controlled_handoffs.push((rx.rx_number.clone(), t));
    }
    let short = short_name(&product, "drug");
    let payment = if d.rng.chance(70) {
        commercial_plan()
    } else {
        Payment::Cash
    };
    let id = controlled || d.rng.chance(20);
    d.store(
        format!("hand-off {short}"),
        hand_off(rx, product, id, payment),
        t,
    );
}

fn routine_otc(d: &mut Day, t: DateTime) {
    let product = if d.rng.chance(60) {
        ibuprofen()
    } else {
        loratadine()
    };
    let quantity = product.package.size * d.rng.range(1, 2);
    let mut r = otc_sale(product, quantity);
    if d.rng.chance(40) {
        r.lots = shelf(&r.product);
        r.picks = fefo_picks(&r.lots, &r.product, quantity, None, t.date());
    }
    let short = short_name(&r.product, "item");
    d.store(format!("OTC {short} x{quantity}"), Request::OtcSale(r), t);
}

fn routine_civ(d: &mut Day, t: DateTime, offline: bool) {
    let (product, per_day) = if d.rng.chance(60) {
        (alprazolam(), 2)
    } else {
        (zolpidem(), 1)
    };
    let days_ago = 24 + d.rng.range(0, 4);
    let rx = maintenance_rx(d, &product, per_day, 30, t, days_ago);
    let mut r = fill_request(rx, &product);
    if d.rng.chance(50) {
        insured(&mut r);
    }
    let short = short_name(&product, "drug");
    let mut label = format!("refill CIV {short}");
    controlled_pmp(d, &mut r, &mut label, t, offline, 60);
    d.store(label, Request::Fill(r), t);
}

/// The PMP state of a controlled fill at `t`. Offline: unreachable, and 70 % of the time
/// the two offline overrides (noted in the label). Online: queried 5 to `max_back`
/// minutes before `t`.
fn controlled_pmp(
    d: &mut Day,
    r: &mut FillRequest,
    label: &mut String,
    t: DateTime,
    offline: bool,
    max_back: u32,
) {
    if offline {
        r.pmp = PmpStatus::Unavailable {
            reason: "store offline".into(),
        };
        if d.rng.chance(70) {
            offline_overrides(r);
            label.push_str(" (overrides)");
        }
    } else {
        let back = d.rng.range(5, max_back);
        r.pmp = PmpStatus::Queried {
            at: time_of_day(t.date(), minute_of_day(t).saturating_sub(back)),
        };
    }
}

fn routine_cii(d: &mut Day, t: DateTime, offline: bool) {
    let (product, name) = if d.rng.chance(60) {
        (oxycodone(), "oxycodone")
    } else {
        (hydrocodone_apap(), "hydrocodone")
    };
    let days = d.rng.range(3, 10);
    let issued = t.date().add_days(-i64::from(d.rng.range(0, 7)));
    let (_, pt) = d.patient();
    let n = d.rx_number();
    let rx = prescription(
        &n,
        pt,
        d.next_rx as usize,
        &product,
        days * 4,
        days,
        0,
        issued,
    );
    let mut r = fill_request(rx, &product);
    insured(&mut r);
    let mut label = format!("new CII {name} {days}d");
    controlled_pmp(d, &mut r, &mut label, t, offline, 30);
    if !offline {
        r = with_fefo(r, t.date());
    }
    d.store(label, Request::Fill(r), t);
}

/// The first word of a product's name, lower case (`fallback` for a blank name).
fn short_name(product: &Product, fallback: &str) -> String {
    product
        .name
        .split_whitespace()
        .next()
        .unwrap_or(fallback)
        .to_lowercase()
}
