//! OTLP trace messages for the tests: the protobuf messages of
//! opentelemetry/proto/trace/v1/trace.proto as prost types (field numbers
//! from the .proto; opentelemetry-proto's "trace" feature would pull the
//! OpenTelemetry SDK into the tests), and an OTLP/JSON encoder written from
//! the OTLP/JSON rules, as pdata's JSON marshaler writes spans.

use super::{hex, kvs_json};
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{Map, Value, json};

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportTraceServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceSpans {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_spans: Vec<ScopeSpans>,
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ScopeSpans {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    pub spans: Vec<Span>,
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Span {
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "3")]
    pub trace_state: String,
    #[prost(bytes = "vec", tag = "4")]
    pub parent_span_id: Vec<u8>,
    #[prost(fixed32, tag = "16")]
    pub flags: u32,
    #[prost(string, tag = "5")]
    pub name: String,
    #[prost(int32, tag = "6")]
    pub kind: i32,
    #[prost(fixed64, tag = "7")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "8")]
    pub end_time_unix_nano: u64,
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "10")]
    pub dropped_attributes_count: u32,
    #[prost(message, repeated, tag = "11")]
    pub events: Vec<Event>,
    #[prost(uint32, tag = "12")]
    pub dropped_events_count: u32,
    #[prost(message, repeated, tag = "13")]
    pub links: Vec<Link>,
    #[prost(uint32, tag = "14")]
    pub dropped_links_count: u32,
    #[prost(message, optional, tag = "15")]
    pub status: Option<Status>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    #[prost(fixed64, tag = "1")]
    pub time_unix_nano: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "4")]
    pub dropped_attributes_count: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Link {
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "3")]
    pub trace_state: String,
    #[prost(message, repeated, tag = "4")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "5")]
    pub dropped_attributes_count: u32,
    #[prost(fixed32, tag = "6")]
    pub flags: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(int32, tag = "3")]
    pub code: i32,
}

fn put(o: &mut Map<String, Value>, k: &str, v: Value, present: bool) {
    if present {
        o.insert(k.into(), v);
    }
}

fn attributes(o: &mut Map<String, Value>, kvs: &[KeyValue], dropped: u32) {
    put(o, "attributes", json!(kvs_json(kvs)), !kvs.is_empty());
    put(o, "droppedAttributesCount", json!(dropped), dropped != 0);
}

pub fn span_json(s: &Span) -> Value {
    let mut o = Map::new();
    put(&mut o, "traceId", json!(hex(&s.trace_id)), !s.trace_id.is_empty());
    put(&mut o, "spanId", json!(hex(&s.span_id)), !s.span_id.is_empty());
    put(&mut o, "traceState", json!(s.trace_state), !s.trace_state.is_empty());
    put(&mut o, "parentSpanId", json!(hex(&s.parent_span_id)), !s.parent_span_id.is_empty());
    put(&mut o, "flags", json!(s.flags), s.flags != 0);
    o.insert("name".into(), json!(s.name));
    put(&mut o, "kind", json!(s.kind), s.kind != 0);
    put(&mut o, "startTimeUnixNano", json!(s.start_time_unix_nano.to_string()), s.start_time_unix_nano != 0);
    put(&mut o, "endTimeUnixNano", json!(s.end_time_unix_nano.to_string()), s.end_time_unix_nano != 0);
    attributes(&mut o, &s.attributes, s.dropped_attributes_count);
    let events: Vec<Value> = s
        .events
        .iter()
        .map(|e| {
            let mut o = Map::new();
            put(&mut o, "timeUnixNano", json!(e.time_unix_nano.to_string()), e.time_unix_nano != 0);
            o.insert("name".into(), json!(e.name));
            attributes(&mut o, &e.attributes, e.dropped_attributes_count);
            Value::Object(o)
        })
        .collect();
    put(&mut o, "events", json!(events), !events.is_empty());
    put(&mut o, "droppedEventsCount", json!(s.dropped_events_count), s.dropped_events_count != 0);
    let links: Vec<Value> = s
        .links
        .iter()
        .map(|l| {
            let mut o = Map::new();
            put(&mut o, "traceId", json!(hex(&l.trace_id)), !l.trace_id.is_empty());
            put(&mut o, "spanId", json!(hex(&l.span_id)), !l.span_id.is_empty());
            put(&mut o, "traceState", json!(l.trace_state), !l.trace_state.is_empty());
            attributes(&mut o, &l.attributes, l.dropped_attributes_count);
            put(&mut o, "flags", json!(l.flags), l.flags != 0);
            Value::Object(o)
        })
        .collect();
    put(&mut o, "links", json!(links), !links.is_empty());
    put(&mut o, "droppedLinksCount", json!(s.dropped_links_count), s.dropped_links_count != 0);
    // pdata writes a status on every span, `{}` when it is the default.
    let st = s.status.clone().unwrap_or_default();
    let mut status = Map::new();
    put(&mut status, "message", json!(st.message), !st.message.is_empty());
    put(&mut status, "code", json!(st.code), st.code != 0);
    o.insert("status".into(), Value::Object(status));
    Value::Object(o)
}

fn scope_json(sc: &InstrumentationScope) -> Value {
    let mut scope = Map::new();
    put(&mut scope, "name", json!(sc.name), !sc.name.is_empty());
    put(&mut scope, "version", json!(sc.version), !sc.version.is_empty());
    attributes(&mut scope, &sc.attributes, sc.dropped_attributes_count);
    Value::Object(scope)
}

pub fn traces_json(req: &ExportTraceServiceRequest) -> Value {
    json!({
        "resourceSpans": req.resource_spans.iter().map(|rs| {
            let mut o = Map::new();
            let r = rs.resource.clone().unwrap_or_default();
            let mut res = Map::new();
            attributes(&mut res, &r.attributes, r.dropped_attributes_count);
            o.insert("resource".into(), Value::Object(res));
            o.insert("scopeSpans".into(), json!(rs.scope_spans.iter().map(|ss| {
                let mut so = Map::new();
                so.insert("scope".into(), scope_json(&ss.scope.clone().unwrap_or_default()));
                so.insert("spans".into(), json!(ss.spans.iter().map(span_json).collect::<Vec<_>>()));
                put(&mut so, "schemaUrl", json!(ss.schema_url), !ss.schema_url.is_empty());
                Value::Object(so)
            }).collect::<Vec<_>>()));
            put(&mut o, "schemaUrl", json!(rs.schema_url), !rs.schema_url.is_empty());
            Value::Object(o)
        }).collect::<Vec<_>>()
    })
}

/// One resource and scope around `spans`.
pub fn traces(
    resource: Option<Resource>,
    scope: Option<InstrumentationScope>,
    spans: Vec<Span>,
) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource,
            scope_spans: vec![ScopeSpans { scope, spans, schema_url: String::new() }],
            schema_url: String::new(),
        }],
    }
}

// ---- Stamping spans as the Go shim does ----

use auditchain::core::canonical::Signal;
use auditchain::engine::Engine;
use auditchain::engine::stamps::Stamps;
use auditchain::ffi::stamps::{FlatStamps, auditchain_attr_kind, auditchain_record_stamp};
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use prost::Message;

fn spans_mut(req: &mut ExportTraceServiceRequest) -> impl Iterator<Item = &mut Span> {
    req.resource_spans.iter_mut().flat_map(|r| r.scope_spans.iter_mut()).flat_map(|s| s.spans.iter_mut())
}

fn write_span_stamps<'a>(
    spans: impl Iterator<Item = &'a mut Span>,
    stamps: &[auditchain_record_stamp],
    flat: &FlatStamps,
) {
    let text = std::str::from_utf8(&flat.text).unwrap();
    let mut n = 0;
    for (span, r) in spans.zip(stamps) {
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
            span.attributes.push(super::kv(key, AnyValue { value: Some(value) }));
        }
    }
    assert_eq!(n, stamps.len(), "one stamp per span");
}

/// Writes a call's stamps onto `req` and appends the engine's own spans.
pub fn apply_spans(req: &mut ExportTraceServiceRequest, stamps: &Stamps) {
    let flat = FlatStamps::new(stamps);
    write_span_stamps(spans_mut(req), flat.batch(), &flat);
    req.resource_spans.extend(extra_spans(&flat).resource_spans);
}

fn extra_spans(flat: &FlatStamps) -> ExportTraceServiceRequest {
    let mut extra = ExportTraceServiceRequest::decode(&flat.extra[..]).unwrap_or_default();
    write_span_stamps(spans_mut(&mut extra), flat.extra(), flat);
    extra
}

/// Stamps the selected spans of `req` (all with `None`) at `t`, settles the
/// batch as delivered and returns it as the exporter receives it.
pub fn deliver_spans(
    e: &Engine,
    mut req: ExportTraceServiceRequest,
    t: u64,
    selection: Option<&[u8]>,
) -> ExportTraceServiceRequest {
    let stamps = e.stamp(Signal::Traces, &req.encode_to_vec(), selection, t).unwrap();
    apply_spans(&mut req, &stamps);
    if stamps.batch_id != 0 {
        e.settle(stamps.batch_id, true).unwrap();
    }
    req
}

/// Closes a traces stream at `t`, delivering its final spans.
pub fn close_spans(e: &Engine, t: u64) -> ExportTraceServiceRequest {
    let stamps = e.close(t).unwrap();
    e.settle(stamps.batch_id, true).unwrap();
    extra_spans(&FlatStamps::new(&stamps))
}

/// Every span of OTLP/JSON trace requests, to change in place.
pub fn json_spans_mut(lines: &mut [Value]) -> impl Iterator<Item = &mut Value> {
    lines
        .iter_mut()
        .flat_map(|line| line["resourceSpans"].as_array_mut().unwrap())
        .flat_map(|rs| rs["scopeSpans"].as_array_mut().unwrap())
        .flat_map(|ss| ss["spans"].as_array_mut().unwrap())
}
