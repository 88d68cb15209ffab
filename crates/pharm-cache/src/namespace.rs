//! Namespace versions: an Orange Book release or a payer's formulary version is part of
//! every key of its namespace, so moving the version swaps the whole namespace at once.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use crate::key::Namespace;

/// The current version of every namespace (0 until set).
#[derive(Debug, Default)]
pub(crate) struct Namespaces {
    versions: RwLock<HashMap<Namespace, u64>>,
}

impl Namespaces {
    pub(crate) fn current(&self, namespace: Namespace) -> u64 {
        let versions = self.versions.read().unwrap_or_else(PoisonError::into_inner);
        versions.get(&namespace).copied().unwrap_or(0)
    }

    /// Moves `namespace` to `version`; `Err(current)` when `version` is not newer.
    pub(crate) fn advance(&self, namespace: Namespace, version: u64) -> Result<(), u64> {
        let mut versions = self
            .versions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let current = versions.entry(namespace).or_insert(0);
        if version <= *current {
            return Err(*current);
        }
        *current = version;
        Ok(())
    }
}
