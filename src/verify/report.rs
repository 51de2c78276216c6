//! The verification report (docs/SPEC.md §9 documents its JSON form; the
//! field names here are that contract).

use crate::core::canonical::Signal;
use serde::{Deserialize, Serialize};

/// 2: the verdict `incomplete`; `inputs.checkpoint_lines` and
/// `inputs.unreadable`; per stream `stream_name` and `last_present`, and
/// `algorithm` null for a stream known only from checkpoint lines; the
/// kinds `downgrade`, `expected_stream_missing`, `expected_stream_ended`.
pub const REPORT_VERSION: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// What a finding is about. The JSON names are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The record's content or position no longer matches its
    /// `audit.integrity.value`.
    ContentMismatch,
    /// `audit.sequence.previous_hash` differs from the previous record's
    /// `audit.integrity.value`.
    BrokenLink,
    /// Sequence numbers absent from the inputs.
    MissingRecords,
    /// Two different records claim the same sequence number.
    Fork,
    /// The first record is not a proper start of a stream.
    BadGenesis,
    /// A stamp attribute is present but malformed.
    MalformedStamp,
    /// A record that cannot be read into its canonical form.
    UnreadableRecord,
    /// Records without any stamp.
    UnstampedRecords,
    /// Records numbered after the record that ended the stream.
    RecordsAfterEnd,
    /// The stream uses the unkeyed chain (what that can and cannot detect).
    PlainChain,
    /// The collector restarted and resumed the stream.
    Restart,
    /// A stream's start record names a predecessor that disagrees with it.
    LineageMismatch,
    /// Facts about the stream's lineage.
    Lineage,
    /// A key is needed to verify this (the chain key or a public key).
    KeyRequired,
    /// A record's key epoch is lower than an earlier record's.
    KeyEpochOutOfOrder,
    /// A checkpoint that is malformed, forged, altered or from another stream.
    BadCheckpoint,
    /// A checkpoint signed by none of the public keys given.
    UnknownSigner,
    /// A valid checkpoint that disagrees with the records.
    CheckpointMismatch,
    /// A stream that should carry signed checkpoints has none.
    NoCheckpoint,
    /// Checkpoints stopped for longer than their interval.
    HeartbeatMissing,
    /// Records after the newest checkpoint.
    UnanchoredTail,
    /// Chain keys were given but the stream is not keyed.
    UnkeyedStream,
    /// A log record's `audit.content_hash` does not match its body.
    ContentHashMismatch,
    /// A stream holds both log records and spans.
    MixedSignals,
    /// A record's algorithm is not its stream's (a keyed stream's records
    /// rewritten as a plain chain).
    Downgrade,
    /// No stream of a name given with `--expect-stream-name` is present.
    ExpectedStreamMissing,
    /// The newest stream of an expected name ended and has no successor
    /// among the inputs, and the name was not declared retired.
    ExpectedStreamEnded,
    /// The collector announced a step of its wall clock (SPEC §5.6).
    ClockStep,
    /// A record with a compact stamp whose predecessor is missing: its
    /// link, and so its content, cannot be checked (SPEC §4.1.1).
    UncheckedRecord,
    /// Format version 2 (SPEC §5.5, §8.14): a record's `audit.log.*`
    /// attributes disagree with its stream's or its log's (origin, leaf
    /// index, a range or proof that cannot be read).
    LogMismatch,
    /// Two consecutive checkpoints of a log that nothing proves consistent
    /// (missing records and no carried proof), though nothing shows them
    /// inconsistent either (SPEC §8.16).
    ConsistencyUnproven,
    /// A checkpoint not covered by one that meets the witness policy's
    /// quorum (SPEC §8.17).
    Unwitnessed,
    /// A cosignature line of a policy witness's key that does not verify.
    BadCosignature,
    /// Leaves of a log below the size its newest (cosigned) checkpoint
    /// proves, that no record covers (SPEC §8.18).
    MissingLeaves,
    /// `--since`: the window's start cannot be anchored — no valid
    /// checkpoint at or before it, and no start record, among the inputs
    /// (SPEC §8.19). Not `missing_records`: records before the window are
    /// not required.
    UnanchoredWindow,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    /// 1-based line of the export request in the file.
    pub line: u64,
    /// 0-based index of the record within that request.
    pub record: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<u64>,
    /// A log finding about one checkpoint: its size (SPEC §9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    pub message: String,
}

impl Finding {
    pub fn new(severity: Severity, kind: Kind, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            kind,
            sequence: None,
            first: None,
            last: None,
            size: None,
            locations: Vec::new(),
            message: message.into(),
        }
    }
    pub fn at(mut self, sequence: u64) -> Finding {
        self.sequence = Some(sequence);
        self
    }
    pub fn range(mut self, first: u64, last: u64) -> Finding {
        self.first = Some(first);
        self.last = Some(last);
        self
    }
    pub fn sized(mut self, size: u64) -> Finding {
        self.size = Some(size);
        self
    }
    pub fn located(mut self, loc: Location) -> Finding {
        self.locations.push(loc);
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// No integrity failure, but something could not be read or used (an
    /// unreadable file or line, a bad `--as-of`), or nothing was verified:
    /// never a pass.
    Incomplete,
}

#[derive(Clone, Debug, Serialize)]
pub struct StreamReport {
    pub stream_id: String,
    /// `logs` or `traces`: what the stream's records are.
    pub signal: Signal,
    /// `audit.stream.name` of its start record (or of a successor's).
    pub stream_name: Option<String>,
    pub verdict: Verdict,
    /// `None` when no record of the stream is present (it is known from
    /// checkpoint lines only).
    pub algorithm: Option<String>,
    /// The chain key of a keyed stream, from its start record.
    pub chain_key_id: Option<String>,
    /// Distinct sequence numbers present.
    pub records: u64,
    /// Identical copies beyond the first (at-least-once delivery).
    pub duplicates: u64,
    pub first_sequence: u64,
    /// The highest number the stream is known to have reached: present,
    /// proven by a valid checkpoint, or recorded by its successor.
    pub last_sequence: u64,
    /// The highest number present.
    pub last_present: u64,
    /// True when the stream ended cleanly: its last record carries
    /// `audit.sequence.end`, or a checkpoint line marks its final
    /// checkpoint.
    pub ended: bool,
    /// Sequence numbers absent from the inputs, as `[first, last]` ranges.
    pub missing: Vec<[u64; 2]>,
    /// Valid signed checkpoints found (in the records or checkpoint files).
    pub checkpoints: u64,
    /// The highest record a valid checkpoint covers (0 when none).
    pub anchored_through: u64,
    /// When the newest valid checkpoint was made (RFC 3339).
    pub newest_checkpoint: Option<String>,
    /// Key ids that signed valid checkpoints.
    pub signers: Vec<String>,
    /// With `--since`/`--until`: what the stream was verified from and
    /// through (SPEC §8.19); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<StreamWindow>,
    pub findings: Vec<Finding>,
}

/// A stream's window (SPEC §8.19, §9).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StreamWindow {
    /// `checkpoint`, `start` (its start record: the stream began in the
    /// window) or `none` (unanchored).
    pub anchor: String,
    /// The anchor's size as signed (a log checkpoint: the log's size).
    pub size: Option<u64>,
    /// The record carrying the anchor.
    pub sequence: Option<u64>,
    /// The anchor's time (RFC 3339).
    pub time: Option<String>,
    /// The key id that signed it.
    pub signer: Option<String>,
    /// The anchor is a log checkpoint (format version 2).
    pub log: bool,
    /// The first record required.
    pub from_sequence: u64,
    /// The last record verified (the stream's `last_sequence`).
    pub through_sequence: u64,
    /// The time of the checkpoint closing the window (`--until`), if any.
    pub through_checkpoint: Option<String>,
    /// Records among the inputs before the window, not verified.
    pub before: u64,
    /// Records among the inputs after the window, not verified.
    pub after: u64,
    /// The same in words: "from checkpoint at size N (record N+1), signed
    /// by K at T, through record M".
    pub description: String,
}

/// The window asked for (SPEC §8.19).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WindowReport {
    pub since: Option<String>,
    pub until: Option<String>,
    pub streams: Vec<String>,
    /// The time that places records in the window: `checkpoint` (the
    /// `time` of the signed checkpoints).
    pub time: String,
}

/// A log's window (SPEC §8.19): its anchor checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogWindow {
    /// The anchor's size: leaves below it are not required; null when no
    /// valid checkpoint of the log is at or before the window's start.
    pub anchor_size: Option<u64>,
    pub anchor_time: Option<String>,
    /// Policy witnesses whose cosignature of the anchor verified.
    pub cosigned_by: Vec<String>,
    pub description: String,
}

/// One transparency log (format version 2, SPEC §5.5) as the records and
/// checkpoints show it (SPEC §9).
#[derive(Clone, Debug, Serialize)]
pub struct LogReport {
    pub origin: String,
    pub verdict: Verdict,
    /// The largest size a valid checkpoint proves (0 when none).
    pub size: u64,
    /// Leaves present (records of its streams among the inputs).
    pub leaves: u64,
    /// The streams whose records are its leaves, by leaf index.
    pub streams: Vec<String>,
    /// Distinct valid signed checkpoints (merged by body).
    pub checkpoints: u64,
    pub newest_checkpoint: Option<LogCheckpoint>,
    /// The largest size covered by a checkpoint that meets the witness
    /// policy (or given with --witness-checkpoint); null without either.
    pub witnessed_size: Option<u64>,
    /// The newest such checkpoint.
    pub newest_witnessed: Option<LogCheckpoint>,
    /// Leaf index ranges that should be present and are not.
    pub missing_leaves: Vec<[u64; 2]>,
    /// With `--since`: the log's anchor (SPEC §8.19); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<LogWindow>,
    pub findings: Vec<Finding>,
}

/// A checkpoint of a log, as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct LogCheckpoint {
    pub size: u64,
    /// Base64 of its root.
    pub root: String,
    /// Its `time` (RFC 3339), when it has one.
    pub time: Option<String>,
    /// Policy witnesses whose cosignature verified.
    pub cosigned_by: Vec<String>,
    /// Whether they meet the policy's quorum; null without a policy.
    pub quorum: Option<bool>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Inputs {
    pub files: u64,
    pub requests: u64,
    pub records: u64,
    pub checkpoint_lines: u64,
    /// JSON values (lines) that could not be read; each is in `errors`.
    pub unreadable: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputError {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub verdict: Verdict,
    /// `--since`, `--until`, `--stream` (SPEC §8.19); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowReport>,
    /// The time the heartbeat rule compared the newest checkpoints with.
    pub as_of: String,
    pub inputs: Inputs,
    pub unstamped_records: u64,
    pub streams: Vec<StreamReport>,
    /// Transparency logs (format version 2 streams); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogReport>,
    /// Findings that belong to no stream (unstamped or unreadable records).
    pub findings: Vec<Finding>,
    /// Files, lines or options that could not be read or used.
    pub errors: Vec<InputError>,
    /// Objects read from S3 with their Object Lock state
    /// (`--show-retention`); absent otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectRetention>,
}

/// One object read from S3, and its retention and legal hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectRetention {
    pub object: String,
    pub bytes: u64,
    #[serde(flatten)]
    pub retention: super::read::s3::Retention,
}

/// The outcome of a verification as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every stream verified and every input was read.
    Verified,
    /// An integrity failure.
    Failed,
    /// No integrity failure, but inputs could not be read (or there were
    /// none): nothing vouches for what was not read.
    Incomplete,
}

impl Report {
    pub fn status(&self) -> Status {
        match self.verdict {
            Verdict::Pass => Status::Verified,
            Verdict::Fail => Status::Failed,
            Verdict::Incomplete => Status::Incomplete,
        }
    }
}
