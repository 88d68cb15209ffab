//! [`Sleep`]: the one async wait of the crate, supplied by the caller's runtime.

use std::time::Duration;

use async_trait::async_trait;

/// Waits for a duration without blocking the thread, on whatever clock the implementation
/// belongs to.
///
/// The retry driver ([`retry`](crate::retry::retry)) and the resilience helper
/// ([`call`](crate::resilience::call)) sleep between tries, and scatter-gather ([`scatter_gather`](crate::scatter::scatter_gather)) races each leg
/// against its timeout with it. Keeping it a trait keeps the crate independent of any
/// async runtime: a tokio user wraps `tokio::time::sleep` (the `postgres` feature ships
/// `pg::TokioSleep`), tests advance a [`ManualClock`](pharm_core::time::ManualClock) or
/// complete at once.
#[async_trait]
pub trait Sleep: Send + Sync {
    /// Completes after `duration` has passed.
    async fn sleep(&self, duration: Duration);
}

#[async_trait]
impl<S: Sleep + ?Sized> Sleep for &S {
    async fn sleep(&self, duration: Duration) {
        (**self).sleep(duration).await;
    }
}
