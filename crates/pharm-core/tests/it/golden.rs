//! Golden vectors shared by the Rust, C and Python tests: `testdata/golden/decisions.json`
//! at the repository root holds requests, contexts and the exact decision JSON expected.
//!
//! Regenerate after an intended behaviour change with
//! `PHARM_BLESS=1 cargo test -p pharm-core --test it golden` and review the diff.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fixtures::*;
use pharm_core::contract::SchemaVersion;
use pharm_core::model::*;
use pharm_core::rules::*;

#[derive(Serialize, Deserialize)]
struct Case {
    name: String,
    request: Value,
    context: Value,
    decision: Value,
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golden/decisions.json")
}

fn cases() -> Vec<(&'static str, Request, Context)> {
    let now = "2026-03-10T10:00:00";
    let a = atorvastatin();
    let oxy = oxycodone();
    // Refills of prescriptions written before their earlier fills.
    let written = |mut rx: Prescription, day: &str| {
        rx.issue_date = date(day);
        rx.issued_at = Some(at(&format!("{day}T09:00:00")));
        rx
    };
    let mut refill = written(rx(&a, 5), "2026-01-15");
    refill.fills = vec![fill_record("2026-02-10T10:00:00", 30, &a)];
    let mut too_soon = rx(&a, 5);
    too_soon.fills = vec![fill_record("2026-03-01T10:00:00", 30, &a)];
    let mut partial = rx(&oxy, 0);
    partial.fills = vec![Fill {
        partial: Some(PartialPathway::UnableToSupply),
        ..fill_record("2026-03-08T10:00:00", 10, &oxy)
    }];
    let mut late_partial = partial.clone();
    late_partial.fills[0].at = at("2026-03-07T09:59:59");
    let mut cii_refill = written(rx(&oxy, 0), "2026-02-01");
    cii_refill.fills = vec![fill_record("2026-02-08T10:00:00", 30, &oxy)];
    let mut daw1 = rx(&lipitor(), 2);
    daw1.daw = DawCode::PrescriberRequiresBrand;
    let mut daw1_req = fill(daw1, &lipitor(), 30);
    daw1_req.dispensed = a.clone();
    let mut lots_req = fill(refill.clone(), &a, 30);
    lots_req.lots = vec![
        lot(&a, "EXP1", "2026-03-09", 50),
        lot(&a, "GOOD", "2027-01-31", 50),
    ];
    lots_req.picks = vec![LotPick {
        lot_number: "EXP1".into(),
        quantity: 30,
    }];
    let mut fefo_req = fill(refill.clone(), &a, 30);
    fefo_req.lots = vec![
        lot(&a, "LATE", "2027-06-30", 50),
        lot(&a, "EARLY", "2026-12-31", 50),
    ];
    fefo_req.picks = vec![LotPick {
        lot_number: "LATE".into(),
        quantity: 30,
    }];
    let mut claim = fill(too_soon.clone(), &a, 30);
    claim.payment = Payment::Insurance {
        payer: "BIN-610014".into(),
        rts_percent: 80,
        max_days_supply: 34,
    };
    let mut tx_pmp = fill(rx(&oxy, 0), &oxy, 30);
    tx_pmp.pmp = PmpStatus::Unavailable {
        reason: "timeout".into(),
    };
    let mut dur = fill(refill.clone(), &a, 30);
    dur.dur_alerts = vec![DurAlert {
        reason: "DD".into(),
        severity: DurSeverity::Major,
        message: "simvastatin duplicate".into(),
    }];
    dur.overrides = vec![Override {
        rule: RuleId::RxDur01,
        reason_code: "DD".into(),
        pharmacist: "RPH-7".into(),
        note: "prescriber consulted".into(),
        dur: Some(DurPps {
            reason: "DD".into(),
            service: "M0".into(),
            result: "1G".into(),
        }),
    }];
    let pse = OtcSaleRequest {
        schema_version: SchemaVersion::CURRENT,
        product: pse30(),
        quantity: 24,
        picks: vec![],
        lots: vec![],
        purchaser: Some(Purchaser {
            key: "DL-TX-42".into(),
            name: "Dee Lee".into(),
            address: Some(address()),
            birth_date: Some(date("1985-02-02")),
            photo_id: Some(PhotoId {
                kind: "drivers_license".into(),
                issuer: "TX".into(),
                number: "42".into(),
            }),
            known_to_pharmacist: false,
        }),
        purchaser_history: vec![PurchaseRecord {
            at: at("2026-03-10T08:00:00"),
            chemical: Some((ListedChemicalKind::Pseudoephedrine, 123 * 24_577)),
            cv_units: 0,
            cv_ml: 0,
            cv_opium: false,
        }],
        logbook: Some(LogbookEntry {
            purchaser_name: "Dee Lee".into(),
            purchaser_address: "1 Main St, Austin TX".into(),
            at: Some(at(now)),
            product_name: "Pseudoephedrine HCl 30 mg".into(),
            quantity: 24,
            signed: true,
        }),
        seller_is_pharmacist: false,
        nplex: NplexResult::Approved,
        overrides: vec![],
    };
    let mut pse_offline = pse.clone();
    pse_offline.purchaser_history.clear();
    let off = |c: Context| offline(c, "2026-03-10T06:00:00");
    let mut fefo_reason = fefo_req.clone();
    fefo_reason.overrides = vec![Override {
        rule: RuleId::LotFefo01,
        reason_code: "PATIENT-PREF".into(),
        pharmacist: "RPH-7".into(),
        note: "patient asked for the longer-dated lot".into(),
        dur: None,
    }];
    let mut future_fill = rx(&oxy, 0);
    future_fill.fills = vec![Fill {
        partial: Some(PartialPathway::UnableToSupply),
        ..fill_record("2026-12-01T10:00:00", 10, &oxy)
    }];
    let mut emergency = rx(&oxy, 0);
    emergency.rx_number = "RX-200".into();
    emergency.origin = RxOrigin::EmergencyOral;
    emergency.issue_date = date("2026-03-01");
    emergency.issued_at = None;
    emergency.quantity = 9;
    emergency.fills = vec![fill_record("2026-03-01T18:00:00", 9, &oxy)];
    let mut followed_up = emergency.clone();
    followed_up.rx_number = "RX-201".into();
    followed_up.emergency_followup = Some(EmergencyFollowUp {
        received: date("2026-03-06"),
        reference: "RX-301".into(),
    });
    let mut handed = rx(&oxy, 0);
    handed.fills = vec![fill_record("2026-03-10T09:00:00", 30, &oxy)];
    vec![
        (
            "non-controlled refill allowed",
            Request::Fill(fill(refill.clone(), &a, 30)),
            ctx(now),
        ),
        (
            "cash refill too soon warns",
            Request::Fill(fill(too_soon, &a, 30)),
            ctx(now),
        ),
        (
            "claim refill too soon needs override",
            Request::Fill(claim.clone()),
            ctx(now),
        ),
        (
            "offline claim is queued",
            Request::Fill(claim),
            off(ctx(now)),
        ),
        (
            "CII partial remainder within 72 h",
            Request::Fill(fill(partial, &oxy, 20)),
            ctx(now),
        ),
        (
            "CII partial remainder after 72 h",
            Request::Fill(fill(late_partial, &oxy, 20)),
            ctx(now),
        ),
        (
            "CII refill blocked",
            Request::Fill(fill(cii_refill, &oxy, 30)),
            ctx(now),
        ),
        (
            "CII offline needs override",
            Request::Fill(fill(rx(&oxy, 0), &oxy, 30)),
            off(ctx(now)),
        ),
        (
            "TX PMP unavailable",
            Request::Fill(tx_pmp),
            ctx_in(now, StateProfile::texas()),
        ),
        (
            "DAW 1 substitution blocked",
            Request::Fill(daw1_req),
            ctx(now),
        ),
        ("expired lot blocked", Request::Fill(lots_req), ctx(now)),
        ("non-FEFO lot warns", Request::Fill(fefo_req), ctx(now)),
        (
            "non-FEFO lot with a recorded reason",
            Request::Fill(fefo_reason),
            ctx(now),
        ),
        (
            "fill dated after now blocked",
            Request::Fill(fill(future_fill, &oxy, 20)),
            ctx(now),
        ),
        (
            "CIV intake caps refills at 5",
            Request::Intake(IntakeRequest {
                schema_version: SchemaVersion::CURRENT,
                prescription: rx(&alprazolam(), 11),
                product: alprazolam(),
            }),
            ctx(now),
        ),
        (
            "compliance: emergency follow-ups and PMP reports",
            Request::Compliance(ComplianceRequest {
                schema_version: SchemaVersion::CURRENT,
                prescriptions: vec![emergency, followed_up],
                pending_reports: vec![
                    PendingPmpReport {
                        rx_number: "RX-150".into(),
                        due: at("2026-03-09T18:00:00"),
                    },
                    PendingPmpReport {
                        rx_number: "RX-151".into(),
                        due: at("2026-03-11T09:00:00"),
                    },
                ],
            }),
            ctx(now),
        ),
        ("major DUR overridden", Request::Fill(dur), ctx(now)),
        ("PSE over daily limit", Request::OtcSale(pse), ctx(now)),
        (
            "PSE offline in Texas",
            Request::OtcSale(pse_offline),
            off(ctx_in(now, StateProfile::texas())),
        ),
        (
            "TX CII hand-off without ID",
            Request::HandOff(HandOffRequest {
                schema_version: SchemaVersion::CURRENT,
                prescription: handed,
                product: oxy.clone(),
                pickup_id: None,
                payment: Payment::Cash,
            }),
            ctx_in(now, StateProfile::texas()),
        ),
        (
            "MN zero report",
            Request::EndOfDay(EndOfDayRequest {
                schema_version: SchemaVersion::CURRENT,
                date: date("2026-03-10"),
                reportable_dispenses: 0,
                pending_reports: vec![],
            }),
            ctx_in("2026-03-10T21:00:00", StateProfile::minnesota()),
        ),
    ]
}

fn build() -> Vec<Case> {
    cases()
        .into_iter()
        .map(|(name, request, context)| Case {
            name: name.into(),
            decision: serde_json::to_value(evaluate(&request, &context)).unwrap(),
            request: serde_json::to_value(&request).unwrap(),
            context: serde_json::to_value(&context).unwrap(),
        })
        .collect()
}

#[test]
fn golden_vectors_match_the_engine() {
    if std::env::var_os("PHARM_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&build()).unwrap() + "\n";
        std::fs::create_dir_all(path().parent().unwrap()).unwrap();
        std::fs::write(path(), text).unwrap();
    }
    let text = std::fs::read_to_string(path())
        .expect("testdata/golden/decisions.json (bless with PHARM_BLESS=1)");
    let stored: Vec<Case> = serde_json::from_str(&text).unwrap();
    assert!(stored.len() >= 21);
    for case in &stored {
        let request: Request = serde_json::from_value(case.request.clone()).unwrap();
        let context: Context = serde_json::from_value(case.context.clone()).unwrap();
        // The stored JSON is exactly what serializing the parsed value gives (lossless form).
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            case.request,
            "{}: request form",
            case.name
        );
        assert_eq!(
            serde_json::to_value(&context).unwrap(),
            case.context,
            "{}: context form",
            case.name
        );
        let decision = evaluate(&request, &context);
        assert_eq!(
            serde_json::to_value(&decision).unwrap(),
            case.decision,
            "{}: decision",
            case.name
        );
        let back: Decision = serde_json::from_value(case.decision.clone()).unwrap();
        assert_eq!(back, decision, "{}: decision round trip", case.name);
    }
    // The fixtures still produce the stored vectors (catches fixture drift).
    let fresh = build();
    assert_eq!(fresh.len(), stored.len());
    for (f, s) in fresh.iter().zip(&stored) {
        assert_eq!(f.name, s.name);
        assert_eq!(f.decision, s.decision, "{}", f.name);
    }
}
