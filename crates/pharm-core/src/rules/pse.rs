//! Rule table §9.7: OTC scheduled listed chemicals (pseudoephedrine, ephedrine, PPA).

use crate::model::{ListedChemical, ListedChemicalKind};
use crate::rules::sink::Sink;
use crate::rules::{
    FollowUp, ListedChemicalFigures, NplexResult, OfflinePolicy, OtcSaleRequest, Outcome, RuleId,
    WindowFigure,
};

/// Logbook exemption: a single sales package with at most 60 mg (1314.30(a)(1)).
const LOGBOOK_EXEMPT_SALT_UG: u64 = 60_000;
/// Days in the annual window.
const YEAR_DAYS: u32 = 365;

fn kind_name(kind: ListedChemicalKind) -> &'static str {
    match kind {
        ListedChemicalKind::Pseudoephedrine => "pseudoephedrine",
        ListedChemicalKind::Ephedrine => "ephedrine",
        ListedChemicalKind::Phenylpropanolamine => "phenylpropanolamine",
    }
}

fn grams(ug: u64) -> String {
    format!("{}.{:03} g", ug / 1_000_000, (ug % 1_000_000) / 1_000)
}

/// PSE-ID-01, PSE-LOG-01, PSE-DAY-01, PSE-30D-01, PSE-MAIL-01, PSE-STATE-01.
pub(crate) fn sale(s: &mut Sink<'_>, r: &OtcSaleRequest, lc: ListedChemical) {
    let limits = &s.ctx.profile.pse;
    let state = &s.ctx.profile.state;
    if limits.rx_only {
        s.block(
            RuleId::PseState01,
            format!(
                "{state} makes {} products prescription-only",
                kind_name(lc.kind)
            ),
        );
    }
    let purchaser = r.purchaser.as_ref();
    if purchaser.and_then(|p| p.photo_id.as_ref()).is_none() {
        s.block(
            RuleId::PseId01,
            "an acceptable photo ID must be captured".into(),
        );
    }
    let package_salt = lc
        .salt_ug_per_unit
        .saturating_mul(u64::from(r.product.package.size));
    let exempt = r.quantity <= r.product.package.size && package_salt <= LOGBOOK_EXEMPT_SALT_UG;
    if !exempt && !r.logbook.as_ref().is_some_and(|l| l.is_complete()) {
        s.block(
            RuleId::PseLog01,
            "logbook entry incomplete: name, address, date and time, product, quantity and signature are required".into(),
        );
    }

    let latest = s.ctx.latest_record_time();
    let today = s.ctx.today();
    let this_ug = lc.base_ug_per_unit.saturating_mul(u64::from(r.quantity));
    let window_start = today.add_days(-i64::from(limits.rolling_days) + 1);
    let year_start = today.add_days(-i64::from(YEAR_DAYS) + 1);
    let (mut day, mut window, mut year) = (this_ug, this_ug, this_ug);
    for h in &r.purchaser_history {
        let Some((kind, ug)) = h.chemical else {
            continue;
        };
        // Records after `now` (beyond the clock-skew tolerance) are DATA-FUTURE-01.
        if kind != lc.kind || h.at > latest {
            continue;
        }
        let d = h.at.date();
        if d == today {
            day = day.saturating_add(ug);
        }
        if d >= window_start {
            window = window.saturating_add(ug);
        }
        if d >= year_start {
            year = year.saturating_add(ug);
        }
    }

    let mail_order = s.ctx.pharmacy.mail_order;
    s.decision_mut().figures.listed_chemical = Some(Box::new(ListedChemicalFigures {
        kind: lc.kind,
        sale_ug: this_ug,
        day: WindowFigure {
            days: 1,
            total_ug: day,
            limit_ug: limits.daily_ug,
        },
        rolling: WindowFigure {
            days: limits.rolling_days,
            total_ug: window,
            limit_ug: if mail_order {
                limits.mail_order_rolling_ug
            } else {
                limits.rolling_ug
            },
        },
        annual: limits.annual_ug.map(|limit_ug| WindowFigure {
            days: YEAR_DAYS,
            total_ug: year,
            limit_ug,
        }),
    }));
    if day > limits.daily_ug {
        s.block(
            RuleId::PseDay01,
            format!(
                "{} of base today including this sale exceeds the {} daily limit",
                grams(day),
                grams(limits.daily_ug)
            ),
        );
    }
    let days = limits.rolling_days;
    if mail_order {
        if window > limits.mail_order_rolling_ug {
            s.block(
                RuleId::PseMail01,
                format!(
                    "{} in {days} days exceeds the {} mail-order limit",
                    grams(window),
                    grams(limits.mail_order_rolling_ug)
                ),
            );
        }
    } else if window > limits.rolling_ug {
        s.block(
            RuleId::Pse30d01,
            format!(
                "{} in {days} days exceeds the {} limit",
                grams(window),
                grams(limits.rolling_ug)
            ),
        );
    }
    if let Some(annual) = limits.annual_ug
        && year > annual
    {
        s.block(
            RuleId::PseState01,
            format!(
                "{} in 365 days exceeds the {state} annual limit of {}",
                grams(year),
                grams(annual)
            ),
        );
    }
    match r.nplex {
        NplexResult::StopSale => s.block(RuleId::PseState01, "NPLEx returned a stop-sale".into()),
        NplexResult::Unreachable => cross_store_unknown(s, r),
        NplexResult::NotRequired | NplexResult::Approved if s.offline() => {
            cross_store_unknown(s, r)
        }
        NplexResult::NotRequired | NplexResult::Approved => {}
    }
}

/// Offline / NPLEx down: only local history was checked.
fn cross_store_unknown(s: &mut Sink<'_>, r: &OtcSaleRequest) {
    let outcome = match s.ctx.profile.pse.offline_policy {
        OfflinePolicy::Block => Outcome::Block,
        OfflinePolicy::RequireOverride => Outcome::RequireOverride,
    };
    s.add(
        RuleId::PseDay01,
        outcome,
        "cross-store purchase history unavailable: limits checked on local history only".into(),
    );
    let purchaser = r
        .purchaser
        .as_ref()
        .map(|p| p.key.clone())
        .unwrap_or_default();
    s.follow(FollowUp::NplexUpload {
        purchaser: purchaser.clone(),
    });
    s.follow(FollowUp::Reconciliation {
        reference: purchaser,
        reason: "listed-chemical sale without cross-store check: verify limits on upload".into(),
    });
}
