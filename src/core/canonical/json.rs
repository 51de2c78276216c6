//! Canonical form from OTLP/JSON, as exporters write it: the fileexporter's
//! `format: json`, awss3exporter's `otlp_json`, an OTLP/HTTP JSON body.
//!
//! Accepts what protobuf's JSON mapping accepts for these messages:
//! lowerCamelCase or original field names, 64-bit integers as strings or
//! numbers, enum values as numbers or names, special doubles as strings.

use super::parts::{
    ContainerParts, EntityRefParts, EventParts, LinkParts, LogRecordParts, SpanParts, close_list, list_item,
    write_status,
};
use super::{CanonicalError, Envelope, ErrorKind, MAX_DEPTH, Scratch, Signal, at, err};
use crate::core::vocab as attrs;
use base64::Engine as _;
use serde_json::{Map, Value};

/// A stamp attribute found on a record: its key and OTLP/JSON AnyValue.
pub type StampAttr<'v> = (&'v str, &'v Value);

/// Receives the records of a request in order.
pub trait RecordSink<'v> {
    fn envelope(&mut self, envelope: &Envelope);
    /// The record as read (`raw`) with its canonical object and stamp, or
    /// why it has no canonical form (the walk goes on with the next record).
    fn record(&mut self, raw: &'v Value, record: Result<(&[u8], &[StampAttr<'v>]), CanonicalError>);
}

/// Walks every log record of an OTLP/JSON `ExportLogsServiceRequest`.
/// An error in a resource or scope (shared by its records) ends the walk.
pub fn walk_logs<'v>(
    request: &'v Value,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'v>,
) -> Result<(), CanonicalError> {
    walk_signal(Signal::Logs, request, scratch, sink)
}

/// The signal of an OTLP/JSON export request: traces when it has
/// `resourceSpans`, logs otherwise (an empty object holds no records).
pub fn signal_of(request: &Value) -> Signal {
    match request.as_object() {
        Some(o) if o.contains_key("resourceSpans") || o.contains_key("resource_spans") => Signal::Traces,
        _ => Signal::Logs,
    }
}

/// Walks every record of an OTLP/JSON export request of either signal
/// ([`signal_of`]).
pub fn walk<'v>(
    request: &'v Value,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'v>,
) -> Result<(), CanonicalError> {
    walk_signal(signal_of(request), request, scratch, sink)
}

/// Member names of a signal's lists: lowerCamelCase and original.
struct Names {
    resources: [&'static str; 2],
    scopes: [&'static str; 2],
    records: [&'static str; 2],
}

fn names(signal: Signal) -> &'static Names {
    const LOGS: Names = Names {
        resources: ["resourceLogs", "resource_logs"],
        scopes: ["scopeLogs", "scope_logs"],
        records: ["logRecords", "log_records"],
    };
    const TRACES: Names = Names {
        resources: ["resourceSpans", "resource_spans"],
        scopes: ["scopeSpans", "scope_spans"],
        records: ["spans", "spans"],
    };
    match signal {
        Signal::Logs => &LOGS,
        Signal::Traces => &TRACES,
    }
}

/// Walks every record of an OTLP/JSON export request of `signal`. An error
/// in a resource or scope (shared by its records) ends the walk.
pub fn walk_signal<'v>(
    signal: Signal,
    request: &'v Value,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'v>,
) -> Result<(), CanonicalError> {
    let names = names(signal);
    for (k, v) in object(request)? {
        if !names.resources.contains(&k.as_str()) {
            return Err(unknown(k));
        }
        let list = names.resources[0];
        for (i, rl) in array(v).map_err(|e| at(e, format_args!("{list}")))?.iter().enumerate() {
            resource_group(signal, rl, scratch, sink).map_err(|e| at(e, format_args!("{list}[{i}]")))?;
        }
    }
    Ok(())
}

fn unknown(name: &str) -> CanonicalError {
    err(ErrorKind::UnknownField(format!("{name:?}")))
}

fn invalid(why: impl Into<String>) -> CanonicalError {
    err(ErrorKind::InvalidValue(why.into()))
}

fn object(v: &Value) -> Result<&Map<String, Value>, CanonicalError> {
    v.as_object().ok_or_else(|| invalid("expected a JSON object"))
}

fn array(v: &Value) -> Result<&[Value], CanonicalError> {
    match v {
        Value::Array(a) => Ok(a),
        Value::Null => Ok(&[]),
        _ => Err(invalid("expected a JSON array")),
    }
}

fn string(v: &Value) -> Result<&str, CanonicalError> {
    match v {
        Value::String(s) => Ok(s),
        Value::Null => Ok(""),
        _ => Err(invalid("expected a JSON string")),
    }
}

/// A 64-bit unsigned integer: a decimal string or a JSON integer.
fn uint64(v: &Value) -> Result<u64, CanonicalError> {
    match v {
        Value::String(s) => s.parse().map_err(|_| invalid(format!("{s:?} is not an unsigned 64-bit integer"))),
        Value::Number(n) => n.as_u64().ok_or_else(|| invalid(format!("{n} is not an unsigned 64-bit integer"))),
        Value::Null => Ok(0),
        _ => Err(invalid("expected an integer")),
    }
}

fn int64(v: &Value) -> Result<i64, CanonicalError> {
    match v {
        Value::String(s) => s.parse().map_err(|_| invalid(format!("{s:?} is not a 64-bit integer"))),
        Value::Number(n) => n.as_i64().ok_or_else(|| invalid(format!("{n} is not a 64-bit integer"))),
        Value::Null => Ok(0),
        _ => Err(invalid("expected an integer")),
    }
}

fn uint32(v: &Value) -> Result<u32, CanonicalError> {
    let n = uint64(v)?;
    u32::try_from(n).map_err(|_| invalid(format!("{n} does not fit in 32 bits")))
}

fn double(v: &Value) -> Result<f64, CanonicalError> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| invalid("not a double")),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => {
                s.parse::<f64>().ok().filter(|f| f.is_finite()).ok_or_else(|| invalid(format!("{s:?} is not a double")))
            }
        },
        _ => Err(invalid("expected a number")),
    }
}

/// Severity: a number, or an enum name such as "SEVERITY_NUMBER_INFO".
fn severity(v: &Value) -> Result<i32, CanonicalError> {
    const NAMES: [&str; 25] = [
        "UNSPECIFIED",
        "TRACE",
        "TRACE2",
        "TRACE3",
        "TRACE4",
        "DEBUG",
        "DEBUG2",
        "DEBUG3",
        "DEBUG4",
        "INFO",
        "INFO2",
        "INFO3",
        "INFO4",
        "WARN",
        "WARN2",
        "WARN3",
        "WARN4",
        "ERROR",
        "ERROR2",
        "ERROR3",
        "ERROR4",
        "FATAL",
        "FATAL2",
        "FATAL3",
        "FATAL4",
    ];
    match v {
        Value::String(s) => s
            .strip_prefix("SEVERITY_NUMBER_")
            .and_then(|n| NAMES.iter().position(|x| *x == n))
            .map(|i| i as i32)
            .ok_or_else(|| invalid(format!("{s:?} is not a severity number"))),
        Value::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| invalid(format!("{n} is not a severity number"))),
        Value::Null => Ok(0),
        _ => Err(invalid("expected a severity number")),
    }
}

/// A trace or span id: hex of exactly `len` bytes, or empty.
fn id(v: &Value, len: usize) -> Result<Vec<u8>, CanonicalError> {
    let s = string(v)?;
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let b = crate::core::hex::decode_hex(s).ok_or_else(|| invalid(format!("{s:?} is not hexadecimal")))?;
    if b.len() != len {
        return Err(invalid(format!("id must be {len} bytes, not {}", b.len())));
    }
    Ok(b)
}

fn bytes_value(s: &str) -> Result<Vec<u8>, CanonicalError> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        if let Ok(b) = engine.decode(s) {
            return Ok(b);
        }
    }
    Err(invalid(format!("{s:?} is not base64")))
}

fn resource_group<'v>(
    signal: Signal,
    v: &'v Value,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'v>,
) -> Result<(), CanonicalError> {
    let names = names(signal);
    let mut resource = None;
    let mut scopes: &[Value] = &[];
    let mut schema_url = "";
    for (k, v) in object(v)? {
        match k.as_str() {
            "resource" => resource = container(v, scratch, true).map_err(|e| at(e, format_args!(".resource")))?,
            "schemaUrl" | "schema_url" => schema_url = string(v).map_err(|e| at(e, format_args!(".schemaUrl")))?,
            k if names.scopes.contains(&k) => {
                scopes = array(v).map_err(|e| at(e, format_args!(".{}", names.scopes[0])))?
            }
            other => return Err(unknown(other)),
        }
    }
    for (i, sl) in scopes.iter().enumerate() {
        scope_group(signal, sl, resource.as_deref(), schema_url, scratch, sink)
            .map_err(|e| at(e, format_args!(".{}[{i}]", names.scopes[0])))?;
    }
    Ok(())
}

fn scope_group<'v>(
    signal: Signal,
    v: &'v Value,
    resource: Option<&[u8]>,
    resource_schema_url: &str,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'v>,
) -> Result<(), CanonicalError> {
    let names = names(signal);
    let mut scope = None;
    let mut records: &[Value] = &[];
    let mut schema_url = "";
    for (k, v) in object(v)? {
        match k.as_str() {
            "scope" => scope = container(v, scratch, false).map_err(|e| at(e, format_args!(".scope")))?,
            "schemaUrl" | "schema_url" => schema_url = string(v).map_err(|e| at(e, format_args!(".schemaUrl")))?,
            k if names.records.contains(&k) => {
                records = array(v).map_err(|e| at(e, format_args!(".{}", names.records[0])))?
            }
            other => return Err(unknown(other)),
        }
    }
    sink.envelope(&Envelope::new(signal, resource, resource_schema_url, scope.as_deref(), schema_url));
    let mut stamp = Vec::new();
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        stamp.clear();
        out.clear();
        let read = match signal {
            Signal::Logs => log_record(r, scratch, &mut stamp, &mut out),
            Signal::Traces => span(r, scratch, &mut stamp, &mut out),
        };
        match read {
            Ok(()) => sink.record(r, Ok((&out, &stamp))),
            Err(e) => sink.record(r, Err(at(e, format_args!(".{}[{i}]", names.records[0])))),
        }
    }
    Ok(())
}

/// A resource (`is_resource`) or an instrumentation scope.
fn container(v: &Value, scratch: &mut Scratch, is_resource: bool) -> Result<Option<Vec<u8>>, CanonicalError> {
    let mut parts = ContainerParts::default();
    let mut attributes = Vec::new();
    let mut refs = Vec::new();
    for (k, v) in object(v)? {
        match (k.as_str(), is_resource) {
            ("attributes", _) => {
                key_values(&mut attributes, v, 0, scratch, None).map_err(|e| at(e, format_args!(".attributes")))?
            }
            ("droppedAttributesCount" | "dropped_attributes_count", _) => parts.dropped_attributes_count = uint32(v)?,
            ("entityRefs" | "entity_refs", true) => {
                let items = array(v)?;
                for (i, item) in items.iter().enumerate() {
                    refs.push(if i == 0 { b'[' } else { b',' });
                    entity_ref(&mut refs, item).map_err(|e| at(e, format_args!(".entityRefs[{i}]")))?;
                }
                if !items.is_empty() {
                    refs.push(b']');
                }
            }
            ("name", false) => parts.name = string(v)?,
            ("version", false) => parts.version = string(v)?,
            (other, _) => return Err(unknown(other)),
        }
    }
    parts.attributes = &attributes;
    parts.entity_refs = &refs;
    Ok(parts.write())
}

fn entity_ref(out: &mut Vec<u8>, v: &Value) -> Result<(), CanonicalError> {
    let mut parts = EntityRefParts::default();
    for (k, v) in object(v)? {
        match k.as_str() {
            "schemaUrl" | "schema_url" => parts.schema_url = string(v)?,
            "type" => parts.r#type = string(v)?,
            "idKeys" | "id_keys" => parts.id_keys = array(v)?.iter().map(string).collect::<Result<_, _>>()?,
            "descriptionKeys" | "description_keys" => {
                parts.description_keys = array(v)?.iter().map(string).collect::<Result<_, _>>()?
            }
            other => return Err(unknown(other)),
        }
    }
    parts.write(out);
    Ok(())
}

fn log_record<'v>(
    v: &'v Value,
    scratch: &mut Scratch,
    stamp: &mut Vec<StampAttr<'v>>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    let mut parts = LogRecordParts::default();
    let mut attributes = Vec::new();
    let mut body = Vec::new();
    let (trace_id, span_id);
    let (mut trace, mut span) = (&Value::Null, &Value::Null);
    for (k, v) in object(v)? {
        match k.as_str() {
            "timeUnixNano" | "time_unix_nano" => {
                parts.time_unix_nano = uint64(v).map_err(|e| at(e, format_args!(".timeUnixNano")))?
            }
            "observedTimeUnixNano" | "observed_time_unix_nano" => {
                parts.observed_time_unix_nano = uint64(v).map_err(|e| at(e, format_args!(".observedTimeUnixNano")))?
            }
            "severityNumber" | "severity_number" => {
                parts.severity_number = severity(v).map_err(|e| at(e, format_args!(".severityNumber")))?
            }
            "severityText" | "severity_text" => {
                parts.severity_text = string(v).map_err(|e| at(e, format_args!(".severityText")))?
            }
            "body" => {
                any_value(&mut body, v, 1, scratch).map_err(|e| at(e, format_args!(".body")))?;
                if body == b"{}" {
                    body.clear();
                }
            }
            "attributes" => key_values(&mut attributes, v, 0, scratch, Some(stamp))
                .map_err(|e| at(e, format_args!(".attributes")))?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                parts.dropped_attributes_count =
                    uint32(v).map_err(|e| at(e, format_args!(".droppedAttributesCount")))?
            }
            "flags" => parts.flags = uint32(v).map_err(|e| at(e, format_args!(".flags")))?,
            "traceId" | "trace_id" => trace = v,
            "spanId" | "span_id" => span = v,
            "eventName" | "event_name" => {
                parts.event_name = string(v).map_err(|e| at(e, format_args!(".eventName")))?
            }
            other => return Err(unknown(other)),
        }
    }
    trace_id = id(trace, 16).map_err(|e| at(e, format_args!(".traceId")))?;
    span_id = id(span, 8).map_err(|e| at(e, format_args!(".spanId")))?;
    parts.trace_id = &trace_id;
    parts.span_id = &span_id;
    parts.attributes = &attributes;
    parts.body = &body;
    parts.write(out);
    Ok(())
}

/// A span kind or status code: a number, or its enum name.
fn enum_value(v: &Value, prefix: &str, names: &[&str]) -> Result<i32, CanonicalError> {
    match v {
        Value::String(s) => s
            .strip_prefix(prefix)
            .and_then(|n| names.iter().position(|x| *x == n))
            .map(|i| i as i32)
            .ok_or_else(|| invalid(format!("{s:?} is not a {prefix}* value"))),
        Value::Number(n) => {
            n.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(|| invalid(format!("{n} is not an enum value")))
        }
        Value::Null => Ok(0),
        _ => Err(invalid("expected an enum value")),
    }
}

const SPAN_KINDS: [&str; 6] = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];
const STATUS_CODES: [&str; 3] = ["UNSET", "OK", "ERROR"];

fn span<'v>(
    v: &'v Value,
    scratch: &mut Scratch,
    stamp: &mut Vec<StampAttr<'v>>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    let mut parts = SpanParts::default();
    let (mut attributes, mut events, mut links, mut status) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut trace, mut span, mut parent) = (&Value::Null, &Value::Null, &Value::Null);
    for (k, v) in object(v)? {
        let f = |e| at(e, format_args!(".{k}"));
        match k.as_str() {
            "traceId" | "trace_id" => trace = v,
            "spanId" | "span_id" => span = v,
            "parentSpanId" | "parent_span_id" => parent = v,
            "traceState" | "trace_state" => parts.trace_state = string(v).map_err(f)?,
            "name" => parts.name = string(v).map_err(f)?,
            "kind" => parts.kind = enum_value(v, "SPAN_KIND_", &SPAN_KINDS).map_err(f)?,
            "startTimeUnixNano" | "start_time_unix_nano" => parts.start_time_unix_nano = uint64(v).map_err(f)?,
            "endTimeUnixNano" | "end_time_unix_nano" => parts.end_time_unix_nano = uint64(v).map_err(f)?,
            "attributes" => key_values(&mut attributes, v, 0, scratch, Some(stamp)).map_err(f)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                parts.dropped_attributes_count = uint32(v).map_err(f)?
            }
            "events" => {
                for (i, e) in array(v).map_err(f)?.iter().enumerate() {
                    list_item(&mut events);
                    event(&mut events, e, scratch).map_err(|e| at(e, format_args!(".events[{i}]")))?;
                }
            }
            "droppedEventsCount" | "dropped_events_count" => parts.dropped_events_count = uint32(v).map_err(f)?,
            "links" => {
                for (i, l) in array(v).map_err(f)?.iter().enumerate() {
                    list_item(&mut links);
                    link(&mut links, l, scratch).map_err(|e| at(e, format_args!(".links[{i}]")))?;
                }
            }
            "droppedLinksCount" | "dropped_links_count" => parts.dropped_links_count = uint32(v).map_err(f)?,
            "status" => span_status(&mut status, v).map_err(f)?,
            "flags" => parts.flags = uint32(v).map_err(f)?,
            other => return Err(unknown(other)),
        }
    }
    close_list(&mut events);
    close_list(&mut links);
    let trace_id = id(trace, 16).map_err(|e| at(e, format_args!(".traceId")))?;
    let span_id = id(span, 8).map_err(|e| at(e, format_args!(".spanId")))?;
    let parent_span_id = id(parent, 8).map_err(|e| at(e, format_args!(".parentSpanId")))?;
    parts.trace_id = &trace_id;
    parts.span_id = &span_id;
    parts.parent_span_id = &parent_span_id;
    parts.attributes = &attributes;
    parts.events = &events;
    parts.links = &links;
    parts.status = &status;
    parts.write(out);
    Ok(())
}

fn event(out: &mut Vec<u8>, v: &Value, scratch: &mut Scratch) -> Result<(), CanonicalError> {
    let mut parts = EventParts::default();
    let mut attributes = Vec::new();
    for (k, v) in object(v)? {
        let f = |e| at(e, format_args!(".{k}"));
        match k.as_str() {
            "timeUnixNano" | "time_unix_nano" => parts.time_unix_nano = uint64(v).map_err(f)?,
            "name" => parts.name = string(v).map_err(f)?,
            "attributes" => key_values(&mut attributes, v, 0, scratch, None).map_err(f)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                parts.dropped_attributes_count = uint32(v).map_err(f)?
            }
            other => return Err(unknown(other)),
        }
    }
    parts.attributes = &attributes;
    parts.write(out);
    Ok(())
}

fn link(out: &mut Vec<u8>, v: &Value, scratch: &mut Scratch) -> Result<(), CanonicalError> {
    let mut parts = LinkParts::default();
    let mut attributes = Vec::new();
    let (mut trace, mut span) = (&Value::Null, &Value::Null);
    for (k, v) in object(v)? {
        let f = |e| at(e, format_args!(".{k}"));
        match k.as_str() {
            "traceId" | "trace_id" => trace = v,
            "spanId" | "span_id" => span = v,
            "traceState" | "trace_state" => parts.trace_state = string(v).map_err(f)?,
            "attributes" => key_values(&mut attributes, v, 0, scratch, None).map_err(f)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                parts.dropped_attributes_count = uint32(v).map_err(f)?
            }
            "flags" => parts.flags = uint32(v).map_err(f)?,
            other => return Err(unknown(other)),
        }
    }
    let trace_id = id(trace, 16).map_err(|e| at(e, format_args!(".traceId")))?;
    let span_id = id(span, 8).map_err(|e| at(e, format_args!(".spanId")))?;
    parts.trace_id = &trace_id;
    parts.span_id = &span_id;
    parts.attributes = &attributes;
    parts.write(out);
    Ok(())
}

fn span_status(out: &mut Vec<u8>, v: &Value) -> Result<(), CanonicalError> {
    let (mut code, mut message) = (0, "");
    for (k, v) in object(v)? {
        match k.as_str() {
            "code" => code = enum_value(v, "STATUS_CODE_", &STATUS_CODES).map_err(|e| at(e, format_args!(".code")))?,
            "message" => message = string(v).map_err(|e| at(e, format_args!(".message")))?,
            other => return Err(unknown(other)),
        }
    }
    write_status(out, code, message);
    Ok(())
}

/// Writes a sorted attribute list, or nothing when it is empty. With
/// `stamp`, the list is a record's own attributes and stamp attributes are
/// moved there instead of being written.
fn key_values<'v>(
    out: &mut Vec<u8>,
    v: &'v Value,
    depth: usize,
    scratch: &mut Scratch,
    mut stamp: Option<&mut Vec<StampAttr<'v>>>,
) -> Result<(), CanonicalError> {
    let items = array(v)?;
    let mut level = scratch.take_level(depth);
    let result = (|| {
        for item in items {
            let mut key = "";
            let mut value = &Value::Null;
            for (k, v) in object(item)? {
                match k.as_str() {
                    "key" => key = string(v)?,
                    "value" => value = v,
                    other => return Err(unknown(other)),
                }
            }
            if let Some(stamp) = stamp.as_deref_mut()
                && attrs::is_stamp(key)
            {
                stamp.push((key, value));
                continue;
            }
            let ks = level.start(key);
            let ke = level.bytes.len();
            any_value(&mut level.bytes, value, depth + 1, scratch).map_err(|e| at(e, format_args!("[{key:?}]")))?;
            level.finish_value(ks, ke, ke);
        }
        Ok(())
    })();
    if result.is_ok() && !level.entries.is_empty() {
        level.write_sorted(out);
    }
    scratch.put_level(depth, level);
    result
}

fn any_value(out: &mut Vec<u8>, v: &Value, depth: usize, scratch: &mut Scratch) -> Result<(), CanonicalError> {
    if depth > MAX_DEPTH {
        return Err(err(ErrorKind::TooDeep));
    }
    let obj = match v {
        Value::Null => {
            out.extend_from_slice(b"{}");
            return Ok(());
        }
        v => object(v)?,
    };
    let mut members = obj.iter();
    let Some((k, v)) = members.next() else {
        out.extend_from_slice(b"{}");
        return Ok(());
    };
    if members.next().is_some() {
        return Err(invalid(
            "a value must have exactly one of stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue, bytesValue",
        ));
    }
    match k.as_str() {
        "stringValue" | "string_value" => {
            out.extend_from_slice(b"{\"stringValue\":");
            super::jcs::write_str(out, string(v)?);
            out.push(b'}');
        }
        "boolValue" | "bool_value" => {
            let b = v.as_bool().ok_or_else(|| invalid("boolValue must be true or false"))?;
            out.extend_from_slice(if b { b"{\"boolValue\":true}" } else { b"{\"boolValue\":false}" });
        }
        "intValue" | "int_value" => {
            out.extend_from_slice(b"{\"intValue\":");
            super::jcs::write_i64_string(out, int64(v)?);
            out.push(b'}');
        }
        "doubleValue" | "double_value" => super::parts::write_double_value(out, double(v)?),
        "arrayValue" | "array_value" => {
            let mut values: &[Value] = &[];
            for (k, v) in object(v)? {
                match k.as_str() {
                    "values" => values = array(v)?,
                    other => return Err(unknown(other)),
                }
            }
            out.extend_from_slice(b"{\"arrayValue\":{");
            for (i, item) in values.iter().enumerate() {
                out.extend_from_slice(if i == 0 { b"\"values\":[" } else { b"," });
                any_value(out, item, depth + 1, scratch).map_err(|e| at(e, format_args!(".arrayValue[{i}]")))?;
            }
            out.extend_from_slice(if values.is_empty() { b"}}" } else { b"]}}" });
        }
        "kvlistValue" | "kvlist_value" => {
            let mut values = &Value::Null;
            for (k, v) in object(v)? {
                match k.as_str() {
                    "values" => values = v,
                    other => return Err(unknown(other)),
                }
            }
            let mut list = Vec::new();
            key_values(&mut list, values, depth, scratch, None).map_err(|e| at(e, format_args!(".kvlistValue")))?;
            out.extend_from_slice(b"{\"kvlistValue\":{");
            if !list.is_empty() {
                out.extend_from_slice(b"\"values\":");
                out.extend_from_slice(&list);
            }
            out.extend_from_slice(b"}}");
        }
        "bytesValue" | "bytes_value" => {
            let b = bytes_value(string(v)?)?;
            out.extend_from_slice(b"{\"bytesValue\":\"");
            out.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(b).as_bytes());
            out.extend_from_slice(b"\"}");
        }
        other => return Err(unknown(other)),
    }
    Ok(())
}
