//! GS1 element strings from DSCSA 2D DataMatrix barcodes (dispensing-rules §3.5, rule
//! GS1-DM-01): GTIN (AI 01), expiry (AI 17), lot (AI 10) and serial (AI 21).
//!
//! [`parse_datamatrix`] reads the scanner output: an optional symbology identifier
//! (`]d2` DataMatrix, `]C1` GS1-128, `]Q3` GS1 QR), then AIs in any order. Fixed-length
//! fields (01: 14 digits, 17: 6 digits) need no separator; variable-length fields
//! (10, 21: 1–20 characters of the GS1 character set 82) end at the GS character
//! (`0x1D`, FNC1) or at the end of the data. [`parse_human_readable`] reads the
//! parenthesised form printed under the barcode, `(01)00300027597010(17)270531…`.
//!
//! Tolerated, because they are unambiguous: surrounding ASCII whitespace (scanner
//! suffixes), one leading GS (FNC1 in first position sent as GS), a GS after a
//! fixed-length field, and a trailing GS. Everything else that is not an exact
//! element string is an error; nothing is guessed. Byte offsets in errors count from
//! the start of the input as given.
//!
//! AI 17 uses century 20YY (drug expiries) and day `00` means the last day of the month.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::gtin::{Gtin, GtinError};
use crate::time::Date;

/// Longest input accepted, in bytes (checked first).
pub const MAX_DATAMATRIX_INPUT: usize = 512;

/// Longest lot (AI 10) or serial (AI 21) value.
pub const MAX_VARIABLE_FIELD: usize = 20;

/// The GS (group separator) character that stands for FNC1 in scanner output.
pub const GS: char = '\u{1d}';

const GS_BYTE: u8 = 0x1d;

/// Symbology identifiers of GS1 symbols that may prefix the data.
const SYMBOLOGY_IDS: [&str; 3] = ["]d2", "]C1", "]Q3"];

/// The application identifiers this parser supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Gs1Ai {
    /// AI 01: GTIN, N14 fixed.
    Gtin,
    /// AI 17: expiration date, YYMMDD fixed.
    Expiry,
    /// AI 10: batch/lot number, X..20 variable.
    Lot,
    /// AI 21: serial number, X..20 variable.
    Serial,
}

impl Gs1Ai {
    /// The supported AIs.
    pub const ALL: [Gs1Ai; 4] = [Gs1Ai::Gtin, Gs1Ai::Expiry, Gs1Ai::Lot, Gs1Ai::Serial];

    /// The two-digit code (`01`, `17`, `10`, `21`).
    pub const fn code(self) -> &'static str {
        match self {
            Gs1Ai::Gtin => "01",
            Gs1Ai::Expiry => "17",
            Gs1Ai::Lot => "10",
            Gs1Ai::Serial => "21",
        }
    }

    /// Length of a fixed-length value; `None` for variable-length AIs.
    pub const fn fixed_len(self) -> Option<usize> {
        match self {
            Gs1Ai::Gtin => Some(14),
            Gs1Ai::Expiry => Some(6),
            Gs1Ai::Lot | Gs1Ai::Serial => None,
        }
    }

    /// The AI with this code, if supported.
    pub fn from_code(code: &str) -> Option<Gs1Ai> {
        Self::ALL.into_iter().find(|ai| ai.code() == code)
    }

    const fn index(self) -> usize {
        match self {
            Gs1Ai::Gtin => 0,
            Gs1Ai::Expiry => 1,
            Gs1Ai::Lot => 2,
            Gs1Ai::Serial => 3,
        }
    }
}

impl fmt::Display for Gs1Ai {
    /// `01 (GTIN)`, `17 (expiry)`, `10 (lot)`, `21 (serial)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Gs1Ai::Gtin => "GTIN",
            Gs1Ai::Expiry => "expiry",
            Gs1Ai::Lot => "lot",
            Gs1Ai::Serial => "serial",
        };
        write!(f, "{} ({name})", self.code())
    }
}

/// The DSCSA product identifier read from a GS1 DataMatrix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataMatrix {
    /// AI 01.
    pub gtin: Gtin,
    /// AI 17 (day `00` already turned into the month's last day).
    pub expiry: Option<Date>,
    /// AI 10.
    pub lot: Option<String>,
    /// AI 21.
    pub serial: Option<String>,
}

/// Why GS1 data was rejected. Offsets are byte offsets into the input as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Gs1Error {
    /// The input is longer than [`MAX_DATAMATRIX_INPUT`] bytes.
    #[error("GS1 data is {len} bytes long; the limit is {max}")]
    TooLong {
        /// Input length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input carries a symbology identifier of a non-GS1 symbol.
    #[error(
        "unsupported symbology identifier {found:?} at byte {offset}; expected ]d2 (GS1 \
         DataMatrix), ]C1 (GS1-128) or ]Q3 (GS1 QR)"
    )]
    UnsupportedSymbology {
        /// Offset of the `]`.
        offset: usize,
        /// The identifier found (up to 3 characters).
        found: String,
    },
    /// Something other than a two-digit AI where an element must start.
    #[error("expected an application identifier at byte {offset}, found {found}")]
    ExpectedAi {
        /// Where the element should start.
        offset: usize,
        /// What is there (described).
        found: String,
    },
    /// An AI this parser does not support (only 01, 17, 10 and 21 are).
    #[error(
        "unknown or unsupported application identifier {ai:?} at byte {offset} (supported: \
         01, 17, 10, 21)"
    )]
    UnknownAi {
        /// The AI digits read (two for the element-string form).
        ai: String,
        /// Offset of the AI.
        offset: usize,
    },
    /// The same AI appears twice.
    #[error("AI {ai} at byte {offset} repeats the one at byte {first}")]
    DuplicateAi {
        /// The repeated AI.
        ai: Gs1Ai,
        /// Offset of the repetition.
        offset: usize,
        /// Offset of the first occurrence.
        first: usize,
    },
    /// A fixed-length value is truncated or not all digits, or a value is empty.
    #[error("AI {ai} at byte {offset}: {reason}")]
    BadField {
        /// The AI.
        ai: Gs1Ai,
        /// Offset of the AI.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A variable-length value is longer than 20 characters.
    #[error(
        "AI {ai} at byte {offset}: value is {len} characters, the maximum is {max} (missing \
         GS separator?)"
    )]
    FieldTooLong {
        /// The AI.
        ai: Gs1Ai,
        /// Offset of the AI.
        offset: usize,
        /// Value length found.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A variable-length value holds a character outside the GS1 character set 82.
    #[error("AI {ai}: character {found:?} at byte {offset} is not in the GS1 character set 82")]
    InvalidChar {
        /// The AI whose value holds the character.
        ai: Gs1Ai,
        /// Offset of the character.
        offset: usize,
        /// The character.
        found: char,
    },
    /// The AI 01 value is not a valid GTIN (check digit).
    /// Reports its own code (`core.gs1_bad_gtin`); the inner [`GtinError`]'s code is
    /// reachable through `error`.
    #[error("AI 01 (GTIN) at byte {offset}: {error}")]
    BadGtin {
        /// Offset of the AI.
        offset: usize,
        /// The GTIN error.
        error: GtinError,
    },
    /// The AI 17 value is not a date.
    #[error("AI 17 (expiry) at byte {offset}: {value:?} is not a valid YYMMDD date: {reason}")]
    BadDate {
        /// Offset of the AI.
        offset: usize,
        /// The six digits.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// No AI 01 in the data.
    #[error("GS1 data has no GTIN (AI 01)")]
    MissingGtin,
    /// The parenthesised human-readable text is malformed.
    #[error("human-readable GS1 text, byte {offset}: {reason}")]
    HriSyntax {
        /// Where the problem is.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Whether `b` is in the GS1 AI encodable character set 82.
const fn is_cset82(b: u8) -> bool {
    matches!(b,
        b'!' | b'"' | b'%' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.'
        | b'/' | b'0'..=b'9' | b':' | b';' | b'<' | b'=' | b'>' | b'?' | b'A'..=b'Z' | b'_'
        | b'a'..=b'z')
}

/// A printable description of the character at byte `at` of `s`.
fn describe(s: &str, at: usize) -> String {
    match s.get(at..).and_then(|r| r.chars().next()) {
        None if at >= s.len() => "the end of the data".to_owned(),
        None => "a byte inside a multi-byte character".to_owned(),
        Some(GS) => "GS (0x1D)".to_owned(),
        Some(c) => format!("{c:?}"),
    }
}

/// Accumulates elements, rejecting duplicates as soon as they appear.
#[derive(Default)]
struct Builder {
    seen: [Option<usize>; 4],
    gtin: Option<Gtin>,
    expiry: Option<Date>,
    lot: Option<String>,
    serial: Option<String>,
}

impl Builder {
    /// `value` has been checked for its AI's syntax (digits / character set, length).
    fn add(&mut self, ai: Gs1Ai, offset: usize, value: &str) -> Result<(), Gs1Error> {
        if let Some(first) = self.seen[ai.index()] {
            return Err(Gs1Error::DuplicateAi { ai, offset, first });
        }
        self.seen[ai.index()] = Some(offset);
        match ai {
            Gs1Ai::Gtin => {
                let gtin = value
                    .parse::<Gtin>()
                    .map_err(|error| Gs1Error::BadGtin { offset, error })?;
                self.gtin = Some(gtin);
            }
            Gs1Ai::Expiry => self.expiry = Some(parse_yymmdd(value, offset)?),
            Gs1Ai::Lot => self.lot = Some(value.to_owned()),
            Gs1Ai::Serial => self.serial = Some(value.to_owned()),
        }
        Ok(())
    }

    fn finish(self) -> Result<DataMatrix, Gs1Error> {
        Ok(DataMatrix {
            gtin: self.gtin.ok_or(Gs1Error::MissingGtin)?,
            expiry: self.expiry,
            lot: self.lot,
            serial: self.serial,
        })
    }
}

/// AI 17: YYMMDD, century 20YY, day 00 = last day of the month.
fn parse_yymmdd(value: &str, offset: usize) -> Result<Date, Gs1Error> {
    let bad = |reason: String| Gs1Error::BadDate {
        offset,
        value: value.to_owned(),
        reason,
    };
    let b = value.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return Err(bad("expected 6 digits".to_owned()));
    }
    let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (yy, month, day) = (two(0), two(2), two(4));
    let year = 2000 + yy as i32;
    if !(1..=12).contains(&month) {
        return Err(bad(format!("month {month:02} is not 01-12")));
    }
    let date = if day == 0 {
        Date::end_of_month(year, month)
    } else {
        Date::from_ymd(year, month, day)
    };
    date.map_err(|e| bad(e.to_string()))
}

/// Checks a fixed-length value: `n` ASCII digits starting at byte `start` of `s`, all
/// before `end`. Returns the value.
fn fixed_value(
    s: &str,
    start: usize,
    end: usize,
    n: usize,
    ai: Gs1Ai,
    ai_offset: usize,
    base: usize,
) -> Result<&str, Gs1Error> {
    let b = s.as_bytes();
    let window_end = (start + n).min(end);
    if let Some(k) = (start..window_end).find(|&k| !b.get(k).is_some_and(u8::is_ascii_digit)) {
        return Err(Gs1Error::BadField {
            ai,
            offset: ai_offset,
            reason: format!(
                "expected {n} digits, found {} at byte {}",
                describe(s, k),
                base + k
            ),
        });
    }
    if window_end < start + n {
        return Err(Gs1Error::BadField {
            ai,
            offset: ai_offset,
            reason: format!(
                "expected {n} digits, the value ends after {}",
                window_end - start
            ),
        });
    }
    // All bytes in the window are ASCII digits, so these are character boundaries.
    s.get(start..window_end).ok_or_else(|| Gs1Error::BadField {
        ai,
        offset: ai_offset,
        reason: "internal: value is not on character boundaries".to_owned(),
    })
}

/// Checks a variable-length value `s[start..end]`: 1–20 characters of set 82.
fn variable_value(
    s: &str,
    start: usize,
    end: usize,
    ai: Gs1Ai,
    ai_offset: usize,
    base: usize,
) -> Result<&str, Gs1Error> {
    let b = s.as_bytes();
    if let Some(k) = (start..end).find(|&k| !b.get(k).copied().is_some_and(is_cset82)) {
        // Every byte before `k` is ASCII, so `k` is a character boundary.
        let found = s
            .get(k..)
            .and_then(|r| r.chars().next())
            .unwrap_or('\u{fffd}');
        return Err(Gs1Error::InvalidChar {
            ai,
            offset: base + k,
            found,
        });
    }
    let len = end - start;
    if len == 0 {
        return Err(Gs1Error::BadField {
            ai,
            offset: ai_offset,
            reason: "empty value".to_owned(),
        });
    }
    if len > MAX_VARIABLE_FIELD {
        return Err(Gs1Error::FieldTooLong {
            ai,
            offset: ai_offset,
            len,
            max: MAX_VARIABLE_FIELD,
        });
    }
    s.get(start..end).ok_or_else(|| Gs1Error::BadField {
        ai,
        offset: ai_offset,
        reason: "internal: value is not on character boundaries".to_owned(),
    })
}

/// Length check and surrounding-whitespace trim; returns the text and its offset.
fn prepare(input: &str) -> Result<(&str, usize), Gs1Error> {
    if input.len() > MAX_DATAMATRIX_INPUT {
        return Err(Gs1Error::TooLong {
            len: input.len(),
            max: MAX_DATAMATRIX_INPUT,
        });
    }
    let start = input.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let base = input.len() - start.len();
    Ok((super::trim_ascii_ws(start), base))
}

/// Parses GS1 element-string data as sent by a scanner (see the module documentation).
///
/// ```
/// # use pharm_core::ids::gs1::parse_datamatrix;
/// let dm = parse_datamatrix("]d201003000275970101727053110A123B\u{1d}21100000012345").unwrap();
/// assert_eq!(dm.gtin.to_string(), "00300027597010");
/// assert_eq!(dm.expiry.unwrap().to_string(), "2027-05-31");
/// assert_eq!(dm.lot.as_deref(), Some("A123B"));
/// assert_eq!(dm.serial.as_deref(), Some("100000012345"));
/// ```
pub fn parse_datamatrix(input: &str) -> Result<DataMatrix, Gs1Error> {
    let (mut text, mut base) = prepare(input)?;
    if text.starts_with(']') {
        let id = text.get(..3).filter(|id| SYMBOLOGY_IDS.contains(id));
        match id {
            Some(_) => {
                text = text.get(3..).unwrap_or("");
                base += 3;
            }
            None => {
                return Err(Gs1Error::UnsupportedSymbology {
                    offset: base,
                    found: text.chars().take(3).collect(),
                });
            }
        }
    }
    let b = text.as_bytes();
    let mut builder = Builder::default();
    let mut i = usize::from(b.first() == Some(&GS_BYTE));
    while i < b.len() {
        let ai_offset = base + i;
        let code = text
            .get(i..i + 2)
            .filter(|c| c.bytes().all(|d| d.is_ascii_digit()));
        let Some(code) = code else {
            let bad = (i..(i + 2).min(b.len()))
                .find(|&k| !b[k].is_ascii_digit())
                .unwrap_or(b.len());
            return Err(Gs1Error::ExpectedAi {
                offset: ai_offset,
                found: describe(text, bad),
            });
        };
        let ai = Gs1Ai::from_code(code).ok_or_else(|| Gs1Error::UnknownAi {
            ai: code.to_owned(),
            offset: ai_offset,
        })?;
        let start = i + 2;
        match ai.fixed_len() {
            Some(n) => {
                let value = fixed_value(text, start, b.len(), n, ai, ai_offset, base)?;
                builder.add(ai, ai_offset, value)?;
                i = start + n;
                if b.get(i) == Some(&GS_BYTE) {
                    i += 1;
                }
            }
            None => {
                let end = b[start..]
                    .iter()
                    .position(|&c| c == GS_BYTE)
                    .map_or(b.len(), |p| start + p);
                let value = variable_value(text, start, end, ai, ai_offset, base)?;
                builder.add(ai, ai_offset, value)?;
                // Skip the GS terminator, if any.
                i = end + 1;
            }
        }
    }
    builder.finish()
}

/// Parses what a till was handed: scanner output ([`parse_datamatrix`]) or, when it starts
/// with `(` after whitespace, the human-readable text ([`parse_human_readable`]). The two
/// cannot be confused: an element string starts with a digit, `]` or GS.
pub fn parse_scanned(input: &str) -> Result<DataMatrix, Gs1Error> {
    if input.trim_start().starts_with('(') {
        parse_human_readable(input)
    } else {
        parse_datamatrix(input)
    }
}

/// Parses the parenthesised human-readable form printed under a barcode, e.g.
/// `(01)00300027597010(17)270531(10)A123B(21)100000012345`.
///
/// ASCII spaces between elements and around values are ignored (space is not in the
/// GS1 character set, so this is unambiguous). A variable-length value ends at the next
/// `(`, so a lot or serial containing `(` cannot be read from this form: it is rejected
/// (use the barcode data instead).
pub fn parse_human_readable(input: &str) -> Result<DataMatrix, Gs1Error> {
    let (text, base) = prepare(input)?;
    let b = text.as_bytes();
    let mut builder = Builder::default();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' {
            i += 1;
            continue;
        }
        if b[i] != b'(' {
            return Err(Gs1Error::HriSyntax {
                offset: base + i,
                reason: format!(
                    "expected '(' starting an application identifier, found {}",
                    describe(text, i)
                ),
            });
        }
        let ai_offset = base + i + 1;
        let digits_end = b[i + 1..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(b.len(), |p| i + 1 + p);
        if b.get(digits_end) != Some(&b')') {
            return Err(Gs1Error::HriSyntax {
                offset: base + digits_end,
                reason: format!(
                    "expected digits and ')' closing the application identifier, found {}",
                    describe(text, digits_end)
                ),
            });
        }
        let code = text.get(i + 1..digits_end).unwrap_or("");
        if !(2..=4).contains(&code.len()) {
            return Err(Gs1Error::HriSyntax {
                offset: ai_offset,
                reason: format!(
                    "an application identifier has 2 to 4 digits, found {:?}",
                    code
                ),
            });
        }
        let ai = Gs1Ai::from_code(code).ok_or_else(|| Gs1Error::UnknownAi {
            ai: code.to_owned(),
            offset: ai_offset,
        })?;
        let mut start = digits_end + 1;
        let mut end = b[start..]
            .iter()
            .position(|&c| c == b'(')
            .map_or(b.len(), |p| start + p);
        while start < end && b[start] == b' ' {
            start += 1;
        }
        while end > start && b[end - 1] == b' ' {
            end -= 1;
        }
        let value = match ai.fixed_len() {
            Some(n) => {
                let value = fixed_value(text, start, end, n, ai, ai_offset, base)?;
                if start + n != end {
                    return Err(Gs1Error::BadField {
                        ai,
                        offset: ai_offset,
                        reason: format!(
                            "expected exactly {n} digits, found {} characters",
                            end - start
                        ),
                    });
                }
                value
            }
            None => variable_value(text, start, end, ai, ai_offset, base)?,
        };
        builder.add(ai, ai_offset, value)?;
        i = end;
    }
    builder.finish()
}

impl FromStr for DataMatrix {
    type Err = Gs1Error;

    /// Same as [`parse_datamatrix`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_datamatrix(s)
    }
}

impl DataMatrix {
    fn encodable_fields(&self) -> Option<Vec<(Gs1Ai, String)>> {
        let mut out = vec![(Gs1Ai::Gtin, self.gtin.to_string())];
        if let Some(date) = self.expiry {
            let (y, m, d) = date.ymd();
            if !(2000..=2099).contains(&y) {
                return None;
            }
            out.push((Gs1Ai::Expiry, format!("{:02}{m:02}{d:02}", y - 2000)));
        }
        for (ai, value) in [(Gs1Ai::Lot, &self.lot), (Gs1Ai::Serial, &self.serial)] {
            if let Some(v) = value {
                let ok = (1..=MAX_VARIABLE_FIELD).contains(&v.len()) && v.bytes().all(is_cset82);
                if !ok {
                    return None;
                }
                out.push((ai, v.clone()));
            }
        }
        Some(out)
    }

    /// The GS1 element string (no symbology identifier), fixed-length AIs first:
    /// `01…17…10…<GS>21…`. `None` when a field cannot be encoded (expiry outside
    /// 2000–2099; lot or serial empty, over 20 characters or outside character set 82).
    ///
    /// An expiry is written with its real day, so day `00` input comes back as the
    /// month's last day.
    pub fn to_element_string(&self) -> Option<String> {
        let fields = self.encodable_fields()?;
        let mut out = String::new();
        let last = fields.len().saturating_sub(1);
        for (k, (ai, value)) in fields.iter().enumerate() {
            out.push_str(ai.code());
            out.push_str(value);
            if ai.fixed_len().is_none() && k != last {
                out.push(GS);
            }
        }
        Some(out)
    }

    /// The parenthesised human-readable form, e.g.
    /// `(01)00300027597010(17)270531(10)A123B(21)100000012345`; `None` as for
    /// [`DataMatrix::to_element_string`], or when a lot or serial contains `(`.
    pub fn to_human_readable(&self) -> Option<String> {
        let fields = self.encodable_fields()?;
        if fields.iter().any(|(_, v)| v.contains('(')) {
            return None;
        }
        Some(
            fields
                .iter()
                .map(|(ai, v)| format!("({}){v}", ai.code()))
                .collect(),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str = "]d2010030002759701017270531\
                           10A123B\u{1d}21100000012345";

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn example() -> DataMatrix {
        DataMatrix {
            gtin: "00300027597010".parse().unwrap(),
            expiry: Some(date("2027-05-31")),
            lot: Some("A123B".into()),
            serial: Some("100000012345".into()),
        }
    }

    #[test]
    fn parses_the_reference_example() {
        assert_eq!(parse_datamatrix(EXAMPLE).unwrap(), example());
        assert_eq!(EXAMPLE.parse::<DataMatrix>().unwrap(), example());
        // Other symbology identifiers, none at all, scanner CR/LF, leading GS.
        for prefix in ["]C1", "]Q3", "", "\u{1d}", "]d2\u{1d}"] {
            let data = format!("{prefix}{}\r\n", &EXAMPLE[3..]);
            assert_eq!(parse_datamatrix(&data).unwrap(), example(), "{prefix:?}");
        }
    }

    #[test]
    fn any_order_and_separators() {
        let gs = GS;
        for data in [
            format!("]d20100300027597010{gs}17270531{gs}10A123B{gs}21100000012345{gs}"),
            format!("]d221100000012345{gs}10A123B{gs}17270531{gs}0100300027597010"),
            format!("]d20100300027597010211000000123451{gs}"),
            format!("]d21727053110A123B{gs}0100300027597010"),
        ] {
            let dm = parse_datamatrix(&data).unwrap();
            assert_eq!(dm.gtin, example().gtin, "{data:?}");
        }
        let dm = parse_datamatrix(&format!("]d20100300027597010211000000123451{gs}")).unwrap();
        assert_eq!(dm.serial.as_deref(), Some("1000000123451"));
        assert_eq!(dm.expiry, None);
        assert_eq!(dm.lot, None);
        // Order in the wiesmann example: 01, 21, 17, 10.
        let dm =
            parse_datamatrix(&format!("0100300027597010211000000123{gs}1727053110A123B")).unwrap();
        assert_eq!(dm.lot.as_deref(), Some("A123B"));
        assert_eq!(dm.serial.as_deref(), Some("1000000123"));
    }

    #[test]
    fn expiry_day_zero_is_month_end() {
        let dm = parse_datamatrix("01003000275970101727020010X").unwrap();
        assert_eq!(dm.expiry, Some(date("2027-02-28")));
        let dm = parse_datamatrix("010030002759701017280200").unwrap();
        assert_eq!(dm.expiry, Some(date("2028-02-29")));
        let dm = parse_datamatrix("010030002759701017991231").unwrap();
        assert_eq!(dm.expiry, Some(date("2099-12-31")));
    }

    #[test]
    fn rejects_invalid_dates() {
        for (value, needle) in [
            ("271301", "month 13"),
            ("270001", "month 00"),
            ("270230", "2027-02-30"),
            ("270431", "2027-04-31"),
        ] {
            let err = parse_datamatrix(&format!("010030002759701017{value}")).unwrap_err();
            assert!(
                matches!(err, Gs1Error::BadDate { offset: 16, .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains(needle), "{err}");
        }
        let err = parse_datamatrix("01003000275970101727053").unwrap_err();
        assert!(
            matches!(
                err,
                Gs1Error::BadField {
                    ai: Gs1Ai::Expiry,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse_datamatrix("010030002759701017270\u{1d}31").unwrap_err();
        assert!(err.to_string().contains("GS (0x1D) at byte 21"), "{err}");
    }

    #[test]
    fn rejects_structural_errors() {
        let gs = GS;
        // Duplicate AI.
        let err = parse_datamatrix(&format!("0100300027597010{gs}0100300027597010")).unwrap_err();
        assert_eq!(
            err,
            Gs1Error::DuplicateAi {
                ai: Gs1Ai::Gtin,
                offset: 17,
                first: 0
            }
        );
        let err = parse_datamatrix(&format!("]d20100300027597010{gs}10A{gs}10B")).unwrap_err();
        assert!(
            matches!(
                err,
                Gs1Error::DuplicateAi {
                    ai: Gs1Ai::Lot,
                    offset: 24,
                    first: 20
                }
            ),
            "{err:?}"
        );
        // Unknown AI, with its offset.
        let err = parse_datamatrix("]d2010030002759701011260101").unwrap_err();
        assert_eq!(
            err,
            Gs1Error::UnknownAi {
                ai: "11".into(),
                offset: 19
            }
        );
        assert!(err.to_string().contains("\"11\" at byte 19"), "{err}");
        // Over-long variable field.
        let err = parse_datamatrix("0100300027597010101234567890123456789012").unwrap_err();
        assert_eq!(
            err,
            Gs1Error::FieldTooLong {
                ai: Gs1Ai::Lot,
                offset: 16,
                len: 22,
                max: 20
            }
        );
        assert!(parse_datamatrix("010030002759701010ABCDEFGHIJKLMNOPQRST").is_ok());
        // Empty variable field.
        let err = parse_datamatrix(&format!("010030002759701010{gs}21X")).unwrap_err();
        assert!(
            matches!(err, Gs1Error::BadField { ai: Gs1Ai::Lot, .. }),
            "{err:?}"
        );
        // Two GS in a row.
        let err = parse_datamatrix(&format!("010030002759701010A{gs}{gs}21X")).unwrap_err();
        assert!(
            matches!(err, Gs1Error::ExpectedAi { offset: 20, .. }),
            "{err:?}"
        );
        // Missing AI 01.
        assert_eq!(
            parse_datamatrix("]d21727053110A123B").unwrap_err(),
            Gs1Error::MissingGtin
        );
        assert_eq!(parse_datamatrix("]d2").unwrap_err(), Gs1Error::MissingGtin);
        assert_eq!(parse_datamatrix("").unwrap_err(), Gs1Error::MissingGtin);
        // Bad GTIN check digit.
        let err = parse_datamatrix("]d20100300027597011").unwrap_err();
        assert!(
            matches!(
                err,
                Gs1Error::BadGtin {
                    offset: 3,
                    error: GtinError::BadCheckDigit {
                        expected: 0,
                        found: 1,
                        ..
                    }
                }
            ),
            "{err:?}"
        );
        // Truncated / non-digit GTIN.
        let err = parse_datamatrix("01003000275970").unwrap_err();
        assert!(
            matches!(
                err,
                Gs1Error::BadField {
                    ai: Gs1Ai::Gtin,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse_datamatrix("0100300O27597010").unwrap_err();
        assert!(err.to_string().contains("'O' at byte 7"), "{err}");
        // Odd AI position content.
        let err = parse_datamatrix("0100300027597010X").unwrap_err();
        assert!(
            matches!(err, Gs1Error::ExpectedAi { offset: 16, .. }),
            "{err:?}"
        );
        let err = parse_datamatrix("01003000275970101").unwrap_err();
        assert!(err.to_string().contains("end of the data"), "{err}");
        // Non-GS1 symbology.
        let err = parse_datamatrix("]d10100300027597010").unwrap_err();
        assert!(
            matches!(err, Gs1Error::UnsupportedSymbology { .. }),
            "{err:?}"
        );
        assert!(parse_datamatrix("]").is_err());
        assert!(parse_datamatrix("]é").is_err());
        // Human-readable text is not element-string data.
        assert!(parse_datamatrix("(01)00300027597010").is_err());
    }

    #[test]
    fn rejects_characters_outside_set_82() {
        let gs = GS;
        for (lot, bad) in [
            ("A B", ' '),
            ("A\tB", '\t'),
            ("A\u{7f}B", '\u{7f}'),
            ("A#B", '#'),
            ("AéB", 'é'),
            ("A\u{1c}B", '\u{1c}'),
            ("A\u{1e}B", '\u{1e}'),
        ] {
            let err = parse_datamatrix(&format!("010030002759701010{lot}{gs}21X")).unwrap_err();
            assert_eq!(
                err,
                Gs1Error::InvalidChar {
                    ai: Gs1Ai::Lot,
                    offset: 19,
                    found: bad
                },
                "{lot:?}"
            );
        }
        assert!(parse_datamatrix("010030002759701010!\"%&'()*+,-./:;<=>?_az").is_err());
        assert!(parse_datamatrix("010030002759701010!\"%&'()*+,-./:;<=").is_ok());
        assert!(parse_datamatrix("010030002759701021>?_azAZ09").is_ok());
    }

    #[test]
    fn rejects_huge_input_early() {
        let huge = format!("0100300027597010{}", "9".repeat(5000));
        assert_eq!(
            parse_datamatrix(&huge).unwrap_err(),
            Gs1Error::TooLong {
                len: 5016,
                max: MAX_DATAMATRIX_INPUT
            }
        );
        assert!(matches!(
            parse_human_readable(&huge),
            Err(Gs1Error::TooLong { .. })
        ));
    }

    #[test]
    fn human_readable_form() {
        let hri = "(01)00300027597010(17)270531(10)A123B(21)100000012345";
        assert_eq!(parse_human_readable(hri).unwrap(), example());
        assert_eq!(example().to_human_readable().unwrap(), hri);
        let spaced = " (01) 00300027597010 (17) 270531 (10) A123B (21) 100000012345 ";
        assert_eq!(parse_human_readable(spaced).unwrap(), example());
        let err = parse_human_readable("(01)00300027597010(240)X").unwrap_err();
        assert_eq!(
            err,
            Gs1Error::UnknownAi {
                ai: "240".into(),
                offset: 19
            }
        );
        for bad in [
            "01)00300027597010",
            "(01",
            "(01]00300027597010",
            "(1)00300027597010",
            "(01)0030002759701",
            "(01)003000275970100",
            "(01)00300027597010(17)2705",
            "(01)00300027597010(10)",
            "(01)00300027597010(10)A B",
            "(01)00300027597010(01)00300027597010",
            "(17)270531",
            "()",
            "(",
        ] {
            assert!(parse_human_readable(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn element_string_encoding() {
        let s = example().to_element_string().unwrap();
        assert_eq!(s, "01003000275970101727053110A123B\u{1d}21100000012345");
        assert_eq!(parse_datamatrix(&s).unwrap(), example());
        let mut odd = example();
        odd.lot = Some(String::new());
        assert_eq!(odd.to_element_string(), None);
        odd.lot = Some("A(1)".into());
        assert!(odd.to_element_string().is_some());
        assert_eq!(odd.to_human_readable(), None);
        odd.expiry = Some(date("2100-01-01"));
        assert_eq!(odd.to_element_string(), None);
    }

    #[test]
    fn serde_round_trip() {
        let json = serde_json::to_string(&example()).unwrap();
        assert_eq!(
            json,
            r#"{"gtin":"00300027597010","expiry":"2027-05-31","lot":"A123B","serial":"100000012345"}"#
        );
        assert_eq!(
            serde_json::from_str::<DataMatrix>(&json).unwrap(),
            example()
        );
    }

    fn arb_cset82(max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select((0u8..=127).filter(|&b| is_cset82(b)).collect::<Vec<u8>>()),
            1..=max,
        )
        .prop_map(|v| v.into_iter().map(char::from).collect())
    }

    fn arb_datamatrix() -> impl Strategy<Value = DataMatrix> {
        (
            proptest::array::uniform13(0u8..=9),
            proptest::option::of((0i32..100, 1u32..=12, 1u32..=31)),
            proptest::option::of(arb_cset82(20)),
            proptest::option::of(arb_cset82(20)),
        )
            .prop_map(|(body, exp, lot, serial)| {
                let mut digits = [0u8; 14];
                digits[..13].copy_from_slice(&body);
                digits[13] = crate::ids::gtin::gs1_check_digit(&body);
                let expiry = exp.map(|(y, m, d)| {
                    let d = d.min(crate::time::days_in_month(2000 + y, m));
                    Date::from_ymd(2000 + y, m, d).unwrap()
                });
                DataMatrix {
                    gtin: Gtin::from_digits(digits).unwrap(),
                    expiry,
                    lot,
                    serial,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn element_string_round_trip(dm in arb_datamatrix(), prefix in proptest::sample::select(vec!["", "]d2", "]C1", "]Q3"])) {
            let s = dm.to_element_string().unwrap();
            prop_assert_eq!(parse_datamatrix(&format!("{prefix}{s}")).unwrap(), dm.clone());
            let json = serde_json::to_string(&dm).unwrap();
            prop_assert_eq!(serde_json::from_str::<DataMatrix>(&json).unwrap(), dm);
        }

        #[test]
        fn human_readable_round_trip(dm in arb_datamatrix()) {
            if let Some(hri) = dm.to_human_readable() {
                prop_assert_eq!(parse_human_readable(&hri).unwrap(), dm);
            } else {
                let has_paren = dm.lot.iter().chain(dm.serial.iter()).any(|v| v.contains('('));
                prop_assert!(has_paren);
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,200}") {
            let _ = parse_datamatrix(&s);
            let _ = parse_human_readable(&s);
        }

        #[test]
        fn parse_never_panics_on_gs1_like_text(s in "(\\]d2)?([0-9]{1,16}|[A-Z(\\)]{0,4}|\\x1d|\\(|\\)|é){0,10}") {
            let _ = parse_datamatrix(&s);
            let _ = parse_human_readable(&s);
        }

        #[test]
        fn parse_never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let s = String::from_utf8_lossy(&b);
            let _ = parse_datamatrix(&s);
            let _ = parse_human_readable(&s);
        }
    }
}
