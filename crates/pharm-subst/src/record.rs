//! One row of the Orange Book `products.txt`, parsed and normalized.

use std::fmt;
use std::str::FromStr;

use pharm_core::time::Date;
use serde::{Deserialize, Serialize};

use crate::strength::Strength;
use crate::te::TeCode;

/// Application type: `N` (NDA, 505(b)(1) or (b)(2)) or `A` (ANDA, 505(j)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApplType {
    /// New drug application.
    #[serde(rename = "N")]
    Nda,
    /// Abbreviated new drug application (generic).
    #[serde(rename = "A")]
    Anda,
}

impl ApplType {
    /// The one-letter code used in the file.
    pub const fn letter(self) -> char {
        match self {
            ApplType::Nda => 'N',
            ApplType::Anda => 'A',
        }
    }
}

/// Orange Book product key: application type, 6-digit application number, 3-digit product
/// number. Text form `N020702-004` (also accepted: `NDA020702-004`, `ANDA076477-001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductKey {
    /// Application type.
    pub appl_type: ApplType,
    /// Application number (at most 6 digits).
    pub appl_no: u32,
    /// Product number within the application (at most 3 digits).
    pub product_no: u16,
}

/// A product key that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not an Orange Book product key (expected e.g. N020702-004 or ANDA076477-001)"
)]
pub struct ProductKeyError {
    /// The rejected text (truncated).
    pub input: String,
}

impl fmt::Display for ProductKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{:06}-{:03}",
            self.appl_type.letter(),
            self.appl_no,
            self.product_no
        )
    }
}

impl FromStr for ProductKey {
    type Err = ProductKeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ProductKeyError {
            input: s.chars().take(64).collect(),
        };
        let t = s.trim();
        let (appl_type, rest) = if let Some(r) = t.strip_prefix("ANDA") {
            (ApplType::Anda, r)
        } else if let Some(r) = t.strip_prefix("NDA") {
            (ApplType::Nda, r)
        } else if let Some(r) = t.strip_prefix('A') {
            (ApplType::Anda, r)
        } else if let Some(r) = t.strip_prefix('N') {
            (ApplType::Nda, r)
        } else {
            return Err(err());
        };
        let (appl, product) = rest.split_once(['-', '/']).ok_or_else(err)?;
        let digits = |x: &str, max: usize| {
            !x.is_empty() && x.len() <= max && x.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(appl, 6) || !digits(product, 3) {
            return Err(err());
        }
        Ok(ProductKey {
            appl_type,
            appl_no: appl.parse().map_err(|_| err())?,
            product_no: product.parse().map_err(|_| err())?,
        })
    }
}

pharm_core::text_serde!(ProductKey);

/// Marketing status (`Type` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MarketingStatus {
    /// Marketed prescription product.
    Rx,
    /// Marketed over the counter.
    Otc,
    /// Discontinued.
    Discn,
}

/// `Approval_Date`: a date, or the literal "Approved Prior to Jan 1, 1982".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDate {
    /// Approved on this date.
    On(Date),
    /// "Approved Prior to Jan 1, 1982".
    PriorTo1982,
}

/// One Orange Book product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObProduct {
    /// Application type, number and product number.
    pub key: ProductKey,
    /// Active ingredients with their salt, as listed (alphabetical, split on `"; "`).
    pub ingredients: Vec<String>,
    /// Dosage form (`TABLET`, `TABLET, EXTENDED RELEASE`).
    pub dosage_form: String,
    /// Route (`ORAL`, `BUCCAL, SUBLINGUAL`).
    pub route: String,
    /// Trade name.
    pub trade_name: String,
    /// Short applicant name.
    pub applicant: String,
    /// Full applicant name (empty in files without the column).
    pub applicant_full_name: String,
    /// Strength, raw and normalized.
    pub strength: Strength,
    /// TE codes (empty when the column is blank).
    pub te_codes: Vec<TeCode>,
    /// Approval date.
    pub approval: ApprovalDate,
    /// Reference listed drug.
    pub rld: bool,
    /// Reference standard (`None` in the legacy 13-column layout).
    pub rs: Option<bool>,
    /// RX / OTC / DISCN.
    pub status: MarketingStatus,
}
