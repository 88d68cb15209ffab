//! # pharm-subst
//!
//! FDA Orange Book loader and therapeutic-equivalence substitution graph. At the counter a
//! technician scans the written product; [`Catalog::substitutes`]
//! answers in microseconds with the A-rated products the store may legally dispense instead,
//! ranked by the caller's stock, formulary and cost data, each with the DAW code that fits
//! the choice; [`Catalog::explain`] says why two products are or
//! are not interchangeable.
//!
//! Equivalence is a graph, not a set of classes: an edge joins two marketed RX products that
//! are pharmaceutically equivalent (same ingredients including salt, dosage form, route and
//! normalized strength) and share at least one A-code token, so multi-coded levothyroxine
//! (`AB1,AB2` vs `AB4`) and tadalafil (`AB1` Cialis vs `AB2` Adcirca) come out right.
//!
//! No I/O: files arrive as bytes, stock/formulary/cost through the [`policy::Market`] trait,
//! state law as [`policy::SubstitutionPolicy`] data, today's date as an argument.
//!
//! ## Example
//!
//! ```
//! use pharm_subst::products::{parse_products, ParseLimits, ParseMode};
//! use pharm_subst::{Catalog, NoMarket, SubstitutionContext, SubstitutionPolicy};
//!
//! let file = "Ingredient~DF;Route~Trade_Name~Applicant~Strength~Appl_Type~Appl_No~Product_No~TE_Code~Approval_Date~RLD~RS~Type~Applicant_Full_Name
//! TADALAFIL~TABLET;ORAL~CIALIS~LILLY~20MG~N~021368~003~AB1~Nov 21, 2003~Yes~Yes~RX~ELI LILLY AND CO
//! TADALAFIL~TABLET;ORAL~ADCIRCA~ELI LILLY CO~20MG~N~022332~001~AB2~May 22, 2009~Yes~No~RX~ELI LILLY AND CO
//! TADALAFIL~TABLET;ORAL~TADALAFIL~CIPLA~20MG~A~209539~004~AB1~Sep 27, 2018~No~No~RX~CIPLA LTD
//! ";
//! let parsed = parse_products(file.as_bytes(), ParseMode::Strict, &ParseLimits::default())?;
//! let catalog = Catalog::build(parsed.products)?;
//!
//! let policy = SubstitutionPolicy::permissive("TX");
//! let ctx = SubstitutionContext::new(&policy, &NoMarket);
//! let cialis = "N021368-003".parse()?;
//! let answer = catalog.substitutes(&cialis, &ctx)?;
//! let keys: Vec<String> = answer.choices.iter().map(|c| c.key.to_string()).collect();
//! assert_eq!(keys, ["N021368-003", "A209539-004"]); // Adcirca (AB2) is not a substitute
//!
//! // The owned answer the bindings return: serde-complete, no borrow of the catalog.
//! let owned = answer.to_answer(None);
//! assert_eq!(owned.choices[1].te_codes[0].to_string(), "AB1");
//! assert!(!owned.consent_needed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Product identity
//!
//! A product has three identities, and [`ProductMap`] translates between them:
//!
//! * the store's **sku** (`u32`): the dense id of an item in a store's catalog, the key of
//!   pharm-sync's inventory; one sku is one package;
//! * the package **NDC** ([`pharm_core::ids::Ndc`], 21 CFR 207.33): what is scanned and
//!   billed; its labeler and product codes (the product NDC) name the labeler's product;
//! * the Orange Book **[`ProductKey`]** (application type and number, product number): the
//!   unit of therapeutic equivalence, what [`Catalog::substitutes`] speaks.
//!
//! sku → NDC is one-to-one, NDC → product key many-to-one (labelers, repackagers, pack
//! sizes); the NDC Directory ties product NDCs to product keys
//! ([`ndc_index::NdcIndex`]), and [`ProductMap::resolve`] builds a store's map from its
//! (sku, NDC) list through it. Unknown and ambiguous lookups are typed errors
//! ([`ProductMapError`]).
//!
//! ## Boundary types and errors
//!
//! [`SubstitutionAnswer`] and [`ExplainAnswer`] are the owned, serde-complete answers the
//! C ABI and the Python wheel return (unknown fields are rejected when read); their golden
//! vectors are in the repository's `testdata/golden/subst/`. Every public error has a stable
//! code in 2000-2999 and an id `subst.*` ([`pharm_core::error_code::ErrorCode`]), listed in
//! [`ERROR_CODES`].
//!
//! ## Modules
//!
//! - [`products`]: `products.txt` (13- and 14-column layouts, strict or lenient with a
//!   bounded number of kept rejects), `patent.txt`, `exclusivity.txt`; [`te`], [`strength`],
//!   [`approval`] parse the fields; [`ingredient`] splits ingredient lists and compares
//!   names by active moiety.
//! - [`catalog`]: the loaded release and its petgraph equivalence graph.
//! - [`answer`]: the owned answers; [`product_map`]: sku ↔ NDC ↔ product key.
//! - [`query`]: substitutes, explanations, single-source checks, DAW codes, restrictions;
//!   [`query_doc`]: the JSON query documents of the bindings.
//! - [`policy`]: state substitution law as data, market lookups, the query context.
//! - [`service`]: atomic release swaps, diff summaries, degraded mode for a missing or
//!   stale release.
//! - [`ndc_directory`] and [`ndc_index`]: the FDA NDC Directory loader and NDC → product lookup.
#![forbid(unsafe_code)]

pub use answer::{ChoiceAnswer, ExplainAnswer, Package, SubstitutionAnswer};
pub use binding_input::BindingInputError;
pub use catalog::{Catalog, DuplicateKey};
pub use error_codes::ERROR_CODES;
pub use policy::{
    LastFill, Market, MarketFacts, MarketTable, NoMarket, NtiRule, SubstitutionContext,
    SubstitutionPolicy,
};
pub use product_map::{ProductMap, ProductMapError, ProductRow};
pub use products::{ProductsError, RowError, RowErrorKind};
pub use query::{
    Choice, ChoiceReason, Degraded, Explanation, NotEquivalentReason, Restriction, Substitutes,
    UnknownProduct,
};
pub use record::{Application, ObProduct, ProductKey};
pub use service::{ExplainError, Release, Snapshot, SubstitutionService};
pub use te::TeCode;

pub mod answer;
#[cfg(doctest)]
mod api_boundary;
pub mod approval;
mod binding_input;
pub mod catalog;
mod error_codes;
mod gate;
pub mod ingredient;
pub mod ndc_directory;
pub mod ndc_index;
pub mod policy;
pub mod product_map;
pub mod products;
pub mod query;
pub mod query_doc;
pub mod record;
mod serde_strict;
mod serde_text;
pub mod service;
pub mod strength;
pub mod te;
