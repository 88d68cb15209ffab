//! The shard golden vectors (`testdata/golden/shard/`) through the C ABI, and their
//! C-friendly TSV forms beside them, which `tests/c/shard.c` replays.
//!
//! Each TSV is written from its JSON vector and checked here against the committed file;
//! re-bless after an intended change with
//! `PHARM_BLESS=1 cargo test -p pharm-ffi --all-features shard::tests::golden`.

use std::fmt::Write as _;
use std::ptr::null_mut;

use pharm_shard::{ResilienceConfig, RetryPolicy};
use serde_json::Value;

use super::repo_root;
use crate::result::pharm_result;
use crate::*;

fn golden(name: &str) -> Value {
    let path = repo_root().join("testdata/golden/shard").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Writes `text` when blessing, then checks the committed file equals it.
fn check_tsv(name: &str, text: &str) {
    let path = repo_root().join("testdata/golden/shard").join(name);
    if std::env::var_os("PHARM_BLESS").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == text,
        "testdata/golden/shard/{name} is stale: re-bless with PHARM_BLESS=1 cargo test -p pharm-ffi --all-features shard::tests::golden"
    );
}

fn header(from: &str, columns: &[&str]) -> String {
    let mut text = format!(
        "# C-friendly form of {from} for crates/pharm-ffi/c/tests/c/shard.c, written by\n\
         # pharm-ffi's tests: PHARM_BLESS=1 cargo test -p pharm-ffi --all-features shard::tests::golden\n"
    );
    for line in columns {
        text.push_str("# ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

fn move_phase(route: &Value) -> (u32, u64, u64) {
    match &route["during_move"] {
        Value::Null => (0, 0, 0),
        mv => (
            match mv["phase"].as_str().unwrap() {
                "copying" => 1,
                "catch_up" => 2,
                "cut_over" => 3,
                other => panic!("phase {other}"),
            },
            mv["source"].as_u64().unwrap(),
            mv["target"].as_u64().unwrap(),
        ),
    }
}

#[test]
fn routes() {
    let vectors = golden("routes.json");
    let mut tsv = header(
        "routes.json",
        &[
            "map <TAB> name <TAB> the shard map's JSON",
            "route <TAB> pharmacy_id <TAB> physical <TAB> logical <TAB> map_version <TAB> pinned <TAB> move_phase <TAB> move_source <TAB> move_target",
        ],
    );
    for entry in vectors["maps"].as_array().unwrap() {
        let json = serde_json::to_string(&entry["map"]).unwrap();
        writeln!(tsv, "map\t{}\t{json}", entry["name"].as_str().unwrap()).unwrap();
        let mut directory = null_mut();
        // SAFETY: the JSON's bytes and a writable output.
        let result =
            unsafe { pharm_directory_from_json(json.as_ptr(), json.len(), &mut directory) };
        assert_eq!(result, pharm_result::Ok);
        for row in entry["routes"].as_array().unwrap() {
            let id = u32::try_from(row["pharmacy_id"].as_u64().unwrap()).unwrap();
            let route = &row["route"];
            let (phase, source, target) = move_phase(route);
            writeln!(
                tsv,
                "route\t{id}\t{}\t{}\t{}\t{}\t{phase}\t{source}\t{target}",
                route["physical"],
                route["logical"],
                route["map_version"],
                u8::from(route["pinned"].as_bool().unwrap()),
            )
            .unwrap();
            let mut got = pharm_route {
                physical: 0,
                logical: 0,
                map_version: 0,
                pinned: false,
                move_phase: pharm_move_phase::None,
                move_source: 0,
                move_target: 0,
            };
            // SAFETY: a live directory and a writable output.
            let result = unsafe { pharm_directory_route_detail(directory, id, &mut got) };
            assert_eq!(result, pharm_result::Ok);
            assert_eq!(u64::from(got.physical), route["physical"].as_u64().unwrap());
            assert_eq!(u64::from(got.logical), route["logical"].as_u64().unwrap());
            assert_eq!(got.map_version, route["map_version"].as_u64().unwrap());
            assert_eq!(got.pinned, route["pinned"].as_bool().unwrap());
            assert_eq!(
                (
                    got.move_phase as u32,
                    u64::from(got.move_source),
                    u64::from(got.move_target)
                ),
                (phase, source, target)
            );
        }
        // SAFETY: a live directory, freed once.
        unsafe { pharm_directory_free(directory) };
    }
    check_tsv("routes.tsv", &tsv);
}

fn state_name(state: pharm_breaker_state) -> &'static str {
    match state {
        pharm_breaker_state::Closed => "CLOSED",
        pharm_breaker_state::Open => "OPEN",
        pharm_breaker_state::HalfOpen => "HALF_OPEN",
        pharm_breaker_state::Disabled => "DISABLED",
        pharm_breaker_state::ForcedOpen => "FORCED_OPEN",
        pharm_breaker_state::MetricsOnly => "METRICS_ONLY",
    }
}

const MS: u64 = 1_000_000;

#[test]
fn breaker_trace() {
    let trace = golden("breaker_trace.json");
    // The trace's breaker is the pmp-api preset's, which the C test starts from.
    assert_eq!(
        trace["config"],
        serde_json::to_value(ResilienceConfig::pmp_api().breaker).unwrap()
    );
    assert_eq!(trace["breaker"], "pmp-api");
    let mut tsv = header(
        "breaker_trace.json (the pmp-api preset, one operation of one try per step)",
        &["step <TAB> at_ms <TAB> call <TAB> permitted <TAB> state after it"],
    );
    let mut policy = null_mut();
    // SAFETY: the name's bytes and a writable output.
    let result = unsafe { pharm_resilience_from_preset(b"pmp-api".as_ptr(), 7, 0, &mut policy) };
    assert_eq!(result, pharm_result::Ok);
    for step in trace["steps"].as_array().unwrap() {
        let at = step["at_ms"].as_u64().unwrap();
        let call = step["call"].as_str().unwrap();
        let permitted = step["permitted"].as_bool().unwrap();
        let state = step["state"].as_str().unwrap();
        writeln!(tsv, "step\t{at}\t{call}\t{}\t{state}", u8::from(permitted)).unwrap();

        let outcome = if call == "success" {
            PHARM_OUTCOME_SUCCESS
        } else {
            PHARM_OUTCOME_FAILURE
        };
        let (mut operation, mut permit, mut next) = (
            null_mut(),
            super::resilience::no_permit(),
            super::resilience::no_next(),
        );
        let mut now_state = pharm_breaker_state::Disabled;
        // SAFETY: live handles and writable outputs; the operation is freed once.
        unsafe {
            assert_eq!(
                pharm_resilience_begin(policy, at * MS, &mut operation),
                pharm_result::Ok
            );
            assert_eq!(
                pharm_resilience_before_call(operation, at * MS, &mut permit),
                pharm_result::Ok
            );
            assert_eq!(permit.permitted, permitted, "at {at} ms");
            if permit.permitted {
                assert_eq!(
                    pharm_resilience_after_call(
                        operation,
                        outcome,
                        PHARM_ERROR_KIND_RETRYABLE,
                        0,
                        at * MS,
                        &mut next
                    ),
                    pharm_result::Ok
                );
            }
            pharm_resilience_call_free(operation);
            assert_eq!(
                pharm_resilience_state(policy, &mut now_state),
                pharm_result::Ok
            );
        }
        assert_eq!(state_name(now_state), state, "at {at} ms");
    }
    // SAFETY: a live policy, freed once.
    unsafe { pharm_resilience_free(policy) };
    check_tsv("breaker_trace.tsv", &tsv);
}

fn nanos(duration: &Value) -> u64 {
    duration["secs"].as_u64().unwrap() * 1_000_000_000 + duration["nanos"].as_u64().unwrap()
}

fn give_up_name(reason: pharm_give_up_reason) -> &'static str {
    match reason {
        pharm_give_up_reason::None => "None",
        pharm_give_up_reason::BreakerOpen => "BreakerOpen",
        pharm_give_up_reason::Exhausted => "Exhausted",
        pharm_give_up_reason::NotRetryable => "NotRetryable",
        pharm_give_up_reason::DeadlineWouldPass => "DeadlineWouldPass",
        pharm_give_up_reason::BudgetExhausted => "BudgetExhausted",
    }
}

#[test]
fn retry_traces() {
    let traces = golden("retry_traces.json");
    let mut tsv = header(
        "retry_traces.json (each operation's preset with the trace's policy and jitter seed; every try fails retryably 500 ms after it starts)",
        &[
            "config <TAB> operation <TAB> the ResilienceConfig JSON",
            "step <TAB> attempt <TAB> timeout_ns <TAB> failed_at_ns <TAB> retry_after <TAB> wait_ns",
            "step <TAB> attempt <TAB> timeout_ns <TAB> failed_at_ns <TAB> give_up <TAB> reason",
        ],
    );
    for trace in traces["traces"].as_array().unwrap() {
        let operation = trace["operation"].as_str().unwrap();
        let mut config = match operation {
            "pmp" => ResilienceConfig::pmp_api(),
            "insurance" => ResilienceConfig::insurance_api(),
            other => panic!("operation {other}"),
        };
        let policy: RetryPolicy = serde_json::from_value(trace["policy"].clone()).unwrap();
        assert_eq!(policy, config.retry, "the trace's policy is the preset's");
        config.retry = policy;
        config.jitter_seed = trace["jitter_seed"].as_u64().unwrap();
        let json = serde_json::to_string(&config).unwrap();
        writeln!(tsv, "config\t{operation}\t{json}").unwrap();

        let (mut policy, mut call) = (null_mut(), null_mut());
        // SAFETY: the inputs' bytes and writable outputs.
        unsafe {
            assert_eq!(
                pharm_resilience_from_json(
                    operation.as_ptr(),
                    operation.len(),
                    json.as_ptr(),
                    json.len(),
                    0,
                    &mut policy
                ),
                pharm_result::Ok
            );
            assert_eq!(
                pharm_resilience_begin(policy, 0, &mut call),
                pharm_result::Ok
            );
        }
        let mut now = 0;
        for step in trace["steps"].as_array().unwrap() {
            let (number, timeout) = (
                step["attempt"]["number"].as_u64().unwrap(),
                nanos(&step["attempt"]["timeout"]),
            );
            let failed_at = nanos(&step["failed_at"]);
            let decision = &step["decision"];
            let (action, value) = match decision.get("RetryAfter") {
                Some(wait) => ("retry_after", nanos(wait).to_string()),
                None => ("give_up", decision["GiveUp"].as_str().unwrap().to_owned()),
            };
            writeln!(
                tsv,
                "step\t{number}\t{timeout}\t{failed_at}\t{action}\t{value}"
            )
            .unwrap();

            let (mut permit, mut next) =
                (super::resilience::no_permit(), super::resilience::no_next());
            // SAFETY: a live operation and writable outputs.
            unsafe {
                assert_eq!(
                    pharm_resilience_before_call(call, now, &mut permit),
                    pharm_result::Ok
                );
                now += 500 * MS;
                assert_eq!(
                    pharm_resilience_after_call(
                        call,
                        PHARM_OUTCOME_FAILURE,
                        PHARM_ERROR_KIND_RETRYABLE,
                        0,
                        now,
                        &mut next
                    ),
                    pharm_result::Ok
                );
            }
            assert!(permit.permitted);
            assert_eq!(
                (u64::from(permit.attempt), permit.timeout_ns),
                (number, timeout)
            );
            assert_eq!(now, failed_at);
            match next.action {
                pharm_next_action::RetryAfter => {
                    assert_eq!((action, next.wait_ns.to_string()), ("retry_after", value));
                    now += next.wait_ns;
                }
                pharm_next_action::GiveUp => {
                    assert_eq!(
                        (action, give_up_name(next.give_up)),
                        ("give_up", value.as_str())
                    );
                }
                pharm_next_action::Return => panic!("a failed try returned"),
            }
        }
        // SAFETY: live handles, freed once.
        unsafe {
            pharm_resilience_call_free(call);
            pharm_resilience_free(policy);
        }
    }
    check_tsv("retry_traces.tsv", &tsv);
}
