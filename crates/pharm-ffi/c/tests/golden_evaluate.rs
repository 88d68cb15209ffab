//! The golden decisions through the C ABI: every case of `testdata/golden/decisions.json`
//! goes through `pharm_context_new` + `pharm_context_evaluate`, and the exact decision bytes
//! are written to `testdata/golden/ffi/evaluate.tsv` (one line per case:
//! `name \t context-json \t request-json \t decision-json`, compact JSON), which the C
//! test `tests/c/core.c` replays byte for byte.
//!
//! Regenerate with `PHARM_BLESS=1 cargo test -p pharm-ffi --test golden_evaluate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use pharm_core::contract::{parse_context, parse_request};
use pharm_ffi::{
    pharm_bytes_data, pharm_bytes_free, pharm_bytes_len, pharm_context_evaluate,
    pharm_context_free, pharm_context_new, pharm_result,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Case {
    name: String,
    request: Value,
    context: Value,
    decision: Value,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// The decision bytes `pharm_context_evaluate` returns for one case.
fn evaluate(context: &str, request: &str) -> Vec<u8> {
    let mut ctx = std::ptr::null_mut();
    let mut decision = std::ptr::null_mut();
    // SAFETY: pointers and lengths of live strings; `ctx` and `decision` are written on
    // success and freed below.
    unsafe {
        assert_eq!(
            pharm_context_new(context.as_ptr(), context.len(), &mut ctx),
            pharm_result::Ok
        );
        assert_eq!(
            pharm_context_evaluate(ctx, request.as_ptr(), request.len(), &mut decision),
            pharm_result::Ok
        );
        let bytes =
            std::slice::from_raw_parts(pharm_bytes_data(decision), pharm_bytes_len(decision))
                .to_vec();
        pharm_bytes_free(decision);
        pharm_context_free(ctx);
        bytes
    }
}

#[test]
fn golden_decisions_through_the_c_abi() {
    let text = std::fs::read_to_string(root().join("testdata/golden/decisions.json")).unwrap();
    let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 21, "the golden file lost cases");
    let mut tsv = String::new();
    for case in &cases {
        // As pharm-core writes them: members in the order of the types, `"type"` first.
        let context =
            serde_json::to_string(&parse_context(case.context.to_string()).unwrap()).unwrap();
        let request =
            serde_json::to_string(&parse_request(case.request.to_string()).unwrap()).unwrap();
        let decision = evaluate(&context, &request);
        // Members in another order (`"type"` last) give the same bytes.
        let sorted = (case.context.to_string(), case.request.to_string());
        assert_eq!(
            decision,
            evaluate(&sorted.0, &sorted.1),
            "{}: order",
            case.name
        );
        let decision = String::from_utf8(decision).unwrap();
        let parsed: Value = serde_json::from_str(&decision).unwrap();
        assert_eq!(parsed, case.decision, "{}: decision", case.name);
        for field in [&case.name, &context, &request, &decision] {
            assert!(
                !field.contains(['\t', '\n', '\r']),
                "{}: a field holds a tab or a line break",
                case.name
            );
        }
        tsv.push_str(&format!(
            "{}\t{context}\t{request}\t{decision}\n",
            case.name
        ));
    }
    let path = root().join("testdata/golden/ffi/evaluate.tsv");
    if std::env::var_os("PHARM_BLESS").is_some() {
        std::fs::write(&path, &tsv).unwrap();
    }
    let stored = std::fs::read_to_string(&path)
        .expect("testdata/golden/ffi/evaluate.tsv (bless with PHARM_BLESS=1)");
    assert!(
        stored == tsv,
        "testdata/golden/ffi/evaluate.tsv is stale: regenerate it with \
         PHARM_BLESS=1 cargo test -p pharm-ffi --test golden_evaluate and review the diff"
    );
}
