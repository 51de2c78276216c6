//! Protobuf inputs: the fileexporter's `format: proto` (each message
//! preceded by its length, 4 bytes big-endian), its `compression: zstd`
//! (the same framing, each message a zstd frame: of a protobuf request, or
//! of an OTLP/JSON one with `format: json`), and the awss3exporter's
//! `otlp_proto` objects (one export request, the whole object). Each
//! request is walked by the canonical protobuf walker
//! (`core::canonical::proto`), so its record hashes are those of the same
//! records read from OTLP/JSON (docs/SPEC.md §8.0).
//!
//! A frame that cannot be taken as one (a length past the bound, a torn
//! last frame, bytes that are no request) is reported with its byte
//! offset, and reading resumes at the next offset where a plausible frame
//! begins: a length within the bound whose payload's top-level fields are
//! export-request fields filling it exactly, followed by the end of the
//! input or another plausible length. A frame read whole but whose request
//! cannot be read is reported and skipped by its length.

use super::files::ZSTD_MAGIC;
use super::stamp;
use super::{Item, RecordRead, Unreadable, content_hash_read, control, json, stamp_hint};
use crate::core::canonical::proto::{self as walker, BadRecords, RecordSink, StampPolicy};
use crate::core::canonical::{CanonicalError, Envelope, MAX_DEPTH, RecordHasher, Scratch, Signal};
use crate::core::content_hash::{Outcome, Policy as ContentPolicy};
use crate::core::vocab;
use crate::core::wire::{Reader, Value as Wire};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::io::Read;

/// How much is read at a time.
const BLOCK: usize = 1 << 20;

/// One message read from a protobuf input: its 1-based number in the
/// input, the byte offset of its frame (of the decompressed input), and
/// its bytes or why it cannot be taken.
pub struct Frame<'a> {
    pub number: u64,
    pub offset: u64,
    pub bytes: Result<&'a [u8], String>,
}

/// The messages of a protobuf input, read a block at a time (memory: one
/// message of at most `max` bytes, plus a block).
pub struct Messages<R> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    /// Bytes dropped from the front of `buf`.
    base: u64,
    eof: bool,
    read_error: Option<String>,
    number: u64,
    max: usize,
    /// Length-prefixed frames; else one message, the whole input.
    framed: bool,
}

impl<R: Read> Messages<R> {
    /// Length-prefixed messages (the fileexporter's framing).
    pub fn framed(src: R, max: usize) -> Self {
        Messages { src, buf: Vec::new(), pos: 0, base: 0, eof: false, read_error: None, number: 0, max, framed: true }
    }

    /// One message, the whole input (an awss3exporter `otlp_proto` object).
    pub fn whole(src: R, max: usize) -> Self {
        Messages { framed: false, ..Messages::framed(src, max) }
    }

    fn avail(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn offset_of(&self, i: usize) -> u64 {
        self.base + i as u64
    }

    /// Makes sure `n` bytes from the current position are at hand, unless
    /// the input ends first.
    fn fill(&mut self, n: usize) {
        if self.avail() >= n || self.eof {
            return;
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        while self.buf.len() < n && !self.eof {
            let want = (n - self.buf.len()).max(BLOCK) as u64;
            match (&mut self.src).take(want).read_to_end(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) => {
                    self.read_error = Some(e.to_string());
                    self.eof = true;
                }
            }
        }
    }

    /// The length a frame at `i` (relative to `pos`) says, when it is within
    /// the bound and its first payload byte can begin a message.
    fn plausible_header(&self, i: usize) -> Option<usize> {
        let b = &self.buf[self.pos + i..];
        let len = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
        (len > 0 && len <= self.max && matches!(b.get(4), Some(0x0a | 0x28 | b'{'))).then_some(len)
    }

    /// The first offset from `from` (relative to `pos`) where a plausible
    /// frame begins, or `None` when none does before the end.
    fn resync(&mut self, from: usize) -> Option<usize> {
        let mut i = from;
        loop {
            self.fill(i + 5);
            if self.avail() < i + 5 {
                return None;
            }
            if let Some(len) = self.plausible_header(i) {
                let end = i + 4 + len;
                self.fill(end + 5);
                let payload = &self.buf[self.pos + i + 4..];
                if payload.len() >= len && plausible_payload(&payload[..len]) {
                    let rest = self.avail() - end;
                    if rest == 0 || (rest >= 5 && self.plausible_header(end).is_some()) || (rest < 4 && self.eof) {
                        return Some(i);
                    }
                }
            }
            i += 1;
        }
    }

    /// After the bad frame at `pos`: where reading resumes, said.
    fn skip_bad(&mut self) -> String {
        match self.resync(1) {
            Some(i) => {
                let at = self.offset_of(self.pos + i);
                self.pos += i;
                format!(
                    "; reading resumes at byte offset {at}, where the next plausible frame begins ({i} bytes skipped)"
                )
            }
            None => {
                let skipped = self.avail();
                self.pos = self.buf.len();
                format!("; no plausible frame follows ({skipped} bytes skipped to the end)")
            }
        }
    }

    /// The next message, or `None` at the end of the input.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Frame<'_>> {
        if !self.framed {
            return self.next_whole();
        }
        self.fill(4);
        let offset = self.offset_of(self.pos);
        let avail = self.avail();
        if avail == 0 {
            return self.read_error.take().map(|e| Frame { number: self.number + 1, offset, bytes: Err(e) });
        }
        self.number += 1;
        let number = self.number;
        let bad = |why: String| Some(Frame { number, offset, bytes: Err(why) });
        if avail < 4 {
            self.pos = self.buf.len();
            return bad(format!(
                "frame at byte offset {offset}: torn, {avail} bytes at the end of the input where a 4-byte length belongs"
            ));
        }
        let len = u32::from_be_bytes(self.buf[self.pos..self.pos + 4].try_into().expect("4 bytes")) as usize;
        if len > self.max {
            let why = format!(
                "frame at byte offset {offset}: its length says {len} bytes, more than the {} MiB a message may take (a damaged length, or no frame)",
                self.max >> 20
            );
            let resumed = self.skip_bad();
            return bad(why + &resumed);
        }
        self.fill(4 + len);
        if self.avail() < 4 + len {
            let why = format!(
                "frame at byte offset {offset}: torn, its length says {len} bytes and only {} follow before the end of the input",
                self.avail() - 4
            );
            let resumed = self.skip_bad();
            return bad(why + &resumed);
        }
        let start = self.pos + 4;
        if len > 0 && !plausible_payload(&self.buf[start..start + len]) {
            let why = format!(
                "frame at byte offset {offset}: its {len} bytes are no export request (garbage, or a damaged length)"
            );
            let resumed = self.skip_bad();
            return bad(why + &resumed);
        }
        self.pos = start + len;
        Some(Frame { number, offset, bytes: Ok(&self.buf[start..start + len]) })
    }

    fn next_whole(&mut self) -> Option<Frame<'_>> {
        if self.number > 0 {
            return None;
        }
        self.fill(self.max + 1);
        self.number = 1;
        if let Some(e) = self.read_error.take() {
            return Some(Frame { number: 1, offset: 0, bytes: Err(e) });
        }
        if self.avail() > self.max {
            let why = format!("the message is longer than {} MiB: not read", self.max >> 20);
            return Some(Frame { number: 1, offset: 0, bytes: Err(why) });
        }
        Some(Frame { number: 1, offset: 0, bytes: Ok(&self.buf[self.pos..]) })
    }
}

/// Whether `payload` can be a message of the inputs: a zstd frame, an
/// OTLP/JSON object, or protobuf whose top-level fields (the first 64
/// looked at) are all field 1, length-delimited, and fill it exactly.
fn plausible_payload(payload: &[u8]) -> bool {
    if payload.starts_with(&ZSTD_MAGIC) || payload.first() == Some(&b'{') {
        return true;
    }
    let mut r = Reader::new(payload);
    for _ in 0..64 {
        match r.next_field() {
            Ok(None) => return true,
            Ok(Some((1, Wire::Bytes(_)))) => {}
            _ => return false,
        }
    }
    true
}

/// Reads one message: a zstd frame is decompressed (to at most
/// `max_value` bytes) first; then an OTLP/JSON object is read as a JSON
/// value, anything else as a protobuf export request.
pub fn read_message(
    bytes: &[u8],
    max_value: usize,
    scratch: &mut Scratch,
    f: &mut impl FnMut(Item<'_>),
) -> Result<(), String> {
    if bytes.starts_with(&ZSTD_MAGIC) {
        let inner = super::zstd::decompress_all(bytes, max_value)?;
        if inner.starts_with(&ZSTD_MAGIC) {
            return Err("zstd: a zstd frame inside a zstd frame".into());
        }
        return read_message(&inner, max_value, scratch, f);
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let value = json::parse_strict(bytes).map_err(|e| format!("not an OTLP/JSON request: {e}"))?;
        return super::read_value(&value, scratch, f);
    }
    read_request(bytes, scratch, f)
}

// ---- Logs or spans ----

/// The wire types of a LogRecord's and a Span's fields (0 varint, 1
/// fixed64, 2 length-delimited, 5 fixed32), by field number.
fn fits(signal: Signal, field: u32, wire: u8) -> bool {
    let want = match (signal, field) {
        (Signal::Logs, 1 | 11) => 1,
        (Signal::Logs, 2 | 7) => 0,
        (Signal::Logs, 3 | 5 | 6 | 9 | 10 | 12) => 2,
        (Signal::Logs, 8) => 5,
        (Signal::Traces, 1..=5 | 9 | 11 | 13 | 15) => 2,
        (Signal::Traces, 6 | 10 | 12 | 14) => 0,
        (Signal::Traces, 7 | 8) => 1,
        (Signal::Traces, 16) => 5,
        // Unknown fields: the canonical walk refuses them either way.
        _ => return true,
    };
    want == wire
}

fn wire_type(v: &Wire<'_>) -> u8 {
    match v {
        Wire::Varint(_) => 0,
        Wire::Fixed64(_) => 1,
        Wire::Bytes(_) => 2,
        Wire::Fixed32(_) => 5,
    }
}

/// The records of a request (resource list → scope list → records), in
/// the order the canonical walk visits them; `None` when it is not
/// well-formed protobuf down to the records.
fn records(request: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let fields = |msg| -> Option<Vec<&[u8]>> {
        let mut r = Reader::new(msg);
        let mut list = Vec::new();
        while let Some((field, v)) = r.next_field().ok()? {
            if field == 2 {
                list.push(v.bytes(2).ok()?);
            }
        }
        Some(list)
    };
    let mut r = Reader::new(request);
    while let Some((field, v)) = r.next_field().ok()? {
        if field != 1 {
            return None;
        }
        for scope in fields(v.bytes(1).ok()?)? {
            out.extend(fields(scope)?);
        }
    }
    Some(out)
}

/// Whether a protobuf request holds logs or spans (both are field 1 of
/// their request, and their lists are numbered alike): told by the first
/// record whose fields' wire types fit a LogRecord or a Span but not both.
pub fn signal_of(records: &[&[u8]]) -> Result<Signal, String> {
    if records.is_empty() {
        return Ok(Signal::Logs);
    }
    for rec in records {
        let (mut logs, mut spans) = (true, true);
        let mut r = Reader::new(rec);
        while let Ok(Some((field, v))) = r.next_field() {
            logs &= fits(Signal::Logs, field, wire_type(&v));
            spans &= fits(Signal::Traces, field, wire_type(&v));
        }
        match (logs, spans) {
            (true, false) => return Ok(Signal::Logs),
            (false, true) => return Ok(Signal::Traces),
            _ => {}
        }
    }
    Err("a protobuf request whose records fit neither or both of LogRecord and Span: cannot tell logs from spans"
        .into())
}

// ---- What the readers of stamps and control records need ----

/// An AnyValue message in OTLP/JSON typed form (SPEC §2.6), for the
/// readers of stamps, control records and content hashes; `None` when it
/// is not well-formed (the canonical walk refuses the record then).
fn any_json(msg: &[u8], depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut out = Value::Object(Map::new());
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field().ok()? {
        out = match (field, v) {
            (1, Wire::Bytes(b)) => json!({"stringValue": String::from_utf8_lossy(b)}),
            (2, Wire::Varint(n)) => json!({"boolValue": n != 0}),
            (3, Wire::Varint(n)) => json!({"intValue": (n as i64).to_string()}),
            (4, Wire::Fixed64(n)) => {
                let d = f64::from_bits(n);
                let d = serde_json::Number::from_f64(d).map_or_else(|| Value::String(d.to_string()), Value::Number);
                json!({ "doubleValue": d })
            }
            (5, Wire::Bytes(b)) => json!({"arrayValue": {"values": values(b, depth)?}}),
            (6, Wire::Bytes(b)) => json!({"kvlistValue": {"values": key_values(b, depth)?}}),
            (7, Wire::Bytes(b)) => json!({"bytesValue": base64::engine::general_purpose::STANDARD.encode(b)}),
            _ => return None,
        };
    }
    Some(out)
}

/// The values of an ArrayValue (field 1, repeated AnyValue).
fn values(msg: &[u8], depth: usize) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field().ok()? {
        if field == 1 {
            out.push(any_json(v.bytes(1).ok()?, depth + 1)?);
        }
    }
    Some(out)
}

/// The KeyValues of a KeyValueList (field 1, repeated KeyValue).
fn key_values(msg: &[u8], depth: usize) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field().ok()? {
        if field == 1 {
            out.push(key_value(v.bytes(1).ok()?, depth + 1)?);
        }
    }
    Some(out)
}

fn key_value(msg: &[u8], depth: usize) -> Option<Value> {
    let (mut key, mut value) = (String::new(), json!({}));
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field().ok()? {
        match field {
            1 => key = String::from_utf8_lossy(v.bytes(1).ok()?).into_owned(),
            2 => value = any_json(v.bytes(2).ok()?, depth)?,
            _ => {}
        }
    }
    Some(json!({"key": key, "value": value}))
}

/// A record's attributes, body and time in OTLP/JSON form: what the
/// readers of stamps, control records and content hashes look at. Empty
/// when the record is not well-formed (it has no canonical form then).
fn facts(signal: Signal, record: &[u8]) -> Value {
    let (attributes_field, time_field, time_name) = match signal {
        Signal::Logs => (6, 1, "timeUnixNano"),
        Signal::Traces => (9, 7, "startTimeUnixNano"),
    };
    let read = || -> Option<Value> {
        let mut out = Map::new();
        let mut attributes = Vec::new();
        let mut r = Reader::new(record);
        while let Some((field, v)) = r.next_field().ok()? {
            if field == attributes_field {
                attributes.push(key_value(v.bytes(field).ok()?, 1)?);
            } else if field == time_field {
                out.insert(time_name.into(), Value::String(v.fixed64(field).ok()?.to_string()));
            } else if signal == Signal::Logs && field == 5 {
                out.insert("body".into(), any_json(v.bytes(5).ok()?, 1)?);
            }
        }
        out.insert("attributes".into(), Value::Array(attributes));
        Some(Value::Object(out))
    };
    read().unwrap_or_else(|| json!({}))
}

/// The stamp attributes among a record's facts.
fn stamp_attrs(facts: &Value) -> Vec<(&str, &Value)> {
    facts
        .get("attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|kv| Some((kv.get("key")?.as_str()?, kv.get("value")?)))
        .filter(|(k, _)| vocab::is_stamp(k))
        .collect()
}

struct Sink<'v, 'f, F> {
    f: &'f mut F,
    facts: &'v [Value],
    hasher: RecordHasher,
    index: u32,
    signal: Signal,
}

impl<'v, F: FnMut(Item<'v>)> Sink<'v, '_, F> {
    fn next_facts(&mut self) -> (u32, &'v Value) {
        let index = self.index;
        self.index += 1;
        const EMPTY: &Value = &Value::Null;
        (index, self.facts.get(index as usize).unwrap_or(EMPTY))
    }
}

impl<'a, 'v, F: FnMut(Item<'v>)> RecordSink<'a> for Sink<'v, '_, F> {
    fn envelope(&mut self, envelope: &Envelope) {
        self.hasher.set_envelope(envelope);
    }

    fn record(&mut self, canonical: &[u8], _stamp: &[walker::StampAttr<'a>], _content: Option<&Outcome>) {
        let (index, raw) = self.next_facts();
        let attrs = stamp_attrs(raw);
        let stamp = (!attrs.is_empty()).then(|| stamp::read(&attrs));
        let control = stamp.as_ref().and_then(|_| control::read(raw, self.signal));
        let content_hash = if self.signal == Signal::Logs { content_hash_read(raw) } else { None };
        let record = Ok(RecordRead {
            signal: self.signal,
            record_hash: self.hasher.hash(canonical),
            content_hash,
            stamp,
            control,
        });
        super::progress::add_record();
        (self.f)(Item::Record { index, record });
    }

    fn rejected(&mut self, error: CanonicalError) {
        let (index, raw) = self.next_facts();
        let (stream_id, sequence) = stamp_hint(raw);
        super::progress::add_record();
        (self.f)(Item::Record { index, record: Err(Unreadable { error, stream_id, sequence }) });
    }
}

/// Reads one protobuf export request of logs or spans: every record's
/// hash by the canonical protobuf walker, its stamp, control facts and
/// content hash by the readers the OTLP/JSON records go through. A request
/// that is not well-formed protobuf, or whose lists have fields the
/// canonical form does not know, is the error; a record without a
/// canonical form is an item like the others.
pub fn read_request(request: &[u8], scratch: &mut Scratch, f: &mut impl FnMut(Item<'_>)) -> Result<(), String> {
    let list = records(request).ok_or_else(|| "not a protobuf export request of logs or spans".to_string());
    let list = list?;
    let signal = signal_of(&list)?;
    let facts: Vec<Value> = list.iter().map(|r| facts(signal, r)).collect();
    f(Item::Request);
    let mut sink = Sink { f, facts: &facts, hasher: RecordHasher::default(), index: 0, signal };
    walker::walk(signal, request, StampPolicy::Extract, ContentPolicy::Off, BadRecords::Reject, scratch, &mut sink)
        .map_err(|e| format!("{} request: {e}", signal.name()))?;
    if sink.index as usize != facts.len() {
        return Err(format!("{} request: {} records walked of {}", signal.name(), sink.index, facts.len()));
    }
    Ok(())
}
