//! One (ingredients, dosage form) planned before it is written out: its brands, generics,
//! TE-code scheme and the rows it becomes.

use super::words::FormSpec;

/// Numbering of the TE codes in one (molecule, form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    /// One reference: every A-rated product carries the plain code (`AB`).
    Single,
    /// Two references (Cialis `AB1` / Adcirca `AB2`): brand `i` is `AB{i+1}`; each ANDA
    /// references one of them.
    TwoRld,
    /// Levothyroxine style: `k` references, products carry sets such as `AB1,AB2`.
    MultiCode(u8),
}

#[derive(Debug, Clone)]
pub(super) struct BrandPlan {
    pub(super) trade_name: String,
    pub(super) applicant: u32,
    pub(super) rld: bool,
    /// Indices into the plan's strengths.
    pub(super) strengths: Vec<usize>,
    /// Reference numbers carried (empty: the plain code).
    pub(super) codes: Vec<u8>,
    pub(super) year: u32,
    /// The real application number (seed molecules); drawn at random otherwise.
    pub(super) appl_no: Option<u32>,
}

#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) ingredient: String,
    pub(super) generic_name: String,
    pub(super) form: FormSpec,
    pub(super) strengths: Vec<String>,
    pub(super) brands: Vec<BrandPlan>,
    /// Fixed generic code sets (multi-code seeds); drawn at random when empty.
    pub(super) generic_codes: Vec<Vec<u8>>,
    pub(super) generics: usize,
    pub(super) scheme: Scheme,
    /// Plain A code (`AB`, `AA`, `AP` …).
    pub(super) family: &'static str,
    pub(super) otc: bool,
    pub(super) all_discn: bool,
    /// Percent chance that a brand strength is discontinued.
    pub(super) brand_discn: u32,
    /// ` **See current Annual Edition…` note on the multi-coded rows.
    pub(super) special_note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Status {
    Rx,
    Otc,
    Discn,
}

#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) ingredient: String,
    pub(super) df_route: &'static str,
    pub(super) trade_name: String,
    pub(super) applicant: u32,
    pub(super) strength: String,
    pub(super) strength_rank: usize,
    pub(super) nda: bool,
    pub(super) appl_no: u32,
    pub(super) product_no: u16,
    pub(super) te: String,
    pub(super) approval: String,
    pub(super) rld: bool,
    pub(super) rs: bool,
    pub(super) status: Status,
}

pub(super) struct Firm {
    pub(super) short: String,
    pub(super) full: String,
}
