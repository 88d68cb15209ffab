//! The shared golden vectors (`testdata/golden/subst/`) replayed through the C calls: every
//! stored query, minus its `catalog` state, gives the stored answer byte for byte in its
//! canonical compact form.

use ::pharm_subst::{ExplainAnswer, SubstitutionAnswer};
use serde_json::Value;

use super::*;

fn golden(name: &str) -> Value {
    let text = std::fs::read_to_string(repo().join("testdata/golden/subst").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The service state a case's `catalog` names, and the time it is asked at.
fn service_for<'a>(case: &Value, fresh: &'a Handle, none: &'a Handle) -> (&'a Handle, i64) {
    match case["query"]["catalog"].as_str().unwrap() {
        "fresh" => (fresh, FRESH_MS),
        "stale" => (fresh, STALE_MS),
        "none" => (none, FRESH_MS),
        other => panic!("unknown catalog state {other}"),
    }
}

/// The case's query as a caller writes it: without the harness's `catalog`.
fn query_of(case: &Value) -> String {
    let mut query = case["query"].clone();
    query.as_object_mut().unwrap().remove("catalog");
    query.to_string()
}

#[test]
fn substitution_vectors_replay_byte_for_byte() {
    let file = golden("substitutes.json");
    let (fresh, none) = (loaded(), empty());
    let packages = file["packages"].to_string();
    assert_eq!(fresh.set_packages(&packages), pharm_result::Ok);
    assert_eq!(none.set_packages(&packages), pharm_result::Ok);
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let (subst, now_ms) = service_for(case, &fresh, &none);
        let answer = subst.substitutes(query_of(case), now_ms).unwrap();
        let expected: SubstitutionAnswer = serde_json::from_value(case["answer"].clone()).unwrap();
        assert_eq!(
            String::from_utf8(answer).unwrap(),
            serde_json::to_string(&expected).unwrap(),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn explain_vectors_replay_byte_for_byte() {
    let file = golden("explain.json");
    let (fresh, none) = (loaded(), empty());
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    for case in cases {
        let (subst, now_ms) = service_for(case, &fresh, &none);
        let answer = subst.explain(query_of(case), now_ms).unwrap();
        let expected: ExplainAnswer = serde_json::from_value(case["answer"].clone()).unwrap();
        assert_eq!(
            String::from_utf8(answer).unwrap(),
            serde_json::to_string(&expected).unwrap(),
            "{}",
            case["name"]
        );
    }
}
