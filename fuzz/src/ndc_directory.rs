//! `ndc_directory`: the FDA NDC Directory `product.txt` loader, then the NDC → Orange Book
//! index built from what loads against the sample catalog.
//!
//! Input: a selector byte (bit 0: lenient when set, strict otherwise), then the file.

use pharm_subst::ndc_directory::parse_ndc_directory;
use pharm_subst::ndc_index::{NdcIndex, NdcMapping};
use pharm_subst::products::ParseMode;

use crate::orange_book::LIMITS;
use crate::samples::sample_catalog;
use crate::split_selector;

/// Runs one input (see the module documentation).
pub fn run(data: &[u8]) {
    let (selector, file) = split_selector(data);
    let mode = if selector & 1 == 1 {
        ParseMode::Lenient
    } else {
        ParseMode::Strict
    };
    let parsed = match parse_ndc_directory(file, mode, &LIMITS) {
        Ok(parsed) => parsed,
        Err(error) => return drop(error.to_string()),
    };
    match mode {
        ParseMode::Strict => assert!(parsed.rejects.is_empty(), "strict load with rejects"),
        ParseMode::Lenient => assert!(parsed.rejects.len() <= LIMITS.max_rejects),
    }
    for e in &parsed.entries {
        assert!(
            matches!(
                (e.labeler_digits, e.product_digits),
                (4, 4) | (5, 3) | (5, 4)
            ),
            "{}: layout {}-{}",
            e.product_ndc,
            e.labeler_digits,
            e.product_digits
        );
    }
    let catalog = sample_catalog();
    let (index, report) = NdcIndex::from_directory(catalog, &parsed.entries);
    assert_eq!(report.resolved, index.len(), "resolved count");
    for e in &parsed.entries {
        if let Some(key) = index.product_key(e.labeler, e.product_code) {
            assert!(catalog.get(&key).is_some(), "{key} is not in the catalog");
            let application = key.application();
            assert!(
                parsed.entries.iter().any(|o| o.labeler == e.labeler
                    && o.product_code == e.product_code
                    && o.application == Some((application.appl_type, application.appl_no))),
                "{} mapped to {key}, of no application of its rows",
                e.product_ndc
            );
        }
    }
}
