//! What a timed run reports: latencies by class (from each event's scheduled time), the
//! design's results table (§9 / load-test table: metric, design target, design's result,
//! pharm's result, status), the counters, the invariants and the final-state digest.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::cloud::cache::CacheReport;
use crate::config::Config;
use crate::counts::Counts;
use crate::partners::PartnerCounts;
use crate::plot::Timeline;
use crate::sim::Shard;
use crate::store::{INVARIANTS, StoreCounts, Violation};
use crate::workload::Event;

/// Whether a run passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every invariant held and every row of the results table passed.
    Pass,
    /// Something failed (the report says what).
    Fail,
}

/// Latencies in microseconds, by class.
#[derive(Debug, Clone)]
pub struct Latencies {
    /// Sales and fills (decided by the rule engine, then dispensed).
    pub dispense: Histogram<u64>,
    /// Receipts, counts and transfers.
    pub inventory: Histogram<u64>,
    /// Store sync rounds (election, sessions, the cloud's shard-store write).
    pub sync_round: Histogram<u64>,
    /// Substitution lookups of new fills (from the fill's scheduled time to the answer).
    pub substitution: Histogram<u64>,
    /// Every transaction's latency by wall-clock second of the run.
    pub timeline: Timeline,
    /// Wall time the driver threads spent playing events (not waiting for them).
    pub busy: Duration,
    /// The part of [`Latencies::busy`] spent in sync rounds (elections, sessions and the
    /// shard-store writes).
    pub busy_rounds: Duration,
    /// Every event (transactions and sync rounds) of the pharmacies whose terminals are
    /// durable SQLite terminal stores, and of their transfer partners (played by the same
    /// driver thread, so waiting on the same writes); they are not in the other classes.
    pub durable: Histogram<u64>,
}

fn histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string())
}

impl Latencies {
    /// Empty histograms (1 µs to one hour, 3 significant digits).
    pub fn new() -> Result<Latencies, String> {
        Ok(Latencies {
            dispense: histogram()?,
            inventory: histogram()?,
            sync_round: histogram()?,
            substitution: histogram()?,
            timeline: Timeline::new(Duration::from_secs(1)).map_err(|e| e.to_string())?,
            busy: Duration::ZERO,
            busy_rounds: Duration::ZERO,
            durable: histogram()?,
        })
    }

    /// Records how long after its scheduled time `event` was done; `at` is its scheduled
    /// time from the start of the run. An event of the durable driver (`durable`, see
    /// [`Config::on_durable_driver`]) goes to [`Latencies::durable`].
    pub fn record(&mut self, event: &Event, at: Duration, late: Duration, durable: bool) {
        let us = micros(late);
        let h = match event {
            _ if durable => &mut self.durable,
            Event::Txn(a) if a.kind.is_decided() => &mut self.dispense,
            Event::Txn(_) => &mut self.inventory,
            Event::Round(_) => &mut self.sync_round,
        };
        h.saturating_record(us);
        if matches!(event, Event::Txn(_)) {
            self.timeline.record(at, us);
        }
    }

    /// Records a substitution lookup done `late` after its fill's scheduled time.
    pub fn record_substitution(&mut self, late: Duration) {
        self.substitution.saturating_record(micros(late));
    }

    /// Adds another thread's latencies.
    pub fn merge(&mut self, o: &Latencies) -> Result<(), String> {
        self.dispense.add(&o.dispense).map_err(|e| e.to_string())?;
        self.inventory
            .add(&o.inventory)
            .map_err(|e| e.to_string())?;
        self.sync_round
            .add(&o.sync_round)
            .map_err(|e| e.to_string())?;
        self.substitution
            .add(&o.substitution)
            .map_err(|e| e.to_string())?;
        self.timeline
            .merge(&o.timeline)
            .map_err(|e| e.to_string())?;
        self.busy += o.busy;
        self.busy_rounds += o.busy_rounds;
        self.durable.add(&o.durable).map_err(|e| e.to_string())
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// One row of the results table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The metric.
    pub metric: &'static str,
    /// The design's target.
    pub target: &'static str,
    /// The design's own result.
    pub design: &'static str,
    /// This run's result.
    pub actual: String,
    /// Whether this run meets the target.
    pub pass: bool,
}

/// A run's report.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The configuration.
    pub config: Config,
    /// Wall time from the first scheduled event to the last one done.
    pub elapsed: Duration,
    /// Wall time of the final sync.
    pub final_sync: Duration,
    /// The counters.
    pub counts: Counts,
    /// The stores' counters.
    pub stores: StoreCounts,
    /// The PMP connections' counters.
    pub pmp: PartnerCounts,
    /// The payer connections' counters.
    pub payer: PartnerCounts,
    /// The latencies.
    pub latencies: Latencies,
    /// What the invariant checks found.
    pub violations: Vec<Violation>,
    /// The final-state digest.
    pub digest: String,
    /// The cloud tier's cache (none with `--cache off`).
    pub cache: Option<CacheReport>,
}

/// The design's targets (§9 / load-test table).
const TARGET_TPS: f64 = 140.0;
const TARGET_P50_US: u64 = 300_000;
const TARGET_P99_US: u64 = 500_000;
const TARGET_SUBST_P99_US: u64 = 2_000_000;
const TARGET_ERROR_RATE: f64 = 0.001;
/// A run keeps up when it plays at least this share of the offered rate.
const KEEP_UP: f64 = 0.98;

impl RunReport {
    /// The report of a run of `config` with its timings, before the shards are added.
    pub fn new(
        config: &Config,
        elapsed: Duration,
        final_sync: Duration,
        latencies: Latencies,
    ) -> RunReport {
        RunReport {
            config: config.clone(),
            elapsed,
            final_sync,
            counts: Counts::default(),
            stores: StoreCounts::default(),
            pmp: PartnerCounts::default(),
            payer: PartnerCounts::default(),
            latencies,
            violations: Vec::new(),
            digest: String::new(),
            cache: None,
        }
    }

    /// Adds a driver thread's shard (after its final sync): counters and invariant checks.
    pub fn add_shard(&mut self, shard: &Shard) {
        self.counts.merge(&shard.counts);
        self.stores.merge(&shard.store_counts());
        let (pmp, payer) = shard.partner_counts();
        self.pmp.merge(&pmp);
        self.payer.merge(&payer);
        self.violations.extend(shard.check());
    }

    /// Throughput achieved, transactions per wall second.
    pub fn achieved_tps(&self) -> f64 {
        self.counts.total() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Throughput offered by the schedule, transactions per wall second.
    pub fn offered_tps(&self) -> f64 {
        self.config.total_txns() as f64 * 1_000.0 / self.config.wall_ms().max(1) as f64
    }

    /// Errors per transaction.
    pub fn error_rate(&self) -> f64 {
        self.counts.errors as f64 / self.counts.total().max(1) as f64
    }

    /// The results table's rows.
    pub fn rows(&self) -> Vec<Row> {
        let d = &self.latencies.dispense;
        let ms = |us: u64| format!("{:.3} ms", us as f64 / 1_000.0);
        let (achieved, offered) = (self.achieved_tps(), self.offered_tps());
        vec![
            Row {
                metric: "throughput",
                target: "140 TPS",
                design: "180 TPS",
                actual: format!("{achieved:.0} TPS (offered {offered:.0})"),
                pass: achieved >= KEEP_UP * offered && achieved >= TARGET_TPS,
            },
            Row {
                metric: "dispensing latency p50",
                target: "< 300 ms",
                design: "180 ms",
                actual: ms(d.value_at_quantile(0.5)),
                pass: d.value_at_quantile(0.5) < TARGET_P50_US,
            },
            Row {
                metric: "dispensing latency p99",
                target: "< 500 ms",
                design: "420 ms",
                actual: ms(d.value_at_quantile(0.99)),
                pass: d.value_at_quantile(0.99) < TARGET_P99_US,
            },
            Row {
                metric: "substitution latency p99",
                target: "< 2 s",
                design: "1.4 s",
                actual: ms(self.latencies.substitution.value_at_quantile(0.99)),
                pass: self.latencies.substitution.value_at_quantile(0.99) < TARGET_SUBST_P99_US,
            },
            Row {
                metric: "error rate",
                target: "< 0.1 %",
                design: "0.05 %",
                actual: format!("{:.3} %", 100.0 * self.error_rate()),
                pass: self.error_rate() < TARGET_ERROR_RATE,
            },
        ]
    }

    /// Pass when every row passes and no invariant failed.
    pub fn outcome(&self) -> Outcome {
        let cache_ok = self.cache.as_ref().is_none_or(CacheReport::ok);
        if self.violations.is_empty() && self.rows().iter().all(|r| r.pass) && cache_ok {
            Outcome::Pass
        } else {
            Outcome::Fail
        }
    }

    /// The report as JSON (written next to the plot as `report.json`).
    pub fn json(&self) -> serde_json::Value {
        let c = &self.counts;
        let s = &self.stores;
        let g = &c.degraded;
        let latency = |h: &Histogram<u64>| {
            serde_json::json!({
                "count": h.len(),
                "p50_us": h.value_at_quantile(0.5),
                "p90_us": h.value_at_quantile(0.9),
                "p99_us": h.value_at_quantile(0.99),
                "p999_us": h.value_at_quantile(0.999),
                "max_us": h.max(),
            })
        };
        let l = &self.latencies;
        let partner = |p: &PartnerCounts| {
            serde_json::json!({
                "calls": p.calls, "tries": p.tries, "degraded": p.degraded,
                "rejected": p.rejected, "breaker_opened": p.opened,
                "simulated_ms": p.elapsed_ms,
            })
        };
        serde_json::json!({
            "config": {
                "pharmacies": self.config.pharmacies,
                "terminals": self.config.terminals,
                "txns_per_terminal": self.config.txns,
                "compression": self.config.compression,
                "seed": self.config.seed,
                "skus": self.config.skus,
                "lots": self.config.lots,
                "offline_share_percent": self.config.offline_share,
                "crash_share_percent": self.config.crash_share,
                "sync_every_s": self.config.sync_every_s,
                "backend": match &self.config.backend {
                    crate::config::Backend::Memory => "memory",
                    crate::config::Backend::Postgres { .. } => "postgres",
                },
                "physical_shards": self.config.physical,
            },
            "wall_s": self.elapsed.as_secs_f64(),
            "final_sync_s": self.final_sync.as_secs_f64(),
            "driver_busy_s": l.busy.as_secs_f64(),
            "driver_busy_in_sync_rounds_s": l.busy_rounds.as_secs_f64(),
            "throughput_tps": { "achieved": self.achieved_tps(), "offered": self.offered_tps() },
            "results": self.rows().iter().map(|r| serde_json::json!({
                "metric": r.metric, "design_target": r.target, "design_result": r.design,
                "pharm": r.actual, "pass": r.pass,
            })).collect::<Vec<_>>(),
            "latency": {
                "dispense": latency(&l.dispense),
                "substitution": latency(&l.substitution),
                "inventory": latency(&l.inventory),
                "sync_round": latency(&l.sync_round),
                "durable_terminals": latency(&l.durable),
            },
            "transactions": {
                "total": c.total(), "decided": c.decided(), "dispensed": c.dispenses,
                "units": c.units, "inventory_ops": c.inventory_ops,
                "counts_matched": c.counts_matched, "inventory_refused": c.inventory_refused,
                "errors": c.errors, "negative_lots": c.negative, "lookups": c.lookups,
            },
            "degradations": {
                "offline_decisions": g.offline, "offline_controlled": g.offline_controlled,
                "pmp_manual": g.pmp_manual, "cash_only": g.cash_only,
                "original_only": g.original_only, "overridden": g.overridden,
            },
            "partners": {
                "pmp": partner(&self.pmp),
                "payer": partner(&self.payer),
            },
            "sync": {
                "rounds": s.rounds, "offline_rounds": s.offline_rounds,
                "leaderless_rounds": s.leaderless_rounds, "sessions": s.sessions,
                "messages": s.messages, "errors": s.sync_errors,
                "leader_losses": s.leader_losses, "terms": s.terms, "restores": s.restores,
                "rows_written": s.rows_written, "shard_writes": s.shard_writes, "rows_repeated": s.rows_repeated,
                "rows_conflicting": s.rows_conflicting, "claims_sent": s.claims_sent,
                "reconciliations_sent": s.reconciliations_sent,
            },
            "invariants": INVARIANTS.iter().map(|inv| {
                let failed: Vec<&Violation> =
                    self.violations.iter().filter(|v| v.invariant == *inv).collect();
                serde_json::json!({
                    "invariant": inv,
                    "holds": failed.is_empty(),
                    "cases": failed.len(),
                    "first": failed.first().map(|v| v.detail.clone()),
                })
            }).collect::<Vec<_>>(),
            "digest": self.digest,
            "cache": self.cache,
            "pass": self.outcome() == Outcome::Pass,
        })
    }

    /// The report as text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let c = &self.counts;
        let s = &self.stores;
        let _ = writeln!(
            out,
            "run: {:.2} s wall (schedule {:.2} s), final sync {:.2} s",
            self.elapsed.as_secs_f64(),
            self.config.wall_ms() as f64 / 1e3,
            self.final_sync.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "\n| metric | design target | design's result | pharm | status |\n|---|---|---|---|---|"
        );
        for r in self.rows() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                r.metric,
                r.target,
                r.design,
                r.actual,
                if r.pass { "pass" } else { "FAIL" }
            );
        }
        let pct = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
        for (name, h) in [
            ("durable terminals (SQLite)", &self.latencies.durable),
            ("substitution lookups", &self.latencies.substitution),
            ("inventory ops", &self.latencies.inventory),
            ("sync rounds", &self.latencies.sync_round),
        ] {
            let _ = writeln!(
                out,
                "{name}: {}, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                h.len(),
                pct(h, 0.5),
                pct(h, 0.99),
                h.max() as f64 / 1_000.0
            );
        }
        let _ = writeln!(
            out,
            "\ntransactions: {} ({} decided, {} dispensed, {} units; {} inventory ops, {} counts matched, {} refused); {} errors, {} negative lots",
            c.total(),
            c.decided(),
            c.dispenses,
            c.units,
            c.inventory_ops,
            c.counts_matched,
            c.inventory_refused,
            c.errors,
            c.negative
        );
        let g = &c.degraded;
        let _ = writeln!(
            out,
            "degradations: {} offline decisions ({} offline controlled dispenses), {} manual PMP verifications, {} cash-only with claim queued, {} original-product-only, {} pharmacist overrides",
            g.offline,
            g.offline_controlled,
            g.pmp_manual,
            g.cash_only,
            g.original_only,
            g.overridden
        );
        let _ = writeln!(out, "{}", self.pmp.line("partners: PMP"));
        let _ = writeln!(out, "{}", self.payer.line("partners: payer"));
        let _ = writeln!(
            out,
            "sync: {} rounds ({} offline, {} leaderless), {} sessions, {} messages, {} errors; {} leader losses, {} terms; {} restores; shard stores: {} rows written in {} writes, {} repeats, {} conflicts; {} claims and {} reconciliation items delivered",
            s.rounds,
            s.offline_rounds,
            s.leaderless_rounds,
            s.sessions,
            s.messages,
            s.sync_errors,
            s.leader_losses,
            s.terms,
            s.restores,
            s.rows_written,
            s.shard_writes,
            s.rows_repeated,
            s.rows_conflicting,
            s.claims_sent,
            s.reconciliations_sent
        );
        out.push('\n');
        out.push_str(&c.table());
        out.push('\n');
        for inv in INVARIANTS {
            let failed: Vec<&Violation> = self
                .violations
                .iter()
                .filter(|v| v.invariant == inv)
                .collect();
            match failed.first() {
                None => {
                    let _ = writeln!(out, "invariant: {inv}: ok");
                }
                Some(v) => {
                    let _ = writeln!(
                        out,
                        "INVARIANT VIOLATED: {inv} ({} cases; first: {})",
                        failed.len(),
                        v.detail
                    );
                }
            }
        }
        if let Some(cache) = &self.cache {
            out.push_str(&cache.text());
        }
        let _ = writeln!(out, "digest: {}", self.digest);
        let _ = writeln!(
            out,
            "result: {}",
            match self.outcome() {
                Outcome::Pass => "PASS",
                Outcome::Fail => "FAIL",
            }
        );
        out
    }
}
