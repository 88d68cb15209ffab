//! `pharm-loadtest`: plays the seeded day open-loop in wall time.
//!
//! Each driver thread owns a share of the pharmacies (pairs stay together) and plays their
//! events (transactions and sync rounds) at their scheduled wall time (simulated time ÷
//! the compression factor). Latency is measured from the scheduled time, not from when the
//! thread got to it, so a thread that falls behind reports its queueing delay (no
//! coordinated omission). The domain runs in simulated time: counts, decisions and the
//! final-state digest depend on the seed alone.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use pharm_loadtest::cloud::table::{MemoryTables, TxnTables};
use pharm_loadtest::config::{Config, ConfigError, USAGE};
use pharm_loadtest::products::Templates;
use pharm_loadtest::report::{Latencies, Outcome, RunReport};
use pharm_loadtest::sim::{Shard, directory, driver, drivers, state_digest};
use pharm_loadtest::workload::{Event, events};

/// Below this wait the driver spins instead of sleeping (sleep overshoots by tens of µs).
const SPIN: Duration = Duration::from_micros(200);

/// What one driver thread hands back.
struct Played {
    shard: Shard,
    latencies: Latencies,
    last_done: Instant,
}

fn main() -> ExitCode {
    let mut config = match Config::from_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(ConfigError::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("pharm-loadtest: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let temporary = match durable_dir(&mut config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("pharm-loadtest: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = run(&config);
    if let Some(dir) = temporary {
        let _ = std::fs::remove_dir_all(dir);
    }
    match outcome {
        Ok(Outcome::Pass) => ExitCode::SUCCESS,
        Ok(Outcome::Fail) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("pharm-loadtest: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Makes the directory of the durable terminals' files: `--durable-dir` (kept), or a fresh
/// one under the system's temporary directory named with the process id, returned to be
/// removed at the end.
fn durable_dir(config: &mut Config) -> Result<Option<PathBuf>, String> {
    if config.durable == 0 {
        return Ok(None);
    }
    let (dir, temporary) = match &config.durable_dir {
        Some(dir) => (dir.clone(), false),
        None => {
            let dir = std::env::temp_dir().join(format!("pharm-loadtest-{}", std::process::id()));
            (dir, true)
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    config.durable_dir = Some(dir.clone());
    Ok(temporary.then_some(dir))
}

/// Runs the test and prints the report.
fn run(config: &Config) -> Result<Outcome, String> {
    let templates = Arc::new(Templates::load()?);
    let workers = config.worker_count();
    let map = directory(1)?;
    let tables: Arc<dyn TxnTables> = Arc::new(MemoryTables::new(map.logical_count()));
    println!(
        "pharm-loadtest: {} pharmacies x {} terminals x {} txns = {} transactions, \
         compression {}x ({:.1} s), seed {}, {} SKUs x {} lots, {workers} threads",
        config.pharmacies,
        config.terminals,
        config.txns,
        config.total_txns(),
        config.compression,
        config.wall_ms() as f64 / 1_000.0,
        config.seed,
        config.skus,
        config.lots,
    );
    if let Some(dir) = config.durable_dir.as_ref().filter(|_| config.durable > 0) {
        println!(
            "durable terminals (SQLite): pharmacies 0..{} in {}, on their own driver thread",
            config.durable.min(config.pharmacies),
            dir.display()
        );
    }
    let setup = Instant::now();
    let threads = drivers(config, workers);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let start_slot = Arc::new(OnceLock::<Instant>::new());
    let handles: Vec<_> = (0..threads)
        .map(|w| {
            let (config, templates) = (config.clone(), Arc::clone(&templates));
            let (barrier, start_slot) = (Arc::clone(&barrier), Arc::clone(&start_slot));
            let (map, tables) = (map.clone(), Arc::clone(&tables));
            thread::spawn(move || -> Result<Played, String> {
                let ids: Vec<u32> = (0..config.pharmacies)
                    .filter(|p| driver(&config, *p, workers) == w)
                    .collect();
                let shard = Shard::new(&config, templates, &map, tables, ids.iter().copied());
                let schedule = events(&config, ids);
                barrier.wait();
                barrier.wait();
                let shard = shard.map_err(|e| e.to_string())?;
                let start = *start_slot.get().ok_or("no start time")?;
                play(&config, shard, &schedule, start)
            })
        })
        .collect();
    barrier.wait();
    println!(
        "setup: {:.2} s (stores seeded, schedule built)",
        setup.elapsed().as_secs_f64()
    );
    // A short lead so every thread is waiting on its first event when the clock starts.
    let _ = start_slot.set(Instant::now() + Duration::from_millis(20));
    let start = *start_slot.get().ok_or("no start time")?;
    barrier.wait();

    let mut latencies = Latencies::new()?;
    let mut last_done = start;
    let mut shards = Vec::with_capacity(workers);
    for h in handles {
        let played = h.join().map_err(|_| "a driver thread panicked")??;
        latencies.merge(&played.latencies)?;
        last_done = last_done.max(played.last_done);
        shards.push(played.shard);
    }
    let elapsed = last_done.duration_since(start);
    let final_sync = Instant::now();
    let shards: Vec<Shard> = thread::scope(|s| {
        let joins: Vec<_> = shards
            .into_iter()
            .map(|mut shard| {
                s.spawn(move || {
                    shard.finish();
                    shard
                })
            })
            .collect();
        joins.into_iter().filter_map(|j| j.join().ok()).collect()
    });
    let final_sync = final_sync.elapsed();
    let mut report = RunReport::new(config, elapsed, final_sync, latencies);
    for s in &shards {
        report.add_shard(s);
    }
    report.digest = state_digest(shards.iter().flat_map(|s| s.stores()));
    print!("{}", report.text());
    Ok(report.outcome())
}

/// Plays `schedule` (sorted) on `shard`, each event at its scheduled wall time.
fn play(
    config: &Config,
    mut shard: Shard,
    schedule: &[Event],
    start: Instant,
) -> Result<Played, String> {
    let mut latencies = Latencies::new()?;
    let mut last_done = start;
    let ns_per_ms = 1_000_000 / u64::from(config.compression.max(1));
    for e in schedule {
        let due = start + Duration::from_nanos(e.at_ms() * ns_per_ms);
        wait_until(due);
        shard.play(e);
        let done = Instant::now();
        let durable = config.on_durable_driver(e.pharmacy());
        latencies.record(e, done.saturating_duration_since(due), durable);
        last_done = done;
    }
    Ok(Played {
        shard,
        latencies,
        last_done,
    })
}

fn wait_until(due: Instant) {
    loop {
        let now = Instant::now();
        if now >= due {
            return;
        }
        let left = due - now;
        if left > SPIN {
            thread::sleep(left - SPIN);
        } else {
            std::hint::spin_loop();
        }
    }
}
