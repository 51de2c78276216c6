//! Stamps across the C ABI: a flat layout the Go shim walks in place. One
//! array of per-record spans into one array of attribute operations, whose
//! string values are ranges of one text buffer. The shim converts the text
//! to a Go string once and slices it, so writing the stamps allocates
//! nothing per record. Every stamp, the caller's records' and the engine's
//! own records' alike, is written here, through `core::stamp::Stamp::write`.

use super::auditchain_str;
use super::panic::guard_or;
use super::result::auditchain_result;
use crate::core::canonical::Signal;
use crate::core::hex::write_hex;
use crate::core::stamp::{StampForm, StampValue};
use crate::core::vocab::{CONTENT_HASH_CHECK_INDEX, CONTENT_HASH_MISMATCH, StampKey};
use crate::engine::stamps::{Issued, Stamps};

/// An OTLP signal: what a batch and the engine's own records are. Passed
/// and returned as a `uint32_t` holding one of these values.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum auditchain_signal {
    /// Log records: ExportLogsServiceRequest.
    Logs = 1,
    /// Spans: ExportTraceServiceRequest.
    Traces = 2,
}

impl auditchain_signal {
    pub fn from_u32(v: u32) -> Option<Signal> {
        match v {
            1 => Some(Signal::Logs),
            2 => Some(Signal::Traces),
            _ => None,
        }
    }

    pub fn of(signal: Signal) -> auditchain_signal {
        match signal {
            Signal::Logs => auditchain_signal::Logs,
            Signal::Traces => auditchain_signal::Traces,
        }
    }
}

/// The type of an attribute operation's value.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum auditchain_attr_kind {
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
pub struct auditchain_attr {
    /// Index into the attribute key table (`auditchain_attribute_key`).
    pub key: u32,
    pub kind: auditchain_attr_kind,
    pub value: u64,
    pub len: u64,
}

/// The attribute operations of one record: `attrs[first .. first+count]`.
/// `count` is 0 (and `sequence` 0) for a record the selection passed
/// through unstamped.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct auditchain_record_stamp {
    pub first: u32,
    pub count: u32,
    /// The record's sequence number, 0 when it was not stamped.
    pub sequence: u64,
}

/// The flat form of one call's [`Stamps`], owned by the library.
#[derive(Debug)]
pub struct FlatStamps {
    pub batch_id: u64,
    /// The batch's records, then the extra records, in request order.
    pub records: Vec<auditchain_record_stamp>,
    /// How many of `records` belong to the batch (the rest are the extra
    /// records').
    pub batch_records: usize,
    pub attrs: Vec<auditchain_attr>,
    pub text: Vec<u8>,
    /// The engine's own records, unstamped, as an OTLP protobuf export
    /// request of `signal`.
    pub extra: Vec<u8>,
    pub signal: auditchain_signal,
    pub content_hash_matched: u32,
    pub content_hash_mismatched: u32,
    pub checkpoints: u32,
    pub first_sequence: u64,
    pub last_sequence: u64,
    pub warning: Option<String>,
    /// The batch's records that cannot be stamped (indices into the batch's
    /// records, ascending), and why the first cannot (`on_bad_record:
    /// drop_record`).
    pub rejected: Vec<u32>,
    pub rejection: Option<String>,
}

/// Builds the flat layout, writing each constant string once.
struct Builder {
    flat: FlatStamps,
    stream_id: (u64, u64),
    algorithm: (u64, u64),
    canonicalization: (u64, u64),
}

impl Builder {
    fn new(stamps: &Stamps) -> Builder {
        let n = stamps.records.len() + stamps.control_links.len();
        let mut flat = FlatStamps {
            batch_id: stamps.batch_id,
            records: Vec::with_capacity(n),
            batch_records: 0,
            attrs: Vec::with_capacity(n * 7),
            text: Vec::with_capacity(stamps.stream_id.len() + 64 + n * 128),
            extra: stamps.controls.clone(),
            signal: auditchain_signal::of(stamps.signal),
            content_hash_matched: stamps.content_matched,
            content_hash_mismatched: stamps.content_mismatched.len() as u32,
            checkpoints: stamps.checkpoints,
            first_sequence: stamps.first_sequence,
            last_sequence: stamps.last_sequence,
            warning: stamps.warning.clone(),
            rejected: Vec::new(),
            rejection: None,
        };
        let mut put = |s: &str| {
            let at = flat.text.len() as u64;
            flat.text.extend_from_slice(s.as_bytes());
            (at, s.len() as u64)
        };
        let stream_id = put(&stamps.stream_id);
        let algorithm = put(stamps.algorithm.name());
        let canonicalization = put(crate::core::canonical::CANONICALIZATION);
        Builder { flat, stream_id, algorithm, canonicalization }
    }

    fn op(&mut self, key: StampKey, value: StampValue<'_>) {
        let (kind, value, len) = match value {
            StampValue::Str(s) => {
                let (at, len) = match key {
                    StampKey::StreamId => self.stream_id,
                    StampKey::IntegrityAlgorithm => self.algorithm,
                    StampKey::IntegrityCanonicalization => self.canonicalization,
                    _ => {
                        let at = self.flat.text.len() as u64;
                        self.flat.text.extend_from_slice(s.as_bytes());
                        (at, s.len() as u64)
                    }
                };
                (auditchain_attr_kind::Str, at, len)
            }
            StampValue::Hash(h) => {
                let at = self.flat.text.len() as u64;
                write_hex(&mut self.flat.text, h);
                (auditchain_attr_kind::Str, at, 64)
            }
            StampValue::Int(i) => (auditchain_attr_kind::Int, i, 0),
            StampValue::Bool(b) => (auditchain_attr_kind::Bool, u64::from(b), 0),
            StampValue::Compact(stamp) => {
                let at = self.flat.text.len() as u64;
                stamp.write_compact(&mut self.flat.text);
                (auditchain_attr_kind::Str, at, self.flat.text.len() as u64 - at)
            }
        };
        self.flat.attrs.push(auditchain_attr { key: key.index(), kind, value, len });
    }

    /// The operations of one record: its stamp, in `form`, when it has a
    /// link, and the content-hash mark when `marked`.
    fn record(&mut self, stamps: &Stamps, link: Option<&Issued>, form: StampForm, marked: bool) {
        let first = self.flat.attrs.len() as u32;
        if let Some(link) = link {
            stamps.stamp(link).write(form, |k, v| self.op(k, v));
        }
        if marked {
            let at = self.flat.text.len() as u64;
            self.flat.text.extend_from_slice(CONTENT_HASH_MISMATCH.as_bytes());
            let (key, kind, len) = (CONTENT_HASH_CHECK_INDEX, auditchain_attr_kind::Str, CONTENT_HASH_MISMATCH.len());
            self.flat.attrs.push(auditchain_attr { key, kind, value: at, len: len as u64 });
        }
        let count = self.flat.attrs.len() as u32 - first;
        let sequence = link.map_or(0, |l| l.sequence);
        self.flat.records.push(auditchain_record_stamp { first, count, sequence });
    }
}

impl FlatStamps {
    pub fn new(stamps: &Stamps) -> FlatStamps {
        let mut b = Builder::new(stamps);
        let mut marked = stamps.content_mismatched.iter().copied().peekable();
        for (i, link) in stamps.records.iter().enumerate() {
            let mark = marked.next_if_eq(&i).is_some();
            b.record(stamps, link.as_ref(), stamps.form, mark);
        }
        b.flat.batch_records = b.flat.records.len();
        b.flat.rejected = stamps.rejected.iter().map(|&(i, _)| i as u32).collect();
        b.flat.rejection = stamps.rejected.first().map(|(_, why)| why.clone());
        // Control records keep the full stamp: the record after a gap is
        // one of them, and it says the previous link (SPEC §4.1.1).
        for link in &stamps.control_links {
            b.record(stamps, Some(link), StampForm::Full, false);
        }
        b.flat
    }

    /// The stamps of the batch's records.
    pub fn batch(&self) -> &[auditchain_record_stamp] {
        &self.records[..self.batch_records]
    }

    /// The stamps of the extra records.
    pub fn extra(&self) -> &[auditchain_record_stamp] {
        &self.records[self.batch_records..]
    }
}

/// The result of a stamping call. Read it with `auditchain_stamps_get_view`,
/// free it with `auditchain_stamps_free`.
pub struct auditchain_stamps {
    pub(crate) flat: FlatStamps,
}

/// Pointers into an `auditchain_stamps`, valid until it is freed.
#[repr(C)]
pub struct auditchain_stamps_view {
    /// One entry per record of the batch, in request order (resource, then
    /// scope, then record), which is pdata's iteration order.
    pub records: *const auditchain_record_stamp,
    pub record_count: usize,
    /// The attribute operations the records point into.
    pub attrs: *const auditchain_attr,
    pub attr_count: usize,
    /// The bytes that string operations point into (ASCII/UTF-8).
    pub text: *const u8,
    pub text_len: usize,
    /// Records the engine emits itself: an OTLP protobuf export request of
    /// `extra_signal` (the engine's signal: ExportLogsServiceRequest or
    /// ExportTraceServiceRequest) to append to the batch, or empty. Their
    /// stamps are not in these bytes: write `extra_records` onto them, as
    /// `records` onto the batch's.
    pub extra: *const u8,
    pub extra_len: usize,
    /// An `auditchain_signal`: what `extra` holds.
    pub extra_signal: u32,
    /// One entry per record of `extra`, in request order.
    pub extra_records: *const auditchain_record_stamp,
    pub extra_record_count: usize,
    /// Stamped records whose `audit.content_hash` was checked: matched, and
    /// did not match (those carry the mark among their operations).
    pub content_hash_matched: u32,
    pub content_hash_mismatched: u32,
    /// How many of the extra records are signed checkpoints.
    pub checkpoints: u32,
    /// Pass to `auditchain_engine_settle` once the batch has been accepted
    /// or refused downstream; 0 when the call issued nothing.
    pub batch_id: u64,
    /// The sequence numbers this call issued, including the extra records
    /// (both 0 when none).
    pub first_sequence: u64,
    pub last_sequence: u64,
    /// A problem to log that did not fail the call (for example the
    /// checkpoint file could not be written); empty when none.
    pub warning: auditchain_str,
    /// With `on_bad_record: drop_record`: the records of the batch that
    /// cannot be stamped, `rejected_records` indices into `records`
    /// (ascending), and why the first cannot; 0 and empty otherwise. Their
    /// entries in `records` have `count` and `sequence` 0, like those of
    /// records the selection passed over, but unlike those they must not
    /// be forwarded.
    pub rejected: *const u32,
    pub rejected_records: u32,
    pub rejection: auditchain_str,
}

/// Fills `view_out` with pointers into `stamps`, valid until it is freed.
///
/// # Safety
/// `stamps` is a live stamps object; `view_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_stamps_get_view(
    stamps: *const auditchain_stamps,
    view_out: *mut auditchain_stamps_view,
) -> auditchain_result {
    guard_or(auditchain_result::Panic, || {
        // SAFETY: the caller's contract.
        let (Some(s), false) = (unsafe { stamps.as_ref() }, view_out.is_null()) else {
            return auditchain_result::NullArgument;
        };
        let s = &s.flat;
        let (batch, extra) = (s.batch(), s.extra());
        let view = auditchain_stamps_view {
            records: batch.as_ptr(),
            record_count: batch.len(),
            attrs: s.attrs.as_ptr(),
            attr_count: s.attrs.len(),
            text: s.text.as_ptr(),
            text_len: s.text.len(),
            extra: s.extra.as_ptr(),
            extra_len: s.extra.len(),
            extra_signal: s.signal as u32,
            content_hash_matched: s.content_hash_matched,
            content_hash_mismatched: s.content_hash_mismatched,
            extra_records: extra.as_ptr(),
            extra_record_count: extra.len(),
            checkpoints: s.checkpoints,
            batch_id: s.batch_id,
            first_sequence: s.first_sequence,
            last_sequence: s.last_sequence,
            warning: s.warning.as_deref().map(auditchain_str::from).unwrap_or(auditchain_str::EMPTY),
            rejected: s.rejected.as_ptr(),
            rejected_records: s.rejected.len() as u32,
            rejection: s.rejection.as_deref().map(auditchain_str::from).unwrap_or(auditchain_str::EMPTY),
        };
        // SAFETY: checked non-NULL.
        unsafe { view_out.write(view) };
        auditchain_result::Ok
    })
}

/// Frees stamps. NULL is allowed.
///
/// # Safety
/// `stamps` is NULL or a live stamps object not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_stamps_free(stamps: *mut auditchain_stamps) {
    guard_or((), || {
        if !stamps.is_null() {
            // SAFETY: from this library, not yet freed.
            drop(unsafe { Box::from_raw(stamps) });
        }
    })
}
