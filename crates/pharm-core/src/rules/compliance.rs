//! Compliance obligations without a fill: emergency oral CII follow-ups (CS2-EMERG-02)
//! and unsent PMP reports (CS-PMP-REPORT-01), as a fill, the end of day or a compliance
//! request sees them.

use crate::model::{Prescription, RxOrigin};
use crate::rules::integrity;
use crate::rules::sink::Sink;
use crate::rules::{
    ComplianceRequest, FollowUp, Obligation, ObligationKind, ObligationStatus, PendingPmpReport,
    RuleId,
};

/// CS2-EMERG-02: the follow-up of an emergency oral order is due by the **end** of the day
/// `issue_date + emergency_cii_followup_days` (21 CFR 1306.11(d)(4) counts days; NY and MA
/// count their 72 hours the same way, as 3 days, because the follow-up's arrival is a
/// date). `at_dispense`: the fill that creates the obligation also creates its task.
pub(crate) fn emergency_follow_up(s: &mut Sink<'_>, rx: &Prescription, at_dispense: bool) {
    let days = s.ctx.profile.emergency_cii_followup_days;
    let due_day = rx.issue_date.add_days(i64::from(days));
    let due = due_day.end();
    let id = format!("{}:{}", RuleId::Cs2Emerg02, rx.rx_number);
    let (status, resolved_by) = match &rx.emergency_followup {
        Some(f) if f.received <= due_day => (ObligationStatus::Satisfied, Some(f)),
        Some(f) => (ObligationStatus::SatisfiedLate, Some(f)),
        None if s.ctx.now > due => (ObligationStatus::Overdue, None),
        None => (ObligationStatus::Due, None),
    };
    let notify_dea = |s: &mut Sink<'_>, why: &str| {
        s.follow(FollowUp::ComplianceTask {
            id: format!("{id}:notify-dea"),
            rule: RuleId::Cs2Emerg02,
            due: s.ctx.today(),
            task: format!("notify DEA: {why} for emergency oral Rx {}", rx.rx_number),
        });
    };
    match (status, resolved_by) {
        (ObligationStatus::SatisfiedLate, Some(f)) => {
            s.warn(
                RuleId::Cs2Emerg02,
                format!(
                    "follow-up prescription {} arrived {}, after the {days}-day deadline {due_day}; notify DEA",
                    f.reference, f.received
                ),
            );
            notify_dea(s, "late follow-up");
        }
        (ObligationStatus::Overdue, _) => {
            s.warn(
                RuleId::Cs2Emerg02,
                format!("follow-up prescription for this emergency oral order was due by the end of {due_day} and has not arrived; notify DEA"),
            );
            notify_dea(s, "no follow-up");
        }
        (ObligationStatus::Due, _) if at_dispense => s.follow(FollowUp::ComplianceTask {
            id: id.clone(),
            rule: RuleId::Cs2Emerg02,
            due: due_day,
            task: format!(
                "obtain the prescriber's written/EPCS follow-up marked \"Authorization for Emergency Dispensing\" for Rx {} by the end of {due_day}; notify DEA if it does not arrive",
                rx.rx_number
            ),
        }),
        _ => {}
    }
    s.obligation(Obligation {
        id,
        rule: RuleId::Cs2Emerg02,
        kind: ObligationKind::EmergencyFollowUp,
        reference: rx.rx_number.clone(),
        due,
        status,
        resolved_by: resolved_by.map(|f| f.reference.clone()),
    });
}

/// CS-PMP-REPORT-01 for reports queued but not yet acknowledged: overdue ones are escalated.
pub(crate) fn pmp_reports(s: &mut Sink<'_>, reports: &[PendingPmpReport]) {
    for p in reports {
        let overdue = p.due < s.ctx.now;
        if overdue {
            s.warn(
                RuleId::CsPmpReport01,
                format!(
                    "PMP report for Rx {} was due {} and is still unsent",
                    p.rx_number, p.due
                ),
            );
            s.follow(FollowUp::EscalatePmpReport {
                rx_number: p.rx_number.clone(),
                due: p.due,
            });
        }
        s.obligation(Obligation {
            id: format!("{}:{}:{}", RuleId::CsPmpReport01, p.rx_number, p.due),
            rule: RuleId::CsPmpReport01,
            kind: ObligationKind::PmpReport,
            reference: p.rx_number.clone(),
            due: p.due,
            status: if overdue {
                ObligationStatus::Overdue
            } else {
                ObligationStatus::Due
            },
            resolved_by: None,
        });
    }
}

/// A compliance request: data integrity of each prescription, the follow-up obligation of
/// each emergency oral order, and the pending PMP reports.
pub(crate) fn request(s: &mut Sink<'_>, r: &ComplianceRequest) {
    for rx in &r.prescriptions {
        integrity::prescription(s, rx);
        if rx.origin == RxOrigin::EmergencyOral {
            emergency_follow_up(s, rx, false);
        }
    }
    pmp_reports(s, &r.pending_reports);
}
