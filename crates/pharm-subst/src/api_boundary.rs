//! What is not public API, checked by compile-fail doctests (rustdoc runs them; the module
//! exists only then). Each refused call sits beside the public way that compiles.
//!
//! Products are reached by key:
//! ```
//! fn degree(c: &pharm_subst::Catalog, k: &pharm_subst::ProductKey) -> usize {
//!     c.equivalents(k).map_or(0, Iterator::count)
//! }
//! ```
//! never by the graph's node indices:
//! ```compile_fail
//! fn degree(c: &pharm_subst::Catalog, k: &pharm_subst::ProductKey) -> usize {
//!     c.index_of(k).map_or(0, |i| c.neighbors(i).count())
//! }
//! ```
//! ```compile_fail
//! fn code(c: &pharm_subst::Catalog) -> bool {
//!     c.edge(0, 1).is_some()
//! }
//! ```
