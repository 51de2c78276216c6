//! Splitting an input into JSON values (JSON lines, or values separated by
//! any whitespace), each with the line it starts on, read one at a time
//! from a stream with bounded memory (docs/SPEC.md §8.0).
//!
//! A value that cannot be read is reported and reading goes on at the next
//! line: a torn last line (a killed collector) or an inserted garbage line
//! hides nothing after it. Each byte is looked at a bounded number of
//! times, whatever the input: a value that fails takes with it the values
//! that begin inside it and are still open where it failed ("doomed"), so
//! that they are not read again.

use super::node::{self, Arena, Node};
use crate::core::canonical::tree::Tree;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::io::Read;

/// Deepest JSON nesting accepted: canonical-form values may nest
/// [`crate::core::canonical::MAX_DEPTH`] deep, which takes at most four
/// JSON levels each, plus the levels around a record.
pub const MAX_JSON_DEPTH: usize = crate::core::canonical::MAX_DEPTH * 4 + 16;

/// The longest JSON value read (64 MiB): a longer one is unreadable. It
/// bounds the memory a value takes (its text and its parsed form).
pub const MAX_VALUE_BYTES: usize = 64 << 20;

/// How much is read from a file at a time. A value that does not end in
/// the bytes at hand is scanned again from its start once more are read:
/// four times the size of an exporter's line (about 1 MB for 1000
/// records) keeps that rare.
const BLOCK: usize = 4 << 20;

// ---- Strict parsing: RFC 8259 JSON without repeated member names ----

/// A JSON value parsed by a reader that refuses an object with two
/// members of the same name (after unescaping): `serde_json::Value` keeps
/// the last, another reader might keep the first, and the two would see
/// different records (SPEC §8.0).
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        use serde_json::map::Entry;
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            match members.entry(name) {
                Entry::Vacant(slot) => {
                    slot.insert(map.next_value::<Strict>()?.0);
                }
                Entry::Occupied(slot) => {
                    return Err(de::Error::custom(format_args!("member {:?} appears twice in one object", slot.key())));
                }
            }
        }
        Ok(Value::Object(members))
    }
}

/// Parses exactly one JSON value from `text` (whitespace around it
/// allowed), refusing repeated member names: the reader the verifier used
/// before [`super::node`], kept as its oracle (tests/json_differential.rs)
/// and to word why a text is refused. Nesting is not limited here:
/// `node::parse` refuses deeper values itself before this is called.
pub fn parse_strict(text: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(text);
    de.disable_recursion_limit();
    let v = Strict::deserialize(&mut de)?;
    de.end()?;
    Ok(v.0)
}

// ---- Finding where a value ends, without parsing it ----

/// The line breaks in `bytes` (written so that it vectorises).
pub fn newlines(bytes: &[u8]) -> u64 {
    bytes.chunks(255).map(|c| u64::from(c.iter().map(|&b| u8::from(b == b'\n')).sum::<u8>())).sum()
}

pub(super) use crate::core::canonical::jcs::string_stop;

/// What [`Values::read_in_place`] made of the value at hand.
enum InPlace<'a> {
    Read(Found<'a>),
    /// Its line does not end in the bytes at hand, which are fewer than
    /// the longest value: read more and try again.
    NotAtHand,
    /// Not a value read in place: the scanner finds its end or its fault.
    Scan,
}

/// Why the scanner gave up on a value at a byte offset.
enum Scan {
    /// The value's text ends just before this offset.
    End(usize),
    /// Unreadable: what is wrong, and the offset where it was seen.
    Fail(usize, String),
    /// The value continues past the bytes at hand.
    NeedMore,
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b',' | b':' | b'[' | b']' | b'{' | b'}' | b'"')
}

/// Where the value starting at `p` (not whitespace) ends. Strings end at
/// their closing quote; a raw control character (a line break) inside one
/// is an error there, so that a torn line never swallows the next one.
fn scan(buf: &[u8], p: usize, at_eof: bool, max: usize) -> Scan {
    let limit = buf.len().min(p.saturating_add(max));
    let over = |i: usize| {
        if i >= p.saturating_add(max) {
            Scan::Fail(i, format!("value longer than {} MiB", max >> 20))
        } else if at_eof {
            Scan::Fail(i, "the value does not end before the input does (a torn or damaged line)".into())
        } else {
            Scan::NeedMore
        }
    };
    match buf[p] {
        b'{' | b'[' => {}
        b'"' => {
            let mut i = p + 1;
            while i < limit {
                i = string_stop(buf, i, limit);
                match buf.get(i).filter(|_| i < limit) {
                    Some(b'"') => return Scan::End(i + 1),
                    Some(b'\\') if buf.get(i + 1).is_some_and(|&c| c < 0x20) => {
                        return Scan::Fail(i + 1, "line ends inside a string (a torn line?)".into());
                    }
                    Some(b'\\') => i += 2,
                    Some(_) => return Scan::Fail(i, "line ends inside a string (a torn line?)".into()),
                    None => break,
                }
            }
            return over(i.min(limit));
        }
        b']' | b'}' | b',' | b':' => return Scan::Fail(p, format!("unexpected {:?}", buf[p] as char)),
        _ => {
            let end = buf[p..limit].iter().position(|&b| is_delimiter(b)).map_or(limit, |n| p + n);
            return if end < limit || at_eof && limit == buf.len() { Scan::End(end) } else { over(end) };
        }
    }
    let mut open: Vec<u8> = Vec::new();
    let mut in_string = false;
    let mut i = p;
    while i < limit {
        if in_string {
            i = string_stop(buf, i, limit);
            match buf.get(i).filter(|_| i < limit) {
                Some(b'"') => in_string = false,
                Some(b'\\') if buf.get(i + 1).is_some_and(|&c| c < 0x20) => {
                    return Scan::Fail(i + 1, "line ends inside a string (a torn line?)".into());
                }
                Some(b'\\') => i += 1,
                Some(_) => return Scan::Fail(i, "line ends inside a string (a torn line?)".into()),
                None => break,
            }
        } else {
            let b = buf[i];
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => {
                    open.push(b);
                    if open.len() > MAX_JSON_DEPTH {
                        return Scan::Fail(i, format!("JSON nested deeper than {MAX_JSON_DEPTH} levels"));
                    }
                }
                b'}' | b']' => {
                    let want = if b == b'}' { b'{' } else { b'[' };
                    if open.pop() != Some(want) {
                        return Scan::Fail(i, format!("unexpected {:?}", b as char));
                    }
                    if open.is_empty() {
                        return Scan::End(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    over(i.min(limit))
}

/// The values that begin inside the value that started at `p` and failed
/// at `z` — on a later line, or with an opener (a glued write) — and are
/// still open at `z`: they fail there too (a JSON value parses the same
/// wherever it stands), so they are not read again. At most
/// [`MAX_JSON_DEPTH`] of them.
fn doomed(buf: &[u8], p: usize, z: usize) -> Vec<usize> {
    let mut open: Vec<(usize, usize)> = Vec::new(); // (start, depth before it)
    let (mut depth, mut in_string, mut line_start) = (0usize, false, false);
    let mut i = p;
    while i < z.min(buf.len()) {
        let b = buf[i];
        if in_string {
            match b {
                b'"' => in_string = false,
                b'\\' => i += 1,
                _ => {}
            }
        } else if b == b'\n' {
            line_start = true;
        } else if !b.is_ascii_whitespace() {
            if line_start || (b == b'{' && is_opener(&buf[i..z.min(buf.len())])) {
                while open.last().is_some_and(|&(_, d)| d >= depth) {
                    open.pop();
                }
                if b == b'{' || b == b'[' {
                    open.push((i, depth));
                }
                line_start = false;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    while open.last().is_some_and(|&(_, d)| d >= depth) {
                        open.pop();
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    open.into_iter().map(|(start, _)| start).collect()
}

/// How an export request or a checkpoint line begins as exporters and the
/// processor write them: after a torn write, the next appended one starts
/// on the same line (SPEC §8.0).
pub const OPENERS: [&[u8]; 5] = [
    b"{\"resourceLogs\":",
    b"{\"resource_logs\":",
    b"{\"resourceSpans\":",
    b"{\"resource_spans\":",
    b"{\"stream_id\":",
];

fn is_opener(bytes: &[u8]) -> bool {
    OPENERS.iter().any(|o| bytes.starts_with(o))
}

/// The first opener on the line of `p`, after `p` and before `limit`.
fn glued(buf: &[u8], p: usize, limit: usize) -> Option<usize> {
    let limit = buf.len().min(limit);
    let end = memchr::memchr(b'\n', &buf[p..limit]).map_or(limit, |n| p + n);
    (p + 1..end).find(|&i| buf[i] == b'{' && is_opener(&buf[i..end]))
}

/// The byte offset of a serde_json error in `text` (its line and column are
/// 1-based, the column counted in bytes).
fn error_offset(text: &[u8], e: &serde_json::Error) -> usize {
    let mut offset = 0;
    for _ in 1..e.line() {
        match text[offset..].iter().position(|&b| b == b'\n') {
            Some(n) => offset += n + 1,
            None => return text.len(),
        }
    }
    (offset + e.column().saturating_sub(1)).min(text.len())
}

// ---- Reading a stream of values ----

/// Complete lines handed over by [`Values::hand_over`].
pub struct Handed {
    pub bytes: Vec<u8>,
    /// Where each part lies in `bytes`, and the line it starts on.
    pub parts: Vec<(std::ops::Range<usize>, u64)>,
}

/// One value of an input: the line it starts on, and the value (borrowing
/// the input, [`Node`]) or why it cannot be read.
pub type Found<'n> = (u64, Result<Node<'n>, String>);

/// The JSON values of a byte stream, read a block at a time (memory: one
/// value of at most [`MAX_VALUE_BYTES`] plus a block), or of bytes already
/// in memory, read in place.
pub struct Values<'a, R> {
    src: R,
    /// What was read from `src` and not yet dropped: `owned[..filled]`.
    /// The rest was zeroed once, when the buffer grew: a reader's own
    /// `read_buf` (a `dyn Read`'s) would zero its room before every read.
    owned: Vec<u8>,
    filled: usize,
    /// The bytes when they were handed over whole ([`Values::over`]).
    borrowed: Option<&'a [u8]>,
    cur: Cursor,
    /// Bytes dropped from the front of `buf` so far.
    base: u64,
    eof: bool,
    /// A read error, reported once everything before it has been read.
    read_error: Option<String>,
    max_value: usize,
    /// Where the value last read lives; reset before the next is read.
    arena: Arena,
    /// How much is read from `src` at a time, at least ([`BLOCK`]).
    block: usize,
    /// Arrays and objects are read without scanning for their end first
    /// (off only to compare with the reader that always scans).
    in_place: bool,
}

/// Where reading is in the bytes at hand (apart from them, so that a value
/// read can borrow them while the cursor moves past it).
struct Cursor {
    pos: usize,
    /// The line `pos` is on.
    line: u64,
    /// Values known to be unreadable (offsets into `buf`) with the line of
    /// the value they were inside.
    doomed: VecDeque<(usize, u64)>,
    /// Discarding the rest of a line longer than [`MAX_VALUE_BYTES`].
    skipping: bool,
}

impl<'a> Values<'a, std::io::Empty> {
    /// The values of bytes in memory, read where they are.
    pub fn over(bytes: &'a [u8], first_line: u64, max_value: usize) -> Values<'a, std::io::Empty> {
        let mut v = Values::with_limit(std::io::empty(), first_line, max_value);
        v.borrowed = Some(bytes);
        v.eof = true;
        v
    }
}

impl<'a, R: Read> Values<'a, R> {
    pub fn new(src: R, first_line: u64) -> Self {
        Values::with_limit(src, first_line, MAX_VALUE_BYTES)
    }

    /// With another bound on a value's length (for tests).
    pub fn with_limit(src: R, first_line: u64, max_value: usize) -> Self {
        Values {
            src,
            owned: Vec::new(),
            filled: 0,
            borrowed: None,
            cur: Cursor { pos: 0, line: first_line, doomed: VecDeque::new(), skipping: false },
            base: 0,
            eof: false,
            read_error: None,
            max_value,
            arena: Arena::new(),
            block: BLOCK,
            in_place: true,
        }
    }

    /// Reads into `room` (a buffer kept from an earlier reader, whatever
    /// it holds): a fresh buffer is faulted in page by page as it grows.
    pub fn with_room(mut self, room: Vec<u8>) -> Self {
        if self.filled == 0 && room.len() > self.owned.len() {
            self.owned = room;
        }
        self
    }

    /// The buffer it read into, for the next reader.
    pub fn into_room(self) -> Vec<u8> {
        self.owned
    }

    /// Reads its values into `arena` (one kept from an earlier reader:
    /// grown already, nothing to allocate again).
    pub fn with_arena(mut self, arena: Arena) -> Self {
        self.arena = arena;
        self
    }

    /// The arena, for the next reader.
    pub fn into_arena(self) -> Arena {
        self.arena
    }

    /// Reads `block` bytes at a time at least, and (when `in_place` is
    /// false) scans every value for its end before reading it, as the
    /// reader did before values were read in place: for tests, which hold
    /// the fast paths equal to that one.
    pub fn reading(mut self, block: usize, in_place: bool) -> Self {
        self.block = block.max(1);
        self.in_place = in_place;
        self
    }

    fn data(&self) -> &[u8] {
        self.borrowed.unwrap_or(&self.owned[..self.filled])
    }

    /// How far the stream has been consumed, in bytes.
    pub fn offset(&self) -> u64 {
        self.base + self.cur.pos as u64
    }

    /// Reads at least one more block (or to the end), dropping what was
    /// consumed.
    fn fill(&mut self) {
        self.fill_at_least(self.block);
    }

    /// Reads at least `want` more bytes (or to the end). A value that needs
    /// more is scanned again from its start, so its reads grow
    /// geometrically: its bytes are scanned a bounded number of times.
    fn fill_at_least(&mut self, want: usize) {
        if self.borrowed.is_some() {
            self.eof = true;
            return;
        }
        if self.cur.pos > 0 {
            self.owned.copy_within(self.cur.pos..self.filled, 0);
            self.filled -= self.cur.pos;
            self.base += self.cur.pos as u64;
            let pos = self.cur.pos;
            self.cur.doomed.retain_mut(|d| {
                d.0 = d.0.wrapping_sub(pos);
                d.0 < usize::MAX / 2
            });
            self.cur.pos = 0;
        }
        let stop = self.filled + want.max(self.block);
        if self.owned.len() < stop {
            self.owned.resize(stop, 0);
        }
        while self.filled < stop {
            match self.src.read(&mut self.owned[self.filled..stop]) {
                Ok(0) => {
                    self.eof = true;
                    return;
                }
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.read_error = Some(e.to_string());
                    self.eof = true;
                    return;
                }
            }
        }
    }

    /// Makes sure `n` bytes after the current position are at hand, unless
    /// the stream ends before.
    pub fn fill_to(&mut self, n: usize) {
        while !self.eof && self.data().len() - self.cur.pos < n {
            self.fill_at_least(n - (self.data().len() - self.cur.pos));
        }
    }

    /// Everything the stream holds is at hand (or a read error ended it).
    pub fn at_end(&self) -> bool {
        self.eof
    }

    /// Everything was read or handed over, and no read error is left to
    /// report.
    pub fn finished(&self) -> bool {
        self.eof && self.cur.pos == self.data().len() && self.read_error.is_none()
    }

    /// Hands over the complete lines at hand from the current position,
    /// when nothing is pending and they are at least `min` bytes (for
    /// reading them in parallel), cut into parts of about `part` bytes
    /// (whole lines, so at least one each): the buffer that holds them,
    /// not a copy. Reading goes on in `room`, which receives the bytes
    /// after them; it is given back when there is nothing to hand over.
    pub fn hand_over(&mut self, min: usize, part: usize, mut room: Vec<u8>) -> Result<Handed, Vec<u8>> {
        if self.borrowed.is_some() || !self.cur.doomed.is_empty() || self.cur.skipping {
            return Err(room);
        }
        let (start, filled) = (self.cur.pos, self.filled);
        let rest = &self.owned[start..filled];
        // The last line break can lie a long line (a megabyte) back: found
        // a word at a time, not byte by byte.
        let len = if self.eof { rest.len() } else { memchr::memrchr(b'\n', rest).map_or(0, |n| n + 1) };
        if len < min.max(1) {
            return Err(room);
        }
        let end = start + len;
        let mut parts = Vec::new();
        let (mut at, mut line) = (start, self.cur.line);
        while at < end {
            let stop = match memchr::memchr(b'\n', self.owned.get(at + part..end).unwrap_or_default()) {
                Some(n) => at + part + n + 1,
                None => end,
            };
            parts.push((at..stop, line));
            line += newlines(&self.owned[at..stop]);
            at = stop;
        }
        let tail = filled - end;
        if room.len() < tail {
            room.resize(tail, 0);
        }
        room[..tail].copy_from_slice(&self.owned[end..filled]);
        let bytes = std::mem::replace(&mut self.owned, room);
        self.filled = tail;
        self.base += end as u64;
        self.cur.pos = 0;
        self.cur.line = line;
        Ok(Handed { bytes, parts })
    }

    /// Puts back `bytes`, which end where reading stands (they were
    /// handed over since it last read a value), to be read
    /// again from line `first_line`: values handed elsewhere that could not
    /// be read there.
    pub fn unread(&mut self, bytes: &[u8], first_line: u64) {
        debug_assert!(self.borrowed.is_none() && self.cur.doomed.is_empty() && !self.cur.skipping);
        let pos = self.cur.pos;
        self.owned.splice(..pos, bytes.iter().copied());
        self.filled = self.filled - pos + bytes.len();
        self.base = self.base + pos as u64 - bytes.len() as u64;
        self.cur.pos = 0;
        self.cur.line = first_line;
    }

    /// Consumes the next `len` bytes.
    fn skip(&mut self, len: usize) {
        let end = self.cur.pos + len;
        self.cur.line += newlines(&self.data()[self.cur.pos..end]);
        self.cur.pos = end;
    }

    fn advance_to(&mut self, to: usize) {
        self.skip(to - self.cur.pos);
    }

    /// The next value, or `None` at the end.
    pub fn next_value(&mut self) -> Option<Found<'_>> {
        // The value read last (which borrowed `self`) is gone.
        self.arena.reset();
        loop {
            if self.cur.skipping {
                match self.data()[self.cur.pos..].iter().position(|&b| b == b'\n') {
                    Some(n) => {
                        self.advance_to(self.cur.pos + n + 1);
                        self.cur.skipping = false;
                    }
                    None if self.eof => {
                        self.cur.pos = self.data().len();
                        self.cur.skipping = false;
                    }
                    None => {
                        self.cur.pos = self.data().len();
                        self.fill();
                    }
                }
                continue;
            }
            let ws = self.data()[self.cur.pos..].iter().position(|b| !b.is_ascii_whitespace());
            let Some(n) = ws else {
                self.advance_to(self.data().len());
                if self.eof {
                    return self.read_error.take().map(|e| (self.cur.line, Err(e)));
                }
                self.fill();
                continue;
            };
            self.advance_to(self.cur.pos + n);
            let p = self.cur.pos;
            while self.cur.doomed.front().is_some_and(|d| d.0 < p) {
                self.cur.doomed.pop_front();
            }
            if let Some(&(_, outer)) = self.cur.doomed.front().filter(|d| d.0 == p) {
                self.cur.doomed.pop_front();
                let why = format!(
                    "begins inside the unreadable value of line {outer} and does not end before it fails (torn or damaged too)"
                );
                return Some(self.give_up(p, why));
            }
            let this: *mut Self = self;
            // SAFETY: `this` is `self`, and the borrow made through it ends
            // here unless a value is returned; the borrow checker cannot see
            // that a borrow returned on one branch only is over on the other
            // (NLL's "problem case 3", rust-lang/rust#54663), so it is made
            // through the pointer. Nothing else holds `self` meanwhile.
            match unsafe { &mut *this }.read_in_place(p) {
                InPlace::Read(found) => return Some(found),
                // Its line goes on past the bytes at hand: more are read
                // rather than scanning these for an end that is not there.
                InPlace::NotAtHand => {
                    self.fill_at_least(self.data().len() - p);
                    continue;
                }
                InPlace::Scan => {}
            }
            match scan(self.data(), p, self.eof, self.max_value) {
                Scan::NeedMore => self.fill_at_least(self.data().len() - p),
                Scan::Fail(z, why) => return Some(self.fail(p, z, why)),
                Scan::End(end) => {
                    // SAFETY: as for `read_in_place` above.
                    match unsafe { &mut *this }.parse(p, end) {
                        Ok(found) => return Some(found),
                        Err((z, why)) => return Some(self.fail(p, z, why)),
                    }
                }
            }
        }
    }

    /// An array or object at `p`, read without scanning for its end first,
    /// when it is readable: in bytes handed over whole, to their end; in a
    /// stream, to the end of its line, when the line is at hand (a JSON
    /// line, as exporters write them). A value that is not read so is
    /// scanned and read as any other, for its error or because it spans
    /// lines; one read so is the value the scan would have found.
    fn read_in_place(&mut self, p: usize) -> InPlace<'_> {
        let Values { owned, filled, borrowed, cur, eof, max_value, arena, in_place, .. } = self;
        let bytes: &[u8] = borrowed.unwrap_or(&owned[..*filled]);
        if !*in_place || !matches!(bytes[p], b'{' | b'[') {
            return InPlace::Scan;
        }
        // Where the scanner would give up on its length.
        let limit = bytes.len().min(p.saturating_add(*max_value));
        let limit = if borrowed.is_some() {
            limit
        } else {
            match memchr::memchr(b'\n', &bytes[p..limit]) {
                Some(n) => p + n,
                None if *eof => limit,
                // Fewer than `max_value` bytes at hand: the line may end in
                // the next ones.
                None if limit == bytes.len() => return InPlace::NotAtHand,
                None => return InPlace::Scan,
            }
        };
        let Some((v, n)) = node::parse_prefix(&bytes[p..limit], arena) else { return InPlace::Scan };
        let line = cur.line;
        cur.advance(bytes, p + n);
        InPlace::Read((line, Ok(v)))
    }

    /// The value from `p` to `end`, read into a [`Node`] that borrows the
    /// bytes at hand, and consumed; where it fails and why, if it does.
    fn parse(&mut self, p: usize, end: usize) -> Result<Found<'_>, (usize, String)> {
        // The bytes are borrowed apart from the cursor, which moves on.
        let Values { owned, filled, borrowed, cur, arena, .. } = self;
        let data: &[u8] = borrowed.unwrap_or(&owned[..*filled]);
        match node::parse(&data[p..end], arena) {
            Ok(v) => {
                let line = cur.line;
                cur.advance(data, end);
                Ok((line, Ok(v)))
            }
            Err(e) => Err((p + error_offset(&data[p..end], &e), format!("not JSON: {e}"))),
        }
    }

    /// Makes sure the rest of the current line is at hand: to its end, to
    /// [`Values::max_value`] bytes past the current position, or to the end
    /// of the input. A value failed there, and where reading goes on (a
    /// write glued to it, or the next line) is decided on those bytes
    /// whatever the size of the blocks the input was read in. Returns how
    /// far the bytes at hand moved (offsets into them are that much less).
    fn line_at_hand(&mut self) -> usize {
        let before = self.base;
        loop {
            let p = self.cur.pos;
            let rest = self.data().len() - p;
            let line = &self.data()[p..p + rest.min(self.max_value)];
            if self.eof || rest >= self.max_value || memchr::memchr(b'\n', line).is_some() {
                break;
            }
            self.fill_at_least(rest);
        }
        (self.base - before) as usize
    }

    /// The value at `p` (the current position) failed at `z`; its line is
    /// read to its end first ([`Values::line_at_hand`]).
    fn fail(&mut self, p: usize, z: usize, why: String) -> Found<'static> {
        let moved = self.line_at_hand();
        let data = self.borrowed.unwrap_or(&self.owned[..self.filled]);
        self.cur.fail(data, self.eof, self.max_value, p - moved, z - moved, why)
    }

    /// The value at `p` (the current position) is given up without being
    /// read; its line is read to its end first.
    fn give_up(&mut self, p: usize, why: String) -> Found<'static> {
        let moved = self.line_at_hand();
        let data = self.borrowed.unwrap_or(&self.owned[..self.filled]);
        self.cur.give_up(data, self.eof, self.max_value, p - moved, why)
    }
}

impl Cursor {
    fn advance(&mut self, data: &[u8], to: usize) {
        self.line += newlines(&data[self.pos..to]);
        self.pos = to;
    }

    /// The value at `p` failed at `z`: the values doomed with it are noted,
    /// and reading resumes at the next line.
    fn fail(&mut self, data: &[u8], eof: bool, max_value: usize, p: usize, z: usize, why: String) -> Found<'static> {
        let line = self.line;
        self.doomed.extend(doomed(data, p, z).into_iter().map(|start| (start, line)));
        self.doomed.make_contiguous().sort_unstable();
        self.give_up(data, eof, max_value, p, why)
    }

    /// Reading goes on after the value at `p`, which failed: at a write
    /// glued to it on its line (looked for up to `max_value` bytes past
    /// `p`), or at the next line.
    fn give_up(&mut self, data: &[u8], eof: bool, max_value: usize, p: usize, why: String) -> Found<'static> {
        let line = self.line;
        if let Some(q) = glued(data, p, p.saturating_add(max_value)) {
            // A torn write with the next one appended to it: the next
            // starts on this line. Said so, whatever the fragment's bytes
            // made the reader stumble on.
            self.advance(data, q);
            return (line, Err(format!("{why} (a torn write: another begins {} bytes after it on its line)", q - p)));
        }
        match data[p..].iter().position(|&b| b == b'\n') {
            Some(n) => self.advance(data, p + n + 1),
            None if eof => self.advance(data, data.len()),
            None => {
                self.advance(data, data.len());
                self.skipping = true;
            }
        }
        (line, Err(why))
    }
}

/// The JSON values in `bytes`, each with the 1-based line it starts on, as
/// `serde_json::Value`s (for tests).
pub fn json_values(bytes: &[u8]) -> Vec<(u64, Result<Value, String>)> {
    let mut values = Values::over(bytes, 1, MAX_VALUE_BYTES);
    std::iter::from_fn(|| values.next_value().map(|(line, v)| (line, v.map(|n| n.to_value())))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_and_errors(text: &[u8]) -> Vec<(u64, bool)> {
        json_values(text).into_iter().map(|(l, v)| (l, v.is_ok())).collect()
    }

    #[test]
    fn the_fast_scans_agree_with_the_plain_ones() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for round in 0..4000 {
            // Half the rounds with stops as rare as in real strings, so
            // that long runs without one cross the 16- and 8-byte steps.
            let (len, kinds) = if round % 2 == 0 { ((x % 40) as usize, 10) } else { ((x % 100) as usize, 200) };
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let table = [b'a', b'"', b'\\', b'\n', 0x1f, 0x20, 0x7f, 0xff, 0x80, b'y'];
                    table.get((x % kinds) as usize).copied().unwrap_or(b'a')
                })
                .collect();
            let stop = |&b: &u8| matches!(b, b'"' | b'\\' | 0..0x20);
            let plain = bytes.iter().position(stop).unwrap_or(len);
            assert_eq!(string_stop(&bytes, 0, len), plain, "{bytes:?}");
            // From any start, to any limit.
            let (from, limit) = ((x % 7) as usize, len.saturating_sub((x >> 8) as usize % 5));
            let from = from.min(limit);
            let plain = bytes[from..limit].iter().position(stop).map_or(limit, |n| from + n);
            assert_eq!(string_stop(&bytes, from, limit), plain, "{bytes:?} {from} {limit}");
            assert_eq!(newlines(&bytes), bytes.iter().filter(|&&b| b == b'\n').count() as u64);
        }
        assert_eq!(newlines(&vec![b'\n'; 1000]), 1000);
    }

    #[test]
    fn json_lines_and_concatenated_values_with_line_numbers() {
        let text = b"{\"a\":1}\n\n{\"b\":\n2}\n{\"c\":3} {\"d\":4}\n";
        assert_eq!(lines_and_errors(text), vec![(1, true), (3, true), (5, true), (5, true)]);
    }

    #[test]
    fn garbage_is_an_error_on_its_line_and_reading_goes_on() {
        let v = json_values(b"{\"a\":1}\n{oops\n{\"b\":2}\n");
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].0, 2);
        assert!(v[1].1.as_ref().unwrap_err().contains("does not end"), "{:?}", v[1]);
        assert_eq!(v[2].1.as_ref().unwrap()["b"], 2);
    }

    #[test]
    fn a_torn_last_line_is_an_error_and_the_lines_before_it_are_read() {
        let v = lines_and_errors(b"{\"a\":1}\n{\"b\":[1,2\n");
        assert_eq!(v, vec![(1, true), (2, false)]);
        let v = json_values(b"{\"a\":1}\n{\"b\":\"tor");
        assert!(v[1].1.as_ref().unwrap_err().contains("torn"), "{:?}", v[1]);
        // Torn inside a string, followed by more lines: the string does not
        // swallow them.
        let v = lines_and_errors(b"{\"b\":\"tor\n{\"c\":1}\n");
        assert_eq!(v, vec![(1, false), (2, true)]);
    }

    #[test]
    fn a_write_appended_to_a_torn_one_is_read_from_where_it_starts() {
        // Torn inside a string, and torn where a value was due: the next
        // write (after a restart) is glued to the fragment.
        for torn in [&b"{\"resourceLogs\":[{\"x\":\"tor"[..], b"{\"resourceLogs\":[{\"scopeLogs\":["] {
            let text = [torn, b"{\"resourceLogs\":[]}\n{\"stream_id\":\"s\"}\n"].concat();
            let v = json_values(&text);
            let got: Vec<(u64, bool)> = v.iter().map(|(l, r)| (*l, r.is_ok())).collect();
            assert_eq!(got, vec![(1, false), (1, true), (2, true)], "{}", String::from_utf8_lossy(&text));
            assert_eq!(v[1].1.as_ref().unwrap(), &serde_json::json!({"resourceLogs": []}));
        }
    }

    #[test]
    fn a_torn_write_with_the_next_glued_to_it_is_named_as_one() {
        // Torn inside a string, the quotes of the glued write flip what is
        // string and what is not: the scan fails on a bracket inside it
        // ("unexpected ']'"), which says nothing of a torn write. The error
        // says so, and the glued write is read; so does a last write torn
        // inside the first one's scan, which fails with it.
        let rec = r#"{"attributes":[{"key":"audit.actor","value":{"stringValue":"u-1"}}],"body":{"stringValue":"{\"actor\":\"u-1\",\"tags\":[\"a\"]}"}}"#;
        let line = format!(
            r#"{{"resourceLogs":[{{"resource":{{"attributes":[]}},"scopeLogs":[{{"logRecords":[{rec},{rec}]}}]}}]}}"#
        );
        let line = line.as_bytes();
        let mut unexpected = 0;
        for cut in 1..line.len() - 1 {
            // And the last write torn too (the store killed again).
            let text = [&line[..cut], line, b"\n", line, b"\n", &line[..cut]].concat();
            let v = json_values(&text);
            let got: Vec<(u64, bool)> = v.iter().map(|(l, r)| (*l, r.is_ok())).collect();
            assert_eq!(
                got,
                vec![(1, false), (1, true), (2, true), (3, false)],
                "{}: {v:?}",
                String::from_utf8_lossy(&text)
            );
            unexpected += usize::from(v[0].1.as_ref().unwrap_err().contains("unexpected"));
            for e in [&v[0].1, &v[3].1] {
                assert!(e.as_ref().unwrap_err().contains("torn"), "cut {cut}: {e:?}");
            }
        }
        assert!(unexpected > 0, "no cut made the scan fail on a bracket");
    }

    #[test]
    fn a_glued_write_is_found_however_the_line_was_read() {
        // A value that fails on a line longer than the block read: the
        // write glued after it is looked for on the whole line, not only
        // in the bytes at hand when it failed.
        let text = b"{\"a\":1,\"a\":2}   {\"resourceLogs\":[]}\n{\"b\":2}\n";
        for block in [1, 5, 16, 4096] {
            let mut values = Values::new(&text[..], 1).reading(block, true);
            let got: Vec<(u64, Result<Value, String>)> =
                std::iter::from_fn(|| values.next_value().map(|(l, v)| (l, v.map(|n| n.to_value())))).collect();
            assert_eq!(got.len(), 3, "block {block}: {got:?}");
            assert!(got[0].1.as_ref().unwrap_err().contains("appears twice"), "block {block}: {got:?}");
            assert_eq!(got[1], (1, Ok(serde_json::json!({"resourceLogs": []}))), "block {block}");
            assert_eq!(got[2], (2, Ok(serde_json::json!({"b": 2}))), "block {block}");
        }
    }

    #[test]
    fn an_unclosed_bracket_does_not_hide_the_lines_after_it() {
        let v = lines_and_errors(b"[\n{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(v, vec![(1, false), (2, true), (3, true)]);
        let v = lines_and_errors(b"{\"x\":[\n{\"a\":1}\n}\n{\"b\":2}\n");
        assert_eq!(v[0], (1, false));
        assert!(v.contains(&(2, true)) && v.contains(&(4, true)), "{v:?}");
    }

    #[test]
    fn values_inside_a_failed_one_that_are_still_open_fail_with_it() {
        // Lines 2 and 3 open values that are still open where line 1's
        // fails (the end of the input): each is reported, none re-read.
        // Line 4 is a number, then a stray comma.
        let v = json_values(b"[\n[\n[1,\n2,\n");
        let lines: Vec<(u64, bool)> = v.iter().map(|(l, r)| (*l, r.is_ok())).collect();
        assert_eq!(lines, vec![(1, false), (2, false), (3, false), (4, true), (4, false)]);
        assert!(v[1].1.as_ref().unwrap_err().contains("inside the unreadable value of line 1"), "{v:?}");
    }

    #[test]
    fn repeated_member_names_are_refused_with_their_place() {
        let v = json_values(b"{\"body\":1,\"b\\u006fdy\":2}\n{\"a\":{\"k\":1,\"k\":1}}\n{\"ok\":true}\n");
        let e = v[0].1.as_ref().unwrap_err();
        assert!(e.contains("\"body\" appears twice") && e.contains("column"), "{e}");
        assert!(v[1].1.as_ref().unwrap_err().contains("\"k\" appears twice"));
        assert!(v[2].1.is_ok());
    }

    #[test]
    fn bare_values_are_read_one_by_one_in_linear_time() {
        // 160k two-byte lines: each scalar ends at its line break (the old
        // reader scanned the rest of the file for each).
        let text = "1\n".repeat(160_000);
        let v = json_values(text.as_bytes());
        assert_eq!(v.len(), 160_000);
        assert!(v.iter().all(|(_, r)| r.is_ok()));
        assert_eq!(v.last().unwrap().0, 160_000);
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let v = json_values(deep.as_bytes());
        assert!(v[0].1.as_ref().unwrap_err().contains("nested deeper"));
        // Brackets inside strings do not count.
        let ok = format!("{{\"s\":\"{}\"}}", "[".repeat(1000));
        assert!(json_values(ok.as_bytes())[0].1.is_ok());
    }

    #[test]
    fn a_value_longer_than_the_bound_is_refused_and_the_next_line_read() {
        let long = format!("{{\"s\":\"{}\"}}\n{{\"b\":2}}\n", "x".repeat(5000));
        let mut values = Values::with_limit(long.as_bytes(), 1, 4096);
        let first = values.next_value().unwrap();
        assert!(first.1.unwrap_err().contains("longer than"));
        let (line, second) = values.next_value().unwrap();
        assert_eq!((line, second.map(|n| n.to_value())), (2, Ok(serde_json::json!({"b": 2}))));
        assert!(values.next_value().is_none());
    }

    #[test]
    fn values_spanning_blocks_are_read_whole() {
        let big = format!("{{\"s\":\"{}\"}}\n{{\"b\":2}}\n", "y".repeat(3 * BLOCK));
        let v = json_values(big.as_bytes());
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].1.as_ref().unwrap()["s"].as_str().unwrap().len(), 3 * BLOCK);
        assert_eq!(v[1].0, 2);
    }
}
