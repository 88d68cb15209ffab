//! Request JSON to a `Request`, without the buffering serde does for internally tagged
//! enums.
//!
//! `Request` is `#[serde(tag = "type")]`: serde cannot know which variant it reads until
//! it has seen `"type"`, wherever that is, so it first copies the whole document into a
//! generic tree (`Content`: a vector per object and array) and then reads the variant
//! from the tree. For the typical refill (a 2.9 kB request) that copy made
//! `parse_request` about 1.6 times as slow as reading the variant straight from the
//! text; with the UTF-8 check `parse_request` repeats on text the binding has already
//! checked, parsing was nearly 90 % of an evaluation through the C ABI (the rules take
//! 0.3 µs of it).
//!
//! pharm-core writes `"type"` first (serde puts the tag first), and a till that builds its
//! documents can do the same. When it comes first, the
//! variant is read straight from the text with the variant struct's own `Deserialize`
//! (the same code the derived enum runs on the tree, so the same rules, defaults and
//! unknown-field checks). Anything else (`"type"` later, an unknown type, any error) is
//! parsed again by `pharm_core::contract::parse_request`, so every error and every
//! unusual document gets exactly the contract's answer.

use pharm_core::contract::parse_request;
use pharm_core::rules::{
    ComplianceRequest, EndOfDayRequest, FillRequest, HandOffRequest, IntakeRequest, OtcSaleRequest,
    Request, StockMoveRequest, TransferRequest,
};
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, Error, MapAccess, Visitor};

use crate::error::Failure;

/// Parses a request document (already checked for size and UTF-8).
pub(super) fn parse(text: &str) -> Result<Request, Failure> {
    match type_first(text) {
        Some(request) => Ok(request),
        None => Ok(parse_request(text)?),
    }
}

/// The request when `"type"` is its first member and it parses; `None` otherwise.
pub(super) fn type_first(text: &str) -> Option<Request> {
    let mut json = serde_json::Deserializer::from_str(text);
    let request = (&mut json).deserialize_map(TypeFirst).ok()?;
    json.end().ok()?;
    Some(request)
}

struct TypeFirst;

impl<'de> Visitor<'de> for TypeFirst {
    type Value = Request;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a request object starting with \"type\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Request, A::Error> {
        // Borrowed: a key or tag with escapes is not the fast case.
        if map.next_key::<&str>()? != Some("type") {
            return Err(A::Error::custom("\"type\" is not the first member"));
        }
        let tag: &str = map.next_value()?;
        let rest = MapAccessDeserializer::new(map);
        Ok(match tag {
            "intake" => Request::Intake(IntakeRequest::deserialize(rest)?),
            "fill" => Request::Fill(FillRequest::deserialize(rest)?),
            "hand_off" => Request::HandOff(HandOffRequest::deserialize(rest)?),
            "transfer" => Request::Transfer(TransferRequest::deserialize(rest)?),
            "otc_sale" => Request::OtcSale(OtcSaleRequest::deserialize(rest)?),
            "stock_move" => Request::StockMove(StockMoveRequest::deserialize(rest)?),
            "end_of_day" => Request::EndOfDay(EndOfDayRequest::deserialize(rest)?),
            "compliance" => Request::Compliance(ComplianceRequest::deserialize(rest)?),
            _ => return Err(A::Error::custom("not a request type this binding knows")),
        })
    }
}
