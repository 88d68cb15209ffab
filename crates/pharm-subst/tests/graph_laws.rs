//! Laws of the equivalence graph on random catalogs: the relation is symmetric and
//! irreflexive, never touches a B-rated, blank-coded, OTC or discontinued product, and
//! joins exactly the pharmaceutically equivalent pairs sharing an A code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pharm_subst::catalog::{Catalog, pharmaceutically_equivalent, substitutable};
use pharm_subst::record::{ApplType, ApprovalDate, MarketingStatus, ObProduct, ProductKey};
use pharm_subst::strength::Strength;
use pharm_subst::te::TeCode;
use proptest::prelude::*;

const CODES: &[&str] = &["AA", "AB", "AB1", "AB2", "AB3", "AB4", "AT", "BX", "BC"];

fn product() -> impl Strategy<Value = (u8, u8, u8, Vec<u8>, u8)> {
    (
        0u8..2,
        0u8..2,
        0u8..3,
        prop::collection::vec(0u8..CODES.len() as u8, 0..3),
        0u8..10,
    )
}

fn build(n: usize, spec: &(u8, u8, u8, Vec<u8>, u8)) -> ObProduct {
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
            prop_assert!(c.edge(a, a).is_none(), "irreflexive");
            let nbrs: Vec<usize> = c.neighbors(a).map(|(b, _)| b).collect();
            for b in 0..ps.len() {
                prop_assert_eq!(c.edge(a, b), c.edge(b, a), "symmetric");
                let expected = a != b
                    && substitutable(&ps[a])
                    && substitutable(&ps[b])
                    && pharmaceutically_equivalent(&ps[a], &ps[b])
                    && ps[a].te_codes.iter().any(|x| ps[b].te_codes.contains(x));
                prop_assert_eq!(c.edge(a, b).is_some(), expected);
                prop_assert_eq!(nbrs.contains(&b), expected);
                if let Some(code) = c.edge(a, b) {
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
