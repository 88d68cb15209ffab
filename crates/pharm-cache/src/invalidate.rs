//! Invalidation: the design's triggers as events, applied to both levels.
//!
//! | event | trigger | class | effect |
//! |---|---|---|---|
//! | [`Event::DrugUpdated`] | database update | drug catalog | the drug's key |
//! | [`Event::OrangeBookRelease`] | weekly release | Orange Book | the namespace moves to the release |
//! | [`Event::PayerUpdated`] | payer update | formulary | the payer's namespace moves to the version |
//! | [`Event::PatientUpdated`] | patient update | patient | the patient's key |
//! | [`Event::LotTransaction`] | a transaction | inventory | the stock key of the lot's drug |
//! | [`Event::Logout`] | logout | session | the session's key |
//! | [`Event::NewAggregate`] | new aggregate | analytics | the aggregate's key |
//!
//! The policy decides which classes an event reaches (every class whose row names the
//! event's trigger), so moving a class to another trigger is a policy change.
//!
//! A key event, once [`Caches::apply`] returns: the key's L1 generation has moved (no
//! L1 read accepts an entry loaded before), the L1 entry and any running load of it are
//! dropped, and the L2 holds a tombstone one generation up (no fill begun before it is
//! stored) or, if the L2 could not be reached, the key is pending and not read from L2
//! until the tombstone is delivered. A namespace event moves the namespace's version:
//! keys built after it name the new version, keys built before keep reading the old one
//! consistently. Each process applies every event (the vendor's event bus delivers them);
//! tombstoning a key twice is harmless.

use serde::{Deserialize, Serialize};

use crate::caches::{Caches, tombstone_ttl};
use crate::class::DataClass;
use crate::key::{CacheKey, KeyError, Namespace, Scope};
use crate::policy::Trigger;
use pharm_core::ids::PharmacyId;

/// An invalidation event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A drug's master data changed (its catalog id).
    DrugUpdated {
        /// The drug's id in the catalog.
        drug: String,
    },
    /// The weekly Orange Book release (a number that grows with each release, e.g. its
    /// date as `yyyymmdd`).
    OrangeBookRelease {
        /// The release.
        release: u64,
    },
    /// A payer's formulary changed.
    PayerUpdated {
        /// The payer (BIN).
        payer: u32,
        /// The formulary version, growing with each update.
        version: u64,
    },
    /// A patient's record changed.
    PatientUpdated {
        /// The pharmacy.
        pharmacy: PharmacyId,
        /// The patient's id.
        patient: String,
    },
    /// A transaction moved stock of a lot.
    LotTransaction {
        /// The pharmacy.
        pharmacy: PharmacyId,
        /// The inventory key of the lot's drug (the id its stock is cached under).
        item: String,
    },
    /// A user logged out.
    Logout {
        /// The session id.
        session: String,
    },
    /// A new aggregate was computed.
    NewAggregate {
        /// The pharmacy.
        pharmacy: PharmacyId,
        /// The aggregate's id.
        aggregate: String,
    },
}

impl Event {
    /// The trigger the event is.
    #[must_use]
    pub fn trigger(&self) -> Trigger {
        match self {
            Self::DrugUpdated { .. } => Trigger::DatabaseUpdate,
            Self::OrangeBookRelease { .. } => Trigger::WeeklyRelease,
            Self::PayerUpdated { .. } => Trigger::PayerUpdate,
            Self::PatientUpdated { .. } => Trigger::PatientUpdate,
            Self::LotTransaction { .. } => Trigger::Transaction,
            Self::Logout { .. } => Trigger::Logout,
            Self::NewAggregate { .. } => Trigger::NewAggregate,
        }
    }

    /// A key event's scope and id; `None` for a namespace event.
    fn key(&self) -> Option<(Scope, &str)> {
        match self {
            Self::DrugUpdated { drug: id } | Self::Logout { session: id } => {
                Some((Scope::Global, id))
            }
            Self::PatientUpdated {
                pharmacy,
                patient: id,
            }
            | Self::LotTransaction { pharmacy, item: id }
            | Self::NewAggregate {
                pharmacy,
                aggregate: id,
            } => Some((Scope::Pharmacy(*pharmacy), id)),
            Self::OrangeBookRelease { .. } | Self::PayerUpdated { .. } => None,
        }
    }

    /// A namespace event's scope and version.
    pub(crate) fn namespace(&self) -> Option<(Scope, u64)> {
        match self {
            Self::OrangeBookRelease { release } => Some((Scope::Global, *release)),
            Self::PayerUpdated { payer, version } => Some((Scope::Payer(*payer), *version)),
            _ => None,
        }
    }
}

/// What an event did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Keys invalidated.
    pub keys: Vec<CacheKey>,
    /// Namespaces moved, with their new version.
    pub namespaces: Vec<(Namespace, u64)>,
    /// Of `keys`, those whose L2 tombstone is pending (the L2 was unreachable).
    pub pending: usize,
}

/// An event that could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidationError {
    /// The event's key is not valid for a class it reaches.
    #[error("event for {class}: {source}")]
    Key {
        /// The class.
        class: DataClass,
        /// Why.
        source: KeyError,
    },
    /// A namespace event that is not newer than the current version (a replay, or
    /// events out of order): nothing changed.
    #[error("{namespace:?} is at version {current}; version {given} is not newer")]
    NotNewer {
        /// The namespace.
        namespace: Namespace,
        /// Its version.
        current: u64,
        /// The event's.
        given: u64,
    },
    /// The event reaches a class whose scope is not the event's.
    #[error("event {trigger:?} cannot reach {class}: the class is not scoped like the event")]
    Scope {
        /// The trigger.
        trigger: Trigger,
        /// The class.
        class: DataClass,
    },
}

impl Caches {
    /// Applies `event` to every class the policy says it reaches (see the module
    /// documentation for what holds once it returns).
    ///
    /// # Errors
    ///
    /// [`InvalidationError`]: a key the event names is invalid, a namespace event is
    /// not newer than the current version, or the policy maps the event to a class of
    /// another scope. Classes before the failing one were invalidated.
    pub async fn apply(&self, event: &Event) -> Result<Applied, InvalidationError> {
        let trigger = event.trigger();
        let mut applied = Applied::default();
        let classes: Vec<DataClass> = self.policy().invalidated_by(trigger).collect();
        for class in classes {
            if let Some((scope, version)) = event.namespace() {
                let namespace = Namespace { class, scope };
                if scope.kind() != class.scope_kind() {
                    return Err(InvalidationError::Scope { trigger, class });
                }
                self.shared
                    .namespaces
                    .advance(namespace, version)
                    .map_err(|current| InvalidationError::NotNewer {
                        namespace,
                        current,
                        given: version,
                    })?;
                applied.namespaces.push((namespace, version));
            }
            if let Some((scope, id)) = event.key() {
                let key = self
                    .key(class, scope, id)
                    .map_err(|source| InvalidationError::Key { class, source })?;
                if !self.invalidate_key(&key).await {
                    applied.pending += 1;
                }
                applied.keys.push(key);
            }
        }
        Ok(applied)
    }

    /// Invalidates one key at both levels; `false` if its L2 tombstone is pending.
    async fn invalidate_key(&self, key: &CacheKey) -> bool {
        let shared = &self.shared;
        let handle = self.handle(key.class());
        if let Some(handle) = &handle {
            handle.forget(key.as_str());
            handle.count_invalidation();
        }
        let Some(row) = self.row(key.class()) else {
            return true;
        };
        match (&shared.l2, row.levels.l2) {
            (Some(l2), true) => l2.invalidate(key.shared(), tombstone_ttl(&row)).await,
            _ => true,
        }
    }
}
