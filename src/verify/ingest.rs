//! Reading records into per-stream entries: each record's stamp is parsed,
//! its content hashed through the canonical form, and its link recomputed,
//! so that afterwards only compact facts per record are kept in memory.

use super::report::{Finding, Kind, Location, Severity};
use crate::canonical::{json, CanonicalError, Envelope, RecordHasher, Scratch};
use crate::chain::{self, Algorithm, Hash, Link};
use crate::control;
use crate::stream::{parse_range, SeqRange};
use crate::{attrs, canonical};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a record was read: file index, line, index in its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Loc {
    pub file: u32,
    pub line: u64,
    pub record: u32,
}

/// Whether the recomputed link matches `audit.integrity.value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkCheck {
    Ok,
    Mismatch,
}

/// What a control record (the engine's own) says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Control {
    pub event: String,
    pub reason: String,
    pub predecessor: Option<(String, u64, Option<Hash>)>,
    /// Ranges announced as possibly or certainly not delivered.
    pub announced: Vec<SeqRange>,
}

/// One stamped record, reduced to what verification needs.
#[derive(Clone, Debug)]
pub struct Entry {
    pub sequence: u64,
    pub value: Hash,
    pub previous: Option<Hash>,
    pub record_hash: Hash,
    pub algorithm: Algorithm,
    pub link: LinkCheck,
    pub end: bool,
    pub loc: Loc,
    pub control: Option<Box<Control>>,
}

impl Entry {
    /// Copies of the same record (at-least-once delivery) are equal here.
    pub fn same_record(&self, other: &Entry) -> bool {
        self.value == other.value
            && self.previous == other.previous
            && self.record_hash == other.record_hash
            && self.end == other.end
            && self.algorithm == other.algorithm
    }
}

/// Everything read from the inputs.
#[derive(Default)]
pub struct Ingested {
    pub files: Vec<String>,
    pub streams: BTreeMap<String, Vec<Entry>>,
    pub unstamped: Vec<Loc>,
    /// Findings that belong to no stream.
    pub findings: Vec<Finding>,
    pub requests: u64,
    pub records: u64,
}

impl Ingested {
    pub fn location(&self, loc: Loc) -> Location {
        Location { file: self.files[loc.file as usize].clone(), line: loc.line, record: u64::from(loc.record) }
    }

    /// Reads one OTLP/JSON export request.
    pub fn request(&mut self, file: u32, line: u64, request: &Value, scratch: &mut Scratch) -> Result<(), CanonicalError> {
        self.requests += 1;
        let mut sink = Sink { ing: self, hasher: RecordHasher::default(), file, line, index: 0 };
        json::walk_logs(request, scratch, &mut sink)
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
                let f = Finding::new(Severity::Error, Kind::UnreadableRecord, format!("record cannot be verified: {e}"))
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
        let record_hash = self.hasher.hash(canonical);
        let link = Link {
            stream_id: &s.stream_id,
            sequence: s.sequence,
            key_epoch: 0,
            end: s.end,
            previous: s.previous.as_ref(),
            record_hash: &record_hash,
        };
        let expected = match s.algorithm {
            Algorithm::Sha256 => link.sha256(),
            Algorithm::HmacSha256 => {
                let f = Finding::new(
                    Severity::Error,
                    Kind::MalformedStamp,
                    "keyed chains (hmac-sha256-chain-v1) are not supported by this verifier",
                )
                .located(self.ing.location(loc));
                self.ing.findings.push(f);
                return;
            }
        };
        let control = read_control(raw);
        let entry = Entry {
            sequence: s.sequence,
            value: s.value,
            previous: s.previous,
            record_hash,
            algorithm: s.algorithm,
            link: if expected == s.value { LinkCheck::Ok } else { LinkCheck::Mismatch },
            end: s.end,
            loc,
            control,
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
    end: bool,
}

fn any_str<'v>(key: &str, v: &'v Value) -> Result<&'v str, String> {
    v.get("stringValue")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{key} must be a string value"))
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

fn parse_stamp(stamp: &[json::StampAttr<'_>]) -> Result<Stamp, String> {
    let mut by_key: BTreeMap<&str, &Value> = BTreeMap::new();
    for (k, v) in stamp {
        if by_key.insert(k, v).is_some() {
            return Err(format!("{k} appears twice"));
        }
    }
    let get = |k: &str| by_key.get(k).copied().ok_or_else(|| format!("stamp attribute {k} is missing"));
    let stream_id = any_str(attrs::STREAM_ID, get(attrs::STREAM_ID)?)?.to_string();
    let sequence = any_int(attrs::SEQUENCE_NUMBER, get(attrs::SEQUENCE_NUMBER)?)?;
    let sequence = u64::try_from(sequence)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("{} must be at least 1, not {sequence}", attrs::SEQUENCE_NUMBER))?;
    let previous = match by_key.get(attrs::PREVIOUS_HASH) {
        Some(v) => Some(any_hash(attrs::PREVIOUS_HASH, v)?),
        None => None,
    };
    let value = any_hash(attrs::INTEGRITY_VALUE, get(attrs::INTEGRITY_VALUE)?)?;
    let alg_name = any_str(attrs::INTEGRITY_ALGORITHM, get(attrs::INTEGRITY_ALGORITHM)?)?;
    let algorithm = Algorithm::from_name(alg_name)
        .ok_or_else(|| format!("{} {alg_name:?} is not a known algorithm", attrs::INTEGRITY_ALGORITHM))?;
    let canon = any_str(attrs::INTEGRITY_CANONICALIZATION, get(attrs::INTEGRITY_CANONICALIZATION)?)?;
    if canon != canonical::CANONICALIZATION {
        return Err(format!("{} {canon:?} is not {:?}", attrs::INTEGRITY_CANONICALIZATION, canonical::CANONICALIZATION));
    }
    let end = match by_key.get(attrs::SEQUENCE_END) {
        Some(v) => v
            .get("boolValue")
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("{} must be a boolean value", attrs::SEQUENCE_END))?,
        None => false,
    };
    Ok(Stamp { stream_id, sequence, previous, value, algorithm, end })
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
            control::REASON => c.reason = any_str(key, v).unwrap_or_default().to_string(),
            control::PREDECESSOR_ID => pred_id = any_str(key, v).ok().map(str::to_string),
            control::PREDECESSOR_SEQUENCE => pred_seq = any_int(key, v).ok().and_then(|n| u64::try_from(n).ok()),
            control::PREDECESSOR_HASH => pred_hash = any_hash(key, v).ok(),
            control::UNCONFIRMED | control::UNDELIVERED => {
                let items = v.pointer("/arrayValue/values").and_then(Value::as_array);
                for item in items.into_iter().flatten() {
                    if let Some(r) = item.get("stringValue").and_then(Value::as_str).and_then(parse_range) {
                        c.announced.push(r);
                    }
                }
            }
            _ => {}
        }
    }
    if c.event.is_empty() {
        return None;
    }
    if let (Some(id), Some(seq)) = (pred_id, pred_seq) {
        c.predecessor = Some((id, seq, pred_hash));
    }
    Some(Box::new(c))
}
