//! `pharm_read_router`: decisions and events through the C ABI equal the crate's.

use std::ptr::{null, null_mut};
use std::time::Duration;

use pharm_shard::lag::LagSample;
use pharm_shard::reads::{ReadRouterConfig, ReplicaKey};
use pharm_shard::{LsnToken, PhysicalShard, QueryKind, ReadRouter, ReplicaRole};

use super::{assert_failed, oversized_json, take_bytes};
use crate::result::pharm_result;
use crate::*;

fn new_router() -> *mut pharm_read_router {
    let mut router = null_mut();
    // SAFETY: a writable pointer.
    let result = unsafe {
        pharm_read_router_new(
            PHARM_READ_ROUTER_DEFAULT_MAX_LAG_MS,
            PHARM_READ_ROUTER_DEFAULT_STALE_AFTER_MS,
            PHARM_READ_ROUTER_DEFAULT_HISTORY_CAPACITY,
            &mut router,
        )
    };
    assert_eq!(result, pharm_result::Ok);
    router
}

fn sample(primary: &str, replay: &str, heartbeat_lag_ms: Option<u64>, at_ms: u64) -> String {
    let heartbeat = heartbeat_lag_ms.map_or("null".to_owned(), |lag| {
        format!(
            r#"{{"written_at_ms":{},"observed_at_ms":{at_ms}}}"#,
            at_ms - lag
        )
    });
    format!(
        r#"{{"primary_lsn":"{primary}","replay_lsn":"{replay}","receive_lsn":null,"replay_paused":false,"replay_timestamp_ms":null,"heartbeat":{heartbeat},"measured_at_ms":{at_ms}}}"#
    )
}

fn empty_decision() -> pharm_read_decision {
    pharm_read_decision {
        shard: u32::MAX,
        target: pharm_read_target::Primary,
        reason: pharm_read_reason::PrimaryByKind,
        fallback: pharm_fallback_reason::None,
        lag_ms: u64::MAX,
        replay_lsn: u64::MAX,
    }
}

enum Op<'a> {
    Observe(u32, u32, String),
    Down(u32, u32, u64),
    Route(u64, u32, u32, &'a str),
}

fn role(replica: u32) -> ReplicaRole {
    [
        ReplicaRole::Analytics,
        ReplicaRole::Reporting,
        ReplicaRole::Api,
    ][replica as usize - 1]
}

fn kind(class: u32) -> QueryKind {
    [
        QueryKind::Write,
        QueryKind::TransactionalRead,
        QueryKind::Analytics,
        QueryKind::Reporting,
        QueryKind::ApiRead,
    ][class as usize]
}

#[test]
fn decisions_and_events_equal_the_crate_s() {
    use pharm_query_class as Q;
    use pharm_read_target as T;
    let (analytics, api) = (T::AnalyticsReplica as u32, T::ApiReplica as u32);
    let ops = [
        Op::Route(0, 0, Q::Write as u32, ""),
        Op::Route(0, 0, Q::Analytics as u32, ""),
        Op::Observe(0, analytics, sample("0/10", "0/10", None, 1_000)),
        Op::Route(1_500, 0, Q::Analytics as u32, ""),
        Op::Route(1_500, 0, Q::Reporting as u32, ""),
        Op::Route(11_001, 0, Q::Analytics as u32, ""),
        Op::Observe(0, analytics, sample("0/20", "0/10", Some(6_000), 12_000)),
        Op::Route(12_000, 0, Q::Analytics as u32, ""),
        Op::Observe(0, analytics, sample("0/30", "0/20", Some(2_000), 13_000)),
        Op::Route(13_000, 0, Q::Analytics as u32, ""),
        Op::Route(13_000, 0, Q::Analytics as u32, "1:0/10"),
        Op::Route(13_000, 0, Q::Analytics as u32, "0:0/30"),
        Op::Route(13_000, 0, Q::Analytics as u32, "0:0/20"),
        Op::Observe(3, api, sample("1/0", "0/FFFFFFFF", None, 13_000)),
        Op::Route(13_000, 3, Q::ApiRead as u32, ""),
        Op::Down(0, analytics, 14_000),
        Op::Route(14_000, 0, Q::Analytics as u32, ""),
        Op::Route(14_000, 0, Q::TransactionalRead as u32, "0:0/10"),
    ];
    let ffi = new_router();
    let mut rust = ReadRouter::new(ReadRouterConfig::default()).unwrap();
    let mut seen = Vec::new();
    for op in ops {
        match op {
            Op::Observe(shard, replica, json) => {
                let mut estimate = pharm_lag_estimate {
                    lag_ms: u64::MAX,
                    bytes_behind: 0,
                    source: pharm_lag_source::LowerBound,
                    serving: false,
                };
                // SAFETY: a live router, the sample's bytes and a writable output.
                let result = unsafe {
                    pharm_read_router_observe(
                        ffi,
                        shard,
                        replica,
                        json.as_ptr(),
                        json.len(),
                        &mut estimate,
                    )
                };
                assert_eq!(result, pharm_result::Ok);
                let key = ReplicaKey {
                    shard: PhysicalShard(shard),
                    role: role(replica),
                };
                let sample: LagSample = serde_json::from_str(&json).unwrap();
                let expected = rust.observe(key, &sample);
                assert_eq!(
                    Duration::from_millis(estimate.lag_ms),
                    expected.lag,
                    "{json}"
                );
                assert_eq!(estimate.bytes_behind, expected.bytes_behind);
                assert_eq!(estimate.serving, rust.is_serving(key));
            }
            Op::Down(shard, replica, at) => {
                // SAFETY: a live router.
                let result = unsafe { pharm_read_router_replica_down(ffi, shard, replica, at) };
                assert_eq!(result, pharm_result::Ok);
                let key = ReplicaKey {
                    shard: PhysicalShard(shard),
                    role: role(replica),
                };
                rust.replica_down(key, at);
            }
            Op::Route(now, shard, class, token) => {
                let mut decision = empty_decision();
                // SAFETY: a live router, the token's bytes and a writable output.
                let result = unsafe {
                    pharm_read_router_route(
                        ffi,
                        now,
                        shard,
                        class,
                        token.as_ptr(),
                        token.len(),
                        &mut decision,
                    )
                };
                assert_eq!(result, pharm_result::Ok);
                let token: Option<LsnToken> = (!token.is_empty()).then(|| token.parse().unwrap());
                let expected = rust.route(now, PhysicalShard(shard), kind(class), token.as_ref());
                assert_eq!(decision, pharm_read_decision::from(expected));
                seen.push((decision.target, decision.reason, decision.fallback));
            }
        }
    }
    // Every kind of decision was reached.
    use pharm_fallback_reason as F;
    use pharm_read_reason as R;
    for expected in [
        (T::Primary, R::PrimaryByKind, F::None),
        (T::Primary, R::ReplicaFallback, F::NeverObserved),
        (T::AnalyticsReplica, R::ReplicaInSync, F::None),
        (T::Primary, R::ReplicaFallback, F::Stale),
        (T::Primary, R::ReplicaFallback, F::LagAboveMax),
        (T::Primary, R::TokenForOtherShard, F::None),
        (T::Primary, R::TokenNotReplayed, F::None),
        (T::Primary, R::ReplicaFallback, F::LagUnknown),
        (T::Primary, R::ReplicaFallback, F::Unreachable),
    ] {
        assert!(seen.contains(&expected), "{expected:?} not reached");
    }

    let mut events = null_mut();
    // SAFETY: a live router and a writable output; the router is freed once.
    unsafe {
        assert_eq!(
            pharm_read_router_take_events(ffi, &mut events),
            pharm_result::Ok
        );
        let json = take_bytes(events);
        assert_eq!(json, serde_json::to_vec(&rust.take_events()).unwrap());
        assert!(
            String::from_utf8(json)
                .unwrap()
                .contains("FellBackToPrimary")
        );
        // Taken: the next call finds none.
        assert_eq!(
            pharm_read_router_take_events(ffi, &mut events),
            pharm_result::Ok
        );
        assert_eq!(take_bytes(events), b"[]");
        pharm_read_router_free(ffi);
    }
}

#[test]
fn query_class_names_are_the_crate_s() {
    for class in [
        pharm_query_class::Write,
        pharm_query_class::TransactionalRead,
        pharm_query_class::Analytics,
        pharm_query_class::Reporting,
        pharm_query_class::ApiRead,
    ] {
        let name = serde_json::to_value(kind(class as u32)).unwrap();
        let name = name.as_str().unwrap();
        let mut parsed = pharm_query_class::Write;
        // SAFETY: the name's bytes and a writable output.
        let result = unsafe { pharm_query_class_parse(name.as_ptr(), name.len(), &mut parsed) };
        assert_eq!(result, pharm_result::Ok);
        assert_eq!(parsed, class, "{name}");
    }
    let mut parsed = pharm_query_class::Write;
    // SAFETY: readable inputs of the given lengths (or NULL), writable outputs (or NULL).
    unsafe {
        for bad in ["write", "api_read", "", "Writes"] {
            assert_failed(
                pharm_query_class_parse(bad.as_ptr(), bad.len(), &mut parsed),
                pharm_result::InvalidArgument,
                "ffi.invalid_argument",
            );
        }
        assert_failed(
            pharm_query_class_parse(b"Wr\xffte".as_ptr(), 6, &mut parsed),
            pharm_result::InvalidUtf8,
            "ffi.invalid_utf8",
        );
        assert_failed(
            pharm_query_class_parse(null(), 5, &mut parsed),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            pharm_query_class_parse(b"Write".as_ptr(), 5, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        let long = "A".repeat(65);
        assert_failed(
            pharm_query_class_parse(long.as_ptr(), long.len(), &mut parsed),
            pharm_result::InputTooLarge,
            "ffi.input_too_large",
        );
    }
    assert_eq!(parsed, pharm_query_class::Write, "not written on failure");
}

#[test]
fn the_defaults_are_the_crate_s() {
    let config = ReadRouterConfig::default();
    assert_eq!(
        config.max_lag,
        Duration::from_millis(PHARM_READ_ROUTER_DEFAULT_MAX_LAG_MS)
    );
    assert_eq!(
        config.stale_after,
        Duration::from_millis(PHARM_READ_ROUTER_DEFAULT_STALE_AFTER_MS)
    );
    assert_eq!(
        config.history_capacity,
        PHARM_READ_ROUTER_DEFAULT_HISTORY_CAPACITY as usize
    );
}

#[test]
fn bad_arguments_are_refused() {
    let mut router = null_mut();
    // SAFETY: writable outputs or NULL.
    unsafe {
        for capacity in [0, 65_537] {
            assert_failed(
                pharm_read_router_new(5_000, 10_000, capacity, &mut router),
                pharm_result::ShardError,
                "shard.lag_history_capacity",
            );
        }
        assert_failed(
            pharm_read_router_new(5_000, 10_000, 1, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
    }
    assert!(router.is_null());
    let router = new_router();
    let good = sample("0/10", "0/10", None, 1);
    let mut estimate = pharm_lag_estimate {
        lag_ms: 7,
        bytes_behind: 7,
        source: pharm_lag_source::LowerBound,
        serving: false,
    };
    let mut decision = empty_decision();
    let big = oversized_json();
    // SAFETY: a live router; inputs readable for their lengths or NULL; outputs writable
    // or NULL.
    unsafe {
        let observe = |replica: u32, json: &[u8], out: *mut pharm_lag_estimate| {
            pharm_read_router_observe(router, 0, replica, json.as_ptr(), json.len(), out)
        };
        for replica in [0, 4, u32::MAX] {
            assert_failed(
                observe(replica, good.as_bytes(), &mut estimate),
                pharm_result::InvalidArgument,
                "ffi.invalid_argument",
            );
            assert_failed(
                pharm_read_router_replica_down(router, 0, replica, 1),
                pharm_result::InvalidArgument,
                "ffi.invalid_argument",
            );
        }
        let json_cases: [(&[u8], pharm_result, &str); 7] = [
            (b"{\"primary_lsn\":", pharm_result::ShardError, "shard.json_syntax"),
            (b"", pharm_result::ShardError, "shard.json_syntax"),
            (
                br#"{"primary_lsn":"0/10","replay_lsn":"0/10","replay_paused":false,"measured_at_ms":1,"lag_ms":0}"#,
                pharm_result::ShardError,
                "shard.json_invalid",
            ),
            (
                br#"{"primary_lsn":"0/1G","replay_lsn":"0/10","replay_paused":false,"measured_at_ms":1}"#,
                pharm_result::ShardError,
                "shard.json_invalid",
            ),
            (
                br#"{"primary_lsn":"0/10","replay_lsn":"0/10","measured_at_ms":1}"#,
                pharm_result::ShardError,
                "shard.json_invalid",
            ),
            (b"{\"primary_lsn\":\"0/1\xff\"}", pharm_result::InvalidUtf8, "ffi.invalid_utf8"),
            (&big, pharm_result::InputTooLarge, "ffi.input_too_large"),
        ];
        for (json, result, id) in json_cases {
            assert_failed(observe(1, json, &mut estimate), result, id);
        }
        assert_failed(
            pharm_read_router_observe(router, 0, 1, null(), 3, &mut estimate),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            observe(1, good.as_bytes(), null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_eq!(estimate.lag_ms, 7, "not written on failure");

        let route = |class: u32, token: &[u8], out: *mut pharm_read_decision| {
            pharm_read_router_route(router, 0, 0, class, token.as_ptr(), token.len(), out)
        };
        assert_failed(
            route(5, b"", &mut decision),
            pharm_result::InvalidArgument,
            "ffi.invalid_argument",
        );
        assert_failed(
            route(2, b"16/B374D848", &mut decision),
            pharm_result::ShardError,
            "shard.lsn_token_format",
        );
        assert_failed(
            route(2, b"3:16/B374D84G", &mut decision),
            pharm_result::ShardError,
            "shard.lsn_token_lsn",
        );
        assert_failed(
            route(2, b"3:16/B374\xff", &mut decision),
            pharm_result::InvalidUtf8,
            "ffi.invalid_utf8",
        );
        assert_failed(
            route(2, "9".repeat(65).as_bytes(), &mut decision),
            pharm_result::InputTooLarge,
            "ffi.input_too_large",
        );
        assert_failed(
            pharm_read_router_route(router, 0, 0, 2, null(), 4, &mut decision),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_failed(
            route(2, b"", null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        assert_eq!(decision, empty_decision(), "not written on failure");
        assert_eq!(
            pharm_read_router_route(router, 0, 0, 2, null(), 0, &mut decision),
            pharm_result::Ok
        );
        assert_eq!(decision.fallback, pharm_fallback_reason::NeverObserved);

        assert_failed(
            pharm_read_router_take_events(router, null_mut()),
            pharm_result::NullParameter,
            "ffi.null_parameter",
        );
        let mut events = null_mut();
        for result in [
            pharm_read_router_observe(null_mut(), 0, 1, good.as_ptr(), good.len(), &mut estimate),
            pharm_read_router_replica_down(null_mut(), 0, 1, 0),
            pharm_read_router_route(null_mut(), 0, 0, 2, null(), 0, &mut decision),
            pharm_read_router_take_events(null_mut(), &mut events),
        ] {
            assert_failed(result, pharm_result::NullParameter, "ffi.null_parameter");
        }
        pharm_read_router_free(router);
        pharm_read_router_free(null_mut());
    }
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_panic_poisons_the_router() {
    let router = new_router();
    let good = sample("0/10", "0/10", None, 1);
    let mut estimate = pharm_lag_estimate {
        lag_ms: 7,
        bytes_behind: 7,
        source: pharm_lag_source::LowerBound,
        serving: false,
    };
    let mut decision = empty_decision();
    // SAFETY: a live router, readable inputs and writable outputs.
    unsafe {
        pharm_test_panic_next_call();
        assert_failed(
            pharm_read_router_observe(router, 0, 1, good.as_ptr(), good.len(), &mut estimate),
            pharm_result::Panic,
            "ffi.panic",
        );
        assert_failed(
            pharm_read_router_route(router, 0, 0, 2, null(), 0, &mut decision),
            pharm_result::Poisoned,
            "ffi.poisoned",
        );
        assert_failed(
            pharm_read_router_replica_down(router, 0, 1, 0),
            pharm_result::Poisoned,
            "ffi.poisoned",
        );
        assert_eq!(estimate.lag_ms, 7);
        pharm_read_router_free(router);
    }
}
