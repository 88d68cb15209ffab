//! A synthetic, full-size FDA Orange Book `products.txt` and the helpers that the load
//! test's substitution desk ([`crate::subst_desk`]), the `substitution` benchmark and the
//! `subst-memory` binary share.
//!
//! [`generate_products_txt`] writes a file with the header, delimiter and mix of the real
//! FDA `products.txt`: about 2,500 drug "molecules" (ingredient
//! sets, with salts and some combinations), each with 1–4 dosage forms and 1–6 strengths;
//! per form a brand NDA (`RLD=Yes`) plus a heavy-tailed number of ANDA generics (many
//! single-source drugs, a median of a few generics, a few groups of 25–40 like
//! atorvastatin); TE codes mostly `AB`, some `AA`/`AT`/`AP`/`AN`, about 1 % B codes,
//! about 1 % of the groups multi-coded like levothyroxine (`AB1,AB2` …) and about 1 % with
//! two numbered reference drugs like Cialis `AB1` / Adcirca `AB2`; about 35 % `DISCN` and
//! 5 % `OTC` rows with a blank TE code; real strength spellings (`EQ 10MG BASE`,
//! `325MG;50MG`, `50,000 IU`, multi-phase, the ` **Federal Register determination…**` and
//! ` **See current Annual Edition…` notes, a few trailing spaces) and both approval-date
//! forms. The first molecules are real ones (atorvastatin, levothyroxine, tadalafil,
//! Caduet, potassium chloride ER, ergocalciferol, a phased contraceptive) so a benchmark
//! can ask about familiar products; the rest are invented.
//!
//! Everything is deterministic: the same seed and row count give the same bytes.

mod draw;
mod generator;
mod hasher;
mod market;
mod plan;
mod report;
mod seed_plans;
#[cfg(test)]
mod tests;
mod text;
mod words;

use pharm_subst::catalog::{Catalog, DuplicateKey};
use pharm_subst::products::{
    ParseLimits, ParseMode, ParsedProducts, ProductsError, parse_products,
};

pub use hasher::{FxHashMap, FxHasher};
pub use market::{KeyMix, StockRow, StockTable, sample_keys, uniform_keys};
pub use report::{CatalogSummary, SIZE_BINS};

use generator::Gen;
use seed_plans::seed_plans;

/// The current 14-column `products.txt` header, verbatim.
pub const HEADER: &str = "Ingredient~DF;Route~Trade_Name~Applicant~Strength~Appl_Type~Appl_No~Product_No~TE_Code~Approval_Date~RLD~RS~Type~Applicant_Full_Name";

/// Row count of a full-size file (the mid-2026 release has about 50–57k rows).
pub const DEFAULT_ROWS: usize = 55_000;

/// Seed of the benchmark's file.
pub const DEFAULT_SEED: u64 = 0x0B0B_2026_0527;

/// Largest row count [`generate_products_txt`] accepts.
pub const MAX_ROWS: usize = 1_000_000;

const FR_NOTE: &str = " **Federal Register determination that product was not discontinued or withdrawn for safety or effectiveness reasons**";

/// A synthetic `products.txt` with `rows` data rows (plus the header), LF line ends.
///
/// # Panics
///
/// If `rows` is more than [`MAX_ROWS`].
pub fn generate_products_txt(seed: u64, rows: usize) -> String {
    assert!(rows <= MAX_ROWS, "at most {MAX_ROWS} rows");
    let mut g = Gen::new(seed);
    for plan in seed_plans(&g) {
        if g.rows.len() >= rows {
            break;
        }
        g.emit(&plan);
    }
    while g.rows.len() < rows {
        g.synthetic_molecule();
    }
    g.rows.truncate(rows);
    g.render()
}

/// Why a generated file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The parser refused the file.
    #[error("parse: {0}")]
    Parse(ProductsError),
    /// Two rows with one key.
    #[error("build: {0}")]
    Duplicate(DuplicateKey),
}

/// Parses `products.txt` text in strict mode with the default limits.
pub fn parse_strict(text: &str) -> Result<ParsedProducts, LoadError> {
    parse_products(text.as_bytes(), ParseMode::Strict, &ParseLimits::default())
        .map_err(LoadError::Parse)
}

/// Parses `products.txt` text in strict mode and builds the catalog: the load path the
/// `load/parse_and_build` benchmark times.
pub fn load_catalog(text: &str) -> Result<Catalog, LoadError> {
    let parsed = parse_strict(text)?;
    Catalog::build(parsed.products).map_err(LoadError::Duplicate)
}
