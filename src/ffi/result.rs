//! The result codes of the C ABI, listed once: the enum below. Their names
//! come from an exhaustive match, and the engine's error kinds map onto
//! them in another, so the compiler keeps all three in step.

use crate::engine::error::{Error, ErrorKind};

/// Result codes of the C ABI (`auditchain_result`). Values never change
/// meaning; new codes are appended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum auditchain_result {
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// An argument was out of range or not UTF-8.
    InvalidArgument = 2,
    /// The engine configuration is invalid; the message names the key.
    InvalidConfig = 3,
    /// The batch is not a well-formed OTLP protobuf request. Retrying the
    /// same bytes cannot succeed.
    MalformedBatch = 4,
    /// A record cannot be stamped as it is (already stamped, invalid UTF-8,
    /// nested too deeply, a field the canonical form does not cover).
    /// Retrying the same records cannot succeed.
    RejectedRecord = 5,
    /// The stream state could not be read, written or locked. The batch was
    /// not stamped; retrying may succeed.
    State = 6,
    /// A key file is missing, unreadable, malformed or too widely readable.
    Key = 7,
    /// The engine was closed; no more records can join its stream.
    Closed = 8,
    /// A bug: the engine panicked. The call had no effect on the stream
    /// state that was saved.
    Panic = 9,
    /// A selected record's `audit.content_hash` does not match its body and
    /// `content_hash.on_mismatch` is `reject`. Retrying the same records
    /// cannot succeed.
    ContentHashMismatch = 10,
}

impl auditchain_result {
    /// A stable name for the code, e.g. `AUDITCHAIN_RESULT_STATE`.
    pub const fn name(self) -> &'static str {
        use auditchain_result as R;
        match self {
            R::Ok => "AUDITCHAIN_RESULT_OK",
            R::NullArgument => "AUDITCHAIN_RESULT_NULL_ARGUMENT",
            R::InvalidArgument => "AUDITCHAIN_RESULT_INVALID_ARGUMENT",
            R::InvalidConfig => "AUDITCHAIN_RESULT_INVALID_CONFIG",
            R::MalformedBatch => "AUDITCHAIN_RESULT_MALFORMED_BATCH",
            R::RejectedRecord => "AUDITCHAIN_RESULT_REJECTED_RECORD",
            R::State => "AUDITCHAIN_RESULT_STATE",
            R::Key => "AUDITCHAIN_RESULT_KEY",
            R::Closed => "AUDITCHAIN_RESULT_CLOSED",
            R::Panic => "AUDITCHAIN_RESULT_PANIC",
            R::ContentHashMismatch => "AUDITCHAIN_RESULT_CONTENT_HASH_MISMATCH",
        }
    }

    /// The code with value `v`, if there is one.
    pub fn from_u32(v: u32) -> Option<auditchain_result> {
        use auditchain_result as R;
        // Exhaustive in the other direction: adding a code without a line
        // here fails the `every_code_round_trips` test.
        let code = match v {
            0 => R::Ok,
            1 => R::NullArgument,
            2 => R::InvalidArgument,
            3 => R::InvalidConfig,
            4 => R::MalformedBatch,
            5 => R::RejectedRecord,
            6 => R::State,
            7 => R::Key,
            8 => R::Closed,
            9 => R::Panic,
            10 => R::ContentHashMismatch,
            _ => return None,
        };
        Some(code)
    }
}

impl From<ErrorKind> for auditchain_result {
    fn from(k: ErrorKind) -> auditchain_result {
        use auditchain_result as R;
        match k {
            ErrorKind::InvalidArgument => R::InvalidArgument,
            ErrorKind::InvalidConfig => R::InvalidConfig,
            ErrorKind::MalformedBatch => R::MalformedBatch,
            ErrorKind::RejectedRecord => R::RejectedRecord,
            ErrorKind::State => R::State,
            ErrorKind::Key => R::Key,
            ErrorKind::Closed => R::Closed,
            ErrorKind::ContentHashMismatch => R::ContentHashMismatch,
        }
    }
}

/// An error on its way across the boundary: a code and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FfiError {
    pub code: auditchain_result,
    pub message: String,
}

impl FfiError {
    pub fn new(code: auditchain_result, message: impl Into<String>) -> FfiError {
        FfiError { code, message: message.into() }
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> FfiError {
        FfiError { code: e.kind.into(), message: e.message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last code: codes are numbered 0..=LAST without holes.
    const LAST: auditchain_result = auditchain_result::ContentHashMismatch;

    #[test]
    fn every_code_round_trips() {
        for v in 0..=LAST as u32 {
            let code = auditchain_result::from_u32(v).expect("codes have no holes");
            assert_eq!(code as u32, v);
            assert!(code.name().starts_with("AUDITCHAIN_RESULT_"));
        }
        assert_eq!(auditchain_result::from_u32(LAST as u32 + 1), None);
    }
}
