//! The attribute vocabulary auditchain writes (docs/SPEC.md §4, §5): the
//! stamp, the control records' `audit.stream.*` attributes and their
//! values. The `audit.sequence.*` and `audit.integrity.*` names follow the
//! OpenTelemetry audit-logging draft (OTEP 0267); names of our own stay in
//! the `audit.` namespace.

/// The attributes of a stamp (SPEC §4.1). The discriminant is the key's
/// index across the C ABI (`auditchain_attr.key`): new keys are only ever
/// appended, and an index is never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StampKey {
    /// `audit.sequence.stream_id`: identifies the stream.
    StreamId = 0,
    /// `audit.sequence.number`: position in the stream, from 1.
    SequenceNumber = 1,
    /// `audit.sequence.previous_hash`: the previous record's link; absent
    /// on record 1.
    PreviousHash = 2,
    /// `audit.sequence.end`: true on the last record of a cleanly closed
    /// stream.
    SequenceEnd = 3,
    /// `audit.integrity.value`: the record's link (lowercase hex).
    IntegrityValue = 4,
    /// `audit.integrity.algorithm`: how the link was computed.
    IntegrityAlgorithm = 5,
    /// `audit.integrity.canonicalization`: how the record was serialised
    /// before hashing.
    IntegrityCanonicalization = 6,
    /// `audit.integrity.key_epoch`: the key epoch of a keyed chain.
    KeyEpoch = 7,
    /// `audit.integrity.stamp`: the compact stamp, one string in place of
    /// all the others (SPEC §4.1.1). (Index 8 was taken by the content-hash
    /// mark before it came.)
    Compact = 9,
}

impl StampKey {
    /// Every stamp key, in index order.
    pub const ALL: [StampKey; 9] = [
        StampKey::StreamId,
        StampKey::SequenceNumber,
        StampKey::PreviousHash,
        StampKey::SequenceEnd,
        StampKey::IntegrityValue,
        StampKey::IntegrityAlgorithm,
        StampKey::IntegrityCanonicalization,
        StampKey::KeyEpoch,
        StampKey::Compact,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            StampKey::StreamId => "audit.sequence.stream_id",
            StampKey::SequenceNumber => "audit.sequence.number",
            StampKey::PreviousHash => "audit.sequence.previous_hash",
            StampKey::SequenceEnd => "audit.sequence.end",
            StampKey::IntegrityValue => "audit.integrity.value",
            StampKey::IntegrityAlgorithm => "audit.integrity.algorithm",
            StampKey::IntegrityCanonicalization => "audit.integrity.canonicalization",
            StampKey::KeyEpoch => "audit.integrity.key_epoch",
            StampKey::Compact => "audit.integrity.stamp",
        }
    }

    pub const fn index(self) -> u32 {
        self as u32
    }

    pub fn from_index(index: u32) -> Option<StampKey> {
        StampKey::ALL.into_iter().find(|k| k.index() == index)
    }

    pub fn from_name(name: &str) -> Option<StampKey> {
        StampKey::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The attribute an application's SDK sets to the SHA-256 of its payload
/// (seed 000; SPEC §4.6). It belongs to the application.
pub const CONTENT_HASH: &str = "audit.content_hash";

/// Written by the processor (content, hashed like any other attribute) on a
/// stamped record whose `audit.content_hash` does not match its body, when
/// `content_hash.on_mismatch` is `mark` (SPEC §4.6). Its only value is
/// [`CONTENT_HASH_MISMATCH`].
pub const CONTENT_HASH_CHECK: &str = "audit.integrity.content_hash_check";
pub const CONTENT_HASH_MISMATCH: &str = "mismatch";

/// The index of [`CONTENT_HASH_CHECK`] in the C ABI's key table
/// (`auditchain_attr.key` indexes it: the stamp keys by their index, and
/// this one). The table only grows at the end; an index is never reused.
pub const CONTENT_HASH_CHECK_INDEX: u32 = 8;

/// The name of key `index` of the C ABI's key table.
pub fn abi_key(index: u32) -> Option<&'static str> {
    match StampKey::from_index(index) {
        Some(k) => Some(k.name()),
        None if index == CONTENT_HASH_CHECK_INDEX => Some(CONTENT_HASH_CHECK),
        None => None,
    }
}

/// Whether `key` is a stamp attribute (left out of the canonical form).
pub fn is_stamp(key: &str) -> bool {
    StampKey::from_name(key).is_some()
}

/// Prefixes reserved to auditchain: a record that reaches the processor
/// with an attribute under one of them is refused, so that nobody upstream
/// can pass off a record as stamped or as one of the processor's own.
pub const RESERVED_PREFIXES: &[&str] =
    &["audit.sequence.", "audit.integrity.", "audit.stream.", unstamped::PREFIX, log::PREFIX, VERIFY_PREFIX];

/// Attributes of the control records of a format version 2 stream, whose
/// records are leaves of a transparency log (SPEC §5.5).
pub mod log {
    /// The log's origin (string), on every control record of a v2 stream.
    pub const ORIGIN: &str = "audit.log.origin";
    /// The record's own leaf index in the log (int).
    pub const INDEX: &str = "audit.log.index";
    /// A checkpoint's compact range at its size (array of base64 hashes).
    pub const RANGE: &str = "audit.log.range";
    /// The size of the log's previous checkpoint (int).
    pub const PREVIOUS_SIZE: &str = "audit.log.previous_size";
    /// The consistency proof from the previous checkpoint (array of base64).
    pub const CONSISTENCY: &str = "audit.log.consistency";
    /// A cosignature record's checkpoint: the leaf index of its record (int).
    pub const CHECKPOINT_INDEX: &str = "audit.log.checkpoint_index";
    pub const PREFIX: &str = "audit.log.";
}

/// The verdict attributes a verifying processor (`mode: verify`, SPEC
/// §12) writes on failing records: `audit.verify.result` (`"failed"`) and
/// `audit.verify.reason`. Reserved, so that nobody upstream can pass a
/// record off as verified (or as judged).
pub const VERIFY_PREFIX: &str = "audit.verify.";

/// Marks on records the processor forwards without a stamp (`on_error:
/// forward_unstamped`, SPEC §4.3). Their prefix is reserved too, so that
/// nobody upstream can forge them.
pub mod unstamped {
    pub const PREFIX: &str = "audit.unstamped.";
    /// The reserved attribute names removed from the record (array of
    /// strings; `resource:<name>` and `scope:<name>` for those of its
    /// resource and scope).
    pub const REMOVED: &str = "audit.unstamped.removed";
    /// true: strings of the record that were not valid UTF-8 were
    /// replaced (each bad sequence by U+FFFD), so that it can be written
    /// as JSON.
    pub const INVALID_UTF8: &str = "audit.unstamped.invalid_utf8";
}

pub fn is_reserved(key: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Attributes of the records the engine writes into its own stream
/// (SPEC §5). The processor refuses incoming records that carry any
/// `audit.stream.*` attribute, so only the engine writes them.
pub mod control {
    /// Which kind of control record this is (a value of [`super::event`]).
    pub const EVENT: &str = "audit.stream.event";
    /// On `start`: why a new stream began (a value of [`super::reason`]).
    pub const REASON: &str = "audit.stream.reason";
    /// On `start`: the stream name.
    pub const NAME: &str = "audit.stream.name";
    /// On `start` after a clean shutdown: the previous stream and its last
    /// link.
    pub const PREDECESSOR_ID: &str = "audit.stream.predecessor.id";
    pub const PREDECESSOR_SEQUENCE: &str = "audit.stream.predecessor.sequence";
    pub const PREDECESSOR_HASH: &str = "audit.stream.predecessor.hash";
    /// On `start`, `resume` and `gap`: ranges ("3-7", "9") of this stream
    /// that were stamped but may not have reached the exporter.
    pub const UNCONFIRMED: &str = "audit.stream.unconfirmed";
    /// The same for the predecessor stream.
    pub const PREDECESSOR_UNCONFIRMED: &str = "audit.stream.predecessor.unconfirmed";
    /// On `start` of a keyed stream: the chain key id and how the stream's
    /// key derives from it (SPEC §5.2).
    pub const CHAIN_KEY_ID: &str = "audit.stream.chain_key_id";
    pub const KEY_LINEAGE: &str = "audit.stream.key_lineage";
    /// On control spans (SPEC §5.4): what a control log record carries as
    /// its body (a sentence, or the signed note of a checkpoint).
    pub const BODY: &str = "audit.stream.body";
    /// On `start` and `resume` when checkpoints are signed: the signing key
    /// id and the checkpoint interval in seconds.
    pub const SIGNER: &str = "audit.stream.signer";
    pub const CHECKPOINT_INTERVAL: &str = "audit.stream.checkpoint_interval";

    /// On `start`, `resume`, `gap` (and any control record announcing
    /// `audit.stream.unconfirmed`): the wall times (int, Unix ns) at which
    /// the earliest and the latest of those records were issued, when the
    /// processor knows them: an outage of the state directory or of the
    /// exporter. The verifier excuses missing heartbeats inside it.
    pub const OUTAGE_START: &str = "audit.stream.outage.start";
    pub const OUTAGE_END: &str = "audit.stream.outage.end";
    /// On `clock_step`: how far the wall clock stepped against the
    /// monotonic clock (int, ns; positive: forward).
    pub const CLOCK_STEP: &str = "audit.stream.clock_step";

    /// The prefix of every control attribute.
    pub const PREFIX: &str = "audit.stream.";
}

/// Values of `audit.stream.event`.
pub mod event {
    pub const START: &str = "start";
    pub const RESUME: &str = "resume";
    pub const GAP: &str = "gap";
    pub const END: &str = "end";
    pub const CHECKPOINT: &str = "checkpoint";
    /// Witnesses cosigned a checkpoint of the log (SPEC §5.5).
    pub const COSIGNATURE: &str = "cosignature";
    /// The wall clock stepped (SPEC §5.6); the record's time is the new
    /// wall time.
    pub const CLOCK_STEP: &str = "clock_step";
}

/// Values of `audit.stream.reason`.
pub mod reason {
    pub const FIRST_START: &str = "first_start";
    pub const PREVIOUS_ENDED: &str = "previous_stream_ended";
    pub const STATE_RESET: &str = "state_reset";
}

/// The `service.name` of the resource, and the scope name, of control
/// records (and the span name prefix of control spans, `auditchain.<event>`).
pub const CONTROL_SERVICE_NAME: &str = "auditchain";
pub const CONTROL_SCOPE_NAME: &str = "auditchain";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_keys_are_indexed_in_order_and_found_by_name() {
        for k in StampKey::ALL {
            assert_ne!(k.index(), CONTENT_HASH_CHECK_INDEX);
            assert_eq!(StampKey::from_index(k.index()), Some(k));
            assert_eq!(StampKey::from_name(k.name()), Some(k));
            assert!(is_reserved(k.name()), "{k:?} lies in a reserved namespace");
        }
        assert_eq!(StampKey::from_index(8), None);
        assert_eq!(StampKey::from_index(10), None);
        assert!(!is_stamp("audit.action"));
        assert!(is_reserved(control::EVENT));
        assert!(is_reserved(CONTENT_HASH_CHECK) && !is_stamp(CONTENT_HASH_CHECK) && !is_reserved(CONTENT_HASH));
        assert_eq!(abi_key(CONTENT_HASH_CHECK_INDEX), Some(CONTENT_HASH_CHECK));
        assert_eq!(abi_key(0), Some(StampKey::StreamId.name()));
        assert_eq!(abi_key(StampKey::Compact.index()), Some("audit.integrity.stamp"));
        assert_eq!(abi_key(10), None);
    }
}
