//! Request JSON read type-first, without the buffering serde does for internally tagged
//! enums.
//!
//! `Request` is `#[serde(tag = "type")]`: serde cannot know which variant it reads until
//! it has seen `"type"`, wherever that is, so it first copies the whole document into a
//! generic tree (`Content`: a vector per object and array) and then reads the variant
//! from the tree. For the typical refill (a 2.9 kB request) that copy made
//! `parse_request` about 1.6 times as slow as reading the variant straight from the
//! text, and parsing was nearly 90 % of an evaluation from JSON (the rules take 0.3 µs
//! of it).
//!
//! pharm-core writes `"type"` first (serde puts the tag first), and a till that builds its
//! documents can do the same. When it comes first, the
//! variant is read straight from the text with the variant struct's own `Deserialize`
//! (the same code the derived enum runs on the tree, so the same rules, defaults and
//! unknown-field checks). Anything else (`"type"` later, an unknown type, any error) is
//! parsed again by the derived `Deserialize`, so every error and every unusual document
//! gets exactly the contract's answer (the tests below check both paths agree).

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, Error, MapAccess, Visitor};

use crate::rules::{
    ComplianceRequest, EndOfDayRequest, FillRequest, HandOffRequest, IntakeRequest, OtcSaleRequest,
    Request, StockMoveRequest, TransferRequest,
};

/// The request when `"type"` is its first member and the document parses; `None`
/// otherwise (the caller then parses it the general way, which also gives the error).
pub(super) fn parse(text: &str) -> Option<Request> {
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
            _ => return Err(A::Error::custom("not a request type")),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;
    use crate::contract::parse_request;

    fn golden_requests() -> Vec<(String, String)> {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golden/decisions.json");
        let cases: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        cases
            .iter()
            .map(|case| {
                // Written by pharm-core (`"type"` first), as a till's serializer would.
                let request = parse_request(case["request"].to_string()).unwrap();
                (
                    case["name"].as_str().unwrap().to_owned(),
                    serde_json::to_string(&request).unwrap(),
                )
            })
            .collect()
    }

    /// `parse_request` (type-first when it can) gives the same request, or the same error, as
    /// the derived `Deserialize` alone.
    fn agree(text: &str) {
        let general = crate::contract::parse::<Request>("request", text.as_bytes());
        match (parse_request(text), general) {
            (Ok(fast), Ok(general)) => assert_eq!(fast, general, "{text}"),
            (Err(fast), Err(general)) => {
                assert_eq!(fast.to_string(), general.to_string(), "{text}")
            }
            (fast, general) => panic!("{text}: {fast:?} but the derived parser says {general:?}"),
        }
    }

    #[test]
    fn every_request_type_takes_the_fast_path_and_agrees() {
        let mut types = std::collections::BTreeSet::new();
        for (name, text) in golden_requests() {
            let fast = parse(&text).unwrap_or_else(|| panic!("{name}: not read type-first"));
            assert_eq!(fast, parse_request(&text).unwrap(), "{name}");
            let value: Value = serde_json::from_str(&text).unwrap();
            types.insert(value["type"].as_str().unwrap().to_owned());
            agree(&text);
        }
        assert!(types.len() >= 6, "{types:?}");
    }

    #[test]
    fn other_documents_fall_back_to_the_contract_parser() {
        let (_, fill) = golden_requests().swap_remove(0);
        let mut value: Value = serde_json::from_str(&fill).unwrap();
        // `"type"` last (serde_json's map is sorted, and "type" sorts after the others).
        let sorted = value.to_string();
        assert!(parse(&sorted).is_none());
        agree(&sorted);
        assert!(parse_request(&sorted).is_ok());
        // Escaped key, surrounding whitespace, and trailing garbage.
        agree(&fill.replacen("\"type\"", "\"\\u0074ype\"", 1));
        agree(&format!(" \n{fill}\t"));
        agree(&format!("{fill} x"));
        agree(&format!("{fill}{{}}"));
        // A second "type", unknown types and fields, a wrong version, not an object.
        agree(&fill.replacen('{', "{\"type\":\"fill\",", 1));
        agree(&fill.replacen("\"fill\"", "\"refill\"", 1));
        agree(&fill.replacen("\"fill\"", "\"end_of_day\"", 1));
        agree(&fill.replacen("\"schema_version\":2", "\"schema_version\":3", 1));
        agree(&fill.replacen("\"quantity\"", "\"qty\"", 1));
        value["dispensed"]["ntii"] = Value::Bool(true);
        agree(&value.to_string());
        for text in [
            "",
            "[]",
            "{}",
            "{\"type\":1}",
            "{\"type\":\"fill\"}",
            "null",
            "{\"type\":\"fill\",",
        ] {
            agree(text);
        }
    }
}
