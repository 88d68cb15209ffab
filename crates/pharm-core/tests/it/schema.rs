//! The committed JSON Schema (`schema/` at the repository root) is what the types generate,
//! and it accepts every golden document while rejecting unknown fields.
//!
//! Regenerate after an intended contract change (with a `schema_version` bump) with
//! `PHARM_BLESS=1 cargo test -p pharm-core --features schema --test it schema` and review
//! the diff.

use std::path::PathBuf;

use serde_json::Value;

use pharm_core::contract::schemas;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema")
}

fn committed(stem: &str) -> Value {
    let path = dir().join(format!("{stem}.schema.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (generate it with PHARM_BLESS=1)", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn committed_schema_is_current() {
    for (stem, schema) in schemas() {
        if std::env::var_os("PHARM_BLESS").is_some() {
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            std::fs::create_dir_all(dir()).unwrap();
            std::fs::write(dir().join(format!("{stem}.schema.json")), text).unwrap();
        }
        assert!(
            committed(stem) == schema,
            "schema/{stem}.schema.json does not match the types: regenerate it with \
             PHARM_BLESS=1 cargo test -p pharm-core --features schema --test it schema \
             (and bump SchemaVersion::CURRENT if the contract changed)"
        );
    }
}

/// Validates `value` against the subset of JSON Schema that schemars emits (`$ref`,
/// `type`, `properties`, `required`, `additionalProperties`, `enum`, `const`, `oneOf`,
/// `anyOf`, `items`, `prefixItems`, `minimum`, `maximum`). Returns the first violation.
fn check(root: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let Some(obj) = schema.as_object() else {
        return Ok(()); // `true`
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return check(root, &root["$defs"][name], value, at);
    }
    if let Some(t) = obj.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            "null" => value.is_null(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {value} is not of type {t}"));
        }
    }
    if let Some(e) = obj.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        return Err(format!("{at}: {value} not in enum"));
    }
    if let Some(c) = obj.get("const")
        && c != value
    {
        return Err(format!("{at}: {value} is not {c}"));
    }
    if let Some(n) = value.as_i64() {
        if obj
            .get("minimum")
            .and_then(Value::as_i64)
            .is_some_and(|m| n < m)
        {
            return Err(format!("{at}: {n} below minimum"));
        }
        if obj
            .get("maximum")
            .and_then(Value::as_i64)
            .is_some_and(|m| n > m)
        {
            return Err(format!("{at}: {n} above maximum"));
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = obj.get(key).and_then(Value::as_array) {
            let passing = options
                .iter()
                .filter(|s| check(root, s, value, at).is_ok())
                .count();
            let ok = if key == "oneOf" {
                passing == 1
            } else {
                passing >= 1
            };
            if !ok {
                return Err(format!("{at}: {passing} of the {key} alternatives match"));
            }
        }
    }
    if let Some(map) = value.as_object() {
        let props = obj.get("properties").and_then(Value::as_object);
        for req in obj
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = req.as_str().unwrap_or_default();
            if !map.contains_key(name) {
                return Err(format!("{at}: missing {name}"));
            }
        }
        for (k, v) in map {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(root, s, v, &format!("{at}/{k}"))?,
                None if obj.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: unknown property {k}"));
                }
                None => {}
            }
        }
    }
    if let Some(items) = value.as_array() {
        let prefix = obj.get("prefixItems").and_then(Value::as_array);
        for (i, v) in items.iter().enumerate() {
            let s = match prefix.and_then(|p| p.get(i)) {
                Some(s) => s,
                None => match obj.get("items") {
                    Some(s) => s,
                    None => continue,
                },
            };
            check(root, s, v, &format!("{at}/{i}"))?;
        }
    }
    Ok(())
}

fn golden() -> Vec<Value> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golden/decisions.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn schema_accepts_golden_documents_and_rejects_unknown_fields() {
    let cases = golden();
    for stem in ["request", "context", "decision"] {
        let schema = committed(stem);
        for case in &cases {
            let doc = &case[stem];
            check(&schema, &schema, doc, stem).unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
            let mut extra = doc.clone();
            extra["ntii"] = Value::Bool(true);
            assert!(
                check(&schema, &schema, &extra, stem).is_err(),
                "{stem}: unknown field accepted"
            );
            if stem != "context" {
                let mut old = doc.clone();
                old["schema_version"] = Value::from(0);
                assert!(
                    check(&schema, &schema, &old, stem).is_err(),
                    "{stem}: version 0 accepted"
                );
            }
        }
    }
}
