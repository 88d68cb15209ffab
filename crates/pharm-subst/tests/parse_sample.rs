//! Loads the real Orange Book sample (`testdata/products-sample.txt`: 60 rows copied
//! byte-for-byte from a mid-2026 FDA `products.txt`) and variants of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pharm_subst::approval::PRIOR_TO_1982;
use pharm_subst::products::{
    Layout, ParseLimits, ParseMode, ParsedProducts, ProductsError, RowErrorKind, parse_products,
};
use pharm_subst::record::{ApprovalDate, MarketingStatus, ObProduct};
use proptest::prelude::*;

const SAMPLE: &[u8] = include_bytes!("../testdata/products-sample.txt");

fn sample_str() -> &'static str {
    std::str::from_utf8(SAMPLE).unwrap()
}

fn strict(input: &[u8]) -> Result<ParsedProducts, ProductsError> {
    parse_products(input, ParseMode::Strict, &ParseLimits::default())
}

fn lenient(input: &[u8]) -> Result<ParsedProducts, ProductsError> {
    parse_products(input, ParseMode::Lenient, &ParseLimits::default())
}

fn find<'a>(p: &'a [ObProduct], key: &str) -> &'a ObProduct {
    p.iter()
        .find(|x| x.key.to_string() == key)
        .unwrap_or_else(|| panic!("{key} missing"))
}

#[test]
fn all_rows_load_strictly() {
    let p = strict(SAMPLE).unwrap();
    assert_eq!(p.layout, Layout::Current14);
    assert_eq!(p.products.len(), 60);
    assert!(p.rejects.is_empty());
    assert!(p.products.iter().all(|x| x.rs.is_some()));
}

#[test]
fn status_counts() {
    let p = strict(SAMPLE).unwrap().products;
    let count = |s| p.iter().filter(|x| x.status == s).count();
    assert_eq!(count(MarketingStatus::Rx), 49);
    assert_eq!(count(MarketingStatus::Otc), 3);
    assert_eq!(count(MarketingStatus::Discn), 8);
}

#[test]
fn trailing_space_trimmed() {
    let p = strict(SAMPLE).unwrap().products;
    let accord80 = find(&p, "A207687-004");
    assert_eq!(accord80.strength.text, "EQ 80MG BASE");
    assert_eq!(accord80.strength.normalized, "EQ 80MG BASE");
    assert_eq!(accord80.strength.footnote, None);
    assert_eq!(accord80.applicant, "ACCORD HLTHCARE");
}

#[test]
fn footnotes_stripped_and_kept() {
    let p = strict(SAMPLE).unwrap().products;
    let synthroid = find(&p, "N021402-005");
    assert_eq!(synthroid.strength.text, "0.1MG");
    assert_eq!(
        synthroid.strength.footnote.as_deref(),
        Some(
            "See current Annual Edition, 1.8 Description of Special Situations, Levothyroxine Sodium"
        )
    );
    // The AMNEAL DISCN row has no note and the same key.
    let amneal = find(&p, "A210831-005");
    assert_eq!(amneal.strength.footnote, None);
    assert_eq!(amneal.strength.normalized, synthroid.strength.normalized);
    let liptruzet = find(&p, "N200153-001");
    assert_eq!(liptruzet.strength.text, "EQ 10MG BASE;10MG");
    assert_eq!(
        liptruzet.strength.footnote.as_deref(),
        Some(
            "Federal Register determination that product was not discontinued or withdrawn for safety or effectiveness reasons"
        )
    );
    assert_eq!(
        liptruzet.ingredients,
        vec!["ATORVASTATIN CALCIUM", "EZETIMIBE"]
    );
}

#[test]
fn raw_strength_text_is_kept() {
    let p = strict(SAMPLE).unwrap().products;
    let synthroid = find(&p, "N021402-005");
    assert_eq!(
        synthroid.strength.raw,
        "0.1MG **See current Annual Edition, 1.8 Description of Special Situations, Levothyroxine Sodium"
    );
    assert_eq!(synthroid.strength.text, "0.1MG");
    // The loader trims the field, so the trailing space of the Accord 80 mg row is gone.
    assert_eq!(find(&p, "A207687-004").strength.raw, "EQ 80MG BASE");
    for x in &p {
        assert!(x.strength.raw.starts_with(&x.strength.text), "{}", x.key);
    }
}

#[test]
fn ingredient_lists_split_outside_parentheses_only() {
    let row = |ingredient: &str| {
        let line = sample_str().lines().nth(45).unwrap();
        let rest = line.split_once('~').unwrap().1;
        format!(
            "{}\n{ingredient}~{rest}\n",
            pharm_subst::products::PRODUCTS_HEADER
        )
    };
    let p = strict(row("AMLODIPINE BESYLATE; ATORVASTATIN CALCIUM").as_bytes()).unwrap();
    assert_eq!(
        p.products[0].ingredients,
        ["AMLODIPINE BESYLATE", "ATORVASTATIN CALCIUM"]
    );
    let p = strict(row("SENNOSIDES (A; B); DOCUSATE SODIUM").as_bytes()).unwrap();
    assert_eq!(
        p.products[0].ingredients,
        ["SENNOSIDES (A; B)", "DOCUSATE SODIUM"]
    );
    for bad in ["SENNOSIDES (A; B", "SENNOSIDES A; B)", "A;; B"] {
        match strict(row(bad).as_bytes()) {
            Err(ProductsError::Row(e)) => {
                assert_eq!(e.column.as_deref(), Some("Ingredient"), "{bad}");
                assert!(matches!(e.kind, RowErrorKind::Invalid { .. }), "{bad}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn te_codes() {
    let p = strict(SAMPLE).unwrap().products;
    let mylan = find(&p, "A076187-005");
    let codes: Vec<String> = mylan.te_codes.iter().map(ToString::to_string).collect();
    assert_eq!(codes, vec!["AB1", "AB2", "AB3", "AB4"]);
    assert!(find(&p, "A213853-001").te_codes.iter().all(|c| c.is_b()));
    assert!(find(&p, "N212608-001").te_codes.is_empty());
    assert_eq!(find(&p, "A210778-001").te_codes[0].to_string(), "AT");
}

#[test]
fn dates_and_flags() {
    let p = strict(SAMPLE).unwrap().products;
    let unisom = find(&p, "N018066-001");
    assert_eq!(unisom.approval, ApprovalDate::PriorTo1982);
    assert_eq!(unisom.approval.to_string(), PRIOR_TO_1982);
    let ativan = find(&p, "N017794-002");
    assert_eq!(ativan.approval, ApprovalDate::PriorTo1982);
    let lipitor80 = find(&p, "N020702-004");
    assert_eq!(lipitor80.approval.to_string(), "Apr 7, 2000");
    assert!(lipitor80.rld);
    assert_eq!(lipitor80.rs, Some(true));
    let torrent = find(&p, "A212062-002");
    assert_eq!((torrent.rld, torrent.rs), (false, Some(true)));
}

#[test]
fn df_route_and_strength_shapes() {
    let p = strict(SAMPLE).unwrap().products;
    let foam = find(&p, "A210809-001");
    assert_eq!(
        (foam.dosage_form.as_str(), foam.route.as_str()),
        ("AEROSOL, FOAM", "TOPICAL")
    );
    let nif = find(&p, "A210012-001");
    assert_eq!(nif.dosage_form, "TABLET, EXTENDED RELEASE");
    let caduet = find(&p, "N021540-001");
    assert_eq!(caduet.ingredients.len(), 2);
    assert_eq!(caduet.strength.parts().len(), 2);
    let oc = find(&p, "A200493-001");
    assert_eq!(oc.strength.normalized, "0.02MG,0.1MG;0.01MG,N/A");
    assert_eq!(oc.strength.parts()[0].len(), 2);
    // Every sample strength has a normalized key; all but none are unparsed.
    for x in &p {
        assert!(!x.strength.normalized.is_empty());
        for part in x.strength.parts() {
            for phase in part {
                assert!(
                    !matches!(phase, pharm_subst::strength::Phase::Unparsed(_)),
                    "{}: {:?}",
                    x.key,
                    x.strength
                );
            }
        }
    }
}

/// The sample with the `RS` column removed from the header and every row.
fn legacy13(input: &str) -> String {
    let mut out = String::new();
    for line in input.lines() {
        let mut f: Vec<&str> = line.split('~').collect();
        f.remove(11);
        out.push_str(&f.join("~"));
        out.push('\n');
    }
    out
}

#[test]
fn legacy_13_column_layout() {
    let legacy = legacy13(sample_str());
    assert!(legacy.starts_with("Ingredient~DF;Route~Trade_Name~Applicant~Strength~Appl_Type~Appl_No~Product_No~TE_Code~Approval_Date~RLD~Type~Applicant_Full_Name\n"));
    let p = strict(legacy.as_bytes()).unwrap();
    assert_eq!(p.layout, Layout::Legacy13);
    assert_eq!(p.products.len(), 60);
    assert!(p.products.iter().all(|x| x.rs.is_none()));
    let current = strict(SAMPLE).unwrap().products;
    for (a, b) in p.products.iter().zip(&current) {
        let mut b = b.clone();
        b.rs = None;
        assert_eq!(*a, b);
    }
}

#[test]
fn crlf_and_bom_parse_identically() {
    let crlf = sample_str().replace('\n', "\r\n");
    assert_eq!(strict(crlf.as_bytes()).unwrap(), strict(SAMPLE).unwrap());
    let bom = format!("\u{feff}{crlf}");
    assert_eq!(strict(bom.as_bytes()).unwrap(), strict(SAMPLE).unwrap());
}

#[test]
fn corrupted_rows_named_by_line() {
    let mut lines: Vec<String> = sample_str().lines().map(str::to_owned).collect();
    // Line numbers are 1-based with the header on line 1, so data row k is lines[k].
    lines[5] = lines[5].rsplit_once('~').unwrap().0.to_owned();
    lines[12] = lines[12].replacen("~N~", "~X~", 1);
    lines[20] = lines[20].replacen("~Jan 18, 2023~", "~2023-01-18~", 1);
    lines[33] = lines[33].replacen("~AB1~", "~AB 1~", 1);
    let changed = [5, 12, 20, 33].map(|i| lines[i] != sample_str().lines().nth(i).unwrap());
    assert_eq!(changed, [true; 4]);
    let text = lines.join("\n");

    let p = lenient(text.as_bytes()).unwrap();
    assert_eq!(p.products.len(), 56);
    let got: Vec<(usize, Option<&str>)> = p
        .rejects
        .iter()
        .map(|r| (r.line, r.column.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (6, None),
            (13, Some("Appl_Type")),
            (21, Some("Approval_Date")),
            (34, Some("TE_Code"))
        ]
    );
    assert!(matches!(
        p.rejects[0].kind,
        RowErrorKind::FieldCount {
            expected: 14,
            found: 13
        }
    ));
    assert!(matches!(p.rejects[1].kind, RowErrorKind::Invalid { .. }));
    assert!(matches!(p.rejects[2].kind, RowErrorKind::Date(_)));
    assert!(matches!(p.rejects[3].kind, RowErrorKind::TeCode(_)));
    for r in &p.rejects {
        assert!(r.text.chars().count() <= 200);
        assert!(
            r.to_string().starts_with(&format!("line {}", r.line)),
            "{r}"
        );
    }

    match strict(text.as_bytes()) {
        Err(ProductsError::Row(e)) => assert_eq!(e.line, 6),
        other => panic!("{other:?}"),
    }
}

#[test]
fn scaled_file_throughput() {
    // ~55,000 rows built from the sample with unique application numbers.
    let text = sample_str();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let copies = 55_000 / rows.len() + 1;
    let mut big = String::with_capacity(text.len() * copies);
    big.push_str(header);
    big.push('\n');
    let mut n = 0u32;
    for _ in 0..copies {
        for r in &rows {
            n += 1;
            let f: Vec<&str> = r.split('~').collect();
            let appl = format!("{n:06}");
            let mut g = f.clone();
            g[6] = &appl;
            big.push_str(&g.join("~"));
            big.push('\n');
        }
    }
    let cpu_before = thread_cpu_ticks();
    let mut timings = Vec::new();
    // Timing is only meaningful in release builds; debug runs parse once.
    let runs = if cfg!(debug_assertions) { 1 } else { 5 };
    for _ in 0..runs {
        let start = std::time::Instant::now();
        let parsed = strict(big.as_bytes()).unwrap();
        timings.push(start.elapsed());
        assert_eq!(parsed.products.len(), copies * rows.len());
        drop(parsed);
    }
    let cpu = thread_cpu_ticks()
        .zip(cpu_before)
        .map(|(a, b)| (a - b) * 10 / runs as u64);
    let elapsed = timings.iter().min().unwrap();
    eprintln!(
        "parsed {} rows ({} bytes) in {:?} (best of {:?}); thread CPU time per parse ≈ {:?} ms",
        copies * rows.len(),
        big.len(),
        elapsed,
        timings,
        cpu
    );
}

/// User + system CPU time of this thread in clock ticks (Linux, 100 Hz), when readable.
fn thread_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields after the command name start at field 3 (state); utime is 14, stime 15.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = strict(&bytes);
        let _ = lenient(&bytes);
    }

    #[test]
    fn tilde_soup_never_panics(s in "[~;\\r\\n A-Z0-9,.*%/]{0,600}") {
        let input = format!("{}\n{s}", pharm_subst::products::PRODUCTS_HEADER);
        let _ = lenient(input.as_bytes());
    }

    /// Lenient parsing with a bound keeps exactly the first `max` rejects of an unbounded
    /// parse and counts the rest; the products are the same.
    #[test]
    fn bounded_rejects_are_a_prefix_of_all_rejects(
        rows in proptest::collection::vec(prop_oneof![
            Just(0usize), Just(5), Just(12), Just(33), 0usize..60
        ], 0..40),
        breaks in proptest::collection::vec(any::<bool>(), 40),
        max in 0usize..6,
    ) {
        let lines: Vec<&str> = sample_str().lines().collect();
        let mut text = format!("{}\n", lines[0]);
        for (i, (&r, &broken)) in rows.iter().zip(&breaks).enumerate() {
            let line = lines[1 + r];
            if broken {
                text.push_str(line.rsplit_once('~').unwrap().0);
            } else {
                // A unique application number per copy keeps the keys unique.
                let mut f: Vec<&str> = line.split('~').collect();
                let appl = format!("{:06}", 900_000 + i);
                f[6] = &appl;
                text.push_str(&f.join("~"));
            }
            text.push('\n');
        }
        let all = ParseLimits { max_rejects: usize::MAX, ..ParseLimits::default() };
        let bounded = ParseLimits { max_rejects: max, ..ParseLimits::default() };
        let a = parse_products(text.as_bytes(), ParseMode::Lenient, &all).unwrap();
        let b = parse_products(text.as_bytes(), ParseMode::Lenient, &bounded).unwrap();
        prop_assert_eq!(a.omitted_rejects, 0);
        prop_assert_eq!(&b.products, &a.products);
        prop_assert!(b.rejects.len() <= max);
        prop_assert_eq!(&b.rejects[..], &a.rejects[..b.rejects.len()]);
        prop_assert_eq!(b.rejects.len() + b.omitted_rejects, a.rejects.len());
    }

    #[test]
    fn one_byte_replaced(pos in 0usize..SAMPLE.len(), byte in any::<u8>()) {
        let mut bytes = SAMPLE.to_vec();
        bytes[pos] = byte;
        let strict_result = strict(&bytes);
        // A corrupted header (including its line end) may legitimately reject every row.
        let header_end = SAMPLE.iter().position(|&b| b == b'\n').unwrap_or(SAMPLE.len());
        if pos <= header_end {
            if let Ok(p) = lenient(&bytes) {
                prop_assert_eq!(strict_result.is_ok(), p.rejects.is_empty());
            }
        } else if let Ok(p) = lenient(&bytes) {
            prop_assert!(p.rejects.len() <= 2, "{:?}", p.rejects);
            prop_assert!(p.products.len() >= 58);
            prop_assert!(p.products.len() + p.rejects.len() <= 61);
            prop_assert_eq!(strict_result.is_ok(), p.rejects.is_empty());
        } else {
            prop_assert!(strict_result.is_err());
        }
    }
}
