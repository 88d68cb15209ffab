//! Golden vectors of the shard boundary (`testdata/golden/shard/`): routes of fixed pharmacy
//! ids on fixed maps, reshard plans, a breaker trace and retry traces under a manual clock.
//!
//! The test rebuilds every vector and fails if a stored file differs. After an intended
//! change, re-bless with `PHARM_BLESS=1 cargo test -p pharm-shard --test golden` and review
//! the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pharm_core::ids::PharmacyId;
use pharm_core::time::ManualClock;
use pharm_shard::breaker::{CircuitBreaker, CircuitBreakerConfig, Event};
use pharm_shard::reshard::{ReshardPlan, plan_to_count};
use pharm_shard::retry::{ErrorKind, RetryPolicy, RetryState, XorShift};
use pharm_shard::{HashScheme, PhysicalShard, Route, ShardMap};
use serde_json::{Value, json};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golden/shard")
}

/// Writes `value` when blessing, then checks the stored file equals it.
fn check(name: &str, value: &Value) {
    let path = golden_dir().join(name);
    if std::env::var_os("PHARM_BLESS").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(value).unwrap() + "\n").unwrap();
    }
    let stored = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with PHARM_BLESS=1)", path.display()));
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert!(
        stored == *value,
        "{name} drifted from the stored vector (re-bless with PHARM_BLESS=1 if intended):\n{}",
        serde_json::to_string_pretty(value).unwrap()
    );
}

fn phys(n: u32) -> Vec<PhysicalShard> {
    (0..n).map(PhysicalShard).collect()
}

/// Pharmacy ids at the edges of the range, of the `bigint` hash's folding, and typical
/// store numbers.
const PHARMACY_IDS: [u32; 14] = [
    0,
    1,
    2,
    42,
    2_500,
    4_242,
    31_337,
    50_000,
    1_000_000,
    1_234_567,
    2_147_483_647,
    2_147_483_648,
    4_294_967_294,
    4_294_967_295,
];

/// The maps the vectors route on: the default (16 logical shards, pharm hash, on 4
/// servers) with pharmacy 4242 pinned to server 100, and PostgreSQL's bigint partitioning
/// (16 partitions on 4 servers).
fn maps() -> Vec<(&'static str, ShardMap)> {
    let mut pharm = ShardMap::with_defaults(&phys(4)).unwrap();
    pharm
        .pin(PharmacyId::new(4_242), PhysicalShard(100))
        .unwrap();
    let pg = ShardMap::new(HashScheme::PostgresBigint, 16, &phys(4)).unwrap();
    vec![
        ("pharm_16_on_4_pinned", pharm),
        ("postgres_bigint_16_on_4", pg),
    ]
}

#[test]
fn routes() {
    let mut vectors = Vec::new();
    for (name, map) in maps() {
        let routes: Vec<Value> = PHARMACY_IDS
            .iter()
            .map(|&id| {
                let id = PharmacyId::new(id);
                json!({"pharmacy_id": id, "hashed_bigint": id.to_i64(), "route": map.route(id)})
            })
            .collect();
        vectors.push(json!({"name": name, "map": map, "routes": routes}));
    }
    let value = json!({ "maps": vectors });
    check("routes.json", &value);

    // The stored maps route as stored: what C and Python load is what Rust routes.
    for entry in value["maps"].as_array().unwrap() {
        let map: ShardMap = serde_json::from_value(entry["map"].clone()).unwrap();
        for row in entry["routes"].as_array().unwrap() {
            let id: PharmacyId = serde_json::from_value(row["pharmacy_id"].clone()).unwrap();
            let route: Route = serde_json::from_value(row["route"].clone()).unwrap();
            assert_eq!(map.route(id), route);
        }
    }
}

#[test]
fn reshard_plans() {
    let from_4 = ShardMap::with_defaults(&phys(4)).unwrap();
    let plans: Vec<Value> = [5u32, 8]
        .into_iter()
        .map(|count| {
            let plan = plan_to_count(&from_4, count).unwrap();
            json!({"map": from_4, "physical_count": count, "plan": plan})
        })
        .collect();
    let value = json!({ "plans": plans });
    check("reshard_plans.json", &value);
    for entry in value["plans"].as_array().unwrap() {
        let plan: ReshardPlan = serde_json::from_value(entry["plan"].clone()).unwrap();
        let mut map: ShardMap = serde_json::from_value(entry["map"].clone()).unwrap();
        plan.apply_offline(&mut map).unwrap();
        assert_eq!(
            map.physical_shards().len() as u64,
            entry["physical_count"].as_u64().unwrap()
        );
    }
}

/// What the trace does at one step.
#[derive(Clone, Copy)]
enum Call {
    Success,
    Failure,
}

#[test]
fn breaker_trace() {
    let clock = ManualClock::new();
    let config = CircuitBreakerConfig::pmp_api();
    let breaker = CircuitBreaker::new("pmp-api", config.clone(), clock.clone());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    breaker.subscribe(move |event: &Event| sink.lock().unwrap().push(*event));

    // (time in ms, outcome): 5 of 10 calls fail (opens at 50 %), rejections while OPEN,
    // exactly at and just after the 30 s wait, then three successful probes.
    let (s, f) = (Call::Success, Call::Failure);
    let mut script: Vec<(u64, Call)> = (0..10)
        .map(|i| (i * 100, if i % 2 == 0 { f } else { s }))
        .collect();
    script.extend([
        (1_000, s),
        (15_000, s),
        (30_900, s),
        (30_901, s),
        (31_000, s),
        (31_100, s),
        (31_200, s),
    ]);
    let mut steps = Vec::new();
    for (at, call) in script {
        clock.set(Duration::from_millis(at));
        let (permitted, outcome) = match breaker.try_acquire() {
            Ok(permit) => {
                let d = Duration::from_millis(20);
                match call {
                    Call::Success => permit.on_success(d),
                    Call::Failure => permit.on_failure(d),
                }
                (true, matches!(call, Call::Success))
            }
            Err(_) => (false, false),
        };
        let events: Vec<Event> = std::mem::take(&mut *events.lock().unwrap());
        steps.push(json!({
            "at_ms": at,
            "call": if matches!(call, Call::Success) { "success" } else { "failure" },
            "permitted": permitted,
            "succeeded": outcome,
            "state": breaker.state(),
            "events": events,
        }));
    }
    check(
        "breaker_trace.json",
        &json!({"breaker": "pmp-api", "config": config, "steps": steps}),
    );
}

#[test]
fn retry_traces() {
    let mut traces = Vec::new();
    for (name, policy) in [
        ("pmp", RetryPolicy::pmp()),
        ("insurance", RetryPolicy::insurance()),
    ] {
        // Every try fails (retryably) after 500 ms, with jitter from a fixed seed.
        let seed = 7;
        let mut rng = XorShift::new(seed);
        let mut state = RetryState::new(Duration::ZERO);
        let mut now = Duration::ZERO;
        let mut steps = Vec::new();
        loop {
            let attempt = state.next_attempt(&policy, now);
            now += Duration::from_millis(500);
            let decision = state.on_failure(&policy, ErrorKind::Retryable, now, None, &mut rng);
            steps.push(json!({
                "attempt": attempt,
                "failed_at": now,
                "decision": decision,
            }));
            match decision {
                pharm_shard::retry::Decision::RetryAfter(wait) => now += wait,
                pharm_shard::retry::Decision::GiveUp(_) => break,
            }
        }
        traces.push(
            json!({"operation": name, "policy": policy, "jitter_seed": seed, "steps": steps}),
        );
    }
    check("retry_traces.json", &json!({ "traces": traces }));
}
