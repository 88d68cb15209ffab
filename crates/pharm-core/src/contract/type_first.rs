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
//! unknown-field checks). When it comes later (a document with sorted keys), a first pass
//! skims the members for it, skipping every value without building anything, and a second
//! reads the variant from the other members. Anything else (no `"type"` or two, an unknown
//! type, escapes in a key, any error) is parsed again by the derived `Deserialize`, so
//! every error and every unusual document gets exactly the contract's answer (the tests
//! below check both paths agree). A binding's document built from its host's objects is a
//! JSON value, read the same way by [`from_value`].

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer};
use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::json_read::{read_json_value, refuse_value};
use crate::ContractError;

use crate::rules::{
    ComplianceRequest, EndOfDayRequest, FillRequest, HandOffRequest, IntakeRequest, OtcSaleRequest,
    Request, StockMoveRequest, TransferRequest,
};

/// The request when the document parses with its one `"type"` member anywhere; `None`
/// otherwise (the caller then parses it the general way, which also gives the error).
pub(super) fn parse(text: &str) -> Option<Request> {
    let mut json = serde_json::Deserializer::from_str(text);
    match (&mut json).deserialize_map(TypeFirst) {
        Ok(request) => {
            json.end().ok()?;
            Some(request)
        }
        Err(_) => tag_anywhere(text),
    }
}

/// `"type"` not first: one pass skims the members for the tag (skipping every value
/// without building anything), a second reads the variant from the members without it.
fn tag_anywhere(text: &str) -> Option<Request> {
    let tag = serde_json::Deserializer::from_str(text)
        .deserialize_map(FindTag)
        .ok()??;
    let mut json = serde_json::Deserializer::from_str(text);
    let request = (&mut json).deserialize_map(WithoutTag { tag }).ok()?;
    json.end().ok()?;
    Some(request)
}

/// Finds the one `"type"` member's text (`None` without one; an error for two, or for a
/// key or tag with escapes, which are not the fast case).
struct FindTag;

impl<'de> Visitor<'de> for FindTag {
    type Value = Option<&'de str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut tag = None;
        while let Some(key) = map.next_key::<&str>()? {
            if key != "type" {
                map.next_value::<IgnoredAny>()?;
            } else if tag.replace(map.next_value::<&str>()?).is_some() {
                return Err(A::Error::custom("\"type\" appears twice"));
            }
        }
        Ok(tag)
    }
}

/// Reads the variant of `tag` from the members, leaving `"type"` out.
struct WithoutTag<'t> {
    tag: &'t str,
}

impl<'de> Visitor<'de> for WithoutTag<'_> {
    type Value = Request;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Request, A::Error> {
        variant(self.tag, MapAccessDeserializer::new(SkipTag(map)))
            .unwrap_or_else(|| Err(A::Error::custom("not a request type")))
    }
}

/// The members of a map but `"type"`.
struct SkipTag<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SkipTag<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.0.next_key::<&'de str>()? {
            if key == "type" {
                self.0.next_value::<IgnoredAny>()?;
                continue;
            }
            return seed
                .deserialize(BorrowedStrDeserializer::<A::Error>::new(key))
                .map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }
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
        variant(tag, MapAccessDeserializer::new(map))
            .unwrap_or_else(|| Err(A::Error::custom("not a request type")))
    }
}

/// The request of type `tag` read from `rest` (the document's other members); `None` for a
/// tag that is not a request type.
fn variant<'de, D: Deserializer<'de>>(tag: &str, rest: D) -> Option<Result<Request, D::Error>> {
    Some(match tag {
        "intake" => IntakeRequest::deserialize(rest).map(Request::Intake),
        "fill" => FillRequest::deserialize(rest).map(Request::Fill),
        "hand_off" => HandOffRequest::deserialize(rest).map(Request::HandOff),
        "transfer" => TransferRequest::deserialize(rest).map(Request::Transfer),
        "otc_sale" => OtcSaleRequest::deserialize(rest).map(Request::OtcSale),
        "stock_move" => StockMoveRequest::deserialize(rest).map(Request::StockMove),
        "end_of_day" => EndOfDayRequest::deserialize(rest).map(Request::EndOfDay),
        "compliance" => ComplianceRequest::deserialize(rest).map(Request::Compliance),
        _ => return None,
    })
}

/// The request in a JSON value (a binding's document built from its host's objects): an
/// object with a known `"type"` anywhere is read straight into its variant; anything else
/// goes through the derived `Deserialize`, which gives the contract's error.
pub(super) fn from_value(value: Value) -> Result<Request, ContractError> {
    let known = |map: &Map<String, Value>| {
        map.get("type")
            .and_then(Value::as_str)
            .is_some_and(|tag| variant(tag, Value::Null).is_some())
    };
    match value {
        Value::Object(mut map) if known(&map) => {
            let Some(Value::String(tag)) = map.remove("type") else {
                return read_json_value("request", Value::Object(map));
            };
            variant(&tag, Value::Object(map))
                .unwrap_or_else(|| Err(serde_json::Error::custom("not a request type")))
                .map_err(|error| refuse_value("request", &error))
        }
        other => read_json_value("request", other),
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
            // The same members sorted, `"type"` among them: the skim finds it.
            let sorted = value.to_string();
            assert_eq!(parse(&sorted), Some(fast), "{name}");
            agree(&sorted);
        }
        assert!(types.len() >= 6, "{types:?}");
    }

    #[test]
    fn other_documents_fall_back_to_the_contract_parser() {
        let (_, fill) = golden_requests().swap_remove(0);
        let mut value: Value = serde_json::from_str(&fill).unwrap();
        // `"type"` last (serde_json's map is sorted, and "type" sorts after the others): read
        // after a skim for the tag.
        let sorted = value.to_string();
        assert_eq!(parse(&sorted), Some(parse_request(&fill).unwrap()));
        agree(&sorted);
        // `"type"` in the middle, and twice (the general path's error).
        let middle = sorted.replacen("\"dispensed\"", "\"type\":\"fill\",\"dispensed\"", 1);
        assert!(parse(&middle).is_none());
        agree(&middle);
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

    /// A request read from a value agrees with the same document read from text: the same
    /// request, or a refusal of the same kind with the same reason.
    fn value_agrees(text: &str) {
        use crate::ErrorCode;
        let value: Value = serde_json::from_str(text).unwrap();
        match (from_value(value), parse_request(text)) {
            (Ok(from_value), Ok(from_text)) => assert_eq!(from_value, from_text, "{text}"),
            (Err(from_value), Err(from_text)) => {
                assert_eq!(from_value.code(), from_text.code(), "{text}");
                let reason = |error: &ContractError| match error {
                    ContractError::Invalid { reason, .. } => reason.clone(),
                    other => other.to_string(),
                };
                assert_eq!(reason(&from_value), reason(&from_text), "{text}");
            }
            (a, b) => panic!("{text}: from a value {a:?}, from text {b:?}"),
        }
    }

    #[test]
    fn requests_from_values_agree_with_requests_from_text() {
        use crate::ErrorCode;
        let (_, fill) = golden_requests().swap_remove(0);
        for (_, text) in golden_requests() {
            value_agrees(&text);
            // `"type"` last.
            value_agrees(&serde_json::from_str::<Value>(&text).unwrap().to_string());
        }
        let mut value: Value = serde_json::from_str(&fill).unwrap();
        value["dispensed"]["ntii"] = Value::Bool(true);
        value_agrees(&value.to_string());
        value_agrees(&fill.replacen("\"fill\"", "\"refill\"", 1));
        value_agrees(&fill.replacen("\"schema_version\":2", "\"schema_version\":3", 1));
        value_agrees(&fill.replacen("\"quantity\"", "\"qty\"", 1));
        for text in [
            "[]",
            "{}",
            "{\"type\":1}",
            "{\"type\":\"fill\"}",
            "null",
            "7",
        ] {
            value_agrees(text);
        }
        let refused = from_value(Value::Null).unwrap_err();
        assert_eq!(refused.id(), "core.contract_invalid");
    }
}
