//! Shared test helpers: OTLP requests built with prost, the same stamping
//! the Go shim does (apply the engine's attribute operations to the
//! records, append its extra records), and an OTLP/JSON encoder written
//! from the OTLP/JSON rules, as the fileexporter would write the result.
#![allow(dead_code)]

use auditchain::engine::Engine;
use auditchain::engine::stamps::Stamps;
use auditchain::ffi::stamps::{FlatStamps, auditchain_attr_kind, auditchain_record_stamp};
use auditchain::verify::report::{Kind, Report, Severity};
use base64::Engine as _;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::{Map, Value, json};

pub mod spans;
pub mod tlog;
pub mod tlogref;
use std::path::{Path, PathBuf};

/// 2026-11-22T04:11:00Z, the time the test streams start.
pub const T0: u64 = 1_795_320_660_000_000_000;
pub const SEC: u64 = 1_000_000_000;

pub fn s(v: &str) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(v.to_string())) }
}

pub fn kv(k: &str, v: AnyValue) -> KeyValue {
    KeyValue { key: k.to_string(), value: Some(v), ..Default::default() }
}

/// An audit record like seed 000's: actor, action, resource and a JSON body.
pub fn audit_record(i: u64) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_795_320_660_000_000_000 + i,
        observed_time_unix_nano: 1_795_320_660_000_000_500 + i,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(s(&format!(r#"{{"actor":"user-{i}","action":"delete","resource":"doc-{i}"}}"#))),
        attributes: vec![
            kv("audit.actor", s(&format!("user-{i}"))),
            kv("audit.action", s("delete")),
            kv("audit.resource", s(&format!("doc-{i}"))),
            kv("audit.schema_version", s("1.0")),
        ],
        ..Default::default()
    }
}

/// A request with `n` audit records under one resource and scope.
pub fn request(records: impl IntoIterator<Item = LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: vec![kv("service.name", s("audit.service"))], ..Default::default() }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: "audit.service".into(), ..Default::default() }),
                log_records: records.into_iter().collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Writes flat stamps onto records, as the Go shim does.
fn write_stamps<'a>(
    records: impl Iterator<Item = &'a mut LogRecord>,
    stamps: &[auditchain_record_stamp],
    flat: &FlatStamps,
) {
    let text = std::str::from_utf8(&flat.text).unwrap();
    let mut n = 0;
    for (lr, r) in records.zip(stamps) {
        n += 1;
        for op in &flat.attrs[r.first as usize..(r.first + r.count) as usize] {
            let key = auditchain::core::vocab::abi_key(op.key).expect("a known key");
            let value = match op.kind {
                auditchain_attr_kind::Str => {
                    any_value::Value::StringValue(text[op.value as usize..(op.value + op.len) as usize].to_string())
                }
                auditchain_attr_kind::Int => any_value::Value::IntValue(op.value as i64),
                auditchain_attr_kind::Bool => any_value::Value::BoolValue(op.value != 0),
            };
            lr.attributes.push(kv(key, AnyValue { value: Some(value) }));
        }
    }
    assert_eq!(n, stamps.len(), "one stamp per record");
}

fn log_records(req: &mut ExportLogsServiceRequest) -> impl Iterator<Item = &mut LogRecord> {
    req.resource_logs.iter_mut().flat_map(|rl| rl.scope_logs.iter_mut()).flat_map(|sl| sl.log_records.iter_mut())
}

/// The engine's own records of a call, stamped.
fn stamped_extra(flat: &FlatStamps) -> ExportLogsServiceRequest {
    let mut extra = ExportLogsServiceRequest::decode(&flat.extra[..]).unwrap_or_default();
    write_stamps(log_records(&mut extra), flat.extra(), flat);
    extra
}

/// What the Go shim does with the engine's result: the stamps written
/// onto the batch's records through the C ABI's flat layout, the engine's
/// own records stamped and appended.
pub fn apply(req: &mut ExportLogsServiceRequest, stamps: &Stamps) {
    let flat = FlatStamps::new(stamps);
    assert_eq!(log_records(req).count(), flat.batch().len(), "one stamp per record");
    write_stamps(log_records(req), flat.batch(), &flat);
    req.resource_logs.extend(stamped_extra(&flat).resource_logs);
}

/// The extra records of a call that stamped no batch (tick, close).
pub fn extra_only(stamps: &Stamps) -> ExportLogsServiceRequest {
    assert!(stamps.records.is_empty());
    stamped_extra(&FlatStamps::new(stamps))
}

// ---- Key files, as `auditchain keygen` writes them ----

/// A key set's chain key and signing key written as files (mode 0600) in a
/// temporary directory that lives as long as this, and its public key.
pub struct KeyFiles {
    _dir: tempfile::TempDir,
    pub chain: PathBuf,
    pub sign: PathBuf,
    pub public: String,
}

impl KeyFiles {
    pub fn new(name: &str) -> KeyFiles {
        use auditchain::core::keys::{KeySet, write_new_file};
        let dir = tempfile::tempdir().unwrap();
        let set = KeySet::generate(name).unwrap();
        let chain = dir.path().join("chain.key");
        let sign = dir.path().join("sign.key");
        write_new_file(&chain, &set.chain.to_file_string(), 0o600).unwrap();
        write_new_file(&sign, &set.signer.private_key_string(), 0o600).unwrap();
        KeyFiles { public: set.signer.verifier().public_key_string(), chain, sign, _dir: dir }
    }

    /// The signing key's verifier.
    pub fn verifier(&self) -> auditchain::core::note::NoteVerifier {
        auditchain::core::note::NoteVerifier::parse(&self.public).unwrap()
    }
}

// ---- OTLP/JSON, as pdata's JSON marshaler writes it ----

pub fn any_json(v: &AnyValue) -> Value {
    use any_value::Value as V;
    match &v.value {
        None => json!({}),
        Some(V::StringValue(s)) => json!({ "stringValue": s }),
        Some(V::BoolValue(b)) => json!({ "boolValue": b }),
        Some(V::IntValue(i)) => json!({ "intValue": i.to_string() }),
        Some(V::DoubleValue(d)) if d.is_nan() => json!({ "doubleValue": "NaN" }),
        Some(V::DoubleValue(d)) if d.is_infinite() => {
            json!({ "doubleValue": if *d > 0.0 { "Infinity" } else { "-Infinity" } })
        }
        Some(V::DoubleValue(d)) => json!({ "doubleValue": d }),
        Some(V::BytesValue(b)) => json!({ "bytesValue": base64::engine::general_purpose::STANDARD.encode(b) }),
        Some(V::ArrayValue(a)) => {
            json!({ "arrayValue": { "values": a.values.iter().map(any_json).collect::<Vec<_>>() } })
        }
        Some(V::KvlistValue(l)) => json!({ "kvlistValue": { "values": kvs_json(&l.values) } }),
        // Profiles only; the canonical form refuses it, except as the value
        // of a stamp attribute, which it leaves out (found by fuzzing).
        Some(V::StringValueStrindex(i)) => json!({ "stringValueStrindex": i }),
    }
}

pub fn kvs_json(kvs: &[KeyValue]) -> Vec<Value> {
    kvs.iter()
        .map(|kv| json!({ "key": kv.key, "value": kv.value.as_ref().map(any_json).unwrap_or(json!({})) }))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn record_json(l: &LogRecord) -> Value {
    let mut o = Map::new();
    if l.time_unix_nano != 0 {
        o.insert("timeUnixNano".into(), json!(l.time_unix_nano.to_string()));
    }
    if l.observed_time_unix_nano != 0 {
        o.insert("observedTimeUnixNano".into(), json!(l.observed_time_unix_nano.to_string()));
    }
    if l.severity_number != 0 {
        o.insert("severityNumber".into(), json!(l.severity_number));
    }
    if !l.severity_text.is_empty() {
        o.insert("severityText".into(), json!(l.severity_text));
    }
    o.insert("body".into(), l.body.as_ref().map(any_json).unwrap_or(json!({})));
    if !l.attributes.is_empty() {
        o.insert("attributes".into(), json!(kvs_json(&l.attributes)));
    }
    if l.dropped_attributes_count != 0 {
        o.insert("droppedAttributesCount".into(), json!(l.dropped_attributes_count));
    }
    if l.flags != 0 {
        o.insert("flags".into(), json!(l.flags));
    }
    if !l.trace_id.is_empty() {
        o.insert("traceId".into(), json!(hex(&l.trace_id)));
    }
    if !l.span_id.is_empty() {
        o.insert("spanId".into(), json!(hex(&l.span_id)));
    }
    if !l.event_name.is_empty() {
        o.insert("eventName".into(), json!(l.event_name));
    }
    Value::Object(o)
}

pub fn request_json(req: &ExportLogsServiceRequest) -> Value {
    json!({
        "resourceLogs": req.resource_logs.iter().map(|rl| {
            let mut o = Map::new();
            let r = rl.resource.clone().unwrap_or_default();
            let mut res = Map::new();
            if !r.attributes.is_empty() {
                res.insert("attributes".into(), json!(kvs_json(&r.attributes)));
            }
            if r.dropped_attributes_count != 0 {
                res.insert("droppedAttributesCount".into(), json!(r.dropped_attributes_count));
            }
            o.insert("resource".into(), Value::Object(res));
            o.insert("scopeLogs".into(), json!(rl.scope_logs.iter().map(|sl| {
                let sc = sl.scope.clone().unwrap_or_default();
                let mut scope = Map::new();
                if !sc.name.is_empty() { scope.insert("name".into(), json!(sc.name)); }
                if !sc.version.is_empty() { scope.insert("version".into(), json!(sc.version)); }
                if !sc.attributes.is_empty() { scope.insert("attributes".into(), json!(kvs_json(&sc.attributes))); }
                if sc.dropped_attributes_count != 0 { scope.insert("droppedAttributesCount".into(), json!(sc.dropped_attributes_count)); }
                let mut o = json!({ "scope": scope, "logRecords": sl.log_records.iter().map(record_json).collect::<Vec<_>>() });
                if !sl.schema_url.is_empty() { o["schemaUrl"] = json!(sl.schema_url); }
                o
            }).collect::<Vec<_>>()));
            if !rl.schema_url.is_empty() {
                o.insert("schemaUrl".into(), json!(rl.schema_url));
            }
            Value::Object(o)
        }).collect::<Vec<_>>()
    })
}

/// One JSON line per request, as the fileexporter writes.
pub fn json_lines(reqs: &[ExportLogsServiceRequest]) -> String {
    reqs.iter().map(|r| format!("{}\n", request_json(r))).collect()
}

// ---- Streams the engine stamps, delivered as an exporter would ----

/// Stamps `req` at time `t`, writes the stamps onto it, settles it as
/// delivered and returns it as the exporter receives it.
pub fn deliver(e: &Engine, mut req: ExportLogsServiceRequest, t: u64) -> ExportLogsServiceRequest {
    let stamps = e.stamp_logs(&req.encode_to_vec(), t).unwrap();
    apply(&mut req, &stamps);
    e.settle(stamps.batch_id, true).unwrap();
    req
}

/// Closes the stream at time `t`, delivering its final records.
pub fn close_delivered(e: &Engine, t: u64) -> ExportLogsServiceRequest {
    let stamps = e.close(t).unwrap();
    e.settle(stamps.batch_id, true).unwrap();
    extra_only(&stamps)
}

// ---- The exported files, as JSON values to read and tamper with ----

pub fn lines(reqs: &[ExportLogsServiceRequest]) -> Vec<Value> {
    reqs.iter().map(request_json).collect()
}

/// Writes one JSON line per value to `dir/name`.
pub fn write_lines(dir: &Path, name: &str, lines: &[Value]) {
    let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(dir.join(name), text).unwrap();
}

/// Every log record of the requests, in order.
pub fn records(lines: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for line in lines {
        for rl in line["resourceLogs"].as_array().unwrap() {
            for sl in rl["scopeLogs"].as_array().unwrap() {
                out.extend(sl["logRecords"].as_array().unwrap().iter().cloned());
            }
        }
    }
    out
}

pub fn attr<'a>(r: &'a Value, key: &str) -> Option<&'a Value> {
    r["attributes"].as_array().unwrap().iter().find(|kv| kv["key"] == key).map(|kv| &kv["value"])
}

pub fn attr_mut<'a>(r: &'a mut Value, key: &str) -> &'a mut Value {
    r["attributes"].as_array_mut().unwrap().iter_mut().find(|kv| kv["key"] == key).map(|kv| &mut kv["value"]).unwrap()
}

/// A record's `audit.sequence.number`, if it has one.
pub fn sequence_of(r: &Value) -> Option<u64> {
    attr(r, "audit.sequence.number").map(|v| v["intValue"].as_str().unwrap().parse().unwrap())
}

/// A record's `audit.stream.event`, if it is a control record.
pub fn event(r: &Value) -> Option<&str> {
    attr(r, "audit.stream.event").and_then(|v| v["stringValue"].as_str())
}

/// The record with sequence number `seq`, to change in place.
pub fn record_mut(lines: &mut [Value], seq: u64) -> &mut Value {
    lines
        .iter_mut()
        .flat_map(|line| line["resourceLogs"].as_array_mut().unwrap())
        .flat_map(|rl| rl["scopeLogs"].as_array_mut().unwrap())
        .flat_map(|sl| sl["logRecords"].as_array_mut().unwrap())
        .find(|r| sequence_of(r) == Some(seq))
        .unwrap_or_else(|| panic!("no record {seq}"))
}

/// What an attacker without the key can do: recompute every link from
/// record `from` on with the public, unkeyed algorithm.
pub fn recompute_plain_links(lines: &mut [Value], from: u64) {
    use sha2::Digest;
    // Record hashes in file order, then the chain in sequence order.
    let mut recs: Vec<(u64, [usize; 4], [u8; 32])> = Vec::new();
    for (li, line) in lines.iter().enumerate() {
        let canon = auditchain::core::canonical::log_records_from_json(line).unwrap();
        let mut k = 0;
        for (a, rl) in line["resourceLogs"].as_array().unwrap().iter().enumerate() {
            for (b, sl) in rl["scopeLogs"].as_array().unwrap().iter().enumerate() {
                for (c, r) in sl["logRecords"].as_array().unwrap().iter().enumerate() {
                    recs.push((sequence_of(r).unwrap(), [li, a, b, c], sha2::Sha256::digest(&canon[k]).into()));
                    k += 1;
                }
            }
        }
    }
    recs.sort();
    let mut prev: Option<[u8; 32]> = None;
    for (n, [li, a, b, c], rh) in recs {
        let r = &mut lines[li]["resourceLogs"][a]["scopeLogs"][b]["logRecords"][c];
        if n >= from {
            let stream_id = attr(r, "audit.sequence.stream_id").unwrap()["stringValue"].as_str().unwrap().to_string();
            let end = attr(r, "audit.sequence.end").is_some();
            *attr_mut(r, "audit.integrity.algorithm") = json!({"stringValue": "sha256-chain-v1"});
            r["attributes"].as_array_mut().unwrap().retain(|kv| kv["key"] != "audit.integrity.key_epoch");
            *attr_mut(r, "audit.sequence.previous_hash") =
                json!({"stringValue": auditchain::core::hex::to_hex(&prev.unwrap())});
            let link = auditchain::core::chain::Link {
                stream_id: &stream_id,
                sequence: n,
                key_epoch: 0,
                end,
                previous: prev.as_ref(),
                record_hash: &rh,
            };
            *attr_mut(r, "audit.integrity.value") =
                json!({"stringValue": auditchain::core::hex::to_hex(&link.sha256())});
        }
        prev =
            auditchain::core::hex::from_hex(attr(r, "audit.integrity.value").unwrap()["stringValue"].as_str().unwrap());
    }
}

/// Renames every OTLP/JSON member to its original (snake_case) name, as a
/// store re-encoding the JSON with protobuf's original names would.
pub fn snake_case(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let mut snake = String::new();
                    for c in k.chars() {
                        if c.is_ascii_uppercase() {
                            snake.push('_');
                            snake.push(c.to_ascii_lowercase());
                        } else {
                            snake.push(c);
                        }
                    }
                    (snake, snake_case(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(snake_case).collect()),
        other => other.clone(),
    }
}

// ---- Reports ----

/// The findings of a severity: kind, first number, last number.
pub fn kinds(r: &Report, severity: Severity) -> Vec<(Kind, Option<u64>, Option<u64>)> {
    r.streams
        .iter()
        .flat_map(|s| &s.findings)
        .chain(&r.findings)
        .filter(|f| f.severity == severity)
        .map(|f| (f.kind, f.sequence.or(f.first), f.last))
        .collect()
}

/// The kinds of the error findings, consecutive repeats merged.
pub fn error_kinds(r: &Report) -> Vec<Kind> {
    let mut k: Vec<Kind> = kinds(r, Severity::Error).into_iter().map(|(k, _, _)| k).collect();
    k.dedup();
    k
}
