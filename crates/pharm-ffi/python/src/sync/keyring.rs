//! `KeyRing`: which terminals belong to a store and the keys this holder knows.

use std::collections::BTreeMap;
use std::sync::Arc;

use pharm_core::ids::PharmacyId;
use pharm_sync::auth::{MacKey, StoreKeys};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors;

/// The key ring of one pharmacy (store): its link key (32 bytes), which authenticates
/// every sync message, and its member terminals, each with its origin key (32 bytes) where
/// this holder knows it (a terminal knows its own; the cloud knows them all). Immutable:
/// `with_member` returns a new ring. Keys never appear in `repr` or messages.
#[pyclass(frozen, module = "pharm.sync")]
pub(crate) struct KeyRing {
    pub(crate) keys: StoreKeys,
    /// Every member, and whether its origin key is known.
    members: BTreeMap<u16, bool>,
}

/// A 32-byte key (`pharm.SyncError` `sync.key_length` for another length).
fn key(py: Python<'_>, bytes: &Bound<'_, PyBytes>) -> PyResult<MacKey> {
    MacKey::from_slice(bytes.as_bytes()).map_err(|error| errors::domain(py, &error))
}

impl KeyRing {
    /// A copy of the ring for a replica or a store to keep.
    pub(crate) fn shared(&self) -> Arc<dyn pharm_sync::auth::KeyRing> {
        Arc::new(self.keys.clone())
    }
}

#[pymethods]
impl KeyRing {
    /// The ring of pharmacy `store` with its `link_key` and no members yet.
    #[new]
    fn new(py: Python<'_>, store: u32, link_key: &Bound<'_, PyBytes>) -> PyResult<Self> {
        Ok(KeyRing {
            keys: StoreKeys::new(PharmacyId::new(store), key(py, link_key)?),
            members: BTreeMap::new(),
        })
    }

    /// A new ring with member `terminal` added (or replaced), with its origin key when this
    /// holder knows it.
    #[pyo3(signature = (terminal, origin_key = None))]
    fn with_member(
        &self,
        py: Python<'_>,
        terminal: u16,
        origin_key: Option<&Bound<'_, PyBytes>>,
    ) -> PyResult<KeyRing> {
        let origin = origin_key.map(|bytes| key(py, bytes)).transpose()?;
        let mut members = self.members.clone();
        members.insert(terminal, origin.is_some());
        Ok(KeyRing {
            keys: self.keys.clone().with_member(terminal, origin),
            members,
        })
    }

    /// The pharmacy (store) id.
    #[getter]
    fn store(&self) -> u32 {
        self.keys.store().get()
    }

    /// The member terminals, in order.
    #[getter]
    fn members(&self) -> Vec<u16> {
        self.members.keys().copied().collect()
    }

    /// Whether this ring holds the origin key of `terminal`.
    fn knows(&self, terminal: u16) -> bool {
        self.members.get(&terminal).copied().unwrap_or(false)
    }

    fn __repr__(&self) -> String {
        let known: Vec<u16> = self
            .members
            .iter()
            .filter_map(|(terminal, known)| known.then_some(*terminal))
            .collect();
        format!(
            "KeyRing(store={}, members={:?}, origin_keys_for={known:?})",
            self.store(),
            self.members()
        )
    }
}
