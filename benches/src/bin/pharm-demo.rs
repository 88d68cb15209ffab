//! `pharm-demo`: evaluates a realistic day of fills and sales through the pharm rule engine
//! and prints the decisions.
//!
//! ```text
//! pharm-demo                   one line per request, then a summary, the offline
//!                              capability report and a throughput measurement
//! pharm-demo --json            one JSON line per request: at, label, state, pharmacy, decision
//! pharm-demo --evaluations N   evaluations for the throughput measurement (default 200000)
//! ```
//!
//! Everything printed is deterministic except the throughput line.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use pharm_benches::catalog::{STORE_ID, STORE_NAME, minute_of_day, outage_start};
use pharm_benches::{DEMO_SEED, Scenario, realistic_day};
use pharm_core::ids::PharmacyId;
use pharm_core::offline::{ServiceHealth, capabilities};
use pharm_core::rules::{Connectivity, Decision, Outcome, RuleId, StateProfile, evaluate};
use serde::Serialize;

const USAGE: &str = "usage: pharm-demo [--json] [--evaluations N]";
const DEFAULT_EVALUATIONS: u64 = 200_000;

struct Options {
    json: bool,
    evaluations: u64,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        json: false,
        evaluations: DEFAULT_EVALUATIONS,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => options.json = true,
            "--evaluations" => {
                let value = args.next().ok_or("--evaluations needs a number")?;
                options.evaluations =
                    value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("--evaluations: {value:?} is not a positive number")
                    })?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(msg) => {
            if msg.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("pharm-demo: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let result = if options.json {
        json(&mut out)
    } else {
        report(&mut out, options.evaluations)
    };
    match result.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // `pharm-demo | head` closes the pipe early: not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pharm-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The snake_case serde name of a unit-like value (`Mode::Full` → `"full"`).
fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(map)) => map
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("?")
            .to_string(),
        _ => "?".to_string(),
    }
}

fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "ALLOW",
        Outcome::Warn => "WARN",
        Outcome::RequireOverride => "REQUIRE_OVERRIDE",
        Outcome::Block => "BLOCK",
    }
}

fn hhmm(s: &Scenario) -> String {
    let m = minute_of_day(s.2.now);
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn at_store(s: &Scenario) -> bool {
    s.2.pharmacy.id == STORE_ID
}

/// `1234567` → `"1,234,567"`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One line of `--json` output.
#[derive(Serialize)]
struct JsonLine<'a> {
    at: String,
    label: &'a str,
    state: &'a str,
    pharmacy: PharmacyId,
    decision: Decision,
}

fn json(out: &mut impl Write) -> io::Result<()> {
    for (label, request, ctx) in &realistic_day(DEMO_SEED) {
        let line = JsonLine {
            at: ctx.now.to_string(),
            label,
            state: &ctx.profile.state,
            pharmacy: ctx.pharmacy.id,
            decision: evaluate(request, ctx),
        };
        // Serialize first so a closed pipe surfaces as an io::Error of kind BrokenPipe.
        let text = serde_json::to_string(&line).map_err(io::Error::other)?;
        writeln!(out, "{text}")?;
    }
    Ok(())
}

#[derive(Default)]
struct RuleCounts {
    by_outcome: [u64; 4],
    overridden: u64,
}

fn outcome_index(o: Outcome) -> usize {
    match o {
        Outcome::Allow => 0,
        Outcome::Warn => 1,
        Outcome::RequireOverride => 2,
        Outcome::Block => 3,
    }
}

fn report(out: &mut impl Write, evaluations: u64) -> io::Result<()> {
    let day = realistic_day(DEMO_SEED);
    let decisions: Vec<Decision> = day.iter().map(|(_, r, c)| evaluate(r, c)).collect();
    let store = day.iter().filter(|s| at_store(s)).count();
    let date = day
        .first()
        .map(|s| s.2.today().to_string())
        .unwrap_or_default();

    writeln!(
        out,
        "pharm demo: one business day at store {STORE_NAME} (Texas), {date}"
    )?;
    writeln!(
        out,
        "{} requests: {store} at the Texas store, {} under other state presets; the store is offline 13:30-16:00",
        day.len(),
        day.len() - store
    )?;
    writeln!(
        out,
        "rule ids marked * were overridden by a pharmacist; (i) = informational finding"
    )?;
    writeln!(out)?;
    let width = day.iter().map(|s| s.0.len()).max().unwrap_or(10);
    writeln!(
        out,
        "{:<5}  {:<width$}  {:<16}  rules",
        "time", "request", "OUTCOME"
    )?;
    let mut offline = false;
    for (s, d) in day.iter().zip(&decisions) {
        if at_store(s) && s.2.connectivity.is_offline() != offline {
            offline = !offline;
            if offline {
                let since = minute_of_day(outage_start());
                writeln!(
                    out,
                    "---- {:02}:{:02} store offline: cloud, PMP, NPLEx and claims unreachable ----",
                    since / 60,
                    since % 60
                )?;
            } else {
                writeln!(out, "---- {} store back online ----", hhmm(s))?;
            }
        }
        let rules: Vec<String> = d
            .findings
            .iter()
            .map(|f| {
                let mark = if f.overridden.is_some() {
                    "*"
                } else if f.outcome == Outcome::Allow {
                    "(i)"
                } else {
                    ""
                };
                format!("{}{mark}", f.rule)
            })
            .collect();
        let rules = if rules.is_empty() {
            "-".to_string()
        } else {
            rules.join(" ")
        };
        writeln!(
            out,
            "{}  {:<width$}  {:<16}  {rules}",
            hhmm(s),
            s.0,
            outcome_label(d.outcome)
        )?;
    }

    summary(out, &day, &decisions)?;
    capability_report(out)?;
    throughput(out, &day, evaluations)
}

fn summary(out: &mut impl Write, day: &[Scenario], decisions: &[Decision]) -> io::Result<()> {
    let total = decisions.len() as u64;
    let mut outcomes = [0u64; 4];
    let mut rules: BTreeMap<RuleId, RuleCounts> = BTreeMap::new();
    let mut follow_ups: BTreeMap<String, u64> = BTreeMap::new();
    let mut offline_requests = 0u64;
    for (s, d) in day.iter().zip(decisions) {
        outcomes[outcome_index(d.outcome)] += 1;
        offline_requests += u64::from(s.2.connectivity.is_offline());
        for f in &d.findings {
            let c = rules.entry(f.rule).or_default();
            c.by_outcome[outcome_index(f.outcome)] += 1;
            c.overridden += u64::from(f.overridden.is_some());
        }
        for f in &d.follow_ups {
            *follow_ups.entry(serde_name(f)).or_default() += 1;
        }
    }

    writeln!(out)?;
    writeln!(
        out,
        "== Summary: {total} requests ({offline_requests} while offline) =="
    )?;
    writeln!(out)?;
    writeln!(out, "{:<18} {:>6} {:>7}", "outcome", "count", "share")?;
    for o in [
        Outcome::Allow,
        Outcome::Warn,
        Outcome::RequireOverride,
        Outcome::Block,
    ] {
        let n = outcomes[outcome_index(o)];
        #[allow(clippy::cast_precision_loss)]
        let share = if total == 0 {
            0.0
        } else {
            100.0 * n as f64 / total as f64
        };
        writeln!(out, "{:<18} {n:>6} {share:>6.1}%", outcome_label(o))?;
    }

    writeln!(out)?;
    writeln!(
        out,
        "{:<22} {:>8} {:>6} {:>6} {:>9} {:>6} {:>11}",
        "rule id", "findings", "info", "warn", "override", "block", "overridden"
    )?;
    for (rule, c) in &rules {
        let [info, warn, over, block] = c.by_outcome;
        let n: u64 = c.by_outcome.iter().sum();
        writeln!(
            out,
            "{:<22} {n:>8} {info:>6} {warn:>6} {over:>9} {block:>6} {:>11}",
            rule.as_str(),
            c.overridden
        )?;
    }

    writeln!(out)?;
    writeln!(out, "{:<26} {:>6}", "follow-up", "count")?;
    for (kind, n) in &follow_ups {
        writeln!(out, "{kind:<26} {n:>6}")?;
    }
    Ok(())
}

fn capability_report(out: &mut impl Write) -> io::Result<()> {
    let profile = StateProfile::texas();
    let health = ServiceHealth::all_up();
    let online = capabilities(Connectivity::Online, &health, &profile);
    let offline = capabilities(
        Connectivity::Offline {
            since: outage_start(),
        },
        &health,
        &profile,
    );
    writeln!(out)?;
    writeln!(
        out,
        "== Capabilities at the Texas store: online vs offline =="
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<26} {:<12} {:<12} offline detail",
        "feature", "online", "offline"
    )?;
    for row in &offline.rows {
        let on = online
            .mode(row.feature)
            .map(|m| serde_name(&m))
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{:<26} {:<12} {:<12} {}",
            serde_name(&row.feature),
            on,
            serde_name(&row.mode),
            row.detail
        )?;
    }
    writeln!(
        out,
        "worst mode: online {}, offline {}",
        serde_name(&online.worst()),
        serde_name(&offline.worst())
    )
}

fn throughput(out: &mut impl Write, day: &[Scenario], evaluations: u64) -> io::Result<()> {
    let len = day.len().max(1) as u64;
    let passes = evaluations.div_ceil(len);
    // One warm-up pass so the first timed pass does not pay for cold caches.
    for (_, r, c) in day {
        black_box(evaluate(black_box(r), black_box(c)));
    }
    let start = Instant::now();
    for _ in 0..passes {
        for (_, r, c) in day {
            black_box(evaluate(black_box(r), black_box(c)));
        }
    }
    let elapsed = start.elapsed();
    let done = passes * len;
    let secs = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let per_second = (done as f64 / secs) as u64;
    #[allow(clippy::cast_precision_loss)]
    let ns_each = elapsed.as_nanos() as f64 / done as f64;
    writeln!(out)?;
    writeln!(
        out,
        "throughput: {} evaluations ({passes} passes over the day) in {:.1} ms = {} evaluations/s on one thread ({ns_each:.0} ns each)",
        thousands(done),
        secs * 1e3,
        thousands(per_second)
    )
}
