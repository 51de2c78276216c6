//! The panic boundary. Unwinding out of an `extern "C"` function aborts the
//! whole collector, so every export runs its body under `catch_unwind`: a
//! fallible function turns a panic into `AUDITCHAIN_RESULT_PANIC` (with the
//! panic message in its error), any other returns a neutral value.

use super::result::{FfiError, auditchain_result};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The message of a caught panic.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    format!("auditchain panicked (a bug; please report it): {what}")
}

/// Runs `f`, mapping a panic to `AUDITCHAIN_RESULT_PANIC`.
///
/// `AssertUnwindSafe` is sound here because the engine restores its state
/// on every error path before returning and tolerates a poisoned lock.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, FfiError>) -> Result<T, FfiError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(FfiError::new(auditchain_result::Panic, panic_message(&*payload))),
    }
}

/// Runs `f`, returning `default` if it panics. For functions that cannot
/// report an error (accessors, free functions).
pub(crate) fn guard_or<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}
