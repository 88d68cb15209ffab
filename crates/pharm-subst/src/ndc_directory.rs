//! Loader for the FDA NDC Directory `product.txt` and matching of its entries to Orange Book
//! products.
//!
//! # File
//! TAB-delimited, one header line, columns mapped by name (unknown columns ignored), no
//! quoting; LF or CRLF; fields trimmed. Required columns: `PRODUCTNDC`, `DOSAGEFORMNAME`,
//! `ROUTENAME`, `MARKETINGCATEGORYNAME`, `APPLICATIONNUMBER`, `ACTIVE_NUMERATOR_STRENGTH`,
//! `ACTIVE_INGRED_UNIT`. Optional (empty when absent): `PRODUCTID`, `PRODUCTTYPENAME`,
//! `PROPRIETARYNAME`, `NONPROPRIETARYNAME`, `LABELERNAME`, `SUBSTANCENAME`.
//!
//! * `PRODUCTNDC` is the hyphenated labeler-product code in one of the three NDC layouts
//!   (`4-4`, `5-3`, `5-4` digits).
//! * `APPLICATIONNUMBER` `NDA020702` / `ANDA076477` becomes `application: Some((type, number))`;
//!   a blank number or another kind (`BLA…`, OTC monograph `M…`, `part…`) becomes `None`
//!   (such products are not in the Orange Book). `NDA`/`ANDA` followed by anything but 1–6
//!   digits is a row error.
//! * `ACTIVE_NUMERATOR_STRENGTH` and `ACTIVE_INGRED_UNIT` are `;`-joined lists that must have the
//!   same length; numbers are plain decimals (`10`, `.5`, `0.025`).
//!
//! Rows that are not UTF-8 are rejected (no encoding is guessed). Real `product.txt` files are
//! larger than `products.txt` and some rows are long; [`ParseLimits`] from
//! [`ndc_directory_limits`] are a suitable default.
//!
//! # Matching
//! [`NdcIndex`](crate::ndc_index::NdcIndex) matches each entry to an Orange Book product.
//! Candidates are the products of the entry's application; a candidate survives when all of
//! these hold:
//!
//! * **Dosage form.** Compared as upper-case words, commas ignored. An *exact* match is equal
//!   words. A *compatible* match is the forms being equal once the NDC coating segments
//!   `FILM COATED`, `COATED` and `SUGAR COATED` are removed (`TABLET` ↔ `TABLET, FILM COATED`;
//!   `TABLET, EXTENDED RELEASE` ↔ `TABLET, FILM COATED, EXTENDED RELEASE`). Anything else does
//!   not match: `TABLET` is not `TABLET, EXTENDED RELEASE` nor `TABLET, CHEWABLE`.
//! * **Route.** The sets of routes are equal (Orange Book routes split on `,`, NDC routes on
//!   `;`; `BUCCAL, SUBLINGUAL` ↔ `BUCCAL; SUBLINGUAL`), ignoring case.
//! * **Strength.** Every Orange Book ingredient strength is one single-phase amount, there are
//!   as many as NDC strengths, and they pair up one-to-one (in any order) with equal values:
//!   - units are compared ignoring case and `[` `]` (`[iU]` = `IU`; `UNITS` = `UNIT` =
//!     `[USP'U]`); mass units convert exactly
//!     (`KG`, `G`/`GM`, `MG`, `MCG`/`UG`, `NG`), as do volume (`L`, `ML`) and time
//!     (`D`/`DAY` = 24 `H`/`HR`/`HOUR`); other units must be equal;
//!   - an NDC `…/1` (per dosage unit) matches an Orange Book amount with no `/`, or whose `/`
//!     part is a bare count word (`/ACTUATION`, `/INH`, `/SPRAY`, `/VIAL`);
//!   - quantities per measured amount compare as exact ratios (`25MG/5ML` = `5 mg/mL`);
//!   - an Orange Book `%` is read as grams per 100 g against an NDC mass-per-mass unit
//!     (`0.05%` = `0.5 mg/g`) and as grams per 100 mL against a mass-per-volume unit;
//!   - `EQ` and the basis (`BASE`…) are not compared: NDC strengths state the labelled
//!     amount, which is what `EQ … BASE` records.
//!
//!   Multi-phase strengths (`0.02MG,0.1MG;…`) and unparsed strength text never match.
//!
//! When several candidates survive and some match the dosage form exactly, only those are
//! kept. One survivor is unique, several are ambiguous (reported, never guessed).

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::ingredient::split_ingredient_list;
use crate::products::{
    Columns, Fault, ParseLimits, ParseMode, ProductsError, RowError, RowErrorKind, TableSpec,
    parse_digits, parse_table,
};
use crate::record::{ApplType, ObProduct};
use crate::strength::{Amount, Phase};

/// Errors loading the NDC Directory (same shape as for `products.txt`).
pub type NdcDirectoryError = ProductsError;

/// Limits suited to the NDC Directory `product.txt`: 512 MiB input, 64 KiB lines.
pub const fn ndc_directory_limits() -> ParseLimits {
    ParseLimits {
        max_bytes: 512 << 20,
        max_line_bytes: 64 << 10,
        max_rejects: crate::products::DEFAULT_MAX_REJECTS,
    }
}

/// One NDC Directory product (a labeler-product code, all its packages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdcProduct {
    /// `PRODUCTID` (e.g. `0071-0155_0a1b…`), empty when the column is absent.
    pub product_id: String,
    /// `PRODUCTNDC` as written (`0071-0155`).
    pub product_ndc: String,
    /// Labeler code (first segment of `PRODUCTNDC`).
    pub labeler: u32,
    /// Product code (second segment of `PRODUCTNDC`).
    pub product_code: u16,
    /// Number of digits in the labeler segment (4 or 5); with the product segment this
    /// fixes the NDC layout (`4-4`, `5-3`, `5-4`).
    pub labeler_digits: u8,
    /// Number of digits in the product segment (3 or 4).
    pub product_digits: u8,
    /// `PRODUCTTYPENAME` (`HUMAN PRESCRIPTION DRUG`…).
    pub product_type: String,
    /// `PROPRIETARYNAME`.
    pub proprietary_name: String,
    /// `NONPROPRIETARYNAME`.
    pub nonproprietary_name: String,
    /// `DOSAGEFORMNAME` (`TABLET, FILM COATED`).
    pub dosage_form: String,
    /// `ROUTENAME` (`ORAL`; several joined by `; `).
    pub route: String,
    /// `MARKETINGCATEGORYNAME` (`NDA`, `ANDA`, `NDA AUTHORIZED GENERIC`, `BLA`…).
    pub marketing_category: String,
    /// `APPLICATIONNUMBER` as written (`ANDA076477`, `BLA125057`, or empty).
    pub application_number: String,
    /// NDA/ANDA application, when `APPLICATIONNUMBER` is one.
    pub application: Option<(ApplType, u32)>,
    /// `LABELERNAME`.
    pub labeler_name: String,
    /// `SUBSTANCENAME`, split on every `;` outside parentheses
    /// ([`split_ingredient_list`]).
    pub substances: Vec<String>,
    /// `ACTIVE_NUMERATOR_STRENGTH` paired with `ACTIVE_INGRED_UNIT` (`(10, "mg/1")`).
    pub strengths: Vec<(Decimal, String)>,
}

/// The result of loading the NDC Directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedNdcDirectory {
    /// Entries in file order.
    pub entries: Vec<NdcProduct>,
    /// Rows skipped in lenient mode (the first [`ParseLimits::max_rejects`]).
    pub rejects: Vec<RowError>,
    /// Rows skipped in lenient mode beyond those kept in [`rejects`](Self::rejects).
    pub omitted_rejects: usize,
}

const C_NDC: &str = "PRODUCTNDC";
const C_FORM: &str = "DOSAGEFORMNAME";
const C_ROUTE: &str = "ROUTENAME";
const C_CATEGORY: &str = "MARKETINGCATEGORYNAME";
const C_APPL: &str = "APPLICATIONNUMBER";
const C_NUM: &str = "ACTIVE_NUMERATOR_STRENGTH";
const C_UNIT: &str = "ACTIVE_INGRED_UNIT";
const C_ID: &str = "PRODUCTID";
const C_TYPE: &str = "PRODUCTTYPENAME";
const C_PROP: &str = "PROPRIETARYNAME";
const C_NONPROP: &str = "NONPROPRIETARYNAME";
const C_LABELER: &str = "LABELERNAME";
const C_SUBST: &str = "SUBSTANCENAME";

const NDC_SPEC: TableSpec = TableSpec {
    delimiter: b'\t',
    row_bytes_hint: 256,
    required: &[C_NDC, C_FORM, C_ROUTE, C_CATEGORY, C_APPL, C_NUM, C_UNIT],
    optional: &[C_ID, C_TYPE, C_PROP, C_NONPROP, C_LABELER, C_SUBST],
};

/// Loads the NDC Directory `product.txt`.
pub fn parse_ndc_directory(
    input: &[u8],
    mode: ParseMode,
    limits: &ParseLimits,
) -> Result<ParsedNdcDirectory, NdcDirectoryError> {
    let table = parse_table(input, &NDC_SPEC, mode, limits, |_, cols, f| {
        ndc_row(cols, f)
    })?;
    Ok(ParsedNdcDirectory {
        entries: table.rows,
        rejects: table.rejects,
        omitted_rejects: table.omitted_rejects,
    })
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(';').map(str::trim)
}

/// Parses `PRODUCTNDC`: `(labeler, product, labeler digits, product digits)`.
fn parse_product_ndc(s: &str) -> Option<(u32, u16, u8, u8)> {
    let (l, p) = s.split_once('-')?;
    if !matches!((l.len(), p.len()), (4, 4) | (5, 3) | (5, 4)) {
        return None;
    }
    let labeler = parse_digits(l, 5)?;
    let product = u16::try_from(parse_digits(p, 4)?).ok()?;
    Some((
        labeler,
        product,
        u8::try_from(l.len()).ok()?,
        u8::try_from(p.len()).ok()?,
    ))
}

fn parse_application(s: &str) -> Result<Option<(ApplType, u32)>, Fault> {
    let (t, rest) = if let Some(r) = s.strip_prefix("ANDA") {
        (ApplType::Anda, r)
    } else if let Some(r) = s.strip_prefix("NDA") {
        (ApplType::Nda, r)
    } else {
        return Ok(None);
    };
    parse_digits(rest, 6)
        .map(|n| Some((t, n)))
        .ok_or_else(|| Fault::invalid(C_APPL, s, "NDA or ANDA followed by 1-6 digits"))
}

/// A plain non-negative decimal: digits with an optional fraction, or `.5`.
fn parse_plain_decimal(s: &str) -> Option<Decimal> {
    if s.is_empty() || s.len() > 32 {
        return None;
    }
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if !digits(i) || !digits(f) || (i.is_empty() && f.is_empty()) || (s.ends_with('.')) {
        return None;
    }
    let text = if i.is_empty() {
        format!("0{s}")
    } else {
        s.to_owned()
    };
    Decimal::from_str_exact(&text).ok().map(|d| d.normalize())
}

fn ndc_row(cols: &Columns, f: &[&str]) -> Result<NdcProduct, Fault> {
    let req = |i: usize| f.get(cols.req(i)).copied().unwrap_or("");
    // Optional columns follow the required ones in the resolved positions.
    let opt = |i: usize| {
        cols.opt(NDC_SPEC.required.len() + i)
            .and_then(|p| f.get(p).copied())
            .unwrap_or("")
    };
    let product_ndc = req(0);
    if product_ndc.is_empty() {
        return Err(Fault::at(C_NDC, RowErrorKind::Empty));
    }
    let (labeler, product_code, labeler_digits, product_digits) = parse_product_ndc(product_ndc)
        .ok_or_else(|| {
            Fault::invalid(
                C_NDC,
                product_ndc,
                "a labeler-product NDC (4-4, 5-3 or 5-4 digits)",
            )
        })?;
    let application_number = req(4);
    let application = parse_application(application_number)?;
    let nums = req(5);
    let units = req(6);
    let mut strengths = Vec::new();
    if !(nums.is_empty() && units.is_empty()) {
        let n: Vec<&str> = split_list(nums).collect();
        let u: Vec<&str> = split_list(units).collect();
        if n.len() != u.len() {
            return Err(Fault::invalid(
                C_UNIT,
                units,
                "as many units as ACTIVE_NUMERATOR_STRENGTH values",
            ));
        }
        for (v, unit) in n.iter().zip(&u) {
            let value = parse_plain_decimal(v)
                .ok_or_else(|| Fault::invalid(C_NUM, nums, "a list of plain decimal numbers"))?;
            if unit.is_empty() {
                return Err(Fault::invalid(C_UNIT, units, "a list of non-empty units"));
            }
            strengths.push((value, (*unit).to_owned()));
        }
    }
    let substances = match opt(5) {
        "" => Vec::new(),
        s => split_ingredient_list(s).ok_or_else(|| {
            Fault::invalid(
                C_SUBST,
                s,
                "names separated by `;` (outside parentheses), none empty, parentheses balanced",
            )
        })?,
    };
    Ok(NdcProduct {
        product_id: opt(0).to_owned(),
        product_ndc: product_ndc.to_owned(),
        labeler,
        product_code,
        labeler_digits,
        product_digits,
        product_type: opt(1).to_owned(),
        proprietary_name: opt(2).to_owned(),
        nonproprietary_name: opt(3).to_owned(),
        dosage_form: req(1).to_owned(),
        route: req(2).to_owned(),
        marketing_category: req(3).to_owned(),
        application_number: application_number.to_owned(),
        application,
        labeler_name: opt(4).to_owned(),
        substances,
        strengths,
    })
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

/// Outcome of matching one NDC Directory entry to the Orange Book.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum NdcMatch {
    /// Exactly one Orange Book product fits (index into the product slice).
    Unique(usize),
    /// Several fit equally well; indexes ascending. Never resolved by guessing.
    Ambiguous(Vec<usize>),
    /// The entry has no NDA/ANDA application number (BLA, OTC monograph, unapproved…).
    NoApplication,
    /// The application has no product with this dosage form, route and strength (or the
    /// application is not in the Orange Book at all).
    NotFound,
}

/// Orange Book product indexes by application (type and number).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ApplicationIndex {
    map: HashMap<(ApplType, u32), Vec<usize>>,
}

impl ApplicationIndex {
    /// Indexes `products` by `(appl_type, appl_no)`.
    pub(crate) fn new(products: &[ObProduct]) -> Self {
        let mut map: HashMap<(ApplType, u32), Vec<usize>> = HashMap::new();
        for (i, p) in products.iter().enumerate() {
            map.entry((p.key.appl_type, p.key.appl_no))
                .or_default()
                .push(i);
        }
        ApplicationIndex { map }
    }

    /// Indexes of the products of one application (empty when unknown).
    pub(crate) fn get(&self, appl_type: ApplType, appl_no: u32) -> &[usize] {
        self.map
            .get(&(appl_type, appl_no))
            .map_or(&[], Vec::as_slice)
    }
}

/// [`match_product`] with an [`ApplicationIndex`] built over the same `products`.
pub(crate) fn match_product_indexed(
    entry: &NdcProduct,
    products: &[ObProduct],
    index: &ApplicationIndex,
) -> NdcMatch {
    match_product(entry, products, |t, n| index.get(t, n).iter().copied())
}

/// Finds the Orange Book product an NDC Directory entry is, by the rules of the module
/// docs (# Matching). `by_application(type, number)` returns the candidates' indexes into
/// `products`; out-of-range indexes are ignored.
pub(crate) fn match_product<I>(
    entry: &NdcProduct,
    products: &[ObProduct],
    by_application: impl Fn(ApplType, u32) -> I,
) -> NdcMatch
where
    I: IntoIterator<Item = usize>,
{
    let Some((t, n)) = entry.application else {
        return NdcMatch::NoApplication;
    };
    let mut exact = Vec::new();
    let mut compatible = Vec::new();
    for i in by_application(t, n) {
        let Some(p) = products.get(i) else { continue };
        let Some(level) = form_match(&p.dosage_form, &entry.dosage_form) else {
            continue;
        };
        if !route_match(&p.route, &entry.route) || !strength_match(p, &entry.strengths) {
            continue;
        }
        match level {
            FormMatch::Exact => exact.push(i),
            FormMatch::Compatible => compatible.push(i),
        }
    }
    let mut chosen = if exact.is_empty() { compatible } else { exact };
    chosen.sort_unstable();
    chosen.dedup();
    match chosen.as_slice() {
        [] => NdcMatch::NotFound,
        [one] => NdcMatch::Unique(*one),
        _ => NdcMatch::Ambiguous(chosen),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormMatch {
    Exact,
    Compatible,
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

fn segments(s: &str) -> Vec<String> {
    s.split(',')
        .map(|seg| {
            seg.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_ascii_uppercase()
        })
        .filter(|seg| !seg.is_empty())
        .collect()
}

const COATINGS: [&str; 3] = ["FILM COATED", "COATED", "SUGAR COATED"];

fn form_match(ob: &str, ndc: &str) -> Option<FormMatch> {
    let (ow, nw) = (words(ob), words(ndc));
    if ow.is_empty() {
        return None;
    }
    if ow == nw {
        return Some(FormMatch::Exact);
    }
    let ns: Vec<String> = segments(ndc)
        .into_iter()
        .filter(|s| !COATINGS.contains(&s.as_str()))
        .collect();
    (segments(ob) == ns).then_some(FormMatch::Compatible)
}

fn route_set(s: &str, sep: char) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(sep)
        .map(|r| {
            r.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_ascii_uppercase()
        })
        .filter(|r| !r.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn route_match(ob: &str, ndc: &str) -> bool {
    let o = route_set(ob, ',');
    !o.is_empty() && o == route_set(ndc, ';')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dim {
    Mass,
    Volume,
    Time,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Unit {
    /// A convertible unit: dimension and size in the base unit (mg, mL, h).
    Scaled(Dim, Decimal),
    /// Any other unit, compared by name.
    Named(String),
    Percent,
}

fn classify(u: &str) -> Option<Unit> {
    let name: String = u
        .chars()
        .filter(|c| !matches!(c, '[' | ']'))
        .collect::<String>()
        .trim()
        .to_ascii_uppercase();
    let scaled = |d, m: i64, e: u32| Some(Unit::Scaled(d, Decimal::new(m, e)));
    match name.as_str() {
        "" => None,
        "KG" => scaled(Dim::Mass, 1_000_000, 0),
        "G" | "GM" => scaled(Dim::Mass, 1000, 0),
        "MG" => scaled(Dim::Mass, 1, 0),
        "MCG" | "UG" => scaled(Dim::Mass, 1, 3),
        "NG" => scaled(Dim::Mass, 1, 6),
        "L" => scaled(Dim::Volume, 1000, 0),
        "ML" => scaled(Dim::Volume, 1, 0),
        "H" | "HR" | "HOUR" => scaled(Dim::Time, 1, 0),
        "D" | "DAY" => scaled(Dim::Time, 24, 0),
        "%" => Some(Unit::Percent),
        // The Orange Book's `UNITS` are USP units; the NDC Directory writes `[USP'U]`.
        "UNIT" | "UNITS" | "USP'U" => Some(Unit::Named("UNIT".to_owned())),
        _ => Some(Unit::Named(name)),
    }
}

/// What an amount is per.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Per {
    /// Per dosage unit (tablet, actuation, vial).
    Unit,
    /// Per a measured quantity (`5ML`, `G`, `24HR`).
    Qty(Decimal, Unit),
}

/// Parses the part after `/`. `ob` selects the Orange Book reading where a bare word that is
/// not a measurable unit (`ACTUATION`) means "per dosage unit".
fn parse_per(s: Option<&str>, ob: bool) -> Option<Per> {
    let Some(s) = s.map(str::trim) else {
        return Some(Per::Unit);
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, word) = s.split_at(split);
    let qty = if num.is_empty() {
        None
    } else {
        Some(parse_plain_decimal(num)?)
    };
    let word = word.trim();
    if word.is_empty() {
        return (qty? == Decimal::ONE).then_some(Per::Unit);
    }
    match classify(word)? {
        Unit::Named(_) if ob && qty.is_none() => Some(Per::Unit),
        Unit::Percent => None,
        u => Some(Per::Qty(qty.unwrap_or(Decimal::ONE), u)),
    }
}

/// A strength as value, numerator unit and denominator.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ratio {
    value: Decimal,
    num: Unit,
    per: Per,
}

fn ob_ratio(a: &Amount) -> Option<Ratio> {
    Some(Ratio {
        value: a.value,
        num: classify(a.numerator_unit())?,
        per: parse_per(a.per(), true)?,
    })
}

fn ndc_ratio(value: Decimal, unit: &str) -> Option<Ratio> {
    let (num, per) = match unit.split_once('/') {
        Some((n, d)) => (n, Some(d)),
        None => (unit, None),
    };
    Some(Ratio {
        value,
        num: classify(num)?,
        per: parse_per(per, false)?,
    })
}

/// Unit scale factor when both units are compatible.
fn scales(a: &Unit, b: &Unit) -> Option<(Decimal, Decimal)> {
    match (a, b) {
        (Unit::Scaled(da, sa), Unit::Scaled(db, sb)) if da == db => Some((*sa, *sb)),
        (Unit::Named(x), Unit::Named(y)) if x == y => Some((Decimal::ONE, Decimal::ONE)),
        (Unit::Percent, Unit::Percent) => Some((Decimal::ONE, Decimal::ONE)),
        _ => None,
    }
}

fn mul(xs: &[Decimal]) -> Option<Decimal> {
    xs.iter()
        .try_fold(Decimal::ONE, |acc, x| acc.checked_mul(*x))
}

fn ratio_eq(ob: &Ratio, ndc: &Ratio) -> bool {
    // An Orange Book percentage against a mass per mass or mass per volume NDC unit.
    if ob.num == Unit::Percent && ob.per == Per::Unit && ndc.num != Unit::Percent {
        let grams = Unit::Scaled(Dim::Mass, Decimal::new(1000, 0));
        let hundred = Decimal::new(100, 0);
        let per = match &ndc.per {
            Per::Qty(_, Unit::Scaled(Dim::Mass, _)) => Per::Qty(hundred, grams.clone()),
            Per::Qty(_, Unit::Scaled(Dim::Volume, _)) => {
                Per::Qty(hundred, Unit::Scaled(Dim::Volume, Decimal::ONE))
            }
            _ => return false,
        };
        return ratio_eq(
            &Ratio {
                value: ob.value,
                num: grams,
                per,
            },
            ndc,
        );
    }
    let Some((sa, sb)) = scales(&ob.num, &ndc.num) else {
        return false;
    };
    let (lhs, rhs) = match (&ob.per, &ndc.per) {
        (Per::Unit, Per::Unit) => (mul(&[ob.value, sa]), mul(&[ndc.value, sb])),
        (Per::Qty(qa, ua), Per::Qty(qb, ub)) => {
            let Some((da, db)) = scales(ua, ub) else {
                return false;
            };
            (
                mul(&[ob.value, sa, *qb, db]),
                mul(&[ndc.value, sb, *qa, da]),
            )
        }
        _ => return false,
    };
    matches!((lhs, rhs), (Some(l), Some(r)) if l == r)
}

/// Most ingredients compared by the one-to-one pairing search.
const MAX_PAIRED_INGREDIENTS: usize = 8;

fn strength_match(p: &ObProduct, ndc: &[(Decimal, String)]) -> bool {
    let parts = p.strength.parts();
    if parts.is_empty() || parts.len() != ndc.len() || parts.len() > MAX_PAIRED_INGREDIENTS {
        return false;
    }
    let mut ob = Vec::with_capacity(parts.len());
    for part in &parts {
        match part.as_slice() {
            [Phase::Amount(a)] => match ob_ratio(a) {
                Some(r) => ob.push(r),
                None => return false,
            },
            _ => return false,
        }
    }
    let mut nd = Vec::with_capacity(ndc.len());
    for (v, u) in ndc {
        match ndc_ratio(*v, u) {
            Some(r) => nd.push(r),
            None => return false,
        }
    }
    let mut used = vec![false; nd.len()];
    pair_up(&ob, &nd, &mut used)
}

/// Whether `ob` can be paired one-to-one with the unused entries of `nd` (backtracking).
fn pair_up(ob: &[Ratio], nd: &[Ratio], used: &mut [bool]) -> bool {
    let Some((first, rest)) = ob.split_first() else {
        return true;
    };
    for j in 0..nd.len() {
        if !used[j] && ratio_eq(first, &nd[j]) {
            used[j] = true;
            if pair_up(rest, nd, used) {
                return true;
            }
            used[j] = false;
        }
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::products::{PRODUCTS_HEADER, parse_products};
    use crate::record::ProductKey;

    const OB: &str = "\
ATORVASTATIN CALCIUM~TABLET;ORAL~LIPITOR~UPJOHN~EQ 10MG BASE~N~020702~001~AB~Dec 17, 1996~Yes~No~RX~UPJOHN MANUFACTURING IRELAND UNLTD
ATORVASTATIN CALCIUM~TABLET;ORAL~LIPITOR~UPJOHN~EQ 80MG BASE~N~020702~004~AB~Apr 7, 2000~Yes~Yes~RX~UPJOHN MANUFACTURING IRELAND UNLTD
ATORVASTATIN CALCIUM~TABLET;ORAL~ATORVASTATIN CALCIUM~ACCORD HLTHCARE~EQ 10MG BASE~A~207687~001~AB~Mar 30, 2018~No~No~RX~ACCORD HEALTHCARE INC
ATORVASTATIN CALCIUM~TABLET;ORAL~ATORVASTATIN CALCIUM~ACCORD HLTHCARE~EQ 80MG BASE ~A~207687~004~AB~Mar 30, 2018~No~No~RX~ACCORD HEALTHCARE INC
ATORVASTATIN CALCIUM~TABLET;ORAL~ATORVASTATIN CALCIUM~ZYDUS PHARMS~EQ 20MG BASE~A~206536~002~AB~Nov 20, 2018~No~No~RX~ZYDUS PHARMACEUTICALS USA INC
AMLODIPINE BESYLATE; ATORVASTATIN CALCIUM~TABLET;ORAL~CADUET~PHARMACIA~EQ 5MG BASE;EQ 10MG BASE~N~021540~001~AB~Jan 30, 2004~Yes~No~RX~PHARMACIA AND UPJOHN CO LLC
LEVOTHYROXINE SODIUM~TABLET;ORAL~LEVOTHYROXINE SODIUM~MYLAN~0.1MG **See current Annual Edition, 1.8 Description of Special Situations, Levothyroxine Sodium~A~076187~005~AB1,AB2,AB3,AB4~Jun 5, 2002~No~No~RX~MYLAN PHARMACEUTICALS INC
LEVOTHYROXINE SODIUM~TABLET;ORAL~LEVOTHYROXINE SODIUM~MYLAN~0.3MG **See current Annual Edition, 1.8 Description of Special Situations, Levothyroxine Sodium~A~076187~011~AB1,AB2,AB3,AB4~Jun 5, 2002~No~Yes~RX~MYLAN PHARMACEUTICALS INC
CLOBETASOL PROPIONATE~AEROSOL, FOAM;TOPICAL~CLOBETASOL PROPIONATE~GLENMARK PHARMS LTD~0.05%~A~210809~001~AB1~Feb 15, 2019~No~No~RX~GLENMARK PHARMACEUTICALS LTD
NIFEDIPINE~TABLET, EXTENDED RELEASE;ORAL~NIFEDIPINE~ZYDUS PHARMS~30MG~A~210012~001~AB2~Dec 19, 2017~No~No~RX~ZYDUS PHARMACEUTICALS USA INC
";

    const NDC_HEADER: &str = "PRODUCTID\tPRODUCTNDC\tPRODUCTTYPENAME\tPROPRIETARYNAME\tPROPRIETARYNAMESUFFIX\tNONPROPRIETARYNAME\tDOSAGEFORMNAME\tROUTENAME\tSTARTMARKETINGDATE\tENDMARKETINGDATE\tMARKETINGCATEGORYNAME\tAPPLICATIONNUMBER\tLABELERNAME\tSUBSTANCENAME\tACTIVE_NUMERATOR_STRENGTH\tACTIVE_INGRED_UNIT\tPHARM_CLASSES\tDEASCHEDULE\tNDC_EXCLUDE_FLAG\tLISTING_RECORD_CERTIFIED_THROUGH";

    /// Rows constructed for the test (not copied from the real directory).
    fn ndc_fixture() -> String {
        let rows: &[[&str; 20]] = &[
            // 0: Accord atorvastatin 10 mg, film coated.
            [
                "16729-044_aa",
                "16729-044",
                "HUMAN PRESCRIPTION DRUG",
                "Atorvastatin Calcium",
                "",
                "Atorvastatin Calcium",
                "TABLET, FILM COATED",
                "ORAL",
                "20180330",
                "",
                "ANDA",
                "ANDA207687",
                "Accord Healthcare Inc.",
                "ATORVASTATIN CALCIUM TRIHYDRATE",
                "10",
                "mg/1",
                "HMG-CoA Reductase Inhibitor [EPC]",
                "",
                "N",
                "20261231",
            ],
            // 1: Zydus atorvastatin 20 mg.
            [
                "68382-251_bb",
                "68382-251",
                "HUMAN PRESCRIPTION DRUG",
                "Atorvastatin Calcium",
                "",
                "Atorvastatin Calcium",
                "TABLET, FILM COATED",
                "ORAL",
                "20181120",
                "",
                "ANDA",
                "ANDA206536",
                "Zydus Pharmaceuticals USA Inc.",
                "ATORVASTATIN CALCIUM TRIHYDRATE",
                "20",
                "mg/1",
                "",
                "",
                "N",
                "20261231",
            ],
            // 2: Lipitor 80 mg.
            [
                "0071-0158_cc",
                "0071-0158",
                "HUMAN PRESCRIPTION DRUG",
                "Lipitor",
                "",
                "atorvastatin calcium",
                "TABLET, FILM COATED",
                "ORAL",
                "19961217",
                "",
                "NDA",
                "NDA020702",
                "Viatris Specialty LLC",
                "ATORVASTATIN CALCIUM TRIHYDRATE",
                "80",
                "mg/1",
                "",
                "",
                "N",
                "20261231",
            ],
            // 3: Authorized generic of Lipitor 10 mg.
            [
                "59762-0155_dd",
                "59762-0155",
                "HUMAN PRESCRIPTION DRUG",
                "Atorvastatin Calcium",
                "",
                "atorvastatin calcium",
                "TABLET, FILM COATED",
                "ORAL",
                "20111130",
                "",
                "NDA AUTHORIZED GENERIC",
                "NDA020702",
                "Greenstone LLC",
                "ATORVASTATIN CALCIUM TRIHYDRATE",
                "10",
                "mg/1",
                "",
                "",
                "N",
                "20261231",
            ],
            // 4: A BLA insulin: not in the Orange Book.
            [
                "0088-2220_ee",
                "0088-2220",
                "HUMAN PRESCRIPTION DRUG",
                "Lantus",
                "",
                "insulin glargine",
                "INJECTION, SOLUTION",
                "SUBCUTANEOUS",
                "20000420",
                "",
                "BLA",
                "BLA021081",
                "sanofi-aventis U.S. LLC",
                "INSULIN GLARGINE",
                "100",
                "[iU]/mL",
                "",
                "",
                "N",
                "20261231",
            ],
            // 5: Lipitor 40 mg: application known, strength not in this Orange Book extract.
            [
                "0071-0157_ff",
                "0071-0157",
                "HUMAN PRESCRIPTION DRUG",
                "Lipitor",
                "",
                "atorvastatin calcium",
                "TABLET, FILM COATED",
                "ORAL",
                "19961217",
                "",
                "NDA",
                "NDA020702",
                "Viatris Specialty LLC",
                "ATORVASTATIN CALCIUM TRIHYDRATE",
                "40",
                "mg/1",
                "",
                "",
                "N",
                "20261231",
            ],
            // 6: Mylan levothyroxine 100 mcg (NDC states ug, Orange Book states MG).
            [
                "0378-1805_gg",
                "0378-1805",
                "HUMAN PRESCRIPTION DRUG",
                "Levothyroxine Sodium",
                "",
                "Levothyroxine Sodium",
                "TABLET",
                "ORAL",
                "20020605",
                "",
                "ANDA",
                "ANDA076187",
                "Mylan Pharmaceuticals Inc.",
                "LEVOTHYROXINE SODIUM ANHYDROUS",
                "100",
                "ug/1",
                "",
                "",
                "N",
                "20261231",
            ],
            // 7: Caduet 5/10 mg, two ingredients.
            [
                "0069-2150_hh",
                "0069-2150",
                "HUMAN PRESCRIPTION DRUG",
                "Caduet",
                "",
                "amlodipine besylate and atorvastatin calcium",
                "TABLET, FILM COATED",
                "ORAL",
                "20040130",
                "",
                "NDA",
                "NDA021540",
                "Pfizer Laboratories Div Pfizer Inc",
                "AMLODIPINE BESYLATE; ATORVASTATIN CALCIUM TRIHYDRATE",
                "5; 10",
                "mg/1; mg/1",
                "",
                "",
                "N",
                "20261231",
            ],
            // 8: Glenmark clobetasol foam 0.5 mg/g = 0.05 %.
            [
                "68462-583_ii",
                "68462-583",
                "HUMAN PRESCRIPTION DRUG",
                "Clobetasol Propionate",
                "",
                "Clobetasol Propionate",
                "AEROSOL, FOAM",
                "TOPICAL",
                "20190215",
                "",
                "ANDA",
                "ANDA210809",
                "Glenmark Pharmaceuticals Inc., USA",
                "CLOBETASOL PROPIONATE",
                ".5",
                "mg/g",
                "",
                "",
                "N",
                "20261231",
            ],
            // 9: OTC monograph product: no application number.
            [
                "11673-057_jj",
                "11673-057",
                "HUMAN OTC DRUG",
                "Pain Relief",
                "",
                "Acetaminophen",
                "TABLET",
                "ORAL",
                "20100101",
                "",
                "OTC MONOGRAPH DRUG",
                "M013",
                "Target Corporation",
                "ACETAMINOPHEN",
                "500",
                "mg/1",
                "",
                "",
                "N",
                "20261231",
            ],
            // 10: Zydus nifedipine ER, NDC form with the coating segment in the middle.
            [
                "68382-030_kk",
                "68382-030",
                "HUMAN PRESCRIPTION DRUG",
                "Nifedipine",
                "",
                "Nifedipine",
                "TABLET, FILM COATED, EXTENDED RELEASE",
                "ORAL",
                "20171219",
                "",
                "ANDA",
                "ANDA210012",
                "Zydus Pharmaceuticals USA Inc.",
                "NIFEDIPINE",
                "30",
                "mg/1",
                "",
                "",
                "N",
                "20261231",
            ],
        ];
        let mut s = String::from(NDC_HEADER);
        s.push_str("\r\n");
        for r in rows {
            s.push_str(&r.join("\t"));
            s.push_str("\r\n");
        }
        s
    }

    fn ob_products() -> Vec<ObProduct> {
        let s = format!("{PRODUCTS_HEADER}\n{OB}");
        parse_products(s.as_bytes(), ParseMode::Strict, &ParseLimits::default())
            .unwrap()
            .products
    }

    fn key_of(products: &[ObProduct], m: &NdcMatch) -> Option<String> {
        match m {
            NdcMatch::Unique(i) => Some(products[*i].key.to_string()),
            _ => None,
        }
    }

    /// The fixture's first row with `SUBSTANCENAME` replaced.
    fn one_row_with_substances(substances: &str) -> String {
        let fixture = ndc_fixture();
        let mut lines = fixture.split("\r\n");
        let header = lines.next().unwrap_or_default();
        let mut cols: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        cols[13] = substances;
        format!("{header}\r\n{}\r\n", cols.join("\t"))
    }

    #[test]
    fn substance_names_split_outside_parentheses_only() {
        let d = parse_ndc_directory(
            one_row_with_substances("SODIUM CHLORIDE (0.9%; ISOTONIC); DEXTROSE").as_bytes(),
            ParseMode::Strict,
            &ndc_directory_limits(),
        )
        .unwrap();
        assert_eq!(
            d.entries[0].substances,
            vec![
                "SODIUM CHLORIDE (0.9%; ISOTONIC)".to_owned(),
                "DEXTROSE".to_owned()
            ]
        );
        for bad in ["SODIUM CHLORIDE (0.9%; DEXTROSE", "A;; B"] {
            let err = parse_ndc_directory(
                one_row_with_substances(bad).as_bytes(),
                ParseMode::Strict,
                &ndc_directory_limits(),
            )
            .unwrap_err();
            assert!(err.to_string().contains("SUBSTANCENAME"), "{bad}: {err}");
        }
    }

    #[test]
    fn parses_fixture() {
        let d = parse_ndc_directory(
            ndc_fixture().as_bytes(),
            ParseMode::Strict,
            &ndc_directory_limits(),
        )
        .unwrap();
        assert_eq!(d.entries.len(), 11);
        assert!(d.rejects.is_empty());
        let e = &d.entries[0];
        assert_eq!(
            (
                e.labeler,
                e.product_code,
                e.labeler_digits,
                e.product_digits
            ),
            (16729, 44, 5, 3)
        );
        assert_eq!(e.application, Some((ApplType::Anda, 207_687)));
        assert_eq!(e.strengths, vec![(Decimal::new(10, 0), "mg/1".to_owned())]);
        assert_eq!(
            e.substances,
            vec!["ATORVASTATIN CALCIUM TRIHYDRATE".to_owned()]
        );
        assert_eq!(d.entries[2].labeler, 71);
        assert_eq!(d.entries[3].marketing_category, "NDA AUTHORIZED GENERIC");
        assert_eq!(d.entries[3].application, Some((ApplType::Nda, 20_702)));
        assert_eq!(d.entries[4].application, None);
        assert_eq!(d.entries[4].application_number, "BLA021081");
        assert_eq!(d.entries[7].strengths.len(), 2);
        assert_eq!(d.entries[7].substances.len(), 2);
        assert_eq!(d.entries[8].strengths[0].0, Decimal::new(5, 1));
        assert_eq!(d.entries[9].application, None);
    }

    #[test]
    fn matches_fixture() {
        let products = ob_products();
        let index = ApplicationIndex::new(&products);
        let d = parse_ndc_directory(
            ndc_fixture().as_bytes(),
            ParseMode::Strict,
            &ndc_directory_limits(),
        )
        .unwrap();
        let m: Vec<NdcMatch> = d
            .entries
            .iter()
            .map(|e| match_product_indexed(e, &products, &index))
            .collect();
        let k = |i: usize| key_of(&products, &m[i]);
        assert_eq!(k(0).as_deref(), Some("A207687-001"));
        assert_eq!(k(1).as_deref(), Some("A206536-002"));
        assert_eq!(k(2).as_deref(), Some("N020702-004"));
        assert_eq!(
            k(3).as_deref(),
            Some("N020702-001"),
            "authorized generic maps to the NDA product"
        );
        assert_eq!(m[4], NdcMatch::NoApplication);
        assert_eq!(m[5], NdcMatch::NotFound);
        assert_eq!(k(6).as_deref(), Some("A076187-005"), "100 ug = 0.1 MG");
        assert_eq!(k(7).as_deref(), Some("N021540-001"));
        assert_eq!(k(8).as_deref(), Some("A210809-001"), "0.5 mg/g = 0.05 %");
        assert_eq!(m[9], NdcMatch::NoApplication);
        assert_eq!(
            k(10).as_deref(),
            Some("A210012-001"),
            "coating segment ignored"
        );
    }

    #[test]
    fn ambiguity_is_reported_not_resolved() {
        let mut products = ob_products();
        let mut twin = products[2].clone();
        twin.key = "A207687-009".parse::<ProductKey>().unwrap();
        products.push(twin);
        let index = ApplicationIndex::new(&products);
        let d = parse_ndc_directory(
            ndc_fixture().as_bytes(),
            ParseMode::Strict,
            &ndc_directory_limits(),
        )
        .unwrap();
        let m = match_product_indexed(&d.entries[0], &products, &index);
        assert_eq!(m, NdcMatch::Ambiguous(vec![2, products.len() - 1]));
        // With the closure form and an exact-form twin, exact wins over compatible.
        let last = products.len() - 1;
        products[last].dosage_form = "TABLET, FILM COATED".into();
        let m = match_product(&d.entries[0], &products, |t, n| index.get(t, n).to_vec());
        assert_eq!(m, NdcMatch::Unique(products.len() - 1));
    }

    #[test]
    fn strength_units() {
        let r = |v: &str, u: &str| ndc_ratio(v.parse().unwrap(), u).unwrap();
        let ob = |s: &str| {
            let st = crate::strength::Strength::parse(s).unwrap();
            ob_ratio(st.parts()[0][0].amount().unwrap()).unwrap()
        };
        assert!(ratio_eq(&ob("25MG/5ML"), &r("25", "mg/5mL")));
        assert!(ratio_eq(&ob("25MG/5ML"), &r("5", "mg/mL")));
        assert!(!ratio_eq(&ob("25MG/5ML"), &r("25", "mg/mL")));
        assert!(ratio_eq(&ob("2MG/ACTUATION"), &r("2", "mg/1")));
        assert!(ratio_eq(&ob("EQ 0.1MG PHOSPHATE/INH"), &r("100", "ug/1")));
        assert!(ratio_eq(&ob("1GM"), &r("1000", "mg/1")));
        assert!(ratio_eq(&ob("1%"), &r("10", "mg/mL")));
        assert!(ratio_eq(&ob("1%"), &r("1", "g/100g")));
        assert!(!ratio_eq(&ob("1%"), &r("1", "mg/1")));
        assert!(ratio_eq(&ob("0.1MG/24HR"), &r("0.1", "mg/d")));
        assert!(ratio_eq(&ob("10MEQ"), &r("10", "meq/1")));
        assert!(ratio_eq(&ob("50,000 IU"), &r("50000", "[iU]/1")));
        assert!(ratio_eq(&ob("1,000 UNITS/ML"), &r("1000", "[USP'U]/mL")));
        assert!(!ratio_eq(&ob("1,000 UNITS/ML"), &r("1000", "[iU]/mL")));
        assert!(!ratio_eq(&ob("10MG"), &r("10", "mg/mL")));
        assert!(!ratio_eq(&ob("10MG"), &r("10", "mL/1")));
    }

    #[test]
    fn form_and_route_rules() {
        assert_eq!(form_match("TABLET", "TABLET"), Some(FormMatch::Exact));
        assert_eq!(
            form_match("TABLET", "TABLET, FILM COATED"),
            Some(FormMatch::Compatible)
        );
        assert_eq!(
            form_match(
                "TABLET, EXTENDED RELEASE",
                "TABLET, FILM COATED, EXTENDED RELEASE"
            ),
            Some(FormMatch::Compatible)
        );
        assert_eq!(
            form_match("TABLET", "TABLET, SUGAR COATED"),
            Some(FormMatch::Compatible)
        );
        // No word-prefix rule: a plain tablet is not an extended-release or chewable one.
        assert_eq!(form_match("TABLET", "TABLET, EXTENDED RELEASE"), None);
        assert_eq!(form_match("TABLET", "TABLET, CHEWABLE"), None);
        assert_eq!(form_match("TABLET", "TABLET, FILM COATED, CHEWABLE"), None);
        assert_eq!(form_match("CAPSULE", "CAPSULE, DELAYED RELEASE"), None);
        assert_eq!(form_match("TABLET", "CAPSULE"), None);
        assert_eq!(form_match("TABLET, EXTENDED RELEASE", "TABLET"), None);
        assert_eq!(form_match("TABLET", "TABLETS"), None);
        assert!(route_match("ORAL", "ORAL"));
        assert!(route_match("BUCCAL, SUBLINGUAL", "SUBLINGUAL; BUCCAL"));
        assert!(!route_match("ORAL", "ORAL; SUBLINGUAL"));
        assert!(!route_match("", ""));
    }

    #[test]
    fn row_errors() {
        let good = ndc_fixture();
        let lines: Vec<&str> = good.lines().collect();
        let cases: &[(&str, &str, &str)] = &[
            ("\t16729-044\t", "\t1672-9044x\t", "PRODUCTNDC"),
            ("\t16729-044\t", "\t167-29044\t", "PRODUCTNDC"),
            ("\tANDA207687\t", "\tANDA20768A\t", "APPLICATIONNUMBER"),
            ("\tANDA207687\t", "\tNDA1234567\t", "APPLICATIONNUMBER"),
            ("\t10\tmg/1\t", "\t10; 20\tmg/1\t", "ACTIVE_INGRED_UNIT"),
            ("\t10\tmg/1\t", "\t1,0\tmg/1\t", "ACTIVE_NUMERATOR_STRENGTH"),
            ("\t10\tmg/1\t", "\t-10\tmg/1\t", "ACTIVE_NUMERATOR_STRENGTH"),
        ];
        for (from, to, col) in cases {
            let bad = lines[1].replacen(from, to, 1);
            assert_ne!(bad, lines[1]);
            let s = format!("{}\n{}\n{}\n", lines[0], lines[2], bad);
            let e =
                match parse_ndc_directory(s.as_bytes(), ParseMode::Strict, &ndc_directory_limits())
                {
                    Err(ProductsError::Row(e)) => e,
                    other => panic!("{col}: {other:?}"),
                };
            assert_eq!((e.line, e.column.as_deref()), (3, Some(*col)), "{e}");
            let p = parse_ndc_directory(s.as_bytes(), ParseMode::Lenient, &ndc_directory_limits())
                .unwrap();
            assert_eq!((p.entries.len(), p.rejects.len()), (1, 1));
        }
        let short = format!("{}\n{}\n", lines[0], lines[1].rsplit_once('\t').unwrap().0);
        let e = parse_ndc_directory(short.as_bytes(), ParseMode::Strict, &ndc_directory_limits())
            .unwrap_err();
        assert!(matches!(
            e,
            ProductsError::Row(RowError {
                kind: RowErrorKind::FieldCount { .. },
                ..
            })
        ));
        assert!(matches!(
            parse_ndc_directory(
                b"PRODUCTNDC\tFOO",
                ParseMode::Strict,
                &ndc_directory_limits()
            ),
            Err(ProductsError::MissingColumn {
                name: "DOSAGEFORMNAME"
            })
        ));
    }

    #[test]
    fn blank_strength_is_allowed() {
        let good = ndc_fixture();
        let lines: Vec<&str> = good.lines().collect();
        let s = format!(
            "{}\n{}\n",
            lines[0],
            lines[1].replacen("\t10\tmg/1\t", "\t\t\t", 1)
        );
        let d =
            parse_ndc_directory(s.as_bytes(), ParseMode::Strict, &ndc_directory_limits()).unwrap();
        assert!(d.entries[0].strengths.is_empty());
        let products = ob_products();
        let index = ApplicationIndex::new(&products);
        assert_eq!(
            match_product_indexed(&d.entries[0], &products, &index),
            NdcMatch::NotFound
        );
    }
}
