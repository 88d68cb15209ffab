//! Query shapes: defaults, market facts, the store's packages, explain under a prescription.

use ::pharm_subst::{MarketFacts, MarketTable, NtiRule, SubstitutionPolicy};
use serde_json::{Value, json};

use super::*;
use crate::subst::json::parse;

#[test]
fn a_minimal_query_uses_the_documented_defaults() {
    let subst = loaded();
    let full = r#"{"original": "N020702-001",
        "policy": {"state": "TX", "nti_ingredients": [], "nti_rule": "allow",
                   "negative_formulary": [], "same_manufacturer_refill": false},
        "daw": 0, "last_fill": null, "consent": false, "patient_requests_brand": false,
        "market": {}}"#;
    assert_eq!(
        subst.substitutes(tx_query("N020702-001"), FRESH_MS),
        subst.substitutes(full, FRESH_MS)
    );
    let answer: Value =
        serde_json::from_slice(&subst.substitutes(full, FRESH_MS).unwrap()).unwrap();
    assert_eq!(answer["original"], "N020702-001");
    assert_eq!(answer["restriction"], Value::Null);
    assert_eq!(answer["consent_needed"], false);
    for choice in answer["choices"].as_array().unwrap() {
        assert_eq!(choice["in_stock"], false);
        assert_eq!(choice["unit_cost"], Value::Null);
        assert_eq!(choice["packages"], json!([]));
    }
}

#[test]
fn market_facts_rank_the_choices_and_packages_are_listed() {
    let subst = loaded();
    let packages = r#"[{"sku": 9, "ndc": "0378-2125-77", "product": "A091226-001"},
                       {"sku": 2, "ndc": "0071-0155-40", "product": "N020702-001"},
                       {"sku": 1, "ndc": "0071-0155-23", "product": "N020702-001"}]"#;
    assert_eq!(subst.set_packages(packages), pharm_result::Ok);
    assert_eq!(subst.status(FRESH_MS, 0)["packages"], 3);
    let query = r#"{"original": "NDA020702-001", "policy": {"state": "TX"},
        "market": {"A091226-001": {"in_stock": true, "formulary_tier": 1, "unit_cost": "0.11"},
                   "N020702-001": {"in_stock": true, "formulary_tier": 3}}}"#;
    let answer: Value =
        serde_json::from_slice(&subst.substitutes(query, FRESH_MS).unwrap()).unwrap();
    let first = &answer["choices"][0];
    assert_eq!(first["key"], "A091226-001");
    assert_eq!(first["unit_cost"], "0.11");
    assert_eq!(
        first["packages"],
        json!([{"sku": 9, "ndc": "0378-2125-77"}])
    );
    let brand = &answer["choices"][1];
    assert_eq!(brand["key"], "N020702-001");
    assert_eq!(brand["formulary_tier"], 3);
    assert_eq!(
        brand["packages"],
        json!([{"sku": 1, "ndc": "0071-0155-23"}, {"sku": 2, "ndc": "0071-0155-40"}])
    );
    // An empty list clears the packages.
    assert_eq!(subst.set_packages("[]"), pharm_result::Ok);
    assert_eq!(subst.status(FRESH_MS, 0)["packages"], 0);
}

#[test]
fn package_lists_that_repeat_a_sku_or_an_ndc_are_refused_and_the_old_list_stays() {
    let subst = loaded();
    let one = r#"[{"sku": 1, "ndc": "0071-0155-23", "product": "N020702-001"}]"#;
    assert_eq!(subst.set_packages(one), pharm_result::Ok);
    let sku_twice = r#"[{"sku": 1, "ndc": "0071-0155-23", "product": "N020702-001"},
                        {"sku": 1, "ndc": "0071-0155-40", "product": "N020702-001"}]"#;
    assert_fails(
        subst.set_packages(sku_twice),
        pharm_result::SubstError,
        "subst.map_duplicate_sku",
    );
    let ndc_twice = r#"[{"sku": 1, "ndc": "0071-0155-23", "product": "N020702-001"},
                        {"sku": 2, "ndc": "00071-0155-23", "product": "N020702-001"}]"#;
    assert_fails(
        subst.set_packages(ndc_twice),
        pharm_result::SubstError,
        "subst.map_duplicate_ndc",
    );
    let extra = r#"[{"sku": 1, "ndc": "0071-0155-23", "product": "N020702-001", "lot": "A1"}]"#;
    assert_fails(
        subst.set_packages(extra),
        pharm_result::SubstError,
        "subst.json_invalid",
    );
    assert_fails(
        subst.set_packages("{}"),
        pharm_result::SubstError,
        "subst.json_invalid",
    );
    assert_eq!(subst.status(FRESH_MS, 0)["packages"], 1);
}

#[test]
fn explain_with_and_without_a_prescription() {
    let subst = loaded();
    let plain: Value = serde_json::from_slice(
        &subst
            .explain(r#"{"a": "N020702-001", "b": "A207687-001"}"#, FRESH_MS)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        plain["explanation"],
        json!({"result": "equivalent", "codes": ["AB"]})
    );
    let daw1 = r#"{"a": "N020702-001", "b": "A207687-001", "policy": {"state": "TX"}, "daw": 1}"#;
    let answer: Value = serde_json::from_slice(&subst.explain(daw1, FRESH_MS).unwrap()).unwrap();
    assert_eq!(
        answer["explanation"]["reason"],
        json!({"kind": "daw_forbids", "daw": 1})
    );
    // A prescription's fields without its policy would be silently ignored: refused.
    for query in [
        r#"{"a": "N020702-001", "b": "A207687-001", "daw": 1}"#,
        r#"{"a": "N020702-001", "b": "A207687-001", "policy": null, "consent": true}"#,
        r#"{"a": "N020702-001", "b": "A207687-001", "last_fill": "unidentified"}"#,
    ] {
        assert_eq!(
            subst.explain(query, FRESH_MS),
            Err(pharm_result::SubstError)
        );
        assert_eq!(last_id(), "subst.json_invalid");
    }
    let unknown = r#"{"a": "N020702-001", "b": "N099999-001"}"#;
    assert_eq!(
        subst.explain(unknown, FRESH_MS),
        Err(pharm_result::SubstError)
    );
    assert_eq!(last_id(), "subst.explain_unknown_product");
    assert_eq!(
        empty().explain(unknown, FRESH_MS),
        Err(pharm_result::SubstError)
    );
    assert_eq!(last_id(), "subst.no_catalog");
}

#[test]
fn substitutes_of_an_unknown_product_and_without_a_release() {
    let subst = loaded();
    assert_eq!(
        subst.substitutes(tx_query("N099999-001"), FRESH_MS),
        Err(pharm_result::SubstError)
    );
    assert_eq!(last_id(), "subst.unknown_product");
    let answer: Value = serde_json::from_slice(
        &empty()
            .substitutes(tx_query("N099999-001"), FRESH_MS)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(answer["degraded"], json!({"kind": "no_catalog"}));
    assert_eq!(answer["choices"][0]["trade_name"], Value::Null);
}

#[test]
fn the_policy_reads_every_policy_the_crate_writes_and_nothing_else() {
    let mut policy = SubstitutionPolicy::north_carolina();
    policy.negative_formulary = vec!["WARFARIN SODIUM".into()];
    policy.nti_rule = NtiRule::Forbid;
    let text = serde_json::to_string(&policy).unwrap();
    let read: SubstitutionPolicy = parse("policy", &text).unwrap();
    assert_eq!(read, policy);
    // A misspelt field is refused by the crate's own type, with pharm-subst's code.
    let misspelt = r#"{"state": "NC", "nti_ingredient": ["DIGOXIN"]}"#;
    let error = parse::<SubstitutionPolicy>("policy", misspelt).unwrap_err();
    assert_eq!(error.id, "subst.json_invalid", "{}", error.message);
    assert!(
        error.message.contains("nti_ingredient"),
        "{}",
        error.message
    );
}

#[test]
fn the_market_reads_the_facts_the_crate_writes_and_nothing_else() {
    let facts = MarketFacts {
        in_stock: true,
        formulary_tier: Some(2),
        unit_cost: Some("1.20".parse().unwrap()),
    };
    let text = format!(
        r#"{{"N021402-005": {}, "A076187-005": {}}}"#,
        serde_json::to_string(&facts).unwrap(),
        serde_json::to_string(&MarketFacts::default()).unwrap()
    );
    let table: MarketTable = parse("market", &text).unwrap();
    assert_eq!(table.0[&"N021402-005".parse().unwrap()], facts);
    assert_eq!(
        table.0[&"A076187-005".parse().unwrap()],
        MarketFacts::default()
    );
    for bad in [
        // A float cost: no floats cross the boundary.
        r#"{"N021402-005": {"in_stock": true, "unit_cost": 1.2}}"#,
        r#"{"N021402-005": {"in_stock": true, "unit_cost": "-0.01"}}"#,
        r#"{"N021402-005": {"in_stock": true, "unit_cost": "cheap"}}"#,
        r#"{"N021402-005": {"in_stock": true, "formulary_tier": 256}}"#,
        r#"{"N021402-005": {"in_stock": true, "stock": 3}}"#,
        r#"{"N021402-005": {"formulary_tier": 1}}"#,
        // One product twice, in two spellings of its key.
        r#"{"N021402-005": {"in_stock": true}, "NDA021402-005": {"in_stock": false}}"#,
        r#"{"Synthroid": {"in_stock": true}}"#,
    ] {
        let error = parse::<MarketTable>("market", bad).unwrap_err();
        assert_eq!(error.id, "subst.json_invalid", "{bad}: {}", error.message);
    }
    let zero: MarketTable = parse(
        "market",
        r#"{"N021402-005": {"in_stock": true, "unit_cost": "0"}}"#,
    )
    .unwrap();
    assert!(zero.0.values().all(|f| f.unit_cost.is_some()));
}
