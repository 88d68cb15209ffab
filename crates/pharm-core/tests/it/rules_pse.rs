//! §9.7 listed chemicals, including the DEA Pharmacist's Manual Appendix G table.

use crate::fixtures::*;
use pharm_core::contract::SchemaVersion;
use pharm_core::model::*;
use pharm_core::rules::*;

const NOW: &str = "2026-03-10T10:00:00";

fn sale(p: Product, quantity: u32, history: Vec<PurchaseRecord>) -> OtcSaleRequest {
    OtcSaleRequest {
        schema_version: SchemaVersion::CURRENT,
        product: p,
        quantity,
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
        purchaser_history: history,
        logbook: Some(LogbookEntry {
            purchaser_name: "Dee Lee".into(),
            purchaser_address: "1 Main St, Austin TX".into(),
            at: Some(at(NOW)),
            product_name: "Pseudoephedrine HCl 30 mg".into(),
            quantity,
            signed: true,
        }),
        seller_is_pharmacist: false,
        nplex: NplexResult::Approved,
        overrides: vec![],
    }
}

fn bought(when: &str, tablets: u64) -> PurchaseRecord {
    PurchaseRecord {
        at: at(when),
        chemical: Some((ListedChemicalKind::Pseudoephedrine, tablets * 24_577)),
        cv_units: 0,
        cv_ml: 0,
        cv_opium: false,
    }
}

fn run(r: OtcSaleRequest, c: &Context) -> Decision {
    evaluate(&Request::OtcSale(r), c)
}

fn with_base(kind: ListedChemicalKind, base_ug: u64) -> Product {
    let mut p = pse30();
    p.listed_chemical = Some(ListedChemical {
        kind,
        base_ug_per_unit: base_ug,
        salt_ug_per_unit: 0,
    });
    p.package.size = 1000;
    p
}

/// Largest quantity the engine allows under `rule` with no history.
fn max_tablets(p: &Product, rule: &str, c: &Context) -> u32 {
    let mut n = 1;
    while outcome_of(&run(sale(p.clone(), n, vec![]), c), rule).is_none() {
        n += 1;
    }
    n - 1
}

#[test]
fn appendix_g_tablet_counts_match_dea() {
    // (mg base per tablet in µg, per day, per 30 days retail, per 30 days mail order)
    let table = [
        (
            "30 mg PSE HCl",
            ListedChemicalKind::Pseudoephedrine,
            24_577,
            146,
            366,
            305,
        ),
        (
            "60 mg PSE HCl",
            ListedChemicalKind::Pseudoephedrine,
            49_154,
            73,
            183,
            152,
        ),
        (
            "120 mg PSE HCl",
            ListedChemicalKind::Pseudoephedrine,
            98_307,
            36,
            91,
            76,
        ),
        (
            "30 mg PSE sulfate",
            ListedChemicalKind::Pseudoephedrine,
            23_134,
            155,
            389,
            324,
        ),
        (
            "120 mg PSE sulfate",
            ListedChemicalKind::Pseudoephedrine,
            92_536,
            38,
            97,
            81,
        ),
        (
            "25 mg ephedrine HCl",
            ListedChemicalKind::Ephedrine,
            20_481,
            175,
            439,
            366,
        ),
        (
            "25 mg ephedrine sulfate",
            ListedChemicalKind::Ephedrine,
            19_278,
            186,
            466,
            389,
        ),
    ];
    let unlimited_day = StateProfile {
        pse: PseLimits {
            daily_ug: u64::MAX,
            ..StateProfile::federal().pse
        },
        ..StateProfile::federal()
    };
    for (name, kind, ug, day, retail, mail) in table {
        let p = with_base(kind, ug);
        assert_eq!(
            max_tablets(&p, "PSE-DAY-01", &ctx(NOW)),
            day,
            "{name}: per day"
        );
        let c = ctx_in(NOW, unlimited_day.clone());
        assert_eq!(
            max_tablets(&p, "PSE-30D-01", &c),
            retail,
            "{name}: per 30 days retail"
        );
        let mut c = c;
        c.pharmacy.mail_order = true;
        assert_eq!(
            max_tablets(&p, "PSE-MAIL-01", &c),
            mail,
            "{name}: per 30 days mail order"
        );
    }
}

#[test]
fn daily_limit_counts_the_calendar_day_across_transactions() {
    let cases = [
        (
            "122 earlier today + 24",
            vec![bought("2026-03-10T08:00:00", 122)],
            None,
        ),
        (
            "123 earlier today + 24",
            vec![bought("2026-03-10T08:00:00", 123)],
            Some(Block),
        ),
        (
            "146 yesterday does not count",
            vec![bought("2026-03-09T23:59:59", 146)],
            None,
        ),
        (
            "split over transactions",
            vec![
                bought("2026-03-10T08:00:00", 100),
                bought("2026-03-10T09:00:00", 23),
            ],
            Some(Block),
        ),
    ];
    for (name, history, expected) in cases {
        expect(
            name,
            &run(sale(pse30(), 24, history), &ctx(NOW)),
            "PSE-DAY-01",
            expected,
        );
    }
}

#[test]
fn rolling_thirty_day_window() {
    // 342 tablets over earlier days + 24 = 366, the maximum; one more tablet blocks.
    let spread = |first: &str, extra: u64| {
        vec![
            bought(first, 120),
            bought("2026-03-01T10:00:00", 120),
            bought("2026-03-05T10:00:00", 102 + extra),
        ]
    };
    let cases = [
        ("366 in window", spread("2026-02-09T10:00:00", 0), None),
        (
            "367 in window",
            spread("2026-02-09T10:00:00", 1),
            Some(Block),
        ),
        (
            "day 30 back is outside the window",
            spread("2026-02-08T23:00:00", 1),
            None,
        ),
    ];
    for (name, history, expected) in cases {
        expect(
            name,
            &run(sale(pse30(), 24, history), &ctx(NOW)),
            "PSE-30D-01",
            expected,
        );
    }
    // Another chemical's purchases do not count toward pseudoephedrine.
    let mut eph = bought("2026-03-10T08:00:00", 140);
    eph.chemical = Some((ListedChemicalKind::Ephedrine, 140 * 24_577));
    expect(
        "ephedrine history",
        &run(sale(pse30(), 24, vec![eph]), &ctx(NOW)),
        "PSE-DAY-01",
        None,
    );
}

#[test]
fn id_logbook_and_state_rules() {
    let mut no_id = sale(pse30(), 24, vec![]);
    no_id.purchaser.as_mut().unwrap().photo_id = None;
    expect("no ID", &run(no_id, &ctx(NOW)), "PSE-ID-01", Some(Block));
    expect(
        "ID",
        &run(sale(pse30(), 24, vec![]), &ctx(NOW)),
        "PSE-ID-01",
        None,
    );

    let mut unsigned = sale(pse30(), 24, vec![]);
    unsigned.logbook.as_mut().unwrap().signed = false;
    expect(
        "unsigned logbook",
        &run(unsigned, &ctx(NOW)),
        "PSE-LOG-01",
        Some(Block),
    );
    // A single package with at most 60 mg PSE is exempt from the logbook (limits still apply).
    let mut two_tabs = pse30();
    two_tabs.package.size = 2;
    let mut exempt = sale(two_tabs.clone(), 2, vec![]);
    exempt.logbook = None;
    expect(
        "2 × 30 mg package",
        &run(exempt, &ctx(NOW)),
        "PSE-LOG-01",
        None,
    );
    let mut two_packages = sale(two_tabs, 4, vec![]);
    two_packages.logbook = None;
    expect(
        "two such packages",
        &run(two_packages, &ctx(NOW)),
        "PSE-LOG-01",
        Some(Block),
    );

    let rx_only = StateProfile {
        pse: PseLimits {
            rx_only: true,
            ..StateProfile::federal().pse
        },
        ..StateProfile::federal()
    };
    expect(
        "Rx-only state",
        &run(sale(pse30(), 24, vec![]), &ctx_in(NOW, rx_only)),
        "PSE-STATE-01",
        Some(Block),
    );
    let annual = StateProfile {
        pse: PseLimits {
            annual_ug: Some(24 * 24_577 * 2),
            ..StateProfile::federal().pse
        },
        ..StateProfile::federal()
    };
    let year_ago = vec![bought("2025-03-11T10:00:00", 24)];
    expect(
        "annual cap reached",
        &run(
            sale(pse30(), 24, year_ago.clone()),
            &ctx_in(NOW, annual.clone()),
        ),
        "PSE-STATE-01",
        None,
    );
    expect(
        "annual cap exceeded",
        &run(sale(pse30(), 25, year_ago), &ctx_in(NOW, annual)),
        "PSE-STATE-01",
        Some(Block),
    );
    let mut stop = sale(pse30(), 24, vec![]);
    stop.nplex = NplexResult::StopSale;
    expect(
        "NPLEx stop-sale",
        &run(stop, &ctx(NOW)),
        "PSE-STATE-01",
        Some(Block),
    );
}

#[test]
fn offline_sales_use_local_history_under_the_state_policy() {
    let off = |profile| offline(ctx_in(NOW, profile), "2026-03-10T06:00:00");
    let d = run(sale(pse30(), 24, vec![]), &off(StateProfile::federal()));
    expect("federal offline", &d, "PSE-DAY-01", Some(RequireOverride));
    assert!(d.follow_ups.contains(&FollowUp::NplexUpload {
        purchaser: "DL-TX-42".into()
    }));
    expect(
        "TX offline",
        &run(sale(pse30(), 24, vec![]), &off(StateProfile::texas())),
        "PSE-DAY-01",
        Some(Block),
    );
    let mut unreachable = sale(pse30(), 24, vec![]);
    unreachable.nplex = NplexResult::Unreachable;
    expect(
        "NPLEx down while online",
        &run(unreachable, &ctx(NOW)),
        "PSE-DAY-01",
        Some(RequireOverride),
    );
    // Over the limit on local history alone is a Block even when the policy allows overrides.
    let over = run(
        sale(pse30(), 24, vec![bought("2026-03-10T08:00:00", 130)]),
        &off(StateProfile::federal()),
    );
    assert_eq!(over.outcome, Block);
    // Ibuprofen is an ordinary OTC sale, online or off.
    assert_eq!(
        run(sale(ibuprofen(), 2, vec![]), &off(StateProfile::texas())).outcome,
        Allow
    );
    // Legend drugs cannot be sold over the counter.
    expect(
        "Rx-only product",
        &run(sale(atorvastatin(), 30, vec![]), &ctx(NOW)),
        "OTC-RX-01",
        Some(Block),
    );
    expect(
        "CII product",
        &run(sale(oxycodone(), 30, vec![]), &ctx(NOW)),
        "OTC-RX-01",
        Some(Block),
    );
    let mut rx_only_cv = codeine_syrup();
    rx_only_cv.rx_only = true;
    expect(
        "Rx-only CV",
        &run(sale(rx_only_cv, 30, vec![]), &ctx(NOW)),
        "OTC-RX-01",
        Some(Block),
    );
    expect(
        "zero quantity",
        &run(sale(ibuprofen(), 0, vec![]), &ctx(NOW)),
        "RX-QTY-01",
        Some(Block),
    );
}
