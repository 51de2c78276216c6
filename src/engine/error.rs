//! Errors of the engine: a kind for programs (the C ABI maps it to a result
//! code), a message for people.

use std::fmt;

/// What went wrong, as the caller must react to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// An argument was out of range (for example an unknown batch id).
    InvalidArgument,
    /// The engine configuration is invalid; the message names the key.
    InvalidConfig,
    /// The batch is not a well-formed OTLP protobuf request. Retrying the
    /// same bytes cannot succeed.
    MalformedBatch,
    /// A record cannot be stamped as it is (already stamped, invalid UTF-8,
    /// nested too deeply, a field the canonical form does not cover).
    /// Retrying the same records cannot succeed.
    RejectedRecord,
    /// The stream state could not be read, written or locked. The batch was
    /// not stamped; retrying may succeed.
    State,
    /// A key file is missing, unreadable, malformed or too widely readable.
    Key,
    /// The engine was closed; no more records can join its stream.
    Closed,
    /// A selected record's `audit.content_hash` does not match its body and
    /// `content_hash.on_mismatch` is `reject`. Retrying cannot succeed.
    ContentHashMismatch,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<super::config::ConfigError> for Error {
    fn from(e: super::config::ConfigError) -> Error {
        Error::new(ErrorKind::InvalidConfig, e.to_string())
    }
}

impl From<crate::core::canonical::CanonicalError> for Error {
    fn from(e: crate::core::canonical::CanonicalError) -> Error {
        use crate::core::canonical::ErrorKind as K;
        let kind = match e.kind {
            K::ContentHashMismatch(_) => ErrorKind::ContentHashMismatch,
            ref k if k.is_record_problem() => ErrorKind::RejectedRecord,
            _ => ErrorKind::MalformedBatch,
        };
        Error::new(kind, e.to_string())
    }
}
