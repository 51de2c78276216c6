//! Lowercase hexadecimal, as every hash in a stamp is written (SPEC §4.1).

use super::chain::Hash;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` as lowercase hexadecimal (no quotes).
pub fn write_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 0xf) as usize]);
    }
}

/// Lowercase hex of a hash.
pub fn to_hex(h: &Hash) -> String {
    let mut out = Vec::with_capacity(64);
    write_hex(&mut out, h);
    String::from_utf8(out).expect("hex is ASCII")
}

/// Decodes hexadecimal of either case; `None` for an odd length or a
/// character that is not a hex digit.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let mut out = vec![0; s.len() / 2];
    decode_into(s.as_bytes(), &mut out)?;
    Some(out)
}

/// Each byte's value as a hex digit of either case; 0x10 and above for a
/// byte that is not one.
const NIBBLES: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decodes `2 * out.len()` hex digits into `out`; `None` when one is not a
/// hex digit (`out` is then garbage).
fn decode_into(digits: &[u8], out: &mut [u8]) -> Option<()> {
    let mut bad = 0u8;
    for (o, p) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (hi, lo) = (NIBBLES[p[0] as usize], NIBBLES[p[1] as usize]);
        bad |= hi | lo;
        *o = hi << 4 | lo & 0xf;
    }
    (bad < 0x10).then_some(())
}

/// Parses 64 hex digits (either case) into a hash.
pub fn from_hex(s: &str) -> Option<Hash> {
    let mut h = [0; 32];
    (s.len() == 64).then_some(())?;
    decode_into(s.as_bytes(), &mut h)?;
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let h = [0xab; 32];
        assert_eq!(from_hex(&to_hex(&h)), Some(h));
        assert_eq!(from_hex(&to_hex(&h).to_uppercase()), Some(h));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex(&"zz".repeat(32)), None);
        assert_eq!(decode_hex("0aF1"), Some(vec![0x0a, 0xf1]));
    }
}
