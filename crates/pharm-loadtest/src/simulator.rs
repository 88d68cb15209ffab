//! The deterministic fault-injection simulator: many small worlds, one per seed, each with
//! its own topology and its own fault knobs, played single-threaded in simulated time
//! through the load test's world (terminals with their elected store leader, the cloud's
//! roots routed to sharded stores, the PMP and payer behind their breakers), then checked
//! against every invariant.
//!
//! A seed fixes everything: the topology, the workload, which faults hit which messages,
//! and so the result. [`run_seed`] plays one; [`SeedRun::report`] names its violations and
//! prints the trace of each store that broke one (its last events: rounds, leaders,
//! faults, refusals, crashes).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use pharm_sync::store::Synchronous;

use crate::config::{Breaks, Config};
use crate::faults::{FaultCounts, Faults};
use crate::rng::XorShift64;
use crate::sim::{Shard, World, state_digest};
use crate::store::Violation;
use crate::subst_desk::SubstDesk;
use crate::workload::{events, stream_seed};

/// What a simulator run may vary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Highest value drawn per fault knob.
    pub max: Faults,
    /// Deliberate defects (each makes some invariant fail).
    pub breaks: Breaks,
    /// Where seeds with a durable pharmacy keep their files: a directory per seed under it,
    /// removed after the seed unless it failed. `None`: every terminal is in memory.
    pub scratch: Option<PathBuf>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            max: Faults::all(100),
            breaks: Breaks::default(),
            scratch: None,
        }
    }
}

/// How the simulator's durable terminals flush: never, with the storage faults (it kills
/// processes, never the machine, and a killed process loses no acknowledged commit).
#[cfg(feature = "store-faults")]
fn flush() -> Synchronous {
    Synchronous::Off
}

/// Without the storage faults no seed is durable; `NORMAL` would do for a process crash.
#[cfg(not(feature = "store-faults"))]
fn flush() -> Synchronous {
    Synchronous::Normal
}

/// One seed in four has one durable pharmacy (pharmacy 0: its terminals are SQLite
/// terminal stores) when `options` has a scratch directory and the build has the storage
/// faults (feature `store-faults`); drawn from a stream of its own, so the rest of the
/// world is the same either way.
fn durable_dir(seed: u64, options: &SimOptions) -> Option<PathBuf> {
    let scratch = options.scratch.as_ref()?;
    let mut rng = XorShift64::new(stream_seed(seed, &[0xD0AB]));
    (cfg!(feature = "store-faults") && rng.chance(25)).then(|| scratch.join(format!("seed-{seed}")))
}

/// The world of seed `seed`: 2–4 pharmacies of 2–5 terminals, 20–60 transactions per
/// terminal, sync every 1–5 minutes, up to half the pharmacies offline for a window or
/// with a crash, up to 20 % of the rounds losing their leader, and drawn fault knobs; one
/// seed in four with one durable pharmacy (see [`SimOptions::scratch`]).
pub fn config_for(seed: u64, options: &SimOptions) -> Config {
    let mut rng = XorShift64::new(stream_seed(seed, &[0x51A1]));
    let durable_dir = durable_dir(seed, options);
    Config {
        pharmacies: rng.range(2, 4),
        terminals: u16::try_from(rng.range(2, 5)).unwrap_or(2),
        txns: rng.range(20, 60),
        seed,
        skus: 12,
        lots: rng.range(1, 3),
        seed_units: u64::from(rng.range(50, 400)),
        workers: 1,
        offline_share: rng.range(0, 50),
        crash_share: rng.range(0, 50),
        sync_every_s: rng.range(60, 300),
        leader_loss_per_mille: rng.range(0, 200),
        durable: u32::from(durable_dir.is_some()),
        durable_dir,
        durable_flush: flush(),
        breaks: options.breaks,
        faults: Faults::drawn(&mut rng, &options.max),
        trace: true,
        quiet: true,
        ..Config::default()
    }
}

/// One seed's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// Its world.
    pub config: Config,
    /// The faults injected.
    pub faults: FaultCounts,
    /// What the checks found.
    pub violations: Vec<Violation>,
    /// Digest of the final state.
    pub digest: String,
    /// Transactions the terminals committed.
    pub committed: u64,
    /// The traces of the stores that broke an invariant (all stores when the violation is
    /// not a store's).
    pub traces: Vec<(u32, Vec<String>)>,
}

impl SeedRun {
    /// A readable account: the seed, its world, its violations, and the traces.
    pub fn report(&self) -> String {
        let c = &self.config;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "seed {}: {} pharmacies x {} terminals x {} txns, sync every {} s, offline {} %, crash {} %, leader loss {} per mille, durable {}",
            self.seed,
            c.pharmacies,
            c.terminals,
            c.txns,
            c.sync_every_s,
            c.offline_share,
            c.crash_share,
            c.leader_loss_per_mille,
            c.durable
        );
        let _ = writeln!(out, "  faults: {:?}", c.faults);
        for v in &self.violations {
            let _ = writeln!(out, "  VIOLATED {v}");
        }
        for (p, events) in &self.traces {
            let _ = writeln!(
                out,
                "  trace of pharmacy {p} (last {} events):",
                events.len()
            );
            for e in events {
                let _ = writeln!(out, "    {e}");
            }
        }
        let _ = writeln!(out, "  reproduce: scripts/sim --seed {}", self.seed);
        out
    }
}

/// Plays seed `seed` on a fresh world around `desk`. A durable seed's directory is made
/// fresh and removed afterwards, unless the seed failed.
pub fn run_seed(seed: u64, options: &SimOptions, desk: &Arc<SubstDesk>) -> Result<SeedRun, String> {
    let config = config_for(seed, options);
    if let Some(dir) = &config.durable_dir {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let run = play(config, desk)?;
    if let Some(dir) = run
        .config
        .durable_dir
        .as_ref()
        .filter(|_| run.violations.is_empty())
    {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(run)
}

/// Plays the world of `config` around `desk`.
fn play(config: Config, desk: &Arc<SubstDesk>) -> Result<SeedRun, String> {
    let seed = config.seed;
    let world = World::embedded(Arc::clone(desk))?;
    let mut shard = Shard::new(&config, &world, 0..config.pharmacies).map_err(|e| e.to_string())?;
    for event in events(&config, 0..config.pharmacies) {
        let lookup = shard.substitution(&event);
        shard.play(&event, lookup.as_ref());
    }
    shard.finish();
    let violations = shard.check();
    let broke = |p: u32| {
        let tag = format!("pharmacy {p}");
        violations.iter().any(|v| {
            v.detail.starts_with(&format!("{tag}:")) || v.detail.starts_with(&format!("{tag} "))
        })
    };
    let any_store = shard.ids().any(broke);
    let traces = if violations.is_empty() {
        Vec::new()
    } else {
        shard
            .stores()
            .filter(|s| !any_store || broke(s.index))
            .map(|s| (s.index, s.trace.events().map(str::to_owned).collect()))
            .collect()
    };
    Ok(SeedRun {
        seed,
        faults: shard.fault_counts(),
        digest: state_digest(shard.stores()),
        committed: shard.stores().map(|s| s.committed_count()).sum(),
        violations,
        traces,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_fixes_its_world() {
        let o = SimOptions::default();
        assert_eq!(config_for(5, &o), config_for(5, &o));
        let worlds: Vec<Config> = (0..32).map(|s| config_for(s, &o)).collect();
        assert!(worlds.iter().any(|c| c.pharmacies != worlds[0].pharmacies));
        assert!(worlds.iter().all(|c| (2..=4).contains(&c.pharmacies)));
        assert!(worlds.iter().all(|c| c.faults.loss <= 100));
    }
}
