//! Collects findings and follow-ups while rules run.

use crate::rules::{Context, Decision, Finding, FollowUp, Obligation, Outcome, Override, RuleId};

/// Accumulates the findings of one evaluation.
pub(crate) struct Sink<'c> {
    pub(crate) ctx: &'c Context,
    decision: Decision,
}

impl<'c> Sink<'c> {
    pub(crate) fn new(ctx: &'c Context) -> Self {
        Sink {
            ctx,
            decision: Decision {
                offline: ctx.connectivity.is_offline(),
                ..Decision::default()
            },
        }
    }

    /// Records a finding.
    pub(crate) fn add(&mut self, rule: RuleId, outcome: Outcome, message: String) {
        self.decision.findings.push(Finding {
            rule,
            outcome,
            message,
            source: rule.source().into(),
            reason_required: false,
            overridden: None,
        });
    }

    /// Records a warning for which the pharmacist must record a reason.
    pub(crate) fn warn_reason_required(&mut self, rule: RuleId, message: String) {
        self.add(rule, Outcome::Warn, message);
        if let Some(f) = self.decision.findings.last_mut() {
            f.reason_required = true;
        }
    }

    /// Records a blocking finding.
    pub(crate) fn block(&mut self, rule: RuleId, message: String) {
        self.add(rule, Outcome::Block, message);
    }

    /// Records a warning.
    pub(crate) fn warn(&mut self, rule: RuleId, message: String) {
        self.add(rule, Outcome::Warn, message);
    }

    /// Records a finding a pharmacist must override.
    pub(crate) fn require_override(&mut self, rule: RuleId, message: String) {
        self.add(rule, Outcome::RequireOverride, message);
    }

    /// Queues a follow-up.
    pub(crate) fn follow(&mut self, f: FollowUp) {
        self.decision.follow_ups.push(f);
    }

    /// Lists a compliance obligation.
    pub(crate) fn obligation(&mut self, o: Obligation) {
        self.decision.obligations.push(o);
    }

    /// Mutable access to the decision's extra fields (BUD, next refill date, figures).
    pub(crate) fn decision_mut(&mut self) -> &mut Decision {
        &mut self.decision
    }

    /// True if the ctx is offline.
    pub(crate) fn offline(&self) -> bool {
        self.ctx.connectivity.is_offline()
    }

    /// Applies overrides (to `require_override` findings and to warnings that require a
    /// reason) and computes the final outcome.
    pub(crate) fn finish(mut self, overrides: &[Override]) -> Decision {
        if !overrides.is_empty() {
            for f in &mut self.decision.findings {
                if f.outcome != Outcome::RequireOverride && !f.reason_required {
                    continue;
                }
                let accepted = overrides.iter().find(|o| {
                    o.rule == f.rule
                        && !o.reason_code.trim().is_empty()
                        && !o.pharmacist.trim().is_empty()
                        && (f.rule != RuleId::RxDur01
                            || o.dur.as_ref().is_some_and(|d| {
                                [&d.reason, &d.service, &d.result]
                                    .iter()
                                    .all(|c| !c.trim().is_empty())
                            }))
                });
                f.overridden = accepted.cloned();
            }
        }
        self.decision.outcome = self
            .decision
            .findings
            .iter()
            .map(Finding::effective)
            .max()
            .unwrap_or(Outcome::Allow);
        self.decision
    }
}
