//! What a stamping call returns: for every record of the batch, the
//! attributes to write on it, plus any records the engine emits itself.
//!
//! The layout is flat so that the Go shim can walk it in place: one array
//! of per-record spans into one array of attribute operations, whose string
//! values are ranges of one text buffer. The shim converts the text to a Go
//! string once and slices it, so writing the stamps allocates nothing per
//! record.

use crate::core::chain::{self, Hash};
use crate::core::vocab as attrs;

/// Attribute keys, by index. `auditchain_attribute_keys` exposes this table;
/// new keys are only ever appended.
pub const ATTRIBUTE_KEYS: &[&str] = &[
    attrs::STREAM_ID,
    attrs::SEQUENCE_NUMBER,
    attrs::PREVIOUS_HASH,
    attrs::SEQUENCE_END,
    attrs::INTEGRITY_VALUE,
    attrs::INTEGRITY_ALGORITHM,
    attrs::INTEGRITY_CANONICALIZATION,
    attrs::KEY_EPOCH,
];

const KEY_STREAM_ID: u32 = 0;
const KEY_SEQUENCE_NUMBER: u32 = 1;
const KEY_PREVIOUS_HASH: u32 = 2;
const KEY_INTEGRITY_VALUE: u32 = 4;
const KEY_INTEGRITY_ALGORITHM: u32 = 5;
const KEY_INTEGRITY_CANONICALIZATION: u32 = 6;
const KEY_KEY_EPOCH: u32 = 7;

/// The type of an attribute operation's value.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrKind {
    /// `value` is an offset into the text buffer, `len` a byte length.
    Str = 1,
    /// `value` is the two's-complement bits of an int64.
    Int = 2,
    /// `value` is 0 or 1.
    Bool = 3,
}

/// Put one attribute on a record.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttrOp {
    /// Index into the attribute key table.
    pub key: u32,
    pub kind: AttrKind,
    pub value: u64,
    pub len: u64,
}

/// The attribute operations of one record: `attrs[first .. first+count]`.
/// `count` is 0 for a record that is not part of any stream.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordStamp {
    pub first: u32,
    pub count: u32,
    /// The record's sequence number, 0 when it was not stamped.
    pub sequence: u64,
}

/// One link the engine issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub sequence: u64,
    pub previous: Option<Hash>,
    pub value: Hash,
    /// The key epoch of a keyed chain.
    pub key_epoch: Option<u64>,
}

/// The result of one stamping call.
#[derive(Debug, Default)]
pub struct Stamps {
    /// Identifies the call for `settle` (0 when nothing was issued).
    pub batch_id: u64,
    pub records: Vec<RecordStamp>,
    pub attrs: Vec<AttrOp>,
    pub text: Vec<u8>,
    /// Records the engine emits itself, as an OTLP protobuf
    /// `ExportLogsServiceRequest` (empty when there are none).
    pub extra_logs: Vec<u8>,
    /// Sequence numbers issued by this call, including the extra records.
    pub first_sequence: u64,
    pub last_sequence: u64,
    /// Something the caller should log (the records are stamped anyway).
    pub warning: Option<String>,
}

/// Builds [`Stamps`] for one stream.
pub struct StampsBuilder {
    stamps: Stamps,
    stream_id: (u64, u64),
    algorithm: (u64, u64),
    canonicalization: (u64, u64),
}

impl StampsBuilder {
    pub fn new(stream_id: &str, algorithm: chain::Algorithm, records: usize) -> Self {
        let mut stamps = Stamps {
            records: Vec::with_capacity(records),
            attrs: Vec::with_capacity(records * 6),
            text: Vec::with_capacity(stream_id.len() + 64 + records * 128),
            ..Stamps::default()
        };
        let mut put = |s: &str| {
            let at = stamps.text.len() as u64;
            stamps.text.extend_from_slice(s.as_bytes());
            (at, s.len() as u64)
        };
        let stream_id = put(stream_id);
        let algorithm = put(algorithm.name());
        let canonicalization = put(crate::core::canonical::CANONICALIZATION);
        StampsBuilder { stamps, stream_id, algorithm, canonicalization }
    }

    fn str_op(&mut self, key: u32, (value, len): (u64, u64)) {
        self.stamps.attrs.push(AttrOp { key, kind: AttrKind::Str, value, len });
    }

    fn hex_op(&mut self, key: u32, h: &Hash) {
        let at = self.stamps.text.len() as u64;
        crate::core::canonical::jcs::write_hex(&mut self.stamps.text, h);
        self.str_op(key, (at, 64));
    }

    /// Adds the stamp of the next record.
    pub fn stamped(&mut self, link: &Issued) {
        let first = self.stamps.attrs.len() as u32;
        self.str_op(KEY_STREAM_ID, self.stream_id);
        self.stamps.attrs.push(AttrOp { key: KEY_SEQUENCE_NUMBER, kind: AttrKind::Int, value: link.sequence, len: 0 });
        if let Some(p) = &link.previous {
            self.hex_op(KEY_PREVIOUS_HASH, p);
        }
        self.hex_op(KEY_INTEGRITY_VALUE, &link.value);
        self.str_op(KEY_INTEGRITY_ALGORITHM, self.algorithm);
        self.str_op(KEY_INTEGRITY_CANONICALIZATION, self.canonicalization);
        if let Some(e) = link.key_epoch {
            self.stamps.attrs.push(AttrOp { key: KEY_KEY_EPOCH, kind: AttrKind::Int, value: e, len: 0 });
        }
        let count = self.stamps.attrs.len() as u32 - first;
        self.stamps.records.push(RecordStamp { first, count, sequence: link.sequence });
    }

    pub fn finish(self) -> Stamps {
        self.stamps
    }
}
