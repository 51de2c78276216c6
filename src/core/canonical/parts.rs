//! The canonical objects both readers fill and write: the envelope around a
//! scope's records, record/resource/scope/entity-ref members in JCS order,
//! sorted attribute lists, and the scratch buffers reused across records.

use super::{Signal, jcs};

/// The canonical bytes that surround every record of one resource and scope:
/// `prefix ‖ record ‖ suffix` is the record's canonical form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    pub prefix: Vec<u8>,
    pub suffix: Vec<u8>,
}

impl Envelope {
    /// Builds the envelope from the canonical resource and scope objects
    /// (`None` when they are empty and therefore omitted) and schema URLs.
    pub fn new(
        signal: Signal,
        resource: Option<&[u8]>,
        resource_schema_url: &str,
        scope: Option<&[u8]>,
        scope_schema_url: &str,
    ) -> Envelope {
        let mut prefix = Vec::with_capacity(128);
        let mut suffix = Vec::with_capacity(64);
        match signal {
            Signal::Logs => {
                // Members in JCS order: resource < schemaUrl < scopeLogs, and
                // logRecords < schemaUrl < scope.
                prefix.extend_from_slice(b"{\"resourceLogs\":[{");
                if let Some(r) = resource {
                    prefix.extend_from_slice(b"\"resource\":");
                    prefix.extend_from_slice(r);
                    prefix.push(b',');
                }
                if !resource_schema_url.is_empty() {
                    prefix.extend_from_slice(b"\"schemaUrl\":");
                    jcs::write_str(&mut prefix, resource_schema_url);
                    prefix.push(b',');
                }
                prefix.extend_from_slice(b"\"scopeLogs\":[{\"logRecords\":[");
                suffix.push(b']');
                if !scope_schema_url.is_empty() {
                    suffix.extend_from_slice(b",\"schemaUrl\":");
                    jcs::write_str(&mut suffix, scope_schema_url);
                }
                if let Some(s) = scope {
                    suffix.extend_from_slice(b",\"scope\":");
                    suffix.extend_from_slice(s);
                }
                suffix.extend_from_slice(b"}]}]}");
            }
            Signal::Traces => {
                // Members in JCS order: resource < schemaUrl < scopeSpans,
                // and schemaUrl < scope < spans: the record comes last.
                prefix.extend_from_slice(b"{\"resourceSpans\":[{");
                if let Some(r) = resource {
                    prefix.extend_from_slice(b"\"resource\":");
                    prefix.extend_from_slice(r);
                    prefix.push(b',');
                }
                if !resource_schema_url.is_empty() {
                    prefix.extend_from_slice(b"\"schemaUrl\":");
                    jcs::write_str(&mut prefix, resource_schema_url);
                    prefix.push(b',');
                }
                prefix.extend_from_slice(b"\"scopeSpans\":[{");
                if !scope_schema_url.is_empty() {
                    prefix.extend_from_slice(b"\"schemaUrl\":");
                    jcs::write_str(&mut prefix, scope_schema_url);
                    prefix.push(b',');
                }
                if let Some(s) = scope {
                    prefix.extend_from_slice(b"\"scope\":");
                    prefix.extend_from_slice(s);
                    prefix.push(b',');
                }
                prefix.extend_from_slice(b"\"spans\":[");
                suffix.extend_from_slice(b"]}]}]}");
            }
        }
        Envelope { prefix, suffix }
    }
}

/// One attribute waiting to be sorted: the ranges of its key and of its
/// canonical value in the level's scratch buffer.
#[derive(Clone, Copy)]
pub(super) struct PendingKv {
    key: (usize, usize),
    value: (usize, usize),
}

/// The scratch space of one list of attributes: key bytes and canonical
/// values side by side, plus the entries that point into them.
#[derive(Default)]
pub(super) struct KvLevel {
    pub(super) bytes: Vec<u8>,
    pub(super) entries: Vec<PendingKv>,
}

impl KvLevel {
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    /// Records `key`; the caller then appends the canonical value to
    /// `self.bytes` and calls [`KvLevel::finish_value`].
    pub(super) fn start(&mut self, key: &str) -> usize {
        let ks = self.bytes.len();
        self.bytes.extend_from_slice(key.as_bytes());
        ks
    }

    pub(super) fn finish_value(&mut self, key_start: usize, key_end: usize, value_start: usize) {
        self.entries.push(PendingKv { key: (key_start, key_end), value: (value_start, self.bytes.len()) });
    }

    /// Writes `[{"key":..,"value":..},..]` sorted by key (Unicode code point
    /// order, i.e. UTF-8 byte order), ties broken by the canonical value
    /// bytes so that the order of duplicate keys in the input does not
    /// matter.
    pub(super) fn write_sorted(&mut self, out: &mut Vec<u8>) {
        let b = &self.bytes;
        self.entries.sort_unstable_by(|x, y| {
            b[x.key.0..x.key.1]
                .cmp(&b[y.key.0..y.key.1])
                .then_with(|| b[x.value.0..x.value.1].cmp(&b[y.value.0..y.value.1]))
        });
        out.push(b'[');
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"key\":");
            // Keys were validated as UTF-8 when they were read.
            jcs::write_str(out, std::str::from_utf8(&b[e.key.0..e.key.1]).unwrap_or_default());
            out.extend_from_slice(b",\"value\":");
            out.extend_from_slice(&b[e.value.0..e.value.1]);
            out.push(b'}');
        }
        out.push(b']');
    }
}

/// Writes a double in OTLP/JSON typed form: a JCS number, or the strings
/// protobuf's JSON mapping uses for values JSON numbers cannot hold.
pub(super) fn write_double_value(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(b"{\"doubleValue\":");
    if v.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if v == f64::INFINITY {
        out.extend_from_slice(b"\"Infinity\"");
    } else if v == f64::NEG_INFINITY {
        out.extend_from_slice(b"\"-Infinity\"");
    } else {
        jcs::write_finite_f64(out, v);
    }
    out.push(b'}');
}

/// A trace or span id that is empty or all zero is OTLP's "no id" and is
/// omitted from the canonical form.
fn id_is_present(id: &[u8]) -> bool {
    id.iter().any(|&b| b != 0)
}

/// Members of the canonical log record object, in JCS order. Each reader
/// fills this and [`LogRecordParts::write`] emits it.
#[derive(Default)]
pub(super) struct LogRecordParts<'a> {
    /// Canonical `[...]` of the attributes, or empty when there are none.
    pub(super) attributes: &'a [u8],
    /// Canonical AnyValue of the body, or empty when the body is empty.
    pub(super) body: &'a [u8],
    pub(super) dropped_attributes_count: u32,
    pub(super) event_name: &'a str,
    pub(super) flags: u32,
    pub(super) observed_time_unix_nano: u64,
    pub(super) severity_number: i32,
    pub(super) severity_text: &'a str,
    pub(super) span_id: &'a [u8],
    pub(super) time_unix_nano: u64,
    pub(super) trace_id: &'a [u8],
}

impl LogRecordParts<'_> {
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        let mut obj = ObjectWriter::new(out);
        if !self.attributes.is_empty() {
            obj.raw("attributes", self.attributes);
        }
        if !self.body.is_empty() {
            obj.raw("body", self.body);
        }
        if self.dropped_attributes_count != 0 {
            obj.key("droppedAttributesCount");
            jcs::write_u64(obj.out, u64::from(self.dropped_attributes_count));
        }
        if !self.event_name.is_empty() {
            obj.str("eventName", self.event_name);
        }
        if self.flags != 0 {
            obj.key("flags");
            jcs::write_u64(obj.out, u64::from(self.flags));
        }
        if self.observed_time_unix_nano != 0 {
            obj.key("observedTimeUnixNano");
            jcs::write_u64_string(obj.out, self.observed_time_unix_nano);
        }
        if self.severity_number != 0 {
            obj.key("severityNumber");
            jcs::write_i32(obj.out, self.severity_number);
        }
        if !self.severity_text.is_empty() {
            obj.str("severityText", self.severity_text);
        }
        if id_is_present(self.span_id) {
            obj.hex("spanId", self.span_id);
        }
        if self.time_unix_nano != 0 {
            obj.key("timeUnixNano");
            jcs::write_u64_string(obj.out, self.time_unix_nano);
        }
        if id_is_present(self.trace_id) {
            obj.hex("traceId", self.trace_id);
        }
        obj.end();
    }
}

/// Members of the canonical span object, in JCS order. Each reader fills
/// this and [`SpanParts::write`] emits it.
#[derive(Default)]
pub(super) struct SpanParts<'a> {
    /// Canonical `[...]` of the attributes, or empty when there are none.
    pub(super) attributes: &'a [u8],
    pub(super) dropped_attributes_count: u32,
    pub(super) dropped_events_count: u32,
    pub(super) dropped_links_count: u32,
    pub(super) end_time_unix_nano: u64,
    /// Canonical `[...]` of the events (order kept), or empty.
    pub(super) events: &'a [u8],
    pub(super) flags: u32,
    pub(super) kind: i32,
    /// Canonical `[...]` of the links (order kept), or empty.
    pub(super) links: &'a [u8],
    pub(super) name: &'a str,
    pub(super) parent_span_id: &'a [u8],
    pub(super) span_id: &'a [u8],
    pub(super) start_time_unix_nano: u64,
    /// Canonical status object, or empty when the status is the default.
    pub(super) status: &'a [u8],
    pub(super) trace_id: &'a [u8],
    pub(super) trace_state: &'a str,
}

impl SpanParts<'_> {
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        let mut obj = ObjectWriter::new(out);
        if !self.attributes.is_empty() {
            obj.raw("attributes", self.attributes);
        }
        obj.count("droppedAttributesCount", self.dropped_attributes_count);
        obj.count("droppedEventsCount", self.dropped_events_count);
        obj.count("droppedLinksCount", self.dropped_links_count);
        obj.nanos("endTimeUnixNano", self.end_time_unix_nano);
        if !self.events.is_empty() {
            obj.raw("events", self.events);
        }
        obj.count("flags", self.flags);
        if self.kind != 0 {
            obj.key("kind");
            jcs::write_i32(obj.out, self.kind);
        }
        if !self.links.is_empty() {
            obj.raw("links", self.links);
        }
        if !self.name.is_empty() {
            obj.str("name", self.name);
        }
        if id_is_present(self.parent_span_id) {
            obj.hex("parentSpanId", self.parent_span_id);
        }
        if id_is_present(self.span_id) {
            obj.hex("spanId", self.span_id);
        }
        obj.nanos("startTimeUnixNano", self.start_time_unix_nano);
        if !self.status.is_empty() {
            obj.raw("status", self.status);
        }
        if id_is_present(self.trace_id) {
            obj.hex("traceId", self.trace_id);
        }
        if !self.trace_state.is_empty() {
            obj.str("traceState", self.trace_state);
        }
        obj.end();
    }
}

/// Members of a canonical span event, in JCS order.
#[derive(Default)]
pub(super) struct EventParts<'a> {
    pub(super) attributes: &'a [u8],
    pub(super) dropped_attributes_count: u32,
    pub(super) name: &'a str,
    pub(super) time_unix_nano: u64,
}

impl EventParts<'_> {
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        let mut obj = ObjectWriter::new(out);
        if !self.attributes.is_empty() {
            obj.raw("attributes", self.attributes);
        }
        obj.count("droppedAttributesCount", self.dropped_attributes_count);
        if !self.name.is_empty() {
            obj.str("name", self.name);
        }
        obj.nanos("timeUnixNano", self.time_unix_nano);
        obj.end();
    }
}

/// Members of a canonical span link, in JCS order.
#[derive(Default)]
pub(super) struct LinkParts<'a> {
    pub(super) attributes: &'a [u8],
    pub(super) dropped_attributes_count: u32,
    pub(super) flags: u32,
    pub(super) span_id: &'a [u8],
    pub(super) trace_id: &'a [u8],
    pub(super) trace_state: &'a str,
}

impl LinkParts<'_> {
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        let mut obj = ObjectWriter::new(out);
        if !self.attributes.is_empty() {
            obj.raw("attributes", self.attributes);
        }
        obj.count("droppedAttributesCount", self.dropped_attributes_count);
        obj.count("flags", self.flags);
        if id_is_present(self.span_id) {
            obj.hex("spanId", self.span_id);
        }
        if id_is_present(self.trace_id) {
            obj.hex("traceId", self.trace_id);
        }
        if !self.trace_state.is_empty() {
            obj.str("traceState", self.trace_state);
        }
        obj.end();
    }
}

/// A span's status, `{"code":..,"message":..}`, or nothing when both are
/// defaults (pdata writes an empty status on every span).
pub(super) fn write_status(out: &mut Vec<u8>, code: i32, message: &str) {
    if code == 0 && message.is_empty() {
        return;
    }
    let mut obj = ObjectWriter::new(out);
    if code != 0 {
        obj.key("code");
        jcs::write_i32(obj.out, code);
    }
    if !message.is_empty() {
        obj.str("message", message);
    }
    obj.end();
}

/// Appends one element to a canonical list being built in `out`: `[` before
/// the first, `,` before the others. [`close_list`] ends it.
pub(super) fn list_item(out: &mut Vec<u8>) {
    out.push(if out.is_empty() { b'[' } else { b',' });
}

pub(super) fn close_list(out: &mut Vec<u8>) {
    if !out.is_empty() {
        out.push(b']');
    }
}

/// Members of a canonical resource (`attributes`, `droppedAttributesCount`,
/// `entityRefs`) or scope (`attributes`, `droppedAttributesCount`, `name`,
/// `version`) object.
#[derive(Default)]
pub(super) struct ContainerParts<'a> {
    pub(super) attributes: &'a [u8],
    pub(super) dropped_attributes_count: u32,
    pub(super) entity_refs: &'a [u8],
    pub(super) name: &'a str,
    pub(super) version: &'a str,
}

impl ContainerParts<'_> {
    /// The canonical object, or `None` when every member is a default.
    pub(super) fn write(&self) -> Option<Vec<u8>> {
        if self.attributes.is_empty()
            && self.dropped_attributes_count == 0
            && self.entity_refs.is_empty()
            && self.name.is_empty()
            && self.version.is_empty()
        {
            return None;
        }
        let mut out = Vec::new();
        let mut obj = ObjectWriter::new(&mut out);
        if !self.attributes.is_empty() {
            obj.raw("attributes", self.attributes);
        }
        if self.dropped_attributes_count != 0 {
            obj.key("droppedAttributesCount");
            jcs::write_u64(obj.out, u64::from(self.dropped_attributes_count));
        }
        if !self.entity_refs.is_empty() {
            obj.raw("entityRefs", self.entity_refs);
        }
        if !self.name.is_empty() {
            obj.str("name", self.name);
        }
        if !self.version.is_empty() {
            obj.str("version", self.version);
        }
        obj.end();
        Some(out)
    }
}

/// Members of a canonical entity reference, in JCS order.
#[derive(Default)]
pub(super) struct EntityRefParts<'a> {
    pub(super) description_keys: Vec<&'a str>,
    pub(super) id_keys: Vec<&'a str>,
    pub(super) schema_url: &'a str,
    pub(super) r#type: &'a str,
}

impl EntityRefParts<'_> {
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        let mut obj = ObjectWriter::new(out);
        if !self.description_keys.is_empty() {
            obj.key("descriptionKeys");
            write_str_array(obj.out, &self.description_keys);
        }
        if !self.id_keys.is_empty() {
            obj.key("idKeys");
            write_str_array(obj.out, &self.id_keys);
        }
        if !self.schema_url.is_empty() {
            obj.str("schemaUrl", self.schema_url);
        }
        if !self.r#type.is_empty() {
            obj.str("type", self.r#type);
        }
        obj.end();
    }
}

fn write_str_array(out: &mut Vec<u8>, items: &[&str]) {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        jcs::write_str(out, s);
    }
    out.push(b']');
}

/// Writes an object whose members the caller supplies in sorted order.
struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> ObjectWriter<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, first: true }
    }
    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }
    fn raw(&mut self, k: &str, v: &[u8]) {
        self.key(k);
        self.out.extend_from_slice(v);
    }
    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        jcs::write_str(self.out, v);
    }
    /// An integer member, omitted when 0.
    fn count(&mut self, k: &str, v: u32) {
        if v != 0 {
            self.key(k);
            jcs::write_u64(self.out, u64::from(v));
        }
    }
    /// A nanosecond timestamp as a decimal string, omitted when 0.
    fn nanos(&mut self, k: &str, v: u64) {
        if v != 0 {
            self.key(k);
            jcs::write_u64_string(self.out, v);
        }
    }
    fn hex(&mut self, k: &str, v: &[u8]) {
        self.key(k);
        self.out.push(b'"');
        jcs::write_hex(self.out, v);
        self.out.push(b'"');
    }
    fn end(self) {
        self.out.push(b'}');
    }
}

/// Scratch buffers reused across records so that canonicalising a batch
/// allocates only when a record is larger or more deeply nested than any
/// before it.
#[derive(Default)]
pub struct Scratch {
    pub(super) record: Vec<u8>,
    pub(super) attributes: Vec<u8>,
    pub(super) body: Vec<u8>,
    /// A span's events and links, written as they are read.
    pub(super) events: Vec<u8>,
    pub(super) links: Vec<u8>,
    /// The attribute list of one span event or link, read while the span's
    /// own list (level 0) is still open.
    pub(super) sub: KvLevel,
    /// One attribute list per nesting level (0: the record's attributes).
    levels: Vec<KvLevel>,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch::default()
    }

    /// Takes the level buffer for attribute lists at `depth`, cleared.
    pub(super) fn take_level(&mut self, depth: usize) -> KvLevel {
        if self.levels.len() <= depth {
            self.levels.resize_with(depth + 1, KvLevel::default);
        }
        let mut v = std::mem::take(&mut self.levels[depth]);
        v.clear();
        v
    }

    pub(super) fn put_level(&mut self, depth: usize, v: KvLevel) {
        self.levels[depth] = v;
    }
}
