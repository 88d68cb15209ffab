//! `pharm-loadtest`: plays the seeded schedule open-loop in wall time.
//!
//! Each driver thread owns a share of the pharmacies and plays their arrivals at their
//! scheduled wall time (simulated time ÷ the compression factor). Latency is measured
//! from the scheduled time, not from when the thread got to it, so a thread that falls
//! behind reports its queueing delay (no coordinated omission). The domain itself runs in
//! simulated time: the counts and the final-state digest depend on the seed alone.

use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use pharm_loadtest::config::{Config, ConfigError, USAGE};
use pharm_loadtest::counts::Counts;
use pharm_loadtest::digest::state_digest;
use pharm_loadtest::products::Templates;
use pharm_loadtest::sim::Shard;
use pharm_loadtest::workload::{Arrival, schedule};

/// Below this wait the driver spins instead of sleeping (sleep overshoots by tens of µs).
const SPIN: Duration = Duration::from_micros(200);

/// What one driver thread hands back.
struct Played {
    shard: Shard,
    latency_us: Histogram<u64>,
    last_done: Instant,
}

fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1)) {
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
    match run(&config) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("pharm-loadtest: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the test and prints the report; `Ok(false)` when an invariant failed.
fn run(config: &Config) -> Result<bool, String> {
    let templates = Arc::new(Templates::load()?);
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
    let setup = Instant::now();
    let barrier = Arc::new(Barrier::new(workers + 1));
    let start_slot = Arc::new(std::sync::OnceLock::<Instant>::new());
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (config, templates) = (config.clone(), Arc::clone(&templates));
            let (barrier, start_slot) = (Arc::clone(&barrier), Arc::clone(&start_slot));
            thread::spawn(move || -> Result<Played, String> {
                let ids: Vec<u32> = (0..config.pharmacies)
                    .filter(|p| *p as usize % workers == w)
                    .collect();
                let shard = Shard::new(&config, templates, ids.iter().copied());
                let arrivals = schedule(&config, ids);
                barrier.wait();
                barrier.wait();
                let shard = shard.map_err(|e| e.to_string())?;
                let start = *start_slot.get().ok_or("no start time")?;
                play(&config, shard, &arrivals, start)
            })
        })
        .collect();
    barrier.wait();
    println!(
        "setup: {:.2} s (replicas seeded, schedule built)",
        secs(setup.elapsed())
    );
    // A short lead so every thread is waiting on its first arrival when the clock starts.
    let _ = start_slot.set(Instant::now() + Duration::from_millis(20));
    let start = *start_slot.get().ok_or("no start time")?;
    barrier.wait();

    let mut counts = Counts::default();
    let mut latency =
        Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string())?;
    let mut last_done = start;
    let mut shards = Vec::with_capacity(workers);
    for h in handles {
        let played = h.join().map_err(|_| "a driver thread panicked")??;
        counts.merge(&played.shard.counts);
        latency.add(&played.latency_us).map_err(|e| e.to_string())?;
        last_done = last_done.max(played.last_done);
        shards.push(played.shard);
    }
    report(config, &counts, &latency, last_done.duration_since(start));
    let mut conserved = 0;
    for s in &shards {
        match s.check_conservation() {
            Ok(units) => conserved += units,
            Err(e) => {
                println!("INVARIANT VIOLATED: units conserved per lot: {e}");
                return Ok(false);
            }
        }
    }
    println!("invariant: units conserved per lot on every terminal ({conserved} units) ok");
    println!(
        "digest: {}",
        state_digest(shards.iter().flat_map(|s| s.pharmacies()))
    );
    Ok(counts.errors == 0)
}

/// Plays `arrivals` (sorted) on `shard`, each at its scheduled wall time.
fn play(
    config: &Config,
    mut shard: Shard,
    arrivals: &[Arrival],
    start: Instant,
) -> Result<Played, String> {
    let mut latency_us =
        Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string())?;
    let mut last_done = start;
    let ns_per_ms = 1_000_000 / u64::from(config.compression.max(1));
    for a in arrivals {
        let due = start + Duration::from_nanos(a.at_ms * ns_per_ms);
        wait_until(due);
        shard.play(a);
        let done = Instant::now();
        let us = done.saturating_duration_since(due).as_micros();
        latency_us.saturating_record(u64::try_from(us).unwrap_or(u64::MAX).max(1));
        last_done = done;
    }
    Ok(Played {
        shard,
        latency_us,
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

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn report(config: &Config, counts: &Counts, latency: &Histogram<u64>, elapsed: Duration) {
    let n = counts.total();
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1_000.0;
    println!(
        "run: {:.2} s wall (schedule {:.2} s)",
        secs(elapsed),
        config.wall_ms() as f64 / 1e3
    );
    println!(
        "transactions: {n} decided, {} dispensed ({} units), {} errors, {} negative lots",
        counts.dispenses, counts.units, counts.errors, counts.negative
    );
    println!(
        "throughput: {:.0} TPS achieved (target {:.0} TPS average, design 140 TPS)",
        n as f64 / secs(elapsed).max(1e-9),
        config.total_txns() as f64 * 1_000.0 / config.wall_ms().max(1) as f64,
    );
    println!(
        "latency from scheduled time: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        ms(0.5),
        ms(0.99),
        ms(0.999),
        latency.max() as f64 / 1_000.0
    );
    print!("{}", counts.table());
}
