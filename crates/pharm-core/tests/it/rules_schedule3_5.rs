//! §9.3 Schedules III-V, including CV without a prescription.

use crate::fixtures::*;
use pharm_core::contract::SchemaVersion;
use pharm_core::ids::PharmacyId;
use pharm_core::model::*;
use pharm_core::rules::*;

fn monthly_fills(p: &Product, n: usize) -> Vec<Fill> {
    let days = [
        "2026-03-02",
        "2026-03-25",
        "2026-04-20",
        "2026-05-15",
        "2026-06-10",
        "2026-07-05",
        "2026-07-28",
    ];
    days[..n]
        .iter()
        .map(|d| fill_record(&format!("{d}T10:00:00"), 30, p))
        .collect()
}

#[test]
fn ciii_civ_six_calendar_months_month_end_clamped() {
    let cases = [
        ("2026-03-01", "2026-09-01T18:00:00", None),
        ("2026-03-01", "2026-09-02T08:00:00", Some(Block)),
        ("2026-08-31", "2027-02-28T12:00:00", None),
        ("2026-08-31", "2027-03-01T12:00:00", Some(Block)),
        ("2027-08-31", "2028-02-29T12:00:00", None),
    ];
    for (issue, now, expected) in cases {
        for p in [apap_codeine(), alprazolam()] {
            let mut rx = rx(&p, 5);
            rx.issue_date = date(issue);
            rx.issued_at = None;
            rx.prescriber.registration.as_mut().unwrap().fetched_at = at(now);
            rx.prescriber.registration.as_mut().unwrap().expires = date("2030-01-01");
            expect(
                &format!("{issue} → {now}"),
                &eval_fill(&fill(rx, &p, 30), &ctx(now)),
                "CS34-6MO-01",
                expected,
            );
        }
    }
    // CV refills are "as authorized": no federal six-month limit (1306.22 covers III/IV only).
    let mut cv = rx(&pregabalin(), 5);
    cv.fills = monthly_fills(&pregabalin(), 1);
    let d = eval_fill(&fill(cv, &pregabalin(), 30), &ctx("2026-10-01T10:00:00"));
    expect("CV after six months", &d, "CS34-6MO-01", None);
    expect(
        "CV full refill after six months",
        &d,
        "CS345-PARTIAL-01",
        None,
    );
}

#[test]
fn ciii_civ_refill_count_capped_at_five() {
    let cases = [
        ("5 authorized, 5th refill", 5, 5, None),
        ("5 authorized, 6th refill", 5, 6, Some(Block)),
        ("7 authorized, capped: 6th refill", 7, 6, Some(Block)),
        ("2 authorized, 2nd refill", 2, 2, None),
        ("2 authorized, 3rd refill", 2, 3, Some(Block)),
    ];
    for (name, authorized, refill_number, expected) in cases {
        let mut rx = rx(&alprazolam(), authorized);
        // Refill number N follows the original and N-1 refills: N fills so far.
        rx.fills = monthly_fills(&alprazolam(), refill_number);
        expect(
            name,
            &eval_fill(&fill(rx, &alprazolam(), 30), &ctx("2026-08-20T10:00:00")),
            "CS34-REFILLS-01",
            expected,
        );
    }
    for (authorized, expected) in [(5, None), (6, Some(Warn))] {
        let req = Request::Intake(IntakeRequest {
            schema_version: SchemaVersion::CURRENT,
            prescription: rx(&alprazolam(), authorized),
            product: alprazolam(),
        });
        expect(
            &format!("intake {authorized}"),
            &evaluate(&req, &ctx("2026-03-02T10:00:00")),
            "CS34-REFILLS-01",
            expected,
        );
    }
}

#[test]
fn ciii_v_partial_fills() {
    for (q, expected) in [(10, None), (11, Some(Block))] {
        let mut rx = rx(&alprazolam(), 0);
        rx.fills = vec![Fill {
            partial: Some(PartialPathway::PatientRequest),
            ..fill_record("2026-03-02T10:00:00", 20, &alprazolam())
        }];
        expect(
            &format!("CIV remainder {q}"),
            &eval_fill(&fill(rx, &alprazolam(), q), &ctx("2026-03-20T10:00:00")),
            "CS345-PARTIAL-01",
            expected,
        );
    }
    // CV partial fills stop six months after issue (1306.23), CV refills do not.
    for (now, expected) in [
        ("2026-09-01T10:00:00", None),
        ("2026-09-02T10:00:00", Some(Block)),
    ] {
        let mut rx = rx(&pregabalin(), 2);
        rx.prescriber.registration.as_mut().unwrap().fetched_at = at(now);
        expect(
            now,
            &eval_fill(&fill(rx, &pregabalin(), 10), &ctx(now)),
            "CS345-PARTIAL-01",
            expected,
        );
    }
}

#[test]
fn cv_refills_as_authorized_and_state_limits() {
    let ca = StateProfile::california();
    let capped = StateProfile {
        c5_max_refills: Some(1),
        ..StateProfile::federal()
    };
    let cases = [
        (
            "2 authorized, 2nd refill",
            StateProfile::federal(),
            2,
            "2026-04-25T10:00:00",
            None,
        ),
        (
            "2 authorized, 3rd refill",
            StateProfile::federal(),
            3,
            "2026-05-20T10:00:00",
            Some(Block),
        ),
        (
            "state cap 1, 2nd refill",
            capped,
            2,
            "2026-04-25T10:00:00",
            Some(Block),
        ),
        ("CA day 183", ca.clone(), 1, "2026-08-31T10:00:00", None),
        ("CA day 184", ca, 1, "2026-09-01T10:00:00", Some(Block)),
    ];
    for (name, profile, prior, now, expected) in cases {
        let mut rx = rx(&pregabalin(), 2);
        rx.fills = monthly_fills(&pregabalin(), prior);
        rx.prescriber.registration.as_mut().unwrap().fetched_at = at(now);
        expect(
            name,
            &eval_fill(&fill(rx, &pregabalin(), 30), &ctx_in(now, profile)),
            "CS5-REFILL-01",
            expected,
        );
    }
}

#[test]
fn ciii_v_refill_transfer_once_unless_shared_database() {
    let t = |initial| Transfer {
        date: date("2026-03-05"),
        from_pharmacy: PharmacyId::new(1),
        to_pharmacy: PharmacyId::new(4),
        initial_fill: initial,
    };
    let cases = [
        ("first transfer", vec![], false, None),
        ("second refill transfer", vec![t(false)], false, Some(Block)),
        ("shared real-time database", vec![t(false)], true, None),
        (
            "after an initial-fill EPCS transfer",
            vec![t(true)],
            false,
            None,
        ),
    ];
    for (name, transfers, shared, expected) in cases {
        let mut rx = rx(&alprazolam(), 3);
        rx.transfers = transfers;
        let mut c = ctx("2026-03-10T10:00:00");
        if shared {
            c.pharmacy.shares_realtime_db_with = vec![PharmacyId::new(2)];
        }
        let req = Request::Transfer(TransferRequest {
            schema_version: SchemaVersion::CURRENT,
            prescription: rx,
            product: alprazolam(),
            to_pharmacy: PharmacyId::new(2),
        });
        expect(name, &evaluate(&req, &c), "CS345-XFER-01", expected);
    }
}

fn cv_sale(quantity: u32) -> OtcSaleRequest {
    OtcSaleRequest {
        schema_version: SchemaVersion::CURRENT,
        product: codeine_syrup(),
        quantity,
        picks: vec![],
        lots: vec![],
        purchaser: Some(Purchaser {
            key: "ID-TX-123".into(),
            name: "Cy Ruiz".into(),
            address: Some(address()),
            birth_date: Some(date("1990-01-01")),
            photo_id: Some(PhotoId {
                kind: "drivers_license".into(),
                issuer: "TX".into(),
                number: "123".into(),
            }),
            known_to_pharmacist: false,
        }),
        purchaser_history: vec![],
        logbook: Some(LogbookEntry {
            purchaser_name: "Cy Ruiz".into(),
            purchaser_address: "1 Main St, Austin TX".into(),
            at: Some(at("2026-03-10T10:00:00")),
            product_name: "Guaifenesin and codeine".into(),
            quantity,
            signed: true,
        }),
        seller_is_pharmacist: true,
        nplex: NplexResult::NotRequired,
        overrides: vec![],
    }
}

fn cv_history(when: &str, ml: u32) -> PurchaseRecord {
    PurchaseRecord {
        at: at(when),
        chemical: None,
        cv_units: 0,
        cv_ml: ml,
        cv_opium: false,
    }
}

#[test]
fn cv_without_prescription_1306_26() {
    const NOW: &str = "2026-03-10T10:00:00";
    type Edit = Box<dyn Fn(&mut OtcSaleRequest, &mut Context)>;
    let cases: Vec<(&str, Edit, Option<Outcome>)> = vec![
        ("118 mL to an adult with ID", Box::new(|_, _| {}), None),
        (
            "120 mL within 48 h",
            Box::new(|r, _| r.purchaser_history = vec![cv_history("2026-03-09T10:00:00", 2)]),
            None,
        ),
        (
            "121 mL within 48 h",
            Box::new(|r, _| r.purchaser_history = vec![cv_history("2026-03-09T10:00:00", 3)]),
            Some(Block),
        ),
        (
            "purchase exactly 48 h ago is outside",
            Box::new(|r, _| r.purchaser_history = vec![cv_history("2026-03-08T10:00:00", 100)]),
            None,
        ),
        (
            "purchase 47:59:59 ago counts",
            Box::new(|r, _| r.purchaser_history = vec![cv_history("2026-03-08T10:00:01", 100)]),
            Some(Block),
        ),
        (
            "18th birthday today",
            Box::new(|r, _| r.purchaser.as_mut().unwrap().birth_date = Some(date("2008-03-10"))),
            None,
        ),
        (
            "18th birthday tomorrow",
            Box::new(|r, _| r.purchaser.as_mut().unwrap().birth_date = Some(date("2008-03-11"))),
            Some(Block),
        ),
        (
            "age unknown",
            Box::new(|r, _| r.purchaser.as_mut().unwrap().birth_date = None),
            Some(Block),
        ),
        (
            "no ID, unknown purchaser",
            Box::new(|r, _| r.purchaser.as_mut().unwrap().photo_id = None),
            Some(Block),
        ),
        (
            "no ID, known to pharmacist",
            Box::new(|r, _| {
                let p = r.purchaser.as_mut().unwrap();
                p.photo_id = None;
                p.known_to_pharmacist = true
            }),
            None,
        ),
        (
            "no purchaser record",
            Box::new(|r, _| r.purchaser = None),
            Some(Block),
        ),
        (
            "record book incomplete",
            Box::new(|r, _| r.logbook.as_mut().unwrap().signed = false),
            Some(Block),
        ),
        (
            "sold by a technician",
            Box::new(|r, _| r.seller_is_pharmacist = false),
            Some(Block),
        ),
        (
            "state prohibits",
            Box::new(|_, c| c.profile.cv_otc_allowed = false),
            Some(Block),
        ),
        (
            "offline",
            Box::new(|_, c| {
                c.connectivity = Connectivity::Offline {
                    since: at("2026-03-10T08:00:00"),
                }
            }),
            Some(RequireOverride),
        ),
    ];
    for (name, edit, expected) in cases {
        let mut r = cv_sale(118);
        let mut c = ctx(NOW);
        edit(&mut r, &mut c);
        expect(
            name,
            &evaluate(&Request::OtcSale(r), &c),
            "CS5-OTC-01",
            expected,
        );
    }
    // Opium-containing products: 48 dosage units / 240 mL.
    let mut opium = cv_sale(48);
    opium.product.cv_otc_class = Some(CvOtcClass::OpiumContaining);
    opium.product.package = Package {
        size: 48,
        unit: DosageUnit::Each,
    };
    expect(
        "48 du opium",
        &evaluate(&Request::OtcSale(opium.clone()), &ctx(NOW)),
        "CS5-OTC-01",
        None,
    );
    opium.quantity = 49;
    expect(
        "49 du opium",
        &evaluate(&Request::OtcSale(opium), &ctx(NOW)),
        "CS5-OTC-01",
        Some(Block),
    );
}
