//! Laws of the equivalence graph on random catalogs: the relation is symmetric and
//! irreflexive, never touches a B-rated, blank-coded, OTC or discontinued product, and
//! joins exactly the pharmaceutically equivalent pairs sharing an A code. Laws of the
//! queries over it: same-manufacturer refills never change manufacturer, `explain` agrees
//! with `substitutes`, and `is_single_source` means "no A-rated equivalent".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pharm_subst::catalog::{Catalog, pharmaceutically_equivalent, substitutable};
use pharm_subst::policy::{LastFill, NoMarket, NtiRule, SubstitutionContext, SubstitutionPolicy};
use pharm_subst::query::{ChoiceReason, Explanation, Restriction};
use pharm_subst::record::{ApplType, ApprovalDate, MarketingStatus, ObProduct, ProductKey};
use pharm_subst::strength::Strength;
use pharm_subst::te::TeCode;
use proptest::prelude::*;

const CODES: &[&str] = &["AA", "AB", "AB1", "AB2", "AB3", "AB4", "AT", "BX", "BC"];

/// Ingredient, dosage form, strength, TE codes and status, as indexes.
type Spec = (u8, u8, u8, Vec<u8>, u8);

fn product() -> impl Strategy<Value = Spec> {
    (
        0u8..2,
        0u8..2,
        0u8..3,
        prop::collection::vec(0u8..CODES.len() as u8, 0..3),
        0u8..10,
    )
}

fn build(n: usize, spec: &Spec) -> ObProduct {
    let (ingredient, form, strength, codes, status) = spec;
    let mut te: Vec<TeCode> = codes
        .iter()
        .map(|&c| CODES[c as usize].parse().unwrap())
        .collect();
    te.sort();
    te.dedup();
    ObProduct {
        key: ProductKey {
            appl_type: if n.is_multiple_of(3) {
                ApplType::Nda
            } else {
                ApplType::Anda
            },
            appl_no: n as u32,
            product_no: 1,
        },
        ingredients: vec![
            ["ATORVASTATIN CALCIUM", "LEVOTHYROXINE SODIUM"][*ingredient as usize].into(),
        ],
        dosage_form: ["TABLET", "CAPSULE"][*form as usize].into(),
        route: "ORAL".into(),
        trade_name: format!("P{n}"),
        applicant: format!("MAKER {}", n % 4),
        applicant_full_name: String::new(),
        strength: Strength::parse(["10MG", "EQ 10MG BASE", "20MG"][*strength as usize]).unwrap(),
        te_codes: if *status >= 8 { Vec::new() } else { te },
        approval: ApprovalDate::PriorTo1982,
        rld: n.is_multiple_of(3),
        rs: Some(false),
        status: match status {
            0..=5 => MarketingStatus::Rx,
            6 => MarketingStatus::Otc,
            _ => MarketingStatus::Discn,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn edges_are_exactly_shared_a_codes(specs in prop::collection::vec(product(), 0..40)) {
        let products: Vec<ObProduct> = specs.iter().enumerate().map(|(i, s)| build(i, s)).collect();
        let c = Catalog::build(products).unwrap();
        let ps = c.products();
        for a in 0..ps.len() {
            let ka = ps[a].key;
            prop_assert!(c.equivalence(&ka, &ka).is_none(), "irreflexive");
            let nbrs: Vec<ProductKey> = c.equivalents(&ka).unwrap().map(|(p, _)| p.key).collect();
            for b in 0..ps.len() {
                let kb = ps[b].key;
                prop_assert_eq!(c.equivalence(&ka, &kb), c.equivalence(&kb, &ka), "symmetric");
                let expected = a != b
                    && substitutable(&ps[a])
                    && substitutable(&ps[b])
                    && pharmaceutically_equivalent(&ps[a], &ps[b])
                    && ps[a].te_codes.iter().any(|x| ps[b].te_codes.contains(x));
                prop_assert_eq!(c.equivalence(&ka, &kb).is_some(), expected);
                prop_assert_eq!(nbrs.contains(&kb), expected);
                if let Some(code) = c.equivalence(&ka, &kb) {
                    prop_assert!(code.is_a());
                    prop_assert!(ps[a].te_codes.contains(&code) && ps[b].te_codes.contains(&code));
                    for p in [&ps[a], &ps[b]] {
                        prop_assert_eq!(p.status, MarketingStatus::Rx);
                        prop_assert!(!p.te_codes.is_empty() && p.te_codes.iter().all(TeCode::is_a));
                    }
                }
            }
        }
    }
}

/// Products as [`build`] makes them, but sharing a few applications (`A000000`…`A000003`
/// and `N000000`…`N000003`) so several products have one manufacturer.
fn shared_applications(specs: &[(Spec, u32)]) -> Vec<ObProduct> {
    specs
        .iter()
        .enumerate()
        .map(|(i, (s, appl))| {
            let mut p = build(i, s);
            p.key.appl_no = *appl;
            p.key.product_no = i as u16;
            p
        })
        .collect()
}

fn nc_same_maker() -> SubstitutionPolicy {
    SubstitutionPolicy {
        nti_rule: NtiRule::Allow,
        ..SubstitutionPolicy::north_carolina()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Under the same-manufacturer refill rule every choice is a product of the last
    /// fill's application; when there is none the answer says so, never another maker.
    #[test]
    fn same_manufacturer_refills_never_change_manufacturer(
        specs in prop::collection::vec((product(), 0u32..4), 1..30),
        written in 0usize..30,
        last in (0usize..30, any::<bool>()),
    ) {
        let c = Catalog::build(shared_applications(&specs)).unwrap();
        let written = c.products()[written % c.len()].key;
        let last_fill = if last.1 {
            LastFill::Unidentified
        } else {
            c.products()[last.0 % c.len()].key.into()
        };
        let policy = nc_same_maker();
        let mut ctx = SubstitutionContext::new(&policy, &NoMarket);
        ctx.last_fill = Some(last_fill);
        let a = c.substitutes(&written, &ctx).unwrap();
        let nti = policy.is_nti(&c.get(&written).unwrap().ingredients);
        if nti {
            for choice in &a.choices {
                prop_assert_eq!(LastFill::Application(choice.key.application()), last_fill);
            }
            if a.choices.is_empty() {
                let unavailable = matches!(
                    a.restriction,
                    Some(Restriction::SameManufacturerUnavailable { .. })
                );
                prop_assert!(unavailable);
            } else {
                let kept = matches!(a.restriction, Some(Restriction::SameManufacturer { .. }));
                prop_assert!(kept);
            }
        } else {
            prop_assert_eq!(a.restriction, None);
            prop_assert!(a.choices.iter().any(|c| c.key == written));
        }
    }

    /// `explain` and `substitutes` agree under any policy: a product is offered as an
    /// equivalent exactly when `explain` calls it equivalent; `is_single_source` holds
    /// exactly when nothing is A-rated to the product.
    #[test]
    fn explain_agrees_with_substitutes(
        specs in prop::collection::vec((product(), 0u32..4), 1..20),
        written in 0usize..20,
        last in prop::option::of(0usize..20),
        rule in 0u8..3,
        consent in any::<bool>(),
    ) {
        let c = Catalog::build(shared_applications(&specs)).unwrap();
        let written = c.products()[written % c.len()].key;
        let policy = SubstitutionPolicy {
            nti_rule: [NtiRule::Allow, NtiRule::RequireConsent, NtiRule::Forbid][rule as usize],
            ..SubstitutionPolicy::north_carolina()
        };
        let mut ctx = SubstitutionContext::new(&policy, &NoMarket);
        ctx.last_fill = last.map(|i| c.products()[i % c.len()].key.into());
        ctx.consent = consent;
        let a = c.substitutes(&written, &ctx).unwrap();
        for p in c.products() {
            if p.key == written {
                continue;
            }
            let offered = a
                .choices
                .iter()
                .any(|ch| ch.key == p.key && ch.reason != ChoiceReason::AsWritten);
            let equivalent = matches!(
                c.explain(&written, &p.key, Some(&ctx)).unwrap(),
                Explanation::Equivalent { .. }
            );
            prop_assert_eq!(offered, equivalent, "{} → {}", written, p.key);
        }
        let open = SubstitutionPolicy::permissive("TX");
        let any_equivalent = c
            .substitutes(&written, &SubstitutionContext::new(&open, &NoMarket))
            .unwrap()
            .choices
            .iter()
            .any(|ch| ch.reason != ChoiceReason::AsWritten);
        prop_assert_eq!(c.is_single_source(&written).unwrap(), !any_equivalent);
    }
}
