//! Just enough of the protobuf wire format to walk OTLP messages in place
//! (no generated structs, no copies) and to encode the few records the
//! engine emits itself.

use std::fmt;

/// A field value as it sits on the wire. Length-delimited payloads borrow
/// from the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Why a buffer is not a well-formed protobuf message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    Truncated,
    VarintTooLong,
    InvalidTag,
    GroupsUnsupported,
    /// A known field carried a wire type other than the schema's.
    WrongType {
        field: u32,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated => f.write_str("message is truncated"),
            WireError::VarintTooLong => f.write_str("varint longer than 10 bytes"),
            WireError::InvalidTag => f.write_str("invalid field tag"),
            WireError::GroupsUnsupported => f.write_str("group wire types are not supported"),
            WireError::WrongType { field } => write!(f, "field {field} has the wrong wire type"),
        }
    }
}

impl std::error::Error for WireError {}

/// The varint at `buf[*pos..]`; `*pos` moves past it.
pub fn get_varint(buf: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let b = *buf.get(*pos).ok_or(WireError::Truncated)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(WireError::VarintTooLong)
}

/// Appends `v` as a varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Iterates over the fields of one message.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        get_varint(self.buf, &mut self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(WireError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, WireError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let field = u32::try_from(tag >> 3).map_err(|_| WireError::InvalidTag)?;
        if field == 0 {
            return Err(WireError::InvalidTag);
        }
        let value = match tag & 7 {
            0 => Value::Varint(self.varint()?),
            1 => Value::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap())),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| WireError::Truncated)?;
                Value::Bytes(self.take(len)?)
            }
            3 | 4 => return Err(WireError::GroupsUnsupported),
            5 => Value::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().unwrap())),
            _ => return Err(WireError::InvalidTag),
        };
        Ok(Some((field, value)))
    }
}

impl<'a> Value<'a> {
    pub fn bytes(self, field: u32) -> Result<&'a [u8], WireError> {
        match self {
            Value::Bytes(b) => Ok(b),
            _ => Err(WireError::WrongType { field }),
        }
    }
    pub fn varint(self, field: u32) -> Result<u64, WireError> {
        match self {
            Value::Varint(v) => Ok(v),
            _ => Err(WireError::WrongType { field }),
        }
    }
    pub fn fixed64(self, field: u32) -> Result<u64, WireError> {
        match self {
            Value::Fixed64(v) => Ok(v),
            _ => Err(WireError::WrongType { field }),
        }
    }
    pub fn fixed32(self, field: u32) -> Result<u32, WireError> {
        match self {
            Value::Fixed32(v) => Ok(v),
            _ => Err(WireError::WrongType { field }),
        }
    }
}

/// Appends protobuf fields to a buffer. Nested messages are written into a
/// scratch writer first and then embedded, which is fine for the handful of
/// small records the engine emits.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    fn varint(&mut self, v: u64) {
        put_varint(&mut self.buf, v);
    }

    fn tag(&mut self, field: u32, wire_type: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire_type));
    }

    pub fn uint64(&mut self, field: u32, v: u64) {
        self.tag(field, 0);
        self.varint(v);
    }

    pub fn fixed64(&mut self, field: u32, v: u64) {
        self.tag(field, 1);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn double(&mut self, field: u32, v: f64) {
        self.fixed64(field, v.to_bits());
    }

    pub fn bytes(&mut self, field: u32, b: &[u8]) {
        self.tag(field, 2);
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    pub fn message(&mut self, field: u32, m: &Writer) {
        self.bytes(field, &m.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_wire_type() {
        let mut w = Writer::new();
        w.uint64(1, 300);
        w.fixed64(2, u64::MAX);
        w.string(3, "hé");
        w.tag(4, 5);
        w.buf.extend_from_slice(&7u32.to_le_bytes());
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.next_field().unwrap(), Some((1, Value::Varint(300))));
        assert_eq!(r.next_field().unwrap(), Some((2, Value::Fixed64(u64::MAX))));
        assert_eq!(r.next_field().unwrap(), Some((3, Value::Bytes("hé".as_bytes()))));
        assert_eq!(r.next_field().unwrap(), Some((4, Value::Fixed32(7))));
        assert_eq!(r.next_field().unwrap(), None);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            &[0x0a, 0x05, b'a'][..], // length beyond the end
            &[0x08][..],             // varint missing
            &[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01][..],
            &[0x0b][..],                                                       // start group
            &[0x00, 0x01][..],                                                 // field number 0
            &[0x0e][..],                                                       // wire type 6
            &[0x09, 1, 2, 3][..],                                              // fixed64 truncated
            &[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f][..], // huge length
        ] {
            let mut r = Reader::new(bad);
            let mut result = Ok(None);
            for _ in 0..4 {
                result = r.next_field();
                if !matches!(result, Ok(Some(_))) {
                    break;
                }
            }
            assert!(result.is_err(), "{bad:?} should not parse");
        }
    }
}
