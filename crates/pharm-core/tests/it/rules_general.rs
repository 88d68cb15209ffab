//! §9.5 rules for every prescription.

use crate::fixtures::*;
use pharm_core::contract::SchemaVersion;
use pharm_core::ids::PharmacyId;
use pharm_core::model::*;
use pharm_core::rules::*;

fn refill_after(last: &str, ds: u32, p: &Product) -> Prescription {
    let mut rx = rx(p, 5);
    rx.fills = vec![Fill {
        days_supply: ds,
        ..fill_record(last, 30, p)
    }];
    rx
}

fn insurance(rts: u32, max: u32) -> Payment {
    Payment::Insurance {
        payer: "BIN-610014".into(),
        rts_percent: rts,
        max_days_supply: max,
    }
}

#[test]
fn non_controlled_prescription_expiry() {
    for (now, expected) in [
        ("2027-03-01T12:00:00", None),
        ("2027-03-02T08:00:00", Some(Block)),
    ] {
        let r = fill(rx(&atorvastatin(), 5), &atorvastatin(), 30);
        expect(now, &eval_fill(&r, &ctx(now)), "RX-EXP-01", expected);
    }
    let short = StateProfile {
        noncontrolled_valid_days: 180,
        ..StateProfile::federal()
    };
    let r = fill(rx(&atorvastatin(), 5), &atorvastatin(), 30);
    expect(
        "state 180 days",
        &eval_fill(&r, &ctx_in("2026-08-29T08:00:00", short)),
        "RX-EXP-01",
        Some(Block),
    );
}

#[test]
fn refills_and_quantity_remaining() {
    let p = atorvastatin();
    let cases: Vec<(&str, u32, Vec<Fill>, u32, bool, Option<Outcome>)> = vec![
        ("original", 1, vec![], 30, false, None),
        (
            "last refill",
            1,
            vec![fill_record("2026-03-02T10:00:00", 30, &p)],
            30,
            false,
            None,
        ),
        (
            "no refills left",
            1,
            vec![
                fill_record("2026-03-02T10:00:00", 30, &p),
                fill_record("2026-04-01T10:00:00", 30, &p),
            ],
            30,
            false,
            Some(Block),
        ),
        (
            "remainder 10, asks 10",
            0,
            vec![fill_record("2026-03-02T10:00:00", 20, &p)],
            10,
            false,
            None,
        ),
        (
            "remainder 10, asks 11",
            0,
            vec![fill_record("2026-03-02T10:00:00", 20, &p)],
            11,
            false,
            Some(Block),
        ),
        ("void", 3, vec![], 30, true, Some(Block)),
    ];
    for (name, refills, fills, q, void, expected) in cases {
        let mut rx = rx(&p, refills);
        rx.fills = fills;
        rx.void = void;
        expect(
            name,
            &eval_fill(&fill(rx, &p, q), &ctx("2026-06-01T10:00:00")),
            "RX-REFILLS-01",
            expected,
        );
    }
}

#[test]
fn quantity_per_fill_and_90_day_conversion() {
    let no_conversion = StateProfile {
        allow_90_day_conversion: false,
        ..StateProfile::federal()
    };
    let cases = [
        (
            "face quantity",
            atorvastatin(),
            None,
            30,
            StateProfile::federal(),
            None,
        ),
        (
            "one over",
            atorvastatin(),
            None,
            31,
            StateProfile::federal(),
            Some(Block),
        ),
        (
            "may fill up to 90 days",
            atorvastatin(),
            Some(90),
            90,
            StateProfile::federal(),
            None,
        ),
        (
            "91 days over the authorization",
            atorvastatin(),
            Some(90),
            91,
            StateProfile::federal(),
            Some(Block),
        ),
        (
            "state forbids conversion",
            atorvastatin(),
            Some(90),
            90,
            no_conversion,
            Some(Block),
        ),
        (
            "controlled never converts",
            alprazolam(),
            Some(90),
            90,
            StateProfile::federal(),
            Some(Block),
        ),
    ];
    for (name, p, may_fill, q, profile, expected) in cases {
        let mut rx = rx(&p, 5);
        rx.may_fill_up_to_days = may_fill;
        let mut r = fill(rx, &p, q);
        r.days_supply = q;
        expect(
            name,
            &eval_fill(&r, &ctx_in("2026-03-10T10:00:00", profile)),
            "RX-QTY-01",
            expected,
        );
    }
}

#[test]
fn refill_too_soon_table() {
    let p = atorvastatin();
    let cases = [
        // (last fill, days supply, payment, today, expected)
        (
            "2026-03-01T10:00:00",
            30,
            Payment::Cash,
            "2026-03-23T10:00:00",
            Some(Warn),
        ),
        (
            "2026-03-01T10:00:00",
            30,
            Payment::Cash,
            "2026-03-24T08:00:00",
            None,
        ),
        (
            "2026-03-01T10:00:00",
            30,
            insurance(80, 34),
            "2026-03-24T08:00:00",
            Some(RequireOverride),
        ),
        (
            "2026-03-01T10:00:00",
            30,
            insurance(80, 34),
            "2026-03-25T08:00:00",
            None,
        ),
        (
            "2026-03-01T10:00:00",
            90,
            Payment::Cash,
            "2026-05-07T08:00:00",
            Some(Warn),
        ),
        (
            "2026-03-01T10:00:00",
            90,
            Payment::Cash,
            "2026-05-08T08:00:00",
            None,
        ),
        (
            "2026-03-01T10:00:00",
            90,
            insurance(80, 90),
            "2026-05-11T08:00:00",
            Some(RequireOverride),
        ),
        (
            "2026-03-01T10:00:00",
            90,
            insurance(80, 90),
            "2026-05-12T08:00:00",
            None,
        ),
    ];
    for (last, ds, payment, now, expected) in cases {
        let mut r = fill(refill_after(last, ds, &p), &p, 30);
        r.payment = payment;
        expect(
            &format!("{ds} d, {now}"),
            &eval_fill(&r, &ctx(now)),
            "RX-RTS-01",
            expected,
        );
    }
    // Controlled cash fills use the stricter 80% store threshold.
    let alp = alprazolam();
    for (now, expected) in [
        ("2026-03-24T08:00:00", Some(Warn)),
        ("2026-03-25T08:00:00", None),
    ] {
        let r = fill(refill_after("2026-03-01T10:00:00", 30, &alp), &alp, 30);
        expect(now, &eval_fill(&r, &ctx(now)), "RX-RTS-01", expected);
    }
    // Offline, a claim cannot be adjudicated: warn locally and queue the claim.
    let mut r = fill(refill_after("2026-03-01T10:00:00", 30, &p), &p, 30);
    r.payment = insurance(80, 34);
    let d = eval_fill(
        &r,
        &offline(ctx("2026-03-20T10:00:00"), "2026-03-20T06:00:00"),
    );
    expect("offline claim", &d, "RX-RTS-01", Some(Warn));
    assert!(d.follow_ups.contains(&FollowUp::QueueInsuranceClaim {
        rx_number: "RX-100".into()
    }));
    // Next refill date for this fill: today + ceil(30 × 75%) = +23 days.
    let d = eval_fill(&fill(rx(&p, 5), &p, 30), &ctx("2026-03-10T10:00:00"));
    assert_eq!(d.next_refill_date, Some(date("2026-04-02")));
}

#[test]
fn days_supply_consistency_and_plan_maximum() {
    let p = atorvastatin();
    for (ds, expected) in [
        (28, Some(Warn)),
        (29, None),
        (30, None),
        (31, None),
        (32, Some(Warn)),
    ] {
        let mut r = fill(rx(&p, 5), &p, 30);
        r.days_supply = ds;
        expect(
            &format!("ds {ds}"),
            &eval_fill(&r, &ctx("2026-03-10T10:00:00")),
            "RX-DS-01",
            expected,
        );
    }
    let cases = [
        ("cash 90", Payment::Cash, 90, None),
        ("cash 91", Payment::Cash, 91, Some(Warn)),
        ("plan 34", insurance(75, 34), 34, None),
        ("plan 35", insurance(75, 34), 35, Some(RequireOverride)),
    ];
    for (name, payment, ds, expected) in cases {
        let mut rx = rx(&p, 5);
        rx.quantity = ds;
        rx.max_daily_units = None;
        let mut r = fill(rx, &p, ds);
        r.payment = payment;
        expect(
            name,
            &eval_fill(&r, &ctx("2026-03-10T10:00:00")),
            "RX-DS-02",
            expected,
        );
    }
}

#[test]
fn dur_alerts_by_severity_and_override_codes() {
    let p = atorvastatin();
    let alert = |severity| DurAlert {
        reason: "DD".into(),
        severity,
        message: "interacts with clarithromycin".into(),
    };
    for (severity, expected) in [
        (DurSeverity::Major, RequireOverride),
        (DurSeverity::Moderate, Warn),
        (DurSeverity::Minor, Allow),
    ] {
        let mut r = fill(rx(&p, 5), &p, 30);
        r.dur_alerts = vec![alert(severity)];
        let d = eval_fill(&r, &ctx("2026-03-10T10:00:00"));
        expect(&format!("{severity:?}"), &d, "RX-DUR-01", Some(expected));
        assert_eq!(d.outcome, expected);
    }
    let mut r = fill(rx(&p, 5), &p, 30);
    r.dur_alerts = vec![alert(DurSeverity::Major)];
    r.overrides = vec![Override {
        rule: RuleId::RxDur01,
        reason_code: "DD".into(),
        pharmacist: "RPH-1".into(),
        note: String::new(),
        dur: None,
    }];
    assert_eq!(
        eval_fill(&r, &ctx("2026-03-10T10:00:00")).outcome,
        RequireOverride,
        "DUR override needs E4/E5/E6"
    );
    r.overrides[0].dur = Some(DurPps {
        reason: "DD".into(),
        service: "M0".into(),
        result: "1G".into(),
    });
    assert_eq!(eval_fill(&r, &ctx("2026-03-10T10:00:00")).outcome, Warn);
}

#[test]
fn daw_and_substitution() {
    let ny = StateProfile::new_york();
    let fed = StateProfile::federal();
    let levo_brand = Product {
        nti: true,
        brand: true,
        ..product_named("0074-6624-90", "Synthroid")
    };
    let levo_generic = Product {
        nti: true,
        ..product_named("0378-1805-01", "Levothyroxine")
    };
    let listed = StateProfile {
        no_substitution_products: vec!["00074-6624".into()],
        ..StateProfile::federal()
    };
    let bio = Product {
        non_interchangeable_biologic: true,
        ..product_named("0002-8215-01", "Insulin lispro")
    };
    let bio_other = product_named("0088-2500-33", "Insulin lispro-aabc");
    let lipitor_other_size = Product {
        ndc: "0071-0155-40".parse().unwrap(),
        ..lipitor()
    };
    let cases = [
        (
            "DAW 1 substituted",
            lipitor(),
            atorvastatin(),
            DawCode::PrescriberRequiresBrand,
            fed.clone(),
            "RX-DAW-01",
            Some(Block),
        ),
        (
            "DAW 7 substituted",
            lipitor(),
            atorvastatin(),
            DawCode::BrandMandatedByLaw,
            fed.clone(),
            "RX-DAW-01",
            Some(Block),
        ),
        (
            "DAW 1 other package size",
            lipitor(),
            lipitor_other_size,
            DawCode::PrescriberRequiresBrand,
            fed.clone(),
            "RX-DAW-01",
            None,
        ),
        (
            "DAW 0 substituted",
            lipitor(),
            atorvastatin(),
            DawCode::NoSelection,
            fed.clone(),
            "RX-DAW-01",
            None,
        ),
        (
            "DAW 0 brand dispensed",
            lipitor(),
            lipitor(),
            DawCode::NoSelection,
            fed.clone(),
            "RX-DAW-02",
            Some(Warn),
        ),
        (
            "DAW 2 brand dispensed",
            lipitor(),
            lipitor(),
            DawCode::PatientRequested,
            fed.clone(),
            "RX-DAW-02",
            None,
        ),
        (
            "DAW 0 generic dispensed",
            atorvastatin(),
            atorvastatin(),
            DawCode::NoSelection,
            fed.clone(),
            "RX-DAW-02",
            None,
        ),
        (
            "NY NTI substituted",
            levo_brand.clone(),
            levo_generic.clone(),
            DawCode::NoSelection,
            ny.clone(),
            "RX-SUBST-01",
            Some(Block),
        ),
        (
            "NY NTI not substituted",
            levo_brand.clone(),
            levo_brand.clone(),
            DawCode::NoSelection,
            ny,
            "RX-SUBST-01",
            None,
        ),
        (
            "federal NTI substituted",
            levo_brand.clone(),
            levo_generic.clone(),
            DawCode::NoSelection,
            fed.clone(),
            "RX-SUBST-01",
            None,
        ),
        (
            "negative formulary",
            levo_brand,
            levo_generic,
            DawCode::NoSelection,
            listed,
            "RX-SUBST-01",
            Some(Block),
        ),
        (
            "non-interchangeable biologic",
            bio,
            bio_other,
            DawCode::NoSelection,
            fed,
            "RX-SUBST-01",
            Some(Block),
        ),
    ];
    for (name, prescribed, dispensed, daw, profile, rule, expected) in cases {
        let mut rx = rx(&prescribed, 5);
        rx.daw = daw;
        let mut r = fill(rx, &prescribed, 30);
        r.dispensed = dispensed;
        expect(
            name,
            &eval_fill(&r, &ctx_in("2026-03-10T10:00:00", profile)),
            rule,
            expected,
        );
    }
}

fn product_named(ndc: &str, name: &str) -> Product {
    Product {
        ndc: ndc.parse().unwrap(),
        name: name.into(),
        brand: false,
        ..atorvastatin()
    }
}

#[test]
fn splitting_a_fill_into_portions_does_not_move_the_refill_date() {
    let p = atorvastatin();
    let mut rx = rx(&p, 5);
    rx.fills = vec![
        fill_record("2026-03-01T10:00:00", 30, &p),
        Fill {
            days_supply: 29,
            ..fill_record("2026-03-24T10:00:00", 29, &p)
        },
        Fill {
            days_supply: 1,
            ..fill_record("2026-03-25T10:00:00", 1, &p)
        },
    ];
    // The fill that started 03-24 covers 30 days: 75% used on 04-16.
    for (now, expected) in [
        ("2026-04-15T10:00:00", Some(Warn)),
        ("2026-04-16T10:00:00", None),
    ] {
        expect(
            now,
            &eval_fill(&fill(rx.clone(), &p, 30), &ctx(now)),
            "RX-RTS-01",
            expected,
        );
    }
}

#[test]
fn conversion_scales_quantity_with_days() {
    let p = atorvastatin();
    for (q, ds, expected) in [
        (90, 90, None),
        (91, 90, Some(Block)),
        (180, 90, Some(Block)),
    ] {
        let mut rx = rx(&p, 5);
        rx.may_fill_up_to_days = Some(90);
        let mut r = fill(rx, &p, q);
        r.days_supply = ds;
        expect(
            &format!("{q} units / {ds} days"),
            &eval_fill(&r, &ctx("2026-03-10T10:00:00")),
            "RX-QTY-01",
            expected,
        );
    }
}

#[test]
fn prescription_and_product_records_must_agree() {
    // DAW 1 written for Lipitor: claiming the generic was "prescribed" does not hide the substitution.
    let mut rx = rx(&lipitor(), 2);
    rx.daw = DawCode::PrescriberRequiresBrand;
    let r = fill(rx, &atorvastatin(), 30);
    let d = eval_fill(&r, &ctx("2026-03-10T10:00:00"));
    expect("record mismatch", &d, "RX-SUBST-01", Some(Block));
    expect("DAW still detected", &d, "RX-DAW-01", Some(Block));
    // A stale uncontrolled record for a CII product: the strictest schedule applies.
    let oxy = oxycodone();
    let mut refill = super::fixtures::rx(&oxy, 2);
    refill.fills = vec![fill_record("2026-02-01T10:00:00", 30, &oxy)];
    let mut r = fill(refill, &oxy, 30);
    r.dispensed.schedule = Some(Schedule::C4);
    let d = eval_fill(&r, &ctx("2026-03-10T10:00:00"));
    expect("CII rules still apply", &d, "CS2-REFILL-01", Some(Block));
    expect("schedule mismatch", &d, "RX-SUBST-01", Some(Block));
    let mut r = fill(super::fixtures::rx(&oxy, 0), &oxy, 30);
    r.prescribed.schedule = None;
    r.prescription.prescriber.dea = None;
    let d = eval_fill(&r, &ctx("2026-03-10T10:00:00"));
    expect("controlled fields checked", &d, "RX-FIELDS-01", Some(Block));
}

#[test]
fn void_prescriptions_and_zero_quantities() {
    for p in [oxycodone(), alprazolam(), atorvastatin()] {
        let mut rx = rx(&p, 1);
        rx.void = true;
        expect(
            &p.name,
            &eval_fill(&fill(rx.clone(), &p, 30), &ctx("2026-03-10T10:00:00")),
            "RX-REFILLS-01",
            Some(Block),
        );
        let req = Request::Transfer(TransferRequest {
            schema_version: SchemaVersion::CURRENT,
            prescription: rx,
            product: p.clone(),
            to_pharmacy: PharmacyId::new(2),
        });
        expect(
            &p.name,
            &evaluate(&req, &ctx("2026-03-10T10:00:00")),
            "RX-REFILLS-01",
            Some(Block),
        );
        expect(
            "zero units",
            &eval_fill(
                &fill(super::fixtures::rx(&p, 1), &p, 0),
                &ctx("2026-03-10T10:00:00"),
            ),
            "RX-QTY-01",
            Some(Block),
        );
    }
}

#[test]
fn dur_override_needs_all_three_codes() {
    let p = atorvastatin();
    let mut r = fill(rx(&p, 5), &p, 30);
    r.dur_alerts = vec![DurAlert {
        reason: "DD".into(),
        severity: DurSeverity::Major,
        message: "x".into(),
    }];
    r.overrides = vec![Override {
        rule: RuleId::RxDur01,
        reason_code: "DD".into(),
        pharmacist: "RPH-1".into(),
        note: String::new(),
        dur: Some(DurPps {
            reason: "DD".into(),
            service: " ".into(),
            result: "1G".into(),
        }),
    }];
    assert_eq!(
        eval_fill(&r, &ctx("2026-03-10T10:00:00")).outcome,
        RequireOverride
    );
}
