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
        let (application, product) = s.trim().split_once(['-', '/']).ok_or_else(err)?;
        let Application { appl_type, appl_no } = parse_application(application).ok_or_else(err)?;
        Ok(ProductKey {
            appl_type,
            appl_no,
            product_no: parse_number(product, 3).ok_or_else(err)?,
        })
    }
}

crate::serde_text::text_serde!(ProductKey);

impl ProductKey {
    /// The application the product belongs to (`N020702-004` → `NDA020702`).
    pub const fn application(&self) -> Application {
        Application {
            appl_type: self.appl_type,
            appl_no: self.appl_no,
        }
    }
}

/// An NDA or ANDA: application type and number, without a product number. Text form
/// `NDA021402` / `ANDA076187`, the spelling of the NDC Directory's `APPLICATIONNUMBER`
/// (also accepted: `N021402`, `A076187`).
///
/// Every product of one application is made under that application by its holder, so the
/// application identifies a product's manufacturer where the Orange Book's free-text
/// `Applicant` names do not (one firm appears as `MYLAN` on one row and `MYLAN PHARMS INC` on
/// another).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Application {
    /// Application type.
    pub appl_type: ApplType,
    /// Application number (at most 6 digits).
    pub appl_no: u32,
}

/// An application that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an NDA or ANDA application (expected e.g. NDA021402 or ANDA076187)")]
pub struct ApplicationError {
    /// The rejected text (truncated).
    pub input: String,
}

impl fmt::Display for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.appl_type {
            ApplType::Nda => "NDA",
            ApplType::Anda => "ANDA",
        };
        write!(f, "{prefix}{:06}", self.appl_no)
    }
}

impl FromStr for Application {
    type Err = ApplicationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_application(s.trim()).ok_or_else(|| ApplicationError {
            input: s.chars().take(64).collect(),
        })
    }
}

crate::serde_text::text_serde!(Application);

impl From<ProductKey> for Application {
    fn from(key: ProductKey) -> Self {
        key.application()
    }
}

/// `NDA…`, `ANDA…`, `N…` or `A…` followed by 1–6 digits.
fn parse_application(t: &str) -> Option<Application> {
    let (appl_type, digits) = if let Some(r) = t.strip_prefix("ANDA") {
        (ApplType::Anda, r)
    } else if let Some(r) = t.strip_prefix("NDA") {
        (ApplType::Nda, r)
    } else if let Some(r) = t.strip_prefix('A') {
        (ApplType::Anda, r)
    } else {
        (ApplType::Nda, t.strip_prefix('N')?)
    };
    Some(Application {
        appl_type,
        appl_no: parse_number(digits, 6)?,
    })
}

/// 1 to `max` ASCII digits.
fn parse_number<T: FromStr>(s: &str, max: usize) -> Option<T> {
    if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

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
#[serde(deny_unknown_fields)]
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn product_key_text_forms() {
        let key = ProductKey {
            appl_type: ApplType::Nda,
            appl_no: 20702,
            product_no: 4,
        };
        for ok in ["N020702-004", "NDA020702-004", " N20702/4 ", "N020702-04"] {
            assert_eq!(ok.parse::<ProductKey>().unwrap(), key, "{ok:?}");
        }
        assert_eq!(key.to_string(), "N020702-004");
        assert_eq!(
            "ANDA076477-001".parse::<ProductKey>().unwrap().to_string(),
            "A076477-001"
        );
        for bad in [
            "",
            "N020702",
            "X020702-004",
            "N-020702-004",
            "N0207021-004",
            "N020702-0004",
            "N020702-",
            "N 020702-004",
            "N020702-00a",
            "BLA125057-001",
        ] {
            assert!(bad.parse::<ProductKey>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn application_text_forms() {
        let a: Application = "ANDA076187".parse().unwrap();
        assert_eq!(
            a,
            Application {
                appl_type: ApplType::Anda,
                appl_no: 76187
            }
        );
        assert_eq!(a.to_string(), "ANDA076187");
        assert_eq!("A076187".parse::<Application>().unwrap(), a);
        assert_eq!(
            "NDA21402".parse::<Application>().unwrap().to_string(),
            "NDA021402"
        );
        for bad in [
            "",
            "BLA125057",
            "NDA",
            "ANDA0761870",
            "ANDA07618x",
            "N021402-005",
        ] {
            assert!(bad.parse::<Application>().is_err(), "{bad:?}");
        }
        let key: ProductKey = "A076187-005".parse().unwrap();
        assert_eq!(key.application(), a);
        assert_eq!(Application::from(key), a);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"ANDA076187\"");
        assert_eq!(serde_json::from_str::<Application>(&json).unwrap(), a);
    }
}
