//! `substitutes` and `explain`.

use std::cmp::Ordering;

use pharm_core::model::DawCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, first_shared_code, substitutable};
use crate::gate::{Gate, gate, made_under};
use crate::ingredient::same_active_moiety;
use crate::policy::{LastFill, NtiRule, SubstitutionContext};
use crate::record::{ApplType, Application, MarketingStatus, ObProduct, ProductKey};
use crate::te::TeCode;

/// Why a product is on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum ChoiceReason {
    /// The product as written.
    #[serde(deserialize_with = "pharm_core::serde_strict::no_fields")]
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
    /// The product's key.
    pub key: ProductKey,
    /// The product's Orange Book row; `None` only in a degraded answer given without a
    /// catalog ([`Degraded::NoCatalog`]), where the written key is all that is known.
    pub product: Option<&'c ObProduct>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
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
    /// NTI refill without consent: only products of the last fill's manufacturer, i.e. of
    /// its application, are offered (the written product too only when it is one of them).
    SameManufacturer {
        /// The last fill's application.
        application: Application,
    },
    /// NTI refill without consent, and no product of the last fill's manufacturer may be
    /// dispensed: none is A-rated to the written product (nor is the written product one),
    /// or the last fill's product is not known. `choices` is empty: dispensing anything,
    /// the written product included, changes the manufacturer and needs the consent the
    /// state requires (prescriber, patient or both). Ask again with
    /// [`consent`](crate::policy::SubstitutionContext::consent) recorded to get the
    /// products allowed then.
    SameManufacturerUnavailable {
        /// State.
        state: String,
        /// The last fill.
        last_fill: LastFill,
    },
}

/// Why the answer is the written product only, because the catalog is missing or cannot be
/// trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
pub enum Degraded {
    /// No Orange Book release is loaded.
    #[serde(deserialize_with = "pharm_core::serde_strict::no_fields")]
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
    /// formulary tier, unit cost). The written product is among them, except under the
    /// same-manufacturer refill rule when it is not a product of the last fill's
    /// application ([`Restriction::SameManufacturer`]); when nothing from that manufacturer
    /// may be dispensed the list is empty and the restriction is
    /// [`Restriction::SameManufacturerUnavailable`] (consent needed), never a silent change
    /// of manufacturer.
    pub choices: Vec<Choice<'c>>,
    /// Set when state law or DAW withheld substitutes.
    pub restriction: Option<Restriction>,
    /// Set when the catalog is missing or stale: the written product as the one choice
    /// (see [`Snapshot::substitutes`](crate::service::Snapshot::substitutes)).
    pub degraded: Option<Degraded>,
    /// The state requires consent that was not recorded: for an NTI substitution
    /// ([`Restriction::Nti`] under [`NtiRule::RequireConsent`]) or for a change of
    /// manufacturer on a refill ([`Restriction::SameManufacturer`],
    /// [`Restriction::SameManufacturerUnavailable`]). Ask again with
    /// [`consent`](crate::policy::SubstitutionContext::consent) recorded once it is given.
    pub consent_needed: bool,
}

/// Whether `restriction` withholds products only for want of the consent the state asks
/// for (see [`Substitutes::consent_needed`]).
pub(crate) fn consent_needed(
    restriction: Option<&Restriction>,
    ctx: &SubstitutionContext<'_>,
) -> bool {
    match restriction {
        Some(Restriction::Nti { .. }) => ctx.policy.nti_rule == NtiRule::RequireConsent,
        Some(
            Restriction::SameManufacturer { .. } | Restriction::SameManufacturerUnavailable { .. },
        ) => true,
        _ => false,
    }
}

/// The product key is not in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("product {0} is not in the loaded Orange Book release")]
pub struct UnknownProduct(pub ProductKey);

fn is_brand(key: &ProductKey) -> bool {
    key.appl_type == ApplType::Nda
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
        .then_with(|| a.key.cmp(&b.key))
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
        let mut choices = Vec::new();
        let restriction = match gate(written, ctx) {
            Gate::Open => {
                choices.push(Choice::of(written, ChoiceReason::AsWritten, ctx));
                for (n, code) in self.neighbors(index) {
                    let p = &self.products()[n];
                    choices.push(Choice::of(p, ChoiceReason::Equivalent { code }, ctx));
                }
                None
            }
            Gate::WrittenOnly(r) => {
                choices.push(Choice::of(written, ChoiceReason::AsWritten, ctx));
                Some(r)
            }
            Gate::SameMaker {
                last_fill,
                equivalents,
            } => {
                if made_under(written, last_fill) {
                    choices.push(Choice::of(written, ChoiceReason::AsWritten, ctx));
                }
                if equivalents {
                    for (n, code) in self.neighbors(index) {
                        let p = &self.products()[n];
                        if made_under(p, last_fill) {
                            choices.push(Choice::of(p, ChoiceReason::Equivalent { code }, ctx));
                        }
                    }
                }
                Some(match (last_fill, choices.is_empty()) {
                    (LastFill::Application(application), false) => {
                        Restriction::SameManufacturer { application }
                    }
                    _ => Restriction::SameManufacturerUnavailable {
                        state: ctx.policy.state.clone(),
                        last_fill,
                    },
                })
            }
        };
        assign_daw(&mut choices, restriction.as_ref(), ctx);
        choices.sort_by(rank);
        Ok(Substitutes {
            original: *original,
            choices,
            consent_needed: consent_needed(restriction.as_ref(), ctx),
            restriction,
            degraded: None,
        })
    }

    /// Whether the product is single source: no other product of the release is A-rated to
    /// it (it has no equivalence edge), so nothing may be substituted for it. This is the
    /// Orange Book's "single-source drug" (an RLD with no A-rated pharmaceutical equivalent
    /// on the market), i.e. the product is not a "multiple source drug" as 42 U.S.C.
    /// 1396r-8(k)(7) defines it (at least one other marketed product rated therapeutically
    /// equivalent in the Orange Book). The statute's "single source drug" is narrower (a
    /// drug marketed under an original NDA); this is the Orange Book test only. It applies
    /// to any product: a B-rated, blank-coded, OTC or discontinued product has no
    /// equivalents, so it is single source too.
    pub fn is_single_source(&self, key: &ProductKey) -> Result<bool, UnknownProduct> {
        let index = self.index_of(key).ok_or(UnknownProduct(*key))?;
        Ok(self.neighbors(index).next().is_none())
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
            return not(if same_moieties(pa, pb) {
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
            let forbidden = match gate(pa, ctx) {
                Gate::Open => None,
                Gate::WrittenOnly(Restriction::DawForbids { daw }) => {
                    Some(NotEquivalentReason::DawForbids { daw })
                }
                Gate::WrittenOnly(_) => Some(NotEquivalentReason::StateListForbids {
                    state: ctx.policy.state.clone(),
                }),
                Gate::SameMaker {
                    last_fill,
                    equivalents,
                } => (!equivalents || !made_under(pb, last_fill)).then(|| {
                    NotEquivalentReason::StateListForbids {
                        state: ctx.policy.state.clone(),
                    }
                }),
            };
            if let Some(reason) = forbidden {
                return not(reason);
            }
        }
        Ok(Explanation::Equivalent { codes: shared })
    }
}

/// Both products have as many ingredients, and each ingredient of either has the active
/// moiety of one of the other's (a different salt or ester of the same drugs).
fn same_moieties(a: &ObProduct, b: &ObProduct) -> bool {
    a.ingredients.len() == b.ingredients.len()
        && a.ingredients
            .iter()
            .all(|x| b.ingredients.iter().any(|y| same_active_moiety(x, y)))
        && b.ingredients
            .iter()
            .all(|y| a.ingredients.iter().any(|x| same_active_moiety(x, y)))
}

impl<'c> Choice<'c> {
    /// A choice of a catalog product, with the caller's market facts and DAW 0 (assigned
    /// later).
    fn of(product: &'c ObProduct, reason: ChoiceReason, ctx: &SubstitutionContext<'_>) -> Self {
        let facts = ctx.market.facts(&product.key);
        Choice {
            key: product.key,
            product: Some(product),
            reason,
            daw: DawCode::NoSelection,
            in_stock: facts.in_stock,
            formulary_tier: facts.formulary_tier,
            unit_cost: facts.unit_cost,
        }
    }
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
    let generics = choices.iter().filter(|c| !is_brand(&c.key));
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
        c.daw = if by_law && c.reason == ChoiceReason::AsWritten && is_brand(&c.key) {
            DawCode::BrandMandatedByLaw
        } else if !is_brand(&c.key) || !any_generic {
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub enum NotEquivalentReason {
    /// Both keys name the same product.
    #[serde(deserialize_with = "pharm_core::serde_strict::no_fields")]
    SameProduct,
    /// A product is discontinued.
    Discontinued {
        /// Which.
        product: ProductKey,
    },
    /// One is OTC and the other RX.
    #[serde(deserialize_with = "pharm_core::serde_strict::no_fields")]
    OtcVsRx,
    /// Both are OTC (no TE codes for OTC products).
    #[serde(deserialize_with = "pharm_core::serde_strict::no_fields")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[serde(deny_unknown_fields)]
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
