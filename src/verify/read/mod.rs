//! Input readers. They only read: files → JSON values → OTLP/JSON export
//! requests of logs or traces → each record's record hash, stamp, control
//! facts and content-hash check, handed
//! to a callback as they are found. What the records mean is for the
//! rules (`verify::rules`).

mod control;
pub mod files;
pub mod json;
pub mod s3;
pub mod stamp;

use crate::core::canonical::{CanonicalError, Envelope, RecordHasher, Scratch, Signal, json as otlp_json};
use crate::core::chain::Hash;
use crate::core::{content_hash, vocab};
use crate::verify::records::Control;
use serde_json::Value;
use stamp::StampRead;

/// One thing found in an input file.
pub enum Item<'v> {
    /// A `checkpoint.file` line (SPEC §5.3).
    CheckpointLine { stream_id: &'v str, sequence: Option<u64>, note: &'v str },
    /// An OTLP/JSON export request begins.
    Request,
    /// A record of the current request: its index there, and what was read
    /// or why it has no canonical form.
    Record { index: u32, record: Result<RecordRead<'v>, CanonicalError> },
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
    pub stamp: Option<Result<StampRead<'v>, String>>,
    /// What it says when it is a control record.
    pub control: Option<Box<Control>>,
}

/// Reads one JSON value of an input file: a checkpoint line
/// (`{"stream_id", "sequence", "note"}`) or an OTLP/JSON export request. A
/// resource or scope without a canonical form ends the request (the error);
/// a record without one is an item like the others.
pub fn read_value<'v>(
    value: &'v Value,
    scratch: &mut Scratch,
    f: &mut impl FnMut(Item<'v>),
) -> Result<(), CanonicalError> {
    if let (Some(stream_id), Some(note)) =
        (value.get("stream_id").and_then(Value::as_str), value.get("note").and_then(Value::as_str))
    {
        let sequence = value.get("sequence").and_then(Value::as_u64);
        f(Item::CheckpointLine { stream_id, sequence, note });
        return Ok(());
    }
    f(Item::Request);
    let signal = otlp_json::signal_of(value);
    let mut sink = Sink { f, hasher: RecordHasher::default(), index: 0, signal };
    otlp_json::walk_signal(signal, value, scratch, &mut sink)
}

/// What the content-hash check of a record found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentHashRead {
    /// `None` when the body matches; why not otherwise.
    pub mismatch: Option<String>,
    /// The processor marked it when stamping (`audit.integrity.content_hash_check`).
    pub marked: bool,
}

fn content_hash_read(raw: &Value) -> Option<ContentHashRead> {
    let outcome = content_hash::check_json(raw)?;
    let marked = raw.get("attributes").and_then(Value::as_array).into_iter().flatten().any(|kv| {
        kv.get("key").and_then(Value::as_str) == Some(vocab::CONTENT_HASH_CHECK)
            && kv.pointer("/value/stringValue").and_then(Value::as_str) == Some(vocab::CONTENT_HASH_MISMATCH)
    });
    let mismatch = match outcome {
        content_hash::Outcome::Match => None,
        content_hash::Outcome::Mismatch(why) => Some(why.to_string()),
    };
    Some(ContentHashRead { mismatch, marked })
}

struct Sink<'f, F> {
    f: &'f mut F,
    hasher: RecordHasher,
    index: u32,
    signal: Signal,
}

impl<'v, F: FnMut(Item<'v>)> otlp_json::RecordSink<'v> for Sink<'_, F> {
    fn envelope(&mut self, envelope: &Envelope) {
        self.hasher.set_envelope(envelope);
    }

    fn record(&mut self, raw: &'v Value, record: Result<(&[u8], &[otlp_json::StampAttr<'v>]), CanonicalError>) {
        let index = self.index;
        self.index += 1;
        let record = record.map(|(canonical, stamp)| {
            let stamp = (!stamp.is_empty()).then(|| stamp::read(stamp));
            // Only a stamped record can be one of the engine's own.
            let control = stamp.as_ref().and_then(|_| control::read(raw, self.signal));
            let content_hash = if self.signal == Signal::Logs { content_hash_read(raw) } else { None };
            RecordRead { signal: self.signal, record_hash: self.hasher.hash(canonical), content_hash, stamp, control }
        });
        (self.f)(Item::Record { index, record });
    }
}
