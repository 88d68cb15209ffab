//! Probing a serde type's strictness: does it refuse an unknown field in every object of a
//! document it reads? The family's contract types all must; their tests (and a binding
//! author's own types) check it with [`unknown_fields_refused`] on real documents.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// The field [`unknown_fields_refused`] adds (`"zz_unknown": 1`).
pub const PROBE_FIELD: &str = "zz_unknown";

/// JSON pointers (RFC 6901, `""` for the root) of every object in `value`, depth first.
pub fn object_pointers(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, String::new(), &mut out);
    out
}

fn collect(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            out.push(at.clone());
            for (key, item) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                collect(item, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                collect(item, format!("{at}/{index}"), out);
            }
        }
        _ => {}
    }
}

/// Reads `value` as a `T`, then again with [`PROBE_FIELD`] added to each of its objects in
/// turn, expecting every one of those to be refused; returns how many objects were tried,
/// or a report naming the document's own error or the objects (JSON pointers) where the
/// added field was accepted. The document must read as it is, so a refusal is the added
/// field's doing (as an unknown field, an extra key of an externally tagged enum, or a key
/// that is not valid for a map).
///
/// ```
/// use pharm_core::contract::strictness::unknown_fields_refused;
///
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Strict { a: u8 }
/// #[derive(serde::Deserialize)]
/// struct Lax { _a: u8 }
///
/// assert_eq!(unknown_fields_refused::<Strict>(&serde_json::json!({"a": 1})), Ok(1));
/// let report = unknown_fields_refused::<Lax>(&serde_json::json!({"_a": 1})).unwrap_err();
/// assert!(report.contains("accepted at [\"\"]"), "{report}");
/// ```
pub fn unknown_fields_refused<T: DeserializeOwned>(value: &Value) -> Result<usize, String> {
    if let Err(error) = serde_json::from_value::<T>(value.clone()) {
        return Err(format!("{value} does not read: {error}"));
    }
    let pointers = object_pointers(value);
    let mut accepted = Vec::new();
    for at in &pointers {
        let mut probed = value.clone();
        if let Some(Value::Object(map)) = probed.pointer_mut(at) {
            map.insert(PROBE_FIELD.to_owned(), Value::from(1));
        }
        if serde_json::from_value::<T>(probed).is_ok() {
            accepted.push(at.clone());
        }
    }
    if accepted.is_empty() {
        Ok(pointers.len())
    } else {
        Err(format!(
            "an unknown field is accepted at {accepted:?} of {value}"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn pointers_escape_keys_and_reach_every_object() {
        let doc = serde_json::json!({"a/b": {"x~": {}}, "list": [{}, 1, {"y": {}}]});
        assert_eq!(
            object_pointers(&doc),
            ["", "/a~1b", "/a~1b/x~0", "/list/0", "/list/2", "/list/2/y"]
        );
        for at in object_pointers(&doc) {
            assert!(doc.pointer(&at).is_some_and(Value::is_object), "{at}");
        }
    }

    #[test]
    fn a_map_that_takes_any_key_is_reported_where_it_accepts_one() {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Outer {
            #[allow(dead_code)]
            inner: BTreeMap<String, u8>,
        }
        let doc = serde_json::json!({"inner": {"a": 1}});
        let report = unknown_fields_refused::<Outer>(&doc).unwrap_err();
        assert!(report.contains("accepted at [\"/inner\"]"), "{report}");
        let bad = unknown_fields_refused::<Outer>(&serde_json::json!({"inner": 3})).unwrap_err();
        assert!(bad.contains("does not read"), "{bad}");
    }
}
