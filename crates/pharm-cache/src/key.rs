//! Keys: a class, a scope, the scope's namespace version and an id, rendered once.

use std::fmt;
use std::sync::Arc;

use pharm_core::ids::PharmacyId;
use serde::{Deserialize, Serialize};

use crate::class::{DataClass, ScopeKind};

/// The longest id a key takes, bytes.
pub const MAX_ID_BYTES: usize = 256;

/// What a key is scoped by (its class says which kind, [`DataClass::scope_kind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole chain.
    Global,
    /// One pharmacy.
    Pharmacy(PharmacyId),
    /// One payer (its processor number, the BIN).
    Payer(u32),
}

impl Scope {
    /// Its kind.
    #[must_use]
    pub const fn kind(self) -> ScopeKind {
        match self {
            Self::Global => ScopeKind::Global,
            Self::Pharmacy(_) => ScopeKind::Pharmacy,
            Self::Payer(_) => ScopeKind::Payer,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Global => f.write_str("g"),
            Self::Pharmacy(p) => write!(f, "p{}", p.get()),
            Self::Payer(b) => write!(f, "y{b}"),
        }
    }
}

/// A namespace: the keys of one class in one scope, swapped together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Namespace {
    /// The class.
    pub class: DataClass,
    /// The scope.
    pub scope: Scope,
}

/// A key that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The scope is not the class's kind.
    #[error("class {class} is scoped by {expected:?}, not {given:?}")]
    Scope {
        /// The class.
        class: DataClass,
        /// Its scope kind.
        expected: ScopeKind,
        /// The scope given.
        given: Scope,
    },
    /// The id is empty, too long, or holds a control character or whitespace.
    #[error("cache key id {id:?}: {reason}")]
    Id {
        /// The id (at most 64 characters of it).
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A key resolved against its namespace's version: the same value names the same entry
/// at every level, and a reader holding it reads one namespace version only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    namespace: Namespace,
    version: u64,
    text: Arc<str>,
    id_start: usize,
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl CacheKey {
    /// The key of `id` in `namespace` at namespace `version`.
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the scope is not the class's or the id is not a valid id.
    pub fn new(namespace: Namespace, version: u64, id: &str) -> Result<Self, KeyError> {
        let class = namespace.class;
        if namespace.scope.kind() != class.scope_kind() {
            return Err(KeyError::Scope {
                class,
                expected: class.scope_kind(),
                given: namespace.scope,
            });
        }
        let fail = |reason| {
            Err(KeyError::Id {
                id: id.chars().take(64).collect(),
                reason,
            })
        };
        if id.is_empty() {
            return fail("empty");
        }
        if id.len() > MAX_ID_BYTES {
            return fail("longer than 256 bytes");
        }
        if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return fail("control character or whitespace");
        }
        // Rendered by hand: the formatting machinery costs more than the rest of a read.
        let mut text = String::with_capacity(48 + id.len());
        text.push_str(class.name());
        text.push('/');
        match namespace.scope {
            Scope::Global => text.push('g'),
            Scope::Pharmacy(p) => {
                text.push('p');
                push_decimal(&mut text, u64::from(p.get()));
            }
            Scope::Payer(b) => {
                text.push('y');
                push_decimal(&mut text, u64::from(b));
            }
        }
        text.push_str("/v");
        push_decimal(&mut text, version);
        text.push('/');
        let id_start = text.len();
        text.push_str(id);
        Ok(Self {
            namespace,
            version,
            text: text.into(),
            id_start,
        })
    }

    /// Its class.
    #[must_use]
    pub fn class(&self) -> DataClass {
        self.namespace.class
    }

    /// Its namespace.
    #[must_use]
    pub fn namespace(&self) -> Namespace {
        self.namespace
    }

    /// The namespace version it was resolved at.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The id.
    #[must_use]
    pub fn id(&self) -> &str {
        self.text.get(self.id_start..).unwrap_or_default()
    }

    /// The rendered key, `class/scope/vN/id` (L1 key; L2 prefixes it).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn shared(&self) -> Arc<str> {
        Arc::clone(&self.text)
    }
}

/// Appends `n` in decimal.
fn push_decimal(text: &mut String, n: u64) {
    text.push_str(itoa::Buffer::new().format(n));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_render_and_refuse_bad_ids_and_scopes() {
        let ns = Namespace {
            class: DataClass::Inventory,
            scope: Scope::Pharmacy(PharmacyId::new(7)),
        };
        let key = CacheKey::new(ns, 3, "0002-1433-80").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.as_str(), "inventory/p7/v3/0002-1433-80");
        assert_eq!(key.id(), "0002-1433-80");
        assert_eq!(key.version(), 3);
        assert!(matches!(
            CacheKey::new(
                Namespace {
                    class: DataClass::Inventory,
                    scope: Scope::Global
                },
                0,
                "x"
            ),
            Err(KeyError::Scope { .. })
        ));
        for bad in ["", "a b", "a\nb", &"x".repeat(MAX_ID_BYTES + 1)] {
            assert!(
                matches!(CacheKey::new(ns, 0, bad), Err(KeyError::Id { .. })),
                "{bad:?}"
            );
        }
        assert!(CacheKey::new(ns, 0, &"x".repeat(MAX_ID_BYTES)).is_ok());
        let payer = Namespace {
            class: DataClass::Formulary,
            scope: Scope::Payer(610_014),
        };
        let key = CacheKey::new(payer, u64::MAX, "a").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            key.as_str(),
            format!("formulary/{}/v{}/a", Scope::Payer(610_014), u64::MAX)
        );
        let global = Namespace {
            class: DataClass::DrugCatalog,
            scope: Scope::Global,
        };
        let key = CacheKey::new(global, 0, "a").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.as_str(), "drug_catalog/g/v0/a");
    }
}
