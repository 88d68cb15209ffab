//! §9.2 Schedule II.

use crate::fixtures::*;
use pharm_core::contract::SchemaVersion;
use pharm_core::ids::PharmacyId;
use pharm_core::model::*;
use pharm_core::rules::*;

fn oxy_rx() -> Prescription {
    rx(&oxycodone(), 0)
}

fn partial(when: &str, q: u32, pathway: Option<PartialPathway>) -> Fill {
    Fill {
        partial: pathway,
        ..fill_record(when, q, &oxycodone())
    }
}

fn run(rx: Prescription, quantity: u32, now: &str, profile: StateProfile) -> Decision {
    let mut r = fill(rx, &oxycodone(), quantity);
    r.pmp = PmpStatus::Queried { at: at(now) };
    eval_fill(&r, &ctx_in(now, profile))
}

#[test]
fn no_refills() {
    let mut done = oxy_rx();
    done.fills = vec![fill_record("2026-03-02T10:00:00", 30, &oxycodone())];
    expect(
        "after full fill",
        &run(done, 30, "2026-04-02T10:00:00", StateProfile::federal()),
        "CS2-REFILL-01",
        Some(Block),
    );
    let mut authorized = oxy_rx();
    authorized.refills_authorized = 2;
    authorized.fills = vec![fill_record("2026-03-02T10:00:00", 30, &oxycodone())];
    expect(
        "refills written on a CII",
        &run(
            authorized,
            30,
            "2026-04-02T10:00:00",
            StateProfile::federal(),
        ),
        "CS2-REFILL-01",
        Some(Block),
    );
    expect(
        "first fill",
        &run(oxy_rx(), 30, "2026-03-02T10:00:00", StateProfile::federal()),
        "CS2-REFILL-01",
        None,
    );
}

#[test]
fn earliest_fill_date() {
    for (now, expected) in [
        ("2026-03-14T23:59:59", Some(Block)),
        ("2026-03-15T00:00:00", None),
    ] {
        let mut rx = oxy_rx();
        rx.earliest_fill_date = Some(date("2026-03-15"));
        expect(
            now,
            &run(rx, 30, now, StateProfile::federal()),
            "CS2-EARLIEST-01",
            expected,
        );
    }
}

#[test]
fn state_validity_period() {
    let cases = [
        (
            "TX day 30",
            StateProfile::texas(),
            None,
            "2026-03-31T12:00:00",
            None,
        ),
        (
            "TX day 31",
            StateProfile::texas(),
            None,
            "2026-04-01T12:00:00",
            Some(Block),
        ),
        (
            "TX from earliest fill, last day",
            StateProfile::texas(),
            Some("2026-03-15"),
            "2026-04-14T12:00:00",
            None,
        ),
        (
            "TX from earliest fill, day after",
            StateProfile::texas(),
            Some("2026-03-15"),
            "2026-04-15T12:00:00",
            Some(Block),
        ),
        (
            "MA counts from issue even with earliest date",
            StateProfile::massachusetts(),
            Some("2026-03-15"),
            "2026-04-01T12:00:00",
            Some(Block),
        ),
        (
            "IL day 90",
            StateProfile::illinois(),
            None,
            "2026-05-30T12:00:00",
            None,
        ),
        (
            "IL day 91",
            StateProfile::illinois(),
            None,
            "2026-05-31T12:00:00",
            Some(Block),
        ),
        (
            "CA day 183",
            StateProfile::california(),
            None,
            "2026-08-31T12:00:00",
            None,
        ),
        (
            "CA day 184",
            StateProfile::california(),
            None,
            "2026-09-01T12:00:00",
            Some(Block),
        ),
        (
            "federal: no limit",
            StateProfile::federal(),
            None,
            "2027-03-01T12:00:00",
            None,
        ),
    ];
    for (name, profile, earliest, now, expected) in cases {
        let mut rx = oxy_rx();
        rx.earliest_fill_date = earliest.map(date);
        expect(
            name,
            &run(rx, 30, now, profile),
            "CS2-STATEEXP-01",
            expected,
        );
    }
}

#[test]
fn form_of_a_cii_prescription() {
    let cases = [
        (
            "electronic",
            RxOrigin::Electronic,
            SpecialPopulation::None,
            None,
        ),
        ("written", RxOrigin::Written, SpecialPopulation::None, None),
        ("oral", RxOrigin::Oral, SpecialPopulation::None, Some(Block)),
        ("fax", RxOrigin::Fax, SpecialPopulation::None, Some(Block)),
        ("fax for LTCF", RxOrigin::Fax, SpecialPopulation::Ltcf, None),
        (
            "fax for hospice",
            RxOrigin::Fax,
            SpecialPopulation::TerminallyIll,
            None,
        ),
    ];
    for (name, origin, population, expected) in cases {
        let mut rx = oxy_rx();
        rx.origin = origin;
        rx.special_population = population;
        expect(
            name,
            &run(rx, 30, "2026-03-02T10:00:00", StateProfile::federal()),
            "CS2-FORM-01",
            expected,
        );
    }
}

#[test]
fn pathway_a_remainder_within_72_hours_of_first_partial() {
    for (now, expected) in [
        ("2026-03-05T10:00:00", None),
        ("2026-03-05T10:00:01", Some(Block)),
    ] {
        let mut rx = oxy_rx();
        rx.fills = vec![partial(
            "2026-03-02T10:00:00",
            10,
            Some(PartialPathway::UnableToSupply),
        )];
        let d = run(rx, 20, now, StateProfile::federal());
        expect(now, &d, "CS2-PARTIAL-SUPPLY-01", expected);
        let notified = d
            .follow_ups
            .iter()
            .any(|f| matches!(f, FollowUp::NotifyPrescriber { .. }));
        assert_eq!(
            notified,
            expected.is_some(),
            "{now}: prescriber notification"
        );
    }
    // A remainder whose first portion recorded no pathway gets the strictest window.
    let mut rx = oxy_rx();
    rx.fills = vec![partial("2026-03-02T10:00:00", 10, None)];
    expect(
        "unrecorded pathway",
        &run(rx, 20, "2026-03-06T10:00:00", StateProfile::federal()),
        "CS2-PARTIAL-SUPPLY-01",
        Some(Block),
    );
}

#[test]
fn pathway_b_requested_partials() {
    let federal = StateProfile::federal();
    let no_partials = StateProfile {
        partial_cii_allowed: false,
        ..StateProfile::federal()
    };
    let cases = [
        (
            "partial without pathway",
            None,
            None,
            federal.clone(),
            Some(Block),
        ),
        (
            "patient request",
            Some(PartialPathway::PatientRequest),
            None,
            federal.clone(),
            None,
        ),
        (
            "state prohibits",
            Some(PartialPathway::PatientRequest),
            None,
            no_partials,
            Some(Block),
        ),
        (
            "prescriber request without quantity",
            Some(PartialPathway::PrescriberRequest),
            None,
            federal.clone(),
            Some(Block),
        ),
        (
            "prescriber request with quantity",
            Some(PartialPathway::PrescriberRequest),
            Some(10),
            federal.clone(),
            None,
        ),
        (
            "more than the prescriber specified",
            Some(PartialPathway::PrescriberRequest),
            Some(5),
            federal,
            Some(Block),
        ),
    ];
    for (name, pathway, specified, profile, expected) in cases {
        let mut rx = oxy_rx();
        rx.prescriber_partial_quantity = specified;
        let mut r = fill(rx, &oxycodone(), 10);
        r.partial = pathway;
        let d = eval_fill(&r, &ctx_in("2026-03-02T10:00:00", profile));
        expect(name, &d, "CS2-PARTIAL-REQ-01", expected);
    }
    // Remainders within 30 days of the date written.
    for (now, expected) in [
        ("2026-03-31T23:00:00", None),
        ("2026-04-01T08:00:00", Some(Block)),
    ] {
        let mut rx = oxy_rx();
        rx.fills = vec![partial(
            "2026-03-02T10:00:00",
            10,
            Some(PartialPathway::PatientRequest),
        )];
        expect(
            now,
            &run(rx, 10, now, StateProfile::federal()),
            "CS2-PARTIAL-REQ-02",
            expected,
        );
    }
    // Emergency oral: within 72 hours of issue (09:00 on 2026-03-01).
    for (now, expected) in [
        ("2026-03-04T09:00:00", None),
        ("2026-03-04T09:00:01", Some(Block)),
    ] {
        let mut rx = oxy_rx();
        rx.origin = RxOrigin::EmergencyOral;
        rx.emergency_period_days = Some(3);
        rx.fills = vec![partial(
            "2026-03-01T10:00:00",
            3,
            Some(PartialPathway::PatientRequest),
        )];
        rx.quantity = 9;
        expect(
            now,
            &run(rx, 3, now, StateProfile::federal()),
            "CS2-PARTIAL-REQ-02",
            expected,
        );
    }
}

#[test]
fn pathway_c_ltcf_and_terminal_within_60_days() {
    for (now, population, expected) in [
        ("2026-04-30T12:00:00", SpecialPopulation::Ltcf, None),
        ("2026-05-01T12:00:00", SpecialPopulation::Ltcf, Some(Block)),
        (
            "2026-04-30T12:00:00",
            SpecialPopulation::TerminallyIll,
            None,
        ),
        ("2026-03-10T12:00:00", SpecialPopulation::None, Some(Block)),
    ] {
        let mut rx = oxy_rx();
        rx.special_population = population;
        rx.fills = vec![partial(
            "2026-03-02T10:00:00",
            10,
            Some(PartialPathway::LtcfOrTerminal),
        )];
        expect(
            now,
            &run(rx, 10, now, StateProfile::federal()),
            "CS2-PARTIAL-LTCF-01",
            expected,
        );
    }
}

#[test]
fn partial_total_never_exceeds_quantity_prescribed() {
    for (q, expected) in [(20, None), (21, Some(Block))] {
        let mut rx = oxy_rx();
        rx.fills = vec![partial(
            "2026-03-02T10:00:00",
            10,
            Some(PartialPathway::UnableToSupply),
        )];
        expect(
            &q.to_string(),
            &run(rx, q, "2026-03-03T10:00:00", StateProfile::federal()),
            "CS2-PARTIAL-TOTAL-01",
            expected,
        );
    }
    expect(
        "first fill over quantity",
        &run(oxy_rx(), 31, "2026-03-02T10:00:00", StateProfile::federal()),
        "CS2-PARTIAL-TOTAL-01",
        Some(Block),
    );
}

#[test]
fn emergency_oral_quantity_and_state_cap() {
    let cases = [
        (
            "within documented period",
            StateProfile::federal(),
            Some(3),
            3,
            None,
        ),
        (
            "beyond documented period",
            StateProfile::federal(),
            Some(3),
            4,
            Some(RequireOverride),
        ),
        (
            "period not documented",
            StateProfile::federal(),
            None,
            3,
            Some(RequireOverride),
        ),
        ("NY at cap", StateProfile::new_york(), Some(5), 5, None),
        (
            "NY over cap",
            StateProfile::new_york(),
            Some(6),
            6,
            Some(Block),
        ),
    ];
    for (name, profile, period, days, expected) in cases {
        let mut rx = oxy_rx();
        rx.origin = RxOrigin::EmergencyOral;
        rx.emergency_period_days = period;
        rx.quantity = days;
        let mut r = fill(rx, &oxycodone(), days);
        r.pmp = PmpStatus::Queried {
            at: at("2026-03-01T10:00:00"),
        };
        let d = eval_fill(&r, &ctx_in("2026-03-01T10:00:00", profile));
        expect(name, &d, "CS2-EMERG-01", expected);
    }
}

#[test]
fn emergency_oral_follow_up_deadline() {
    // Issued 2026-03-01 (09:00 recorded): the follow-up is due by the end of the day
    // issue date + 7 (federal) or + 3 (NY, MA: 72 hours counted as days, since its arrival
    // is a date). The status is the obligation's; a late one also needs a DEA notice.
    use ObligationStatus::*;
    let cases = [
        (
            "due, last second",
            StateProfile::federal(),
            None,
            "2026-03-08T23:59:59",
            None,
            Due,
            true,
        ),
        (
            "overdue, next day",
            StateProfile::federal(),
            None,
            "2026-03-09T00:00:00",
            Some(Warn),
            Overdue,
            true,
        ),
        (
            "received on the due date",
            StateProfile::federal(),
            Some("2026-03-08"),
            "2026-03-09T12:00:00",
            None,
            Satisfied,
            false,
        ),
        (
            "received late",
            StateProfile::federal(),
            Some("2026-03-09"),
            "2026-03-09T12:00:00",
            Some(Warn),
            SatisfiedLate,
            true,
        ),
        (
            "NY end of day 3",
            StateProfile::new_york(),
            None,
            "2026-03-04T23:59:59",
            None,
            Due,
            true,
        ),
        (
            "NY day 4",
            StateProfile::new_york(),
            None,
            "2026-03-05T00:00:00",
            Some(Warn),
            Overdue,
            true,
        ),
    ];
    for (name, profile, received, now, expected, status, task) in cases {
        let mut rx = oxy_rx();
        rx.origin = RxOrigin::EmergencyOral;
        rx.emergency_period_days = Some(3);
        rx.quantity = 9;
        rx.emergency_followup = received.map(|d| EmergencyFollowUp {
            received: date(d),
            reference: "RX-101".into(),
        });
        rx.fills = vec![partial(
            "2026-03-01T10:00:00",
            3,
            Some(PartialPathway::PatientRequest),
        )];
        let mut r = fill(rx, &oxycodone(), 3);
        r.pmp = PmpStatus::Queried { at: at(now) };
        r.days_supply = 3;
        let d = eval_fill(&r, &ctx_in(now, profile));
        expect(name, &d, "CS2-EMERG-02", expected);
        let has_task = d.follow_ups.iter().any(|f| {
            matches!(
                f,
                FollowUp::ComplianceTask {
                    rule: RuleId::Cs2Emerg02,
                    ..
                }
            )
        });
        assert_eq!(has_task, task, "{name}: compliance task");
        assert_eq!(d.obligations.len(), 1, "{name}");
        let o = &d.obligations[0];
        assert_eq!(o.status, status, "{name}");
        assert_eq!(o.id, "CS2-EMERG-02:RX-100", "{name}");
        assert_eq!(o.resolved_by.is_some(), received.is_some(), "{name}");
    }
}

#[test]
fn transfer_only_unfilled_electronic_once() {
    let transferred = Transfer {
        date: date("2026-03-02"),
        from_pharmacy: PharmacyId::new(1),
        to_pharmacy: PharmacyId::new(2),
        initial_fill: true,
    };
    type Edit = Box<dyn Fn(&mut Prescription)>;
    let cases: Vec<(&str, Edit, Option<Outcome>)> = vec![
        ("unfilled EPCS", Box::new(|_| {}), None),
        (
            "paper",
            Box::new(|r| r.origin = RxOrigin::Written),
            Some(Block),
        ),
        (
            "partially filled",
            Box::new(|r| {
                r.fills = vec![partial(
                    "2026-03-02T10:00:00",
                    10,
                    Some(PartialPathway::PatientRequest),
                )]
            }),
            Some(Block),
        ),
        (
            "already transferred",
            Box::new(move |r| r.transfers = vec![transferred.clone()]),
            Some(Block),
        ),
    ];
    for (name, edit, expected) in cases {
        let mut rx = oxy_rx();
        edit(&mut rx);
        let req = Request::Transfer(TransferRequest {
            schema_version: SchemaVersion::CURRENT,
            prescription: rx,
            product: oxycodone(),
            to_pharmacy: PharmacyId::new(3),
        });
        expect(
            name,
            &evaluate(&req, &ctx("2026-03-03T10:00:00")),
            "CS2-XFER-01",
            expected,
        );
    }
}
