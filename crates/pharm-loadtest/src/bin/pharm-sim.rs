//! `pharm-sim`: the deterministic fault-injection simulator (see
//! `pharm_loadtest::simulator`). Runs a range of seeds, or one seed with its trace, or a
//! soak for a wall-clock time; prints the seeds run, the faults injected per kind, the
//! invariants checked and every failing seed with the command that reproduces it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pharm_loadtest::config::Breaks;
use pharm_loadtest::faults::{FaultCounts, FaultKind, Faults};
use pharm_loadtest::simulator::{SeedRun, SimOptions, run_seed};
use pharm_loadtest::store::INVARIANTS;
use pharm_loadtest::subst_desk::SubstDesk;

const HELP: &str = "pharm-sim: deterministic fault-injection simulation of pharm's terminals, store leaders, sharded cloud and partners

usage: pharm-sim [--seeds N] [--first S] [--seed S] [--soak-s T] [--max-fault P] [--scratch DIR] [--break NAME] [--expect INVARIANT]
  --seeds N         seeds to run (default 200), from --first (default 0)
  --seed S          run seed S alone and print its world, result and trace
  --soak-s T        run seeds from --first for T seconds of wall time (reports the count)
  --max-fault P     highest fault probability drawn per knob, per mille (default 100)
  --only K[=V],...  only these fault knobs (loss, duplicate, reorder, truncate, corrupt, replay,
                    foreign, partition, shard-failure, lag-spike, partner-outage, slow-calls,
                    store-crash, rollback: per mille, default 100; skew-ms: ms)
  --scratch DIR     where seeds with a durable pharmacy keep their SQLite files, one directory
                    per seed, removed unless the seed fails (default target/pharm-sim; the
                    storage faults need the feature store-faults, which test-breaks includes)
  --break NAME      test only: a defect (drop-upload, reuse-incarnation, ack-before-store,
                    no-tail-rewrite; skip-mac and no-term-check need the feature test-breaks,
                    which scripts/sim builds)
  --expect NAME     exit 0 only if some seed breaks invariant NAME (shows a defect is caught)";

#[derive(Debug)]
struct Args {
    seeds: u64,
    first: u64,
    one: Option<u64>,
    soak: Option<Duration>,
    options: SimOptions,
    expect: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        seeds: 200,
        first: 0,
        one: None,
        soak: None,
        options: SimOptions {
            scratch: Some(PathBuf::from("target/pharm-sim")),
            ..SimOptions::default()
        },
        expect: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(HELP.into());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let n = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--seeds" => a.seeds = n(&value)?,
            "--first" => a.first = n(&value)?,
            "--seed" => a.one = Some(n(&value)?),
            "--soak-s" => a.soak = Some(Duration::from_secs(n(&value)?)),
            "--max-fault" => {
                let p = u32::try_from(n(&value)?.min(1_000)).unwrap_or(1_000);
                let skew = a.options.max.skew_ms;
                a.options.max = Faults::all(p);
                a.options.max.skew_ms = skew;
            }
            "--only" => a.options.max = Faults::only(&value)?,
            "--scratch" => a.options.scratch = Some(PathBuf::from(value)),
            "--break" => {
                if value == "no-cache-invalidation" {
                    return Err(format!(
                        "--break {value}: the simulator has no cloud cache (pharm-loadtest has)"
                    ));
                }
                if !a.options.breaks.switch_on(&value) {
                    return Err(format!(
                        "--break {value}: one of {}",
                        Breaks::NAMES.join(", ")
                    ));
                }
            }
            "--expect" => {
                if !INVARIANTS.contains(&value.as_str()) {
                    return Err(format!(
                        "--expect {value}: not an invariant ({INVARIANTS:?})"
                    ));
                }
                a.expect = Some(value);
            }
            _ => return Err(format!("unknown flag {flag}\n\n{HELP}")),
        }
    }
    Ok(a)
}

/// What the seeds added up to.
#[derive(Debug, Default)]
struct Tally {
    seeds: u64,
    committed: u64,
    faults: FaultCounts,
    failed: Vec<SeedRun>,
}

impl Tally {
    fn add(&mut self, run: SeedRun) {
        self.seeds += 1;
        self.committed += run.committed;
        self.faults.merge(&run.faults);
        if !run.violations.is_empty() {
            self.failed.push(run);
        }
    }

    fn print(&self, elapsed: Duration) {
        println!(
            "seeds: {} in {:.1} s; {} transactions committed; invariants checked: {} per seed, {} in all",
            self.seeds,
            elapsed.as_secs_f64(),
            self.committed,
            INVARIANTS.len(),
            self.seeds * INVARIANTS.len() as u64
        );
        let per_kind: Vec<String> = FaultKind::ALL
            .iter()
            .map(|k| format!("{} {}", k.name(), self.faults.of(*k)))
            .collect();
        println!(
            "faults injected: {} ({}); damaged messages refused by the codec {}, by a peer {}",
            self.faults.total(),
            per_kind.join(", "),
            self.faults.refused_by_codec,
            self.faults.refused_by_peer
        );
        println!("failing seeds: {}", self.failed.len());
    }
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let desk = match SubstDesk::generated(7) {
        Ok(d) => Arc::new(d),
        Err(e) => {
            eprintln!("pharm-sim: the Orange Book desk: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut seed = args.one.unwrap_or(args.first);
    loop {
        let done = match (args.one, args.soak) {
            (Some(_), _) => tally.seeds == 1,
            (None, Some(limit)) => started.elapsed() >= limit,
            (None, None) => tally.seeds == args.seeds,
        };
        if done {
            break;
        }
        match run_seed(seed, &args.options, &desk) {
            Ok(run) => {
                if args.one.is_some() {
                    print!("{}", run.report());
                    println!("  digest {}", run.digest);
                } else if !run.violations.is_empty() && args.expect.is_none() {
                    print!("{}", run.report());
                }
                tally.add(run);
            }
            Err(e) => {
                eprintln!("pharm-sim: seed {seed}: the world could not be set up: {e}");
                return ExitCode::from(2);
            }
        }
        if args.soak.is_some() && tally.seeds % 1_000 == 0 {
            eprintln!("  {} seeds, {} failing", tally.seeds, tally.failed.len());
        }
        seed = seed.wrapping_add(1);
    }
    tally.print(started.elapsed());
    match &args.expect {
        Some(name) => {
            let caught = tally
                .failed
                .iter()
                .find(|r| r.violations.iter().any(|v| v.invariant == name.as_str()));
            match caught {
                Some(run) => {
                    println!("caught: seed {} breaks \"{name}\"", run.seed);
                    ExitCode::SUCCESS
                }
                None => {
                    println!("NOT caught: no seed broke \"{name}\"");
                    ExitCode::FAILURE
                }
            }
        }
        None if tally.failed.is_empty() => ExitCode::SUCCESS,
        None => ExitCode::FAILURE,
    }
}
