//! The sans-IO core: a set of pharmacies that plays events in simulated time.
//!
//! A transaction's request goes through `pharm_core::rules::evaluate` in the context the
//! store is in (online or offline, the PMP and payer answers through their breakers); on
//! allow or warn (or an override a degradation calls for) its terminal's replica records
//! the dispense. Inventory operations (receipts, counts, transfers to the partner
//! pharmacy) go to the replica directly. A sync round runs the store's election and syncs
//! ([`Store::round`]).
//!
//! Nothing here reads a clock: decisions, counts and the final state are a pure function
//! of the configuration (seed included). The binary wraps [`Shard::play`] in wall time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pharm_core::rules::{
    Connectivity, FollowUp, Outcome, Payment, PmpStatus, Request, StateProfile, evaluate,
};
use pharm_shard::directory::{PhysicalShard, ShardMap};
use pharm_sync::replica::{Attachments, Op, OpError};
use pharm_sync::txn::TransferId;
use sha2::{Digest, Sha256};

use crate::cloud::cache::CloudCache;
use crate::cloud::lag::LagSpikes;
use crate::cloud::table::{MemoryTables, TxnTables};
use crate::cloud::writer::{Failover, ShardWriter};
use crate::config::{Config, SIMULATED_MS};
use crate::counts::Counts;
use crate::faults::{FaultCounts, FaultKind};
use crate::partners::PartnerCounts;
use crate::products::Templates;
use crate::requests::{Transaction, build, business_day, local_time, pharmacy_id};
use crate::rng::XorShift64;
use crate::store::{CommitError, SeedError, Store, StoreCounts, Violation, Wire, lot_facts};
use crate::subst_desk::{Lookup, SubstDesk};
use crate::workload::{Arrival, Event, Kind, events, stream_seed};

/// The substitution service is down in this window of the hour (simulated ms): new fills
/// get the original product only.
pub const SUBSTITUTION_OUTAGE_MS: (u64, u64) =
    (SIMULATED_MS * 70 / 100, SIMULATED_MS * 70 / 100 + 90_000);

/// Rows a shard store's batch holds before it is written without waiting for a store.
pub const WRITE_BATCH_ROWS: usize = 256;

/// The pharmacy a transfer from `p` goes to: its pair (`p ^ 1`), when there is one.
pub fn transfer_partner(p: u32, pharmacies: u32) -> Option<u32> {
    let q = p ^ 1;
    (q < pharmacies).then_some(q)
}

/// The driver thread that owns pharmacy `p` (pairs stay together, so a transfer's two
/// sides are played by one thread in order).
pub fn owner(p: u32, workers: usize) -> usize {
    (p / 2) as usize % workers.max(1)
}

/// The driver thread that plays pharmacy `p` out of `workers` threads plus, when some
/// pharmacies are durable, one more (index `workers`) for them and their transfer
/// partners, so that their SQLite writes do not delay the in-memory pharmacies.
pub fn driver(config: &Config, p: u32, workers: usize) -> usize {
    if config.on_durable_driver(p) {
        workers
    } else {
        owner(p, workers)
    }
}

/// Driver threads in all: `workers`, plus the durable pharmacies' own (see [`driver`]).
pub fn drivers(config: &Config, workers: usize) -> usize {
    workers + usize::from(config.on_durable_driver(0))
}

/// The shard directory of the cloud: the design's 16 logical shards over `physical`
/// physical shards.
pub fn directory(physical: u32) -> Result<ShardMap, String> {
    let shards: Vec<PhysicalShard> = (0..physical.max(1)).map(PhysicalShard).collect();
    ShardMap::with_defaults(&shards).map_err(|e| e.to_string())
}

/// What every driver thread shares: the request templates, the shard directory, the shard
/// stores' tables and the substitution desk.
#[derive(Clone)]
pub struct World {
    /// Request templates.
    pub templates: Arc<Templates>,
    /// The shard directory.
    pub map: ShardMap,
    /// The shard stores' transaction tables.
    pub tables: Arc<dyn TxnTables>,
    /// The substitution desk on the Orange Book.
    pub desk: Arc<SubstDesk>,
}

impl World {
    /// The embedded world: in-memory shard stores for the design's 16 logical shards on one
    /// physical shard, and `desk`.
    pub fn embedded(desk: Arc<SubstDesk>) -> Result<World, String> {
        let map = directory(1)?;
        Ok(World {
            templates: Arc::new(Templates::load()?),
            tables: Arc::new(MemoryTables::new(map.logical_count())),
            map,
            desk,
        })
    }
}

/// A set of pharmacies one driver thread owns, with its counters.
pub struct Shard {
    config: Config,
    templates: Arc<Templates>,
    profile: StateProfile,
    tables: Arc<dyn TxnTables>,
    writer: ShardWriter,
    wire: Wire,
    desk: Arc<SubstDesk>,
    stores: BTreeMap<u32, Store>,
    /// The cloud tier's cache and the app server this driver's requests go to.
    cache: Option<(Arc<CloudCache>, usize)>,
    /// Per pharmacy, the SKUs whose stock moved since the cloud last heard from it.
    unsynced: BTreeMap<u32, BTreeSet<u32>>,
    /// What this shard counted so far.
    pub counts: Counts,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("stores", &self.stores.len())
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl Shard {
    /// Seeds the pharmacies `ids` of `config`, routed by `map`, writing to `tables`, asking
    /// `desk` for substitutes.
    pub fn new(
        config: &Config,
        world: &World,
        ids: impl IntoIterator<Item = u32>,
    ) -> Result<Shard, SeedError> {
        let World {
            templates,
            map,
            tables,
            desk,
        } = world;
        let mut stores = BTreeMap::new();
        for p in ids {
            let shard = map.logical_of(pharmacy_id(p));
            stores.insert(p, Store::seed(config, p, shard)?);
        }
        Ok(Shard {
            config: config.clone(),
            templates: Arc::clone(templates),
            profile: StateProfile::texas(),
            tables: Arc::clone(tables),
            writer: ShardWriter::new(Arc::clone(tables), WRITE_BATCH_ROWS)
                .with_failover(Failover {
                    per_mille: config.faults.shard_failure,
                    rng: XorShift64::new(stream_seed(config.seed, &[0xFA11])),
                    acknowledge_before_storing: config.breaks.ack_before_store,
                })
                .with_lag_spikes(LagSpikes {
                    per_mille: config.faults.lag_spike,
                    rng: XorShift64::new(stream_seed(config.seed, &[0x1A65])),
                    skip_tail_rewrite: config.breaks.no_tail_rewrite,
                }),
            wire: Wire::new(config.faults, stream_seed(config.seed, &[0x3E1E])),
            desk: Arc::clone(desk),
            stores,
            cache: None,
            unsynced: BTreeMap::new(),
            counts: Counts::default(),
        })
    }

    /// Reads and invalidates `cache` as the cloud tier would, through app server `server`
    /// (see [`crate::cloud::cache`]).
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<CloudCache>, server: usize) -> Shard {
        self.cache = Some((cache, server));
        self
    }

    /// The pharmacy indexes this shard owns.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.stores.keys().copied()
    }

    /// The stores.
    pub fn stores(&self) -> impl Iterator<Item = &Store> + '_ {
        self.stores.values()
    }

    /// The substitution lookup of a new fill (`None` for another kind, or while the
    /// substitution service is down). The driver times it apart from the rest of the
    /// transaction and hands it to [`Shard::play`].
    pub fn substitution(&self, event: &Event) -> Option<Lookup> {
        let Event::Txn(a) = event else { return None };
        let down = (SUBSTITUTION_OUTAGE_MS.0..SUBSTITUTION_OUTAGE_MS.1).contains(&a.at_ms);
        if a.kind != Kind::NewFill || down {
            return None;
        }
        let mut rng = XorShift64::new(stream_seed(
            self.config.seed,
            &[
                u64::from(a.pharmacy),
                u64::from(a.terminal),
                u64::from(a.seq),
                0x5B57,
            ],
        ));
        Some(self.desk.lookup(&mut rng, business_day()))
    }

    /// Plays one event (`lookup`: its [`Shard::substitution`]).
    pub fn play(&mut self, event: &Event, lookup: Option<&Lookup>) {
        match event {
            Event::Txn(a) => {
                self.play_txn(a, lookup);
            }
            Event::Round(r) => match self.stores.get_mut(&r.pharmacy) {
                Some(store) => {
                    if let Some((cache, server)) = &self.cache
                        && store.is_online(r.at_ms)
                    {
                        // The round uploads the store's transactions: the cloud's stock
                        // changes, and its cache hears of it ("on transaction").
                        let skus = self.unsynced.remove(&r.pharmacy).unwrap_or_default();
                        cache.stock_synced(r.pharmacy, skus);
                        cache.read_aggregate(*server, r.pharmacy, r.at_ms);
                    }
                    store.round(r.k, r.at_ms, &mut self.writer, &mut self.wire);
                }
                None => self.counts.errors += 1,
            },
        }
        self.trace_lag_spikes();
    }

    /// Adds the writer's lag-spike lines to the traces of the pharmacies they concern.
    fn trace_lag_spikes(&mut self) {
        for (p, line) in self.writer.take_notes() {
            if let Some(store) = self.stores.get_mut(&p) {
                store.trace.push(|| line);
            }
        }
    }

    /// Plays one transaction; returns the decision's outcome for a decided kind.
    pub fn play_txn(&mut self, a: &Arrival, lookup: Option<&Lookup>) -> Option<Outcome> {
        if !self.stores.contains_key(&a.pharmacy) {
            self.counts.errors += 1;
            return None;
        }
        match a.kind {
            Kind::Receipt | Kind::Count | Kind::Transfer => {
                self.inventory(a);
                None
            }
            _ => self.decide(a, lookup),
        }
    }

    /// A sale or fill: partners, the rule engine, the dispense.
    fn decide(&mut self, a: &Arrival, lookup: Option<&Lookup>) -> Option<Outcome> {
        let mut txn = build(
            &self.templates,
            &self.profile,
            self.config.seed,
            self.config.skus,
            a,
        )?;
        let store = self.stores.get_mut(&a.pharmacy)?;
        let mut rng = XorShift64::new(stream_seed(
            self.config.seed,
            &[
                u64::from(a.pharmacy),
                u64::from(a.terminal),
                u64::from(a.seq),
                0xCA11,
            ],
        ));
        let online = store.is_online(a.at_ms);
        let counts = &mut self.counts;
        if !online {
            counts.degraded.offline += 1;
            let since = store.plan.offline.map_or(0, |(start, _)| start);
            txn.context.connectivity = Connectivity::Offline {
                since: local_time(since),
            };
        }
        if let Some((cache, server)) = &self.cache {
            let insured = matches!(&txn.request, Request::Fill(f) if matches!(f.payment, Payment::Insurance { .. }));
            let substituted = a.kind == Kind::NewFill && lookup.is_some_and(|l| !l.degraded);
            cache.read_sale(*server, a, txn.dispense.sku, insured, substituted, online);
        }
        let mut attachments = Attachments::default();
        let mut degraded_override = !online && a.kind.is_controlled();
        if let Request::Fill(fill) = &mut txn.request {
            if a.kind.is_controlled() {
                let ok = online && store.pmp.call(&mut rng, a.at_ms).ok;
                if ok {
                    fill.pmp = PmpStatus::Queried {
                        at: local_time(a.at_ms),
                    };
                } else {
                    counts.degraded.pmp_manual += 1;
                    degraded_override = true;
                    fill.pmp = PmpStatus::Unavailable {
                        reason: if online { "PMP outage" } else { "offline" }.into(),
                    };
                }
            }
            if matches!(fill.payment, Payment::Insurance { .. }) {
                let ok = online && store.payer.call(&mut rng, a.at_ms).ok;
                if !ok {
                    counts.degraded.cash_only += 1;
                    fill.payment = Payment::Cash;
                    attachments.claim = Some(fill.prescription.rx_number.clone());
                }
            }
            if a.kind == Kind::NewFill {
                match lookup {
                    Some(l) if !l.degraded => counts.lookups += 1,
                    _ => counts.degraded.original_only += 1,
                }
            }
        }
        let decision = evaluate(&txn.request, &txn.context);
        counts.decision(a.kind, decision.outcome);
        let overridden = decision.outcome == Outcome::RequireOverride && degraded_override;
        if !(matches!(decision.outcome, Outcome::Allow | Outcome::Warn) || overridden) {
            return Some(decision.outcome);
        }
        if overridden {
            counts.degraded.overridden += 1;
        }
        if !online && a.kind.is_controlled() {
            counts.degraded.offline_controlled += 1;
            let item = decision.follow_ups.iter().any(|f| {
                matches!(f, FollowUp::Reconciliation { reference, .. } if *reference == fill_reference(&txn))
            });
            if !item {
                store.violations.push(Violation::new(
                    "every offline controlled dispense reconciled",
                    format!(
                        "{}: the decision has no reconciliation item",
                        txn.dispense.reference
                    ),
                ));
            }
            attachments.pmp_report = Some(txn.dispense.reference.clone());
        }
        let op = Op::Dispense {
            today: business_day(),
            sku: txn.dispense.sku,
            qty: txn.dispense.qty,
            scanned: None,
            reference: txn.dispense.reference.clone(),
            attachments,
        };
        match store.commit(a.terminal, a.at_ms, op) {
            Ok(commit) => {
                if self.cache.is_some() {
                    self.unsynced
                        .entry(a.pharmacy)
                        .or_default()
                        .insert(txn.dispense.sku);
                }
                counts.dispenses += 1;
                counts.units += txn.dispense.qty;
                if !commit.negative.is_empty() {
                    counts.negative += 1;
                }
            }
            Err(_) => counts.errors += 1,
        }
        Some(decision.outcome)
    }

    /// A receipt, a count or a transfer.
    fn inventory(&mut self, a: &Arrival) {
        let mut rng = XorShift64::new(stream_seed(
            self.config.seed,
            &[
                u64::from(a.pharmacy),
                u64::from(a.terminal),
                u64::from(a.seq),
                0x1417,
            ],
        ));
        let Some(store) = self.stores.get(&a.pharmacy) else {
            return;
        };
        let dense = rng.below(store.lot_count().max(1));
        let Some(lot) = store.lot_key(dense) else {
            self.counts.errors += 1;
            return;
        };
        if let Some((cache, server)) = &self.cache
            && store.is_online(a.at_ms)
        {
            cache.read_inventory(*server, a, dense);
        }
        let sku = dense / self.config.lots.max(1);
        let tracked = self.cache.is_some();
        let mut moved_at: Vec<u32> = Vec::new();
        let mut moved = |pharmacy: u32| {
            if tracked {
                moved_at.push(pharmacy);
            }
        };
        let reference = format!("INV-{}-{}-{}", a.pharmacy, a.terminal, a.seq);
        let partner = transfer_partner(a.pharmacy, self.config.pharmacies);
        match (a.kind, partner) {
            (Kind::Count, _) => {
                let on_hand = store.on_hand(a.terminal, dense).max(0).unsigned_abs();
                let counted = on_hand.saturating_sub(u64::from(rng.below(3)));
                if self.commit(
                    a,
                    Op::StockCount {
                        lot,
                        counted,
                        reference,
                    },
                ) {
                    moved(a.pharmacy);
                }
            }
            (Kind::Transfer, Some(q)) => {
                let qty = u64::from(rng.range(1, 10));
                let number = (u64::from(a.terminal) << 32) | u64::from(a.seq);
                let out = Op::TransferOut {
                    lot,
                    qty,
                    number,
                    reference: reference.clone(),
                };
                let from = pharmacy_id(a.pharmacy);
                if self.commit(a, out) {
                    moved(a.pharmacy);
                    let into = Arrival { pharmacy: q, ..*a };
                    let received = lot_facts(dense, self.config.lots).map(|mut facts| {
                        facts.lot_number.push_str("-T");
                        Op::TransferIn {
                            transfer: TransferId { from, number },
                            lot: facts,
                            qty,
                            reference,
                        }
                    });
                    let into_store = self.stores.get_mut(&q);
                    match (received, into_store) {
                        (Ok(op), Some(store)) => {
                            match store.commit(into.terminal, into.at_ms, op) {
                                Ok(_) => {
                                    moved(q);
                                    self.counts.transfers_received += 1;
                                }
                                Err(_) => self.counts.errors += 1,
                            }
                        }
                        _ => self.counts.errors += 1,
                    }
                }
            }
            _ => {
                let qty = u64::from(rng.range(12, 120));
                if self.commit(
                    a,
                    Op::Receive {
                        lot,
                        qty,
                        reference,
                    },
                ) {
                    moved(a.pharmacy);
                }
            }
        }
        for pharmacy in moved_at {
            self.unsynced.entry(pharmacy).or_default().insert(sku);
        }
    }

    /// Commits `op` on `a`'s terminal and counts it; true when it was recorded (a count
    /// that matched the shelf records nothing and is counted as matched).
    fn commit(&mut self, a: &Arrival, op: Op) -> bool {
        let Some(store) = self.stores.get_mut(&a.pharmacy) else {
            self.counts.errors += 1;
            return false;
        };
        match store.commit(a.terminal, a.at_ms, op) {
            Ok(_) => {
                self.counts.inventory_ops += 1;
                true
            }
            Err(CommitError::Op(OpError::NothingToRecord)) => {
                self.counts.counts_matched += 1;
                false
            }
            Err(_) => {
                self.counts.inventory_refused += 1;
                false
            }
        }
    }

    /// The final sync of every store after the day.
    pub fn finish(&mut self) {
        for store in self.stores.values_mut() {
            store.final_sync(SIMULATED_MS, &mut self.writer, &mut self.wire);
        }
        if let Some((cache, _)) = &self.cache {
            for (pharmacy, skus) in std::mem::take(&mut self.unsynced) {
                cache.stock_synced(pharmacy, skus);
            }
        }
        self.writer.flush();
        self.trace_lag_spikes();
    }

    /// Every store's invariant checks (after [`Shard::finish`]).
    pub fn check(&self) -> Vec<Violation> {
        let mut out: Vec<Violation> = self
            .writer
            .errors
            .iter()
            .map(|e| Violation::new("shard store writes succeed", e.to_string()))
            .collect();
        if self.writer.written.conflicting > 0 {
            out.push(Violation::new(
                "no transaction duplicated",
                format!(
                    "{} uploads reused a stored transaction's key with other contents",
                    self.writer.written.conflicting
                ),
            ));
        }
        out.extend(
            self.stores
                .values()
                .flat_map(|s| s.check(self.tables.as_ref())),
        );
        out
    }

    /// The faults injected: on the wire, in the stores, at the shard stores.
    pub fn fault_counts(&self) -> FaultCounts {
        let mut c = self.wire.counts.clone();
        for s in self.stores.values() {
            c.merge(&s.faults_seen);
            c.merge(&s.pmp.fault_counts());
            c.merge(&s.payer.fault_counts());
        }
        for _ in 0..self.writer.failovers {
            c.add(FaultKind::ShardFailure);
        }
        for _ in 0..self.writer.lag_spikes {
            c.add(FaultKind::LagSpike);
        }
        c
    }

    /// The PMP and payer connections' counters, added up over the stores.
    pub fn partner_counts(&self) -> (PartnerCounts, PartnerCounts) {
        let (mut pmp, mut payer) = (PartnerCounts::default(), PartnerCounts::default());
        for s in self.stores.values() {
            pmp.merge(&s.pmp.counts);
            payer.merge(&s.payer.counts);
        }
        (pmp, payer)
    }

    /// The stores' counters, added up.
    pub fn store_counts(&self) -> StoreCounts {
        let mut c = StoreCounts::default();
        for s in self.stores.values() {
            c.merge(&s.counts);
        }
        c.rows_written = self.writer.written.inserted;
        c.rows_repeated = self.writer.written.repeated;
        c.rows_conflicting = self.writer.written.conflicting;
        c.shard_writes = self.writer.batches;
        c
    }
}

/// The prescription number of a fill (the reference its reconciliation item names).
fn fill_reference(txn: &Transaction) -> String {
    match &txn.request {
        Request::Fill(f) => f.prescription.rx_number.clone(),
        _ => txn.dispense.reference.clone(),
    }
}

/// The hex SHA-256 of the final state: per pharmacy (in index order) the cloud's value of
/// every lot, then every terminal's.
pub fn state_digest<'a>(stores: impl IntoIterator<Item = &'a Store>) -> String {
    let mut all: Vec<&Store> = stores.into_iter().collect();
    all.sort_by_key(|s| s.index);
    let mut h = Sha256::new();
    for s in all {
        h.update(s.index.to_le_bytes());
        let root = s.root().replica().state();
        let lots: Vec<_> = root.lots().map(|(info, v)| (info.key, v)).collect();
        for (key, v) in &lots {
            h.update(key.local_no.to_le_bytes());
            h.update(v.to_le_bytes());
        }
        for t in s.terminals() {
            let state = t.replica().state();
            for (key, _) in &lots {
                h.update(state.value(key).to_le_bytes());
            }
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What a run in simulated time produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The counters.
    pub counts: Counts,
    /// The stores' counters.
    pub stores: StoreCounts,
    /// [`state_digest`] of the final state.
    pub digest: String,
    /// What the final checks found.
    pub violations: Vec<Violation>,
}

/// Runs the whole workload of `config` in simulated time on one thread (no wall clock) in
/// `world` (with fresh shard stores): the reference the binary's timed run must agree with.
pub fn run_simulated(config: &Config, world: &World) -> Result<Summary, String> {
    run_simulated_cached(config, world, None)
}

/// [`run_simulated`] with the cloud tier reading and invalidating `cache`.
pub fn run_simulated_cached(
    config: &Config,
    world: &World,
    cache: Option<Arc<CloudCache>>,
) -> Result<Summary, String> {
    let mut shard = Shard::new(config, world, 0..config.pharmacies).map_err(|e| e.to_string())?;
    if let Some(cache) = cache {
        shard = shard.with_cache(cache, 0);
    }
    for event in events(config, 0..config.pharmacies) {
        let lookup = shard.substitution(&event);
        shard.play(&event, lookup.as_ref());
    }
    shard.finish();
    Ok(Summary {
        violations: shard.check(),
        stores: shard.store_counts(),
        digest: state_digest(shard.stores()),
        counts: shard.counts,
    })
}
