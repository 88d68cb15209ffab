//! The run's configuration and its command-line flags.
//!
//! The default is the design's §9 workload (the load-test table: 1,000 pharmacies × 5
//! terminals × 100 transactions per terminal per day, the day compressed into one hour,
//! 3× rush-hour peak), compressed 100× further: the hour in 36 s of wall time.

use std::fmt;
use std::path::PathBuf;

use pharm_sync::store::Synchronous;

use crate::faults::Faults;

/// The simulated length of the test: the design's one hour, which holds a whole day's
/// transactions (§9), in milliseconds.
pub const SIMULATED_MS: u64 = 3_600_000;

/// One run of the load test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Pharmacies.
    pub pharmacies: u32,
    /// Terminals per pharmacy (each one in-memory replica).
    pub terminals: u16,
    /// Transactions per terminal per day.
    pub txns: u32,
    /// How many times faster than the design's hour the schedule is played (wall time).
    pub compression: u32,
    /// Seed of the workload: decisions, counts and the final state depend on it alone.
    pub seed: u64,
    /// SKUs per pharmacy.
    pub skus: u32,
    /// Lots per SKU.
    pub lots: u32,
    /// Units each lot is received with before the day starts.
    pub seed_units: u64,
    /// Driver threads (pharmacies are split among them; 0 = one per core).
    pub workers: usize,
    /// Percent of pharmacies that lose the cloud for a window of the day.
    pub offline_share: u32,
    /// Percent of pharmacies where one terminal crashes and is restored from a backup.
    pub crash_share: u32,
    /// Simulated seconds (of the design's hour) between a store's sync rounds.
    pub sync_every_s: u32,
    /// Per mille of sync rounds in which the store leader drops off the store's network.
    pub leader_loss_per_mille: u32,
    /// Pharmacies (the first ones: `0..durable`) whose terminals are durable SQLite
    /// terminal stores instead of in-memory replicas, when [`Config::durable_dir`] is set.
    pub durable: u32,
    /// The directory of the durable terminals' database files (set by the binary: a fresh
    /// temporary directory, or `--durable-dir`). `None`: every terminal is in memory.
    pub durable_dir: Option<PathBuf>,
    /// How hard the durable terminals flush their commits (`FULL` by default; the
    /// simulator, which kills processes and never the machine, uses `OFF` with its storage
    /// faults).
    pub durable_flush: Synchronous,
    /// Deliberate defects (test-only): the run must then fail naming an invariant.
    pub breaks: Breaks,
    /// Faults injected into the networks and the shard stores (none by default; the
    /// simulator draws them per seed).
    pub faults: Faults,
    /// Each store keeps a trace of its last events (the simulator's).
    pub trace: bool,
    /// A real FDA `products.txt` for the substitution lookups (default: the synthetic
    /// full-size file).
    pub orange_book: Option<PathBuf>,
    /// Where the shard stores live.
    pub backend: Backend,
    /// Physical PostgreSQL clusters the 16 logical shards spread over (`--postgres`).
    pub physical: u32,
    /// Where the JSON report and the latency plot are written.
    pub out_dir: PathBuf,
    /// No progress bar.
    pub quiet: bool,
    /// Stress mode: raise the compression factor until the run breaks.
    pub stress: bool,
    /// How the cloud tier's cache starts (pharm-cache).
    pub cache: CacheStart,
}

/// Whether the run has the cloud tier's cache, and how it starts the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheStart {
    /// Warmed by the design's plan for every pharmacy before the day (the design's
    /// lesson: warm the drug catalog at deployment). The default: the design's cloud tier
    /// has its cache.
    #[default]
    Warm,
    /// Empty.
    Cold,
    /// No cloud cache (to compare against).
    Off,
}

/// Where the cloud's shard stores keep their transactions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backend {
    /// In-process tables (the embedded default).
    #[default]
    Memory,
    /// PostgreSQL through pharm-shard's adapter: throwaway local clusters (with a streaming
    /// replica each) when `urls` is empty, else one primary URL per physical shard.
    Postgres {
        /// Primary connection strings.
        urls: Vec<String>,
    },
}

/// Deliberate defects, for showing that the invariant checks catch them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Breaks {
    /// A shard store acknowledges one uploaded transaction without storing it.
    pub drop_upload: bool,
    /// A crashed terminal is restored under its old incarnation instead of a new one.
    pub reuse_incarnation: bool,
    /// A shard store's write that failed on the primary is acknowledged without being
    /// written again on the promoted replica (with the faults' `shard_failure`).
    pub ack_before_store: bool,
    /// After a failover whose promoted replica lacks acknowledged batches (the faults'
    /// `lag_spike`), the writer does not write its unconfirmed tail again.
    pub no_tail_rewrite: bool,
    /// Every peer takes messages without checking their hop tag (needs the feature
    /// `test-breaks`).
    pub skip_mac: bool,
    /// Every terminal grants votes without the term and one-vote-per-term checks (needs the
    /// feature `test-breaks`).
    pub no_term_check: bool,
    /// The cloud tier's cache is not told of stock moves (no "on transaction"
    /// invalidation): stock reads go stale.
    pub no_cache_invalidation: bool,
}

impl Breaks {
    /// The defects' names, as `--break` takes them.
    pub const NAMES: [&str; 7] = [
        "drop-upload",
        "reuse-incarnation",
        "ack-before-store",
        "no-tail-rewrite",
        "skip-mac",
        "no-term-check",
        "no-cache-invalidation",
    ];

    /// Switches on the defect `name`; false for an unknown name.
    pub fn switch_on(&mut self, name: &str) -> bool {
        match name {
            "drop-upload" => self.drop_upload = true,
            "reuse-incarnation" => self.reuse_incarnation = true,
            "ack-before-store" => self.ack_before_store = true,
            "no-tail-rewrite" => self.no_tail_rewrite = true,
            "skip-mac" => self.skip_mac = true,
            "no-term-check" => self.no_term_check = true,
            "no-cache-invalidation" => self.no_cache_invalidation = true,
            _ => return false,
        }
        true
    }

    /// Whether any defect is switched on.
    pub fn any(&self) -> bool {
        self.drop_upload
            || self.reuse_incarnation
            || self.ack_before_store
            || self.no_tail_rewrite
            || self.skip_mac
            || self.no_term_check
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            pharmacies: 1_000,
            terminals: 5,
            txns: 100,
            compression: 100,
            seed: 0x5EED_0000_0009,
            skus: 120,
            lots: 3,
            seed_units: 1_000,
            workers: 0,
            offline_share: 10,
            crash_share: 2,
            sync_every_s: 60,
            leader_loss_per_mille: 20,
            durable: 1,
            durable_dir: None,
            durable_flush: Synchronous::Full,
            breaks: Breaks::default(),
            faults: Faults::default(),
            trace: false,
            orange_book: None,
            backend: Backend::Memory,
            physical: 2,
            out_dir: PathBuf::from("target/loadtest"),
            cache: CacheStart::Warm,
            quiet: false,
            stress: false,
        }
    }
}

/// A flag that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `--help` was asked for: print [`USAGE`] and stop.
    Help,
    /// A flag this binary does not know.
    UnknownFlag(String),
    /// A flag without its value.
    MissingValue(String),
    /// A value that is not a number in range.
    BadValue {
        /// The flag.
        flag: String,
        /// What was given.
        value: String,
    },
    /// Values that cannot run together (zero pharmacies, fewer SKUs than products).
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Help => f.write_str("help requested"),
            ConfigError::UnknownFlag(flag) => write!(f, "unknown flag {flag}"),
            ConfigError::MissingValue(flag) => write!(f, "{flag} needs a value"),
            ConfigError::BadValue { flag, value } => {
                write!(f, "{flag}: {value:?} is not a valid number")
            }
            ConfigError::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The flags, as `--help` prints them.
pub const USAGE: &str = "\
pharm-loadtest: the design's load test (§9) through pharm-core and pharm-sync

Flags (defaults: the design's workload compressed 100x, the hour in 36 s):
  --pharmacies N    pharmacies (1000)
  --terminals N     terminals per pharmacy (5)
  --txns N          transactions per terminal per day (100)
  --compression N   speed-up over the design's hour (100)
  --duration-s N    wall-clock length of the run; overrides --compression
  --seed N          workload seed
  --skus N          SKUs per pharmacy (120; at least the 12 products of the mix)
  --lots N          lots per SKU (3)
  --seed-units N    units each lot starts with (1000)
  --workers N       driver threads (0 = one per core)
  --offline-share P percent of pharmacies that lose the cloud for a window (10)
  --crash-share P   percent of pharmacies where a terminal crashes and is restored (2)
  --sync-every-s N  simulated seconds between a store's sync rounds (60)
  --leader-loss N   per mille of rounds in which the store leader drops off the LAN (20)
  --orange-book F   a real FDA products.txt for the substitution lookups (default: the
                    synthetic full-size file)
  --postgres        shard stores on PostgreSQL (throwaway local clusters unless --pg-url)
  --pg-url URL      a primary per physical shard (repeat the flag)
  --physical N      physical clusters for --postgres (2)
  --out DIR         where report.json and latency.svg go (target/loadtest)
  --quiet           no progress bar
  --stress          raise the compression factor until p99 > 2 s or errors > 0.1 %
  --durable N       pharmacies whose terminals are durable SQLite stores (1; 0 = none)
  --durable-dir DIR keep their database files in DIR (default: a temporary directory,
                    removed at the end)
  --cache MODE      the cloud tier's cache (pharm-cache): warm (warmed before the day), cold,
                    off (warm)
  --break NAME      test only: drop-upload, reuse-incarnation, ack-before-store, no-tail-rewrite,
                    no-cache-invalidation (skip-mac, no-term-check with the feature test-breaks); the run must fail";

impl Config {
    /// Reads flags (without the program name) over the defaults.
    pub fn from_args<I>(args: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = String>,
    {
        let mut c = Config::default();
        let mut duration_s: Option<u64> = None;
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--help" | "-h" => return Err(ConfigError::Help),
                "--postgres" => {
                    if c.backend == Backend::Memory {
                        c.backend = Backend::Postgres { urls: Vec::new() };
                    }
                    continue;
                }
                "--quiet" => {
                    c.quiet = true;
                    continue;
                }
                "--stress" => {
                    c.stress = true;
                    continue;
                }
                _ => {}
            }
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (flag.clone(), None),
            };
            let value = match inline.or_else(|| args.next()) {
                Some(v) => v,
                None => return Err(ConfigError::MissingValue(name)),
            };
            match name.as_str() {
                "--pharmacies" => c.pharmacies = number(&name, &value)?,
                "--terminals" => c.terminals = number(&name, &value)?,
                "--txns" => c.txns = number(&name, &value)?,
                "--compression" => c.compression = number(&name, &value)?,
                "--duration-s" => duration_s = Some(number(&name, &value)?),
                "--seed" => c.seed = number(&name, &value)?,
                "--skus" => c.skus = number(&name, &value)?,
                "--lots" => c.lots = number(&name, &value)?,
                "--seed-units" => c.seed_units = number(&name, &value)?,
                "--workers" => c.workers = number(&name, &value)?,
                "--offline-share" => c.offline_share = number(&name, &value)?,
                "--crash-share" => c.crash_share = number(&name, &value)?,
                "--sync-every-s" => c.sync_every_s = number(&name, &value)?,
                "--leader-loss" => c.leader_loss_per_mille = number(&name, &value)?,
                "--orange-book" => c.orange_book = Some(PathBuf::from(value)),
                "--out" => c.out_dir = PathBuf::from(value),
                "--physical" => c.physical = number(&name, &value)?,
                "--pg-url" => match &mut c.backend {
                    Backend::Postgres { urls } => urls.push(value),
                    Backend::Memory => c.backend = Backend::Postgres { urls: vec![value] },
                },
                "--durable" => c.durable = number(&name, &value)?,
                "--cache" => {
                    c.cache = match value.as_str() {
                        "warm" => CacheStart::Warm,
                        "cold" => CacheStart::Cold,
                        "off" => CacheStart::Off,
                        _ => {
                            return Err(ConfigError::Invalid(format!(
                                "--cache {value}: one of warm, cold, off"
                            )));
                        }
                    }
                }
                "--durable-dir" => c.durable_dir = Some(PathBuf::from(value)),
                "--break" => {
                    if !c.breaks.switch_on(&value) {
                        return Err(ConfigError::Invalid(format!(
                            "--break {value}: one of {}",
                            Breaks::NAMES.join(", ")
                        )));
                    }
                }
                _ => return Err(ConfigError::UnknownFlag(name)),
            }
        }
        if let Backend::Postgres { urls } = &c.backend
            && !urls.is_empty()
        {
            c.physical = u32::try_from(urls.len()).unwrap_or(u32::MAX);
        }
        if let Some(s) = duration_s {
            c.compression = compression_for(s)?;
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks that the values can run together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let min_skus = crate::products::PRODUCTS;
        if self.pharmacies == 0 || self.terminals == 0 {
            return Err(ConfigError::Invalid(
                "--pharmacies and --terminals must be at least 1".into(),
            ));
        }
        if self.compression == 0 {
            return Err(ConfigError::Invalid(
                "--compression must be at least 1".into(),
            ));
        }
        if (self.skus as usize) < min_skus || self.lots == 0 {
            return Err(ConfigError::Invalid(format!(
                "--skus must be at least {min_skus} and --lots at least 1"
            )));
        }
        if self.offline_share > 100 || self.crash_share > 100 || self.leader_loss_per_mille > 1000 {
            return Err(ConfigError::Invalid(
                "--offline-share and --crash-share are percentages, --leader-loss per mille".into(),
            ));
        }
        if self.physical == 0 || self.physical > 16 {
            return Err(ConfigError::Invalid(
                "--physical must be between 1 and 16 (the logical shards)".into(),
            ));
        }
        if self.sync_every_s == 0 || u64::from(self.sync_every_s) * 1_000 >= SIMULATED_MS {
            return Err(ConfigError::Invalid(
                "--sync-every-s must be between 1 and 3599".into(),
            ));
        }
        Ok(())
    }

    /// Whether pharmacy `p`'s terminals are durable SQLite terminal stores.
    pub fn is_durable(&self, p: u32) -> bool {
        self.durable_dir.is_some() && p < self.durable
    }

    /// Whether pharmacy `p` is played by the durable driver thread: its terminals are
    /// durable, or those of its transfer partner (`p ^ 1`, played by the same thread).
    pub fn on_durable_driver(&self, p: u32) -> bool {
        self.is_durable(p) || self.is_durable(p ^ 1)
    }

    /// The database file of terminal `actor` of pharmacy `p`, when it is durable.
    pub fn durable_file(&self, p: u32, actor: u16) -> Option<PathBuf> {
        let dir = self.durable_dir.as_ref().filter(|_| self.is_durable(p))?;
        Some(dir.join(format!("p{p}-t{actor}.sqlite")))
    }

    /// Simulated milliseconds between a store's sync rounds.
    pub fn sync_every_ms(&self) -> u64 {
        u64::from(self.sync_every_s) * 1_000
    }

    /// Sync rounds of a store in the day (the final sync comes after them).
    pub fn rounds(&self) -> u64 {
        SIMULATED_MS / self.sync_every_ms().max(1)
    }

    /// Transactions in the whole run.
    pub fn total_txns(&self) -> u64 {
        u64::from(self.pharmacies) * u64::from(self.terminals) * u64::from(self.txns)
    }

    /// Wall-clock length of the run, in milliseconds.
    pub fn wall_ms(&self) -> u64 {
        SIMULATED_MS / u64::from(self.compression.max(1))
    }

    /// Driver threads to use (`workers`, or one per core when 0; never more than the
    /// pharmacies).
    pub fn worker_count(&self) -> usize {
        let n = if self.workers == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            self.workers
        };
        n.clamp(1, self.pharmacies.max(1) as usize)
    }
}

/// The compression factor that plays the design's hour in `seconds` of wall time.
fn compression_for(seconds: u64) -> Result<u32, ConfigError> {
    let bad = || ConfigError::Invalid(format!("--duration-s {seconds}: between 1 and 3600"));
    if seconds == 0 || seconds * 1_000 > SIMULATED_MS {
        return Err(bad());
    }
    u32::try_from(SIMULATED_MS / (seconds * 1_000)).map_err(|_| bad())
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, ConfigError> {
    value
        .replace('_', "")
        .parse()
        .map_err(|_| ConfigError::BadValue {
            flag: flag.into(),
            value: value.into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn defaults_are_the_design_workload_compressed_100x() {
        let c = Config::from_args(Vec::new());
        assert_eq!(c, Ok(Config::default()));
        let c = Config::default();
        assert_eq!(c.total_txns(), 500_000);
        assert_eq!(c.wall_ms(), 36_000);
    }

    #[test]
    fn flags_and_duration_override() {
        let c = Config::from_args(args(
            "--pharmacies 3 --terminals=2 --duration-s 360 --seed 7",
        ));
        let c = c.map(|c| (c.pharmacies, c.terminals, c.compression, c.seed));
        assert_eq!(c, Ok((3, 2, 10, 7)));
        assert!(matches!(
            Config::from_args(args("--txns x")),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(matches!(
            Config::from_args(args("--skus 3")),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_args(args("--nope 1")),
            Err(ConfigError::UnknownFlag(_))
        ));
        assert!(matches!(
            Config::from_args(args("--seed")),
            Err(ConfigError::MissingValue(_))
        ));
    }
}
