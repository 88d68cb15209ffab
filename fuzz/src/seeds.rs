//! The seed corpus: every target's starting inputs, made from the repository's own sample
//! files, golden vectors and documented examples. `tests/replay.rs` writes them to
//! `corpus/<target>/` (`PHARM_BLESS=1`) and checks the committed files are exactly these.

use std::ptr::null_mut;

use pharm_ffi::{pharm_resilience_preset_config, pharm_result};
use pharm_subst::products::{EXCLUSIVITY_HEADER, PATENT_HEADER};
use pharm_sync::codec::{DecodeLimits, decode, encode_txn};
use pharm_sync::message::Body;

use crate::samples::{EVALUATE_TSV, PRODUCTS_SAMPLE};

/// One seed: its file name and bytes.
pub type Seed = (String, Vec<u8>);

/// The golden sync messages, by name.
const SYNC_HEX: [(&str, &str); 7] = [
    (
        "hello",
        include_str!("../../testdata/golden/sync/hello.hex"),
    ),
    (
        "welcome",
        include_str!("../../testdata/golden/sync/welcome.hex"),
    ),
    (
        "upload",
        include_str!("../../testdata/golden/sync/upload.hex"),
    ),
    (
        "upload_ack",
        include_str!("../../testdata/golden/sync/upload_ack.hex"),
    ),
    (
        "delta",
        include_str!("../../testdata/golden/sync/delta.hex"),
    ),
    (
        "upload_other_kinds",
        include_str!("../../testdata/golden/sync/upload_other_kinds.hex"),
    ),
    (
        "delta_other_sections",
        include_str!("../../testdata/golden/sync/delta_other_sections.hex"),
    ),
];

/// The Orange Book file with state lists of pharm-subst's tests.
const PRODUCTS_STATE_LISTS: &[u8] =
    include_bytes!("../../crates/pharm-subst/testdata/products-state-lists.txt");

/// The shard maps of the golden routes.
const ROUTES_JSON: &str = include_str!("../../testdata/golden/shard/routes.json");

/// The header of the NDC Directory `product.txt`.
const NDC_HEADER: &str = "PRODUCTID\tPRODUCTNDC\tPRODUCTTYPENAME\tPROPRIETARYNAME\tPROPRIETARYNAMESUFFIX\tNONPROPRIETARYNAME\tDOSAGEFORMNAME\tROUTENAME\tSTARTMARKETINGDATE\tENDMARKETINGDATE\tMARKETINGCATEGORYNAME\tAPPLICATIONNUMBER\tLABELERNAME\tSUBSTANCENAME\tACTIVE_NUMERATOR_STRENGTH\tACTIVE_INGRED_UNIT\tPHARM_CLASSES\tDEASCHEDULE\tNDC_EXCLUDE_FLAG\tLISTING_RECORD_CERTIFIED_THROUGH";

/// NDC Directory rows for products of the sample release (as in pharm-subst's tests):
/// NDC, name, form, category, application, labeler, substance, strength, unit.
const NDC_ROWS: [[&str; 9]; 6] = [
    [
        "0071-0155",
        "Lipitor",
        "TABLET, FILM COATED",
        "NDA",
        "NDA020702",
        "Viatris",
        "ATORVASTATIN CALCIUM TRIHYDRATE",
        "10",
        "mg/1",
    ],
    [
        "0378-3950",
        "Atorvastatin",
        "TABLET, FILM COATED",
        "ANDA",
        "ANDA091226",
        "Mylan",
        "ATORVASTATIN CALCIUM TRIHYDRATE",
        "10",
        "mg/1",
    ],
    [
        "0002-4462",
        "Cialis",
        "TABLET, FILM COATED",
        "NDA",
        "NDA021368",
        "Lilly",
        "TADALAFIL",
        "20",
        "mg/1",
    ],
    [
        "0002-4463",
        "Cialis",
        "TABLET, FILM COATED",
        "NDA",
        "NDA021368",
        "Lilly",
        "TADALAFIL",
        "5",
        "mg/1",
    ],
    [
        "0002-7510",
        "Humalog",
        "INJECTION, SOLUTION",
        "BLA",
        "BLA020563",
        "Lilly",
        "INSULIN LISPRO",
        "100",
        "[iU]/mL",
    ],
    [
        "50242-040",
        "Combo",
        "TABLET",
        "NDA",
        "NDA021402",
        "Labeler",
        "A; B",
        "1;.5",
        "mg/1;g/1",
    ],
];

/// Every target's seeds, by target name.
pub fn all() -> Vec<(&'static str, Vec<Seed>)> {
    vec![
        ("orange_book", orange_book()),
        ("ndc_directory", ndc_directory()),
        ("identifiers", identifiers()),
        ("rules_json", rules_json()),
        ("sync_codec", sync_codec()),
        ("sync_peer", sync_peer()),
        ("c_abi_json", c_abi_json()),
    ]
}

/// `selector` followed by `payload`.
fn with(selector: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 1);
    out.push(selector);
    out.extend_from_slice(payload);
    out
}

fn orange_book() -> Vec<Seed> {
    let patents = format!(
        "{PATENT_HEADER}\nN~021402~005~7056942~Mar 29, 2024~Y~Y~U-1029~~Nov 15, 2016\nN~021402~005~RE43879*PED~Sep 29, 2024~~~~Y~\nN~021402~005~123~Feb 30, 2024~~~~~\n"
    );
    let exclusivity = format!(
        "{EXCLUSIVITY_HEADER}\r\nA~206015~001~PC~Feb 19, 2024\r\nN~212608~001~ODE-267~Jan 9, 2027\r\nN~212608~001~~Jan 9, 2027\r\n"
    );
    vec![
        ("products-sample-strict".into(), with(0, PRODUCTS_SAMPLE)),
        ("products-sample-lenient".into(), with(1, PRODUCTS_SAMPLE)),
        ("products-state-lists".into(), with(0, PRODUCTS_STATE_LISTS)),
        ("patents-lenient".into(), with(3, patents.as_bytes())),
        (
            "exclusivity-lenient".into(),
            with(5, exclusivity.as_bytes()),
        ),
    ]
}

fn ndc_directory() -> Vec<Seed> {
    let rows: Vec<String> = NDC_ROWS
        .iter()
        .map(
            |[
                ndc,
                name,
                form,
                category,
                app,
                labeler,
                substance,
                strength,
                unit,
            ]| {
                [
                    &format!("{ndc}_x"),
                    *ndc,
                    "HUMAN PRESCRIPTION DRUG",
                    name,
                    "",
                    name,
                    form,
                    "ORAL",
                    "20200101",
                    "",
                    category,
                    app,
                    labeler,
                    substance,
                    strength,
                    unit,
                    "",
                    "",
                    "N",
                    "20261231",
                ]
                .join("\t")
            },
        )
        .collect();
    let file = format!("{NDC_HEADER}\n{}\n", rows.join("\n"));
    vec![
        ("product-strict".into(), with(0, file.as_bytes())),
        (
            "product-lenient-crlf".into(),
            with(1, file.replace('\n', "\r\n").as_bytes()),
        ),
    ]
}

fn identifiers() -> Vec<Seed> {
    let gs = '\u{1d}';
    let texts: Vec<(u8, &str, String)> = vec![
        (0, "ndc-442", "0002-7597-01".into()),
        (0, "ndc-532", "50242-040-62".into()),
        (0, "ndc-541", "60575-4112-1".into()),
        (0, "ndc-542", "00002-7597-01".into()),
        (0, "ndc-11", "00002759701".into()),
        (0, "ndc-642", "000002-7597-01".into()),
        (0, "ndc-12", "000002759701".into()),
        (0, "ndc-star-442", "*0002-7597-01".into()),
        (0, "ndc-star-532", "12345-*678-90".into()),
        (0, "ndc-star-541", "60575-4112-*1".into()),
        (0, "ndc-ambiguous", "0002759701".into()),
        (1, "gtin-14", "00300027597010".into()),
        (1, "gtin-14-indicator", "50300027597015".into()),
        (1, "upc-a", "300027597010".into()),
        (
            2,
            "gs1-element",
            format!("]d2010030002759701017270531{gs}10A123B{gs}21100000012345"),
        ),
        (
            2,
            "gs1-element-fixed-first",
            format!("01003000275970101727053110A123B{gs}21100000012345"),
        ),
        (
            3,
            "gs1-human",
            "(01)00300027597010(17)270500(10)A123B(21)100000012345".into(),
        ),
        (4, "dea", "AB1234563".into()),
        (4, "dea-suffix-name", "F91234563-001AB\nSmith".into()),
    ];
    texts
        .into_iter()
        .map(|(selector, name, text)| (name.into(), with(selector, text.as_bytes())))
        .collect()
}

/// The golden cases of the C ABI: (name, context, request, decision).
fn golden_cases() -> Vec<[&'static str; 4]> {
    EVALUATE_TSV
        .lines()
        .filter_map(|line| {
            let mut f = line.split('\t');
            Some([f.next()?, f.next()?, f.next()?, f.next()?])
        })
        .collect()
}

/// A file-name form of a case name.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn rules_json() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut contexts: Vec<&str> = Vec::new();
    for [name, context, request, decision] in golden_cases() {
        let name = slug(name);
        seeds.push((format!("request-{name}"), with(0, request.as_bytes())));
        seeds.push((format!("decision-{name}"), with(2, decision.as_bytes())));
        if !contexts.contains(&context) {
            contexts.push(context);
            seeds.push((format!("context-{name}"), with(1, context.as_bytes())));
        }
    }
    seeds
}

/// The golden sync messages' bytes, by name.
fn golden_messages() -> Vec<(&'static str, Vec<u8>)> {
    SYNC_HEX
        .iter()
        .map(|(name, hex)| (*name, from_hex(hex.trim())))
        .collect()
}

/// Bytes of lower-case hex text (the committed vectors).
fn from_hex(hex: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("the committed vector is not lower-case hex"),
    };
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => digit(*hi) << 4 | digit(*lo),
            _ => panic!("the committed vector has an odd number of digits"),
        })
        .collect()
}

fn sync_codec() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (name, bytes) in golden_messages() {
        if let Ok(message) = decode(&bytes, &DecodeLimits::default())
            && let Body::Upload { txns } = &message.body
        {
            for (i, sealed) in txns.iter().enumerate() {
                match encode_txn(&sealed.txn) {
                    Ok(blob) => seeds.push((format!("txn-{name}-{i}"), blob)),
                    Err(e) => panic!("a golden transaction does not encode: {e}"),
                }
            }
        }
        seeds.push((format!("message-{name}"), bytes));
    }
    seeds
}

fn sync_peer() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = golden_messages()
        .into_iter()
        .map(|(name, bytes)| (format!("golden-{name}"), bytes))
        .collect();
    for (i, bytes) in crate::sync_peer::fixture_exchange().into_iter().enumerate() {
        seeds.push((format!("exchange-{i}"), bytes));
    }
    seeds
}

/// The JSON of a resilience preset, through the C ABI.
fn resilience_preset(name: &str) -> Vec<u8> {
    let mut out = null_mut();
    // SAFETY: `name` is `len` readable bytes and `out` a writable pointer; the output is
    // read within its length and freed once.
    #[allow(unsafe_code)]
    unsafe {
        let result = pharm_resilience_preset_config(name.as_ptr(), name.len(), &mut out);
        assert_eq!(result, pharm_result::Ok, "preset {name}");
        let data = std::slice::from_raw_parts(
            pharm_ffi::pharm_bytes_data(out),
            pharm_ffi::pharm_bytes_len(out),
        )
        .to_vec();
        pharm_ffi::pharm_bytes_free(out);
        data
    }
}

fn c_abi_json() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let cases = golden_cases();
    for [name, context, request, _] in cases.iter().take(6) {
        let name = slug(name);
        seeds.push((format!("context-new-{name}"), with(0, context.as_bytes())));
        seeds.push((format!("evaluate-{name}"), with(1, request.as_bytes())));
        seeds.push((format!("compliance-{name}"), with(2, request.as_bytes())));
    }
    let docs: [(u8, &str, &str); 12] = [
        (
            3,
            "connectivity-offline",
            r#"{"state":"offline","since":"2026-03-10T08:00:00"}"#,
        ),
        (3, "connectivity-online", r#"{"state":"online"}"#),
        (
            4,
            "master",
            r#"["0093-7146-56", "00093714656", "00937-1465-6", "0002-7597-01"]"#,
        ),
        (
            5,
            "packages",
            r#"[{"sku": 9, "ndc": "0378-2125-77", "product": "A091226-001"}, {"sku": 2, "ndc": "0071-0155-40", "product": "N020702-001"}]"#,
        ),
        (
            6,
            "substitutes-minimal",
            r#"{"original": "N020702-001", "policy": {"state": "TX"}}"#,
        ),
        (
            6,
            "substitutes-full",
            r#"{"original": "NDA020702-001", "policy": {"state": "TX", "nti_ingredients": [], "nti_rule": "allow", "negative_formulary": [], "same_manufacturer_refill": false}, "daw": 0, "last_fill": null, "consent": false, "patient_requests_brand": false, "market": {"A091226-001": {"in_stock": true, "formulary_tier": 1, "unit_cost": "0.11"}}}"#,
        ),
        (7, "explain", r#"{"a": "N020702-001", "b": "A207687-001"}"#),
        (
            7,
            "explain-daw",
            r#"{"a": "N020702-001", "b": "A207687-001", "policy": {"state": "TX"}, "daw": 1}"#,
        ),
        (
            8,
            "directory-pins",
            r#"{"version":1,"logical_count":2,"assignment":[0,1],"pins":[{"pharmacy_id":9,"physical":3},{"pharmacy_id":2,"physical":4}],"moves":[]}"#,
        ),
        (
            10,
            "lag-sample",
            r#"{"primary_lsn":"0/10","replay_lsn":"0/8","replay_paused":false,"measured_at_ms":5}"#,
        ),
        (
            10,
            "lag-sample-heartbeat",
            r#"{"primary_lsn":"0/10","replay_lsn":"0/10","receive_lsn":null,"replay_paused":false,"replay_timestamp_ms":null,"heartbeat":{"written_at_ms":1,"observed_at_ms":2},"measured_at_ms":5}"#,
        ),
        (
            10,
            "lag-sample-bad-lsn",
            r#"{"primary_lsn":"0/1G","replay_lsn":"0/10","replay_paused":false,"measured_at_ms":1}"#,
        ),
    ];
    for (selector, name, doc) in docs {
        seeds.push((name.into(), with(selector, doc.as_bytes())));
    }
    if let Ok(serde_json::Value::Object(routes)) = serde_json::from_str(ROUTES_JSON)
        && let Some(serde_json::Value::Array(maps)) = routes.get("maps")
    {
        for (i, map) in maps.iter().enumerate() {
            if let Some(map) = map.get("map") {
                seeds.push((
                    format!("directory-golden-{i}"),
                    with(8, map.to_string().as_bytes()),
                ));
            }
        }
    }
    for preset in ["pmp-api", "insurance-api"] {
        seeds.push((
            format!("resilience-{preset}"),
            with(9, &resilience_preset(preset)),
        ));
    }
    seeds
}
