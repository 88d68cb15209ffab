//! Reading a JSON document into a serde type with the family's error shape: the
//! 1-based position and a reason, split into "not JSON at all" and "JSON of the wrong form".
//! Each crate's error type says how it spells those two ([`JsonRefusal`]); the reading and
//! the split are here once.

use serde::de::DeserializeOwned;

/// An error type that can report a refused JSON document (each crate's, with its own codes).
pub trait JsonRefusal: Sized {
    /// Not well-formed JSON (or not UTF-8, or cut short).
    fn syntax(document: &'static str, line: usize, column: usize, reason: String) -> Self;
    /// Well-formed JSON that does not match the expected form (an unknown or missing
    /// field, a wrong type, a value out of range).
    fn invalid(document: &'static str, line: usize, column: usize, reason: String) -> Self;
}

/// Implements [`JsonRefusal`] for an error enum whose two variants for a refused document
/// have the fields `document`, `line`, `column` and `reason`:
/// `json_refusal!(Type, SyntaxVariant, InvalidVariant)`.
///
/// ```
/// use pharm_core::json_refusal;
///
/// #[derive(Debug)]
/// enum Refused {
///     Syntax { document: &'static str, line: usize, column: usize, reason: String },
///     Invalid { document: &'static str, line: usize, column: usize, reason: String },
/// }
/// json_refusal!(Refused, Syntax, Invalid);
///
/// let err = pharm_core::contract::read_json::<u8, Refused>("byte", b"300").unwrap_err();
/// assert!(matches!(err, Refused::Invalid { document: "byte", line: 1, .. }));
/// ```
#[macro_export]
macro_rules! json_refusal {
    ($error:ty, $syntax:ident, $invalid:ident) => {
        impl $crate::contract::JsonRefusal for $error {
            fn syntax(document: &'static str, line: usize, column: usize, reason: String) -> Self {
                Self::$syntax {
                    document,
                    line,
                    column,
                    reason,
                }
            }

            fn invalid(document: &'static str, line: usize, column: usize, reason: String) -> Self {
                Self::$invalid {
                    document,
                    line,
                    column,
                    reason,
                }
            }
        }
    };
}

/// Reads `bytes` as a `T`; `document` names it in the error.
///
/// ```
/// use pharm_core::ContractError;
/// use pharm_core::contract::read_json;
///
/// let err = read_json::<u32, ContractError>("count", b"\n  \"x\"").unwrap_err();
/// assert!(matches!(err, ContractError::Invalid { line: 2, column: 5, .. }));
/// assert!(!err.to_string().contains("at line 2 column"));
/// ```
pub fn read_json<T: DeserializeOwned, E: JsonRefusal>(
    document: &'static str,
    bytes: &[u8],
) -> Result<T, E> {
    serde_json::from_slice(bytes).map_err(|error| refusal(document, &error))
}

/// [`read_json`] for text already known to be UTF-8.
pub fn read_json_str<T: DeserializeOwned, E: JsonRefusal>(
    document: &'static str,
    text: &str,
) -> Result<T, E> {
    serde_json::from_str(text).map_err(|error| refusal(document, &error))
}

/// Reads a `T` from a JSON value already in memory (a binding's document built from its
/// host language's objects rather than text). There is no text, so a refusal names line 0,
/// column 0; a value is always well-formed, so every refusal is "invalid".
///
/// ```
/// use pharm_core::ContractError;
/// use pharm_core::contract::read_json_value;
///
/// let err = read_json_value::<u32, ContractError>("count", serde_json::json!("x")).unwrap_err();
/// assert!(matches!(err, ContractError::Invalid { line: 0, column: 0, .. }));
/// ```
pub fn read_json_value<T: DeserializeOwned, E: JsonRefusal>(
    document: &'static str,
    value: serde_json::Value,
) -> Result<T, E> {
    serde_json::from_value(value).map_err(|error| refuse_value(document, &error))
}

/// The refusal of a value read by [`read_json_value`].
pub(crate) fn refuse_value<E: JsonRefusal>(document: &'static str, error: &serde_json::Error) -> E {
    E::invalid(document, 0, 0, error.to_string())
}

fn refusal<E: JsonRefusal>(document: &'static str, error: &serde_json::Error) -> E {
    let mut reason = error.to_string();
    // serde_json appends " at line L column C"; the error names them itself.
    if let Some(cut) = reason.rfind(" at line ") {
        reason.truncate(cut);
    }
    let (line, column) = (error.line(), error.column());
    if error.is_data() {
        E::invalid(document, line, column, reason)
    } else {
        E::syntax(document, line, column, reason)
    }
}
