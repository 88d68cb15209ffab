//! Stress mode: the design's stress test (§9: the break point where p99 passes 2 s or the
//! error rate passes 0.1 %, and its bottleneck) on the library. The same day is played at
//! a compression factor raised by half each step until a step breaks.

use pharm_loadtest::config::Config;
use pharm_loadtest::report::{Outcome, RunReport};
use pharm_loadtest::sim::World;

/// The break point's p99 (the design's).
const BREAK_P99_US: u64 = 2_000_000;
/// The break point's error rate (the design's).
const BREAK_ERROR_RATE: f64 = 0.001;
/// Steps at most (a factor of 1.5 each: 100x to about 40,000x).
const MAX_STEPS: usize = 15;

/// Runs the steps and prints the stress table; passes when a break point was found.
pub(crate) fn run(config: &Config, world: &World) -> Result<Outcome, String> {
    let mut rows = Vec::new();
    let mut compression = config.compression.max(1);
    let mut broke = None;
    for _ in 0..MAX_STEPS {
        // Each step's durable terminals get fresh files.
        let durable_dir = match &config.durable_dir {
            Some(dir) => {
                let d = dir.join(format!("step-{compression}"));
                std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
                Some(d)
            }
            None => None,
        };
        let step = Config {
            compression,
            quiet: true,
            durable_dir,
            ..config.clone()
        };
        let report = crate::run(&step, world, false)?;
        let p99 = report.latencies.dispense.value_at_quantile(0.99);
        let busy = report.latencies.busy.as_secs_f64()
            / (report.elapsed.as_secs_f64() * config.worker_count() as f64).max(1e-9);
        println!(
            "  {compression}x: {:.0} TPS offered, {:.0} achieved, p99 {:.1} ms, errors {:.3} %, drivers busy {:.0} %, invariants {}",
            report.offered_tps(),
            report.achieved_tps(),
            p99 as f64 / 1e3,
            100.0 * report.error_rate(),
            100.0 * busy,
            if report.violations.is_empty() {
                "ok"
            } else {
                "VIOLATED"
            }
        );
        let broken = p99 > BREAK_P99_US || report.error_rate() > BREAK_ERROR_RATE;
        rows.push((compression, report, busy));
        if broken {
            broke = Some(rows.len() - 1);
            break;
        }
        compression = compression.saturating_add(compression / 2);
    }
    print!("{}", table(&rows, broke));
    Ok(
        if broke.is_some() && rows.iter().all(|(_, r, _)| r.violations.is_empty()) {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
    )
}

fn table(rows: &[(u32, RunReport, f64)], broke: Option<usize>) -> String {
    let mut out = String::from("\n| | design | pharm |\n|---|---|---|\n");
    // The highest step that kept up: at least 98 % of the offered rate, p99 under 2 s.
    let last_good = rows.iter().rev().find(|(_, r, _)| {
        r.achieved_tps() >= 0.98 * r.offered_tps()
            && r.latencies.dispense.value_at_quantile(0.99) <= BREAK_P99_US
    });
    let max = last_good.map_or("not reached".to_string(), |(c, r, _)| {
        format!("{:.0} TPS ({c}x the design's hour)", r.achieved_tps())
    });
    out.push_str(&format!("| maximum sustained | 350 TPS | {max} |\n"));
    match broke.and_then(|b| rows.get(b)) {
        Some((c, r, busy)) => {
            let p99 = r.latencies.dispense.value_at_quantile(0.99) as f64 / 1e6;
            out.push_str(&format!(
                "| break point | p99 > 2 s | {c}x: {:.0} TPS offered, p99 {p99:.2} s, errors {:.3} % |\n",
                r.offered_tps(),
                100.0 * r.error_rate()
            ));
            let l = &r.latencies;
            let in_rounds = l.busy_rounds.as_secs_f64() / l.busy.as_secs_f64().max(1e-9);
            let bottleneck = format!(
                "the driver threads, busy {:.0} % of the run (waits on the shard stores included): sync rounds (elections, sync sessions, shard-store writes) took {:.0} % of that time, transactions {:.0} %",
                100.0 * busy,
                100.0 * in_rounds,
                100.0 * (1.0 - in_rounds)
            );
            out.push_str(&format!(
                "| bottleneck | database connections | {bottleneck} |\n"
            ));
        }
        None => out.push_str("| break point | p99 > 2 s | not reached |\n"),
    }
    out
}
