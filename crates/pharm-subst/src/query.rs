//! `substitutes` and `explain`.

use std::cmp::Ordering;

use pharm_core::model::DawCode;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::catalog::{Catalog, first_shared_code, substitutable};
use crate::policy::SubstitutionContext;
use crate::record::{ApplType, MarketingStatus, ObProduct, ProductKey};
use crate::te::TeCode;

/// Why a product is on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChoiceReason {
    /// The product as written.
    AsWritten,
    /// A-rated to the product as written through this shared code.
    Equivalent {
        /// The shared TE code.
        code: TeCode,
    },
}

/// One product the store may dispense for the prescription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice<'c> {
    /// The product.
    pub product: &'c ObProduct,
    /// Why it qualifies.
    pub reason: ChoiceReason,
    /// The DAW / product selection code to submit if this product is dispensed.
    pub daw: DawCode,
    /// On hand at the store (caller lookup).
    pub in_stock: bool,
    /// Formulary tier (caller lookup; lower is preferred).
    pub formulary_tier: Option<u8>,
    /// Unit acquisition cost (caller lookup).
    pub unit_cost: Option<Decimal>,
}

/// Why substitutes were withheld.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Restriction {
    /// DAW 1 or 7 on the prescription.
    DawForbids {
        /// The DAW code.
        daw: DawCode,
    },
    /// The ingredient is on the state's negative formulary.
    NegativeFormulary {
        /// State.
        state: String,
    },
    /// NTI drug: the state forbids substitution, or requires consent that was not recorded.
    Nti {
        /// State.
        state: String,
    },
    /// NTI refill: only the last fill's manufacturer without consent.
    SameManufacturer {
        /// The manufacturer kept.
        applicant: String,
    },
}

/// Why the answer is the original product only because the catalog cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Degraded {
    /// No Orange Book release is loaded.
    NoCatalog,
    /// The loaded release is older than the configured maximum age.
    Stale {
        /// Age of the release in days.
        age_days: i64,
        /// Maximum age allowed.
        max_age_days: u32,
    },
}

/// The answer to a substitution query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Substitutes<'c> {
    /// The product as written.
    pub original: ProductKey,
    /// Products that may be dispensed, best first by the caller's preferences (in stock,
    /// formulary tier, unit cost). The original is among them when it is known, except under
    /// the same-manufacturer refill rule when another manufacturer makes it and an equivalent
    /// from the last fill's manufacturer exists (if none exists, the original is kept and
    /// [`restriction`](Self::restriction) still reports the rule).
    pub choices: Vec<Choice<'c>>,
    /// Set when state law or DAW withheld substitutes.
    pub restriction: Option<Restriction>,
    /// Set when the catalog is missing or stale: the original product only.
    pub degraded: Option<Degraded>,
}

/// The product key is not in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("product {0} is not in the loaded Orange Book release")]
pub struct UnknownProduct(pub ProductKey);

fn is_brand(p: &ObProduct) -> bool {
    p.key.appl_type == ApplType::Nda
}

fn cmp_option<T: Ord>(a: &Option<T>, b: &Option<T>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn rank(a: &Choice<'_>, b: &Choice<'_>) -> Ordering {
    b.in_stock
        .cmp(&a.in_stock)
        .then_with(|| cmp_option(&a.formulary_tier, &b.formulary_tier))
        .then_with(|| cmp_option(&a.unit_cost, &b.unit_cost))
        .then_with(|| {
            (a.reason != ChoiceReason::AsWritten).cmp(&(b.reason != ChoiceReason::AsWritten))
        })
        .then_with(|| a.product.key.cmp(&b.product.key))
}

impl Catalog {
    /// The products that may be dispensed for a prescription written for `original`,
    /// ranked by the caller's market data, each with the DAW code that fits choosing it.
    pub fn substitutes<'c>(
        &'c self,
        original: &ProductKey,
        ctx: &SubstitutionContext<'_>,
    ) -> Result<Substitutes<'c>, UnknownProduct> {
        let index = self.index_of(original).ok_or(UnknownProduct(*original))?;
        let written = &self.products()[index];
        let choice = |product: &'c ObProduct, reason| {
            let facts = ctx.market.facts(&product.key);
            Choice {
                product,
                reason,
                daw: DawCode::NoSelection,
                in_stock: facts.in_stock,
                formulary_tier: facts.formulary_tier,
                unit_cost: facts.unit_cost,
            }
        };
        let mut choices = vec![choice(written, ChoiceReason::AsWritten)];
        let mut restriction = restriction(written, ctx);
        if restriction.is_none() {
            // NTI refills keep the last fill's manufacturer unless consent is recorded.
            let keep = same_manufacturer(written, ctx);
            for (n, code) in self.neighbors(index) {
                let p = &self.products()[n];
                if keep.is_some_and(|m| !made_by(p, m)) {
                    continue;
                }
                choices.push(choice(p, ChoiceReason::Equivalent { code }));
            }
            if let Some(m) = keep {
                // The written product is dropped too when another manufacturer makes it,
                // unless nothing from the last fill's manufacturer is left: then it stays
                // (the restriction still reports the rule).
                if !made_by(written, m) && choices.len() > 1 {
                    choices.retain(|c| c.reason != ChoiceReason::AsWritten);
                }
                restriction = Some(Restriction::SameManufacturer {
                    applicant: m.to_string(),
                });
            }
        }
        assign_daw(&mut choices, restriction.as_ref(), ctx);
        choices.sort_by(rank);
        Ok(Substitutes {
            original: *original,
            choices,
            restriction,
            degraded: None,
        })
    }

    /// Why two products are or are not A-rated to each other, optionally under a
    /// prescription's DAW code and state policy.
    pub fn explain(
        &self,
        a: &ProductKey,
        b: &ProductKey,
        ctx: Option<&SubstitutionContext<'_>>,
    ) -> Result<Explanation, UnknownProduct> {
        let pa = self.get(a).ok_or(UnknownProduct(*a))?;
        let pb = self.get(b).ok_or(UnknownProduct(*b))?;
        let not = |reason| Ok(Explanation::NotEquivalent { reason });
        if a == b {
            return not(NotEquivalentReason::SameProduct);
        }
        for p in [pa, pb] {
            if p.status == MarketingStatus::Discn {
                return not(NotEquivalentReason::Discontinued { product: p.key });
            }
        }
        if pa.status != pb.status {
            return not(NotEquivalentReason::OtcVsRx);
        }
        if pa.status == MarketingStatus::Otc {
            return not(NotEquivalentReason::Otc);
        }
        if pa.ingredients != pb.ingredients {
            let moiety = |p: &ObProduct| {
                p.ingredients
                    .iter()
                    .map(|i| i.split(' ').next().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            };
            return not(if moiety(pa) == moiety(pb) {
                NotEquivalentReason::DifferentSalt {
                    a: pa.ingredients.clone(),
                    b: pb.ingredients.clone(),
                }
            } else {
                NotEquivalentReason::DifferentIngredients {
                    a: pa.ingredients.clone(),
                    b: pb.ingredients.clone(),
                }
            });
        }
        if pa.dosage_form != pb.dosage_form {
            return not(NotEquivalentReason::DifferentDosageForm {
                a: pa.dosage_form.clone(),
                b: pb.dosage_form.clone(),
            });
        }
        if pa.route != pb.route {
            return not(NotEquivalentReason::DifferentRoute {
                a: pa.route.clone(),
                b: pb.route.clone(),
            });
        }
        if pa.strength.normalized != pb.strength.normalized {
            return not(NotEquivalentReason::DifferentStrength {
                a: pa.strength.text.clone(),
                b: pb.strength.text.clone(),
            });
        }
        for p in [pa, pb] {
            if p.te_codes.is_empty() {
                return not(NotEquivalentReason::NoTeCode { product: p.key });
            }
            if let Some(code) = p.te_codes.iter().find(|c| !c.is_a()) {
                return not(NotEquivalentReason::BRated {
                    product: p.key,
                    code: *code,
                });
            }
        }
        let shared: Vec<TeCode> = pa
            .te_codes
            .iter()
            .filter(|c| pb.te_codes.contains(c))
            .copied()
            .collect();
        if shared.is_empty() {
            return not(NotEquivalentReason::NoSharedCode {
                a: pa.te_codes.clone(),
                b: pb.te_codes.clone(),
            });
        }
        debug_assert!(
            substitutable(pa) && substitutable(pb) && first_shared_code(pa, pb).is_some()
        );
        if let Some(ctx) = ctx {
            match restriction(pa, ctx) {
                Some(Restriction::DawForbids { daw }) => {
                    return not(NotEquivalentReason::DawForbids { daw });
                }
                Some(Restriction::NegativeFormulary { state })
                | Some(Restriction::Nti { state }) => {
                    return not(NotEquivalentReason::StateListForbids { state });
                }
                _ => {}
            }
            if same_manufacturer(pa, ctx).is_some_and(|m| !made_by(pb, m)) {
                return not(NotEquivalentReason::StateListForbids {
                    state: ctx.policy.state.clone(),
                });
            }
        }
        Ok(Explanation::Equivalent { codes: shared })
    }
}

/// The last fill's manufacturer when the same-manufacturer refill rule applies to `written`
/// (state rule on, NTI ingredient, no consent, last fill known).
fn same_manufacturer<'a>(written: &ObProduct, ctx: &SubstitutionContext<'a>) -> Option<&'a str> {
    (ctx.policy.same_manufacturer_refill && ctx.policy.is_nti(&written.ingredients) && !ctx.consent)
        .then_some(ctx.last_fill_applicant)
        .flatten()
}

/// Upper-cased, whitespace-collapsed name for comparing applicants.
fn normalize_name(s: &str) -> String {
    s.split_whitespace()
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `applicant` (short or full name, compared normalized) made `p`.
fn made_by(p: &ObProduct, applicant: &str) -> bool {
    let m = normalize_name(applicant);
    !m.is_empty()
        && (normalize_name(&p.applicant) == m || normalize_name(&p.applicant_full_name) == m)
}

fn restriction(written: &ObProduct, ctx: &SubstitutionContext<'_>) -> Option<Restriction> {
    use crate::policy::NtiRule;
    if ctx.daw.forbids_substitution() {
        return Some(Restriction::DawForbids { daw: ctx.daw });
    }
    let policy = ctx.policy;
    if policy.is_negative_formulary(&written.ingredients) {
        return Some(Restriction::NegativeFormulary {
            state: policy.state.clone(),
        });
    }
    if policy.is_nti(&written.ingredients) {
        match policy.nti_rule {
            NtiRule::Forbid => {
                return Some(Restriction::Nti {
                    state: policy.state.clone(),
                });
            }
            NtiRule::RequireConsent if !ctx.consent => {
                return Some(Restriction::Nti {
                    state: policy.state.clone(),
                });
            }
            _ => {}
        }
    }
    None
}

/// DAW codes (NCPDP 408-D8) that fit each choice: a generic, or a single-source product, is
/// DAW 0; a brand chosen while A-rated generics exist is DAW 2 when the patient asked for
/// it, 9 when the plan prefers it (better tier than every generic), 4 when no generic is in
/// stock, else 3 (pharmacist selected). With DAW 1 or 7 written, the written code is kept.
/// When state law keeps the written product (negative formulary, NTI, same-manufacturer
/// refill) and it is a brand (NDA), the written product is DAW 7 (brand mandated by law).
fn assign_daw(
    choices: &mut [Choice<'_>],
    restriction: Option<&Restriction>,
    ctx: &SubstitutionContext<'_>,
) {
    if ctx.daw.forbids_substitution() {
        for c in choices.iter_mut() {
            c.daw = ctx.daw;
        }
        return;
    }
    let by_law = matches!(
        restriction,
        Some(
            Restriction::NegativeFormulary { .. }
                | Restriction::Nti { .. }
                | Restriction::SameManufacturer { .. }
        )
    );
    let generics = choices.iter().filter(|c| !is_brand(c.product));
    let mut any_generic = false;
    let mut generic_in_stock = false;
    let mut best_generic_tier: Option<u8> = None;
    for g in generics {
        any_generic = true;
        generic_in_stock |= g.in_stock;
        if let Some(t) = g.formulary_tier {
            best_generic_tier = Some(best_generic_tier.map_or(t, |b| b.min(t)));
        }
    }
    for c in choices.iter_mut() {
        c.daw = if by_law && c.reason == ChoiceReason::AsWritten && is_brand(c.product) {
            DawCode::BrandMandatedByLaw
        } else if !is_brand(c.product) || !any_generic {
            DawCode::NoSelection
        } else if ctx.patient_requests_brand {
            DawCode::PatientRequested
        } else if matches!((c.formulary_tier, best_generic_tier), (Some(b), Some(g)) if b < g)
            || (c.formulary_tier.is_some() && best_generic_tier.is_none())
        {
            DawCode::PlanRequestsBrand
        } else if !generic_in_stock {
            DawCode::GenericNotInStock
        } else {
            DawCode::PharmacistSelected
        };
    }
}

/// Why two products are not A-rated to each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotEquivalentReason {
    /// Both keys name the same product.
    SameProduct,
    /// A product is discontinued.
    Discontinued {
        /// Which.
        product: ProductKey,
    },
    /// One is OTC and the other RX.
    OtcVsRx,
    /// Both are OTC (no TE codes for OTC products).
    Otc,
    /// Same active moiety, different salt or ester: pharmaceutical alternatives.
    DifferentSalt {
        /// First product's ingredients.
        a: Vec<String>,
        /// Second product's ingredients.
        b: Vec<String>,
    },
    /// Different active ingredients.
    DifferentIngredients {
        /// First product's ingredients.
        a: Vec<String>,
        /// Second product's ingredients.
        b: Vec<String>,
    },
    /// Different dosage form.
    DifferentDosageForm {
        /// First.
        a: String,
        /// Second.
        b: String,
    },
    /// Different route.
    DifferentRoute {
        /// First.
        a: String,
        /// Second.
        b: String,
    },
    /// Different strength.
    DifferentStrength {
        /// First.
        a: String,
        /// Second.
        b: String,
    },
    /// A product has no TE code (single source, unrated).
    NoTeCode {
        /// Which.
        product: ProductKey,
    },
    /// A product is B-rated.
    BRated {
        /// Which.
        product: ProductKey,
        /// Its B code.
        code: TeCode,
    },
    /// Both are A-rated but in different reference groups (e.g. AB1 vs AB2).
    NoSharedCode {
        /// First product's codes.
        a: Vec<TeCode>,
        /// Second product's codes.
        b: Vec<TeCode>,
    },
    /// The prescription's DAW code forbids substitution.
    DawForbids {
        /// The DAW code.
        daw: DawCode,
    },
    /// State law (NTI list, negative formulary, same-manufacturer rule) forbids it.
    StateListForbids {
        /// State.
        state: String,
    },
}

/// The answer of [`Catalog::explain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Explanation {
    /// A-rated to each other through these shared codes.
    Equivalent {
        /// Shared TE codes.
        codes: Vec<TeCode>,
    },
    /// Not substitutable.
    NotEquivalent {
        /// The first reason found.
        reason: NotEquivalentReason,
    },
}
