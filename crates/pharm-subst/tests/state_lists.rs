//! State NTI lists and negative formularies on real Orange Book rows
//! (`testdata/products-state-lists.txt`: potassium chloride and potassium citrate ER tablets,
//! Menest and Menrium, copied byte-for-byte from a mid-2026 FDA `products.txt`): entries
//! match the full active moiety, never just the first word.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pharm_subst::catalog::Catalog;
use pharm_subst::policy::{NoMarket, NtiRule, SubstitutionContext, SubstitutionPolicy};
use pharm_subst::products::{ParseLimits, ParseMode, parse_products};
use pharm_subst::query::Restriction;
use pharm_subst::record::ProductKey;

fn catalog() -> Catalog {
    let bytes = include_bytes!("../testdata/products-state-lists.txt");
    let parsed = parse_products(bytes, ParseMode::Strict, &ParseLimits::default()).unwrap();
    Catalog::build(parsed.products).unwrap()
}

fn k(s: &str) -> ProductKey {
    s.parse().unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

/// The restriction and the number of choices for `key` under `policy`.
fn answer(c: &Catalog, policy: &SubstitutionPolicy, key: &str) -> (Option<Restriction>, usize) {
    let ctx = SubstitutionContext::new(policy, &NoMarket);
    let a = c.substitutes(&k(key), &ctx).unwrap();
    (a.restriction, a.choices.len())
}

#[test]
fn a_potassium_chloride_entry_does_not_cover_potassium_citrate() {
    let c = catalog();
    let policy = SubstitutionPolicy {
        negative_formulary: strings(&["POTASSIUM CHLORIDE"]),
        ..SubstitutionPolicy::permissive("KY")
    };
    // Potassium chloride ER 10 mEq (AB1): kept as written.
    let (restriction, n) = answer(&c, &policy, "A075604-001");
    assert!(matches!(
        restriction,
        Some(Restriction::NegativeFormulary { .. })
    ));
    assert_eq!(n, 1);
    // Potassium citrate ER 10 mEq: not on the list, its AB equivalents are offered.
    assert_eq!(answer(&c, &policy, "A212779-001"), (None, 3));
    assert!(!policy.is_negative_formulary(&strings(&["POTASSIUM CITRATE"])));
    assert!(!policy.is_negative_formulary(&strings(&["LOSARTAN POTASSIUM"])));
}

#[test]
fn an_estrogens_conjugated_entry_does_not_cover_esterified_estrogens() {
    let c = catalog();
    let policy = SubstitutionPolicy {
        nti_ingredients: strings(&["ESTROGENS, CONJUGATED"]),
        nti_rule: NtiRule::Forbid,
        negative_formulary: strings(&["ESTROGENS, CONJUGATED"]),
        ..SubstitutionPolicy::permissive("XX")
    };
    for key in ["A084948-001", "N014740-006"] {
        assert_eq!(answer(&c, &policy, key), (None, 1), "{key}");
    }
    assert!(policy.is_nti(&strings(&["ESTROGENS, CONJUGATED"])));
    assert!(!policy.is_nti(&strings(&["ESTROGENS, ESTERIFIED"])));
    // The listed moiety inside a combination is still found.
    let esterified = SubstitutionPolicy {
        negative_formulary: strings(&["estrogens,  esterified"]),
        ..SubstitutionPolicy::permissive("XX")
    };
    let (restriction, _) = answer(&c, &esterified, "N014740-006");
    assert!(matches!(
        restriction,
        Some(Restriction::NegativeFormulary { .. })
    ));
}

#[test]
fn north_carolina_list_at_its_boundaries() {
    let nc = SubstitutionPolicy::north_carolina();
    // Covered: other salts of a listed moiety, any case and spacing.
    for covered in [
        "PHENYTOIN",
        "PHENYTOIN SODIUM",
        "LITHIUM CITRATE",
        "Levothyroxine  Sodium",
        "WARFARIN POTASSIUM",
        "PROCAINAMIDE HYDROCHLORIDE",
    ] {
        assert!(nc.is_nti(&strings(&[covered])), "{covered}");
    }
    // Not covered: other moieties, blank names.
    for other in [
        "POTASSIUM CHLORIDE",
        "LEVOCETIRIZINE DIHYDROCHLORIDE",
        "FOSPHENYTOIN SODIUM",
        "",
    ] {
        assert!(!nc.is_nti(&strings(&[other])), "{other}");
    }
}
