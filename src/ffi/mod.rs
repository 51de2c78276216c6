//! The C ABI (include/auditchain.h, generated from this module by build.rs).
//!
//! Conventions, after rustls-ffi:
//! - Fallible functions return `auditchain_result` (0 is success) and take a
//!   last `auditchain_error **error_out`, which may be NULL; on failure it
//!   receives an error the caller frees with `auditchain_error_free`.
//! - `const` pointer arguments are borrowed for the duration of the call
//!   only: the library never keeps a pointer into caller memory.
//! - Everything the library allocates has a matching `*_free` function,
//!   which accepts NULL.
//! - No panic crosses the boundary: it becomes `AUDITCHAIN_RESULT_PANIC`.
//! - An engine may be used from several threads at once; only
//!   `auditchain_engine_free` must not race with other calls on it.

#![allow(non_camel_case_types)]

pub mod error;
mod panic;

use crate::engine::config::EngineConfig;
use crate::engine::error::{Code, Error};
use crate::engine::stamps::{ATTRIBUTE_KEYS, AttrOp, RecordStamp, Stamps};
use crate::engine::{Engine, EngineStats};
use error::{auditchain_error, report};
use panic::{guard, guard_or};
use std::ptr;

/// A borrowed UTF-8 string (not NUL-terminated). Who lends it and for how
/// long is stated by the function that returns it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct auditchain_str {
    pub data: *const u8,
    pub len: usize,
}

impl auditchain_str {
    pub const EMPTY: auditchain_str = auditchain_str { data: ptr::null(), len: 0 };
}

impl From<&str> for auditchain_str {
    fn from(s: &str) -> Self {
        auditchain_str { data: s.as_ptr(), len: s.len() }
    }
}

/// A stamping engine: one stream and its state. Create with
/// `auditchain_engine_new`, free with `auditchain_engine_free`.
pub struct auditchain_engine {
    engine: Engine,
    stream_id: String,
}

/// The result of a stamping call. Read it with `auditchain_stamps_get_view`,
/// free it with `auditchain_stamps_free`.
pub struct auditchain_stamps {
    stamps: Stamps,
}

/// Pointers into an `auditchain_stamps`, valid until it is freed.
#[repr(C)]
pub struct auditchain_stamps_view {
    /// One entry per record of the batch, in request order (resource, then
    /// scope, then record), which is pdata's iteration order.
    pub records: *const RecordStamp,
    pub record_count: usize,
    /// The attribute operations the records point into.
    pub attrs: *const AttrOp,
    pub attr_count: usize,
    /// The bytes that string operations point into (ASCII/UTF-8).
    pub text: *const u8,
    pub text_len: usize,
    /// Records the engine emits itself: an OTLP protobuf
    /// ExportLogsServiceRequest to append to the batch, or empty.
    pub extra_logs: *const u8,
    pub extra_logs_len: usize,
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
}

/// The library version, NUL-terminated, static.
#[unsafe(no_mangle)]
pub extern "C" fn auditchain_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The name of a result code (e.g. "AUDITCHAIN_RESULT_STATE"), static.
#[unsafe(no_mangle)]
pub extern "C" fn auditchain_result_name(result: u32) -> auditchain_str {
    guard_or(auditchain_str::EMPTY, || {
        let all = [
            Code::Ok,
            Code::NullArgument,
            Code::InvalidArgument,
            Code::InvalidConfig,
            Code::MalformedBatch,
            Code::RejectedRecord,
            Code::State,
            Code::Key,
            Code::Closed,
            Code::Panic,
        ];
        all.iter()
            .find(|c| **c as u32 == result)
            .map(|c| auditchain_str::from(c.name()))
            .unwrap_or(auditchain_str::from("AUDITCHAIN_RESULT_UNKNOWN"))
    })
}

/// The name of attribute key `index` in the table that
/// `auditchain_attr.key` indexes; empty past the end. Static. The table only
/// ever grows at the end.
#[unsafe(no_mangle)]
pub extern "C" fn auditchain_attribute_key(index: u32) -> auditchain_str {
    guard_or(auditchain_str::EMPTY, || {
        ATTRIBUTE_KEYS.get(index as usize).map(|k| auditchain_str::from(*k)).unwrap_or(auditchain_str::EMPTY)
    })
}

/// Reads `len` bytes at `data`; NULL is allowed only when `len` is 0.
///
/// # Safety
/// `data` is valid for `len` reads for the duration of the call.
unsafe fn input<'a>(data: *const u8, len: usize, what: &str) -> Result<&'a [u8], Error> {
    if data.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(Error::new(Code::NullArgument, format!("{what} is NULL")));
    }
    // SAFETY: the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// # Safety
/// `engine` is NULL or a live engine from `auditchain_engine_new`.
unsafe fn engine_ref<'a>(engine: *const auditchain_engine) -> Result<&'a auditchain_engine, Error> {
    // SAFETY: the caller's contract.
    unsafe { engine.as_ref() }.ok_or_else(|| Error::new(Code::NullArgument, "engine is NULL"))
}

/// Runs an engine call that produces stamps: checks `stamps_out`, runs `f`
/// on the engine under the panic boundary, and hands the stamps or the
/// error to the caller.
///
/// # Safety
/// `engine` is NULL or a live engine; `stamps_out` and `error_out` are NULL
/// or valid for writes.
unsafe fn stamps_call(
    engine: *const auditchain_engine,
    stamps_out: *mut *mut auditchain_stamps,
    error_out: *mut *mut auditchain_error,
    f: impl FnOnce(&Engine) -> Result<Stamps, Error>,
) -> Code {
    let r = guard(|| {
        if stamps_out.is_null() {
            return Err(Error::new(Code::NullArgument, "stamps_out is NULL"));
        }
        // SAFETY: the caller's contract.
        f(&unsafe { engine_ref(engine) }?.engine)
    });
    match r {
        Ok(stamps) => {
            // SAFETY: checked non-NULL inside the guard (an Ok needs it).
            unsafe { *stamps_out = Box::into_raw(Box::new(auditchain_stamps { stamps })) };
            Code::Ok
        }
        // SAFETY: the caller's contract.
        Err(e) => unsafe { report(e, error_out) },
    }
}

/// Creates an engine from a JSON configuration (see docs/SPEC.md §7): opens
/// or creates the stream state and locks it. `now_unix_nano` is the current
/// time, used for the stream id and the first record.
///
/// # Safety
/// `config_json` is valid for `config_len` reads; `engine_out` is valid for
/// a write; `error_out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_engine_new(
    config_json: *const u8,
    config_len: usize,
    now_unix_nano: u64,
    engine_out: *mut *mut auditchain_engine,
    error_out: *mut *mut auditchain_error,
) -> Code {
    let r = guard(|| {
        if engine_out.is_null() {
            return Err(Error::new(Code::NullArgument, "engine_out is NULL"));
        }
        // SAFETY: the caller's contract.
        let json = unsafe { input(config_json, config_len, "config_json") }?;
        let config = EngineConfig::from_json(json)?;
        let engine = Engine::new(config, now_unix_nano)?;
        let stream_id = engine.stream_id();
        Ok(Box::into_raw(Box::new(auditchain_engine { engine, stream_id })))
    });
    match r {
        Ok(e) => {
            // SAFETY: checked non-NULL above.
            unsafe { *engine_out = e };
            Code::Ok
        }
        // SAFETY: the caller's contract.
        Err(e) => unsafe { report(e, error_out) },
    }
}

/// The engine's stream id. Valid until the engine is freed.
///
/// # Safety
/// `engine` is NULL or a live engine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_engine_stream_id(engine: *const auditchain_engine) -> auditchain_str {
    guard_or(auditchain_str::EMPTY, || {
        // SAFETY: the caller's contract.
        match unsafe { engine.as_ref() } {
            Some(e) => auditchain_str::from(e.stream_id.as_str()),
            None => auditchain_str::EMPTY,
        }
    })
}

/// Fills `stats_out` with the engine's counters.
///
/// # Safety
/// `engine` is a live engine; `stats_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_engine_get_counters(
    engine: *const auditchain_engine,
    stats_out: *mut EngineStats,
) -> Code {
    guard_or(Code::Panic, || {
        // SAFETY: the caller's contract.
        let (Some(e), false) = (unsafe { engine.as_ref() }, stats_out.is_null()) else {
            return Code::NullArgument;
        };
        // SAFETY: checked non-NULL.
        unsafe { stats_out.write(e.engine.stats()) };
        Code::Ok
    })
}

/// Stamps one OTLP logs batch: `request` holds the protobuf bytes of an
/// ExportLogsServiceRequest. On success `*stamps_out` receives the stamps,
/// already durable in the stream state. On failure nothing was issued and
/// the batch must not be forwarded as if stamped.
///
/// # Safety
/// `engine` is a live engine; `request` is valid for `request_len` reads
/// during the call; `stamps_out` is valid for a write; `error_out` is NULL
/// or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_engine_stamp_logs(
    engine: *const auditchain_engine,
    request: *const u8,
    request_len: usize,
    now_unix_nano: u64,
    stamps_out: *mut *mut auditchain_stamps,
    error_out: *mut *mut auditchain_error,
) -> Code {
    // SAFETY: the caller's contract.
    unsafe {
        stamps_call(engine, stamps_out, error_out, |e| {
            let req = input(request, request_len, "request")?;
            e.stamp_logs(req, now_unix_nano)
        })
    }
}

/// Emits the control records that are due without traffic (the first record
/// of a stream, announced gaps). `*stamps_out` may hold no records.
///
/// # Safety
/// As for `auditchain_engine_stamp_logs`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_engine_tick(
    engine: *const auditchain_engine,
    now_unix_nano: u64,
    stamps_out: *mut *mut auditchain_stamps,
    error_out: *mut *mut auditchain_error,
) -> Code {
    // SAFETY: the caller's contract.
    unsafe { stamps_call(engine, stamps_out, error_out, |e| e.tick(now_unix_nano)) }
}

/// Reports whether the records of `batch_id` were accepted downstream
/// (`delivered`) or refused. Refused ranges are announced in the stream by
/// the next call's `gap` record.
///
/// # Safety
/// `engine` is a live engine; `error_out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_engine_settle(
    engine: *const auditchain_engine,
    batch_id: u64,
    delivered: bool,
    error_out: *mut *mut auditchain_error,
) -> Code {
    let r = guard(|| {
        // SAFETY: the caller's contract.
        unsafe { engine_ref(engine) }?.engine.settle(batch_id, delivered)
    });
    match r {
        Ok(()) => Code::Ok,
        // SAFETY: the caller's contract.
        Err(e) => unsafe { report(e, error_out) },
    }
}

/// Ends the stream cleanly: `*stamps_out` holds the final records, the last
/// of which carries `audit.sequence.end`. Stamping afterwards fails with
/// `AUDITCHAIN_RESULT_CLOSED`.
///
/// # Safety
/// As for `auditchain_engine_stamp_logs`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_engine_close(
    engine: *const auditchain_engine,
    now_unix_nano: u64,
    stamps_out: *mut *mut auditchain_stamps,
    error_out: *mut *mut auditchain_error,
) -> Code {
    // SAFETY: the caller's contract.
    unsafe { stamps_call(engine, stamps_out, error_out, |e| e.close(now_unix_nano)) }
}

/// Frees an engine and releases its state lock. An engine that was not
/// closed leaves its stream open: the next engine on the same state resumes
/// it. NULL is allowed.
///
/// # Safety
/// `engine` is NULL or a live engine that no other thread is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_engine_free(engine: *mut auditchain_engine) {
    guard_or((), || {
        if !engine.is_null() {
            // SAFETY: from `auditchain_engine_new`, not yet freed.
            drop(unsafe { Box::from_raw(engine) });
        }
    })
}

/// Fills `view_out` with pointers into `stamps`, valid until it is freed.
///
/// # Safety
/// `stamps` is a live stamps object; `view_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_stamps_get_view(
    stamps: *const auditchain_stamps,
    view_out: *mut auditchain_stamps_view,
) -> Code {
    guard_or(Code::Panic, || {
        // SAFETY: the caller's contract.
        let (Some(s), false) = (unsafe { stamps.as_ref() }, view_out.is_null()) else {
            return Code::NullArgument;
        };
        let s = &s.stamps;
        let view = auditchain_stamps_view {
            records: s.records.as_ptr(),
            record_count: s.records.len(),
            attrs: s.attrs.as_ptr(),
            attr_count: s.attrs.len(),
            text: s.text.as_ptr(),
            text_len: s.text.len(),
            extra_logs: s.extra_logs.as_ptr(),
            extra_logs_len: s.extra_logs.len(),
            batch_id: s.batch_id,
            first_sequence: s.first_sequence,
            last_sequence: s.last_sequence,
            warning: s.warning.as_deref().map(auditchain_str::from).unwrap_or(auditchain_str::EMPTY),
        };
        // SAFETY: checked non-NULL.
        unsafe { view_out.write(view) };
        Code::Ok
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

/// The header cbindgen generates from this module at build time, for the
/// drift test against the committed include/auditchain.h.
#[doc(hidden)]
pub const GENERATED_HEADER: &str = include_str!(concat!(env!("OUT_DIR"), "/auditchain.h"));
