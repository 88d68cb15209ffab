//! A catalog that can be replaced while queries run, with degraded answers when it is
//! missing or too old.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use pharm_core::model::DawCode;
use pharm_core::time::Date;
use serde::Serialize;

use crate::answer::{ExplainAnswer, SubstitutionAnswer};
use crate::catalog::Catalog;
use crate::policy::{LastFill, SubstitutionContext};
use crate::product_map::ProductMap;
use crate::query::{
    Choice, ChoiceReason, Degraded, Restriction, Substitutes, UnknownProduct, consent_needed,
};
use crate::record::ProductKey;
use crate::te::TeCode;

/// One loaded release.
#[derive(Debug)]
pub struct Release {
    /// The catalog.
    pub catalog: Catalog,
    /// Release date (for `EOBZIP_2026_05.zip`, the publication date).
    pub released: Date,
    /// Release label for logs (`"2026-05"`).
    pub label: String,
}

/// What changed between two releases.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ReleaseDiff {
    /// Products new in the release.
    pub added: Vec<ProductKey>,
    /// Products no longer listed.
    pub removed: Vec<ProductKey>,
    /// Products whose TE codes changed: (key, old codes, new codes).
    pub te_changed: Vec<(ProductKey, Vec<TeCode>, Vec<TeCode>)>,
    /// Products whose marketing status changed (e.g. RX → DISCN).
    pub status_changed: Vec<ProductKey>,
}

impl ReleaseDiff {
    /// Compares two catalogs.
    pub fn between(old: &Catalog, new: &Catalog) -> Self {
        let mut diff = ReleaseDiff::default();
        let old_keys: HashMap<ProductKey, usize> = old
            .products()
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key, i))
            .collect();
        for p in new.products() {
            match old_keys.get(&p.key).and_then(|&i| old.product(i)) {
                None => diff.added.push(p.key),
                Some(o) => {
                    if o.te_codes != p.te_codes {
                        diff.te_changed
                            .push((p.key, o.te_codes.clone(), p.te_codes.clone()));
                    }
                    if o.status != p.status {
                        diff.status_changed.push(p.key);
                    }
                }
            }
        }
        diff.removed = old
            .products()
            .iter()
            .filter(|p| new.get(&p.key).is_none())
            .map(|p| p.key)
            .collect();
        diff.added.sort_unstable();
        diff.removed.sort_unstable();
        diff
    }
}

/// A consistent view of the service at one moment: the release (if any) and whether answers
/// from it are degraded.
#[derive(Debug, Clone)]
pub struct Snapshot {
    release: Option<Arc<Release>>,
    degraded: Option<Degraded>,
}

impl Snapshot {
    /// The release, if one is loaded.
    pub fn release(&self) -> Option<&Release> {
        self.release.as_deref()
    }

    /// Why answers are degraded, if they are.
    pub fn degraded(&self) -> Option<&Degraded> {
        self.degraded.as_ref()
    }

    /// Substitutes for `original`.
    ///
    /// Degraded (no release, or a stale one): the written product as the one choice,
    /// flagged with [`Substitutes::degraded`], with the prescription's DAW code if it is 1 or
    /// 7 (then also [`Restriction::DawForbids`]), else 0; the caller dispenses as written.
    ///
    /// * Without a release ([`Degraded::NoCatalog`]) the written key is all that is known:
    ///   the choice has [`Choice::product`] `None`, and state lists (NTI, negative
    ///   formulary, same-manufacturer refills) cannot be checked; the flag tells the caller
    ///   so. The key is not checked either, so this never fails.
    /// * With a stale release the state-law restriction it finds is reported, and the
    ///   written product is left out when the same-manufacturer refill rule excludes it:
    ///   then there is no choice and the restriction is
    ///   [`Restriction::SameManufacturerUnavailable`] (the stale release's equivalents from
    ///   the last fill's manufacturer are not offered, since its ratings are not trusted).
    pub fn substitutes(
        &self,
        original: &ProductKey,
        ctx: &SubstitutionContext<'_>,
    ) -> Result<Substitutes<'_>, UnknownProduct> {
        let daw = if ctx.daw.forbids_substitution() {
            ctx.daw
        } else {
            DawCode::NoSelection
        };
        let Some(release) = self.release.as_deref() else {
            let facts = ctx.market.facts(original);
            return Ok(Substitutes {
                original: *original,
                choices: vec![Choice {
                    key: *original,
                    product: None,
                    reason: ChoiceReason::AsWritten,
                    daw,
                    in_stock: facts.in_stock,
                    formulary_tier: facts.formulary_tier,
                    unit_cost: facts.unit_cost,
                }],
                restriction: ctx
                    .daw
                    .forbids_substitution()
                    .then_some(Restriction::DawForbids { daw }),
                degraded: self.degraded.clone(),
                consent_needed: false,
            });
        };
        let mut answer = release.catalog.substitutes(original, ctx)?;
        if let Some(d) = &self.degraded {
            // The written product only, with a DAW code that does not depend on the
            // generics no longer shown: the prescription's DAW 1 or 7, else 0.
            answer
                .choices
                .retain(|c| c.reason == ChoiceReason::AsWritten);
            for c in &mut answer.choices {
                c.daw = daw;
            }
            if let (true, Some(Restriction::SameManufacturer { application })) =
                (answer.choices.is_empty(), &answer.restriction)
            {
                answer.restriction = Some(Restriction::SameManufacturerUnavailable {
                    state: ctx.policy.state.clone(),
                    last_fill: LastFill::Application(*application),
                });
            }
            answer.consent_needed = consent_needed(answer.restriction.as_ref(), ctx);
            answer.degraded = Some(d.clone());
        }
        Ok(answer)
    }

    /// [`substitutes`](Self::substitutes) as the owned answer the bindings return, with
    /// the store's packages of each product when `packages` is given.
    pub fn answer(
        &self,
        original: &ProductKey,
        ctx: &SubstitutionContext<'_>,
        packages: Option<&ProductMap>,
    ) -> Result<SubstitutionAnswer, UnknownProduct> {
        self.substitutes(original, ctx)
            .map(|s| s.to_answer(packages))
    }

    /// [`Catalog::explain`] on the loaded release, owned, flagged when the release is
    /// stale. Without a release there is no answer ([`ExplainError::NoCatalog`]).
    pub fn explain(
        &self,
        a: &ProductKey,
        b: &ProductKey,
        ctx: Option<&SubstitutionContext<'_>>,
    ) -> Result<ExplainAnswer, ExplainError> {
        let release = self.release.as_deref().ok_or(ExplainError::NoCatalog)?;
        Ok(ExplainAnswer {
            a: *a,
            b: *b,
            explanation: release.catalog.explain(a, b, ctx)?,
            degraded: self.degraded.clone(),
        })
    }
}

/// Why a [`Snapshot::explain`] query has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExplainError {
    /// A product is not in the release. Reports its own code; the wrapped
    /// [`UnknownProduct`] (reachable through the field and `source()`) has its own.
    #[error("{0}")]
    UnknownProduct(#[from] UnknownProduct),
    /// No release is loaded: nothing can be said about equivalence.
    #[error("no Orange Book release is loaded")]
    NoCatalog,
}

/// Holds the current Orange Book release. Queries take a [`Snapshot`] (a cheap `Arc` clone);
/// [`load`](Self::load) swaps in a new release atomically, so a query sees either the old
/// release or the new one, never a mix.
#[derive(Debug)]
pub struct SubstitutionService {
    current: RwLock<Option<Arc<Release>>>,
    max_age_days: u32,
}

impl SubstitutionService {
    /// An empty service; answers are degraded until a release is loaded. Releases older than
    /// `max_age_days` also give degraded answers.
    pub fn new(max_age_days: u32) -> Self {
        SubstitutionService {
            current: RwLock::new(None),
            max_age_days,
        }
    }

    /// The current state as of `today`.
    pub fn snapshot(&self, today: Date) -> Snapshot {
        let release = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let degraded = match &release {
            None => Some(Degraded::NoCatalog),
            Some(r) => {
                let age_days = i64::from(r.released.days_until(today));
                (age_days > i64::from(self.max_age_days)).then_some(Degraded::Stale {
                    age_days,
                    max_age_days: self.max_age_days,
                })
            }
        };
        Snapshot { release, degraded }
    }

    /// Replaces the current release and returns what changed (everything is "added" for the
    /// first load).
    pub fn load(&self, release: Release) -> ReleaseDiff {
        let new = Arc::new(release);
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let diff = match slot.as_deref() {
            Some(old) => ReleaseDiff::between(&old.catalog, &new.catalog),
            None => ReleaseDiff {
                added: new.catalog.products().iter().map(|p| p.key).collect(),
                ..ReleaseDiff::default()
            },
        };
        *slot = Some(new);
        diff
    }
}
