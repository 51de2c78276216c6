//! Records the engine writes into its own stream (docs/SPEC.md §5): the
//! start of a stream, a resumption after a crash, an announced gap, a
//! checkpoint, the end. They are ordinary records of the stream's signal
//! (log records, or spans in a traces stream),
//! stamped and chained like any other (the caller writes their stamps the
//! same way it writes every other record's), so deleting or altering one is
//! detected like any other.

use crate::core::canonical::{self, Signal, proto};
use crate::core::chain::Hash;
use crate::core::content_hash::Policy;
use crate::core::vocab::{CONTROL_SCOPE_NAME, CONTROL_SERVICE_NAME, control};
use crate::core::wire::Writer;

#[derive(Clone, Debug, PartialEq)]
pub enum CtlValue {
    Str(String),
    Int(i64),
    StrArray(Vec<String>),
}

/// A control record: its time, its body, its `audit.stream.*` attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlRecord {
    pub time_unix_nano: u64,
    pub body: String,
    pub attributes: Vec<(&'static str, CtlValue)>,
}

impl ControlRecord {
    /// A record of the given `audit.stream.event`.
    pub fn new(event: &str, time_unix_nano: u64, body: String) -> ControlRecord {
        ControlRecord { time_unix_nano, body, attributes: vec![(control::EVENT, CtlValue::Str(event.to_string()))] }
    }

    pub fn with(mut self, key: &'static str, v: CtlValue) -> ControlRecord {
        self.attributes.push((key, v));
        self
    }

    /// The record hash of the record as it is emitted into stream
    /// `stream_id` of `signal` with number `sequence`, computed from exactly
    /// those bytes through the same canonicaliser as every other record.
    pub fn record_hash(&self, signal: Signal, stream_id: &str, sequence: u64) -> Hash {
        let bytes = encode(signal, stream_id, &[(self, sequence)]);
        let hashed = canonical::hash_records(
            signal,
            &bytes,
            proto::StampPolicy::Extract,
            None,
            Policy::Off,
            proto::BadRecords::Fail,
        )
        .expect("control records are canonicalisable");
        hashed.hashes[0].expect("every control record is hashed")
    }

    fn event(&self) -> &str {
        match self.attributes.first() {
            Some((_, CtlValue::Str(e))) => e,
            _ => "",
        }
    }
}

/// The trace id of every control span of a stream (SPEC §5.4): the first
/// 16 bytes of SHA-256("auditchain.control-trace.v1" 0x00 ‖ stream id), so
/// that a stream's control spans form one trace and need no randomness.
pub fn control_trace_id(stream_id: &str) -> [u8; 16] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"auditchain.control-trace.v1\0");
    h.update(stream_id.as_bytes());
    let d = h.finalize();
    let mut id = [0; 16];
    id.copy_from_slice(&d[..16]);
    id
}

fn any_string(s: &str) -> Writer {
    let mut v = Writer::new();
    v.string(1, s);
    v
}

fn key_value(key: &str, value: &Writer) -> Writer {
    let mut kv = Writer::new();
    kv.string(1, key);
    kv.message(2, value);
    kv
}

fn encode_value(v: &CtlValue) -> Writer {
    let mut w = Writer::new();
    match v {
        CtlValue::Str(s) => w.string(1, s),
        CtlValue::Int(i) => w.uint64(3, *i as u64),
        CtlValue::StrArray(items) => {
            let mut arr = Writer::new();
            for s in items {
                arr.message(1, &any_string(s));
            }
            w.message(5, &arr);
        }
    }
    w
}

fn encode_log_record(rec: &ControlRecord) -> Writer {
    let mut lr = Writer::new();
    lr.fixed64(1, rec.time_unix_nano);
    lr.uint64(2, 9); // SEVERITY_NUMBER_INFO
    lr.string(3, "INFO");
    lr.message(5, &any_string(&rec.body));
    for (k, v) in &rec.attributes {
        lr.message(6, &key_value(k, &encode_value(v)));
    }
    lr.fixed64(11, rec.time_unix_nano);
    lr
}

/// A control record as a span (SPEC §5.4): `auditchain.<event>`, kind
/// internal, start = end = its time, in the stream's control trace, span id
/// = its sequence number; the start record is the root and the others its
/// children; the log body becomes `audit.stream.body`.
fn encode_span(rec: &ControlRecord, trace_id: &[u8; 16], sequence: u64) -> Writer {
    let mut span = Writer::new();
    span.bytes(1, trace_id);
    span.bytes(2, &sequence.to_be_bytes());
    if sequence != 1 {
        span.bytes(4, &1u64.to_be_bytes());
    }
    span.string(5, &format!("{CONTROL_SCOPE_NAME}.{}", rec.event()));
    span.uint64(6, 1); // SPAN_KIND_INTERNAL
    span.fixed64(7, rec.time_unix_nano);
    span.fixed64(8, rec.time_unix_nano);
    for (k, v) in &rec.attributes {
        span.message(9, &key_value(k, &encode_value(v)));
    }
    span.message(9, &key_value(control::BODY, &any_string(&rec.body)));
    span
}

/// Encodes control records, unstamped, as one OTLP export request of
/// `signal` (one resource, one scope, the records in order), each with the
/// sequence number it is issued.
pub fn encode(signal: Signal, stream_id: &str, records: &[(&ControlRecord, u64)]) -> Vec<u8> {
    let mut resource = Writer::new();
    resource.message(1, &key_value("service.name", &any_string(CONTROL_SERVICE_NAME)));
    let mut scope = Writer::new();
    scope.string(1, CONTROL_SCOPE_NAME);
    scope.string(2, env!("CARGO_PKG_VERSION"));
    let mut scope_group = Writer::new();
    scope_group.message(1, &scope);
    let trace_id = control_trace_id(stream_id);
    for &(rec, sequence) in records {
        match signal {
            Signal::Logs => scope_group.message(2, &encode_log_record(rec)),
            Signal::Traces => scope_group.message(2, &encode_span(rec, &trace_id, sequence)),
        }
    }
    let mut group = Writer::new();
    group.message(1, &resource);
    group.message(2, &scope_group);
    let mut req = Writer::new();
    req.message(1, &group);
    req.buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::vocab::event;

    #[test]
    fn control_records_hash_like_any_record_of_theirs() {
        let gap = ControlRecord::new(event::GAP, 5, "gap".into())
            .with(control::UNCONFIRMED, CtlValue::StrArray(vec!["3-4".into()]));
        let end = ControlRecord::new(event::END, 6, "end".into());
        for signal in [Signal::Logs, Signal::Traces] {
            let both = encode(signal, "s-1", &[(&gap, 7), (&end, 8)]);
            let hashed = canonical::hash_records(
                signal,
                &both,
                proto::StampPolicy::Extract,
                None,
                Policy::Off,
                proto::BadRecords::Fail,
            )
            .unwrap();
            assert_eq!(
                hashed.hashes,
                vec![Some(gap.record_hash(signal, "s-1", 7)), Some(end.record_hash(signal, "s-1", 8))]
            );
            let text = String::from_utf8(canonical::records_from_proto(signal, &both).unwrap()[0].clone()).unwrap();
            assert!(text.contains(r#"{"key":"audit.stream.event","value":{"stringValue":"gap"}}"#), "{text}");
        }
    }

    #[test]
    fn control_spans_name_their_event_and_hang_off_the_start_span() {
        let start = ControlRecord::new(event::START, 5, "started".into());
        let cp = ControlRecord::new(event::CHECKPOINT, 6, "note".into());
        let bytes = encode(Signal::Traces, "s-1", &[(&start, 1), (&cp, 2)]);
        let spans = canonical::records_from_proto(Signal::Traces, &bytes).unwrap();
        let (start, cp) = (String::from_utf8(spans[0].clone()).unwrap(), String::from_utf8(spans[1].clone()).unwrap());
        let trace = crate::core::hex::to_hex(&{
            let mut h = [0; 32];
            h[..16].copy_from_slice(&control_trace_id("s-1"));
            h
        })[..32]
            .to_string();
        assert!(start.contains(r#""name":"auditchain.start""#) && start.contains(r#""kind":1"#), "{start}");
        assert!(start.contains(r#""spanId":"0000000000000001""#) && !start.contains("parentSpanId"), "{start}");
        assert!(start.contains(&format!(r#""traceId":"{trace}""#)), "{start}");
        assert!(cp.contains(r#""parentSpanId":"0000000000000001""#) && cp.contains(r#""spanId":"0000000000000002""#));
        assert!(cp.contains(r#"{"key":"audit.stream.body","value":{"stringValue":"note"}}"#), "{cp}");
        assert!(cp.contains(r#""startTimeUnixNano":"6""#) && cp.contains(r#""endTimeUnixNano":"6""#), "{cp}");
    }
}
