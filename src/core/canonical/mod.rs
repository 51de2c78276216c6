//! The canonical form of a record (`otlp-jcs-v1`, docs/SPEC.md §2).
//!
//! A record's canonical bytes are the RFC 8785 (JCS) serialisation of the
//! OTLP/JSON export request that holds only that record, with its resource
//! and scope, after these normalisations: fields equal to their protobuf
//! default are omitted, attribute lists are sorted, zero trace and span ids
//! are omitted, and the stamp attributes auditchain writes are left out.
//!
//! Two readers produce those bytes: [`proto`] walks OTLP protobuf in place
//! (the processor's hot path) and [`json`] reads OTLP/JSON (the verifier).
//! Both share the writers below, and the test vectors pin them together.

pub mod jcs;
pub mod json;
pub mod proto;

use std::fmt;

/// Name of this canonical form, written to `audit.integrity.canonicalization`.
pub const CANONICALIZATION: &str = "otlp-jcs-v1";

/// Deepest nesting of `arrayValue`/`kvlistValue` accepted (a scalar at the
/// top of a body or attribute value is depth 1). Deeper values are refused
/// rather than risking the stack, in the collector and in the verifier.
pub const MAX_DEPTH: usize = 32;

/// Which OTLP signal a record belongs to. The canonical form wraps the
/// record in that signal's export request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Logs,
}

/// Why a record has no canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalError {
    /// Where in the request, as an OTLP/JSON path
    /// (`resourceLogs[0].scopeLogs[1].logRecords[2].attributes["k"]`).
    pub path: String,
    pub kind: ErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The bytes are not a protobuf message of the expected shape.
    Malformed(String),
    /// A field the canonical form does not know; hashing around it would
    /// leave it unprotected.
    UnknownField(String),
    /// A string field holds bytes that are not UTF-8.
    InvalidUtf8,
    /// Values nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A record already carries an attribute that auditchain writes.
    AlreadyStamped(String),
    /// A value of the wrong JSON type or format.
    InvalidValue(String),
}

impl ErrorKind {
    /// True when the record itself is unacceptable (as opposed to the
    /// batch being garbled in transport).
    pub fn is_record_problem(&self) -> bool {
        !matches!(self, ErrorKind::Malformed(_))
    }
}

impl fmt::Display for CanonicalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.path.is_empty() { "request" } else { &self.path };
        match &self.kind {
            ErrorKind::Malformed(why) => write!(f, "{at}: malformed: {why}"),
            ErrorKind::UnknownField(name) => write!(
                f,
                "{at}: unknown field {name}; auditchain's canonical form {CANONICALIZATION} does not cover it, so the record cannot be protected"
            ),
            ErrorKind::InvalidUtf8 => write!(f, "{at}: string is not valid UTF-8"),
            ErrorKind::TooDeep => write!(f, "{at}: value nested deeper than {MAX_DEPTH} levels"),
            ErrorKind::AlreadyStamped(key) => write!(
                f,
                "{at}: record already carries the auditchain attribute \"{key}\"; records must reach auditchain unstamped (is a second auditchain processor upstream?)"
            ),
            ErrorKind::InvalidValue(why) => write!(f, "{at}: {why}"),
        }
    }
}

impl std::error::Error for CanonicalError {}

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
        }
        Envelope { prefix, suffix }
    }
}

/// One attribute waiting to be sorted: the ranges of its key and of its
/// canonical value in the level's scratch buffer.
#[derive(Clone, Copy)]
struct PendingKv {
    key: (usize, usize),
    value: (usize, usize),
}

/// The scratch space of one list of attributes: key bytes and canonical
/// values side by side, plus the entries that point into them.
#[derive(Default)]
struct KvLevel {
    bytes: Vec<u8>,
    entries: Vec<PendingKv>,
}

impl KvLevel {
    fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    /// Records `key`; the caller then appends the canonical value to
    /// `self.bytes` and calls [`KvLevel::finish_value`].
    fn start(&mut self, key: &str) -> usize {
        let ks = self.bytes.len();
        self.bytes.extend_from_slice(key.as_bytes());
        ks
    }

    fn finish_value(&mut self, key_start: usize, key_end: usize, value_start: usize) {
        self.entries.push(PendingKv { key: (key_start, key_end), value: (value_start, self.bytes.len()) });
    }

    /// Writes `[{"key":..,"value":..},..]` sorted by key (Unicode code point
    /// order, i.e. UTF-8 byte order), ties broken by the canonical value
    /// bytes so that the order of duplicate keys in the input does not
    /// matter.
    fn write_sorted(&mut self, out: &mut Vec<u8>) {
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
fn write_double_value(out: &mut Vec<u8>, v: f64) {
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
struct LogRecordParts<'a> {
    /// Canonical `[...]` of the attributes, or empty when there are none.
    attributes: &'a [u8],
    /// Canonical AnyValue of the body, or empty when the body is empty.
    body: &'a [u8],
    dropped_attributes_count: u32,
    event_name: &'a str,
    flags: u32,
    observed_time_unix_nano: u64,
    severity_number: i32,
    severity_text: &'a str,
    span_id: &'a [u8],
    time_unix_nano: u64,
    trace_id: &'a [u8],
}

impl LogRecordParts<'_> {
    fn write(&self, out: &mut Vec<u8>) {
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

/// Members of a canonical resource (`attributes`, `droppedAttributesCount`,
/// `entityRefs`) or scope (`attributes`, `droppedAttributesCount`, `name`,
/// `version`) object.
#[derive(Default)]
struct ContainerParts<'a> {
    attributes: &'a [u8],
    dropped_attributes_count: u32,
    entity_refs: &'a [u8],
    name: &'a str,
    version: &'a str,
}

impl ContainerParts<'_> {
    /// The canonical object, or `None` when every member is a default.
    fn write(&self) -> Option<Vec<u8>> {
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
struct EntityRefParts<'a> {
    description_keys: Vec<&'a str>,
    id_keys: Vec<&'a str>,
    schema_url: &'a str,
    r#type: &'a str,
}

impl EntityRefParts<'_> {
    fn write(&self, out: &mut Vec<u8>) {
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
    record: Vec<u8>,
    attributes: Vec<u8>,
    body: Vec<u8>,
    /// One attribute list per nesting level (0: the record's attributes).
    levels: Vec<KvLevel>,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch::default()
    }

    /// Takes the level buffer for attribute lists at `depth`, cleared.
    fn take_level(&mut self, depth: usize) -> KvLevel {
        if self.levels.len() <= depth {
            self.levels.resize_with(depth + 1, KvLevel::default);
        }
        let mut v = std::mem::take(&mut self.levels[depth]);
        v.clear();
        v
    }

    fn put_level(&mut self, depth: usize, v: KvLevel) {
        self.levels[depth] = v;
    }
}

/// Prepends a path segment to an error on its way out.
fn at(mut e: CanonicalError, segment: std::fmt::Arguments<'_>) -> CanonicalError {
    e.path = format!("{segment}{}", e.path);
    e
}

fn err(kind: ErrorKind) -> CanonicalError {
    CanonicalError { path: String::new(), kind }
}

/// SHA-256 of canonical records, resuming from a saved state after each
/// envelope's prefix so that the shared prefix is hashed once per scope.
#[derive(Clone, Default)]
pub struct RecordHasher {
    midstate: sha2::Sha256,
    suffix: Vec<u8>,
}

impl RecordHasher {
    pub fn set_envelope(&mut self, envelope: &Envelope) {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(&envelope.prefix);
        self.midstate = h;
        self.suffix.clear();
        self.suffix.extend_from_slice(&envelope.suffix);
    }

    /// The record hash: SHA-256 over `prefix ‖ record ‖ suffix`.
    pub fn hash(&self, record: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        let mut h = self.midstate.clone();
        h.update(record);
        h.update(&self.suffix);
        h.finalize().into()
    }
}

/// Collects record hashes, one per record, in request order.
struct HashSink {
    hasher: RecordHasher,
    hashes: Vec<[u8; 32]>,
}

impl<'a> proto::RecordSink<'a> for HashSink {
    fn envelope(&mut self, envelope: &Envelope) {
        self.hasher.set_envelope(envelope);
    }
    fn record(&mut self, canonical: &[u8], _stamp: &[proto::StampAttr<'a>]) {
        self.hashes.push(self.hasher.hash(canonical));
    }
}

/// The record hash of every log record of an OTLP protobuf request.
pub fn hash_log_records(request: &[u8], policy: proto::StampPolicy) -> Result<Vec<[u8; 32]>, CanonicalError> {
    let mut sink = HashSink { hasher: RecordHasher::default(), hashes: Vec::new() };
    proto::walk_logs(request, policy, &mut Scratch::new(), &mut sink)?;
    Ok(sink.hashes)
}

/// The full canonical bytes of each record, for test vectors and for
/// `auditchain canonical`.
#[derive(Default)]
pub struct CanonicalBytes {
    envelope: Envelope,
    pub records: Vec<Vec<u8>>,
}

impl CanonicalBytes {
    fn push(&mut self, record: &[u8]) {
        let mut v = Vec::with_capacity(self.envelope.prefix.len() + record.len() + self.envelope.suffix.len());
        v.extend_from_slice(&self.envelope.prefix);
        v.extend_from_slice(record);
        v.extend_from_slice(&self.envelope.suffix);
        self.records.push(v);
    }
}

impl<'a> proto::RecordSink<'a> for CanonicalBytes {
    fn envelope(&mut self, envelope: &Envelope) {
        self.envelope = envelope.clone();
    }
    fn record(&mut self, canonical: &[u8], _stamp: &[proto::StampAttr<'a>]) {
        self.push(canonical);
    }
}

/// Canonical bytes of every log record in an OTLP protobuf request.
pub fn log_records_from_proto(request: &[u8]) -> Result<Vec<Vec<u8>>, CanonicalError> {
    let mut sink = CanonicalBytes::default();
    proto::walk_logs(request, proto::StampPolicy::Extract, &mut Scratch::new(), &mut sink)?;
    Ok(sink.records)
}

/// Canonical bytes of every log record in an OTLP/JSON request; the first
/// record without a canonical form is the error.
pub fn log_records_from_json(request: &serde_json::Value) -> Result<Vec<Vec<u8>>, CanonicalError> {
    struct Sink {
        bytes: CanonicalBytes,
        error: Option<CanonicalError>,
    }
    impl<'v> json::RecordSink<'v> for Sink {
        fn envelope(&mut self, envelope: &Envelope) {
            self.bytes.envelope = envelope.clone();
        }
        fn record(
            &mut self,
            _raw: &'v serde_json::Value,
            record: Result<(&[u8], &[json::StampAttr<'v>]), CanonicalError>,
        ) {
            match record {
                Ok((canonical, _)) => self.bytes.push(canonical),
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
    }
    let mut sink = Sink { bytes: CanonicalBytes::default(), error: None };
    json::walk_logs(request, &mut Scratch::new(), &mut sink)?;
    match sink.error {
        Some(e) => Err(e),
        None => Ok(sink.bytes.records),
    }
}
