//! Bad input on every call: NULL pointers, invalid UTF-8, malformed and unknown-field JSON,
//! oversized input, missing files, and a handle poisoned by a panic.

use std::ptr::{null, null_mut};

use super::*;

const BAD_UTF8: &[u8] = b"N020702-\xff";

#[test]
fn null_pointers_are_reported_on_every_call() {
    let subst = loaded();
    let products = sample();
    let (p, n) = (products.as_ptr(), products.len());
    let (r, rn) = (RELEASED.as_ptr(), RELEASED.len());
    let (l, ln) = (LABEL.as_ptr(), LABEL.len());
    let path = sample_path();
    let query = tx_query("N020702-001");
    let (q, qn) = (query.as_ptr(), query.len());
    let mut handle = null_mut();
    let mut bytes = null_mut();
    let mut flag = false;
    let null_param = pharm_result::NullParameter;
    let id = "ffi.null_parameter";
    unsafe {
        assert_fails(pharm_subst_new(45, null_mut()), null_param, id);
        for (args, name) in [
            ((null(), n, r, rn, l, ln), "products"),
            ((p, n, null(), rn, l, ln), "released"),
            ((p, n, r, rn, null(), ln), "label"),
        ] {
            let (p, n, r, rn, l, ln) = args;
            let result = pharm_subst_new_from_bytes(p, n, r, rn, l, ln, 45, &mut handle);
            assert_fails(result, null_param, id);
            assert!(handle.is_null(), "{name}");
            let mut diff = null_mut();
            let result = pharm_subst_load_bytes(subst.ptr(), p, n, r, rn, l, ln, &mut diff);
            assert_fails(result, null_param, id);
            assert!(diff.is_null(), "{name}");
        }
        let result = pharm_subst_new_from_bytes(p, n, r, rn, l, ln, 45, null_mut());
        assert_fails(result, null_param, id);
        let result = pharm_subst_new_from_path(null(), 4, r, rn, l, ln, 45, &mut handle);
        assert_fails(result, null_param, id);
        let result =
            pharm_subst_new_from_path(path.as_ptr(), path.len(), r, rn, l, ln, 45, null_mut());
        assert_fails(result, null_param, id);
        let result = pharm_subst_load_bytes(null(), p, n, r, rn, l, ln, &mut bytes);
        assert_fails(result, null_param, id);
        let result = pharm_subst_load_bytes(subst.ptr(), p, n, r, rn, l, ln, null_mut());
        assert_fails(result, null_param, id);
        let result = pharm_subst_load_path(subst.ptr(), null(), 4, r, rn, l, ln, &mut bytes);
        assert_fails(result, null_param, id);
        let result =
            pharm_subst_load_path(null(), path.as_ptr(), path.len(), r, rn, l, ln, &mut bytes);
        assert_fails(result, null_param, id);
        let result = pharm_subst_load_path(
            subst.ptr(),
            path.as_ptr(),
            path.len(),
            r,
            rn,
            l,
            ln,
            null_mut(),
        );
        assert_fails(result, null_param, id);
        assert_fails(
            pharm_subst_set_packages(null(), b"[]".as_ptr(), 2),
            null_param,
            id,
        );
        assert_fails(
            pharm_subst_set_packages(subst.ptr(), null(), 2),
            null_param,
            id,
        );
        assert_fails(
            pharm_subst_status(null(), FRESH_MS, 0, &mut bytes),
            null_param,
            id,
        );
        assert_fails(
            pharm_subst_status(subst.ptr(), FRESH_MS, 0, null_mut()),
            null_param,
            id,
        );
        type Query = unsafe extern "C" fn(
            *const pharm_subst,
            *const u8,
            usize,
            i64,
            i32,
            *mut *mut pharm_bytes,
        ) -> pharm_result;
        for call in [pharm_subst_substitutes as Query, pharm_subst_explain] {
            assert_fails(call(null(), q, qn, FRESH_MS, 0, &mut bytes), null_param, id);
            assert_fails(
                call(subst.ptr(), null(), qn, FRESH_MS, 0, &mut bytes),
                null_param,
                id,
            );
            assert_fails(
                call(subst.ptr(), q, qn, FRESH_MS, 0, null_mut()),
                null_param,
                id,
            );
        }
        let key = "N020702-001";
        let result = pharm_subst_is_single_source(null(), key.as_ptr(), key.len(), &mut flag);
        assert_fails(result, null_param, id);
        let result = pharm_subst_is_single_source(subst.ptr(), null(), key.len(), &mut flag);
        assert_fails(result, null_param, id);
        let result = pharm_subst_is_single_source(subst.ptr(), key.as_ptr(), key.len(), null_mut());
        assert_fails(result, null_param, id);
    }
    assert!(bytes.is_null());
    assert!(handle.is_null());
}

#[test]
fn empty_inputs_are_read_as_empty_not_as_null() {
    let subst = loaded();
    // NULL with length 0 is an empty input: an empty file has no header, an empty query
    // is not JSON, an empty release date is not a date.
    let (result, handle) = new_from_bytes(&[], 45);
    assert_fails(result, pharm_result::SubstError, "subst.missing_header");
    assert!(handle.is_null());
    assert_fails(
        unsafe { pharm_subst_set_packages(subst.ptr(), null(), 0) },
        pharm_result::SubstError,
        "subst.json_syntax",
    );
    assert_eq!(
        subst.load_bytes(&sample(), ""),
        Err(pharm_result::CoreError)
    );
    assert_eq!(last_id(), "core.date_syntax");
}

#[test]
fn invalid_utf8_is_refused_in_every_text_argument() {
    let subst = loaded();
    let utf8 = pharm_result::InvalidUtf8;
    let id = "ffi.invalid_utf8";
    assert_eq!(subst.substitutes(BAD_UTF8, FRESH_MS), Err(utf8));
    assert_eq!(last_id(), id);
    assert_eq!(subst.explain(BAD_UTF8, FRESH_MS), Err(utf8));
    assert_eq!(last_id(), id);
    let mut flag = false;
    let result = unsafe {
        pharm_subst_is_single_source(subst.ptr(), BAD_UTF8.as_ptr(), BAD_UTF8.len(), &mut flag)
    };
    assert_fails(result, utf8, id);
    let result =
        unsafe { pharm_subst_set_packages(subst.ptr(), BAD_UTF8.as_ptr(), BAD_UTF8.len()) };
    assert_fails(result, utf8, id);
    let products = sample();
    let mut handle = null_mut();
    for (released, label) in [
        (BAD_UTF8, LABEL.as_bytes()),
        (RELEASED.as_bytes(), BAD_UTF8),
    ] {
        let result = unsafe {
            pharm_subst_new_from_bytes(
                products.as_ptr(),
                products.len(),
                released.as_ptr(),
                released.len(),
                label.as_ptr(),
                label.len(),
                45,
                &mut handle,
            )
        };
        assert_fails(result, utf8, id);
    }
    let result = unsafe {
        pharm_subst_new_from_path(
            BAD_UTF8.as_ptr(),
            BAD_UTF8.len(),
            RELEASED.as_ptr(),
            RELEASED.len(),
            LABEL.as_ptr(),
            LABEL.len(),
            45,
            &mut handle,
        )
    };
    assert_fails(result, utf8, id);
    assert!(handle.is_null());
    // A products.txt is bytes: a bad line is the parser's error, with its line number.
    let mut bad = sample();
    let at = bad.iter().position(|&b| b == b'\n').unwrap() + 5;
    bad[at] = 0xff;
    assert_eq!(
        subst.load_bytes(&bad, RELEASED),
        Err(pharm_result::SubstError)
    );
    assert_eq!(last_id(), "subst.bad_row");
}

#[test]
fn malformed_and_unknown_field_json_get_subst_codes() {
    let subst = loaded();
    for (query, id) in [
        ("", "subst.json_syntax"),
        ("{", "subst.json_syntax"),
        (
            r#"{"original": "N020702-001", "policy": {"state": "TX"}"#,
            "subst.json_syntax",
        ),
        (
            r#"{"original": "N020702-001", "policy": {"state": "TX"}} x"#,
            "subst.json_syntax",
        ),
        (r#"{"original": "N020702-001"}"#, "subst.json_invalid"),
        (r#"{"policy": {"state": "TX"}}"#, "subst.json_invalid"),
        (
            r#"{"original": "N020702-001", "policy": {"state": "TX"}, "catalog": "fresh"}"#,
            "subst.json_invalid",
        ),
        (
            r#"{"original": "N020702-001", "policy": {"state": "TX", "nti": []}}"#,
            "subst.json_invalid",
        ),
        (
            r#"{"original": "N020702-001", "policy": {"state": "TX", "nti_rule": "maybe"}}"#,
            "subst.json_invalid",
        ),
        (
            r#"{"original": "N020702-001", "policy": {"state": "TX"}, "daw": 10}"#,
            "subst.json_invalid",
        ),
        (
            r#"{"original": "N020702-001", "policy": {"state": "TX"}, "last_fill": {"ndc": "x"}}"#,
            "subst.json_invalid",
        ),
        (
            r#"{"original": "N020702-001", "policy": {"state": "TX"}, "last_fill": {"application": "BLA1"}}"#,
            "subst.json_invalid",
        ),
        (
            r#"{"original": "Lipitor", "policy": {"state": "TX"}}"#,
            "subst.json_invalid",
        ),
        (r#"[1, 2]"#, "subst.json_invalid"),
    ] {
        assert_eq!(
            subst.substitutes(query, FRESH_MS),
            Err(pharm_result::SubstError),
            "{query}"
        );
        assert_eq!(last_id(), id, "{query}");
    }
    for (query, id) in [
        ("{\"a\": ", "subst.json_syntax"),
        (r#"{"a": "N020702-001"}"#, "subst.json_invalid"),
        (
            r#"{"a": "N020702-001", "b": "A207687-001", "market": {}}"#,
            "subst.json_invalid",
        ),
        (
            r#"{"a": "N020702-001", "b": "A207687-001", "policy": {"state": "TX", "x": 1}}"#,
            "subst.json_invalid",
        ),
    ] {
        assert_eq!(
            subst.explain(query, FRESH_MS),
            Err(pharm_result::SubstError),
            "{query}"
        );
        assert_eq!(last_id(), id, "{query}");
    }
    // The detail names the field and the position.
    let query = r#"{"original": "N020702-001", "policy": {"state": "TX"}, "dau": 1}"#;
    assert!(subst.substitutes(query, FRESH_MS).is_err());
    let mut message = vec![0u8; 512];
    let mut n = 0;
    unsafe { crate::pharm_error_message(message.as_mut_ptr(), message.len(), &mut n) };
    let message = String::from_utf8_lossy(&message[..n]).into_owned();
    assert!(
        message.contains("unknown field `dau`") && message.contains("column"),
        "{message}"
    );
    assert_eq!(pharm_error_code(), 2401);
}

#[test]
fn oversized_inputs_are_refused_before_they_are_read() {
    let subst = loaded();
    let too_large = pharm_result::InputTooLarge;
    let id = "ffi.input_too_large";
    let padded = |text: String, len: usize| text.clone() + &" ".repeat(len - text.len());
    let big_query = padded(tx_query("N020702-001"), PHARM_SUBST_MAX_QUERY_BYTES + 1);
    assert_eq!(subst.substitutes(&big_query, FRESH_MS), Err(too_large));
    assert_eq!(last_id(), id);
    assert_eq!(subst.explain(&big_query, FRESH_MS), Err(too_large));
    assert_eq!(last_id(), id);
    // At the limit the query is read (and parsed: trailing spaces are fine).
    let at_limit = padded(tx_query("N020702-001"), PHARM_SUBST_MAX_QUERY_BYTES);
    assert!(subst.substitutes(&at_limit, FRESH_MS).is_ok());
    let big_packages = padded("[]".into(), PHARM_SUBST_MAX_PACKAGES_BYTES + 1);
    assert_fails(subst.set_packages(&big_packages), too_large, id);
    let mut products = sample();
    products.resize(PHARM_SUBST_MAX_PRODUCTS_BYTES + 1, b'\n');
    assert_eq!(subst.load_bytes(&products, RELEASED), Err(too_large));
    assert_eq!(last_id(), id);
    let (result, _) = new_from_bytes(&products, 45);
    assert_fails(result, too_large, id);
    let long_label = "x".repeat(PHARM_SUBST_MAX_LABEL_BYTES + 1);
    let mut handle = null_mut();
    let result = unsafe {
        pharm_subst_new_from_bytes(
            products.as_ptr(),
            1000,
            RELEASED.as_ptr(),
            RELEASED.len(),
            long_label.as_ptr(),
            long_label.len(),
            45,
            &mut handle,
        )
    };
    assert_fails(result, too_large, id);
    let long_path = "p".repeat(PHARM_SUBST_MAX_PATH_BYTES + 1);
    let result = unsafe {
        pharm_subst_new_from_path(
            long_path.as_ptr(),
            long_path.len(),
            RELEASED.as_ptr(),
            RELEASED.len(),
            LABEL.as_ptr(),
            LABEL.len(),
            45,
            &mut handle,
        )
    };
    assert_fails(result, too_large, id);
    assert!(handle.is_null());
}

fn new_from_path(path: &str) -> pharm_result {
    let mut handle = null_mut();
    let result = unsafe {
        pharm_subst_new_from_path(
            path.as_ptr(),
            path.len(),
            RELEASED.as_ptr(),
            RELEASED.len(),
            LABEL.as_ptr(),
            LABEL.len(),
            45,
            &mut handle,
        )
    };
    assert!(handle.is_null());
    result
}

#[test]
fn unreadable_garbage_truncated_and_oversized_files_are_typed_errors() {
    let dir = std::env::temp_dir().join(format!("pharm-ffi-subst-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.txt");
    for path in [
        missing.to_str().unwrap(),
        dir.to_str().unwrap(),
        "",
        "nul\0byte",
    ] {
        assert_fails(
            new_from_path(path),
            pharm_result::SubstError,
            "subst.file_unreadable",
        );
    }
    let garbage = dir.join("garbage.txt");
    std::fs::write(&garbage, b"\x00\x01PK\x03\x04 not an Orange Book").unwrap();
    assert_fails(
        new_from_path(garbage.to_str().unwrap()),
        pharm_result::SubstError,
        "subst.missing_header",
    );
    let truncated = dir.join("truncated.txt");
    std::fs::write(&truncated, &sample()[..1000]).unwrap();
    assert_fails(
        new_from_path(truncated.to_str().unwrap()),
        pharm_result::SubstError,
        "subst.bad_row",
    );
    let huge = dir.join("huge.txt");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(PHARM_SUBST_MAX_PRODUCTS_BYTES as u64 + 1)
        .unwrap();
    assert_fails(
        new_from_path(huge.to_str().unwrap()),
        pharm_result::InputTooLarge,
        "ffi.input_too_large",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_panic_poisons_the_handle_for_every_call_but_free() {
    use crate::pharm_test_panic_next_call;

    let subst = loaded();
    let other = loaded();
    let query = tx_query("N020702-001");
    pharm_test_panic_next_call();
    assert_fails(
        subst.substitutes(&query, FRESH_MS).unwrap_err(),
        pharm_result::Panic,
        "ffi.panic",
    );
    let poisoned = pharm_result::Poisoned;
    let id = "ffi.poisoned";
    assert_fails(
        subst.substitutes(&query, FRESH_MS).unwrap_err(),
        poisoned,
        id,
    );
    assert_fails(
        subst
            .explain(r#"{"a": "N020702-001", "b": "A207687-001"}"#, FRESH_MS)
            .unwrap_err(),
        poisoned,
        id,
    );
    assert_fails(
        subst.single_source("N020702-001").unwrap_err(),
        poisoned,
        id,
    );
    assert_fails(subst.set_packages("[]"), poisoned, id);
    assert_fails(
        subst.load_bytes(&sample(), RELEASED).unwrap_err(),
        poisoned,
        id,
    );
    let mut out = null_mut();
    assert_fails(
        unsafe { pharm_subst_status(subst.ptr(), FRESH_MS, 0, &mut out) },
        poisoned,
        id,
    );
    assert!(out.is_null());
    // Another handle is untouched, and a constructor that panics returns no handle.
    assert!(other.substitutes(&query, FRESH_MS).is_ok());
    pharm_test_panic_next_call();
    let (result, handle) = new_from_bytes(&sample(), 45);
    assert_fails(result, pharm_result::Panic, "ffi.panic");
    assert!(handle.is_null());
    // `subst` is freed by its Drop: free works on a poisoned handle.
}
