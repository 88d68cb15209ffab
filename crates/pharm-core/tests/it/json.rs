//! Every type serializes to JSON and back; untrusted JSON and extreme values never panic.

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::fixtures::*;
use pharm_core::ids::PharmacyId;
use pharm_core::model::*;
use pharm_core::rules::*;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, value, "{text}");
}

#[test]
fn model_and_rule_types_round_trip() {
    for p in [
        atorvastatin(),
        lipitor(),
        oxycodone(),
        apap_codeine(),
        alprazolam(),
        pregabalin(),
        codeine_syrup(),
        pse30(),
        ibuprofen(),
    ] {
        round_trip(&p);
        let mut r = rx(&p, 3);
        r.fills = vec![Fill {
            partial: Some(PartialPathway::PatientRequest),
            ..fill_record("2026-03-02T10:00:00", 10, &p)
        }];
        r.transfers = vec![Transfer {
            date: date("2026-03-03"),
            from_pharmacy: PharmacyId::new(1),
            to_pharmacy: PharmacyId::new(2),
            initial_fill: false,
        }];
        round_trip(&r);
        round_trip(&lot(&p, "L1", "2027-05", 10));
        round_trip(&lot(&p, "L2", "2027-05-31", -3));
    }
    for state in ["US", "TX", "CA", "NY", "MA", "IL", "MN", "AK"] {
        round_trip(&StateProfile::preset(state).unwrap());
    }
    let mut c = offline(ctx("2026-03-10T10:00:00"), "2026-03-10T06:00:00");
    c.pharmacy.shares_realtime_db_with = vec![PharmacyId::new(2)];
    round_trip(&c);
    for d in [DawCode::NoSelection, DawCode::PlanRequestsBrand] {
        round_trip(&d);
    }
    assert!(serde_json::from_str::<DawCode>("10").is_err());
    for id in RuleId::ALL {
        round_trip(id);
        assert_eq!(id.as_str().parse::<RuleId>().unwrap(), *id);
        assert!(!id.source().is_empty());
    }
    assert!(serde_json::from_str::<RuleId>("\"NOPE-01\"").is_err());
}

#[test]
fn decision_json_form_is_documented_shape() {
    let p = oxycodone();
    let d = eval_fill(
        &fill(rx(&p, 0), &p, 30),
        &offline(ctx("2026-03-10T10:00:00"), "2026-03-10T06:00:00"),
    );
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["outcome"], "require_override");
    assert_eq!(v["offline"], true);
    assert_eq!(v["findings"][0]["rule"], "CS-OFFLINE-01");
    assert_eq!(v["findings"][0]["outcome"], "require_override");
    assert!(v["findings"][0]["source"].is_string());
    assert_eq!(v["follow_ups"][0]["kind"], "reconciliation");
    assert!(v["beyond_use_date"].is_string());
    round_trip(&d);
}

/// Strategy: a valid fill request with its numbers and dates pushed anywhere.
fn wild_fill() -> impl Strategy<Value = (FillRequest, Context)> {
    let products = prop_oneof![
        Just(atorvastatin()),
        Just(oxycodone()),
        Just(apap_codeine()),
        Just(alprazolam()),
        Just(pregabalin())
    ];
    (
        products,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec((any::<u32>(), -40_000i64..40_000), 0..6),
        -3_000_000i64..3_000_000,
        any::<u8>(),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(
            |(p, qty, ds, refills, fills, issue_shift, flags, earliest)| {
                let mut rx = rx(&p, refills);
                rx.quantity = qty % 4 * (qty / 4);
                rx.issue_date = rx.issue_date.add_days(issue_shift);
                rx.earliest_fill_date = earliest.map(|d| rx.issue_date.add_days(i64::from(d)));
                rx.origin = [
                    RxOrigin::Written,
                    RxOrigin::Electronic,
                    RxOrigin::Oral,
                    RxOrigin::EmergencyOral,
                    RxOrigin::Fax,
                ][usize::from(flags % 5)];
                rx.fills = fills
                    .iter()
                    .map(|(q, shift)| Fill {
                        at: at("2026-03-01T10:00:00").add_hours(*shift),
                        quantity: *q,
                        days_supply: q / 3,
                        ndc: p.ndc,
                        partial: (q % 2 == 0).then_some(PartialPathway::UnableToSupply),
                        fill_number: None,
                    })
                    .collect();
                let mut r = fill(rx, &p, qty);
                r.days_supply = ds;
                if flags & 32 != 0 {
                    r.payment = Payment::Insurance {
                        payer: "P".into(),
                        rts_percent: refills,
                        max_days_supply: qty,
                    };
                }
                r.partial = (flags & 8 != 0).then_some(PartialPathway::LtcfOrTerminal);
                r.lots = vec![lot(&p, "A", "2026-12", i64::from(qty) - 5)];
                r.picks = vec![LotPick {
                    lot_number: "A".into(),
                    quantity: qty,
                }];
                let mut c = ctx_in("2026-03-10T10:00:00", StateProfile::texas());
                c.now = c.now.add_hours(issue_shift / 7);
                if flags & 16 != 0 {
                    c.connectivity = Connectivity::Offline { since: c.now };
                }
                c.policy.cash_rts_percent = ds;
                c.policy.controlled_rts_percent = refills;
                (r, c)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn evaluate_never_panics_on_extreme_values((r, c) in wild_fill()) {
        let d = eval_fill(&r, &c);
        // The outcome is always the most severe effective finding.
        let worst = d.findings.iter().map(|f| f.effective()).max().unwrap_or(Outcome::Allow);
        prop_assert_eq!(d.outcome, worst);
        // Evaluation is deterministic.
        prop_assert_eq!(eval_fill(&r, &c), d);
    }

    #[test]
    fn untrusted_json_never_panics(text in ".{0,200}") {
        let _ = serde_json::from_str::<Request>(&text);
        let _ = serde_json::from_str::<Context>(&text);
        let _ = serde_json::from_str::<Decision>(&text);
    }

    #[test]
    fn corrupted_request_json_never_panics(cut in 0usize..4000, byte in any::<u8>()) {
        let p = oxycodone();
        let text = serde_json::to_string(&Request::Fill(fill(rx(&p, 0), &p, 30))).unwrap();
        let mut bytes = text.into_bytes();
        let i = cut % bytes.len();
        bytes[i] = byte;
        if let Ok(Ok(req)) = std::str::from_utf8(&bytes).map(serde_json::from_str::<Request>) {
            let _ = evaluate(&req, &ctx("2026-03-10T10:00:00"));
        }
    }
}

#[test]
fn lot_forecast_and_barcode_types_refuse_unknown_fields() {
    use pharm_core::fefo::{AllocationError, AllocationPolicy};
    use pharm_core::forecast::ForecastParams;

    let policy = r#"{"allow_spill": false, "removal_lead_days": 0, "days_supply": null"#;
    assert!(serde_json::from_str::<AllocationPolicy>(&format!("{policy}}}")).is_ok());
    assert!(
        serde_json::from_str::<AllocationPolicy>(&format!("{policy}, \"alow_spill\": true}}"))
            .is_err()
    );
    let zero = r#"{"kind": "zero_quantity""#;
    assert!(serde_json::from_str::<AllocationError>(&format!("{zero}}}")).is_ok());
    assert!(
        serde_json::from_str::<AllocationError>(&format!("{zero}, \"requested\": 0}}")).is_err()
    );
    let params = serde_json::to_value(ForecastParams::default()).unwrap();
    let mut bad = params.clone();
    bad["window"] = serde_json::json!(7);
    assert!(serde_json::from_value::<ForecastParams>(params).is_ok());
    assert!(serde_json::from_value::<ForecastParams>(bad).is_err());
}
