//! The release as tables: products, equivalence edges, multi-source groups.

use pharm_subst::record::{ApprovalDate, MarketingStatus};
use pharm_subst::{ExplainError, Release, Snapshot};
use pyo3::prelude::*;

use crate::errors;
use crate::table::{Table, Values};

/// The loaded release (`subst.no_catalog` without one, which an `OrangeBook` never is).
fn release<'s>(py: Python<'_>, snapshot: &'s Snapshot) -> PyResult<&'s Release> {
    snapshot
        .release()
        .ok_or(ExplainError::NoCatalog)
        .map_err(|error| errors::domain(py, &error))
}

fn joined<T: ToString>(items: &[T], separator: &str) -> Option<String> {
    (!items.is_empty()).then(|| {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(separator)
    })
}

/// One row per product, in file order.
pub(super) fn products(py: Python<'_>, snapshot: &Snapshot) -> PyResult<Table> {
    let catalog = &release(py, snapshot)?.catalog;
    let rows = catalog.products();
    let text = |f: &dyn Fn(&pharm_subst::ObProduct) -> String| {
        Values::Text(rows.iter().map(|p| Some(f(p))).collect())
    };
    let single: Vec<Option<bool>> = rows
        .iter()
        .map(|p| catalog.is_single_source(&p.key).ok())
        .collect();
    Ok(Table::new()
        .column("key", text(&|p| p.key.to_string()))
        .column("appl_type", text(&|p| p.key.appl_type.letter().to_string()))
        .column(
            "appl_no",
            Values::UInt(
                rows.iter()
                    .map(|p| Some(u64::from(p.key.appl_no)))
                    .collect(),
            ),
        )
        .column(
            "product_no",
            Values::UInt(
                rows.iter()
                    .map(|p| Some(u64::from(p.key.product_no)))
                    .collect(),
            ),
        )
        .column(
            "ingredients",
            Values::Text(rows.iter().map(|p| joined(&p.ingredients, "; ")).collect()),
        )
        .column("dosage_form", text(&|p| p.dosage_form.clone()))
        .column("route", text(&|p| p.route.clone()))
        .column("trade_name", text(&|p| p.trade_name.clone()))
        .column("applicant", text(&|p| p.applicant.clone()))
        .column(
            "applicant_full_name",
            text(&|p| p.applicant_full_name.clone()),
        )
        .column("strength", text(&|p| p.strength.raw.clone()))
        .column(
            "te_codes",
            Values::Text(rows.iter().map(|p| joined(&p.te_codes, ";")).collect()),
        )
        .column(
            "approval_date",
            Values::Text(
                rows.iter()
                    .map(|p| match p.approval {
                        ApprovalDate::On(date) => Some(date.to_string()),
                        ApprovalDate::PriorTo1982 => None,
                    })
                    .collect(),
            ),
        )
        .column(
            "rld",
            Values::Bool(rows.iter().map(|p| Some(p.rld)).collect()),
        )
        .column("rs", Values::Bool(rows.iter().map(|p| p.rs).collect()))
        .column(
            "status",
            text(&|p| {
                match p.status {
                    MarketingStatus::Rx => "RX",
                    MarketingStatus::Otc => "OTC",
                    MarketingStatus::Discn => "DISCN",
                }
                .to_owned()
            }),
        )
        .column("single_source", Values::Bool(single)))
}

/// One row per equivalence edge.
pub(super) fn edges(py: Python<'_>, snapshot: &Snapshot) -> PyResult<Table> {
    let catalog = &release(py, snapshot)?.catalog;
    let rows = catalog.products();
    let (mut a, mut b, mut code) = (Vec::new(), Vec::new(), Vec::new());
    for (i, j, te) in catalog.edges() {
        a.push(Some(rows[i].key.to_string()));
        b.push(Some(rows[j].key.to_string()));
        code.push(Some(te.to_string()));
    }
    Ok(Table::new()
        .column("a", Values::Text(a))
        .column("b", Values::Text(b))
        .column("te_code", Values::Text(code)))
}

/// One row per product of a multi-source group.
pub(super) fn groups(py: Python<'_>, snapshot: &Snapshot) -> PyResult<Table> {
    let catalog = &release(py, snapshot)?.catalog;
    let rows = catalog.products();
    let (mut group, mut key) = (Vec::new(), Vec::new());
    for (g, members) in catalog.groups().iter().enumerate() {
        for &m in members {
            group.push(Some(g as u64));
            key.push(Some(rows[m].key.to_string()));
        }
    }
    Ok(Table::new()
        .column("group", Values::UInt(group))
        .column("key", Values::Text(key)))
}
