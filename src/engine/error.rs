//! Errors of the engine: a stable code for programs, a message for people.

use std::fmt;

/// Result codes of the C ABI (`auditchain_result`). Values never change
/// meaning; new codes are appended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
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
}

impl Code {
    /// A stable name for the code, e.g. `AUDITCHAIN_RESULT_STATE`.
    pub const fn name(self) -> &'static str {
        match self {
            Code::Ok => "AUDITCHAIN_RESULT_OK",
            Code::NullArgument => "AUDITCHAIN_RESULT_NULL_ARGUMENT",
            Code::InvalidArgument => "AUDITCHAIN_RESULT_INVALID_ARGUMENT",
            Code::InvalidConfig => "AUDITCHAIN_RESULT_INVALID_CONFIG",
            Code::MalformedBatch => "AUDITCHAIN_RESULT_MALFORMED_BATCH",
            Code::RejectedRecord => "AUDITCHAIN_RESULT_REJECTED_RECORD",
            Code::State => "AUDITCHAIN_RESULT_STATE",
            Code::Key => "AUDITCHAIN_RESULT_KEY",
            Code::Closed => "AUDITCHAIN_RESULT_CLOSED",
            Code::Panic => "AUDITCHAIN_RESULT_PANIC",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<crate::engine::config::ConfigError> for Error {
    fn from(e: crate::engine::config::ConfigError) -> Error {
        Error::new(Code::InvalidConfig, e.to_string())
    }
}

impl From<crate::core::canonical::CanonicalError> for Error {
    fn from(e: crate::core::canonical::CanonicalError) -> Error {
        let code = if e.kind.is_record_problem() { Code::RejectedRecord } else { Code::MalformedBatch };
        Error::new(code, e.to_string())
    }
}
