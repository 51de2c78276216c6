//! The online checker's functions (`mode: verify`, docs/SPEC.md §12):
//! create, check one batch, tick, free, and the verdicts they return.

use super::error::{auditchain_error, report};
use super::panic::{guard, guard_or};
use super::result::{FfiError, auditchain_result};
use super::stamps::auditchain_signal;
use super::{auditchain_str, input};
use crate::gate::verdict::{EventKind, Outcome, Reason, Verdicts};
use crate::gate::{Checker, CheckerConfig, Error, ErrorKind};

/// An online checker: the per-stream state of `mode: verify`. Create with
/// `auditchain_checker_new`, free with `auditchain_checker_free`. May be
/// used from several threads at once, except `auditchain_checker_free`.
pub struct auditchain_checker {
    checker: Checker,
}

/// A record's outcome (`auditchain_record_verdict.outcome`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum auditchain_verify_outcome {
    /// Its link recomputes and continues its stream's chain.
    Ok = 0,
    /// An identical copy of a record already checked.
    Duplicate = 1,
    /// Held for its predecessor; its verdict comes later as an event.
    Held = 2,
    /// It fails; `reason` says why.
    Failed = 3,
}

/// Why a record failed (`auditchain_record_verdict.reason`); the name of
/// each is `auditchain_verify_reason_name`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum auditchain_verify_reason {
    None = 0,
    UnreadableRecord = 1,
    Unstamped = 2,
    MalformedStamp = 3,
    ContentMismatch = 4,
    BrokenLink = 5,
    BadGenesis = 6,
    ConflictingCopy = 7,
    UncheckedRecord = 8,
    OutOfWindow = 9,
    BadCheckpoint = 10,
    CheckpointMismatch = 11,
    UnknownSigner = 12,
    KeyRequired = 13,
    Downgrade = 14,
    KeyEpochOutOfOrder = 15,
    UnkeyedStream = 16,
    StreamLimit = 17,
}

/// What an event reports (`auditchain_verify_event.kind`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum auditchain_verify_event_kind {
    /// A record held earlier was judged: `sequence`, `outcome`, `reason`.
    Resolved = 1,
    /// Records `sequence` .. `sequence + count - 1` never arrived within
    /// the reorder window.
    Missing = 2,
    /// The stream's newest checkpoint (carried by record `sequence`) is
    /// older than its interval plus the grace.
    Silent = 3,
    /// The checkpoint carried by record `sequence` (of size `count`) was
    /// verified.
    Checkpoint = 4,
}

/// The verdict of one record of the batch, in request order (resource,
/// scope, record).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct auditchain_record_verdict {
    pub outcome: auditchain_verify_outcome,
    pub reason: auditchain_verify_reason,
}

/// An event: a held record judged, missing records, a silent stream, a
/// verified checkpoint. Its strings are valid until the verdicts are freed.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct auditchain_verify_event {
    pub kind: auditchain_verify_event_kind,
    pub outcome: auditchain_verify_outcome,
    pub reason: auditchain_verify_reason,
    pub sequence: u64,
    pub count: u64,
    pub stream_id: auditchain_str,
    pub message: auditchain_str,
}

/// The verdicts of one call, owned by the library; free with
/// `auditchain_verdicts_free`.
pub struct auditchain_verdicts {
    records: Vec<auditchain_record_verdict>,
    events: Vec<auditchain_verify_event>,
    /// The events' strings, which `events` borrow.
    _strings: Vec<String>,
}

fn outcome(o: Outcome) -> auditchain_verify_outcome {
    match o {
        Outcome::Ok => auditchain_verify_outcome::Ok,
        Outcome::Duplicate => auditchain_verify_outcome::Duplicate,
        Outcome::Held => auditchain_verify_outcome::Held,
        Outcome::Failed => auditchain_verify_outcome::Failed,
    }
}

fn reason(r: Reason) -> auditchain_verify_reason {
    use auditchain_verify_reason as V;
    match r {
        Reason::None => V::None,
        Reason::UnreadableRecord => V::UnreadableRecord,
        Reason::Unstamped => V::Unstamped,
        Reason::MalformedStamp => V::MalformedStamp,
        Reason::ContentMismatch => V::ContentMismatch,
        Reason::BrokenLink => V::BrokenLink,
        Reason::BadGenesis => V::BadGenesis,
        Reason::ConflictingCopy => V::ConflictingCopy,
        Reason::UncheckedRecord => V::UncheckedRecord,
        Reason::OutOfWindow => V::OutOfWindow,
        Reason::BadCheckpoint => V::BadCheckpoint,
        Reason::CheckpointMismatch => V::CheckpointMismatch,
        Reason::UnknownSigner => V::UnknownSigner,
        Reason::KeyRequired => V::KeyRequired,
        Reason::Downgrade => V::Downgrade,
        Reason::KeyEpochOutOfOrder => V::KeyEpochOutOfOrder,
        Reason::UnkeyedStream => V::UnkeyedStream,
        Reason::StreamLimit => V::StreamLimit,
    }
}

fn kind(k: EventKind) -> auditchain_verify_event_kind {
    match k {
        EventKind::Resolved => auditchain_verify_event_kind::Resolved,
        EventKind::Missing => auditchain_verify_event_kind::Missing,
        EventKind::Silent => auditchain_verify_event_kind::Silent,
        EventKind::Checkpoint => auditchain_verify_event_kind::Checkpoint,
    }
}

impl auditchain_verdicts {
    fn new(v: Verdicts) -> auditchain_verdicts {
        let records = v
            .records
            .iter()
            .map(|&(o, r)| auditchain_record_verdict { outcome: outcome(o), reason: reason(r) })
            .collect();
        let mut strings = Vec::with_capacity(v.events.len() * 2);
        for e in &v.events {
            strings.push(e.stream_id.clone());
            strings.push(e.message.clone());
        }
        // The strings' heap buffers do not move when `strings` is moved.
        let events = v
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| auditchain_verify_event {
                kind: kind(e.kind),
                outcome: outcome(e.outcome),
                reason: reason(e.reason),
                sequence: e.sequence,
                count: e.count,
                stream_id: auditchain_str::from(strings[2 * i].as_str()),
                message: auditchain_str::from(strings[2 * i + 1].as_str()),
            })
            .collect();
        auditchain_verdicts { records, events, _strings: strings }
    }
}

fn checker_err(e: Error) -> FfiError {
    let code = match e.kind {
        ErrorKind::InvalidConfig => auditchain_result::InvalidConfig,
        ErrorKind::MalformedBatch => auditchain_result::MalformedBatch,
        ErrorKind::State => auditchain_result::State,
        ErrorKind::Key => auditchain_result::Key,
    };
    FfiError::new(code, e.message)
}

/// Creates a checker from a JSON configuration (`state_directory`,
/// `key_file`, `public_keys`, `reorder_window`, `reorder_timeout_seconds`,
/// `heartbeat_grace_seconds`, `max_streams`): loads the keys, opens and
/// locks the state directory and loads the streams saved there.
///
/// # Safety
/// `config_json` is valid for `config_len` reads; `checker_out` is valid for
/// a write; `error_out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_checker_new(
    config_json: *const u8,
    config_len: usize,
    checker_out: *mut *mut auditchain_checker,
    error_out: *mut *mut auditchain_error,
) -> auditchain_result {
    let r = guard(|| {
        if checker_out.is_null() {
            return Err(FfiError::new(auditchain_result::NullArgument, "checker_out is NULL"));
        }
        // SAFETY: the caller's contract.
        let json = unsafe { input(config_json, config_len, "config_json") }?;
        let config = CheckerConfig::from_json(json).map_err(checker_err)?;
        let checker = Checker::new(config).map_err(checker_err)?;
        Ok(Box::into_raw(Box::new(auditchain_checker { checker })))
    });
    match r {
        Ok(c) => {
            // SAFETY: checked non-NULL above.
            unsafe { *checker_out = c };
            auditchain_result::Ok
        }
        // SAFETY: the caller's contract.
        Err(e) => unsafe { report(e, error_out) },
    }
}

/// # Safety
/// `checker` is NULL or live; `verdicts_out` and `error_out` are NULL or
/// valid for writes.
unsafe fn verdicts_call(
    checker: *const auditchain_checker,
    verdicts_out: *mut *mut auditchain_verdicts,
    error_out: *mut *mut auditchain_error,
    f: impl FnOnce(&Checker) -> Result<Verdicts, FfiError>,
) -> auditchain_result {
    let r = guard(|| {
        if verdicts_out.is_null() {
            return Err(FfiError::new(auditchain_result::NullArgument, "verdicts_out is NULL"));
        }
        // SAFETY: the caller's contract.
        let c = unsafe { checker.as_ref() }
            .ok_or_else(|| FfiError::new(auditchain_result::NullArgument, "checker is NULL"))?;
        Ok(auditchain_verdicts::new(f(&c.checker)?))
    });
    match r {
        Ok(v) => {
            // SAFETY: checked non-NULL inside the guard.
            unsafe { *verdicts_out = Box::into_raw(Box::new(v)) };
            auditchain_result::Ok
        }
        // SAFETY: the caller's contract.
        Err(e) => unsafe { report(e, error_out) },
    }
}

/// Checks every record of one OTLP protobuf export request of `signal` (an
/// `auditchain_signal`). On success `*verdicts_out` holds one verdict per
/// record in request order and the events; the state of every stream the
/// batch touched is durable. On failure (a request that is not well-formed,
/// state that cannot be saved) nothing may be forwarded as verified.
///
/// # Safety
/// `checker` is live; `request` is valid for `request_len` reads;
/// `verdicts_out` is valid for a write; `error_out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_checker_check(
    checker: *const auditchain_checker,
    signal: u32,
    request: *const u8,
    request_len: usize,
    now_unix_nano: u64,
    verdicts_out: *mut *mut auditchain_verdicts,
    error_out: *mut *mut auditchain_error,
) -> auditchain_result {
    // SAFETY: the caller's contract.
    unsafe {
        verdicts_call(checker, verdicts_out, error_out, |c| {
            let signal = auditchain_signal::from_u32(signal)
                .ok_or_else(|| FfiError::new(auditchain_result::InvalidArgument, format!("unknown signal {signal}")))?;
            let req = input(request, request_len, "request")?;
            c.check(signal, req, now_unix_nano).map_err(checker_err)
        })
    }
}

/// Without traffic (every second): judges records held past the reorder
/// timeout and reports silent streams; `*verdicts_out` holds events only.
///
/// # Safety
/// As for `auditchain_checker_check`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_checker_tick(
    checker: *const auditchain_checker,
    now_unix_nano: u64,
    verdicts_out: *mut *mut auditchain_verdicts,
    error_out: *mut *mut auditchain_error,
) -> auditchain_result {
    // SAFETY: the caller's contract.
    unsafe { verdicts_call(checker, verdicts_out, error_out, |c| c.tick(now_unix_nano).map_err(checker_err)) }
}

/// Frees a checker and releases its state lock. NULL is allowed.
///
/// # Safety
/// `checker` is NULL or live and not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_checker_free(checker: *mut auditchain_checker) {
    guard_or((), || {
        if !checker.is_null() {
            // SAFETY: from `auditchain_checker_new`, not yet freed.
            drop(unsafe { Box::from_raw(checker) });
        }
    })
}

/// The record verdicts: `*len_out` of them, valid until the verdicts are
/// freed. NULL (and 0) for NULL.
///
/// # Safety
/// `verdicts` is NULL or live; `len_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_verdicts_records(
    verdicts: *const auditchain_verdicts,
    len_out: *mut usize,
) -> *const auditchain_record_verdict {
    guard_or(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        let (ptr, len) = match unsafe { verdicts.as_ref() } {
            Some(v) => (v.records.as_ptr(), v.records.len()),
            None => (std::ptr::null(), 0),
        };
        if !len_out.is_null() {
            // SAFETY: checked non-NULL.
            unsafe { *len_out = len };
        }
        ptr
    })
}

/// The events: `*len_out` of them, valid until the verdicts are freed.
///
/// # Safety
/// As for `auditchain_verdicts_records`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_verdicts_events(
    verdicts: *const auditchain_verdicts,
    len_out: *mut usize,
) -> *const auditchain_verify_event {
    guard_or(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        let (ptr, len) = match unsafe { verdicts.as_ref() } {
            Some(v) => (v.events.as_ptr(), v.events.len()),
            None => (std::ptr::null(), 0),
        };
        if !len_out.is_null() {
            // SAFETY: checked non-NULL.
            unsafe { *len_out = len };
        }
        ptr
    })
}

/// Frees verdicts. NULL is allowed.
///
/// # Safety
/// `verdicts` is NULL or from this library, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_verdicts_free(verdicts: *mut auditchain_verdicts) {
    guard_or((), || {
        if !verdicts.is_null() {
            // SAFETY: from `verdicts_call`, not yet freed.
            drop(unsafe { Box::from_raw(verdicts) });
        }
    })
}

/// The name of reason `reason` (`content_mismatch`, …; docs/SPEC.md
/// §12), the value of `audit.verify.reason`; empty for 0 and unknown
/// values. Static.
#[unsafe(no_mangle)]
pub extern "C" fn auditchain_verify_reason_name(reason: u32) -> auditchain_str {
    guard_or(auditchain_str::EMPTY, || {
        Reason::from_u32(reason).map(|r| auditchain_str::from(r.name())).unwrap_or(auditchain_str::EMPTY)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_cross_with_their_values() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(reason(*r) as u32, i as u32);
            assert_eq!(*r as u32, i as u32);
        }
    }
}
