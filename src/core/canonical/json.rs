//! Canonical form from OTLP/JSON, as exporters write it: the fileexporter's
//! `format: json`, awss3exporter's `otlp_json`, an OTLP/HTTP JSON body.
//!
//! Accepts the OTLP/JSON grammar of docs/SPEC.md §2.6: lowerCamelCase or
//! original field names (each field at most once, under either name),
//! 64-bit integers as decimal strings or JSON integers, enum values as
//! numbers or names, special doubles as strings, `null` as an absent
//! field. [`any`] reads one AnyValue by the same grammar, for the readers
//! of stamps and control records, so that every reader agrees.

use super::parts::{
    ContainerParts, EntityRefParts, EventParts, LinkParts, LogRecordParts, SpanParts, close_list, list_item,
    write_status,
};
use super::tree::{Kind, Tree};
use super::{CanonicalError, Envelope, ErrorKind, MAX_DEPTH, Scratch, Signal, at, err};
use crate::core::vocab as attrs;
use base64::Engine as _;
use serde_json::Value;

/// A stamp attribute found on a record: its key and OTLP/JSON AnyValue.
pub type StampAttr<'v, V = Value> = (&'v str, Option<&'v V>);

/// Receives the records of a request in order.
pub trait RecordSink<'v, V: Tree = Value> {
    fn envelope(&mut self, envelope: &Envelope);
    /// The record as read (`raw`) with its canonical object and stamp, or
    /// why it has no canonical form (the walk goes on with the next record).
    fn record(&mut self, raw: &'v V, record: Result<(&[u8], &[StampAttr<'v, V>]), CanonicalError>);
}

/// Walks every log record of an OTLP/JSON `ExportLogsServiceRequest`.
/// An error in a resource or scope (shared by its records) ends the walk.
pub fn walk_logs<'v, V: Tree>(
    request: &'v V,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'v, V>,
) -> Result<(), CanonicalError> {
    walk_signal(Signal::Logs, request, scratch, sink)
}

/// The signal of an OTLP/JSON export request: traces when it has
/// `resourceSpans`, logs otherwise (an empty object holds no records).
pub fn signal_of<V: Tree>(request: &V) -> Signal {
    match request.members() {
        Some(_) if request.get("resourceSpans").is_some() || request.get("resource_spans").is_some() => Signal::Traces,
        _ => Signal::Logs,
    }
}

/// Walks every record of an OTLP/JSON export request of either signal
/// ([`signal_of`]).
pub fn walk<'v, V: Tree>(
    request: &'v V,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'v, V>,
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
pub fn walk_signal<'v, V: Tree>(
    signal: Signal,
    request: &'v V,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'v, V>,
) -> Result<(), CanonicalError> {
    let names = names(signal);
    let mut seen = Seen::default();
    for (k, v) in object(request)? {
        if !names.resources.contains(&k) {
            return Err(unknown(k));
        }
        seen.once(0, k)?;
        let list = names.resources[0];
        for (i, rl) in array(v).map_err(|e| at(e, format_args!("{list}")))?.iter().enumerate() {
            resource_group(signal, rl, i, scratch, sink).map_err(|e| at(e, format_args!("{list}[{i}]")))?;
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

fn object<V: Tree>(v: &V) -> Result<V::Members<'_>, CanonicalError> {
    v.members().ok_or_else(|| invalid("expected a JSON object"))
}

/// An object field that may be `null` (absent, as in protobuf's JSON
/// mapping): the empty object then.
fn object_or_null<V: Tree>(v: &V) -> Result<V::Members<'_>, CanonicalError> {
    match v.kind() {
        Kind::Null => Ok(V::Members::default()),
        _ => object(v),
    }
}

/// The fields of one object seen so far. Exact repeats of a member name
/// are refused when the JSON text is parsed; this refuses a field given
/// under both of its names (`severityText` and `severity_text`), which
/// would leave two readers free to keep different values.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn once(&mut self, field: u32, name: &str) -> Result<(), CanonicalError> {
        let bit = 1u32 << field;
        if self.0 & bit != 0 {
            return Err(invalid(format!(
                "field {name:?} is given twice, under its lowerCamelCase and its original name"
            )));
        }
        self.0 |= bit;
        Ok(())
    }
}

fn array<V: Tree>(v: &V) -> Result<&[V], CanonicalError> {
    match v.kind() {
        Kind::Array(a) => Ok(a),
        Kind::Null => Ok(&[]),
        _ => Err(invalid("expected a JSON array")),
    }
}

fn string<V: Tree>(v: &V) -> Result<&str, CanonicalError> {
    match v.kind() {
        Kind::String(s) => Ok(s),
        Kind::Null => Ok(""),
        _ => Err(invalid("expected a JSON string")),
    }
}

/// A JSON string, for the readers of stamps and control records.
pub fn text<V: Tree>(v: &V) -> Result<&str, CanonicalError> {
    string(v)
}

/// Whether `s` is an integer as SPEC §2.6 spells it: `0|-?[1-9][0-9]*`
/// (no `+`, no leading zeros, no `-0`, no fraction or exponent).
fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let plain = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    plain && (s == "0" || !digits.starts_with('0'))
}

/// Whether `s` is a JSON number (RFC 8259 §6).
fn is_number_text(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == int_start || (b[int_start] == b'0' && i - int_start > 1) {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        let f = i + 1;
        i = f;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == f {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return false;
        }
    }
    i == b.len()
}

/// A 64-bit unsigned integer: a decimal string or a JSON integer, without
/// sign, fraction or exponent.
fn uint64<V: Tree>(v: &V) -> Result<u64, CanonicalError> {
    let bad = |what: &dyn std::fmt::Display| invalid(format!("{what} is not an unsigned 64-bit integer"));
    match v.kind() {
        Kind::String(s) if is_integer_text(s) && !s.starts_with('-') => s.parse().map_err(|_| bad(&format!("{s:?}"))),
        Kind::String(s) => Err(bad(&format!("{s:?}"))),
        Kind::Number(n) => n.as_u64().ok_or_else(|| bad(n)),
        Kind::Null => Ok(0),
        _ => Err(invalid("expected an integer")),
    }
}

/// An unsigned 64-bit integer field, for the readers of control records.
pub fn unsigned<V: Tree>(v: &V) -> Result<u64, CanonicalError> {
    uint64(v)
}

fn int64<V: Tree>(v: &V) -> Result<i64, CanonicalError> {
    let bad = |what: &dyn std::fmt::Display| invalid(format!("{what} is not a 64-bit integer"));
    match v.kind() {
        Kind::String(s) if is_integer_text(s) => s.parse().map_err(|_| bad(&format!("{s:?}"))),
        Kind::String(s) => Err(bad(&format!("{s:?}"))),
        Kind::Number(n) => n.as_i64().ok_or_else(|| bad(n)),
        Kind::Null => Ok(0),
        _ => Err(invalid("expected an integer")),
    }
}

fn uint32<V: Tree>(v: &V) -> Result<u32, CanonicalError> {
    let n = uint64(v)?;
    u32::try_from(n).map_err(|_| invalid(format!("{n} does not fit in 32 bits")))
}

fn double<V: Tree>(v: &V) -> Result<f64, CanonicalError> {
    match v.kind() {
        Kind::Number(n) => n.as_f64().ok_or_else(|| invalid("not a double")),
        Kind::String(s) => match s {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Some(s)
                .filter(|s| is_number_text(s))
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|f| f.is_finite())
                .ok_or_else(|| invalid(format!("{s:?} is not a double"))),
        },
        _ => Err(invalid("expected a number")),
    }
}

/// Severity: a number, or an enum name such as "SEVERITY_NUMBER_INFO".
fn severity<V: Tree>(v: &V) -> Result<i32, CanonicalError> {
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
    match v.kind() {
        Kind::String(s) => s
            .strip_prefix("SEVERITY_NUMBER_")
            .and_then(|n| NAMES.iter().position(|x| *x == n))
            .map(|i| i as i32)
            .ok_or_else(|| invalid(format!("{s:?} is not a severity number"))),
        Kind::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| invalid(format!("{n} is not a severity number"))),
        Kind::Null => Ok(0),
        _ => Err(invalid("expected a severity number")),
    }
}

/// A trace or span id: hex of exactly `len` bytes, or empty.
fn id<V: Tree>(v: Option<&V>, len: usize) -> Result<Vec<u8>, CanonicalError> {
    let Some(v) = v else { return Ok(Vec::new()) };
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

fn resource_group<'v, V: Tree>(
    signal: Signal,
    v: &'v V,
    index: usize,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'v, V>,
) -> Result<(), CanonicalError> {
    let names = names(signal);
    let mut resource = None;
    let mut scopes: &[V] = &[];
    let mut schema_url = "";
    let mut seen = Seen::default();
    for (k, v) in object(v)? {
        match k {
            "resource" => {
                seen.once(0, k)?;
                resource = container(v, scratch, true).map_err(|e| at(e, format_args!(".resource")))?
            }
            k if names.scopes.contains(&k) => {
                seen.once(1, k)?;
                scopes = array(v).map_err(|e| at(e, format_args!(".{}", names.scopes[0])))?
            }
            "schemaUrl" | "schema_url" => {
                seen.once(2, k)?;
                schema_url = string(v).map_err(|e| at(e, format_args!(".schemaUrl")))?
            }
            other => return Err(unknown(other)),
        }
    }
    for (i, sl) in scopes.iter().enumerate() {
        let path = format!("{}[{index}].{}[{i}]", names.resources[0], names.scopes[0]);
        scope_group(signal, sl, &path, resource.as_deref(), schema_url, scratch, sink)
            .map_err(|e| at(e, format_args!(".{}[{i}]", names.scopes[0])))?;
    }
    Ok(())
}

/// `path` names the scope's place in the request, for a record's errors
/// (they are handed to the sink, not returned).
fn scope_group<'v, V: Tree>(
    signal: Signal,
    v: &'v V,
    path: &str,
    resource: Option<&[u8]>,
    resource_schema_url: &str,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'v, V>,
) -> Result<(), CanonicalError> {
    let names = names(signal);
    let mut scope = None;
    let mut records: &[V] = &[];
    let mut schema_url = "";
    let mut seen = Seen::default();
    for (k, v) in object(v)? {
        match k {
            "scope" => {
                seen.once(0, k)?;
                scope = container(v, scratch, false).map_err(|e| at(e, format_args!(".scope")))?
            }
            k if names.records.contains(&k) => {
                seen.once(1, k)?;
                records = array(v).map_err(|e| at(e, format_args!(".{}", names.records[0])))?
            }
            "schemaUrl" | "schema_url" => {
                seen.once(2, k)?;
                schema_url = string(v).map_err(|e| at(e, format_args!(".schemaUrl")))?
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
            Err(e) => sink.record(r, Err(at(e, format_args!("{path}.{}[{i}]", names.records[0])))),
        }
    }
    Ok(())
}

/// A resource (`is_resource`) or an instrumentation scope; `null` is an
/// absent one.
fn container<V: Tree>(v: &V, scratch: &mut Scratch, is_resource: bool) -> Result<Option<Vec<u8>>, CanonicalError> {
    let mut parts = ContainerParts::default();
    let mut attributes = Vec::new();
    let mut refs = Vec::new();
    let mut seen = Seen::default();
    for (k, v) in object_or_null(v)? {
        match (k, is_resource) {
            ("attributes", _) => {
                seen.once(0, k)?;
                key_values(&mut attributes, Some(v), 0, scratch, None)
                    .map_err(|e| at(e, format_args!(".attributes")))?
            }
            ("droppedAttributesCount" | "dropped_attributes_count", _) => {
                seen.once(1, k)?;
                parts.dropped_attributes_count = uint32(v)?
            }
            ("entityRefs" | "entity_refs", true) => {
                seen.once(2, k)?;
                let items = array(v)?;
                for (i, item) in items.iter().enumerate() {
                    refs.push(if i == 0 { b'[' } else { b',' });
                    entity_ref(&mut refs, item).map_err(|e| at(e, format_args!(".entityRefs[{i}]")))?;
                }
                if !items.is_empty() {
                    refs.push(b']');
                }
            }
            ("name", false) => {
                seen.once(3, k)?;
                parts.name = string(v)?
            }
            ("version", false) => {
                seen.once(4, k)?;
                parts.version = string(v)?
            }
            (other, _) => return Err(unknown(other)),
        }
    }
    parts.attributes = &attributes;
    parts.entity_refs = &refs;
    Ok(parts.write())
}

fn entity_ref<V: Tree>(out: &mut Vec<u8>, v: &V) -> Result<(), CanonicalError> {
    let mut parts = EntityRefParts::default();
    let mut seen = Seen::default();
    for (k, v) in object(v)? {
        match k {
            "schemaUrl" | "schema_url" => {
                seen.once(0, k)?;
                parts.schema_url = string(v)?
            }
            "type" => {
                seen.once(1, k)?;
                parts.r#type = string(v)?
            }
            "idKeys" | "id_keys" => {
                seen.once(2, k)?;
                parts.id_keys = array(v)?.iter().map(string).collect::<Result<_, _>>()?
            }
            "descriptionKeys" | "description_keys" => {
                seen.once(3, k)?;
                parts.description_keys = array(v)?.iter().map(string).collect::<Result<_, _>>()?
            }
            other => return Err(unknown(other)),
        }
    }
    parts.write(out);
    Ok(())
}

/// The index of a field by either of its names (for [`Seen`]).
fn field_index(name: &str, fields: &[(&str, &str)]) -> Option<u32> {
    fields.iter().position(|(a, b)| *a == name || *b == name).map(|i| i as u32)
}

/// Refuses a field given under both of its names (SPEC §2.6), and a
/// member that is no field of the message.
fn check_field(seen: &mut Seen, name: &str, fields: &[(&str, &str)]) -> Result<(), CanonicalError> {
    let Some(i) = field_index(name, fields) else { return Err(unknown(name)) };
    seen.once(i, name)
}

const SPAN_FIELDS: [(&str, &str); 16] = [
    ("traceId", "trace_id"),
    ("spanId", "span_id"),
    ("parentSpanId", "parent_span_id"),
    ("traceState", "trace_state"),
    ("name", "name"),
    ("kind", "kind"),
    ("startTimeUnixNano", "start_time_unix_nano"),
    ("endTimeUnixNano", "end_time_unix_nano"),
    ("attributes", "attributes"),
    ("droppedAttributesCount", "dropped_attributes_count"),
    ("events", "events"),
    ("droppedEventsCount", "dropped_events_count"),
    ("links", "links"),
    ("droppedLinksCount", "dropped_links_count"),
    ("status", "status"),
    ("flags", "flags"),
];
const EVENT_FIELDS: [(&str, &str); 4] = [
    ("timeUnixNano", "time_unix_nano"),
    ("name", "name"),
    ("attributes", "attributes"),
    ("droppedAttributesCount", "dropped_attributes_count"),
];
const LINK_FIELDS: [(&str, &str); 6] = [
    ("traceId", "trace_id"),
    ("spanId", "span_id"),
    ("traceState", "trace_state"),
    ("attributes", "attributes"),
    ("droppedAttributesCount", "dropped_attributes_count"),
    ("flags", "flags"),
];

/// The index of a LogRecord field by either of its names (for [`Seen`]).
fn log_record_field(name: &str) -> Option<u32> {
    const FIELDS: [(&str, &str); 11] = [
        ("timeUnixNano", "time_unix_nano"),
        ("observedTimeUnixNano", "observed_time_unix_nano"),
        ("severityNumber", "severity_number"),
        ("severityText", "severity_text"),
        ("body", "body"),
        ("attributes", "attributes"),
        ("droppedAttributesCount", "dropped_attributes_count"),
        ("flags", "flags"),
        ("traceId", "trace_id"),
        ("spanId", "span_id"),
        ("eventName", "event_name"),
    ];
    field_index(name, &FIELDS)
}

fn log_record<'v, V: Tree>(
    v: &'v V,
    scratch: &mut Scratch,
    stamp: &mut Vec<StampAttr<'v, V>>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    // The record's buffers are the scratch's, kept across records: grown
    // afresh for each record they were a third of its allocations.
    let mut b = [&mut scratch.attributes, &mut scratch.body].map(take_cleared);
    let result = log_record_into(v, scratch, stamp, out, &mut b);
    [scratch.attributes, scratch.body] = b;
    result
}

/// A buffer of the scratch, emptied, for a record to write into.
fn take_cleared(buffer: &mut Vec<u8>) -> Vec<u8> {
    let mut b = std::mem::take(buffer);
    b.clear();
    b
}

/// A log record, with `buffers` (emptied) for its attributes and body.
fn log_record_into<'v, V: Tree>(
    v: &'v V,
    scratch: &mut Scratch,
    stamp: &mut Vec<StampAttr<'v, V>>,
    out: &mut Vec<u8>,
    buffers: &mut [Vec<u8>; 2],
) -> Result<(), CanonicalError> {
    let mut parts = LogRecordParts::default();
    let [attributes, body] = buffers;
    let (trace_id, span_id);
    let (mut trace, mut span) = (None, None);
    let mut seen = Seen::default();
    for (k, v) in object(v)? {
        let Some(field) = log_record_field(k) else { return Err(unknown(k)) };
        seen.once(field, k)?;
        match field {
            0 => parts.time_unix_nano = uint64(v).map_err(|e| at(e, format_args!(".timeUnixNano")))?,
            1 => parts.observed_time_unix_nano = uint64(v).map_err(|e| at(e, format_args!(".observedTimeUnixNano")))?,
            2 => parts.severity_number = severity(v).map_err(|e| at(e, format_args!(".severityNumber")))?,
            3 => parts.severity_text = string(v).map_err(|e| at(e, format_args!(".severityText")))?,
            4 => {
                any_value(body, Some(v), 1, scratch).map_err(|e| at(e, format_args!(".body")))?;
                if body == b"{}" {
                    body.clear();
                }
            }
            5 => key_values(attributes, Some(v), 0, scratch, Some(stamp))
                .map_err(|e| at(e, format_args!(".attributes")))?,
            6 => {
                parts.dropped_attributes_count =
                    uint32(v).map_err(|e| at(e, format_args!(".droppedAttributesCount")))?
            }
            7 => parts.flags = uint32(v).map_err(|e| at(e, format_args!(".flags")))?,
            8 => trace = Some(v),
            9 => span = Some(v),
            _ => parts.event_name = string(v).map_err(|e| at(e, format_args!(".eventName")))?,
        }
    }
    trace_id = id(trace, 16).map_err(|e| at(e, format_args!(".traceId")))?;
    span_id = id(span, 8).map_err(|e| at(e, format_args!(".spanId")))?;
    parts.trace_id = &trace_id;
    parts.span_id = &span_id;
    parts.attributes = attributes;
    parts.body = body;
    parts.write(out);
    Ok(())
}

/// A span kind or status code: a number, or its enum name.
fn enum_value<V: Tree>(v: &V, prefix: &str, names: &[&str]) -> Result<i32, CanonicalError> {
    match v.kind() {
        Kind::String(s) => s
            .strip_prefix(prefix)
            .and_then(|n| names.iter().position(|x| *x == n))
            .map(|i| i as i32)
            .ok_or_else(|| invalid(format!("{s:?} is not a {prefix}* value"))),
        Kind::Number(n) => {
            n.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(|| invalid(format!("{n} is not an enum value")))
        }
        Kind::Null => Ok(0),
        _ => Err(invalid("expected an enum value")),
    }
}

const SPAN_KINDS: [&str; 6] = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];
const STATUS_CODES: [&str; 3] = ["UNSET", "OK", "ERROR"];

fn span<'v, V: Tree>(
    v: &'v V,
    scratch: &mut Scratch,
    stamp: &mut Vec<StampAttr<'v, V>>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    let mut b = [&mut scratch.attributes, &mut scratch.events, &mut scratch.links, &mut scratch.body].map(take_cleared);
    let result = span_into(v, scratch, stamp, out, &mut b);
    [scratch.attributes, scratch.events, scratch.links, scratch.body] = b;
    result
}

/// A span, with `buffers` (emptied) for its attributes, events, links and
/// status.
fn span_into<'v, V: Tree>(
    v: &'v V,
    scratch: &mut Scratch,
    stamp: &mut Vec<StampAttr<'v, V>>,
    out: &mut Vec<u8>,
    buffers: &mut [Vec<u8>; 4],
) -> Result<(), CanonicalError> {
    let mut parts = SpanParts::default();
    let [attributes, events, links, status] = buffers;
    let (mut trace, mut span, mut parent) = (None, None, None);
    let mut seen = Seen::default();
    for (k, v) in object(v)? {
        check_field(&mut seen, k, &SPAN_FIELDS)?;
        let f = |e| at(e, format_args!(".{k}"));
        match k {
            "traceId" | "trace_id" => trace = Some(v),
            "spanId" | "span_id" => span = Some(v),
            "parentSpanId" | "parent_span_id" => parent = Some(v),
            "traceState" | "trace_state" => parts.trace_state = string(v).map_err(f)?,
            "name" => parts.name = string(v).map_err(f)?,
            "kind" => parts.kind = enum_value(v, "SPAN_KIND_", &SPAN_KINDS).map_err(f)?,
            "startTimeUnixNano" | "start_time_unix_nano" => parts.start_time_unix_nano = uint64(v).map_err(f)?,
            "endTimeUnixNano" | "end_time_unix_nano" => parts.end_time_unix_nano = uint64(v).map_err(f)?,
            "attributes" => key_values(attributes, Some(v), 0, scratch, Some(stamp)).map_err(f)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                parts.dropped_attributes_count = uint32(v).map_err(f)?
            }
            "events" => {
                for (i, e) in array(v).map_err(f)?.iter().enumerate() {
                    list_item(events);
                    event(events, e, scratch).map_err(|e| at(e, format_args!(".events[{i}]")))?;
                }
            }
            "droppedEventsCount" | "dropped_events_count" => parts.dropped_events_count = uint32(v).map_err(f)?,
            "links" => {
                for (i, l) in array(v).map_err(f)?.iter().enumerate() {
                    list_item(links);
                    link(links, l, scratch).map_err(|e| at(e, format_args!(".links[{i}]")))?;
                }
            }
            "droppedLinksCount" | "dropped_links_count" => parts.dropped_links_count = uint32(v).map_err(f)?,
            "status" => span_status(status, v).map_err(f)?,
            "flags" => parts.flags = uint32(v).map_err(f)?,
            other => return Err(unknown(other)),
        }
    }
    close_list(events);
    close_list(links);
    let trace_id = id(trace, 16).map_err(|e| at(e, format_args!(".traceId")))?;
    let span_id = id(span, 8).map_err(|e| at(e, format_args!(".spanId")))?;
    let parent_span_id = id(parent, 8).map_err(|e| at(e, format_args!(".parentSpanId")))?;
    parts.trace_id = &trace_id;
    parts.span_id = &span_id;
    parts.parent_span_id = &parent_span_id;
    parts.attributes = attributes;
    parts.events = events;
    parts.links = links;
    parts.status = status;
    parts.write(out);
    Ok(())
}

fn event<V: Tree>(out: &mut Vec<u8>, v: &V, scratch: &mut Scratch) -> Result<(), CanonicalError> {
    let mut parts = EventParts::default();
    let mut attributes = Vec::new();
    let mut seen = Seen::default();
    for (k, v) in object(v)? {
        check_field(&mut seen, k, &EVENT_FIELDS)?;
        let f = |e| at(e, format_args!(".{k}"));
        match k {
            "timeUnixNano" | "time_unix_nano" => parts.time_unix_nano = uint64(v).map_err(f)?,
            "name" => parts.name = string(v).map_err(f)?,
            "attributes" => key_values(&mut attributes, Some(v), 0, scratch, None).map_err(f)?,
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

fn link<V: Tree>(out: &mut Vec<u8>, v: &V, scratch: &mut Scratch) -> Result<(), CanonicalError> {
    let mut parts = LinkParts::default();
    let mut attributes = Vec::new();
    let (mut trace, mut span) = (None, None);
    let mut seen = Seen::default();
    for (k, v) in object(v)? {
        check_field(&mut seen, k, &LINK_FIELDS)?;
        let f = |e| at(e, format_args!(".{k}"));
        match k {
            "traceId" | "trace_id" => trace = Some(v),
            "spanId" | "span_id" => span = Some(v),
            "traceState" | "trace_state" => parts.trace_state = string(v).map_err(f)?,
            "attributes" => key_values(&mut attributes, Some(v), 0, scratch, None).map_err(f)?,
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

fn span_status<V: Tree>(out: &mut Vec<u8>, v: &V) -> Result<(), CanonicalError> {
    let (mut code, mut message) = (0, "");
    for (k, v) in object(v)? {
        match k {
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
fn key_values<'v, V: Tree>(
    out: &mut Vec<u8>,
    v: Option<&'v V>,
    depth: usize,
    scratch: &mut Scratch,
    mut stamp: Option<&mut Vec<StampAttr<'v, V>>>,
) -> Result<(), CanonicalError> {
    let items = match v {
        Some(v) => array(v)?,
        None => &[],
    };
    let mut level = scratch.take_level(depth);
    let result = (|| {
        for item in items {
            let mut key = "";
            let mut value = None;
            for (k, v) in object(item)? {
                match k {
                    "key" => key = string(v)?,
                    "value" => value = Some(v),
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

/// An OTLP/JSON AnyValue as read: its one member, by either name, with its
/// value checked by the grammar of SPEC §2.6.
#[derive(Debug, PartialEq)]
pub enum Any<'v, V = Value> {
    /// No value: `{}`, `null`, or a member whose value is `null`.
    None,
    String(&'v str),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    /// The elements of an `arrayValue`.
    Array(&'v [V]),
    /// The `values` of a `kvlistValue` (an attribute list).
    Kvlist(Option<&'v V>),
}

/// Reads one AnyValue that may be absent (`None`: no value, as `null`).
pub fn any_or_none<V: Tree>(v: Option<&V>) -> Result<Any<'_, V>, CanonicalError> {
    v.map_or(Ok(Any::None), any)
}

/// Reads one AnyValue. The canonical writer and the readers of stamps and
/// control records all go through here, so that they accept exactly the
/// same spellings.
pub fn any<V: Tree>(v: &V) -> Result<Any<'_, V>, CanonicalError> {
    let obj = object_or_null(v)?;
    let mut members = obj;
    let Some((k, v)) = members.next() else { return Ok(Any::None) };
    if members.next().is_some() {
        return Err(invalid(
            "a value must have exactly one of stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue, bytesValue",
        ));
    }
    // A null member is an absent one (protobuf's JSON mapping), once its
    // name is known to be an AnyValue member.
    Ok(match k {
        name if v.is_null() => {
            const MEMBERS: [&str; 14] = [
                "stringValue",
                "string_value",
                "boolValue",
                "bool_value",
                "intValue",
                "int_value",
                "doubleValue",
                "double_value",
                "arrayValue",
                "array_value",
                "kvlistValue",
                "kvlist_value",
                "bytesValue",
                "bytes_value",
            ];
            if !MEMBERS.contains(&name) {
                return Err(unknown(name));
            }
            Any::None
        }
        "stringValue" | "string_value" => Any::String(string(v)?),
        "boolValue" | "bool_value" => Any::Bool(v.as_bool().ok_or_else(|| invalid("boolValue must be true or false"))?),
        "intValue" | "int_value" => Any::Int(int64(v)?),
        "doubleValue" | "double_value" => Any::Double(double(v)?),
        "arrayValue" | "array_value" => {
            let mut values: &[V] = &[];
            for (k, v) in object(v)? {
                match k {
                    "values" => values = array(v)?,
                    other => return Err(unknown(other)),
                }
            }
            Any::Array(values)
        }
        "kvlistValue" | "kvlist_value" => {
            let mut values = None;
            for (k, v) in object(v)? {
                match k {
                    "values" => values = Some(v),
                    other => return Err(unknown(other)),
                }
            }
            Any::Kvlist(values)
        }
        "bytesValue" | "bytes_value" => Any::Bytes(bytes_value(string(v)?)?),
        other => return Err(unknown(other)),
    })
}

fn any_value<V: Tree>(
    out: &mut Vec<u8>,
    v: Option<&V>,
    depth: usize,
    scratch: &mut Scratch,
) -> Result<(), CanonicalError> {
    if depth > MAX_DEPTH {
        return Err(err(ErrorKind::TooDeep));
    }
    match any_or_none(v)? {
        Any::None => out.extend_from_slice(b"{}"),
        Any::String(s) => {
            out.extend_from_slice(b"{\"stringValue\":");
            super::jcs::write_str(out, s);
            out.push(b'}');
        }
        Any::Bool(b) => out.extend_from_slice(if b { b"{\"boolValue\":true}" } else { b"{\"boolValue\":false}" }),
        Any::Int(n) => {
            out.extend_from_slice(b"{\"intValue\":");
            super::jcs::write_i64_string(out, n);
            out.push(b'}');
        }
        Any::Double(d) => super::parts::write_double_value(out, d),
        Any::Array(values) => {
            out.extend_from_slice(b"{\"arrayValue\":{");
            for (i, item) in values.iter().enumerate() {
                out.extend_from_slice(if i == 0 { b"\"values\":[" } else { b"," });
                any_value(out, Some(item), depth + 1, scratch).map_err(|e| at(e, format_args!(".arrayValue[{i}]")))?;
            }
            out.extend_from_slice(if values.is_empty() { b"}}" } else { b"]}}" });
        }
        Any::Kvlist(values) => {
            let mut list = Vec::new();
            key_values(&mut list, values, depth, scratch, None).map_err(|e| at(e, format_args!(".kvlistValue")))?;
            out.extend_from_slice(b"{\"kvlistValue\":{");
            if !list.is_empty() {
                out.extend_from_slice(b"\"values\":");
                out.extend_from_slice(&list);
            }
            out.extend_from_slice(b"}}");
        }
        Any::Bytes(b) => {
            out.extend_from_slice(b"{\"bytesValue\":\"");
            out.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(b).as_bytes());
            out.extend_from_slice(b"\"}");
        }
    }
    Ok(())
}
