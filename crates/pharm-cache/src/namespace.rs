//! Namespace versions: an Orange Book release or a payer's formulary version is part of
//! every key of its namespace, so moving the version swaps the whole namespace at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::key::Namespace;

/// The current version of every namespace (0 until set).
#[derive(Debug, Default)]
pub(crate) struct Namespaces {
    versions: RwLock<HashMap<Namespace, u64>>,
    /// One bit per class (its place in [`crate::DataClass::ALL`]) that has a namespace past
    /// version 0: keys of the other classes (patients, stock, sessions) are built without
    /// the lock.
    moved: AtomicU32,
}

fn bit(namespace: Namespace) -> u32 {
    1 << (namespace.class as u32)
}

impl Namespaces {
    pub(crate) fn current(&self, namespace: Namespace) -> u64 {
        if self.moved.load(Ordering::Acquire) & bit(namespace) == 0 {
            return 0;
        }
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
        self.moved.fetch_or(bit(namespace), Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataClass;
    use crate::key::Scope;
    use pharm_core::ids::PharmacyId;

    #[test]
    fn a_version_moves_only_its_namespace() {
        let namespaces = Namespaces::default();
        let release = Namespace {
            class: DataClass::OrangeBook,
            scope: Scope::Global,
        };
        let patients = Namespace {
            class: DataClass::Patient,
            scope: Scope::Pharmacy(PharmacyId::new(1)),
        };
        assert_eq!(namespaces.advance(release, 3), Ok(()));
        assert_eq!(namespaces.current(release), 3);
        assert_eq!(namespaces.current(patients), 0);
        assert_eq!(namespaces.advance(release, 3), Err(3));
        assert_eq!(namespaces.advance(patients, 1), Ok(()));
        assert_eq!(namespaces.current(patients), 1);
        for class in DataClass::ALL {
            assert!((class as u32) < 32, "{class} has no bit");
        }
    }
}
