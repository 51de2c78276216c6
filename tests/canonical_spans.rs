//! The canonical form of spans (SPEC §2.8) must not depend on how a span
//! travelled: random spans (events, links, status, ids, dropped counts,
//! attributes of every type) read from OTLP protobuf (prost) and from
//! OTLP/JSON in both spellings protobuf's JSON mapping allows give the same
//! bytes, and those bytes are RFC 8785 JSON that reads back the same.

mod support;

use auditchain::core::canonical::{Signal, records_from_json, records_from_proto};
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use proptest::prelude::*;
use prost::Message;
use serde_json::{Map, Value};
use support::spans::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z.]{1,8}", any::<String>(), Just("\"\\\u{0}\t\u{7f}😀é".to_string())]
}

fn value() -> impl Strategy<Value = AnyValue> {
    use any_value::Value as V;
    let leaf = prop_oneof![
        text().prop_map(V::StringValue),
        any::<bool>().prop_map(V::BoolValue),
        any::<i64>().prop_map(V::IntValue),
        prop_oneof![any::<f64>(), Just(f64::NAN), Just(-0.0)].prop_map(V::DoubleValue),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(V::BytesValue),
    ]
    .prop_map(|v| AnyValue { value: Some(v) });
    leaf.prop_recursive(2, 8, 3, |inner| {
        proptest::collection::vec(inner, 0..3)
            .prop_map(|values| AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values })) })
    })
}

fn attrs() -> impl Strategy<Value = Vec<KeyValue>> {
    proptest::collection::vec(
        ("[a-c]{0,2}|audit\\.action", value()).prop_map(|(key, v)| KeyValue {
            key,
            value: Some(v),
            ..Default::default()
        }),
        0..4,
    )
}

fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![Just(Vec::new()), Just(vec![0; len]), proptest::collection::vec(any::<u8>(), len)]
}

fn event() -> impl Strategy<Value = Event> {
    (any::<u64>(), text(), attrs(), any::<u32>()).prop_map(|(time_unix_nano, name, attributes, dropped)| Event {
        time_unix_nano,
        name,
        attributes,
        dropped_attributes_count: dropped,
    })
}

fn link() -> impl Strategy<Value = Link> {
    (id(16), id(8), text(), attrs(), any::<u32>(), any::<u32>()).prop_map(
        |(trace_id, span_id, trace_state, attributes, dropped, flags)| Link {
            trace_id,
            span_id,
            trace_state,
            attributes,
            dropped_attributes_count: dropped,
            flags,
        },
    )
}

fn span() -> impl Strategy<Value = Span> {
    (
        (id(16), id(8), text(), id(8), any::<u32>(), text(), 0i32..6),
        (any::<u64>(), any::<u64>(), attrs(), any::<u32>()),
        (proptest::collection::vec(event(), 0..3), any::<u32>(), proptest::collection::vec(link(), 0..2), any::<u32>()),
        proptest::option::of((text(), 0i32..3)),
    )
        .prop_map(|(a, b, c, status)| Span {
            trace_id: a.0,
            span_id: a.1,
            trace_state: a.2,
            parent_span_id: a.3,
            flags: a.4,
            name: a.5,
            kind: a.6,
            start_time_unix_nano: b.0,
            end_time_unix_nano: b.1,
            attributes: b.2,
            dropped_attributes_count: b.3,
            events: c.0,
            dropped_events_count: c.1,
            links: c.2,
            dropped_links_count: c.3,
            status: status.map(|(message, code)| Status { message, code }),
        })
}

fn request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope = (text(), text(), attrs(), proptest::collection::vec(span(), 0..3)).prop_map(
        |(name, version, attributes, spans)| ScopeSpans {
            scope: Some(InstrumentationScope { name, version, attributes, dropped_attributes_count: 0 }),
            spans,
            schema_url: String::new(),
        },
    );
    let res =
        (attrs(), text(), proptest::collection::vec(scope, 0..2)).prop_map(|(attributes, schema_url, scope_spans)| {
            ResourceSpans { resource: Some(Resource { attributes, ..Default::default() }), scope_spans, schema_url }
        });
    proptest::collection::vec(res, 0..3).prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

fn snake(k: &str) -> String {
    let mut out = String::new();
    for c in k.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The other spellings protobuf's JSON mapping accepts: original field
/// names, enum names, uppercase hex ids.
fn alternative(v: &Value, key: &str) -> Value {
    const KINDS: [&str; 6] = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];
    const CODES: [&str; 3] = ["UNSET", "OK", "ERROR"];
    match v {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                // Attribute keys and string values are data, not members.
                let v = if k == "key" || k == "stringValue" { v.clone() } else { alternative(v, k) };
                out.insert(snake(k), v);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| alternative(x, key)).collect()),
        Value::Number(n) if key == "kind" => {
            Value::String(format!("SPAN_KIND_{}", KINDS[n.as_u64().unwrap() as usize]))
        }
        Value::Number(n) if key == "code" => {
            Value::String(format!("STATUS_CODE_{}", CODES[n.as_u64().unwrap() as usize]))
        }
        Value::String(s) if key.ends_with("Id") => Value::String(s.to_uppercase()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn protobuf_and_json_give_the_same_canonical_bytes(req in request()) {
        let from_proto = records_from_proto(Signal::Traces, &req.encode_to_vec()).unwrap();
        let json = traces_json(&req);
        prop_assert_eq!(&from_proto, &records_from_json(&json).unwrap());
        prop_assert_eq!(&from_proto, &records_from_json(&alternative(&json, "")).unwrap());
        let n: usize = req.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        prop_assert_eq!(from_proto.len(), n);
        for c in from_proto {
            let parsed: Value = serde_json::from_slice(&c).expect("canonical form is JSON");
            let reference = serde_json_canonicalizer::to_vec(&parsed).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&reference), String::from_utf8_lossy(&c));
            prop_assert_eq!(records_from_json(&parsed).unwrap(), vec![c]);
        }
    }
}
