//! §9.4 controlled-substance rules across schedules: PMP query, pick-up ID, offline
//! dispensing, PMP reports and zero reports.

use crate::fixtures::*;
use pharm_core::contract::SchemaVersion;
use pharm_core::model::*;
use pharm_core::rules::*;

const NOW: &str = "2026-03-10T10:00:00";

#[test]
fn pmp_query_mandate() {
    let tx = || ctx_in(NOW, StateProfile::texas());
    let cases: Vec<(&str, Product, PmpStatus, Context, Option<Outcome>)> = vec![
        (
            "queried 24 h ago",
            oxycodone(),
            PmpStatus::Queried {
                at: at("2026-03-09T10:00:00"),
            },
            tx(),
            None,
        ),
        (
            "queried 24 h 1 s ago",
            oxycodone(),
            PmpStatus::Queried {
                at: at("2026-03-09T09:59:59"),
            },
            tx(),
            Some(Block),
        ),
        (
            "queried 24 h 59 min ago",
            oxycodone(),
            PmpStatus::Queried {
                at: at("2026-03-09T09:01:00"),
            },
            tx(),
            Some(Block),
        ),
        (
            "query time in the future",
            oxycodone(),
            PmpStatus::Queried {
                at: at("2026-03-10T11:00:00"),
            },
            tx(),
            Some(Block),
        ),
        (
            "not queried",
            alprazolam(),
            PmpStatus::NotQueried,
            tx(),
            Some(Block),
        ),
        (
            "PMP down, exemption",
            oxycodone(),
            PmpStatus::Unavailable {
                reason: "timeout".into(),
            },
            tx(),
            Some(RequireOverride),
        ),
        (
            "offline, not queried",
            oxycodone(),
            PmpStatus::NotQueried,
            offline(tx(), "2026-03-10T06:00:00"),
            Some(RequireOverride),
        ),
        (
            "offline, stale query",
            oxycodone(),
            PmpStatus::Queried {
                at: at("2026-03-01T10:00:00"),
            },
            offline(tx(), "2026-03-10T06:00:00"),
            Some(RequireOverride),
        ),
        (
            "class not mandated",
            pregabalin(),
            PmpStatus::NotQueried,
            tx(),
            None,
        ),
        (
            "non-controlled",
            atorvastatin(),
            PmpStatus::NotQueried,
            tx(),
            None,
        ),
        (
            "AK: PMP down, no exemption",
            oxycodone(),
            PmpStatus::Unavailable {
                reason: "outage".into(),
            },
            ctx_in(NOW, StateProfile::alaska()),
            Some(Block),
        ),
        (
            "AK: CIV not mandated",
            alprazolam(),
            PmpStatus::NotQueried,
            ctx_in(NOW, StateProfile::alaska()),
            None,
        ),
        (
            "federal: no mandate",
            oxycodone(),
            PmpStatus::NotQueried,
            ctx(NOW),
            None,
        ),
    ];
    for (name, p, pmp, c, expected) in cases {
        let mut r = fill(rx(&p, 0), &p, 30);
        r.pmp = pmp;
        let d = eval_fill(&r, &c);
        expect(name, &d, "CS-PMP-01", expected);
        let queued = d
            .follow_ups
            .iter()
            .any(|f| matches!(f, FollowUp::PmpQueryWhenAvailable { .. }));
        assert_eq!(
            queued,
            expected == Some(RequireOverride),
            "{name}: PMP query queued"
        );
    }
}

fn hand_off(p: &Product, id: bool, profile: StateProfile) -> Decision {
    let mut rx = rx(p, 0);
    rx.fills = vec![fill_record("2026-03-10T09:00:00", 30, p)];
    let req = Request::HandOff(HandOffRequest {
        schema_version: SchemaVersion::CURRENT,
        prescription: rx,
        product: p.clone(),
        pickup_id: id.then(|| PhotoId {
            kind: "drivers_license".into(),
            issuer: "TX".into(),
            number: "9".into(),
        }),
        payment: Payment::Cash,
    });
    evaluate(&req, &ctx_in(NOW, profile))
}

#[test]
fn pickup_id_by_state_and_schedule() {
    let cases = [
        (
            "TX CII without ID",
            oxycodone(),
            false,
            StateProfile::texas(),
            Some(Block),
        ),
        (
            "TX CII with ID",
            oxycodone(),
            true,
            StateProfile::texas(),
            None,
        ),
        (
            "TX CIV without ID",
            alprazolam(),
            false,
            StateProfile::texas(),
            None,
        ),
        (
            "NY CIV without ID",
            alprazolam(),
            false,
            StateProfile::new_york(),
            Some(Block),
        ),
        (
            "federal CII without ID",
            oxycodone(),
            false,
            StateProfile::federal(),
            None,
        ),
    ];
    for (name, p, id, profile, expected) in cases {
        expect(
            name,
            &hand_off(&p, id, profile),
            "CS-PICKUP-ID-01",
            expected,
        );
    }
}

#[test]
fn pmp_report_queued_at_hand_off() {
    let d = hand_off(&oxycodone(), true, StateProfile::federal());
    assert_eq!(
        d.follow_ups,
        vec![FollowUp::QueuePmpReport {
            rx_number: "RX-100".into(),
            due: at("2026-03-11T10:00:00")
        }]
    );
    let ak = hand_off(&alprazolam(), true, StateProfile::alaska());
    assert!(
        matches!(&ak.follow_ups[..], [FollowUp::QueuePmpReport { due, .. }] if *due == at("2026-03-17T10:00:00"))
    );
    assert!(
        hand_off(&atorvastatin(), false, StateProfile::federal())
            .follow_ups
            .is_empty()
    );
    // A refused hand-off (no ID in Texas) is not reported.
    assert!(
        hand_off(&oxycodone(), false, StateProfile::texas())
            .follow_ups
            .is_empty()
    );
    let gabapentin = Product {
        state_reportable: true,
        ..atorvastatin()
    };
    assert_eq!(
        hand_off(&gabapentin, false, StateProfile::minnesota())
            .follow_ups
            .len(),
        1
    );
}

#[test]
fn offline_insurance_hand_off_gets_a_reconciliation_item() {
    let p = atorvastatin();
    let mut rx = rx(&p, 1);
    rx.fills = vec![fill_record("2026-03-10T09:00:00", 30, &p)];
    let payment = Payment::Insurance {
        payer: "BIN-1".into(),
        rts_percent: 75,
        max_days_supply: 34,
    };
    let req = |payment| {
        Request::HandOff(HandOffRequest {
            schema_version: SchemaVersion::CURRENT,
            prescription: rx.clone(),
            product: p.clone(),
            pickup_id: None,
            payment,
        })
    };
    let off = evaluate(
        &req(payment.clone()),
        &offline(ctx(NOW), "2026-03-10T06:00:00"),
    );
    assert!(matches!(
        &off.follow_ups[..],
        [FollowUp::Reconciliation { .. }]
    ));
    assert!(evaluate(&req(payment), &ctx(NOW)).follow_ups.is_empty());
    assert!(
        evaluate(
            &req(Payment::Cash),
            &offline(ctx(NOW), "2026-03-10T06:00:00")
        )
        .follow_ups
        .is_empty()
    );
}

#[test]
fn end_of_day_zero_report_and_overdue_reports() {
    let eod = |n, pending: Vec<PendingPmpReport>, profile| {
        let req = Request::EndOfDay(EndOfDayRequest {
            schema_version: SchemaVersion::CURRENT,
            date: date("2026-03-10"),
            reportable_dispenses: n,
            pending_reports: pending,
        });
        evaluate(&req, &ctx_in("2026-03-10T21:00:00", profile))
    };
    let zero = eod(0, vec![], StateProfile::minnesota());
    assert_eq!(
        zero.follow_ups,
        vec![FollowUp::ZeroReport {
            date: date("2026-03-10")
        }]
    );
    assert!(
        eod(1, vec![], StateProfile::minnesota())
            .follow_ups
            .is_empty()
    );
    assert!(
        eod(0, vec![], StateProfile::federal())
            .follow_ups
            .is_empty()
    );
    let pending = |due: &str| {
        vec![PendingPmpReport {
            rx_number: "RX-7".into(),
            due: at(due),
        }]
    };
    let on_time = eod(1, pending("2026-03-10T21:00:00"), StateProfile::federal());
    expect("due now", &on_time, "CS-PMP-REPORT-01", None);
    let late = eod(1, pending("2026-03-10T20:59:59"), StateProfile::federal());
    expect("overdue", &late, "CS-PMP-REPORT-01", Some(Warn));
    assert!(matches!(
        &late.follow_ups[..],
        [FollowUp::EscalatePmpReport { .. }]
    ));
}

#[test]
fn offline_controlled_dispense_needs_override_and_reconciliation() {
    let off = |profile| offline(ctx_in(NOW, profile), "2026-03-10T06:00:00");
    let cases = [
        ("online CII", oxycodone(), false, ctx(NOW), None),
        (
            "offline CII",
            oxycodone(),
            false,
            off(StateProfile::federal()),
            Some(RequireOverride),
        ),
        (
            "offline CV",
            pregabalin(),
            false,
            off(StateProfile::federal()),
            Some(RequireOverride),
        ),
        (
            "offline non-controlled",
            atorvastatin(),
            false,
            off(StateProfile::federal()),
            None,
        ),
        (
            "offline CII, new patient, federal",
            oxycodone(),
            true,
            off(StateProfile::federal()),
            Some(RequireOverride),
        ),
        (
            "offline CII, new patient, state blocks",
            oxycodone(),
            true,
            off(StateProfile {
                offline_new_patient_cii: OfflinePolicy::Block,
                ..StateProfile::federal()
            }),
            Some(Block),
        ),
        (
            "offline CIV, new patient, state blocks CII only",
            alprazolam(),
            true,
            off(StateProfile {
                offline_new_patient_cii: OfflinePolicy::Block,
                ..StateProfile::federal()
            }),
            Some(RequireOverride),
        ),
    ];
    for (name, p, new_patient, c, expected) in cases {
        let mut rx = rx(&p, 0);
        rx.patient.new_patient = new_patient;
        let d = eval_fill(&fill(rx, &p, 30), &c);
        expect(name, &d, "CS-OFFLINE-01", expected);
        assert_eq!(d.offline, c.connectivity.is_offline());
        let reconciled = d
            .follow_ups
            .iter()
            .any(|f| matches!(f, FollowUp::Reconciliation { .. }));
        assert_eq!(
            reconciled,
            expected.is_some(),
            "{name}: reconciliation item"
        );
    }
}

#[test]
fn pharmacist_override_clears_require_override() {
    let c = offline(ctx(NOW), "2026-03-10T06:00:00");
    let mut r = fill(rx(&oxycodone(), 0), &oxycodone(), 30);
    assert_eq!(eval_fill(&r, &c).outcome, RequireOverride);
    r.overrides = vec![Override {
        rule: RuleId::CsOffline01,
        reason_code: "OFFLINE-VERIFIED".into(),
        pharmacist: "RPH-12".into(),
        note: "verified hard copy and patient ID".into(),
        dur: None,
    }];
    let d = eval_fill(&r, &c);
    assert_eq!(d.outcome, Warn);
    let f = d.finding(RuleId::CsOffline01).unwrap();
    assert_eq!(f.outcome, RequireOverride);
    assert_eq!(f.overridden.as_ref().unwrap().pharmacist, "RPH-12");
    // An override without a reason code or pharmacist is not accepted.
    r.overrides[0].reason_code.clear();
    assert_eq!(eval_fill(&r, &c).outcome, RequireOverride);
    // A Block cannot be overridden.
    let mut refill = rx(&oxycodone(), 0);
    refill.fills = vec![fill_record("2026-02-01T10:00:00", 30, &oxycodone())];
    let mut r = fill(refill, &oxycodone(), 30);
    r.overrides = vec![Override {
        rule: RuleId::Cs2Refill01,
        reason_code: "X".into(),
        pharmacist: "RPH".into(),
        note: String::new(),
        dur: None,
    }];
    assert_eq!(eval_fill(&r, &ctx(NOW)).outcome, Block);
}
