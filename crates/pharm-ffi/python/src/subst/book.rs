//! The `OrangeBook` class: one loaded release, the store's packages, and the queries.

use std::path::PathBuf;
use std::sync::Arc;

use pharm_core::ErrorCode;
use pharm_core::time::Date;
use pharm_subst::query_doc::{ExplainQuery, SubstitutesQuery};
use pharm_subst::{
    BindingInputError, ExplainError, ProductKey, ProductMap, ProductRow, Release, Snapshot,
    SubstitutionService,
};
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::answer::Substitutes;
use super::load;
use super::tables;
use crate::errors;
use crate::json;

/// One FDA Orange Book release (`products.txt`, the 13- or 14-column layout) loaded into
/// the therapeutic-equivalence graph, with the store's packages. Immutable: a new release
/// is a new object; `with_packages` shares the release.
#[pyclass(frozen, module = "pharm.subst")]
pub(crate) struct OrangeBook {
    service: Arc<SubstitutionService>,
    packages: Arc<ProductMap>,
}

/// A date argument: ISO 8601 text (`"2026-05-20"`) or a `datetime.date`.
fn date_of(py: Python<'_>, value: &Bound<'_, PyAny>, argument: &str) -> PyResult<Date> {
    let text = if let Ok(text) = value.cast::<PyString>() {
        text.to_str()?.to_owned()
    } else if let Ok(iso) = value.call_method0("isoformat") {
        iso.extract::<String>()?
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{argument} must be an ISO date str or a datetime.date, not {}",
            value.get_type().name()?
        )));
    };
    text.parse::<Date>().map_err(|error| {
        errors::domain_with(py, error.code(), error.id(), format!("{argument}: {error}"))
    })
}

/// A product key argument (`"N020702-001"`).
fn key_of(py: Python<'_>, key: &str) -> PyResult<ProductKey> {
    key.parse().map_err(|error| errors::domain(py, &error))
}

impl OrangeBook {
    fn loaded(
        py: Python<'_>,
        products: &[u8],
        released: &Bound<'_, PyAny>,
        label: &str,
        max_age_days: u32,
    ) -> PyResult<OrangeBook> {
        let released = date_of(py, released, "released")?;
        let service = SubstitutionService::new(max_age_days);
        service.load(load::release(py, products, released, label)?);
        Ok(OrangeBook {
            service: Arc::new(service),
            packages: Arc::new(ProductMap::default()),
        })
    }

    /// The release, for queries that do not depend on the date.
    fn snapshot(&self) -> Snapshot {
        self.service.snapshot(Date::MIN)
    }

    /// A fact of the release (an `OrangeBook` always holds one).
    fn fact<T: Default>(&self, fact: impl FnOnce(&Release) -> T) -> T {
        self.snapshot().release().map_or_else(T::default, fact)
    }
}

#[pymethods]
impl OrangeBook {
    /// Loads `products.txt` given as bytes (at most 64 MiB; CRLF or LF). Parsing is
    /// strict: a malformed, truncated or garbage file raises `pharm.SubstError` naming its
    /// first bad line (`subst.missing_header`, `subst.bad_row`, ...). `released` is the
    /// release's publication date (ISO str or `datetime.date`), from which its age is
    /// counted; answers on a date more than `max_age_days` later are flagged degraded
    /// (stale). The default, 45 days, tolerates one late monthly release. The GIL is released while the file is parsed.
    #[new]
    #[pyo3(signature = (products, *, released, label = "", max_age_days = 45))]
    fn new(
        py: Python<'_>,
        products: &[u8],
        released: &Bound<'_, PyAny>,
        label: &str,
        max_age_days: u32,
    ) -> PyResult<OrangeBook> {
        OrangeBook::loaded(py, products, released, label, max_age_days)
    }

    /// Loads the `products.txt` file at `path` (str or path-like); an unreadable file
    /// (missing, a directory, no permission) raises `pharm.SubstError`
    /// (`subst.file_unreadable`); otherwise as the constructor.
    #[staticmethod]
    #[pyo3(signature = (path, *, released, label = "", max_age_days = 45))]
    fn from_path(
        py: Python<'_>,
        path: PathBuf,
        released: &Bound<'_, PyAny>,
        label: &str,
        max_age_days: u32,
    ) -> PyResult<OrangeBook> {
        let products = load::read(py, &path)?;
        OrangeBook::loaded(py, &products, released, label, max_age_days)
    }

    /// The same release with the store's packages: a list of `{"sku": int, "ndc": str,
    /// "product": str}` (the store's item id, the package NDC and the product key; unknown
    /// fields refused; a sku or NDC listed twice raises `pharm.SubstError`). Each choice
    /// of a substitution answer lists the store's packages of its product.
    fn with_packages(&self, py: Python<'_>, packages: &Bound<'_, PyAny>) -> PyResult<OrangeBook> {
        let rows: Vec<ProductRow> = json::document_list(packages, "packages")?
            .read::<_, BindingInputError>("packages")
            .map_err(|error| errors::domain(py, &error))?;
        let packages = ProductMap::from_rows(rows).map_err(|error| errors::domain(py, &error))?;
        Ok(OrangeBook {
            service: Arc::clone(&self.service),
            packages: Arc::new(packages),
        })
    }

    /// The release's label.
    #[getter]
    fn label(&self) -> String {
        self.fact(|r| r.label.clone())
    }

    /// The release's publication date (ISO text).
    #[getter]
    fn released(&self) -> String {
        self.fact(|r| r.released.to_string())
    }

    /// Number of equivalence edges (pairs of products A-rated to each other).
    #[getter]
    fn edge_count(&self) -> usize {
        self.fact(|r| r.catalog.edge_count())
    }

    /// Number of products.
    fn __len__(&self) -> usize {
        self.fact(|r| r.catalog.len())
    }

    /// Whether the release lists the product key (a str; anything else is not listed).
    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        let Ok(key) = key.extract::<String>() else {
            return false;
        };
        let Ok(key) = key.parse::<ProductKey>() else {
            return false;
        };
        self.snapshot()
            .release()
            .is_some_and(|r| r.catalog.get(&key).is_some())
    }

    fn __repr__(&self) -> String {
        format!(
            "OrangeBook(label={:?}, released={}, products={}, edges={}, packages={})",
            self.label(),
            self.released(),
            self.__len__(),
            self.edge_count(),
            self.packages.len()
        )
    }

    /// The products the store may dispense for a prescription, best first: the query
    /// (dict or JSON str) is `{"original": "N020702-001", "policy": {"state": "TX", ...},
    /// "daw": 0, "last_fill": null, "consent": false, "patient_requests_brand": false,
    /// "market": {"A207687-001": {"in_stock": true, "formulary_tier": 1, "unit_cost":
    /// "0.09"}}}` (the C ABI's query; unknown fields refused). `today` (ISO str or
    /// `datetime.date`) is the store's date, which decides staleness. Returns a
    /// `Substitutes` (`original`, `keys`, `choices`, `restriction`, `degraded`,
    /// `consent_needed`, `to_dict()`, `table()`); a product the release does not list
    /// raises `pharm.SubstError` (`subst.unknown_product`).
    fn substitutes(
        &self,
        py: Python<'_>,
        query: &Bound<'_, PyAny>,
        today: &Bound<'_, PyAny>,
    ) -> PyResult<Substitutes> {
        let today = date_of(py, today, "today")?;
        let query: SubstitutesQuery = json::document(query, "query")?
            .read::<_, BindingInputError>("substitution query")
            .map_err(|error| errors::domain(py, &error))?;
        let answer = self
            .service
            .snapshot(today)
            .answer(&query.original, &query.context(), Some(&self.packages))
            .map_err(|error| errors::domain(py, &error))?;
        Ok(Substitutes { answer })
    }

    /// Why two products are or are not A-rated to each other: the query is `{"a": key,
    /// "b": key}`, or under a prescription with `"policy"` and optional `"daw"`,
    /// `"last_fill"`, `"consent"`. Returns `{"a", "b", "explanation", "degraded"}`; raises
    /// `pharm.SubstError` for a product the release does not list
    /// (`subst.explain_unknown_product`).
    fn explain<'py>(
        &self,
        py: Python<'py>,
        query: &Bound<'py, PyAny>,
        today: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let today = date_of(py, today, "today")?;
        let query: ExplainQuery = json::document(query, "query")?
            .read::<_, BindingInputError>("explain query")
            .map_err(|error| errors::domain(py, &error))?;
        let ctx = query.prescription.as_ref().map(|p| p.context());
        let answer = self
            .service
            .snapshot(today)
            .explain(&query.a, &query.b, ctx.as_ref())
            .map_err(|error| errors::domain(py, &error))?;
        json::to_py(py, &answer)
    }

    /// Whether no other product is A-rated to the product (`"N020702-001"`): nothing may
    /// be substituted for it. A malformed key raises `pharm.SubstError`
    /// (`subst.product_key_invalid`), an unlisted one `subst.unknown_product`.
    fn is_single_source(&self, py: Python<'_>, key: &str) -> PyResult<bool> {
        let key = key_of(py, key)?;
        let snapshot = self.snapshot();
        let release = snapshot
            .release()
            .ok_or(ExplainError::NoCatalog)
            .map_err(|error| errors::domain(py, &error))?;
        release
            .catalog
            .is_single_source(&key)
            .map_err(|error| errors::domain(py, &error))
    }

    /// The products as a table, one row per product in file order: `key`, `appl_type`,
    /// `appl_no`, `product_no`, `ingredients` (`"; "`-joined), `dosage_form`, `route`,
    /// `trade_name`, `applicant`, `applicant_full_name`, `strength`, `te_codes`
    /// (`";"`-joined, null when blank), `approval_date` (ISO, null before 1982), `rld`,
    /// `rs` (null in the 13-column layout), `status` (`RX`, `OTC`, `DISCN`),
    /// `single_source`. `format`: `"auto"`, `"arrow"` or `"dict"`.
    #[pyo3(signature = (format = "auto"))]
    fn products<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyAny>> {
        tables::products(py, &self.snapshot())?.emit(py, format)
    }

    /// The equivalence edges as a table, each pair once: `a`, `b` (product keys, `a` the
    /// earlier in the file) and `te_code` (the first TE code they share).
    #[pyo3(signature = (format = "auto"))]
    fn edges<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyAny>> {
        tables::edges(py, &self.snapshot())?.emit(py, format)
    }

    /// The multi-source groups as a table: `group` (0, 1, ... by first product), `key`,
    /// one row per product with at least one equivalent. Products of a group are joined
    /// by chains of A-ratings, not always A-rated to each other (ask `explain`).
    #[pyo3(signature = (format = "auto"))]
    fn groups<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyAny>> {
        tables::groups(py, &self.snapshot())?.emit(py, format)
    }
}
