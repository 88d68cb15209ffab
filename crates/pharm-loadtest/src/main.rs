//! `pharm-loadtest`: plays the seeded day open-loop in wall time.
//!
//! Each driver thread owns a share of the pharmacies (pairs stay together) and plays their
//! events (transactions and sync rounds) at their scheduled wall time (simulated time ÷
//! the compression factor). Latency is measured from the scheduled time, not from when the
//! thread got to it, so a thread that falls behind reports its queueing delay (no
//! coordinated omission). The domain runs in simulated time: counts, decisions and the
//! final-state digest depend on the seed alone.

mod backend;
mod stress;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use pharm_loadtest::cloud::cache::CloudCache;
use pharm_loadtest::config::{CacheStart, Config, ConfigError, USAGE};
use pharm_loadtest::plot::{LatencyPlot, write_svg};
use pharm_loadtest::progress::Progress;
use pharm_loadtest::report::{Latencies, Outcome, RunReport};
use pharm_loadtest::sim::{Shard, World, driver, drivers, state_digest};
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
    let result = backend::world(&config).and_then(|(world, note)| {
        println!("{note}");
        if config.stress {
            stress::run(&config, &world)
        } else {
            run(&config, &world, true).map(|r| r.outcome())
        }
    });
    if let Some(dir) = temporary {
        let _ = std::fs::remove_dir_all(dir);
    }
    match result {
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

/// Runs the test once; with `write`, prints the report and writes `report.json` and
/// `latency.svg` into the output directory.
fn run(config: &Config, world: &World, write: bool) -> Result<RunReport, String> {
    let workers = config.worker_count();
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
    // One app server of the cloud tier per driver thread, sharing the L2.
    let cache = match config.cache {
        CacheStart::Off => None,
        start => {
            let cache = Arc::new(CloudCache::new(config, start == CacheStart::Warm, threads)?);
            if start == CacheStart::Warm {
                cache.warm(|p| driver(config, p, workers));
            }
            Some(cache)
        }
    };
    let barrier = Arc::new(Barrier::new(threads + 1));
    let start_slot = Arc::new(OnceLock::<Instant>::new());
    let wall = Duration::from_millis(config.wall_ms());
    let progress = if config.quiet || !write {
        Progress::hidden(config.total_txns(), wall)
    } else {
        Progress::start(config.total_txns(), wall)
    };
    let handles: Vec<_> = (0..threads)
        .map(|w| {
            let (config, world, cache) = (config.clone(), world.clone(), cache.clone());
            let (barrier, start_slot) = (Arc::clone(&barrier), Arc::clone(&start_slot));
            let done = progress.counter();
            thread::spawn(move || -> Result<Played, String> {
                let ids: Vec<u32> = (0..config.pharmacies)
                    .filter(|p| driver(&config, *p, workers) == w)
                    .collect();
                let shard =
                    Shard::new(&config, &world, ids.iter().copied()).map(|shard| match cache {
                        Some(cache) => shard.with_cache(cache, w),
                        None => shard,
                    });
                let schedule = events(&config, ids);
                barrier.wait();
                barrier.wait();
                let shard = shard.map_err(|e| e.to_string())?;
                let start = *start_slot.get().ok_or("no start time")?;
                play(&config, shard, &schedule, start, &done)
            })
        })
        .collect();
    barrier.wait();
    let setup = setup.elapsed();
    // A short lead so every thread is waiting on its first event when the clock starts.
    let _ = start_slot.set(Instant::now() + Duration::from_millis(20));
    let start = *start_slot.get().ok_or("no start time")?;
    barrier.wait();

    let mut latencies = Latencies::new()?;
    let mut last_done = start;
    let mut shards = Vec::with_capacity(threads);
    for (w, h) in handles.into_iter().enumerate() {
        let played = h.join().map_err(|_| "a driver thread panicked")??;
        latencies.merge(&played.latencies)?;
        // The durable pharmacies' thread (the last one, when there is one) is reported by its
        // own latencies; the throughput is the in-memory drivers'.
        if w < workers {
            last_done = last_done.max(played.last_done);
        }
        shards.push(played.shard);
    }
    progress.finish();
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
    if shards.len() != threads {
        return Err("a driver thread panicked in the final sync".into());
    }
    let final_sync = final_sync.elapsed();
    let mut report = RunReport::new(config, elapsed, final_sync, latencies);
    for s in &shards {
        report.add_shard(s);
    }
    report.digest = state_digest(shards.iter().flat_map(|s| s.stores()));
    if let Some(cache) = &cache {
        cache.logout_all();
        report.cache = Some(cache.report());
    }
    if write {
        println!(
            "setup: {:.2} s (stores seeded, schedule built)",
            setup.as_secs_f64()
        );
        print!("{}", report.text());
        write_outputs(config, &report)?;
    }
    Ok(report)
}

/// Writes `report.json` and `latency.svg` into the output directory.
fn write_outputs(config: &Config, report: &RunReport) -> Result<(), String> {
    let dir = &config.out_dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(&report.json()).map_err(|e| e.to_string())?;
    let json_path = dir.join("report.json");
    std::fs::write(&json_path, json + "\n").map_err(|e| format!("{}: {e}", json_path.display()))?;
    let l = &report.latencies;
    let points = l.timeline.points();
    let plot = LatencyPlot {
        title: format!(
            "pharm-loadtest: {} pharmacies x {} terminals, {}x, {}",
            config.pharmacies,
            config.terminals,
            config.compression,
            backend::name(config)
        ),
        series: vec![
            ("dispense".into(), &l.dispense),
            ("substitution".into(), &l.substitution),
            ("inventory".into(), &l.inventory),
            ("sync round".into(), &l.sync_round),
        ],
        timeline: &points,
    };
    let svg_path = dir.join("latency.svg");
    write_svg(&svg_path, &plot).map_err(|e| e.to_string())?;
    println!("wrote {} and {}", json_path.display(), svg_path.display());
    Ok(())
}

/// Plays `schedule` (sorted) on `shard`, each event at its scheduled wall time.
fn play(
    config: &Config,
    mut shard: Shard,
    schedule: &[Event],
    start: Instant,
    done: &AtomicU64,
) -> Result<Played, String> {
    let mut latencies = Latencies::new()?;
    let mut last_done = start;
    let ns_per_ms = 1_000_000 / u64::from(config.compression.max(1));
    for e in schedule {
        let at = Duration::from_nanos(e.at_ms() * ns_per_ms);
        let due = start + at;
        wait_until(due);
        let began = Instant::now();
        let lookup = shard.substitution(e);
        if lookup.is_some() {
            latencies.record_substitution(Instant::now().saturating_duration_since(due));
        }
        shard.play(e, lookup.as_ref());
        let finished = Instant::now();
        let durable = config.on_durable_driver(e.pharmacy());
        latencies.record(e, at, finished.saturating_duration_since(due), durable);
        latencies.busy += finished - began;
        if matches!(e, Event::Round(_)) {
            latencies.busy_rounds += finished - began;
        }
        if matches!(e, Event::Txn(_)) {
            done.fetch_add(1, Ordering::Relaxed);
        }
        last_done = finished;
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
