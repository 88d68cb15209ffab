//! Single-flight: concurrent misses of one key share one load.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

type Flight<T> = Arc<OnceCell<T>>;

/// In-flight loads by key. The first caller of a key runs the load; callers arriving
/// while it runs wait for its result. If the running caller is cancelled, a waiter runs
/// the load instead. A finished flight is removed by whoever sees it finished, and
/// [`Flights::detach`] removes a running one so that later callers start afresh (an
/// invalidation does, so nobody who arrives after it gets a value loaded before it).
pub(crate) struct Flights<T> {
    running: Mutex<HashMap<Arc<str>, Flight<T>>>,
}

impl<T> std::fmt::Debug for Flights<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flights").finish_non_exhaustive()
    }
}

impl<T: Clone> Flights<T> {
    pub(crate) fn new() -> Self {
        Self {
            running: Mutex::new(HashMap::new()),
        }
    }

    /// The load's result, and whether this caller ran it.
    pub(crate) async fn run<F, Fut>(&self, key: &Arc<str>, load: F) -> (T, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let flight = {
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                running
                    .entry(Arc::clone(key))
                    .or_insert_with(|| Arc::new(OnceCell::new())),
            )
        };
        let mut ran = false;
        let result = flight
            .get_or_init(|| {
                ran = true;
                load()
            })
            .await
            .clone();
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.get(key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
            running.remove(key);
        }
        (result, ran)
    }

    pub(crate) fn detach(&self, key: &str) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.remove(key);
    }

    pub(crate) fn detach_all(&self) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.clear();
    }
}
