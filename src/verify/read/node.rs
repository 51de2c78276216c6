//! A JSON value read in one pass into a tree that borrows its input and
//! lives in an arena: strings without an escape are slices of the line,
//! others are unescaped once into the arena; numbers are parsed once, by
//! serde_json's rules, into `serde_json::Number`s; objects keep their
//! members sorted by name, as a `serde_json::Map` does. It accepts exactly
//! what [`super::json::parse_strict`] accepts (RFC 8259 JSON, no member
//! name twice in one object, after unescaping), and the two are held equal
//! by `tests/json_differential.rs`.
//!
//! The arena is reset before each value is read (`json::Values` does it),
//! so that reading a line allocates nothing once the arena has grown to the
//! size of the largest line: no allocation and no free per node.
//!
//! When a text is refused, why is told by `parse_strict`, so that the
//! finding reads as it always has.

use super::json::string_stop;
use crate::core::canonical::tree::{Kind, Tree};
use serde_json::{Map, Number, Value};

/// Where the nodes of a parsed value and its unescaped strings live.
pub type Arena = bumpalo::Bump;

/// A JSON value borrowing the text it was read from and its arena.
///
/// `repr(C, u64)`: a whole-word tag before an aligned payload, so that a
/// node is stored and loaded as the same three words (Rust's own layout
/// packed the tag into the number's; see also `Parser::items`).
#[derive(Clone, Debug, PartialEq)]
#[repr(C, u64)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(&'a str),
    Array(&'a [Node<'a>]),
    /// Members sorted by name, each name once.
    Object(&'a [(&'a str, Node<'a>)]),
}

/// The members of a [`Node::Object`] as [`Tree::Members`].
#[derive(Default)]
pub struct Members<'n, 'a>(std::slice::Iter<'n, (&'a str, Node<'a>)>);

impl<'n, 'a> Iterator for Members<'n, 'a> {
    type Item = (&'n str, &'n Node<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (*k, v))
    }
}

impl<'a> Tree for Node<'a> {
    type Members<'n>
        = Members<'n, 'a>
    where
        Self: 'n;

    fn kind(&self) -> Kind<'_, Self> {
        match self {
            Node::Null => Kind::Null,
            Node::Bool(b) => Kind::Bool(*b),
            Node::Number(n) => Kind::Number(n),
            Node::String(s) => Kind::String(s),
            Node::Array(a) => Kind::Array(a),
            Node::Object(_) => Kind::Object,
        }
    }
    fn members(&self) -> Option<Members<'_, 'a>> {
        match self {
            Node::Object(m) => Some(Members(m.iter())),
            _ => None,
        }
    }
    fn get(&self, name: &str) -> Option<&Self> {
        match self {
            Node::Object(m) => m.iter().find(|(k, _)| *k == name).map(|(_, v)| v),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.to_string()),
            Node::Array(a) => Value::Array(a.iter().map(Tree::to_value).collect()),
            Node::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.to_string(), v.to_value())).collect::<Map<_, _>>())
            }
        }
    }
}

/// Deepest nesting read (the scanner of `json::Values` refuses deeper
/// values before they are parsed; this bounds the recursion for any other
/// caller).
const MAX_NESTING: usize = super::json::MAX_JSON_DEPTH;

/// Parses exactly one JSON value from `text` (whitespace around it
/// allowed) into `arena`, as [`super::json::parse_strict`] does; its error
/// when the text is refused.
pub fn parse<'a>(text: &'a [u8], arena: &'a Arena) -> Result<Node<'a>, serde_json::Error> {
    let mut p = Parser::new(text, arena);
    p.ws();
    let v = p.value(0).and_then(|()| p.items.pop());
    p.ws();
    match v {
        Some(v) if p.i == p.b.len() => Ok(v),
        // Not handed to serde_json, whose recursion is not bounded.
        _ if p.deep => Err(serde::de::Error::custom(format_args!("JSON nested deeper than {MAX_NESTING} levels"))),
        _ => Err(refused(text)),
    }
}

/// The array or object at the start of `text` and its length, when it is
/// one that [`parse`] reads (the bytes after it are not looked at); `None`
/// for anything else, an unreadable value among them.
pub fn parse_prefix<'a>(text: &'a [u8], arena: &'a Arena) -> Option<(Node<'a>, usize)> {
    let mut p = Parser::new(text, arena);
    p.value(0)?;
    Some((p.items.pop()?, p.i))
}

/// Why `text` is not JSON, as `parse_strict` says it.
#[cold]
fn refused(text: &[u8]) -> serde_json::Error {
    match super::json::parse_strict(text) {
        Err(e) => e,
        // The two readers disagree: refuse all the same, and say so.
        Ok(_) => serde_json::Error::io(std::io::Error::other("the value could not be read (borrowed reader)")),
    }
}

/// How many bytes are checked to be UTF-8 at a time: strings are not
/// checked one by one (a call per string costs more than the check), nor
/// is the whole text at once (a prefix read from a large buffer must not
/// look far past its end).
const UTF8_CHUNK: usize = 64 << 10;

/// The text and where reading is. Strings are checked to be UTF-8 as they
/// are read, a chunk of the text at a time; a byte that is not ASCII
/// outside strings is refused by the grammar.
struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    arena: &'a Arena,
    /// `b[..utf8]` is known to be UTF-8 (`utf8` is a character boundary).
    utf8: usize,
    /// Refused for nesting deeper than [`MAX_NESTING`].
    deep: bool,
    /// The values read and not yet in their container, and the names of
    /// the members being read, on one stack each, moved into the arena
    /// when their container closes. Each value is pushed where it is
    /// read rather than returned: a node returned through memory was
    /// reloaded with other widths than it was stored with, which stalls
    /// (a fifth of the parser's time on a 1 M-record archive).
    items: Vec<Node<'a>>,
    names: Vec<&'a str>,
}

impl<'a> Parser<'a> {
    fn new(b: &'a [u8], arena: &'a Arena) -> Self {
        Parser { b, i: 0, arena, utf8: 0, deep: false, items: Vec::new(), names: Vec::new() }
    }

    /// `b[from..to]`, which holds no quote or backslash and is bounded by
    /// ASCII bytes (a quote, a backslash's escape) or the text's ends, as
    /// UTF-8.
    fn text(&mut self, from: usize, to: usize) -> Option<&'a str> {
        if to > self.utf8 {
            let end = to.max(self.utf8.saturating_add(UTF8_CHUNK)).min(self.b.len());
            match std::str::from_utf8(&self.b[self.utf8..end]) {
                Ok(_) => self.utf8 = end,
                Err(e) => self.utf8 += e.valid_up_to(),
            }
            if to > self.utf8 {
                // Not UTF-8 up to `to`, or an invalid byte after `to` in
                // the chunk: this slice alone decides.
                return std::str::from_utf8(&self.b[from..to]).ok();
            }
        }
        // SAFETY: `b[..self.utf8]` is UTF-8, and `from` and `to` lie on
        // character boundaries in it (next to ASCII bytes or at its ends),
        // so `b[from..to]` is UTF-8 too.
        Some(unsafe { std::str::from_utf8_unchecked(&self.b[from..to]) })
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    fn literal(&mut self, word: &[u8], v: Node<'a>) -> Option<()> {
        self.b[self.i..].starts_with(word).then_some(())?;
        self.i += word.len();
        self.items.push(v);
        Some(())
    }

    /// Reads a value and pushes it onto `items`.
    fn value(&mut self, depth: usize) -> Option<()> {
        match *self.b.get(self.i)? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => {
                let s = self.string()?;
                self.items.push(Node::String(s));
                Some(())
            }
            b't' => self.literal(b"true", Node::Bool(true)),
            b'f' => self.literal(b"false", Node::Bool(false)),
            b'n' => self.literal(b"null", Node::Null),
            b'-' | b'0'..=b'9' => {
                let n = self.number()?;
                self.items.push(Node::Number(n));
                Some(())
            }
            _ => None,
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_NESTING {
            self.deep = true;
            return None;
        }
        self.i += 1;
        self.ws();
        if self.eat(b']').is_some() {
            self.items.push(Node::Array(&[]));
            return Some(());
        }
        let mark = self.items.len();
        loop {
            self.value(depth)?;
            self.ws();
            match *self.b.get(self.i)? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b']' => {
                    self.i += 1;
                    let items = self.arena.alloc_slice_fill_iter(self.items.drain(mark..));
                    self.items.push(Node::Array(items));
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_NESTING {
            self.deep = true;
            return None;
        }
        self.i += 1;
        self.ws();
        let (mark, names) = (self.items.len(), self.names.len());
        if self.eat(b'}').is_none() {
            loop {
                if self.b.get(self.i) != Some(&b'"') {
                    return None;
                }
                let name = self.string()?;
                self.ws();
                self.eat(b':')?;
                self.ws();
                self.names.push(name);
                self.value(depth)?;
                self.ws();
                match *self.b.get(self.i)? {
                    b',' => {
                        self.i += 1;
                        self.ws();
                    }
                    b'}' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let members = self.names.drain(names..).zip(self.items.drain(mark..));
        let members = self.arena.alloc_slice_fill_iter(members);
        sort_members(members)?;
        self.items.push(Node::Object(members));
        Some(())
    }

    /// A string at `self.i` (its opening quote).
    fn string(&mut self) -> Option<&'a str> {
        let start = self.i + 1;
        let mut i = string_stop(self.b, start, self.b.len());
        match *self.b.get(i)? {
            b'"' => {
                self.i = i + 1;
                return self.text(start, i);
            }
            b'\\' => {}
            _ => return None,
        }
        let mut out = bumpalo::collections::String::with_capacity_in(i - start + 16, self.arena);
        out.push_str(self.text(start, i)?);
        loop {
            let run = i;
            i = string_stop(self.b, i, self.b.len());
            self.b.get(i)?;
            out.push_str(self.text(run, i)?);
            match self.b[i] {
                b'"' => {
                    self.i = i + 1;
                    return Some(out.into_bump_str());
                }
                b'\\' => i = self.escape(i + 1, &mut out)?,
                _ => return None,
            }
        }
    }

    /// The escape after a backslash at `i`, onto `out`; where it ends.
    fn escape(&self, i: usize, out: &mut bumpalo::collections::String<'_>) -> Option<usize> {
        let c = match *self.b.get(i)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode(i + 1, out),
            _ => return None,
        };
        out.push(c);
        Some(i + 1)
    }

    /// `\uXXXX` (a surrogate pair as two), its digits at `i`; lone
    /// surrogates are refused, as serde_json refuses them.
    fn unicode(&self, i: usize, out: &mut bumpalo::collections::String<'_>) -> Option<usize> {
        let n = self.hex4(i)?;
        let (code, end) = match n {
            0xDC00..=0xDFFF => return None,
            0xD800..=0xDBFF => {
                if self.b.get(i + 4..i + 6)? != b"\\u" {
                    return None;
                }
                let low = self.hex4(i + 6)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return None;
                }
                (0x10000 + ((u32::from(n) - 0xD800) << 10) + (u32::from(low) - 0xDC00), i + 10)
            }
            n => (u32::from(n), i + 4),
        };
        out.push(char::from_u32(code)?);
        Some(end)
    }

    fn hex4(&self, i: usize) -> Option<u16> {
        let digits = self.b.get(i..i + 4)?;
        digits.iter().try_fold(0u16, |n, &d| Some(n << 4 | char::from(d).to_digit(16)? as u16))
    }

    /// A number by RFC 8259's grammar, read as serde_json reads it.
    fn number(&mut self) -> Option<Number> {
        let start = self.i;
        let b = self.b;
        let mut i = start + usize::from(b[start] == b'-');
        let digits = i;
        match *b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return None,
        }
        let int_end = i;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let f = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == f {
                return None;
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            let e = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == e {
                return None;
            }
        }
        self.i = i;
        let text = self.text(start, i)?;
        let negative = digits > start;
        let n = int_end - digits;
        if i == int_end && n <= 18 && !(negative && text == "-0") {
            // An integer serde_json reads as a u64 (≥ 0) or an i64 (< 0).
            return Some(if negative {
                Number::from(text.parse::<i64>().ok()?)
            } else {
                Number::from(text.parse::<u64>().ok()?)
            });
        }
        // Fractions, exponents, -0 and long integers: serde_json's own
        // rules (a float when an integer overflows, refused past f64).
        match serde_json::from_str::<Value>(text).ok()? {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
}

/// Names in byte order, as `str`'s `Ord`: most names of an OTLP object
/// differ in their first byte (`key`, `value`), which decides without a
/// call to `memcmp`.
fn by_name(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

/// Sorts an object's members by name; `None` when a name appears twice.
fn sort_members(members: &mut [(&str, Node<'_>)]) -> Option<()> {
    // Most OTLP objects have one or two members: one comparison decides.
    if let [a, b] = members {
        return match by_name(a.0, b.0) {
            std::cmp::Ordering::Less => Some(()),
            std::cmp::Ordering::Greater => {
                std::mem::swap(a, b);
                Some(())
            }
            std::cmp::Ordering::Equal => None,
        };
    }
    members.sort_unstable_by(|a, b| by_name(a.0, b.0));
    members.windows(2).all(|w| w[0].0 != w[1].0).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{"s":["xxxxxxxxxx",…,"x…x??","é"]}`: short strings, then the two
    /// bytes given (an `é`, or a byte that is not UTF-8) at offset `at`,
    /// so that a chunk checked for the short strings ends near them.
    fn text_with_at(at: usize, two: &[u8]) -> Vec<u8> {
        let mut t = b"{\"s\":[".to_vec();
        while t.len() + 13 < at - 4 {
            t.extend_from_slice(b"\"xxxxxxxxxx\",");
        }
        t.push(b'"');
        t.resize(at, b'x');
        t.extend_from_slice(two);
        t.extend_from_slice(b"\",\"\xc3\xa9\"]}");
        t
    }

    #[test]
    fn utf8_is_checked_across_the_chunks_it_is_checked_in() {
        let arena = Arena::new();
        for at in [UTF8_CHUNK - 2, UTF8_CHUNK - 1, UTF8_CHUNK, UTF8_CHUNK + 1, 2 * UTF8_CHUNK - 1] {
            // A character cut by a chunk's end is read whole.
            let good = text_with_at(at, "é".as_bytes());
            let v = parse(&good, &arena).unwrap_or_else(|e| panic!("at {at}: {e}"));
            assert_eq!(v.to_value(), crate::verify::read::json::parse_strict(&good).unwrap(), "at {at}");
            // A byte that is not UTF-8 is refused wherever it stands.
            let bad = text_with_at(at, b"\xc3\x28");
            assert!(parse(&bad, &arena).is_err(), "at {at}: read");
            assert!(crate::verify::read::json::parse_strict(&bad).is_err());
        }
    }

    #[test]
    fn names_sort_as_strings_do() {
        let names = ["", "a", "ab", "b", "key", "value", "values", "k", "é", "ée", "\u{0}", "Z", "~"];
        for a in names {
            for b in names {
                assert_eq!(by_name(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn a_prefix_is_read_whatever_follows_it() {
        // Bytes that are not UTF-8 just after an object, in the chunk
        // checked with its last string, are not its concern.
        let arena = Arena::new();
        for tail in [&b"\xff\xfe"[..], b"\"\xc3", b"{\"a\":\"\xff\"}"] {
            let text = [&b"{\"k\":\"v\",\"w\":\"\xc3\xa9\"}"[..], tail].concat();
            let (v, n) = parse_prefix(&text, &arena).expect("read");
            assert_eq!(n, text.len() - tail.len());
            assert_eq!(v.to_value(), serde_json::json!({"k": "v", "w": "é"}));
        }
    }

    #[test]
    fn escaped_strings_live_in_the_arena_and_borrowed_ones_in_the_text() {
        let arena = Arena::new();
        let text = br#"{"plain":"abc","escaped":"a\"b\u00e9"}"#;
        let v = parse(text, &arena).unwrap();
        let plain = v.get("plain").and_then(Tree::as_str).unwrap();
        let escaped = v.get("escaped").and_then(Tree::as_str).unwrap();
        assert_eq!((plain, escaped), ("abc", "a\"bé"));
        let inside = |s: &str| text.as_ptr_range().contains(&s.as_ptr());
        assert!(inside(plain) && !inside(escaped));
    }
}
