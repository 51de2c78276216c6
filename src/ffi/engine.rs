//! The engine's functions: create, stamp, tick, settle, close, free.

use super::error::{auditchain_error, report};
use super::panic::{guard, guard_or};
use super::result::{FfiError, auditchain_result};
use super::stamps::{FlatStamps, auditchain_signal, auditchain_stamps};
use super::{auditchain_str, input};
use crate::engine::config::EngineConfig;
use crate::engine::stamps::Stamps;
use crate::engine::{Engine, error::Error};

/// A stamping engine: one stream and its state. Create with
/// `auditchain_engine_new`, free with `auditchain_engine_free`.
pub struct auditchain_engine {
    pub(super) engine: Engine,
    stream_id: String,
}

/// Counters of an engine.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct auditchain_engine_counters {
    /// Durable writes of the stream state (several batches can share one).
    pub state_writes: u64,
    /// Steps of the wall clock the engine detected and announced in the
    /// stream (`clock_step` records).
    pub clock_steps: u64,
    /// add-checkpoint requests handed out to witnesses.
    pub witness_sent: u64,
    /// Witness answers by kind, indexed by `auditchain_witness_answer`.
    pub witness_answers: [u64; 9],
    /// Checkpoints whose cosignatures reached `witness_quorum`.
    pub witness_witnessed: u64,
    /// Unanswered sizes dropped from a witness's pending list.
    pub witness_pending_dropped: u64,
}

/// # Safety
/// `engine` is NULL or a live engine from `auditchain_engine_new`.
pub(super) unsafe fn engine_ref<'a>(engine: *const auditchain_engine) -> Result<&'a auditchain_engine, FfiError> {
    // SAFETY: the caller's contract.
    unsafe { engine.as_ref() }.ok_or_else(|| FfiError::new(auditchain_result::NullArgument, "engine is NULL"))
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
    f: impl FnOnce(&Engine) -> Result<Stamps, FfiError>,
) -> auditchain_result {
    let r = guard(|| {
        if stamps_out.is_null() {
            return Err(FfiError::new(auditchain_result::NullArgument, "stamps_out is NULL"));
        }
        // SAFETY: the caller's contract.
        let stamps = f(&unsafe { engine_ref(engine) }?.engine)?;
        Ok(FlatStamps::new(&stamps))
    });
    match r {
        Ok(flat) => {
            // SAFETY: checked non-NULL inside the guard (an Ok needs it).
            unsafe { *stamps_out = Box::into_raw(Box::new(auditchain_stamps { flat })) };
            auditchain_result::Ok
        }
        // SAFETY: the caller's contract.
        Err(e) => unsafe { report(e, error_out) },
    }
}

fn engine_err(e: Error) -> FfiError {
    e.into()
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
) -> auditchain_result {
    let r = guard(|| {
        if engine_out.is_null() {
            return Err(FfiError::new(auditchain_result::NullArgument, "engine_out is NULL"));
        }
        // SAFETY: the caller's contract.
        let json = unsafe { input(config_json, config_len, "config_json") }?;
        let config = EngineConfig::from_json(json).map_err(|e| engine_err(e.into()))?;
        let engine = Engine::new(config, now_unix_nano).map_err(engine_err)?;
        let stream_id = engine.stream_id();
        Ok(Box::into_raw(Box::new(auditchain_engine { engine, stream_id })))
    });
    match r {
        Ok(e) => {
            // SAFETY: checked non-NULL above.
            unsafe { *engine_out = e };
            auditchain_result::Ok
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
    stats_out: *mut auditchain_engine_counters,
) -> auditchain_result {
    guard_or(auditchain_result::Panic, || {
        // SAFETY: the caller's contract.
        let (Some(e), false) = (unsafe { engine.as_ref() }, stats_out.is_null()) else {
            return auditchain_result::NullArgument;
        };
        let c = e.engine.counters();
        // SAFETY: checked non-NULL.
        unsafe {
            stats_out.write(auditchain_engine_counters {
                state_writes: c.state_writes,
                clock_steps: c.clock_steps,
                witness_sent: c.witness.sent,
                witness_answers: c.witness.answers,
                witness_witnessed: c.witness.witnessed,
                witness_pending_dropped: c.witness.pending_dropped,
            })
        };
        auditchain_result::Ok
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
) -> auditchain_result {
    // SAFETY: the caller's contract.
    unsafe {
        stamps_call(engine, stamps_out, error_out, |e| {
            let req = input(request, request_len, "request")?;
            e.stamp_logs(req, now_unix_nano).map_err(engine_err)
        })
    }
}

/// Stamps the selected records of one OTLP batch of `signal` (an
/// `auditchain_signal`, which must be the engine's: `signal` in its
/// configuration): `request` holds the protobuf bytes of an
/// ExportLogsServiceRequest or ExportTraceServiceRequest. `selected` is
/// NULL (every record joins the stream) or holds `selected_len` bytes, one
/// per record in request order (resource, scope, record): 1 for a record
/// that joins the stream, 0 for one that passes through unstamped and
/// unnumbered. On success `*stamps_out` receives the stamps, already
/// durable in the stream state. On failure nothing was issued and the batch
/// must not be forwarded as if stamped.
///
/// # Safety
/// As for `auditchain_engine_stamp_logs`; `selected` is NULL or valid for
/// `selected_len` reads during the call.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn auditchain_engine_stamp(
    engine: *const auditchain_engine,
    signal: u32,
    request: *const u8,
    request_len: usize,
    selected: *const u8,
    selected_len: usize,
    now_unix_nano: u64,
    stamps_out: *mut *mut auditchain_stamps,
    error_out: *mut *mut auditchain_error,
) -> auditchain_result {
    // SAFETY: the caller's contract.
    unsafe {
        stamps_call(engine, stamps_out, error_out, |e| {
            let signal = auditchain_signal::from_u32(signal)
                .ok_or_else(|| FfiError::new(auditchain_result::InvalidArgument, format!("unknown signal {signal}")))?;
            let req = input(request, request_len, "request")?;
            let selection = if selected.is_null() {
                if selected_len != 0 {
                    return Err(FfiError::new(auditchain_result::NullArgument, "selected is NULL"));
                }
                None
            } else {
                let sel = input(selected, selected_len, "selected")?;
                if let Some(i) = sel.iter().position(|&b| b > 1) {
                    return Err(FfiError::new(
                        auditchain_result::InvalidArgument,
                        format!("selected[{i}] is {}, not 0 or 1", sel[i]),
                    ));
                }
                Some(sel)
            };
            e.stamp(signal, req, selection, now_unix_nano).map_err(engine_err)
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
) -> auditchain_result {
    // SAFETY: the caller's contract.
    unsafe { stamps_call(engine, stamps_out, error_out, |e| e.tick(now_unix_nano).map_err(engine_err)) }
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
) -> auditchain_result {
    let r = guard(|| {
        // SAFETY: the caller's contract.
        unsafe { engine_ref(engine) }?.engine.settle(batch_id, delivered).map_err(engine_err)
    });
    match r {
        Ok(()) => auditchain_result::Ok,
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
) -> auditchain_result {
    // SAFETY: the caller's contract.
    unsafe { stamps_call(engine, stamps_out, error_out, |e| e.close(now_unix_nano).map_err(engine_err)) }
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
