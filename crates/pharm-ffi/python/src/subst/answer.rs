//! The `Substitutes` class: a substitution answer as a frozen value. Its parts become
//! Python objects when asked for, so a query costs the search, not the building of a dict
//! per choice.

use pharm_subst::SubstitutionAnswer;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::json;
use crate::table::{Table, Values};

/// The answer to `OrangeBook.substitutes`: the products the store may dispense, best
/// first, with the restriction, degradation and consent flags. Equal answers compare
/// equal; `to_dict()` gives the JSON contract's form (`testdata/golden/subst/`).
#[pyclass(frozen, module = "pharm.subst")]
pub(crate) struct Substitutes {
    pub(super) answer: SubstitutionAnswer,
}

#[pymethods]
impl Substitutes {
    /// The product as written (its key).
    #[getter]
    fn original(&self) -> String {
        self.answer.original.to_string()
    }

    /// The product keys of the choices, best first.
    #[getter]
    fn keys(&self) -> Vec<String> {
        self.answer
            .choices
            .iter()
            .map(|choice| choice.key.to_string())
            .collect()
    }

    /// The choices, best first, as dicts (`key`, `trade_name`, `applicant`, `te_codes`,
    /// `reason`, `daw`, `in_stock`, `formulary_tier`, `unit_cost`, `packages`).
    #[getter]
    fn choices<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let choices = self
            .answer
            .choices
            .iter()
            .map(|choice| json::to_py_exact(py, choice))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, choices)
    }

    /// Why state law or DAW withheld substitutes (a dict tagged by `kind`), or None.
    #[getter]
    fn restriction<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.answer.restriction)
    }

    /// Why the answer is degraded (no release, a stale one: a dict tagged by `kind`), or
    /// None.
    #[getter]
    fn degraded<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.answer.degraded)
    }

    /// The state requires consent that the query did not record.
    #[getter]
    fn consent_needed(&self) -> bool {
        self.answer.consent_needed
    }

    /// The whole answer as a dict, the JSON contract's form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py_exact(py, &self.answer)
    }

    /// The whole answer as JSON text, as Rust and the C ABI write it.
    fn to_json(&self) -> PyResult<String> {
        json::to_text(&self.answer)
    }

    /// The choices as a table, best first: `rank` (0 is best), `key`, `trade_name`,
    /// `applicant`, `te_codes` (`";"`-joined), `reason` (`as_written` or `equivalent`),
    /// `code` (the shared TE code of an equivalent), `daw`, `in_stock`, `formulary_tier`,
    /// `unit_cost` (decimal text), `skus` (`";"`-joined). `format` as for every table.
    #[pyo3(signature = (format = "auto"))]
    fn table<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyAny>> {
        choices_table(&self.answer).emit(py, format)
    }

    /// Iterates over the choices (dicts), best first.
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyIterator>> {
        self.choices(py)?.try_iter()
    }

    /// Number of choices.
    fn __len__(&self) -> usize {
        self.answer.choices.len()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Substitutes>()
            .is_ok_and(|other| other.get().answer == self.answer)
    }

    fn __repr__(&self) -> String {
        let keys = self.keys().join(", ");
        let kind = |value: Option<String>| value.unwrap_or_else(|| "None".to_owned());
        format!(
            "Substitutes(original={}, choices=[{keys}], restriction={}, degraded={}, consent_needed={})",
            self.answer.original,
            kind(self.answer.restriction.as_ref().map(json_kind)),
            kind(self.answer.degraded.as_ref().map(json_kind)),
            if self.answer.consent_needed {
                "True"
            } else {
                "False"
            },
        )
    }
}

/// The `kind` tag of a tagged answer part, for `repr`.
fn json_kind<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The choices of an answer as table columns.
fn choices_table(answer: &SubstitutionAnswer) -> Table {
    use pharm_subst::ChoiceReason;
    let choices = &answer.choices;
    let text = |f: &dyn Fn(&pharm_subst::ChoiceAnswer) -> Option<String>| {
        Values::Text(choices.iter().map(f).collect())
    };
    Table::new()
        .column(
            "rank",
            Values::UInt((0..choices.len() as u64).map(Some).collect()),
        )
        .column("key", text(&|c| Some(c.key.to_string())))
        .column("trade_name", text(&|c| c.trade_name.clone()))
        .column("applicant", text(&|c| c.applicant.clone()))
        .column(
            "te_codes",
            text(&|c| {
                Some(
                    c.te_codes
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(";"),
                )
            }),
        )
        .column(
            "reason",
            text(&|c| {
                Some(match c.reason {
                    ChoiceReason::AsWritten => "as_written".to_owned(),
                    ChoiceReason::Equivalent { .. } => "equivalent".to_owned(),
                })
            }),
        )
        .column(
            "code",
            text(&|c| match c.reason {
                ChoiceReason::Equivalent { code } => Some(code.to_string()),
                ChoiceReason::AsWritten => None,
            }),
        )
        .column(
            "daw",
            Values::UInt(
                choices
                    .iter()
                    .map(|c| Some(u64::from(c.daw.code())))
                    .collect(),
            ),
        )
        .column(
            "in_stock",
            Values::Bool(choices.iter().map(|c| Some(c.in_stock)).collect()),
        )
        .column(
            "formulary_tier",
            Values::UInt(
                choices
                    .iter()
                    .map(|c| c.formulary_tier.map(u64::from))
                    .collect(),
            ),
        )
        .column(
            "unit_cost",
            text(&|c| c.unit_cost.map(|cost| cost.to_string())),
        )
        .column(
            "skus",
            text(&|c| {
                Some(
                    c.packages
                        .iter()
                        .map(|p| p.sku.to_string())
                        .collect::<Vec<_>>()
                        .join(";"),
                )
            }),
        )
}
