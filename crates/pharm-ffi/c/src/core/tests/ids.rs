//! NDC normalisation, the product master, DEA validation and GS1 parsing.

use std::ptr::{null, null_mut};

use serde_json::{Value, json};

use super::{NOT_UTF8, failed, take, take_json};
use crate::core::ndc::MAX_PRODUCT_MASTER_BYTES;
use crate::core::*;
use crate::output::pharm_bytes;
use crate::result::pharm_result::{self, *};

const DATAMATRIX: &str = "]d201003000275970101727053110A123B\u{1d}21100000012345";
const HUMAN_READABLE: &str = " (01)00300027597010(17)270531(10)A123B(21)100000012345";

/// Runs a call writing a `pharm_bytes`: its result and text.
fn answer(
    call: impl FnOnce(*mut *mut pharm_bytes) -> pharm_result,
) -> (pharm_result, Option<String>) {
    let mut out: *mut pharm_bytes = null_mut();
    let result = call(&mut out);
    (result, (!out.is_null()).then(|| take(out)))
}

fn normalize(text: &[u8]) -> (pharm_result, Option<String>) {
    // SAFETY: a live buffer and a writable out pointer.
    answer(|out| unsafe { pharm_ndc_normalize(text.as_ptr(), text.len(), out) })
}

fn dea(text: &[u8], last_name: Option<&[u8]>) -> (pharm_result, Option<String>) {
    let (name, name_len) = last_name.map_or((null(), 0), |n| (n.as_ptr(), n.len()));
    // SAFETY: live buffers (or NULL) and a writable out pointer.
    answer(|out| unsafe { pharm_dea_validate(text.as_ptr(), text.len(), name, name_len, out) })
}

fn gs1(data: &[u8]) -> (pharm_result, Option<String>) {
    // SAFETY: a live buffer and a writable out pointer.
    answer(|out| unsafe { pharm_gs1_parse(data.as_ptr(), data.len(), out) })
}

fn new_master(json: &[u8]) -> (pharm_result, *mut pharm_product_master) {
    let mut master = null_mut();
    // SAFETY: a live buffer and a writable out pointer.
    let result = unsafe { pharm_product_master_new(json.as_ptr(), json.len(), &mut master) };
    (result, master)
}

fn resolve(master: *const pharm_product_master, text: &[u8]) -> (pharm_result, Option<String>) {
    // SAFETY: a live master (or NULL), a live buffer and a writable out pointer.
    answer(|out| unsafe {
        pharm_product_master_resolve_ndc(master, text.as_ptr(), text.len(), out)
    })
}

fn resolve_gs1(master: *const pharm_product_master, data: &[u8]) -> (pharm_result, Option<String>) {
    // SAFETY: as in `resolve`.
    answer(|out| unsafe {
        pharm_product_master_resolve_gs1(master, data.as_ptr(), data.len(), out)
    })
}

fn free_master(master: *mut pharm_product_master) {
    // SAFETY: a live master (or NULL), freed once.
    unsafe { pharm_product_master_free(master) }
}

fn json_of(answer: (pharm_result, Option<String>)) -> Value {
    assert_eq!(answer.0, Ok, "{}", super::detail().1);
    serde_json::from_str(&answer.1.unwrap()).unwrap()
}

#[test]
fn ndc_forms() {
    let (result, text) = normalize(b" 0002-7597-01\n");
    assert_eq!(result, Ok);
    assert_eq!(
        text.unwrap(),
        r#"{"ndc":"0002-7597-01","layout":"4-4-2","labeler_code":2,"product_code":7597,"package_code":1,"ndc10":"0002759701","ndc11":"00002759701","ndc11_hyphenated":"00002-7597-01","ndc12":"000002759701","ndc12_hyphenated":"000002-7597-01"}"#
    );
    let billing = json_of(normalize(b"00002759701"));
    assert_eq!(
        (&billing["ndc"], &billing["layout"]),
        (&json!("00002-7597-01"), &json!("5-4-2"))
    );
    assert_eq!(
        billing["ndc10"],
        Value::Null,
        "a 5-4-2 NDC has no known 10-digit form"
    );
    let star = json_of(normalize(b"12345-*678-90"));
    assert_eq!(
        (&star["ndc"], &star["layout"]),
        (&json!("12345-678-90"), &json!("5-3-2"))
    );
    let twelve = json_of(normalize(b"123456-7890-12"));
    assert_eq!(
        (&twelve["ndc11"], &twelve["ndc11_hyphenated"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(twelve["ndc12"], "123456789012");
}

#[test]
fn ndc_errors() {
    let (result, text) = normalize(b"0093714656");
    assert!(text.is_none());
    let message = failed(result, CoreError, "core.ndc_ambiguous");
    for candidate in [
        "0093-7146-56 (4-4-2)",
        "00937-146-56 (5-3-2)",
        "00937-1465-6 (5-4-1)",
    ] {
        assert!(message.contains(candidate), "{message}");
    }
    assert_eq!(crate::pharm_error_code(), 1001);
    failed(normalize(b"0002-7597").0, CoreError, "core.ndc_syntax");
    failed(normalize(b"").0, CoreError, "core.ndc_syntax");
    failed(
        normalize(&[b'1'; 65]).0,
        InputTooLarge,
        "ffi.input_too_large",
    );
    failed(
        normalize(b"0002-7597-\xff").0,
        InvalidUtf8,
        "ffi.invalid_utf8",
    );
    // SAFETY: NULL arguments are reported, not dereferenced.
    unsafe {
        failed(
            pharm_ndc_normalize(b"1".as_ptr(), 1, null_mut()),
            NullParameter,
            "ffi.null_parameter",
        );
        let mut out = null_mut();
        failed(
            pharm_ndc_normalize(null(), 4, &mut out),
            NullParameter,
            "ffi.null_parameter",
        );
    }
}

#[test]
fn product_master_resolves_unhyphenated_ten_digits() {
    let (result, master) =
        new_master(br#"["0093-7146-56", "00093714656", "00937-1465-6", "0002-7597-01"]"#);
    assert_eq!(result, Ok);
    let mut n = 0;
    // SAFETY: a live master and a writable length.
    unsafe {
        assert_eq!(pharm_product_master_len(master, &mut n), Ok);
        failed(
            pharm_product_master_len(master, null_mut()),
            NullParameter,
            "ffi.null_parameter",
        );
        failed(
            pharm_product_master_len(null(), &mut n),
            NullParameter,
            "ffi.null_parameter",
        );
    }
    assert_eq!(n, 3, "00093714656 is 0093-7146-56");

    let one = json_of(resolve(master, b"0002759701"));
    assert_eq!(
        (&one["ndc"], &one["layout"]),
        (&json!("0002-7597-01"), &json!("4-4-2"))
    );
    // Two readings known: ambiguous, the detail names them.
    let (result, text) = resolve(master, b"0093714656");
    assert!(text.is_none());
    let message = failed(result, CoreError, "core.ndc_ambiguous");
    assert!(
        message.contains("0093-7146-56 (4-4-2)") && message.contains("00937-1465-6 (5-4-1)"),
        "{message}"
    );
    assert!(!message.contains("00937-146-56"), "{message}");
    let message = failed(
        resolve(master, b"1234567890").0,
        CoreError,
        "core.ndc_not_in_master",
    );
    assert!(message.contains("1234-5678-90 (4-4-2)"), "{message}");
    // Other forms are only parsed.
    assert_eq!(
        json_of(resolve(master, b"50242-040-62"))["ndc"],
        "50242-040-62"
    );
    failed(resolve(master, b"x").0, CoreError, "core.ndc_syntax");
    failed(resolve(master, NOT_UTF8).0, InvalidUtf8, "ffi.invalid_utf8");
    failed(
        resolve(master, &[b'1'; 65]).0,
        InputTooLarge,
        "ffi.input_too_large",
    );
    failed(
        resolve(null(), b"0002759701").0,
        NullParameter,
        "ffi.null_parameter",
    );
    // SAFETY: NULL arguments are reported, not dereferenced.
    unsafe {
        let result = pharm_product_master_resolve_ndc(master, b"1".as_ptr(), 1, null_mut());
        failed(result, NullParameter, "ffi.null_parameter");
    }
    free_master(master);
    free_master(null_mut());
}

#[test]
fn product_master_refuses_bad_json() {
    for (bad, result, id) in [
        (
            &br#"["0002-7597-01", "0002759701"]"#[..],
            CoreError,
            "core.contract_invalid",
        ),
        (
            br#"[{"ndc": "0002-7597-01"}]"#,
            CoreError,
            "core.contract_invalid",
        ),
        (br#"{"ndcs": []}"#, CoreError, "core.contract_invalid"),
        (br#"["0002-7597-01""#, CoreError, "core.contract_syntax"),
        (b"", CoreError, "core.contract_syntax"),
        (NOT_UTF8, InvalidUtf8, "ffi.invalid_utf8"),
    ] {
        let (got, master) = new_master(bad);
        assert!(master.is_null());
        let message = failed(got, result, id);
        if result == CoreError {
            assert!(message.starts_with("product master "), "{message}");
        }
    }
    let (got, _) = new_master(&vec![b' '; MAX_PRODUCT_MASTER_BYTES + 1]);
    failed(got, InputTooLarge, "ffi.input_too_large");
    // SAFETY: NULL arguments are reported, not dereferenced.
    unsafe {
        failed(
            pharm_product_master_new(b"[]".as_ptr(), 2, null_mut()),
            NullParameter,
            "ffi.null_parameter",
        );
        let mut master = null_mut();
        failed(
            pharm_product_master_new(null(), 2, &mut master),
            NullParameter,
            "ffi.null_parameter",
        );
    }
    let (result, empty) = new_master(b"[]");
    assert_eq!(result, Ok);
    failed(
        resolve(empty, b"0002759701").0,
        CoreError,
        "core.ndc_not_in_master",
    );
    free_master(empty);
}

#[test]
fn dea_numbers() {
    let (result, text) = dea(b" ab1234563 ", Some(b"Brown"));
    assert_eq!(result, Ok);
    assert_eq!(
        text.unwrap(),
        r#"{"dea":"AB1234563","base":"AB1234563","suffix":null,"registrant_type":"A","known_registrant_type":true,"second_char":"B","matches_last_name":true}"#
    );
    assert_eq!(
        json_of(dea(b"AB1234563", Some(b"Smith")))["matches_last_name"],
        false
    );
    assert_eq!(
        json_of(dea(b"AB1234563", Some(b"")))["matches_last_name"],
        false
    );
    assert_eq!(
        json_of(dea(b"AB1234563", None))["matches_last_name"],
        Value::Null
    );
    let business = json_of(dea(b"F91234563-001ab", Some(b"Anyone")));
    assert_eq!(
        (
            &business["dea"],
            &business["base"],
            &business["suffix"],
            &business["matches_last_name"]
        ),
        (
            &json!("F91234563-001AB"),
            &json!("F91234563"),
            &json!("001AB"),
            &json!(true)
        )
    );
    assert_eq!(
        json_of(dea(b"ZB1234563", None))["known_registrant_type"],
        false
    );

    let message = failed(dea(b"AB1234564", None).0, CoreError, "core.dea_check_digit");
    assert!(message.contains("expected 3"), "{message}");
    assert_eq!(crate::pharm_error_code(), 1041);
    failed(dea(b"A-1234563", None).0, CoreError, "core.dea_format");
    failed(dea(b"", None).0, CoreError, "core.dea_format");
    failed(
        dea(&[b'A'; 65], None).0,
        InputTooLarge,
        "ffi.input_too_large",
    );
    failed(
        dea(b"AB123456\xc3", None).0,
        InvalidUtf8,
        "ffi.invalid_utf8",
    );
    failed(
        dea(b"AB1234563", Some(b"Br\xffown")).0,
        InvalidUtf8,
        "ffi.invalid_utf8",
    );
    failed(
        dea(b"AB1234563", Some(&[b'a'; 1025])).0,
        InputTooLarge,
        "ffi.input_too_large",
    );
    // SAFETY: NULL arguments are reported, not dereferenced; a NULL last name ignores
    // its length.
    unsafe {
        let number = b"AB1234563";
        let result = pharm_dea_validate(number.as_ptr(), 9, null(), 0, null_mut());
        failed(result, NullParameter, "ffi.null_parameter");
        let mut out = null_mut();
        failed(
            pharm_dea_validate(null(), 9, null(), 0, &mut out),
            NullParameter,
            "ffi.null_parameter",
        );
        assert_eq!(
            pharm_dea_validate(number.as_ptr(), 9, null(), 99, &mut out),
            Ok
        );
        assert_eq!(take_json(out)["matches_last_name"], Value::Null);
    }
}

#[test]
fn gs1_data() {
    let expected = r#"{"gtin":"00300027597010","expiry":"2027-05-31","lot":"A123B","serial":"100000012345","ndc10_digits":"0002759701"}"#;
    assert_eq!(gs1(DATAMATRIX.as_bytes()), (Ok, Some(expected.to_owned())));
    assert_eq!(
        gs1(HUMAN_READABLE.as_bytes()),
        (Ok, Some(expected.to_owned()))
    );
    let other = json_of(gs1(b"0100614141123452"));
    assert_eq!(
        other,
        json!({"gtin": "00614141123452", "expiry": null, "lot": null, "serial": null, "ndc10_digits": null})
    );
    let message = failed(
        gs1(b"]d20100300027597011").0,
        CoreError,
        "core.gs1_bad_gtin",
    );
    assert!(message.contains("byte"), "{message}");
    failed(
        gs1(b"0100300027597010\x1d99X").0,
        CoreError,
        "core.gs1_unknown_ai",
    );
    failed(gs1(b"17270531").0, CoreError, "core.gs1_missing_gtin");
    failed(gs1(b"(01)0030002759701").0, CoreError, "core.gs1_bad_field");
    failed(
        gs1(b"0100300027597010\x1d10A\xff").0,
        InvalidUtf8,
        "ffi.invalid_utf8",
    );
    failed(gs1(&[b'0'; 513]).0, InputTooLarge, "ffi.input_too_large");
    // SAFETY: NULL arguments are reported, not dereferenced.
    unsafe {
        let data = DATAMATRIX.as_bytes();
        failed(
            pharm_gs1_parse(data.as_ptr(), data.len(), null_mut()),
            NullParameter,
            "ffi.null_parameter",
        );
        let mut out = null_mut();
        failed(
            pharm_gs1_parse(null(), 3, &mut out),
            NullParameter,
            "ffi.null_parameter",
        );
    }
}

#[test]
fn gs1_data_resolved_through_the_master() {
    let (_, master) = new_master(br#"["0002-7597-01", "0093-7146-56", "00937-146-56"]"#);
    let resolved = json_of(resolve_gs1(master, DATAMATRIX.as_bytes()));
    assert_eq!(resolved["lot"], "A123B");
    assert_eq!(resolved["ndc"]["ndc"], "0002-7597-01");
    assert_eq!(resolved["ndc"]["ndc11"], "00002759701");
    let message = failed(
        resolve_gs1(master, b"0100300937146568").0,
        CoreError,
        "core.gtin_ndc",
    );
    assert!(
        message.contains("0093-7146-56 (4-4-2)") && message.contains("00937-146-56 (5-3-2)"),
        "{message}"
    );
    failed(
        resolve_gs1(master, b"0100614141123452").0,
        CoreError,
        "core.gtin_not_an_ndc",
    );
    // A case of 10 (indicator 1) carries the same NDC.
    assert_eq!(
        json_of(resolve_gs1(master, b"0110300027597017"))["ndc"]["ndc"],
        "0002-7597-01"
    );
    failed(
        resolve_gs1(master, b"01").0,
        CoreError,
        "core.gs1_bad_field",
    );
    failed(
        resolve_gs1(master, NOT_UTF8).0,
        InvalidUtf8,
        "ffi.invalid_utf8",
    );
    failed(
        resolve_gs1(null(), DATAMATRIX.as_bytes()).0,
        NullParameter,
        "ffi.null_parameter",
    );
    // SAFETY: NULL arguments are reported, not dereferenced.
    unsafe {
        let result = pharm_product_master_resolve_gs1(master, b"01".as_ptr(), 2, null_mut());
        failed(result, NullParameter, "ffi.null_parameter");
    }
    free_master(master);
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_panic_poisons_the_master_and_stateless_calls_go_on() {
    let (_, master) = new_master(br#"["0002-7597-01"]"#);
    crate::pharm_test_panic_next_call();
    failed(resolve(master, b"0002759701").0, Panic, "ffi.panic");
    failed(resolve(master, b"0002759701").0, Poisoned, "ffi.poisoned");
    failed(
        resolve_gs1(master, DATAMATRIX.as_bytes()).0,
        Poisoned,
        "ffi.poisoned",
    );
    let mut n = 0;
    // SAFETY: a live (poisoned) master and a writable length.
    unsafe {
        failed(
            pharm_product_master_len(master, &mut n),
            Poisoned,
            "ffi.poisoned",
        );
    }
    free_master(master);
    for call in [
        &(|| normalize(b"0002-7597-01")) as &dyn Fn() -> (pharm_result, Option<String>),
        &|| dea(b"AB1234563", None),
        &|| gs1(DATAMATRIX.as_bytes()),
    ] {
        crate::pharm_test_panic_next_call();
        let (result, out) = call();
        assert!(out.is_none());
        failed(result, Panic, "ffi.panic");
        assert_eq!(call().0, Ok);
    }
    crate::pharm_test_panic_next_call();
    let (result, master) = new_master(b"[]");
    assert!(master.is_null());
    failed(result, Panic, "ffi.panic");
}
