//! The strict, versioned JSON contract: every object of a request, context or decision
//! rejects unknown fields, the version is checked, money is exact, and no mutation of a
//! golden document panics: it fails to parse with a typed error or evaluates.

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::Value;

use pharm_core::contract::strictness::object_pointers;
use pharm_core::contract::{
    ContractError, SchemaVersion, parse_context, parse_decision, parse_request,
};
use pharm_core::rules::evaluate;

fn golden() -> Vec<Value> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golden/decisions.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn parse(stem: &str, doc: &Value) -> Result<(), ContractError> {
    let text = doc.to_string();
    match stem {
        "request" => parse_request(&text).map(drop),
        "context" => parse_context(&text).map(drop),
        _ => parse_decision(&text).map(drop),
    }
}

#[test]
fn every_object_rejects_an_unknown_field() {
    let mut checked = 0;
    for case in golden() {
        for stem in ["request", "context", "decision"] {
            let doc = &case[stem];
            parse(stem, doc).unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
            for p in object_pointers(doc) {
                let mut bad = doc.clone();
                // A misspelled flag, as a careless integrator would send it.
                bad.pointer_mut(&p).unwrap()["ntii"] = Value::Bool(true);
                match parse(stem, &bad) {
                    Err(ContractError::Invalid { reason, .. }) => {
                        assert!(reason.contains("ntii"), "{stem}{p}: {reason}");
                    }
                    other => panic!(
                        "{}: {stem}{p} accepted an unknown field: {other:?}",
                        case["name"]
                    ),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "{checked} objects checked");
}

#[test]
fn misspelled_nti_flag_is_an_error_not_false() {
    let case = &golden()[0];
    let mut req = case["request"].clone();
    let product = req["dispensed"].as_object_mut().unwrap();
    product.remove("nti");
    product.insert("ntii".into(), Value::Bool(true));
    let err = parse_request(req.to_string()).unwrap_err();
    assert!(err.to_string().contains("unknown field `ntii`"), "{err}");
}

#[test]
fn schema_version_is_required_and_checked() {
    let case = &golden()[0];
    for stem in ["request", "decision"] {
        let doc = &case[stem];
        assert_eq!(doc["schema_version"], SchemaVersion::CURRENT.get());
        let mut missing = doc.clone();
        missing.as_object_mut().unwrap().remove("schema_version");
        let err = parse(stem, &missing).unwrap_err();
        assert!(
            err.to_string().contains("missing field `schema_version`"),
            "{err}"
        );
        for other in [
            Value::from(0),
            Value::from(1),
            Value::from(3),
            Value::from("2"),
            Value::Null,
        ] {
            let mut wrong = doc.clone();
            wrong["schema_version"] = other.clone();
            assert!(
                matches!(parse(stem, &wrong), Err(ContractError::Invalid { .. })),
                "{stem}: schema_version {other} accepted"
            );
        }
    }
}

#[test]
fn prices_are_exact_non_negative_strings() {
    let case = &golden()[0];
    for (price, ok) in [
        (Value::from("12.50"), true),
        (Value::from("0"), true),
        (Value::from("-0.01"), false),
        (Value::from(12.5), false),
        (Value::from("1e2"), false),
        (Value::from("0.00000000000000000000000000001"), false),
        (Value::from("99999999999999999999999999999"), false),
    ] {
        let mut req = case["request"].clone();
        req["dispensed"]["unit_price"] = price.clone();
        let parsed = parse_request(req.to_string());
        assert_eq!(parsed.is_ok(), ok, "{price}: {parsed:?}");
        if let Ok(r) = parsed {
            // Lossless: the price comes back exactly as written.
            assert_eq!(
                serde_json::to_value(&r).unwrap()["dispensed"]["unit_price"],
                price
            );
        }
    }
}

/// Replaces the node at the `n`-th position of a depth-first walk with `with`.
fn replace_nth(v: &mut Value, n: &mut usize, with: &Value) -> bool {
    if *n == 0 {
        *v = with.clone();
        return true;
    }
    *n -= 1;
    match v {
        Value::Object(map) => map.values_mut().any(|x| replace_nth(x, n, with)),
        Value::Array(items) => items.iter_mut().any(|x| replace_nth(x, n, with)),
        _ => false,
    }
}

/// Removes the `n`-th object member of a depth-first walk.
fn remove_nth(v: &mut Value, n: &mut usize) -> bool {
    match v {
        Value::Object(map) => {
            if *n < map.len() {
                let key = map.keys().nth(*n).cloned().unwrap_or_default();
                map.remove(&key);
                return true;
            }
            *n -= map.len();
            map.values_mut().any(|x| remove_nth(x, n))
        }
        Value::Array(items) => items.iter_mut().any(|x| remove_nth(x, n)),
        _ => false,
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(-1)),
        Just(Value::from(0)),
        Just(Value::from(1.5)),
        "[ -~]{0,12}".prop_map(Value::from),
        Just(Value::from("9999-12-31T23:59:59")),
        Just(Value::from("1900-01-01")),
        Just(Value::from("0093-7146-56")),
        Just(Value::from("CS2-EMERG-02")),
        Just(Value::Array(vec![])),
        Just(serde_json::json!({})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A golden request and context with one node replaced, one member removed, or bytes
    /// corrupted: parsing fails with a typed error, or the engine evaluates it (never panics).
    #[test]
    fn mutated_golden_documents_parse_or_fail_typed(
        case in 0usize..64,
        node in 0usize..4000,
        member in 0usize..4000,
        with in any_json(),
        mode in 0u8..4,
        byte in any::<u8>(),
    ) {
        let cases = golden();
        let case = &cases[case % cases.len()];
        let mut request = case["request"].clone();
        let mut context = case["context"].clone();
        let target = if node % 2 == 0 { &mut request } else { &mut context };
        let (mut n, mut m) = (node / 2, member);
        let text = match mode {
            0 => { replace_nth(target, &mut n, &with); None }
            1 => { remove_nth(target, &mut m); None }
            2 => { replace_nth(target, &mut n, &with); remove_nth(target, &mut m); None }
            _ => {
                let mut bytes = request.to_string().into_bytes();
                let i = node % bytes.len();
                bytes[i] = byte;
                Some(bytes)
            }
        };
        let request = match text {
            Some(bytes) => parse_request(&bytes),
            None => parse_request(request.to_string()),
        };
        let context = parse_context(context.to_string());
        if let (Ok(request), Ok(context)) = (&request, &context) {
            let d = evaluate(request, context);
            let worst = d.findings.iter().map(|f| f.effective()).max().unwrap_or_default();
            prop_assert_eq!(d.outcome, worst);
            // The decision is itself a valid contract document.
            let back = parse_decision(serde_json::to_string(&d).unwrap()).unwrap();
            prop_assert_eq!(back, d);
        }
    }
}
