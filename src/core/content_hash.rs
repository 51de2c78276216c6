//! The application's content hash (docs/SPEC.md §4.6): a log record that
//! carries `audit.content_hash` claims that its body hashes to it the way
//! seed 000's SDK code computes it, `sha256(json.dumps(payload,
//! sort_keys=True))` in lowercase hex. The processor checks the claim when
//! stamping (and marks or refuses a record that fails it); the verifier
//! checks it again on what was exported. Both call this module.
//!
//! Body shapes: a string body holds the payload as JSON text (seed 000
//! emits `body=json.dumps(payload)`); any other body is the payload itself
//! (a kvlist is a `dict`, an array a `list`, an int an `int`, a double a
//! `float`, a bool a `bool`, an empty body `None`). A bytes value has no
//! JSON form, so a body holding one cannot match.

use super::pyjson::{self, Py};
use super::wire::Reader;
use sha2::{Digest, Sha256};
use std::fmt;

/// What the check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Match,
    Mismatch(Reason),
}

/// Why a record's content hash does not match its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The body hashes to another value.
    Differs { computed: String },
    /// The string body is not JSON as Python's `json.loads` reads it.
    NotJson(String),
    /// The body has no JSON form (bytes).
    Unhashable(&'static str),
    /// `audit.content_hash` is not a string of 64 hexadecimal digits, or
    /// appears twice.
    BadAttribute(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Differs { computed } => write!(f, "the body hashes to {computed}"),
            Reason::NotJson(why) => write!(f, "the body is not JSON ({why})"),
            Reason::Unhashable(why) => write!(f, "the body cannot be serialised as JSON ({why})"),
            Reason::BadAttribute(why) => write!(f, "{}: {why}", super::vocab::CONTENT_HASH),
        }
    }
}

impl Outcome {
    pub fn matches(&self) -> bool {
        *self == Outcome::Match
    }
}

/// What the processor does when a stamped record's content hash does not
/// match (the `content_hash` setting of SPEC §7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// No check.
    #[default]
    Off,
    /// Stamp the record with `audit.integrity.content_hash_check: mismatch`.
    Mark,
    /// Refuse the batch, like any record that cannot be stamped as it is.
    Reject,
}

/// SHA-256 of `json.dumps(payload, sort_keys=True)`, lowercase hex.
pub fn python_hash(payload: &Py) -> String {
    let mut bytes = Vec::new();
    pyjson::dumps(&mut bytes, payload);
    crate::core::hex::to_hex(&Sha256::digest(&bytes).into())
}

/// Compares the claimed hash with the body's payload.
fn compare(claimed: &str, payload: Result<Py, Reason>) -> Outcome {
    if claimed.len() != 64 || !claimed.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Outcome::Mismatch(Reason::BadAttribute(format!("{claimed:?} is not 64 hexadecimal digits")));
    }
    let payload = match payload {
        Ok(p) => p,
        Err(why) => return Outcome::Mismatch(why),
    };
    let computed = python_hash(&payload);
    if computed.eq_ignore_ascii_case(claimed) {
        Outcome::Match
    } else {
        Outcome::Mismatch(Reason::Differs { computed })
    }
}

fn text_payload(s: &str) -> Result<Py, Reason> {
    pyjson::loads(s).map_err(|e| Reason::NotJson(e.0))
}

/// Checks a record read from protobuf: `body` is its body's AnyValue bytes
/// (`None` without a body), `claimed` the AnyValue bytes of its
/// `audit.content_hash` attribute.
pub fn check_proto(body: Option<&[u8]>, claimed: &[u8]) -> Outcome {
    let claimed = match proto_string(claimed) {
        Some(s) => s,
        None => return Outcome::Mismatch(Reason::BadAttribute("not a string value".into())),
    };
    let payload = match body {
        None => Ok(Py::None),
        Some(b) => match proto_string(b) {
            Some(s) => text_payload(s),
            None => proto_value(b, 0),
        },
    };
    compare(claimed, payload)
}

/// The string of an AnyValue that holds one.
fn proto_string(any: &[u8]) -> Option<&str> {
    let mut last = None;
    let mut r = Reader::new(any);
    while let Ok(Some((field, v))) = r.next_field() {
        last = Some((field, v));
    }
    match last {
        Some((1, v)) => v.bytes(1).ok().and_then(|b| std::str::from_utf8(b).ok()),
        _ => None,
    }
}

fn bad(why: &str) -> Reason {
    Reason::NotJson(why.to_string())
}

/// An AnyValue (protobuf) as the Python value the SDK encoded it from.
fn proto_value(any: &[u8], depth: usize) -> Result<Py, Reason> {
    if depth > pyjson::MAX_DEPTH {
        return Err(bad("nested too deeply"));
    }
    let mut last = None;
    let mut r = Reader::new(any);
    while let Some((field, v)) = r.next_field().map_err(|e| bad(&e.to_string()))? {
        last = Some((field, v));
    }
    let Some((field, v)) = last else { return Ok(Py::None) };
    let wire = |e: crate::core::wire::WireError| bad(&e.to_string());
    Ok(match field {
        1 => Py::str(std::str::from_utf8(v.bytes(1).map_err(wire)?).map_err(|_| bad("not UTF-8"))?),
        2 => Py::Bool(v.varint(2).map_err(wire)? != 0),
        3 => Py::Int((v.varint(3).map_err(wire)? as i64).to_string()),
        4 => Py::Float(f64::from_bits(v.fixed64(4).map_err(wire)?)),
        5 => {
            let mut items = Vec::new();
            let mut r = Reader::new(v.bytes(5).map_err(wire)?);
            while let Some((_, item)) = r.next_field().map_err(wire)? {
                items.push(proto_value(item.bytes(1).map_err(wire)?, depth + 1)?);
            }
            Py::List(items)
        }
        6 => {
            let mut pairs = Vec::new();
            let mut r = Reader::new(v.bytes(6).map_err(wire)?);
            while let Some((_, kv)) = r.next_field().map_err(wire)? {
                let (mut key, mut value) = (Vec::new(), None);
                let mut r = Reader::new(kv.bytes(1).map_err(wire)?);
                while let Some((f, x)) = r.next_field().map_err(wire)? {
                    match f {
                        1 => {
                            key = std::str::from_utf8(x.bytes(1).map_err(wire)?)
                                .map_err(|_| bad("not UTF-8"))?
                                .encode_utf16()
                                .collect()
                        }
                        2 => value = Some(x.bytes(2).map_err(wire)?),
                        _ => {}
                    }
                }
                pairs.push((
                    key,
                    match value {
                        Some(b) => proto_value(b, depth + 1)?,
                        None => Py::None,
                    },
                ));
            }
            Py::dict(pairs)
        }
        7 => return Err(Reason::Unhashable("a bytes value")),
        _ => return Err(bad("unknown value type")),
    })
}

/// Checks a record read from OTLP/JSON (the verifier's reader): `None` when
/// it carries no `audit.content_hash`.
pub fn check_json(record: &serde_json::Value) -> Option<Outcome> {
    use serde_json::Value;
    let mut claimed: Option<&Value> = None;
    for kv in record.get("attributes").and_then(Value::as_array).into_iter().flatten() {
        if kv.get("key").and_then(Value::as_str) == Some(super::vocab::CONTENT_HASH) {
            if claimed.is_some() {
                return Some(Outcome::Mismatch(Reason::BadAttribute("appears twice".into())));
            }
            claimed = Some(kv.get("value").unwrap_or(&Value::Null));
        }
    }
    let claimed = claimed?;
    let Some(claimed) = json_member(claimed, "stringValue", "string_value").and_then(Value::as_str) else {
        return Some(Outcome::Mismatch(Reason::BadAttribute("not a string value".into())));
    };
    let payload = match record.get("body") {
        None | Some(Value::Null) => Ok(Py::None),
        Some(body) => match json_member(body, "stringValue", "string_value").and_then(Value::as_str) {
            Some(s) => text_payload(s),
            None => json_value(body, 0),
        },
    };
    Some(compare(claimed, payload))
}

fn json_member<'v>(v: &'v serde_json::Value, camel: &str, snake: &str) -> Option<&'v serde_json::Value> {
    v.get(camel).or_else(|| v.get(snake))
}

/// An OTLP/JSON AnyValue as the Python value the SDK encoded it from.
fn json_value(v: &serde_json::Value, depth: usize) -> Result<Py, Reason> {
    use serde_json::Value;
    if depth > pyjson::MAX_DEPTH {
        return Err(bad("nested too deeply"));
    }
    let Some((k, v)) = v.as_object().and_then(|o| o.iter().next()) else { return Ok(Py::None) };
    Ok(match k.as_str() {
        "stringValue" | "string_value" => Py::str(v.as_str().ok_or_else(|| bad("stringValue"))?),
        "boolValue" | "bool_value" => Py::Bool(v.as_bool().ok_or_else(|| bad("boolValue"))?),
        "intValue" | "int_value" => Py::Int(match v {
            Value::String(s) => s.parse::<i64>().map_err(|_| bad("intValue"))?.to_string(),
            Value::Number(n) => n.as_i64().ok_or_else(|| bad("intValue"))?.to_string(),
            _ => return Err(bad("intValue")),
        }),
        "doubleValue" | "double_value" => Py::Float(match v {
            Value::Number(n) => n.as_f64().ok_or_else(|| bad("doubleValue"))?,
            Value::String(s) => match s.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                other => other.parse().map_err(|_| bad("doubleValue"))?,
            },
            _ => return Err(bad("doubleValue")),
        }),
        "arrayValue" | "array_value" => Py::List(
            v.get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|item| json_value(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        "kvlistValue" | "kvlist_value" => {
            let mut pairs = Vec::new();
            for kv in v.get("values").and_then(Value::as_array).into_iter().flatten() {
                let key = kv.get("key").and_then(Value::as_str).unwrap_or_default();
                let value = match kv.get("value") {
                    Some(x) => json_value(x, depth + 1)?,
                    None => Py::None,
                };
                pairs.push((key.encode_utf16().collect(), value));
            }
            Py::dict(pairs)
        }
        "bytesValue" | "bytes_value" => return Err(Reason::Unhashable("a bytes value")),
        _ => return Err(bad("unknown value type")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_kvlist_and_bad_bodies() {
        let h = python_hash(&pyjson::loads(r#"{"b": "x", "a": 1}"#).unwrap());
        let rec = |body: serde_json::Value, claimed: &str| json!({"body": body, "attributes": [{"key": "audit.content_hash", "value": {"stringValue": claimed}}]});
        assert_eq!(check_json(&rec(json!({"stringValue": r#"{"a":1,"b":"x"}"#}), &h)), Some(Outcome::Match));
        let kv = json!({"kvlistValue": {"values": [
            {"key": "b", "value": {"stringValue": "x"}}, {"key": "a", "value": {"intValue": "1"}}]}});
        assert_eq!(check_json(&rec(kv, &h.to_uppercase())), Some(Outcome::Match));
        assert!(matches!(
            check_json(&rec(json!({"stringValue": "{\"a\":2,\"b\":\"x\"}"}), &h)),
            Some(Outcome::Mismatch(Reason::Differs { .. }))
        ));
        assert!(matches!(
            check_json(&rec(json!({"stringValue": "not json"}), &h)),
            Some(Outcome::Mismatch(Reason::NotJson(_)))
        ));
        assert!(matches!(
            check_json(&rec(json!({"bytesValue": "AA=="}), &h)),
            Some(Outcome::Mismatch(Reason::Unhashable(_)))
        ));
        assert!(matches!(
            check_json(&rec(json!({"stringValue": "{}"}), "abc")),
            Some(Outcome::Mismatch(Reason::BadAttribute(_)))
        ));
        assert_eq!(check_json(&json!({"body": {"stringValue": "{}"}})), None);
    }
}
