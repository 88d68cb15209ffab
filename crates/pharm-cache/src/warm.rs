//! The design's warming order for a pharmacy at start-up: the whole drug catalog, the
//! pharmacy's inventory, its active prescriptions (will-call, in progress: the patient
//! class), the formularies of its top 5 payers, the Orange Book TE codes.

use async_trait::async_trait;
use pharm_core::ids::PharmacyId;
use serde::{Deserialize, Serialize};

use crate::caches::Caches;
use crate::class::DataClass;
use crate::key::{CacheKey, Scope};
use crate::origin::OriginError;

/// How many payers' formularies are warmed (the design's "top 5 payers").
pub const TOP_PAYERS: usize = 5;

/// One step of the warming plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarmStep {
    /// The whole drug catalog.
    DrugCatalog,
    /// The pharmacy's inventory.
    Inventory,
    /// Its active prescriptions (will-call, in progress), held in the patient class.
    ActivePrescriptions,
    /// The formularies of its top 5 payers.
    TopPayerFormularies,
    /// The Orange Book TE codes.
    OrangeBook,
}

impl WarmStep {
    /// The design's order.
    pub const ORDER: [Self; 5] = [
        Self::DrugCatalog,
        Self::Inventory,
        Self::ActivePrescriptions,
        Self::TopPayerFormularies,
        Self::OrangeBook,
    ];

    /// The class the step fills.
    #[must_use]
    pub const fn class(self) -> DataClass {
        match self {
            Self::DrugCatalog => DataClass::DrugCatalog,
            Self::Inventory => DataClass::Inventory,
            Self::ActivePrescriptions => DataClass::Patient,
            Self::TopPayerFormularies => DataClass::Formulary,
            Self::OrangeBook => DataClass::OrangeBook,
        }
    }
}

/// What to warm: the ids of each step, from the system of record.
#[async_trait]
pub trait WarmSource: Send + Sync {
    /// The `(scope, id)`s of `step` for `pharmacy`. For
    /// [`WarmStep::TopPayerFormularies`], list payers by rank: entries of payers after
    /// the first [`TOP_PAYERS`] distinct ones are left out.
    async fn ids(
        &self,
        step: WarmStep,
        pharmacy: PharmacyId,
    ) -> Result<Vec<(Scope, String)>, OriginError>;
}

/// Counts of one step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmCounts {
    /// Keys already cached (fresh at L1 or L2).
    pub cached: u64,
    /// Keys loaded from the origin.
    pub loaded: u64,
    /// Keys whose load failed (left cold).
    pub failed: u64,
}

/// Progress after each batch of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmProgress {
    /// The step.
    pub step: WarmStep,
    /// Its position in the plan (0-based) and the plan's length.
    pub position: (usize, usize),
    /// Keys done in the step.
    pub done: u64,
    /// Keys in the step.
    pub total: u64,
    /// Counts so far.
    pub counts: WarmCounts,
}

/// The outcome of one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    /// The step.
    pub step: WarmStep,
    /// What happened: counts, or why the step was skipped.
    pub outcome: Result<WarmCounts, String>,
}

/// A pharmacy's warming plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmPlan {
    /// The pharmacy.
    pub pharmacy: PharmacyId,
    /// Its steps, in order.
    pub steps: Vec<WarmStep>,
}

/// Keys per progress report.
const BATCH: usize = 256;

impl WarmPlan {
    /// The design's plan for `pharmacy` ([`WarmStep::ORDER`]).
    #[must_use]
    pub fn design(pharmacy: PharmacyId) -> Self {
        Self {
            pharmacy,
            steps: WarmStep::ORDER.to_vec(),
        }
    }

    /// Runs the plan on `caches`, reporting progress after each batch. A step whose class
    /// has no live cache, whose ids cannot be listed, or whose keys are invalid is
    /// reported as skipped; the other steps still run.
    pub async fn run(
        &self,
        caches: &Caches,
        source: &dyn WarmSource,
        mut progress: impl FnMut(WarmProgress),
    ) -> Vec<StepReport> {
        let mut reports = Vec::with_capacity(self.steps.len());
        for (index, step) in self.steps.iter().copied().enumerate() {
            let outcome = self
                .run_step(caches, source, step, |done, total, counts| {
                    progress(WarmProgress {
                        step,
                        position: (index, self.steps.len()),
                        done,
                        total,
                        counts,
                    });
                })
                .await;
            reports.push(StepReport { step, outcome });
        }
        reports
    }

    async fn run_step(
        &self,
        caches: &Caches,
        source: &dyn WarmSource,
        step: WarmStep,
        mut progress: impl FnMut(u64, u64, WarmCounts),
    ) -> Result<WarmCounts, String> {
        let class = step.class();
        let handle = caches
            .handle(class)
            .ok_or_else(|| format!("no cache of {class} is built"))?;
        let ids = source
            .ids(step, self.pharmacy)
            .await
            .map_err(|e| format!("listing {step:?}: {e}"))?;
        let ids = if step == WarmStep::TopPayerFormularies {
            top_payers(ids)
        } else {
            ids
        };
        let keys = ids
            .iter()
            .map(|(scope, id)| caches.key(class, *scope, id))
            .collect::<Result<Vec<CacheKey>, _>>()
            .map_err(|e| e.to_string())?;
        let total = keys.len() as u64;
        let mut counts = WarmCounts::default();
        let mut done = 0;
        progress(0, total, counts);
        for batch in keys.chunks(BATCH) {
            let batch_counts = handle.warm(batch.to_vec()).await;
            counts.cached += batch_counts.cached;
            counts.loaded += batch_counts.loaded;
            counts.failed += batch_counts.failed;
            done += batch.len() as u64;
            progress(done, total, counts);
        }
        Ok(counts)
    }
}

/// The entries of the first [`TOP_PAYERS`] distinct payers, in the source's order.
fn top_payers(ids: Vec<(Scope, String)>) -> Vec<(Scope, String)> {
    let mut payers: Vec<Scope> = Vec::with_capacity(TOP_PAYERS);
    ids.into_iter()
        .filter(|(scope, _)| {
            if payers.contains(scope) {
                return true;
            }
            if payers.len() < TOP_PAYERS {
                payers.push(*scope);
                return true;
            }
            false
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_top_five_payers_are_kept() {
        let ids: Vec<(Scope, String)> = (0..8u32)
            .flat_map(|p| {
                [
                    (Scope::Payer(p), "a".to_owned()),
                    (Scope::Payer(p), "b".to_owned()),
                ]
            })
            .chain([(Scope::Payer(0), "c".to_owned())])
            .collect();
        let kept = top_payers(ids);
        assert_eq!(kept.len(), 11);
        assert!(
            kept.iter()
                .all(|(s, _)| matches!(s, Scope::Payer(p) if *p < 5))
        );
    }
}
