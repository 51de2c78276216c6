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
mod parts;
pub mod proto;
pub mod tree;

pub use parts::{Envelope, Scratch};

use crate::core::content_hash;
use std::fmt;

/// Name of this canonical form, written to `audit.integrity.canonicalization`.
pub const CANONICALIZATION: &str = "otlp-jcs-v1";

/// Deepest nesting of `arrayValue`/`kvlistValue` accepted (a scalar at the
/// top of a body or attribute value is depth 1). Deeper values are refused
/// rather than risking the stack, in the collector and in the verifier.
pub const MAX_DEPTH: usize = 32;

/// Which OTLP signal a record belongs to. The canonical form wraps the
/// record in that signal's export request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    /// Log records (`ExportLogsServiceRequest`).
    #[default]
    Logs,
    /// Spans (`ExportTraceServiceRequest`).
    Traces,
}

impl Signal {
    /// The signal's name in configurations and reports: `logs`, `traces`.
    pub const fn name(self) -> &'static str {
        match self {
            Signal::Logs => "logs",
            Signal::Traces => "traces",
        }
    }
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
    /// A resource or scope carries an attribute in auditchain's reserved
    /// namespaces.
    ReservedName(String),
    /// A value of the wrong JSON type or format.
    InvalidValue(String),
    /// The record's `audit.content_hash` does not match its body and the
    /// content policy refuses such records (SPEC §4.6).
    ContentHashMismatch(String),
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
            ErrorKind::ReservedName(key) => write!(
                f,
                "{at}: the attribute name \"{key}\" is reserved to auditchain (audit.sequence.*, audit.integrity.*, audit.stream.*, audit.unstamped.*) and is refused in resource and scope attributes too"
            ),
            ErrorKind::InvalidValue(why) => write!(f, "{at}: {why}"),
            ErrorKind::ContentHashMismatch(why) => write!(
                f,
                "{at}: {} does not match the body: {why} (content_hash.on_mismatch: reject)",
                crate::core::vocab::CONTENT_HASH
            ),
        }
    }
}

impl std::error::Error for CanonicalError {}

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
struct HashSink<'s> {
    hasher: RecordHasher,
    selection: Option<&'s [u8]>,
    index: usize,
    hashed: Hashed,
}

/// The record hashes of a request: one per record, `None` for a record the
/// selection passed over or that was rejected, and the content-hash
/// outcomes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hashed {
    pub hashes: Vec<Option<[u8; 32]>>,
    /// Under [`proto::BadRecords::Reject`]: the records without a canonical
    /// form (index into `hashes`, ascending) and why.
    pub rejected: Vec<(usize, CanonicalError)>,
    /// Records whose `audit.content_hash` was checked and matched.
    pub content_matched: u32,
    /// Indices (into `hashes`) of records whose `audit.content_hash` did
    /// not match (under the `Mark` policy their canonical form carries the
    /// mark).
    pub content_mismatched: Vec<usize>,
}

impl<'a> proto::RecordSink<'a> for HashSink<'_> {
    fn envelope(&mut self, envelope: &Envelope) {
        self.hasher.set_envelope(envelope);
    }
    fn wants(&mut self) -> bool {
        match self.selection {
            None => true,
            Some(sel) => sel.get(self.index).is_some_and(|&b| b != 0),
        }
    }
    fn record(&mut self, canonical: &[u8], _stamp: &[proto::StampAttr<'a>], content: Option<&content_hash::Outcome>) {
        match content {
            Some(o) if o.matches() => self.hashed.content_matched += 1,
            Some(_) => self.hashed.content_mismatched.push(self.index),
            None => {}
        }
        self.hashed.hashes.push(Some(self.hasher.hash(canonical)));
        self.index += 1;
    }
    fn skipped(&mut self) {
        self.hashed.hashes.push(None);
        self.index += 1;
    }
    fn rejected(&mut self, error: CanonicalError) {
        self.hashed.hashes.push(None);
        self.hashed.rejected.push((self.index, error));
        self.index += 1;
    }
}

/// The record hash of every log record of an OTLP protobuf request.
pub fn hash_log_records(request: &[u8], policy: proto::StampPolicy) -> Result<Vec<[u8; 32]>, CanonicalError> {
    let hashed = hash_records(Signal::Logs, request, policy, None, content_hash::Policy::Off, proto::BadRecords::Fail)?;
    Ok(hashed.hashes.into_iter().flatten().collect())
}

/// The record hashes of an OTLP protobuf request of `signal`. With a
/// `selection` (one byte per record, in request order; non-zero: selected),
/// only the selected records are canonicalised and hashed (records past its
/// end are not selected: the caller checks that `hashes.len()` equals its
/// length). Under [`proto::BadRecords::Reject`] a record without a
/// canonical form is `None` and listed in `rejected` instead of failing the
/// call.
pub fn hash_records(
    signal: Signal,
    request: &[u8],
    policy: proto::StampPolicy,
    selection: Option<&[u8]>,
    content: content_hash::Policy,
    bad: proto::BadRecords,
) -> Result<Hashed, CanonicalError> {
    let mut sink = HashSink { hasher: RecordHasher::default(), selection, index: 0, hashed: Hashed::default() };
    proto::walk(signal, request, policy, content, bad, &mut Scratch::new(), &mut sink)?;
    Ok(sink.hashed)
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
    fn record(&mut self, canonical: &[u8], _stamp: &[proto::StampAttr<'a>], _content: Option<&content_hash::Outcome>) {
        self.push(canonical);
    }
}

/// Canonical bytes of every log record in an OTLP protobuf request.
pub fn log_records_from_proto(request: &[u8]) -> Result<Vec<Vec<u8>>, CanonicalError> {
    records_from_proto(Signal::Logs, request)
}

/// Canonical bytes of every record of `signal` in an OTLP protobuf request.
pub fn records_from_proto(signal: Signal, request: &[u8]) -> Result<Vec<Vec<u8>>, CanonicalError> {
    let mut sink = CanonicalBytes::default();
    let policy = content_hash::Policy::Off;
    let bad = proto::BadRecords::Fail;
    proto::walk(signal, request, proto::StampPolicy::Extract, policy, bad, &mut Scratch::new(), &mut sink)?;
    Ok(sink.records)
}

/// Canonical bytes of every log record in an OTLP/JSON request; the first
/// record without a canonical form is the error.
pub fn log_records_from_json(request: &serde_json::Value) -> Result<Vec<Vec<u8>>, CanonicalError> {
    records_from_json(request)
}

/// Canonical bytes of every record in an OTLP/JSON export request of either
/// signal (told apart by its top-level member); the first record without a
/// canonical form is the error.
pub fn records_from_json<V: tree::Tree>(request: &V) -> Result<Vec<Vec<u8>>, CanonicalError> {
    struct Sink {
        bytes: CanonicalBytes,
        error: Option<CanonicalError>,
    }
    impl<'v, V: tree::Tree> json::RecordSink<'v, V> for Sink {
        fn envelope(&mut self, envelope: &Envelope) {
            self.bytes.envelope = envelope.clone();
        }
        fn record(&mut self, _raw: &'v V, record: Result<(&[u8], &[json::StampAttr<'v, V>]), CanonicalError>) {
            match record {
                Ok((canonical, _)) => self.bytes.push(canonical),
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
    }
    let mut sink = Sink { bytes: CanonicalBytes::default(), error: None };
    json::walk(request, &mut Scratch::new(), &mut sink)?;
    match sink.error {
        Some(e) => Err(e),
        None => Ok(sink.bytes.records),
    }
}
