//! `rules_json`: the JSON contract of pharm-core (request, context and decision readers)
//! and the rule engine on what parses.
//!
//! Input: a selector byte (modulo 3: 0 request, evaluated in the golden context; 1
//! context, evaluated with the golden request; 2 decision), then the JSON document.
//!
//! Properties: bad documents are typed errors; what parses is written back by serde to a
//! document that parses to the same value; a request parsed from a JSON value equals the
//! one parsed from the text; the engine's decision round-trips the same way.

use pharm_core::contract::parse_request_value;
use pharm_core::{
    Context, Decision, Request, evaluate, parse_context, parse_decision, parse_request,
};
use serde::Serialize;

use crate::samples::{golden_case, golden_context};
use crate::split_selector;

/// Runs one input (see the module documentation).
pub fn run(data: &[u8]) {
    let (selector, json) = split_selector(data);
    match selector % 3 {
        0 => {
            let Ok(request) = parse_request(json) else {
                return;
            };
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(json)
                && let Ok(from_value) = parse_request_value(value)
            {
                assert_eq!(from_value, request, "request from a JSON value");
            }
            check_request(&request);
            check_decision(&evaluate(&request, golden_context()));
        }
        1 => {
            let Ok(context) = parse_context(json) else {
                return;
            };
            check_context(&context);
            match parse_request(golden_case().1) {
                Ok(request) => check_decision(&evaluate(&request, &context)),
                Err(e) => panic!("the golden request does not parse: {e}"),
            }
        }
        _ => {
            if let Ok(decision) = parse_decision(json) {
                check_decision(&decision);
            }
        }
    }
}

/// The JSON serde writes for `value`.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| panic!("does not serialize: {e}"))
}

fn check_request(request: &Request) {
    let text = to_json(request);
    match parse_request(&text) {
        Ok(back) => assert_eq!(&back, request, "request round trip through {text}"),
        Err(e) => panic!("a written request does not parse back: {e}: {text}"),
    }
}

fn check_context(context: &Context) {
    let text = to_json(context);
    match parse_context(&text) {
        Ok(back) => assert_eq!(&back, context, "context round trip through {text}"),
        Err(e) => panic!("a written context does not parse back: {e}: {text}"),
    }
}

fn check_decision(decision: &Decision) {
    let text = to_json(decision);
    match parse_decision(&text) {
        Ok(back) => assert_eq!(&back, decision, "decision round trip through {text}"),
        Err(e) => panic!("a written decision does not parse back: {e}: {text}"),
    }
}
