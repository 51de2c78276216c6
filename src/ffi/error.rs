//! Errors across the C ABI: every fallible function returns an
//! `auditchain_result` code and, when the caller passes a non-NULL
//! `error_out`, an `auditchain_error` that carries the code and a message.

use super::auditchain_str;
use super::panic::guard_or;
use super::result::{FfiError, auditchain_result};

/// A failed call's code and message. Owned by the caller, who frees it with
/// `auditchain_error_free`.
pub struct auditchain_error {
    code: auditchain_result,
    message: String,
}

/// Writes `e` to `error_out` (if non-NULL) and returns its code.
///
/// # Safety
/// `error_out` is NULL or valid for a pointer write.
pub(crate) unsafe fn report(e: FfiError, error_out: *mut *mut auditchain_error) -> auditchain_result {
    if !error_out.is_null() {
        let boxed = Box::new(auditchain_error { code: e.code, message: e.message });
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { *error_out = Box::into_raw(boxed) };
    }
    e.code
}

/// The code of an error. `AUDITCHAIN_RESULT_NULL_ARGUMENT` for NULL.
///
/// # Safety
/// `error` is NULL or an error from this library, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_error_code(error: *const auditchain_error) -> auditchain_result {
    guard_or(auditchain_result::Panic, || {
        // SAFETY: NULL or a pointer this library returned and the caller has
        // not freed.
        match unsafe { error.as_ref() } {
            Some(e) => e.code,
            None => auditchain_result::NullArgument,
        }
    })
}

/// The message of an error, UTF-8, not NUL-terminated. Valid until the
/// error is freed. Empty for NULL.
///
/// # Safety
/// `error` is NULL or an error from this library, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_error_message(error: *const auditchain_error) -> auditchain_str {
    guard_or(auditchain_str::EMPTY, || {
        // SAFETY: as in `auditchain_error_code`.
        match unsafe { error.as_ref() } {
            Some(e) => auditchain_str::from(e.message.as_str()),
            None => auditchain_str::EMPTY,
        }
    })
}

/// Frees an error. NULL is allowed and ignored.
///
/// # Safety
/// `error` is NULL or an error from this library, not yet freed, and not
/// used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn auditchain_error_free(error: *mut auditchain_error) {
    guard_or((), || {
        if !error.is_null() {
            // SAFETY: a pointer from `report`, not freed before (the caller's
            // contract), so we own it.
            drop(unsafe { Box::from_raw(error) });
        }
    })
}
