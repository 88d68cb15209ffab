//! The strict JSON reader: unknown fields at any depth, error codes, the size limit.

use pharm_shard::lag::LagSample;
use pharm_shard::{ResilienceConfig, ShardMap};

use crate::result::pharm_result;
use crate::shard::json::parse;

const JSON_SYNTAX: (u32, &str) = (4110, "shard.json_syntax");
const JSON_INVALID: (u32, &str) = (4111, "shard.json_invalid");

#[test]
fn the_codes_are_pharm_shard_s() {
    for (code, id) in [JSON_SYNTAX, JSON_INVALID] {
        assert!(
            pharm_shard::ERROR_CODES
                .iter()
                .any(|row| row.code == code && row.id == id),
            "{code} {id} is not in pharm_shard::ERROR_CODES"
        );
        assert_eq!(pharm_result::for_code(code), pharm_result::ShardError);
    }
    assert_eq!(
        crate::PHARM_SHARD_MAX_JSON_BYTES,
        pharm_core::contract::MAX_DOCUMENT_BYTES
    );
}

fn rejected<T: serde::de::DeserializeOwned>(text: &str) -> (u32, String) {
    let failure = parse::<T>("document", text).err().expect("rejected");
    (failure.code, failure.message)
}

#[test]
fn unknown_fields_are_found_at_every_depth() {
    let mut config = serde_json::to_value(ResilienceConfig::pmp_api()).unwrap();
    config["retry"]["backoff"]["Exponential"]["jitter"] = 1.into();
    let (code, message) = rejected::<ResilienceConfig>(&config.to_string());
    assert_eq!(code, JSON_INVALID.0);
    assert!(message.contains("unknown field `jitter`"), "{message}");

    let mut config = serde_json::to_value(ResilienceConfig::pmp_api()).unwrap();
    config["budget"]["ratoi"] = 0.5.into();
    let (code, message) = rejected::<ResilienceConfig>(&config.to_string());
    assert_eq!(code, JSON_INVALID.0);
    assert!(message.contains("`ratoi`"), "{message}");

    let mut config = serde_json::to_value(ResilienceConfig::pmp_api()).unwrap();
    config["retry"]["max_attempt"] = 9.into();
    let (code, message) = rejected::<ResilienceConfig>(&config.to_string());
    assert_eq!(code, JSON_INVALID.0);
    assert!(message.contains("`max_attempt`"), "{message}");

    let sample = r#"{"primary_lsn":"0/10","replay_lsn":"0/10","replay_paused":false,
        "heartbeat":{"written_at_ms":1,"observed_at_ms":2,"skew":0},"measured_at_ms":5}"#;
    let (code, message) = rejected::<LagSample>(sample);
    assert_eq!(code, JSON_INVALID.0);
    assert!(message.contains("`skew`"), "{message}");
    let sample = r#"{"primary_lsn":"0/10","replay_lsn":"0/10","replay_paused":false,
        "measured_at_ms":5,"lag_ms":0}"#;
    assert_eq!(rejected::<LagSample>(sample).0, JSON_INVALID.0);

    let map = r#"{"version":1,"logical_count":2,"assignment":[0,1],
        "pins":[{"pharmacy_id":9,"physical":3},{"pharmacy_id":2,"physical":3,"x":1}]}"#;
    let (code, message) = rejected::<ShardMap>(map);
    assert_eq!(code, JSON_INVALID.0);
    assert!(message.contains("unknown field `x`"), "{message}");
    let map = r#"{"version":1,"logical_count":2,"assignment":[0,1],
        "moves":[{"logical":0,"source":0,"target":1,"phase":"copying","eta":3}]}"#;
    assert!(rejected::<ShardMap>(map).1.contains("`eta`"));
}

#[test]
fn good_documents_and_optional_fields_pass() {
    let config = serde_json::to_string(&ResilienceConfig::insurance_api()).unwrap();
    assert!(parse::<ResilienceConfig>("c", &config).is_ok());
    // The fields that may be null may be left out.
    let sample =
        r#"{"primary_lsn":"0/10","replay_lsn":"0/8","replay_paused":false,"measured_at_ms":5}"#;
    let parsed: LagSample = parse("s", sample).unwrap();
    assert_eq!(parsed.heartbeat, None);
    let map = r#"{"version":1,"logical_count":2,"assignment":[0,1],
        "pins":[{"pharmacy_id":9,"physical":3},{"pharmacy_id":2,"physical":4}],"moves":[]}"#;
    assert!(parse::<ShardMap>("m", map).is_ok());
}

#[test]
fn syntax_and_type_errors_have_their_codes() {
    for text in ["", "{", "{\"version\": 1,,}", "nul"] {
        assert_eq!(rejected::<ShardMap>(text).0, JSON_SYNTAX.0, "{text:?}");
    }
    for text in ["null", "[]", "{\"version\": \"1\"}", "{}"] {
        assert_eq!(rejected::<ShardMap>(text).0, JSON_INVALID.0, "{text:?}");
    }
    let failure = parse::<ShardMap>("shard map", "{").err().unwrap();
    assert!(
        failure
            .message
            .starts_with("the shard map is not valid JSON")
    );
}
