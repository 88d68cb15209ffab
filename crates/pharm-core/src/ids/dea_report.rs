//! What a binding reports about a valid DEA number: its parts, and whether its second
//! character matches the prescriber's last name (dispensing-rules §1.5).

use serde::Serialize;

use super::dea::DeaNumber;

/// A valid DEA number taken apart, as the bindings return it (the C ABI's
/// `pharm_dea_validate`, the Python wheel's `validate_dea`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeaReport {
    /// The normalised number.
    pub dea: DeaNumber,
    /// The 9 characters without the suffix.
    pub base: String,
    /// The institutional suffix, if any.
    pub suffix: Option<String>,
    /// The first letter: the registrant type.
    pub registrant_type: String,
    /// Whether that letter is one in use (false is worth a warning).
    pub known_registrant_type: bool,
    /// The second character (the last name's initial, or `9` for a business).
    pub second_char: String,
    /// Whether the second character matches the given last name; `None` without one.
    pub matches_last_name: Option<bool>,
}

impl DeaNumber {
    /// The number's report, checked against `last_name` when one is given.
    ///
    /// ```
    /// use pharm_core::DeaNumber;
    ///
    /// let dea: DeaNumber = "AB1234563".parse().unwrap();
    /// let report = dea.report(Some("Brown"));
    /// assert_eq!((report.registrant_type.as_str(), report.matches_last_name), ("A", Some(true)));
    /// ```
    pub fn report(&self, last_name: Option<&str>) -> DeaReport {
        DeaReport {
            dea: self.clone(),
            base: self.base().to_owned(),
            suffix: self.suffix().map(str::to_owned),
            registrant_type: self.registrant_type().to_string(),
            known_registrant_type: self.has_known_registrant_letter(),
            second_char: self.second_char().to_string(),
            matches_last_name: last_name.map(|name| self.matches_last_name(name)),
        }
    }
}
