//! §9.1 prescriber and prescription validity, each rule on both sides of its boundary.

use crate::fixtures::*;
use pharm_core::model::*;
use pharm_core::rules::Outcome;

const NOW: &str = "2026-03-10T10:00:00";

#[test]
fn required_fields_for_controlled_prescriptions() {
    type Edit = fn(&mut Prescription);
    let cases: &[(&str, Product, Edit, Option<Outcome>)] = &[
        ("complete CII", oxycodone(), |_| {}, None),
        (
            "patient address missing",
            oxycodone(),
            |r| r.patient.address = None,
            Some(Block),
        ),
        (
            "patient city blank",
            oxycodone(),
            |r| r.patient.address.as_mut().unwrap().city = " ".into(),
            Some(Block),
        ),
        (
            "no first name",
            alprazolam(),
            |r| r.patient.first_name.clear(),
            Some(Block),
        ),
        (
            "no directions",
            alprazolam(),
            |r| r.directions.clear(),
            Some(Block),
        ),
        (
            "no strength",
            pregabalin(),
            |r| r.strength.clear(),
            Some(Block),
        ),
        (
            "no dosage form",
            pregabalin(),
            |r| r.dosage_form.clear(),
            Some(Block),
        ),
        (
            "zero quantity",
            apap_codeine(),
            |r| r.quantity = 0,
            Some(Block),
        ),
        (
            "no prescriber address",
            oxycodone(),
            |r| r.prescriber.address = None,
            Some(Block),
        ),
        (
            "no DEA number",
            oxycodone(),
            |r| r.prescriber.dea = None,
            Some(Block),
        ),
        (
            "unsigned written",
            oxycodone(),
            |r| {
                r.origin = RxOrigin::Written;
                r.signed = false
            },
            Some(Block),
        ),
        (
            "unsigned electronic",
            alprazolam(),
            |r| r.signed = false,
            Some(Block),
        ),
        (
            "emergency oral needs no signature",
            oxycodone(),
            |r| {
                r.origin = RxOrigin::EmergencyOral;
                r.signed = false
            },
            None,
        ),
        (
            "non-controlled without addresses",
            atorvastatin(),
            |r| {
                r.patient.address = None;
                r.prescriber.dea = None
            },
            None,
        ),
    ];
    for (name, p, edit, expected) in cases {
        let mut rx = rx(p, 0);
        edit(&mut rx);
        let d = eval_fill(&fill(rx, p, 30), &ctx(NOW));
        expect(name, &d, "RX-FIELDS-01", *expected);
    }
}

#[test]
fn postdated_prescription_is_blocked_from_the_day_after() {
    for (issue, expected) in [("2026-03-10", None), ("2026-03-11", Some(Block))] {
        for p in [atorvastatin(), oxycodone()] {
            let mut rx = rx(&p, 0);
            rx.issue_date = date(issue);
            rx.issued_at = None;
            let d = eval_fill(&fill(rx, &p, 30), &ctx(NOW));
            expect(issue, &d, "RX-POSTDATED-01", expected);
        }
    }
}

#[test]
fn dea_number_format_check_digit_and_name() {
    let cases = [
        // (dea, last name, product, rule, expected)
        ("AB1234563", "Brown", oxycodone(), "DEA-FMT-01", None),
        ("AB1234563", "Brown", oxycodone(), "DEA-CHK-01", None),
        ("AB123456", "Brown", oxycodone(), "DEA-FMT-01", Some(Block)),
        (
            "AB123456",
            "Brown",
            atorvastatin(),
            "DEA-FMT-01",
            Some(Warn),
        ),
        (
            "1B1234563",
            "Brown",
            alprazolam(),
            "DEA-FMT-01",
            Some(Block),
        ),
        ("AB1234564", "Brown", oxycodone(), "DEA-CHK-01", Some(Block)),
        (
            "AB1234564",
            "Brown",
            atorvastatin(),
            "DEA-CHK-01",
            Some(Warn),
        ),
        ("ab1234563", "brown", alprazolam(), "DEA-CHK-01", None),
        ("AB1234563", "Smith", oxycodone(), "DEA-NAME-01", Some(Warn)),
        ("AB1234563", "Brown", oxycodone(), "DEA-NAME-01", None),
        ("A91234563", "Smith", oxycodone(), "DEA-NAME-01", None),
        ("AP5836727", "Park", alprazolam(), "DEA-NAME-01", None),
    ];
    for (dea, last, p, rule, expected) in cases {
        let mut rx = rx(&p, 0);
        rx.prescriber.dea = Some(dea.into());
        rx.prescriber.last_name = last.into();
        let d = eval_fill(&fill(rx, &p, 30), &ctx(NOW));
        expect(&format!("{dea}/{last}/{}", p.name), &d, rule, expected);
    }
}

#[test]
fn dea_registration_status_schedules_and_cache_age() {
    type Edit = fn(&mut DeaRegistration);
    let cases: &[(&str, Product, Edit, Option<Outcome>)] = &[
        ("valid", oxycodone(), |_| {}, None),
        (
            "expires today",
            oxycodone(),
            |r| r.expires = date("2026-03-10"),
            None,
        ),
        (
            "expired yesterday",
            oxycodone(),
            |r| r.expires = date("2026-03-09"),
            Some(Block),
        ),
        ("inactive", alprazolam(), |r| r.active = false, Some(Block)),
        (
            "CII not covered",
            oxycodone(),
            |r| r.schedules = vec![Schedule::C3, Schedule::C4, Schedule::C5],
            Some(Block),
        ),
        (
            "CIV covered without CII",
            alprazolam(),
            |r| r.schedules = vec![Schedule::C4],
            None,
        ),
        // Cache limit 720 h: exactly 720 h old is fresh, one hour more is stale.
        (
            "cache exactly 30 d",
            oxycodone(),
            |r| r.fetched_at = at("2026-02-08T10:00:00"),
            None,
        ),
        (
            "cache stale CII",
            oxycodone(),
            |r| r.fetched_at = at("2026-02-08T09:00:00"),
            Some(RequireOverride),
        ),
        (
            "cache stale CIV",
            alprazolam(),
            |r| r.fetched_at = at("2026-02-08T09:00:00"),
            Some(Warn),
        ),
    ];
    for (name, p, edit, expected) in cases {
        let mut rx = rx(p, 0);
        edit(rx.prescriber.registration.as_mut().unwrap());
        let d = eval_fill(&fill(rx, p, 30), &ctx(NOW));
        expect(name, &d, "DEA-REG-01", *expected);
    }
    let mut unverified = rx(&oxycodone(), 0);
    unverified.prescriber.registration = None;
    let d = eval_fill(&fill(unverified, &oxycodone(), 30), &ctx(NOW));
    expect(
        "never verified CII",
        &d,
        "DEA-REG-01",
        Some(RequireOverride),
    );
    let mut plain = rx(&atorvastatin(), 0);
    plain.prescriber.registration = None;
    let d = eval_fill(&fill(plain, &atorvastatin(), 30), &ctx(NOW));
    expect(
        "non-controlled needs no registration",
        &d,
        "DEA-REG-01",
        None,
    );
}
