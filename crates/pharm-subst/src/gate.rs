//! Which products the prescription's DAW code and state law let through for a written
//! product, before the Orange Book graph is consulted. Shared by `substitutes` and
//! `explain` so both apply the rules in the same order.

use crate::policy::{LastFill, NtiRule, SubstitutionContext};
use crate::query::Restriction;
use crate::record::ObProduct;

/// What may be dispensed for a written product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Gate {
    /// The written product and every A-rated equivalent.
    Open,
    /// The written product only, for this reason.
    WrittenOnly(Restriction),
    /// An NTI refill under the same-manufacturer rule: only products of the last fill's
    /// application; equivalents only when the state allows NTI substitution at all.
    SameMaker {
        /// The last fill.
        last_fill: LastFill,
        /// Whether A-rated equivalents (of that application) may be offered.
        equivalents: bool,
    },
}

/// The rules in order: DAW 1/7, the negative formulary, the same-manufacturer refill rule
/// (NTI, rule on, no consent, a refill), then the NTI rule.
///
/// The refill rule comes before the NTI consent rule: on a refill, the product last
/// dispensed (substituted at the first fill with the consent the state required) is what
/// the state asks for, and the written product is a change of manufacturer like any other.
pub(crate) fn gate(written: &ObProduct, ctx: &SubstitutionContext<'_>) -> Gate {
    let policy = ctx.policy;
    if ctx.daw.forbids_substitution() {
        return Gate::WrittenOnly(Restriction::DawForbids { daw: ctx.daw });
    }
    if policy.is_negative_formulary(&written.ingredients) {
        return Gate::WrittenOnly(Restriction::NegativeFormulary {
            state: policy.state.clone(),
        });
    }
    if !policy.is_nti(&written.ingredients) {
        return Gate::Open;
    }
    if policy.same_manufacturer_refill
        && !ctx.consent
        && let Some(last_fill) = ctx.last_fill
    {
        return Gate::SameMaker {
            last_fill,
            equivalents: policy.nti_rule != NtiRule::Forbid,
        };
    }
    match policy.nti_rule {
        NtiRule::Allow => Gate::Open,
        NtiRule::RequireConsent if ctx.consent => Gate::Open,
        NtiRule::RequireConsent | NtiRule::Forbid => Gate::WrittenOnly(Restriction::Nti {
            state: policy.state.clone(),
        }),
    }
}

/// Whether `p` is a product of the last fill's application.
pub(crate) fn made_under(p: &ObProduct, last_fill: LastFill) -> bool {
    matches!(last_fill, LastFill::Application(a) if p.key.application() == a)
}
