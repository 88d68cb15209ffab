//! Shared fixtures: a versioned origin that counts its loads, can fail, can hold a load
//! open, and a spawner whose tasks the test runs when it wants.

#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pharm_cache::{CacheKey, Origin, OriginError, Spawn, Task};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// A cached value: the id, the origin's version of it when loaded, and the key's
/// namespace version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Val {
    pub id: String,
    pub version: u64,
    pub namespace: u64,
    pub padding: String,
}

/// The origin: a version per id (absent ids are "not found").
#[derive(Default)]
pub struct TestOrigin {
    versions: Mutex<HashMap<String, u64>>,
    missing: Mutex<HashSet<String>>,
    pub loads: AtomicUsize,
    pub failing: AtomicBool,
    held: Mutex<VecDeque<oneshot::Receiver<()>>>,
    padding: AtomicUsize,
}

impl TestOrigin {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn version(&self, id: &str) -> u64 {
        *self
            .versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .unwrap_or(&1)
    }

    /// The id's version moves up by one (the database update before its event).
    pub fn update(&self, id: &str) -> u64 {
        let mut versions = self.versions.lock().unwrap_or_else(|e| e.into_inner());
        let v = versions.entry(id.to_owned()).or_insert(1);
        *v += 1;
        *v
    }

    pub fn set_missing(&self, id: &str) {
        self.missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned());
    }

    pub fn set_padding(&self, bytes: usize) {
        self.padding.store(bytes, Ordering::SeqCst);
    }

    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// The next load reads its version, then waits until the returned sender fires.
    pub fn hold_next(&self) -> oneshot::Sender<()> {
        let (tx, rx) = oneshot::channel();
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(rx);
        tx
    }
}

#[async_trait]
impl Origin<Val> for TestOrigin {
    async fn load(&self, key: &CacheKey) -> Result<Option<Val>, OriginError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err("origin down".into());
        }
        let id = key.id().to_owned();
        if self
            .missing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&id)
        {
            return Ok(None);
        }
        let version = self.version(&id);
        let hold = self
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        if let Some(hold) = hold {
            let _ = hold.await;
        }
        Ok(Some(Val {
            id,
            version,
            namespace: key.version(),
            padding: "x".repeat(self.padding.load(Ordering::SeqCst)),
        }))
    }
}

/// Keeps spawned tasks until the test runs them.
#[derive(Default)]
pub struct QueueSpawn {
    tasks: Mutex<Vec<Task>>,
}

impl QueueSpawn {
    pub fn take(&self) -> Vec<Task> {
        std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Spawn for QueueSpawn {
    fn spawn(&self, task: Task) {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A runtime on two worker threads (for the Redis client's own tasks beside the test's).
pub fn two_threads() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}
