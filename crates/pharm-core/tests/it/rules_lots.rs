//! §9.6 lots and inventory.

use crate::fixtures::*;
use pharm_core::contract::SchemaVersion;
use pharm_core::model::*;
use pharm_core::rules::*;

const NOW: &str = "2026-03-10T10:00:00";

fn pick(number: &str, quantity: u32) -> LotPick {
    LotPick {
        lot_number: number.into(),
        quantity,
    }
}

fn with_lots(lots: Vec<Lot>, picks: Vec<LotPick>) -> FillRequest {
    let p = atorvastatin();
    let mut r = fill(rx(&p, 5), &p, 30);
    r.lots = lots;
    r.picks = picks;
    r
}

#[test]
fn expired_lots_never_reach_a_patient() {
    let p = atorvastatin();
    let cases = [
        ("expires today", "2026-03-10", None),
        ("expired yesterday", "2026-03-09", Some(Block)),
        ("month expiry, this month", "2026-03", None),
        ("month expiry, last month", "2026-02", Some(Block)),
    ];
    for (name, expiry, expected) in cases {
        let r = with_lots(vec![lot(&p, "A1", expiry, 100)], vec![pick("A1", 30)]);
        expect(name, &eval_fill(&r, &ctx(NOW)), "LOT-EXP-01", expected);
    }
    // Month expiry resolves to the month's last day.
    let r = with_lots(vec![lot(&p, "A1", "2026-03", 100)], vec![pick("A1", 30)]);
    expect(
        "month expiry on the last day",
        &eval_fill(&r, &ctx("2026-03-31T22:00:00")),
        "LOT-EXP-01",
        None,
    );
    expect(
        "month expiry the day after",
        &eval_fill(&r, &ctx("2026-04-01T08:00:00")),
        "LOT-EXP-01",
        Some(Block),
    );
}

#[test]
fn expired_and_held_stock_may_still_leave_for_destruction_or_return() {
    let mut expired = lot(&atorvastatin(), "OLD", "2025-12-31", 40);
    expired.status = LotStatus::Recalled;
    for kind in [StockMoveKind::Destroy, StockMoveKind::Return] {
        let req = Request::StockMove(StockMoveRequest {
            schema_version: SchemaVersion::CURRENT,
            kind,
            lot: expired.clone(),
            quantity: 40,
        });
        let d = evaluate(&req, &ctx(NOW));
        expect("expired move", &d, "LOT-EXP-01", Some(Allow));
        assert_eq!(d.outcome, Allow);
    }
    let req = Request::StockMove(StockMoveRequest {
        schema_version: SchemaVersion::CURRENT,
        kind: StockMoveKind::Destroy,
        lot: expired,
        quantity: 41,
    });
    expect(
        "more than on hand",
        &evaluate(&req, &ctx(NOW)),
        "INV-NEG-01",
        Some(Block),
    );
}

#[test]
fn held_lots_are_blocked_and_a_stale_recall_feed_warns() {
    let p = atorvastatin();
    for status in [
        LotStatus::Recalled,
        LotStatus::Quarantined,
        LotStatus::OnHold,
        LotStatus::Damaged,
        LotStatus::Destroyed,
        LotStatus::Active,
    ] {
        let mut l = lot(&p, "A1", "2027-01-31", 100);
        l.status = status;
        let expected = (status != LotStatus::Active).then_some(Block);
        expect(
            &format!("{status:?}"),
            &eval_fill(&with_lots(vec![l], vec![pick("A1", 30)]), &ctx(NOW)),
            "LOT-STATUS-01",
            expected,
        );
    }
    for (as_of, expected) in [
        (Some("2026-03-09T10:00:00"), None),
        (Some("2026-03-09T09:00:00"), Some(Warn)),
        (None, Some(Warn)),
    ] {
        let mut c = ctx(NOW);
        c.recall_feed_as_of = as_of.map(at);
        let r = with_lots(vec![lot(&p, "A1", "2027-01-31", 100)], vec![pick("A1", 30)]);
        expect(
            &format!("feed {as_of:?}"),
            &eval_fill(&r, &c),
            "LOT-STATUS-01",
            expected,
        );
    }
}

#[test]
fn fefo_removal_and_short_dated_warnings() {
    let p = atorvastatin();
    let lots = || {
        vec![
            lot(&p, "LATE", "2027-06-30", 100),
            lot(&p, "EARLY", "2026-12-31", 100),
        ]
    };
    expect(
        "FEFO pick",
        &eval_fill(&with_lots(lots(), vec![pick("EARLY", 30)]), &ctx(NOW)),
        "LOT-FEFO-01",
        None,
    );
    expect(
        "non-FEFO pick",
        &eval_fill(&with_lots(lots(), vec![pick("LATE", 30)]), &ctx(NOW)),
        "LOT-FEFO-01",
        Some(Warn),
    );
    // The earlier lot too small to cover the fill is not a FEFO violation.
    let small = vec![
        lot(&p, "LATE", "2027-06-30", 100),
        lot(&p, "EARLY", "2026-12-31", 10),
    ];
    expect(
        "earlier lot too small",
        &eval_fill(&with_lots(small, vec![pick("LATE", 30)]), &ctx(NOW)),
        "LOT-FEFO-01",
        None,
    );

    // Removal lead 30 days: from expiry - 30 on, the lot warns.
    for (expiry, expected) in [("2026-04-09", Some(Warn)), ("2026-04-10", None)] {
        let mut r = with_lots(vec![lot(&p, "A1", expiry, 100)], vec![pick("A1", 30)]);
        r.dispensed.removal_lead_days = 30;
        expect(
            expiry,
            &eval_fill(&r, &ctx(NOW)),
            "LOT-REMOVAL-01",
            expected,
        );
    }
    // 30 days supply from 2026-03-10: the lot must last through 2026-04-09.
    for (expiry, expected) in [("2026-04-08", Some(Warn)), ("2026-04-09", None)] {
        let r = with_lots(vec![lot(&p, "A1", expiry, 100)], vec![pick("A1", 30)]);
        expect(
            expiry,
            &eval_fill(&r, &ctx(NOW)),
            "LOT-SHORTDATE-01",
            expected,
        );
    }
}

#[test]
fn lot_quantities_combining_and_negative_stock() {
    let p = atorvastatin();
    let two = || {
        vec![
            lot(&p, "A1", "2027-01-31", 20),
            lot(&p, "B2", "2027-02-28", 100),
        ]
    };
    expect(
        "two lots, single-lot policy",
        &eval_fill(
            &with_lots(two(), vec![pick("A1", 20), pick("B2", 10)]),
            &ctx(NOW),
        ),
        "LOT-QTY-01",
        Some(Block),
    );
    let mut c = ctx(NOW);
    c.policy.allow_multi_lot_rx = true;
    expect(
        "two lots allowed",
        &eval_fill(&with_lots(two(), vec![pick("A1", 20), pick("B2", 10)]), &c),
        "LOT-QTY-01",
        None,
    );
    expect(
        "picks short of quantity",
        &eval_fill(&with_lots(two(), vec![pick("B2", 29)]), &ctx(NOW)),
        "LOT-QTY-01",
        Some(Block),
    );
    expect(
        "unknown lot",
        &eval_fill(&with_lots(two(), vec![pick("ZZ", 30)]), &ctx(NOW)),
        "LOT-QTY-01",
        Some(Block),
    );
    for (on_hand, expected) in [(30, None), (29, Some(Block))] {
        let r = with_lots(
            vec![lot(&p, "A1", "2027-01-31", on_hand)],
            vec![pick("A1", 30)],
        );
        expect(
            &format!("on hand {on_hand}"),
            &eval_fill(&r, &ctx(NOW)),
            "INV-NEG-01",
            expected,
        );
    }
}

#[test]
fn beyond_use_date_is_the_earliest_limit() {
    let p = atorvastatin();
    let bud = |expiry: &str, product_days: Option<u32>| {
        let mut r = with_lots(vec![lot(&p, "A1", expiry, 100)], vec![pick("A1", 30)]);
        r.dispensed.bud_days = product_days;
        eval_fill(&r, &ctx(NOW)).beyond_use_date
    };
    assert_eq!(
        bud("2026-12-31", None),
        Some(date("2026-12-31")),
        "lot expiry first"
    );
    assert_eq!(
        bud("2028-12-31", None),
        Some(date("2027-03-10")),
        "state default 365 days"
    );
    assert_eq!(
        bud("2028-12-31", Some(14)),
        Some(date("2026-03-24")),
        "product BUD (reconstituted)"
    );
}

#[test]
fn dscsa_verification_results() {
    let p = atorvastatin();
    let cases = [
        (DscsaCheck::Verified, None),
        (
            DscsaCheck::Mismatch {
                detail: "serial unknown".into(),
            },
            Some(Block),
        ),
        (
            DscsaCheck::Suspect {
                detail: "FDA 3911".into(),
            },
            Some(Block),
        ),
        (DscsaCheck::Unavailable, Some(Block)),
    ];
    for (check, expected) in cases {
        let mut r = with_lots(vec![lot(&p, "A1", "2027-01-31", 100)], vec![pick("A1", 30)]);
        r.dscsa = Some(check.clone());
        let d = eval_fill(&r, &ctx(NOW));
        expect(&format!("{check:?}"), &d, "LOT-DSCSA-01", expected);
        let quarantined = d.follow_ups.iter().any(
            |f| matches!(f, FollowUp::QuarantineUnit { lot_number, .. } if lot_number == "A1"),
        );
        assert_eq!(quarantined, expected.is_some());
    }
}

#[test]
fn lot_tracked_products_need_picks_that_match_stock() {
    let p = atorvastatin();
    let only_expired = vec![lot(&p, "OLD", "2026-01-31", 100)];
    expect(
        "no picks for a lot-tracked product",
        &eval_fill(&with_lots(only_expired, vec![]), &ctx(NOW)),
        "LOT-QTY-01",
        Some(Block),
    );
    expect(
        "not lot-tracked",
        &eval_fill(&with_lots(vec![], vec![]), &ctx(NOW)),
        "LOT-QTY-01",
        None,
    );
    let mut c = ctx(NOW);
    c.policy.allow_multi_lot_rx = true;
    let one = vec![lot(&p, "L1", "2027-01-31", 15)];
    let twice = with_lots(one, vec![pick("L1", 15), pick("L1", 15)]);
    expect(
        "same lot twice",
        &eval_fill(&twice, &c),
        "LOT-QTY-01",
        Some(Block),
    );
    let foreign = vec![lot(&oxycodone(), "L9", "2027-01-31", 100)];
    expect(
        "lot of another NDC",
        &eval_fill(&with_lots(foreign, vec![pick("L9", 30)]), &ctx(NOW)),
        "LOT-QTY-01",
        Some(Block),
    );
    // A padded scan still finds the lot and its expiry for the label.
    let r = with_lots(
        vec![lot(&p, "L1", "2026-06-30", 100)],
        vec![pick("L1 ", 30)],
    );
    assert_eq!(
        eval_fill(&r, &ctx(NOW)).beyond_use_date,
        Some(date("2026-06-30"))
    );
}

#[test]
fn expired_or_held_stock_is_not_transferred_to_another_store() {
    let expired = lot(&atorvastatin(), "OLD", "2025-12-31", 40);
    let mut recalled = lot(&atorvastatin(), "RC", "2027-12-31", 40);
    recalled.status = LotStatus::Recalled;
    let cases = [
        (
            StockMoveKind::TransferOut,
            expired.clone(),
            "LOT-EXP-01",
            Some(Block),
        ),
        (StockMoveKind::WriteOff, expired, "LOT-EXP-01", Some(Allow)),
        (
            StockMoveKind::TransferOut,
            recalled.clone(),
            "LOT-STATUS-01",
            Some(Block),
        ),
        (StockMoveKind::Return, recalled, "LOT-STATUS-01", None),
    ];
    for (kind, l, rule, expected) in cases {
        let req = Request::StockMove(StockMoveRequest {
            schema_version: SchemaVersion::CURRENT,
            kind,
            lot: l,
            quantity: 10,
        });
        expect(
            &format!("{kind:?}"),
            &evaluate(&req, &ctx(NOW)),
            rule,
            expected,
        );
    }
}
