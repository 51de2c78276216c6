//! The canonical form must not depend on how a record travelled: the same
//! record read from OTLP protobuf and from OTLP/JSON gives the same bytes,
//! those bytes are RFC 8785 canonical JSON, and attribute order does not
//! matter. Records are generated at random; protobuf comes from prost (the
//! opentelemetry-proto types), JSON from an encoder written here from the
//! OTLP/JSON rules, independent of the code under test.

use auditchain::core::canonical::{log_records_from_json, log_records_from_proto};
use base64::Engine as _;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use proptest::prelude::*;
use prost::Message;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
enum Any {
    Empty,
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<Any>),
    Kv(Vec<(String, Any)>),
}

#[derive(Clone, Debug)]
struct Rec {
    time: u64,
    observed: u64,
    severity: i32,
    severity_text: String,
    body: Any,
    attrs: Vec<(String, Any)>,
    dropped: u32,
    flags: u32,
    trace: Option<[u8; 16]>,
    span: Option<[u8; 8]>,
    event_name: String,
}

#[derive(Clone, Debug)]
struct Scope {
    name: String,
    version: String,
    attrs: Vec<(String, Any)>,
    schema_url: String,
    records: Vec<Rec>,
}

#[derive(Clone, Debug)]
struct Res {
    attrs: Vec<(String, Any)>,
    dropped: u32,
    schema_url: String,
    scopes: Vec<Scope>,
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z.]{1,8}",
        any::<String>(),
        // Escapes JCS must get exactly right.
        Just("\"\\\u{0}\u{8}\t\n\u{c}\r\u{1f}\u{7f}\u{2028}😀é/".to_string()),
    ]
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(1e21),
        Just(5e-324),
    ]
}

fn any_value() -> impl Strategy<Value = Any> {
    let leaf = prop_oneof![
        Just(Any::Empty),
        text().prop_map(Any::Str),
        any::<bool>().prop_map(Any::Bool),
        any::<i64>().prop_map(Any::Int),
        double().prop_map(Any::Double),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Any::Bytes),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Any::Array),
            proptest::collection::vec(("[a-c]{0,2}", inner), 0..4).prop_map(Any::Kv),
        ]
    })
}

fn attrs() -> impl Strategy<Value = Vec<(String, Any)>> {
    // Keys from a small alphabet so that duplicates occur.
    proptest::collection::vec(("[a-d]{0,2}|audit\\.action", any_value()), 0..5)
}

fn record() -> impl Strategy<Value = Rec> {
    (
        (any::<u64>(), any::<u64>(), -3i32..30, text(), any_value()),
        (attrs(), any::<u32>(), any::<u32>()),
        (proptest::option::of(any::<[u8; 16]>()), proptest::option::of(any::<[u8; 8]>()), text()),
    )
        .prop_map(
            |((time, observed, severity, severity_text, body), (attrs, dropped, flags), (trace, span, event_name))| {
                Rec { time, observed, severity, severity_text, body, attrs, dropped, flags, trace, span, event_name }
            },
        )
}

fn request() -> impl Strategy<Value = Vec<Res>> {
    let scope = (text(), text(), attrs(), text(), proptest::collection::vec(record(), 0..3))
        .prop_map(|(name, version, attrs, schema_url, records)| Scope { name, version, attrs, schema_url, records });
    let res = (attrs(), any::<u32>(), text(), proptest::collection::vec(scope, 0..3))
        .prop_map(|(attrs, dropped, schema_url, scopes)| Res { attrs, dropped, schema_url, scopes });
    proptest::collection::vec(res, 0..3)
}

// ---- protobuf, through prost ----

fn pb_any(v: &Any) -> AnyValue {
    use any_value::Value as V;
    let value = match v {
        Any::Empty => None,
        Any::Str(s) => Some(V::StringValue(s.clone())),
        Any::Bool(b) => Some(V::BoolValue(*b)),
        Any::Int(i) => Some(V::IntValue(*i)),
        Any::Double(d) => Some(V::DoubleValue(*d)),
        Any::Bytes(b) => Some(V::BytesValue(b.clone())),
        Any::Array(a) => Some(V::ArrayValue(ArrayValue { values: a.iter().map(pb_any).collect() })),
        Any::Kv(kv) => Some(V::KvlistValue(KeyValueList { values: pb_kvs(kv) })),
    };
    AnyValue { value }
}

fn pb_kvs(kvs: &[(String, Any)]) -> Vec<KeyValue> {
    kvs.iter().map(|(k, v)| KeyValue { key: k.clone(), value: Some(pb_any(v)), ..Default::default() }).collect()
}

fn to_proto(req: &[Res]) -> Vec<u8> {
    let msg = ExportLogsServiceRequest {
        resource_logs: req
            .iter()
            .map(|r| ResourceLogs {
                resource: Some(Resource {
                    attributes: pb_kvs(&r.attrs),
                    dropped_attributes_count: r.dropped,
                    ..Default::default()
                }),
                schema_url: r.schema_url.clone(),
                scope_logs: r
                    .scopes
                    .iter()
                    .map(|s| ScopeLogs {
                        scope: Some(InstrumentationScope {
                            name: s.name.clone(),
                            version: s.version.clone(),
                            attributes: pb_kvs(&s.attrs),
                            dropped_attributes_count: 0,
                        }),
                        schema_url: s.schema_url.clone(),
                        log_records: s
                            .records
                            .iter()
                            .map(|l| LogRecord {
                                time_unix_nano: l.time,
                                observed_time_unix_nano: l.observed,
                                severity_number: l.severity,
                                severity_text: l.severity_text.clone(),
                                body: Some(pb_any(&l.body)),
                                attributes: pb_kvs(&l.attrs),
                                dropped_attributes_count: l.dropped,
                                flags: l.flags,
                                trace_id: l.trace.map(|t| t.to_vec()).unwrap_or_default(),
                                span_id: l.span.map(|t| t.to_vec()).unwrap_or_default(),
                                event_name: l.event_name.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    };
    msg.encode_to_vec()
}

// ---- OTLP/JSON, written here; `alt` picks the alternative spellings that
// protobuf's JSON mapping also accepts ----

fn js_any(v: &Any, alt: bool) -> Value {
    match v {
        Any::Empty => json!({}),
        Any::Str(s) => json!({ "stringValue": s }),
        Any::Bool(b) => json!({ "boolValue": b }),
        Any::Int(i) if alt && i.unsigned_abs() < (1 << 53) => json!({ "int_value": i }),
        Any::Int(i) => json!({ "intValue": i.to_string() }),
        Any::Double(d) if d.is_nan() => json!({ "doubleValue": "NaN" }),
        Any::Double(d) if d.is_infinite() => json!({ "doubleValue": if *d > 0.0 { "Infinity" } else { "-Infinity" } }),
        Any::Double(d) => json!({ "doubleValue": d }),
        Any::Bytes(b) if alt => json!({ "bytesValue": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b) }),
        Any::Bytes(b) => json!({ "bytesValue": base64::engine::general_purpose::STANDARD.encode(b) }),
        Any::Array(a) => json!({ "arrayValue": { "values": a.iter().map(|x| js_any(x, alt)).collect::<Vec<_>>() } }),
        Any::Kv(kv) => json!({ "kvlistValue": { "values": js_kvs(kv, alt) } }),
    }
}

fn js_kvs(kvs: &[(String, Any)], alt: bool) -> Vec<Value> {
    kvs.iter().map(|(k, v)| json!({ "key": k, "value": js_any(v, alt) })).collect()
}

fn hex(b: &[u8], upper: bool) -> String {
    let s: String = b.iter().map(|x| format!("{x:02x}")).collect();
    if upper { s.to_uppercase() } else { s }
}

fn to_json(req: &[Res], alt: bool) -> Value {
    let records = |s: &Scope| -> Vec<Value> {
        s.records
            .iter()
            .map(|l| {
                let mut o = serde_json::Map::new();
                if l.time != 0 || alt {
                    o.insert("timeUnixNano".into(), json!(l.time.to_string()));
                }
                if l.observed != 0 {
                    o.insert(
                        if alt { "observed_time_unix_nano" } else { "observedTimeUnixNano" }.into(),
                        json!(l.observed.to_string()),
                    );
                }
                if l.severity != 0 || alt {
                    o.insert("severityNumber".into(), json!(l.severity));
                }
                o.insert("severityText".into(), json!(l.severity_text));
                o.insert("body".into(), js_any(&l.body, alt));
                o.insert("attributes".into(), json!(js_kvs(&l.attrs, alt)));
                o.insert("droppedAttributesCount".into(), json!(l.dropped));
                o.insert("flags".into(), json!(l.flags));
                if let Some(t) = l.trace {
                    o.insert("traceId".into(), json!(hex(&t, alt)));
                }
                if let Some(t) = l.span {
                    o.insert("spanId".into(), json!(hex(&t, alt)));
                }
                if !l.event_name.is_empty() {
                    o.insert("eventName".into(), json!(l.event_name));
                }
                Value::Object(o)
            })
            .collect()
    };
    json!({
        "resourceLogs": req.iter().map(|r| json!({
            "resource": { "attributes": js_kvs(&r.attrs, alt), "droppedAttributesCount": r.dropped },
            "schemaUrl": r.schema_url,
            "scopeLogs": r.scopes.iter().map(|s| json!({
                "scope": { "name": s.name, "version": s.version, "attributes": js_kvs(&s.attrs, alt) },
                "schemaUrl": s.schema_url,
                "logRecords": records(s),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()
    })
}

fn shuffle_attrs(req: &mut [Res]) {
    fn rev(kvs: &mut [(String, Any)]) {
        kvs.reverse();
        for (_, v) in kvs.iter_mut() {
            if let Any::Kv(inner) = v {
                rev(inner);
            }
        }
    }
    for r in req {
        rev(&mut r.attrs);
        for s in &mut r.scopes {
            rev(&mut s.attrs);
            for l in &mut s.records {
                rev(&mut l.attrs);
                if let Any::Kv(inner) = &mut l.body {
                    rev(inner);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn protobuf_and_json_give_the_same_canonical_bytes(req in request()) {
        let from_proto = log_records_from_proto(&to_proto(&req)).unwrap();
        let from_json = log_records_from_json(&to_json(&req, false)).unwrap();
        let from_alt_json = log_records_from_json(&to_json(&req, true)).unwrap();
        prop_assert_eq!(&from_proto, &from_json);
        prop_assert_eq!(&from_proto, &from_alt_json);
        let n: usize = req.iter().flat_map(|r| &r.scopes).map(|s| s.records.len()).sum();
        prop_assert_eq!(from_proto.len(), n);
    }

    #[test]
    fn canonical_bytes_are_rfc8785_json(req in request()) {
        for c in log_records_from_proto(&to_proto(&req)).unwrap() {
            let parsed: Value = serde_json::from_slice(&c).expect("canonical form is JSON");
            let reference = serde_json_canonicalizer::to_vec(&parsed).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&reference), String::from_utf8_lossy(&c));
            // And it is itself a valid OTLP/JSON request that reads back the same.
            prop_assert_eq!(log_records_from_json(&parsed).unwrap(), vec![c]);
        }
    }

    #[test]
    fn attribute_order_does_not_matter(req in request()) {
        let mut shuffled = req.clone();
        shuffle_attrs(&mut shuffled);
        prop_assert_eq!(
            log_records_from_proto(&to_proto(&req)).unwrap(),
            log_records_from_proto(&to_proto(&shuffled)).unwrap()
        );
    }
}
