//! Input readers. They only read: files (gzip, zstd taken off:
//! [`files`]) → what they hold, told from their first bytes ([`input`]) →
//! JSON values ([`json`]) or protobuf messages ([`protobuf`]) → checkpoint
//! lines or export requests of logs or traces → each record's record
//! hash, stamp, control facts and content-hash check, handed to a callback
//! as they are found. What the records mean is for the rules
//! (`verify::rules`).

mod control;
pub mod files;
pub mod input;
pub mod json;
pub mod node;
pub mod progress;
pub mod protobuf;
pub mod s3;
pub mod stamp;
pub mod zstd;

use crate::core::canonical::json::{Any, any_or_none};
use crate::core::canonical::tree::Tree;
use crate::core::canonical::{CanonicalError, Envelope, RecordHasher, Scratch, Signal, json as otlp_json};
use crate::core::chain::Hash;
use crate::core::vocab::StampKey;
use crate::core::{content_hash, vocab};
use crate::verify::records::Control;
use stamp::{Malformed, StampRead};

/// One thing found in an input file.
pub enum Item<'v> {
    /// A `checkpoint.file` line (SPEC §5.3).
    CheckpointLine { stream_id: &'v str, sequence: u64, note: &'v str, end: bool },
    /// An OTLP/JSON export request begins.
    Request,
    /// A record of the current request: its index there, and what was read
    /// or why it has no canonical form.
    Record { index: u32, record: Result<RecordRead<'v>, Unreadable<'v>> },
}

/// A record as read.
pub struct RecordRead<'v> {
    /// The signal of its request: a log record or a span.
    pub signal: Signal,
    /// SHA-256 of its canonical form (SPEC §2.7).
    pub record_hash: Hash,
    /// The check of its `audit.content_hash` against its body (SPEC §4.6),
    /// when it carries one.
    pub content_hash: Option<ContentHashRead>,
    /// Its stamp; `None` when it carries no stamp attribute at all.
    pub stamp: Option<Result<StampRead<'v>, Malformed<'v>>>,
    /// What it says when it is a control record.
    pub control: Option<Box<Control>>,
}

/// A record without a canonical form, with what could be read of where it
/// belongs (its stamp's stream id and number), so that the finding goes to
/// its stream.
pub struct Unreadable<'v> {
    pub error: CanonicalError,
    pub stream_id: Option<&'v str>,
    pub sequence: Option<i64>,
}

/// Reads one JSON value of an input file: a checkpoint line (an object
/// with a `stream_id` member, SPEC §5.3) or an OTLP/JSON export request
/// (any other object). A malformed checkpoint line, or a resource or scope
/// without a canonical form (shared by its records), is the error; a
/// record without one is an item like the others.
pub fn read_value<'v, V: Tree>(
    value: &'v V,
    scratch: &mut Scratch,
    f: &mut impl FnMut(Item<'v>),
) -> Result<(), String> {
    if value.members().is_some() && value.get("stream_id").is_some() {
        f(checkpoint_line(value)?);
        return Ok(());
    }
    f(Item::Request);
    let signal = otlp_json::signal_of(value);
    let mut sink = Sink { f, hasher: RecordHasher::default(), index: 0, signal };
    otlp_json::walk_signal(signal, value, scratch, &mut sink).map_err(|e| e.to_string())
}

/// What the content-hash check of a record found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentHashRead {
    /// `None` when the body matches; why not otherwise.
    pub mismatch: Option<String>,
    /// The processor marked it when stamping (`audit.integrity.content_hash_check`).
    pub marked: bool,
}

fn content_hash_read<V: Tree>(raw: &V) -> Option<ContentHashRead> {
    let attributes = || raw.get("attributes").and_then(V::as_array).into_iter().flatten();
    // `check_json` reads a `serde_json::Value`: only a record that claims a
    // content hash is converted to one.
    if !attributes().any(|kv| kv.get("key").and_then(V::as_str) == Some(vocab::CONTENT_HASH)) {
        return None;
    }
    let outcome = content_hash::check_json(&raw.to_value())?;
    let marked = attributes().any(|kv| {
        kv.get("key").and_then(V::as_str) == Some(vocab::CONTENT_HASH_CHECK)
            && matches!(any_or_none(kv.get("value")), Ok(Any::String(s)) if s == vocab::CONTENT_HASH_MISMATCH)
    });
    let mismatch = match outcome {
        content_hash::Outcome::Match => None,
        content_hash::Outcome::Mismatch(why) => Some(why.to_string()),
    };
    Some(ContentHashRead { mismatch, marked })
}

/// A checkpoint line: exactly `stream_id` (a string), `sequence` (the
/// number of the record carrying the checkpoint, a JSON integer ≥ 1),
/// `note` (a string) and, on the final checkpoint of a stream that ended
/// cleanly, `end: true`.
fn checkpoint_line<V: Tree>(obj: &V) -> Result<Item<'_>, String> {
    let bad = |why: &str| Err(format!("not a checkpoint line: {why}"));
    let mut names = obj.members().into_iter().flatten().map(|(k, _)| k);
    if let Some(other) = names.find(|k| !matches!(*k, "stream_id" | "sequence" | "note" | "end")) {
        return bad(&format!("unknown member {other:?}"));
    }
    let Some(stream_id) = obj.get("stream_id").and_then(V::as_str).filter(|s| !s.is_empty()) else {
        return bad("stream_id must be a non-empty string");
    };
    let Some(sequence) = obj.get("sequence").and_then(V::as_u64).filter(|&n| n >= 1) else {
        return bad("sequence must be an integer of at least 1");
    };
    let Some(note) = obj.get("note").and_then(V::as_str) else { return bad("note must be a string") };
    let end = match obj.get("end") {
        None => false,
        Some(v) if v.as_bool() == Some(true) => true,
        Some(_) => return bad("end, when present, must be true"),
    };
    Ok(Item::CheckpointLine { stream_id, sequence, note, end })
}

/// Where a record without a canonical form belongs, read from its stamp
/// attributes as far as they can be read.
fn stamp_hint<V: Tree>(raw: &V) -> (Option<&str>, Option<i64>) {
    let (mut id, mut seq) = (None, None);
    for kv in raw.get("attributes").and_then(V::as_array).into_iter().flatten() {
        match (kv.get("key").and_then(V::as_str), any_or_none(kv.get("value"))) {
            (Some(k), Ok(Any::String(s))) if k == StampKey::StreamId.name() => id = Some(s),
            (Some(k), Ok(Any::Int(n))) if k == StampKey::SequenceNumber.name() => seq = Some(n),
            _ => {}
        }
    }
    (id, seq)
}

struct Sink<'f, F> {
    f: &'f mut F,
    hasher: RecordHasher,
    index: u32,
    signal: Signal,
}

impl<'v, V: Tree, F: FnMut(Item<'v>)> otlp_json::RecordSink<'v, V> for Sink<'_, F> {
    fn envelope(&mut self, envelope: &Envelope) {
        self.hasher.set_envelope(envelope);
    }

    fn record(&mut self, raw: &'v V, record: Result<(&[u8], &[otlp_json::StampAttr<'v, V>]), CanonicalError>) {
        let index = self.index;
        self.index += 1;
        let record = match record {
            Ok((canonical, stamp)) => {
                let stamp = (!stamp.is_empty()).then(|| stamp::read(stamp));
                // Only a stamped record can be one of the engine's own.
                let control = stamp.as_ref().and_then(|_| control::read(raw, self.signal));
                let content_hash = if self.signal == Signal::Logs { content_hash_read(raw) } else { None };
                Ok(RecordRead {
                    signal: self.signal,
                    record_hash: self.hasher.hash(canonical),
                    content_hash,
                    stamp,
                    control,
                })
            }
            Err(error) => {
                let (stream_id, sequence) = stamp_hint(raw);
                Err(Unreadable { error, stream_id, sequence })
            }
        };
        progress::add_record();
        (self.f)(Item::Record { index, record });
    }
}
