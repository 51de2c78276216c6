//! What the checker reads from each record of an incoming OTLP protobuf
//! batch: the record hash (the engine's canonical walker, stamp attributes
//! left out, SPEC §2.7), the stamp (full, §4.1, or compact, §4.1.1) and,
//! for the processor's own control records, the facts the checker needs
//! (event, checkpoint note, key lineage).

use crate::core::canonical::{CanonicalError, Envelope, RecordHasher, Scratch, Signal, proto};
use crate::core::chain::{Algorithm, Hash};
use crate::core::content_hash;
use crate::core::hex::from_hex;
use crate::core::stamp::Compact;
use crate::core::vocab::StampKey;
use crate::core::wire::{Reader, Value};

/// A record's stamp as read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadStamp {
    pub stream_id: String,
    pub sequence: u64,
    pub link: Hash,
    /// The previous link a full stamp names; `None` on a full stamp's
    /// record 1 and on every compact stamp (`compact` says which).
    pub previous: Option<Hash>,
    pub compact: bool,
    pub algorithm: Algorithm,
    pub key_epoch: u64,
    pub end: bool,
}

/// What a control record says that the checker uses.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ControlFacts {
    pub event: String,
    /// The checkpoint's signed note (the log record's body, or a span's
    /// `audit.stream.body`).
    pub note: Option<String>,
    pub key_lineage: Vec<String>,
    pub chain_key_id: Option<String>,
    /// Format version 2 (SPEC §5.5): the record carries `audit.log.origin`.
    pub log_origin: Option<String>,
    /// Its own leaf index (`audit.log.index`), format version 2.
    #[serde(default)]
    pub log_index: Option<u64>,
}

/// One record of a batch.
#[derive(Clone, Debug)]
pub enum Read {
    /// No canonical form (§2).
    Unreadable(String),
    /// No stamp attribute at all.
    Unstamped,
    /// A stamp that is not one (§8.0); the stream id when it could be read.
    Malformed(String),
    Stamped {
        stamp: ReadStamp,
        record_hash: Hash,
        control: Option<Box<ControlFacts>>,
    },
}

struct Sink {
    hasher: RecordHasher,
    signal: Signal,
    out: Vec<Read>,
}

impl<'a> proto::RecordSink<'a> for Sink {
    fn envelope(&mut self, envelope: &Envelope) {
        self.hasher.set_envelope(envelope);
    }
    fn record(&mut self, canonical: &[u8], stamp: &[proto::StampAttr<'a>], _content: Option<&content_hash::Outcome>) {
        let record_hash = self.hasher.hash(canonical);
        self.out.push(match parse_stamp(stamp) {
            Ok(None) => Read::Unstamped,
            Err(e) => Read::Malformed(e),
            Ok(Some(stamp)) => {
                let control = if stamp.compact { None } else { control_facts(self.signal, canonical) };
                Read::Stamped { stamp, record_hash, control }
            }
        });
    }
    fn rejected(&mut self, error: CanonicalError) {
        self.out.push(Read::Unreadable(error.to_string()));
    }
}

/// Reads every record of an OTLP protobuf export request of `signal`, in
/// request order (resource, scope, record). Fails only on a request that
/// is not well-formed.
pub fn read_batch(signal: Signal, request: &[u8]) -> Result<Vec<Read>, CanonicalError> {
    let mut sink = Sink { hasher: RecordHasher::default(), signal, out: Vec::new() };
    proto::walk(
        signal,
        request,
        proto::StampPolicy::Extract,
        content_hash::Policy::Off,
        proto::BadRecords::Reject,
        &mut Scratch::new(),
        &mut sink,
    )?;
    Ok(sink.out)
}

enum Any<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Other,
}

fn any(bytes: &[u8]) -> Any<'_> {
    let mut r = Reader::new(bytes);
    let mut v = Any::Other;
    while let Ok(Some((field, value))) = r.next_field() {
        v = match (field, value) {
            (1, Value::Bytes(b)) => std::str::from_utf8(b).map(Any::Str).unwrap_or(Any::Other),
            (2, Value::Varint(b)) => Any::Bool(b != 0),
            (3, Value::Varint(i)) => Any::Int(i as i64),
            _ => Any::Other,
        };
    }
    v
}

fn hash_of(key: StampKey, v: &Any<'_>) -> Result<Hash, String> {
    match v {
        Any::Str(s) => from_hex(s).ok_or_else(|| format!("{} is not 64 hexadecimal digits", key.name())),
        _ => Err(format!("{} is not a string", key.name())),
    }
}

/// The stamp from the stamp attributes the walker handed over (§4.1,
/// §4.1.1, §8.0's malformed-stamp rule).
pub fn parse_stamp(attrs: &[proto::StampAttr<'_>]) -> Result<Option<ReadStamp>, String> {
    if attrs.is_empty() {
        return Ok(None);
    }
    let mut seen: Vec<(StampKey, Any<'_>)> = Vec::new();
    for (k, v) in attrs {
        let key = StampKey::from_name(k).ok_or_else(|| format!("{k} is not a stamp attribute"))?;
        if seen.iter().any(|(s, _)| *s == key) {
            return Err(format!("{k} appears twice"));
        }
        seen.push((key, any(v)));
    }
    let get = |k: StampKey| seen.iter().find(|(s, _)| *s == k).map(|(_, v)| v);
    if let Some(c) = get(StampKey::Compact) {
        if seen.len() > 1 {
            return Err("audit.integrity.stamp together with full stamp attributes".into());
        }
        let Any::Str(text) = c else { return Err("audit.integrity.stamp is not a string".into()) };
        let c = Compact::parse(text)?;
        return Ok(Some(ReadStamp {
            stream_id: c.stream_id.to_string(),
            sequence: c.sequence,
            link: c.value,
            previous: None,
            compact: true,
            algorithm: c.algorithm,
            key_epoch: c.key_epoch.unwrap_or(0),
            end: c.end,
        }));
    }
    let stream_id = match get(StampKey::StreamId) {
        Some(Any::Str(s)) if !s.is_empty() => s.to_string(),
        _ => return Err("audit.sequence.stream_id is missing or not a string".into()),
    };
    let sequence = match get(StampKey::SequenceNumber) {
        Some(Any::Int(n)) if *n >= 1 => *n as u64,
        _ => return Err("audit.sequence.number is missing or not an int >= 1".into()),
    };
    let link = hash_of(StampKey::IntegrityValue, get(StampKey::IntegrityValue).unwrap_or(&Any::Other))?;
    let previous = match get(StampKey::PreviousHash) {
        None => None,
        Some(v) => Some(hash_of(StampKey::PreviousHash, v)?),
    };
    let algorithm = match get(StampKey::IntegrityAlgorithm) {
        Some(Any::Str(s)) => Algorithm::from_name(s).ok_or_else(|| format!("unknown algorithm {s:?}"))?,
        _ => return Err("audit.integrity.algorithm is missing or not a string".into()),
    };
    match get(StampKey::IntegrityCanonicalization) {
        Some(Any::Str("otlp-jcs-v1")) => {}
        _ => return Err("audit.integrity.canonicalization is not otlp-jcs-v1".into()),
    }
    let key_epoch = match (algorithm, get(StampKey::KeyEpoch)) {
        (Algorithm::HmacSha256, Some(Any::Int(e))) if *e >= 0 => *e as u64,
        (Algorithm::Sha256, None) => 0,
        _ => return Err("audit.integrity.key_epoch must be an int >= 0 exactly on keyed chains".into()),
    };
    let end = match get(StampKey::SequenceEnd) {
        None => false,
        Some(Any::Bool(b)) => *b,
        Some(_) => return Err("audit.sequence.end is not a bool".into()),
    };
    Ok(Some(ReadStamp { stream_id, sequence, link, previous, compact: false, algorithm, key_epoch, end }))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The control facts of a full-stamped record that is one of the
/// processor's own (it carries `audit.stream.event`), read back from its
/// canonical object (JCS JSON). `None` for any other record.
fn control_facts(signal: Signal, canonical: &[u8]) -> Option<Box<ControlFacts>> {
    if !contains(canonical, b"\"audit.stream.event\"") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(canonical).ok()?;
    let attrs = v.get("attributes")?.as_array()?;
    let attr = |name: &str| {
        attrs.iter().find(|a| a.get("key").and_then(|k| k.as_str()) == Some(name)).and_then(|a| a.get("value"))
    };
    let string =
        |name: &str| attr(name).and_then(|v| v.get("stringValue")).and_then(|s| s.as_str()).map(str::to_string);
    let event = string("audit.stream.event")?;
    let note = match signal {
        Signal::Logs => v.get("body").and_then(|b| b.get("stringValue")).and_then(|s| s.as_str()).map(str::to_string),
        Signal::Traces => string("audit.stream.body"),
    };
    let key_lineage = attr("audit.stream.key_lineage")
        .and_then(|v| v.get("arrayValue"))
        .and_then(|a| a.get("values"))
        .and_then(|a| a.as_array())
        .map(|vals| {
            vals.iter().filter_map(|x| x.get("stringValue").and_then(|s| s.as_str()).map(str::to_string)).collect()
        })
        .unwrap_or_default();
    Some(Box::new(ControlFacts {
        event,
        note,
        key_lineage,
        chain_key_id: string("audit.stream.chain_key_id"),
        log_origin: string("audit.log.origin"),
        log_index: attr("audit.log.index").and_then(|v| v.get("intValue")).and_then(|i| match i {
            serde_json::Value::String(s) => s.parse().ok(),
            n => n.as_u64(),
        }),
    }))
}
