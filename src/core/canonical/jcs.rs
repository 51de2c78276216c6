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
    for (i, &b) in bytes.iter().enumerate() {
        // Most bytes need no escape; one table lookup decides.
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
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
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The bytes RFC 8785 escapes: `"`, `\` and the controls below 0x20.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

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
