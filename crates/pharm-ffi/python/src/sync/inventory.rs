//! What a replica shows: its inventory as a table, its status as a dict.

use pharm_sync::protocol::Peer;
use pharm_sync::replica::Superseded;
use pharm_sync::state::InventoryView;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::role_name;
use crate::json;
use crate::table::{Table, Values};

/// An inventory view as a table, one row per lot (see `Replica.inventory`).
pub(super) fn table(view: &InventoryView) -> Table {
    let lots = &view.lots;
    let text = |f: &dyn Fn(&pharm_sync::state::LotView) -> String| {
        Values::Text(lots.iter().map(|lot| Some(f(lot))).collect())
    };
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    Table::new()
        .column("origin", text(&|lot| lot.info.key.origin.to_string()))
        .column(
            "local_no",
            Values::UInt(
                lots.iter()
                    .map(|l| Some(u64::from(l.info.key.local_no)))
                    .collect(),
            ),
        )
        .column(
            "sku",
            Values::UInt(lots.iter().map(|l| Some(u64::from(l.info.sku))).collect()),
        )
        .column("ndc", text(&|lot| lot.info.ndc.to_string()))
        .column("lot_number", text(&|lot| lot.info.lot_number.clone()))
        .column("expiry", text(&|lot| lot.info.expiry.to_string()))
        .column(
            "controlled",
            Values::Bool(lots.iter().map(|l| Some(l.info.controlled)).collect()),
        )
        .column(
            "quantity",
            Values::Int(lots.iter().map(|l| Some(l.value)).collect()),
        )
        .column(
            "holds",
            Values::UInt(lots.iter().map(|l| Some(count(l.holds.len()))).collect()),
        )
        .column(
            "location",
            Values::Text(lots.iter().map(|l| l.location.clone()).collect()),
        )
}

/// A replica's status, taken while it is locked and turned into a dict after.
pub(super) struct Status {
    store: u32,
    replica: String,
    role: &'static str,
    outbox: usize,
    superseded: Option<Superseded>,
}

impl Status {
    /// The status of `peer`'s replica.
    pub(super) fn of(peer: &Peer) -> Status {
        let replica = peer.replica();
        Status {
            store: replica.store().get(),
            replica: replica.id().to_string(),
            role: role_name(peer.role()),
            outbox: replica.outbox().count(),
            superseded: replica.superseded(),
        }
    }

    /// The status as a dict: `store`, `replica`, `role`, `outbox`, `superseded`.
    pub(super) fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let status = PyDict::new(py);
        status.set_item("store", self.store)?;
        status.set_item("replica", &self.replica)?;
        status.set_item("role", self.role)?;
        status.set_item("outbox", self.outbox)?;
        status.set_item("superseded", json::to_py(py, &self.superseded)?)?;
        Ok(status.into_any())
    }
}
