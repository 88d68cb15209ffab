//! What is not public API, checked by compile-fail doctests (rustdoc runs them; the module
//! exists only then). Each refused call sits beside the public way that compiles.
//!
//! A replica's state is read-only from outside; every change is an [`Op`](crate::Op):
//! ```
//! fn lots(r: &pharm_sync::Replica) -> usize {
//!     r.state().lots().count()
//! }
//! ```
//! ```compile_fail
//! fn lots(r: &mut pharm_sync::Replica) -> usize {
//!     r.state_mut().lots().count()
//! }
//! ```
