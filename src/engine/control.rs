//! Records the engine writes into its own stream (docs/SPEC.md §5): the
//! start of a stream, a resumption after a crash, an announced gap, a
//! checkpoint, the end. They are ordinary log records in the stream,
//! stamped and chained like any other (the caller writes their stamps the
//! same way it writes every other record's), so deleting or altering one is
//! detected like any other.

use crate::core::canonical::{self, proto};
use crate::core::chain::Hash;
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

    /// The record hash, computed from exactly the bytes the record is
    /// emitted as, through the same canonicaliser as every other record.
    pub fn record_hash(&self) -> Hash {
        let hashes = canonical::hash_log_records(&encode(std::slice::from_ref(self)), proto::StampPolicy::Extract)
            .expect("control records are canonicalisable");
        hashes[0]
    }
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

fn encode_record(rec: &ControlRecord) -> Writer {
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

/// Encodes control records, unstamped, as one OTLP `ExportLogsServiceRequest`
/// (one resource, one scope, the records in order).
pub fn encode(records: &[ControlRecord]) -> Vec<u8> {
    let mut resource = Writer::new();
    resource.message(1, &key_value("service.name", &any_string(CONTROL_SERVICE_NAME)));
    let mut scope = Writer::new();
    scope.string(1, CONTROL_SCOPE_NAME);
    scope.string(2, env!("CARGO_PKG_VERSION"));
    let mut scope_logs = Writer::new();
    scope_logs.message(1, &scope);
    for rec in records {
        scope_logs.message(2, &encode_record(rec));
    }
    let mut rl = Writer::new();
    rl.message(1, &resource);
    rl.message(2, &scope_logs);
    let mut req = Writer::new();
    req.message(1, &rl);
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
        let both = encode(&[gap.clone(), end.clone()]);
        let hashes = canonical::hash_log_records(&both, proto::StampPolicy::Extract).unwrap();
        assert_eq!(hashes, vec![gap.record_hash(), end.record_hash()]);
        let text = String::from_utf8(canonical::log_records_from_proto(&both).unwrap()[0].clone()).unwrap();
        assert!(text.contains(r#"{"key":"audit.stream.event","value":{"stringValue":"gap"}}"#), "{text}");
    }
}
