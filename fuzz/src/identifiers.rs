//! `identifiers`: NDC (10/11/12-digit forms), GTIN, GS1 DataMatrix and DEA number parsers,
//! and the conversions between their forms.
//!
//! Input: a selector byte (modulo 5: 0 NDC, 1 GTIN, 2 GS1 element string, 3 scanned or
//! human-readable GS1 text, 4 DEA number), then the text (invalid UTF-8 is replaced).

use pharm_core::ids::gs1::{parse_datamatrix, parse_human_readable, parse_scanned};
use pharm_core::ids::ndc::{NdcLayout, resolve_unsegmented};
use pharm_core::ids::{DataMatrix, DeaNumber, Gtin, Ndc};

use crate::split_selector;

/// Every NDC layout.
const LAYOUTS: [NdcLayout; 5] = [
    NdcLayout::L442,
    NdcLayout::L532,
    NdcLayout::L541,
    NdcLayout::L542,
    NdcLayout::L642,
];

/// Runs one input (see the module documentation).
pub fn run(data: &[u8]) {
    let (selector, rest) = split_selector(data);
    let text = String::from_utf8_lossy(rest);
    match selector % 5 {
        0 => ndc(&text),
        1 => gtin(&text),
        2 => {
            if let Ok(dm) = parse_datamatrix(&text) {
                datamatrix(&dm);
            }
        }
        3 => {
            if let Ok(dm) = parse_scanned(&text) {
                datamatrix(&dm);
            }
        }
        _ => dea(&text),
    }
}

/// Parses `text` as an NDC, which must succeed.
fn reparse(text: &str, what: &str) -> Ndc {
    text.parse()
        .unwrap_or_else(|e| panic!("{what} {text:?} does not parse back: {e}"))
}

/// Every printed form of a parsed NDC reads back as the same package (and the native form
/// in the same layout); GTIN and unsegmented forms resolve back through a master.
fn ndc(text: &str) {
    let Ok(ndc) = text.parse::<Ndc>() else {
        return;
    };
    let shown = reparse(&ndc.to_string(), "display");
    assert_eq!(shown, ndc);
    assert_eq!(shown.layout(), ndc.layout(), "layout of {ndc}");
    assert_eq!(reparse(&ndc.ndc12(), "ndc12"), ndc);
    assert_eq!(reparse(&ndc.ndc12_hyphenated(), "ndc12 hyphenated"), ndc);
    if let Some(eleven) = ndc.ndc11() {
        assert_eq!(reparse(&eleven, "ndc11"), ndc);
    }
    if let Some(eleven) = ndc.ndc11_hyphenated() {
        assert_eq!(reparse(&eleven, "ndc11 hyphenated"), ndc);
    }
    for layout in LAYOUTS {
        if let Ok(other) = ndc.with_layout(layout) {
            assert_eq!(other, ndc, "{ndc} in layout {layout}");
            assert_eq!(other.layout(), layout);
        }
    }
    let master = vec![ndc];
    if let Some(ten) = ndc.ndc10() {
        match resolve_unsegmented(&ten, &master) {
            Ok(found) => {
                assert_eq!(found, ndc, "{ten} resolved");
                assert_eq!(found.layout(), ndc.layout(), "layout of {ten} resolved");
            }
            Err(e) => panic!("{ten} does not resolve through a master holding {ndc}: {e}"),
        }
        match Gtin::from_ndc(&ndc, 0) {
            Ok(gtin) => {
                assert_eq!(gtin.ndc10_digits().as_deref(), Some(ten.as_str()));
                match gtin.to_ndc(&master) {
                    Ok(back) => assert_eq!(back, ndc, "NDC of {gtin}"),
                    Err(e) => panic!("{gtin} does not give back {ndc}: {e}"),
                }
            }
            Err(e) => panic!("{ndc} with a 10-digit form has no GTIN: {e}"),
        }
    }
}

/// A parsed GTIN reads back from its 14 digits and its UPC-A form.
fn gtin(text: &str) {
    let Ok(gtin) = text.parse::<Gtin>() else {
        return;
    };
    let shown = gtin.to_string();
    match shown.parse::<Gtin>() {
        Ok(back) => assert_eq!(back, gtin),
        Err(e) => panic!("{shown} does not parse back: {e}"),
    }
    if let Some(upc) = gtin.upc_a() {
        match upc.parse::<Gtin>() {
            Ok(back) => assert_eq!(back, gtin, "UPC-A {upc}"),
            Err(e) => panic!("UPC-A {upc} does not parse back: {e}"),
        }
    }
}

/// A parsed DataMatrix reads back from the element string and the human-readable text it
/// writes.
fn datamatrix(dm: &DataMatrix) {
    if let Some(element) = dm.to_element_string() {
        match parse_datamatrix(&element) {
            Ok(back) => assert_eq!(&back, dm, "element string {element:?}"),
            Err(e) => panic!("element string {element:?} does not parse back: {e}"),
        }
    }
    if let Some(human) = dm.to_human_readable() {
        match parse_human_readable(&human) {
            Ok(back) => assert_eq!(&back, dm, "human-readable {human:?}"),
            Err(e) => panic!("human-readable {human:?} does not parse back: {e}"),
        }
    }
}

/// A parsed DEA number reads back from its text; its report never panics.
fn dea(text: &str) {
    let (number, last_name) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(dea) = number.parse::<DeaNumber>() else {
        return;
    };
    match dea.as_str().parse::<DeaNumber>() {
        Ok(back) => assert_eq!(back, dea),
        Err(e) => panic!("{} does not parse back: {e}", dea.as_str()),
    }
    let _ = dea.report(Some(last_name));
    let _ = dea.matches_last_name(last_name);
}
