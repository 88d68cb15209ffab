//! Golden vectors of the substitution boundary: owned substitution and explain answers on
//! the sample Orange Book rows (`testdata/products-sample.txt`), in
//! `testdata/golden/subst/`. Each case stores its query (policy, market facts, DAW,
//! consent, last fill, catalog state) beside the answer, so the bindings can replay them.
//!
//! The test fails when an answer drifts from its vector, and checks that every stored
//! answer reads back to the same value (`deny_unknown_fields` holds). After an intended
//! change, re-bless with `PHARM_BLESS=1 cargo test -p pharm-subst --test golden` and review
//! the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use pharm_core::contract::strictness::unknown_fields_refused;
use pharm_core::model::DawCode;
use pharm_subst::policy::{
    LastFill, MarketFacts, MarketTable, SubstitutionContext, SubstitutionPolicy,
};
use pharm_subst::products::{ParseLimits, ParseMode, parse_products};
use pharm_subst::{
    Catalog, ExplainAnswer, ExplainError, ProductKey, ProductMap, ProductRow, Release, Snapshot,
    SubstitutionAnswer, SubstitutionService, UnknownProduct,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which service state answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum CatalogState {
    /// The sample release, 40 days old (fresh).
    Fresh,
    /// The sample release, 46 days old with a maximum age of 45 (stale).
    Stale,
    /// No release loaded.
    None,
}

/// A substitution query as stored in the vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubstitutesQuery {
    catalog: CatalogState,
    original: ProductKey,
    policy: SubstitutionPolicy,
    daw: DawCode,
    last_fill: Option<LastFill>,
    consent: bool,
    patient_requests_brand: bool,
    market: MarketTable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubstitutesCase {
    name: String,
    query: SubstitutesQuery,
    answer: SubstitutionAnswer,
}

/// An explain query as stored in the vector (`policy` set means "under this prescription").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainQuery {
    catalog: CatalogState,
    a: ProductKey,
    b: ProductKey,
    policy: Option<SubstitutionPolicy>,
    daw: DawCode,
    last_fill: Option<LastFill>,
    consent: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainCase {
    name: String,
    query: ExplainQuery,
    answer: ExplainAnswer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubstitutesFile {
    /// The store's packages used for every answer.
    packages: ProductMap,
    cases: Vec<SubstitutesCase>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainFile {
    cases: Vec<ExplainCase>,
}

fn k(s: &str) -> ProductKey {
    s.parse().unwrap()
}

fn snapshot(state: CatalogState) -> Snapshot {
    let service = SubstitutionService::new(45);
    if state != CatalogState::None {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/products-sample.txt"
        ))
        .unwrap();
        let parsed = parse_products(&bytes, ParseMode::Strict, &ParseLimits::default()).unwrap();
        service.load(Release {
            catalog: Catalog::build(parsed.products).unwrap(),
            released: "2026-05-01".parse().unwrap(),
            label: "2026-05".into(),
        });
    }
    let today = match state {
        CatalogState::Stale => "2026-06-16",
        _ => "2026-06-10",
    };
    service.snapshot(today.parse().unwrap())
}

/// The store's packages: illustrative NDCs (Lipitor 10 mg in two pack sizes).
fn packages() -> ProductMap {
    let row = |sku, ndc: &str, product: &str| ProductRow {
        sku,
        ndc: ndc.parse().unwrap(),
        product: k(product),
    };
    ProductMap::from_rows([
        row(1, "0071-0155-23", "N020702-001"),
        row(2, "0071-0155-40", "N020702-001"),
        row(3, "16729-044-15", "A207687-001"),
        row(4, "0378-2125-77", "A091226-001"),
        row(5, "0074-4341-90", "N021402-005"),
        row(6, "0781-5184-01", "A076187-005"),
        row(7, "0002-4464-30", "N021368-003"),
    ])
    .unwrap()
}

fn facts(in_stock: bool, formulary_tier: Option<u8>, unit_cost: &str) -> MarketFacts {
    MarketFacts {
        in_stock,
        formulary_tier,
        unit_cost: Some(unit_cost.parse().unwrap()),
    }
}

fn market() -> MarketTable {
    MarketTable::from(BTreeMap::from([
        (k("N020702-001"), facts(true, Some(3), "4.10")),
        (k("A207687-001"), facts(true, Some(1), "0.09")),
        (k("A090548-001"), facts(false, Some(1), "0.08")),
        (k("A091226-001"), facts(true, Some(1), "0.11")),
        (k("N021402-005"), facts(true, Some(2), "1.20")),
        (k("A076187-005"), facts(true, Some(1), "0.15")),
        (k("N021368-003"), facts(true, None, "18.00")),
        (k("A209539-004"), facts(false, Some(1), "0.60")),
    ]))
}

fn query(original: &str, policy: SubstitutionPolicy) -> SubstitutesQuery {
    SubstitutesQuery {
        catalog: CatalogState::Fresh,
        original: k(original),
        policy,
        daw: DawCode::NoSelection,
        last_fill: None,
        consent: false,
        patient_requests_brand: false,
        market: market(),
    }
}

fn substitutes_queries() -> Vec<(&'static str, SubstitutesQuery)> {
    let tx = || SubstitutionPolicy::permissive("TX");
    let nc = SubstitutionPolicy::north_carolina;
    vec![
        ("lipitor_10_brand_and_generics", query("N020702-001", tx())),
        ("generic_written_atorvastatin", query("A090548-001", tx())),
        ("cialis_ab1_not_adcirca_ab2", query("N021368-003", tx())),
        ("b_rated_single_choice", query("A213853-001", tx())),
        (
            "daw_1_keeps_the_brand",
            SubstitutesQuery {
                daw: DawCode::PrescriberRequiresBrand,
                ..query("N020702-001", tx())
            },
        ),
        (
            "patient_requests_brand",
            SubstitutesQuery {
                patient_requests_brand: true,
                ..query("N020702-001", tx())
            },
        ),
        ("nti_without_consent", query("N021402-005", nc())),
        (
            "nti_with_consent",
            SubstitutesQuery {
                consent: true,
                ..query("N021402-005", nc())
            },
        ),
        (
            "nti_refill_same_manufacturer",
            SubstitutesQuery {
                last_fill: Some(k("A076187-005").into()),
                ..query("N021402-005", nc())
            },
        ),
        (
            "nti_refill_last_fill_unidentified",
            SubstitutesQuery {
                last_fill: Some(LastFill::Unidentified),
                ..query("N021402-005", nc())
            },
        ),
        (
            "degraded_stale_release",
            SubstitutesQuery {
                catalog: CatalogState::Stale,
                ..query("N020702-001", tx())
            },
        ),
        (
            "degraded_no_catalog_daw_7",
            SubstitutesQuery {
                catalog: CatalogState::None,
                daw: DawCode::BrandMandatedByLaw,
                ..query("N020702-001", tx())
            },
        ),
    ]
}

fn explain_query(a: &str, b: &str) -> ExplainQuery {
    ExplainQuery {
        catalog: CatalogState::Fresh,
        a: k(a),
        b: k(b),
        policy: None,
        daw: DawCode::NoSelection,
        last_fill: None,
        consent: false,
    }
}

fn explain_queries() -> Vec<(&'static str, ExplainQuery)> {
    vec![
        (
            "lipitor_and_accord",
            explain_query("N020702-001", "A207687-001"),
        ),
        (
            "multi_coded_levothyroxine",
            explain_query("N021402-005", "A076187-005"),
        ),
        ("ab1_vs_ab2", explain_query("N021368-003", "N022332-001")),
        (
            "ab4_vs_ab1_ab2",
            explain_query("A215259-005", "N021402-005"),
        ),
        ("b_rated", explain_query("N020702-001", "A213853-001")),
        ("discontinued", explain_query("N020702-001", "A076477-001")),
        (
            "different_strength",
            explain_query("N020702-001", "N020702-004"),
        ),
        (
            "different_ingredients",
            explain_query("N020702-001", "N021540-001"),
        ),
        ("otc_vs_rx", explain_query("A210375-001", "A090385-001")),
        (
            "unrated_other_strength",
            explain_query("A212062-002", "N021368-003"),
        ),
        ("same_product", explain_query("N020702-001", "N020702-001")),
        (
            "daw_forbids",
            ExplainQuery {
                policy: Some(SubstitutionPolicy::permissive("TX")),
                daw: DawCode::PrescriberRequiresBrand,
                ..explain_query("N020702-001", "A207687-001")
            },
        ),
        (
            "nti_state_list_forbids",
            ExplainQuery {
                policy: Some(SubstitutionPolicy::north_carolina()),
                ..explain_query("N021402-005", "A076187-005")
            },
        ),
        (
            "nti_with_consent",
            ExplainQuery {
                policy: Some(SubstitutionPolicy::north_carolina()),
                consent: true,
                ..explain_query("N021402-005", "A076187-005")
            },
        ),
        (
            "stale_release",
            ExplainQuery {
                catalog: CatalogState::Stale,
                ..explain_query("N020702-001", "A207687-001")
            },
        ),
    ]
}

fn answer_substitutes(q: &SubstitutesQuery, packages: &ProductMap) -> SubstitutionAnswer {
    let mut ctx = SubstitutionContext::new(&q.policy, &q.market);
    ctx.daw = q.daw;
    ctx.last_fill = q.last_fill;
    ctx.consent = q.consent;
    ctx.patient_requests_brand = q.patient_requests_brand;
    snapshot(q.catalog)
        .answer(&q.original, &ctx, Some(packages))
        .unwrap()
}

fn answer_explain(q: &ExplainQuery) -> ExplainAnswer {
    let market: HashMap<ProductKey, MarketFacts> = HashMap::new();
    let ctx = q.policy.as_ref().map(|policy| {
        let mut ctx = SubstitutionContext::new(policy, &market);
        ctx.daw = q.daw;
        ctx.last_fill = q.last_fill;
        ctx.consent = q.consent;
        ctx
    });
    snapshot(q.catalog)
        .explain(&q.a, &q.b, ctx.as_ref())
        .unwrap()
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/golden/subst")
        .join(name)
}

/// Writes `value` in bless mode; otherwise compares it with the stored vector and checks
/// that the stored text reads back to the same value.
fn check<T>(name: &str, value: &T)
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let path = golden_path(name);
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var_os("PHARM_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with PHARM_BLESS=1)", path.display()));
    let back: T = serde_json::from_str(&stored)
        .unwrap_or_else(|e| panic!("{} does not read back: {e}", path.display()));
    assert_eq!(
        &back,
        value,
        "{} drifted (re-bless with PHARM_BLESS=1 if intended)",
        path.display()
    );
    assert_eq!(stored, text, "{} is not in canonical form", path.display());
}

#[test]
fn substitution_answers_match_the_vectors() {
    let packages = packages();
    let cases = substitutes_queries()
        .into_iter()
        .map(|(name, query)| SubstitutesCase {
            name: name.into(),
            answer: answer_substitutes(&query, &packages),
            query,
        })
        .collect();
    check(
        "substitutes.json",
        &SubstitutesFile {
            packages: packages.clone(),
            cases,
        },
    );
}

#[test]
fn explain_answers_match_the_vectors() {
    let cases = explain_queries()
        .into_iter()
        .map(|(name, query)| ExplainCase {
            name: name.into(),
            answer: answer_explain(&query),
            query,
        })
        .collect();
    check("explain.json", &ExplainFile { cases });
}

#[test]
fn stored_queries_replay_to_their_answers() {
    // What a binding does: read the query from the file and compare with its answer.
    let text = std::fs::read_to_string(golden_path("substitutes.json")).unwrap();
    let file: SubstitutesFile = serde_json::from_str(&text).unwrap();
    assert!(!file.cases.is_empty());
    for case in &file.cases {
        assert_eq!(
            answer_substitutes(&case.query, &file.packages),
            case.answer,
            "{}",
            case.name
        );
    }
    let text = std::fs::read_to_string(golden_path("explain.json")).unwrap();
    let file: ExplainFile = serde_json::from_str(&text).unwrap();
    assert!(!file.cases.is_empty());
    for case in &file.cases {
        assert_eq!(answer_explain(&case.query), case.answer, "{}", case.name);
    }
}

#[test]
fn answers_reject_unknown_fields() {
    let text = std::fs::read_to_string(golden_path("substitutes.json")).unwrap();
    let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let answer = &mut file["cases"][0]["answer"];
    assert!(serde_json::from_value::<SubstitutionAnswer>(answer.clone()).is_ok());
    answer["surprise"] = serde_json::Value::Bool(true);
    assert!(serde_json::from_value::<SubstitutionAnswer>(answer.clone()).is_err());
    answer.as_object_mut().unwrap().remove("surprise");
    let choice = &mut file["cases"][0]["answer"]["choices"][0];
    choice["surprise"] = serde_json::Value::Bool(true);
    assert!(
        serde_json::from_value::<SubstitutionAnswer>(file["cases"][0]["answer"].clone()).is_err()
    );
}

/// `pharm_core::contract::strictness::unknown_fields_refused`, panicking with its report.
fn refuses_an_unknown_field_everywhere<T: DeserializeOwned>(value: &Value) -> usize {
    unknown_fields_refused::<T>(value).unwrap_or_else(|report| panic!("{report}"))
}

#[test]
fn every_object_of_the_vectors_refuses_an_unknown_field() {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(golden_path(name)).unwrap()).unwrap()
    };
    let substitutes = read("substitutes.json");
    assert!(refuses_an_unknown_field_everywhere::<SubstitutesFile>(&substitutes) > 100);
    let explain = read("explain.json");
    assert!(refuses_an_unknown_field_everywhere::<ExplainFile>(&explain) > 20);
    // The crate's own types, on their own (not only inside the test's wrappers).
    for case in substitutes["cases"].as_array().unwrap() {
        refuses_an_unknown_field_everywhere::<SubstitutionAnswer>(&case["answer"]);
        refuses_an_unknown_field_everywhere::<SubstitutionPolicy>(&case["query"]["policy"]);
        refuses_an_unknown_field_everywhere::<MarketTable>(&case["query"]["market"]);
    }
    for case in explain["cases"].as_array().unwrap() {
        refuses_an_unknown_field_everywhere::<ExplainAnswer>(&case["answer"]);
    }
}

#[test]
fn catalog_rows_refuse_an_unknown_field_everywhere() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/products-sample.txt"
    ))
    .unwrap();
    let parsed = parse_products(&bytes, ParseMode::Strict, &ParseLimits::default()).unwrap();
    let products = serde_json::to_value(&parsed.products).unwrap();
    refuses_an_unknown_field_everywhere::<Vec<pharm_subst::ObProduct>>(&products);
    // A strength's parts, with their decimal amounts as strings.
    let parts: Vec<_> = parsed.products.iter().map(|p| p.strength.parts()).collect();
    let parts = serde_json::to_value(&parts).unwrap();
    assert!(parts.to_string().contains(r#""value":"#));
    refuses_an_unknown_field_everywhere::<Vec<Vec<Vec<pharm_subst::strength::Phase>>>>(&parts);
    let mut amount =
        serde_json::json!({"value": "0.1", "unit": "MG", "equivalent": false, "basis": null});
    assert!(serde_json::from_value::<pharm_subst::strength::Amount>(amount.clone()).is_ok());
    amount["value"] = serde_json::json!(0.1);
    assert!(serde_json::from_value::<pharm_subst::strength::Amount>(amount).is_err());
}

#[test]
fn market_facts_take_the_unit_cost_as_a_decimal_string_only() {
    let good: MarketFacts =
        serde_json::from_str(r#"{"in_stock": true, "formulary_tier": 3, "unit_cost": "4.10"}"#)
            .unwrap();
    assert_eq!(good, facts(true, Some(3), "4.10"));
    assert_eq!(good.unit_cost.unwrap().to_string(), "4.10");
    let bare: MarketFacts = serde_json::from_str(r#"{"in_stock": false}"#).unwrap();
    assert_eq!(bare, MarketFacts::default());
    for bad in [
        r#"{"in_stock": true, "unit_cost": 4.1}"#,
        r#"{"in_stock": true, "unit_cost": 4}"#,
        r#"{"in_stock": true, "unit_cost": "-0.01"}"#,
        r#"{"in_stock": true, "unit_cost": "4.1e0"}"#,
        r#"{"in_stock": true, "unit_cost": ""}"#,
        r#"{"in_stock": true, "unit_cost": "cheap"}"#,
        r#"{"in_stock": true, "formulary_tier": 256}"#,
        r#"{"formulary_tier": 1}"#,
    ] {
        assert!(serde_json::from_str::<MarketFacts>(bad).is_err(), "{bad}");
    }
    // A misspelt policy field is refused, not dropped.
    let misspelt = r#"{"state": "NC", "nti_ingredient": ["DIGOXIN"]}"#;
    let error = serde_json::from_str::<SubstitutionPolicy>(misspelt).unwrap_err();
    assert!(error.to_string().contains("nti_ingredient"), "{error}");
    // A product listed twice, in two spellings of its key, is refused.
    let twice = r#"{"N021402-005": {"in_stock": true}, "NDA021402-005": {"in_stock": false}}"#;
    let error = serde_json::from_str::<MarketTable>(twice).unwrap_err();
    assert!(error.to_string().contains("twice"), "{error}");
    let table: MarketTable =
        serde_json::from_str(r#"{"N021402-005": {"in_stock": true}}"#).unwrap();
    assert!(pharm_subst::Market::facts(&table, &k("N021402-005")).in_stock);
    assert_eq!(
        pharm_subst::Market::facts(&table, &k("A076187-005")),
        MarketFacts::default()
    );
    // An answer's cost is a string too.
    let text = std::fs::read_to_string(golden_path("substitutes.json")).unwrap();
    let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let answer = &mut file["cases"][0]["answer"];
    assert!(answer["choices"][0]["unit_cost"].is_string());
    answer["choices"][0]["unit_cost"] = serde_json::json!(4.1);
    assert!(serde_json::from_value::<SubstitutionAnswer>(answer.clone()).is_err());
}

#[test]
fn explain_needs_a_release_and_known_products() {
    let (a, b) = (k("N020702-001"), k("A207687-001"));
    assert_eq!(
        snapshot(CatalogState::None).explain(&a, &b, None),
        Err(ExplainError::NoCatalog)
    );
    let unknown = k("N099999-001");
    assert_eq!(
        snapshot(CatalogState::Fresh).explain(&a, &unknown, None),
        Err(ExplainError::UnknownProduct(UnknownProduct(unknown)))
    );
    assert_eq!(
        snapshot(CatalogState::Fresh).answer(
            &unknown,
            &SubstitutionContext::new(
                &SubstitutionPolicy::permissive("TX"),
                &pharm_subst::NoMarket
            ),
            None
        ),
        Err(UnknownProduct(unknown))
    );
}
