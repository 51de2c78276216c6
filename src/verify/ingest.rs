//! Reading records into per-stream entries: each record's stamp is parsed
//! and its content hashed through the canonical form, so that afterwards
//! only compact facts per record are kept in memory. Links are checked
//! later, per stream, once the stream's keys are known.

use super::report::{Finding, Kind, Location, Severity};
use crate::core::canonical::{CanonicalError, Envelope, RecordHasher, Scratch, json};
use crate::core::chain::{self, Algorithm, Hash};
use crate::core::{canonical, vocab as attrs};
use crate::engine::control;
use crate::engine::state::{SeqRange, parse_range};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a record was read: file index, line, index in its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Loc {
    pub file: u32,
    pub line: u64,
    pub record: u32,
}

/// What a control record (the engine's own) says. Trusted only once the
/// record's link has been checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Control {
    pub event: String,
    pub time_unix_nano: u64,
    pub predecessor: Option<(String, u64, Option<Hash>)>,
    /// This stream's ranges announced as possibly not delivered.
    pub announced: Vec<SeqRange>,
    /// The predecessor's ranges announced as possibly not delivered.
    pub predecessor_announced: Vec<SeqRange>,
    pub chain_key_id: Option<String>,
    pub key_lineage: Vec<String>,
    pub signer: Option<String>,
    /// The record's body: the signed note of a checkpoint record.
    pub body: String,
}

/// One stamped record, reduced to what verification needs.
#[derive(Clone, Debug)]
pub struct Entry {
    pub sequence: u64,
    pub value: Hash,
    pub previous: Option<Hash>,
    pub record_hash: Hash,
    pub algorithm: Algorithm,
    pub key_epoch: Option<u64>,
    pub end: bool,
    pub loc: Loc,
    pub control: Option<Box<Control>>,
    /// Whether the recomputed link matches `value`; set by the analysis.
    pub link_ok: Option<bool>,
}

impl Entry {
    /// Copies of the same record (at-least-once delivery) are equal here.
    pub fn same_record(&self, other: &Entry) -> bool {
        self.value == other.value
            && self.previous == other.previous
            && self.record_hash == other.record_hash
            && self.end == other.end
            && self.algorithm == other.algorithm
            && self.key_epoch == other.key_epoch
    }

    pub fn link_inputs<'a>(&'a self, stream_id: &'a str) -> chain::Link<'a> {
        chain::Link {
            stream_id,
            sequence: self.sequence,
            key_epoch: self.key_epoch.unwrap_or(0),
            end: self.end,
            previous: self.previous.as_ref(),
            record_hash: &self.record_hash,
        }
    }

    pub fn event(&self) -> Option<&str> {
        self.control.as_deref().map(|c| c.event.as_str())
    }
}

/// A checkpoint found outside the records (a `checkpoint.file` line).
#[derive(Clone, Debug)]
pub struct ExternalCheckpoint {
    pub sequence: Option<u64>,
    pub note: String,
    pub file: u32,
    pub line: u64,
}

/// Everything read from the inputs.
#[derive(Default)]
pub struct Ingested {
    pub files: Vec<String>,
    pub streams: BTreeMap<String, Vec<Entry>>,
    pub checkpoints: BTreeMap<String, Vec<ExternalCheckpoint>>,
    pub unstamped: Vec<Loc>,
    /// Findings that belong to no stream.
    pub findings: Vec<Finding>,
    pub requests: u64,
    pub records: u64,
}

impl Ingested {
    /// Adds what another reader of the same files found.
    pub fn merge(&mut self, other: Ingested) {
        for (id, entries) in other.streams {
            self.streams.entry(id).or_default().extend(entries);
        }
        for (id, cps) in other.checkpoints {
            self.checkpoints.entry(id).or_default().extend(cps);
        }
        self.unstamped.extend(other.unstamped);
        self.findings.extend(other.findings);
        self.requests += other.requests;
        self.records += other.records;
    }

    pub fn location(&self, loc: Loc) -> Location {
        Location { file: self.files[loc.file as usize].clone(), line: loc.line, record: u64::from(loc.record) }
    }

    /// Reads one JSON value of an input file: an OTLP/JSON export request,
    /// or a checkpoint line (`{"stream_id", "sequence", "note"}`).
    pub fn value(&mut self, file: u32, line: u64, value: &Value, scratch: &mut Scratch) -> Result<(), String> {
        if let (Some(stream), Some(note)) =
            (value.get("stream_id").and_then(Value::as_str), value.get("note").and_then(Value::as_str))
        {
            let cp = ExternalCheckpoint {
                sequence: value.get("sequence").and_then(Value::as_u64),
                note: note.to_string(),
                file,
                line,
            };
            self.checkpoints.entry(stream.to_string()).or_default().push(cp);
            return Ok(());
        }
        self.requests += 1;
        let mut sink = Sink { ing: self, hasher: RecordHasher::default(), file, line, index: 0 };
        json::walk_logs(value, scratch, &mut sink).map_err(|e: CanonicalError| e.to_string())
    }
}

struct Sink<'i> {
    ing: &'i mut Ingested,
    hasher: RecordHasher,
    file: u32,
    line: u64,
    index: u32,
}

impl<'v> json::RecordSink<'v> for Sink<'_> {
    fn envelope(&mut self, envelope: &Envelope) {
        self.hasher.set_envelope(envelope);
    }

    fn record(&mut self, raw: &'v Value, record: Result<(&[u8], &[json::StampAttr<'v>]), CanonicalError>) {
        let loc = Loc { file: self.file, line: self.line, record: self.index };
        self.index += 1;
        self.ing.records += 1;
        let (canonical, stamp) = match record {
            Ok(r) => r,
            Err(e) => {
                let f =
                    Finding::new(Severity::Error, Kind::UnreadableRecord, format!("record cannot be verified: {e}"))
                        .located(self.ing.location(loc));
                self.ing.findings.push(f);
                return;
            }
        };
        if stamp.is_empty() {
            self.ing.unstamped.push(loc);
            return;
        }
        let s = match parse_stamp(stamp) {
            Ok(s) => s,
            Err(why) => {
                let f = Finding::new(Severity::Error, Kind::MalformedStamp, why).located(self.ing.location(loc));
                self.ing.findings.push(f);
                return;
            }
        };
        let entry = Entry {
            sequence: s.sequence,
            value: s.value,
            previous: s.previous,
            record_hash: self.hasher.hash(canonical),
            algorithm: s.algorithm,
            key_epoch: s.key_epoch,
            end: s.end,
            loc,
            control: read_control(raw),
            link_ok: None,
        };
        self.ing.streams.entry(s.stream_id).or_default().push(entry);
    }
}

struct Stamp {
    stream_id: String,
    sequence: u64,
    previous: Option<Hash>,
    value: Hash,
    algorithm: Algorithm,
    key_epoch: Option<u64>,
    end: bool,
}

fn any_str<'v>(key: &str, v: &'v Value) -> Result<&'v str, String> {
    v.get("stringValue").and_then(Value::as_str).ok_or_else(|| format!("{key} must be a string value"))
}

fn any_int(key: &str, v: &Value) -> Result<i64, String> {
    match v.get("intValue") {
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    }
    .ok_or_else(|| format!("{key} must be an integer value"))
}

fn any_hash(key: &str, v: &Value) -> Result<Hash, String> {
    let s = any_str(key, v)?;
    chain::from_hex(s).ok_or_else(|| format!("{key} must be 64 hexadecimal digits, not {s:?}"))
}

fn any_strings(v: &Value) -> Vec<String> {
    v.pointer("/arrayValue/values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("stringValue").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn parse_stamp(stamp: &[json::StampAttr<'_>]) -> Result<Stamp, String> {
    // A stamp has at most a handful of attributes: scan, do not allocate
    // (this runs once per record).
    for (i, (k, _)) in stamp.iter().enumerate() {
        if stamp[..i].iter().any(|(p, _)| p == k) {
            return Err(format!("{k} appears twice"));
        }
    }
    let find = |k: &str| stamp.iter().find(|(p, _)| *p == k).map(|(_, v)| *v);
    let get = |k: &str| find(k).ok_or_else(|| format!("stamp attribute {k} is missing"));
    let stream_id = any_str(attrs::STREAM_ID, get(attrs::STREAM_ID)?)?.to_string();
    let sequence = any_int(attrs::SEQUENCE_NUMBER, get(attrs::SEQUENCE_NUMBER)?)?;
    let sequence = u64::try_from(sequence)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("{} must be at least 1, not {sequence}", attrs::SEQUENCE_NUMBER))?;
    let previous = match find(attrs::PREVIOUS_HASH) {
        Some(v) => Some(any_hash(attrs::PREVIOUS_HASH, v)?),
        None => None,
    };
    let value = any_hash(attrs::INTEGRITY_VALUE, get(attrs::INTEGRITY_VALUE)?)?;
    let alg_name = any_str(attrs::INTEGRITY_ALGORITHM, get(attrs::INTEGRITY_ALGORITHM)?)?;
    let algorithm = Algorithm::from_name(alg_name)
        .ok_or_else(|| format!("{} {alg_name:?} is not a known algorithm", attrs::INTEGRITY_ALGORITHM))?;
    let canon = any_str(attrs::INTEGRITY_CANONICALIZATION, get(attrs::INTEGRITY_CANONICALIZATION)?)?;
    if canon != canonical::CANONICALIZATION {
        return Err(format!(
            "{} {canon:?} is not {:?}",
            attrs::INTEGRITY_CANONICALIZATION,
            canonical::CANONICALIZATION
        ));
    }
    let end = match find(attrs::SEQUENCE_END) {
        Some(v) => v
            .get("boolValue")
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("{} must be a boolean value", attrs::SEQUENCE_END))?,
        None => false,
    };
    let key_epoch = match (find(attrs::KEY_EPOCH), algorithm) {
        (Some(v), Algorithm::HmacSha256) => Some(
            u64::try_from(any_int(attrs::KEY_EPOCH, v)?)
                .map_err(|_| format!("{} must not be negative", attrs::KEY_EPOCH))?,
        ),
        (None, Algorithm::HmacSha256) => {
            return Err(format!("stamp attribute {} is missing on a keyed chain", attrs::KEY_EPOCH));
        }
        (Some(_), Algorithm::Sha256) => return Err(format!("{} on an unkeyed chain", attrs::KEY_EPOCH)),
        (None, Algorithm::Sha256) => None,
    };
    Ok(Stamp { stream_id, sequence, previous, value, algorithm, key_epoch, end })
}

/// The `audit.stream.*` attributes of a record, when it is a control record.
/// The processor refuses incoming records with such attributes, so only the
/// engine writes them; the link check vouches for their content.
fn read_control(raw: &Value) -> Option<Box<Control>> {
    let attributes = raw.get("attributes")?.as_array()?;
    let mut c = Control::default();
    let mut pred_id = None;
    let mut pred_seq = None;
    let mut pred_hash = None;
    for kv in attributes {
        let Some(key) = kv.get("key").and_then(Value::as_str) else { continue };
        if !key.starts_with("audit.stream.") {
            continue;
        }
        let v = kv.get("value").unwrap_or(&Value::Null);
        match key {
            control::EVENT => c.event = any_str(key, v).unwrap_or_default().to_string(),
            control::PREDECESSOR_ID => pred_id = any_str(key, v).ok().map(str::to_string),
            control::PREDECESSOR_SEQUENCE => pred_seq = any_int(key, v).ok().and_then(|n| u64::try_from(n).ok()),
            control::PREDECESSOR_HASH => pred_hash = any_hash(key, v).ok(),
            control::UNCONFIRMED => c.announced.extend(any_strings(v).iter().filter_map(|s| parse_range(s))),
            control::PREDECESSOR_UNCONFIRMED => {
                c.predecessor_announced.extend(any_strings(v).iter().filter_map(|s| parse_range(s)))
            }
            control::CHAIN_KEY_ID => c.chain_key_id = any_str(key, v).ok().map(str::to_string),
            control::KEY_LINEAGE => c.key_lineage = any_strings(v),
            control::SIGNER => c.signer = any_str(key, v).ok().map(str::to_string),
            _ => {}
        }
    }
    if c.event.is_empty() {
        return None;
    }
    if let (Some(id), Some(seq)) = (pred_id, pred_seq) {
        c.predecessor = Some((id, seq, pred_hash));
    }
    c.time_unix_nano = match raw.get("timeUnixNano") {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    };
    c.body = raw.pointer("/body/stringValue").and_then(Value::as_str).unwrap_or_default().to_string();
    Some(Box::new(c))
}
