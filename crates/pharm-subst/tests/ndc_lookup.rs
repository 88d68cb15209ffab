//! NDC → Orange Book product through the FDA NDC Directory, then substitutes for a scanned
//! package: the counter workflow end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_arguments)]

use pharm_core::ids::Ndc;
use pharm_subst::catalog::Catalog;
use pharm_subst::ndc_directory::parse_ndc_directory;
use pharm_subst::ndc_index::{NdcIndex, NdcIssue};
use pharm_subst::policy::{NoMarket, SubstitutionContext, SubstitutionPolicy};
use pharm_subst::products::{ParseLimits, ParseMode, parse_products};

const HEADER: &str = "PRODUCTID\tPRODUCTNDC\tPRODUCTTYPENAME\tPROPRIETARYNAME\tPROPRIETARYNAMESUFFIX\tNONPROPRIETARYNAME\tDOSAGEFORMNAME\tROUTENAME\tSTARTMARKETINGDATE\tENDMARKETINGDATE\tMARKETINGCATEGORYNAME\tAPPLICATIONNUMBER\tLABELERNAME\tSUBSTANCENAME\tACTIVE_NUMERATOR_STRENGTH\tACTIVE_INGRED_UNIT\tPHARM_CLASSES\tDEASCHEDULE\tNDC_EXCLUDE_FLAG\tLISTING_RECORD_CERTIFIED_THROUGH";

fn row(
    ndc: &str,
    name: &str,
    form: &str,
    category: &str,
    app: &str,
    labeler: &str,
    substance: &str,
    strength: &str,
    unit: &str,
) -> String {
    [
        &format!("{ndc}_x"),
        ndc,
        "HUMAN PRESCRIPTION DRUG",
        name,
        "",
        name,
        form,
        "ORAL",
        "20200101",
        "",
        category,
        app,
        labeler,
        substance,
        strength,
        unit,
        "",
        "",
        "N",
        "20261231",
    ]
    .join("\t")
}

fn directory() -> String {
    let rows = [
        row(
            "0071-0155",
            "Lipitor",
            "TABLET, FILM COATED",
            "NDA",
            "NDA020702",
            "Viatris",
            "ATORVASTATIN CALCIUM TRIHYDRATE",
            "10",
            "mg/1",
        ),
        row(
            "0378-3950",
            "Atorvastatin",
            "TABLET, FILM COATED",
            "ANDA",
            "ANDA091226",
            "Mylan",
            "ATORVASTATIN CALCIUM TRIHYDRATE",
            "10",
            "mg/1",
        ),
        row(
            "0002-4462",
            "Cialis",
            "TABLET, FILM COATED",
            "NDA",
            "NDA021368",
            "Lilly",
            "TADALAFIL",
            "20",
            "mg/1",
        ),
        // Strength 5 mg is not in the sample's NDA021368 rows: not found, reported.
        row(
            "0002-4463",
            "Cialis",
            "TABLET, FILM COATED",
            "NDA",
            "NDA021368",
            "Lilly",
            "TADALAFIL",
            "5",
            "mg/1",
        ),
        row(
            "0002-7510",
            "Humalog",
            "INJECTION, SOLUTION",
            "BLA",
            "BLA020563",
            "Lilly",
            "INSULIN LISPRO",
            "100",
            "[iU]/mL",
        ),
    ];
    format!("{HEADER}\n{}\n", rows.join("\n"))
}

#[test]
fn scanned_package_to_substitutes() {
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/products-sample.txt"
    ))
    .unwrap();
    let catalog = Catalog::build(
        parse_products(&sample, ParseMode::Strict, &ParseLimits::default())
            .unwrap()
            .products,
    )
    .unwrap();
    let dir = parse_ndc_directory(
        directory().as_bytes(),
        ParseMode::Strict,
        &ParseLimits::default(),
    )
    .unwrap();
    let (index, report) = NdcIndex::from_directory(&catalog, &dir.entries);
    assert_eq!(report.resolved, 3);
    assert_eq!(
        report.no_application, 1,
        "the BLA insulin is a Purple Book product"
    );
    assert_eq!(
        report.issues,
        vec![NdcIssue::NotFound {
            product_ndc: "0002-4463".into()
        }]
    );

    // A package NDC scanned at the counter (any package size of that product).
    let scanned: Ndc = "0071-0155-23".parse().unwrap();
    let lipitor = catalog.get_by_ndc(&scanned, &index).unwrap();
    assert_eq!(lipitor.trade_name, "LIPITOR");
    let policy = SubstitutionPolicy::permissive("TX");
    let ctx = SubstitutionContext::new(&policy, &NoMarket);
    assert_eq!(
        catalog
            .substitutes(&lipitor.key, &ctx)
            .unwrap()
            .choices
            .len(),
        4
    );
    let mylan = catalog
        .get_by_ndc(&"00378-3950-05".parse().unwrap(), &index)
        .unwrap();
    assert_eq!(mylan.key.to_string(), "A091226-001");
    assert!(
        catalog
            .get_by_ndc(&"0002-7510-01".parse().unwrap(), &index)
            .is_none()
    );
    // A caller-provided closure mapping works the same way.
    let closure = |l: u32, p: u16| (l == 2 && p == 4462).then(|| "N021368-003".parse().unwrap());
    assert_eq!(
        catalog
            .get_by_ndc(&"0002-4462-30".parse().unwrap(), &closure)
            .unwrap()
            .trade_name,
        "CIALIS"
    );
}

fn sample_catalog() -> Catalog {
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/products-sample.txt"
    ))
    .unwrap();
    Catalog::build(
        parse_products(&sample, ParseMode::Strict, &ParseLimits::default())
            .unwrap()
            .products,
    )
    .unwrap()
}

fn index_of(rows: &[String]) -> (NdcIndex, pharm_subst::ndc_index::NdcReport) {
    let text = format!("{HEADER}\n{}\n", rows.join("\n"));
    let dir =
        parse_ndc_directory(text.as_bytes(), ParseMode::Strict, &ParseLimits::default()).unwrap();
    NdcIndex::from_directory(&sample_catalog(), &dir.entries)
}

fn lipitor(ndc: &str, form: &str, strength: &str) -> String {
    row(
        ndc,
        "Lipitor",
        form,
        "NDA",
        "NDA020702",
        "Viatris",
        "ATORVASTATIN CALCIUM TRIHYDRATE",
        strength,
        "mg/1",
    )
}

#[test]
fn a_plain_tablet_is_not_a_chewable_or_extended_release_tablet() {
    let (index, report) = index_of(&[
        lipitor("0071-0155", "TABLET, FILM COATED", "10"),
        lipitor("0071-0156", "TABLET, CHEWABLE", "10"),
        lipitor("0071-0157", "TABLET, EXTENDED RELEASE", "10"),
        lipitor("0071-0158", "TABLET, SUGAR COATED", "10"),
    ]);
    assert_eq!(report.resolved, 2, "{report:?}");
    assert_eq!(
        report.issues,
        vec![
            NdcIssue::NotFound {
                product_ndc: "0071-0156".into()
            },
            NdcIssue::NotFound {
                product_ndc: "0071-0157".into()
            },
        ]
    );
    let catalog = sample_catalog();
    assert!(
        catalog
            .get_by_ndc(&"0071-0156-01".parse().unwrap(), &index)
            .is_none()
    );
    assert_eq!(
        catalog
            .get_by_ndc(&"0071-0158-01".parse().unwrap(), &index)
            .unwrap()
            .key
            .to_string(),
        "N020702-001"
    );
}

#[test]
fn a_key_with_any_unresolved_row_is_not_mapped() {
    // Unique then not found, and not found then unique: the key is dropped either way.
    for rows in [
        [
            lipitor("0071-0155", "TABLET, FILM COATED", "10"),
            lipitor("0071-0155", "TABLET, FILM COATED", "15"),
        ],
        [
            lipitor("0071-0155", "TABLET, FILM COATED", "15"),
            lipitor("0071-0155", "TABLET, FILM COATED", "10"),
        ],
    ] {
        let (index, report) = index_of(&rows);
        assert_eq!(report.resolved, 0);
        assert!(index.is_empty());
        assert_eq!(
            report.issues,
            vec![NdcIssue::NotFound {
                product_ndc: "0071-0155".into()
            }]
        );
    }
}
