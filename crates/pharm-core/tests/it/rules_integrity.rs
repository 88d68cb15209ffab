//! Data integrity (DATA-FUTURE-01, DATA-ZERO-01, DATA-HISTORY-01) at their boundaries, and
//! the law that the order of a fill history never changes a decision.

use proptest::prelude::*;

use crate::fixtures::*;
use pharm_core::ids::PharmacyId;
use pharm_core::model::*;
use pharm_core::rules::*;

const NOW: &str = "2026-03-10T10:00:00";

fn refill_with(fills: Vec<Fill>) -> Decision {
    let a = atorvastatin();
    let mut rx = rx(&a, 5);
    rx.fills = fills;
    eval_fill(&fill(rx, &a, 30), &ctx(NOW))
}

#[test]
fn records_after_now_beyond_the_clock_skew_tolerance_block() {
    let a = atorvastatin();
    for (when, expected) in [
        ("2026-03-10T10:05:00", None), // 300 s: terminal clocks drift
        ("2026-03-10T10:05:01", Some(Block)),
        ("2026-12-01T10:00:00", Some(Block)),
    ] {
        let d = refill_with(vec![fill_record(when, 30, &a)]);
        expect(when, &d, "DATA-FUTURE-01", expected);
    }
    // Transfers and a linked follow-up dated after today.
    let mut rx = rx(&a, 5);
    rx.transfers = vec![Transfer {
        date: date("2026-03-11"),
        from_pharmacy: PharmacyId::new(1),
        to_pharmacy: PharmacyId::new(2),
        initial_fill: false,
    }];
    expect(
        "transfer tomorrow",
        &eval_fill(&fill(rx, &a, 30), &ctx(NOW)),
        "DATA-FUTURE-01",
        Some(Block),
    );
    let mut rx = crate::fixtures::rx(&oxycodone(), 0);
    rx.origin = RxOrigin::EmergencyOral;
    rx.emergency_followup = Some(EmergencyFollowUp {
        received: date("2026-03-11"),
        reference: "RX-2".into(),
    });
    let req = Request::Compliance(ComplianceRequest {
        schema_version: Default::default(),
        prescriptions: vec![rx],
        pending_reports: vec![],
    });
    expect(
        "follow-up tomorrow",
        &evaluate(&req, &ctx(NOW)),
        "DATA-FUTURE-01",
        Some(Block),
    );
}

#[test]
fn purchase_records_after_now_block_and_are_not_counted() {
    let record = |when: &str| PurchaseRecord {
        at: at(when),
        chemical: Some((ListedChemicalKind::Pseudoephedrine, 10_000_000)),
        cv_units: 0,
        cv_ml: 0,
        cv_opium: false,
    };
    for (when, expected, rolling) in [
        ("2026-03-10T10:05:00", None, 10_000_000 + 24 * 24_577),
        ("2026-03-10T10:05:01", Some(Block), 24 * 24_577),
    ] {
        let r = Request::OtcSale(OtcSaleRequest {
            schema_version: Default::default(),
            product: pse30(),
            quantity: 24,
            picks: vec![],
            lots: vec![],
            purchaser: None,
            purchaser_history: vec![record(when)],
            logbook: None,
            seller_is_pharmacist: false,
            nplex: NplexResult::NotRequired,
            overrides: vec![],
        });
        let d = evaluate(&r, &ctx(NOW));
        expect(when, &d, "DATA-FUTURE-01", expected);
        let figures = d.figures.listed_chemical.unwrap();
        assert_eq!(figures.rolling.total_ug, rolling, "{when}");
    }
}

#[test]
fn zero_quantities_and_days_supply_block() {
    let a = atorvastatin();
    let ok = fill_record("2026-02-01T10:00:00", 30, &a);
    let cases = [
        ("valid history", ok.clone(), None),
        (
            "zero units",
            Fill {
                quantity: 0,
                ..ok.clone()
            },
            Some(Block),
        ),
        (
            "zero days",
            Fill {
                days_supply: 0,
                ..ok.clone()
            },
            Some(Block),
        ),
    ];
    for (name, f, expected) in cases {
        expect(name, &refill_with(vec![f]), "DATA-ZERO-01", expected);
    }
    let mut r = fill(rx(&a, 5), &a, 30);
    for (days, expected) in [(1, None), (0, Some(Block))] {
        r.days_supply = days;
        let d = eval_fill(&r, &ctx(NOW));
        expect(&format!("{days} days supply"), &d, "DATA-ZERO-01", expected);
    }
}

#[test]
fn contradictory_histories_block() {
    let a = atorvastatin();
    let numbered = |when: &str, n: u32| Fill {
        fill_number: Some(n),
        ..fill_record(when, 30, &a)
    };
    let cases = [
        (
            "numbers in order",
            vec![
                numbered("2026-01-05T10:00:00", 0),
                numbered("2026-02-05T10:00:00", 1),
            ],
            None,
        ),
        (
            "partials share a number",
            vec![
                numbered("2026-01-05T10:00:00", 1),
                numbered("2026-01-06T10:00:00", 1),
            ],
            None,
        ),
        (
            "refill numbers out of order",
            vec![
                numbered("2026-01-05T10:00:00", 2),
                numbered("2026-02-05T10:00:00", 1),
            ],
            Some(Block),
        ),
        (
            "given out of order, numbers agree with time",
            vec![
                numbered("2026-02-05T10:00:00", 1),
                numbered("2026-01-05T10:00:00", 0),
            ],
            None,
        ),
        (
            "fill before the prescription was written",
            vec![fill_record("2025-12-31T23:59:59", 30, &a)],
            Some(Block),
        ),
    ];
    for (name, fills, expected) in cases {
        let mut rx = rx(&a, 5);
        rx.issue_date = date("2026-01-01");
        rx.issued_at = None;
        rx.fills = fills;
        let d = eval_fill(&fill(rx, &a, 30), &ctx(NOW));
        expect(name, &d, "DATA-HISTORY-01", expected);
    }
    let mut other_day = rx(&a, 5);
    other_day.issued_at = Some(at("2026-03-02T09:00:00"));
    let d = eval_fill(&fill(other_day, &a, 30), &ctx(NOW));
    expect(
        "issue time on another day",
        &d,
        "DATA-HISTORY-01",
        Some(Block),
    );
}

/// A fill history of up to 6 fills, some of them impossible (future, zero, out of order).
fn history(p: Product) -> impl Strategy<Value = Vec<Fill>> {
    prop::collection::vec((0u32..40, 0u32..40, -2_000i64..300, any::<u8>()), 0..6).prop_map(
        move |raw| {
            raw.into_iter()
                .map(|(quantity, days_supply, hours, flags)| Fill {
                    at: at("2026-03-01T10:00:00").add_hours(hours),
                    quantity,
                    days_supply,
                    ndc: p.ndc,
                    partial: [
                        None,
                        Some(PartialPathway::UnableToSupply),
                        Some(PartialPathway::PatientRequest),
                        Some(PartialPathway::LtcfOrTerminal),
                    ][usize::from(flags % 4)],
                    fill_number: (flags & 4 != 0).then_some(u32::from(flags >> 4)),
                })
                .collect()
        },
    )
}

fn any_fill() -> impl Strategy<Value = (FillRequest, Vec<Fill>, Context)> {
    prop_oneof![
        Just(atorvastatin()),
        Just(oxycodone()),
        Just(apap_codeine()),
        Just(pregabalin()),
    ]
    .prop_flat_map(|p| (Just(p.clone()), history(p)))
    .prop_flat_map(|(p, fills)| {
        let shuffled = Just(fills.clone()).prop_shuffle();
        (
            Just(p),
            Just(fills),
            shuffled,
            1u32..40,
            any::<bool>(),
            -200i64..400,
        )
    })
    .prop_map(|(p, fills, shuffled, quantity, insured, now_shift)| {
        let mut rx = rx(&p, 3);
        rx.origin = if insured {
            RxOrigin::Electronic
        } else {
            RxOrigin::EmergencyOral
        };
        rx.issue_date = date("2026-02-20");
        rx.issued_at = None;
        rx.fills = fills;
        let mut r = fill(rx, &p, quantity);
        r.partial = Some(PartialPathway::UnableToSupply);
        if insured {
            r.payment = Payment::Insurance {
                payer: "P".into(),
                rts_percent: 80,
                max_days_supply: 34,
            };
        }
        let now = at("2026-03-05T10:00:00").add_hours(now_shift);
        r.pmp = PmpStatus::Queried { at: now };
        (r, shuffled, ctx(&now.to_string()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any permutation of a fill history gives the same decision, message text included.
    #[test]
    fn permuting_the_fill_history_never_changes_the_decision((r, shuffled, c) in any_fill()) {
        let given = eval_fill(&r, &c);
        let mut permuted = r.clone();
        permuted.prescription.fills = shuffled;
        prop_assert_eq!(eval_fill(&permuted, &c), given.clone());
        let mut reversed = r;
        reversed.prescription.fills.reverse();
        prop_assert_eq!(eval_fill(&reversed, &c), given);
    }
}

#[test]
fn freshness_timestamps_after_now_are_not_fresh() {
    let oxy = oxycodone();
    let mut rx = rx(&oxy, 0);
    let mut reg = rx.prescriber.registration.clone().unwrap();
    for (fetched, expected) in [
        ("2026-03-10T10:05:00", None),
        ("2026-03-10T10:05:01", Some(RequireOverride)),
    ] {
        reg.fetched_at = at(fetched);
        rx.prescriber.registration = Some(reg.clone());
        let mut r = fill(rx.clone(), &oxy, 30);
        r.pmp = PmpStatus::Queried { at: at(NOW) };
        expect(fetched, &eval_fill(&r, &ctx(NOW)), "DEA-REG-01", expected);
    }
    let a = atorvastatin();
    let mut r = fill(crate::fixtures::rx(&a, 5), &a, 30);
    r.lots = vec![lot(&a, "L1", "2027-01-31", 50)];
    r.picks = vec![LotPick {
        lot_number: "L1".into(),
        quantity: 30,
    }];
    for (feed, expected) in [
        ("2026-03-10T10:05:00", None),
        ("2026-03-10T10:05:01", Some(Warn)),
    ] {
        let mut c = ctx(NOW);
        c.recall_feed_as_of = Some(at(feed));
        expect(feed, &eval_fill(&r, &c), "LOT-STATUS-01", expected);
    }
    let mut r = fill(crate::fixtures::rx(&oxy, 0), &oxy, 30);
    r.pmp = PmpStatus::Queried {
        at: at("2026-03-10T11:00:00"),
    };
    let d = eval_fill(&r, &ctx_in(NOW, StateProfile::alaska()));
    expect("PMP query after now", &d, "CS-PMP-01", Some(Block));
}
