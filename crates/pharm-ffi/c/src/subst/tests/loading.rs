//! Making services, loading and swapping releases, the status and the store's date.

use serde_json::json;

use super::*;

fn new_from_path(path: &str) -> (pharm_result, *mut pharm_subst) {
    let mut subst = std::ptr::null_mut();
    let result = unsafe {
        pharm_subst_new_from_path(
            path.as_ptr(),
            path.len(),
            RELEASED.as_ptr(),
            RELEASED.len(),
            LABEL.as_ptr(),
            LABEL.len(),
            45,
            &mut subst,
        )
    };
    (result, subst)
}

#[test]
fn a_release_loads_from_bytes_and_from_a_path_alike() {
    let from_bytes = loaded();
    let (result, subst) = new_from_path(&sample_path());
    assert_eq!(result, pharm_result::Ok);
    let from_path = Handle(subst);
    let status = from_path.status(FRESH_MS, 0);
    assert_eq!(status, from_bytes.status(FRESH_MS, 0));
    assert_eq!(status["release"]["label"], "2026-05");
    assert_eq!(status["release"]["released"], "2026-05-01");
    assert_eq!(status["release"]["products"], 60);
    assert!(status["release"]["equivalences"].as_u64().unwrap() > 0);
    assert_eq!(status["degraded"], serde_json::Value::Null);
    assert_eq!(status["packages"], 0);
    let lipitor = tx_query("N020702-001");
    assert_eq!(
        from_path.substitutes(&lipitor, FRESH_MS),
        from_bytes.substitutes(&lipitor, FRESH_MS)
    );
}

#[test]
fn status_without_a_release_and_when_stale() {
    let none = empty();
    assert_eq!(
        none.status(FRESH_MS, 0),
        json!({"release": null, "degraded": {"kind": "no_catalog"}, "packages": 0})
    );
    let stale = loaded().status(STALE_MS, 0);
    assert_eq!(
        stale["degraded"],
        json!({"kind": "stale", "age_days": 46, "max_age_days": 45})
    );
}

#[test]
fn the_store_date_comes_from_the_clock_reading_and_the_offset() {
    let subst = loaded();
    // 2026-06-16T03:00Z: already the 16th in UTC (46 days: stale), still the 15th in
    // Chicago (UTC-5 in June: 45 days, fresh).
    let now = 1_781_578_800_000;
    assert_eq!(subst.status(now, 0)["degraded"]["kind"], "stale");
    assert_eq!(
        subst.status(now, -5 * 3600)["degraded"],
        serde_json::Value::Null
    );
    let answer = subst.substitutes(tx_query("N020702-001"), now).unwrap();
    assert_eq!(
        choice_keys(&answer),
        ["N020702-001"],
        "degraded: as written only"
    );
    let mut out = std::ptr::null_mut();
    let query = tx_query("N020702-001");
    let result = unsafe {
        pharm_subst_substitutes(
            subst.ptr(),
            query.as_ptr(),
            query.len(),
            now,
            -5 * 3600,
            &mut out,
        )
    };
    assert_eq!(result, pharm_result::Ok);
    assert!(choice_keys(&take(out)).len() > 1, "fresh: generics offered");
}

#[test]
fn utc_offsets_beyond_eighteen_hours_are_refused() {
    let subst = loaded();
    for offset in [
        PHARM_SUBST_MAX_UTC_OFFSET_S + 1,
        -PHARM_SUBST_MAX_UTC_OFFSET_S - 1,
        i32::MIN,
    ] {
        let mut out = std::ptr::null_mut();
        let result = unsafe { pharm_subst_status(subst.ptr(), FRESH_MS, offset, &mut out) };
        assert_fails(
            result,
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        assert!(out.is_null());
    }
    // Extreme clock readings saturate instead of overflowing.
    for now in [i64::MIN, i64::MAX] {
        let status = subst.status(now, PHARM_SUBST_MAX_UTC_OFFSET_S);
        assert!(status["release"].is_object());
    }
}

/// The sample with one product re-rated, one discontinued, one dropped and one added.
fn next_release() -> Vec<u8> {
    let text = String::from_utf8(sample()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let accord = lines
        .iter()
        .position(|l| l.contains("~A~207687~001~"))
        .unwrap();
    lines[accord] = lines[accord].replace("~AB~", "~BX~");
    let mylan = lines
        .iter()
        .position(|l| l.contains("~A~091226~001~"))
        .unwrap();
    lines[mylan] = lines[mylan]
        .replace("~RX~", "~DISCN~")
        .replace("~AB~", "~~");
    let dropped = lines
        .iter()
        .position(|l| l.contains("~N~020702~004~"))
        .unwrap();
    lines.remove(dropped);
    lines.push(
        "POTASSIUM CITRATE~TABLET, EXTENDED RELEASE;ORAL~POTASSIUM CITRATE~RISING~10MEQ~A~077440~002~AB~Jun 9, 2006~No~No~RX~RISING PHARMA HOLDINGS INC"
            .to_owned(),
    );
    (lines.join("\n") + "\n").into_bytes()
}

#[test]
fn a_swap_reports_what_changed_and_later_queries_see_the_new_release() {
    let subst = empty();
    let first = subst.load_bytes(&sample(), RELEASED).unwrap();
    assert_eq!(first["added"].as_array().unwrap().len(), 60);
    let before = subst
        .substitutes(tx_query("N020702-001"), FRESH_MS)
        .unwrap();
    assert!(choice_keys(&before).contains(&"A207687-001".to_owned()));

    let diff = subst.load_bytes(&next_release(), "2026-06-01").unwrap();
    assert_eq!(
        diff,
        json!({
            "added": ["A077440-002"],
            "removed": ["N020702-004"],
            "te_changed": [
                ["A207687-001", ["AB"], ["BX"]],
                ["A091226-001", ["AB"], []],
            ],
            "status_changed": ["A091226-001"],
        })
    );
    let after = subst
        .substitutes(tx_query("N020702-001"), FRESH_MS)
        .unwrap();
    let keys = choice_keys(&after);
    assert!(
        !keys.contains(&"A207687-001".to_owned()),
        "BX now: {keys:?}"
    );
    assert!(
        !keys.contains(&"A091226-001".to_owned()),
        "discontinued now: {keys:?}"
    );
    assert_eq!(
        subst.status(FRESH_MS, 0)["release"]["released"],
        "2026-06-01"
    );
    assert_eq!(
        subst.substitutes(tx_query("N020702-004"), FRESH_MS),
        Err(pharm_result::SubstError)
    );
    assert_eq!(last_id(), "subst.unknown_product");
}

#[test]
fn a_failed_swap_keeps_the_current_release() {
    let subst = loaded();
    let before = subst.status(FRESH_MS, 0);
    let truncated = &sample()[..700];
    assert_eq!(
        subst.load_bytes(truncated, RELEASED),
        Err(pharm_result::SubstError)
    );
    assert_eq!(last_id(), "subst.bad_row");
    assert_eq!(
        subst.load_bytes(b"garbage", RELEASED),
        Err(pharm_result::SubstError)
    );
    assert_eq!(last_id(), "subst.missing_header");
    assert_eq!(
        subst.load_bytes(&sample(), "May 2026"),
        Err(pharm_result::CoreError)
    );
    assert_eq!(last_id(), "core.date_syntax");
    let path = "/nonexistent/products.txt";
    let mut diff = std::ptr::null_mut();
    let result = unsafe {
        pharm_subst_load_path(
            subst.ptr(),
            path.as_ptr(),
            path.len(),
            RELEASED.as_ptr(),
            RELEASED.len(),
            LABEL.as_ptr(),
            LABEL.len(),
            &mut diff,
        )
    };
    assert_fails(result, pharm_result::SubstError, "subst.file_unreadable");
    assert!(diff.is_null());
    assert_eq!(subst.status(FRESH_MS, 0), before);
}

#[test]
fn load_path_swaps_like_load_bytes() {
    let subst = empty();
    let path = repo().join("crates/pharm-subst/testdata/products-state-lists.txt");
    let path = path.to_str().unwrap();
    let mut diff = std::ptr::null_mut();
    let result = unsafe {
        pharm_subst_load_path(
            subst.ptr(),
            path.as_ptr(),
            path.len(),
            RELEASED.as_ptr(),
            RELEASED.len(),
            LABEL.as_ptr(),
            LABEL.len(),
            &mut diff,
        )
    };
    assert_eq!(result, pharm_result::Ok);
    let diff: serde_json::Value = serde_json::from_slice(&take(diff)).unwrap();
    assert_eq!(diff["added"].as_array().unwrap().len(), 8);
    assert_eq!(subst.status(FRESH_MS, 0)["release"]["products"], 8);
}

#[test]
fn queries_run_while_another_thread_swaps_releases() {
    let subst = loaded();
    let query = tx_query("N020702-001");
    let old = subst.substitutes(&query, FRESH_MS).unwrap();
    let (current, next) = (sample(), next_release());
    let new = {
        let other = empty();
        other.load_bytes(&next, RELEASED).unwrap();
        other.substitutes(&query, FRESH_MS).unwrap()
    };
    assert_ne!(old, new);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..200 {
                    let answer = subst.substitutes(&query, FRESH_MS).unwrap();
                    assert!(answer == old || answer == new, "a mix of two releases");
                }
            });
        }
        scope.spawn(|| {
            for i in 0..20 {
                let products = if i % 2 == 0 { &next } else { &current };
                subst.load_bytes(products, RELEASED).unwrap();
            }
        });
    });
}

#[test]
fn single_source_products() {
    let subst = loaded();
    assert_eq!(subst.single_source("N020702-001"), Ok(false));
    assert_eq!(subst.single_source("ANDA207687-001"), Ok(false));
    assert_eq!(subst.single_source("A213853-001"), Ok(true), "B-rated");
    assert_eq!(
        subst.single_source("N099999-001"),
        Err(pharm_result::SubstError)
    );
    assert_eq!(last_id(), "subst.unknown_product");
    assert_eq!(
        subst.single_source("Lipitor"),
        Err(pharm_result::SubstError)
    );
    assert_eq!(last_id(), "subst.product_key_invalid");
    assert_eq!(
        empty().single_source("N020702-001"),
        Err(pharm_result::SubstError)
    );
    assert_eq!(last_id(), "subst.no_catalog");
}

#[test]
fn free_accepts_null() {
    unsafe { pharm_subst_free(std::ptr::null_mut()) };
}
