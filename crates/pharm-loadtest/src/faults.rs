//! Fault injection on the simulated networks: one probability knob per kind of fault, and
//! what was injected.
//!
//! Every sync message between two terminals of a store or between a store leader and the
//! cloud's root passes through the faults as its bytes (pharm-sync's codec): lost,
//! duplicated, reordered, truncated, bit-flipped, replayed from an earlier session, or
//! joined by a message of another pharmacy (a cross-tenant forgery). Election messages can
//! be lost, duplicated and reordered. Partitions cut pairs of terminals (and a store from
//! the cloud) for a sync round; each terminal's clock is skewed by up to `skew_ms`; a shard
//! store's primary fails a write now and then and the write goes to the promoted replica,
//! which may lag behind the acknowledged batches (a lag spike). A store's PMP and payer
//! may have outage windows and slow calls.
//! The load test runs without faults by default; the deterministic simulator
//! (`pharm-sim`) draws the knobs per seed.

use crate::rng::XorShift64;

/// Probabilities, per mille (of messages, of pairs per round, of shard writes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// A message is lost.
    pub loss: u32,
    /// A message is delivered twice.
    pub duplicate: u32,
    /// A batch of messages is delivered in another order.
    pub reorder: u32,
    /// A message's bytes are cut short.
    pub truncate: u32,
    /// One bit of a message is flipped.
    pub corrupt: u32,
    /// An earlier message of the same store is delivered again (a replay).
    pub replay: u32,
    /// A message of another pharmacy is delivered (a cross-tenant forgery).
    pub foreign: u32,
    /// Two terminals (or a store and the cloud) cannot reach each other for a round.
    pub partition: u32,
    /// A shard store's primary fails a write (the write fails over to its replica).
    pub shard_failure: u32,
    /// Largest clock skew of a terminal, in ms (either way).
    pub skew_ms: u32,
    /// At a shard failover, the promoted replica lacks the last batches the old primary
    /// acknowledged (an asynchronous replica's lag spike), per mille of failovers.
    pub lag_spike: u32,
    /// A store's PMP or payer has outage windows that day (up to the whole day), per mille
    /// of stores and partners.
    pub partner_outage: u32,
    /// Calls to the PMP and payer that are slow (their latency multiplied), per mille.
    pub slow_calls: u32,
    /// A durable terminal's write transaction (a commit or a sync message) is killed at a
    /// crash point before its `COMMIT`; the terminal reopens its file.
    pub store_crash: u32,
    /// Per sync round, a durable terminal's files are copied aside, to be put back later
    /// (a disk that lost its last writes).
    pub rollback: u32,
}

impl Faults {
    /// Whether any fault is switched on.
    pub fn any(&self) -> bool {
        *self != Faults::default()
    }

    /// Every message, shard and partner knob at `per_mille`, skew at five minutes, lag
    /// spikes (which come only with a failover) at five times `per_mille`.
    pub fn all(per_mille: u32) -> Faults {
        Faults {
            loss: per_mille,
            duplicate: per_mille,
            reorder: per_mille,
            truncate: per_mille,
            corrupt: per_mille,
            replay: per_mille,
            foreign: per_mille,
            partition: per_mille,
            shard_failure: per_mille,
            skew_ms: 300_000,
            lag_spike: per_mille.saturating_mul(5).min(1_000),
            partner_outage: per_mille,
            slow_calls: per_mille,
            store_crash: per_mille,
            rollback: per_mille,
        }
    }

    /// Only the knobs of `spec` (`name[=value],...`, names as [`Faults::NAMES`] lists
    /// them; a knob without a value gets 100 per mille), the others off. `skew-ms=0` alone
    /// is a world without clock skew and without network faults.
    pub fn only(spec: &str) -> Result<Faults, String> {
        let mut faults = Faults::default();
        for part in spec.split(',').filter(|p| !p.is_empty()) {
            let (name, v) = part.split_once('=').unwrap_or((part, "100"));
            let value = v
                .parse::<u32>()
                .map_err(|e| format!("fault knob {name}={v}: {e}"))?;
            if !faults.set(name, value) {
                return Err(format!(
                    "fault knob {name}: one of {}",
                    Faults::NAMES.join(", ")
                ));
            }
        }
        Ok(faults)
    }

    /// Sets the knob `name` (as [`Faults::NAMES`] lists them) to `value`; false for an
    /// unknown name.
    pub fn set(&mut self, name: &str, value: u32) -> bool {
        let knob = match name {
            "loss" => &mut self.loss,
            "duplicate" => &mut self.duplicate,
            "reorder" => &mut self.reorder,
            "truncate" => &mut self.truncate,
            "corrupt" => &mut self.corrupt,
            "replay" => &mut self.replay,
            "foreign" => &mut self.foreign,
            "partition" => &mut self.partition,
            "shard-failure" => &mut self.shard_failure,
            "skew-ms" => &mut self.skew_ms,
            "lag-spike" => &mut self.lag_spike,
            "partner-outage" => &mut self.partner_outage,
            "slow-calls" => &mut self.slow_calls,
            "store-crash" => &mut self.store_crash,
            "rollback" => &mut self.rollback,
            _ => return false,
        };
        *knob = value;
        true
    }

    /// The knobs' names, as [`Faults::set`] takes them.
    pub const NAMES: [&str; 15] = [
        "loss",
        "duplicate",
        "reorder",
        "truncate",
        "corrupt",
        "replay",
        "foreign",
        "partition",
        "shard-failure",
        "skew-ms",
        "lag-spike",
        "partner-outage",
        "slow-calls",
        "store-crash",
        "rollback",
    ];

    /// Knobs drawn for one simulator seed, each below its value in `max`: each knob is on
    /// in about half the seeds.
    pub fn drawn(rng: &mut XorShift64, max: &Faults) -> Faults {
        let knob = |rng: &mut XorShift64, max: u32| {
            if max > 0 && rng.chance(50) {
                rng.range(1, max)
            } else {
                0
            }
        };
        Faults {
            loss: knob(rng, max.loss),
            duplicate: knob(rng, max.duplicate),
            reorder: knob(rng, max.reorder),
            truncate: knob(rng, max.truncate),
            corrupt: knob(rng, max.corrupt),
            replay: knob(rng, max.replay),
            foreign: knob(rng, max.foreign),
            partition: knob(rng, max.partition),
            shard_failure: knob(rng, max.shard_failure),
            skew_ms: knob(rng, max.skew_ms),
            lag_spike: knob(rng, max.lag_spike),
            partner_outage: knob(rng, max.partner_outage),
            slow_calls: knob(rng, max.slow_calls),
            store_crash: knob(rng, max.store_crash),
            rollback: knob(rng, max.rollback),
        }
    }
}

/// The kinds of fault, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// A lost message.
    Loss,
    /// A duplicated message.
    Duplicate,
    /// A reordered batch.
    Reorder,
    /// A truncated message.
    Truncate,
    /// A bit-flipped message.
    Corrupt,
    /// A replayed message.
    Replay,
    /// A message of another pharmacy.
    Foreign,
    /// A partitioned pair for a round.
    Partition,
    /// A failed shard-store write, failed over.
    ShardFailure,
    /// A terminal crash, restored from an old backup.
    Crash,
    /// A store leader dropped off its network.
    LeaderLoss,
    /// A store offline for a window.
    Offline,
    /// A shard failover whose promoted replica lacked acknowledged batches.
    LagSpike,
    /// A PMP or payer outage window.
    PartnerOutage,
    /// A slow PMP or payer call.
    SlowCall,
    /// A durable terminal killed inside a write transaction, its file reopened.
    StoreCrash,
    /// A durable terminal's files rolled back, refused on reopening, restored from a backup.
    Rollback,
}

impl FaultKind {
    /// Every kind, in report order.
    pub const ALL: [FaultKind; 17] = [
        FaultKind::Loss,
        FaultKind::Duplicate,
        FaultKind::Reorder,
        FaultKind::Truncate,
        FaultKind::Corrupt,
        FaultKind::Replay,
        FaultKind::Foreign,
        FaultKind::Partition,
        FaultKind::ShardFailure,
        FaultKind::Crash,
        FaultKind::LeaderLoss,
        FaultKind::Offline,
        FaultKind::LagSpike,
        FaultKind::PartnerOutage,
        FaultKind::SlowCall,
        FaultKind::StoreCrash,
        FaultKind::Rollback,
    ];

    /// The kind's name in reports and traces.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Loss => "loss",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Reorder => "reorder",
            FaultKind::Truncate => "truncate",
            FaultKind::Corrupt => "corrupt",
            FaultKind::Replay => "replay",
            FaultKind::Foreign => "cross-tenant",
            FaultKind::Partition => "partition",
            FaultKind::ShardFailure => "shard failover",
            FaultKind::Crash => "crash+restore",
            FaultKind::LeaderLoss => "leader loss",
            FaultKind::Offline => "offline window",
            FaultKind::LagSpike => "replica lag spike",
            FaultKind::PartnerOutage => "partner outage",
            FaultKind::SlowCall => "slow partner call",
            FaultKind::StoreCrash => "store crash+reopen",
            FaultKind::Rollback => "rolled-back files",
        }
    }

    fn index(self) -> usize {
        FaultKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or_default()
    }
}

/// Faults injected, by kind, and what the receivers did with the damaged messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Injected, by [`FaultKind::ALL`] index.
    pub injected: [u64; FaultKind::ALL.len()],
    /// Damaged messages the codec refused (truncated or bit-flipped bytes).
    pub refused_by_codec: u64,
    /// Messages a peer refused with an error after a fault in the session (the session
    /// ends; the next round syncs again).
    pub refused_by_peer: u64,
}

impl FaultCounts {
    /// Counts one injected fault.
    pub fn add(&mut self, kind: FaultKind) {
        if let Some(n) = self.injected.get_mut(kind.index()) {
            *n += 1;
        }
    }

    /// Injected faults of `kind`.
    pub fn of(&self, kind: FaultKind) -> u64 {
        self.injected.get(kind.index()).copied().unwrap_or_default()
    }

    /// Every injected fault.
    pub fn total(&self) -> u64 {
        self.injected.iter().sum()
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &FaultCounts) {
        for (a, b) in self.injected.iter_mut().zip(other.injected.iter()) {
            *a += b;
        }
        self.refused_by_codec += other.refused_by_codec;
        self.refused_by_peer += other.refused_by_peer;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn drawn_knobs_stay_in_range_and_vary() {
        let mut rng = XorShift64::new(3);
        let all: Vec<Faults> = (0..64)
            .map(|_| Faults::drawn(&mut rng, &Faults::all(50)))
            .collect();
        assert!(all.iter().all(|f| f.loss <= 50 && f.skew_ms <= 300_000));
        assert!(all.iter().any(|f| f.loss > 0) && all.iter().any(|f| f.loss == 0));
        assert!(!Faults::default().any());
        let mut only = Faults::default();
        assert!(only.set("replay", 9) && !only.set("nothing", 1));
        let drawn: Vec<Faults> = (0..64).map(|_| Faults::drawn(&mut rng, &only)).collect();
        assert!(drawn.iter().all(|f| f.loss == 0 && f.replay <= 9));
        assert!(drawn.iter().any(|f| f.replay > 0));
    }

    #[test]
    fn only_names_its_knobs_and_refuses_the_rest() {
        let f = Faults::only("loss,skew-ms=0").unwrap();
        assert_eq!((f.loss, f.duplicate, f.skew_ms), (100, 0, 0));
        assert_eq!(Faults::only("corrupt=7").unwrap().corrupt, 7);
        let storage = Faults::only("store-crash=5,rollback").unwrap();
        assert_eq!(
            (storage.store_crash, storage.rollback, storage.loss),
            (5, 100, 0)
        );
        assert!(Faults::only("lightning").unwrap_err().contains("lightning"));
        assert!(Faults::only("loss=-1").unwrap_err().contains("loss=-1"));
        assert_eq!(Faults::only("").unwrap(), Faults::default());
    }

    #[test]
    fn counts_add_up() {
        let mut a = FaultCounts::default();
        a.add(FaultKind::Replay);
        a.add(FaultKind::Offline);
        let mut b = a.clone();
        b.merge(&a);
        assert_eq!(b.of(FaultKind::Replay), 2);
        assert_eq!(b.of(FaultKind::Offline), 2);
        assert_eq!(b.total(), 4);
    }
}
