//! Input a binding (the C ABI, the Python wheel) refuses before it reaches the crate: a
//! JSON query that is not well-formed or does not have the expected shape, or a release
//! file that cannot be read. The crate itself reads no JSON and opens no files; these give
//! the bindings' refusals stable codes in the crate's range.

/// Why a binding refused its input before the crate saw it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindingInputError {
    /// The document is not well-formed JSON (or is cut short).
    #[error("{document} is not valid JSON at line {line}, column {column}: {reason}")]
    JsonSyntax {
        /// Which document (`"substitution query"`, `"packages"`...).
        document: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// Well-formed JSON without the expected shape: an unknown, missing or repeated field,
    /// a wrong type, a value out of range.
    #[error(
        "{document} does not have the expected shape at line {line}, column {column}: {reason}"
    )]
    JsonInvalid {
        /// Which document.
        document: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// A release file could not be opened or read (missing, a directory, no permission).
    #[error("cannot read {path:?}: {reason}")]
    FileUnreadable {
        /// The path as given.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
}

pharm_core::json_refusal!(BindingInputError, JsonSyntax, JsonInvalid);
