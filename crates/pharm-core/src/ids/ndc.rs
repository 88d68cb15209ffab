//! National Drug Code: the 10-digit FDA forms (4-4-2, 5-3-2, 5-4-1), the 11-digit
//! HIPAA/NCPDP billing form (5-4-2) and the 12-digit form of the 2026 FDA rule (6-4-2).
//!
//! Reference: dispensing-rules §3.1–3.3 and §3.6; rules NDC-10TO11-01 and NDC-AMBIG-01.
//!
//! An [`Ndc`] is the numeric triple labeler / product / package plus the layout it was
//! printed in. Equality, ordering and hashing use the triple only, because converting
//! between layouts only adds or removes leading zeros: `0002-7597-01`,
//! `00002-7597-01` and `000002-7597-01` are the same package.
//!
//! # Accepted text
//!
//! | Input | Layout |
//! |---|---|
//! | `0002-7597-01`, `50242-040-62`, `60575-4112-1` | 4-4-2, 5-3-2, 5-4-1 |
//! | `00002-7597-01`, `00002759701` | 5-4-2 |
//! | `000002-7597-01`, `000002759701` | 6-4-2 |
//! | `*0002-7597-01`, `50242-*040-62`, `60575-4112-*1` | 4-4-2, 5-3-2, 5-4-1 (placeholder) |
//! | `0002759701` | error [`NdcError::Ambiguous`]: never guessed |
//!
//! **The `*` placeholder.** Some labels print a `*` where the 11-digit form has its
//! padding zero, to show the configuration (`12345-*678-90`). It is read as a layout
//! hint, never as a digit: a single `*` may lead one segment of a hyphenated NDC whose
//! segments, counting the `*`, are 5-4-2 wide; the starred segment is the short segment
//! of a 10-digit layout. So `12345-*678-90` is the 5-3-2 NDC `12345-678-90`,
//! `*0002-7597-01` is the 4-4-2 NDC `0002-7597-01` and `60575-4112-*1` is the 5-4-1 NDC
//! `60575-4112-1`. A `*` anywhere else (inside or at the end of a segment, twice, in an
//! unhyphenated NDC, or in a shape other than 5-4-2) is a syntax error.
//!
//! Surrounding ASCII whitespace is ignored; inputs longer than [`MAX_NDC_INPUT`] bytes are
//! rejected before any other work.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{echo, trim_ascii_ws};

/// Longest NDC input accepted, in bytes (checked before trimming).
pub const MAX_NDC_INPUT: usize = 64;

/// Segment layout (labeler-product-package widths) of an NDC as printed by its labeler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NdcLayout {
    /// 4-4-2 (10 digits).
    L442,
    /// 5-3-2 (10 digits).
    L532,
    /// 5-4-1 (10 digits).
    L541,
    /// 5-4-2 (11-digit HIPAA/NCPDP billing form).
    L542,
    /// 6-4-2 (12-digit form, FDA rule effective 2033-03-07).
    L642,
}

impl NdcLayout {
    /// Every layout, 10-digit ones first.
    pub const ALL: [NdcLayout; 5] = [
        NdcLayout::L442,
        NdcLayout::L532,
        NdcLayout::L541,
        NdcLayout::L542,
        NdcLayout::L642,
    ];

    /// The three 10-digit FDA layouts, in the order candidates are listed.
    pub const TEN_DIGIT: [NdcLayout; 3] = [NdcLayout::L442, NdcLayout::L532, NdcLayout::L541];

    /// Digit widths of the labeler, product and package segments.
    pub const fn widths(self) -> (usize, usize, usize) {
        match self {
            NdcLayout::L442 => (4, 4, 2),
            NdcLayout::L532 => (5, 3, 2),
            NdcLayout::L541 => (5, 4, 1),
            NdcLayout::L542 => (5, 4, 2),
            NdcLayout::L642 => (6, 4, 2),
        }
    }

    /// Total number of digits (10, 11 or 12).
    pub const fn digit_count(self) -> usize {
        let (a, b, c) = self.widths();
        a + b + c
    }

    /// Whether this is one of the 10-digit FDA layouts.
    pub const fn is_ten_digit(self) -> bool {
        self.digit_count() == 10
    }

    /// Largest labeler, product and package values the layout can hold.
    pub const fn max_values(self) -> (u32, u16, u8) {
        let (a, b, c) = self.widths();
        (
            10u32.pow(a as u32) - 1,
            10u16.pow(b as u32) - 1,
            10u8.pow(c as u32) - 1,
        )
    }

    /// The layout with the given segment widths, if there is one.
    pub fn from_widths(labeler: usize, product: usize, package: usize) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.widths() == (labeler, product, package))
    }
}

impl fmt::Display for NdcLayout {
    /// `4-4-2`, `5-3-2`, `5-4-1`, `5-4-2` or `6-4-2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c) = self.widths();
        write!(f, "{a}-{b}-{c}")
    }
}

/// A National Drug Code: labeler, product and package codes plus the printed layout.
///
/// `PartialEq`, `Eq`, `Hash` and `Ord` use the numeric triple only; the layout is
/// presentation (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct Ndc {
    labeler: u32,
    product: u16,
    package: u8,
    layout: NdcLayout,
}

/// Why an NDC was rejected or could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NdcError {
    /// The text is not an NDC in any accepted form.
    #[error("{input:?} is not an NDC: {reason}")]
    Syntax {
        /// The rejected text (at most 64 characters).
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Unhyphenated 10 digits have several segmentations (rule NDC-AMBIG-01); the
    /// candidates are distinct and listed in 4-4-2, 5-3-2, 5-4-1 order.
    #[error(
        "{input:?} is an unhyphenated 10-digit NDC with more than one possible \
         segmentation ({}); it needs a unique product-master match and is never guessed",
        list(.candidates)
    )]
    Ambiguous {
        /// The rejected text (at most 64 characters).
        input: String,
        /// The possible readings (or, from [`resolve_unsegmented`], the readings the
        /// product master knows).
        candidates: Vec<Ndc>,
    },
    /// No reading of unhyphenated 10 digits is in the product master.
    #[error(
        "{input:?} is an unhyphenated 10-digit NDC and none of its readings ({}) is in \
         the product master",
        list(.candidates)
    )]
    NotInMaster {
        /// The rejected text (at most 64 characters).
        input: String,
        /// Every reading that was looked up.
        candidates: Vec<Ndc>,
    },
    /// The input is longer than [`MAX_NDC_INPUT`] bytes.
    #[error("{input:?} is not an NDC: it is {len} bytes long, the limit is {max}")]
    TooLong {
        /// The start of the rejected text (at most 64 characters).
        input: String,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A segment value does not fit the requested layout.
    #[error(
        "labeler {labeler}, product {product}, package {package} do not fit the {layout} \
         NDC layout"
    )]
    OutOfRange {
        /// Labeler code as given.
        labeler: u32,
        /// Product code as given.
        product: u16,
        /// Package code as given.
        package: u8,
        /// The layout it had to fit.
        layout: NdcLayout,
    },
}

fn list(candidates: &[Ndc]) -> String {
    let items: Vec<String> = candidates
        .iter()
        .map(|c| format!("{c} ({})", c.layout))
        .collect();
    items.join(", ")
}

impl Ndc {
    /// Builds an NDC, checking each value fits the segment widths of `layout`.
    pub fn new(
        labeler: u32,
        product: u16,
        package: u8,
        layout: NdcLayout,
    ) -> Result<Ndc, NdcError> {
        let (ml, mp, mk) = layout.max_values();
        if labeler > ml || product > mp || package > mk {
            return Err(NdcError::OutOfRange {
                labeler,
                product,
                package,
                layout,
            });
        }
        Ok(Ndc {
            labeler,
            product,
            package,
            layout,
        })
    }

    /// Labeler code (the FDA-assigned firm code).
    pub const fn labeler(&self) -> u32 {
        self.labeler
    }

    /// Product code within the labeler.
    pub const fn product_code(&self) -> u16 {
        self.product
    }

    /// Package code within the product.
    pub const fn package_code(&self) -> u8 {
        self.package
    }

    /// Layout the NDC was parsed from or built with; [`Display`](fmt::Display) uses it.
    pub const fn layout(&self) -> NdcLayout {
        self.layout
    }

    /// The same package presented in another layout, if its values fit.
    ///
    /// Use it to record a native 10-digit layout learned from a product master, e.g.
    /// `00002-7597-01` with [`NdcLayout::L442`] prints as `0002-7597-01`.
    pub fn with_layout(&self, layout: NdcLayout) -> Result<Ndc, NdcError> {
        Ndc::new(self.labeler, self.product, self.package, layout)
    }

    /// The native 10 digits without hyphens, when the layout is 4-4-2, 5-3-2 or 5-4-1
    /// (`0002-7597-01` → `0002759701`). `None` for 5-4-2 and 6-4-2 layouts, whose
    /// 10-digit form cannot be known without a product master (§3.3 item 3).
    pub fn ndc10(&self) -> Option<String> {
        self.layout
            .is_ten_digit()
            .then(|| self.digits(self.layout, false))
    }

    /// The 11-digit 5-4-2 HIPAA/NCPDP billing form without hyphens (rule NDC-10TO11-01:
    /// `0002-7597-01` → `00002759701`, `50242-040-62` → `50242004062`,
    /// `60575-4112-1` → `60575411201`). `None` when the labeler has 6 significant digits.
    pub fn ndc11(&self) -> Option<String> {
        (self.labeler <= 99_999).then(|| self.digits(NdcLayout::L542, false))
    }

    /// The 11-digit form with hyphens (`00002-7597-01`); `None` as for [`Ndc::ndc11`].
    pub fn ndc11_hyphenated(&self) -> Option<String> {
        (self.labeler <= 99_999).then(|| self.digits(NdcLayout::L542, true))
    }

    /// The 12-digit 6-4-2 form without hyphens (FDA 2033 rule: each segment is
    /// left-padded with zeros), e.g. `0002-7597-01` → `000002759701`.
    pub fn ndc12(&self) -> String {
        self.digits(NdcLayout::L642, false)
    }

    /// The 12-digit form with hyphens (`000002-7597-01`).
    pub fn ndc12_hyphenated(&self) -> String {
        self.digits(NdcLayout::L642, true)
    }

    /// The product NDC (labeler, product), which ignores the package (§3.3 item 5).
    pub const fn product_ndc(&self) -> (u32, u16) {
        (self.labeler, self.product)
    }

    fn key(&self) -> (u32, u16, u8) {
        (self.labeler, self.product, self.package)
    }

    /// Zero-padded segments in `layout` widths; the values always fit because every
    /// caller either uses the NDC's own layout or a wider one.
    fn digits(&self, layout: NdcLayout, hyphens: bool) -> String {
        let (a, b, c) = layout.widths();
        let sep = if hyphens { "-" } else { "" };
        format!(
            "{:0a$}{sep}{:0b$}{sep}{:0c$}",
            self.labeler, self.product, self.package
        )
    }
}

impl PartialEq for Ndc {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Ndc {}

impl Hash for Ndc {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialOrd for Ndc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ndc {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for Ndc {
    /// The native hyphenated form of the layout: `0002-7597-01` (4-4-2),
    /// `00002-7597-01` (5-4-2), `000002-7597-01` (6-4-2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits(self.layout, true))
    }
}

/// Value of a short all-ASCII-digit segment (at most 6 digits, so no overflow).
fn value(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b.wrapping_sub(b'0')))
}

fn syntax(input: &str, reason: impl Into<String>) -> NdcError {
    NdcError::Syntax {
        input: echo(input),
        reason: reason.into(),
    }
}

/// Splits all-digit text at the widths of `layout` (the caller checked the length).
fn split(digits: &[u8], layout: NdcLayout) -> Result<Ndc, NdcError> {
    let (a, b, _) = layout.widths();
    let (lab, rest) = digits.split_at(a.min(digits.len()));
    let (prod, pack) = rest.split_at(b.min(rest.len()));
    Ndc::new(
        value(lab),
        u16::try_from(value(prod)).unwrap_or(u16::MAX),
        u8::try_from(value(pack)).unwrap_or(u8::MAX),
        layout,
    )
}

/// The distinct readings of 10 unhyphenated digits, in 4-4-2, 5-3-2, 5-4-1 order.
///
/// Readings coincide only for degenerate codes (labeler 0 or product 0), which is why
/// the list is deduplicated by package identity.
fn ten_digit_candidates(digits: &[u8]) -> Result<Vec<Ndc>, NdcError> {
    let mut out: Vec<Ndc> = Vec::with_capacity(3);
    for layout in NdcLayout::TEN_DIGIT {
        let ndc = split(digits, layout)?;
        if !out.contains(&ndc) {
            out.push(ndc);
        }
    }
    Ok(out)
}

fn first_bad_char(text: &str, allowed: impl Fn(char) -> bool) -> Option<(usize, char)> {
    text.char_indices().find(|&(_, c)| !allowed(c))
}

fn parse_unhyphenated(text: &str, input: &str) -> Result<Ndc, NdcError> {
    if text.contains('*') {
        return Err(syntax(
            input,
            "the '*' placeholder is only accepted inside a hyphenated NDC",
        ));
    }
    if let Some((i, c)) = first_bad_char(text, |c| c.is_ascii_digit()) {
        return Err(syntax(
            input,
            format!("unexpected character {c:?} at byte {i}; an NDC has only digits and hyphens"),
        ));
    }
    let digits = text.as_bytes();
    match digits.len() {
        10 => Err(NdcError::Ambiguous {
            input: echo(input),
            candidates: ten_digit_candidates(digits)?,
        }),
        11 => split(digits, NdcLayout::L542),
        12 => split(digits, NdcLayout::L642),
        n => Err(syntax(
            input,
            format!(
                "{n} digits without hyphens; expected 11 (5-4-2) or 12 (6-4-2), or 10 with \
                 a product-master lookup"
            ),
        )),
    }
}

fn parse_hyphenated(text: &str, input: &str) -> Result<Ndc, NdcError> {
    if let Some((i, c)) = first_bad_char(text, |c| c.is_ascii_digit() || c == '-' || c == '*') {
        return Err(syntax(
            input,
            format!("unexpected character {c:?} at byte {i}; an NDC has only digits and hyphens"),
        ));
    }
    let mut parts = text.split('-');
    let (Some(lab), Some(prod), Some(pack), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(syntax(
            input,
            format!(
                "{} hyphen-separated segments; expected 3 (labeler-product-package)",
                text.split('-').count()
            ),
        ));
    };
    let segs = [lab, prod, pack];
    let stars = text.bytes().filter(|&b| b == b'*').count();
    let mut starred = None;
    let mut digits = [&b""[..]; 3];
    for (i, seg) in segs.iter().enumerate() {
        let body = match seg.strip_prefix('*') {
            Some(body) => {
                starred = Some(i);
                body
            }
            None => seg,
        };
        if body.contains('*') {
            return Err(syntax(
                input,
                "a '*' placeholder may only lead a segment, and only once",
            ));
        }
        if body.is_empty() {
            return Err(syntax(input, format!("segment {} has no digits", i + 1)));
        }
        digits[i] = body.as_bytes();
    }
    if stars > 1 {
        return Err(syntax(input, "only one '*' placeholder is allowed"));
    }
    let widths = (digits[0].len(), digits[1].len(), digits[2].len());
    let layout = match starred {
        None => NdcLayout::from_widths(widths.0, widths.1, widths.2).ok_or_else(|| {
            syntax(
                input,
                format!(
                    "segment widths {}-{}-{} match no NDC layout (4-4-2, 5-3-2, 5-4-1, \
                     5-4-2, 6-4-2)",
                    widths.0, widths.1, widths.2
                ),
            )
        })?,
        Some(i) => {
            let shape = [lab.len(), prod.len(), pack.len()];
            if shape != [5, 4, 2] {
                return Err(syntax(
                    input,
                    format!(
                        "a '*' placeholder pads the short segment of a 10-digit NDC to the \
                         5-4-2 shape, but the shape here is {}-{}-{}",
                        shape[0], shape[1], shape[2]
                    ),
                ));
            }
            NdcLayout::TEN_DIGIT[i]
        }
    };
    // Each segment holds exactly its width of `layout` in digits (checked above).
    Ndc::new(
        value(digits[0]),
        u16::try_from(value(digits[1])).unwrap_or(u16::MAX),
        u8::try_from(value(digits[2])).unwrap_or(u8::MAX),
        layout,
    )
}

impl FromStr for Ndc {
    type Err = NdcError;

    /// Parses any accepted form (see the module documentation). Unhyphenated 10 digits
    /// give [`NdcError::Ambiguous`] with the candidate readings.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_NDC_INPUT {
            return Err(NdcError::TooLong {
                input: echo(s),
                len: s.len(),
                max: MAX_NDC_INPUT,
            });
        }
        let text = trim_ascii_ws(s);
        if text.is_empty() {
            return Err(syntax(s, "empty"));
        }
        if text.contains('-') {
            parse_hyphenated(text, s)
        } else {
            parse_unhyphenated(text, s)
        }
    }
}

crate::serde_text::text_serde!(Ndc);

/// A product master (or FDA NDC Directory extract) that knows which package NDCs exist.
///
/// Membership is by package identity, so a master holding `00002-7597-01` knows
/// `0002-7597-01`.
pub trait ProductMaster {
    /// Whether the master knows this package NDC.
    fn contains_ndc(&self, ndc: &Ndc) -> bool;
}

impl<S: BuildHasher> ProductMaster for HashSet<Ndc, S> {
    fn contains_ndc(&self, ndc: &Ndc) -> bool {
        self.contains(ndc)
    }
}

impl ProductMaster for BTreeSet<Ndc> {
    fn contains_ndc(&self, ndc: &Ndc) -> bool {
        self.contains(ndc)
    }
}

impl ProductMaster for [Ndc] {
    fn contains_ndc(&self, ndc: &Ndc) -> bool {
        self.contains(ndc)
    }
}

impl ProductMaster for Vec<Ndc> {
    fn contains_ndc(&self, ndc: &Ndc) -> bool {
        self.as_slice().contains(ndc)
    }
}

impl<F: Fn(&Ndc) -> bool> ProductMaster for F {
    fn contains_ndc(&self, ndc: &Ndc) -> bool {
        self(ndc)
    }
}

/// Resolves an NDC that may be unhyphenated 10 digits (from a UPC, GTIN or manual
/// entry) against a product master (rules NDC-AMBIG-01 / NDC-GTIN-01).
///
/// For 10 unhyphenated digits, returns the single reading the master knows, in its
/// 10-digit layout; [`NdcError::NotInMaster`] (all readings) when it knows none and
/// [`NdcError::Ambiguous`] (the known readings) when it knows more than one. Any other
/// input is simply parsed, without consulting the master.
pub fn resolve_unsegmented(
    digits: &str,
    master: &(impl ProductMaster + ?Sized),
) -> Result<Ndc, NdcError> {
    match digits.parse::<Ndc>() {
        Err(NdcError::Ambiguous { input, candidates }) => {
            let known: Vec<Ndc> = candidates
                .iter()
                .copied()
                .filter(|c| master.contains_ndc(c))
                .collect();
            match known.as_slice() {
                [one] => Ok(*one),
                [] => Err(NdcError::NotInMaster { input, candidates }),
                _ => Err(NdcError::Ambiguous {
                    input,
                    candidates: known,
                }),
            }
        }
        other => other,
    }
}

/// Proptest strategy for any valid NDC in any layout (shared with the GTIN tests).
#[cfg(test)]
pub(crate) fn arb_ndc() -> impl proptest::strategy::Strategy<Value = Ndc> {
    use proptest::prelude::*;
    proptest::sample::select(NdcLayout::ALL.to_vec()).prop_flat_map(|layout| {
        let (ml, mp, mk) = layout.max_values();
        (0..=ml, 0..=mp, 0..=mk).prop_map(move |(l, p, k)| Ndc {
            labeler: l,
            product: p,
            package: k,
            layout,
        })
    })
}

/// Proptest strategy for any valid NDC in a 10-digit layout.
#[cfg(test)]
pub(crate) fn arb_ndc10() -> impl proptest::strategy::Strategy<Value = Ndc> {
    use proptest::prelude::*;
    arb_ndc().prop_filter("10-digit layout", |n| n.layout().is_ten_digit())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> Ndc {
        s.parse().unwrap()
    }

    #[test]
    fn parses_every_layout() {
        let cases = [
            ("0002-7597-01", (2, 7597, 1), NdcLayout::L442),
            ("50242-040-62", (50242, 40, 62), NdcLayout::L532),
            ("60575-4112-1", (60575, 4112, 1), NdcLayout::L541),
            ("00002-7597-01", (2, 7597, 1), NdcLayout::L542),
            ("00002759701", (2, 7597, 1), NdcLayout::L542),
            ("000002-7597-01", (2, 7597, 1), NdcLayout::L642),
            ("123456789012", (123_456, 7890, 12), NdcLayout::L642),
            (" 0002-7597-01\r\n", (2, 7597, 1), NdcLayout::L442),
        ];
        for (text, (l, p, k), layout) in cases {
            let ndc = n(text);
            assert_eq!(
                (ndc.labeler(), ndc.product_code(), ndc.package_code()),
                (l, p, k),
                "{text}"
            );
            assert_eq!(ndc.layout(), layout, "{text}");
        }
    }

    #[test]
    fn display_is_native_form() {
        for text in [
            "0002-7597-01",
            "50242-040-62",
            "60575-4112-1",
            "00002-7597-01",
            "000002-7597-01",
        ] {
            assert_eq!(n(text).to_string(), text);
        }
        assert_eq!(n("00002759701").to_string(), "00002-7597-01");
        assert_eq!(n("000002759701").to_string(), "000002-7597-01");
    }

    #[test]
    fn equality_ignores_layout() {
        assert_eq!(n("0002-7597-01"), n("00002-7597-01"));
        assert_eq!(n("0002-7597-01"), n("000002-7597-01"));
        assert_eq!(n("50242-040-62"), n("50242004062"));
        assert_ne!(n("0002-7597-01"), n("00027-0597-01"));
        let set: HashSet<Ndc> = [n("0002-7597-01"), n("00002-7597-01")].into();
        assert_eq!(set.len(), 1);
        assert!(n("0002-7597-01") < n("0002-7597-02"));
        assert_eq!(n("*1234-5678-90").to_string(), "1234-5678-90");
        assert_eq!(n("00002-7597-1").layout(), NdcLayout::L541);
    }

    #[test]
    fn ndc11_padding_table() {
        // §3.2 table.
        assert_eq!(n("0002-7597-01").ndc11().unwrap(), "00002759701");
        assert_eq!(n("50242-040-62").ndc11().unwrap(), "50242004062");
        assert_eq!(n("60575-4112-1").ndc11().unwrap(), "60575411201");
        assert_eq!(
            n("0002-7597-01").ndc11_hyphenated().unwrap(),
            "00002-7597-01"
        );
        assert_eq!(n("50242-040-62").ndc12(), "050242004062");
        assert_eq!(n("0002-7597-01").ndc12_hyphenated(), "000002-7597-01");
        let six = n("123456-7890-12");
        assert_eq!(six.ndc11(), None);
        assert_eq!(six.ndc11_hyphenated(), None);
        assert_eq!(six.ndc12(), "123456789012");
        // A 6-4-2 NDC whose labeler fits 5 digits still has an 11-digit form.
        assert_eq!(n("012345-7890-12").ndc11().unwrap(), "12345789012");
    }

    #[test]
    fn ndc10_only_for_native_ten_digit_layouts() {
        assert_eq!(n("0002-7597-01").ndc10().unwrap(), "0002759701");
        assert_eq!(n("50242-040-62").ndc10().unwrap(), "5024204062");
        assert_eq!(n("60575-4112-1").ndc10().unwrap(), "6057541121");
        assert_eq!(n("00002-7597-01").ndc10(), None);
        assert_eq!(n("000002-7597-01").ndc10(), None);
        let back = n("00002-7597-01").with_layout(NdcLayout::L442).unwrap();
        assert_eq!(back.to_string(), "0002-7597-01");
        assert!(n("50242-0040-62").with_layout(NdcLayout::L442).is_err());
    }

    #[test]
    fn product_ndc_ignores_package() {
        assert_eq!(n("0002-7597-01").product_ndc(), (2, 7597));
        assert_eq!(
            n("0002-7597-01").product_ndc(),
            n("00002-7597-99").product_ndc()
        );
    }

    #[test]
    fn unhyphenated_ten_digits_are_ambiguous() {
        let err = "0002759701".parse::<Ndc>().unwrap_err();
        let NdcError::Ambiguous { input, candidates } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(input, "0002759701");
        let shown: Vec<String> = candidates.iter().map(Ndc::to_string).collect();
        assert_eq!(shown, ["0002-7597-01", "00027-597-01", "00027-5970-1"]);
        let layouts: Vec<NdcLayout> = candidates.iter().map(Ndc::layout).collect();
        assert_eq!(layouts, NdcLayout::TEN_DIGIT);
        let msg = err.to_string();
        assert!(msg.contains("0002759701"), "{msg}");
        assert!(msg.contains("0002-7597-01 (4-4-2)"), "{msg}");
        assert!(msg.contains("00027-5970-1 (5-4-1)"), "{msg}");
        // §3.3: the three readings are different 11-digit codes.
        let elevens: Vec<String> = candidates.iter().filter_map(Ndc::ndc11).collect();
        assert_eq!(elevens, ["00002759701", "00027059701", "00027597001"]);
    }

    #[test]
    fn a_degenerate_reading_resolves_to_the_master_product() {
        // All zeros: the 4-4-2, 5-3-2 and 5-4-1 readings are one product.
        let master = vec![n("00000-0000-0")];
        let got = resolve_unsegmented("0000000000", &master).unwrap();
        assert_eq!(got, master[0]);
        assert_eq!(got.ndc10().as_deref(), Some("0000000000"));
    }

    #[test]
    fn degenerate_readings_are_deduplicated() {
        // Labeler 0 with product digit 0: 4-4-2 and 5-3-2 read the same package.
        let err = "0000012301".parse::<Ndc>().unwrap_err();
        let NdcError::Ambiguous { candidates, .. } = err else {
            panic!("{err:?}");
        };
        assert_eq!(candidates.len(), 2);
        let err = "0000000000".parse::<Ndc>().unwrap_err();
        let NdcError::Ambiguous { candidates, .. } = err else {
            panic!("{err:?}");
        };
        assert_eq!(candidates.len(), 1);
    }

    #[test]
    fn asterisk_placeholder_is_a_layout_hint() {
        let ndc = n("12345-*678-90");
        assert_eq!(ndc.layout(), NdcLayout::L532);
        assert_eq!(ndc.to_string(), "12345-678-90");
        assert_eq!(ndc.ndc11().unwrap(), "12345067890");
        assert_eq!(n("*0002-7597-01"), n("0002-7597-01"));
        assert_eq!(n("*0002-7597-01").layout(), NdcLayout::L442);
        assert_eq!(n("60575-4112-*1").layout(), NdcLayout::L541);
        for bad in [
            "12345-6*78-90",
            "12345-678*-90",
            "*2345-*678-90",
            "**345-678-90",
            "12345-*67-90",
            "1234-*567-90",
            "12345*67890",
            "*",
            "12345-*-90",
            "123456-*678-90",
        ] {
            let err = bad.parse::<Ndc>().unwrap_err();
            assert!(matches!(err, NdcError::Syntax { .. }), "{bad}: {err:?}");
        }
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "   ",
            "0002-7597",
            "0002-7597-01-1",
            "0002--7597-01",
            "-0002-7597-01",
            "0002-7597-01-",
            "002-7597-01",
            "0002-75970-01",
            "12345678",
            "1234567890123",
            "0002 7597 01",
            "0002_7597_01",
            "０００２-7597-01",
            "0002-7597-0١",
            "+0002-7597-01",
        ] {
            let err = bad.parse::<Ndc>().unwrap_err();
            assert!(matches!(err, NdcError::Syntax { .. }), "{bad:?}: {err:?}");
            let msg = err.to_string();
            assert!(msg.contains("is not an NDC"), "{msg}");
        }
        let err = "0002-7597-0x".parse::<Ndc>().unwrap_err();
        assert!(err.to_string().contains("'x' at byte 11"), "{err}");
    }

    #[test]
    fn rejects_huge_input_early() {
        let huge = "1".repeat(10_000);
        let err = huge.parse::<Ndc>().unwrap_err();
        let NdcError::TooLong { input, len, max } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((*len, *max), (10_000, MAX_NDC_INPUT));
        assert_eq!(input.chars().count(), 65);
        assert!(err.to_string().len() < 200);
    }

    #[test]
    fn new_checks_ranges_per_layout() {
        assert!(Ndc::new(9999, 9999, 99, NdcLayout::L442).is_ok());
        assert!(Ndc::new(10_000, 1, 1, NdcLayout::L442).is_err());
        assert!(Ndc::new(99_999, 1000, 1, NdcLayout::L532).is_err());
        assert!(Ndc::new(99_999, 999, 99, NdcLayout::L532).is_ok());
        assert!(Ndc::new(1, 1, 10, NdcLayout::L541).is_err());
        assert!(Ndc::new(100_000, 1, 1, NdcLayout::L542).is_err());
        assert!(Ndc::new(999_999, 9999, 99, NdcLayout::L642).is_ok());
        assert!(Ndc::new(1_000_000, 1, 1, NdcLayout::L642).is_err());
        assert!(Ndc::new(1, 10_000, 1, NdcLayout::L642).is_err());
        assert!(Ndc::new(1, 1, 100, NdcLayout::L642).is_err());
        let err = Ndc::new(10_000, 1, 1, NdcLayout::L442).unwrap_err();
        assert!(err.to_string().contains("4-4-2"), "{err}");
    }

    #[test]
    fn resolve_against_master() {
        let master: HashSet<Ndc> = [n("00002-7597-01")].into();
        let ndc = resolve_unsegmented("0002759701", &master).unwrap();
        assert_eq!(ndc.to_string(), "0002-7597-01");
        assert_eq!(ndc.layout(), NdcLayout::L442);

        let vec = vec![n("00027-0597-01")];
        assert_eq!(
            resolve_unsegmented("0002759701", &vec).unwrap().layout(),
            NdcLayout::L532
        );
        assert_eq!(
            resolve_unsegmented("0002759701", vec.as_slice())
                .unwrap()
                .layout(),
            NdcLayout::L532
        );
        let bset: BTreeSet<Ndc> = [n("00027-5970-01")].into();
        assert_eq!(
            resolve_unsegmented("0002759701", &bset).unwrap().layout(),
            NdcLayout::L541
        );

        let none = |_: &Ndc| false;
        let err = resolve_unsegmented("0002759701", &none).unwrap_err();
        let NdcError::NotInMaster { candidates, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(candidates.len(), 3);
        assert!(err.to_string().contains("product master"), "{err}");

        let both = vec![n("00002-7597-01"), n("00027-5970-01")];
        let err = resolve_unsegmented("0002759701", &both).unwrap_err();
        let NdcError::Ambiguous { candidates, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(candidates, &both);

        // 11/12-digit and hyphenated input is just parsed.
        assert_eq!(
            resolve_unsegmented("00002759701", &none).unwrap(),
            n("0002-7597-01")
        );
        assert_eq!(
            resolve_unsegmented("000002759701", &none).unwrap(),
            n("0002-7597-01")
        );
        assert!(matches!(
            resolve_unsegmented("abc", &none),
            Err(NdcError::Syntax { .. })
        ));
    }

    #[test]
    fn serde_is_display_text() {
        let ndc = n("50242-040-62");
        let json = serde_json::to_string(&ndc).unwrap();
        assert_eq!(json, "\"50242-040-62\"");
        let back: Ndc = serde_json::from_str(&json).unwrap();
        assert_eq!(back.layout(), NdcLayout::L532);
        assert!(serde_json::from_str::<Ndc>("\"0002759701\"").is_err());
        assert_eq!(serde_json::to_string(&NdcLayout::L442).unwrap(), "\"L442\"");
    }

    /// Pads each hyphenated segment of `text` to the given widths (§3.2 / §3.6 rule).
    fn pad_segments(text: &str, widths: [usize; 3]) -> String {
        text.split('-')
            .zip(widths)
            .map(|(s, w)| format!("{s:0>w$}"))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn display_parse_round_trip(ndc in arb_ndc()) {
            let text = ndc.to_string();
            let back: Ndc = text.parse().unwrap();
            prop_assert_eq!(back, ndc);
            prop_assert_eq!(back.layout(), ndc.layout());
            prop_assert_eq!(back.to_string(), text);
        }

        #[test]
        fn serde_round_trip(ndc in arb_ndc()) {
            let json = serde_json::to_string(&ndc).unwrap();
            prop_assert_eq!(&json, &format!("\"{ndc}\""));
            let back: Ndc = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, ndc);
            prop_assert_eq!(back.layout(), ndc.layout());
        }

        #[test]
        fn ndc11_and_ndc12_pad_each_segment(ndc in arb_ndc()) {
            let text = ndc.to_string();
            let twelve = pad_segments(&text, [6, 4, 2]);
            prop_assert_eq!(ndc.ndc12(), twelve.clone());
            prop_assert_eq!(ndc.ndc12().parse::<Ndc>().unwrap(), ndc);
            match ndc.ndc11() {
                Some(eleven) => {
                    if ndc.layout() != NdcLayout::L642 {
                        prop_assert_eq!(&eleven, &pad_segments(&text, [5, 4, 2]));
                    }
                    prop_assert_eq!(eleven.parse::<Ndc>().unwrap(), ndc);
                    prop_assert_eq!(&twelve[1..], eleven.as_str());
                }
                None => prop_assert!(ndc.labeler() > 99_999),
            }
        }

        #[test]
        fn ten_digit_forms_are_ambiguous_and_resolvable(ndc in arb_ndc10()) {
            let ten = ndc.ndc10().unwrap();
            let err = ten.parse::<Ndc>().unwrap_err();
            let NdcError::Ambiguous { candidates, .. } = err else {
                return Err(TestCaseError::fail("not ambiguous"));
            };
            prop_assert!(candidates.contains(&ndc));
            prop_assert!((1..=3).contains(&candidates.len()));
            let master = vec![ndc];
            let got = resolve_unsegmented(&ten, &master).unwrap();
            prop_assert_eq!(got, ndc);
            // The same ten digits. (Its layout may differ from `ndc`'s where two readings
            // are one product, e.g. all zeros: the candidates are deduplicated.)
            prop_assert_eq!(got.ndc10(), Some(ten.clone()));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = s.parse::<Ndc>();
            let _ = resolve_unsegmented(&s, &|_: &Ndc| true);
        }

        #[test]
        fn parse_never_panics_on_ndc_like_text(s in "[0-9*\\- ]{0,16}") {
            if let Ok(ndc) = s.parse::<Ndc>() {
                prop_assert_eq!(ndc.to_string().parse::<Ndc>().unwrap(), ndc);
            }
        }

        #[test]
        fn parse_never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = String::from_utf8_lossy(&b).parse::<Ndc>();
        }
    }
}
