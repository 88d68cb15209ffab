//! One pharmacy as the load test runs it: its terminals (pharm-sync peers with their
//! leader election), the cloud's root peer for it (routed by pharm-shard's directory to a
//! logical shard), its partner connections, and the oracle the final checks compare with.
//!
//! - [`Store::seed`]: the cloud receives every lot; each terminal starts from that state.
//! - [`Store::commit`]: an operation on a terminal's replica; every line it commits goes
//!   into the oracle ledger (expected units per lot).
//! - `round.rs`: a sync round (election, members with the leader, the leader with the
//!   cloud when the store is online, queued claims and reconciliation items), a crash and
//!   restore, the final sync.
//! - `checks.rs`: the invariants after the final sync.
//! - `terminal.rs`: a terminal's sync end, in memory or a durable SQLite terminal store.

mod checks;
mod cs_check;
mod disk;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod durable_tests;
mod round;
mod terminal;
mod trace;
mod wire;

pub use trace::Trace;
pub use wire::Wire;

pub use checks::{INVARIANTS, Violation};
pub use terminal::{Durable, TerminalEnd};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pharm_core::ids::{Ndc, NdcLayout, PharmacyId};
use pharm_core::time::Date;
use pharm_shard::directory::LogicalShard;
use pharm_shard::resilience::ResilienceConfig;
use pharm_sync::auth::{KeyRing, MacKey, StoreKeys};
use pharm_sync::ids::ReplicaId;
use pharm_sync::leader::{Election, ElectionConfig};
use pharm_sync::protocol::{Peer, Role};
use pharm_sync::replica::{Commit, NewLot, Op, OpError, Replica};
use pharm_sync::store::StoreOptions;
use pharm_sync::txn::LotKey;

use crate::cloud::writer::Ticket;
use crate::config::{Breaks, Config};
use crate::faults::{FaultCounts, FaultKind, Faults};
use crate::partner_faults::PartnerFaults;
use crate::partners::{Partner, ServiceModel};
use crate::plan::StorePlan;
use crate::products::{ALPRAZOLAM, PRODUCTS};
use crate::requests::{business_day, pharmacy_id};
use crate::rng::XorShift64;
use crate::workload::stream_seed;

/// Wall clock (ms since the Unix epoch) the replicas' hybrid clocks start from: the
/// business day at 08:00 UTC. Simulated, so every run stamps the same times.
pub const START_MS: u64 = 1_776_240_000_000;

/// Why a pharmacy could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// An SKU beyond the NDC range the generator numbers (labeler 50000, 5-4-2 layout).
    #[error("SKU {0} has no NDC in the generated range")]
    Ndc(u32),
    /// The cloud refused a receipt.
    #[error("seeding a lot: {0}")]
    Op(OpError),
    /// The election or a partner policy refused its configuration.
    #[error("setting up pharmacy {pharmacy}: {reason}")]
    Setup {
        /// Pharmacy index.
        pharmacy: u32,
        /// What was refused.
        reason: String,
    },
}

/// Why a terminal did not record an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// The pharmacy has no such terminal.
    #[error("no terminal {0}")]
    NoTerminal(u16),
    /// The replica refused the operation.
    #[error("refused: {0}")]
    Op(OpError),
    /// A durable terminal's store failed to write it.
    #[error("terminal store: {0}")]
    Store(String),
    /// A durable terminal crashed inside the write (after this many write statements, before
    /// `COMMIT`) and reopened its file: nothing was committed.
    #[error("terminal store crashed after {0} write statement(s), reopened")]
    Crashed(u32),
}

/// What a store counted besides decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// Sync rounds played.
    pub rounds: u64,
    /// Rounds without a leader among the terminals on the store's network.
    pub leaderless_rounds: u64,
    /// Rounds in which the store could not reach the cloud.
    pub offline_rounds: u64,
    /// Sync sessions (member with leader, leader with cloud).
    pub sessions: u64,
    /// Sync messages delivered.
    pub messages: u64,
    /// Sessions that ended with a protocol error.
    pub sync_errors: u64,
    /// Times the store leader dropped off the store's network.
    pub leader_losses: u64,
    /// Distinct election terms that had a leader.
    pub terms: u64,
    /// Terminals restored from a backup.
    pub restores: u64,
    /// Transactions the cloud logged (rows written to its shard store).
    pub rows_written: u64,
    /// Writes (batches of rows) to the shard stores.
    pub shard_writes: u64,
    /// Rows the shard store already held (idempotent re-uploads).
    pub rows_repeated: u64,
    /// Rows whose key the shard store held with another digest.
    pub rows_conflicting: u64,
    /// Claims queued while the payer was unreachable, then sent.
    pub claims_sent: u64,
    /// Reconciliation items delivered to the cloud.
    pub reconciliations_sent: u64,
}

impl StoreCounts {
    /// Adds another store's counters.
    pub fn merge(&mut self, o: &StoreCounts) {
        self.rounds += o.rounds;
        self.leaderless_rounds += o.leaderless_rounds;
        self.offline_rounds += o.offline_rounds;
        self.sessions += o.sessions;
        self.messages += o.messages;
        self.sync_errors += o.sync_errors;
        self.leader_losses += o.leader_losses;
        self.terms += o.terms;
        self.restores += o.restores;
        self.rows_written += o.rows_written;
        self.shard_writes += o.shard_writes;
        self.rows_repeated += o.rows_repeated;
        self.rows_conflicting += o.rows_conflicting;
        self.claims_sent += o.claims_sent;
        self.reconciliations_sent += o.reconciliations_sent;
    }
}

/// One terminal: its sync end, its view of the store's election, and the backup a
/// planned crash restores.
#[derive(Debug)]
pub struct Terminal {
    end: TerminalEnd,
    election: Election,
    backup: Option<terminal::Backup>,
    /// Off the store's network until this round (exclusive).
    lan_down_until: u64,
}

impl Terminal {
    /// The terminal's sync end (in memory or durable).
    pub fn end(&self) -> &TerminalEnd {
        &self.end
    }

    /// The terminal's replica.
    pub fn replica(&self) -> &Replica {
        self.end.replica()
    }
}

/// One pharmacy. See the [module documentation](self).
#[derive(Debug)]
pub struct Store {
    /// Pharmacy index (`0..pharmacies`).
    pub index: u32,
    id: PharmacyId,
    terminals: Vec<Terminal>,
    root: Peer,
    /// The logical shard the directory routes this pharmacy to.
    pub shard: LogicalShard,
    /// The day's faults.
    pub plan: StorePlan,
    /// The PMP connection.
    pub pmp: Partner,
    /// The payer connection.
    pub payer: Partner,
    /// Lots the cloud received at the start, by dense index.
    seed_lots: Vec<LotKey>,
    lots_per_sku: u32,
    /// Expected units per lot: every committed line, summed.
    ledger: BTreeMap<LotKey, i64>,
    /// Highest sequence number each terminal incarnation committed.
    committed: BTreeMap<ReplicaId, u64>,
    /// Transactions the terminals committed with lines on a controlled lot (each needs an
    /// entry in the cloud's controlled-substance log).
    controlled_committed: u64,
    /// References of offline controlled dispenses (each needs a reconciliation item).
    reconciliation_due: BTreeSet<String>,
    /// Reconciliation items the cloud received.
    reconciliation_received: BTreeSet<String>,
    /// Claims queued (cash sold while the payer was unreachable).
    claims_queued: u64,
    election_now: u64,
    /// The leader of each term, as observed.
    leaders: BTreeMap<u64, ReplicaId>,
    sync_every_ms: u64,
    leader_loss_per_mille: u32,
    seed: u64,
    breaks: Breaks,
    /// The batch holding what the root logged in the last cloud session.
    pending_write: Option<Ticket>,
    /// The shard store dropped its one upload (under [`Breaks::drop_upload`]).
    dropped_upload: bool,
    /// What it counted.
    pub counts: StoreCounts,
    /// Invariants found broken during the day (the final checks add theirs).
    pub violations: Vec<Violation>,
    /// The faults injected into this store's networks.
    faults: Faults,
    /// Faults of the store's own (partitions, crashes, leader losses, offline windows).
    pub faults_seen: FaultCounts,
    /// The last events, when faults are injected.
    pub trace: Trace,
    /// Each terminal's clock skew, ms.
    skew: Vec<i64>,
    /// Pairs of terminals partitioned this round (lower index first).
    cut: BTreeSet<(usize, usize)>,
    /// The store cannot reach the cloud this round.
    cloud_cut: bool,
    /// A fault hit one of this round's sessions.
    round_faulted: bool,
    /// The rollback of a durable terminal's files (the `rollback` knob).
    rollback: disk::Rollback,
}

/// Terminal `actor`'s clock skew in pharmacy `p`: up to the faults' `skew_ms` either way.
fn skew(config: &Config, p: u32, actor: u16) -> i64 {
    let max = config.faults.skew_ms;
    if max == 0 {
        return 0;
    }
    let mut rng = XorShift64::new(stream_seed(
        config.seed,
        &[u64::from(p), u64::from(actor), 0x5CE7],
    ));
    i64::from(rng.range(0, 2 * max)) - i64::from(max)
}

/// The replica id of the cloud's peer for a pharmacy (terminal 0 of the key ring).
pub const CLOUD: u16 = 0;

/// The origin key of an actor in pharmacy `p` (fixed, distinct per actor and store: the
/// load test is not about secrecy).
pub fn origin_key(p: u32, actor: u16) -> MacKey {
    let mut k = [0x6f; 32];
    k[..4].copy_from_slice(&p.to_le_bytes());
    k[4..6].copy_from_slice(&actor.to_le_bytes());
    MacKey::new(k)
}

/// The store's link key (every hop's tag).
fn link_key(p: u32) -> MacKey {
    let mut k = [0x11; 32];
    k[..4].copy_from_slice(&p.to_le_bytes());
    MacKey::new(k)
}

/// The key ring of `me` (`None`: the cloud, which holds every origin key).
fn key_ring(p: u32, terminals: u16, me: Option<u16>) -> Arc<dyn KeyRing> {
    let mut ring = StoreKeys::new(pharmacy_id(p), link_key(p));
    for actor in 0..=terminals {
        let own = me.is_none() || me == Some(actor);
        ring = ring.with_member(actor, own.then(|| origin_key(p, actor)));
    }
    Arc::new(ring)
}

/// A nonzero incarnation for `actor` of pharmacy `p`, drawn from the run's seed.
fn incarnation(seed: u64, p: u32, actor: u16) -> u64 {
    stream_seed(seed, &[u64::from(p), u64::from(actor), 0x1AC]) | 1
}

/// The NDC of a generated SKU (labeler 50000 + `sku / 10000`, 5-4-2 layout).
fn ndc_of(sku: u32) -> Result<Ndc, SeedError> {
    let product = u16::try_from(sku % 10_000).map_err(|_| SeedError::Ndc(sku))?;
    Ndc::new(50_000 + sku / 10_000, product, 1, NdcLayout::L542).map_err(|_| SeedError::Ndc(sku))
}

/// Expiry of lot `k` of `sku`: four months out, then six months apart, spread by SKU.
fn expiry(today: Date, sku: u32, k: u32) -> Date {
    today.add_days(120 + 180 * i64::from(k) + i64::from(sku % 97))
}

/// The facts of dense lot `dense` (SKU `dense / lots`).
pub fn lot_facts(dense: u32, lots: u32) -> Result<NewLot, SeedError> {
    let (sku, k) = (dense / lots.max(1), dense % lots.max(1));
    Ok(NewLot {
        sku,
        ndc: ndc_of(sku)?,
        lot_number: format!("L{sku:05}-{k}"),
        expiry: expiry(business_day(), sku, k),
        controlled: sku % PRODUCTS as u32 >= ALPRAZOLAM as u32,
    })
}

/// Switches on the defects of `breaks` that live in pharm-sync (feature `test-breaks`).
#[cfg(feature = "test-breaks")]
fn protocol_breaks(
    breaks: Breaks,
    root: &mut Peer,
    terminals: &mut [Terminal],
) -> Result<(), String> {
    if breaks.skip_mac {
        root.break_skip_mac_check();
    }
    for t in terminals {
        // A durable terminal's peer lives inside its SQLite store: the defect reaches the
        // root and the in-memory terminals, which is where damaged messages are taken.
        if let (true, TerminalEnd::Memory(peer)) = (breaks.skip_mac, &mut t.end) {
            peer.break_skip_mac_check();
        }
        if breaks.no_term_check {
            t.election.break_ignore_terms();
        }
    }
    Ok(())
}

/// Without the feature `test-breaks`, the defects that live in pharm-sync cannot be built.
#[cfg(not(feature = "test-breaks"))]
fn protocol_breaks(breaks: Breaks, _: &mut Peer, _: &mut [Terminal]) -> Result<(), String> {
    if breaks.skip_mac || breaks.no_term_check {
        return Err("--break skip-mac and no-term-check need the feature test-breaks".into());
    }
    Ok(())
}

impl Store {
    /// Pharmacy `index` under `config`, routed to `shard`, after the cloud received
    /// `config.lots` lots of each of `config.skus` SKUs with `config.seed_units` units each.
    pub fn seed(config: &Config, index: u32, shard: LogicalShard) -> Result<Store, SeedError> {
        let id = pharmacy_id(index);
        let setup = |reason: String| SeedError::Setup {
            pharmacy: index,
            reason,
        };
        let cloud_id = ReplicaId::new(CLOUD, incarnation(config.seed, index, CLOUD));
        let mut cloud = Replica::new(id, cloud_id, origin_key(index, CLOUD));
        let mut ledger = BTreeMap::new();
        let mut seed_lots = Vec::with_capacity((config.skus * config.lots) as usize);
        for dense in 0..config.skus * config.lots {
            let op = Op::ReceiveNew {
                lot: lot_facts(dense, config.lots)?,
                qty: config.seed_units,
                reference: String::new(),
            };
            let commit = cloud
                .apply(START_MS - 3_600_000 + u64::from(dense), op)
                .map_err(SeedError::Op)?;
            let key = commit
                .new_lot()
                .ok_or_else(|| setup("a receipt made no lot".into()))?;
            seed_lots.push(key);
            add_lines(&mut ledger, &commit);
        }
        let members: Vec<ReplicaId> = (1..=config.terminals)
            .map(|a| ReplicaId::new(a, 0))
            .collect();
        let every = config.sync_every_ms();
        let election = ElectionConfig {
            lease_ms: every * 5 / 2,
            heartbeat_ms: every,
            election_timeout_ms: (1_000, 3_000),
            max_clock_drift_ms: 500,
        };
        let seeded = cloud.state().clone();
        let mut root = Peer::new(cloud, key_ring(index, config.terminals, None), Role::Root);
        // Right after the receipts, before the day starts.
        let seed_done = START_MS - 3_600_000 + u64::from(config.skus * config.lots);
        let mut terminals = Vec::with_capacity(usize::from(config.terminals));
        for actor in 1..=config.terminals {
            let inc = incarnation(config.seed, index, actor);
            let keys = key_ring(index, config.terminals, Some(actor));
            let end = match config.durable_file(index, actor) {
                // A durable terminal starts empty and takes the cloud's state in one sync.
                Some(path) => {
                    let options = StoreOptions {
                        synchronous: config.durable_flush,
                        ..StoreOptions::default()
                    };
                    let mut end =
                        TerminalEnd::create(&path, id, actor, keys, inc, options).map_err(setup)?;
                    let mut trace = Trace::default();
                    let mut wire = Wire::default();
                    let mut link = wire.link(index, &[], true, &mut trace);
                    round::session(
                        (&mut end, seed_done),
                        (&mut root, seed_done),
                        false,
                        &mut link,
                    )
                    .map_err(|e| setup(e.detail))?;
                    let stream = [u64::from(index), u64::from(actor), 0xC4A5];
                    end.set_crash_points(disk::CrashPoints::new(
                        config.faults.store_crash,
                        stream_seed(config.seed, &stream),
                    ));
                    end
                }
                None => {
                    let me = ReplicaId::new(actor, inc);
                    let replica = Replica::with_state(me, origin_key(index, actor), seeded.clone());
                    TerminalEnd::Memory(Box::new(Peer::new(replica, keys, Role::Member)))
                }
            };
            let e = Election::new(
                ReplicaId::new(actor, 0),
                &members,
                election,
                0,
                stream_seed(config.seed, &[u64::from(index), 0xE1EC]),
            )
            .map_err(|e| setup(e.to_string()))?;
            terminals.push(Terminal {
                end,
                election: e,
                backup: None,
                lan_down_until: 0,
            });
        }
        root.record_logged();
        protocol_breaks(config.breaks, &mut root, &mut terminals).map_err(setup)?;
        let pmp = Partner::new(
            ResilienceConfig::PMP_API,
            ResilienceConfig::pmp_api(),
            ServiceModel::pmp(),
            config.seed,
            index,
        )
        .map_err(setup)?
        .with_faults(PartnerFaults::draw(&config.faults, config.seed, index, 0));
        let payer = Partner::new(
            ResilienceConfig::INSURANCE_API,
            ResilienceConfig::insurance_api(),
            ServiceModel::payer(),
            config.seed,
            index,
        )
        .map_err(setup)?
        .with_faults(PartnerFaults::draw(&config.faults, config.seed, index, 1));
        let plan = StorePlan::draw(config, index);
        let mut faults_seen = FaultCounts::default();
        if plan.offline.is_some() {
            faults_seen.add(FaultKind::Offline);
        }
        Ok(Store {
            index,
            id,
            terminals,
            root,
            shard,
            plan,
            pmp,
            payer,
            seed_lots,
            lots_per_sku: config.lots,
            ledger,
            committed: BTreeMap::new(),
            controlled_committed: 0,
            reconciliation_due: BTreeSet::new(),
            reconciliation_received: BTreeSet::new(),
            claims_queued: 0,
            election_now: 0,
            leaders: BTreeMap::new(),
            sync_every_ms: every,
            leader_loss_per_mille: config.leader_loss_per_mille,
            seed: config.seed,
            breaks: config.breaks,
            dropped_upload: false,
            pending_write: None,
            counts: StoreCounts::default(),
            violations: Vec::new(),
            faults: config.faults,
            faults_seen,
            trace: Trace::new(config.trace),
            skew: (1..=config.terminals)
                .map(|actor| skew(config, index, actor))
                .collect(),
            cut: BTreeSet::new(),
            cloud_cut: false,
            round_faulted: false,
            rollback: disk::Rollback::new(
                if config.is_durable(index) {
                    config.faults.rollback
                } else {
                    0
                },
                stream_seed(config.seed, &[u64::from(index), 0xD15C]),
            ),
        })
    }

    /// The pharm-core id of this pharmacy.
    pub fn id(&self) -> PharmacyId {
        self.id
    }

    /// The key of dense lot `dense` (as the cloud received it), if there is one.
    pub fn lot_key(&self, dense: u32) -> Option<LotKey> {
        self.seed_lots.get(dense as usize).copied()
    }

    /// Lots the cloud received at the start.
    pub fn lot_count(&self) -> u32 {
        u32::try_from(self.seed_lots.len()).unwrap_or(u32::MAX)
    }

    /// Lots per SKU.
    pub fn lots_per_sku(&self) -> u32 {
        self.lots_per_sku
    }

    /// The terminals.
    pub fn terminals(&self) -> &[Terminal] {
        &self.terminals
    }

    /// The cloud's peer for this pharmacy.
    pub fn root(&self) -> &Peer {
        &self.root
    }

    /// Whether the store can reach the cloud at `at_ms`.
    pub fn is_online(&self, at_ms: u64) -> bool {
        !self.plan.is_offline(at_ms)
    }

    /// Applies `op` on terminal `t` at simulated `at_ms`; the committed lines go into the
    /// oracle ledger. A reconciliation item (an offline controlled dispense) rides on the
    /// commit as its queued PMP report; a claim queued for later, as its claim.
    pub fn commit(&mut self, t: u16, at_ms: u64, op: Op) -> Result<Commit, CommitError> {
        let terminal = self
            .terminals
            .get_mut(usize::from(t))
            .ok_or(CommitError::NoTerminal(t))?;
        let skew = self.skew.get(usize::from(t)).copied().unwrap_or_default();
        let commit = terminal
            .end
            .apply((START_MS + at_ms).saturating_add_signed(skew), op)?;
        add_lines(&mut self.ledger, &commit);
        let state = terminal.end.replica().state();
        if commit
            .txn
            .lines
            .iter()
            .any(|l| state.lot(&l.lot).is_some_and(|info| info.controlled))
        {
            self.controlled_committed += 1;
        }
        let seq = self.committed.entry(commit.txn.id.replica).or_default();
        *seq = (*seq).max(commit.txn.id.seq);
        if commit.pmp_report.is_some() {
            self.reconciliation_due.insert(commit.txn.reference.clone());
        }
        if commit.claim.is_some() {
            self.claims_queued += 1;
        }
        Ok(commit)
    }

    /// Transactions this store's terminals committed, over every incarnation.
    pub fn committed_count(&self) -> u64 {
        self.committed.values().sum()
    }

    /// Units on hand of dense lot `dense` on terminal `t`, as it observes them.
    pub fn on_hand(&self, t: u16, dense: u32) -> i64 {
        match (self.terminals.get(usize::from(t)), self.lot_key(dense)) {
            (Some(term), Some(key)) => term.replica().state().value(&key),
            _ => 0,
        }
    }
}

/// Adds a commit's lines to the ledger.
fn add_lines(ledger: &mut BTreeMap<LotKey, i64>, commit: &Commit) {
    for line in &commit.txn.lines {
        *ledger.entry(line.lot).or_default() += line.delta;
    }
}
