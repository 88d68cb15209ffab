//! Rule table §9.4: controlled-substance rules that cut across schedules.

use crate::model::{Prescription, Product, Schedule};
use crate::rules::compliance;
use crate::rules::sink::Sink;
use crate::rules::{
    EndOfDayRequest, FollowUp, HandOffRequest, OfflinePolicy, Outcome, Payment, PmpStatus, RuleId,
};

/// The state mandates a dispenser PMP query for this product.
fn pmp_query_required(s: &Sink<'_>, product: &Product) -> bool {
    let p = &s.ctx.profile;
    product
        .schedule
        .is_some_and(|sc| p.pmp_query_schedules.contains(&sc))
        || product
            .classes
            .iter()
            .any(|c| p.pmp_query_classes.contains(c))
}

/// CS-PMP-01.
pub(crate) fn pmp_query(s: &mut Sink<'_>, rx: &Prescription, product: &Product, pmp: &PmpStatus) {
    if !pmp_query_required(s, product) {
        return;
    }
    let max_h = i64::from(s.ctx.profile.pmp_query_max_age_hours);
    let unreachable = match pmp {
        PmpStatus::Queried { at } => {
            let age = s.ctx.now.hours_since(*at);
            if *at <= s.ctx.now && !s.ctx.now.more_than_hours_after(*at, max_h) {
                return;
            }
            if !s.offline() {
                let last = if *at > s.ctx.now {
                    format!("the recorded one is dated {at}, after now")
                } else {
                    format!("the last one is {age} h old")
                };
                s.block(
                    RuleId::CsPmp01,
                    format!(
                        "{} requires a PMP query within {max_h} h before dispensing; {last}",
                        s.ctx.profile.state
                    ),
                );
                return;
            }
            "offline".to_string()
        }
        PmpStatus::NotQueried if !s.offline() => {
            s.block(
                RuleId::CsPmp01,
                format!(
                    "{} requires a PMP query before dispensing this drug",
                    s.ctx.profile.state
                ),
            );
            return;
        }
        PmpStatus::NotQueried => "offline".to_string(),
        PmpStatus::Unavailable { reason } => reason.clone(),
    };
    if s.ctx.profile.pmp_unavailable_exemption {
        s.require_override(
            RuleId::CsPmp01,
            format!(
                "PMP unavailable ({unreachable}): manual verification required; document the reason"
            ),
        );
        s.follow(FollowUp::PmpQueryWhenAvailable {
            rx_number: rx.rx_number.clone(),
        });
    } else {
        s.block(
            RuleId::CsPmp01,
            format!(
                "PMP unavailable ({unreachable}) and {} has no exemption for an unavailable PMP",
                s.ctx.profile.state
            ),
        );
    }
}

/// CS-OFFLINE-01, including the new-patient policy for CII.
pub(crate) fn offline(s: &mut Sink<'_>, rx: &Prescription, schedule: Schedule) {
    if !s.offline() {
        return;
    }
    s.require_override(
        RuleId::CsOffline01,
        format!(
            "{} dispensed while offline: pharmacist override required; reconciled on reconnect",
            schedule.label()
        ),
    );
    if schedule == Schedule::C2 && rx.patient.new_patient {
        let outcome = match s.ctx.profile.offline_new_patient_cii {
            OfflinePolicy::Block => Outcome::Block,
            OfflinePolicy::RequireOverride => Outcome::RequireOverride,
        };
        if outcome == Outcome::Block {
            s.add(
                RuleId::CsOffline01,
                outcome,
                format!(
                    "{} does not allow Schedule II to a new patient while offline",
                    s.ctx.profile.state
                ),
            );
        }
    }
    s.follow(FollowUp::Reconciliation {
        reference: rx.rx_number.clone(),
        reason: format!("offline {} dispense", schedule.label()),
    });
}

/// CS-PICKUP-ID-01 and CS-PMP-REPORT-01 at hand-off.
pub(crate) fn hand_off(s: &mut Sink<'_>, r: &HandOffRequest) {
    let rx = &r.prescription;
    if let Some(schedule) = r.product.schedule
        && s.ctx
            .profile
            .pickup_id_required_schedules
            .contains(&schedule)
        && r.pickup_id.is_none()
    {
        s.block(
            RuleId::CsPickupId01,
            format!(
                "{} requires the ID of the person picking up a {} prescription",
                s.ctx.profile.state,
                schedule.label()
            ),
        );
        // Not handed over: nothing to report or reconcile yet.
        return;
    }
    if s.offline() && matches!(r.payment, Payment::Insurance { .. }) {
        s.follow(FollowUp::Reconciliation {
            reference: rx.rx_number.clone(),
            reason: "handed over with an unadjudicated claim: a later reject (79, 88, 76) needs follow-up with the patient".into(),
        });
    }
    if r.product.is_pmp_reportable() {
        let due = s
            .ctx
            .now
            .add_hours(i64::from(s.ctx.profile.pmp_reporting_deadline_hours));
        s.follow(FollowUp::QueuePmpReport {
            rx_number: rx.rx_number.clone(),
            due,
        });
    }
}

/// CS-PMP-ZERO-01 and overdue CS-PMP-REPORT-01 at end of day.
pub(crate) fn end_of_day(s: &mut Sink<'_>, r: &EndOfDayRequest) {
    if r.reportable_dispenses == 0 && s.ctx.profile.zero_report_required {
        s.follow(FollowUp::ZeroReport { date: r.date });
    }
    compliance::pmp_reports(s, &r.pending_reports);
}
