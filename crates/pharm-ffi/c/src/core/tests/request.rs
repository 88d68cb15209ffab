//! The type-first request parser agrees with `pharm_core::contract::parse_request`.

use std::path::PathBuf;

use pharm_core::contract::parse_request;
use serde_json::Value;

use crate::core::request::{parse, type_first};

fn golden_requests() -> Vec<(String, String)> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../testdata/golden/decisions.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    cases
        .iter()
        .map(|case| {
            // Written by pharm-core (`"type"` first), as a till's serializer would.
            let request = parse_request(case["request"].to_string()).unwrap();
            (
                case["name"].as_str().unwrap().to_owned(),
                serde_json::to_string(&request).unwrap(),
            )
        })
        .collect()
}

/// Both parsers give the same request, or the same error message.
fn agree(text: &str) {
    match (parse(text), parse_request(text)) {
        (Ok(fast), Ok(contract)) => assert_eq!(fast, contract, "{text}"),
        (Err(fast), Err(contract)) => {
            assert_eq!(fast.message, contract.to_string(), "{text}");
            assert_eq!(fast.id, pharm_core::ErrorCode::id(&contract));
        }
        (fast, contract) => panic!("{text}: {fast:?} but the contract says {contract:?}"),
    }
}

#[test]
fn every_request_type_takes_the_fast_path_and_agrees() {
    let mut types = std::collections::BTreeSet::new();
    for (name, text) in golden_requests() {
        let fast = type_first(&text).unwrap_or_else(|| panic!("{name}: not read type-first"));
        assert_eq!(fast, parse_request(&text).unwrap(), "{name}");
        let value: Value = serde_json::from_str(&text).unwrap();
        types.insert(value["type"].as_str().unwrap().to_owned());
        agree(&text);
    }
    assert!(types.len() >= 6, "{types:?}");
}

#[test]
fn other_documents_fall_back_to_the_contract_parser() {
    let (_, fill) = golden_requests().swap_remove(0);
    let mut value: Value = serde_json::from_str(&fill).unwrap();
    // `"type"` last (serde_json's map is sorted, and "type" sorts after the others).
    let sorted = value.to_string();
    assert!(type_first(&sorted).is_none());
    agree(&sorted);
    assert!(parse(&sorted).is_ok());
    // Escaped key, surrounding whitespace, and trailing garbage.
    agree(&fill.replacen("\"type\"", "\"\\u0074ype\"", 1));
    agree(&format!(" \n{fill}\t"));
    agree(&format!("{fill} x"));
    agree(&format!("{fill}{{}}"));
    // A second "type", unknown types and fields, a wrong version, not an object.
    agree(&fill.replacen('{', "{\"type\":\"fill\",", 1));
    agree(&fill.replacen("\"fill\"", "\"refill\"", 1));
    agree(&fill.replacen("\"fill\"", "\"end_of_day\"", 1));
    agree(&fill.replacen("\"schema_version\":2", "\"schema_version\":3", 1));
    agree(&fill.replacen("\"quantity\"", "\"qty\"", 1));
    value["dispensed"]["ntii"] = Value::Bool(true);
    agree(&value.to_string());
    for text in [
        "",
        "[]",
        "{}",
        "{\"type\":1}",
        "{\"type\":\"fill\"}",
        "null",
        "{\"type\":\"fill\",",
    ] {
        agree(text);
    }
}
