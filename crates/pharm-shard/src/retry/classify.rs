//! Retryable-error classification.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a failed attempt may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    /// Transient (connection reset, serialization failure, the caller's per-attempt
    /// timeout, …): retry after the policy's backoff.
    Retryable,
    /// Transient, and the server said when to come back (HTTP `Retry-After`, a 503 or 429
    /// hint). The wait is at least this long; it may exceed the policy's cap but never the
    /// overall deadline: a hint that would pass the deadline ends the retries.
    RetryableAfter(Duration),
    /// Retrying cannot help (constraint violation, authentication failure, a claim
    /// rejection) or cannot be repeated safely (a non-idempotent write that may have committed).
    Permanent,
}

impl ErrorKind {
    /// Whether the error may be retried at all.
    #[must_use]
    pub fn is_retryable(self) -> bool {
        !matches!(self, Self::Permanent)
    }
}

/// Classifies an error for the retry machinery.
///
/// Implement this on the operation's error type. A DB write should classify as
/// [`ErrorKind::Permanent`] unless it is known not to have committed or is idempotent.
pub trait Classify {
    /// The retry classification of this error.
    fn classify(&self) -> ErrorKind;
}

impl Classify for ErrorKind {
    fn classify(&self) -> ErrorKind {
        *self
    }
}

impl<T: Classify + ?Sized> Classify for &T {
    fn classify(&self) -> ErrorKind {
        (**self).classify()
    }
}

impl<T: Classify + ?Sized> Classify for Box<T> {
    fn classify(&self) -> ErrorKind {
        (**self).classify()
    }
}
