//! Retries: per-operation policies, jittered backoff, an overall deadline, error
//! classification, a shared retry budget and a runtime-agnostic async helper.
//!
//! The module is split into a **sans-IO core** and a thin **async driver**:
//!
//! * [`RetryPolicy`] is plain data. [`RetryPolicy::next_delay`] and
//!   [`RetryPolicy::decide`] are pure functions of the attempt number, the elapsed time,
//!   the error's [`ErrorKind`] and an injected [`RngSource`]; nothing here reads a clock or
//!   sleeps.
//! * [`RetryState`] tracks one logical operation (attempts made, when it started, the last
//!   delay) and folds in a [`RetryBudget`] when one is given.
//! * [`retry`] drives an async operation with an injected
//!   [`Clock`](pharm_core::time::Clock), [`Sleep`](crate::Sleep) and [`RngSource`]. It does not depend on any async runtime; the per-attempt timeout is
//!   handed to the operation in [`Attempt::timeout`] for the caller to enforce (for example
//!   with `tokio::time::timeout`). [`retry_notify`] also reports every retry (the failed
//!   attempt's number and the wait it earned) to an observer.
//! * Attempts are limited to [`RetryPolicy::MAX_ATTEMPTS`] (100);
//!   [`RetryPolicy::validate`] and deserialization reject more with a [`PolicyError`].
//!
//! # The per-operation table
//!
//! | [`Operation`] | tries | backoff | delays (no jitter) | cap | per-attempt timeout | jitter | deadline |
//! |---|---|---|---|---|---|---|---|
//! | `DbWrite` | 3 | exponential 100 ms ×2 | 100, 200 ms | 5 s | 5 s | ±10 % | 15.33 s |
//! | `DbRead` | 2 | linear 50 ms | 50 ms | 3 s | 3 s | ±10 % | 6.055 s |
//! | `Cache` | 1 | none | – | – | 100 ms | none | 100 ms |
//! | `Pmp` | 3 | exponential 1 s ×2 | 1 s, 2 s | 10 s | 10 s | ±10 % | 33.3 s |
//! | `Insurance` | 3 | exponential 2 s ×2 | 2 s, 4 s | 30 s | 30 s | ±10 % | 96.6 s |
//! | `Internal` | 2 | linear 100 ms | 100 ms | 5 s | 5 s | ±10 % | 10.11 s |
//!
//! * "tries" counts the first call (resilience4j `maxAttempts` semantics), so "3 tries" is
//!   one call and at most two retries.
//! * The table's "timeout" is the **per-attempt** timeout.
//! * **Cap** = the per-attempt timeout: the pause between tries never exceeds what one try
//!   may take. With the table's attempt counts the cap is never reached; it only matters
//!   if a caller raises `max_attempts`.
//! * **Jitter** is symmetric proportional jitter (resilience4j's `randomizationFactor`),
//!   ±10 % as in the design doc, applied **after** the cap, so a capped delay `c` is drawn
//!   from `[0.9·c, 1.1·c]` and clients never re-synchronise at the cap.
//! * **Deadline** = [`RetryPolicy::worst_case_total`]: every try running to its timeout
//!   plus every pause at its jittered maximum. It therefore never cuts a schedule the table
//!   allows short; it bounds server-supplied `Retry-After` hints and slow clocks.
//!
//! # Retry budgets
//!
//! `max_attempts` bounds retries *per call*; during an outage every call fails and load is
//! multiplied by `max_attempts`. A [`RetryBudget`] shared by all callers of one downstream
//! (a DB shard, PMP, the insurance switch) caps retries at a fraction of first attempts plus
//! a small per-second floor, so total attempts stay at most
//! `requests × (1 + ratio) + floor × seconds`.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use pharm_shard::retry::{ErrorKind, Operation, RetryPolicy, XorShift};
//!
//! let policy = RetryPolicy::for_operation(Operation::DbWrite);
//! assert_eq!(policy.max_attempts, 3);
//! assert_eq!(policy.base_delay(1), Duration::from_millis(100));
//! assert_eq!(policy.base_delay(2), Duration::from_millis(200));
//!
//! let mut rng = XorShift::new(7);
//! // Attempt 1 failed: wait 100 ms ± 10 % before attempt 2.
//! let d = policy.next_delay(1, &mut rng).unwrap();
//! assert!(d >= Duration::from_millis(90) && d <= Duration::from_millis(110));
//! // Attempt 3 failed: the tries are used up.
//! assert_eq!(policy.next_delay(3, &mut rng), None);
//! # let _ = ErrorKind::Permanent;
//! ```

mod budget;
mod classify;
mod execute;
mod policy;
mod rng;
mod state;

pub use budget::{BudgetConfigError, RetryBudget, RetryBudgetConfig};
pub use classify::{Classify, ErrorKind};
pub use execute::{RetryError, RetryEvent, retry, retry_notify};
pub(crate) use policy::PolicyFields;
pub use policy::{Backoff, Jitter, Operation, PolicyError, RetryPolicy};
pub use rng::{RngSource, XorShift};
pub use state::{Attempt, Decision, GiveUpReason, RetryState};
