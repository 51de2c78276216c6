//! The witness client's C ABI (docs/SPEC.md §5.5): the engine hands out
//! add-checkpoint requests, the caller POSTs each body to
//! `<url>/add-checkpoint` off the hot path and hands back the answer.

use super::engine::{auditchain_engine, engine_ref};
use super::error::{auditchain_error, report};
use super::panic::guard;
use super::result::{FfiError, auditchain_result};
use super::{auditchain_str, input};
use crate::engine::witness::{AnswerKind, Job};

/// What a witness's answer was (`auditchain_engine_witness_answer`).
/// Values never change meaning; new kinds are appended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum auditchain_witness_answer {
    /// 200 with a valid cosignature: recorded.
    Cosigned = 0,
    /// 409: the witness holds another size.
    Conflict = 1,
    /// 422: the witness holds a tree this checkpoint does not extend.
    Inconsistent = 2,
    /// 403 or 404: the log is not registered with the witness.
    NotAccepted = 3,
    /// 400: the witness could not parse the request.
    Rejected = 4,
    /// 429 or 5xx: try later.
    RetryLater = 5,
    /// No answer (status 0): connection refused, timeout.
    Unreachable = 6,
    /// An answer that breaks the protocol.
    BadAnswer = 7,
    /// A cosignature that does not verify under the witness's key.
    BadCosignature = 8,
}

impl auditchain_witness_answer {
    pub fn of(k: AnswerKind) -> auditchain_witness_answer {
        use auditchain_witness_answer as A;
        match k {
            AnswerKind::Cosigned => A::Cosigned,
            AnswerKind::Conflict => A::Conflict,
            AnswerKind::Inconsistent => A::Inconsistent,
            AnswerKind::NotAccepted => A::NotAccepted,
            AnswerKind::Rejected => A::Rejected,
            AnswerKind::RetryLater => A::RetryLater,
            AnswerKind::Unreachable => A::Unreachable,
            AnswerKind::BadAnswer => A::BadAnswer,
            AnswerKind::BadCosignature => A::BadCosignature,
        }
    }
}

/// One add-checkpoint request. Its strings are owned by the
/// `auditchain_witness_jobs` it came from.
#[repr(C)]
pub struct auditchain_witness_job {
    /// Names the request in `auditchain_engine_witness_answer`.
    pub id: u64,
    /// The witness, by its index in the configuration's `witnesses`.
    pub witness: u32,
    /// The check at start (the saved checkpoint sent again): the answer
    /// may refuse the start.
    pub start: bool,
    /// The checkpoint's size.
    pub size: u64,
    /// The configured timeout in nanoseconds (0: the caller's default).
    pub timeout_ns: u64,
    /// The witness's URL prefix: POST to `<url>/add-checkpoint`.
    pub url: auditchain_str,
    /// The request body.
    pub body: auditchain_str,
}

/// Requests handed out by `auditchain_engine_witness_jobs`; free with
/// `auditchain_witness_jobs_free`.
pub struct auditchain_witness_jobs {
    _jobs: Vec<Job>,
    flat: Vec<auditchain_witness_job>,
}

/// Takes the add-checkpoint requests that are ready (each is handed out
/// once): after start the saved checkpoint for every witness, then one per
/// witness after each checkpoint, once the checkpoint is durable.
/// `*jobs_out` may hold none.
///
/// # Safety
/// `engine` is a live engine; `jobs_out` is valid for a write; `error_out`
/// is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_engine_witness_jobs(
    engine: *const auditchain_engine,
    jobs_out: *mut *mut auditchain_witness_jobs,
    error_out: *mut *mut auditchain_error,
) -> auditchain_result {
    let r = guard(|| {
        if jobs_out.is_null() {
            return Err(FfiError::new(auditchain_result::NullArgument, "jobs_out is NULL"));
        }
        // SAFETY: the caller's contract.
        let jobs = unsafe { engine_ref(engine) }?.engine.witness_jobs();
        let flat = jobs
            .iter()
            .map(|j| auditchain_witness_job {
                id: j.id,
                witness: j.witness as u32,
                start: j.start,
                size: j.size,
                timeout_ns: j.timeout_ns,
                url: auditchain_str::from(j.url.as_str()),
                body: auditchain_str::from(j.body.as_str()),
            })
            .collect();
        Ok(Box::into_raw(Box::new(auditchain_witness_jobs { _jobs: jobs, flat })))
    });
    match r {
        Ok(j) => {
            // SAFETY: checked non-NULL inside the guard.
            unsafe { *jobs_out = j };
            auditchain_result::Ok
        }
        // SAFETY: the caller's contract.
        Err(e) => unsafe { report(e, error_out) },
    }
}

/// The number of requests in `jobs` (0 for NULL).
///
/// # Safety
/// `jobs` is NULL or from `auditchain_engine_witness_jobs`, not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_witness_jobs_len(jobs: *const auditchain_witness_jobs) -> usize {
    super::panic::guard_or(0, || {
        // SAFETY: the caller's contract.
        unsafe { jobs.as_ref() }.map_or(0, |j| j.flat.len())
    })
}

/// Request `index` of `jobs`; NULL past the end. Valid until `jobs` is
/// freed.
///
/// # Safety
/// As for `auditchain_witness_jobs_len`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_witness_jobs_get(
    jobs: *const auditchain_witness_jobs,
    index: usize,
) -> *const auditchain_witness_job {
    super::panic::guard_or(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        unsafe { jobs.as_ref() }.and_then(|j| j.flat.get(index)).map_or(std::ptr::null(), |j| j as *const _)
    })
}

/// Frees requests from `auditchain_engine_witness_jobs`. NULL is allowed.
///
/// # Safety
/// `jobs` is NULL or from `auditchain_engine_witness_jobs`, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_witness_jobs_free(jobs: *mut auditchain_witness_jobs) {
    super::panic::guard_or((), || {
        if !jobs.is_null() {
            // SAFETY: from `auditchain_engine_witness_jobs`, not yet freed.
            drop(unsafe { Box::from_raw(jobs) });
        }
    })
}

/// Hands over the answer to request `id`: the HTTP `status` (0 when the
/// witness did not answer: `body` then says why, e.g. the transport
/// error), the Content-Type and the body. `*kind_out` receives an
/// `auditchain_witness_answer`. New cosignatures are recorded: a
/// `cosignature` control record that leaves with the next call (call
/// `auditchain_engine_tick`) and a `checkpoint.file` line; what to report
/// comes as the next call's warning. Fails with `AUDITCHAIN_RESULT_STATE`
/// when the answer to the check at start (a `start` request) shows that
/// the state was rolled back or replaced: the message names the witness,
/// its size and the log's; the processor must not start.
///
/// # Safety
/// `engine` is a live engine; `content_type` and `body` are valid for
/// their lengths during the call (NULL only with length 0); `kind_out` is
/// valid for a write; `error_out` is NULL or valid for a write.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn auditchain_engine_witness_answer(
    engine: *const auditchain_engine,
    id: u64,
    status: u16,
    content_type: *const u8,
    content_type_len: usize,
    body: *const u8,
    body_len: usize,
    now_unix_nano: u64,
    kind_out: *mut u32,
    error_out: *mut *mut auditchain_error,
) -> auditchain_result {
    let r = guard(|| {
        if kind_out.is_null() {
            return Err(FfiError::new(auditchain_result::NullArgument, "kind_out is NULL"));
        }
        // SAFETY: the caller's contract.
        let e = unsafe { engine_ref(engine) }?;
        // SAFETY: the caller's contract.
        let ct = unsafe { input(content_type, content_type_len, "content_type") }?;
        let ct = std::str::from_utf8(ct)
            .map_err(|_| FfiError::new(auditchain_result::InvalidArgument, "content_type is not UTF-8"))?;
        // SAFETY: the caller's contract.
        let body = unsafe { input(body, body_len, "body") }?;
        let kind = e.engine.witness_answer(id, status, ct, body, now_unix_nano).map_err(FfiError::from)?;
        Ok(auditchain_witness_answer::of(kind) as u32)
    });
    match r {
        Ok(k) => {
            // SAFETY: checked non-NULL inside the guard.
            unsafe { *kind_out = k };
            auditchain_result::Ok
        }
        // SAFETY: the caller's contract.
        Err(e) => unsafe { report(e, error_out) },
    }
}

/// Witness `index`'s acknowledged (cosigned) size and its lag: leaves of
/// the log's newest checkpoint it has not cosigned. Fails with
/// `AUDITCHAIN_RESULT_INVALID_ARGUMENT` past the last witness or for an
/// engine that keeps no log.
///
/// # Safety
/// `engine` is a live engine; `acked_out` and `lag_out` are valid for
/// writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_engine_witness_status(
    engine: *const auditchain_engine,
    index: u32,
    acked_out: *mut u64,
    lag_out: *mut u64,
) -> auditchain_result {
    super::panic::guard_or(auditchain_result::Panic, || {
        // SAFETY: the caller's contract.
        let (Some(e), false, false) = (unsafe { engine.as_ref() }, acked_out.is_null(), lag_out.is_null()) else {
            return auditchain_result::NullArgument;
        };
        match e.engine.witness_status(index as usize) {
            Some((acked, lag)) => {
                // SAFETY: checked non-NULL.
                unsafe {
                    acked_out.write(acked);
                    lag_out.write(lag);
                }
                auditchain_result::Ok
            }
            None => auditchain_result::InvalidArgument,
        }
    })
}
