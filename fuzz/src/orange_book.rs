//! `orange_book`: the Orange Book `products.txt`, `patent.txt` and `exclusivity.txt`
//! loaders, then the catalog and its equivalence graph built from what loads, and queries
//! on it.
//!
//! Input: a selector byte, then the file. Selector bit 0 picks lenient (1) or strict (0)
//! mode; bits 1–2 pick the file: 0 or 3 `products.txt`, 1 `patent.txt`, 2
//! `exclusivity.txt`.

use pharm_subst::catalog::Catalog;
use pharm_subst::products::{
    ParseLimits, ParseMode, ParsedProducts, parse_exclusivity, parse_patents, parse_products,
};
use pharm_subst::{NoMarket, SubstitutionAnswer, SubstitutionContext, SubstitutionPolicy};

use crate::split_selector;

/// Products queried per input (the first of the catalog), to keep an execution fast.
const QUERIED: usize = 16;

/// Limits of the fuzzed loads: small, so that the line and reject limits are reached too.
pub(crate) const LIMITS: ParseLimits = ParseLimits {
    max_bytes: 1 << 20,
    max_line_bytes: 4096,
    max_rejects: 4,
};

/// Runs one input (see the module documentation).
pub fn run(data: &[u8]) {
    let (selector, file) = split_selector(data);
    let mode = if selector & 1 == 1 {
        ParseMode::Lenient
    } else {
        ParseMode::Strict
    };
    match (selector >> 1) & 3 {
        1 => {
            if let Ok(parsed) = parse_patents(file, mode, &LIMITS) {
                check_rejects(mode, parsed.rejects.len(), parsed.omitted_rejects);
            }
        }
        2 => {
            if let Ok(parsed) = parse_exclusivity(file, mode, &LIMITS) {
                check_rejects(mode, parsed.rejects.len(), parsed.omitted_rejects);
            }
        }
        _ => match parse_products(file, mode, &LIMITS) {
            Ok(parsed) => check_catalog(mode, parsed),
            Err(error) => drop(error.to_string()),
        },
    }
}

/// Strict loads keep no rejects; lenient ones keep at most the limit.
fn check_rejects(mode: ParseMode, kept: usize, omitted: usize) {
    match mode {
        ParseMode::Strict => assert_eq!((kept, omitted), (0, 0), "strict load with rejects"),
        ParseMode::Lenient => assert!(kept <= LIMITS.max_rejects, "{kept} rejects kept"),
    }
}

/// A loaded file always builds a catalog (the loader refuses duplicate keys), and every
/// product of it answers queries.
fn check_catalog(mode: ParseMode, parsed: ParsedProducts) {
    check_rejects(mode, parsed.rejects.len(), parsed.omitted_rejects);
    let count = parsed.products.len();
    let catalog = match Catalog::build(parsed.products) {
        Ok(catalog) => catalog,
        Err(duplicate) => panic!("loaded products do not build a catalog: {duplicate}"),
    };
    assert_eq!(catalog.len(), count, "catalog size");
    let policy = SubstitutionPolicy::permissive("TX");
    let ctx = SubstitutionContext::new(&policy, &NoMarket);
    let keys: Vec<_> = catalog
        .products()
        .iter()
        .take(QUERIED)
        .map(|p| p.key)
        .collect();
    for key in &keys {
        let answer = match catalog.substitutes(key, &ctx) {
            Ok(answer) => answer,
            Err(unknown) => panic!("a catalog product is unknown to it: {unknown}"),
        };
        for choice in &answer.choices {
            assert!(
                catalog.get(&choice.key).is_some(),
                "choice outside the catalog"
            );
        }
        let owned = answer.to_answer(None);
        let text = match serde_json::to_string(&owned) {
            Ok(text) => text,
            Err(error) => panic!("answer does not serialize: {error}"),
        };
        match serde_json::from_str::<SubstitutionAnswer>(&text) {
            Ok(back) => assert_eq!(back, owned, "answer JSON round trip"),
            Err(error) => panic!("answer JSON does not read back: {error}: {text}"),
        }
        assert!(catalog.is_single_source(key).is_ok(), "single source query");
        for other in &keys {
            assert!(catalog.explain(key, other, Some(&ctx)).is_ok(), "explain");
            assert_eq!(
                catalog.equivalence(key, other).is_some(),
                catalog.equivalence(other, key).is_some(),
                "equivalence is symmetric ({key} and {other})"
            );
        }
    }
    let grouped: usize = catalog.groups().iter().map(Vec::len).sum();
    assert!(
        grouped <= catalog.len(),
        "groups hold more products than the catalog"
    );
}
