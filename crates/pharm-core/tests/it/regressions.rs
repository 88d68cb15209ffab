//! Regression tests for the defects of issue 9 (items 1-8), one or more per item. Each
//! reproduces the reported wrong answer and fails on the code before the fix; they use
//! only the public API, or the JSON form where the fix added fields.

use serde_json::{Value, json};

use crate::fixtures::*;
use pharm_core::model::*;
use pharm_core::rules::*;
use pharm_core::time::{Date, DateTime};

fn to_json(d: &Decision) -> Value {
    serde_json::to_value(d).unwrap()
}

/// Item 1: two CII partial-fill portions given newest first turned the block of a
/// remainder after the 72-hour window into an allow.
#[test]
fn item1_cii_portions_newest_first_still_block_after_72_hours() {
    let oxy = oxycodone();
    let mut first = fill_record("2026-03-02T10:00:00", 10, &oxy);
    first.partial = Some(PartialPathway::UnableToSupply);
    let second = fill_record("2026-03-04T10:00:00", 10, &oxy);
    let mut chronological = rx(&oxy, 0);
    chronological.fills = vec![first.clone(), second.clone()];
    let mut newest_first = chronological.clone();
    newest_first.fills = vec![second, first];
    let now = "2026-03-05T12:00:00"; // 74 h after the first portion, 26 h after the second
    for rx in [chronological, newest_first] {
        let mut r = fill(rx, &oxy, 10);
        r.pmp = PmpStatus::Queried { at: at(now) };
        let d = eval_fill(&r, &ctx(now));
        expect(
            "remainder after 72 h",
            &d,
            "CS2-PARTIAL-SUPPLY-01",
            Some(Block),
        );
    }
}

/// Item 1: the refill-too-soon warning disappeared when fills were not chronological.
#[test]
fn item1_refill_too_soon_regardless_of_fill_order() {
    let a = atorvastatin();
    let mut newest_first = rx(&a, 5);
    newest_first.issue_date = date("2026-01-01");
    newest_first.issued_at = None;
    newest_first.fills = vec![
        fill_record("2026-03-01T10:00:00", 30, &a),
        fill_record("2026-01-30T10:00:00", 30, &a),
    ];
    let d = eval_fill(&fill(newest_first, &a, 30), &ctx("2026-03-10T10:00:00"));
    expect(
        "refill 9 days after the last fill",
        &d,
        "RX-RTS-01",
        Some(Warn),
    );
}

/// Item 2: a fill dated after now (a CII first portion in December evaluated in March)
/// was accepted with no finding.
#[test]
fn item2_fill_dated_after_now_is_a_data_integrity_block() {
    let oxy = oxycodone();
    let mut rx = rx(&oxy, 0);
    let mut december = fill_record("2026-12-01T10:00:00", 10, &oxy);
    december.partial = Some(PartialPathway::UnableToSupply);
    rx.fills = vec![december];
    let now = "2026-03-10T10:00:00";
    let mut r = fill(rx, &oxy, 20);
    r.pmp = PmpStatus::Queried { at: at(now) };
    let d = eval_fill(&r, &ctx(now));
    expect("future fill", &d, "DATA-FUTURE-01", Some(Block));
    assert_eq!(d.outcome, Block);
}

/// Item 2: `days_supply: 0` was allowed (only quantity 0 was checked).
#[test]
fn item2_zero_days_supply_is_blocked() {
    let a = atorvastatin();
    let mut r = fill(rx(&a, 5), &a, 30);
    r.days_supply = 0;
    let d = eval_fill(&r, &ctx("2026-03-10T10:00:00"));
    expect("zero days supply", &d, "DATA-ZERO-01", Some(Block));
}

/// Item 2: a negative `unit_price` was accepted, and a decimal with more digits than the
/// type keeps was silently rounded.
#[test]
fn item2_negative_and_over_precise_prices_are_rejected() {
    let a = atorvastatin();
    let request = serde_json::to_value(Request::Fill(fill(rx(&a, 5), &a, 30))).unwrap();
    for price in ["-1.25", "0.00000000000000000000000000001"] {
        let mut bad = request.clone();
        bad["dispensed"]["unit_price"] = json!(price);
        assert!(
            serde_json::from_value::<Request>(bad).is_err(),
            "unit_price {price} accepted"
        );
    }
}

/// Item 3: a product with a misspelled flag (`"ntii": true`) loaded with `nti = false`.
#[test]
fn item3_unknown_fields_are_rejected() {
    let a = atorvastatin();
    let mut request = serde_json::to_value(Request::Fill(fill(rx(&a, 5), &a, 30))).unwrap();
    request["prescribed"]["ntii"] = json!(true);
    let err = serde_json::from_value::<Request>(request).unwrap_err();
    assert!(err.to_string().contains("ntii"), "{err}");
}

/// Item 3: there was no schema version anywhere.
#[test]
fn item3_requests_and_decisions_carry_a_schema_version() {
    let a = atorvastatin();
    let r = fill(rx(&a, 5), &a, 30);
    let request = serde_json::to_value(Request::Fill(r.clone())).unwrap();
    assert_eq!(request["schema_version"], json!(2));
    let d = to_json(&eval_fill(&r, &ctx("2026-03-10T10:00:00")));
    assert_eq!(d["schema_version"], json!(2));
}

fn emergency_rx() -> Prescription {
    let mut rx = rx(&oxycodone(), 0);
    rx.origin = RxOrigin::EmergencyOral;
    rx.emergency_period_days = Some(3);
    rx.quantity = 9;
    rx.issued_at = None; // order time not recorded
    rx
}

/// Item 4: without a recorded order time the follow-up deadline was midnight at the start
/// of day 7, so the engine said "notify DEA" on the last valid day.
#[test]
fn item4_follow_up_is_due_at_the_end_of_day_seven() {
    let now = "2026-03-08T10:00:00"; // day 7 after the 2026-03-01 oral order
    let mut r = fill(emergency_rx(), &oxycodone(), 3);
    r.days_supply = 3;
    r.pmp = PmpStatus::Queried { at: at(now) };
    let d = eval_fill(&r, &ctx(now));
    expect("day 7, 10:00", &d, "CS2-EMERG-02", None);
    let late = "2026-03-09T00:00:00";
    r.pmp = PmpStatus::Queried { at: at(late) };
    expect(
        "day 8",
        &eval_fill(&r, &ctx(late)),
        "CS2-EMERG-02",
        Some(Warn),
    );
}

/// Item 4: the same midnight default shortened the 72-hour remainder window.
#[test]
fn item4_remainder_window_is_not_shortened_by_a_missing_time() {
    let mut rx = emergency_rx();
    let mut first = fill_record("2026-03-01T18:00:00", 3, &oxycodone());
    first.partial = Some(PartialPathway::PatientRequest);
    rx.fills = vec![first];
    // 72 h after midnight of the issue day, but possibly within 72 h of the order.
    let now = "2026-03-04T12:00:00";
    let mut r = fill(rx, &oxycodone(), 3);
    r.days_supply = 3;
    r.pmp = PmpStatus::Queried { at: at(now) };
    let d = eval_fill(&r, &ctx(now));
    assert_ne!(
        outcome_of(&d, "CS2-PARTIAL-REQ-02"),
        Some(Block),
        "{:#?}",
        d.findings
    );
}

/// Item 5: there was no way to ask what is due on a prescription without a fill, and no
/// way to resolve the obligation when the written follow-up arrives.
#[test]
fn item5_compliance_request_reports_and_resolves_obligations() {
    let mut rx = serde_json::to_value(emergency_rx()).unwrap();
    let request = |rx: &Value| {
        serde_json::from_value::<Request>(json!({
            "type": "compliance",
            "schema_version": 2,
            "prescriptions": [rx],
            "pending_reports": [],
        }))
        .unwrap()
    };
    let d = to_json(&evaluate(&request(&rx), &ctx("2026-03-09T18:00:00")));
    assert_eq!(d["outcome"], json!("warn"));
    assert_eq!(d["obligations"][0]["status"], json!("overdue"));
    rx["emergency_followup"] = json!({"received": "2026-03-06", "reference": "RX-101"});
    let d = to_json(&evaluate(&request(&rx), &ctx("2026-03-09T18:00:00")));
    assert_eq!(d["outcome"], json!("allow"));
    assert_eq!(d["obligations"][0]["status"], json!("satisfied"));
    assert_eq!(d["obligations"][0]["resolved_by"], json!("RX-101"));
}

/// Item 6: a non-FEFO pick warns "reason required", but the decision neither said so nor
/// recorded the reason given with an override.
#[test]
fn item6_non_fefo_pick_requires_and_records_a_reason() {
    let a = atorvastatin();
    let mut refill = rx(&a, 5);
    refill.issue_date = date("2026-01-01");
    refill.issued_at = None;
    refill.fills = vec![fill_record("2026-02-05T10:00:00", 30, &a)];
    let mut r = fill(refill, &a, 30);
    r.lots = vec![
        lot(&a, "LATE", "2027-06-30", 50),
        lot(&a, "EARLY", "2026-12-31", 50),
    ];
    r.picks = vec![LotPick {
        lot_number: "LATE".into(),
        quantity: 30,
    }];
    let c = ctx("2026-03-10T10:00:00");
    let d = to_json(&eval_fill(&r, &c));
    assert_eq!(d["findings"][0]["rule"], json!("LOT-FEFO-01"));
    assert_eq!(d["findings"][0]["reason_required"], json!(true));
    r.overrides = vec![Override {
        rule: "LOT-FEFO-01".parse().unwrap(),
        reason_code: "PATIENT-PREF".into(),
        pharmacist: "RPH-7".into(),
        note: "patient asked for the longer-dated lot".into(),
        dur: None,
    }];
    let d = to_json(&eval_fill(&r, &c));
    assert_eq!(
        d["findings"][0]["overridden"]["reason_code"],
        json!("PATIENT-PREF")
    );
    assert_eq!(d["findings"][0]["overridden"]["pharmacist"], json!("RPH-7"));
    assert_eq!(d["outcome"], json!("warn"));
}

/// Item 7: PSE base milligrams per window existed only in message text.
#[test]
fn item7_listed_chemical_figures_are_fields() {
    let purchaser = Purchaser {
        key: "K".into(),
        name: "Dee Lee".into(),
        address: Some(address()),
        birth_date: Some(date("1985-02-02")),
        photo_id: Some(PhotoId {
            kind: "drivers_license".into(),
            issuer: "TX".into(),
            number: "42".into(),
        }),
        known_to_pharmacist: false,
    };
    let mut sale = serde_json::to_value(Request::OtcSale(OtcSaleRequest {
        schema_version: Default::default(),
        product: pse30(),
        quantity: 24,
        picks: vec![],
        lots: vec![],
        purchaser: Some(purchaser),
        purchaser_history: vec![],
        logbook: None,
        seller_is_pharmacist: false,
        nplex: NplexResult::Approved,
        overrides: vec![],
    }))
    .unwrap();
    sale["purchaser_history"] = json!([{
        "at": "2026-03-01T08:00:00", "chemical": ["pseudoephedrine", 2_000_000],
        "cv_units": 0, "cv_ml": 0, "cv_opium": false,
    }]);
    let sale: Request = serde_json::from_value(sale).unwrap();
    let d = to_json(&evaluate(&sale, &ctx("2026-03-10T10:00:00")));
    let pse = &d["figures"]["listed_chemical"];
    assert_eq!(pse["sale_ug"], json!(24 * 24_577));
    assert_eq!(pse["day"]["total_ug"], json!(24 * 24_577));
    assert_eq!(pse["day"]["limit_ug"], json!(3_600_000));
    assert_eq!(pse["rolling"]["total_ug"], json!(24 * 24_577 + 2_000_000));
    assert_eq!(pse["rolling"]["limit_ug"], json!(9_000_000));
}

/// Item 7: the capped refill count at intake existed only in message text.
#[test]
fn item7_capped_refills_at_intake_are_a_field() {
    let p = alprazolam();
    let mut request = serde_json::to_value(Request::Fill(fill(rx(&p, 11), &p, 30))).unwrap();
    let body = request.as_object_mut().unwrap();
    body.insert("type".into(), json!("intake"));
    let product = body.remove("prescribed").unwrap();
    body.insert("product".into(), product);
    body.retain(|k, _| ["type", "schema_version", "prescription", "product"].contains(&k.as_str()));
    let intake: Request = serde_json::from_value(request).unwrap();
    let d = to_json(&evaluate(&intake, &ctx("2026-03-02T10:00:00")));
    assert_eq!(d["figures"]["refills"]["authorized"], json!(11));
    assert_eq!(d["figures"]["refills"]["allowed"], json!(5));
}

/// Item 8: `Date::add_days(i64::MAX)` overflowed, and so did differences of saturated
/// timestamps; the documentation promises saturation.
#[test]
fn item8_date_and_time_arithmetic_saturates() {
    let day = date("2026-03-01");
    assert_eq!(day.add_days(i64::MAX), date("9999-12-31"));
    assert_eq!(day.add_days(i64::MIN), date("1900-01-01"));
    let late = at("2026-03-01T10:00:00").add_hours(i64::MAX);
    let early = at("2026-03-01T10:00:00").add_hours(i64::MIN);
    assert_eq!(late.to_string(), "9999-12-31T23:59:59");
    assert_eq!(early.to_string(), "1900-01-01T00:00:00");
    assert!(late.seconds_since(early) > 0);
    assert!(early.seconds_since(late) < 0);
    assert!(late.hours_since(early) > 0);
    assert!(late.more_than_hours_after(early, 24));
    assert_eq!(late.date(), Date::from_ymd(9999, 12, 31).unwrap());
    let _: DateTime = late;
}
