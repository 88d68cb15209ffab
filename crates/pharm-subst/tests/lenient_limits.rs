//! Lenient parsing of hostile input keeps a bounded amount of error data: a 64 MiB
//! `products.txt` of nothing but bad rows keeps at most `max_rejects` row errors and counts
//! the rest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pharm_subst::products::{
    DEFAULT_MAX_BYTES, DEFAULT_MAX_REJECTS, MAX_ERROR_TEXT_CHARS, PRODUCTS_HEADER, ParseLimits,
    ParseMode, parse_patents, parse_products,
};

/// A truncated row: a field-count error.
const SHORT_ROW: &str = "ATORVASTATIN CALCIUM~TABLET;ORAL~LIPITOR~UPJOHN~EQ 10MG BASE\n";

/// `PRODUCTS_HEADER` and then copies of a bad `row` up to `bytes`.
fn bad_rows(bytes: usize, row: &str) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(bytes);
    out.extend_from_slice(PRODUCTS_HEADER.as_bytes());
    out.push(b'\n');
    let mut rows = 0;
    while out.len() + row.len() < bytes {
        out.extend_from_slice(row.as_bytes());
        rows += 1;
    }
    (out, rows)
}

#[test]
fn a_64_mib_file_of_bad_rows_keeps_a_bounded_error_list() {
    let (input, rows) = bad_rows(DEFAULT_MAX_BYTES, SHORT_ROW);
    assert!(input.len() > DEFAULT_MAX_BYTES - SHORT_ROW.len() && rows > 1_000_000);
    let p = parse_products(&input, ParseMode::Lenient, &ParseLimits::default()).unwrap();
    assert!(p.products.is_empty());
    // Before the bound, this kept one record (struct, column name and row text) per bad
    // row, more memory than the input itself.
    assert_eq!(p.rejects.len(), DEFAULT_MAX_REJECTS);
    assert!(p.rejects.capacity() <= 2 * DEFAULT_MAX_REJECTS);
    assert_eq!(p.omitted_rejects, rows - DEFAULT_MAX_REJECTS);
    let kept_text: usize = p.rejects.iter().map(|r| r.text.capacity()).sum();
    assert!(kept_text <= DEFAULT_MAX_REJECTS * MAX_ERROR_TEXT_CHARS * 4);
    // The first bad rows are the ones kept, in file order.
    let lines: Vec<usize> = p.rejects.iter().take(3).map(|r| r.line).collect();
    assert_eq!(lines, [2, 3, 4]);
}

#[test]
fn the_bound_is_configurable_and_applies_to_every_table() {
    let limits = ParseLimits {
        max_rejects: 2,
        ..ParseLimits::default()
    };
    let (input, rows) = bad_rows(4096, "x~y\n");
    let p = parse_products(&input, ParseMode::Lenient, &limits).unwrap();
    assert_eq!((p.rejects.len(), p.omitted_rejects), (2, rows - 2));
    // Strict mode still stops at the first bad row.
    assert!(parse_products(&input, ParseMode::Strict, &limits).is_err());
    // No bad row: nothing kept, nothing omitted.
    let p = parse_products(PRODUCTS_HEADER.as_bytes(), ParseMode::Lenient, &limits).unwrap();
    assert_eq!((p.rejects.len(), p.omitted_rejects), (0, 0));
    // Zero keeps none and counts all.
    let none = ParseLimits {
        max_rejects: 0,
        ..ParseLimits::default()
    };
    let p = parse_products(&input, ParseMode::Lenient, &none).unwrap();
    assert_eq!((p.rejects.len(), p.omitted_rejects), (0, rows));
    let patents = format!("{}\nbad\nbad\nbad\n", pharm_subst::products::PATENT_HEADER);
    let p = parse_patents(patents.as_bytes(), ParseMode::Lenient, &limits).unwrap();
    assert_eq!((p.rejects.len(), p.omitted_rejects), (2, 1));
}
