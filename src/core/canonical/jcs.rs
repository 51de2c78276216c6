//! The JSON primitives of RFC 8785 (JCS) that the canonical form needs.
//!
//! The canonical writers emit object members in a fixed, pre-sorted order,
//! so only the leaf encodings live here: strings (RFC 8785 §3.2.2.2) and
//! numbers (ECMAScript `Number.prototype.toString`, §3.2.2.3).

/// Appends `s` as a JCS string literal: `"` and `\` escaped, the control
/// characters below U+0020 as `\b \t \n \f \r` or `\u00xx`, every other
/// code point as its UTF-8 bytes.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        // Most bytes need no escape: runs of them are found many at a time.
        let i = string_stop(bytes, start, bytes.len());
        out.extend_from_slice(&bytes[start..i]);
        let Some(&b) = bytes.get(i) else { break };
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
        }
    }
    out.push(b'"');
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The first byte from `i` that can end or escape a JSON string (`"`,
/// `\`, a control character: the bytes RFC 8785 escapes, and those a
/// reader stops at), sixteen bytes at a time where SSE2 is (all
/// of x86-64), then eight; `limit` (at most `buf.len()`) when none.
pub fn string_stop(buf: &[u8], mut i: usize, limit: usize) -> usize {
    let limit = limit.min(buf.len());
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86-64 baseline; each load reads the
        // 16 bytes buf[i..i + 16], within buf since i + 16 <= limit <= len.
        unsafe {
            let (quote, backslash, control) =
                (_mm_set1_epi8(b'"' as i8), _mm_set1_epi8(b'\\' as i8), _mm_set1_epi8(0x1f));
            while i + 16 <= limit {
                let x = _mm_loadu_si128(buf.as_ptr().add(i).cast::<__m128i>());
                // x <= 0x1f (unsigned) exactly when max(x, 0x1f) == 0x1f.
                let low = _mm_cmpeq_epi8(_mm_max_epu8(x, control), control);
                let hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)), low);
                let bits = _mm_movemask_epi8(hit) as u32;
                if bits != 0 {
                    return i + bits.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    while i + 8 <= limit {
        let x = u64::from_le_bytes(buf[i..i + 8].try_into().expect("8 bytes"));
        let hit = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGHS);
        if hit != 0 {
            break;
        }
        i += 8;
    }
    while i < limit && !matches!(buf[i], b'"' | b'\\' | 0..0x20) {
        i += 1;
    }
    i
}

/// Appends a finite double as JCS formats it (shortest round-trip digits,
/// ECMAScript layout, `-0` as `0`). The caller handles NaN and infinities,
/// which JSON cannot hold as numbers.
pub fn write_finite_f64(out: &mut Vec<u8>, v: f64) {
    debug_assert!(v.is_finite());
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    let mut buf = ryu_js::Buffer::new();
    out.extend_from_slice(buf.format_finite(v).as_bytes());
}

/// Appends an unsigned integer as a JSON number.
pub fn write_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = itoa_buf();
    out.extend_from_slice(fmt_u64(&mut buf, v));
}

/// Appends an unsigned integer as a quoted decimal string, the OTLP/JSON
/// form of 64-bit integers and nanosecond timestamps.
pub fn write_u64_string(out: &mut Vec<u8>, v: u64) {
    out.push(b'"');
    write_u64(out, v);
    out.push(b'"');
}

/// Appends a signed integer as a quoted decimal string.
pub fn write_i64_string(out: &mut Vec<u8>, v: i64) {
    out.push(b'"');
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
    out.push(b'"');
}

/// Appends a signed 32-bit integer as a JSON number.
pub fn write_i32(out: &mut Vec<u8>, v: i32) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, u64::from(v.unsigned_abs()));
}

pub use crate::core::hex::write_hex;

fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

fn fmt_u64(buf: &mut [u8; 20], mut v: u64) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, x);
        String::from_utf8(out).unwrap()
    }

    fn f(x: f64) -> String {
        let mut out = Vec::new();
        write_finite_f64(&mut out, x);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_only_what_rfc8785_escapes() {
        assert_eq!(s("plain"), r#""plain""#);
        assert_eq!(s("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(s("\u{8}\t\n\u{c}\r"), r#""\b\t\n\f\r""#);
        assert_eq!(s("\u{0}\u{1f}"), r#""\u0000\u001f""#);
        // DEL, non-ASCII and U+2028 stay literal; '/' is not escaped.
        assert_eq!(s("\u{7f}é€/\u{2028}😀"), "\"\u{7f}é€/\u{2028}😀\"");
    }

    #[test]
    fn escapes_are_found_wherever_they_stand_in_long_strings() {
        // Escapes at every offset across the 16- and 8-byte steps of
        // string_stop, next to non-ASCII text; serde_json escapes strings
        // as RFC 8785 does.
        for len in [1, 7, 8, 15, 16, 17, 31, 33, 70] {
            for at in 0..len {
                for c in ['"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', 'é'] {
                    let mut x: String = "abcdéfghij".chars().cycle().take(len).collect();
                    let at = x.char_indices().nth(at).map_or(x.len(), |(i, _)| i);
                    x.insert(at, c);
                    assert_eq!(s(&x), serde_json::to_string(&x).unwrap(), "{x:?}");
                }
            }
        }
    }

    #[test]
    fn numbers_follow_ecmascript_formatting() {
        // Examples from RFC 8785 appendix B.
        assert_eq!(f(0.0), "0");
        assert_eq!(f(-0.0), "0");
        assert_eq!(f(5e-324), "5e-324");
        assert_eq!(f(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(f(9007199254740992.0), "9007199254740992");
        assert_eq!(f(295147905179352830000.0), "295147905179352830000");
        assert_eq!(f(1e21), "1e+21");
        assert_eq!(f(0.000001), "0.000001");
        assert_eq!(f(1e-7), "1e-7");
        assert_eq!(f(-1.5), "-1.5");
        assert_eq!(f(333333333.3333332), "333333333.3333332");
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        write_u64_string(&mut out, u64::MAX);
        out.push(b' ');
        write_i64_string(&mut out, i64::MIN);
        out.push(b' ');
        write_i32(&mut out, -7);
        out.push(b' ');
        write_u64(&mut out, 0);
        assert_eq!(String::from_utf8(out).unwrap(), r#""18446744073709551615" "-9223372036854775808" -7 0"#);
    }
}
