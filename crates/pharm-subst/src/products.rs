//! Loader for the Orange Book `products.txt` (and the shared table machinery used by the
//! other loaders in this crate).
//!
//! Format (FDA Orange Book data files, `products.txt`): `~`-delimited with no quoting or escaping
//! (never CSV), one header line, columns mapped by **name** so that both the current 14-column
//! layout and the legacy 13-column layout without `RS` load. Unknown extra columns are ignored.
//! LF or CRLF line endings, an optional UTF-8 byte-order mark, blank lines skipped, every field
//! trimmed.
//!
//! Parsing never panics on any input; the whole input and every line are size-limited
//! ([`ParseLimits`]). In [`ParseMode::Strict`] the first bad row is returned as
//! [`ProductsError::Row`]; in [`ParseMode::Lenient`] the first
//! [`ParseLimits::max_rejects`] bad rows are collected in [`ParsedProducts::rejects`], any
//! further ones are counted in [`ParsedProducts::omitted_rejects`], and the rest load. Memory
//! spent on bad rows is therefore bounded: a 64 MiB file of nothing but bad rows keeps at
//! most 1000 records of at most [`MAX_ERROR_TEXT_CHARS`] characters of row text each.

use std::collections::HashMap;
use std::fmt;

use pharm_core::time::Date;

use crate::approval::{ApprovalDateError, parse_approval_date, parse_ob_date};
use crate::ingredient::split_ingredient_list;
use crate::record::{ApplType, MarketingStatus, ObProduct, ProductKey};
use crate::strength::{Strength, StrengthError};
use crate::te::{TeError, parse_te_field};

/// Default [`ParseLimits::max_bytes`]: 64 MiB.
pub const DEFAULT_MAX_BYTES: usize = 64 << 20;
/// Default [`ParseLimits::max_line_bytes`]: 4096 bytes.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4096;
/// Longest row text kept in a [`RowError`], in characters.
pub const MAX_ERROR_TEXT_CHARS: usize = 200;
/// Default [`ParseLimits::max_rejects`]: 1000 rejected rows kept in lenient mode.
pub const DEFAULT_MAX_REJECTS: usize = 1000;

/// What to do with a bad row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseMode {
    /// Fail on the first bad row.
    Strict,
    /// Skip bad rows, collect them as rejects (the first [`ParseLimits::max_rejects`] of
    /// them; the rest are counted), load the rest.
    Lenient,
}

/// Size limits on untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParseLimits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Longest accepted line (header or row, without its line ending), in bytes.
    pub max_line_bytes: usize,
    /// Most rejected rows kept as [`RowError`]s in lenient mode; further bad rows are only
    /// counted (`omitted_rejects` on the result). Each kept record is itself bounded (its row
    /// text is cut at [`MAX_ERROR_TEXT_CHARS`]), so the memory spent on bad rows is bounded
    /// whatever the input.
    pub max_rejects: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_rejects: DEFAULT_MAX_REJECTS,
        }
    }
}

/// Which `products.txt` header was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Legacy header without the `RS` column (13 columns); products get `rs: None`.
    Legacy13,
    /// Current header with `RS` (14 columns).
    Current14,
}

/// The result of loading `products.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedProducts {
    /// Header layout found.
    pub layout: Layout,
    /// Products in file order.
    pub products: Vec<ObProduct>,
    /// Rows skipped in lenient mode, in file order: the first
    /// [`ParseLimits::max_rejects`] of them (always empty in strict mode).
    pub rejects: Vec<RowError>,
    /// Rows skipped in lenient mode beyond those kept in [`rejects`](Self::rejects).
    pub omitted_rejects: usize,
}

/// Why one row was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RowErrorKind {
    /// The row does not have as many `~`-separated fields as the header.
    #[error("expected {expected} fields, found {found}")]
    FieldCount {
        /// Number of header columns.
        expected: usize,
        /// Number of fields in the row.
        found: usize,
    },
    /// The line is longer than [`ParseLimits::max_line_bytes`].
    #[error("line is {len} bytes long, more than the {max} allowed")]
    LineTooLong {
        /// Length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The line is not valid UTF-8.
    #[error("line is not valid UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid byte within the line.
        offset: usize,
    },
    /// A required field is empty.
    #[error("required field is empty")]
    Empty,
    /// A field has a value of the wrong shape.
    #[error("{value:?} is not {expected}")]
    Invalid {
        /// The rejected value (truncated to 64 characters).
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// Bad `TE_Code`.
    #[error(transparent)]
    TeCode(#[from] TeError),
    /// Bad `Strength`.
    #[error(transparent)]
    Strength(#[from] StrengthError),
    /// Bad date.
    #[error(transparent)]
    Date(#[from] ApprovalDateError),
    /// The product key already appeared on an earlier row.
    #[error("product {key} already appears on line {first_line}")]
    DuplicateKey {
        /// The repeated key.
        key: ProductKey,
        /// Line of the first occurrence (kept).
        first_line: usize,
    },
}

/// One rejected row: where, which column, why, and the row text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based physical line number (the header is counted).
    pub line: usize,
    /// Header name of the offending column (`None` when the whole row is bad).
    pub column: Option<String>,
    /// Why the row was rejected.
    pub kind: RowErrorKind,
    /// The row as read (lossily decoded if not UTF-8), truncated to
    /// [`MAX_ERROR_TEXT_CHARS`] characters.
    pub text: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {} (row: {:?})", self.kind, self.text)
    }
}

impl std::error::Error for RowError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

/// Why a table file (`products.txt`, `patent.txt`, `exclusivity.txt`, or the NDC Directory
/// `product.txt`) could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProductsError {
    /// The input is larger than [`ParseLimits::max_bytes`].
    #[error("input is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Input length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No header line: the input is empty or blank, or its first line names none of the
    /// expected columns.
    #[error("no header line found (first line: {first_line:?})")]
    MissingHeader {
        /// The first non-blank line, truncated (empty when there is none).
        first_line: String,
    },
    /// The header line is longer than [`ParseLimits::max_line_bytes`].
    #[error("header line {line} is {len} bytes long, more than the {max} allowed")]
    HeaderTooLong {
        /// Line number of the header.
        line: usize,
        /// Length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The header line is not valid UTF-8.
    #[error("header line {line} is not valid UTF-8")]
    HeaderNotUtf8 {
        /// Line number of the header.
        line: usize,
    },
    /// A known column appears twice in the header.
    #[error("column {name:?} appears more than once in the header")]
    DuplicateColumn {
        /// The repeated column.
        name: String,
    },
    /// A required column is missing from the header.
    #[error("required column {name:?} is missing from the header")]
    MissingColumn {
        /// The missing column.
        name: &'static str,
    },
    /// A bad row (strict mode).
    #[error(transparent)]
    Row(#[from] RowError),
}

// ---------------------------------------------------------------------------------------------
// Shared table machinery (also used by `ndc_directory` and the patent/exclusivity loaders).
// ---------------------------------------------------------------------------------------------

/// A field-level failure reported by a row parser; the table driver adds line and text.
#[derive(Debug)]
pub(crate) struct Fault {
    pub(crate) column: Option<&'static str>,
    pub(crate) kind: RowErrorKind,
}

impl Fault {
    pub(crate) fn at(column: &'static str, kind: impl Into<RowErrorKind>) -> Fault {
        Fault {
            column: Some(column),
            kind: kind.into(),
        }
    }

    pub(crate) fn invalid(column: &'static str, value: &str, expected: &'static str) -> Fault {
        Fault::at(
            column,
            RowErrorKind::Invalid {
                value: value.chars().take(64).collect(),
                expected,
            },
        )
    }
}

/// Column positions resolved from the header: `cols[i]` is the position of the i-th
/// requested name (required names first, then optional ones).
pub(crate) struct Columns {
    pub(crate) pos: Vec<Option<usize>>,
}

impl Columns {
    /// Position of the i-th required column (always present after header validation).
    pub(crate) fn req(&self, i: usize) -> usize {
        self.pos.get(i).copied().flatten().unwrap_or(usize::MAX)
    }

    /// Position of the i-th requested column (required ones first, then optional ones),
    /// if present.
    pub(crate) fn opt(&self, i: usize) -> Option<usize> {
        self.pos.get(i).copied().flatten()
    }
}

/// A table specification: delimiter and the columns a loader needs.
pub(crate) struct TableSpec {
    /// Field delimiter (an ASCII byte).
    pub(crate) delimiter: u8,
    /// Typical bytes per row, used to pre-size the result.
    pub(crate) row_bytes_hint: usize,
    pub(crate) required: &'static [&'static str],
    pub(crate) optional: &'static [&'static str],
}

/// Rows parsed by [`parse_table`].
pub(crate) struct Table<T> {
    pub(crate) columns: Columns,
    pub(crate) rows: Vec<T>,
    pub(crate) rejects: Vec<RowError>,
    pub(crate) omitted_rejects: usize,
}

fn truncate_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn lossy_text(line: &[u8]) -> String {
    let cut = &line[..line.len().min(MAX_ERROR_TEXT_CHARS * 4)];
    truncate_chars(&String::from_utf8_lossy(cut), MAX_ERROR_TEXT_CHARS)
}

/// Splits the input into `(1-based line number, line without its line ending)`, after
/// dropping a UTF-8 byte-order mark. A final line ending does not start another line.
fn lines(input: &[u8]) -> Lines<'_> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let input = input.strip_suffix(b"\n").unwrap_or(input);
    Lines {
        rest: (!input.is_empty()).then_some(input),
        line: 0,
    }
}

/// Position of the first `needle` in `hay`, scanning eight bytes at a time.
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO.wrapping_mul(u64::from(needle));
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        // High bit set in each byte of `x` that is zero; the lowest one is exact.
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|p| base + p)
}

/// Splits `text` on the ASCII byte `delim` into `out` (cleared first), trimming ASCII
/// whitespace from each field.
fn split_fields<'a>(text: &'a str, delim: u8, out: &mut Vec<&'a str>) {
    out.clear();
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(off) = bytes.get(start..).and_then(|rest| find_byte(rest, delim)) {
        let end = start + off;
        // `delim` is ASCII, so both ends are character boundaries.
        out.push(text.get(start..end).unwrap_or("").trim_ascii());
        start = end + 1;
    }
    out.push(text.get(start..).unwrap_or("").trim_ascii());
}

/// Splits the input into lines (see [`lines`]).
struct Lines<'a> {
    rest: Option<&'a [u8]>,
    line: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest?;
        let (line, next) = match find_byte(rest, b'\n') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        self.rest = next;
        self.line += 1;
        Some((self.line, line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Reads the header and every row, calling `row` on the trimmed fields of each data row.
pub(crate) fn parse_table<'a, T>(
    input: &'a [u8],
    spec: &TableSpec,
    mode: ParseMode,
    limits: &ParseLimits,
    mut row: impl FnMut(usize, &Columns, &[&'a str]) -> Result<T, Fault>,
) -> Result<Table<T>, ProductsError> {
    if input.len() > limits.max_bytes {
        return Err(ProductsError::TooLarge {
            len: input.len(),
            max: limits.max_bytes,
        });
    }
    let mut it = lines(input).filter(|(_, l)| !is_blank(l));
    let Some((hline, hbytes)) = it.next() else {
        return Err(ProductsError::MissingHeader {
            first_line: String::new(),
        });
    };
    if hbytes.len() > limits.max_line_bytes {
        return Err(ProductsError::HeaderTooLong {
            line: hline,
            len: hbytes.len(),
            max: limits.max_line_bytes,
        });
    }
    let header =
        std::str::from_utf8(hbytes).map_err(|_| ProductsError::HeaderNotUtf8 { line: hline })?;
    let names: Vec<&str> = header
        .split(char::from(spec.delimiter))
        .map(str::trim)
        .collect();
    let wanted = spec.required.iter().chain(spec.optional.iter());
    let mut pos = Vec::with_capacity(spec.required.len() + spec.optional.len());
    for want in wanted {
        let mut found = None;
        for (i, n) in names.iter().enumerate() {
            if n.eq_ignore_ascii_case(want) {
                if found.is_some() {
                    return Err(ProductsError::DuplicateColumn {
                        name: (*want).to_owned(),
                    });
                }
                found = Some(i);
            }
        }
        pos.push(found);
    }
    if pos[..spec.required.len()].iter().all(Option::is_none) {
        return Err(ProductsError::MissingHeader {
            first_line: truncate_chars(header, MAX_ERROR_TEXT_CHARS),
        });
    }
    if let Some(i) = pos[..spec.required.len()].iter().position(Option::is_none) {
        return Err(ProductsError::MissingColumn {
            name: spec.required[i],
        });
    }
    let columns = Columns { pos };
    let expected = names.len();

    // Pre-size for the typical row length, but never reserve for more than 1M rows up front.
    let mut rows = Vec::with_capacity((input.len() / spec.row_bytes_hint.max(1)).min(1 << 20));
    let mut rejects = Vec::new();
    let mut omitted_rejects = 0usize;
    let mut fields: Vec<&'a str> = Vec::with_capacity(expected);
    for (line_no, bytes) in it {
        let result = if bytes.len() > limits.max_line_bytes {
            Err((
                Fault {
                    column: None,
                    kind: RowErrorKind::LineTooLong {
                        len: bytes.len(),
                        max: limits.max_line_bytes,
                    },
                },
                None,
            ))
        } else {
            match std::str::from_utf8(bytes) {
                Err(e) => Err((
                    Fault {
                        column: None,
                        kind: RowErrorKind::NotUtf8 {
                            offset: e.valid_up_to(),
                        },
                    },
                    None,
                )),
                Ok(text) => {
                    split_fields(text, spec.delimiter, &mut fields);
                    if fields.len() != expected {
                        Err((
                            Fault {
                                column: None,
                                kind: RowErrorKind::FieldCount {
                                    expected,
                                    found: fields.len(),
                                },
                            },
                            Some(text),
                        ))
                    } else {
                        row(line_no, &columns, &fields).map_err(|f| (f, Some(text)))
                    }
                }
            }
        };
        match result {
            Ok(v) => rows.push(v),
            Err(_) if mode == ParseMode::Lenient && rejects.len() >= limits.max_rejects => {
                omitted_rejects = omitted_rejects.saturating_add(1);
            }
            Err((fault, text)) => {
                let err = RowError {
                    line: line_no,
                    column: fault.column.map(str::to_owned),
                    kind: fault.kind,
                    text: match text {
                        Some(t) => truncate_chars(t, MAX_ERROR_TEXT_CHARS),
                        None => lossy_text(bytes),
                    },
                };
                match mode {
                    ParseMode::Strict => return Err(ProductsError::Row(err)),
                    ParseMode::Lenient => rejects.push(err),
                }
            }
        }
    }
    Ok(Table {
        columns,
        rows,
        rejects,
        omitted_rejects,
    })
}

/// `1..=max` ASCII digits as a number.
pub(crate) fn parse_digits(s: &str, max: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u32, |acc, b| {
        acc.checked_mul(10)?.checked_add(u32::from(b - b'0'))
    })
}

pub(crate) fn parse_appl_type(col: &'static str, s: &str) -> Result<ApplType, Fault> {
    match s {
        "N" => Ok(ApplType::Nda),
        "A" => Ok(ApplType::Anda),
        "" => Err(Fault::at(col, RowErrorKind::Empty)),
        _ => Err(Fault::invalid(col, s, "an application type (N or A)")),
    }
}

pub(crate) fn parse_appl_no(col: &'static str, s: &str) -> Result<u32, Fault> {
    if s.is_empty() {
        return Err(Fault::at(col, RowErrorKind::Empty));
    }
    parse_digits(s, 6).ok_or_else(|| Fault::invalid(col, s, "an application number (1-6 digits)"))
}

pub(crate) fn parse_product_no(col: &'static str, s: &str) -> Result<u16, Fault> {
    if s.is_empty() {
        return Err(Fault::at(col, RowErrorKind::Empty));
    }
    parse_digits(s, 3)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| Fault::invalid(col, s, "a product number (1-3 digits)"))
}

fn non_empty<'a>(col: &'static str, s: &'a str) -> Result<&'a str, Fault> {
    if s.is_empty() {
        Err(Fault::at(col, RowErrorKind::Empty))
    } else {
        Ok(s)
    }
}

fn parse_yes_no(col: &'static str, s: &str) -> Result<bool, Fault> {
    if s.eq_ignore_ascii_case("Yes") {
        Ok(true)
    } else if s.eq_ignore_ascii_case("No") {
        Ok(false)
    } else if s.is_empty() {
        Err(Fault::at(col, RowErrorKind::Empty))
    } else {
        Err(Fault::invalid(col, s, "Yes or No"))
    }
}

fn parse_status(col: &'static str, s: &str) -> Result<MarketingStatus, Fault> {
    if s.eq_ignore_ascii_case("RX") {
        Ok(MarketingStatus::Rx)
    } else if s.eq_ignore_ascii_case("OTC") {
        Ok(MarketingStatus::Otc)
    } else if s.eq_ignore_ascii_case("DISCN") {
        Ok(MarketingStatus::Discn)
    } else if s.is_empty() {
        Err(Fault::at(col, RowErrorKind::Empty))
    } else {
        Err(Fault::invalid(
            col,
            s,
            "a marketing status (RX, OTC or DISCN)",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// products.txt
// ---------------------------------------------------------------------------------------------

const C_INGREDIENT: &str = "Ingredient";
const C_DF_ROUTE: &str = "DF;Route";
const C_TRADE: &str = "Trade_Name";
const C_APPLICANT: &str = "Applicant";
const C_STRENGTH: &str = "Strength";
const C_APPL_TYPE: &str = "Appl_Type";
const C_APPL_NO: &str = "Appl_No";
const C_PRODUCT_NO: &str = "Product_No";
const C_TE: &str = "TE_Code";
const C_DATE: &str = "Approval_Date";
const C_RLD: &str = "RLD";
const C_TYPE: &str = "Type";
const C_RS: &str = "RS";
const C_FULL_NAME: &str = "Applicant_Full_Name";

const PRODUCTS_SPEC: TableSpec = TableSpec {
    delimiter: b'~',
    row_bytes_hint: 128,
    required: &[
        C_INGREDIENT,
        C_DF_ROUTE,
        C_TRADE,
        C_APPLICANT,
        C_STRENGTH,
        C_APPL_TYPE,
        C_APPL_NO,
        C_PRODUCT_NO,
        C_TE,
        C_DATE,
        C_RLD,
        C_TYPE,
    ],
    optional: &[C_RS, C_FULL_NAME],
};

/// Header of the current 14-column `products.txt`.
pub const PRODUCTS_HEADER: &str = "Ingredient~DF;Route~Trade_Name~Applicant~Strength~Appl_Type~Appl_No~Product_No~TE_Code~Approval_Date~RLD~RS~Type~Applicant_Full_Name";

/// Loads `products.txt`.
///
/// Per row: `Ingredient` is split on `;` outside parentheses with each name trimmed (the file
/// joins with `"; "`; see [`split_ingredient_list`]);
/// `DF;Route` is split at its first `;` into dosage form and route (a route may hold a comma);
/// `Appl_Type` is `N` or `A`; `Appl_No` is 1–6 digits and `Product_No` 1–3 digits; `RLD`/`RS`
/// are `Yes`/`No`; `Type` is `RX`/`OTC`/`DISCN` (these flags are matched ignoring ASCII case);
/// `TE_Code`, `Strength` and `Approval_Date` use [`parse_te_field`], [`Strength::parse`] and
/// [`parse_approval_date`]. `Ingredient`, `DF;Route`, `Trade_Name`, `Applicant`, `Strength`,
/// the key columns, `Approval_Date`, `RLD`, `RS` (when present) and `Type` must be non-empty;
/// `Applicant_Full_Name` may be empty or absent. A product key seen on an earlier row makes the
/// later row a [`RowErrorKind::DuplicateKey`] error.
pub fn parse_products(
    input: &[u8],
    mode: ParseMode,
    limits: &ParseLimits,
) -> Result<ParsedProducts, ProductsError> {
    let capacity = if input.len() <= limits.max_bytes {
        input.len() / 128
    } else {
        0
    };
    let mut seen: HashMap<ProductKey, usize> = HashMap::with_capacity(capacity);
    // Strength texts repeat a lot (`EQ 10MG BASE`, `0.1MG **See…`): parse each once.
    let mut strengths: HashMap<&str, Strength> = HashMap::new();
    let table = parse_table(input, &PRODUCTS_SPEC, mode, limits, |line, cols, f| {
        let product = product_row(cols, f, &mut strengths)?;
        if let Some(&first_line) = seen.get(&product.key) {
            return Err(Fault {
                column: None,
                kind: RowErrorKind::DuplicateKey {
                    key: product.key,
                    first_line,
                },
            });
        }
        seen.insert(product.key, line);
        Ok(product)
    })?;
    let layout = if table.columns.opt(12).is_some() {
        Layout::Current14
    } else {
        Layout::Legacy13
    };
    Ok(ParsedProducts {
        layout,
        products: table.rows,
        rejects: table.rejects,
        omitted_rejects: table.omitted_rejects,
    })
}

fn product_row<'a>(
    cols: &Columns,
    f: &[&'a str],
    strengths: &mut HashMap<&'a str, Strength>,
) -> Result<ObProduct, Fault> {
    let get = |i: usize| f.get(cols.req(i)).copied().unwrap_or("");
    let ingredient_field = non_empty(C_INGREDIENT, get(0))?;
    let ingredients = split_ingredient_list(ingredient_field).ok_or_else(|| {
        Fault::invalid(
            C_INGREDIENT,
            ingredient_field,
            "a list of ingredient names joined by \"; \" (balanced parentheses)",
        )
    })?;
    let df_route = non_empty(C_DF_ROUTE, get(1))?;
    let (dosage_form, route) = df_route
        .split_once(';')
        .map(|(d, r)| (d.trim(), r.trim()))
        .filter(|(d, r)| !d.is_empty() && !r.is_empty())
        .ok_or_else(|| Fault::invalid(C_DF_ROUTE, df_route, "DOSAGE FORM;ROUTE"))?;
    let trade_name = non_empty(C_TRADE, get(2))?;
    let applicant = non_empty(C_APPLICANT, get(3))?;
    let raw_strength = get(4);
    let strength = match strengths.get(raw_strength) {
        Some(s) => s.clone(),
        None => {
            let s = Strength::parse(raw_strength).map_err(|e| Fault::at(C_STRENGTH, e))?;
            strengths.insert(raw_strength, s.clone());
            s
        }
    };
    let key = ProductKey {
        appl_type: parse_appl_type(C_APPL_TYPE, get(5))?,
        appl_no: parse_appl_no(C_APPL_NO, get(6))?,
        product_no: parse_product_no(C_PRODUCT_NO, get(7))?,
    };
    let te_codes = parse_te_field(get(8)).map_err(|e| Fault::at(C_TE, e))?;
    let approval = parse_approval_date(get(9)).map_err(|e| Fault::at(C_DATE, e))?;
    let rld = parse_yes_no(C_RLD, get(10))?;
    let status = parse_status(C_TYPE, get(11))?;
    let rs = match cols.opt(12) {
        Some(i) => Some(parse_yes_no(C_RS, f.get(i).copied().unwrap_or(""))?),
        None => None,
    };
    let applicant_full_name = cols
        .opt(13)
        .and_then(|i| f.get(i).copied())
        .unwrap_or("")
        .to_owned();
    Ok(ObProduct {
        key,
        ingredients,
        dosage_form: dosage_form.to_owned(),
        route: route.to_owned(),
        trade_name: trade_name.to_owned(),
        applicant: applicant.to_owned(),
        applicant_full_name,
        strength,
        te_codes,
        approval,
        rld,
        rs,
        status,
    })
}

// ---------------------------------------------------------------------------------------------
// patent.txt and exclusivity.txt
// ---------------------------------------------------------------------------------------------

/// Records loaded from `patent.txt` or `exclusivity.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRecords<T> {
    /// Records in file order (several per product are normal).
    pub records: Vec<T>,
    /// Rows skipped in lenient mode (the first [`ParseLimits::max_rejects`]).
    pub rejects: Vec<RowError>,
    /// Rows skipped in lenient mode beyond those kept in [`rejects`](Self::rejects).
    pub omitted_rejects: usize,
}

/// One `patent.txt` row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PatentRecord {
    /// Product the patent is listed for.
    pub key: ProductKey,
    /// Patent number as written (`7056942`, `RE43879`, `7056942*PED`).
    pub patent_no: String,
    /// `Patent_Expire_Date_Text`.
    pub expires: Date,
    /// `Drug_Substance_Flag` is `Y`.
    pub drug_substance: bool,
    /// `Drug_Product_Flag` is `Y`.
    pub drug_product: bool,
    /// `Patent_Use_Code` (`U-1029`), if any.
    pub use_code: Option<String>,
    /// `Delist_Flag` is `Y`.
    pub delist: bool,
    /// `Submission_Date`, if given.
    pub submitted: Option<Date>,
}

/// One `exclusivity.txt` row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExclusivityRecord {
    /// Product the exclusivity applies to.
    pub key: ProductKey,
    /// `Exclusivity_Code` as written (`NCE`, `ODE-267`, `PC`, `M-232`).
    pub code: String,
    /// `Exclusivity_Date`: when it ends.
    pub expires: Date,
}

const C_PATENT_NO: &str = "Patent_No";
const C_PATENT_EXPIRES: &str = "Patent_Expire_Date_Text";
const C_SUBSTANCE_FLAG: &str = "Drug_Substance_Flag";
const C_PRODUCT_FLAG: &str = "Drug_Product_Flag";
const C_USE_CODE: &str = "Patent_Use_Code";
const C_DELIST: &str = "Delist_Flag";
const C_SUBMITTED: &str = "Submission_Date";
const C_EXCL_CODE: &str = "Exclusivity_Code";
const C_EXCL_DATE: &str = "Exclusivity_Date";

const PATENT_SPEC: TableSpec = TableSpec {
    delimiter: b'~',
    row_bytes_hint: 64,
    required: &[
        C_APPL_TYPE,
        C_APPL_NO,
        C_PRODUCT_NO,
        C_PATENT_NO,
        C_PATENT_EXPIRES,
        C_SUBSTANCE_FLAG,
        C_PRODUCT_FLAG,
        C_USE_CODE,
        C_DELIST,
    ],
    optional: &[C_SUBMITTED],
};

const EXCLUSIVITY_SPEC: TableSpec = TableSpec {
    delimiter: b'~',
    row_bytes_hint: 32,
    required: &[
        C_APPL_TYPE,
        C_APPL_NO,
        C_PRODUCT_NO,
        C_EXCL_CODE,
        C_EXCL_DATE,
    ],
    optional: &[],
};

/// Header of `patent.txt`.
pub const PATENT_HEADER: &str = "Appl_Type~Appl_No~Product_No~Patent_No~Patent_Expire_Date_Text~Drug_Substance_Flag~Drug_Product_Flag~Patent_Use_Code~Delist_Flag~Submission_Date";
/// Header of `exclusivity.txt`.
pub const EXCLUSIVITY_HEADER: &str =
    "Appl_Type~Appl_No~Product_No~Exclusivity_Code~Exclusivity_Date";

fn parse_key(cols: &Columns, f: &[&str]) -> Result<ProductKey, Fault> {
    let get = |i: usize| f.get(cols.req(i)).copied().unwrap_or("");
    Ok(ProductKey {
        appl_type: parse_appl_type(C_APPL_TYPE, get(0))?,
        appl_no: parse_appl_no(C_APPL_NO, get(1))?,
        product_no: parse_product_no(C_PRODUCT_NO, get(2))?,
    })
}

fn parse_flag(col: &'static str, s: &str) -> Result<bool, Fault> {
    match s {
        "Y" => Ok(true),
        "" => Ok(false),
        _ => Err(Fault::invalid(col, s, "Y or empty")),
    }
}

/// A code-like token: ASCII letters, digits, `-` and `*`, at most 32 bytes.
fn parse_code(col: &'static str, s: &str, expected: &'static str) -> Result<String, Fault> {
    if s.is_empty() {
        return Err(Fault::at(col, RowErrorKind::Empty));
    }
    if s.len() > 32
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
    {
        return Err(Fault::invalid(col, s, expected));
    }
    Ok(s.to_owned())
}

fn parse_date_col(col: &'static str, s: &str) -> Result<Date, Fault> {
    if s.is_empty() {
        return Err(Fault::at(col, RowErrorKind::Empty));
    }
    parse_ob_date(s).map_err(|e| Fault::at(col, e))
}

/// Loads `patent.txt` (the FDA Orange Book patent data file). Flags are `Y` or
/// empty; `Patent_Use_Code` may be empty; `Submission_Date` may be empty or absent.
pub fn parse_patents(
    input: &[u8],
    mode: ParseMode,
    limits: &ParseLimits,
) -> Result<ParsedRecords<PatentRecord>, ProductsError> {
    let table = parse_table(input, &PATENT_SPEC, mode, limits, |_, cols, f| {
        let get = |i: usize| f.get(cols.req(i)).copied().unwrap_or("");
        let key = parse_key(cols, f)?;
        let patent_no = parse_code(
            C_PATENT_NO,
            get(3),
            "a patent number (e.g. 7056942, RE43879)",
        )?;
        let expires = parse_date_col(C_PATENT_EXPIRES, get(4))?;
        let drug_substance = parse_flag(C_SUBSTANCE_FLAG, get(5))?;
        let drug_product = parse_flag(C_PRODUCT_FLAG, get(6))?;
        let use_code = match get(7) {
            "" => None,
            u => Some(parse_code(
                C_USE_CODE,
                u,
                "a patent use code (e.g. U-1029)",
            )?),
        };
        let delist = parse_flag(C_DELIST, get(8))?;
        let submitted = match cols.opt(9).and_then(|i| f.get(i).copied()).unwrap_or("") {
            "" => None,
            d => Some(parse_date_col(C_SUBMITTED, d)?),
        };
        Ok(PatentRecord {
            key,
            patent_no,
            expires,
            drug_substance,
            drug_product,
            use_code,
            delist,
            submitted,
        })
    })?;
    Ok(ParsedRecords {
        records: table.rows,
        rejects: table.rejects,
        omitted_rejects: table.omitted_rejects,
    })
}

/// Loads `exclusivity.txt` (the FDA Orange Book exclusivity data file).
pub fn parse_exclusivity(
    input: &[u8],
    mode: ParseMode,
    limits: &ParseLimits,
) -> Result<ParsedRecords<ExclusivityRecord>, ProductsError> {
    let table = parse_table(input, &EXCLUSIVITY_SPEC, mode, limits, |_, cols, f| {
        let get = |i: usize| f.get(cols.req(i)).copied().unwrap_or("");
        Ok(ExclusivityRecord {
            key: parse_key(cols, f)?,
            code: parse_code(
                C_EXCL_CODE,
                get(3),
                "an exclusivity code (e.g. NCE, ODE-267)",
            )?,
            expires: parse_date_col(C_EXCL_DATE, get(4))?,
        })
    })?;
    Ok(ParsedRecords {
        records: table.rows,
        rejects: table.rejects,
        omitted_rejects: table.omitted_rejects,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ROW: &str = "ATORVASTATIN CALCIUM~TABLET;ORAL~LIPITOR~UPJOHN~EQ 10MG BASE~N~020702~001~AB~Dec 17, 1996~Yes~No~RX~UPJOHN MANUFACTURING IRELAND UNLTD";

    fn file(rows: &[&str]) -> String {
        let mut s = String::from(PRODUCTS_HEADER);
        for r in rows {
            s.push('\n');
            s.push_str(r);
        }
        s.push('\n');
        s
    }

    fn strict(s: &str) -> Result<ParsedProducts, ProductsError> {
        parse_products(s.as_bytes(), ParseMode::Strict, &ParseLimits::default())
    }

    fn row_err(s: &str) -> RowError {
        match strict(s) {
            Err(ProductsError::Row(e)) => e,
            other => panic!("expected a row error, got {other:?}"),
        }
    }

    #[test]
    fn find_byte_agrees_with_position() {
        let hay: Vec<u8> = (0..200u16).map(|i| (i * 37 % 251) as u8).collect();
        for start in 0..hay.len() {
            for needle in [0u8, 1, b'~', b'\n', 0x80, 0xff, 36] {
                let want = hay[start..].iter().position(|&b| b == needle);
                assert_eq!(find_byte(&hay[start..], needle), want, "{start} {needle}");
            }
        }
        assert_eq!(find_byte(b"", b'~'), None);
        assert_eq!(
            find_byte(b"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f~", b'~'),
            Some(8)
        );
        assert_eq!(find_byte(b"\x00\x01\x7e\x7e", b'\x7e'), Some(2));
    }

    #[test]
    fn one_row() {
        let p = strict(&file(&[ROW])).unwrap();
        assert_eq!(p.layout, Layout::Current14);
        assert_eq!(p.products.len(), 1);
        let x = &p.products[0];
        assert_eq!(x.key.to_string(), "N020702-001");
        assert_eq!(x.dosage_form, "TABLET");
        assert_eq!(x.route, "ORAL");
        assert_eq!(x.rs, Some(false));
        assert!(x.rld);
        assert_eq!(x.status, MarketingStatus::Rx);
        assert_eq!(x.strength.normalized, "EQ 10MG BASE");
    }

    #[test]
    fn header_by_name_any_order_extra_columns() {
        let cols: Vec<&str> = PRODUCTS_HEADER.split('~').collect();
        let vals: Vec<&str> = ROW.split('~').collect();
        let mut idx: Vec<usize> = (0..cols.len()).collect();
        idx.reverse();
        let h: Vec<&str> = idx.iter().map(|&i| cols[i]).chain(["Extra"]).collect();
        let r: Vec<&str> = idx.iter().map(|&i| vals[i]).chain(["whatever"]).collect();
        let s = format!("{}\r\n{}\r\n", h.join("~"), r.join("~"));
        let p = strict(&s).unwrap();
        assert_eq!(p.products, strict(&file(&[ROW])).unwrap().products);
    }

    #[test]
    fn header_errors() {
        assert!(matches!(
            strict(""),
            Err(ProductsError::MissingHeader { .. })
        ));
        assert!(matches!(
            strict("\n \n"),
            Err(ProductsError::MissingHeader { .. })
        ));
        assert!(matches!(
            strict(ROW),
            Err(ProductsError::MissingHeader { .. })
        ));
        let no_type = PRODUCTS_HEADER.replace("~Type~", "~Kind~");
        assert!(matches!(
            strict(&no_type),
            Err(ProductsError::MissingColumn { name: "Type" })
        ));
        let dup = format!("{PRODUCTS_HEADER}~RLD");
        assert!(matches!(
            strict(&dup),
            Err(ProductsError::DuplicateColumn { .. })
        ));
        let big = vec![b'a'; 100];
        let limits = ParseLimits {
            max_bytes: 10,
            ..ParseLimits::default()
        };
        assert!(matches!(
            parse_products(&big, ParseMode::Lenient, &limits),
            Err(ProductsError::TooLarge { len: 100, max: 10 })
        ));
        let limits = ParseLimits {
            max_bytes: 1000,
            max_line_bytes: 20,
            ..ParseLimits::default()
        };
        assert!(matches!(
            parse_products(PRODUCTS_HEADER.as_bytes(), ParseMode::Lenient, &limits),
            Err(ProductsError::HeaderTooLong { line: 1, .. })
        ));
        assert!(matches!(
            parse_products(b"\xff\xfe~~", ParseMode::Lenient, &ParseLimits::default()),
            Err(ProductsError::HeaderNotUtf8 { line: 1 })
        ));
    }

    #[test]
    fn header_only_is_empty() {
        let p = strict(PRODUCTS_HEADER).unwrap();
        assert!(p.products.is_empty() && p.rejects.is_empty());
    }

    #[test]
    fn bom_blank_lines_and_crlf() {
        let s = format!("\u{feff}\r\n{PRODUCTS_HEADER}\r\n\r\n{ROW}\r\n  \r\n");
        let p = strict(&s).unwrap();
        assert_eq!(p.products.len(), 1);
        assert_eq!(
            p.products[0].applicant_full_name,
            "UPJOHN MANUFACTURING IRELAND UNLTD"
        );
    }

    #[test]
    fn field_errors_name_line_and_column() {
        let cases: &[(&str, &str, &str)] = &[
            ("~N~020702~", "~X~020702~", "Appl_Type"),
            ("~N~020702~", "~N~0207021~", "Appl_No"),
            ("~N~020702~", "~N~02a702~", "Appl_No"),
            ("~001~", "~0001~", "Product_No"),
            ("~AB~", "~AB9X~", "TE_Code"),
            ("Dec 17, 1996", "17 Dec 1996", "Approval_Date"),
            ("~Yes~No~RX~", "~Y~No~RX~", "RLD"),
            ("~Yes~No~RX~", "~Yes~N~RX~", "RS"),
            ("~Yes~No~RX~", "~Yes~No~RXX~", "Type"),
            ("TABLET;ORAL", "TABLET ORAL", "DF;Route"),
            ("TABLET;ORAL", ";ORAL", "DF;Route"),
            ("~EQ 10MG BASE~", "~ ~", "Strength"),
            ("~LIPITOR~", "~~", "Trade_Name"),
            (
                "ATORVASTATIN CALCIUM~",
                "ATORVASTATIN CALCIUM; ~",
                "Ingredient",
            ),
        ];
        for (from, to, col) in cases {
            let bad = ROW.replacen(from, to, 1);
            assert_ne!(bad, ROW, "{from} not in row");
            let e = row_err(&file(&[ROW.replace("~001~", "~002~").as_str(), &bad]));
            assert_eq!(e.line, 3, "{col}: {e}");
            assert_eq!(e.column.as_deref(), Some(*col), "{e}");
            assert!(e.to_string().contains("line 3"), "{e}");
        }
    }

    #[test]
    fn whole_row_errors() {
        let short = ROW.rsplit_once('~').unwrap().0;
        let e = row_err(&file(&[short]));
        assert_eq!(
            e.kind,
            RowErrorKind::FieldCount {
                expected: 14,
                found: 13
            }
        );
        assert_eq!((e.line, e.column.as_deref()), (2, None));

        let mut bytes = file(&[ROW]).into_bytes();
        let at = PRODUCTS_HEADER.len() + 1 + ROW.find("LIPITOR").unwrap();
        bytes[at] = 0xff;
        let e = match parse_products(&bytes, ParseMode::Strict, &ParseLimits::default()) {
            Err(ProductsError::Row(e)) => e,
            other => panic!("{other:?}"),
        };
        assert!(matches!(e.kind, RowErrorKind::NotUtf8 { .. }));
        assert!(e.text.contains('\u{fffd}'));

        let long = format!("{ROW}{}", " ".repeat(5000));
        let e = row_err(&file(&[&long]));
        assert!(matches!(e.kind, RowErrorKind::LineTooLong { .. }));
        assert!(e.text.chars().count() <= MAX_ERROR_TEXT_CHARS);
    }

    #[test]
    fn duplicate_keys() {
        let s = file(&[ROW, ROW]);
        let e = row_err(&s);
        assert_eq!(e.line, 3);
        assert!(matches!(
            e.kind,
            RowErrorKind::DuplicateKey { first_line: 2, .. }
        ));
        let p = parse_products(s.as_bytes(), ParseMode::Lenient, &ParseLimits::default()).unwrap();
        assert_eq!((p.products.len(), p.rejects.len()), (1, 1));
    }

    #[test]
    fn legacy_layout() {
        let h = PRODUCTS_HEADER.replace("~RS~", "~");
        let r = ROW.replace("~Yes~No~RX~", "~Yes~RX~");
        let p = strict(&format!("{h}\n{r}")).unwrap();
        assert_eq!(p.layout, Layout::Legacy13);
        assert_eq!(p.products[0].rs, None);
    }

    #[test]
    fn without_full_name_column() {
        let h = PRODUCTS_HEADER.rsplit_once('~').unwrap().0;
        let r = ROW.rsplit_once('~').unwrap().0;
        let p = strict(&format!("{h}\n{r}")).unwrap();
        assert_eq!(p.products[0].applicant_full_name, "");
    }

    #[test]
    fn patents() {
        let s = format!(
            "{PATENT_HEADER}\n\
             N~021402~005~7056942~Mar 29, 2024~Y~Y~U-1029~~Nov 15, 2016\n\
             N~021402~005~RE43879*PED~Sep 29, 2024~~~~Y~\n\
             N~021402~005~123~Feb 30, 2024~~~~~\n\
             N~021402~005~123~Mar 1, 2024~X~~~~\n"
        );
        let p = parse_patents(s.as_bytes(), ParseMode::Lenient, &ParseLimits::default()).unwrap();
        assert_eq!(p.records.len(), 2);
        let a = &p.records[0];
        assert_eq!(a.key.to_string(), "N021402-005");
        assert_eq!(a.expires.to_string(), "2024-03-29");
        assert!(a.drug_substance && a.drug_product && !a.delist);
        assert_eq!(a.use_code.as_deref(), Some("U-1029"));
        assert_eq!(
            a.submitted.map(|d| d.to_string()).as_deref(),
            Some("2016-11-15")
        );
        let b = &p.records[1];
        assert_eq!(b.patent_no, "RE43879*PED");
        assert!(b.delist && b.use_code.is_none() && b.submitted.is_none());
        let cols: Vec<_> = p
            .rejects
            .iter()
            .map(|r| (r.line, r.column.as_deref()))
            .collect();
        assert_eq!(
            cols,
            vec![
                (4, Some("Patent_Expire_Date_Text")),
                (5, Some("Drug_Substance_Flag"))
            ]
        );
    }

    #[test]
    fn exclusivity() {
        let s = format!(
            "{EXCLUSIVITY_HEADER}\r\nA~206015~001~PC~Feb 19, 2024\r\nN~212608~001~ODE-267~Jan 9, 2027\r\nN~212608~001~~Jan 9, 2027\r\n"
        );
        let p =
            parse_exclusivity(s.as_bytes(), ParseMode::Lenient, &ParseLimits::default()).unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[0].code, "PC");
        assert_eq!(p.records[1].code, "ODE-267");
        assert_eq!(p.rejects[0].line, 4);
        assert_eq!(p.rejects[0].kind, RowErrorKind::Empty);
        assert!(matches!(
            parse_exclusivity(s.as_bytes(), ParseMode::Strict, &ParseLimits::default()),
            Err(ProductsError::Row(RowError { line: 4, .. }))
        ));
    }
}
