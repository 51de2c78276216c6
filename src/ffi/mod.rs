//! The C ABI (include/auditchain.h, generated from this module by build.rs).
//! Every `#[repr(C)]` type and every `extern "C"` function of the crate is
//! in this module.
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

pub mod checker;
pub mod engine;
pub mod error;
mod panic;
pub mod result;
pub mod stamps;
pub mod witness;

use panic::guard_or;
use result::{FfiError, auditchain_result};
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

/// The library version, NUL-terminated, static.
#[unsafe(no_mangle)]
pub extern "C" fn auditchain_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The name of a result code (e.g. "AUDITCHAIN_RESULT_STATE"), static.
#[unsafe(no_mangle)]
pub extern "C" fn auditchain_result_name(result: u32) -> auditchain_str {
    guard_or(auditchain_str::EMPTY, || {
        auditchain_result::from_u32(result)
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
        crate::core::vocab::abi_key(index).map(auditchain_str::from).unwrap_or(auditchain_str::EMPTY)
    })
}

/// The attribute name prefix `index` of those reserved to auditchain
/// (`audit.sequence.`, `audit.integrity.`, `audit.stream.`,
/// `audit.unstamped.`; docs/SPEC.md §4.3); empty past the end. Static. A
/// record is never forwarded carrying an attribute under one of them unless
/// the engine stamped it.
#[unsafe(no_mangle)]
pub extern "C" fn auditchain_reserved_prefix(index: u32) -> auditchain_str {
    guard_or(auditchain_str::EMPTY, || {
        crate::core::vocab::RESERVED_PREFIXES
            .get(index as usize)
            .map(|p| auditchain_str::from(*p))
            .unwrap_or(auditchain_str::EMPTY)
    })
}

/// Reads `len` bytes at `data`; NULL is allowed only when `len` is 0.
///
/// # Safety
/// `data` is valid for `len` reads for the duration of the call.
unsafe fn input<'a>(data: *const u8, len: usize, what: &str) -> Result<&'a [u8], FfiError> {
    if data.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(FfiError::new(auditchain_result::NullArgument, format!("{what} is NULL")));
    }
    // SAFETY: the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// The header cbindgen generates from this module at build time, for the
/// drift test against the committed include/auditchain.h.
#[doc(hidden)]
pub const GENERATED_HEADER: &str = include_str!(concat!(env!("OUT_DIR"), "/auditchain.h"));
