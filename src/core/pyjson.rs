//! Python's `json.dumps(value, sort_keys=True)`, byte for byte, and the
//! `json.loads` that feeds it: the serialisation an application's SDK hashes
//! for `audit.content_hash` (docs/SPEC.md §4.6, seed 000).
//!
//! What Python does, and so what this does:
//! - separators `", "` and `": "`; keys sorted by code point; a key that
//!   appears twice keeps its last value (a `dict`);
//! - `ensure_ascii`: every character outside U+0020..U+007E is `\uXXXX`
//!   (lowercase hex; above U+FFFF as a surrogate pair), except `\"`, `\\`,
//!   `\n`, `\r`, `\t`, `\b`, `\f`; lone surrogates survive as escapes;
//! - integers keep their digits (`-0` is `0`; more than 4300 digits is
//!   refused, as Python's `int` refuses them); floats are `repr(float)`:
//!   the shortest digits that round-trip, exponent form below 1e-4 and from
//!   1e16 on (`1e-05`, `1e+16`), `.0` on integral values (`-0.0`), and
//!   `NaN`, `Infinity`, `-Infinity`, which `json.loads` also reads.

use std::cmp::Ordering;
use std::fmt;

/// Nesting deeper than this is refused (Python's own limit is its
/// recursion limit, about 1000; no audit payload comes close).
pub const MAX_DEPTH: usize = 256;

/// Python refuses to convert longer integers (`sys.get_int_max_str_digits()`).
pub const MAX_INT_DIGITS: usize = 4300;

/// A Python value as `json.loads` makes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Py {
    None,
    Bool(bool),
    /// An integer, as its canonical decimal digits (any size).
    Int(String),
    Float(f64),
    /// A `str`, as UTF-16 code units so that lone surrogates survive.
    Str(Vec<u16>),
    List(Vec<Py>),
    /// A `dict`: keys unique (the last value of a repeated key wins).
    Dict(Vec<(Vec<u16>, Py)>),
}

/// Why a text cannot be read as Python's `json.loads` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyJsonError(pub String);

impl fmt::Display for PyJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(why: impl Into<String>) -> Result<T, PyJsonError> {
    Err(PyJsonError(why.into()))
}

impl Py {
    pub fn str(s: &str) -> Py {
        Py::Str(s.encode_utf16().collect())
    }

    /// Builds a `dict` from pairs in order, the last of a repeated key
    /// winning, as `dict(pairs)` does.
    pub fn dict(pairs: Vec<(Vec<u16>, Py)>) -> Py {
        let mut out: Vec<(Vec<u16>, Py)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match out.iter_mut().find(|(ok, _)| *ok == k) {
                Some(slot) => slot.1 = v,
                None => out.push((k, v)),
            }
        }
        Py::Dict(out)
    }
}

/// `json.dumps(json.loads(text), sort_keys=True)`.
pub fn dumps_text(text: &str) -> Result<Vec<u8>, PyJsonError> {
    let value = loads(text)?;
    let mut out = Vec::with_capacity(text.len() + 16);
    dumps(&mut out, &value);
    Ok(out)
}

/// `json.loads(text)`, strict as Python's default decoder.
pub fn loads(text: &str) -> Result<Py, PyJsonError> {
    let mut p = Parser { s: text.as_bytes(), pos: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.pos != p.s.len() {
        return fail(format!("extra data at byte {}", p.pos));
    }
    Ok(v)
}

/// `json.dumps(value, sort_keys=True)`.
pub fn dumps(out: &mut Vec<u8>, v: &Py) {
    match v {
        Py::None => out.extend_from_slice(b"null"),
        Py::Bool(true) => out.extend_from_slice(b"true"),
        Py::Bool(false) => out.extend_from_slice(b"false"),
        Py::Int(digits) => out.extend_from_slice(digits.as_bytes()),
        Py::Float(f) => write_float(out, *f),
        Py::Str(units) => write_str(out, units),
        Py::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                dumps(out, item);
            }
            out.push(b']');
        }
        Py::Dict(pairs) => {
            let mut sorted: Vec<&(Vec<u16>, Py)> = pairs.iter().collect();
            sorted.sort_by(|a, b| code_point_order(&a.0, &b.0));
            out.push(b'{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_str(out, k);
                out.extend_from_slice(b": ");
                dumps(out, v);
            }
            out.push(b'}');
        }
    }
}

/// Code points of UTF-16 units: pairs combined, lone surrogates as they are
/// (Python's `str` holds them as code points of their own).
fn code_points(units: &[u16]) -> impl Iterator<Item = u32> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let u = *units.get(i)?;
        i += 1;
        if (0xD800..0xDC00).contains(&u)
            && let Some(&lo) = units.get(i)
            && (0xDC00..0xE000).contains(&lo)
        {
            i += 1;
            return Some(0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(lo) - 0xDC00));
        }
        Some(u32::from(u))
    })
}

/// Python compares `str` by code point (not by UTF-16 unit).
fn code_point_order(a: &[u16], b: &[u16]) -> Ordering {
    code_points(a).cmp(code_points(b))
}

fn write_str(out: &mut Vec<u8>, units: &[u16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &u in units {
        match u {
            0x22 => out.extend_from_slice(b"\\\""),
            0x5C => out.extend_from_slice(b"\\\\"),
            0x0A => out.extend_from_slice(b"\\n"),
            0x0D => out.extend_from_slice(b"\\r"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            0x20..=0x7E => out.push(u as u8),
            _ => {
                out.extend_from_slice(b"\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[usize::from((u >> shift) & 0xF)]);
                }
            }
        }
    }
    out.push(b'"');
}

/// `float.__repr__`, and the three names `json.dumps` uses for what JSON
/// numbers cannot hold.
pub fn write_float(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    if v.is_sign_negative() {
        out.push(b'-');
    }
    if v == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    let (digits, exp) = shortest_digits(v.abs());
    let n = digits.len() as i32;
    // Python's decpt: value = 0.d1d2.. × 10^decpt.
    let decpt = exp + 1;
    if decpt <= -4 || decpt > 16 {
        out.push(digits[0]);
        if n > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let e = decpt - 1;
        out.extend_from_slice(format!("e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()).as_bytes());
    } else if decpt <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-decpt) as usize));
        out.extend_from_slice(&digits);
    } else if decpt < n {
        out.extend_from_slice(&digits[..decpt as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[decpt as usize..]);
    } else {
        out.extend_from_slice(&digits);
        out.extend(std::iter::repeat_n(b'0', (decpt - n) as usize));
        out.extend_from_slice(b".0");
    }
}

/// The shortest decimal digits that read back as `v` (positive, finite),
/// and the exponent of the first: `v ≈ d.ddd × 10^exp`. Among the shortest,
/// Python's repr takes the one nearest `v`, an exact tie going to the even
/// digit (David Gay's dtoa, mode 0). Rust's `{:e}` finds the shortest
/// length but may break such a tie the other way, so the nearest decimal
/// of that length (`{:.Ne}`, which rounds exactly, ties to even) is taken
/// whenever it still reads back as `v`.
fn shortest_digits(v: f64) -> (Vec<u8>, i32) {
    fn split(sci: &str) -> (Vec<u8>, i32) {
        let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
        (mantissa.bytes().filter(|b| *b != b'.').collect(), exp.parse().unwrap_or(0))
    }
    let shortest = split(&format!("{v:e}"));
    let nearest_text = format!("{:.*e}", shortest.0.len() - 1, v);
    if nearest_text.parse::<f64>() == Ok(v) {
        return split(&nearest_text);
    }
    shortest
}

struct Parser<'s> {
    s: &'s [u8],
    pos: usize,
}

impl Parser<'_> {
    /// Python's JSON whitespace: space, tab, newline, carriage return.
    fn ws(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Py, PyJsonError> {
        if depth >= MAX_DEPTH {
            return fail(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        match self.s.get(self.pos) {
            None => fail("expecting a value at the end"),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Py::Str(self.string()?)),
            Some(_) if self.eat(b"null") => Ok(Py::None),
            Some(_) if self.eat(b"true") => Ok(Py::Bool(true)),
            Some(_) if self.eat(b"false") => Ok(Py::Bool(false)),
            Some(_) if self.eat(b"NaN") => Ok(Py::Float(f64::NAN)),
            Some(_) if self.eat(b"Infinity") => Ok(Py::Float(f64::INFINITY)),
            Some(_) if self.eat(b"-Infinity") => Ok(Py::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => fail(format!("expecting a value at byte {}", self.pos)),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Py, PyJsonError> {
        self.pos += 1;
        let mut pairs = Vec::new();
        self.ws();
        if self.eat(b"}") {
            return Ok(Py::Dict(pairs));
        }
        loop {
            if self.s.get(self.pos) != Some(&b'"') {
                return fail(format!("expecting a property name at byte {}", self.pos));
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(b":") {
                return fail(format!("expecting ':' at byte {}", self.pos));
            }
            self.ws();
            let v = self.value(depth + 1)?;
            pairs.push((key, v));
            self.ws();
            if self.eat(b"}") {
                return Ok(Py::dict(pairs));
            }
            if !self.eat(b",") {
                return fail(format!("expecting ',' or '}}' at byte {}", self.pos));
            }
            self.ws();
        }
    }

    fn array(&mut self, depth: usize) -> Result<Py, PyJsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat(b"]") {
            return Ok(Py::List(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            if self.eat(b"]") {
                return Ok(Py::List(items));
            }
            if !self.eat(b",") {
                return fail(format!("expecting ',' or ']' at byte {}", self.pos));
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, PyJsonError> {
        let digits = self.s.get(self.pos..self.pos + 4).ok_or_else(|| PyJsonError("truncated \\u escape".into()))?;
        let text = std::str::from_utf8(digits).map_err(|_| PyJsonError("invalid \\u escape".into()))?;
        let u = u16::from_str_radix(text, 16).map_err(|_| PyJsonError(format!("invalid \\u escape {text:?}")))?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return fail(format!("invalid \\u escape {text:?}"));
        }
        self.pos += 4;
        Ok(u)
    }

    /// A string at `pos` (which holds the opening quote), as UTF-16 units.
    fn string(&mut self) -> Result<Vec<u16>, PyJsonError> {
        self.pos += 1;
        let mut units = Vec::new();
        loop {
            let start = self.pos;
            // A run of plain characters, copied as UTF-16.
            while let Some(&b) = self.s.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The input is a &str and the run stops only at ASCII bytes, so
            // the run is whole characters.
            let run = std::str::from_utf8(&self.s[start..self.pos]).map_err(|_| PyJsonError("not UTF-8".into()))?;
            units.extend(run.encode_utf16());
            match self.s.get(self.pos) {
                None => return fail("unterminated string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(units);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = *self.s.get(self.pos).ok_or_else(|| PyJsonError("unterminated string".into()))?;
                    self.pos += 1;
                    let u = match esc {
                        b'"' => 0x22,
                        b'\\' => 0x5C,
                        b'/' => 0x2F,
                        b'b' => 0x08,
                        b'f' => 0x0C,
                        b'n' => 0x0A,
                        b'r' => 0x0D,
                        b't' => 0x09,
                        b'u' => self.hex4()?,
                        other => return fail(format!("invalid escape \\{}", other as char)),
                    };
                    units.push(u);
                }
                Some(&b) => return fail(format!("invalid control character {b:#04x} in a string")),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.s.get(self.pos), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`: an int without
    /// fraction or exponent, a float otherwise.
    fn number(&mut self) -> Result<Py, PyJsonError> {
        let start = self.pos;
        let negative = self.eat(b"-");
        let int_start = self.pos;
        match self.s.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return fail(format!("expecting a value at byte {start}")),
        }
        let int_end = self.pos;
        let mut is_float = false;
        if self.s.get(self.pos) == Some(&b'.') && matches!(self.s.get(self.pos + 1), Some(b'0'..=b'9')) {
            self.pos += 1;
            self.digits();
            is_float = true;
        }
        if matches!(self.s.get(self.pos), Some(b'e' | b'E')) {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.s.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                // Not an exponent: Python's regex stops before the 'e'.
                self.pos = save;
            } else {
                is_float = true;
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).expect("ASCII");
        if is_float {
            let f: f64 = text.parse().map_err(|_| PyJsonError(format!("invalid number {text:?}")))?;
            return Ok(Py::Float(f));
        }
        let digits = &text[int_start - start..int_end - start];
        if digits.len() > MAX_INT_DIGITS {
            return fail(format!("integer of {} digits; Python refuses more than {MAX_INT_DIGITS}", digits.len()));
        }
        Ok(Py::Int(if negative && digits != "0" { format!("-{digits}") } else { digits.to_string() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> String {
        String::from_utf8(dumps_text(text).unwrap()).unwrap()
    }

    #[test]
    fn python_separators_sorting_and_escapes() {
        assert_eq!(d(r#"{"b": [1, 2, {}], "a": "x", "c": []}"#), r#"{"a": "x", "b": [1, 2, {}], "c": []}"#);
        assert_eq!(
            d(r#""na\u00efve caf\u00e9 ✓ 😀 \u007f \/ \t""#),
            r#""na\u00efve caf\u00e9 \u2713 \ud83d\ude00 \u007f / \t""#
        );
        // A lone surrogate survives; a repeated key keeps its last value.
        assert_eq!(d(r#"{"k": "\ud800", "k": 2}"#), r#"{"k": 2}"#);
        assert_eq!(d(r#""\ud800x""#), r#""\ud800x""#);
        // Code point order, not UTF-16 order: U+FF61 sorts before U+1F600.
        assert_eq!(d("{\"\u{1F600}\": 1, \"\u{FF61}\": 2}"), r#"{"\uff61": 2, "\ud83d\ude00": 1}"#);
    }

    #[test]
    fn python_numbers() {
        assert_eq!(
            d("[0.1, 1e16, 1E16, -0.0, 1e-5, 0.0001, 1e15, 123.0, 1.5e300, 5e-324]"),
            "[0.1, 1e+16, 1e+16, -0.0, 1e-05, 0.0001, 1000000000000000.0, 123.0, 1.5e+300, 5e-324]"
        );
        assert_eq!(d("[-0, 0, 123456789012345678901234567890, -7]"), "[0, 0, 123456789012345678901234567890, -7]");
        // An exact tie between two shortest forms goes to the even digit,
        // as in Python (Rust's own shortest form says ...625.3).
        assert_eq!(d("[931492518936625.25]"), "[931492518936625.2]");
        assert_eq!(
            d("[1e400, -1e400, NaN, Infinity, -Infinity, 1e-400]"),
            "[Infinity, -Infinity, NaN, Infinity, -Infinity, 0.0]"
        );
        assert!(dumps_text(&"1".repeat(4301)).is_err());
        assert!(dumps_text(&"1".repeat(4300)).is_ok());
    }

    #[test]
    fn what_python_refuses() {
        for bad in [
            "",
            "01",
            "[1,]",
            "{\"a\":1,}",
            "\"\u{1}\"",
            "\"\\x\"",
            "tru",
            "1 2",
            "\u{feff}1",
            "{'a': 1}",
            "+1",
            ".5",
            "1.",
        ] {
            assert!(dumps_text(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(dumps_text(&"[".repeat(MAX_DEPTH + 1)).is_err());
    }
}
