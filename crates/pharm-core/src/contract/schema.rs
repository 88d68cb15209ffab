//! JSON Schema of the contract (feature `schema`), generated from the types with
//! `schemars`. Types whose JSON form is their text form (dates, NDCs, rule ids...) describe
//! that text here.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema, schema_for};
use serde_json::Value;

use crate::contract::SchemaVersion;
use crate::ids::Ndc;
use crate::model::{DawCode, Expiry, Price};
use crate::rules::{Context, Decision, Request, RuleId};
use crate::time::{Date, DateTime};

/// The JSON Schema (draft 2020-12) of each document of the contract, by file stem:
/// `request`, `context` and `decision`. The repository commits them as
/// `schema/<stem>.schema.json`.
pub fn schemas() -> [(&'static str, Value); 3] {
    [
        ("request", Value::from(schema_for!(Request))),
        ("context", Value::from(schema_for!(Context))),
        ("decision", Value::from(schema_for!(Decision))),
    ]
}

/// A string schema with a pattern and a description.
fn text(pattern: &str, description: &str) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": pattern,
        "description": description,
    })
}

impl JsonSchema for Date {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        text(
            "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "Store-local calendar date YYYY-MM-DD, years 1900-9999.",
        )
    }
}

impl JsonSchema for DateTime {
    fn schema_name() -> Cow<'static, str> {
        "DateTime".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        text(
            "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$",
            "Store-local timestamp YYYY-MM-DDTHH:MM:SS (no zone), years 1900-9999.",
        )
    }
}

impl JsonSchema for Expiry {
    fn schema_name() -> Cow<'static, str> {
        "Expiry".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        text(
            "^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$",
            "Lot expiry as printed: YYYY-MM-DD, or YYYY-MM meaning the month's last day.",
        )
    }
}

impl JsonSchema for Ndc {
    fn schema_name() -> Cow<'static, str> {
        "Ndc".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        text(
            "^[0-9]{4,6}-[0-9]{3,4}-[0-9]{1,2}$",
            "National Drug Code in its hyphenated native layout (4-4-2, 5-3-2, 5-4-1, 5-4-2 or 6-4-2).",
        )
    }
}

impl JsonSchema for Price {
    fn schema_name() -> Cow<'static, str> {
        "Price".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        text(
            "^[0-9]+(\\.[0-9]+)?$",
            "Non-negative amount of US dollars as an exact decimal string (at most 28 significant digits); never a JSON number.",
        )
    }
}

impl JsonSchema for DawCode {
    fn schema_name() -> Cow<'static, str> {
        "DawCode".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": 0,
            "maximum": 9,
            "description": "NCPDP Dispense-As-Written code (408-D8), 0-9.",
        })
    }
}

impl JsonSchema for RuleId {
    fn schema_name() -> Cow<'static, str> {
        "RuleId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let ids: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        json_schema!({
            "type": "string",
            "enum": ids,
            "description": "Stable rule identifier of the dispensing rule table.",
        })
    }
}

impl JsonSchema for SchemaVersion {
    fn schema_name() -> Cow<'static, str> {
        "SchemaVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "const": SchemaVersion::CURRENT.get(),
            "description": "Version of the pharm JSON contract; documents of another version are rejected.",
        })
    }
}
