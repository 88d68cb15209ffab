//! Where and why serde_json refused a document, in the form the family's JSON errors use.

/// Where and why serde_json refused a document: the 1-based position, the reason without
/// the " at line L column C" suffix serde_json appends (the errors built from it name the
/// position themselves), and whether the text was not JSON at all (`syntax`) rather than
/// JSON of the wrong shape.
///
/// ```
/// use pharm_core::contract::JsonFault;
///
/// let error = serde_json::from_str::<u32>("\n  \"x\"").unwrap_err();
/// let fault = JsonFault::of(&error);
/// assert_eq!((fault.line, fault.column, fault.syntax), (2, 5, false));
/// assert!(!fault.reason.contains("at line"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonFault {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
    /// Not well-formed JSON (or not UTF-8, or cut short), as opposed to well-formed JSON
    /// that does not match the expected form.
    pub syntax: bool,
}

impl JsonFault {
    /// The fault serde_json reported.
    pub fn of(error: &serde_json::Error) -> JsonFault {
        let mut reason = error.to_string();
        if let Some(cut) = reason.rfind(" at line ") {
            reason.truncate(cut);
        }
        JsonFault {
            line: error.line(),
            column: error.column(),
            reason,
            syntax: !error.is_data(),
        }
    }
}
