//! Tests of the generator and the summary.

use std::collections::HashSet;

use pharm_subst::record::{MarketingStatus, ProductKey};

use super::text::{codes_text, milli, strength_amount};
use super::words::Style;
use super::*;

#[test]
fn deterministic_and_exact_row_count() {
    let a = generate_products_txt(7, 3_000);
    let b = generate_products_txt(7, 3_000);
    assert_eq!(a, b);
    let mut lines = a.lines();
    assert_eq!(lines.next(), Some(HEADER));
    assert_eq!(lines.clone().count(), 3_000);
    assert!(lines.all(|l| l.split('~').count() == 14));
    assert!(a.ends_with('\n') && !a.contains('\r'));
    assert_ne!(a, generate_products_txt(8, 3_000));
}

#[test]
fn small_files_start_with_the_real_molecules() {
    let text = generate_products_txt(1, 600);
    assert_eq!(text.lines().count(), 601);
    assert!(text.contains("~LIPITOR~UPJOHN~EQ 80MG BASE~N~"));
    assert!(text.contains("~SYNTHROID~ABBVIE~0.1MG"));
    assert!(text.contains(" **See current Annual Edition, 1.8 Description of Special Situations, Levothyroxine Sodium~"));
    assert!(text.contains("AB1,AB2~"));
    assert!(
        text.contains("~CIALIS~LILLY~20MG~N~") && text.contains("~ADCIRCA~ELI LILLY CO~20MG~N~")
    );
}

#[test]
fn keys_are_unique_and_mix_is_realistic() {
    let text = generate_products_txt(DEFAULT_SEED, DEFAULT_ROWS);
    let mut keys = HashSet::new();
    let (mut discn, mut otc, mut b, mut multi, mut prior, mut footnote, mut trailing) =
        (0, 0, 0, 0, 0, 0, 0);
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split('~').collect();
        assert_eq!(c.len(), 14, "{line}");
        assert!(keys.insert((c[5], c[6], c[7])), "duplicate key in {line}");
        assert!(c[6].len() == 6 && c[7].len() == 3);
        match c[12] {
            "DISCN" => {
                discn += 1;
                assert!(c[8].is_empty());
            }
            "OTC" => {
                otc += 1;
                assert!(c[8].is_empty());
            }
            "RX" => {}
            other => panic!("status {other}"),
        }
        b += usize::from(c[8].starts_with('B'));
        multi += usize::from(c[8].contains(','));
        prior += usize::from(c[9].starts_with("Approved Prior"));
        footnote += usize::from(c[4].contains(" **"));
        trailing += usize::from(c[4].ends_with(' '));
    }
    let n = DEFAULT_ROWS as f64;
    let share = |k: usize| k as f64 / n;
    assert!(
        (0.30..0.40).contains(&share(discn)),
        "DISCN {}",
        share(discn)
    );
    assert!((0.03..0.08).contains(&share(otc)), "OTC {}", share(otc));
    assert!((0.005..0.02).contains(&share(b)), "B {}", share(b));
    assert!(multi > 100 && prior > 1_000 && footnote > 500 && trailing > 20);
}

#[test]
fn parses_strictly_with_zero_rejects_and_the_requested_row_count() {
    for rows in [1, 600, DEFAULT_ROWS] {
        let text = generate_products_txt(DEFAULT_SEED, rows);
        let parsed = parse_strict(&text).unwrap_or_else(|e| panic!("{rows} rows: {e}"));
        assert!(parsed.rejects.is_empty());
        assert_eq!(parsed.layout, pharm_subst::products::Layout::Current14);
        assert_eq!(parsed.products.len(), rows);
        let lenient = parse_products(text.as_bytes(), ParseMode::Lenient, &ParseLimits::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(lenient.rejects.is_empty());
        assert!(Catalog::build(parsed.products).is_ok());
    }
}

#[test]
fn full_file_has_the_expected_shape() {
    let catalog = load_catalog(&generate_products_txt(DEFAULT_SEED, DEFAULT_ROWS))
        .unwrap_or_else(|e| panic!("{e}"));
    let s = CatalogSummary::of(&catalog);
    assert!((2_000..3_000).contains(&s.molecules), "{s}");
    assert!(s.multi_code_forms >= 20 && s.numbered_forms >= 20, "{s}");
    assert!(
        s.anda_group_median >= 2 && s.anda_group_max >= 25 && s.anda_group_max <= 40,
        "{s}"
    );
    assert!(s.anda_group_hist[0] > s.anda_group_hist[5], "{s}");
    // Familiar products keep their real keys; footnotes and trailing spaces are stripped
    // before normalizing, so brand and generics meet in one group.
    let key = |s: &str| s.parse::<ProductKey>().unwrap_or_else(|e| panic!("{e}"));
    let lipitor_80 = key("N020702-004");
    assert_eq!(
        catalog.get(&lipitor_80).map(|p| p.status),
        Some(MarketingStatus::Rx)
    );
    assert!(catalog.equivalents(&lipitor_80).map_or(0, Iterator::count) >= 14);
    let synthroid = key("N021402-005");
    assert!(catalog.equivalents(&synthroid).map_or(0, Iterator::count) >= 3);
    let (cialis_20, adcirca) = (key("N021368-004"), key("N022332-001"));
    assert!(catalog.get(&cialis_20).is_some() && catalog.get(&adcirca).is_some());
    assert!(catalog.equivalence(&cialis_20, &adcirca).is_none());
}

#[test]
fn milli_formatting() {
    assert_eq!(milli(25), "0.025");
    assert_eq!(milli(2_500), "2.5");
    assert_eq!(milli(10_000), "10");
    assert_eq!(
        strength_amount(Style::Vial, 1_000_000, true),
        "EQ 1GM BASE/VIAL"
    );
    assert_eq!(codes_text("AB", &[2, 1]), "AB1,AB2");
}
