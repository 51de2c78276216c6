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
//! begins: a length within the bound whose payload is shaped like an
//! export request down to its records (its first 256 fields looked at),
//! followed by the end of the input or another plausible length. A frame read whole but whose request
//! cannot be read is reported and skipped by its length.

use super::files::ZSTD_MAGIC;
use super::stamp;
use super::{Item, RecordRead, Unreadable, content_hash_read, control, node, stamp_hint};
use crate::core::canonical::proto::{self as walker, BadRecords, RecordSink, StampPolicy};
use crate::core::canonical::tree::Tree;
use crate::core::canonical::{CanonicalError, Envelope, MAX_DEPTH, RecordHasher, Scratch, Signal};
use crate::core::content_hash::{Outcome, Policy as ContentPolicy};
use crate::core::vocab;
use crate::core::wire::{Reader, Value as Wire};
use base64::Engine as _;
use node::{Arena, Node};
use std::io::Read;

/// How much is read at a time.
const BLOCK: usize = 1 << 20;

/// How many fields of a candidate frame are looked at when looking for
/// where reading can resume.
const RESYNC_BUDGET: u32 = 256;

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

    /// Whether a plausible frame begins at `pos`: a plausible length, the
    /// payload whole and plausible, then the end of the input or another
    /// plausible length.
    fn frame_at_pos(&mut self) -> bool {
        let Some(len) = self.plausible_header(0) else { return false };
        let end = 4 + len;
        self.fill(end + 5);
        if self.avail() < end || !plausible_payload(&self.buf[self.pos + 4..self.pos + end], Some(RESYNC_BUDGET)) {
            return false;
        }
        let rest = self.avail() - end;
        rest == 0 || (rest >= 5 && self.plausible_header(end).is_some()) || (rest < 4 && self.eof)
    }

    /// After the bad frame at `pos`: moves to the next offset where a
    /// plausible frame begins (or to the end), dropping what it passes, and
    /// says where reading resumes.
    fn skip_bad(&mut self) -> String {
        let mut skipped = 0u64;
        loop {
            self.pos += 1;
            skipped += 1;
            self.fill(5);
            if self.avail() < 5 {
                skipped += self.avail() as u64;
                self.pos = self.buf.len();
                return format!("; no plausible frame follows ({skipped} bytes skipped to the end)");
            }
            if self.frame_at_pos() {
                let at = self.offset_of(self.pos);
                return format!(
                    "; reading resumes at byte offset {at}, where the next plausible frame begins ({skipped} bytes skipped)"
                );
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
        if self.avail() < 4 + len
            && let Some(e) = self.read_error.take()
        {
            // The input could not be read to the end of the frame: that is
            // what is wrong (a damaged gzip or zstd stream), not the frame.
            self.pos = self.buf.len();
            return bad(format!("frame at byte offset {offset}: {e}"));
        }
        if self.avail() < 4 + len {
            let why = format!(
                "frame at byte offset {offset}: torn, its length says {len} bytes and only {} follow before the end of the input",
                self.avail() - 4
            );
            let resumed = self.skip_bad();
            return bad(why + &resumed);
        }
        let start = self.pos + 4;
        if len > 0 && !plausible_payload(&self.buf[start..start + len], None) {
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
/// OTLP/JSON object, or well-formed protobuf shaped like an export request
/// down to its records ([`shaped`]), looking at no more than `budget`
/// fields (`None`: all of them).
fn plausible_payload(payload: &[u8], budget: Option<u32>) -> bool {
    if payload.starts_with(&ZSTD_MAGIC) || payload.first() == Some(&b'{') {
        return true;
    }
    let mut budget = budget.unwrap_or(u32::MAX);
    shaped(payload, 0, &mut budget)
}

/// Whether `msg` is shaped like the message at `depth` of an export
/// request of logs or spans: the request (0) holds only resource lists in
/// field 1; a resource list (1) and a scope list (2) only fields 1–3,
/// length-delimited, field 2 the next level; a record (3) any well-formed
/// fields. Every field costs one of `budget`; when it is spent, what was
/// seen is taken as enough.
fn shaped(msg: &[u8], depth: u8, budget: &mut u32) -> bool {
    let mut r = Reader::new(msg);
    loop {
        if *budget == 0 {
            return true;
        }
        *budget -= 1;
        let (field, v) = match r.next_field() {
            Ok(None) => return true,
            Ok(Some(f)) => f,
            Err(_) => return false,
        };
        let ok = match (depth, field, v) {
            (3, _, _) => true,
            (0, 1, Wire::Bytes(b)) => shaped(b, 1, budget),
            (0, _, _) => false,
            (_, 2, Wire::Bytes(b)) => shaped(b, depth + 1, budget),
            (_, 1 | 3, Wire::Bytes(_)) => true,
            _ => false,
        };
        if !ok {
            return false;
        }
    }
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
        let arena = node::Arena::new();
        let value = node::parse(bytes, &arena).map_err(|e| format!("not an OTLP/JSON request: {e}"))?;
        return super::read_value(&value, scratch, f);
    }
    read_request(bytes, scratch, f)
}

/// The canonical bytes of every record of one message, read as
/// [`read_message`] reads it (for `auditchain canonical`); the first record
/// without a canonical form is the error.
pub fn canonical_records(bytes: &[u8], max_value: usize) -> Result<Vec<Vec<u8>>, String> {
    if bytes.starts_with(&ZSTD_MAGIC) {
        let inner = super::zstd::decompress_all(bytes, max_value)?;
        if inner.starts_with(&ZSTD_MAGIC) {
            return Err("zstd: a zstd frame inside a zstd frame".into());
        }
        return canonical_records(&inner, max_value);
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let arena = node::Arena::new();
        let value = node::parse(bytes, &arena).map_err(|e| format!("not an OTLP/JSON request: {e}"))?;
        return crate::core::canonical::records_from_json(&value).map_err(|e| e.to_string());
    }
    let list = records(bytes).ok_or_else(|| "not a protobuf export request of logs or spans".to_string())?;
    let signal = signal_of(&list)?;
    crate::core::canonical::records_from_proto(signal, bytes).map_err(|e| format!("{} request: {e}", signal.name()))
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
/// is not well-formed (the canonical walk refuses the record then). Built
/// in `arena`, as JSON records are read: a `serde_json::Value` per fact
/// was most of a protobuf file's reading time (maps built and dropped).
fn any_node<'a>(msg: &'a [u8], depth: usize, arena: &'a Arena) -> Option<Node<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut out = Node::Object(&[]);
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field().ok()? {
        let (name, value) = match (field, v) {
            (1, Wire::Bytes(b)) => ("stringValue", Node::String(text(b, arena))),
            (2, Wire::Varint(n)) => ("boolValue", Node::Bool(n != 0)),
            (3, Wire::Varint(n)) => ("intValue", Node::String(arena.alloc_str(&(n as i64).to_string()))),
            (4, Wire::Fixed64(n)) => {
                let d = f64::from_bits(n);
                let d = serde_json::Number::from_f64(d)
                    .map_or_else(|| Node::String(arena.alloc_str(&d.to_string())), Node::Number);
                ("doubleValue", d)
            }
            (5, Wire::Bytes(b)) => ("arrayValue", object(arena, [("values", values(b, depth, arena)?)])),
            (6, Wire::Bytes(b)) => ("kvlistValue", object(arena, [("values", key_values(b, depth, arena)?)])),
            (7, Wire::Bytes(b)) => {
                ("bytesValue", Node::String(arena.alloc_str(&base64::engine::general_purpose::STANDARD.encode(b))))
            }
            _ => return None,
        };
        out = object(arena, [(name, value)]);
    }
    Some(out)
}

/// Bytes of a protobuf string as text (replacement characters for what is
/// not UTF-8; the canonical walk refuses such a record).
fn text<'a>(b: &'a [u8], arena: &'a Arena) -> &'a str {
    match std::str::from_utf8(b) {
        Ok(s) => s,
        Err(_) => arena.alloc_str(&String::from_utf8_lossy(b)),
    }
}

/// An object of these members (distinct names), sorted as
/// [`Node::Object`]'s are.
fn object<'a, const N: usize>(arena: &'a Arena, members: [(&'a str, Node<'a>); N]) -> Node<'a> {
    let members = arena.alloc_slice_fill_iter(members);
    members.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Node::Object(members)
}

/// The values of an ArrayValue (field 1, repeated AnyValue).
fn values<'a>(msg: &'a [u8], depth: usize, arena: &'a Arena) -> Option<Node<'a>> {
    let mut out = Vec::new();
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field().ok()? {
        if field == 1 {
            out.push(any_node(v.bytes(1).ok()?, depth + 1, arena)?);
        }
    }
    Some(Node::Array(arena.alloc_slice_fill_iter(out)))
}

/// The KeyValues of a KeyValueList (field 1, repeated KeyValue).
fn key_values<'a>(msg: &'a [u8], depth: usize, arena: &'a Arena) -> Option<Node<'a>> {
    let mut out = Vec::new();
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field().ok()? {
        if field == 1 {
            out.push(key_value(v.bytes(1).ok()?, depth + 1, arena)?);
        }
    }
    Some(Node::Array(arena.alloc_slice_fill_iter(out)))
}

fn key_value<'a>(msg: &'a [u8], depth: usize, arena: &'a Arena) -> Option<Node<'a>> {
    let (mut key, mut value) = ("", Node::Object(&[]));
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field().ok()? {
        match field {
            1 => key = text(v.bytes(1).ok()?, arena),
            2 => value = any_node(v.bytes(2).ok()?, depth, arena)?,
            _ => {}
        }
    }
    Some(object(arena, [("key", Node::String(key)), ("value", value)]))
}

/// A record's attributes, body and time in OTLP/JSON form: what the
/// readers of stamps, control records and content hashes look at. Empty
/// when the record is not well-formed (it has no canonical form then).
fn facts<'a>(signal: Signal, record: &'a [u8], arena: &'a Arena) -> Node<'a> {
    let (attributes_field, time_field, time_name) = match signal {
        Signal::Logs => (6, 1, "timeUnixNano"),
        Signal::Traces => (9, 7, "startTimeUnixNano"),
    };
    let read = || -> Option<Node<'a>> {
        let (mut time, mut body) = (None, None);
        let mut attributes = Vec::new();
        let mut r = Reader::new(record);
        while let Some((field, v)) = r.next_field().ok()? {
            if field == attributes_field {
                attributes.push(key_value(v.bytes(field).ok()?, 1, arena)?);
            } else if field == time_field {
                time = Some(Node::String(arena.alloc_str(&v.fixed64(field).ok()?.to_string())));
            } else if signal == Signal::Logs && field == 5 {
                body = Some(any_node(v.bytes(5).ok()?, 1, arena)?);
            }
        }
        let attributes = ("attributes", Node::Array(arena.alloc_slice_fill_iter(attributes)));
        let mut members: Vec<(&'a str, Node<'a>)> = vec![attributes];
        members.extend(time.map(|t| (time_name, t)));
        members.extend(body.map(|b| ("body", b)));
        let members = arena.alloc_slice_fill_iter(members);
        members.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Some(Node::Object(members))
    };
    read().unwrap_or(Node::Object(&[]))
}

/// The stamp attributes among a record's facts.
fn stamp_attrs<'v>(facts: &'v Node<'v>) -> Vec<(&'v str, Option<&'v Node<'v>>)> {
    facts
        .get("attributes")
        .and_then(Tree::as_array)
        .into_iter()
        .flatten()
        .filter_map(|kv| Some((kv.get("key")?.as_str()?, Some(kv.get("value")?))))
        .filter(|(k, _)| vocab::is_stamp(k))
        .collect()
}

struct Sink<'v, 'f, F> {
    f: &'f mut F,
    facts: &'v [Node<'v>],
    hasher: RecordHasher,
    index: u32,
    signal: Signal,
}

impl<'v, F: FnMut(Item<'v>)> Sink<'v, '_, F> {
    fn next_facts(&mut self) -> (u32, &'v Node<'v>) {
        let index = self.index;
        self.index += 1;
        const EMPTY: &Node<'_> = &Node::Null;
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
    let arena = Arena::new();
    let facts: Vec<Node<'_>> = list.iter().map(|r| facts(signal, r, &arena)).collect();
    f(Item::Request);
    let mut sink = Sink { f, facts: &facts, hasher: RecordHasher::default(), index: 0, signal };
    walker::walk(signal, request, StampPolicy::Extract, ContentPolicy::Off, BadRecords::Reject, scratch, &mut sink)
        .map_err(|e| format!("{} request: {e}", signal.name()))?;
    if sink.index as usize != facts.len() {
        return Err(format!("{} request: {} records walked of {}", signal.name(), sink.index, facts.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every frame of `bytes`: Ok(payload) or Err(why), with its offset.
    fn frames(bytes: &[u8]) -> Vec<(u64, u64, Result<Vec<u8>, String>)> {
        let mut m = Messages::framed(bytes, 1 << 20);
        let mut out = Vec::new();
        while let Some(f) = m.next() {
            out.push((f.number, f.offset, f.bytes.map(<[u8]>::to_vec)));
        }
        out
    }

    fn frame(payload: &[u8]) -> Vec<u8> {
        [&(payload.len() as u32).to_be_bytes()[..], payload].concat()
    }

    /// A request-shaped payload: a resource list (field 1) holding a
    /// schema URL (field 3) of one byte.
    fn req(n: u8) -> Vec<u8> {
        vec![0x0a, 3, 0x1a, 1, n]
    }

    #[test]
    fn frames_are_read_by_their_lengths() {
        let bytes = [frame(&req(1)), frame(&req(2)), frame(&[])].concat();
        let f = frames(&bytes);
        assert_eq!(f.len(), 3);
        assert_eq!((f[1].0, f[1].1), (2, 9));
        assert_eq!(f[1].2.as_deref(), Ok(&req(2)[..]));
        assert_eq!(f[2].2.as_deref(), Ok(&[][..]));
    }

    #[test]
    fn a_torn_length_at_the_end_is_said() {
        let bytes = [frame(&req(1)), vec![0, 0]].concat();
        let f = frames(&bytes);
        assert_eq!(f.len(), 2);
        let e = f[1].2.as_ref().unwrap_err();
        assert_eq!(e, "frame at byte offset 9: torn, 2 bytes at the end of the input where a 4-byte length belongs");
    }

    #[test]
    fn a_length_past_the_bound_is_skipped_to_the_next_frame() {
        let bytes = [frame(&req(1)), vec![0x40, 0, 0, 0, 0x0a, 0xff], frame(&req(2))].concat();
        let f = frames(&bytes);
        assert_eq!(f.len(), 3, "{f:?}");
        let e = f[1].2.as_ref().unwrap_err();
        assert!(e.starts_with("frame at byte offset 9: its length says 1073741824 bytes, more than the 1 MiB"), "{e}");
        assert!(
            e.ends_with("reading resumes at byte offset 15, where the next plausible frame begins (6 bytes skipped)"),
            "{e}"
        );
        assert_eq!(f[2].2.as_deref(), Ok(&req(2)[..]));
    }

    #[test]
    fn a_payload_that_is_no_request_is_refused_and_a_long_run_of_garbage_skipped() {
        // A frame whose payload is no protobuf request, then 3 MiB of
        // garbage (three times the bound on a message), then a frame.
        let mut bytes = frame(&[0x0a, 9, 1]);
        bytes.extend(std::iter::repeat_n(0xffu8, 3 << 20));
        bytes.extend(frame(&req(3)));
        let f = frames(&bytes);
        assert_eq!(f.len(), 2, "{:?}", f.iter().map(|x| &x.2).collect::<Vec<_>>());
        let e = f[0].2.as_ref().unwrap_err();
        assert!(e.starts_with("frame at byte offset 0: its 3 bytes are no export request"), "{e}");
        assert!(e.contains(&format!("reading resumes at byte offset {}", 7 + (3 << 20))), "{e}");
        assert_eq!(f[1].2.as_deref(), Ok(&req(3)[..]));
        // What was skipped was not kept: at most a message and a block.
        let mut m = Messages::framed(&bytes[..], 1 << 20);
        while m.next().is_some() {
            assert!(m.buf.len() <= (1 << 20) + BLOCK + 16, "{}", m.buf.len());
        }
    }

    #[test]
    fn garbage_full_of_plausible_lengths_is_skipped_in_linear_time() {
        // Every sixth offset begins a plausible length (4096, then 0x0a):
        // each candidate is looked at and refused in a bounded number of
        // fields, not by reading to its end.
        let unit = [0u8, 0, 0x10, 0x00, 0x0a, 0x7f];
        let garbage: Vec<u8> = unit.iter().copied().cycle().take(600_000).collect();
        let bytes = [frame(&[0x0a, 9, 1]), garbage, frame(&req(7))].concat();
        let t = std::time::Instant::now();
        let f = frames(&bytes);
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());
        assert_eq!(f.last().unwrap().2.as_deref(), Ok(&req(7)[..]), "{:?}", f.len());
    }

    #[test]
    fn a_whole_message_past_the_bound_is_refused() {
        let big = vec![0x0a; (1 << 20) + 1];
        let mut m = Messages::whole(&big[..], 1 << 20);
        let e = m.next().unwrap().bytes.unwrap_err();
        assert!(e.contains("longer than 1 MiB"), "{e}");
        assert!(m.next().is_none());
    }

    #[test]
    fn logs_and_spans_are_told_apart_by_wire_types() {
        // LogRecord: time (1, fixed64), attributes (6, bytes).
        let log = [0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0x32, 0];
        // Span: trace id (1, bytes), kind (6, varint).
        let span = [0x0a, 0, 0x30, 2];
        assert_eq!(signal_of(&[&log[..]]), Ok(Signal::Logs));
        assert_eq!(signal_of(&[&span[..]]), Ok(Signal::Traces));
        // Severity text (3) and body/name (5): both fit both.
        let either = [0x1a, 0, 0x2a, 0];
        assert!(signal_of(&[&either[..]]).is_err());
        assert_eq!(signal_of(&[&either[..], &span[..]]), Ok(Signal::Traces));
    }
}
