//! The substitution graph on real Orange Book rows: atorvastatin, levothyroxine multi-codes,
//! tadalafil AB1 vs AB2, nifedipine ER, OTC vs RX, DAW and state policy, degraded mode;
//! the graph as tables (every edge once, multi-source groups).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};

use pharm_core::model::DawCode;
use pharm_subst::catalog::Catalog;
use pharm_subst::policy::{
    LastFill, Market, MarketFacts, MarketFn, NoMarket, NtiRule, SubstitutionContext,
    SubstitutionPolicy,
};
use pharm_subst::products::{ParseLimits, ParseMode, parse_products};
use pharm_subst::query::{ChoiceReason, Degraded, Explanation, NotEquivalentReason, Restriction};
use pharm_subst::record::ProductKey;
use pharm_subst::service::{Release, SubstitutionService};
use rust_decimal::Decimal;

fn catalog() -> Catalog {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/products-sample.txt"
    ))
    .unwrap();
    let parsed = parse_products(&bytes, ParseMode::Strict, &ParseLimits::default()).unwrap();
    Catalog::build(parsed.products).unwrap()
}

fn k(s: &str) -> ProductKey {
    s.parse().unwrap()
}

fn subs(c: &Catalog, key: &str) -> BTreeSet<String> {
    let policy = SubstitutionPolicy::permissive("TX");
    let ctx = SubstitutionContext::new(&policy, &NoMarket);
    c.substitutes(&k(key), &ctx)
        .unwrap()
        .choices
        .iter()
        .filter(|c| c.reason != ChoiceReason::AsWritten)
        .map(|c| c.key.to_string())
        .collect()
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|s| (*s).to_string()).collect()
}

fn not_equivalent(c: &Catalog, a: &str, b: &str) -> NotEquivalentReason {
    match c.explain(&k(a), &k(b), None).unwrap() {
        Explanation::NotEquivalent { reason } => reason,
        other => panic!("{a} ~ {b}: {other:?}"),
    }
}

#[test]
fn atorvastatin_brand_and_generics() {
    let c = catalog();
    // Lipitor 10 mg ↔ Accord, Apotex, Mylan 10 mg; not the DISCN Sun row, not the BX Umedica row.
    assert_eq!(
        subs(&c, "N020702-001"),
        set(&["A207687-001", "A090548-001", "A091226-001"])
    );
    assert_eq!(
        subs(&c, "A090548-001"),
        set(&["N020702-001", "A207687-001", "A091226-001"])
    );
    // Lipitor 80 mg ↔ Accord 80 mg (its strength has a trailing space in the file).
    assert_eq!(subs(&c, "N020702-004"), set(&["A207687-004"]));
    assert!(subs(&c, "A213853-001").is_empty(), "BX has no edges");
    assert!(subs(&c, "A076477-001").is_empty(), "DISCN has no edges");
    assert!(
        subs(&c, "A206536-002").is_empty(),
        "Zydus 20 mg has no 20 mg partner"
    );
    assert!(matches!(
        not_equivalent(&c, "N020702-001", "A213853-001"),
        NotEquivalentReason::BRated { .. }
    ));
    assert!(matches!(
        not_equivalent(&c, "N020702-001", "A076477-001"),
        NotEquivalentReason::Discontinued { .. }
    ));
    assert!(matches!(
        not_equivalent(&c, "N020702-001", "N020702-004"),
        NotEquivalentReason::DifferentStrength { .. }
    ));
    assert!(matches!(
        not_equivalent(&c, "N020702-001", "N021540-001"),
        NotEquivalentReason::DifferentIngredients { .. }
    ));
    assert_eq!(
        c.explain(&k("N020702-001"), &k("A091226-001"), None)
            .unwrap(),
        Explanation::Equivalent {
            codes: vec!["AB".parse().unwrap()]
        }
    );
}

#[test]
fn levothyroxine_multi_codes_are_not_transitive() {
    let c = catalog();
    // 0.1 mg: Synthroid AB1,AB2; Unithroid AB1,AB2,AB3; Levoxyl AB1,AB3; Levo-T AB1,AB2,AB3;
    // Alembic AB2; Ascent AB4; Lupin AB1,AB2,AB3; Mylan AB1..AB4; Amneal DISCN.
    assert_eq!(
        subs(&c, "A215259-005"),
        set(&["A076187-005"]),
        "Ascent AB4 only reaches Mylan"
    );
    assert_eq!(
        subs(&c, "A216370-005"),
        set(&[
            "N021402-005",
            "N021210-005",
            "N021342-005",
            "A209713-005",
            "A076187-005"
        ]),
        "Alembic AB2 reaches every AB2 product, not Levoxyl AB1,AB3"
    );
    assert_eq!(
        subs(&c, "N021402-005"),
        set(&[
            "N021210-005",
            "N021301-005",
            "N021342-005",
            "A216370-005",
            "A209713-005",
            "A076187-005"
        ])
    );
    assert!(matches!(
        not_equivalent(&c, "A215259-005", "N021402-005"),
        NotEquivalentReason::NoSharedCode { .. }
    ));
    assert!(matches!(
        not_equivalent(&c, "N021301-005", "A216370-005"),
        NotEquivalentReason::NoSharedCode { .. }
    ));
    // Footnotes are stripped before comparing strengths; 0.3 mg only pairs with 0.3 mg.
    assert_eq!(subs(&c, "N021402-011"), set(&["A076187-011"]));
    assert_eq!(
        c.explain(&k("N021402-005"), &k("A076187-005"), None)
            .unwrap(),
        Explanation::Equivalent {
            codes: vec!["AB1".parse().unwrap(), "AB2".parse().unwrap()]
        }
    );
}

#[test]
fn tadalafil_ab1_and_ab2_are_different_references() {
    let c = catalog();
    assert_eq!(
        subs(&c, "N021368-003"),
        set(&["A209539-004"]),
        "Cialis 20 mg AB1 ↔ Cipla AB1"
    );
    assert_eq!(
        subs(&c, "N022332-001"),
        set(&["A210255-001"]),
        "Adcirca 20 mg AB2 ↔ Cipla AB2"
    );
    assert!(matches!(
        not_equivalent(&c, "N021368-003", "N022332-001"),
        NotEquivalentReason::NoSharedCode { .. }
    ));
    assert!(matches!(
        not_equivalent(&c, "A212062-002", "A209539-004"),
        NotEquivalentReason::DifferentStrength { .. }
    ));
    assert!(
        subs(&c, "A209539-001").is_empty(),
        "Cialis 2.5 mg is DISCN: the Cipla 2.5 mg has no partner"
    );
    // Nifedipine ER: AB1 and AB2 groups stay apart.
    assert_eq!(subs(&c, "A075269-001"), set(&["A210184-001"]));
    assert_eq!(
        subs(&c, "A203126-001"),
        set(&["A075289-002", "A210012-001"])
    );
}

#[test]
fn otc_single_source_and_salts() {
    let c = catalog();
    assert!(subs(&c, "A210375-001").is_empty(), "OTC levocetirizine");
    assert_eq!(subs(&c, "A090385-001"), set(&["A090362-001"]));
    assert_eq!(
        not_equivalent(&c, "A210375-001", "A090385-001"),
        NotEquivalentReason::OtcVsRx
    );
    assert_eq!(
        not_equivalent(&c, "N018989-001", "N018066-001"),
        NotEquivalentReason::Otc
    );
    assert!(
        subs(&c, "N212608-001").is_empty(),
        "Ayvakit is single source"
    );
    assert!(matches!(
        not_equivalent(&c, "N212608-001", "N020702-001"),
        NotEquivalentReason::DifferentIngredients { .. }
    ));
    // AA and AB chlorzoxazone of different strengths; same strength AA ↔ AA.
    assert_eq!(subs(&c, "A089853-001"), set(&["A089859-001"]));
    assert_eq!(subs(&c, "A040861-001"), set(&["A089853-002"]));
    // Topical foams: AT ↔ AT; clobetasol AB1 vs AB2 apart.
    assert_eq!(subs(&c, "A210778-001"), set(&["A090785-001"]));
    assert!(subs(&c, "A210809-001").is_empty());
    // Levorphanol: BX excluded, blank-TE 3 mg excluded.
    assert_eq!(
        subs(&c, "A074278-001"),
        set(&["A212024-001", "A213906-001"])
    );
    assert!(matches!(
        not_equivalent(&c, "A213906-002", "A074278-001"),
        NotEquivalentReason::DifferentStrength { .. }
    ));
}

#[test]
fn daw_state_policy_and_ranking() {
    let c = catalog();
    let stock: HashMap<ProductKey, (bool, Option<u8>, Option<Decimal>)> = [
        ("N020702-001", (true, Some(3), Some(Decimal::new(1250, 2)))),
        ("A207687-001", (true, Some(1), Some(Decimal::new(9, 2)))),
        ("A090548-001", (false, Some(1), Some(Decimal::new(5, 2)))),
        ("A091226-001", (true, Some(1), Some(Decimal::new(7, 2)))),
    ]
    .into_iter()
    .map(|(key, v)| (k(key), v))
    .collect();
    let market = MarketFn {
        in_stock: |key: &ProductKey| stock.get(key).is_some_and(|v| v.0),
        tier: |key: &ProductKey| stock.get(key).and_then(|v| v.1),
        cost: |key: &ProductKey| stock.get(key).and_then(|v| v.2),
    };
    let policy = SubstitutionPolicy::permissive("TX");
    let ctx = SubstitutionContext::new(&policy, &market);
    let answer = c.substitutes(&k("N020702-001"), &ctx).unwrap();
    let order: Vec<String> = answer.choices.iter().map(|c| c.key.to_string()).collect();
    // In stock first, then tier, then cost: Mylan (0.07) before Accord (0.09), Lipitor (tier 3), Apotex (out of stock).
    assert_eq!(
        order,
        ["A091226-001", "A207687-001", "N020702-001", "A090548-001"]
    );
    assert_eq!(answer.choices[0].daw, DawCode::NoSelection);
    assert_eq!(
        answer.choices[0].reason,
        ChoiceReason::Equivalent {
            code: "AB".parse().unwrap()
        }
    );
    let brand = answer
        .choices
        .iter()
        .find(|c| c.reason == ChoiceReason::AsWritten)
        .unwrap();
    assert_eq!(
        brand.daw,
        DawCode::PharmacistSelected,
        "brand chosen with generics in stock"
    );
    let mut wants_brand = SubstitutionContext::new(&policy, &market);
    wants_brand.patient_requests_brand = true;
    let a = c.substitutes(&k("N020702-001"), &wants_brand).unwrap();
    assert_eq!(
        a.choices
            .iter()
            .find(|c| c.reason == ChoiceReason::AsWritten)
            .unwrap()
            .daw,
        DawCode::PatientRequested
    );
    // Nothing generic in stock: choosing the brand is DAW 4.
    let none = SubstitutionContext::new(&policy, &NoMarket);
    let a = c.substitutes(&k("N020702-001"), &none).unwrap();
    assert_eq!(
        a.choices
            .iter()
            .find(|c| c.reason == ChoiceReason::AsWritten)
            .unwrap()
            .daw,
        DawCode::GenericNotInStock
    );

    // DAW 1 and 7: the product as written only.
    for daw in [
        DawCode::PrescriberRequiresBrand,
        DawCode::BrandMandatedByLaw,
    ] {
        let mut ctx = SubstitutionContext::new(&policy, &market);
        ctx.daw = daw;
        let a = c.substitutes(&k("N020702-001"), &ctx).unwrap();
        assert_eq!(a.choices.len(), 1);
        assert_eq!(a.choices[0].daw, daw);
        assert_eq!(a.restriction, Some(Restriction::DawForbids { daw }));
        assert_eq!(
            c.explain(&k("N020702-001"), &k("A091226-001"), Some(&ctx))
                .unwrap(),
            Explanation::NotEquivalent {
                reason: NotEquivalentReason::DawForbids { daw }
            }
        );
    }

    // NC-style NTI list: levothyroxine needs consent; with consent, refills keep the manufacturer.
    let nc = SubstitutionPolicy::north_carolina();
    let ctx = SubstitutionContext::new(&nc, &NoMarket);
    let a = c.substitutes(&k("N021402-005"), &ctx).unwrap();
    assert_eq!(a.choices.len(), 1);
    assert!(matches!(a.restriction, Some(Restriction::Nti { .. })));
    let same_maker = same_maker_policy();
    let ctx = refill(&same_maker, k("A076187-005"));
    let a = c.substitutes(&k("N021402-005"), &ctx).unwrap();
    let keys: BTreeSet<String> = a.choices.iter().map(|c| c.key.to_string()).collect();
    // The written Synthroid (AbbVie) is dropped too: the refill stays with Mylan.
    assert_eq!(keys, set(&["A076187-005"]));
    assert!(matches!(
        a.restriction,
        Some(Restriction::SameManufacturer { .. })
    ));
    let negative = SubstitutionPolicy {
        negative_formulary: vec!["LORAZEPAM".into()],
        ..SubstitutionPolicy::permissive("KY")
    };
    let ctx = SubstitutionContext::new(&negative, &NoMarket);
    assert_eq!(
        c.substitutes(&k("N017794-002"), &ctx)
            .unwrap()
            .choices
            .len(),
        1
    );
}

#[test]
fn degraded_without_or_with_a_stale_catalog_and_atomic_swap() {
    let today = "2026-06-10".parse().unwrap();
    let service = SubstitutionService::new(45);
    let policy = SubstitutionPolicy::permissive("TX");
    let ctx = SubstitutionContext::new(&policy, &NoMarket);
    let snap = service.snapshot(today);
    let a = snap.substitutes(&k("N020702-001"), &ctx).unwrap();
    assert_eq!(a.degraded, Some(Degraded::NoCatalog));
    // As documented: the written product as the one choice, flagged.
    assert_eq!(a.choices.len(), 1);
    assert_eq!(a.choices[0].key, k("N020702-001"));
    assert_eq!(a.choices[0].reason, ChoiceReason::AsWritten);

    let diff = service.load(Release {
        catalog: catalog(),
        released: "2026-05-01".parse().unwrap(),
        label: "2026-05".into(),
    });
    assert_eq!(diff.added.len(), 60);
    // A snapshot taken before the swap keeps answering from the release it saw.
    assert!(snap.release().is_none());
    let fresh = service.snapshot(today);
    let a = fresh.substitutes(&k("N020702-001"), &ctx).unwrap();
    assert_eq!(a.degraded, None);
    assert_eq!(a.choices.len(), 4);

    // 41 days old is fresh; 46 days old is stale: original only, flagged.
    let stale = service.snapshot("2026-06-16".parse().unwrap());
    let a = stale.substitutes(&k("N020702-001"), &ctx).unwrap();
    assert_eq!(
        a.degraded,
        Some(Degraded::Stale {
            age_days: 46,
            max_age_days: 45
        })
    );
    assert_eq!(a.choices.len(), 1);
    assert_eq!(a.choices[0].key, k("N020702-001"));

    // A new release: Apotex withdrawn, Mylan re-rated, a new ANDA.
    let mut products = catalog().products().to_vec();
    products.retain(|p| p.key != k("A090548-001"));
    let mylan = products
        .iter_mut()
        .find(|p| p.key == k("A091226-001"))
        .unwrap();
    mylan.te_codes = vec!["BX".parse().unwrap()];
    let mut new_anda = products
        .iter()
        .find(|p| p.key == k("A207687-001"))
        .unwrap()
        .clone();
    new_anda.key = k("A299999-001");
    products.push(new_anda);
    let diff = service.load(Release {
        catalog: Catalog::build(products).unwrap(),
        released: "2026-06-01".parse().unwrap(),
        label: "2026-06".into(),
    });
    assert_eq!(diff.added, vec![k("A299999-001")]);
    assert_eq!(diff.removed, vec![k("A090548-001")]);
    assert_eq!(diff.te_changed.len(), 1);
    assert_eq!(diff.te_changed[0].0, k("A091226-001"));
    let after = service
        .snapshot(today)
        .substitutes(&k("N020702-001"), &ctx)
        .unwrap()
        .choices
        .len();
    assert_eq!(after, 3, "Lipitor, Accord and the new ANDA");
    // The old snapshot is unaffected by the swap.
    assert_eq!(
        fresh
            .substitutes(&k("N020702-001"), &ctx)
            .unwrap()
            .choices
            .len(),
        4
    );
}

#[test]
fn unknown_product_is_an_error() {
    let c = catalog();
    let policy = SubstitutionPolicy::permissive("TX");
    let ctx = SubstitutionContext::new(&policy, &NoMarket);
    assert!(c.substitutes(&k("N999999-001"), &ctx).is_err());
    let _: &dyn Market = &NoMarket;
}

/// North Carolina's NTI list with NTI substitution allowed: only the same-manufacturer
/// refill rule restricts.
fn same_maker_policy() -> SubstitutionPolicy {
    SubstitutionPolicy {
        nti_rule: NtiRule::Allow,
        ..SubstitutionPolicy::north_carolina()
    }
}

/// A refill context under `policy`, last filled with `last`.
fn refill<'a>(
    policy: &'a SubstitutionPolicy,
    last: impl Into<LastFill>,
) -> SubstitutionContext<'a> {
    let mut ctx = SubstitutionContext::new(policy, &NoMarket);
    ctx.last_fill = Some(last.into());
    ctx
}

fn as_written_daw(c: &Catalog, key: &str, ctx: &SubstitutionContext<'_>) -> DawCode {
    c.substitutes(&k(key), ctx)
        .unwrap()
        .choices
        .iter()
        .find(|c| c.reason == ChoiceReason::AsWritten)
        .unwrap()
        .daw
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

#[test]
fn state_lists_match_the_active_moiety() {
    let nc = SubstitutionPolicy::north_carolina();
    // Other salts of a listed moiety (Dilantin chewable, lithium citrate) are covered.
    assert!(nc.is_nti(&strings(&["PHENYTOIN"])));
    assert!(nc.is_nti(&strings(&["LITHIUM CITRATE"])));
    assert!(nc.is_nti(&strings(&["Levothyroxine  Sodium"])));
    assert!(nc.is_nti(&strings(&["AMLODIPINE BESYLATE", "WARFARIN POTASSIUM"])));
    assert!(!nc.is_nti(&strings(&["LEVOCETIRIZINE DIHYDROCHLORIDE"])));
    assert!(!nc.is_nti(&strings(&["ATORVASTATIN CALCIUM"])));
    assert!(!nc.is_nti(&strings(&[""])));
    // Case and whitespace in the list entries do not matter either.
    let c = catalog();
    let policy = SubstitutionPolicy {
        nti_ingredients: vec![" levothyroxine   sodium ".into()],
        nti_rule: NtiRule::Forbid,
        negative_formulary: vec!["Lorazepam".into()],
        ..SubstitutionPolicy::permissive("XX")
    };
    let ctx = SubstitutionContext::new(&policy, &NoMarket);
    let a = c.substitutes(&k("N021402-005"), &ctx).unwrap();
    assert!(matches!(a.restriction, Some(Restriction::Nti { .. })));
    assert_eq!(a.choices.len(), 1);
    let a = c.substitutes(&k("N017794-002"), &ctx).unwrap();
    assert!(matches!(
        a.restriction,
        Some(Restriction::NegativeFormulary { .. })
    ));
    assert_eq!(a.choices.len(), 1);
}

#[test]
fn brand_kept_by_state_law_is_daw_7() {
    let c = catalog();
    // NTI needing consent: Synthroid as written is DAW 7, a generic as written stays DAW 0.
    let nc = SubstitutionPolicy::north_carolina();
    let ctx = SubstitutionContext::new(&nc, &NoMarket);
    assert_eq!(
        as_written_daw(&c, "N021402-005", &ctx),
        DawCode::BrandMandatedByLaw
    );
    assert_eq!(
        as_written_daw(&c, "A076187-005", &ctx),
        DawCode::NoSelection
    );
    // Negative formulary: Ativan as written is DAW 7.
    let negative = SubstitutionPolicy {
        negative_formulary: vec!["LORAZEPAM".into()],
        ..SubstitutionPolicy::permissive("KY")
    };
    let ctx = SubstitutionContext::new(&negative, &NoMarket);
    assert_eq!(
        as_written_daw(&c, "N017794-002", &ctx),
        DawCode::BrandMandatedByLaw
    );
    // Same-manufacturer refill of Synthroid last filled as Synthroid.
    let same_maker = same_maker_policy();
    let ctx = refill(&same_maker, k("N021402-005"));
    let a = c.substitutes(&k("N021402-005"), &ctx).unwrap();
    assert_eq!(a.choices.len(), 1);
    assert_eq!(a.choices[0].daw, DawCode::BrandMandatedByLaw);
    assert!(matches!(
        a.restriction,
        Some(Restriction::SameManufacturer { .. })
    ));
    // Without state restrictions the brand alone with no generic is still DAW 0 … and the
    // prescription's DAW 1 is kept.
    let tx = SubstitutionPolicy::permissive("TX");
    let mut ctx = SubstitutionContext::new(&tx, &NoMarket);
    assert_eq!(
        as_written_daw(&c, "N212608-001", &ctx),
        DawCode::NoSelection
    );
    ctx.daw = DawCode::PrescriberRequiresBrand;
    assert_eq!(
        as_written_daw(&c, "N017794-002", &ctx),
        DawCode::PrescriberRequiresBrand
    );
}

#[test]
fn same_manufacturer_refill_filters_the_written_product_by_application() {
    let c = catalog();
    let same_maker = same_maker_policy();
    let answer = |last: &str| {
        let ctx = refill(&same_maker, k(last));
        let a = c.substitutes(&k("N021402-005"), &ctx).unwrap();
        let keys = a
            .choices
            .iter()
            .map(|c| c.key.to_string())
            .collect::<BTreeSet<_>>();
        (keys, a.restriction)
    };
    // Last filled with Mylan 0.1 mg, or Mylan 0.3 mg before a dose change: Mylan 0.1 mg.
    for last in ["A076187-005", "A076187-011"] {
        let (keys, restriction) = answer(last);
        assert_eq!(keys, set(&["A076187-005"]), "{last}");
        assert_eq!(
            restriction,
            Some(Restriction::SameManufacturer {
                application: "ANDA076187".parse().unwrap()
            })
        );
    }
    // Last filled with Synthroid: Synthroid.
    assert_eq!(answer("N021402-011").0, set(&["N021402-005"]));

    let ctx = refill(
        &same_maker,
        LastFill::Application("ANDA076187".parse().unwrap()),
    );
    assert!(matches!(
        c.explain(&k("N021402-005"), &k("A076187-005"), Some(&ctx))
            .unwrap(),
        Explanation::Equivalent { .. }
    ));
    assert!(matches!(
        c.explain(&k("N021402-005"), &k("A209713-005"), Some(&ctx))
            .unwrap(),
        Explanation::NotEquivalent {
            reason: NotEquivalentReason::StateListForbids { .. }
        }
    ));
}

#[test]
fn same_manufacturer_refill_never_switches_silently() {
    let c = catalog();
    let same_maker = same_maker_policy();
    // Amneal's levothyroxine is discontinued: nothing from Amneal may be dispensed. The
    // answer says so (consent needed) instead of offering Synthroid or another maker.
    for last in [
        LastFill::Application("ANDA210831".parse().unwrap()),
        LastFill::Unidentified,
    ] {
        let mut ctx = refill(&same_maker, last);
        let a = c.substitutes(&k("N021402-005"), &ctx).unwrap();
        assert!(a.choices.is_empty(), "{last:?}: {:?}", a.choices);
        assert_eq!(
            a.restriction,
            Some(Restriction::SameManufacturerUnavailable {
                state: "NC".into(),
                last_fill: last
            })
        );
        assert!(matches!(
            c.explain(&k("N021402-005"), &k("A076187-005"), Some(&ctx))
                .unwrap(),
            Explanation::NotEquivalent {
                reason: NotEquivalentReason::StateListForbids { .. }
            }
        ));
        // With consent recorded, every equivalent is offered again.
        ctx.consent = true;
        assert_eq!(
            c.substitutes(&k("N021402-005"), &ctx)
                .unwrap()
                .choices
                .len(),
            7
        );
    }
}

#[test]
fn same_manufacturer_refill_under_the_consent_and_forbid_rules() {
    let c = catalog();
    // North Carolina as shipped (NTI substitution needs consent): a refill last filled with
    // Mylan stays with Mylan; without the refill rule it would be Synthroid only, a change
    // of manufacturer.
    let nc = SubstitutionPolicy::north_carolina();
    let ctx = refill(&nc, k("A076187-005"));
    let a = c.substitutes(&k("N021402-005"), &ctx).unwrap();
    let keys: BTreeSet<String> = a.choices.iter().map(|c| c.key.to_string()).collect();
    assert_eq!(keys, set(&["A076187-005"]));
    // A state that forbids NTI substitution: the written product, only if it is the last
    // fill's; otherwise nothing without consent.
    let forbid = SubstitutionPolicy {
        nti_rule: NtiRule::Forbid,
        ..SubstitutionPolicy::north_carolina()
    };
    let mut ctx = refill(&forbid, k("N021402-011"));
    let a = c.substitutes(&k("N021402-005"), &ctx).unwrap();
    assert_eq!(a.choices.len(), 1);
    assert_eq!(a.choices[0].key, k("N021402-005"));
    ctx.last_fill = Some(k("A076187-005").into());
    let a = c.substitutes(&k("N021402-005"), &ctx).unwrap();
    assert!(a.choices.is_empty());
    assert!(matches!(
        a.restriction,
        Some(Restriction::SameManufacturerUnavailable { .. })
    ));
    // Consent under a forbidding state: still the written product only.
    ctx.consent = true;
    let a = c.substitutes(&k("N021402-005"), &ctx).unwrap();
    assert_eq!(a.choices.len(), 1);
    assert!(matches!(a.restriction, Some(Restriction::Nti { .. })));
}

#[test]
fn degraded_answer_recomputes_the_daw_of_the_original() {
    let service = SubstitutionService::new(45);
    service.load(Release {
        catalog: catalog(),
        released: "2026-05-01".parse().unwrap(),
        label: "2026-05".into(),
    });
    let stale = service.snapshot("2026-06-16".parse().unwrap());
    let tx = SubstitutionPolicy::permissive("TX");
    let mut ctx = SubstitutionContext::new(&tx, &NoMarket);
    // Fresh, Lipitor with no generic in stock is DAW 4; degraded, the generics are gone: 0.
    let a = stale.substitutes(&k("N020702-001"), &ctx).unwrap();
    assert!(a.degraded.is_some());
    assert_eq!(a.choices.len(), 1);
    assert_eq!(a.choices[0].daw, DawCode::NoSelection);
    for daw in [
        DawCode::PrescriberRequiresBrand,
        DawCode::BrandMandatedByLaw,
    ] {
        ctx.daw = daw;
        let a = stale.substitutes(&k("N020702-001"), &ctx).unwrap();
        assert_eq!(a.choices[0].daw, daw);
    }
    ctx.daw = DawCode::PatientRequested;
    let a = stale.substitutes(&k("N020702-001"), &ctx).unwrap();
    assert_eq!(a.choices[0].daw, DawCode::NoSelection);
    // The same-manufacturer rule still holds: Synthroid after a Mylan fill is a change of
    // manufacturer, and the stale release's Mylan equivalent is not trusted.
    let same_maker = same_maker_policy();
    let ctx = refill(&same_maker, k("A076187-005"));
    let a = stale.substitutes(&k("N021402-005"), &ctx).unwrap();
    assert!(a.choices.is_empty());
    assert!(a.degraded.is_some());
    assert_eq!(
        a.restriction,
        Some(Restriction::SameManufacturerUnavailable {
            state: "NC".into(),
            last_fill: k("A076187-005").into()
        })
    );
    // Written as the last fill's product: that product, DAW 0.
    let a = stale.substitutes(&k("A076187-005"), &ctx).unwrap();
    assert_eq!(a.choices.len(), 1);
    assert_eq!(a.choices[0].key, k("A076187-005"));
    assert_eq!(a.choices[0].reason, ChoiceReason::AsWritten);
    assert_eq!(a.choices[0].daw, DawCode::NoSelection);
}

#[test]
fn degraded_without_a_catalog_offers_the_written_product() {
    let service = SubstitutionService::new(45);
    let snap = service.snapshot("2026-06-10".parse().unwrap());
    let tx = SubstitutionPolicy::permissive("TX");
    let market: HashMap<ProductKey, MarketFacts> = [(
        k("N020702-001"),
        MarketFacts {
            in_stock: true,
            formulary_tier: Some(2),
            unit_cost: Some(Decimal::new(125, 2)),
        },
    )]
    .into_iter()
    .collect();
    let mut ctx = SubstitutionContext::new(&tx, &market);
    let a = snap.substitutes(&k("N020702-001"), &ctx).unwrap();
    assert_eq!(a.degraded, Some(Degraded::NoCatalog));
    assert_eq!(a.restriction, None);
    assert_eq!(a.choices.len(), 1);
    let only = &a.choices[0];
    assert_eq!(only.key, k("N020702-001"));
    assert_eq!(only.product, None);
    assert_eq!(only.reason, ChoiceReason::AsWritten);
    assert_eq!(only.daw, DawCode::NoSelection);
    assert!(only.in_stock);
    assert_eq!(only.formulary_tier, Some(2));
    ctx.daw = DawCode::PrescriberRequiresBrand;
    let a = snap.substitutes(&k("N020702-001"), &ctx).unwrap();
    assert_eq!(a.choices[0].daw, DawCode::PrescriberRequiresBrand);
    assert_eq!(
        a.restriction,
        Some(Restriction::DawForbids {
            daw: DawCode::PrescriberRequiresBrand
        })
    );
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["choices"][0]["key"], "N020702-001");
    assert_eq!(json["choices"][0]["product"], serde_json::Value::Null);
    assert_eq!(json["degraded"]["kind"], "no_catalog");
}

#[test]
fn single_source() {
    let c = catalog();
    let single = |key: &str| c.is_single_source(&k(key)).unwrap();
    assert!(single("N212608-001"), "Ayvakit");
    assert!(single("A212062-002"), "Torrent tadalafil 40 mg, blank TE");
    assert!(
        single("A209539-001"),
        "Cipla 2.5 mg: Cialis 2.5 mg is DISCN"
    );
    assert!(single("A213853-001"), "BX: nothing substitutes for it");
    assert!(!single("N020702-001"), "Lipitor 10 mg has A-rated generics");
    assert!(!single("A215259-005"), "Ascent AB4 reaches Mylan");
    assert!(!single("N022332-001"), "Adcirca AB2 ↔ Cipla AB2");
    assert!(c.is_single_source(&k("N999999-001")).is_err());
}

#[test]
fn edges_list_each_equivalence_once_lower_index_first() {
    let c = catalog();
    let edges: Vec<_> = c.edges().collect();
    assert_eq!(edges.len(), c.edge_count());
    let mut seen = BTreeSet::new();
    for &(a, b, code) in &edges {
        assert!(a < b, "{a} {b}");
        assert!(seen.insert((a, b)), "edge {a}-{b} listed twice");
        let (pa, pb) = (&c.products()[a], &c.products()[b]);
        assert_eq!(c.equivalence(&pa.key, &pb.key), Some(code));
    }
    // Every pair the catalog calls equivalent is an edge.
    let products = c.products();
    for (i, pa) in products.iter().enumerate() {
        for (j, pb) in products.iter().enumerate().skip(i + 1) {
            assert_eq!(
                c.equivalence(&pa.key, &pb.key).is_some(),
                seen.contains(&(i, j))
            );
        }
    }
}

#[test]
fn groups_are_the_connected_components_with_two_or_more_products() {
    let c = catalog();
    let groups = c.groups();
    assert!(!groups.is_empty());
    let mut group_of = vec![None; c.len()];
    for (g, members) in groups.iter().enumerate() {
        assert!(members.len() >= 2, "group {g} is a single product");
        assert!(members.windows(2).all(|w| w[0] < w[1]), "file order");
        for &m in members {
            assert_eq!(group_of[m].replace(g), None, "product {m} in two groups");
        }
    }
    assert!(
        groups.windows(2).all(|w| w[0][0] < w[1][0]),
        "ordered by first product"
    );
    // Both ends of every edge are in the same group; products without an edge in none.
    for (a, b, _) in c.edges() {
        assert!(group_of[a].is_some());
        assert_eq!(group_of[a], group_of[b]);
    }
    for (i, p) in c.products().iter().enumerate() {
        let single = c.is_single_source(&p.key).unwrap();
        assert_eq!(group_of[i].is_none(), single, "{}", p.key);
    }
}
