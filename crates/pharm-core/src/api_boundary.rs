//! What is not public API, checked by compile-fail doctests (rustdoc runs them; the module
//! exists only then).
//!
//! Identifiers serialize through their own serde implementations:
//! ```
//! let ndc: pharm_core::Ndc = "0093-7146-56".parse().unwrap();
//! assert_eq!(serde_json::to_string(&ndc).unwrap(), "\"0093-7146-56\"");
//! ```
//! and the macro that writes them is the crate's own:
//! ```compile_fail
//! // Everything the macro needs but the macro itself:
//! struct Code(String);
//! impl std::fmt::Display for Code {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str(&self.0)
//!     }
//! }
//! impl std::str::FromStr for Code {
//!     type Err = std::convert::Infallible;
//!     fn from_str(s: &str) -> Result<Self, Self::Err> {
//!         Ok(Code(s.to_owned()))
//!     }
//! }
//! pharm_core::text_serde!(Code);
//! ```
