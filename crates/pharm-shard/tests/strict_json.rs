//! Every serde type of the crate refuses an unknown field in every object: each object of
//! the golden vectors (`testdata/golden/shard/`) and of the crate's other JSON documents
//! (resilience configurations, lag samples, maps with moves, events, decisions) gets an
//! extra `"zz_unknown": 1` in turn, and reading must fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use pharm_core::contract::strictness::unknown_fields_refused;
use pharm_core::error_code::ErrorCode;
use pharm_core::ids::PharmacyId;
use pharm_shard::breaker::{CircuitBreakerConfig, Event, State};
use pharm_shard::directory::MovePhase;
use pharm_shard::failover::{FailoverConfig, FailoverEvent, FailoverState, FailoverTrigger};
use pharm_shard::json::{JsonError, ShardMapJsonError, from_json};
use pharm_shard::lag::{Heartbeat, LagEstimate, LagSample, Lsn, estimate_once};
use pharm_shard::reads::{
    DecisionReason, FallbackReason, ReadDecision, ReadRouterConfig, ReplicaKey, RoutingEvent,
};
use pharm_shard::reshard::{Recommendation, ReshardPlan, ThresholdReport};
use pharm_shard::retry::{Attempt, Backoff, Decision, Jitter, RetryBudgetConfig};
use pharm_shard::scaling::ScalingTable;
use pharm_shard::scatter::{FallbackPolicy, ScatterOptions};
use pharm_shard::{
    LogicalShard, LsnToken, PhysicalShard, ReplicaRole, ResilienceConfig, RetryPolicy, Route,
    ShardMap, Target,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn golden(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/golden/shard")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `pharm_core::contract::strictness::unknown_fields_refused`, panicking with its report.
fn refuses_an_unknown_field_everywhere<T: DeserializeOwned>(value: &Value) -> usize {
    unknown_fields_refused::<T>(value).unwrap_or_else(|report| panic!("{report}"))
}

/// As [`refuses_an_unknown_field_everywhere`], for a value the crate writes.
fn strict<T: Serialize + DeserializeOwned>(value: &T) -> usize {
    refuses_an_unknown_field_everywhere::<T>(&serde_json::to_value(value).unwrap())
}

#[test]
fn every_object_of_the_golden_vectors_refuses_an_unknown_field() {
    let routes = golden("routes.json");
    for entry in routes["maps"].as_array().unwrap() {
        refuses_an_unknown_field_everywhere::<ShardMap>(&entry["map"]);
        for row in entry["routes"].as_array().unwrap() {
            refuses_an_unknown_field_everywhere::<Route>(&row["route"]);
        }
    }
    let plans = golden("reshard_plans.json");
    for entry in plans["plans"].as_array().unwrap() {
        refuses_an_unknown_field_everywhere::<ShardMap>(&entry["map"]);
        assert!(refuses_an_unknown_field_everywhere::<ReshardPlan>(&entry["plan"]) > 1);
    }
    let breaker = golden("breaker_trace.json");
    assert!(refuses_an_unknown_field_everywhere::<CircuitBreakerConfig>(&breaker["config"]) > 3);
    let mut events = 0;
    for step in breaker["steps"].as_array().unwrap() {
        events += refuses_an_unknown_field_everywhere::<Vec<Event>>(&step["events"]);
        refuses_an_unknown_field_everywhere::<State>(&step["state"]);
    }
    assert!(events > 10);
    let retry = golden("retry_traces.json");
    for trace in retry["traces"].as_array().unwrap() {
        assert!(refuses_an_unknown_field_everywhere::<RetryPolicy>(&trace["policy"]) >= 5);
        for step in trace["steps"].as_array().unwrap() {
            refuses_an_unknown_field_everywhere::<Attempt>(&step["attempt"]);
            refuses_an_unknown_field_everywhere::<Decision>(&step["decision"]);
        }
    }
}

#[test]
fn maps_with_pins_and_moves_refuse_an_unknown_field() {
    let physical: Vec<PhysicalShard> = (0..4).map(PhysicalShard).collect();
    let mut map = ShardMap::with_defaults(&physical).unwrap();
    map.pin(PharmacyId::new(4242), PhysicalShard(100)).unwrap();
    map.begin_move(LogicalShard(0), PhysicalShard(3)).unwrap();
    map.advance_move(LogicalShard(0)).unwrap();
    let json = serde_json::to_value(&map).unwrap();
    assert_eq!(json["moves"][0]["phase"], "catch_up");
    assert!(strict(&map) >= 3);
    // The structured loader too, with the codes of its errors.
    let mut bad = json.clone();
    bad["moves"][0]["eta"] = 3.into();
    let error = ShardMap::from_json(bad.to_string()).unwrap_err();
    assert!(matches!(
        error,
        ShardMapJsonError::Json(JsonError::Invalid { .. })
    ));
    assert_eq!(error.id(), "shard.json_invalid");
    let mut twice = json;
    let pin = twice["pins"][0].clone();
    twice["pins"].as_array_mut().unwrap().push(pin);
    let error = ShardMap::from_json(twice.to_string()).unwrap_err();
    assert_eq!(
        (error.code(), error.id()),
        (4013, "shard.directory_already_pinned")
    );
    let route = map.route(PharmacyId::new(4242));
    assert!(route.pinned);
    strict(&route);
    let moving = (0..10_000)
        .map(|id| map.route(PharmacyId::new(id)))
        .find(|r| r.during_move.is_some())
        .unwrap();
    assert_eq!(moving.during_move.unwrap().phase, MovePhase::CatchUp);
    assert!(strict(&moving) >= 2);
}

#[test]
fn resilience_configurations_refuse_an_unknown_field() {
    let ms = Duration::from_millis;
    for config in [
        ResilienceConfig::pmp_api(),
        ResilienceConfig::insurance_api(),
    ] {
        assert!(strict(&config) >= 8);
        for backoff in [
            Backoff::None,
            Backoff::Fixed(ms(50)),
            Backoff::Linear {
                base: ms(50),
                cap: ms(500),
            },
            Backoff::Exponential {
                base: ms(50),
                multiplier: 2,
                cap: ms(500),
            },
        ] {
            for jitter in [
                Jitter::None,
                Jitter::Proportional(0.1),
                Jitter::Decorrelated,
            ] {
                let mut config = config.clone();
                config.retry = RetryPolicy::new(3, backoff, ms(100))
                    .with_jitter(jitter)
                    .with_deadline(Some(ms(5_000)));
                strict(&config);
            }
        }
    }
    strict(&RetryBudgetConfig::default());
    // What the helpers building the C ABI found: misspelt fields nested in a
    // configuration were read as "no change".
    let good = serde_json::to_value(ResilienceConfig::pmp_api()).unwrap();
    for (pointer, field) in [
        ("/retry", "max_attempt"),
        ("/retry/backoff/Exponential", "jitter"),
        ("/budget", "ratoi"),
    ] {
        let mut bad = good.clone();
        bad.pointer_mut(pointer)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert(field.into(), 1.into());
        let error =
            from_json::<ResilienceConfig>("resilience configuration", bad.to_string()).unwrap_err();
        assert_eq!(error.id(), "shard.json_invalid");
        assert!(
            error
                .to_string()
                .contains(&format!("unknown field `{field}`")),
            "{error}"
        );
    }
}

#[test]
fn lag_samples_and_read_routing_refuse_an_unknown_field() {
    let sample = LagSample {
        primary_lsn: Lsn(0x10),
        replay_lsn: Lsn(0x8),
        receive_lsn: Some(Lsn(0x9)),
        replay_paused: false,
        replay_timestamp_ms: Some(3),
        heartbeat: Some(Heartbeat {
            written_at_ms: 1,
            observed_at_ms: 2,
        }),
        measured_at_ms: 5,
    };
    assert_eq!(strict(&sample), 2);
    let estimate: LagEstimate = estimate_once(&sample);
    strict(&estimate);
    let text = r#"{"primary_lsn":"0/10","replay_lsn":"0/10","replay_paused":false,
        "heartbeat":{"written_at_ms":1,"observed_at_ms":2,"skew":0},"measured_at_ms":5}"#;
    let error = from_json::<LagSample>("lag sample", text).unwrap_err();
    assert!(
        error.to_string().contains("unknown field `skew`"),
        "{error}"
    );
    assert!(matches!(error, JsonError::Invalid { .. }));
    // Fields that may be null may be left out.
    let bare: LagSample = from_json(
        "lag sample",
        r#"{"primary_lsn":"0/10","replay_lsn":"0/8","replay_paused":false,"measured_at_ms":5}"#,
    )
    .unwrap();
    assert_eq!(bare.heartbeat, None);

    strict(&ReadRouterConfig::default());
    let replica = ReplicaKey {
        shard: PhysicalShard(1),
        role: ReplicaRole::Api,
    };
    let token = LsnToken {
        shard: PhysicalShard(1),
        lsn: Lsn(0x20),
    };
    for reason in [
        DecisionReason::PrimaryByKind,
        DecisionReason::ReplicaInSync {
            lag: Duration::from_millis(3),
        },
        DecisionReason::ReplicaFallback(FallbackReason::Stale),
        DecisionReason::TokenForOtherShard { token },
        DecisionReason::TokenNotReplayed {
            token,
            replay_lsn: Lsn(0x10),
        },
    ] {
        strict(&ReadDecision {
            shard: PhysicalShard(1),
            target: Target::Replica(ReplicaRole::Api),
            reason,
        });
    }
    for event in [
        RoutingEvent::FellBackToPrimary {
            replica,
            lag: None,
            reason: FallbackReason::LagAboveMax,
            at_ms: 1,
        },
        RoutingEvent::ReplicaRestored {
            replica,
            lag: Duration::from_millis(1),
            at_ms: 2,
        },
    ] {
        assert!(strict(&event) >= 2);
    }
}

#[test]
fn events_plans_and_policies_refuse_an_unknown_field() {
    // Unit variants of internally tagged enums too (serde does not cover them by itself).
    for event in [
        Event::NotPermitted,
        Event::Reset,
        Event::StateTransition {
            from: State::Closed,
            to: State::Open,
        },
        Event::FailureRateExceeded { failure_rate: 50.0 },
    ] {
        assert_eq!(strict(&event), 1);
    }
    for recommendation in [
        Recommendation::None,
        Recommendation::SplitLogical {
            factor: 2,
            physical: 8,
        },
        Recommendation::SplitPinnedShards {
            shards: vec![PhysicalShard(1)],
        },
    ] {
        strict(&ThresholdReport {
            threshold: 2_500,
            hashed_total: 9_000,
            over: vec![(PhysicalShard(1), 3_000)],
            recommendation,
        });
    }
    strict(&ScalingTable::default());
    strict(&FailoverConfig::default());
    let trigger = FailoverTrigger::Manual {
        reason: "maintenance".into(),
        preferred: Some(ReplicaRole::Api),
    };
    strict(&FailoverState::FailoverRecommended {
        trigger: trigger.clone(),
        candidate: None,
        at_ms: 1,
    });
    strict(&FailoverEvent::FailoverStarted {
        candidate: ReplicaRole::Api,
        at_ms: 2,
    });
    strict(&trigger);
    strict(&ScatterOptions {
        per_shard_timeout: Duration::from_secs(1),
        partial: Default::default(),
    });
    strict(&FallbackPolicy::UseCachedIfAnalyticsDown {
        max_age: Duration::from_secs(60),
    });
}
