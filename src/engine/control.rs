//! Records the engine writes into its own stream (docs/SPEC.md §5): the
//! start of a stream, a resumption after a crash, an announced gap, the
//! end. They are ordinary log records in the stream, stamped and chained
//! like any other, so deleting or altering one is detected like any other.
//! The attribute `audit.stream.event` marks them; the processor refuses
//! incoming records with `audit.stream.*` attributes, so a client cannot
//! pass one off as the engine's.

use crate::core::canonical::proto;
use crate::core::chain::{self, Algorithm, Hash};
use crate::core::vocab as attrs;
use crate::core::wire::Writer;
use crate::engine::stamps::Issued;

/// `audit.stream.event`: which kind of control record this is.
pub const EVENT: &str = "audit.stream.event";
/// On `start`: why a new stream began.
pub const REASON: &str = "audit.stream.reason";
/// On `start`: the stream name.
pub const NAME: &str = "audit.stream.name";
/// On `start` after a clean shutdown: the previous stream and its last link.
pub const PREDECESSOR_ID: &str = "audit.stream.predecessor.id";
pub const PREDECESSOR_SEQUENCE: &str = "audit.stream.predecessor.sequence";
pub const PREDECESSOR_HASH: &str = "audit.stream.predecessor.hash";
/// On `start`, `resume` and `gap`: ranges ("3-7", "9") of this stream that
/// were stamped but may not have reached the exporter (in flight at a
/// crash, refused downstream, not saved); their senders were not
/// acknowledged.
pub const UNCONFIRMED: &str = "audit.stream.unconfirmed";
/// The same for the predecessor stream (on `start` and `resume`).
pub const PREDECESSOR_UNCONFIRMED: &str = "audit.stream.predecessor.unconfirmed";

/// On `start` of a keyed stream: the chain key id and how the stream's key
/// derives from it (see `stream::lineage_key`).
pub const CHAIN_KEY_ID: &str = "audit.stream.chain_key_id";
pub const KEY_LINEAGE: &str = "audit.stream.key_lineage";
/// On `start` and `resume` when checkpoints are signed: the signing key id
/// and the checkpoint interval in seconds.
pub const SIGNER: &str = "audit.stream.signer";
pub const CHECKPOINT_INTERVAL: &str = "audit.stream.checkpoint_interval";

/// Values of `audit.stream.event`.
pub const EVENT_START: &str = "start";
pub const EVENT_RESUME: &str = "resume";
pub const EVENT_GAP: &str = "gap";
pub const EVENT_END: &str = "end";
pub const EVENT_CHECKPOINT: &str = "checkpoint";

/// Values of `audit.stream.reason`.
pub const REASON_FIRST_START: &str = "first_start";
pub const REASON_PREVIOUS_ENDED: &str = "previous_stream_ended";
pub const REASON_STATE_RESET: &str = "state_reset";

/// The resource and scope of control records.
pub const SERVICE_NAME: &str = "auditchain";
pub const SCOPE_NAME: &str = "auditchain";

#[derive(Clone, Debug, PartialEq)]
pub enum CtlValue {
    Str(String),
    Int(i64),
    StrArray(Vec<String>),
}

/// A control record before it is stamped.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlRecord {
    pub time_unix_nano: u64,
    pub body: String,
    pub attributes: Vec<(&'static str, CtlValue)>,
}

impl ControlRecord {
    pub fn new(event: &str, time_unix_nano: u64, body: String) -> ControlRecord {
        ControlRecord { time_unix_nano, body, attributes: vec![(EVENT, CtlValue::Str(event.to_string()))] }
    }

    pub fn with(mut self, key: &'static str, v: CtlValue) -> ControlRecord {
        self.attributes.push((key, v));
        self
    }
}

/// The stamp of a control record.
pub struct ControlStamp<'a> {
    pub stream_id: &'a str,
    pub algorithm: Algorithm,
    pub issued: &'a Issued,
    pub end: bool,
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

fn encode_record(rec: &ControlRecord, stamp: Option<&ControlStamp<'_>>) -> Writer {
    let mut lr = Writer::new();
    lr.fixed64(1, rec.time_unix_nano);
    lr.uint64(2, 9); // SEVERITY_NUMBER_INFO
    lr.string(3, "INFO");
    lr.message(5, &any_string(&rec.body));
    for (k, v) in &rec.attributes {
        lr.message(6, &key_value(k, &encode_value(v)));
    }
    if let Some(s) = stamp {
        lr.message(6, &key_value(attrs::STREAM_ID, &any_string(s.stream_id)));
        let mut n = Writer::new();
        n.uint64(3, s.issued.sequence);
        lr.message(6, &key_value(attrs::SEQUENCE_NUMBER, &n));
        if let Some(p) = &s.issued.previous {
            lr.message(6, &key_value(attrs::PREVIOUS_HASH, &any_string(&chain::to_hex(p))));
        }
        if s.end {
            let mut b = Writer::new();
            b.uint64(2, 1);
            lr.message(6, &key_value(attrs::SEQUENCE_END, &b));
        }
        lr.message(6, &key_value(attrs::INTEGRITY_VALUE, &any_string(&chain::to_hex(&s.issued.value))));
        lr.message(6, &key_value(attrs::INTEGRITY_ALGORITHM, &any_string(s.algorithm.name())));
        if let Some(e) = s.issued.key_epoch {
            let mut n = Writer::new();
            n.uint64(3, e);
            lr.message(6, &key_value(attrs::KEY_EPOCH, &n));
        }
        lr.message(
            6,
            &key_value(attrs::INTEGRITY_CANONICALIZATION, &any_string(crate::core::canonical::CANONICALIZATION)),
        );
    }
    lr.fixed64(11, rec.time_unix_nano);
    lr
}

/// Encodes control records as one OTLP `ExportLogsServiceRequest`.
pub fn encode(records: &[(&ControlRecord, Option<ControlStamp<'_>>)]) -> Vec<u8> {
    let mut resource = Writer::new();
    resource.message(1, &key_value("service.name", &any_string(SERVICE_NAME)));
    let mut scope = Writer::new();
    scope.string(1, SCOPE_NAME);
    scope.string(2, env!("CARGO_PKG_VERSION"));
    let mut scope_logs = Writer::new();
    scope_logs.message(1, &scope);
    for (rec, stamp) in records {
        scope_logs.message(2, &encode_record(rec, stamp.as_ref()));
    }
    let mut rl = Writer::new();
    rl.message(1, &resource);
    rl.message(2, &scope_logs);
    let mut req = Writer::new();
    req.message(1, &rl);
    req.buf
}

/// The record hash of a control record, computed from exactly the bytes it
/// will be emitted as (minus its stamp), through the same canonicaliser as
/// every other record.
pub fn record_hash(rec: &ControlRecord) -> Hash {
    let hashes = crate::core::canonical::hash_log_records(&encode(&[(rec, None)]), proto::StampPolicy::Extract)
        .expect("control records are canonicalisable");
    hashes[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_records_hash_without_their_stamp() {
        let rec =
            ControlRecord::new(EVENT_GAP, 5, "gap".into()).with(UNCONFIRMED, CtlValue::StrArray(vec!["3-4".into()]));
        let issued = Issued { sequence: 7, previous: Some([1; 32]), value: [2; 32], key_epoch: Some(3) };
        let stamp = ControlStamp { stream_id: "s", algorithm: Algorithm::Sha256, issued: &issued, end: true };
        let stamped = encode(&[(&rec, Some(stamp))]);
        let plain = encode(&[(&rec, None)]);
        assert_ne!(stamped, plain);
        // Read back with stamp extraction, the stamped bytes hash the same.
        let a = crate::core::canonical::log_records_from_proto(&stamped).unwrap();
        let b = crate::core::canonical::log_records_from_proto(&plain).unwrap();
        assert_eq!(a, b);
        let text = String::from_utf8(a[0].clone()).unwrap();
        assert!(text.contains(r#"{"key":"audit.stream.event","value":{"stringValue":"gap"}}"#), "{text}");
    }
}
