//! The cloud tier's cache (pharm-cache) as the load test exercises it: the design's
//! policy over an in-memory L2 (the embedded backend), read by every transaction the way
//! a pharmacy service reads it, invalidated by the design's triggers, warmed (or not)
//! before the day, with hit rates per class.
//!
//! Terminals decide on their own (the core is sans-IO and works offline); the cloud is
//! asked only for what an online transaction needs from it, and learns of stock moves
//! when a store's sync round uploads them:
//!
//! | when (online only) | reads | invalidates |
//! |---|---|---|
//! | a fill that calls the cloud (insured, new, controlled: PMP) | its terminal's session | the sessions at the end of the day (logout) |
//! | an insured fill | the patient (a refill: one of the pharmacy's 400 active patients), the drug on the payer's formulary (8 payers, the top 5 hold 90 %) | |
//! | a new prescription | the new patient, the drug (catalog), its TE codes (Orange Book) when substitutable | |
//! | a receipt, count or transfer | the session, the lot's stock (inventory) | |
//! | a store's sync round | the pharmacy's sales aggregate (analytics) | the stock of every SKU that moved since the last round ("on transaction") |
//!
//! Half-way through the day the first payer publishes a new formulary and the weekly
//! Orange Book release lands: both namespaces swap under load.
//!
//! Values are versions from a versioned origin; every read is checked against the version
//! of the key's last processed invalidation ([`CacheReport::stale_reads`] must stay 0).
//! Time is the run's simulated time, so TTLs are the design's in domain time.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pharm_cache::{
    Cache, CacheKey, CachePolicy, Caches, ClassStats, DataClass, Deployment, Event, MemoryL2,
    Origin, OriginError, Scope, Source, WarmPlan, WarmSource, WarmStep,
};
use pharm_core::ids::PharmacyId;
use pharm_core::time::Clock;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::workload::{Arrival, Kind, stream_seed};

/// Active patients per pharmacy (refills come from them; warming loads them).
pub const ACTIVE_PATIENTS: u64 = 100;
/// Payers (BINs), by rank; the first five carry 90 % of insured fills.
const PAYERS: [u32; 8] = [
    610_014, 610_020, 4_336, 3_858, 610_502, 12_114, 15_581, 600_428,
];
/// Reads in the first simulated minute count as the cold-start window.
const FIRST_MINUTE_MS: u64 = 60_000;
/// The simulated clock's epoch: a Unix time in ms, so L2 entry times look like wall time.
const EPOCH_MS: u64 = 1_796_000_000_000;

/// A cached value: the origin's version of the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The version.
    pub version: u64,
}

/// The run's simulated time, moved forward by whichever driver thread is furthest.
#[derive(Debug, Default)]
struct SimClock(AtomicU64);

impl Clock for SimClock {
    fn now(&self) -> Duration {
        Duration::from_millis(EPOCH_MS + self.0.load(Ordering::Relaxed))
    }
}

/// The system of record: a version per key, moved by each update.
#[derive(Debug, Default)]
struct VersionedOrigin {
    versions: Mutex<HashMap<String, u64>>,
}

impl VersionedOrigin {
    fn current(&self, key: &str) -> u64 {
        let versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        versions.get(key).copied().unwrap_or(1)
    }

    fn bump(&self, key: &str) -> u64 {
        let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        let version = versions.entry(key.to_owned()).or_insert(1);
        *version += 1;
        *version
    }
}

#[async_trait]
impl Origin<Row> for VersionedOrigin {
    async fn load(&self, key: &CacheKey) -> Result<Option<Row>, OriginError> {
        Ok(Some(Row {
            version: self.current(key.as_str()),
        }))
    }
}

/// Runs a future whose only waits are on another driver thread's load of the same key
/// (single-flight; the in-memory L2 and origin never wait): polls until it is ready,
/// yielding the thread between polls. `None` if it is still waiting after 10 s (a load
/// that never finishes).
fn ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    let mut started: Option<Instant> = None;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return Some(output);
        }
        if started.get_or_insert_with(Instant::now).elapsed() > Duration::from_secs(10) {
            return None;
        }
        std::thread::yield_now();
    }
}

/// Reads of one class answered from cache, all day and in the first minute.
#[derive(Debug, Default)]
struct Tally {
    lookups: AtomicU64,
    hits: AtomicU64,
    first_lookups: AtomicU64,
    first_hits: AtomicU64,
}

/// How warming went.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct WarmSummary {
    /// Entries loaded from the origin.
    pub loaded: u64,
    /// Entries found cached already.
    pub cached: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// The cache's part of the report.
#[derive(Clone, Debug, Serialize)]
pub struct CacheReport {
    /// `warm`, `cold`.
    pub start: &'static str,
    /// Warming, when the start was warm.
    pub warm: Option<WarmSummary>,
    /// Per class: the cache's counters and this run's hit rates.
    pub classes: Vec<ClassReport>,
    /// Reads that returned a version older than the key's last processed invalidation.
    pub stale_reads: u64,
    /// Reads and events that failed (never expected in memory).
    pub errors: u64,
    /// The first few failures' reasons.
    pub first_errors: Vec<String>,
    /// Classes below the design's 90 % hit-rate trigger after the first minute.
    pub grow: Vec<DataClass>,
}

/// One class's line.
#[derive(Clone, Debug, Serialize)]
pub struct ClassReport {
    /// The class.
    pub class: DataClass,
    /// Hit rate over the day.
    pub hit_rate: f64,
    /// Hit rate in the first simulated minute.
    pub first_minute_hit_rate: f64,
    /// The cache's own counters.
    pub stats: ClassStats,
}

/// One app server of the cloud tier: its own L1s (and counters), the shared L2.
struct Process {
    caches: Caches,
    classes: BTreeMap<DataClass, Cache<Row>>,
    tallies: BTreeMap<DataClass, Tally>,
}

/// The cloud tier's cache (see the module documentation): one app server per driver
/// thread, each with its own L1, all on one L2 and one origin; every event is applied by
/// every server, as the design's event bus would deliver it.
pub struct CloudCache {
    processes: Vec<Process>,
    clock: Arc<SimClock>,
    origin: Arc<VersionedOrigin>,
    floors: Mutex<HashMap<String, u64>>,
    stale_reads: AtomicU64,
    errors: AtomicU64,
    first_errors: Mutex<Vec<String>>,
    start: &'static str,
    warm: Mutex<Option<WarmSummary>>,
    skus: u32,
    lots: u32,
    pharmacies: u32,
    terminals: u16,
    /// The `no-cache-invalidation` defect: stock moves are not applied.
    skip_invalidation: bool,
    /// The mid-day events (a payer's new formulary, the Orange Book release) happened.
    midday: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for CloudCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudCache").finish_non_exhaustive()
    }
}

/// `prefix` then `n` in decimal (`format!` costs more than a cache read).
fn id(prefix: &str, n: u64) -> String {
    let mut out = String::with_capacity(prefix.len() + 20);
    out.push_str(prefix);
    out.push_str(itoa::Buffer::new().format(n));
    out
}

/// `prefix`, `a`, `-`, `b`.
fn id2(prefix: &str, a: u64, b: u64) -> String {
    let mut out = id(prefix, a);
    out.push('-');
    out.push_str(&id("", b));
    out
}

fn pharmacy(p: u32) -> Scope {
    Scope::Pharmacy(PharmacyId::new(p))
}

impl CloudCache {
    /// A cold cache of `servers` app servers for `config`'s pharmacies (`warm`: only names
    /// the start in the report).
    pub fn new(config: &Config, warm: bool, servers: usize) -> Result<CloudCache, String> {
        let clock = Arc::new(SimClock::default());
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let l2 = Arc::new(MemoryL2::new(Arc::clone(&dyn_clock), usize::MAX));
        let origin = Arc::new(VersionedOrigin::default());
        let mut processes = Vec::with_capacity(servers.max(1));
        for _ in 0..servers.max(1) {
            let caches = Caches::builder(CachePolicy::design(), Arc::clone(&dyn_clock))
                .deployment(Deployment {
                    pharmacies: u64::from(config.pharmacies),
                    payers: PAYERS.len() as u64,
                    sessions: u64::from(config.pharmacies) * u64::from(config.terminals),
                })
                .l2(l2.clone())
                .build()
                .map_err(|e| e.to_string())?;
            let mut classes = BTreeMap::new();
            let mut tallies = BTreeMap::new();
            for class in DataClass::ALL {
                let cache = caches
                    .cache::<Row>(class, origin.clone())
                    .map_err(|e| e.to_string())?;
                classes.insert(class, cache);
                tallies.insert(class, Tally::default());
            }
            processes.push(Process {
                caches,
                classes,
                tallies,
            });
        }
        Ok(CloudCache {
            processes,
            clock,
            origin,
            floors: Mutex::new(HashMap::new()),
            stale_reads: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_errors: Mutex::new(Vec::new()),
            start: if warm { "warm" } else { "cold" },
            warm: Mutex::new(None),
            skus: config.skus,
            lots: config.lots,
            pharmacies: config.pharmacies,
            terminals: config.terminals,
            skip_invalidation: config.breaks.no_cache_invalidation,
            midday: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Runs the design's warming plan for every pharmacy on the app server its requests go
    /// to (`server_of`).
    pub fn warm(&self, server_of: impl Fn(u32) -> usize) {
        let started = Instant::now();
        let mut summary = WarmSummary::default();
        for p in 0..self.pharmacies {
            let Some(process) = self.process(server_of(p)) else {
                continue;
            };
            let plan = WarmPlan::design(PharmacyId::new(p));
            let Some(reports) = ready(plan.run(&process.caches, self, |_| {})) else {
                self.failed(|| format!("warming pharmacy {p} did not finish"));
                continue;
            };
            for report in reports {
                match report.outcome {
                    Ok(counts) => {
                        summary.loaded += counts.loaded;
                        summary.cached += counts.cached;
                    }
                    Err(why) => self.failed(|| format!("warming {:?}: {why}", report.step)),
                }
            }
        }
        summary.seconds = started.elapsed().as_secs_f64();
        *self.warm.lock().unwrap_or_else(PoisonError::into_inner) = Some(summary);
    }

    /// Counts a failed read or event, keeping the first few reasons for the report.
    fn failed(&self, why: impl FnOnce() -> String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if first.len() < 5 {
            first.push(why());
        }
    }

    fn process(&self, server: usize) -> Option<&Process> {
        self.processes.get(server % self.processes.len().max(1))
    }

    /// Applies `event` on every server.
    fn apply(&self, event: &Event) -> bool {
        let mut applied = true;
        for process in &self.processes {
            match ready(process.caches.apply(event)) {
                Some(Ok(_)) => {}
                Some(Err(why)) => {
                    applied = false;
                    self.failed(|| why.to_string());
                }
                None => {
                    applied = false;
                    self.failed(|| format!("{event:?} did not finish"));
                }
            }
        }
        applied
    }

    /// One read at `at_ms`, tallied and checked against the key's last invalidation.
    fn read(&self, server: usize, class: DataClass, scope: Scope, id: &str, at_ms: u64) {
        self.clock.0.fetch_max(at_ms, Ordering::Relaxed);
        let Some(process) = self.process(server) else {
            return;
        };
        let (Some(cache), Some(tally)) = (process.classes.get(&class), process.tallies.get(&class))
        else {
            return;
        };
        let key = match cache.key(scope, id) {
            Ok(key) => key,
            Err(why) => return self.failed(|| why.to_string()),
        };
        // Only stock is invalidated during the day: its reads are checked against the
        // last processed invalidation.
        let floor = if class == DataClass::Inventory {
            self.floor(key.as_str())
        } else {
            1
        };
        let fetched = match ready(cache.get(&key)) {
            Some(Ok(fetched)) => fetched,
            Some(Err(why)) => return self.failed(|| why.to_string()),
            None => return self.failed(|| format!("{key:?}: the read did not finish")),
        };
        let hit = matches!(fetched.source, Source::L1 | Source::L2 | Source::Stale);
        tally.lookups.fetch_add(1, Ordering::Relaxed);
        tally.hits.fetch_add(u64::from(hit), Ordering::Relaxed);
        if at_ms < FIRST_MINUTE_MS {
            tally.first_lookups.fetch_add(1, Ordering::Relaxed);
            tally
                .first_hits
                .fetch_add(u64::from(hit), Ordering::Relaxed);
        }
        if fetched.value.is_none_or(|row| row.version < floor) {
            self.stale_reads.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn floor(&self, key: &str) -> u64 {
        let floors = self.floors.lock().unwrap_or_else(PoisonError::into_inner);
        floors.get(key).copied().unwrap_or(1)
    }

    /// Half-way through the day, once: the first payer publishes a new formulary and the
    /// weekly Orange Book release lands (both namespace swaps).
    fn midday(&self, at_ms: u64) {
        if at_ms < crate::config::SIMULATED_MS / 2 || self.midday.swap(true, Ordering::Relaxed) {
            return;
        }
        for event in [
            Event::PayerUpdated {
                payer: PAYERS[0],
                version: 2,
            },
            Event::OrangeBookRelease { release: 2 },
        ] {
            self.apply(&event);
        }
    }

    /// The reads of a sale or fill of `sku` on app server `server` (`insured`: the payer
    /// is asked; `substituted`: the substitution desk was; `online`: the store reaches the
    /// cloud, else nothing is read).
    pub fn read_sale(
        &self,
        server: usize,
        a: &Arrival,
        sku: u32,
        insured: bool,
        substituted: bool,
        online: bool,
    ) {
        let at = a.at_ms;
        self.midday(at);
        let new_rx = matches!(a.kind, Kind::NewFill | Kind::ScheduleIi);
        let calls_cloud = insured || new_rx || a.kind.is_controlled() || substituted;
        if !online || !calls_cloud {
            return;
        }
        let p = a.pharmacy;
        self.read_session(server, a);
        let draw = stream_seed(
            u64::from(p),
            &[u64::from(a.terminal), u64::from(a.seq), 0xCAC4],
        );
        if new_rx {
            let patient = id2("N", u64::from(a.terminal), u64::from(a.seq));
            self.read(server, DataClass::Patient, pharmacy(p), &patient, at);
            self.read(
                server,
                DataClass::DrugCatalog,
                Scope::Global,
                &id("sku", u64::from(sku)),
                at,
            );
        } else if insured {
            let patient = draw % ACTIVE_PATIENTS;
            self.read(
                server,
                DataClass::Patient,
                pharmacy(p),
                &id("P", patient),
                at,
            );
        }
        if substituted {
            self.read(
                server,
                DataClass::OrangeBook,
                Scope::Global,
                &id("sku", u64::from(sku)),
                at,
            );
        }
        if insured {
            let rank = (draw >> 16) % 100;
            let payer = if rank < 90 {
                PAYERS[(rank % 5) as usize]
            } else {
                PAYERS[5 + (rank % 3) as usize]
            };
            self.read(
                server,
                DataClass::Formulary,
                Scope::Payer(payer),
                &id("sku", u64::from(sku)),
                at,
            );
        }
    }

    /// The session read every cloud call of terminal `a.terminal` starts with.
    fn read_session(&self, server: usize, a: &Arrival) {
        let session = id2("s", u64::from(a.pharmacy), u64::from(a.terminal));
        self.read(server, DataClass::Session, Scope::Global, &session, a.at_ms);
    }

    /// The reads of a receipt, count or transfer of lot `dense` on app server `server`.
    pub fn read_inventory(&self, server: usize, a: &Arrival, dense: u32) {
        let p = a.pharmacy;
        self.read_session(server, a);
        let sku = dense / self.lots.max(1);
        self.read(
            server,
            DataClass::Inventory,
            pharmacy(p),
            &id("sku", u64::from(sku)),
            a.at_ms,
        );
    }

    /// The cloud learned (a sync round) that the stock of `skus` moved at pharmacy `p`.
    pub fn stock_synced(&self, p: u32, skus: impl IntoIterator<Item = u32>) {
        for sku in skus {
            self.stock_moved(p, sku);
        }
    }

    /// The stock of `sku` moved at pharmacy `p`: the origin's version moves, then the
    /// design's "on transaction" invalidation on every server.
    fn stock_moved(&self, p: u32, sku: u32) {
        let Some(cache) = self
            .process(0)
            .and_then(|process| process.classes.get(&DataClass::Inventory))
        else {
            return;
        };
        let id = id("sku", u64::from(sku));
        let Ok(key) = cache.key(pharmacy(p), &id) else {
            return;
        };
        let version = self.origin.bump(key.as_str());
        let event = Event::LotTransaction {
            pharmacy: PharmacyId::new(p),
            item: id,
        };
        if self.skip_invalidation || self.apply(&event) {
            let mut floors = self.floors.lock().unwrap_or_else(PoisonError::into_inner);
            floors.insert(key.as_str().to_owned(), version);
        }
    }

    /// A sync round's dashboard read on app server `server`.
    pub fn read_aggregate(&self, server: usize, p: u32, at_ms: u64) {
        self.read(
            server,
            DataClass::Analytics,
            pharmacy(p),
            "sales-today",
            at_ms,
        );
    }

    /// The end of the day: every terminal logs out.
    pub fn logout_all(&self) {
        for p in 0..self.pharmacies {
            for t in 0..self.terminals {
                let event = Event::Logout {
                    session: id2("s", u64::from(p), u64::from(t)),
                };
                self.apply(&event);
            }
        }
    }

    /// The report.
    pub fn report(&self) -> CacheReport {
        let rate = |hits: u64, lookups: u64| hits as f64 / lookups.max(1) as f64;
        // Every server's counters, summed per class.
        let mut stats: BTreeMap<DataClass, ClassStats> = BTreeMap::new();
        let mut tallies: BTreeMap<DataClass, [u64; 4]> = BTreeMap::new();
        for process in &self.processes {
            for (class, s) in process.caches.stats() {
                let sum = stats.entry(class).or_default();
                *sum = sum.plus(&s);
            }
            for (class, t) in &process.tallies {
                let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
                let sum = tallies.entry(*class).or_default();
                for (total, counter) in
                    sum.iter_mut()
                        .zip([&t.lookups, &t.hits, &t.first_lookups, &t.first_hits])
                {
                    *total += load(counter);
                }
            }
        }
        let mut classes = Vec::new();
        let mut grow = Vec::new();
        for (class, [lookups, hits, first_lookups, first_hits]) in tallies {
            let class = &class;
            if lookups == 0 {
                continue;
            }
            let after = rate(hits - first_hits, lookups - first_lookups);
            if lookups > first_lookups && after < pharm_cache::HIT_RATE_THRESHOLD {
                grow.push(*class);
            }
            classes.push(ClassReport {
                class: *class,
                hit_rate: rate(hits, lookups),
                first_minute_hit_rate: rate(first_hits, first_lookups),
                stats: stats.get(class).copied().unwrap_or_default(),
            });
        }
        CacheReport {
            start: self.start,
            warm: *self.warm.lock().unwrap_or_else(PoisonError::into_inner),
            classes,
            stale_reads: self.stale_reads.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            first_errors: self
                .first_errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            grow,
        }
    }
}

impl CacheReport {
    /// No stale read and no failed read.
    pub fn ok(&self) -> bool {
        self.stale_reads == 0 && self.errors == 0
    }

    /// The report as text: one line per class, then the checks.
    pub fn text(&self) -> String {
        let mut out = format!("\ncache ({} start", self.start);
        if let Some(w) = &self.warm {
            out.push_str(&format!(
                ": {} entries warmed in {:.2} s, {} already cached",
                w.loaded, w.seconds, w.cached
            ));
        }
        out.push_str(
            "):\n| class | reads | hit rate | first minute | L1 hits | L2 hits | origin loads | invalidations |\n|---|---|---|---|---|---|---|---|\n",
        );
        for c in &self.classes {
            let s = &c.stats;
            out.push_str(&format!(
                "| {} | {} | {:.1} % | {:.1} % | {} | {} | {} | {} |\n",
                c.class,
                s.lookups,
                100.0 * c.hit_rate,
                100.0 * c.first_minute_hit_rate,
                s.l1_hits,
                s.l2_hits,
                s.origin_loads,
                s.invalidations
            ));
        }
        let grow: Vec<&str> = self.grow.iter().map(|c| c.name()).collect();
        out.push_str(&format!(
            "cache: {} stale reads, {} failed reads ({}); below the 90 % hit-rate trigger after the first minute: {}\n",
            self.stale_reads,
            self.errors,
            if self.ok() { "ok" } else { "FAIL" },
            if grow.is_empty() { "none".to_owned() } else { grow.join(", ") }
        ));
        for why in &self.first_errors {
            out.push_str(&format!("cache failure: {why}\n"));
        }
        out
    }
}

#[async_trait]
impl WarmSource for CloudCache {
    async fn ids(
        &self,
        step: WarmStep,
        p: PharmacyId,
    ) -> Result<Vec<(Scope, String)>, OriginError> {
        let skus = |scope: Scope| (0..self.skus).map(move |s| (scope, id("sku", u64::from(s))));
        Ok(match step {
            WarmStep::DrugCatalog => skus(Scope::Global).collect(),
            WarmStep::Inventory => skus(Scope::Pharmacy(p)).collect(),
            WarmStep::ActivePrescriptions => (0..ACTIVE_PATIENTS)
                .map(|n| (Scope::Pharmacy(p), id("P", n)))
                .collect(),
            WarmStep::TopPayerFormularies => PAYERS
                .iter()
                .flat_map(|payer| skus(Scope::Payer(*payer)))
                .collect(),
            WarmStep::OrangeBook => skus(Scope::Global).collect(),
        })
    }
}
