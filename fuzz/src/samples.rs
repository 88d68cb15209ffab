//! Fixed data the harnesses set up once: the sample Orange Book catalog and the golden
//! context of the rule engine.

use std::sync::OnceLock;

use pharm_core::Context;
use pharm_subst::catalog::Catalog;
use pharm_subst::products::{ParseLimits, ParseMode, parse_products};

/// The Orange Book sample of pharm-subst's tests.
pub(crate) const PRODUCTS_SAMPLE: &[u8] =
    include_bytes!("../../crates/pharm-subst/testdata/products-sample.txt");

/// The golden decisions through the C ABI: `name TAB context TAB request TAB decision`.
pub(crate) const EVALUATE_TSV: &str = include_str!("../../testdata/golden/ffi/evaluate.tsv");

/// The catalog of [`PRODUCTS_SAMPLE`].
pub(crate) fn sample_catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let parsed = parse_products(PRODUCTS_SAMPLE, ParseMode::Strict, &ParseLimits::default())
            .unwrap_or_else(|e| panic!("the committed sample does not load: {e}"));
        Catalog::build(parsed.products)
            .unwrap_or_else(|e| panic!("the committed sample does not build: {e}"))
    })
}

/// The fields of the first golden case (context, request, decision JSON).
pub(crate) fn golden_case() -> (&'static str, &'static str, &'static str) {
    let mut fields = EVALUATE_TSV.lines().next().unwrap_or_default().split('\t');
    let _name = fields.next();
    match (fields.next(), fields.next(), fields.next()) {
        (Some(context), Some(request), Some(decision)) => (context, request, decision),
        _ => panic!("the committed evaluate.tsv has no complete first line"),
    }
}

/// The context of the first golden case.
pub(crate) fn golden_context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        pharm_core::parse_context(golden_case().0)
            .unwrap_or_else(|e| panic!("the golden context does not parse: {e}"))
    })
}
