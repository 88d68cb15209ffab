//! Strength text and its normalized form.
//!
//! The Orange Book `Strength` column (FDA `products.txt`) is free text with a few
//! conventions:
//!
//! * a footnote may follow ` **` (`0.1MG **See current Annual Edition…`), sometimes with a
//!   closing `**`, sometimes without;
//! * multi-ingredient strengths are joined by `;` in ingredient order (`EQ 5MG BASE;EQ 10MG BASE`);
//! * multi-phase strengths (oral contraceptives) separate phases with `,`
//!   (`0.02MG,0.1MG;0.01MG,N/A`), while `50,000 IU` uses `,` as a thousands separator;
//! * a salt may be labelled by its base or another moiety: `EQ 10MG BASE`, `EQ 40MG MEDOXOMIL`,
//!   `EQ 0.1MG PHOSPHATE/INH`.
//!
//! [`Strength::parse`] keeps the text as given (`raw`, footnote included), the text without
//! its footnote (`text`), the footnote, and a canonical comparison key (`normalized`). The
//! key is rendered from the structured form ([`Strength::parts`]), so
//! strengths that differ only in spelling compare equal:
//!
//! * upper case, runs of whitespace collapsed to one space, spaces around `;`/`,` removed;
//! * numbers canonical: thousands separators dropped, no trailing fraction zeros, a leading
//!   `0` before a bare `.` (`10.0MG`→`10MG`, `0.50MG`→`0.5MG`, `.5MG`→`0.5MG`);
//! * no space between a number and its unit (`50,000 IU` → `50000IU`, `/5 ML` → `/5ML`);
//! * an amount is rendered `[EQ ]<number><unit>[ <basis>][/<per>]`.
//!
//! A comma is a **thousands separator** when it is preceded by a digit and followed by exactly
//! three digits and then a non-digit (or the end); every other comma separates phases.
//! A phase that does not fit the amount grammar is kept as [`Phase::Unparsed`] with its
//! cleaned text (upper case, collapsed whitespace): no number is ever guessed.
//!
//! # Against the equivalence rule
//!
//! Pharmaceutical equivalents are "identical in strength or concentration" (Orange Book
//! Preface §1.2) and "contain identical amounts of the identical active drug ingredient"
//! (21 CFR 320.1(c)). Read literally against the data file, that would compare the
//! `Strength` text. The key compares the *amounts* the text states, and differs from the
//! literal reading in one direction only: two texts that state **the same numbers in the
//! same units and the same `EQ`/basis wording** get one key even when spelled differently.
//! Precisely, two strengths have equal keys exactly when, ingredient by ingredient and
//! phase by phase:
//!
//! * both amounts have equal decimal values (`0.10MG` = `0.1MG` = `.1MG`, `10.0MG` = `10MG`,
//!   `50,000 IU` = `50000IU`: the same number, so the same amount), the same unit words
//!   ignoring case (except `m` before `U`/`IU`) and the space after the number (`10 mg` =
//!   `10MG`), the same per-quantity after
//!   `/` (its number compared by value: `/5.0ML` = `/5ML`), and the same `EQ` flag and
//!   basis words; or
//! * both are `N/A`; or
//! * both are text outside the amount grammar and equal once upper-cased with whitespace
//!   collapsed.
//!
//! A footnote never takes part. Everything else is kept apart, even where the amounts
//! might be the same: units are never converted (`1GM` ≠ `1000MG`, `1000MCG` ≠ `1MG`),
//! concentrations are not reduced (`10MG/ML` ≠ `50MG/5ML`, `0.1%` ≠ `1MG/ML`), and an `EQ`
//! amount never equals a plain one or one of another basis (`EQ 10MG BASE` ≠ `10MG`). The
//! Orange Book states the strength of the products of one group the same way; the key
//! absorbs the spelling variants the file has (`0.10MG/INH` next to `0.1MG/INH`) and joins
//! nothing that would need a conversion or a reading of the label: a wrong join offers a
//! product that is not a substitute, a missed one only withholds a substitute.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Longest strength text accepted by [`Strength::parse`], in bytes (footnote included).
pub const MAX_STRENGTH_LEN: usize = 1024;

/// Longest number (digits, separators and point) parsed as an amount.
const MAX_NUMBER_LEN: usize = 32;

/// Strength as printed and normalized for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strength {
    /// The text given to [`Strength::parse`], footnote included. The `products.txt` loader
    /// passes the `Strength` field as in the file, without the surrounding whitespace it
    /// trims from every field.
    pub raw: String,
    /// The raw text with the footnote removed, trimmed.
    pub text: String,
    /// Canonical comparison key.
    pub normalized: String,
    /// Footnote that followed ` **`, if any (trimmed, closing `**` removed).
    pub footnote: Option<String>,
}

/// Why a strength was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrengthError {
    /// Nothing is left once the footnote is removed and the text trimmed.
    #[error("strength is empty (raw text {raw:?})")]
    Empty {
        /// The raw text (truncated to 64 characters).
        raw: String,
    },
    /// The text is longer than [`MAX_STRENGTH_LEN`].
    #[error("strength is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// Length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// One amount: `EQ 0.1MG PHOSPHATE/INH` is `{ value: 0.1, unit: "MG/INH", equivalent: true,
/// basis: Some("PHOSPHATE") }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Amount {
    /// The number, normalized (no trailing zeros); JSON: a decimal string (`"0.1"`).
    #[serde(deserialize_with = "crate::serde_strict::decimal_text")]
    pub value: Decimal,
    /// Upper-case unit including any per-quantity part (`MG`, `%`, `IU`, `CSR UNIT`,
    /// `MG/5ML`, `MG/ACTUATION`).
    pub unit: String,
    /// The amount was written `EQ …` (expressed as an equivalent amount of `basis`).
    pub equivalent: bool,
    /// What an `EQ` amount is expressed as (`BASE`, `MEDOXOMIL`, `PHOSPHATE`…).
    pub basis: Option<String>,
}

impl Amount {
    /// The unit before any `/` (`MG` for `MG/5ML`).
    pub fn numerator_unit(&self) -> &str {
        self.unit
            .split_once('/')
            .map_or(self.unit.as_str(), |(n, _)| n)
    }

    /// The part after `/` (`5ML` for `MG/5ML`, `INH` for `MG/INH`), if any.
    pub fn per(&self) -> Option<&str> {
        self.unit.split_once('/').map(|(_, d)| d)
    }

    fn render(&self, out: &mut String) {
        if self.equivalent {
            out.push_str("EQ ");
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{}", self.value);
        out.push_str(self.numerator_unit());
        if let Some(b) = &self.basis {
            out.push(' ');
            out.push_str(b);
        }
        if let Some(p) = self.per() {
            out.push('/');
            out.push_str(p);
        }
    }
}

/// One phase of one ingredient's strength.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// A parsed amount.
    Amount(Amount),
    /// `N/A` (a phase without this ingredient, e.g. placebo tablets).
    NotApplicable,
    /// Text that does not fit the amount grammar, cleaned (upper case, collapsed whitespace).
    Unparsed(String),
}

impl Phase {
    /// The amount, when this phase is one.
    pub fn amount(&self) -> Option<&Amount> {
        match self {
            Phase::Amount(a) => Some(a),
            _ => None,
        }
    }
}

impl Strength {
    /// Parses a raw `Strength` field. Only an empty (after footnote removal and trimming)
    /// or over-long text is an error; text that is not understood is kept verbatim in the key.
    pub fn parse(raw: &str) -> Result<Strength, StrengthError> {
        if raw.len() > MAX_STRENGTH_LEN {
            return Err(StrengthError::TooLong {
                len: raw.len(),
                max: MAX_STRENGTH_LEN,
            });
        }
        let (body, footnote) = split_footnote(raw);
        let text = body.trim();
        if text.is_empty() {
            return Err(StrengthError::Empty {
                raw: raw.chars().take(64).collect(),
            });
        }
        let parts = analyze(text);
        let normalized = render(&parts);
        Ok(Strength {
            raw: raw.to_owned(),
            text: text.to_owned(),
            normalized,
            footnote,
        })
    }

    /// Structured form of [`Strength::text`]: one entry per ingredient (split on `;`), each
    /// with its phases (split on non-thousands `,`). Single-phase strengths have one phase
    /// per ingredient.
    pub fn parts(&self) -> Vec<Vec<Phase>> {
        analyze(&self.text)
    }

    /// Whether two strengths are the same for substitution purposes (equal keys).
    pub fn same_as(&self, other: &Strength) -> bool {
        self.normalized == other.normalized
    }
}

/// Splits off a footnote introduced by `**` that follows whitespace.
fn split_footnote(raw: &str) -> (&str, Option<String>) {
    let bytes = raw.as_bytes();
    let mut from = 0;
    while let Some(off) = raw[from..].find("**") {
        let at = from + off;
        if at > 0 && matches!(bytes[at - 1], b' ' | b'\t') {
            let note = raw[at + 2..].trim();
            let note = note.strip_suffix("**").unwrap_or(note).trim();
            let note = (!note.is_empty()).then(|| note.to_owned());
            return (&raw[..at], note);
        }
        from = at + 2;
    }
    (raw, None)
}

/// Upper-cases and collapses whitespace runs to one space; trims.
fn clean(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for (i, &ch) in chars.iter().enumerate() {
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            if ch == 'm' && milli_unit(&chars[i + 1..]) {
                // `mU` / `mIU` (milli-units) must not become `MU` / `MIU` (mega-units).
                out.push('m');
                continue;
            }
            for u in ch.to_uppercase() {
                out.push(u);
            }
        }
    }
    out
}

/// `rest` starts with the `U` or `IU` of a unit (any case), not followed by a letter.
fn milli_unit(rest: &[char]) -> bool {
    let word: String = rest
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    word.eq_ignore_ascii_case("u") || word.eq_ignore_ascii_case("iu")
}

/// Whether the comma at byte `i` of `s` is a thousands separator.
fn is_thousands_comma(s: &[u8], i: usize) -> bool {
    i > 0
        && s[i - 1].is_ascii_digit()
        && s.len() >= i + 4
        && s[i + 1..i + 4].iter().all(u8::is_ascii_digit)
        && s.get(i + 4).is_none_or(|b| !b.is_ascii_digit())
}

fn analyze(text: &str) -> Vec<Vec<Phase>> {
    let cleaned = clean(text);
    cleaned
        .split(';')
        .map(|part| {
            let b = part.as_bytes();
            let mut phases = Vec::with_capacity(1);
            let mut start = 0;
            for (i, &c) in b.iter().enumerate() {
                if c == b',' && !is_thousands_comma(b, i) {
                    phases.push(parse_phase(part[start..i].trim()));
                    start = i + 1;
                }
            }
            phases.push(parse_phase(part[start..].trim()));
            phases
        })
        .collect()
}

fn render(parts: &[Vec<Phase>]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        for (j, phase) in part.iter().enumerate() {
            let mut text = String::new();
            match phase {
                Phase::Amount(a) => a.render(&mut text),
                Phase::NotApplicable => text.push_str("N/A"),
                Phase::Unparsed(t) => text.push_str(t),
            }
            if j > 0 {
                // `1` then `100MG` joined as `1,100MG` would read back as one thousand
                // one hundred: a space keeps the comma a phase separator, so the normalized
                // form normalizes to itself.
                let b = text.as_bytes();
                let grouped_next = b.len() >= 3
                    && b[..3].iter().all(u8::is_ascii_digit)
                    && b.get(3).is_none_or(|c| !c.is_ascii_digit());
                let digit_before = out.as_bytes().last().is_some_and(u8::is_ascii_digit);
                out.push_str(if grouped_next && digit_before {
                    ", "
                } else {
                    ","
                });
            }
            out.push_str(&text);
        }
    }
    out
}

/// Parses a number at the start of `s` (digits, optional thousands groups, optional fraction,
/// or a bare `.5`). Returns the value and the bytes consumed.
fn parse_number(s: &str) -> Option<(Decimal, usize)> {
    let b = s.as_bytes();
    let mut end = 0;
    while end < b.len() && (b[end].is_ascii_digit() || b[end] == b'.' || b[end] == b',') {
        // A comma only belongs to the number when it is a thousands separator.
        if b[end] == b',' && !is_thousands_comma(b, end) {
            break;
        }
        end += 1;
    }
    let tok = &s[..end];
    if tok.is_empty() || tok.len() > MAX_NUMBER_LEN {
        return None;
    }
    let (int, frac) = match tok.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (tok, None),
    };
    if let Some(f) = frac
        && (f.is_empty() || !f.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    // Integer part: empty only before a fraction; commas only as well-formed groups.
    let mut digits = String::with_capacity(tok.len() + 1);
    if int.is_empty() {
        frac?;
        digits.push('0');
    } else {
        let groups: Vec<&str> = int.split(',').collect();
        let first = groups.first()?;
        if first.is_empty() || !first.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if groups.len() > 1 && first.len() > 3 {
            return None;
        }
        for g in &groups[1..] {
            if g.len() != 3 || !g.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
        }
        for g in groups {
            digits.push_str(g);
        }
    }
    if let Some(f) = frac {
        digits.push('.');
        digits.push_str(f);
    }
    let value = Decimal::from_str_exact(&digits).ok()?.normalize();
    Some((value, end))
}

fn is_unit_word(w: &str) -> bool {
    !w.is_empty() && w.bytes().all(|c| c.is_ascii_uppercase())
}

/// Parses the part after `/`: an optional number and one unit word, or a number alone.
fn parse_per(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut out = String::new();
    let rest = match parse_number(s) {
        Some((v, used)) => {
            let _ = write!(out, "{v}");
            s[used..].trim_start()
        }
        None => s,
    };
    if rest.is_empty() {
        return (!out.is_empty()).then_some(out);
    }
    if !is_unit_word(rest) {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// Parses one cleaned phase (upper case, collapsed whitespace, trimmed).
fn parse_phase(p: &str) -> Phase {
    if p == "N/A" {
        return Phase::NotApplicable;
    }
    parse_amount(p).map_or_else(|| Phase::Unparsed(p.to_owned()), Phase::Amount)
}

fn parse_amount(p: &str) -> Option<Amount> {
    let (equivalent, rest) = match p.strip_prefix("EQ ") {
        Some(r) => (true, r),
        None => (false, p),
    };
    let (value, used) = parse_number(rest)?;
    let rest = rest[used..].strip_prefix(' ').unwrap_or(&rest[used..]);
    let (before_per, per) = match rest.split_once('/') {
        Some((a, b)) => (a, Some(parse_per(b)?)),
        None => (rest, None),
    };
    let mut words = before_per.split(' ');
    let first = words.next()?;
    let unit_ok = !first.is_empty() && first.bytes().all(|c| c.is_ascii_uppercase() || c == b'%');
    if !unit_ok {
        return None;
    }
    let mut unit = first.to_owned();
    let mut extra: Vec<&str> = Vec::new();
    for w in words {
        if !is_unit_word(w) {
            return None;
        }
        extra.push(w);
    }
    let basis = if extra.is_empty() {
        None
    } else if equivalent {
        Some(extra.join(" "))
    } else {
        // `130CSR UNIT`: without `EQ`, extra words belong to the unit.
        for w in &extra {
            unit.push(' ');
            unit.push_str(w);
        }
        None
    };
    if let Some(per) = per {
        unit.push('/');
        unit.push_str(&per);
    }
    Some(Amount {
        value,
        unit,
        equivalent,
        basis,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn norm(s: &str) -> String {
        Strength::parse(s).unwrap().normalized
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn sample_strengths() {
        assert_eq!(norm("EQ 10MG BASE"), "EQ 10MG BASE");
        assert_eq!(norm("EQ 80MG BASE "), "EQ 80MG BASE");
        assert_eq!(norm("EQ 5MG BASE;EQ 10MG BASE"), "EQ 5MG BASE;EQ 10MG BASE");
        assert_eq!(norm("325MG;50MG;40MG"), "325MG;50MG;40MG");
        assert_eq!(norm("0.02MG,0.1MG;0.01MG,N/A"), "0.02MG,0.1MG;0.01MG,N/A");
        assert_eq!(norm("0.05%"), "0.05%");
        assert_eq!(norm("1%"), "1%");
        assert_eq!(norm("2MG/ACTUATION"), "2MG/ACTUATION");
        assert_eq!(norm("EQ 0.1MG PHOSPHATE/INH"), "EQ 0.1MG PHOSPHATE/INH");
        assert_eq!(norm("EQ 90MG CALCIUM/5ML"), "EQ 90MG CALCIUM/5ML");
        assert_eq!(norm("130CSR UNIT"), "130CSR UNIT");
    }

    #[test]
    fn real_file_spellings() {
        // Spellings seen in the full products.txt (mid-2026 release).
        assert_eq!(norm("EQ 4% BASE"), "EQ 4% BASE");
        assert_eq!(norm("0.10MG/INH"), "0.1MG/INH");
        assert_eq!(
            norm("0.0048MG/INH;0.0090MG/INH"),
            "0.0048MG/INH;0.009MG/INH"
        );
        assert_eq!(
            norm("EQ 0.09MG BASE/INH;0.018MG/INH"),
            "EQ 0.09MG BASE/INH;0.018MG/INH"
        );
        assert_eq!(norm("1,000 UNITS/100ML"), "1000UNITS/100ML");
        assert_eq!(norm("0.5MG/0.5ML"), "0.5MG/0.5ML");
        assert_eq!(norm("EQ 4MG BASE/VIAL"), "EQ 4MG BASE/VIAL");
        assert_eq!(norm("0.25mCi/ML"), "0.25MCI/ML");
        let s = Strength::parse("8% (8GM/100ML)").unwrap();
        assert_eq!(s.normalized, "8% (8GM/100ML)");
        assert!(matches!(s.parts()[0][0], Phase::Unparsed(_)));
        assert!(matches!(
            Strength::parse("1-2mCi/VIAL").unwrap().parts()[0][0],
            Phase::Unparsed(_)
        ));
        assert_eq!(
            Strength::parse("N/A").unwrap().parts(),
            vec![vec![Phase::NotApplicable]]
        );
    }

    #[test]
    fn spelling_variants_compare_equal() {
        assert_eq!(norm("10.0MG"), "10MG");
        assert_eq!(norm("10 mg"), "10MG");
        assert_eq!(norm("0.50MG"), "0.5MG");
        assert_eq!(norm(".5MG"), "0.5MG");
        assert_eq!(norm("50,000 IU"), "50000IU");
        assert_eq!(norm("50000IU"), "50000IU");
        assert_eq!(norm("1,000,000 UNITS/GM"), "1000000UNITS/GM");
        assert_eq!(norm("eq  10mg   base"), "EQ 10MG BASE");
        assert_eq!(
            norm("EQ 5MG BASE; EQ 10MG BASE"),
            "EQ 5MG BASE;EQ 10MG BASE"
        );
        assert_eq!(norm("25MG/5 ML"), "25MG/5ML");
        assert_eq!(norm("25MG/5.0ML"), "25MG/5ML");
        assert_eq!(norm("0.02MG, 0.1MG"), "0.02MG,0.1MG");
    }

    #[test]
    fn thousands_vs_phase_commas() {
        let s = Strength::parse("0.02MG,0.1MG;0.01MG,N/A").unwrap();
        let p = s.parts();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].len(), 2);
        assert_eq!(p[1][1], Phase::NotApplicable);
        assert_eq!(p[0][1].amount().unwrap().value, dec("0.1"));
        let s = Strength::parse("50,000 IU").unwrap();
        let p = s.parts();
        assert_eq!(
            p,
            vec![vec![Phase::Amount(Amount {
                value: dec("50000"),
                unit: "IU".into(),
                equivalent: false,
                basis: None
            })]]
        );
        // Two phases where the second begins with digits after a unit.
        let p = Strength::parse("5MG,100MG").unwrap().parts();
        assert_eq!(p[0].len(), 2);
        // Digit, comma, three digits: thousands.
        let p = Strength::parse("1,500MG").unwrap().parts();
        assert_eq!(p[0][0].amount().unwrap().value, dec("1500"));
        // Digit, comma, two digits: a phase comma, and "1" alone is not an amount.
        let p = Strength::parse("1,50MG").unwrap().parts();
        assert_eq!(
            p[0],
            vec![
                Phase::Unparsed("1".into()),
                Phase::Amount(Amount {
                    value: dec("50"),
                    unit: "MG".into(),
                    equivalent: false,
                    basis: None
                })
            ]
        );
    }

    #[test]
    fn structured_amounts() {
        let s = Strength::parse("EQ 0.1MG PHOSPHATE/INH").unwrap();
        let a = s.parts()[0][0].amount().cloned().unwrap();
        assert_eq!(a.value, dec("0.1"));
        assert_eq!(a.unit, "MG/INH");
        assert_eq!(a.numerator_unit(), "MG");
        assert_eq!(a.per(), Some("INH"));
        assert!(a.equivalent);
        assert_eq!(a.basis.as_deref(), Some("PHOSPHATE"));

        let s = Strength::parse("EQ 5MG BASE;EQ 10MG BASE").unwrap();
        let p = s.parts();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1][0].amount().unwrap().value, dec("10"));
        assert_eq!(p[1][0].amount().unwrap().basis.as_deref(), Some("BASE"));

        let a = Strength::parse("2MG/ACTUATION").unwrap().parts()[0][0]
            .amount()
            .cloned()
            .unwrap();
        assert_eq!(a.unit, "MG/ACTUATION");
        assert!(!a.equivalent && a.basis.is_none());

        let a = Strength::parse("0.05%").unwrap().parts()[0][0]
            .amount()
            .cloned()
            .unwrap();
        assert_eq!((a.value, a.unit.as_str()), (dec("0.05"), "%"));
    }

    #[test]
    fn footnotes() {
        let s = Strength::parse(
            "0.1MG **See current Annual Edition, 1.8 Description of Special Situations, Levothyroxine Sodium",
        )
        .unwrap();
        assert_eq!(s.text, "0.1MG");
        assert_eq!(s.normalized, "0.1MG");
        assert_eq!(
            s.footnote.as_deref(),
            Some(
                "See current Annual Edition, 1.8 Description of Special Situations, Levothyroxine Sodium"
            )
        );
        let s = Strength::parse(
            "EQ 10MG BASE;10MG **Federal Register determination that product was not discontinued or withdrawn for safety or effectiveness reasons**",
        )
        .unwrap();
        assert_eq!(s.text, "EQ 10MG BASE;10MG");
        assert_eq!(s.normalized, "EQ 10MG BASE;10MG");
        assert!(
            s.footnote
                .as_deref()
                .unwrap()
                .ends_with("effectiveness reasons")
        );
        // Same product with and without the note: same key.
        assert!(s.same_as(&Strength::parse("EQ 10MG BASE;10MG").unwrap()));
        // Empty note.
        let s = Strength::parse("5MG ** **").unwrap();
        assert_eq!((s.text.as_str(), s.footnote), ("5MG", None));
    }

    #[test]
    fn unparsed_text_kept_without_guessing() {
        let s = Strength::parse("EQ 8MG BASE/4ML (EQ 2MG BASE/ML)").unwrap();
        assert_eq!(s.normalized, "EQ 8MG BASE/4ML (EQ 2MG BASE/ML)");
        assert!(matches!(s.parts()[0][0], Phase::Unparsed(_)));
        assert_eq!(norm("n/a"), "N/A");
        assert_eq!(norm("about ten mg"), "ABOUT TEN MG");
        assert_eq!(norm("10.MG"), "10.MG");
        assert_eq!(norm("1.2.3MG"), "1.2.3MG");
        assert_eq!(norm("1234,567MG"), "1234,567MG");
    }

    #[test]
    fn errors() {
        assert!(matches!(
            Strength::parse(""),
            Err(StrengthError::Empty { .. })
        ));
        assert!(matches!(
            Strength::parse("   "),
            Err(StrengthError::Empty { .. })
        ));
        assert!(matches!(
            Strength::parse(" **note only"),
            Err(StrengthError::Empty { .. })
        ));
        let long = "1".repeat(MAX_STRENGTH_LEN + 1);
        assert!(matches!(
            Strength::parse(&long),
            Err(StrengthError::TooLong { .. })
        ));
        let huge_number = format!("{}MG", "9".repeat(60));
        // Too many digits for an exact decimal: kept as text, not rounded.
        assert_eq!(norm(&huge_number), huge_number);
    }

    #[test]
    fn documented_equivalence_rule() {
        // Joined: the same numbers in the same units, spelled differently.
        for (a, b) in [
            ("0.10MG", "0.1MG"),
            (".1MG", "0.1MG"),
            ("0.10MG/INH", "0.1MG/INH"),
            ("25MG/5.0ML", "25mg/5 ml"),
            ("EQ 10.0MG BASE", "eq 10mg base"),
            ("50,000 IU", "50000IU"),
            ("0.1MG **a note", "0.1MG"),
        ] {
            assert_eq!(norm(a), norm(b), "{a} vs {b}");
        }
        // Kept apart: anything that needs a conversion or a reading of the label.
        for (a, b) in [
            ("1GM", "1000MG"),
            ("1000MCG", "1MG"),
            ("10MG/ML", "50MG/5ML"),
            ("0.1%", "1MG/ML"),
            ("EQ 10MG BASE", "10MG"),
            ("EQ 10MG BASE", "EQ 10MG FREE ACID"),
            ("5MG;10MG", "10MG;5MG"),
            ("8% (8GM/100ML)", "8%"),
        ] {
            assert_ne!(norm(a), norm(b), "{a} vs {b}");
        }
    }

    #[test]
    fn raw_text_is_kept() {
        let raw = "0.1MG **See current Annual Edition, 1.8 Description of Special Situations";
        let s = Strength::parse(raw).unwrap();
        assert_eq!(s.raw, raw);
        assert_eq!(s.text, "0.1MG");
        assert_eq!(s.normalized, "0.1MG");
        assert_eq!(Strength::parse("0.10MG").unwrap().raw, "0.10MG");
    }

    #[test]
    fn milli_units_are_not_mega_units() {
        assert_ne!(norm("5 mu"), norm("5 MU"));
        assert_ne!(norm("5mU"), norm("5MU"));
        assert_ne!(norm("10mIU"), norm("10MIU"));
        assert_eq!(norm("10MG"), norm("10mg"));
    }

    #[test]
    fn phase_join_stays_unambiguous() {
        let once = norm("MG;1,0100MG");
        assert_eq!(norm(&once), once);
        assert_eq!(norm("50,000 IU"), "50000IU");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = Strength::parse(&s);
        }

        #[test]
        fn normalized_is_a_fixed_point(s in "(EQ )?[0-9]{0,5}(\\.[0-9]{0,3})?( )?(MG|GM|%|IU|MEQ)( BASE)?(/(5ML|INH|ML))?([;,](EQ )?[0-9,.]{1,6}(MG|N/A))?") {
            if let Ok(st) = Strength::parse(&s) {
                let again = Strength::parse(&st.normalized).unwrap();
                prop_assert_eq!(again.normalized, st.normalized);
            }
        }

        #[test]
        fn decimal_spellings_agree(int in 0u32..100_000, frac in 0u32..1000, zeros in 0usize..3) {
            let a = format!("{int}.{frac:03}{}MG", "0".repeat(zeros));
            let b = format!("{int}.{frac:03}MG");
            prop_assert_eq!(norm(&a), norm(&b));
        }

        #[test]
        fn thousands_separators_are_ignored(n in 1_000u64..10_000_000) {
            let plain = format!("{n} IU");
            let s = n.to_string();
            let mut grouped = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            prop_assert_eq!(norm(&plain), norm(&format!("{grouped} IU")));
            prop_assert_eq!(norm(&plain), format!("{n}IU"));
        }
    }
}
