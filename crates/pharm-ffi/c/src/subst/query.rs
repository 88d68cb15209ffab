//! The queries: substitutes and explain (JSON in, pharm-subst's owned answers out), and the
//! single-source check.

use ::pharm_subst::query_doc::{ExplainQuery, SubstitutesQuery};
use ::pharm_subst::{ExplainError, ProductKey};

use super::{PHARM_SUBST_MAX_QUERY_BYTES, pharm_subst, to_json, today};
use crate::boundary;
use crate::error::Failure;
use crate::input;
use crate::output::{Out, pharm_bytes};
use crate::result::pharm_result;

/// Longest product key text accepted by `pharm_subst_is_single_source()`.
const MAX_KEY_BYTES: usize = 64;

/// The products the store may dispense for a prescription, best first, as JSON.
///
/// `query` (UTF-8 JSON, `query_len` bytes, at most `PHARM_SUBST_MAX_QUERY_BYTES`; unknown
/// fields rejected everywhere):
/// `{"original": "N020702-001", "policy": {"state": "TX", "nti_ingredients": [],
/// "nti_rule": "allow", "negative_formulary": [], "same_manufacturer_refill": false},
/// "daw": 0, "last_fill": null, "consent": false, "patient_requests_brand": false,
/// "market": {"A207687-001": {"in_stock": true, "formulary_tier": 1, "unit_cost": "0.09"}}}`.
/// `original` (the written Orange Book product key) and `policy.state` are required; the
/// rest defaults to the values shown (empty lists, `"allow"`, false, DAW 0, a first fill,
/// no market facts). `nti_rule` is `"allow"`, `"require_consent"` or `"forbid"`;
/// `last_fill` is null on a first fill, `{"application": "ANDA076187"}` or
/// `"unidentified"` on a refill. `market` gives the store's and the patient's plan's facts
/// per product key (`formulary_tier` and `unit_cost`, a decimal string, may be null or
/// left out); a product not listed is not in stock, off formulary, without cost. Market
/// facts come with each query (stock changes with every sale, tiers with the patient's
/// plan); to learn which products to give facts for, ask once without `market`: the
/// answer lists every candidate (with the store's skus from `pharm_subst_set_packages()`).
///
/// `now_unix_ms` (the caller's clock, Unix milliseconds) and `utc_offset_s` (the store's
/// offset from UTC in seconds, east positive, at most `PHARM_SUBST_MAX_UTC_OFFSET_S`)
/// give the store's date, which decides whether the release is stale.
///
/// On success `*out` receives pharm-subst's `SubstitutionAnswer` as JSON (freed with
/// `pharm_bytes_free()`): `{"original", "choices": [{"key", "trade_name", "applicant",
/// "te_codes", "reason", "daw", "in_stock", "formulary_tier", "unit_cost", "packages"}],
/// "restriction", "degraded", "consent_needed"}`, the form of
/// `testdata/golden/subst/substitutes.json`. Without a release, or with a stale one, the
/// answer is degraded (the written product only, flagged). A product the release does not
/// list is `subst.unknown_product`.
///
/// # Safety
/// `subst` must be NULL or a live handle; `query` must point to `query_len` readable
/// bytes (or be NULL with `query_len` 0); `out` must be NULL or point to a writable
/// `pharm_bytes *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_subst_substitutes(
    subst: *const pharm_subst,
    query: *const u8,
    query_len: usize,
    now_unix_ms: i64,
    utc_offset_s: i32,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |subst: &pharm_subst| {
        let out = Out::new(out, "out")?;
        let today = today(now_unix_ms, utc_offset_s)?;
        // SAFETY: `query` points to `query_len` readable bytes or is NULL with 0 (the
        // caller's contract).
        let text = unsafe { input::text(query, query_len, "query", PHARM_SUBST_MAX_QUERY_BYTES) }?;
        let query = SubstitutesQuery::from_json(text)?;
        let ctx = query.context();
        let packages = subst.packages();
        let answer =
            subst
                .service
                .snapshot(today)
                .answer(&query.original, &ctx, Some(&packages))?;
        out.set_bytes(to_json(&answer)?);
        Ok(())
    };
    // SAFETY: `subst` is NULL or a live handle (the caller's contract).
    unsafe { boundary::call_with(subst, "subst", body) }
}

/// Why two products are or are not A-rated to each other, as JSON.
///
/// `query` (UTF-8 JSON, at most `PHARM_SUBST_MAX_QUERY_BYTES`; unknown fields rejected):
/// `{"a": "N020702-001", "b": "A207687-001"}` for the Orange Book's answer alone, or under
/// a prescription with `"policy": {...}` (as in `pharm_subst_substitutes()`) and optional
/// `"daw"`, `"last_fill"` and `"consent"`, then `a` is the written product. `daw`,
/// `last_fill` and `consent` without a policy are refused (`subst.json_invalid`).
/// `now_unix_ms` and `utc_offset_s` give the store's date as in
/// `pharm_subst_substitutes()`.
///
/// On success `*out` receives pharm-subst's `ExplainAnswer` as JSON (freed with
/// `pharm_bytes_free()`): `{"a", "b", "explanation": {"result": "equivalent", "codes":
/// ["AB"]} or {"result": "not_equivalent", "reason": {"kind": ...}}, "degraded"}`, the
/// form of `testdata/golden/subst/explain.json`. Without a release there is no answer
/// (`subst.no_catalog`); a product the release does not list is
/// `subst.explain_unknown_product`.
///
/// # Safety
/// As for `pharm_subst_substitutes()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_subst_explain(
    subst: *const pharm_subst,
    query: *const u8,
    query_len: usize,
    now_unix_ms: i64,
    utc_offset_s: i32,
    out: *mut *mut pharm_bytes,
) -> pharm_result {
    let body = |subst: &pharm_subst| {
        let out = Out::new(out, "out")?;
        let today = today(now_unix_ms, utc_offset_s)?;
        // SAFETY: `query` points to `query_len` readable bytes or is NULL with 0 (the
        // caller's contract).
        let text = unsafe { input::text(query, query_len, "query", PHARM_SUBST_MAX_QUERY_BYTES) }?;
        let query = ExplainQuery::from_json(text)?;
        let ctx = query.prescription.as_ref().map(|p| p.context());
        let answer = subst
            .service
            .snapshot(today)
            .explain(&query.a, &query.b, ctx.as_ref())?;
        out.set_bytes(to_json(&answer)?);
        Ok(())
    };
    // SAFETY: `subst` is NULL or a live handle (the caller's contract).
    unsafe { boundary::call_with(subst, "subst", body) }
}

/// Whether the product is single source in the loaded release: no other product is
/// A-rated to it, so nothing may be substituted for it (a B-rated, unrated, OTC or
/// discontinued product is single source too).
///
/// `key`: the Orange Book product key as UTF-8 text (`"N020702-001"`, `"ANDA076477-001"`),
/// `key_len` bytes. The answer comes from the loaded release whatever its age (see
/// `pharm_subst_status()` for staleness). Without a release: `subst.no_catalog`; a product
/// the release does not list: `subst.unknown_product`; a malformed key:
/// `subst.product_key_invalid`.
///
/// On success `*out` receives the answer.
///
/// # Safety
/// `subst` must be NULL or a live handle; `key` must point to `key_len` readable bytes (or
/// be NULL with `key_len` 0); `out` must be NULL or point to a writable `bool`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_subst_is_single_source(
    subst: *const pharm_subst,
    key: *const u8,
    key_len: usize,
    out: *mut bool,
) -> pharm_result {
    let body = |subst: &pharm_subst| {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        // SAFETY: `key` points to `key_len` readable bytes or is NULL with 0 (the caller's
        // contract).
        let key: ProductKey =
            unsafe { input::text(key, key_len, "key", MAX_KEY_BYTES) }?.parse()?;
        // The date only decides staleness, which this answer does not report.
        let snapshot = subst.service.snapshot(pharm_core::time::Date::MIN);
        let release = snapshot.release().ok_or(ExplainError::NoCatalog)?;
        let single = release.catalog.is_single_source(&key)?;
        // SAFETY: `out` is non-NULL (checked above) and writable (the caller's contract).
        unsafe { *out = single };
        Ok(())
    };
    // SAFETY: `subst` is NULL or a live handle (the caller's contract).
    unsafe { boundary::call_with(subst, "subst", body) }
}
