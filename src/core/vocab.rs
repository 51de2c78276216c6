//! Attribute names auditchain writes (docs/SPEC.md §4). The `audit.sequence.*`
//! and `audit.integrity.*` names follow the OpenTelemetry audit-logging draft
//! (OTEP 0267); names of our own stay in the `audit.` namespace.

/// Identifies the stream (one per collector replica and processor).
pub const STREAM_ID: &str = "audit.sequence.stream_id";
/// Position in the stream, starting at 1.
pub const SEQUENCE_NUMBER: &str = "audit.sequence.number";
/// `audit.integrity.value` of the previous record; absent on the first.
pub const PREVIOUS_HASH: &str = "audit.sequence.previous_hash";
/// True on the last record of a cleanly closed stream.
pub const SEQUENCE_END: &str = "audit.sequence.end";
/// The chain hash of this record (lowercase hex).
pub const INTEGRITY_VALUE: &str = "audit.integrity.value";
/// How `audit.integrity.value` was computed.
pub const INTEGRITY_ALGORITHM: &str = "audit.integrity.algorithm";
/// How the record was serialised before hashing.
pub const INTEGRITY_CANONICALIZATION: &str = "audit.integrity.canonicalization";

/// The key epoch of a keyed chain (absent on plain chains).
pub const KEY_EPOCH: &str = "audit.integrity.key_epoch";

/// The stamp: the attributes left out of the canonical form because the
/// processor writes them after hashing.
pub const STAMP: &[&str] = &[
    STREAM_ID,
    SEQUENCE_NUMBER,
    PREVIOUS_HASH,
    SEQUENCE_END,
    INTEGRITY_VALUE,
    INTEGRITY_ALGORITHM,
    INTEGRITY_CANONICALIZATION,
    KEY_EPOCH,
];

/// Prefixes reserved to auditchain: a record that reaches the processor
/// with an attribute under one of them is refused, so that nobody upstream
/// can pass off a record as stamped or as one of the processor's own.
pub const RESERVED_PREFIXES: &[&str] = &["audit.sequence.", "audit.integrity.", "audit.stream."];

pub fn is_stamp(key: &str) -> bool {
    STAMP.contains(&key)
}

pub fn is_reserved(key: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| key.starts_with(p))
}
